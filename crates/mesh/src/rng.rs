//! Randomness for the mask noise and the shuffles: ChaCha12 (the rounds `rand`'s `StdRng` uses) seeded from `getrandom` (the OS, or
//! `crypto.getRandomValues` in the browser), or from an explicit seed for reproducible runs.
//!
//! A cryptographic generator matters here: with a predictable stream, an attacker holding two
//! releases could subtract the noise or undo the shuffle and link them.

use rand_chacha::ChaCha12Rng;

/// The generator used everywhere in this crate.
pub(crate) type Rng = ChaCha12Rng;
use rand_core::{OsRng, RngCore, SeedableRng};

use crate::MeshError;

pub(crate) fn make(seed: Option<u64>) -> Result<Rng, MeshError> {
    match seed {
        Some(s) => Ok(Rng::seed_from_u64(s)),
        None => Rng::from_rng(OsRng).map_err(|e| MeshError::Entropy(e.to_string())),
    }
}

/// Independent streams for parallel chunks: one fresh ChaCha key drawn from the run's generator,
/// and stream number `i` (ChaCha's 64-bit nonce) for chunk `i`.
#[derive(zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub(crate) struct Streams {
    // Not a long-term secret, but whoever has it can subtract the noise: zeroed on drop.
    key: [u8; 32],
}

impl Streams {
    pub(crate) fn split(rng: &mut Rng) -> Streams {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        Streams { key }
    }

    pub(crate) fn stream(&self, i: u64) -> Rng {
        let mut r = Rng::from_seed(self.key);
        r.set_stream(i);
        r
    }
}

/// Uniform integer in `0..n` (Lemire's multiply-shift with rejection; unbiased).
#[inline]
pub(crate) fn below(rng: &mut Rng, n: u32) -> u32 {
    debug_assert!(n > 0);
    let mut m = u64::from(rng.next_u32()) * u64::from(n);
    if (m as u32) < n {
        let t = n.wrapping_neg() % n;
        while (m as u32) < t {
            m = u64::from(rng.next_u32()) * u64::from(n);
        }
    }
    (m >> 32) as u32
}

/// Three uniform floats in `[-1, 1)` from one 64-bit draw (21 bits each: steps of 2⁻²⁰, far
/// finer than the 0.01 mm output grid at any noise radius the options allow).
#[inline]
pub(crate) fn signed_units3(rng: &mut Rng) -> [f32; 3] {
    let r = rng.next_u64();
    let unit = |k: u32| ((r >> (21 * k)) & 0x1F_FFFF) as f32 * (2.0 / 2_097_152.0) - 1.0;
    [unit(0), unit(1), unit(2)]
}
