//! `veil deid`: de-identify a 3D model. (Filled by the mesh issue.)

use std::process::ExitCode;

use clap::Args;

/// Arguments of `veil deid`.
#[derive(Debug, Args)]
pub struct DeidArgs {}

pub fn run(_args: DeidArgs) -> ExitCode {
    crate::fail("deid is not built yet")
}
