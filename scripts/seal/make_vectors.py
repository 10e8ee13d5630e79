#!/usr/bin/env python3
"""Write Python-sealed VEIL-1 vectors that Rust must open (crates/seal/tests/vectors/python/).

usage: python3 scripts/seal/make_vectors.py crates/seal/tests/vectors/python
needs: pip install pyhpke 'cbor2<6' 'pycose==1.1.*' cryptography
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases  # noqa: E402
import veil_format as vf  # noqa: E402


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else "crates/seal/tests/vectors/python"
    os.makedirs(out, exist_ok=True)
    k = cases.keys()
    with open(os.path.join(out, "recipient.pem"), "wb") as fh:
        fh.write(vf.pkcs8_pem(k["recipient"]))
    with open(os.path.join(out, "client.pub.pem"), "wb") as fh:
        fh.write(vf.spki_pem(k["client"].public_key()))
    expected = {
        "recipient_id": cases.RECIPIENT_ID,
        "purpose": cases.PURPOSE,
        "pseudonym": vf.pseudonym(cases.SECRET, cases.RECIPIENT_ID, cases.PURPOSE),
        "pseudonym_secret_hex": cases.SECRET.hex(),
        "created_ms": cases.CREATED_MS,
        "cases": {},
    }
    for name, env, code in cases.all_cases(k):
        with open(os.path.join(out, f"{name}.veil"), "wb") as fh:
            fh.write(env)
        case = {"expect": code, "artifact_id": vf.artifact_id(env)}
        if code == "ok":
            # Python must agree with itself before Rust is asked to.
            m, files = vf.open_envelope(env, k["recipient"], k["client"].public_key())
            case["files"] = {n: vf.sha256(b).hex() for n, b in sorted(files.items())}
        expected["cases"][name] = case
    with open(os.path.join(out, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1, sort_keys=True)
        fh.write("\n")
    print(f"wrote {len(expected['cases'])} cases to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
