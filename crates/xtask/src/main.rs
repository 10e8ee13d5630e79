//! `cargo xtask`: the one driver for setting up, building, serving, testing and benchmarking Veil.
//!
//! - `cargo xtask serve [--port N]`: install what is missing, build the PWA in release, serve it,
//!   and print an invitation code to connect a browser with (Settings, "Connect to a clinic").
//! - `cargo xtask test`: every check CI runs, with a summary line per stage.
//! - `cargo xtask build`: the PWA only (into `dist/`).
//! - `cargo xtask setup`: only install the tools.
//! - `cargo xtask npm`: build the `@veil/core` npm package (web, bundler, nodejs) into `target/npm/`.
//! - `cargo xtask bench <mesh|trust|seal|batch|all>`: side-by-side benchmarks.
//!
//! Everything it installs comes from the package registries (crates.io, npm, Debian, PyPI), pinned,
//! and only when missing, so running it twice does nothing the second time.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

mod bench;
mod npm;
mod pwa;
mod stages;
mod tools;

/// A failure of a step, with a message for a person.
type Result<T, E = String> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&root, &args[1..]),
        Some("build") => tools::ensure_build_tools(&root).and_then(|t| pwa::build(&root, &t)),
        Some("setup") => tools::ensure_build_tools(&root)
            .and_then(|_| tools::ensure_test_tools(&root))
            .map(|_| ()),
        Some("test") => return stages::run_all(&root, &args[1..]),
        Some("bench") => bench::run(&root, &args[1..]),
        Some("npm") => npm::build(&root),
        Some("finalize-dist") => pwa::finalize(&pwa::dist_dir(&root)).map(|_| ()),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <serve [--port N] | test [--skip STAGE,...] | build | setup | npm | bench <mesh|trust|seal|batch|all>>";

fn serve(root: &Path, args: &[String]) -> Result<()> {
    let mut port = "8080".to_string();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => port = it.next().ok_or("--port needs a value")?.clone(),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let port_number = port
        .parse::<u16>()
        .map_err(|_| format!("bad port {port}"))?;
    let tools = tools::ensure_build_tools(root)?;
    pwa::build(root, &tools)?;
    let veil = build_veil(root)?;
    // `veil serve`'s default data directory, named so `veil admin` finds the same database.
    let data = root.join("veil-data");
    println!("Starting the server: open http://127.0.0.1:{port}/");
    let mut server = Command::new(&veil)
        .current_dir(root)
        .args(["serve", "--port", &port, "--dist"])
        .arg(pwa::dist_dir(root))
        .arg("--data")
        .arg(&data)
        .spawn()
        .map_err(|e| format!("starting veil serve: {e}"))?;
    // The server stores nothing from a device it does not know: give the person running it a
    // fresh invitation to connect their browser with (Settings, "Connect to a clinic").
    let invited = stages::wait_for(port_number, Duration::from_secs(30))
        .and_then(|()| stages::invite(&veil, &data, 10, "cargo xtask serve"));
    match invited {
        Ok(invite) => println!(
            "\nInvitation code (Settings, \"Connect to a clinic\"; 10 devices, until {}):\n\n    {}\n\n\
             More: {} admin invite --data {} [--uses N] [--name NAME]\n",
            invite.expires,
            invite.code,
            veil.display(),
            data.display()
        ),
        Err(e) => eprintln!(
            "xtask: no invitation made ({e}); make one with veil admin invite --data {}",
            data.display()
        ),
    }
    let status = server
        .wait()
        .map_err(|e| format!("waiting for veil serve: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("veil serve ended with {status}"))
    }
}

/// Build the `veil` binary (debug profile: the native test stage already built its dependencies).
fn build_veil(root: &Path) -> Result<PathBuf> {
    run(Command::new(cargo())
        .current_dir(root)
        .args(["build", "--quiet", "-p", "veil-cli", "--bin", "veil"]))?;
    Ok(target_dir(root).join("debug").join("veil"))
}

fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or(manifest)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Run a command to completion, inheriting stdio; a non-zero exit is an error naming the command.
fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

/// Run a command and capture its stdout (trimmed); `None` when it cannot run or fails.
fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
