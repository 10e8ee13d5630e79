//! `@veil/core`, the npm package of `crates/wasm`: build it for the three wasm-pack targets and run
//! its node tests.
//!
//! - [`build`]: `wasm-pack build` for `web`, `bundler` and `nodejs` into `target/npm/<target>/`, in
//!   `--mode no-install` so wasm-pack never downloads anything (it uses the pinned `wasm-bindgen`
//!   on the PATH, and `[package.metadata.wasm-pack]` turns its own `wasm-opt` download off); then
//!   the pinned npm `wasm-opt` (binaryen 132, `tools/node_modules/.bin`) over each `.wasm`, the
//!   package renamed to `@veil/core`, and the `web` build's size printed raw and gzip and checked
//!   against the budget.
//! - [`test`]: [`build`], the debug `veil` binary (the tests compare the package with the CLI) and
//!   the `synth_model` example (test models), then `node --test crates/wasm/tests/node/`.
//!
//! Profile: the workspace's `wasm-release` (`opt-level = "s"`, fat LTO, one codegen unit), which
//! keeps the module under its size budget, with `veil-mesh`, its ChaCha generator (`rand_chacha`,
//! `ppv-lite86`) and `sha2` raised to `opt-level = 3` through `--config` (the pipeline has a
//! 2x-native speed budget, sealing a 0.6 s one; the rest is size-bound, not speed-bound).

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::tools::{self, Tools};
use crate::{Result, output, run};

/// The wasm-pack release these builds are made with.
pub const WASM_PACK_VERSION: &str = "0.15.1";
/// Budget for the optimised `web` `.wasm`, bytes (issue: "at most 1.5 MB raw after wasm-opt").
pub const WASM_BUDGET: u64 = 1_500_000;
/// The npm package name.
pub const PACKAGE_NAME: &str = "@veil/core";
/// Base name of the generated files (`veil_core.js`, `veil_core_bg.wasm`, `veil_core.d.ts`).
const OUT_NAME: &str = "veil_core";
/// wasm-pack targets, each built into `target/npm/<target>`.
pub const TARGETS: [&str; 3] = ["web", "bundler", "nodejs"];
/// The cargo profile of the package build.
const PROFILE: &str = "wasm-release";
/// Cargo settings on top of [`PROFILE`]: the mesh pipeline and the ChaCha generator its noise
/// and shuffle draw from are built for speed (the pipeline has a 2x-native budget), and so is
/// SHA-256 (`sealArtifact` hashes the whole `Sig_structure` in wasm: 1.08 s -> 0.74 s for 50 MB
/// in Node, for about 2 kB); the consent crate, whose decisions take microseconds and whose rule
/// tables and FHIR mapping are much of the module, is built for size alone (`z`); the rest of the
/// package stays at the profile's size-first `s`.
const CARGO_CONFIG: [&str; 6] = [
    "profile.wasm-release.package.veil-mesh.opt-level=3",
    "profile.wasm-release.package.rand_chacha.opt-level=3",
    "profile.wasm-release.package.ppv-lite86.opt-level=3",
    "profile.wasm-release.package.sha2.opt-level=3",
    "profile.wasm-release.package.veil-consent.opt-level=\"z\"",
    SIMD128,
];
/// WebAssembly 128-bit SIMD for the package (appended to `.cargo/config.toml`'s wasm32 flags,
/// which `--config` arrays extend): LLVM then vectorises the pipeline's loops over coordinates.
/// Every browser Veil supports runs it (Chrome/Edge 91, Firefox 89, Safari 16.4) and so does
/// Node 16.4 and later, so no scalar build is kept. Only the package: the PWA's own wasm builds
/// (`release` profile) keep their flags.
const SIMD128: &str = r#"target.wasm32-unknown-unknown.rustflags=["-Ctarget-feature=+simd128"]"#;
/// wasm-opt passes: speed first (the mesh pipeline has a 2x-native budget). The wasm features
/// come from the module's `target_features` section (what rustc emitted), so none is forced here.
///
/// `-O3` alone inlines every function that has one caller, whatever its size: it folded the
/// pipeline's stages into one function of `prepare` that V8 compiles much worse (Taubin smoothing
/// 104 ms instead of 37, `deidentifyModel` on a 1M head 419 ms instead of 351, in Node 20 on
/// 2026-12-06). One-caller functions are inlined only up to 100 instructions, as the small ones
/// still gain from it; the module grows by 9 KB.
const WASM_OPT_ARGS: [&str; 5] = [
    "-O3",
    "--one-caller-inline-max-function-size",
    "100",
    "--strip-debug",
    "--strip-producers",
];

