//! Bounded work before trust (issue #14, finding 2): a recipient that pins the client key checks
//! the signature over the bytes before the payload is decoded, and learns which key to pin from the
//! protected `kid` ([`veil_seal::signer_kid`]) without decoding the payload either.
//!
//! The payloads here are CBOR bombs (a count of millions of one-byte items, nesting a million deep)
//! and the headers hostile (an unprotected header of millions of items): signed by a key other than
//! the pinned one they must be refused `bad-signature`, and the process must not grow while doing
//! so. Signed by the pinned key, the same bombs reach the (depth-limited) decoder, which shows the
//! order is what makes the difference.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use p256::ecdsa::Signature;
use p256::ecdsa::signature::Signer;
use veil_core::cbor::{ARRAY, BSTR, MAP, TAG, put_bytes, put_head};
use veil_core::cose::sig_structure;
use veil_seal::{
    ArtifactBuilder, Coded, ConsentDecision, ConsentRef, KeyId, PseudonymSecret, SigningKey,
    signer_kid, verify_signed_artifact,
};

fn pinned() -> SigningKey {
    SigningKey::from_slice(&[0x21; 32]).unwrap()
}

fn stranger() -> SigningKey {
    SigningKey::from_slice(&[0x22; 32]).unwrap()
}

/// `{1: -7, 4: kid}` as Veil writes it, or with the `kid` given (`None`: no label 4).
fn protected(kid: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    put_head(&mut out, MAP, if kid.is_some() { 2 } else { 1 });
    out.extend_from_slice(&[0x01, 0x26]);
    if let Some(kid) = kid {
        out.push(0x04);
        put_bytes(&mut out, kid);
    }
    out
}

/// A COSE_Sign1 over `payload`, laid out by hand (no generic encoder in between), signed by `key`.
fn sign1(protected: &[u8], unprotected: &[u8], payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let sig: Signature = key.sign(&sig_structure(protected, payload));
    let mut out = Vec::with_capacity(payload.len() + unprotected.len() + 128);
    put_head(&mut out, TAG, 18);
    put_head(&mut out, ARRAY, 4);
    put_bytes(&mut out, protected);
    out.extend_from_slice(unprotected);
    put_bytes(&mut out, payload);
    put_bytes(&mut out, &sig.to_bytes());
    out
}

fn kid_of(key: &SigningKey) -> KeyId {
    KeyId::of_verifying_key(key.verifying_key())
}

/// An array claiming `n` items, followed by `n` empty arrays: `n + 5` bytes that a generic
/// decoder turns into `n` values (tens of bytes each).
fn wide(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 9);
    put_head(&mut out, ARRAY, n as u64);
    out.resize(out.len() + n, 0x80);
    out
}

/// `n` nested one-item arrays around a 0.
fn deep(n: usize) -> Vec<u8> {
    let mut out = vec![0x81; n];
    out.push(0x00);
    out
}

/// The process's peak resident set ("high water mark"), in bytes.
#[cfg(target_os = "linux")]
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb * 1024
}

#[test]
fn bombs_signed_by_another_key_are_refused_unread() {
    const N: usize = 8 << 20;
    let kid = kid_of(&stranger());
    let hdr = protected(Some(&kid.0));
    // Payload bombs, validly signed by a stranger who names their own kid.
    let wide_payload = sign1(&hdr, &[0xa0], &wide(N), &stranger());
    let deep_payload = sign1(&hdr, &[0xa0], &deep(N), &stranger());
    // An unprotected header of N items, around a harmless payload.
    let mut unprotected = vec![0xa1, 0x01];
    unprotected.extend_from_slice(&wide(N));
    let wide_header = sign1(&hdr, &unprotected, b"\xa0", &stranger());

    #[cfg(target_os = "linux")]
    let before = peak_rss();
    for (name, bytes) in [
        ("wide payload", &wide_payload),
        ("deep payload", &deep_payload),
        ("wide unprotected header", &wide_header),
    ] {
        assert_eq!(signer_kid(bytes).unwrap(), kid, "{name}");
        let err = verify_signed_artifact(bytes, Some(pinned().verifying_key())).unwrap_err();
        assert_eq!(err.code(), "bad-signature", "{name}");
    }
    // Decoding the wide payload alone would take N values of tens of bytes (hundreds of MB);
    // reading the structure, hashing and one ECDSA verification allocate next to nothing.
    #[cfg(target_os = "linux")]
    {
        let grown = peak_rss().saturating_sub(before);
        assert!(
            grown < 16 << 20,
            "verifying three {N}-item bombs grew the peak RSS by {grown} bytes"
        );
    }

    // The same bombs signed by the pinned key pass the signature and reach the decoder, which
    // refuses them (depth limit, not a map): the order, not the bytes, kept the decoder away.
    let deep_pinned = sign1(&hdr, &[0xa0], &deep(N), &pinned());
    let err = verify_signed_artifact(&deep_pinned, Some(pinned().verifying_key())).unwrap_err();
    assert_eq!(err.code(), "bad-artifact");
    let small_wide = sign1(&hdr, &[0xa0], &wide(1000), &pinned());
    let err = verify_signed_artifact(&small_wide, Some(pinned().verifying_key())).unwrap_err();
    assert_eq!(err.code(), "bad-artifact");
}

