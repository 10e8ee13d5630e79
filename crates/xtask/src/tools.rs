//! Installing the toolchain pieces Veil needs, idempotently and only from the package registries.
//!
//! Each tool is checked first (right version present: nothing to do), then installed pinned:
//! - `wasm32-unknown-unknown` via rustup;
//! - `wasm-bindgen-cli` at exactly the `wasm-bindgen` version in `Cargo.lock` (the CLI and the library
//!   must match byte for byte in their ABI);
//! - `trunk` 0.21.14 (`--locked`; 0.22 needs a newer rustc);
//! - `wasm-opt` from the npm package `binaryen` (Debian's binaryen 108 corrupts what Rust 1.95 emits:
//!   the page then fails with `WebAssembly.Table.set(): Argument 1 is invalid`);
//! - for tests: Debian's `chromium` and `chromium-driver`, the e2e node packages, and Python packages;
//! - for the ingest scale-out tests: Debian's `postgresql` (a throwaway cluster is started from its
//!   `initdb`/`pg_ctl`) and Python's `moto[server]` (an S3-compatible server).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, output, run};

/// Pinned versions. `Trunk.toml` `[tools]` must name the same, so Trunk never downloads anything.
pub const TRUNK_VERSION: &str = "0.21.14";
/// The npm `binaryen` release whose `wasm-opt` builds the PWA.
pub const BINARYEN_VERSION: &str = "132.0.0";
/// Debian's browser and its driver.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Where tools were found, to put on the PATH of child processes.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `PATH` with the project's tool folders first.
    pub path: OsString,
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from("/root/.cargo"))
        .join("bin")
}

fn node_bin(root: &Path) -> PathBuf {
    root.join("tools").join("node_modules").join(".bin")
}

fn path_with(root: &Path) -> OsString {
    let mut dirs = vec![node_bin(root), cargo_bin()];
    if let Some(existing) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&existing));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// The `wasm-bindgen` version Cargo.lock resolved.
pub fn locked_wasm_bindgen(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_string());
        }
    }
    Err("wasm-bindgen is not in Cargo.lock".into())
}

fn has_version(path: &OsString, tool: &str, needle: &str) -> bool {
    output(Command::new(tool).env("PATH", path).arg("--version"))
        .is_some_and(|v| v.contains(needle))
}

fn cargo_install(path: &OsString, krate: &str, version: &str) -> Result<()> {
    println!("xtask: installing {krate} {version} from crates.io (a few minutes, once)");
    let locked = run(Command::new(crate::cargo()).env("PATH", path).args([
        "install",
        "--quiet",
        krate,
        "--version",
        version,
        "--locked",
    ]));
    if locked.is_ok() {
        return Ok(());
    }
    // The registry copy can lack a version pinned by the tool's own lock file.
    println!("xtask: retrying {krate} without --locked");
    run(Command::new(crate::cargo()).env("PATH", path).args([
        "install",
        "--quiet",
        krate,
        "--version",
        version,
    ]))
}

/// Check `Trunk.toml` pins the same tool versions this driver installs.
fn check_trunk_pins(root: &Path, wasm_bindgen: &str) -> Result<()> {
    let trunk_toml = std::fs::read_to_string(root.join("Trunk.toml"))
        .map_err(|e| format!("reading Trunk.toml: {e}"))?;
    let want_bindgen = format!("wasm_bindgen = \"{wasm_bindgen}\"");
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    let want_opt = format!("wasm_opt = \"version_{major}\"");
    for want in [want_bindgen, want_opt] {
        if !trunk_toml.contains(&want) {
            return Err(format!("Trunk.toml must pin `{want}` (the installed tool)"));
        }
    }
    Ok(())
}

