//! Structure-aware: every input becomes a VALID envelope (HPKE-sealed to the server, COSE_Sign1
//! signed ES256 by an enrolled client, the signer's `kid` in the protected header) whose manifest
//! is mutated structurally, and goes through what the server does with an upload: open, look the
//! signer up, verify under the enrolled key, decode and bound the manifest, re-verify each device
//! reading bound to the client (issue #14: work before trust must be bounded, and nothing past the
//! signature may panic). Random bytes (`verify_upload`) never get past the HPKE tag; these do.
//!
//! The fuzzer's bytes drive (through `arbitrary::Unstructured`) mutations of a valid manifest:
//! a deep or wide `deid_report`, huge counts (arrays of tens of thousands of items from a few
//! input bytes, heads claiming 2^64 items with nothing behind them), long strings, odd CBOR types
//! (floats, NaN, tags, simple values, 2^64 - 1 negatives, non-text keys) anywhere in the tree,
//! missing, repeated and unknown keys, many readings (past the limit, repeated, bound to another
//! client), bad salts (absent, short, long, not bytes, another salt), damaged readings and chains,
//! contents that disagree with the files, another `client_key`, and a forger who signs with their
//! own key under the enrolled client's `kid`; unverified readings (`unverified_readings`: many,
//! with odd values, long claims, unknown sources, and forged `verified`/`signature`/`chain` keys).
//!
//! Checked, beyond "no panic": the envelope always opens and names the enrolled signer when the
//! `kid` is the client's; a forged signature is always `bad-signature` (the signature is checked
//! before anything is decoded); an accepted upload is the enrolled client's, with at most the
//! configured number of readings; an accepted upload's unverified readings are stored with status
//! `unverified` and only their schema's keys, and are never among its verified readings; every
//! refusal has a stable code, an HTTP status and a JSON body.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use sha2::{Digest, Sha256};
use veil_core::cbor::{ARRAY, BSTR, MAP, NINT, TAG, TSTR, UINT, put_head};
use veil_ingest::{ArtifactVerifier, Coded};
use veil_seal::{KeyId, RecipientPublicKey};

/// When the demo device was provisioned and signed its readings (Unix seconds).
const NOW_S: u64 = 1_790_000_000;
/// When the server verifies (ms).
const NOW_MS: u64 = (NOW_S + 10) * 1000;
const RECIPIENT_ID: &str = "clinic-a";
const PURPOSE: &str = "treatment";
const MAX_READINGS: usize = 16;
/// Caps on what a few input bytes may expand to, so one run stays in milliseconds.
const MAX_REPEAT: u32 = 40_000;
const MAX_NEST: u32 = 4_000;
const MAX_LONG: u32 = 200_000;
/// Largest payload built (an upper bound of its encoded size); bigger cases are skipped.
const MAX_PAYLOAD: u64 = 4 << 20;

/// A CBOR data item written by hand, so the fuzzer can make what no encoder would.
#[derive(Clone, Debug)]
enum Node {
    Uint(u64),
    /// Major type 1 with argument `n`: the integer `-1 - n`.
    Nint(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Tag(u64, Box<Node>),
    /// A simple value (`false` 20, `true` 21, `null` 22, `undefined` 23, or 32..=255).
    Simple(u8),
    Float(f64),
    /// An array of `count` copies of an item.
    Repeat(u32, Box<Node>),
    /// `depth` one-item arrays (or one-entry maps) around an item.
    Nest(u32, bool, Box<Node>),
    /// A text of `len` copies of one ASCII character.
    LongText(u32, u8),
    /// A byte string of `len` copies of one byte.
    LongBytes(u32, u8),
    /// A head of `major` claiming `arg` items or bytes, with nothing after it.
    Claim(u8, u64),
    /// Bytes as they are.
    Raw(Vec<u8>),
}

fn text(s: &str) -> Node {
    Node::Text(s.to_owned())
}

fn entry_mut<'a>(pairs: &'a mut [(Node, Node)], key: &str) -> Option<&'a mut Node> {
    pairs
        .iter_mut()
        .find(|(k, _)| matches!(k, Node::Text(t) if t == key))
        .map(|(_, v)| v)
}

