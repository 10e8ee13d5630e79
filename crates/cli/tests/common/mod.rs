//! What the `veil upload` and `veil admin` tests share: the built `veil` binary, a scratch
//! directory, and a real `veil serve` process on a free loopback port with its own data directory
//! and test keys (`veil seal --generate-keys`), sealing test artifacts for it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Run `veil` with `args`.
pub fn veil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .output()
        .unwrap()
}

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("veil-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `path` as a `&str` argument.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// `out` exited 0; its stdout.
pub fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// `out` exited with `status` and stderr is the one line `veil: <code>: ...`.
pub fn fails_with(out: &Output, status: i32, code: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(status), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.starts_with(&format!("veil: {code}: ")),
        "expected code {code}: {stderr:?}"
    );
}

/// The JSON lines of a stdout.
pub fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// Test keys written by `veil seal --generate-keys` into `dir`.
pub struct Keys {
    pub dir: PathBuf,
}

impl Keys {
    pub fn generate(dir: PathBuf) -> Self {
        ok(veil(&["seal", "--generate-keys", &arg(&dir)]));
        Keys { dir }
    }

    pub fn file(&self, name: &str) -> String {
        arg(&self.dir.join(name))
    }

    /// The client key's id: SHA-256 of its uncompressed SEC1 point, hex.
    pub fn client_kid(&self) -> String {
        use sha2::Digest;
        let pem = std::fs::read_to_string(self.dir.join("client.pub.pem")).unwrap();
        let key = veil_seal::verifying_key_from_pem(&pem).unwrap();
        hex::encode(sha2::Sha256::digest(key.to_encoded_point(false).as_bytes()))
    }
}

/// A `veil serve` process on 127.0.0.1 (a free port), killed and its directory removed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The scratch directory: `data/`, `dist/`, `keys/` (the server's recipient key and the
    /// enrolled test client), and what the test writes.
    pub dir: PathBuf,
    /// The server's `--data` directory (`veil admin --data` works on it).
    pub data: PathBuf,
    /// The recipient key pair the server uses, and a client key.
    pub keys: Keys,
}

impl Server {
    pub fn start(name: &str) -> Self {
        let dir = scratch(name);
        let keys = Keys::generate(dir.join("keys"));
        let dist = dir.join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(
            dist.join("index.html"),
            "<!doctype html><title>veil</title>",
        )
        .unwrap();
        let data = dir.join("data");
        let mut child = Command::new(env!("CARGO_BIN_EXE_veil"))
            .args(["serve", "--port", "0", "--data", &arg(&data), "--dist"])
            .arg(&dist)
            .args(["--recipient-key", &keys.file("recipient.pem")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let url = loop {
            let mut line = String::new();
            if stdout.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("veil serve exited before serving: {:?}", child.wait());
            }
            if let Some(rest) = line.trim().strip_prefix("Veil is serving on ") {
                let url = rest.split_whitespace().next().unwrap();
                break url.trim_end_matches('/').to_owned();
            }
        };
        // Keep reading what the server prints, so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        Server {
            child,
            url,
            dir,
            data,
            keys,
        }
    }

    /// A file in the scratch directory.
    pub fn path(&self, name: &str) -> String {
        arg(&self.dir.join(name))
    }

    /// Seal a fresh small document (`text`) to this server with the client key of `keys` into
    /// `<dir>/<name>`; its path.
    pub fn seal(&self, keys: &Keys, name: &str, text: &str) -> String {
        let letter = self.dir.join(format!("{name}.pdf"));
        std::fs::write(&letter, text).unwrap();
        let out = self.path(name);
        ok(veil(&[
            "seal",
            "--recipient",
            &self.keys.file("recipient.pub.pem"),
            "--client-key",
            &keys.file("client.pem"),
            "--purpose",
            "treatment",
            "--pseudonym-secret",
            &keys.file("pseudonym.secret"),
            "-o",
            &out,
            &arg(&letter),
        ]));
        out
    }

    /// `veil admin invite --data <data>` with `extra` flags: its one JSON line.
    pub fn invite(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec!["admin", "invite", "--data"];
        let data = arg(&self.data);
        args.push(&data);
        args.extend_from_slice(extra);
        let out = ok(veil(&args));
        assert_eq!(out.lines().count(), 1, "{out}");
        serde_json::from_str(out.trim()).unwrap()
    }

    /// `veil upload --server <url> --client-key <keys>/client.pem` with `extra` arguments.
    pub fn upload(&self, keys: &Keys, extra: &[&str]) -> Output {
        let key = keys.file("client.pem");
        let mut args = vec!["upload", "--server", &self.url, "--client-key", &key];
        args.extend_from_slice(extra);
        veil(&args)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The SHA-256 of a file, hex: its artifact id.
pub fn id_of(path: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

/// A loopback URL nothing listens on (a port bound and released).
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}
