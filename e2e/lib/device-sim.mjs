// Simulated Bluetooth health devices for the e2e suite, over Chromium's CDP `BluetoothEmulation`
// domain (see ../../../shared/notes/web-bluetooth.md). The page's own `navigator.bluetooth` code
// runs unchanged; this side answers every GATT operation it makes.
//
// The signed readings are produced HERE, by an implementation independent of Veil's Rust code:
// the CBOR encoder below (RFC 8949 §4.2.1 deterministic encoding), the COSE_Sign1 structure
// (RFC 9052 §4.2, Sig_structure §4.4) and ES256 from Node's `crypto` (RFC 9053 §2.1: r || s).
// The device certificate chains come from Python's `cryptography` package.
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Tagged, cbor, sigStructure } from '../../crates/core/js/cbor.mjs';

/** The Veil trust service, as `docs/device-profile.md` specifies it. */
export const TRUST_SERVICE = {
  service: 'a3c87500-8ed3-4bdf-8a39-a01bebede295',
  chain: 'a3c87501-8ed3-4bdf-8a39-a01bebede295',
  challenge: 'a3c87502-8ed3-4bdf-8a39-a01bebede295',
  reading: 'a3c87503-8ed3-4bdf-8a39-a01bebede295',
};

/** Payload bytes per chain chunk (an ATT MTU of 185 minus the 3-byte ATT header and 2-byte chunk header). */
export const CHAIN_CHUNK = 180;

/** The 128-bit form of a 16-bit Bluetooth SIG UUID. */
export const sigUuid = (n) => `0000${n.toString(16).padStart(4, '0')}-0000-1000-8000-00805f9b34fb`;

export const SVC_BLOOD_PRESSURE = 0x1810;
export const CHR_BLOOD_PRESSURE = 0x2a35;
/** Client Characteristic Configuration descriptor (Core v5.4 Vol 3 Part G §3.3.3.3). */
export const CCCD = sigUuid(0x2902);

// ---------------------------------------------------------------------------------------------
// CBOR: the shared JavaScript copy of veil_core's encoder (checked against it by the npm tests).

export { Tagged, cbor };

// ---------------------------------------------------------------------------------------------
// IEEE 11073-20601 SFLOAT and the Blood Pressure Measurement value (GSS §3.31).

/** A 16-bit SFLOAT of an integer value (exponent 0). */
export function sfloat(intValue) {
  return intValue & 0x0fff;
}

/** The Blood Pressure Measurement characteristic value: mmHg, optional pulse rate. */
export function bloodPressureValue({ systolic, diastolic, meanArterial, pulse }) {
  const flags = pulse === undefined ? 0x00 : 0x04;
  const fields = [systolic, diastolic, meanArterial, ...(pulse === undefined ? [] : [pulse])];
  const b = Buffer.alloc(1 + 2 * fields.length);
  b[0] = flags;
  fields.forEach((v, i) => b.writeUInt16LE(sfloat(v), 1 + 2 * i));
  return b;
}

// ---------------------------------------------------------------------------------------------
// COSE_Sign1 (RFC 9052) signed with Node's crypto.

/**
 * A tagged COSE_Sign1 over `payload` (bytes), protected header {alg, kid}, signed with the PKCS#8
 * PEM `keyPem`. `alg` is -7 (ES256) or -9 (ESP256).
 */
export function coseSign1({ keyPem, kid, payload, alg = -7 }) {
  const protectedBytes = cbor(new Map([[1, alg], [4, kid]]));
  const toBeSigned = sigStructure(protectedBytes, payload);
  const key = createPrivateKey(keyPem);
  const signature = sign('sha256', toBeSigned, { key, dsaEncoding: 'ieee-p1363' });
  return cbor(new Tagged(18, [protectedBytes, new Map(), payload, signature]));
}

/** The reading payload map (`docs/device-profile.md`), keys in the profile's order. */
export function readingPayload({ serial, counter, ts, nonce, svc, chr, val }) {
  return cbor(new Map([
    ['v', 1], ['dev', serial], ['ctr', counter], ['ts', ts], ['nonce', nonce], ['svc', svc], ['chr', chr], ['val', val],
  ]));
}