fn encode(node: &Node, out: &mut Vec<u8>) {
    match node {
        Node::Uint(n) => put_head(out, UINT, *n),
        Node::Nint(n) => put_head(out, NINT, *n),
        Node::Bytes(b) => {
            put_head(out, BSTR, b.len() as u64);
            out.extend_from_slice(b);
        }
        Node::Text(t) => {
            put_head(out, TSTR, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
        Node::Array(items) => {
            put_head(out, ARRAY, items.len() as u64);
            items.iter().for_each(|i| encode(i, out));
        }
        Node::Map(pairs) => {
            put_head(out, MAP, pairs.len() as u64);
            for (k, v) in pairs {
                encode(k, out);
                encode(v, out);
            }
        }
        Node::Tag(t, inner) => {
            put_head(out, TAG, *t);
            encode(inner, out);
        }
        Node::Simple(v) if *v < 24 => out.push(0xe0 | v),
        Node::Simple(v) => out.extend_from_slice(&[0xf8, *v]),
        Node::Float(f) => {
            out.push(0xfb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Node::Repeat(count, inner) => {
            put_head(out, ARRAY, u64::from(*count));
            let mut one = Vec::new();
            encode(inner, &mut one);
            for _ in 0..*count {
                out.extend_from_slice(&one);
            }
        }
        Node::Nest(depth, map, inner) => {
            for _ in 0..*depth {
                if *map {
                    out.extend_from_slice(&[0xa1, 0x61, b'k']);
                } else {
                    out.push(0x81);
                }
            }
            encode(inner, out);
        }
        Node::LongText(len, c) => {
            put_head(out, TSTR, u64::from(*len));
            out.resize(out.len() + *len as usize, c & 0x7f);
        }
        Node::LongBytes(len, b) => {
            put_head(out, BSTR, u64::from(*len));
            out.resize(out.len() + *len as usize, *b);
        }
        Node::Claim(major, arg) => put_head(out, major & 7, *arg),
        Node::Raw(b) => out.extend_from_slice(b),
    }
}

/// The encoded size of a node (saturating): what a few input bytes expand to.
fn size(node: &Node) -> u64 {
    let head = 9u64;
    match node {
        Node::Uint(_) | Node::Nint(_) | Node::Simple(_) | Node::Float(_) | Node::Claim(..) => head,
        Node::Bytes(b) => head + b.len() as u64,
        Node::Text(t) => head + t.len() as u64,
        Node::Raw(b) => b.len() as u64,
        Node::LongText(len, _) | Node::LongBytes(len, _) => head + u64::from(*len),
        Node::Array(items) => items.iter().fold(head, |n, i| n.saturating_add(size(i))),
        Node::Map(pairs) => pairs.iter().fold(head, |n, (k, v)| {
            n.saturating_add(size(k)).saturating_add(size(v))
        }),
        Node::Tag(_, inner) => head.saturating_add(size(inner)),
        Node::Repeat(count, inner) => {
            head.saturating_add(u64::from(*count).saturating_mul(size(inner)))
        }
        Node::Nest(depth, _, inner) => (3 * u64::from(*depth)).saturating_add(size(inner)),
    }
}

/// A JSON value (the shareable report) as the CBOR the Rust encoder writes for it.
fn from_json(v: &serde_json::Value) -> Node {
    use serde_json::Value;
    match v {
        Value::Null => Node::Simple(22),
        Value::Bool(b) => Node::Simple(if *b { 21 } else { 20 }),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Node::Uint(u),
            (_, Some(i), _) => Node::Nint((-1 - i) as u64),
            (_, _, f) => Node::Float(f.unwrap_or(0.0)),
        },
        Value::String(s) => text(s),
        Value::Array(a) => Node::Array(a.iter().map(from_json).collect()),
        Value::Object(o) => Node::Map(o.iter().map(|(k, v)| (text(k), from_json(v))).collect()),
    }
}

/// A device reading and its chain, bound to `client` with `salt`.
struct Reading {
    cose: Vec<u8>,
    chain: Vec<Vec<u8>>,
    salt: [u8; 32],
}

/// Everything fixed for the whole run: the server, the enrolled client, a stranger, a valid
/// manifest's parts.
struct World {
    verifier: ArtifactVerifier,
    recipient: RecipientPublicKey,
    client: SigningKey,
    client_sec1: [u8; 65],
    stranger: SigningKey,
    stranger_sec1: [u8; 65],
    pseudonym: String,
    file: (String, Vec<u8>),
    report: serde_json::Value,
    /// Readings bound to the client (counters 1..), then one bound to the stranger.
    readings: Vec<Reading>,
    /// A sealed consent event for [`PURPOSE`] (canonical minimised JSON) and its hash.
    consent_event: (Vec<u8>, [u8; 32]),
}

/// The manifest's `consent` map: the decision, and with `context` the sealed consent (event,
/// age band, jurisdictions), each part sometimes replaced by an odd value.
fn consent_map(u: &mut Unstructured, w: &World) -> Result<Node> {
    let (event, hash) = &w.consent_event;
    let mut consent = Vec::new();
    if u.ratio(1, 2)? {
        let maybe_odd = |u: &mut Unstructured, valid: Node| -> Result<Node> {
            Ok(if u.ratio(1, 8)? { odd(u, 1)? } else { valid })
        };
        let mut event_bytes = event.clone();
        if u.ratio(1, 8)? && !event_bytes.is_empty() {
            let i = u.choose_index(event_bytes.len())?;
            event_bytes[i] ^= u.arbitrary::<u8>()?.max(1);
        }
        let event = maybe_odd(u, Node::Bytes(event_bytes))?;
        let band = if u.ratio(1, 4)? {
            Node::Map(vec![
                (text("from"), Node::Uint(u.int_in_range(0..=200)?)),
                (text("below"), Node::Uint(u.int_in_range(0..=200)?)),
            ])
        } else {
            Node::Map(vec![(text("from"), Node::Uint(21))])
        };
        let band = maybe_odd(u, band)?;
        let jurisdictions = maybe_odd(u, Node::Array(vec![text("DE"), text("US")]))?;
        consent.push((
            text("context"),
            Node::Map(vec![
                (text("event"), event),
                (text("age_band"), band),
                (text("jurisdictions"), jurisdictions),
            ]),
        ));
    }
    consent.push((text("decision"), text("allow")));
    consent.push((text("event_hash"), Node::Bytes(hash.to_vec())));
    Ok(Node::Map(consent))
}

fn sec1(key: &SigningKey) -> [u8; 65] {
    veil_seal::keys::sec1_uncompressed(key.verifying_key())
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let key =
            veil_seal::RecipientKey::derive(b"veil ingest fuzzing key material").expect("key");
        let recipient = key.public_key().clone();
        let (maker, device) = veil_trust::fixtures::demo_device(NOW_S).expect("demo device");
        let verifier = ArtifactVerifier::new(
            key,
            veil_trust::Verifier::new(maker.store.clone()),
            Some(RECIPIENT_ID.into()),
            MAX_READINGS,
        );
        let client = SigningKey::from_slice(&[0x11; 32]).expect("client key");
        let stranger = SigningKey::from_slice(&[0x22; 32]).expect("stranger key");
        let (client_sec1, stranger_sec1) = (sec1(&client), sec1(&stranger));
        let reading = |ctr: u64, bound_to: &[u8; 65]| {
            let salt = [ctr as u8; 32];
            let nonce = veil_trust::bound_challenge(bound_to, &salt);
            Reading {
                cose: device
                    .reading("bp:120/80/93,pulse=70", ctr, &nonce)
                    .expect("reading"),
                chain: device.chain.clone(),
                salt,
            }
        };
        let mut readings: Vec<Reading> = (1..=3).map(|c| reading(c, &client_sec1)).collect();
        readings.push(reading(9, &stranger_sec1));
        let mut stl = veil_mesh::write::write_stl(&veil_mesh::synth::sphere(30.0, 8, 4));
        stl[..12].copy_from_slice(b"SCANNER ROE ");
        let mut options = veil_mesh::Options::for_profile(veil_mesh::Profile::Strict);
        options.seed = Some(9);
        let (model, report) =
            veil_mesh::deidentify(&stl, veil_mesh::FormatHint::Stl, &options).expect("deid");
        let report = serde_json::to_value(report.shareable()).expect("report");
        let pseudonym = veil_seal::PseudonymSecret::from_bytes(&[7; 32])
            .expect("secret")
            .pseudonym(RECIPIENT_ID, PURPOSE)
            .as_str()
            .to_owned();
        let event = veil_consent::ConsentEvent::new(
            veil_consent::EventKind::Given,
            PURPOSE.parse::<veil_consent::Purpose>().map(veil_consent::PurposeScope::plain).expect("purpose"),
            veil_consent::Timestamp::from_unix(NOW_S as i64 - 86_400).expect("time"),
            veil_consent::Channel::OwnDevice,
        );
        let consent_event = (
            veil_consent::sealed::event_json(&event).expect("event"),
            veil_consent::sealed::event_hash(&event).expect("event hash"),
        );
        World {
            consent_event,
            verifier,
            recipient,
            client,
            client_sec1,
            stranger,
            stranger_sec1,
            pseudonym,
            file: ("model-1.stl".into(), model),
            report,
            readings,
        }
    })
}

/// An odd CBOR value: any type, sometimes huge, nested or malformed. Only a top-level value
/// (`depth` 0) may expand to the full caps, so expansions never multiply.
fn odd(u: &mut Unstructured, depth: u32) -> Result<Node> {
    let (long, repeat, nest) = if depth == 0 {
        (MAX_LONG, MAX_REPEAT, MAX_NEST)
    } else {
        (256, 64, 64)
    };
    let pick = if depth > 3 {
        u.int_in_range(0..=9)?
    } else {
        u.int_in_range(0..=15)?
    };
    Ok(match pick {
        0 => Node::Uint(u.arbitrary()?),
        1 => Node::Nint(u.arbitrary()?),
        2 => Node::Bytes(u.arbitrary()?),
        3 => Node::Text(u.arbitrary()?),
        4 => Node::Float(f64::from_bits(u.arbitrary()?)),
        5 => Node::Simple(match u.int_in_range(0..=4)? {
            n @ 0..=3 => 20 + n,
            _ => u.int_in_range(32..=255)?,
        }),
        6 => Node::LongText(u.int_in_range(0..=long)?, u.arbitrary()?),
        7 => Node::LongBytes(u.int_in_range(0..=long)?, u.arbitrary()?),
        8 => Node::Claim(u.int_in_range(0..=7)?, u.arbitrary()?),
        9 => Node::Raw(u.arbitrary()?),
        10 => Node::Tag(u.arbitrary()?, Box::new(odd(u, depth + 1)?)),
        11 => {
            let n = u.int_in_range(0..=4)?;
            Node::Array((0..n).map(|_| odd(u, depth + 1)).collect::<Result<_>>()?)
        }
        12 => {
            let n = u.int_in_range(0..=4)?;
            let mut pairs = Vec::new();
            for _ in 0..n {
                let key = if u.ratio(3, 4)? {
                    Node::Text(u.arbitrary()?)
                } else {
                    odd(u, depth + 1)?
                };
                pairs.push((key, odd(u, depth + 1)?));
            }
            Node::Map(pairs)
        }
        13 => Node::Repeat(u.int_in_range(0..=repeat)?, Box::new(odd(u, depth + 1)?)),
        14 => Node::Nest(
            u.int_in_range(0..=nest)?,
            u.arbitrary()?,
            Box::new(odd(u, depth + 1)?),
        ),
        _ => text("allow"),
    })
}

/// A replacement `deid_report`: deep, wide, long, odd, or the real one with something added.
fn report(u: &mut Unstructured, real: &serde_json::Value) -> Result<Option<Node>> {
    let item = || Node::Map(vec![(text("k"), Node::Uint(1))]);
    Ok(Some(match u.int_in_range(0..=8)? {
        0 => return Ok(None),
        1 => Node::Nest(
            u.int_in_range(0..=MAX_NEST)?,
            u.arbitrary()?,
            Box::new(item()),
        ),
        2 => Node::Repeat(u.int_in_range(0..=MAX_REPEAT)?, Box::new(item())),
        3 => Node::Map(vec![
            (text("form"), text("shareable")),
            (
                text("profile"),
                Node::LongText(u.int_in_range(0..=MAX_LONG)?, b'x'),
            ),
        ]),
        4 => {
            let n = u.int_in_range(0..=2_000u32)?;
            Node::Map(
                (0..n)
                    .map(|i| (text(&format!("k{i}")), Node::Uint(u64::from(i))))
                    .collect(),
            )
        }
        5 => {
            let mut real = from_json(real);
            if let Node::Map(pairs) = &mut real {
                let key = if u.arbitrary()? {
                    Node::Text(u.arbitrary()?)
                } else {
                    odd(u, 1)?
                };
                pairs.push((key, odd(u, 1)?));
            }
            real
        }
        6 => Node::Float(f64::from_bits(u.arbitrary()?)),
        7 => Node::Nint(u64::MAX),
        _ => odd(u, 0)?,
    }))
}

/// One evidence entry, valid or damaged: which reading, and what its salt, reading and chain are.
fn evidence(u: &mut Unstructured, w: &World) -> Result<Node> {
    let r = &w.readings[u.choose_index(w.readings.len())?];
    let salt = match u.int_in_range(0..=9)? {
        0 => None,
        1 => Some(Node::Bytes(vec![0; u.int_in_range(0..=64)?])),
        2 => Some(odd(u, 2)?),
        3 => Some(Node::Bytes(u.bytes(32)?.to_vec())),
        _ => Some(Node::Bytes(r.salt.to_vec())),
    };
    let reading = match u.int_in_range(0..=9)? {
        0 => Node::Bytes(u.arbitrary()?),
        1 => {
            let mut cose = r.cose.clone();
            let at = u.choose_index(cose.len())?;
            cose[at] ^= u.int_in_range(1..=255)?;
            Node::Bytes(cose)
        }
        2 => odd(u, 2)?,
        _ => Node::Bytes(r.cose.clone()),
    };
    let chain = match u.int_in_range(0..=9)? {
        0 => Node::Array(vec![]),
        1 => Node::Repeat(
            u.int_in_range(0..=64)?,
            Box::new(Node::Bytes(r.chain[0].clone())),
        ),
        2 => Node::Array(vec![Node::Bytes(u.arbitrary()?)]),
        3 => odd(u, 2)?,
        _ => Node::Array(r.chain.iter().map(|c| Node::Bytes(c.clone())).collect()),
    };
    let mut pairs = vec![(text("chain"), chain), (text("reading"), reading)];
    if let Some(salt) = salt {
        pairs.push((text("challenge_salt"), salt));
    }
    Ok(Node::Map(pairs))
}

/// One unverified reading, valid or damaged: its fields, odd values, claims, or a key that would
/// make it pass for verified.
fn unverified(u: &mut Unstructured, w: &World) -> Result<Node> {
    let value = |name: &str, unit: &str, v: f64| {
        Node::Map(vec![
            (text("name"), text(name)),
            (text("unit"), text(unit)),
            (text("value"), Node::Float(v)),
        ])
    };
    let mut values = vec![value("systolic", "mmHg", 120.0), value("diastolic", "mmHg", 80.0)];
    match u.int_in_range(0..=9)? {
        0 => values.push(value("x", "y", f64::from_bits(u.arbitrary()?))),
        1 => values = vec![Node::Repeat(u.int_in_range(0..=64)?, Box::new(values[0].clone()))],
        2 => values.push(odd(u, 2)?),
        3 => values.clear(),
        _ => {}
    }
    let mut pairs = vec![(text("kind"), text("blood_pressure"))];
    if u.arbitrary()? {
        pairs.push((text("time"), text("2026-12-06T09:15:00")));
    }
    let mut claims = vec![(text("model"), text("HEM-7600T"))];
    if u.ratio(1, 4)? {
        claims.push((
            text("manufacturer"),
            Node::LongText(u.int_in_range(0..=1_024)?, b'm'),
        ));
    }
    pairs.push((text("device"), Node::Map(claims)));
    let source = match u.int_in_range(0..=5)? {
        0 => text("veil-signed"),
        1 => odd(u, 2)?,
        2 => text("fhir-import"),
        _ => text("standard-gatt"),
    };
    pairs.push((text("source"), source));
    pairs.push((text("values"), Node::Array(values)));
    if u.ratio(1, 5)? {
        // A forged claim: a verdict, the signed reading of a real device, its chain.
        let r = &w.readings[0];
        let forged = match u.int_in_range(0..=3)? {
            0 => (text("verified"), Node::Simple(21)),
            1 => (text("status"), text("verified")),
            2 => (text("reading"), Node::Bytes(r.cose.clone())),
            _ => (
                text("chain"),
                Node::Array(r.chain.iter().map(|c| Node::Bytes(c.clone())).collect()),
            ),
        };
        pairs.push(forged);
    }
    Ok(Node::Map(pairs))
}

fn content(name: &str, bytes: &[u8]) -> Node {
    Node::Map(vec![
        (text("name"), text(name)),
        (text("size"), Node::Uint(bytes.len() as u64)),
        (text("sha256"), Node::Bytes(Sha256::digest(bytes).to_vec())),
    ])
}

/// Walk into the tree along choices from `u` and replace, delete or add at the place reached.
fn damage_somewhere(here: &mut Node, u: &mut Unstructured) -> Result<()> {
    let go_deeper = u.ratio(2, 3)?;
    match here {
        Node::Map(pairs) if go_deeper && !pairs.is_empty() => {
            let i = u.choose_index(pairs.len())?;
            return damage_somewhere(&mut pairs[i].1, u);
        }
        Node::Array(items) if go_deeper && !items.is_empty() => {
            let i = u.choose_index(items.len())?;
            return damage_somewhere(&mut items[i], u);
        }
        _ => {}
    }
    if let Node::Map(pairs) = here {
        match u.int_in_range(0..=3)? {
            0 if !pairs.is_empty() => {
                let i = u.choose_index(pairs.len())?;
                pairs.remove(i);
                return Ok(());
            }
            1 if !pairs.is_empty() => {
                let i = u.choose_index(pairs.len())?;
                let dup = pairs[i].clone();
                pairs.push(dup);
                return Ok(());
            }
            2 => {
                let key = if u.arbitrary()? {
                    Node::Text(u.arbitrary()?)
                } else {
                    odd(u, 1)?
                };
                pairs.push((key, odd(u, 1)?));
                return Ok(());
            }
            _ => {}
        }
    }
    *here = odd(u, 0)?;
    Ok(())
}

/// Who signs, and what the protected header names.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kid {
    Client,
    Absent,
    OtherLength,
    Stranger,
}

