//! `veil`: the batch command line for research teams, demos, tests and benchmarks.
//!
//! Each subcommand lives in its own module and only wires a `crates/*` library to files and stdout;
//! no domain logic lives here.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// mimalloc keeps freed pages for reuse: the mesh pipeline frees and allocates buffers of tens of
// megabytes at every step, and with the system allocator each one is returned to the kernel and
// faulted back in page by page (a quarter of `veil deid`'s time on a 1M-triangle model).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod batch;
mod consent;
mod deid;
mod device;
mod seal;
mod serve;

/// Veil: a privacy gateway for medical 3D models and device readings.
#[derive(Debug, Parser)]
#[command(name = "veil", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the built PWA (and the ingest API) on 127.0.0.1.
    Serve(serve::ServeArgs),
    /// De-identify a 3D model (STL, OBJ, PLY).
    Deid(deid::DeidArgs),
    /// Provision, sign as, and verify certified devices.
    #[command(subcommand)]
    Device(device::DeviceCommand),
    /// Consent decisions, breach deadlines and FHIR exchange.
    #[command(subcommand)]
    Consent(consent::ConsentCommand),
    /// Seal files into a signed, encrypted artifact for a recipient.
    Seal(seal::SealArgs),
    /// Open a sealed artifact with the recipient's key.
    Open(seal::OpenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Deid(args) if deid::is_batch(&args) => batch::run(&args),
        Command::Deid(args) => deid::run(args),
        Command::Device(cmd) => device::run(cmd),
        Command::Consent(cmd) => consent::run(cmd),
        Command::Seal(args) => seal::run_seal(args),
        Command::Open(args) => seal::run_open(args),
    }
}

/// Print `text` and a newline on stdout. False when stdout is gone (a closed pipe, as in
/// `veil … | head`): the caller exits with a failure instead of panicking as `println!` would.
pub(crate) fn print_line(text: impl std::fmt::Display) -> bool {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_ok()
}

/// Print a one-line error naming the problem and return the failure exit code.
pub(crate) fn fail(err: impl std::fmt::Display) -> ExitCode {
    eprintln!("veil: {err}");
    ExitCode::FAILURE
}
