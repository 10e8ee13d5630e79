//! Building the PWA: Trunk in release, then two build-time steps on the staged `dist/`:
//!
//! 1. Trunk writes its loader as an inline `<script type="module">`. The CSP forbids inline scripts, so
//!    each inline script is moved to a content-hashed file and referenced by `src`.
//! 2. The service worker's precache list is generated from the files of this build, each with its
//!    SHA-256 as Subresource Integrity, and a build id derived from all of them. A new build is then a
//!    byte-different `sw.js` with a new cache name: the browser installs it beside the old one and swaps
//!    atomically on activation.
//!
//! Finally the release wasm's size, raw and gzip, is printed and checked against its gzip budget, so
//! size regressions fail the build.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::tools::Tools;
use crate::{Result, run};

/// `trunk build --release --offline`, then [`finalize`].
pub fn build(root: &Path, tools: &Tools) -> Result<()> {
    // Trunk builds each `rel="rust"` target (the app and its mesh worker) with its own concurrent
    // `cargo build`; racing on one target dir, one pipeline can pick up a half-written `.wasm`. Built
    // here first, Trunk's own cargo runs find everything fresh.
    println!(
        "xtask: building the PWA's wasm (cargo build --release --target wasm32-unknown-unknown)"
    );
    run(Command::new(crate::cargo())
        .current_dir(root)
        .env_remove("RUSTFLAGS")
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "-p",
            "veil-app",
            "--bins",
        ]))?;
    println!("xtask: building the PWA (trunk build --release)");
    run(Command::new("trunk")
        .current_dir(root)
        .env("PATH", &tools.path)
        // A RUSTFLAGS variable would override .cargo/config.toml's wasm flags.
        .env_remove("RUSTFLAGS")
        .args(["build", "--release", "--offline", "--dist"])
        .arg(dist_dir(root)))?;
    let report = finalize(&dist_dir(root))?;
    println!("{report}");
    report.within_budget()
}

/// Where the PWA is built: `dist/`, or `$VEIL_DIST_DIR` (lets several builds coexist on one machine).
pub fn dist_dir(root: &Path) -> PathBuf {
    std::env::var_os("VEIL_DIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("dist"))
}

/// What finalizing found, printed after a build.
#[derive(Debug)]
pub struct BuildReport {
    /// Build id (hash of all precached files).
    pub build_id: String,
    /// Number of files the service worker precaches.
    pub precached: usize,
    /// Each `.wasm`: name, raw size, gzip size.
    pub wasm: Vec<(String, u64, u64)>,
}

/// Most gzip bytes of the app's `.wasm` (what a kiosk downloads at install; 1.80 MB on
/// 2026-12-06 with the consent law, languages and recipient work).
pub const APP_WASM_GZIP_BUDGET: u64 = 2_000_000;
/// Most gzip bytes of the Models page's mesh worker `.wasm` (0.23 MB on 2026-12-06).
pub const WORKER_WASM_GZIP_BUDGET: u64 = 300_000;

impl BuildReport {
    /// The build's two `.wasm` (the app's and the mesh worker's) each within its gzip budget
    /// ([`APP_WASM_GZIP_BUDGET`], [`WORKER_WASM_GZIP_BUDGET`]), or what is over or missing.
    pub fn within_budget(&self) -> Result<()> {
        let (workers, apps): (Vec<_>, Vec<_>) = self
            .wasm
            .iter()
            .partition(|(name, _, _)| name.contains("mesh_worker"));
        let ([worker], [app]) = (workers.as_slice(), apps.as_slice()) else {
            let names: Vec<&str> = self.wasm.iter().map(|(n, _, _)| n.as_str()).collect();
            return Err(format!(
                "expected the app's .wasm and the mesh worker's, found [{}]: a renamed module would escape its size budget",
                names.join(", ")
            ));
        };
        for ((name, _, gz), budget) in [
            (worker, WORKER_WASM_GZIP_BUDGET),
            (app, APP_WASM_GZIP_BUDGET),
        ] {
            if *gz > budget {
                return Err(format!(
                    "{name} is {gz} bytes gzip, over its {budget}-byte budget (crates/xtask/src/pwa.rs)"
                ));
            }
        }
        Ok(())
    }
}

impl std::fmt::Display for BuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "xtask: build {} ({} files precached)",
            self.build_id, self.precached
        )?;
        for (name, raw, gz) in &self.wasm {
            writeln!(
                f,
                "xtask: wasm size {name}: {raw} bytes raw ({:.2} MB), {gz} bytes gzip ({:.2} MB)",
                *raw as f64 / 1e6,
                *gz as f64 / 1e6
            )?;
        }
        Ok(())
    }
}