// ---------------------------------------------------------------------------------------------
// Certificate chains from Python `cryptography`.

const PROVISION_PY = String.raw`
import base64, datetime, json, sys
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

spec = json.loads(sys.argv[1])
now = datetime.datetime.now(datetime.timezone.utc)
def name(**attrs):
    oids = {"O": NameOID.ORGANIZATION_NAME, "CN": NameOID.COMMON_NAME, "SN": NameOID.SERIAL_NUMBER}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs.items()])
def cert(subject, key, issuer, issuer_key, ca, path_len=None):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=not ca, content_commitment=False, key_encipherment=False,
                                      data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                                      encipher_only=False, decipher_only=False), critical=True))
    return b.sign(issuer_key, hashes.SHA256())
m = spec["manufacturer"]
root_key = ec.generate_private_key(ec.SECP256R1())
root_name = name(O=m, CN=m + " Root CA")
root = cert(root_name, root_key, root_name, root_key, True, 1)
inter_key = ec.generate_private_key(ec.SECP256R1())
inter_name = name(O=m, CN=m + " Device CA")
inter = cert(inter_name, inter_key, root_name, root_key, True, 0)
dev_key = ec.generate_private_key(ec.SECP256R1())
dev = cert(name(O=m, CN=spec["model"], SN=spec["serial"]), dev_key, inter_name, inter_key, False)
der = lambda c: base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode()
print(json.dumps({
    "rootPem": root.public_bytes(serialization.Encoding.PEM).decode(),
    "chain": [der(dev), der(inter)],
    "keyPem": dev_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode(),
}))
`;

/**
 * A manufacturer root, an intermediate and one device certificate (serialNumber = `serial`,
 * CN = `model`), made by Python `cryptography`. Returns `{rootPem, chain: [Buffer...], keyPem}`.
 */
export function provision({ manufacturer, model, serial }) {
  const run = spawnSync('python3', ['-c', PROVISION_PY, JSON.stringify({ manufacturer, model, serial })], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`provisioning with Python cryptography failed: ${run.stderr}`);
  const out = JSON.parse(run.stdout);
  return { rootPem: out.rootPem, chain: out.chain.map((b) => Buffer.from(b, 'base64')), keyPem: out.keyPem };
}

/** The DER of every CERTIFICATE block of a PEM text, in order. */
export function pemCertificates(pem) {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/g)]
    .map(([, body]) => Buffer.from(body.replace(/\s/g, ''), 'base64'));
}

/**
 * A development manufacturer made by Veil's own CLI (`veil device provision --intermediate`, the
 * `veil` binary at `veilBin`): `{rootPem, chain: [Buffer...], keyPem, serial, model}` of its first device.
 */