/// Where the package for `target` is built.
pub fn out_dir(root: &Path, target: &str) -> PathBuf {
    crate::target_dir(root).join("npm").join(target)
}

fn ensure_wasm_pack(tools: &Tools) -> Result<()> {
    let has = output(
        Command::new("wasm-pack")
            .env("PATH", &tools.path)
            .arg("--version"),
    )
    .is_some_and(|v| v.contains(WASM_PACK_VERSION));
    if has {
        return Ok(());
    }
    println!(
        "xtask: installing wasm-pack {WASM_PACK_VERSION} from crates.io (a few minutes, once)"
    );
    run(Command::new(crate::cargo()).env("PATH", &tools.path).args([
        "install",
        "--quiet",
        "wasm-pack",
        "--version",
        WASM_PACK_VERSION,
        "--locked",
    ]))
}

/// Build `@veil/core` for every target, optimise, and print the `web` module's size.
pub fn build(root: &Path) -> Result<()> {
    let tools = tools::ensure_build_tools(root)?;
    ensure_wasm_pack(&tools)?;
    let wasm_opt = root
        .join("tools")
        .join("node_modules")
        .join(".bin")
        .join("wasm-opt");
    if !wasm_opt.is_file() {
        return Err(format!(
            "{} is missing (cargo xtask setup installs it)",
            wasm_opt.display()
        ));
    }
    let mut optimised: Option<([u8; 32], Vec<u8>)> = None;
    for target in TARGETS {
        let out = out_dir(root, target);
        let _ = std::fs::remove_dir_all(&out);
        println!(
            "xtask: wasm-pack build --target {target} -> {}",
            out.display()
        );
        let mut cmd = Command::new("wasm-pack");
        cmd.current_dir(root)
            .env("PATH", &tools.path)
            // A RUSTFLAGS variable would override .cargo/config.toml's wasm32 flags (getrandom backend).
            .env_remove("RUSTFLAGS")
            .args([
                "build",
                "crates/wasm",
                "--mode",
                "no-install",
                "--profile",
                PROFILE,
                "--no-opt",
                "--target",
                target,
            ])
            .arg("--out-dir")
            .arg(&out)
            .args(["--out-name", OUT_NAME, "--"]);
        for c in CARGO_CONFIG {
            cmd.args(["--config", c]);
        }
        run(&mut cmd)?;
        let wasm = out.join(format!("{OUT_NAME}_bg.wasm"));
        let raw = std::fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
        let digest: [u8; 32] = Sha256::digest(&raw).into();
        // wasm-bindgen emits the same module for every target (only the JS glue differs): optimise
        // it once and reuse the result, since wasm-opt is the slow step.
        match &optimised {
            Some((d, bytes)) if *d == digest => {
                std::fs::write(&wasm, bytes)
                    .map_err(|e| format!("writing {}: {e}", wasm.display()))?;
            }
            _ => {
                run(Command::new(&wasm_opt)
                    .args(WASM_OPT_ARGS)
                    .arg(&wasm)
                    .arg("-o")
                    .arg(&wasm))?;
                let bytes =
                    std::fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
                optimised = Some((digest, bytes));
            }
        }
        finish_package(root, &out, target)?;
    }
    let wasm = out_dir(root, "web").join(format!("{OUT_NAME}_bg.wasm"));
    let bytes = std::fs::read(&wasm).map_err(|e| format!("reading {}: {e}", wasm.display()))?;
    let raw = bytes.len() as u64;
    let gz = crate::pwa::gzip_len(&bytes)?;
    println!(
        "xtask: npm {PACKAGE_NAME} web wasm size: {raw} bytes raw ({:.2} MB), {gz} bytes gzip ({:.2} MB); budget {WASM_BUDGET} raw",
        raw as f64 / 1e6,
        gz as f64 / 1e6
    );
    if raw > WASM_BUDGET {
        return Err(format!(
            "{} is {raw} bytes, over the {WASM_BUDGET}-byte budget",
            wasm.display()
        ));
    }
    Ok(())
}

