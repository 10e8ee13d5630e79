//! What the text readers (ASCII STL, OBJ, ASCII PLY) share: a line-counting tokenizer and checked
//! number parsing.

use crate::MeshError;

/// A whitespace tokenizer over text bytes that tracks line numbers.
pub(crate) struct Tokens<'a> {
    bytes: &'a [u8],
    pos: usize,
    pub(crate) line: usize,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Tokens {
            bytes,
            pos: 0,
            line: 1,
        }
    }
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }
    pub(crate) fn next_token(&mut self) -> Option<&'a [u8]> {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            if self.bytes[self.pos] == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
        if self.pos >= self.bytes.len() {
            return None;
        }
        let start = self.pos;
        while self.pos < self.bytes.len() && !self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
        Some(&self.bytes[start..self.pos])
    }
    /// The rest of the current line (without the newline), trimmed.
    pub(crate) fn rest_of_line(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'\n' {
            self.pos += 1;
        }
        self.bytes[start..self.pos].trim_ascii()
    }
}

pub(crate) fn parse_f32(tok: &[u8], line: usize) -> Result<f32, MeshError> {
    std::str::from_utf8(tok)
        .ok()
        .and_then(|s| s.parse::<f32>().ok())
        .ok_or_else(|| {
            MeshError::parse(
                line,
                format!("expected a number, found a {}-byte token", tok.len()),
            )
        })
}

pub(crate) fn finite(p: [f32; 3], what: impl FnOnce() -> String) -> Result<[f32; 3], MeshError> {
    if p.iter().all(|v| v.is_finite()) {
        Ok(p)
    } else {
        Err(MeshError::NonFinite { what: what() })
    }
}
