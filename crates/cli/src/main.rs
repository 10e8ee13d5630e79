//! `veil`: the batch command line for research teams, demos, tests and benchmarks.
//!
//! Each subcommand lives in its own module and only wires a `crates/*` library to files and stdout;
//! no domain logic lives here. Each returns `Result<(), Failure>` ([`failure`]); `main` is the only
//! place that prints a failure, as one line `veil: <code>: <message>` on stderr, and picks the
//! exit code (the contract is [`EXIT_HELP`], shown by `veil --help`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// mimalloc keeps freed pages for reuse: the mesh pipeline frees and allocates buffers of tens of
// megabytes at every step, and with the system allocator each one is returned to the kernel and
// faulted back in page by page (a quarter of `veil deid`'s time on a 1M-triangle model).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod batch;
mod consent;
mod deid;
mod device;
mod failure;
mod fetch;
mod seal;
mod serve;
mod upload;

use failure::Failure;

/// The exit codes and the stderr shape, at the end of `veil --help`.
const EXIT_HELP: &str = "\
Exit status:
  0  success
  1  the work failed or the input was refused: a file that is not a model, a reading that does
     not verify (its JSON verdict is still printed on stdout), a batch with failed models (their
     codes are in summary.csv), an upload with files not stored (their codes are in their JSON
     lines), a key that does not open the artifact, an unreadable file, ...
  2  usage error: flags that do not parse (clap's message), or arguments that cannot be used
     together (code `usage`)

Every failure other than clap's prints exactly one line on stderr:
  veil: <code>: <message>
The code is stable and matched on (docs/architecture.md lists them all); the message is for
people and may change.";

/// Veil: a privacy gateway for medical 3D models and device readings.
#[derive(Debug, Parser)]
#[command(name = "veil", version, about, after_help = EXIT_HELP)]
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
    /// Upload sealed artifacts to an ingest server (enrolling the client key with an invitation).
    Upload(upload::UploadArgs),
    /// Export the artifacts a recipient user may read for a purpose (each read decided and logged).
    Fetch(fetch::FetchArgs),
    /// Operator commands on the ingest server's database: invitations, enrolled clients, users.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Deid(args) if deid::is_batch(&args) => batch::run(&args),
        Command::Deid(args) => deid::run(args),
        Command::Device(cmd) => device::run(cmd),
        Command::Consent(cmd) => consent::run(cmd),
        Command::Seal(args) => seal::run_seal(args),
        Command::Open(args) => seal::run_open(args),
        Command::Upload(args) => upload::run(args),
        Command::Fetch(args) => fetch::run(args),
        Command::Admin(cmd) => admin::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            use std::io::Write;
            // Nothing is left to report to if stderr is gone too; the exit code still says it.
            let _ = writeln!(std::io::stderr().lock(), "{}", failure.line());
            failure.exit_code()
        }
    }
}

/// Print `text` and a newline on stdout. A [`failure::IO`] failure when stdout is gone (a closed
/// pipe, as in `veil … | head`, or a full disk), where `println!` would panic.
pub(crate) fn print_line(text: impl std::fmt::Display) -> Result<(), Failure> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::stdout(&e))
}
