//! Randomness: drawn with `getrandom` (fallible, so a missing source is a typed error rather than
//! a panic), then handed to `hpke` through a one-shot [`rand_core`](hpke::rand_core) adapter.
//!
//! `hpke` 0.13 draws exactly one `Npriv`-sized IKM for the ephemeral key
//! (`Kem::gen_keypair` = `DeriveKeyPair(random(Nsk))`, RFC 9180 §7.1.3). Feeding that IKM
//! from a buffer is also what lets the RFC 9180 test vectors (which fix `ikmE`) run against the
//! very code path that seals artifacts.

use hpke::rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use crate::SealError;

/// Fill `buf` from the platform's CSPRNG.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), SealError> {
    getrandom::getrandom(buf).map_err(|e| SealError::RngFailed(e.to_string()))
}

/// 32 fresh random bytes, zeroized on drop.
pub(crate) fn random32() -> Result<Zeroizing<[u8; 32]>, SealError> {
    let mut b = Zeroizing::new([0u8; 32]);
    fill(b.as_mut())?;
    Ok(b)
}

/// An RNG that yields a fixed byte string once. Asking for more than it holds marks it
/// `overdrawn` (and yields zeros); callers must check [`IkmRng::overdrawn`] and discard the output.
pub(crate) struct IkmRng {
    bytes: Zeroizing<Vec<u8>>,
    pos: usize,
    overdrawn: bool,
}

impl IkmRng {
    pub(crate) fn new(bytes: &[u8]) -> Self {
        Self {
            bytes: Zeroizing::new(bytes.to_vec()),
            pos: 0,
            overdrawn: false,
        }
    }

    /// True if more bytes were requested than were supplied.
    pub(crate) fn overdrawn(&self) -> bool {
        self.overdrawn
    }
}

impl RngCore for IkmRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        let available = self.bytes.len().saturating_sub(self.pos);
        if dst.len() > available {
            self.overdrawn = true;
            dst.fill(0);
            return;
        }
        let end = self.pos + dst.len();
        if let Some(src) = self.bytes.get(self.pos..end) {
            dst.copy_from_slice(src);
        }
        self.pos = end;
    }
}

impl CryptoRng for IkmRng {}
