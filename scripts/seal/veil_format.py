"""An independent Python implementation of Veil's sealed-artifact format (docs/artifact-format.md).

Built only from the document and standard libraries: pyhpke (RFC 9180), pycose (RFC 9052 COSE_Sign1),
cbor2 (RFC 8949), cryptography (P-256). Used by interop.py and make_vectors.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import cbor2
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pycose.algorithms import Es256
from pycose.headers import KID, Algorithm
from pycose.keys.curves import P256
from pycose.keys.ec2 import EC2Key
from pycose.messages import CoseMessage, Sign1Message
from pyhpke import AEADId, CipherSuite, KDFId, KEMId, KEMKey

MAGIC = "VEIL-1"
SUITE_IDS = [0x0010, 0x0001, 0x0002]
INFO = b"veil artifact v1"
PSEUDONYM_LABEL = b"veil-pseudonym-v1"


class FormatError(Exception):
    """A failure with a stable code mirroring veil-seal's SealError::code()."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(f"{code}: {message}")
        self.code = code


def suite() -> CipherSuite:
    return CipherSuite.new(KEMId.DHKEM_P256_HKDF_SHA256, KDFId.HKDF_SHA256, AEADId.AES256_GCM)


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def sec1_uncompressed(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def kid_of(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """kid = SHA-256 of the uncompressed SEC1 public key."""
    return sha256(sec1_uncompressed(public_key))


def pseudonym(secret: bytes, recipient_id: str, purpose: str) -> str:
    """base32(HMAC-SHA256(secret, lp(label) || lp(recipient) || lp(purpose))), lowercase, unpadded."""

    def lp(b: bytes) -> bytes:
        return len(b).to_bytes(4, "big") + b

    msg = lp(PSEUDONYM_LABEL) + lp(recipient_id.encode()) + lp(purpose.encode())
    tag = hmac.new(secret, msg, hashlib.sha256).digest()
    return base64.b32encode(tag).decode().rstrip("=").lower()


def private_key_from_scalar(scalar: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1())


def derive_recipient_key(ikm: bytes) -> ec.EllipticCurvePrivateKey:
    """RFC 9180 DeriveKeyPair for DHKEM(P-256), as a cryptography key."""
    kp = suite().kem.derive_key_pair(ikm)
    return private_key_from_scalar(kp.private_key.to_private_bytes())


def pkcs8_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def spki_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def manifest(
    *,
    pseudonym_text: str,
    purpose: str,
    recipient_id: str,
    client_public: ec.EllipticCurvePublicKey,
    files: dict[str, bytes],
    created_ms: int,
    decision: str = "allow",
    event_hash: bytes | None = None,
    evidence: list[tuple[bytes, list[bytes]]] = (),
    deid_report=None,
) -> dict:
    return {
        "v": 1,
        "pseudonym": pseudonym_text,
        "purpose": purpose,
        "consent": {"decision": decision, "event_hash": event_hash},
        "recipient": recipient_id,
        "created": created_ms,
        "client_key": sec1_uncompressed(client_public),
        "contents": [{"name": n, "size": len(b), "sha256": sha256(b)} for n, b in sorted(files.items())],
        "device_evidence": [{"reading": r, "chain": list(c)} for r, c in evidence],
        "deid_report": deid_report,
    }


def sign_artifact(payload: dict, client: ec.EllipticCurvePrivateKey, *, tagged: bool = True, alg=Es256) -> bytes:
    """COSE_Sign1 (ES256) over the CBOR payload {"manifest": ..., "files": ...}."""
    nums = client.private_numbers()
    pub = sec1_uncompressed(client.public_key())
    key = EC2Key(crv=P256, x=pub[1:33], y=pub[33:], d=nums.private_value.to_bytes(32, "big"))
    msg = Sign1Message(phdr={Algorithm: alg, KID: sha256(pub)}, payload=cbor2.dumps(payload, canonical=True))
    msg.key = key
    return msg.encode(tag=tagged)


def seal(plaintext: bytes, recipient: ec.EllipticCurvePublicKey, *, ikm_e: bytes | None = None,
         magic: str = MAGIC, suite_ids=None) -> bytes:
    """The VEIL-1 envelope: HPKE base-mode SealBase(pkR, info, aad = kid, pt)."""
    s = suite()
    pkr_bytes = sec1_uncompressed(recipient)
    pkr = s.kem.deserialize_public_key(pkr_bytes)
    kid = sha256(pkr_bytes)
    eks = s.kem.derive_key_pair(ikm_e) if ikm_e is not None else None
    enc, ctx = s.create_sender_context(pkr, INFO, eks=eks)
    ct = ctx.seal(plaintext, kid)
    return cbor2.dumps([magic, suite_ids or SUITE_IDS, enc, kid, ct])


def artifact_id(envelope: bytes) -> str:
    return hashlib.sha256(envelope).hexdigest()


def parse_envelope(envelope: bytes):
    try:
        value = cbor2.loads(envelope)
    except Exception as e:  # noqa: BLE001 - any decoding failure is a bad envelope
        raise FormatError("bad-envelope", str(e)) from e
    if not (isinstance(value, list) and len(value) == 5):
        raise FormatError("bad-envelope", "not a 5-element array")
    magic, suite_ids, enc, kid, ct = value
    if magic != MAGIC:
        raise FormatError("bad-envelope", "magic")
    if not (isinstance(enc, bytes) and len(enc) == 65 and isinstance(kid, bytes) and len(kid) == 32 and isinstance(ct, bytes)):
        raise FormatError("bad-envelope", "field sizes")
    if cbor2.dumps(value) != envelope:
        raise FormatError("bad-envelope", "not in preferred encoding")
    if suite_ids != SUITE_IDS:
        raise FormatError("unsupported-suite", repr(suite_ids))
    return enc, kid, ct


def decrypt(envelope: bytes, recipient: ec.EllipticCurvePrivateKey) -> bytes:
    enc, kid, ct = parse_envelope(envelope)
    if kid != kid_of(recipient.public_key()):
        raise FormatError("wrong-recipient")
    s = suite()
    skr = KEMKey.from_pem(pkcs8_pem(recipient))
    try:
        ctx = s.create_recipient_context(enc, skr, INFO)
        return ctx.open(ct, kid)
    except Exception as e:  # noqa: BLE001
        raise FormatError("decrypt-failed", str(e)) from e


def verify_artifact(signed: bytes, pinned_client: ec.EllipticCurvePublicKey | None = None):
    """Verify the COSE_Sign1 under the manifest's client key, then every content hash."""
    try:
        outer = cbor2.loads(signed)
        if isinstance(outer, list):  # untagged COSE_Sign1: accepted, as the format allows
            signed = cbor2.dumps(cbor2.CBORTag(18, outer))
        msg = CoseMessage.decode(signed)
        payload = cbor2.loads(msg.payload)
        m = payload["manifest"]
        files = payload["files"]
        client_key = m["client_key"]
    except Exception as e:  # noqa: BLE001
        raise FormatError("bad-artifact", str(e)) from e
    if msg.phdr.get(Algorithm) is not Es256 and msg.phdr.get(Algorithm) != Es256:
        raise FormatError("bad-algorithm")
    if pinned_client is not None and sec1_uncompressed(pinned_client) != client_key:
        raise FormatError("client-key-mismatch")
    msg.key = EC2Key(crv=P256, x=client_key[1:33], y=client_key[33:])
    if not msg.verify_signature():
        raise FormatError("bad-signature")
    for entry in m["contents"]:
        data = files.get(entry["name"])
        if data is None:
            raise FormatError("missing-file", entry["name"])
        if len(data) != entry["size"] or sha256(data) != entry["sha256"]:
            raise FormatError("hash-mismatch", entry["name"])
    listed = {e["name"] for e in m["contents"]}
    for name in files:
        if name not in listed:
            raise FormatError("unlisted-file", name)
        if name in ("", ".", "..") or "/" in name or "\\" in name:
            raise FormatError("bad-name", name)
    return m, files


def open_envelope(envelope: bytes, recipient: ec.EllipticCurvePrivateKey, pinned_client=None):
    return verify_artifact(decrypt(envelope, recipient), pinned_client)
