//! `veil seal` and `veil open`. (Filled by the sealed-uploads issue.)

use std::process::ExitCode;

use clap::Args;

/// Arguments of `veil seal`.
#[derive(Debug, Args)]
pub struct SealArgs {}

/// Arguments of `veil open`.
#[derive(Debug, Args)]
pub struct OpenArgs {}

pub fn run_seal(_args: SealArgs) -> ExitCode {
    crate::fail("seal is not built yet")
}

pub fn run_open(_args: OpenArgs) -> ExitCode {
    crate::fail("open is not built yet")
}
