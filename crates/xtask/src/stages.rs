//! `cargo xtask test`: every check, in the order a failure is cheapest to find, each timed and
//! summarised. A failing stage does not stop the later ones (one run shows every problem), but any
//! failure makes the exit code non-zero. `--skip a,b` leaves stages out for local iteration; CI never
//! passes it.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::tools::{self, CHROMEDRIVER};
use crate::{Result, cargo, pwa, run};

const STAGES: &[&str] = &[
    "fmt", "clippy", "deny", "native", "fuzz", "interop", "wasm", "npm", "e2e",
];

/// Run every stage not skipped; print a summary line per stage and a closing count.
pub fn run_all(root: &Path, args: &[String]) -> ExitCode {
    let mut skip: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--skip" => skip.extend(
                it.next()
                    .map(|s| s.split(',').map(str::to_string).collect::<Vec<_>>())
                    .unwrap_or_default(),
            ),
            other => {
                eprintln!(
                    "xtask: unknown option {other} (stages: {})",
                    STAGES.join(", ")
                );
                return ExitCode::FAILURE;
            }
        }
    }
    // The browser stages need a Chromium the suite supports: say which one runs, and stop before
    // twenty minutes of other stages if it is too old.
    let browser_stages = ["wasm", "e2e"].iter().any(|s| !skip.iter().any(|k| k == s));
    if browser_stages
        && let Err(e) = tools::ensure_test_tools(root).and_then(|_| tools::check_browser(root))
    {
        eprintln!("xtask: {e}");
        return ExitCode::FAILURE;
    }
    let mut results: Vec<(&str, Result<()>, Duration)> = Vec::new();
    for &stage in STAGES {
        if skip.iter().any(|s| s == stage) {
            continue;
        }
        println!("\n==== xtask test: {stage} ====");
        let started = Instant::now();
        let result = match stage {
            "fmt" => run(Command::new(cargo())
                .current_dir(root)
                .args(["fmt", "--all", "--check"])),
            "clippy" => clippy(root),
            "deny" => deny(root),
            "native" => native(root),
            "fuzz" => fuzz(root),
            "interop" => interop(root),
            "wasm" => wasm_tests(root),
            "npm" => crate::npm::test(root),
            "e2e" => e2e(root),
            _ => Err(format!("unknown stage {stage}")),
        };
        if let Err(e) = &result {
            eprintln!("xtask: stage {stage} failed: {e}");
        }
        results.push((stage, result, started.elapsed()));
    }
    println!("\n==== xtask test: summary ====");
    let mut failed = 0;
    for (stage, result, took) in &results {
        let verdict = if result.is_ok() { "passed" } else { "FAILED" };
        failed += usize::from(result.is_err());
        println!(
            "stage {stage:<8} {verdict:<7} {:>7.1} s",
            took.as_secs_f64()
        );
    }
    println!("stages: {} passed, {failed} failed", results.len() - failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The native tests of the workspace, then the ingest load test in a release build. The ingest
/// scale-out tests start a PostgreSQL cluster and an S3 server (moto): installed first, and
/// required (`VEIL_REQUIRE_SERVICES`), so CI never passes by skipping them. `cargo test
/// --workspace` also builds the `veil` binary they run.
fn native(root: &Path) -> Result<()> {
    let services = tools::ensure_services()?;
    run(Command::new(cargo())
        .current_dir(root)
        .env("PATH", &services.path)
        .env("VEIL_REQUIRE_SERVICES", "1")
        .args([
            "test",
            "--workspace",
            "--exclude",
            "veil-app",
            "--exclude",
            "veil-wasm-tests",
        ]))?;
    // The ingest load test at full size in an optimised build, as a server runs (issue #14): 1 MiB
    // artifacts through a real server over TCP (debug AES-GCM is too slow for that size).
    run(Command::new(cargo())
        .current_dir(root)
        .env("VEIL_LOAD_BYTES", "1048576")
        .args(["test", "-p", "veil-ingest", "--release", "--test", "load"]))
}

/// Clippy with every warning an error: the native workspace, then the PWA for the only target it
/// runs on (its Web Bluetooth bindings exist only with `--cfg=web_sys_unstable_apis`, which
/// `.cargo/config.toml` sets for wasm32).
fn clippy(root: &Path) -> Result<()> {
    let tools = tools::ensure_build_tools(root)?;
    run(Command::new(cargo()).current_dir(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--exclude",
        "veil-app",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(Command::new(cargo())
        .current_dir(root)
        .env("PATH", &tools.path)
        .env_remove("RUSTFLAGS")
        .args([
            "clippy",
            "-p",
            "veil-app",
            "--all-targets",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))
}

/// cargo-deny: licences, duplicate versions, sources, and RustSec advisories, offline against the
/// snapshot in `../shared/advisory-db` (copied into `target/` as the git repository cargo-deny reads).
fn deny(root: &Path) -> Result<()> {
    let tools = tools::ensure_deny(root)?;
    // cargo-deny reads every package of the lock file, also those only other platforms build.
    run(Command::new(cargo())
        .current_dir(root)
        .args(["fetch", "--quiet"]))?;
    let snapshot = root.join("..").join("shared").join("advisory-db");
    // cargo-deny keeps the database for this URL in a folder named after the URL's hash.
    let db = crate::target_dir(root)
        .join("advisory-dbs")
        .join("advisory-db-3157b0e258782691");
    let stamp = db.join("SNAPSHOT.txt");
    let wanted = std::fs::read_to_string(snapshot.join("SNAPSHOT.txt")).ok();
    if wanted.is_none() {
        println!(
            "xtask: no ../shared/advisory-db snapshot: checking licences, bans and sources only"
        );
        return run(Command::new(cargo())
            .current_dir(root)
            .env("PATH", &tools.path)
            .args(["deny", "--offline", "check", "bans", "licenses", "sources"]));
    }
    if std::fs::read_to_string(&stamp).ok() != wanted {
        let _ = std::fs::remove_dir_all(&db);
        if let Some(parent) = db.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        run(Command::new("cp").arg("-r").arg(&snapshot).arg(&db))?;
        run(Command::new("chmod").args(["-R", "u+w"]).arg(&db))?;
        run(Command::new("git").current_dir(&db).args(["init", "-q"]))?;
        run(Command::new("git").current_dir(&db).args(["add", "-A"]))?;
        run(Command::new("git").current_dir(&db).args([
            "-c",
            "user.name=veil-ci",
            "-c",
            "user.email=ci@veil.invalid",
            "commit",
            "-q",
            "-m",
            "advisory-db snapshot",
        ]))?;
    }
    run(Command::new(cargo())
        .current_dir(root)
        .env("PATH", &tools.path)
        .args(["deny", "--offline", "check"]))
}

/// Every `cargo fuzz` target of every crate (`crates/*/fuzz`), each for a short bounded time
/// (`VEIL_FUZZ_SECONDS`, default 10). cargo-fuzz asks for nightly; the project has one stable
/// toolchain, so `RUSTC_BOOTSTRAP=1` admits the `-Z` flags and the sanitizer is off (the crates
/// forbid `unsafe`; what the fuzzer hunts here are panics, integer overflows (built with debug
/// assertions), hangs and unbounded allocation).
fn fuzz(root: &Path) -> Result<()> {
    let tools = tools::ensure_fuzz(root)?;
    let seconds: u64 = std::env::var("VEIL_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut crates: Vec<_> = std::fs::read_dir(root.join("crates"))
        .map_err(|e| format!("listing crates: {e}"))?
        .flatten()
        .map(|e| e.path().join("fuzz"))
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    crates.sort();
    let target_dir = crate::target_dir(root).join("fuzz");
    let mut ran = 0;
    for dir in crates {
        let list = crate::output(
            Command::new(cargo())
                .current_dir(&dir)
                .env("PATH", &tools.path)
                .args(["fuzz", "list"]),
        )
        .ok_or_else(|| format!("cargo fuzz list failed in {}", dir.display()))?;
        for target in list.lines().map(str::trim).filter(|t| !t.is_empty()) {
            println!(
                "xtask: fuzzing {} / {target} for {seconds} s",
                dir.display()
            );
            run(Command::new(cargo())
                .current_dir(&dir)
                .env("PATH", &tools.path)
                .env("RUSTC_BOOTSTRAP", "1")
                .env_remove("RUSTFLAGS")
                // Debug assertions (and with them overflow checks): arithmetic on sizes read
                // from a file must be checked, and an overflow is a finding, not a wrap.
                .args([
                    "fuzz",
                    "run",
                    "--sanitizer",
                    "none",
                    "--debug-assertions",
                    "--target-dir",
                ])
                .arg(&target_dir)
                .arg(target)
                .arg("--")
                .arg(format!("-max_total_time={seconds}"))
                .arg("-rss_limit_mb=2048")
                .arg("-print_final_stats=0"))?;
            ran += 1;
        }
    }
    println!("xtask: {ran} fuzz targets ran clean");
    if ran == 0 {
        Err("no fuzz targets found".into())
    } else {
        Ok(())
    }
}

/// The cross-implementation scripts, each run against the debug `veil` binary. Each uses an
/// independent implementation (Python `cryptography`, `pycose`, `pyhpke`, `fhir.resources`), exits
/// non-zero on any mismatch and ends with an `N passed, N failed` line.
const INTEROP_SCRIPTS: &[&str] = &[
    "scripts/trust/interop.py",
    "scripts/seal/interop.py",
    "scripts/consent/validate_fhir.py",
];

/// Cross-implementation checks: device readings (pycose), sealed artifacts (pyhpke + pycose) and
/// FHIR Consent bundles (fhir.resources).
fn interop(root: &Path) -> Result<()> {
    tools::ensure_test_tools(root)?;
    let veil = crate::build_veil(root)?;
    let mut failures = Vec::new();
    for script in INTEROP_SCRIPTS {
        println!("xtask: interop {script}");
        if let Err(e) = run(Command::new("python3")
            .current_dir(root)
            .arg(script)
            .arg("--veil")
            .arg(&veil))
        {
            failures.push(e);
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// The `wasm-tests` crate and the app's unit tests, compiled to wasm32 and run in headless
/// Chromium through chromedriver.
fn wasm_tests(root: &Path) -> Result<()> {
    let tools = tools::ensure_test_tools(root)?;
    let in_chromium = |args: &[&str]| {
        run(Command::new(cargo())
            .current_dir(root)
            .env("PATH", &tools.path)
            .env_remove("RUSTFLAGS")
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
            .args(["test", "--target", "wasm32-unknown-unknown"])
            .args(args))
    };
    in_chromium(&["-p", "veil-wasm-tests"])?;
    in_chromium(&["-p", "veil-app", "--lib"])
}

/// Kills the server when the stage ends, however it ends.
struct ServerGuard(Child);

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

pub(crate) fn wait_for(port: u16, timeout: Duration) -> Result<()> {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "the server did not listen on port {port} within {timeout:?}"
    ))
}

/// Build the PWA in release, serve it with a real `veil serve`, run the node e2e suite against it.
fn e2e(root: &Path) -> Result<()> {
    let tools = tools::ensure_test_tools(root)?;
    pwa::build(root, &tools)?;
    let veil = crate::build_veil(root)?;
    let port = free_port()?;
    // Per build dir, so several e2e runs (one per dist) never share server state.
    let tag = pwa::dist_dir(root)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "dist".into());
    let data = crate::target_dir(root).join(format!("e2e-{tag}-data"));
    let pki = crate::target_dir(root).join(format!("e2e-{tag}-pki"));
    for dir in [&data, &pki] {
        let _ = std::fs::remove_dir_all(dir);
    }
    // A development manufacturer the server trusts, for tests that upload verified readings.
    run(Command::new(&veil)
        .args([
            "device",
            "provision",
            "--manufacturer",
            "Veil E2E Devices",
            "--devices",
            "2",
            "--out",
        ])
        .arg(&pki))?;
    let server = Command::new(&veil)
        .current_dir(root)
        .args(["serve", "--port", &port.to_string(), "--dist"])
        .arg(pwa::dist_dir(root))
        .arg("--data")
        .arg(&data)
        .arg("--trust")
        .arg(pki.join("root.cert.pem"))
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting veil serve: {e}"))?;
    let _guard = ServerGuard(server);
    wait_for(port, Duration::from_secs(30))?;
    // The server stores nothing from a device it does not know: the suite's browsers connect with
    // this invitation (Settings, "Connect to a clinic"), one use per fresh browser profile.
    let invite = invite(&veil, &data, 100, "e2e suite")?;
    run(Command::new("node")
        .current_dir(root.join("e2e"))
        .env("VEIL_URL", format!("http://127.0.0.1:{port}"))
        .env("VEIL_BIN", &veil)
        .env("VEIL_ROOT", root)
        .env("VEIL_DIST", pwa::dist_dir(root))
        .env("VEIL_DATA", &data)
        .env("VEIL_PKI", &pki)
        .env("VEIL_INVITE", &invite.code)
        .args(["--test", "--test-concurrency=1", "--test-timeout=180000"])
        .args(e2e_files(root)?))
}

/// An invitation made by `veil admin invite` (what the operator runs).
pub(crate) struct Invite {
    /// The code to type in Settings, "Connect to a clinic".
    pub code: String,
    /// When it stops working (RFC 3339).
    pub expires: String,
}

/// `veil admin invite --data DATA --uses USES --name NAME`, read from its JSON line.
pub(crate) fn invite(veil: &Path, data: &Path, uses: u32, name: &str) -> Result<Invite> {
    let out = Command::new(veil)
        .args([
            "admin",
            "invite",
            "--uses",
            &uses.to_string(),
            "--name",
            name,
            "--data",
        ])
        .arg(data)
        .output()
        .map_err(|e| format!("running veil admin invite: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "veil admin invite failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let line: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("veil admin invite printed no JSON line: {e}"))?;
    match (line["code"].as_str(), line["expires"].as_str()) {
        (Some(code), Some(expires)) => Ok(Invite {
            code: code.to_owned(),
            expires: expires.to_owned(),
        }),
        _ => Err(format!("veil admin invite printed {line}, not a code")),
    }
}

/// The e2e test files: all of `e2e/tests/`, or those whose name contains `$VEIL_E2E_ONLY`.
fn e2e_files(root: &Path) -> Result<Vec<String>> {
    let only = std::env::var("VEIL_E2E_ONLY").unwrap_or_default();
    let mut files: Vec<String> = std::fs::read_dir(root.join("e2e").join("tests"))
        .map_err(|e| format!("listing e2e/tests: {e}"))?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".test.mjs") && n.contains(&only))
        .map(|n| format!("tests/{n}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no e2e test matches `{only}`"));
    }
    Ok(files)
}
