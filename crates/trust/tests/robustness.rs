//! Bad input never panics: arbitrary bytes as readings, certificates, payloads and
//! characteristic values give typed errors (proptest), and one flipped byte anywhere in a valid
//! reading never verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;
use veil_trust::Coded;
use veil_trust::fixtures::demo_device;
use veil_trust::measurement::KNOWN_CHARACTERISTICS;
use veil_trust::{
    Algorithm, CertificateSpec, DeviceSigner, ReadingPayload, RevocationList, TrustStore, Verifier,
    certs_from_pem, decode, encode_spec, generate_key, ieee11073, issue_certificate,
};

const NOW: u64 = 1_790_000_000;

struct Fixture {
    verifier: Verifier,
    chain: Vec<Vec<u8>>,
    signer: DeviceSigner,
    reading: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (maker, device) = demo_device(NOW).unwrap();
        let reading = device
            .reading("bp:120/80/93,pulse=70", 51, &[9; 32])
            .unwrap();
        Fixture {
            verifier: maker.verifier(),
            chain: device.chain,
            signer: device.signer,
            reading,
        }
    })
}

#[test]
fn fixture_reading_verifies() {
    let f = fixture();
    let r = f
        .verifier
        .verify(&f.reading, &f.chain, Some(&[9; 32]), Some(50), NOW)
        .unwrap();
    assert_eq!(r.counter, 51);
    assert_eq!(r.device.serial, "BP7-000001");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_as_reading_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let f = fixture();
        let r = f.verifier.verify(&bytes, &f.chain, None, None, NOW);
        prop_assert!(r.is_err());
    }

    #[test]
    fn cbor_prefixed_garbage_is_rejected(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        // Start like a tagged COSE_Sign1 array so the parser goes deeper than the first byte.
        let f = fixture();
        let bytes = [&[0xD2, 0x84][..], &tail].concat();
        prop_assert!(f.verifier.verify(&bytes, &f.chain, None, None, NOW).is_err());
    }

    #[test]
    fn one_flipped_byte_never_verifies(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let f = fixture();
        let mut bytes = f.reading.clone();
        let i = pos.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let r = f.verifier.verify(&bytes, &f.chain, Some(&[9; 32]), Some(50), NOW);
        prop_assert!(r.is_err(), "flip at {} verified", i);
    }

    #[test]
    fn arbitrary_bytes_as_certificate_chain_are_rejected(
        certs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..400), 0..4)
    ) {
        let f = fixture();
        prop_assert!(f.verifier.verify(&f.reading, &certs, None, None, NOW).is_err());
        prop_assert!(f.verifier.verify_chain(&certs, NOW).is_err());
        let mut store = TrustStore::new();
        for c in &certs {
            prop_assert!(store.add_der(c).is_err());
        }
    }

    #[test]
    fn flipped_byte_in_device_certificate_is_rejected(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let f = fixture();
        let mut chain = f.chain.clone();
        let i = pos.index(chain[0].len());
        chain[0][i] ^= 1 << bit;
        prop_assert!(f.verifier.verify(&f.reading, &chain, None, None, NOW).is_err());
    }

    #[test]
    fn arbitrary_pem_text_never_panics(text in ".{0,400}") {
        let _ = certs_from_pem(&text);
        let _ = TrustStore::from_pem(&text);
        let _ = RevocationList::from_text(&text);
    }

    #[test]
    fn characteristic_decoders_never_panic(which in 0usize..KNOWN_CHARACTERISTICS.len(), val in proptest::collection::vec(any::<u8>(), 0..64)) {
        let (svc, chr) = KNOWN_CHARACTERISTICS[which];
        if let Ok(m) = decode(svc, chr, &val) {
            // Whatever decodes also serializes, and round-trips through JSON.
            let json = serde_json::to_string(&m).unwrap();
            let _: veil_trust::Measurement = serde_json::from_str(&json).unwrap();
        }
    }

    #[test]
    fn payload_round_trips(dev in "[A-Z0-9-]{1,20}", ctr: u64, ts: u64, nonce in proptest::collection::vec(any::<u8>(), 0..64),
                           svc: u16, chr: u16, val in proptest::collection::vec(any::<u8>(), 0..64)) {
        let p = ReadingPayload { dev, ctr, ts, nonce, svc, chr, val };
        prop_assert_eq!(ReadingPayload::decode(&p.encode()).unwrap(), p);
    }

    #[test]
    fn arbitrary_gatt_chunks_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..600), 0..6)) {
        let mut asm = veil_trust::gatt::ChainAssembler::new();
        for c in &chunks {
            if asm.push(c).is_err() {
                break;
            }
        }
        let _ = asm.finish();
        for c in &chunks {
            let _ = veil_trust::gatt::split_der_chain(c);
        }
    }

    #[test]
    fn real_chain_survives_gatt_chunking(max in 5usize..600) {
        let f = fixture();
        let blob: Vec<u8> = f.chain.concat();
        let mut asm = veil_trust::gatt::ChainAssembler::new();
        let chunks = veil_trust::gatt::chain_chunks(&blob, max);
        prop_assume!(!chunks.is_empty()); // more than 255 chunks at tiny value sizes
        let done: Vec<bool> = chunks.iter().map(|c| asm.push(c).unwrap()).collect();
        prop_assert!(done[done.len() - 1]);
        prop_assert_eq!(asm.finish().unwrap(), f.chain.clone());
    }

    #[test]
    fn sfloat_encode_decode_round_trips(m in -2045i64..=2045, e in -8i32..=7) {
        let raw = ieee11073::encode_sfloat(m, e).unwrap();
        let want = if e >= 0 { m as f64 * 10f64.powi(e) } else { m as f64 / 10f64.powi(-e) };
        let got = ieee11073::decode_sfloat(raw).value().unwrap();
        prop_assert!((got - want).abs() <= want.abs() * 1e-12, "{} vs {}", got, want);
    }
}

