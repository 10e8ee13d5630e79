//! The Veil trust GATT service (`docs/device-profile.md` §5): UUIDs, and the framing of the
//! certificate chain, which is longer than one attribute value (ATT caps a value at 512 octets,
//! and a device may serve less than that per read, down to ATT_MTU - 1).
//!
//! Chain transfer: every read of the chain characteristic returns the next chunk,
//! `index (u8) || count (u8) || data`, chunks `0..count` in order; the device starts at chunk 0
//! on each connection and after serving the last chunk. The chain blob is the DER certificates
//! concatenated, device certificate first; each DER SEQUENCE carries its own length, so no further
//! framing is needed. [`ChainAssembler`] is the app's side, [`chain_chunks`] the device's (for
//! simulators and tests).

use crate::chain::{MAX_CERT_LEN, MAX_CHAIN_LEN};
use crate::error::Rejection;

/// The Veil trust service.
pub const TRUST_SERVICE_UUID: &str = "a3c87500-8ed3-4bdf-8a39-a01bebede295";
/// Certificate chain characteristic (read: the next chunk).
pub const CHAIN_CHARACTERISTIC_UUID: &str = "a3c87501-8ed3-4bdf-8a39-a01bebede295";
/// Challenge characteristic (write with response: 32 random bytes).
pub const CHALLENGE_CHARACTERISTIC_UUID: &str = "a3c87502-8ed3-4bdf-8a39-a01bebede295";
/// Signed reading characteristic (read, optionally notify: the tagged COSE_Sign1 answering the
/// last challenge).
pub const READING_CHARACTERISTIC_UUID: &str = "a3c87503-8ed3-4bdf-8a39-a01bebede295";
/// Length of a challenge, in bytes.
pub const CHALLENGE_LEN: usize = 32;
/// Largest attribute value (Bluetooth Core v5.4 Vol 3 Part F §3.2.9).
pub const MAX_ATTRIBUTE_LEN: usize = 512;
/// Length of the chunk header (index, count).
pub const CHUNK_HEADER_LEN: usize = 2;
/// Largest chain blob accepted.
pub const MAX_CHAIN_BLOB: usize = MAX_CHAIN_LEN * MAX_CERT_LEN;

/// The 128-bit UUID of a 16-bit Bluetooth SIG UUID (Core v5.4 Vol 3 Part B §2.5.1), as Web
/// Bluetooth and CDP expect it: `0x1810` -> `00001810-0000-1000-8000-00805f9b34fb`.
pub fn sig_uuid(short: u16) -> String {
    format!("0000{short:04x}-0000-1000-8000-00805f9b34fb")
}

/// The device's chunks of a chain blob, each at most `max_value_len` octets (clamped to 3..=512;
/// a device without long reads uses ATT_MTU - 1). Empty if the blob would need more than 255.
pub fn chain_chunks(blob: &[u8], max_value_len: usize) -> Vec<Vec<u8>> {
    let room = max_value_len.clamp(CHUNK_HEADER_LEN + 1, MAX_ATTRIBUTE_LEN) - CHUNK_HEADER_LEN;
    let Ok(count) = u8::try_from(blob.len().div_ceil(room)) else {
        return Vec::new();
    };
    blob.chunks(room)
        .enumerate()
        .map(|(i, data)| [&[i as u8, count][..], data].concat())
        .collect()
}

/// Reassembles the chain from chunks, app side: read the chain characteristic and
/// [`ChainAssembler::push`] each value until `push` returns true; then [`ChainAssembler::finish`].
///
/// If the first chunk read is not chunk 0 (an earlier transfer on this connection was cut), the
/// assembler skips chunks until chunk 0 comes round, at most `count` of them.
#[derive(Debug, Clone, Default)]
pub struct ChainAssembler {
    count: Option<u8>,
    next: u8,
    skipped: usize,
    blob: Vec<u8>,
}

