//! The seal/open contract, read as a specification: what opens, and what fails with which code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use veil_seal::Coded;
use veil_seal::envelope::{SUITE, parse_envelope, seal_with_ephemeral_ikm};
use veil_seal::{
    ArtifactBuilder, ArtifactId, ConsentRef, DeviceEvidence, IdentityVault, PseudonymSecret,
    RecipientKey, RecipientPublicKey, SigningKey, open, seal, verify_signed_artifact,
};

fn client() -> SigningKey {
    SigningKey::from_slice(&[0x11; 32]).unwrap()
}

fn recipient() -> RecipientKey {
    RecipientKey::derive(b"veil seal tests recipient key ..").unwrap()
}

fn signed_bytes(files: &[(&str, &[u8])]) -> Vec<u8> {
    let secret = PseudonymSecret::from_bytes(&[5; 32]).unwrap();
    let consent = ConsentRef {
        decision: veil_seal::ConsentDecision::Allow,
        event_hash: Some([1; 32]),
        context: None,
    };
    let mut b = ArtifactBuilder::new(
        secret.pseudonym("clinic-a", "care"),
        "care",
        "clinic-a",
        consent,
        1,
    );
    for (n, d) in files {
        b.add_file(n, d.to_vec()).unwrap();
    }
    b.add_device_evidence(DeviceEvidence {
        reading: vec![1, 2, 3],
        chain: vec![vec![4], vec![5, 6]],
        challenge_salt: None,
    });
    b.sign(&client()).unwrap().into_bytes()
}

fn envelope() -> Vec<u8> {
    let r = recipient();
    seal_with_ephemeral_ikm(
        signed_bytes(&[("a.txt", b"alpha"), ("b.bin", &[0u8; 300])]),
        r.public_key(),
        &[9; 32],
    )
    .unwrap()
    .into_bytes()
}

/// Re-encode an envelope's fields (preferred encoding) with one field replaced.
fn reencode(magic: &str, suite: [u64; 3], enc: &[u8], kid: &[u8], ct: &[u8]) -> Vec<u8> {
    let v = ciborium::Value::Array(vec![
        ciborium::Value::Text(magic.into()),
        ciborium::Value::Array(
            suite
                .iter()
                .map(|s| ciborium::Value::Integer((*s).into()))
                .collect(),
        ),
        ciborium::Value::Bytes(enc.to_vec()),
        ciborium::Value::Bytes(kid.to_vec()),
        ciborium::Value::Bytes(ct.to_vec()),
    ]);
    let mut out = Vec::new();
    ciborium::into_writer(&v, &mut out).unwrap();
    out
}

#[test]
fn sealed_artifact_opens_with_identical_contents_and_id() {
    let r = RecipientKey::generate().unwrap();
    let env = seal(signed_bytes(&[("model.stl", b"solid\n")]), r.public_key()).unwrap();
    assert_eq!(env.id(), ArtifactId::of_envelope(env.as_bytes()));
    let opened = open(env.as_bytes(), &r, Some(client().verifying_key())).unwrap();
    assert_eq!(opened.id, env.id());
    assert_eq!(opened.artifact.files["model.stl"], b"solid\n");
    assert_eq!(
        opened.artifact.manifest.device_evidence[0].chain,
        vec![vec![4], vec![5, 6]]
    );
    assert_eq!(opened.artifact.manifest.consent.event_hash, Some([1; 32]));
    // The decrypted bytes are the signed artifact, verifiable on their own.
    verify_signed_artifact(&opened.signed_bytes, None).unwrap();
}

#[test]
fn two_seals_of_the_same_artifact_differ_and_have_different_ids() {
    let r = recipient();
    let a = seal(signed_bytes(&[("x", b"1")]), r.public_key()).unwrap();
    let b = seal(signed_bytes(&[("x", b"1")]), r.public_key()).unwrap();
    assert_ne!(a.as_bytes(), b.as_bytes());
    assert_ne!(a.id(), b.id());
}