#[test]
fn every_sfloat_decodes() {
    let mut specials = 0;
    for raw in 0..=u16::MAX {
        if ieee11073::decode_sfloat(raw).value().is_none() {
            specials += 1;
        }
    }
    assert_eq!(specials, 5, "NaN, NRes, +INF, -INF, reserved");
}

#[test]
fn trust_store_rejects_non_ca_roots_and_removes_roots() {
    let key = generate_key().unwrap();
    let mut spec = CertificateSpec::root("Leaf Co", NOW - 10, NOW + 1000, None);
    spec.ca = Some(false);
    let der = issue_certificate(&spec, key.verifying_key(), &key, None).unwrap();
    assert_eq!(
        TrustStore::new().add_der(&der).unwrap_err().code(),
        "untrusted-chain"
    );
    let ok = issue_certificate(
        &CertificateSpec::root("Root Co", NOW - 10, NOW + 1000, None),
        key.verifying_key(),
        &key,
        None,
    )
    .unwrap();
    let mut store = TrustStore::new();
    let info = store.add_der(&ok).unwrap();
    assert_eq!(info.manufacturer, "Root Co");
    store.add_der(&ok).unwrap();
    assert_eq!(store.len(), 1, "adding twice is a no-op");
    assert!(store.remove(&info.fingerprint.to_uppercase()));
    assert!(store.is_empty());
}

#[test]
fn removing_a_root_invalidates_cached_chains() {
    let f = fixture();
    let mut v = Verifier::new(f.verifier.store().clone());
    v.verify_chain(&f.chain, NOW).unwrap();
    let fp = v.store().roots()[0].fingerprint.clone();
    assert!(v.store_mut().remove(&fp));
    assert_eq!(
        v.verify_chain(&f.chain, NOW).unwrap_err().code(),
        "untrusted-chain"
    );
}

#[test]
fn revocation_list_text_format() {
    let r = RevocationList::from_text("# revoked 2026-11\nBP7-000001\n\n  BP7-000009  \n");
    assert!(r.contains("BP7-000001") && r.contains("BP7-000009"));
    assert!(!r.contains("# revoked 2026-11"));
    let f = fixture();
    let v = Verifier::new(f.verifier.store().clone()).with_revocations(r);
    assert_eq!(
        v.verify(&f.reading, &f.chain, None, None, NOW)
            .unwrap_err()
            .code(),
        "revoked"
    );
}

#[test]
fn signer_refuses_a_key_that_is_not_the_certificates() {
    let f = fixture();
    let other = generate_key().unwrap();
    assert_eq!(
        DeviceSigner::new(other, &f.chain[0]).unwrap_err().code(),
        "bad-key"
    );
    assert_eq!(f.signer.serial(), "BP7-000001");
}

#[test]
fn esp256_and_es256_both_verify_and_differ_only_in_alg() {
    let f = fixture();
    let m = encode_spec("temp:98.6F", NOW).unwrap();
    for alg in [Algorithm::Es256, Algorithm::Esp256] {
        let r = f.signer.sign(&m, 60, NOW, &[1; 32], alg);
        let v = f
            .verifier
            .verify(&r, &f.chain, Some(&[1; 32]), Some(59), NOW)
            .unwrap();
        assert_eq!(v.algorithm, alg);
        assert_eq!(serde_json::to_value(&v.measurement).unwrap()["celsius"], 37);
    }
}

