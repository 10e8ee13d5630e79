//! `cargo xtask bench <area>`: benchmarks that compare Veil side by side with a named peer in one run
//! and print the ratio. Results are recorded in `docs/benchmarks.md`.

use std::path::Path;

use crate::Result;

/// Run the benchmark of one area.
pub fn run(_root: &Path, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some(area) => Err(format!("no benchmark for `{area}` yet")),
        None => Err("usage: cargo xtask bench <mesh|trust|seal>".into()),
    }
}
