//! `veil device`: provision, sign, verify. (Filled by the device-trust issue.)

use std::process::ExitCode;

use clap::Subcommand;

/// Subcommands of `veil device`.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {}

pub fn run(_cmd: DeviceCommand) -> ExitCode {
    crate::fail("device is not built yet")
}