/// Everything needed to build the PWA.
pub fn ensure_build_tools(root: &Path) -> Result<Tools> {
    let path = path_with(root);
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }

    let bindgen = locked_wasm_bindgen(root)?;
    check_trunk_pins(root, &bindgen)?;
    if !has_version(&path, "wasm-bindgen", &format!("wasm-bindgen {bindgen}")) {
        cargo_install(&path, "wasm-bindgen-cli", &bindgen)?;
    }
    if !has_version(&path, "trunk", &format!("trunk {TRUNK_VERSION}")) {
        cargo_install(&path, "trunk", TRUNK_VERSION)?;
    }
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    if !has_version(&path, "wasm-opt", &format!("version_{major}")) {
        println!("xtask: installing wasm-opt (npm binaryen@{BINARYEN_VERSION}) into tools/");
        npm_install(
            root,
            &root.join("tools"),
            &[&format!("binaryen@{BINARYEN_VERSION}")],
        )?;
    }
    Ok(Tools { path })
}

/// The pinned cargo-deny release.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// `cargo-deny`, for the licence/duplicate/advisory stage.
pub fn ensure_deny(root: &Path) -> Result<Tools> {
    let path = path_with(root);
    if !has_version(
        &path,
        "cargo-deny",
        &format!("cargo-deny {CARGO_DENY_VERSION}"),
    ) {
        cargo_install(&path, "cargo-deny", CARGO_DENY_VERSION)?;
    }
    Ok(Tools { path })
}

/// The pinned cargo-fuzz release.
pub const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// `cargo-fuzz`, for the fuzz stage.
pub fn ensure_fuzz(root: &Path) -> Result<Tools> {
    let path = path_with(root);
    if !has_version(
        &path,
        "cargo-fuzz",
        &format!("cargo-fuzz {CARGO_FUZZ_VERSION}"),
    ) {
        cargo_install(&path, "cargo-fuzz", CARGO_FUZZ_VERSION)?;
    }
    Ok(Tools { path })
}

fn npm_install(root: &Path, prefix: &Path, packages: &[&str]) -> Result<()> {
    std::fs::create_dir_all(prefix).map_err(|e| format!("creating {}: {e}", prefix.display()))?;
    run(Command::new("npm")
        .current_dir(root)
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            "--prefix",
        ])
        .arg(prefix)
        .args(packages))
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|u| u == "0")
}

/// Everything the test stages need beyond the build tools: the browser, node and Python packages.
pub fn ensure_test_tools(root: &Path) -> Result<Tools> {
    let tools = ensure_build_tools(root)?;
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        if !is_root() {
            return Err(format!(
                "{CHROMIUM} and {CHROMEDRIVER} are needed for the browser tests: \
                 run `sudo apt-get install chromium chromium-driver` and retry"
            ));
        }
        println!("xtask: installing Debian's chromium and chromium-driver");
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq", "chromium", "chromium-driver"]))?;
    }
    let e2e = root.join("e2e");
    if !e2e.join("node_modules").join(".package-lock.json").exists()
        || newer(
            &e2e.join("package-lock.json"),
            &e2e.join("node_modules").join(".package-lock.json"),
        )
    {
        println!("xtask: installing the e2e node packages (npm ci)");
        run(Command::new("npm").current_dir(&e2e).args([
            "ci",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ]))?;
    }
    ensure_python(root)?;
    Ok(tools)
}

/// What the ingest scale-out tests start (`crates/ingest/tests/services`): Debian's PostgreSQL
/// programs and Python's `moto_server`, installed when missing (apt-get as root, pip `--user`).
/// Returns the `PATH` to run the tests with (pip's user `bin` directory added); the caller sets
/// `VEIL_REQUIRE_SERVICES=1`, so those tests fail instead of skipping if anything is still missing.
pub fn ensure_services() -> Result<Tools> {
    let postgres = std::fs::read_dir("/usr/lib/postgresql").is_ok_and(|majors| {
        majors
            .flatten()
            .any(|m| m.path().join("bin").join("initdb").is_file())
    });
    // openssl makes the test CA of the TLS test.
    let openssl = output(Command::new("openssl").arg("version")).is_some();
    if !postgres || !openssl {
        if !is_root() {
            return Err(
                "PostgreSQL and openssl are needed for the ingest scale-out tests: run \
                 `sudo apt-get install postgresql openssl` and retry"
                    .into(),
            );
        }
        println!(
            "xtask: installing Debian's postgresql and openssl (for the ingest service tests)"
        );
        run(Command::new("apt-get").args(["update", "-qq"]))?;
        run(Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq", "postgresql", "openssl"]))?;
    }
    let mut dirs = vec![];
    if let Some(base) = output(Command::new("python3").args(["-m", "site", "--user-base"])) {
        dirs.push(PathBuf::from(base.trim()).join("bin"));
    }
    if let Some(existing) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&existing));
    }
    let path = std::env::join_paths(dirs).map_err(|e| format!("PATH: {e}"))?;
    let has_moto =
        |path: &OsString| std::env::split_paths(path).any(|d| d.join("moto_server").is_file());
    if !has_moto(&path) {
        println!("xtask: installing moto[server] (an S3-compatible test server) with pip");
        run(Command::new("python3").args([
            "-m",
            "pip",
            "install",
            "--user",
            "-q",
            "--disable-pip-version-check",
            "moto[server]",
        ]))?;
        if !has_moto(&path) {
            return Err("pip installed moto[server] but moto_server is not on the PATH".into());
        }
    }
    Ok(Tools { path })
}