export function provisionWithVeil({ veilBin, manufacturer }) {
  const out = mkdtempSync(join(tmpdir(), 'veil-provision-'));
  try {
    const run = spawnSync(veilBin, ['device', 'provision', '--out', out, '--manufacturer', manufacturer, '--devices', '1', '--intermediate'], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`veil device provision failed: ${run.stderr}`);
    const index = JSON.parse(readFileSync(join(out, 'devices.json'), 'utf8'));
    const device = index.devices[0];
    const chain = pemCertificates(readFileSync(join(out, device.chain), 'utf8'));
    const subject = new X509Certificate(chain[0]).subject;
    return {
      rootPem: readFileSync(join(out, index.root), 'utf8'),
      chain,
      keyPem: readFileSync(join(out, device.key), 'utf8'),
      serial: device.serial,
      model: /^CN=(.*)$/m.exec(subject)?.[1] ?? null,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** SHA-256 of a certificate's DER, hex: the COSE kid and the fingerprint the app shows. */
export const fingerprint = (der) => createHash('sha256').update(der).digest('hex');

// ---------------------------------------------------------------------------------------------
// The emulated adapter and devices.

/** The browser's emulated Bluetooth adapter; routes GATT operations to the simulated devices. */
export class BluetoothEmulator {
  static async start(browser) {
    // The domain lives on the browser-level session, not a page session.
    const cdp = await browser.target().createCDPSession();
    await cdp.send('BluetoothEmulation.enable', { state: 'powered-on', leSupported: true });
    const emu = new BluetoothEmulator(cdp);
    cdp.on('BluetoothEmulation.gattOperationReceived', (e) => emu.#onGatt(e));
    cdp.on('BluetoothEmulation.characteristicOperationReceived', (e) => emu.#onCharacteristic(e));
    cdp.on('BluetoothEmulation.descriptorOperationReceived', (e) => emu.#onDescriptor(e));
    return emu;
  }

  constructor(cdp) {
    this.cdp = cdp;
    this.devices = new Map(); // address -> device
    this.characteristics = new Map(); // characteristicId -> { device, role, properties }
    this.descriptors = new Map(); // descriptorId -> { device, role }
    this.failures = [];
  }

  /** Adds a simulated peripheral with its services; `device.services()` lists [{uuid, characteristics: [{uuid, role, properties}]}]. */
  async add(device) {
    await this.cdp.send('BluetoothEmulation.simulatePreconnectedPeripheral', {
      address: device.address, name: device.name, manufacturerData: [],
      knownServiceUuids: device.services().map((s) => s.uuid),
    });
    await this.#addServices(device);
    this.devices.set(device.address, device);
    device.emulator = this;
    return device;
  }

  async #addServices(device) {
    for (const [id, target] of this.characteristics) if (target.device === device) this.characteristics.delete(id);
    for (const [id, target] of this.descriptors) if (target.device === device) this.descriptors.delete(id);
    for (const svc of device.services()) {
      const { serviceId } = await this.cdp.send('BluetoothEmulation.addService', { address: device.address, serviceUuid: svc.uuid });
      for (const ch of svc.characteristics) {
        const { characteristicId } = await this.cdp.send('BluetoothEmulation.addCharacteristic', {
          serviceId, characteristicUuid: ch.uuid, properties: ch.properties,
        });
        this.characteristics.set(characteristicId, { device, role: ch.role, properties: ch.properties });
        // Every notify or indicate characteristic has its CCCD (Core v5.4 Vol 3 Part G §3.3.1.1):
        // without it a real stack (and the emulation) refuses startNotifications.
        if (ch.properties.notify || ch.properties.indicate) {
          const { descriptorId } = await this.cdp.send('BluetoothEmulation.addDescriptor', { characteristicId, descriptorUuid: CCCD });
          this.descriptors.set(descriptorId, { device, role: ch.role });
        }
      }
    }
  }

  /**
   * A fresh adapter with the same devices. Chromium drops the emulated adapter when the page that
   * used Bluetooth closes or reloads ("Bluetooth adapter not available" afterwards), so each test,
   * and each reload, starts with this. The devices keep their keys, counters and past answers.
   */
  async reset() {
    await this.cdp.send('BluetoothEmulation.disable').catch(() => {});
    await this.cdp.send('BluetoothEmulation.enable', { state: 'powered-on', leSupported: true });
    const devices = [...this.devices.values()];
    this.devices.clear();
    this.characteristics.clear();
    this.descriptors.clear();
    for (const device of devices) {
      device.chainCursor = 0;
      await this.add(device);
    }
  }

  /**
   * Drops the device's GATT connection as if it went out of range. The emulation forgets a
   * peripheral's GATT database on disconnection (a reconnect then discovers no service), so the
   * device's services are registered again, as a real device still has them.
   */
  async disconnect(device) {
    await this.cdp.send('BluetoothEmulation.simulateGATTDisconnection', { address: device.address });
    device.chainCursor = 0;
    await this.#addServices(device);
  }

  /**
   * The device advertises (the person starts a measurement on it): an advertising packet with its
   * name and services. Every ScanRecord field is given: Chromium 148's fake central refuses a
   * record with a null field (and the browser closes the target).
   */
  async advertise(device) {
    await this.cdp.send('BluetoothEmulation.simulateAdvertisement', {
      entry: {
        deviceAddress: device.address, rssi: -50,
        scanRecord: { name: device.name, uuids: device.services().map((s) => s.uuid), appearance: 0, txPower: 0, manufacturerData: [] },
      },
    });
  }

  async #onGatt({ address, type }) {
    const device = this.devices.get(address);
    device?.gattOperations.push(type);
    // Out of range, a connection attempt fails as a real one does (HCI 0x04, Page Timeout).
    const code = type === 'connection' && device?.reachable === false ? 0x04 : 0;
    await this.cdp.send('BluetoothEmulation.simulateGATTOperationResponse', { address, type, code })
      .catch((err) => this.failures.push(String(err)));
  }

  async #onCharacteristic({ characteristicId, type, data }) {
    const target = this.characteristics.get(characteristicId);
    let response = { characteristicId, type, code: 0 };
    try {
      if (!target) throw new Error(`unknown characteristic ${characteristicId}`);
      const { device, role, properties } = target;
      device.operations.push({ type, role, data: data === undefined ? undefined : Buffer.from(data, 'base64') });
      // A real device refuses what its properties do not offer (ATT 0x02 Read Not Permitted,
      // 0x03 Write Not Permitted); the attempt is a failure of the page under test.
      if (type === 'read' && !properties.read) {
        this.failures.push(`${device.name}: read of ${role}, which is not readable`);
        response = { characteristicId, type, code: 0x02 };
      } else if (type === 'write' && !properties.write) {
        this.failures.push(`${device.name}: write to ${role}, which is not writable`);
        response = { characteristicId, type, code: 0x03 };
      } else if (type === 'subscribe-to-notifications' && !(properties.notify || properties.indicate)) {
        this.failures.push(`${device.name}: subscription to ${role}, which neither notifies nor indicates`);
        response = { characteristicId, type, code: 0x06 };
      } else if (type === 'read') {
        response.data = Buffer.from(device.onRead(role)).toString('base64');
      } else if (type === 'write') {
        device.onWrite(role, Buffer.from(data ?? '', 'base64'));
      }
    } catch (err) {
      this.failures.push(String(err));
      response = { characteristicId, type, code: 0x0e }; // ATT "Unlikely Error"
    }
    await this.cdp.send('BluetoothEmulation.simulateCharacteristicOperationResponse', response)
      .catch((err) => this.failures.push(String(err)));
  }

  /** CCCD reads and writes (if the browser makes them as descriptor operations): recorded, answered. */
  async #onDescriptor({ descriptorId, type, data }) {
    const target = this.descriptors.get(descriptorId);
    target?.device.operations.push({ type: `cccd-${type}`, role: target.role, data: data === undefined ? undefined : Buffer.from(data, 'base64') });
    const response = { descriptorId, type, code: target ? 0 : 0x0e };
    if (type === 'read') response.data = Buffer.from([0, 0]).toString('base64');
    await this.cdp.send('BluetoothEmulation.simulateDescriptorOperationResponse', response)
      .catch((err) => this.failures.push(String(err)));
  }
}

/** What a simulated device saw the page do: `{subscribed, read, written}` by role. */
export function pageActivity(device) {
  const roles = (type) => [...new Set(device.operations.filter((o) => o.type === type).map((o) => o.role))];
  return {
    subscribed: roles('subscribe-to-notifications'),
    read: roles('read'),
    written: device.operations.filter((o) => o.type === 'write').map((o) => ({ role: o.role, data: o.data })),
  };
}

let nextAddress = 1;
const newAddress = () => `0A:00:00:00:00:${(nextAddress++).toString(16).padStart(2, '0').toUpperCase()}`;

/**
 * A blood-pressure cuff speaking the Veil trust service: it serves its chain in chunks, takes
 * the app's challenge and answers the next read of the reading characteristic with a COSE_Sign1
 * signed over that challenge. `nextAnswer` chooses how it misbehaves: 'fresh' (honest),
 * 'flip' (one byte of the signed bytes flipped after signing), 'replay' (the last honest answer
 * again, byte for byte). With `readable: false` its reading characteristic only indicates.
 */
export class VeilCuff {
  constructor({ name, serial, model = 'BP7 Cuff', chain, keyPem, counter = 41, reading = { systolic: 120, diastolic: 80, meanArterial: 93, pulse: 70 }, readable = true }) {
    Object.assign(this, { name, serial, model, chain, keyPem, counter, reading, readable });
    this.address = newAddress();
    this.kid = Buffer.from(fingerprint(chain[0]), 'hex');
    this.nonce = null;
    this.answers = [];
    this.nextAnswer = 'fresh';
    this.chainCursor = 0;
    this.gattOperations = [];
    this.operations = [];
  }

  services() {
    return [{
      uuid: TRUST_SERVICE.service,
      characteristics: [
        { uuid: TRUST_SERVICE.chain, role: 'chain', properties: { read: true } },
        { uuid: TRUST_SERVICE.challenge, role: 'challenge', properties: { write: true } },
        // docs/device-profile.md §5: indicate (with its CCCD), and the readable fallback unless
        // `readable` is false (indication only). The emulation cannot push an indication, so
        // only a readable cuff's answer reaches the page (through the fallback read).
        { uuid: TRUST_SERVICE.reading, role: 'reading', properties: this.readable ? { read: true, indicate: true } : { indicate: true } },
      ],
    }];
  }

  /** The chain chunks: [index, count, up to CHAIN_CHUNK bytes]. */
  chunks() {
    const bytes = Buffer.concat(this.chain);
    const count = Math.ceil(bytes.length / CHAIN_CHUNK);
    return Array.from({ length: count }, (_, i) =>
      Buffer.concat([Buffer.from([i, count]), bytes.subarray(i * CHAIN_CHUNK, (i + 1) * CHAIN_CHUNK)]));
  }

  /** A fresh answer to `nonce`, signed now. */
  sign(nonce) {
    this.counter += 1;
    const payload = readingPayload({
      serial: this.serial, counter: this.counter, ts: Math.floor(Date.now() / 1000), nonce,
      svc: SVC_BLOOD_PRESSURE, chr: CHR_BLOOD_PRESSURE, val: bloodPressureValue(this.reading),
    });
    return coseSign1({ keyPem: this.keyPem, kid: this.kid, payload });
  }

  onWrite(role, value) {
    if (role !== 'challenge') throw new Error(`write to ${role}`);
    if (value.length !== 32) throw new Error(`challenge of ${value.length} bytes`);
    this.nonce = value;
  }

  onRead(role) {
    if (role === 'chain') {
      const chunks = this.chunks();
      const chunk = chunks[this.chainCursor];
      this.chainCursor = (this.chainCursor + 1) % chunks.length;
      return chunk;
    }
    if (role !== 'reading') throw new Error(`read of ${role}`);
    if (!this.nonce) throw new Error('reading read before any challenge');
    const mode = this.nextAnswer;
    this.nextAnswer = 'fresh';
    if (mode === 'replay') {
      if (!this.lastHonest) throw new Error('nothing to replay');
      return this.lastHonest;
    }
    const answer = this.sign(this.nonce);
    this.answers.push(answer);
    if (mode === 'fresh') this.lastHonest = answer;
    if (mode === 'flip') {
      // One bit of the signed measurement (systolic 120 -> 121): still well-formed CBOR, so only
      // the signature can tell.
      const tampered = Buffer.from(answer);
      const at = tampered.lastIndexOf(bloodPressureValue(this.reading));
      if (at < 0) throw new Error('measurement not found in the answer');
      tampered[at + 1] ^= 0x01;
      return tampered;
    }
    return answer;
  }
}

/** Device Information (DIS 1.1 §3): the read-only strings a standard device describes itself with. */
function deviceInformation() {
  return {
    uuid: sigUuid(0x180a),
    characteristics: [
      { uuid: sigUuid(0x2a29), role: 'manufacturer', properties: { read: true } },
      { uuid: sigUuid(0x2a24), role: 'model', properties: { read: true } },
      { uuid: sigUuid(0x2a25), role: 'serial', properties: { read: true } },
      { uuid: sigUuid(0x2a26), role: 'firmware', properties: { read: true } },
    ],
  };
}

/** A standard device's answers: Device Information strings, feature values, Current Time writes kept. */
class StandardDevice {
  constructor({ name, manufacturer, model, serial, firmware }) {
    Object.assign(this, { name, info: { manufacturer, model, serial, firmware } });
    this.address = newAddress();
    this.gattOperations = [];
    this.operations = [];
    this.currentTime = null;
  }

  onRead(role) {
    if (role in this.info) return Buffer.from(this.info[role], 'utf8');
    if (role === 'time') return this.currentTime ?? Buffer.from([0xea, 0x07, 1, 1, 0, 0, 0, 4, 0, 0]);
    if (this.features?.[role]) return this.features[role];
    throw new Error(`read of ${role}`);
  }

  onWrite(role, value) {
    if (role === 'time') {
      if (value.length !== 10) throw new Error(`Current Time of ${value.length} octets`);
      this.currentTime = value;
      return;
    }
    if (role === 'racp') {
      this.racpRequests = [...(this.racpRequests ?? []), value];
      return;
    }
    throw new Error(`write to ${role}`);
  }
}

/**
 * A standard Blood Pressure cuff (BLS 1.1.1 §3): Blood Pressure Measurement 0x2A35 indicate-only,
 * Intermediate Cuff Pressure 0x2A36 notify-only, Blood Pressure Feature 0x2A49 read; Device
 * Information; Current Time 0x2A2B (CTS 1.1 §3.1: read, notify, write). No Veil trust service.
 */
export class StandardCuff extends StandardDevice {
  constructor({ name, manufacturer = 'Omron Healthcare', model = 'M7 Intelli IT', serial = '20240117-0042', firmware = '1.4.2' }) {
    super({ name, manufacturer, model, serial, firmware });
    this.features = { feature: Buffer.from([0x05, 0x00]) }; // body movement + irregular pulse detection
  }

  services() {
    return [
      {
        uuid: sigUuid(SVC_BLOOD_PRESSURE),
        characteristics: [
          { uuid: sigUuid(CHR_BLOOD_PRESSURE), role: 'measurement', properties: { indicate: true } },
          { uuid: sigUuid(0x2a36), role: 'intermediate', properties: { notify: true } },
          { uuid: sigUuid(0x2a49), role: 'feature', properties: { read: true } },
        ],
      },
      deviceInformation(),
      {
        uuid: sigUuid(0x1805),
        characteristics: [{ uuid: sigUuid(0x2a2b), role: 'time', properties: { read: true, notify: true, write: true } }],
      },
    ];
  }
}

/**
 * A standard glucose meter (GLS 1.0.1 §3): Glucose Measurement 0x2A18 and Measurement Context
 * 0x2A34 notify-only, Glucose Feature 0x2A51 read, Record Access Control Point 0x2A52 write and
 * indicate; Device Information. Its RACP writes are kept (`racpRequests`).
 */
export class GlucoseMeter extends StandardDevice {
  constructor({ name, manufacturer = 'Roche', model = 'Accu-Chek Guide', serial = 'GU-77881', firmware = '2.0' }) {
    super({ name, manufacturer, model, serial, firmware });
    this.features = { feature: Buffer.from([0x01, 0x04]) }; // low battery detection, multiple bond
  }

  services() {
    return [
      {
        uuid: sigUuid(0x1808),
        characteristics: [
          { uuid: sigUuid(0x2a18), role: 'measurement', properties: { notify: true } },
          { uuid: sigUuid(0x2a34), role: 'context', properties: { notify: true } },
          { uuid: sigUuid(0x2a51), role: 'feature', properties: { read: true } },
          { uuid: sigUuid(0x2a52), role: 'racp', properties: { write: true, indicate: true } },
        ],
      },
      deviceInformation(),
    ];
  }
}
