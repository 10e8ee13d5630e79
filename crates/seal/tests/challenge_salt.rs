//! A device reading's `challenge_salt` in the manifest (`docs/artifact-format.md` §3.2): carried
//! through signing and opening, and written only when present, so that an artifact whose readings
//! have none (or that has no readings) is byte for byte what it was before the field existed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sha2::{Digest, Sha256};
use veil_seal::{
    ArtifactBuilder, ConsentDecision, ConsentRef, DeviceEvidence, PseudonymSecret, SigningKey,
    verify_signed_artifact,
};

fn builder(salt: Option<[u8; 32]>) -> ArtifactBuilder {
    let secret = PseudonymSecret::from_bytes(&[5; 32]).unwrap();
    let consent = ConsentRef {
        decision: ConsentDecision::Allow,
        event_hash: Some([1; 32]),
        context: None,
    };
    let mut b = ArtifactBuilder::new(
        secret.pseudonym("clinic-a", "care"),
        "care",
        "clinic-a",
        consent,
        1_790_000_000_000,
    );
    b.add_file("a.txt", b"a".to_vec()).unwrap();
    b.add_device_evidence(DeviceEvidence {
        reading: vec![0xd2, 0x84, 1],
        chain: vec![vec![0x30, 0], vec![0x30, 1, 2]],
        challenge_salt: salt,
    });
    b.set_deid_report(serde_json::json!({"form": "shareable", "n": 3}));
    b
}

#[test]
fn without_a_salt_the_signed_bytes_are_those_of_the_format_before_it() {
    // ECDSA signing is deterministic (RFC 6979): the SHA-256 of these signed bytes was taken with
    // the encoder as it was before `challenge_salt` existed (commit 91ecc94).
    let key = SigningKey::from_slice(&[0x31; 32]).unwrap();
    let signed = builder(None).sign(&key).unwrap();
    assert_eq!(
        hex::encode(Sha256::digest(signed.as_bytes())),
        "9a547aa28cb28fb565819247620bd940785844b585efa8f061b5d61d6dfb552f"
    );
    assert_eq!(
        signed.manifest().to_json()["device_evidence"],
        serde_json::json!([{"chain": ["3000", "300102"], "reading": "d28401"}])
    );
}

#[test]
fn a_salt_is_signed_opened_and_shown_as_hex() {
    let key = SigningKey::from_slice(&[0x31; 32]).unwrap();
    let salt: [u8; 32] = core::array::from_fn(|i| i as u8);
    let signed = builder(Some(salt)).sign(&key).unwrap();
    let v = verify_signed_artifact(signed.as_bytes(), Some(key.verifying_key())).unwrap();
    assert_eq!(v.manifest.device_evidence[0].challenge_salt, Some(salt));
    assert_eq!(
        v.manifest.to_json()["device_evidence"][0]["challenge_salt"],
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    );
}
