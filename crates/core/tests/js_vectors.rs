//! The vectors the JavaScript copy (`crates/core/js/cbor.mjs`) is checked against by
//! `crates/wasm/tests/node/cbor.test.mjs`: heads at every size boundary of every major type, and
//! `Sig_structure`s, as this crate encodes them. The committed file must equal what the Rust code
//! produces now; `VEIL_BLESS=1 cargo test -p veil-core --test js_vectors` rewrites it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::path::PathBuf;

use veil_core::cbor::{self, ARRAY, BSTR, MAP, NINT, TAG, TSTR, UINT};
use veil_core::cose;

fn vectors() -> String {
    let args: [u64; 14] = [
        0,
        1,
        23,
        24,
        255,
        256,
        65_535,
        65_536,
        4_294_967_295,
        4_294_967_296,
        9_007_199_254_740_991,
        9_007_199_254_740_992,
        u64::MAX - 1,
        u64::MAX,
    ];
    let mut out = String::from("{\n  \"heads\": [\n");
    let mut rows = Vec::new();
    for major in [UINT, NINT, BSTR, TSTR, ARRAY, MAP, TAG] {
        for arg in args {
            rows.push(format!(
                "    {{\"major\": {major}, \"arg\": \"{arg}\", \"hex\": \"{}\"}}",
                hex::encode(cbor::head_bytes(major, arg))
            ));
        }
    }
    out.push_str(&rows.join(",\n"));
    out.push_str("\n  ],\n  \"sig_structures\": [\n");
    let cases: [(&[u8], Vec<u8>); 3] = [
        (&[0xa1, 0x01, 0x26], b"This is the content.".to_vec()),
        (&[0xa2, 0x01, 0x26, 0x04, 0x41, 0x07], vec![]),
        (&[0xa1, 0x01, 0x28], vec![0x5a; 300]),
    ];
    let rows: Vec<String> = cases
        .iter()
        .map(|(p, payload)| {
            let mut s = String::new();
            let _ = write!(
                s,
                "    {{\"protected\": \"{}\", \"payload\": \"{}\", \"hex\": \"{}\"}}",
                hex::encode(p),
                hex::encode(payload),
                hex::encode(cose::sig_structure(p, payload))
            );
            s
        })
        .collect();
    out.push_str(&rows.join(",\n"));
    out.push_str("\n  ]\n}\n");
    out
}

#[test]
fn committed_vectors_are_what_the_rust_code_writes() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/cbor-js.json");
    let now = vectors();
    if std::env::var_os("VEIL_BLESS").is_some() {
        std::fs::write(&path, &now).unwrap();
    }
    let committed = std::fs::read_to_string(&path).expect("run with VEIL_BLESS=1 once");
    assert_eq!(committed, now, "{} is stale", path.display());
}
