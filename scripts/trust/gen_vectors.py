#!/usr/bin/env python3
"""Generates Veil's cross-implementation device-trust vectors with `cryptography` (X.509) and
`pycose` (COSE_Sign1), independently of the Rust code that verifies them.

Writes crates/trust/tests/vectors/: one `<case>.cose` per case, the chains under `chains/`, the
trust store `trust-roots.pem`, and `manifest.json` saying, for each case, the chain, the challenge,
the last counter seen, and the expected outcome (`verified` with expected measurement fields, or
a rejection code). `crates/trust/tests/vectors.rs` runs them all.

Keys are derived from fixed seeds and pycose signs deterministically (RFC 6979), so a re-run
reproduces the same certificates' keys; certificate signatures (from `cryptography`) change.

Usage: python3 scripts/trust/gen_vectors.py [OUT_DIR]
Needs: pip install cryptography pycose 'cbor2<6'
"""

import hashlib
import json
import os
import sys

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from veilcose import der, issue, key_from_seed, name, payload, pem, sign1  # noqa: E402

NOW = 1_790_000_000  # 2026-09-21T14:13:20Z
YEAR = 365 * 86_400
NONCE = bytes(range(32))
N_P256 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
BP = (0x1810, 0x2A35)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "crates", "trust", "tests", "vectors")


def le16(v):
    return v.to_bytes(2, "little")


def bp_val(sys_, dia, map_, pulse=None):
    flags = 0x04 if pulse is not None else 0
    out = bytes([flags]) + le16(sys_) + le16(dia) + le16(map_)
    return out + (le16(pulse) if pulse is not None else b"")


class Manufacturer:
    def __init__(self, org, seed, intermediate=True, root_path_len=None):
        self.org = org
        self.root_key = key_from_seed(seed + "/root")
        self.root = issue(name(f"{org} Root CA", org), self.root_key, name(f"{org} Root CA", org), self.root_key,
                          NOW - 2 * YEAR, NOW + 20 * YEAR, ca=True, path_len=root_path_len, serial_number=1)
        self.ca_key, self.ca = self.root_key, self.root
        self.intermediates = []
        if intermediate:
            self.ca_key = key_from_seed(seed + "/pai")
            self.ca = issue(name(f"{org} Device CA", org), self.ca_key, self.root.subject, self.root_key,
                            NOW - 2 * YEAR, NOW + 10 * YEAR, ca=True, path_len=0, serial_number=2)
            self.intermediates = [self.ca]

    def device(self, serial, seed, *, model="BP Cuff", not_before=None, not_after=None, ca=False,
               key_usage="auto", curve=None):
        key = key_from_seed(seed, curve)
        cert = issue(name(model, self.org, serial), key, self.ca.subject, self.ca_key,
                     not_before if not_before is not None else NOW - YEAR,
                     not_after if not_after is not None else NOW + 5 * YEAR,
                     ca=ca, key_usage="sign" if key_usage == "auto" else key_usage,
                     serial_number=int.from_bytes(hashlib.sha256(serial.encode()).digest()[:8], "big"))
        return key, cert

    def chain(self, cert):
        return [cert] + self.intermediates


