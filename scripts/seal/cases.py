"""Python-made envelopes that Rust must open (or reject with a given code), one per case.

Shared by make_vectors.py (commits them under crates/seal/tests/vectors/python/) and interop.py
(feeds fresh ones to `veil open`). Keys are derived from fixed seeds so cases are reproducible up to
the ECDSA signatures (cryptography draws a random nonce).
"""

from __future__ import annotations

import cbor2
from cryptography.hazmat.primitives.asymmetric import ec
from pycose.algorithms import Es384

import veil_format as vf

RECIPIENT_ID = "clinic-a"
PURPOSE = "treatment"
CREATED_MS = 1_763_900_000_000
SECRET = bytes(range(32))


def keys():
    return {
        "recipient": vf.derive_recipient_key(b"veil interop recipient key v1 ..."),
        "other_recipient": vf.derive_recipient_key(b"veil interop other recipient v1 "),
        "client": vf.private_key_from_scalar(vf.sha256(b"veil interop client key v1")),
        "intruder": vf.private_key_from_scalar(vf.sha256(b"veil interop intruder key v1")),
    }


def base_files() -> dict[str, bytes]:
    return {
        "model.stl": b"solid deidentified\n  facet normal 0 0 1\nendsolid deidentified\n",
        "reading.json": b'{"type":"spo2","value":97,"unit":"%"}',
        "blob.bin": bytes((i * 37 + 11) % 256 for i in range(3000)),
    }


def build(k, *, files=None, listed=None, signer=None, tagged=True, alg=None, recipient=None,
          ikm=b"\x42" * 32, magic=vf.MAGIC, suite_ids=None, mutate_ct=False, manifest_extra=None):
    files = base_files() if files is None else files
    listed = files if listed is None else listed
    pn = vf.pseudonym(SECRET, RECIPIENT_ID, PURPOSE)
    m = vf.manifest(
        pseudonym_text=pn, purpose=PURPOSE, recipient_id=RECIPIENT_ID,
        client_public=k["client"].public_key(), files=listed, created_ms=CREATED_MS,
        event_hash=vf.sha256(b"consent event 1"),
        evidence=[(b"\xd2\x84\x43\xa1\x01\x26\xa0\x44test\x40", [b"0\x82\x00\x00fake-der"])],
        deid_report={"removed": ["face", "ears"], "faces_before": 1200, "faces_after": 1100, "ratio": 0.5},
    )
    if manifest_extra:
        m.update(manifest_extra)
    payload = {"manifest": m, "files": files}
    kwargs = {"tagged": tagged}
    if alg is not None:
        kwargs["alg"] = alg
    signed = vf.sign_artifact(payload, signer or k["client"], **kwargs)
    env = vf.seal(signed, (recipient or k["recipient"]).public_key(), ikm_e=ikm, magic=magic, suite_ids=suite_ids)
    if mutate_ct:
        value = cbor2.loads(env)
        ct = bytearray(value[4])
        ct[len(ct) // 2] ^= 0x01
        value[4] = bytes(ct)
        env = cbor2.dumps(value)
    return env


def _forged_signature(k):
    """Signed by an intruder while the manifest names the real client key."""
    return build(k, signer=k["intruder"])


def all_cases(k):
    """(name, envelope, expected code or "ok")."""
    f = base_files()
    wrong_hash = dict(f)
    wrong_hash["reading.json"] = b'{"type":"spo2","value":99,"unit":"%"}'
    missing = dict(f)
    del missing["blob.bin"]
    return [
        ("ok-basic", build(k), "ok"),
        # > 65535 bytes: exercises 4-byte CBOR length heads on both sides.
        ("ok-large-file", build(k, files={**f, "large.bin": bytes((i * 7) % 251 for i in range(70_000))}, ikm=b"\x45" * 32), "ok"),
        ("ok-untagged-cose", build(k, tagged=False, ikm=b"\x43" * 32), "ok"),
        ("ok-single-empty-file", build(k, files={"empty.txt": b""}, ikm=b"\x44" * 32), "ok"),
        ("wrong-recipient", build(k, recipient=k["other_recipient"]), "wrong-recipient"),
        ("forged-client-signature", _forged_signature(k), "bad-signature"),
        ("tampered-ciphertext", build(k, mutate_ct=True), "decrypt-failed"),
        ("content-hash-mismatch", build(k, files=wrong_hash, listed=f), "hash-mismatch"),
        ("missing-file", build(k, files=missing, listed=f), "missing-file"),
        ("unlisted-file", build(k, files=f, listed=missing), "unlisted-file"),
        ("bad-magic", build(k, magic="VEIL-0"), "bad-envelope"),
        ("unsupported-suite-aes128", build(k, suite_ids=[16, 1, 1]), "unsupported-suite"),
        ("path-traversal-name", build(k, files={"../escape.txt": b"x"}), "bad-name"),
        ("es384-algorithm", build(k, alg=Es384), "bad-algorithm"),
    ]