/// Apply the build-time steps to a staged `dist/`. Idempotent.
pub fn finalize(dist: &Path) -> Result<BuildReport> {
    let index_path = dist.join("index.html");
    let index = read_string(&index_path)?;
    let (index, boot_files) = externalize_inline_scripts(&index);
    for (name, body) in &boot_files {
        write(&dist.join(name), body.as_bytes())?;
    }
    write(&index_path, index.as_bytes())?;

    let mut files = Vec::new();
    collect(dist, dist, &mut files)?;
    files.retain(|rel| rel != "sw.js");
    files.sort();
    let mut entries = Vec::new();
    let mut all = Sha256::new();
    for rel in &files {
        let bytes = std::fs::read(dist.join(rel)).map_err(|e| format!("reading {rel}: {e}"))?;
        let digest = Sha256::digest(&bytes);
        all.update(rel.as_bytes());
        all.update(digest);
        let integrity = format!(
            "sha256-{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        );
        entries.push(serde_json::json!({ "url": format!("/{rel}"), "integrity": integrity }));
    }
    let build_id = hex::encode(&all.finalize()[..8]);

    let sw_path = dist.join("sw.js");
    let sw = read_string(&sw_path)?;
    let precache = serde_json::to_string(&entries).map_err(|e| e.to_string())?;
    let sw = replace_line(
        &sw,
        "const VEIL_BUILD = ",
        &format!("const VEIL_BUILD = '{build_id}';"),
    )?;
    let sw = replace_line(
        &sw,
        "const VEIL_PRECACHE = ",
        &format!("const VEIL_PRECACHE = {precache};"),
    )?;
    write(&sw_path, sw.as_bytes())?;

    let mut wasm = Vec::new();
    for rel in files.iter().filter(|f| f.ends_with(".wasm")) {
        let bytes = std::fs::read(dist.join(rel)).map_err(|e| format!("reading {rel}: {e}"))?;
        if !bytes.starts_with(b"\0asm") {
            return Err(format!(
                "{rel} is not a WebAssembly module: the build is broken"
            ));
        }
        wasm.push((rel.clone(), bytes.len() as u64, gzip_len(&bytes)?));
    }
    Ok(BuildReport {
        build_id,
        precached: entries.len(),
        wasm,
    })
}

/// The gzip size (level 9) of `bytes`.
pub fn gzip_len(bytes: &[u8]) -> Result<u64> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).map_err(|e| e.to_string())?;
    Ok(enc.finish().map_err(|e| e.to_string())?.len() as u64)
}

fn read_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| format!("writing {}: {e}", path.display()))
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("listing {}: {e}", dir.display()))?;
    for entry in entries {
        let path: PathBuf = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect(base, &path, out)?;
        } else if let Ok(rel) = path.strip_prefix(base) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