#[test]
fn envelope_has_the_documented_shape() {
    let env = envelope();
    let parts = parse_envelope(&env).unwrap();
    assert_eq!(parts.suite, SUITE.map(u64::from));
    assert_eq!(parts.kid, recipient().kid());
    assert_eq!(parts.enc.len(), 65);
    assert_eq!(parts.enc[0], 0x04);
    // Byte-exact: our hand encoder equals a generic CBOR encoder's preferred encoding.
    assert_eq!(
        reencode(
            "VEIL-1",
            [16, 1, 2],
            parts.enc,
            &parts.kid.0,
            parts.ciphertext
        ),
        env
    );
    // kid = SHA-256 of the uncompressed SEC1 key.
    let sec1 = recipient().public_key().sec1_uncompressed().to_vec();
    assert_eq!(
        parts.kid.0.to_vec(),
        <sha2::Sha256 as sha2::Digest>::digest(&sec1).to_vec()
    );
}

#[test]
fn wrong_recipient_is_reported_before_decryption() {
    let other = RecipientKey::derive(b"someone else entirely, 32 bytes.").unwrap();
    assert_eq!(
        open(&envelope(), &other, None).unwrap_err().code(),
        "wrong-recipient"
    );
}

#[test]
fn a_kid_pointing_at_us_over_someone_elses_ciphertext_fails_to_decrypt() {
    let other = RecipientKey::derive(b"someone else entirely, 32 bytes.").unwrap();
    let env = seal(signed_bytes(&[("x", b"1")]), other.public_key()).unwrap();
    let p = parse_envelope(env.as_bytes()).unwrap();
    let forged = reencode(
        "VEIL-1",
        [16, 1, 2],
        p.enc,
        &recipient().kid().0,
        p.ciphertext,
    );
    assert_eq!(
        open(&forged, &recipient(), None).unwrap_err().code(),
        "decrypt-failed"
    );
}

#[test]
fn every_ciphertext_or_enc_change_is_decrypt_failed() {
    let env = envelope();
    let p = parse_envelope(&env).unwrap();
    for i in [
        0,
        1,
        p.ciphertext.len() / 2,
        p.ciphertext.len() - 17,
        p.ciphertext.len() - 1,
    ] {
        let mut ct = p.ciphertext.to_vec();
        ct[i] ^= 0x80;
        let bad = reencode("VEIL-1", [16, 1, 2], p.enc, &p.kid.0, &ct);
        assert_eq!(
            open(&bad, &recipient(), None).unwrap_err().code(),
            "decrypt-failed",
            "byte {i}"
        );
    }
    let mut enc = p.enc.to_vec();
    enc[40] ^= 1; // no longer on the curve, or a different point: either way opaque
    let bad = reencode("VEIL-1", [16, 1, 2], &enc, &p.kid.0, p.ciphertext);
    assert_eq!(
        open(&bad, &recipient(), None).unwrap_err().code(),
        "decrypt-failed"
    );
    let short = reencode("VEIL-1", [16, 1, 2], p.enc, &p.kid.0, &p.ciphertext[..15]);
    assert_eq!(
        open(&short, &recipient(), None).unwrap_err().code(),
        "decrypt-failed"
    );
}

#[test]
fn other_suites_and_shapes_are_refused_with_codes() {
    let env = envelope();
    let p = parse_envelope(&env).unwrap();
    let aes128 = reencode("VEIL-1", [16, 1, 1], p.enc, &p.kid.0, p.ciphertext);
    assert_eq!(
        open(&aes128, &recipient(), None).unwrap_err().code(),
        "unsupported-suite"
    );
    let magic = reencode("VEIL-2", [16, 1, 2], p.enc, &p.kid.0, p.ciphertext);
    assert_eq!(
        open(&magic, &recipient(), None).unwrap_err().code(),
        "bad-envelope"
    );
    let short_kid = reencode("VEIL-1", [16, 1, 2], p.enc, &p.kid.0[..31], p.ciphertext);
    assert_eq!(
        open(&short_kid, &recipient(), None).unwrap_err().code(),
        "bad-envelope"
    );
    let mut trailing = env.clone();
    trailing.push(0);
    assert_eq!(
        open(&trailing, &recipient(), None).unwrap_err().code(),
        "bad-envelope"
    );
    assert_eq!(
        open(&env[..env.len() - 1], &recipient(), None)
            .unwrap_err()
            .code(),
        "bad-envelope"
    );
    assert_eq!(
        open(b"", &recipient(), None).unwrap_err().code(),
        "bad-envelope"
    );
    assert_eq!(
        open(b"garbage that is not cbor", &recipient(), None)
            .unwrap_err()
            .code(),
        "bad-envelope"
    );
}

