#!/usr/bin/env python3
"""Regenerate the ledger vectors in crates/consent/tests/vectors/ledgers/.

The consent-text hashes are computed here, independently of the Rust code, from
crates/consent/texts/*.toml with the canonical form documented in crates/consent/src/text.rs:

    "veil-consent-text/1\n{purpose}\n{version}\n{lang}\n{title}\n{body}"  ->  SHA-256, lower-case hex

so loading these ledgers in Rust (which re-verifies every hash) cross-checks both implementations.
Usage: python3 scripts/consent/make_ledgers.py
"""
import hashlib
import json
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
TEXTS = ROOT / "crates/consent/texts"
OUT = ROOT / "crates/consent/tests/vectors/ledgers"


def texts():
    out = {}
    for f in sorted(TEXTS.glob("*.toml")):
        data = tomllib.loads(f.read_text(encoding="utf-8"))
        lang = data["lang"]
        for t in data["text"]:
            canon = f"veil-consent-text/1\n{t['purpose']}\n{t['version']}\n{lang}\n{t['title']}\n{t['body']}"
            out[(t["purpose"], t["version"], lang)] = hashlib.sha256(canon.encode("utf-8")).hexdigest()
    return out


HASHES = texts()


def text(purpose, lang, version=1):
    return {"purpose": purpose, "version": version, "lang": lang, "sha256": HASHES[(purpose, version, lang)]}


AUTH = {
    "information": "3D scan of the left knee and derived measurements",
    "disclosed_by": "Example Orthopaedic Clinic",
    "recipients": "Study team of protocol K-12",
    "purpose": "knee implant outcomes research",
    "expiration": "end of the research study",
    "signature": "signed electronically",
    "signed_at": "2026-02-01T10:00:00Z",
    "right_to_revoke_stated": True,
    "conditioning_stated": True,
    "redisclosure_stated": True,
}

OWN = {"type": "own-device"}

LEDGERS = {
    "adult-research-given-then-withdrawn": {
        "subject": "p-3f9a",
        "events": [
            {"kind": "given", "purpose": "research", "tier": "any-research", "text": text("research", "en", 2),
             "at": "2026-01-10T09:00:00Z", "channel": OWN},
            {"kind": "given", "purpose": "ai-training", "text": text("ai-training", "en"),
             "at": "2026-01-10T09:01:00Z", "channel": OWN, "expires_at": "2027-01-10T09:01:00Z"},
            {"kind": "withdrawn", "purpose": "research", "tier": "this-study", "text": text("research", "en", 2),
             "at": "2026-03-02T18:30:00Z", "channel": OWN},
        ],
    },
    "minor-guardian-at-kiosk": {
        "subject": "p-kid.01",
        "events": [
            {"kind": "guardian-given", "purpose": "research", "tier": "this-study", "text": text("research", "de", 2),
             "at": "2026-02-01T10:00:00Z", "channel": {"type": "kiosk", "staff_id": "staff-17"},
             "guardian": "RelatedPerson/parent-1"},
            {"kind": "given", "purpose": "third-party-printing", "text": text("third-party-printing", "de"),
             "at": "2026-02-01T10:02:00Z", "channel": {"type": "kiosk", "staff_id": "staff-17"}},
        ],
    },
    "hipaa-authorization-expired-and-renewed": {
        "subject": "p-us-77",
        "events": [
            {"kind": "given", "purpose": "research", "tier": "related-studies", "text": text("research", "en", 1),
             "at": "2026-02-01T10:00:00Z", "channel": OWN, "expires_at": "2026-08-01T00:00:00Z",
             "authorization": AUTH},
            {"kind": "given", "purpose": "marketing", "text": text("marketing", "en"),
             "at": "2026-02-01T10:05:00Z", "channel": OWN, "authorization": AUTH},
            {"kind": "expired", "purpose": "research", "tier": "related-studies",
             "at": "2026-08-01T00:00:00Z", "channel": OWN},
            {"kind": "renewed", "purpose": "research", "tier": "related-studies", "text": text("research", "en", 2),
             "at": "2026-08-03T12:00:00Z", "channel": OWN, "expires_at": "2027-08-03T12:00:00Z",
             "authorization": AUTH},
            {"kind": "withdrawn", "purpose": "marketing", "at": "2026-09-01T08:00:00Z", "channel": OWN},
        ],
    },
    "partner-transfer-and-refusal": {
        "subject": "p-eu-us.5",
        "events": [
            {"kind": "given", "purpose": "partner-sharing", "partner": "Acme Ortho Portal",
             "text": text("partner-sharing", "en"), "at": "2026-04-01T09:00:00Z", "channel": OWN},
            {"kind": "given", "purpose": "cross-border-transfer", "country": "US",
             "text": text("cross-border-transfer", "en"), "at": "2026-04-01T09:00:00Z", "channel": OWN},
            {"kind": "withdrawn", "purpose": "product-improvement", "at": "2026-04-01T09:01:00Z", "channel": OWN},
            {"kind": "withdrawn", "purpose": "partner-sharing", "partner": "Acme Ortho Portal",
             "at": "2026-05-01T00:00:00Z", "channel": OWN},
        ],
    },
    "empty": {"subject": "p-new", "events": []},
}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, ledger in LEDGERS.items():
        doc = {"format": "veil-consent-ledger/1", **ledger}
        (OUT / f"{name}.json").write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {name}.json")


if __name__ == "__main__":
    main()
