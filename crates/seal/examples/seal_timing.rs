//! Per-step timing of sealing and opening a 50 MB artifact, in wall time and in this process's
//! CPU time (from `/proc/self/stat` on Linux), so a number taken on a busy shared machine still
//! says what the work costs. `cargo run --release -p veil-seal --example seal_timing [MB] [N]`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use veil_seal::fixtures::{CONTENT_NAME, Demo, pseudo_random};
use veil_seal::{open, seal_artifact};

/// User + system CPU seconds of this process (Linux), or NaN elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the ")".
    let ticks: f64 = f
        .get(11)
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(f64::NAN)
        + f.get(12)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(f64::NAN);
    ticks / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mb: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(50);
    let n: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let size = mb * 1024 * 1024;
    let data = pseudo_random(size);
    let demo = Demo::new().unwrap();
    let (client, recipient) = (&demo.client, &demo.recipient);
    let inputs: Vec<Vec<u8>> = (0..n).map(|_| data.clone()).collect();

    let (w0, c0) = (Instant::now(), cpu_seconds());
    let mut envelopes = Vec::new();
    for model in inputs {
        let mut b = demo.builder(0);
        b.add_file(CONTENT_NAME, model).unwrap();
        let env = seal_artifact(b.sign(client).unwrap(), recipient.public_key()).unwrap();
        envelopes.push(env);
    }
    let (wall, cpu) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    println!(
        "seal {mb} MB (hash+CBOR+ES256+HPKE): {:.1} ms wall, {:.1} ms CPU per artifact",
        wall * 1e3 / n as f64,
        cpu * 1e3 / n as f64
    );

    let (w0, c0) = (Instant::now(), cpu_seconds());
    for env in &envelopes {
        open(env.as_bytes(), recipient, None).unwrap();
    }
    let (wall, cpu) = (w0.elapsed().as_secs_f64(), cpu_seconds() - c0);
    println!(
        "open {mb} MB (HPKE+COSE+hashes):     {:.1} ms wall, {:.1} ms CPU per artifact",
        wall * 1e3 / n as f64,
        cpu * 1e3 / n as f64
    );
}
