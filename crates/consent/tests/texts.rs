//! The consent texts and the wording of the authorization form and the receipt, in every language
//! (GDPR Art. 12(1): a language the person understands):
//!
//! - every language has exactly the same keys: each purpose in each version for consent texts,
//!   each key of each version of the `form` and `receipt` tables, with the same `{placeholders}`;
//!   a text missing in one language fails, naming it;
//! - published wording is immutable: `texts/hashes.lock` holds the SHA-256 of every published
//!   string (and of each whole form/receipt version, which ledgers reference). A string whose
//!   wording changed while its version stayed the same fails, naming it, and so does a removed one.
//!   New wording is a new version; it fails until it is added to the lock with
//!   `VEIL_BLESS_TEXTS=1 cargo test -p veil-consent --test texts`, which adds new entries and never
//!   changes or drops a locked one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use veil_consent::text::{catalogue, languages};
use veil_consent::wording::{self, FormKey, ReceiptKey, WordingKey, placeholders};
use veil_consent::{Coded, Purpose};

const LANGS: [&str; 4] = ["de", "en", "es", "fr"];

fn lock_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("texts/hashes.lock")
}

/// Every (lang, item) of the catalogue with its hash: `text <lang> <purpose> v<N>`,
/// `<table> <lang> v<N> <key>` and `<table> <lang> v<N> *` (the whole version's hash).
fn entries() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for t in catalogue().unwrap() {
        out.insert(
            format!("text {} {} v{}", t.lang, t.purpose.id(), t.version),
            t.sha256.clone(),
        );
    }
    for w in wording::catalogue().unwrap() {
        let at = format!("{} {} v{}", w.table, w.lang, w.version);
        out.insert(format!("{at} *"), w.sha256.clone());
        for (k, v) in &w.strings {
            out.insert(
                format!("{at} {k}"),
                hex::encode(Sha256::digest(v.as_bytes())),
            );
        }
    }
    out
}

/// The key set one language has: every entry id without its language.
fn keys_by_lang() -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for id in entries().into_keys() {
        let mut parts: Vec<&str> = id.split(' ').collect();
        let lang = parts.remove(1).to_owned();
        out.entry(lang).or_default().insert(parts.join(" "));
    }
    out
}