#[test]
fn verified_reading_round_trips_through_json() {
    let f = fixture();
    let v = f
        .verifier
        .verify(&f.reading, &f.chain, None, None, NOW)
        .unwrap();
    let json = serde_json::to_string(&v).unwrap();
    let back: veil_trust::VerifiedReading = serde_json::from_str(&json).unwrap();
    assert_eq!(back, v);
    // The forwarded bytes verify again on the backend side.
    f.verifier
        .verify(&back.cose, &back.chain, None, None, NOW)
        .unwrap();
}

#[test]
fn two_phase_verification_matches_one_shot() {
    let f = fixture();
    let nonce = [9u8; 32];
    let pending = f.verifier.begin(&f.reading, &f.chain, NOW).unwrap();
    assert_eq!(pending.signature().len(), 64);
    assert_eq!(pending.device_public_key().len(), 65);
    assert_eq!(pending.device().serial, "BP7-000001");
    assert!(pending.verify_signature());
    let two = pending.finish(true, Some(&nonce), Some(50)).unwrap();
    assert_eq!(
        two,
        f.verifier
            .verify(&f.reading, &f.chain, Some(&nonce), Some(50), NOW)
            .unwrap()
    );
    // An external verifier's "false" is a bad signature, whatever the payload says.
    let pending = f.verifier.begin(&f.reading, &f.chain, NOW).unwrap();
    assert_eq!(
        pending
            .finish(false, Some(&nonce), Some(50))
            .unwrap_err()
            .code(),
        "bad-signature"
    );
    // The Sig_structure handed out is what the device key signed (checked with p256 directly).
    use p256::ecdsa::signature::Verifier as _;
    let pending = f.verifier.begin(&f.reading, &f.chain, NOW).unwrap();
    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&pending.device_public_key()).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(pending.signature()).unwrap();
    key.verify(pending.signed_data(), &sig).unwrap();
}

#[test]
fn huge_cbor_counts_are_claims_not_allocations() {
    let f = fixture();
    let cases: [&[u8]; 6] = [
        &[0xD2, 0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], // array of 2^64-1 items
        &[0xD2, 0xBB, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], // map of 2^64-1 pairs
        &[
            0xD2, 0x84, 0x5B, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        ], // bstr of 2^63 bytes
        &[0xD2, 0x84, 0x7A, 0xFF, 0xFF, 0xFF, 0xFF],                   // tstr of 4 GiB
        &[0xD2, 0x84, 0x5F, 0x41, 0x00], // unterminated indefinite bstr
        &[0xD2; 600],                    // 600 nested tags
    ];
    for bytes in cases {
        let r = f.verifier.verify(bytes, &f.chain, None, None, NOW);
        assert_eq!(r.unwrap_err().code(), "malformed", "{bytes:02x?}");
    }
    let deep: Vec<u8> = std::iter::repeat_n(0x81u8, 10_000).collect(); // 10 000 nested arrays
    assert_eq!(
        f.verifier
            .verify(&deep, &f.chain, None, None, NOW)
            .unwrap_err()
            .code(),
        "malformed"
    );
    let big = vec![0u8; veil_trust::MAX_COSE_LEN + 1];
    assert_eq!(
        f.verifier
            .verify(&big, &f.chain, None, None, NOW)
            .unwrap_err()
            .code(),
        "malformed"
    );
}

proptest! {
    /// Any value on any characteristic of any standard service, and on the control point, gives
    /// events or a typed error, never a panic; feature and Device Information values likewise.
    #[test]
    fn standard_sessions_never_panic(values in proptest::collection::vec((0usize..8, proptest::collection::vec(any::<u8>(), 0..40)), 0..24)) {
        use veil_trust::sig::{PROFILES, RacpRequest, Session};
        for p in PROFILES.iter() {
            let mut s = Session::new(p);
            let _ = s.request(RacpRequest::ReportAll);
            for (which, val) in &values {
                let chr = match p.channels.get(*which) {
                    Some(c) => c.characteristic,
                    None => 0x2A52,
                };
                if let Err(e) = s.on_value(chr, val) {
                    prop_assert!(!e.code().is_empty());
                }
                let _ = veil_trust::measurement::decode_features(p.features.unwrap_or(0x2A49), val);
                let _ = veil_trust::sig::device_information_string(0x2A29, val);
                let _ = veil_trust::sig::CurrentTime::decode(val);
            }
            let _ = s.reset();
        }
    }
}