fn run(u: &mut Unstructured) -> Result<()> {
    let w = world();
    let (file_name, file_bytes) = (&w.file.0, &w.file.1);
    let mut files = vec![(text(file_name), Node::Bytes(file_bytes.clone()))];
    let mut contents = vec![content(file_name, file_bytes)];
    let mut evidence_list = vec![Node::Map(vec![
        (
            text("chain"),
            Node::Array(
                w.readings[0]
                    .chain
                    .iter()
                    .map(|c| Node::Bytes(c.clone()))
                    .collect(),
            ),
        ),
        (text("reading"), Node::Bytes(w.readings[0].cose.clone())),
        (
            text("challenge_salt"),
            Node::Bytes(w.readings[0].salt.to_vec()),
        ),
    ])];
    let mut deid = Some(from_json(&w.report));
    let mut client_key = Node::Bytes(w.client_sec1.to_vec());
    let mut unverified_list: Option<Vec<Node>> = None;

    // Targeted mutations first.
    for _ in 0..u.int_in_range(0..=4)? {
        match u.int_in_range(0..=9)? {
            8 => {
                let n = u.int_in_range(0..=(MAX_READINGS as u32 + 8))?;
                unverified_list = Some((0..n).map(|_| unverified(u, w)).collect::<Result<_>>()?);
            }
            9 => {
                let one = unverified(u, w)?;
                unverified_list = Some(vec![Node::Repeat(
                    u.int_in_range(0..=MAX_REPEAT)?,
                    Box::new(one),
                )]);
            }
            0 => {
                let n = u.int_in_range(0..=(MAX_READINGS as u32 + 8))?;
                evidence_list = (0..n).map(|_| evidence(u, w)).collect::<Result<_>>()?;
            }
            1 => evidence_list = vec![evidence(u, w)?],
            2 => deid = report(u, &w.report)?,
            3 => {
                // Many contents, for files that are there or not.
                let n = u.int_in_range(0..=MAX_REPEAT)?;
                contents = vec![Node::Repeat(n, Box::new(content(file_name, file_bytes)))];
            }
            4 => {
                let name = match u.int_in_range(0..=2)? {
                    0 => "x".repeat(u.int_in_range(0..=2_000)?),
                    1 => u.arbitrary::<String>()?,
                    _ => "extra.bin".into(),
                };
                let bytes: Vec<u8> = u.arbitrary()?;
                if u.arbitrary()? {
                    contents.push(content(&name, &bytes));
                }
                if u.arbitrary()? {
                    files.push((text(&name), Node::Bytes(bytes)));
                }
            }
            5 => {
                client_key = match u.int_in_range(0..=2)? {
                    0 => Node::Bytes(w.stranger_sec1.to_vec()),
                    1 => Node::Bytes(u.arbitrary()?),
                    _ => odd(u, 1)?,
                }
            }
            6 => {
                if let Some(Node::Map(pairs)) = contents.first_mut() {
                    if let Some(size) = entry_mut(pairs, "size") {
                        *size = Node::Uint(u.arbitrary()?);
                    }
                }
            }
            _ => {
                if let Some((_, bytes)) = files.first_mut() {
                    *bytes = Node::LongBytes(u.int_in_range(0..=MAX_LONG)?, u.arbitrary()?);
                }
            }
        }
    }

    let mut manifest = Node::Map(vec![
        (text("v"), Node::Uint(1)),
        (text("consent"), consent_map(u, w)?),
        (text("created"), Node::Uint(1_790_000_000_000)),
        (text("purpose"), text(PURPOSE)),
        (text("contents"), Node::Array(contents)),
        (text("pseudonym"), text(&w.pseudonym)),
        (text("recipient"), text(RECIPIENT_ID)),
        (text("client_key"), client_key),
        (text("deid_report"), deid.unwrap_or(Node::Simple(22))),
        (text("device_evidence"), Node::Array(evidence_list)),
    ]);
    if let (Some(list), Node::Map(pairs)) = (unverified_list, &mut manifest) {
        pairs.push((text("unverified_readings"), Node::Array(list)));
    }
    // Then generic damage anywhere in the manifest tree.
    for _ in 0..u.int_in_range(0..=3)? {
        damage_somewhere(&mut manifest, u)?;
    }
    let mut payload = Node::Map(vec![
        (text("files"), Node::Map(files)),
        (text("manifest"), manifest),
    ]);
    if u.ratio(1, 16)? {
        damage_somewhere(&mut payload, u)?;
    }
    if size(&payload) > MAX_PAYLOAD {
        return Ok(());
    }
    let mut payload_bytes = Vec::new();
    encode(&payload, &mut payload_bytes);

    let forged = u.ratio(1, 8)?;
    let kid = match u.int_in_range(0..=15)? {
        0 => Kid::Absent,
        1 => Kid::OtherLength,
        2 => Kid::Stranger,
        _ => Kid::Client,
    };
    let mut protected = Vec::new();
    let mut header = vec![(Node::Uint(1), Node::Nint(6))];
    match kid {
        Kid::Client => header.push((
            Node::Uint(4),
            Node::Bytes(KeyId::of_sec1(&w.client_sec1).0.to_vec()),
        )),
        Kid::Stranger => header.push((
            Node::Uint(4),
            Node::Bytes(KeyId::of_sec1(&w.stranger_sec1).0.to_vec()),
        )),
        Kid::OtherLength => header.push((Node::Uint(4), Node::Bytes(vec![1; 16]))),
        Kid::Absent => {}
    }
    encode(&Node::Map(header), &mut protected);
    let signer = if forged { &w.stranger } else { &w.client };
    let tbs = veil_core::cose::sig_structure(&protected, &payload_bytes);
    let signature: Signature = signer.sign(&tbs);
    let mut signed = Vec::with_capacity(payload_bytes.len() + 128);
    put_head(&mut signed, TAG, 18);
    put_head(&mut signed, ARRAY, 4);
    put_head(&mut signed, BSTR, protected.len() as u64);
    signed.extend_from_slice(&protected);
    signed.push(0xa0);
    put_head(&mut signed, BSTR, payload_bytes.len() as u64);
    signed.extend_from_slice(&payload_bytes);
    drop(payload_bytes);
    let sig = signature.to_bytes();
    put_head(&mut signed, BSTR, sig.len() as u64);
    signed.extend_from_slice(&sig);
    let envelope = veil_seal::envelope::seal_with_ephemeral_ikm(signed, &w.recipient, &[9; 32])
        .expect("sealing a valid artifact");

    // What the server does: open, look the signer up, verify under the enrolled key.
    let opened = match w.verifier.open(envelope.as_bytes()) {
        Ok(opened) => opened,
        Err(e) => {
            assert!(
                matches!(kid, Kid::Absent | Kid::OtherLength),
                "{kid:?} refused: {e}"
            );
            let _ = (e.code(), e.status(), e.to_json());
            return Ok(());
        }
    };
    if opened.signer != KeyId::of_sec1(&w.client_sec1) {
        // Not enrolled: the server stops here (401 unknown-client).
        assert_eq!(kid, Kid::Stranger);
        return Ok(());
    }
    let verdict = w.verifier.verify_opened(opened, &w.client_sec1, NOW_MS);
    // `VEIL_FUZZ_OUTCOMES=1 cargo fuzz run verify_manifest corpus/verify_manifest -- -runs=0`
    // shows how far a corpus gets: one line per input, `accepted` or the refusal's code.
    if std::env::var_os("VEIL_FUZZ_OUTCOMES").is_some() {
        let code = verdict.as_ref().map_or_else(|e| e.code(), |_| "accepted");
        eprintln!("outcome: {code} ({} bytes)", envelope.as_bytes().len());
    }
    match verdict {
        Ok(upload) => {
            assert!(!forged, "a forged signature was accepted");
            assert_eq!(upload.client_key, hex::encode(w.client_sec1));
            assert!(upload.readings.len() <= MAX_READINGS);
            // Unverified readings are stored as such, with their schema's keys only, and never
            // among the verified ones.
            let verification = &upload.manifest_json["verification"];
            assert_eq!(
                verification["readings"].as_array().map(Vec::len),
                Some(upload.readings.len())
            );
            let stored = &upload.manifest_json["manifest"]["unverified_readings"];
            let stored = stored.as_array().map(Vec::as_slice).unwrap_or_default();
            assert_eq!(verification["unverified_readings"], stored.len());
            assert!(stored.len() <= MAX_READINGS);
            for entry in stored {
                assert_eq!(entry["status"], "unverified");
                let keys: Vec<&str> = entry
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                assert!(
                    keys.iter()
                        .all(|k| ["status", "kind", "values", "time", "source", "device"]
                            .contains(k)),
                    "{keys:?}"
                );
            }
        }
        Err(e) => {
            assert!(
                !e.code().is_empty()
                    && e.code()
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b == b'-')
            );
            let _ = (e.status(), e.to_json());
            if forged {
                assert_eq!(
                    e.code(),
                    "bad-signature",
                    "a forged artifact got past the signature: {e}"
                );
            }
        }
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