fn real_artifact(key: &SigningKey) -> Vec<u8> {
    let consent = ConsentRef {
        decision: ConsentDecision::Allow,
        event_hash: None,
        context: None,
    };
    let pseudonym = PseudonymSecret::from_bytes(&[3; 32])
        .unwrap()
        .pseudonym("clinic-a", "care");
    let mut b = ArtifactBuilder::new(pseudonym, "care", "clinic-a", consent, 1);
    b.add_file("a.txt", b"a".to_vec()).unwrap();
    b.sign(key).unwrap().into_bytes()
}

#[test]
fn signer_kid_is_the_client_key_id_tagged_or_untagged() {
    let bytes = real_artifact(&pinned());
    assert_eq!(signer_kid(&bytes).unwrap(), kid_of(&pinned()));
    // Untagged: the same array without `0xd2`.
    assert_eq!(bytes[0], 0xd2);
    assert_eq!(signer_kid(&bytes[1..]).unwrap(), kid_of(&pinned()));
    verify_signed_artifact(&bytes[1..], Some(pinned().verifying_key())).unwrap();
}

#[test]
fn a_missing_or_ill_sized_kid_is_bad_signer_kid() {
    for kid in [
        None,
        Some(&[7u8; 31][..]),
        Some(&[7u8; 33][..]),
        Some(&[7u8; 65][..]),
    ] {
        let bytes = sign1(&protected(kid), &[0xa0], b"\xa0", &pinned());
        assert_eq!(
            signer_kid(&bytes).unwrap_err().code(),
            "bad-signer-kid",
            "{kid:?}"
        );
    }
    // A zero-length `kid` is not a valid header parameter at all (coset refuses the header).
    let bytes = sign1(&protected(Some(&[])), &[0xa0], b"\xa0", &pinned());
    assert_eq!(signer_kid(&bytes).unwrap_err().code(), "bad-artifact");
}

#[test]
fn what_is_not_a_cose_sign1_is_bad_artifact_before_any_kid() {
    let good = sign1(&protected(Some(&[1; 32])), &[0xa0], b"\xa0", &stranger());
    let mut trailing = good.clone();
    trailing.push(0);
    let mut wrong_tag = good.clone();
    wrong_tag[0] = 0xd1;
    let mut indefinite_payload = good[..good.len() - 66].to_vec();
    // Replace the payload `0x41 0xa0` by an indefinite byte string of one chunk.
    indefinite_payload.truncate(indefinite_payload.len() - 2);
    indefinite_payload.extend_from_slice(&[0x5f, 0x41, 0xa0, 0xff]);
    indefinite_payload.extend_from_slice(&good[good.len() - 66..]);
    let mut detached = good[..good.len() - 68].to_vec();
    detached.push(0xf6);
    detached.extend_from_slice(&good[good.len() - 66..]);
    let mut huge_protected = vec![0xd2, 0x84];
    put_head(&mut huge_protected, BSTR, 2000);
    huge_protected.resize(huge_protected.len() + 2000, 0);
    let mut claimed_count = vec![0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xbb];
    claimed_count.extend_from_slice(&[0xff; 8]);
    for (name, bytes) in [
        ("empty", &b""[..]),
        ("trailing byte", &trailing),
        ("another tag", &wrong_tag),
        ("indefinite payload", &indefinite_payload),
        ("detached payload", &detached),
        ("protected header over the bound", &huge_protected),
        ("unprotected map claiming 2^64 pairs", &claimed_count),
        ("three items", &[0x83, 0x40, 0xa0, 0x40][..]),
        ("truncated", &good[..good.len() - 1]),
    ] {
        assert_eq!(
            signer_kid(bytes).unwrap_err().code(),
            "bad-artifact",
            "{name}"
        );
        assert_eq!(
            verify_signed_artifact(bytes, Some(pinned().verifying_key()))
                .unwrap_err()
                .code(),
            "bad-artifact",
            "{name}"
        );
    }
}