impl ChainAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one chunk as read from the device; true when the chain is complete. A chunk out of
    /// order, a changing count, an empty chunk, a count of 0 or a chain over the size limit is
    /// `malformed`.
    pub fn push(&mut self, value: &[u8]) -> Result<bool, Rejection> {
        let [index, count, data @ ..] = value else {
            return Err(Rejection::malformed("chain chunk shorter than its header"));
        };
        if value.len() > MAX_ATTRIBUTE_LEN || data.is_empty() {
            return Err(Rejection::malformed("chain chunk of impossible length"));
        }
        if *count == 0 || index >= count {
            return Err(Rejection::malformed(format!(
                "chain chunk {index} of {count}"
            )));
        }
        match self.count {
            None if *index != 0 => {
                // Resynchronise: the device is mid-way through an earlier transfer.
                self.skipped += 1;
                if self.skipped > usize::from(*count) {
                    return Err(Rejection::malformed("chain chunk 0 never came round"));
                }
                return Ok(false);
            }
            None => self.count = Some(*count),
            Some(c) if c != *count => {
                return Err(Rejection::malformed("chunk count changed between chunks"));
            }
            Some(_) if *index != self.next => {
                return Err(Rejection::malformed(format!(
                    "chain chunk {index}, expected {}",
                    self.next
                )));
            }
            Some(_) => {}
        }
        if self.blob.len() + data.len() > MAX_CHAIN_BLOB {
            return Err(Rejection::malformed("chain over the size limit"));
        }
        self.blob.extend_from_slice(data);
        self.next = index.saturating_add(1);
        Ok(self.next == *count)
    }

    /// The certificates (DER, device first) once complete.
    pub fn finish(self) -> Result<Vec<Vec<u8>>, Rejection> {
        if self.count.is_none() || self.count != Some(self.next) {
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
        for max in [4, 20, 23, 182, 244, 512, 9999] {
            let chunks = chain_chunks(&blob, max);
            assert!(chunks.iter().all(|c| c.len() <= max.clamp(3, 512)));
            assert!(!chunks.is_empty());
            let mut asm = ChainAssembler::new();
            let done: Vec<bool> = chunks.iter().map(|c| asm.push(c).unwrap()).collect();
            assert_eq!(done.iter().filter(|d| **d).count(), 1);
            assert!(done[done.len() - 1]);
            let certs = asm.finish().unwrap();
            assert_eq!(certs.len(), 2);
            assert_eq!(certs[1].len(), 304);
        }
    }

    #[test]
    fn resynchronises_after_a_cut_transfer() {
        let blob = blob();
        let chunks = chain_chunks(&blob, 100);
        let mut asm = ChainAssembler::new();
        // The device is at chunk 2 from an earlier, interrupted transfer.
        let mut reads = chunks[2..].iter().chain(chunks.iter());
        while !asm.push(reads.next().unwrap()).unwrap() {}
        assert_eq!(asm.finish().unwrap().len(), 2);
    }

    #[test]
    fn bad_chunks_are_typed() {
        let chunks = chain_chunks(&blob(), 100);
        let mut asm = ChainAssembler::new();
        asm.push(&chunks[0]).unwrap();
        assert!(asm.clone().push(&chunks[2]).is_err(), "out of order");
        let mut other = chunks[1].clone();
        other[1] += 1;
        assert!(asm.clone().push(&other).is_err(), "count changed");
        assert!(asm.clone().push(&[1, 4]).is_err(), "empty data");
        assert!(ChainAssembler::new().push(&[0]).is_err(), "short");
        assert!(
            ChainAssembler::new().push(&[0, 0, 1]).is_err(),
            "zero count"
        );
        assert!(
            ChainAssembler::new().push(&[5, 3, 1]).is_err(),
            "index past count"
        );
        assert!(asm.finish().is_err(), "incomplete");
        let mut never = ChainAssembler::new();
        let r: Result<Vec<bool>, _> = (0..10).map(|_| never.push(&[1, 3, 9])).collect();
        assert!(r.is_err(), "chunk 0 never comes");
        assert!(split_der_chain(&[0x30, 0x05, 1]).is_err());
        assert!(split_der_chain(&[0x31, 0x00]).is_err());
    }

    #[test]
    fn sig_uuids() {
        assert_eq!(sig_uuid(0x1810), "00001810-0000-1000-8000-00805f9b34fb");
    }
}