#[test]
fn a_non_preferred_encoding_of_the_same_fields_is_refused() {
    // Same fields, but the `enc` length written with a 2-byte head (0x59 0x00 0x41): a second
    // encoding would give the same ciphertext a second artifact id.
    let env = envelope();
    let pos = env.windows(2).position(|w| w == [0x58, 0x41]).unwrap();
    let mut long = env[..pos].to_vec();
    long.extend_from_slice(&[0x59, 0x00, 0x41]);
    long.extend_from_slice(&env[pos + 2..]);
    assert_eq!(
        open(&long, &recipient(), None).unwrap_err().code(),
        "bad-envelope"
    );
}

#[test]
fn artifact_id_hex_round_trips() {
    let id = ArtifactId::of_envelope(b"abc");
    assert_eq!(
        id.to_hex(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        ArtifactId::from_hex(&id.to_hex().to_uppercase()).unwrap(),
        id
    );
    assert_eq!(
        ArtifactId::from_hex("zz").unwrap_err().code(),
        "bad-envelope"
    );
}

#[test]
fn keys_round_trip_through_pem_in_both_private_forms() {
    let r = RecipientKey::generate().unwrap();
    let pem = r.to_pkcs8_pem().unwrap();
    assert_eq!(RecipientKey::from_pem(&pem).unwrap().kid(), r.kid());
    let public =
        RecipientPublicKey::from_public_key_pem(&r.public_key().to_public_key_pem().unwrap())
            .unwrap();
    assert_eq!(&public, r.public_key());
    // SEC1 "EC PRIVATE KEY" (openssl ecparam -genkey) is accepted too.
    let sec1 = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIMnX1ZbRp2Wc0zQ8tXq1i2L0n0TaY8K2Gx3xYdW4w6sBoAoGCCqGSM49\nAwEHoUQDQgAE\n-----END EC PRIVATE KEY-----\n";
    assert_eq!(RecipientKey::from_pem(sec1).unwrap_err().code(), "bad-key");
    let real_sec1 = {
        use p256::elliptic_curve::SecretKey;
        use p256::pkcs8::der::pem::LineEnding;
        let sk: SecretKey<p256::NistP256> = SecretKey::from_slice(&[7u8; 32]).unwrap();
        sk.to_sec1_pem(LineEnding::LF).unwrap()
    };
    let from_sec1 = RecipientKey::from_pem(&real_sec1).unwrap();
    assert_eq!(
        from_sec1.kid(),
        RecipientKey::from_scalar_bytes(&[7u8; 32]).unwrap().kid()
    );
    assert_eq!(
        RecipientKey::from_pem("not a key").unwrap_err().code(),
        "bad-key"
    );
    assert_eq!(
        RecipientPublicKey::from_sec1_bytes(&[4u8; 65])
            .unwrap_err()
            .code(),
        "bad-key"
    );
}

#[test]
fn pseudonyms_are_stable_per_recipient_and_unlinkable_across() {
    let mut vault = IdentityVault::new();
    vault.enroll("patient-1").unwrap();
    let a1 = vault.pseudonym("patient-1", "clinic-a", "care").unwrap();
    let a2 = vault.pseudonym("patient-1", "clinic-a", "care").unwrap();
    let b = vault.pseudonym("patient-1", "clinic-b", "care").unwrap();
    let r = vault
        .pseudonym("patient-1", "clinic-a", "research")
        .unwrap();
    assert_eq!(a1, a2);
    assert_ne!(a1, b);
    assert_ne!(a1, r);
    assert_eq!(a1.as_str().len(), 52);
    assert!(
        a1.as_str()
            .bytes()
            .all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c))
    );
    assert_eq!(
        vault.enroll("patient-1").unwrap_err().code(),
        "already-enrolled"
    );
    // Length prefixes keep the fields apart.
    let s = PseudonymSecret::from_bytes(&[1; 32]).unwrap();
    assert_ne!(s.pseudonym("ab", "c"), s.pseudonym("a", "bc"));
}