def main():
    os.makedirs(os.path.join(OUT, "chains"), exist_ok=True)
    acme = Manufacturer("Acme Medical", "acme")
    globex = Manufacturer("Globex Health", "globex", intermediate=False)
    umbrella = Manufacturer("Umbrella Devices", "umbrella", intermediate=True, root_path_len=0)
    initech = Manufacturer("Initech", "initech")  # not trusted

    with open(os.path.join(OUT, "trust-roots.pem"), "wb") as f:
        f.write(pem(acme.root, globex.root, umbrella.root))

    chains = {}

    def chain(name_, certs):
        chains[name_] = f"chains/{name_}.pem"
        with open(os.path.join(OUT, chains[name_]), "wb") as f:
            f.write(pem(*certs))
        return name_

    bp_key, bp_cert = acme.device("ACME-BP-000001", "acme/bp1", model="BP7 Cuff")
    chain("acme-bp", acme.chain(bp_cert))
    chain("acme-bp-with-root", acme.chain(bp_cert) + [acme.root])
    th_key, th_cert = globex.device("GLX-T-000001", "globex/t1", model="Thermo 3")
    chain("globex-thermo", globex.chain(th_cert))
    it_key, it_cert = initech.device("INI-000001", "initech/1")
    chain("initech-unknown-manufacturer", initech.chain(it_cert))
    ca_key, ca_cert = acme.device("ACME-BP-000002", "acme/bp2", ca=True, key_usage="sign")
    chain("device-is-ca", acme.chain(ca_cert))
    nd_key, nd_cert = acme.device("ACME-BP-000003", "acme/bp3", key_usage="cert")
    chain("device-without-digital-signature", acme.chain(nd_cert))
    um_key, um_cert = umbrella.device("UMB-000001", "umbrella/1")
    chain("root-pathlen-zero-with-intermediate", umbrella.chain(um_cert))
    # An intermediate that is not a CA.
    nca_key = key_from_seed("acme/not-ca")
    nca = issue(name("Acme Not A CA", "Acme Medical"), nca_key, acme.root.subject, acme.root_key,
                NOW - YEAR, NOW + YEAR, ca=False, key_usage="cert", serial_number=9)
    nc_dev_key = key_from_seed("acme/under-not-ca")
    nc_dev = issue(name("BP7 Cuff", "Acme Medical", "ACME-BP-000004"), nc_dev_key, nca.subject, nca_key,
                   NOW - YEAR, NOW + YEAR, ca=False, key_usage="sign", serial_number=10)
    chain("intermediate-not-ca", [nc_dev, nca])
    # A device certificate whose issuer signature is corrupted (last byte of the DER).
    bad_der = bytearray(der(bp_cert))
    bad_der[-1] ^= 0x01
    from cryptography import x509 as _x509
    chain("device-bad-issuer-signature", [_x509.load_der_x509_certificate(bytes(bad_der))] + acme.intermediates)
    ex_key, ex_cert = acme.device("ACME-BP-000005", "acme/bp5", not_before=NOW - 3 * YEAR, not_after=NOW - 86_400)
    chain("expired-device", acme.chain(ex_cert))
    ny_key, ny_cert = acme.device("ACME-BP-000006", "acme/bp6", not_before=NOW - 100)
    chain("device-valid-from-100s-ago", acme.chain(ny_cert))
    rv_key, rv_cert = acme.device("ACME-BP-000099", "acme/bp99")
    chain("revoked-device", acme.chain(rv_cert))
    p3_key, p3_cert = acme.device("ACME-BP-000384", "acme/p384", curve=ec.SECP384R1())
    chain("device-p384", acme.chain(p3_cert))
    chains["malformed-der"] = "chains/malformed-der.pem"
    with open(os.path.join(OUT, chains["malformed-der"]), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nMIIBAAAAAAAAAAAAAAAA\n-----END CERTIFICATE-----\n")

    cases = []

    def case(name_, cose, chain_, expect, *, nonce=NONCE, last=50, measurement=None, note=""):
        with open(os.path.join(OUT, f"{name_}.cose"), "wb") as f:
            f.write(cose)
        cases.append({
            "name": name_, "cose": f"{name_}.cose", "chain": chains[chain_],
            "nonce": nonce.hex() if nonce is not None else None, "last_counter": last,
            "expect": expect, "measurement": measurement, "note": note,
        })

    def reading(key, cert, dev, ctr=51, ts_=NOW - 5, svc_chr=BP, val=None, alg="ES256", nonce=NONCE, **kw):
        val = val if val is not None else bp_val(120, 80, 93, 70)
        return sign1(key, cert, payload(dev, ctr, ts_, nonce, svc_chr[0], svc_chr[1], val), alg, **kw)

    bp_expect = {"type": "blood_pressure", "systolic": 120, "diastolic": 80, "mean_arterial": 93,
                 "pulse": 70, "unit": "mmHg"}
    good = reading(bp_key, bp_cert, "ACME-BP-000001")
    case("valid-es256", good, "acme-bp", "verified", measurement=bp_expect,
         note="BP 120/80/93 pulse 70, ES256, kid in protected header, chain device+intermediate")
    case("valid-esp256", reading(bp_key, bp_cert, "ACME-BP-000001", alg="ESP256"), "acme-bp", "verified",
         measurement=bp_expect, note="same with the fully-specified alg ESP256 (-9, RFC 9864)")
    case("valid-kid-unprotected", reading(bp_key, bp_cert, "ACME-BP-000001", kid_in="unprotected"), "acme-bp",
         "verified", measurement=bp_expect)
    case("valid-chain-with-root", good, "acme-bp-with-root", "verified", measurement=bp_expect,
         note="the device also sends the root")
    case("valid-no-challenge-no-counter", good, "acme-bp", "verified", nonce=None, last=None,
         measurement=bp_expect, note="backend re-verification: no challenge, no counter state")
    # High-S: (r, n - s) is an equally valid ECDSA signature; Node and OpenSSL do not normalise S.
    tagged = cbor2.loads(good)
    r, s = tagged.value[3][:32], int.from_bytes(tagged.value[3][32:], "big")
    tagged.value[3] = r + (N_P256 - s).to_bytes(32, "big")
    case("valid-high-s", cbor2.dumps(tagged), "acme-bp", "verified", measurement=bp_expect)

    # Temperature 98.6 F (FLOAT 986e-1), time stamp, site mouth, from a Globex thermometer (no PAI).
    temp = bytes([0x07]) + (986 | (0xFF << 24)).to_bytes(4, "little") + le16(2026) + bytes([9, 21, 14, 13, 0]) + bytes([6])
    case("valid-temperature-fahrenheit",
         reading(th_key, th_cert, "GLX-T-000001", svc_chr=(0x1809, 0x2A1C), val=temp), "globex-thermo", "verified",
         measurement={"type": "temperature", "celsius": 37, "reported_unit": "fahrenheit",
                      "time_stamp": "2026-09-21T14:13:00", "site": "mouth"})
    # Glucose 5.5 mmol/L = 0.0055 mol/L = SFLOAT 55e-4, seq 7, capillary whole blood at finger.
    glu = bytes([0x06]) + le16(7) + le16(2026) + bytes([9, 21, 14, 0, 0]) + le16((0xC << 12) | 55) + bytes([0x11])
    case("valid-glucose-mmol", reading(bp_key, bp_cert, "ACME-BP-000001", svc_chr=(0x1808, 0x2A18), val=glu),
         "acme-bp", "verified", measurement={"type": "glucose", "mmol_per_l": 5.5, "sequence_number": 7,
                                             "sample_type": "capillary_whole_blood", "sample_location": "finger"})
    spo2 = bytes([0x08]) + le16(98) + le16(72) + le16((0xF << 12) | 25)
    case("valid-spo2", reading(bp_key, bp_cert, "ACME-BP-000001", svc_chr=(0x1822, 0x2A5E), val=spo2), "acme-bp",
         "verified", measurement={"type": "pulse_oximetry", "spo2": 98, "pulse": 72, "pulse_amplitude_index": 2.5})
    weight = bytes([0x09]) + le16(16000) + le16(224) + le16(709)  # 160.00 lb, BMI 22.4, 70.9 in
    case("valid-weight-imperial", reading(bp_key, bp_cert, "ACME-BP-000001", svc_chr=(0x181D, 0x2A9D), val=weight),
         "acme-bp", "verified", measurement={"type": "weight", "weight": 72.575, "unit": "kg", "bmi": 22.4,
                                             "height_m": 1.8009, "reported_unit": "lb"})
    hr = bytes([0x17]) + le16(150) + le16(1024) + le16(512)  # u16 format, contact, RR 1.0 s and 0.5 s
    case("valid-heart-rate", reading(bp_key, bp_cert, "ACME-BP-000001", svc_chr=(0x180D, 0x2A37), val=hr),
         "acme-bp", "verified", measurement={"type": "heart_rate", "heart_rate": 150, "sensor_contact": True,
                                             "rr_intervals_s": [1.0, 0.5]})
    # kPa with special values: systolic 16.0 kPa, diastolic +INF, MAP NaN, pulse NRes, status.
    bpk = bytes([0x15]) + le16(0xF0A0) + le16(0x07FE) + le16(0x07FF) + le16(0x0800) + le16(0b001100)
    case("valid-bp-kpa-special-values", reading(bp_key, bp_cert, "ACME-BP-000001", val=bpk), "acme-bp",
         "verified", measurement={"type": "blood_pressure", "systolic": 120, "diastolic": "+INF",
                                  "mean_arterial": "NaN", "pulse": "NRes", "reported_unit": "kPa", "unit": "mmHg"})
    case("valid-unknown-characteristic",
         reading(bp_key, bp_cert, "ACME-BP-000001", svc_chr=(0x1234, 0x2BFF), val=b"\x01\x02"), "acme-bp",
         "verified", measurement={"type": "unknown", "service": 0x1234, "characteristic": 0x2BFF, "value_hex": "0102"})

    # --- bad-signature
    flipped = bytearray(good)
    flipped[-1] ^= 0x01
    case("bad-signature", bytes(flipped), "acme-bp", "bad-signature", note="last signature byte flipped")
    t = cbor2.loads(good)
    p = cbor2.loads(t.value[2])
    p["val"] = bp_val(90, 60, 70, 70)
    t.value[2] = cbor2.dumps(p)
    case("bad-signature-payload-changed", cbor2.dumps(t), "acme-bp", "bad-signature")
    t = cbor2.loads(good)
    ph = cbor2.loads(t.value[0])
    ph[1] = -9
    t.value[0] = cbor2.dumps(ph)
    case("bad-signature-protected-changed", cbor2.dumps(t), "acme-bp", "bad-signature",
         note="alg switched from -7 to -9 after signing")
    case("bad-signature-wrong-device", reading(th_key, bp_cert, "ACME-BP-000001"), "acme-bp", "bad-signature",
         note="signed by another device's key, presenting ACME-BP-000001's chain")

    # --- unsupported-algorithm
    case("unsupported-algorithm-es384",
         sign1(p3_key, p3_cert, payload("ACME-BP-000384", 51, NOW - 5, NONCE, *BP, bp_val(120, 80, 93)), "ES384"),
         "device-p384", "unsupported-algorithm", note="alg ES384 (-35), a real P-384 signature")
    case("unsupported-algorithm-eddsa",
         _cose_raw({1: -8, 4: hashlib.sha256(der(bp_cert)).digest()}, payload("ACME-BP-000001", 51, NOW - 5, NONCE,
                                                                              *BP, bp_val(120, 80, 93)), bytes(64)),
         "acme-bp", "unsupported-algorithm", note="alg EdDSA (-8)")
    case("unsupported-curve-device",
         _cose_raw({1: -7, 4: hashlib.sha256(der(p3_cert)).digest()}, payload("ACME-BP-000384", 51, NOW - 5, NONCE,
                                                                              *BP, bp_val(120, 80, 93)), bytes(64)),
         "device-p384", "unsupported-algorithm", note="device certificate key on P-384")

    # --- untrusted-chain
    case("untrusted-chain", reading(it_key, it_cert, "INI-000001"), "initech-unknown-manufacturer",
         "untrusted-chain", note="device certified by a manufacturer not in the trust store")
    case("untrusted-chain-device-is-ca", reading(ca_key, ca_cert, "ACME-BP-000002"), "device-is-ca",
         "untrusted-chain")
    case("untrusted-chain-no-digital-signature", reading(nd_key, nd_cert, "ACME-BP-000003"),
         "device-without-digital-signature", "untrusted-chain")
    case("untrusted-chain-pathlen", reading(um_key, um_cert, "UMB-000001"), "root-pathlen-zero-with-intermediate",
         "untrusted-chain", note="root pathLenConstraint 0, yet an intermediate")
    case("untrusted-chain-intermediate-not-ca", reading(nc_dev_key, nc_dev, "ACME-BP-000004"), "intermediate-not-ca",
         "untrusted-chain")
    case("untrusted-chain-bad-issuer-signature", good, "device-bad-issuer-signature", "untrusted-chain")
    case("untrusted-chain-kid-mismatch", reading(bp_key, bp_cert, "ACME-BP-000001", kid=bytes(32)), "acme-bp",
         "untrusted-chain", note="kid is not SHA-256 of the presented device certificate")

    # --- expired-certificate, revoked, serial, nonce, counter, freshness
    case("expired-certificate", reading(ex_key, ex_cert, "ACME-BP-000005"), "expired-device", "expired-certificate")
    case("expired-certificate-at-reading-time", reading(ny_key, ny_cert, "ACME-BP-000006", ts_=NOW - 200),
         "device-valid-from-100s-ago", "expired-certificate", note="reading time before the device's notBefore")
    case("revoked", reading(rv_key, rv_cert, "ACME-BP-000099"), "revoked-device", "revoked")
    case("serial-mismatch", reading(bp_key, bp_cert, "ACME-BP-000777"), "acme-bp", "serial-mismatch")
    case("nonce-mismatch", reading(bp_key, bp_cert, "ACME-BP-000001", nonce=bytes(32)), "acme-bp", "nonce-mismatch")
    case("replayed-counter", reading(bp_key, bp_cert, "ACME-BP-000001", ctr=50), "acme-bp", "replayed-counter")
    case("replayed-counter-lower", reading(bp_key, bp_cert, "ACME-BP-000001", ctr=7), "acme-bp", "replayed-counter")
    case("replayed-answer-new-challenge", good, "acme-bp", "replayed-counter", nonce=bytes([0xAA] * 32), last=51,
         note="an old answer replayed after a new challenge: reported as the replay")
    case("stale", reading(bp_key, bp_cert, "ACME-BP-000001", ts_=NOW - 3600), "acme-bp", "stale")
    case("stale-future", reading(bp_key, bp_cert, "ACME-BP-000001", ts_=NOW + 3600), "acme-bp", "stale")

    # --- malformed
    case("malformed-untagged", cbor2.dumps(cbor2.loads(good).value), "acme-bp", "malformed")
    case("malformed-wrong-tag", cbor2.dumps(cbor2.CBORTag(17, cbor2.loads(good).value)), "acme-bp", "malformed")
    case("malformed-truncated", good[:-10], "acme-bp", "malformed")
    case("malformed-trailing-bytes", good + b"\x00", "acme-bp", "malformed")
    case("malformed-not-cbor", b"\xff\xfe\xfd", "acme-bp", "malformed")
    case("malformed-huge-length", b"\xd2\x84\x5b\x7f\xff\xff\xff\xff\xff\xff\xff", "acme-bp", "malformed",
         note="a bstr claiming 2^63 bytes")
    case("malformed-payload-not-map",
         sign1(bp_key, bp_cert, cbor2.dumps([1, 2, 3])), "acme-bp", "malformed")
    p = {"v": 1, "dev": "ACME-BP-000001", "ts": NOW - 5, "nonce": NONCE, "svc": 0x1810, "chr": 0x2A35,
         "val": bp_val(120, 80, 93)}
    case("malformed-missing-ctr", sign1(bp_key, bp_cert, cbor2.dumps(p)), "acme-bp", "malformed")
    case("malformed-version-2", sign1(bp_key, bp_cert, payload("ACME-BP-000001", 51, NOW - 5, NONCE, *BP,
                                                                bp_val(120, 80, 93), v=2)), "acme-bp", "malformed")
    body = payload("ACME-BP-000001", 51, NOW - 5, NONCE, *BP, bp_val(120, 80, 93))
    dup = bytes([body[0] + 1]) + body[1:] + cbor2.dumps("ctr") + cbor2.dumps(99)  # map of 9 with "ctr" twice
    case("malformed-duplicate-key", sign1(bp_key, bp_cert, dup), "acme-bp", "malformed")
    case("malformed-measurement-truncated",
         reading(bp_key, bp_cert, "ACME-BP-000001", val=bp_val(120, 80, 93, 70)[:-1]), "acme-bp", "malformed")
    case("malformed-service-mismatch",
         reading(bp_key, bp_cert, "ACME-BP-000001", svc_chr=(0x180D, 0x2A35)), "acme-bp", "malformed")
    t = cbor2.loads(good)
    t.value[2] = None
    case("malformed-detached-payload", cbor2.dumps(t), "acme-bp", "malformed")
    case("malformed-chain-der", good, "malformed-der", "malformed")

    manifest = {
        "generator": "scripts/trust/gen_vectors.py (cryptography + pycose)",
        "now": NOW, "max_age_secs": 300, "max_future_secs": 60,
        "trust": "trust-roots.pem", "revoked": ["ACME-BP-000099"],
        "cases": cases,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases written to {OUT}")


def _cose_raw(protected, payload_bytes, signature):
    """A tagged COSE_Sign1 built by hand (for algorithms pycose cannot sign here)."""
    return cbor2.dumps(cbor2.CBORTag(18, [cbor2.dumps(protected), {}, payload_bytes, signature]))


if __name__ == "__main__":
    main()
