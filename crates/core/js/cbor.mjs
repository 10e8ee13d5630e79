// The one JavaScript CBOR (RFC 8949) the Node tests and the browser tests use: the encoder crafts
// device readings and forged artifacts, the decoder opens envelopes. It is checked against the Rust
// original (`veil_core::cbor`, `veil_core::cose`) by `crates/wasm/tests/node/cbor.test.mjs` over the
// vectors `crates/core/tests/js_vectors.rs` writes and checks, so the two cannot drift apart.
//
// Heads are always written in preferred (shortest) form; maps keep the order they are given in
// (`CborMap` or `Map` for integer keys; plain objects become text-keyed maps).

/** A CBOR tag around a value. */
export class Tagged {
  constructor(tag, value) { this.tag = tag; this.value = value; }
}

/** A CBOR map with entries in the given order (keys may be numbers or strings). */
export class CborMap {
  constructor(entries) { this.entries = entries; }
}

/** A head (major type + argument) in preferred (shortest) form. */
export function head(major, n) {
  const big = BigInt(n);
  if (big < 24n) return Buffer.from([(major << 5) | Number(big)]);
  if (big < 0x100n) return Buffer.from([(major << 5) | 24, Number(big)]);
  if (big < 0x10000n) { const b = Buffer.alloc(3); b[0] = (major << 5) | 25; b.writeUInt16BE(Number(big), 1); return b; }
  if (big < 0x100000000n) { const b = Buffer.alloc(5); b[0] = (major << 5) | 26; b.writeUInt32BE(Number(big), 1); return b; }
  const b = Buffer.alloc(9); b[0] = (major << 5) | 27; b.writeBigUInt64BE(big, 1); return b;
}

/** Encode a JS value: integers (number or bigint), strings, bytes, arrays, maps, tags, null, booleans. */
export function cbor(v) {
  if (v === null) return Buffer.from([0xf6]);
  if (v === true) return Buffer.from([0xf5]);
  if (v === false) return Buffer.from([0xf4]);
  if (v instanceof Tagged) return Buffer.concat([head(6, v.tag), cbor(v.value)]);
  if (v instanceof CborMap) return Buffer.concat([head(5, v.entries.length), ...v.entries.flatMap(([k, x]) => [cbor(k), cbor(x)])]);
  if (v instanceof Map) return cbor(new CborMap([...v]));
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)]);
  if (typeof v === 'string') { const b = Buffer.from(v, 'utf8'); return Buffer.concat([head(3, b.length), b]); }
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)]);
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = BigInt(v);
    return n >= 0n ? head(0, n) : head(1, -1n - n);
  }
  if (typeof v === 'object') return cbor(new CborMap(Object.entries(v)));
  throw new TypeError(`cbor: cannot encode ${typeof v}`);
}

/** The COSE `Sig_structure` of a COSE_Sign1 with an empty external_aad (RFC 9052 §4.4). */
export function sigStructure(protectedBytes, payload) {
  return cbor(['Signature1', protectedBytes, Buffer.alloc(0), payload]);
}

/** Decode one CBOR item (definite lengths; maps as CborMap, byte strings as Buffer); trailing bytes are an error. */
export function decode(bytes) {
  const b = Buffer.from(bytes);
  let at = 0;
  const arg = (info) => {
    if (info < 24) return info;
    if (info > 27) throw new Error(`cbor: additional info ${info} not supported`);
    const n = 1 << (info - 24);
    const v = n === 8 ? b.readBigUInt64BE(at) : b.readUIntBE(at, n);
    at += n;
    return typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const item = () => {
    if (at >= b.length) throw new Error('cbor: truncated');
    const first = b[at++];
    const major = first >> 5;
    const info = first & 31;
    if (major === 7) {
      if (info === 20) return false;
      if (info === 21) return true;
      if (info === 22) return null;
      if (info === 25) { at += 2; return b.readUInt16BE(at - 2); }
      if (info === 26) { at += 4; return b.readFloatBE(at - 4); }
      if (info === 27) { at += 8; return b.readDoubleBE(at - 8); }
      throw new Error(`cbor: simple value ${info}`);
    }
    const n = arg(info);
    switch (major) {
      case 0: return n;
      case 1: return typeof n === 'bigint' ? -1n - n : -1 - n;
      case 2: if (at + n > b.length) throw new Error('cbor: truncated'); at += n; return b.subarray(at - n, at);
      case 3: if (at + n > b.length) throw new Error('cbor: truncated'); at += n; return b.subarray(at - n, at).toString('utf8');
      case 4: return Array.from({ length: n }, item);
      case 5: return new CborMap(Array.from({ length: n }, () => [item(), item()]));
      default: return new Tagged(n, item());
    }
  };
  const v = item();
  if (at !== b.length) throw new Error('cbor: trailing bytes');
  return v;
}
