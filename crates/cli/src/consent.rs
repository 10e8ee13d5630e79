//! `veil consent`: decide, breach, export-fhir, import-fhir. (Filled by the consent issue.)

use std::process::ExitCode;

use clap::Subcommand;

/// Subcommands of `veil consent`.
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {}

pub fn run(_cmd: ConsentCommand) -> ExitCode {
    crate::fail("consent is not built yet")
}
