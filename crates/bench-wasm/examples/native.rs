//! Native side of `cargo xtask bench trust|seal`: the same fixtures as the bench page, timed with
//! `std::time::Instant`. Prints a line per figure and a last line `RESULT {json}` for xtask.
//!
//! `cargo run --release -p veil-bench-wasm --example native -- trust [ITERATIONS]`
//! `cargo run --release -p veil-bench-wasm --example native -- seal [MEGABYTES] [RUNS]`
#![allow(missing_docs)]

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use veil_bench_wasm::seal::{SealCase, content};
use veil_bench_wasm::trust::TrustCase;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, default: usize| {
        args.get(i)
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(default)
    };
    let result = match args.first().map(String::as_str) {
        Some("trust") => trust(num(1, 5000).max(1)),
        Some("seal") => seal(num(1, 50).max(1), num(2, 5).max(1)),
        _ => Err("usage: native trust [ITERATIONS] | seal [MEGABYTES] [RUNS]".into()),
    };
    match result {
        Ok(json) => {
            println!("RESULT {json}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("native: {e}");
            ExitCode::FAILURE
        }
    }
}

fn trust(iterations: usize) -> Result<String, String> {
    let case = TrustCase::new()?;
    // Warm-up, then the mean over many readings (each well under a millisecond).
    for _ in 0..iterations / 10 {
        black_box(case.verify().map_err(|e| e.to_string())?);
    }
    let t = Instant::now();
    for _ in 0..iterations {
        black_box(case.verify().map_err(|e| e.to_string())?);
    }
    let cached_ms = t.elapsed().as_secs_f64() * 1e3 / iterations as f64;
    println!(
        "native verify, chain cached: {cached_ms:.4} ms per reading (mean of {iterations}; target < 2 ms)"
    );
    Ok(format!(
        "{{\"area\":\"trust\",\"verify_cached_ms\":{cached_ms},\"iterations\":{iterations}}}"
    ))
}

fn seal(megabytes: usize, runs: usize) -> Result<String, String> {
    let case = SealCase::new().map_err(|e| e.to_string())?;
    let data = content(megabytes * 1024 * 1024);
    let mut times = Vec::with_capacity(runs);
    let mut envelope_len = 0;
    for _ in 0..runs {
        // The copy stands for the page handing its bytes over; it is not timed.
        let input = data.clone();
        let t = Instant::now();
        let envelope = case.seal(input).map_err(|e| e.to_string())?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        envelope_len = envelope.as_bytes().len();
        let opened = case.open(envelope.as_bytes()).map_err(|e| e.to_string())?;
        if opened != data.len() {
            return Err(format!("opened {opened} bytes, sealed {}", data.len()));
        }
    }
    times.sort_by(f64::total_cmp);
    let best = times.first().copied().unwrap_or(f64::NAN);
    let median = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
    println!(
        "native seal {megabytes} MB (build + sign + HPKE seal): best {best:.1} ms, median {median:.1} ms of {runs} (target 200 ms); envelope {envelope_len} bytes, opened and checked"
    );
    Ok(format!(
        "{{\"area\":\"seal\",\"megabytes\":{megabytes},\"seal_best_ms\":{best},\"seal_median_ms\":{median},\"runs\":{runs}}}"
    ))
}
