#!/usr/bin/env python3
"""Validate `veil consent export-fhir` output against FHIR R4 with the `fhir.resources` package.

For every ledger (default: crates/consent/tests/vectors/ledgers/*.json) this runs
`VEIL consent export-fhir LEDGER.json`, then checks the printed Bundle:

  * structure, cardinality and datatypes with fhir.resources' R4B models (Bundle and each Consent;
    the Consent resource is unchanged between R4 and R4B), unknown elements rejected;
  * the required value-set bindings fhir.resources does not enforce: Consent.status (ConsentState),
    Consent.provision.type (ConsentProvisionType), Bundle.type (BundleType), and the R4 `id` pattern;
  * R4 JSON rules: no empty arrays, no empty strings;
  * Veil's mapping: patient reference, ActReason purposes, withdrawal as inactive/rejected;
  * the round trip: `veil consent import-fhir` of the Bundle gives back the same ledger.

It also checks that the validator rejects a deliberately broken Bundle (so a pass means something).

Needs: Python >= 3.11, `python3 -m pip install --user "fhir.resources==8.3.0"`, and a built
`target/debug/veil` (`cargo build -p veil-cli`).
Usage: python3 scripts/consent/validate_fhir.py [--veil PATH] [LEDGER.json ...]
Exit code: 0 when every check passed, 1 when any failed, 2 when it could not run.
Last line: `N passed, N failed`.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_LEDGERS = ROOT / "crates/consent/tests/vectors/ledgers"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
CONSENT_STATE = {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"}
PROVISION_TYPE = {"deny", "permit"}
BUNDLE_TYPE = {"document", "message", "transaction", "transaction-response", "batch", "batch-response",
               "history", "searchset", "collection"}
ID_RE = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

try:
    from fhir.resources.R4B.bundle import Bundle
    from fhir.resources.R4B.consent import Consent
except ImportError as e:  # pragma: no cover - environment problem, not a validation failure
    print(f"cannot import fhir.resources R4B models ({e}); pip install 'fhir.resources==8.3.0'", file=sys.stderr)
    print("0 passed, 1 failed")
    sys.exit(2)


def no_empty(value, path="$"):
    """FHIR R4 JSON: arrays are never empty, strings never empty."""
    problems = []
    if isinstance(value, dict):
        for k, v in value.items():
            problems += no_empty(v, f"{path}.{k}")
    elif isinstance(value, list):
        if not value:
            problems.append(f"{path}: empty array")
        for i, v in enumerate(value):
            problems += no_empty(v, f"{path}[{i}]")
    elif isinstance(value, str) and value == "":
        problems.append(f"{path}: empty string")
    return problems


def walk_provisions(p):
    yield p
    for n in p.get("provision", []):
        yield from walk_provisions(n)


def check_bundle(bundle: dict, ledger: dict | None) -> list[str]:
    """Every problem found in a Bundle (empty list: valid)."""
    problems = []
    try:
        Bundle.model_validate(bundle)
    except Exception as e:  # pydantic ValidationError and FHIR model errors
        problems.append(f"Bundle invalid: {str(e).splitlines()[0]} ...")
    problems += no_empty(bundle)
    if bundle.get("type") not in BUNDLE_TYPE:
        problems.append(f"Bundle.type {bundle.get('type')!r} not in BundleType")
    entries = bundle.get("entry", [])
    events = (ledger or {}).get("events", [])
    if ledger is not None and len(entries) != len(events):
        problems.append(f"{len(entries)} entries for {len(events)} ledger events")
    for i, entry in enumerate(entries):
        res = entry.get("resource", {})
        where = f"entry[{i}]"
        try:
            Consent.model_validate(res)
        except Exception as e:
            problems.append(f"{where}: Consent invalid: {str(e).splitlines()[0]} ...")
        if res.get("status") not in CONSENT_STATE:
            problems.append(f"{where}: status {res.get('status')!r} not in ConsentState")
        if "id" in res and not ID_RE.match(str(res["id"])):
            problems.append(f"{where}: id {res['id']!r} does not match the R4 id pattern")
        if not (res.get("policy") or res.get("policyRule")):
            problems.append(f"{where}: ppc-1 needs policy or policyRule")
        for p in walk_provisions(res.get("provision", {})):
            if "type" in p and p["type"] not in PROVISION_TYPE:
                problems.append(f"{where}: provision.type {p['type']!r} not in ConsentProvisionType")
        if ledger is not None and i < len(events):
            ev = events[i]
            if res.get("patient", {}).get("reference") != f"Patient/{ledger['subject']}":
                problems.append(f"{where}: patient reference is not the pseudonym")
            if ev["kind"] == "withdrawn" and res.get("status") not in {"inactive", "rejected"}:
                problems.append(f"{where}: a withdrawal exported as {res.get('status')!r}")
            codes = [c.get("code") for c in res.get("provision", {}).get("purpose", []) if c.get("system") == ACT_REASON]
            if ev["purpose"] != "cross-border-transfer" and not codes:
                problems.append(f"{where}: no v3-ActReason purpose for {ev['purpose']}")
    return problems


def run(veil: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(veil), "consent", *args], capture_output=True, text=True, timeout=60)


def normalise(ledger: dict) -> dict:
    doc = dict(ledger)
    doc.setdefault("format", "veil-consent-ledger/1")
    return json.loads(json.dumps(doc, sort_keys=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--veil", default=str(ROOT / "target/debug/veil"), help="path to the veil binary")
    ap.add_argument("ledgers", nargs="*", help="ledger JSON files (default: the committed vectors)")
    args = ap.parse_args()
    veil = pathlib.Path(args.veil)
    if not veil.exists():
        print(f"no veil binary at {veil}; run `cargo build -p veil-cli`", file=sys.stderr)
        print("0 passed, 1 failed")
        return 2
    ledgers = [pathlib.Path(p) for p in args.ledgers] or sorted(DEFAULT_LEDGERS.glob("*.json"))
    passed = failed = 0

    def report(name: str, problems: list[str]):
        nonlocal passed, failed
        if problems:
            failed += 1
            print(f"FAIL {name}")
            for p in problems[:20]:
                print(f"     {p}")
        else:
            passed += 1
            print(f"ok   {name}")

    for path in ledgers:
        ledger = json.loads(path.read_text(encoding="utf-8"))
        out = run(veil, "export-fhir", str(path))
        if out.returncode != 0:
            report(f"{path.name}: export", [f"exit {out.returncode}: {out.stderr.strip()}"])
            continue
        try:
            bundle = json.loads(out.stdout)
        except json.JSONDecodeError as e:
            report(f"{path.name}: export", [f"not JSON: {e}"])
            continue
        report(f"{path.name}: FHIR R4 Bundle valid", check_bundle(bundle, ledger))
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
            json.dump(bundle, tmp)
        back = run(veil, "import-fhir", tmp.name)
        pathlib.Path(tmp.name).unlink(missing_ok=True)
        if back.returncode != 0:
            report(f"{path.name}: round trip", [f"import exit {back.returncode}: {back.stderr.strip()}"])
        else:
            same = normalise(json.loads(back.stdout)) == normalise(ledger)
            report(f"{path.name}: round trip", [] if same else ["imported ledger differs from the original"])

    # The validator must reject what is wrong, or a pass proves nothing.
    broken = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
        "resourceType": "Consent", "status": "withdrawn", "scope": {"text": "x"}, "category": [],
        "provision": {"type": "allow"}, "dateTime": "yesterday"}}]}
    problems = check_bundle(broken, None)
    report("validator rejects a broken Bundle", [] if len(problems) >= 4 else [f"only found {problems}"])

    # Unknown purpose codes in foreign FHIR must be an error with a non-zero exit, never an allow.
    foreign = {"resourceType": "Consent", "status": "active", "patient": {"reference": "Patient/x"},
               "dateTime": "2025-01-01T00:00:00Z",
               "provision": {"type": "permit", "purpose": [{"system": ACT_REASON, "code": "HPAYMT"}]}}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
        json.dump(foreign, tmp)
    res = run(veil, "import-fhir", tmp.name)
    pathlib.Path(tmp.name).unlink(missing_ok=True)
    report("import-fhir refuses an unknown purpose code",
           [] if res.returncode != 0 and "unknown-purpose-code" in res.stderr else [f"exit {res.returncode}: {res.stderr}"])

    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
