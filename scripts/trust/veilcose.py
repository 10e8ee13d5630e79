"""Shared helpers for Veil's device-trust scripts: an independent implementation of the Veil
device profile (docs/device-profile.md) on top of `cryptography` (X.509) and `pycose` (COSE).

pycose 1.1 knows ES256 (-7) but not its fully-specified successor ESP256 (-9, RFC 9864); both are
ECDSA with P-256 and SHA-256, so ESP256 is registered here as a subclass with identifier -9.
"""

import datetime
import hashlib
from hashlib import sha256

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from ecdsa.curves import NIST256p
from pycose.algorithms import CoseAlgorithm, Es256, Es384, _Ecdsa
from pycose.headers import KID, Algorithm
from pycose.keys import EC2Key
from pycose.messages import Sign1Message


@CoseAlgorithm.register_attribute()
class Esp256(_Ecdsa):
    """ESP256: ECDSA using P-256 curve and SHA-256 (RFC 9864 §2.1), COSE alg -9."""

    identifier = -9
    fullname = "ESP256"

    @classmethod
    def get_hash_func(cls):
        return sha256

    @classmethod
    def get_curve(cls):
        return NIST256p


ALGS = {"ES256": Es256, "ESP256": Esp256, "ES384": Es384}


def ts(unix):
    return datetime.datetime.fromtimestamp(unix, tz=datetime.timezone.utc)


def key_from_seed(seed: str, curve=None):
    """A deterministic private key (so regenerated vectors keep the same identities)."""
    curve = curve or ec.SECP256R1()
    order = {
        "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        "secp384r1": int(
            "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
            16,
        ),
    }[curve.name]
    d = int.from_bytes(hashlib.sha512(seed.encode()).digest(), "big") % (order - 1) + 1
    return ec.derive_private_key(d, curve)


def name(cn, org=None, serial=None):
    attrs = []
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attrs)


def issue(subject, subject_key, issuer_name, issuer_key, not_before, not_after, *, ca,
          path_len=None, key_usage="auto", serial_number=1):
    """Issues a certificate with the Veil profile's extensions (or deliberately broken ones)."""
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(subject_key.public_key())
        .serial_number(serial_number)
        .not_valid_before(ts(not_before))
        .not_valid_after(ts(not_after))
    )
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
    if key_usage == "auto":
        key_usage = "cert" if ca else "sign"
    if key_usage is not None:
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature=key_usage == "sign",
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=key_usage == "cert",
                crl_sign=key_usage == "cert",
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def pem(*certs):
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def payload(dev, ctr, ts_, nonce, svc, chr_, val, **extra):
    m = {"v": 1, "dev": dev, "ctr": ctr, "ts": ts_, "nonce": nonce, "svc": svc, "chr": chr_, "val": val}
    m.update(extra)
    return cbor2.dumps(m)


def sign1(private_key, device_cert, payload_bytes, alg="ES256", kid_in="protected", kid=None):
    """A tagged COSE_Sign1 signed with pycose; kid = SHA-256 of the device certificate DER."""
    kid = kid if kid is not None else hashlib.sha256(der(device_cert)).digest()
    phdr = {Algorithm: ALGS[alg]}
    uhdr = {}
    (phdr if kid_in == "protected" else uhdr)[KID] = kid
    msg = Sign1Message(phdr=phdr, uhdr=uhdr, payload=payload_bytes)
    msg.key = EC2Key._from_cryptography_key(private_key)
    return msg.encode(tag=True)


def verify1(cose_bytes, device_cert):
    """Verifies a COSE_Sign1 with pycose against the certificate's public key. Returns the
    decoded message (raises on a bad signature)."""
    msg = Sign1Message.decode(cose_bytes)
    msg.key = EC2Key._from_cryptography_key(device_cert.public_key())
    if not msg.verify_signature():
        raise ValueError("signature does not verify")
    return msg
