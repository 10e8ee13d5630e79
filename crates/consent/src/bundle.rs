//! The embedded rule and text files, as the crate carries them: compact JSON, DEFLATE-compressed
//! by `build.rs` (the rules and the texts in four languages are about 120 KB of JSON and the npm
//! module has a size budget). Each file is inflated once by the loader that parses it, never past
//! [`MAX_JSON`] bytes, and an undecodable file is a typed error, not a panic.

use crate::ConsentError;

/// The most bytes one embedded file may inflate to (each is well under 100 KB).
pub const MAX_JSON: usize = 1 << 20;

/// The JSON text of one embedded file.
///
/// # Errors
/// [`ConsentError::BadBundledData`], naming the file, if the bytes do not inflate within
/// [`MAX_JSON`] to UTF-8 (a build defect, caught by the crate's tests).
pub fn json(file: &'static str, deflated: &[u8]) -> Result<String, ConsentError> {
    let bytes =
        miniz_oxide::inflate::decompress_to_vec_with_limit(deflated, MAX_JSON).map_err(|e| {
            ConsentError::BadBundledData {
                file,
                reason: format!("inflating: {e}"),
            }
        })?;
    String::from_utf8(bytes).map_err(|e| ConsentError::BadBundledData {
        file,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflates_what_deflate_wrote() {
        let deflated = miniz_oxide::deflate::compress_to_vec(br#"{"a":1}"#, 10);
        assert_eq!(json("x", &deflated).unwrap(), r#"{"a":1}"#);
    }

    #[test]
    fn corrupt_or_oversized_input_is_a_typed_error() {
        let err = json("x", b"\xff\xff\xff\xff").unwrap_err();
        assert_eq!(veil_core::Coded::code(&err), "bad-bundled-data");
        let big = miniz_oxide::deflate::compress_to_vec(&vec![b' '; MAX_JSON + 1], 10);
        assert!(json("x", &big).is_err());
    }
}