/// Replace the whole line starting with `prefix` (after indentation) by `line`.
fn replace_line(text: &str, prefix: &str, line: &str) -> Result<String> {
    let mut found = false;
    let out: Vec<String> = text
        .lines()
        .map(|l| {
            if !found && l.trim_start().starts_with(prefix) {
                found = true;
                line.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    if found {
        Ok(out.join("\n") + "\n")
    } else {
        Err(format!("sw.js has no line starting with `{prefix}`"))
    }
}

/// Move every inline `<script>` body into a file named by its hash; returns the new HTML and files.
pub fn externalize_inline_scripts(html: &str) -> (String, Vec<(String, String)>) {
    let mut out = String::with_capacity(html.len());
    let mut files = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<script") {
        let Some(tag_end) = rest[start..].find('>').map(|i| start + i + 1) else {
            break;
        };
        let Some(close) = rest[tag_end..].find("</script>").map(|i| tag_end + i) else {
            break;
        };
        let tag = &rest[start..tag_end];
        let body = &rest[tag_end..close];
        out.push_str(&rest[..start]);
        if tag.contains(" src=") || body.trim().is_empty() {
            out.push_str(&rest[start..close + "</script>".len()]);
        } else {
            let name = format!(
                "boot-{}.js",
                &hex::encode(Sha256::digest(body.as_bytes()))[..16]
            );
            let module = if tag.contains("module") {
                " type=\"module\""
            } else {
                ""
            };
            out.push_str(&format!("<script{module} src=\"/{name}\"></script>"));
            files.push((name, body.trim().to_string() + "\n"));
        }
        rest = &rest[close + "</script>".len()..];
    }
    out.push_str(rest);
    (out, files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wasm_is_held_to_its_own_budget() {
        let report = |wasm: Vec<(&str, u64)>| BuildReport {
            build_id: String::new(),
            precached: 0,
            wasm: wasm
                .into_iter()
                .map(|(n, gz)| (n.to_string(), 0, gz))
                .collect(),
        };
        let app = "veil-app-0123_bg.wasm";
        let worker = "mesh_worker_bg.wasm";
        assert!(
            report(vec![
                (app, APP_WASM_GZIP_BUDGET),
                (worker, WORKER_WASM_GZIP_BUDGET)
            ])
            .within_budget()
            .is_ok()
        );
        let over = report(vec![(app, 1), (worker, WORKER_WASM_GZIP_BUDGET + 1)]).within_budget();
        assert!(over.is_err_and(|e| e.contains(worker)));
        let over = report(vec![(app, APP_WASM_GZIP_BUDGET + 1), (worker, 1)]).within_budget();
        assert!(over.is_err_and(|e| e.contains(app)));
        // A module renamed or missing is not waved through.
        for wasm in [
            vec![(app, 1)],
            vec![(app, 1), ("renamed_bg.wasm", 1)],
            vec![],
        ] {
            assert!(report(wasm).within_budget().is_err());
        }
    }

    #[test]
    fn inline_module_scripts_become_hashed_files() {
        let html = "<head><script type=\"module\">import init from '/a.js';\nawait init();</script>\
                    <script src=\"/keep.js\"></script></head>";
        let (out, files) = externalize_inline_scripts(html);
        assert_eq!(files.len(), 1);
        assert!(files[0].1.contains("await init();"));
        assert!(out.contains(&format!(
            "<script type=\"module\" src=\"/{}\"></script>",
            files[0].0
        )));
        assert!(out.contains("<script src=\"/keep.js\"></script>"));
        assert!(!out.contains("await init"));
        // Idempotent: nothing inline is left to move.
        let (again, none) = externalize_inline_scripts(&out);
        assert_eq!(again, out);
        assert!(none.is_empty());
    }

    #[test]
    fn finalize_writes_a_precache_list_with_integrity() {
        let dir = std::env::temp_dir().join(format!("veil-xtask-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("icons")).unwrap();
        std::fs::write(
            dir.join("index.html"),
            "<script type=\"module\">boot()</script>",
        )
        .unwrap();
        std::fs::write(dir.join("app-1.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(dir.join("icons/i.png"), b"png").unwrap();
        std::fs::write(
            dir.join("sw.js"),
            "const VEIL_BUILD = 'dev'; // x\nconst VEIL_PRECACHE = []; // y\n",
        )
        .unwrap();
        let report = finalize(&dir).unwrap();
        let sw = std::fs::read_to_string(dir.join("sw.js")).unwrap();
        assert!(sw.contains(&format!("const VEIL_BUILD = '{}';", report.build_id)));
        assert!(sw.contains("\"url\":\"/icons/i.png\""));
        assert!(sw.contains("\"url\":\"/index.html\""));
        assert!(sw.contains("sha256-"));
        assert!(!sw.contains("\"/sw.js\""));
        assert_eq!(report.precached, 4); // index, boot, wasm, icon
        assert_eq!(report.wasm.len(), 1);
        // A changed file changes the build id.
        let first = report.build_id;
        std::fs::write(dir.join("app-1.wasm"), b"\0asm\x01\0\0\x01").unwrap();
        let second = finalize(&dir).unwrap().build_id;
        assert_ne!(first, second);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
