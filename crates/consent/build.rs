//! The rule and text files are written as TOML (comments, citations beside each rule), but the
//! crate embeds them as compact JSON: every consumer (the CLI, the app, the npm module) then parses
//! them with `serde_json`, which it links anyway, and the wasm builds carry neither a TOML parser nor
//! the files' comments. Each `rules/*.toml` and `texts/*.toml` becomes `$OUT_DIR/<dir>/<name>.json`;
//! a file that is not valid TOML, or that holds a TOML date-time (which has no JSON form), fails the
//! build, naming the file. The JSON is stored DEFLATE-compressed (`<name>.json.deflate`): the rules
//! and the texts in four languages are about 120 KB of JSON, a fifth of that compressed, and the npm
//! module has a size budget; [`veil_consent::bundle`] inflates each file once, bounded.

// A build script reports a defect by panicking: cargo shows the message and stops the build.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::path::Path;

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for dir in ["rules", "texts"] {
        println!("cargo:rerun-if-changed={dir}");
        let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {dir}/: {e}"));
        let mut names: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        names.sort();
        std::fs::create_dir_all(Path::new(&out).join(dir)).expect("creating the output directory");
        for path in names {
            println!("cargo:rerun-if-changed={}", path.display());
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let value: toml::Value =
                toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let json = to_json(&value, &path);
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a UTF-8 file name");
            let target = Path::new(&out)
                .join(dir)
                .join(format!("{stem}.json.deflate"));
            let deflated = miniz_oxide::deflate::compress_to_vec(json.to_string().as_bytes(), 10);
            std::fs::write(&target, deflated)
                .unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
        }
    }
}

fn to_json(value: &toml::Value, file: &Path) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(serde_json::Value::Number)
            .unwrap_or_else(|| panic!("{}: a float JSON cannot hold", file.display())),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => panic!(
            "{}: TOML date-time {d}: write dates as strings",
            file.display()
        ),
        toml::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(|v| to_json(v, file)).collect())
        }
        toml::Value::Table(table) => serde_json::Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v, file)))
                .collect(),
        ),
    }
}
