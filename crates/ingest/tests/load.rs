//! A bounded load test on loopback: the real server loop (`veil_ingest::serve_on`) on 127.0.0.1,
//! 200 distinct sealed artifacts uploaded concurrently over real TCP connections, with 40 of them
//! sent a second time in the same wave (a retry racing its original). Nothing may be lost (every
//! artifact stored, byte for byte) or duplicated (exactly one 201 per id, one row and two objects
//! per artifact).
//!
//! Size: 1 MiB per artifact in optimised builds. Unoptimised (debug) RustCrypto runs AES-GCM at
//! ~4 MB/s, which would make the default `cargo test` take minutes on a shared machine, so debug
//! builds default to 128 KiB; `VEIL_LOAD_BYTES=1048576` (and `VEIL_LOAD_ARTIFACTS`) override. The
//! full 200 x 1 MiB run took 91 s for the upload wave in a debug build and 1.6 s (161 MB/s) with
//! `--release`, on 2 shared cores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ARTIFACTS: usize = 200;
const RETRIED: usize = 40;
#[cfg(not(debug_assertions))]
const DEFAULT_SIZE: usize = 1024 * 1024;
#[cfg(debug_assertions)]
const DEFAULT_SIZE: usize = 128 * 1024;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
/// The whole wave must finish within this bound (debug build, shared CI cores).
const WAVE_BOUND: Duration = Duration::from_secs(240);

/// One HTTP/1.1 POST on its own connection; returns (status, JSON body).
async fn http_post(
    addr: std::net::SocketAddr,
    key: String,
    body: Arc<Vec<u8>>,
) -> (u16, serde_json::Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/artifacts HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\nIdempotency-Key: {key}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    parse_response(&response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_uploads_lose_and_duplicate_nothing() {
    let artifacts = env_or("VEIL_LOAD_ARTIFACTS", ARTIFACTS);
    let size = env_or("VEIL_LOAD_BYTES", DEFAULT_SIZE);
    let retried = RETRIED.min(artifacts);
    let f = Arc::new(Fixture::new());
    let build = Instant::now();
    let envelopes: Vec<Arc<Vec<u8>>> = {
        let f = f.clone();
        tokio::task::spawn_blocking(move || {
            (0..artifacts)
                .map(|i| Arc::new(f.seal(f.signed(vec![f.reading(i as u64 + 1)], size))))
                .collect()
        })
        .await
        .unwrap()
    };
    let build = build.elapsed();
    assert!(envelopes.iter().all(|e| e.len() > size));

    let (addr, server) = serve_on_loopback(f.app()).await;

    let started = Instant::now();
    let mut tasks = Vec::new();
    let wave = envelopes.iter().chain(envelopes.iter().take(retried));
    for envelope in wave {
        let key = id_of(envelope);
        let body = envelope.clone();
        tasks.push(tokio::spawn(async move {
            (key.clone(), http_post(addr, key, body).await)
        }));
    }
    let results = tokio::time::timeout(WAVE_BOUND, futures::future::join_all(tasks))
        .await
        .expect("the wave finished within its bound");
    let elapsed = started.elapsed();

    let mut created: HashMap<String, usize> = HashMap::new();
    for result in results {
        let (key, (status, json)) = result.unwrap();
        assert!(status == 201 || status == 200, "{status} {json}");
        assert_eq!(json["id"], key);
        if status == 201 {
            *created.entry(key).or_default() += 1;
        }
    }
    assert_eq!(created.len(), artifacts, "every artifact created");
    assert!(
        created.values().all(|&n| n == 1),
        "exactly one 201 per artifact"
    );

    let (count, objects) = f.stored().await;
    assert_eq!(count, artifacts as u64);
    assert_eq!(objects.len(), 2 * artifacts);
    for envelope in &envelopes {
        let stored = f.ingest.store().envelope(&id_of(envelope)).await.unwrap();
        assert!(veil_ingest::at_rest::is_sealed_at_rest(&stored));
        let opened = f
            .ingest
            .store()
            .open_envelope(&id_of(envelope))
            .await
            .unwrap();
        assert_eq!(opened.unwrap().as_slice(), envelope.as_slice());
    }
    let megabytes =
        (envelopes.iter().map(|e| e.len()).sum::<usize>() + retried * size) as f64 / 1e6;
    eprintln!(
        "load: built {artifacts} artifacts of {size} B in {build:?}; {} concurrent uploads ({megabytes:.0} MB) \
         in {elapsed:?} ({:.1} MB/s)",
        artifacts + retried,
        megabytes / elapsed.as_secs_f64()
    );
    server.abort();
}