#[test]
fn every_language_has_exactly_the_same_keys() {
    assert_eq!(languages().unwrap(), LANGS);
    let by_lang = keys_by_lang();
    assert_eq!(
        by_lang.keys().map(String::as_str).collect::<Vec<_>>(),
        LANGS
    );
    let all: BTreeSet<&String> = by_lang.values().flatten().collect();
    let mut missing = Vec::new();
    for (lang, keys) in &by_lang {
        for k in &all {
            if !keys.contains(*k) {
                missing.push(format!("{lang}: {k}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "texts missing in some language:\n  {}",
        missing.join("\n  ")
    );
    // Every purpose has a text; every version of a table has exactly the keys the code looks up.
    for lang in LANGS {
        for p in Purpose::ALL {
            veil_consent::text::current(p, lang)
                .unwrap_or_else(|e| panic!("{lang}: no text for {}: {e}", p.id()));
        }
    }
    check_table::<FormKey>();
    check_table::<ReceiptKey>();
}

fn check_table<K: WordingKey>() {
    let want: BTreeSet<&str> = K::ALL.iter().map(|k| k.id()).collect();
    assert_eq!(want.len(), K::ALL.len(), "{}: duplicate key ids", K::TABLE);
    let versions: Vec<_> = wording::catalogue()
        .unwrap()
        .iter()
        .filter(|w| w.table == K::TABLE)
        .collect();
    assert!(!versions.is_empty(), "no {} wording", K::TABLE);
    for w in &versions {
        let have: BTreeSet<&str> = w.strings.keys().map(String::as_str).collect();
        assert_eq!(
            have.symmetric_difference(&want).collect::<Vec<_>>(),
            Vec::<&&str>::new(),
            "{} {} v{}: keys differ from the {} keys the code uses",
            w.table,
            w.lang,
            w.version,
            K::TABLE
        );
        for (k, v) in &w.strings {
            assert!(
                !v.trim().is_empty(),
                "{} {} v{} {k} is empty",
                w.table,
                w.lang,
                w.version
            );
            let en = versions
                .iter()
                .find(|e| e.lang == "en" && e.version == w.version)
                .and_then(|e| e.strings.get(k))
                .unwrap_or_else(|| panic!("{} en v{} lacks {k}", w.table, w.version));
            assert_eq!(
                placeholders(v),
                placeholders(en),
                "{} {} v{} {k}: placeholders differ from English",
                w.table,
                w.lang,
                w.version
            );
        }
    }
    // Typed lookups find every key in every language (no English fallback needed).
    for lang in LANGS {
        let l = wording::current::<K>(lang).unwrap();
        assert_eq!(l.lang(), lang);
        for k in K::ALL {
            l.get(*k)
                .unwrap_or_else(|e| panic!("{lang}: {}: {e}", e.code()));
        }
    }
}

/// The statements of 45 CFR 164.508(c)(2) and Cal. Civ. Code § 56.11 keep what makes them legally
/// meaningful in each language: how to revoke names the button that does it, the copy names the
/// print button, the citations stay.
#[test]
fn the_form_statements_keep_their_legal_anchors() {
    for lang in LANGS {
        let f = wording::form(lang).unwrap();
        let revoke = f.get(FormKey::Revoke).unwrap();
        assert!(
            f.get(FormKey::RightToRevoke).unwrap().contains(revoke),
            "{lang}: the right-to-revoke statement names the button `{revoke}`"
        );
        let print = f.get(FormKey::PrintButton).unwrap();
        assert!(
            f.get(FormKey::CmiaCopy).unwrap().contains(print),
            "{lang}: the copy statement names the button `{print}`"
        );
        assert!(f.get(FormKey::CmiaCopy).unwrap().contains("56.11(e)"));
        assert!(f.get(FormKey::CmiaEnd).unwrap().contains("56.11(b)(8)"));
        assert!(f.get(FormKey::Redisclosure).unwrap().contains("HIPAA"));
        assert!(
            f.get(FormKey::PrintStatements)
                .unwrap()
                .contains("164.508(c)(2)")
        );
        for (k, para) in [
            (FormKey::PrintInformation, "(c)(1)(i)"),
            (FormKey::PrintDisclosedBy, "(c)(1)(ii)"),
            (FormKey::PrintRecipients, "(c)(1)(iii)"),
            (FormKey::PrintPurpose, "(c)(1)(iv)"),
            (FormKey::PrintEnds, "(c)(1)(v)"),
            (FormKey::PrintSignature, "(c)(1)(vi)"),
            (FormKey::PrintDate, "(c)(1)(vi)"),
        ] {
            assert!(
                f.get(k).unwrap().starts_with(para),
                "{lang}: {} cites {para}",
                k.id()
            );
        }
    }
}

fn read_lock() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(lock_path()).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, hash) = l
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad lock line `{l}`"));
            (id.to_owned(), hash.to_owned())
        })
        .collect()
}

fn write_lock(entries: &BTreeMap<String, String>) {
    let mut out = String::from(
        "# SHA-256 of every published consent text, form and receipt string (see tests/texts.rs).\n\
         # Published wording is immutable: a new wording is a new version. Add new versions with\n\
         # VEIL_BLESS_TEXTS=1 cargo test -p veil-consent --test texts (it never changes a locked line).\n",
    );
    for (id, hash) in entries {
        out.push_str(&format!("{id} {hash}\n"));
    }
    std::fs::write(lock_path(), out).unwrap();
}

#[test]
fn published_texts_never_change_without_a_new_version() {
    let now = entries();
    let locked = read_lock();
    let changed: Vec<String> = locked
        .iter()
        .filter_map(|(id, h)| match now.get(id) {
            Some(n) if n != h => Some(format!("changed: {id}")),
            None => Some(format!("removed: {id}")),
            _ => None,
        })
        .collect();
    assert!(
        changed.is_empty(),
        "published wording changed without a new version (old versions are immutable: ledgers \
         record their hash; put the new wording in a new version and keep the old one):\n  {}",
        changed.join("\n  ")
    );
    let added: Vec<&String> = now.keys().filter(|id| !locked.contains_key(*id)).collect();
    if added.is_empty() {
        return;
    }
    if std::env::var("VEIL_BLESS_TEXTS").is_ok_and(|v| v == "1") {
        let mut all = locked;
        all.extend(now);
        write_lock(&all);
        return;
    }
    panic!(
        "new wording not in texts/hashes.lock (run VEIL_BLESS_TEXTS=1 cargo test -p veil-consent \
         --test texts to add it):\n  {}",
        added
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}