fn newer(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(a), Some(b)) if a > b)
}

/// Python packages for the cross-implementation tests, from `scripts/requirements.txt`; a stamp in
/// `target/` holding the file's hash makes the second run free.
fn ensure_python(root: &Path) -> Result<()> {
    let req = root.join("scripts").join("requirements.txt");
    let Ok(content) = std::fs::read(&req) else {
        return Ok(());
    };
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(&content));
    let stamp = crate::target_dir(root).join("python-requirements.stamp");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == digest) {
        return Ok(());
    }
    println!("xtask: installing Python packages for the interop tests");
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--user",
            "-q",
            "--disable-pip-version-check",
            "-r",
        ])
        .arg(&req))?;
    let _ = std::fs::create_dir_all(crate::target_dir(root));
    std::fs::write(&stamp, digest).map_err(|e| format!("writing {}: {e}", stamp.display()))
}

/// The browser the e2e and wasm stages run with: Chromium's and puppeteer-core's versions, checked
/// against the oldest Chromium the suite supports (`veil.minChromium` in `e2e/package.json`). Run
/// after [`ensure_test_tools`], so both are installed.
pub fn check_browser(root: &Path) -> Result<()> {
    let e2e = root.join("e2e");
    let read_json = |p: &Path| -> Result<serde_json::Value> {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("parsing {}: {e}", p.display()))
    };
    let min = read_json(&e2e.join("package.json"))?["veil"]["minChromium"]
        .as_u64()
        .ok_or("e2e/package.json has no veil.minChromium")?;
    let puppeteer = read_json(
        &e2e.join("node_modules")
            .join("puppeteer-core")
            .join("package.json"),
    )?["version"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    let chromium = output(Command::new(CHROMIUM).arg("--version"))
        .ok_or_else(|| format!("{CHROMIUM} --version failed"))?;
    let chromium = chromium.trim();
    println!("xtask: browser tests run with {chromium} and puppeteer-core {puppeteer}");
    let major = chromium_major(chromium)
        .ok_or_else(|| format!("cannot read a version in `{chromium}` ({CHROMIUM} --version)"))?;
    if major < min {
        return Err(format!(
            "{CHROMIUM} is {chromium}, older than Chromium {min}, the oldest the e2e suite supports \
             (README, \"Tested with\"): upgrade Debian's chromium package"
        ));
    }
    Ok(())
}

/// The major version in `chromium --version` output such as `Chromium 148.0.7778.167 built on Debian`.
fn chromium_major(version: &str) -> Option<u64> {
    version
        .split_whitespace()
        .find(|w| w.contains('.') && w.starts_with(|c: char| c.is_ascii_digit()))?
        .split('.')
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::chromium_major;

    #[test]
    fn reads_the_major_version_of_debian_and_google_builds() {
        assert_eq!(
            chromium_major("Chromium 148.0.7778.167 built on Debian GNU/Linux 12 (bookworm)"),
            Some(148)
        );
        assert_eq!(chromium_major("Chromium 156.0.8078.73 "), Some(156));
        assert_eq!(
            chromium_major("Google Chrome 131.0.6778.85 unknown"),
            Some(131)
        );
        assert_eq!(chromium_major("Chromium"), None);
    }
}