#[test]
fn pseudonym_known_answer() {
    // HMAC-SHA256(key = 0x00..0x1f, lp("veil-pseudonym-v1") || lp("clinic-a") || lp("treatment")),
    // computed independently with Python's hmac module (scripts/seal/veil_format.py).
    let s = PseudonymSecret::from_bytes(&(0u8..32).collect::<Vec<_>>()).unwrap();
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/python/expected.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        s.pseudonym("clinic-a", "treatment").as_str(),
        expected["pseudonym"].as_str().unwrap()
    );
}

#[test]
fn erasure_destroys_the_secret_and_announces_the_pseudonyms() {
    let mut vault = IdentityVault::new();
    vault.enroll("p").unwrap();
    vault.enroll("q").unwrap();
    let before = vault.pseudonym("p", "clinic-a", "care").unwrap();
    let record = vault
        .erase("p", 1_700_000_000_000, &[("clinic-a", "care")])
        .unwrap();
    assert_eq!(record.format, "veil-erasure-v1");
    assert_eq!(record.pseudonyms[0].pseudonym, before);
    let json = serde_json::to_string(&record).unwrap();
    assert!(
        !json.contains("\"p\""),
        "the record must not name the subject: {json}"
    );
    assert_eq!(
        vault.pseudonym("p", "clinic-a", "care").unwrap_err().code(),
        "unknown-subject"
    );
    assert_eq!(
        vault.erase("p", 0, &[]).unwrap_err().code(),
        "unknown-subject"
    );
    assert!(vault.secret("p").is_none());
    assert!(vault.pseudonym("q", "clinic-a", "care").is_ok());
    // Re-enrolling makes a new, unlinkable identity.
    vault.enroll("p").unwrap();
    assert_ne!(vault.pseudonym("p", "clinic-a", "care").unwrap(), before);
}

#[test]
fn pseudonym_secret_file_forms() {
    let raw = [3u8; 32];
    let a = PseudonymSecret::parse(&raw).unwrap();
    let b = PseudonymSecret::parse(format!("{}\n", hex::encode(raw)).as_bytes()).unwrap();
    assert_eq!(a.expose_bytes(), b.expose_bytes());
    assert_eq!(
        PseudonymSecret::parse(b"short").unwrap_err().code(),
        "bad-pseudonym-secret"
    );
    assert_eq!(
        PseudonymSecret::parse(&[b'g'; 64]).unwrap_err().code(),
        "bad-pseudonym-secret"
    );
}

#[test]
fn manifest_text_fields_are_bounded() {
    let s = PseudonymSecret::from_bytes(&[1; 32]).unwrap();
    let consent = ConsentRef {
        decision: veil_seal::ConsentDecision::Allow,
        event_hash: None,
        context: None,
    };
    let b = ArtifactBuilder::new(s.pseudonym("r", ""), "", "r", consent, 0);
    assert_eq!(b.sign(&client()).unwrap_err().code(), "bad-manifest");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let r = recipient();
        prop_assert!(open(&bytes, &r, None).is_err());
        let _ = parse_envelope(&bytes);
        prop_assert!(verify_signed_artifact(&bytes, None).is_err());
    }

    #[test]
    fn any_single_byte_change_to_an_envelope_is_refused(pos in 0usize..10_000, xor in 1u8..=255) {
        let env = envelope();
        let mut bad = env.clone();
        let i = pos % bad.len();
        bad[i] ^= xor;
        prop_assert!(open(&bad, &recipient(), None).is_err());
    }

    #[test]
    fn any_single_byte_change_to_a_signed_artifact_is_refused(pos in 0usize..10_000, xor in 1u8..=255) {
        let signed = signed_bytes(&[("a", b"alpha"), ("b", b"beta")]);
        let mut bad = signed.clone();
        let i = pos % bad.len();
        bad[i] ^= xor;
        prop_assert!(verify_signed_artifact(&bad, None).is_err());
    }
}
