//! Per-client request rates: a token bucket per enrolled client key, per instance.
//!
//! Each client may send `rate` requests a minute with a burst of `rate`; a request over it is
//! answered 429 `rate-limited` with the seconds until a token is back (`Retry-After`). The buckets
//! live in this instance's memory: with N instances behind a balancer a client gets at most N times
//! the rate, which bounds abuse without a round trip to the shared database on every request.
//! The per-client storage quota, which must hold across instances, is checked in the metadata
//! transaction instead (`store::clients`).
//!
//! Only clients that proved their key (an enrolled key whose signature verified) are charged, so a
//! stranger cannot spend a patient's tokens by naming the patient's key id. The map is bounded:
//! when it holds [`MAX_TRACKED`] clients, buckets that are full again (idle clients) are dropped.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ApiError;

/// Most client buckets kept in memory before idle ones are dropped.
pub const MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// A token-bucket limiter keyed by client key id.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` requests a minute per key, with a burst of as many; 0 turns
    /// limiting off.
    pub fn new(per_minute: u32) -> Self {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token of `key` at `now`, or answer how long until one is back.
    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), ApiError> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| ApiError::Internal("rate limiter lock poisoned".into()))?;
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(key) {
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refilled =
            bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = refilled.min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = Duration::from_secs_f64((1.0 - bucket.tokens) / per_second);
            Err(ApiError::RateLimited {
                retry_after_s: wait.as_secs().saturating_add(1),
            })
        }
    }

    /// Take one token of `key` now.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.check_at(key, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_core::Coded;

    #[test]
    fn a_burst_then_refused_then_refilled() {
        let limiter = RateLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..60 {
            limiter.check_at("a", t0).unwrap();
        }
        let refused = limiter.check_at("a", t0).unwrap_err();
        assert_eq!(refused.code(), "rate-limited");
        assert_eq!(refused.retry_after(), Some(2));
        // Another client is not affected.
        limiter.check_at("b", t0).unwrap();
        // One token a second comes back.
        limiter
            .check_at("a", t0 + Duration::from_millis(1_001))
            .unwrap();
        assert!(
            limiter
                .check_at("a", t0 + Duration::from_millis(1_002))
                .is_err()
        );
    }

    #[test]
    fn zero_turns_limiting_off() {
        let limiter = RateLimiter::new(0);
        let t0 = Instant::now();
        for _ in 0..10_000 {
            limiter.check_at("a", t0).unwrap();
        }
    }
}