/// Name the package `@veil/core`, ship the README, and drop wasm-pack's `.gitignore` (which
/// ignores everything).
/// `MeshPool` (`crates/wasm/js`): its files in the package, each from its source for `target`
/// (the pool and its worker are the same everywhere; how a worker starts differs between Node and
/// browsers, how it loads the module between the three targets).
fn pool_files(target: &str) -> [(&'static str, String); 5] {
    let env = if target == "nodejs" {
        "node"
    } else {
        "browser"
    };
    let load = if target == "nodejs" { "node" } else { target };
    [
        ("pool.mjs", "pool.mjs".into()),
        ("pool.d.mts", "pool.d.mts".into()),
        ("pool-worker.mjs", "pool-worker.mjs".into()),
        ("pool-env.mjs", format!("env-{env}.mjs")),
        ("pool-load.mjs", format!("load-{load}.mjs")),
    ]
}

fn finish_package(root: &Path, out: &Path, target: &str) -> Result<()> {
    let readme = root.join("crates").join("wasm").join("README.md");
    std::fs::copy(&readme, out.join("README.md"))
        .map_err(|e| format!("copying {}: {e}", readme.display()))?;
    let js = root.join("crates").join("wasm").join("js");
    let pool = pool_files(target);
    for (name, source) in &pool {
        std::fs::copy(js.join(source), out.join(name))
            .map_err(|e| format!("copying {}: {e}", js.join(source).display()))?;
    }
    let path = out.join("package.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let obj = json
        .as_object_mut()
        .ok_or_else(|| format!("{} is not an object", path.display()))?;
    obj.insert("name".into(), PACKAGE_NAME.into());
    obj.insert(
        "sideEffects".into(),
        serde_json::json!([
            format!("./{OUT_NAME}.js"),
            "./snippets/*",
            "./pool-worker.mjs"
        ]),
    );
    if let Some(files) = obj.get_mut("files").and_then(|f| f.as_array_mut()) {
        for name in ["README.md"]
            .into_iter()
            .chain(pool.iter().map(|(n, _)| *n))
        {
            if !files.iter().any(|f| f == name) {
                files.push(name.into());
            }
        }
    }
    let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))?;
    let _ = std::fs::remove_file(out.join(".gitignore"));
    Ok(())
}

/// Build the package, the `veil` CLI and the model generator, then run the node tests of the
/// `nodejs` build (they compare every result with the CLI's on the same inputs).
pub fn test(root: &Path) -> Result<()> {
    build(root)?;
    let veil = crate::build_veil(root)?;
    run(Command::new(crate::cargo()).current_dir(root).args([
        "build",
        "--quiet",
        "-p",
        "veil-wasm",
        "--example",
        "synth_model",
    ]))?;
    let synth = crate::target_dir(root)
        .join("debug")
        .join("examples")
        .join("synth_model");
    run(Command::new("node")
        .current_dir(root)
        .env("VEIL_BIN", &veil)
        .env("VEIL_SYNTH", &synth)
        .env("VEIL_NPM_DIR", crate::target_dir(root).join("npm"))
        .args(["--test", "--test-concurrency=1", "crates/wasm/tests/node/"]))
}
