//! The Veil trust GATT service (`docs/device-profile.md` §5): UUIDs, and the framing of the
//! certificate chain, which is longer than one attribute value (ATT caps a value at 512 octets,
//! and a device may serve less than that per read, down to ATT_MTU - 1).
//!
//! Chain transfer: the app writes a uint16 LE offset to the chain characteristic, then reads it;
//! the device answers `total (uint16 LE) || offset (uint16 LE) || data`, where `data` is the next
//! octets of the chain blob from that offset (at least one unless the end is reached). The blob is
//! the DER certificates concatenated, device certificate first; each DER SEQUENCE carries its own
//! length, so no further framing is needed. [`ChainAssembler`] is the app's side, [`chain_chunk`]
//! the device's (for simulators and tests).

use crate::chain::{MAX_CERT_LEN, MAX_CHAIN_LEN};
use crate::error::Rejection;

/// The Veil trust service.
pub const TRUST_SERVICE_UUID: &str = "26f00001-b36f-42a4-b23b-3768580555d2";
/// Certificate chain characteristic (write: uint16 LE offset; read: one chunk).
pub const CHAIN_CHARACTERISTIC_UUID: &str = "26f00002-b36f-42a4-b23b-3768580555d2";
/// Challenge characteristic (write with response: 32 random bytes, optionally followed by the
/// uint16 LE characteristic UUID of the measurement wanted).
pub const CHALLENGE_CHARACTERISTIC_UUID: &str = "26f00003-b36f-42a4-b23b-3768580555d2";
/// Signed reading characteristic (read, optionally notify: the tagged COSE_Sign1 answering the
/// last challenge; empty when no measurement is available yet).
pub const READING_CHARACTERISTIC_UUID: &str = "26f00004-b36f-42a4-b23b-3768580555d2";
/// Length of a challenge, in bytes.
pub const CHALLENGE_LEN: usize = 32;
/// Largest attribute value (Bluetooth Core v5.4 Vol 3 Part F §3.2.9).
pub const MAX_ATTRIBUTE_LEN: usize = 512;
/// Length of the chunk header (total, offset).
pub const CHUNK_HEADER_LEN: usize = 4;
/// Largest chain blob accepted.
pub const MAX_CHAIN_BLOB: usize = MAX_CHAIN_LEN * MAX_CERT_LEN;

/// The 128-bit UUID of a 16-bit Bluetooth SIG UUID (Core v5.4 Vol 3 Part B §2.5.1), as Web
/// Bluetooth and CDP expect it: `0x1810` -> `00001810-0000-1000-8000-00805f9b34fb`.
pub fn sig_uuid(short: u16) -> String {
    format!("0000{short:04x}-0000-1000-8000-00805f9b34fb")
}

/// The device's answer to a chain read after the app wrote `offset`: header plus up to
/// `max_value_len - 4` octets of the blob (`max_value_len` is at most 512; a device without long
/// reads uses ATT_MTU - 1).
pub fn chain_chunk(blob: &[u8], offset: u16, max_value_len: usize) -> Vec<u8> {
    let total = u16::try_from(blob.len()).unwrap_or(u16::MAX);
    let room = max_value_len.clamp(CHUNK_HEADER_LEN + 1, MAX_ATTRIBUTE_LEN) - CHUNK_HEADER_LEN;
    let start = usize::from(offset).min(blob.len());
    let end = (start + room).min(blob.len());
    let mut out = Vec::with_capacity(CHUNK_HEADER_LEN + end - start);
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&blob[start..end]);
    out
}

/// Reassembles the chain from chunks, app side: write [`ChainAssembler::next_offset`], read,
/// [`ChainAssembler::push`] the value, until `push` returns true; then [`ChainAssembler::finish`].
#[derive(Debug, Clone, Default)]
pub struct ChainAssembler {
    total: Option<usize>,
    blob: Vec<u8>,
}

