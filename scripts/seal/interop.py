#!/usr/bin/env python3
"""Interop between Rust `veil seal` / `veil open` and an independent Python implementation.

(a) Rust seals (target/debug/veil seal), Python opens: envelope shape, kid, HPKE (pyhpke), the
    client's COSE_Sign1 ES256 signature (pycose), every content hash, the pseudonym, the artifact id.
(b) Python seals, Rust opens (`veil open`): good cases open with the same contents; bad cases
    (forged signature, tampered ciphertext, wrong recipient, ...) fail with the named code. The
    consent decision is veil-consent's outcome id: `permit`, the legacy spelling of `allow` that the
    committed vectors carry, still opens as `allow`; a word that is no outcome is `bad-manifest`;
    `veil seal` refuses to seal anything but `allow` (`consent-not-granted`).
(c) pyhpke reproduces the RFC 9180 vector committed for this suite (a second check of the vector).

usage: python3 scripts/seal/interop.py [--veil PATH]   (default: $VEIL_BIN or target/debug/veil,
       built with `cargo build -p veil-cli` if missing)
needs: pip install pyhpke 'cbor2<6' 'pycose==1.1.*' cryptography
exit:  0 if every check passed, 1 otherwise; the last line is `N passed, N failed`.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import cbor2  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

import cases  # noqa: E402
import veil_format as vf  # noqa: E402

RESULTS = {"passed": 0, "failed": 0}


def check(name: str, fn) -> None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - report every failure and continue
        RESULTS["failed"] += 1
        print(f"FAIL {name}: {e}")
        if os.environ.get("VERBOSE"):
            traceback.print_exc()
    else:
        RESULTS["passed"] += 1
        print(f"ok   {name}")


def expect(cond: bool, what: str) -> None:
    if not cond:
        raise AssertionError(what)


def veil_binary(arg: str | None) -> str:
    path = arg or os.environ.get("VEIL_BIN") or os.path.join(ROOT, "target", "debug", "veil")
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "-q", "-p", "veil-cli"], cwd=ROOT, check=True)
    return path


def run(veil: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([veil, *args], capture_output=True, text=True)


def self_signed_chain() -> tuple[bytes, list[bytes]]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "veil test device")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    return pem + pem, [cert.public_bytes(serialization.Encoding.DER)] * 2


def rust_seals_python_opens(veil: str, work: str) -> None:
    keys = os.path.join(work, "keys")
    r = run(veil, "seal", "--generate-keys", keys)
    expect(r.returncode == 0, f"--generate-keys failed: {r.stderr}")
    load = lambda n: open(os.path.join(keys, n), "rb").read()  # noqa: E731
    recipient = serialization.load_pem_private_key(load("recipient.pem"), None)
    client_pub = serialization.load_pem_public_key(load("client.pub.pem"))
    secret = bytes.fromhex(load("pseudonym.secret").decode().strip())

    # A model goes in only after `veil deid`; the person's file names never enter the artifact:
    # contents are named by role, in the order given (model-1.stl, file-1.json, file-2).
    raw_model = os.path.join(work, "Jane_Roe_MRN448812_headCT.stl")
    # A closed UV sphere (radius 40 mm), as a segmentation export would be.
    import math
    lon, lat, r = 24, 12, 40.0
    pt = lambda i, j: (0.0, 0.0, r * (1 if j == 0 else -1)) if j in (0, lat) else (  # noqa: E731
        r * math.sin(math.pi * j / lat) * math.cos(2 * math.pi * i / lon),
        r * math.sin(math.pi * j / lat) * math.sin(2 * math.pi * i / lon), r * math.cos(math.pi * j / lat))
    tris = []
    for j in range(lat):
        for i in range(lon):
            a, b, c, d = pt(i, j), pt(i + 1, j), pt(i, j + 1), pt(i + 1, j + 1)
            if j > 0:
                tris.append((a, c, b))
            if j < lat - 1:
                tris.append((b, c, d))
    facets = "".join("facet normal 0 0 0\nouter loop\n" + "".join(f"vertex {x!r} {y!r} {z!r}\n" for x, y, z in t)
                     + "endloop\nendfacet\n" for t in tris)
    open(raw_model, "w").write(f"solid Jane_Roe_MRN448812\n{facets}endsolid Jane_Roe_MRN448812\n")
    model_path = os.path.join(work, "Jane_Roe_deidentified.stl")
    report_path = os.path.join(work, "deid.json")
    r = run(veil, "deid", raw_model, "-o", model_path, "--report", report_path, "--seed", "7")
    expect(r.returncode == 0, f"veil deid failed: {r.stderr}")
    local_report = json.load(open(report_path))
    r = run(veil, "seal", "--generate-keys", os.path.join(work, "refused-keys"))
    refused = run(veil, "seal", "--recipient", os.path.join(work, "refused-keys", "recipient.pub.pem"),
                  "--client-key", os.path.join(work, "refused-keys", "client.pem"), "--purpose", "research",
                  "--pseudonym-secret", os.path.join(work, "refused-keys", "pseudonym.secret"), raw_model,
                  "-o", os.path.join(work, "refused.veil"))
    check("rust-seal: a model that skipped veil deid is refused without --raw",
          lambda: expect(refused.returncode != 0 and "veil: raw-model:" in refused.stderr, refused.stderr))
    files = {
        "model-1.stl": open(model_path, "rb").read(),
        "file-1.json": b'{"spo2": 97, "device": "oximeter"}',
        "file-2": b"",  # from "Jane_Roe_file-2.dat": an extension outside the short list is dropped
    }
    local_names = {"file-1.json": "Jane_Roe_file-1.json", "file-2": "Jane_Roe_file-2.dat"}
    paths = [model_path]
    for n, b in list(files.items())[1:]:
        p = os.path.join(work, local_names[n])
        open(p, "wb").write(b)
        paths.append(p)
    reading = b"\xd2\x84\x43\xa1\x01\x26\xa0\x45hello\x58\x40" + bytes(64)
    open(os.path.join(work, "reading.cose"), "wb").write(reading)
    chain_pem, chain_der = self_signed_chain()
    open(os.path.join(work, "chain.pem"), "wb").write(chain_pem)
    event = hashlib.sha256(b"consent event").hexdigest()
    out = os.path.join(work, "a.veil")
    r = run(veil, "seal", "--recipient", os.path.join(keys, "recipient.pub.pem"),
            "--client-key", os.path.join(keys, "client.pem"), "--purpose", "research-study-7",
            "--pseudonym-secret", os.path.join(keys, "pseudonym.secret"), "--recipient-id", "lab-b",
            "--consent-event", event, "--evidence", os.path.join(work, "reading.cose"),
            "--evidence-chain", os.path.join(work, "chain.pem"), "--deid-report", report_path,
            "--created-ms", "1763900000000", *paths, "-o", out)
    expect(r.returncode == 0, f"veil seal failed: {r.stderr}")
    printed = json.loads(r.stdout)
    env = open(out, "rb").read()

    def shape():
        enc, kid, ct = vf.parse_envelope(env)  # also checks preferred encoding and the suite
        expect(kid == vf.kid_of(recipient.public_key()), "kid is not SHA-256 of the recipient SEC1 key")
        expect(printed["kid"] == kid.hex(), "printed kid")
        expect(enc[0] == 4, "enc is not an uncompressed point")

    def artifact_id():
        expect(printed["artifact_id"] == vf.artifact_id(env), "artifact id is not SHA-256(envelope)")

    def signature_and_hashes():
        m, got = vf.open_envelope(env, recipient, client_pub)
        expect(got == files, "contents differ")
        expect(m["purpose"] == "research-study-7" and m["recipient"] == "lab-b", "purpose/recipient")
        expect(m["consent"] == {"decision": "allow", "event_hash": bytes.fromhex(event)}, "consent")
        expect(m["created"] == 1763900000000 and m["v"] == 1, "created / v")
        shared = m["deid_report"]
        expect(shared["form"] == "shareable", "the manifest holds the shareable report")
        expect("transform" not in shared and "transform" in local_report, "the transform stays local")
        expect(shared["triangles_out"] == local_report["triangles_out"], "same run")
        expect(b"Jane_Roe" not in cbor2.dumps(m), "no file name or identifier in the manifest")
        expect(m["device_evidence"] == [{"reading": reading, "chain": chain_der}], "device evidence")

    def pseudonym():
        m, _ = vf.open_envelope(env, recipient)
        expect(m["pseudonym"] == vf.pseudonym(secret, "lab-b", "research-study-7"), "pseudonym derivation differs")
        expect(printed["pseudonym"] == m["pseudonym"], "printed pseudonym")

    def cose_structure():
        signed = vf.decrypt(env, recipient)
        outer = cbor2.loads(signed)
        expect(isinstance(outer, cbor2.CBORTag) and outer.tag == 18, "COSE_Sign1 is tagged 18")
        protected = cbor2.loads(outer.value[0])
        expect(protected[1] == -7, "alg is ES256")
        expect(protected[4] == hashlib.sha256(vf.sec1_uncompressed(client_pub)).digest(), "kid = client kid")
        expect(len(outer.value[3]) == 64, "signature is r || s")

    def tampered_fails_in_python():
        value = cbor2.loads(env)
        ct = bytearray(value[4])
        ct[-1] ^= 1
        value[4] = bytes(ct)
        try:
            vf.open_envelope(cbor2.dumps(value), recipient)
        except vf.FormatError as e:
            expect(e.code == "decrypt-failed", e.code)
        else:
            raise AssertionError("tampered envelope opened")

    def rust_reopens_its_own():
        d = os.path.join(work, "opened")
        r = run(veil, "open", "--key", os.path.join(keys, "recipient.pem"), "--client-pub",
                os.path.join(keys, "client.pub.pem"), out, "-o", d)
        expect(r.returncode == 0, r.stderr)
        for n, b in files.items():
            expect(open(os.path.join(d, n), "rb").read() == b, n)
        expect(json.loads(r.stdout)["artifact_id"] == vf.artifact_id(env), "artifact id")

    for name, fn in [("rust-seal: envelope shape and kid", shape), ("rust-seal: artifact id", artifact_id),
                     ("rust-seal: python verifies signature and hashes", signature_and_hashes),
                     ("rust-seal: pseudonym", pseudonym), ("rust-seal: COSE_Sign1 structure", cose_structure),
                     ("rust-seal: tampered ciphertext fails in python", tampered_fails_in_python),
                     ("rust-seal: veil open round trip", rust_reopens_its_own)]:
        check(name, fn)


def python_seals_rust_opens(veil: str, work: str) -> None:
    k = cases.keys()
    d = os.path.join(work, "py")
    os.makedirs(d, exist_ok=True)
    key_path = os.path.join(d, "recipient.pem")
    open(key_path, "wb").write(vf.pkcs8_pem(k["recipient"]))
    pub_path = os.path.join(d, "client.pub.pem")
    open(pub_path, "wb").write(vf.spki_pem(k["client"].public_key()))
    for name, env, code in cases.all_cases(k):
        def one(name=name, env=env, code=code):
            path = os.path.join(d, f"{name}.veil")
            open(path, "wb").write(env)
            outdir = os.path.join(d, f"{name}.out")
            r = run(veil, "open", "--key", key_path, "--client-pub", pub_path, path, "-o", outdir)
            if code == "ok":
                expect(r.returncode == 0, f"veil open failed: {r.stderr.strip()}")
                printed = json.loads(r.stdout)
                expect(printed["artifact_id"] == vf.artifact_id(env), "artifact id")
                expect(printed["pseudonym"] == vf.pseudonym(cases.SECRET, cases.RECIPIENT_ID, cases.PURPOSE), "pseudonym")
                expect(printed["consent"]["decision"] == "allow", "consent decision")
                _, files = vf.open_envelope(env, k["recipient"])
                for n, b in files.items():
                    expect(open(os.path.join(outdir, n), "rb").read() == b, f"content {n}")
            else:
                expect(r.returncode != 0, "opened, but must fail")
                expect(f"veil: {code}:" in r.stderr, f"expected code {code}, got {r.stderr.strip()}")
                expect(not os.path.exists(outdir), "wrote output for a rejected envelope")
        check(f"python-seal: {name} -> {code}", one)

    event = vf.sha256(b"consent event 1")
    for word, code, shown in [("permit", "ok", "allow"), ("deny", "ok", "deny"), ("maybe", "bad-manifest", None)]:
        def decision(word=word, code=code, shown=shown):
            env = cases.build(k, manifest_extra={"consent": {"decision": word, "event_hash": event}})
            path = os.path.join(d, f"decision-{word}.veil")
            open(path, "wb").write(env)
            r = run(veil, "open", "--key", key_path, "--client-pub", pub_path, path)
            if code == "ok":
                expect(r.returncode == 0, f"veil open failed: {r.stderr.strip()}")
                expect(json.loads(r.stdout)["consent"]["decision"] == shown, f"read as {shown}")
            else:
                expect(f"veil: {code}:" in r.stderr, f"expected code {code}, got {r.stderr.strip()}")
        check(f"python-seal: consent decision {word!r} -> {shown or code}", decision)

    def rust_refuses_to_seal_without_a_grant():
        keys = os.path.join(work, "keys")
        payload = os.path.join(d, "payload.json")
        open(payload, "w").write("{}")
        r = run(veil, "seal", "--recipient", os.path.join(keys, "recipient.pub.pem"), "--client-key",
                os.path.join(keys, "client.pem"), "--purpose", "treatment", "--pseudonym-secret",
                os.path.join(keys, "pseudonym.secret"), "--consent-decision", "deny", payload,
                "-o", os.path.join(d, "denied.veil"))
        expect(r.returncode != 0 and "veil: consent-not-granted:" in r.stderr, r.stderr.strip())
        expect(not os.path.exists(os.path.join(d, "denied.veil")), "wrote an envelope")
    check("rust-seal: --consent-decision deny is refused", rust_refuses_to_seal_without_a_grant)


def rfc9180_vector_with_pyhpke() -> None:
    path = os.path.join(ROOT, "crates", "seal", "tests", "vectors", "rfc9180-base-p256-sha256-aes256gcm.json")
    v = json.load(open(path))[0]
    s = vf.suite()
    h = bytes.fromhex
    kp_r = s.kem.derive_key_pair(h(v["ikmR"]))
    kp_e = s.kem.derive_key_pair(h(v["ikmE"]))
    expect(kp_r.public_key.to_public_bytes() == h(v["pkRm"]), "pkRm")
    expect(kp_e.public_key.to_public_bytes() == h(v["pkEm"]), "pkEm")
    enc, sender = s.create_sender_context(kp_r.public_key, h(v["info"]), eks=kp_e)
    expect(enc == h(v["enc"]), "enc")
    recipient = s.create_recipient_context(enc, kp_r.private_key, h(v["info"]))
    for i, e in enumerate(v["encryptions"]):
        ct = sender.seal(h(e["pt"]), h(e["aad"]))
        expect(ct == h(e["ct"]), f"ct {i}")
        expect(recipient.open(ct, h(e["aad"])) == h(e["pt"]), f"pt {i}")
    for x in v["exports"]:
        expect(sender.export(h(x["exporter_context"]), x["L"]) == h(x["exported_value"]), "export")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--veil", help="path to the veil binary")
    args = ap.parse_args()
    try:
        veil = veil_binary(args.veil)
    except Exception as e:  # noqa: BLE001
        print(f"FAIL build veil: {e}")
        print("0 passed, 1 failed")
        return 1
    with tempfile.TemporaryDirectory(prefix="veil-interop-") as work:
        check("rfc9180 vector (pyhpke)", rfc9180_vector_with_pyhpke)
        rust_seals_python_opens(veil, work)
        python_seals_rust_opens(veil, work)
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    return 0 if RESULTS["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
