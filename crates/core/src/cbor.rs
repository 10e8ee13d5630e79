//! CBOR heads (RFC 8949 §3): the one encoder and strict decoder of major type + argument that the
//! VEIL-1 envelope, the COSE `Sig_structure` and the audit chain's deterministic encoding share.
//!
//! Written out by hand so that they are exact, zero-copy and bounded: every length read is checked
//! against the bytes that remain before anything is sliced or allocated. Whole documents of
//! outside CBOR (COSE_Sign1, manifests) are decoded with `ciborium`; this module is for the
//! places where the exact bytes are the contract.
//!
//! The reader accepts only preferred serialization (RFC 8949 §4.2.1: shortest argument, definite
//! lengths), so one envelope has exactly one encoding and its hash (the artifact id) cannot be
//! changed by re-encoding the same fields.

/// Major type 0: unsigned integer (RFC 8949 §3.1).
pub const UINT: u8 = 0;
/// Major type 1: negative integer, argument `-1 - n`.
pub const NINT: u8 = 1;
/// Major type 2: byte string.
pub const BSTR: u8 = 2;
/// Major type 3: text string.
pub const TSTR: u8 = 3;
/// Major type 4: array.
pub const ARRAY: u8 = 4;
/// Major type 5: map.
pub const MAP: u8 = 5;
/// Major type 6: tag.
pub const TAG: u8 = 6;

/// Append a head (major type + argument) in preferred (shortest) form.
#[allow(clippy::cast_possible_truncation)] // each cast is guarded by the range it is in
pub fn put_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let mt = major << 5;
    if arg < 24 {
        out.push(mt | arg as u8);
    } else if arg <= 0xff {
        out.extend_from_slice(&[mt | 24, arg as u8]);
    } else if arg <= 0xffff {
        out.push(mt | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= 0xffff_ffff {
        out.push(mt | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(mt | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// Length in bytes of a head with argument `arg` in preferred form.
pub fn head_len(arg: u64) -> usize {
    match arg {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// The head alone, as bytes (for streaming a large string into a hash).
pub fn head_bytes(major: u8, arg: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(9);
    put_head(&mut v, major, arg);
    v
}

/// Why a strict read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Ran out of bytes.
    #[error("truncated")]
    Truncated,
    /// Not the expected major type.
    #[error("unexpected CBOR type")]
    WrongType,
    /// A non-shortest argument, an indefinite length or a reserved additional-info value.
    #[error("not in preferred (shortest, definite-length) encoding")]
    NotPreferred,
}

/// Append a text string (head + UTF-8 bytes).
pub fn put_text(out: &mut Vec<u8>, s: &str) {
    put_head(out, TSTR, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Append a byte string (head + bytes).
pub fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_head(out, BSTR, b.len() as u64);
    out.extend_from_slice(b);
}

/// A strict cursor over CBOR bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self.pos.checked_add(n).ok_or(ReadError::Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(ReadError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    /// Read a head, returning (major type, argument).
    pub fn head(&mut self) -> Result<(u8, u64), ReadError> {
        let first = *self.take(1)?.first().ok_or(ReadError::Truncated)?;
        let major = first >> 5;
        let info = first & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24 => {
                let v = u64::from(self.take(1)?[0]);
                if v < 24 {
                    return Err(ReadError::NotPreferred);
                }
                v
            }
            25 => {
                let b = self.take(2)?;
                let v = u64::from(u16::from_be_bytes([b[0], b[1]]));
                if v <= 0xff {
                    return Err(ReadError::NotPreferred);
                }
                v
            }
            26 => {
                let b = self.take(4)?;
                let v = u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                if v <= 0xffff {
                    return Err(ReadError::NotPreferred);
                }
                v
            }
            27 => {
                let b = self.take(8)?;
                let v = u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]);
                if v <= 0xffff_ffff {
                    return Err(ReadError::NotPreferred);
                }
                v
            }
            _ => return Err(ReadError::NotPreferred),
        };
        Ok((major, arg))
    }

    /// Read a head and require the major type.
    pub fn expect(&mut self, major: u8) -> Result<u64, ReadError> {
        let (m, arg) = self.head()?;
        if m != major {
            return Err(ReadError::WrongType);
        }
        Ok(arg)
    }

    /// Read a byte or text string of the given major type, borrowing its content.
    pub fn string(&mut self, major: u8) -> Result<&'a [u8], ReadError> {
        let len = self.expect(major)?;
        let len = usize::try_from(len).map_err(|_| ReadError::Truncated)?;
        self.take(len)
    }

    /// True when every byte has been consumed.
    pub fn at_end(&self) -> bool {
        self.pos == self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn heads_agree_with_ciborium(major in prop::sample::select(vec![UINT, BSTR, TSTR, ARRAY, MAP]), arg in any::<u64>()) {
            let bytes = head_bytes(major, arg);
            prop_assert_eq!(bytes.len(), head_len(arg));
            let mut dec = ciborium_ll::Decoder::from(bytes.as_slice());
            let h = dec.pull().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let expected = match major {
                UINT => ciborium_ll::Header::Positive(arg),
                BSTR => ciborium_ll::Header::Bytes(Some(arg as usize)),
                TSTR => ciborium_ll::Header::Text(Some(arg as usize)),
                ARRAY => ciborium_ll::Header::Array(Some(arg as usize)),
                _ => ciborium_ll::Header::Map(Some(arg as usize)),
            };
            prop_assert_eq!(h, expected);
        }

        #[test]
        fn reader_never_panics_and_only_accepts_what_it_would_write(bytes in prop::collection::vec(any::<u8>(), 0..12)) {
            let mut r = Reader::new(&bytes);
            if let Ok((major, arg)) = r.head() {
                let again = head_bytes(major, arg);
                prop_assert_eq!(&bytes[..head_len(arg)], again.as_slice());
            }
        }
    }

    #[test]
    fn heads_are_shortest_and_round_trip() {
        for arg in [
            0u64,
            23,
            24,
            255,
            256,
            65535,
            65536,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let bytes = head_bytes(BSTR, arg);
            let mut r = Reader::new(&bytes);
            assert_eq!(r.head(), Ok((BSTR, arg)));
            assert!(r.at_end());
        }
        // RFC 8949 Appendix A examples.
        assert_eq!(head_bytes(UINT, 24), [0x18, 0x18]);
        assert_eq!(head_bytes(UINT, 1000), [0x19, 0x03, 0xe8]);
        assert_eq!(head_bytes(UINT, 1_000_000), [0x1a, 0x00, 0x0f, 0x42, 0x40]);
    }

    #[test]
    fn non_preferred_heads_are_rejected() {
        for bytes in [
            &[0x18u8, 0x10][..],
            &[0x19, 0x00, 0x10],
            &[0x1a, 0, 0, 0, 1],
            &[0x5f],
            &[0x1c],
        ] {
            assert_eq!(
                Reader::new(bytes).head(),
                Err(ReadError::NotPreferred),
                "{bytes:x?}"
            );
        }
    }

    #[test]
    fn claimed_lengths_beyond_input_are_truncated_not_allocated() {
        let mut r = Reader::new(&[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.string(BSTR), Err(ReadError::Truncated));
    }
}