impl ChainAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// The offset to write before the next read.
    pub fn next_offset(&self) -> u16 {
        u16::try_from(self.blob.len()).unwrap_or(u16::MAX)
    }

    /// Adds one chunk as read from the device; true when the chain is complete. A chunk for
    /// another offset, a changing total, an empty chunk before the end or a total over the limit
    /// is `malformed`.
    pub fn push(&mut self, value: &[u8]) -> Result<bool, Rejection> {
        if value.len() < CHUNK_HEADER_LEN || value.len() > MAX_ATTRIBUTE_LEN {
            return Err(Rejection::malformed("chain chunk of impossible length"));
        }
        let total = usize::from(u16::from_le_bytes([value[0], value[1]]));
        let offset = usize::from(u16::from_le_bytes([value[2], value[3]]));
        let data = &value[CHUNK_HEADER_LEN..];
        if total == 0 || total > MAX_CHAIN_BLOB {
            return Err(Rejection::malformed(format!("chain of {total} bytes")));
        }
        if self.total.is_some_and(|t| t != total) {
            return Err(Rejection::malformed("chain length changed between chunks"));
        }
        if offset != self.blob.len() {
            return Err(Rejection::malformed(format!(
                "chunk at offset {offset}, expected {}",
                self.blob.len()
            )));
        }
        if offset + data.len() > total {
            return Err(Rejection::malformed("chunk runs past the chain's length"));
        }
        if data.is_empty() && offset < total {
            return Err(Rejection::malformed(
                "empty chunk before the end of the chain",
            ));
        }
        self.total = Some(total);
        self.blob.extend_from_slice(data);
        Ok(self.blob.len() == total)
    }

    /// The certificates (DER, device first) once complete.
    pub fn finish(self) -> Result<Vec<Vec<u8>>, Rejection> {
        if self.total != Some(self.blob.len()) {
            return Err(Rejection::malformed("chain incomplete"));
        }
        split_der_chain(&self.blob)
    }
}

/// Splits concatenated DER certificates (the chain blob) into certificates, checking each
/// top-level SEQUENCE's length against the bytes present.
pub fn split_der_chain(blob: &[u8]) -> Result<Vec<Vec<u8>>, Rejection> {
    let mut out = Vec::new();
    let mut rest = blob;
    while !rest.is_empty() {
        if out.len() >= MAX_CHAIN_LEN {
            return Err(Rejection::malformed(format!(
                "more than {MAX_CHAIN_LEN} certificates"
            )));
        }
        if rest[0] != 0x30 || rest.len() < 2 {
            return Err(Rejection::malformed("chain blob: expected a DER SEQUENCE"));
        }
        // X.690 §8.1.3: definite length, short form or long form with 1-2 length octets here.
        let (len, header) = match rest[1] {
            n @ 0..=0x7F => (usize::from(n), 2),
            0x81 if rest.len() >= 3 => (usize::from(rest[2]), 3),
            0x82 if rest.len() >= 4 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            _ => return Err(Rejection::malformed("chain blob: unsupported DER length")),
        };
        let end = header + len;
        if end > rest.len() || end > MAX_CERT_LEN {
            return Err(Rejection::malformed(
                "chain blob: certificate truncated or too long",
            ));
        }
        out.push(rest[..end].to_vec());
        rest = &rest[end..];
    }
    if out.is_empty() {
        return Err(Rejection::malformed("empty chain"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob() -> Vec<u8> {
        // Two fake "certificates": a short-form and a long-form DER SEQUENCE.
        let mut a = vec![0x30, 0x03, 1, 2, 3];
        let mut b = vec![0x30, 0x82, 0x01, 0x2C];
        b.extend(std::iter::repeat_n(7u8, 300));
        a.extend_from_slice(&b);
        a
    }

    #[test]
    fn chunks_reassemble_at_any_value_size() {
        let blob = blob();
        for max in [5, 20, 23, 100, 244, 512, 9999] {
            let mut asm = ChainAssembler::new();
            let mut reads = 0;
            loop {
                reads += 1;
                if asm
                    .push(&chain_chunk(&blob, asm.next_offset(), max))
                    .unwrap()
                {
                    break;
                }
                assert!(reads < 1000);
            }
            let certs = asm.finish().unwrap();
            assert_eq!(certs.len(), 2);
            assert_eq!(certs[1].len(), 304);
        }
    }

    #[test]
    fn bad_chunks_are_typed() {
        let blob = blob();
        let mut asm = ChainAssembler::new();
        assert!(
            asm.push(&chain_chunk(&blob, 10, 64)).is_err(),
            "wrong offset"
        );
        assert!(asm.push(&[1, 0]).is_err(), "short");
        assert!(asm.push(&[0, 0, 0, 0]).is_err(), "zero total");
        let mut c = chain_chunk(&blob, 0, 64);
        c[0] = 0xFF;
        c[1] = 0xFF;
        assert!(asm.push(&c).is_err(), "total over limit");
        assert!(ChainAssembler::new().finish().is_err());
        assert!(split_der_chain(&[0x30, 0x05, 1]).is_err());
        assert!(split_der_chain(&[0x31, 0x00]).is_err());
    }

    #[test]
    fn sig_uuids() {
        assert_eq!(sig_uuid(0x1810), "00001810-0000-1000-8000-00805f9b34fb");
    }
}
