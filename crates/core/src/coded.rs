//! Stable error codes: one kebab-case id per failure, the same in every surface.
//!
//! Every crate's error implements [`Coded`]. The CLI prints `veil: <code>: <message>`, the npm
//! package throws an `Error` whose `code` is it, the ingest server answers `{"error": <code>}` and
//! the app shows it next to the message, so a support request, a test and a log search all name a
//! failure the same way. `docs/architecture.md` lists each code with where it is raised; a test
//! (`crates/xtask/tests/architecture.rs`) fails when a crate can raise a code that is not listed.

/// An error with a stable, machine-readable code.
pub trait Coded: std::fmt::Display {
    /// The kebab-case code, e.g. `"bad-signature"`. Codes are part of the public contract: they
    /// never change meaning once released.
    fn code(&self) -> &'static str;

    /// `<code>: <message>`, the one line every surface prints.
    fn coded_message(&self) -> String {
        format!("{}: {}", self.code(), self)
    }
}

/// True when `code` is a well-formed code: lowercase ASCII words joined by single hyphens.
pub fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code.split('-').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shape() {
        assert!(is_code("bad-signature"));
        assert!(is_code("http-429"));
        assert!(!is_code("Bad"));
        assert!(!is_code("bad--sig"));
        assert!(!is_code("-bad"));
        assert!(!is_code(""));
    }
}
