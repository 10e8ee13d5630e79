//! `Failure`: the one failure every `veil` subcommand returns, a stable code and a message.
//!
//! Every crate's error implements `veil_core::Coded` and converts into a `Failure` with its code
//! unchanged (`?` is enough), so the CLI prints the same code as the npm package, the ingest server
//! and the app (`docs/architecture.md`, "Error codes"). What only the command line can get wrong (a
//! file, stdout, a flag) has the CLI's own codes, the constants below; the architecture test reads
//! them from this file and each is listed in that table.
//!
//! Subcommands never print a failure: they return it, and `main` prints it as exactly one line
//! `veil: <code>: <message>` on stderr ([`Failure::line`]) and exits with [`Failure::exit_code`]:
//! 2 for [`USAGE`] (the command line is wrong, as clap's own errors), 1 for everything else (the
//! work failed or the input was refused). Codes are matched on; messages are for people.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use veil_core::Coded;

/// A file or directory could not be read, written or created, or stdout is gone (a closed pipe,
/// a full disk).
pub const IO: &str = "io";
/// Arguments that parse but cannot be used: flags that cannot go together, a missing value, a
/// value of the wrong syntax (a bad hex string), no model among the inputs. Exit code 2.
pub const USAGE: &str = "usage";
/// `veil seal` was given a model that has not been through `veil deid` (not the exact output of
/// its writers) and no `--raw`.
pub const RAW_MODEL: &str = "raw-model";
/// `veil seal --deid-report` names a file that is not a de-identification report of `veil deid`
/// (local or shareable).
pub const BAD_REPORT: &str = "bad-report";
/// `veil device verify --state` names a file that is not a JSON object of counters per serial.
pub const BAD_STATE: &str = "bad-state";
/// One or more items of a batch failed, the others were done: models of a `veil deid` batch
/// (each failed model's own code is in `summary.csv`), or files of a `veil upload` that were not
/// stored (each one's code is in its JSON line).
pub const BATCH_FAILED: &str = "batch-failed";
/// `veil upload` got no answer from the server: the connection could not be made, broke off or
/// timed out, on every attempt.
pub const UNREACHABLE: &str = "unreachable";
/// `veil upload` got an answer that is not the ingest API's: a status it never sends (a
/// redirect) or an error without its JSON code (a proxy's HTML page), or a request that could
/// not be made.
pub const BAD_RESPONSE: &str = "bad-response";

/// The exit code of a failure that is not [`USAGE`]: the work failed or the input was refused.
pub const EXIT_FAILED: u8 = 1;
/// The exit code of a [`USAGE`] failure, the same as clap's for flags that do not parse.
pub const EXIT_USAGE: u8 = 2;

/// A failed subcommand: a stable kebab-case `code` (a crate's `Coded::code` or one of this
/// module's constants) and a `message` for people that does not repeat the code. `Display` is
/// the message alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    code: &'static str,
    message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// An [`IO`] failure on `path`: `<path>: <error>`.
    pub fn io(path: &Path, err: &std::io::Error) -> Self {
        Self::new(IO, format!("{}: {err}", path.display()))
    }

    /// An [`IO`] failure writing to stdout.
    pub fn stdout(err: &std::io::Error) -> Self {
        Self::new(IO, format!("cannot write to stdout: {err}"))
    }

    /// A [`USAGE`] failure.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The same failure, its message prefixed with what it concerns (`scan.stl: ...`).
    #[must_use]
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The one stderr line: `veil: <code>: <message>`, the message's line breaks folded into
    /// spaces so the line stays one.
    pub fn line(&self) -> String {
        let words: Vec<&str> = self
            .message
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let message = if words.is_empty() {
            "failed".to_string()
        } else {
            words.join(" ")
        };
        format!("veil: {}: {message}", self.code())
    }

    /// [`EXIT_USAGE`] for a [`USAGE`] failure, otherwise [`EXIT_FAILED`].
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(if self.code() == USAGE {
            EXIT_USAGE
        } else {
            EXIT_FAILED
        })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// Every crate's error, with its own code. Coherent because `Failure` is not itself `Coded`.
impl<E: Coded> From<E> for Failure {
    fn from(e: E) -> Self {
        let code = e.code();
        Failure::new(code, without_code_words(code, e.to_string()))
    }
}

/// `message` without a leading restatement of `code` in words (`truncated file: ` for
/// `truncated-file`), which many crate messages start with: the line already shows the code. A
/// message that is nothing but the restatement is kept whole.
fn without_code_words(code: &str, message: String) -> String {
    let words = code.replace('-', " ");
    let rest = message
        .get(..words.len())
        .filter(|head| head.eq_ignore_ascii_case(&words))
        .and_then(|_| message.get(words.len()..))
        .and_then(|rest| rest.strip_prefix(": "))
        .filter(|rest| !rest.trim().is_empty());
    match rest {
        Some(rest) => rest.to_string(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crate_error_keeps_its_code_and_the_line_is_one_line() {
        let f = Failure::from(veil_mesh::MeshError::BadOption("no\nsuch profile".into()))
            .context("scan.stl");
        assert_eq!(f.code(), "bad-option");
        assert_eq!(f.line(), "veil: bad-option: scan.stl: no such profile");
        assert_eq!(f.exit_code(), ExitCode::from(EXIT_FAILED));
        assert_eq!(Failure::usage("x").exit_code(), ExitCode::from(EXIT_USAGE));
        assert_eq!(Failure::new(IO, "").line(), "veil: io: failed");
    }

    #[test]
    fn only_a_leading_restatement_of_the_code_is_dropped() {
        let cut = |code: &str, msg: &str| without_code_words(code, msg.to_string());
        assert_eq!(cut("malformed-json", "Malformed JSON: at 1:2"), "at 1:2");
        assert_eq!(cut("bad-signature", "bad signature"), "bad signature");
        assert_eq!(cut("bad-signature", "bad signature: "), "bad signature: ");
        assert_eq!(cut("io", "disk: io: full"), "disk: io: full");
        assert_eq!(cut("unknown-jurisdiction", "é"), "é");
    }
}
