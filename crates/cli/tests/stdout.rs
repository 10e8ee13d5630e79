//! A stdout that cannot be written (a full device, a pipe closed by `head`) makes `veil` fail
//! with an exit code and its one `io` line, never panic.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

#[test]
#[cfg(target_os = "linux")]
fn a_full_stdout_is_a_failure_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("veil-stdout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let model = dir.join("sphere.stl");
    let sphere = veil_mesh::synth::sphere(20.0, 16, 8);
    std::fs::write(&model, veil_mesh::write::write_stl(&sphere)).unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_veil"))
        .arg("deid")
        .arg(&model)
        .arg("-o")
        .arg(dir.join("out.stl"))
        .args(["--seed", "1"])
        .stdout(Stdio::from(full))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.starts_with("veil: io: cannot write to stdout: ") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
