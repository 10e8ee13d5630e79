#!/usr/bin/env python3
"""Interop check: readings signed by the Rust implementation (`veil device sign`) must verify
with pycose, and the Rust-provisioned certificates must validate with `cryptography`; readings
signed here with pycose must verify with `veil device verify`.

Usage: python3 scripts/trust/interop.py [--veil PATH]   (default: target/debug/veil)
Needs: pip install cryptography pycose 'cbor2<6'; a built `veil` (cargo build -p veil-cli).
Prints one line per check and a final line `N passed, N failed`; exits 1 if any check failed,
2 if it could not run.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from veilcose import der, payload, sign1, verify1  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Measurement specs and the characteristic bytes the Bluetooth SIG layout gives for them,
# written out by hand here (independently of the Rust encoder).
CASES = [
    ("bp:120/80/93,pulse=70", 0x1810, 0x2A35, bytes.fromhex("04" "7800" "5000" "5d00" "4600")),
    ("bp:120/80/93", 0x1810, 0x2A35, bytes.fromhex("00" "7800" "5000" "5d00")),
    ("temp:36.6", 0x1809, 0x2A1C, bytes.fromhex("00") + (366 | 0xFF << 24).to_bytes(4, "little")),
    ("temp:98.6F", 0x1809, 0x2A1C, bytes.fromhex("01") + (986 | 0xFF << 24).to_bytes(4, "little")),
    ("spo2:98/72", 0x1822, 0x2A5E, bytes.fromhex("00" "6200" "4800")),
    ("weight:72.5", 0x181D, 0x2A9D, bytes.fromhex("00") + (14500).to_bytes(2, "little")),
    ("hr:72", 0x180D, 0x2A37, bytes.fromhex("00" "48")),
    ("raw:1810:2A35:00780050005d00", 0x1810, 0x2A35, bytes.fromhex("00780050005d00")),
]


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--veil", default=os.environ.get("VEIL_BIN", os.path.join(ROOT, "target", "debug", "veil")))
    args = ap.parse_args()
    if not os.path.exists(args.veil):
        print(f"interop: {args.veil} not found; build it with `cargo build -p veil-cli`", file=sys.stderr)
        return 2
    res = Results()
    tmp = tempfile.mkdtemp(prefix="veil-interop-")

    def veil(*a, check=True):
        p = subprocess.run([args.veil, "device", *a], capture_output=True, text=False)
        if check and p.returncode != 0:
            raise RuntimeError(f"veil device {' '.join(a)}: exit {p.returncode}: {p.stderr.decode()}")
        return p

    veil("provision", "--out", tmp, "--manufacturer", "Interop Medical", "--devices", "2", "--intermediate",
         "--prefix", "IOP", "--model", "Interop Cuff")
    load = lambda f: x509.load_pem_x509_certificate(open(os.path.join(tmp, f), "rb").read())  # noqa: E731
    root, inter, dev = load("root.cert.pem"), load("intermediate.cert.pem"), load("IOP-000001.cert.pem")

    # Certificates made by Rust, checked by cryptography.
    for label, child, parent in [("root self-signed", root, root), ("intermediate by root", inter, root),
                                 ("device by intermediate", dev, inter)]:
        try:
            child.verify_directly_issued_by(parent)
            res.check(f"x509: {label}", True)
        except Exception as e:  # noqa: BLE001
            res.check(f"x509: {label}", False, repr(e))
    bc = dev.extensions.get_extension_for_class(x509.BasicConstraints)
    res.check("x509: device basicConstraints CA:FALSE, critical", bc.critical and not bc.value.ca)
    ku = dev.extensions.get_extension_for_class(x509.KeyUsage).value
    res.check("x509: device keyUsage digitalSignature", ku.digital_signature and not ku.key_cert_sign)
    sn = dev.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    res.check("x509: device subject serialNumber", [a.value for a in sn] == ["IOP-000001"])
    ibc = inter.extensions.get_extension_for_class(x509.BasicConstraints).value
    res.check("x509: intermediate CA:TRUE pathLen 0", ibc.ca and ibc.path_length == 0)
    key_pem = open(os.path.join(tmp, "IOP-000001.key.pem"), "rb").read()
    res.check("pkcs8: device key is PKCS#8 PEM", key_pem.startswith(b"-----BEGIN PRIVATE KEY-----"))
    dev_key = serialization.load_pem_private_key(key_pem, None)
    res.check("pkcs8: key matches certificate",
              dev_key.public_key().public_numbers() == dev.public_key().public_numbers())

    # Readings signed by Rust, verified by pycose.
    kid = hashlib.sha256(der(dev)).digest()
    now = int(time.time())
    ctr = 100
    for alg, alg_id in [("ES256", -7), ("ESP256", -9)]:
        for spec, svc, chr_, val in CASES:
            ctr += 1
            nonce = os.urandom(32)
            out = os.path.join(tmp, f"r{ctr}.cose")
            name = f"rust->pycose {alg} {spec}"
            try:
                veil("sign", "--key", os.path.join(tmp, "IOP-000001.key.pem"),
                     "--cert", os.path.join(tmp, "IOP-000001.cert.pem"), "--counter", str(ctr),
                     "--nonce", nonce.hex(), "--measurement", spec, "--ts", str(now), "--alg", alg, "-o", out)
                data = open(out, "rb").read()
                tagged = cbor2.loads(data)
                assert isinstance(tagged, cbor2.CBORTag) and tagged.tag == 18, "not a tagged COSE_Sign1"
                msg = verify1(data, dev)
                ph = cbor2.loads(tagged.value[0])
                assert ph.get(1) == alg_id, f"alg {ph.get(1)}"
                assert ph.get(4) == kid, "kid is not SHA-256(device cert DER)"
                p = cbor2.loads(msg.payload)
                want = {"v": 1, "dev": "IOP-000001", "ctr": ctr, "ts": now, "nonce": nonce, "svc": svc,
                        "chr": chr_, "val": val}
                assert p == want, f"payload {p!r} != {want!r}"
                res.check(name, True)
            except Exception as e:  # noqa: BLE001
                res.check(name, False, repr(e))
                continue
            bad = bytearray(data)
            bad[-5] ^= 0x40
            try:
                verify1(bytes(bad), dev)
                res.check(f"{name} (tampered must fail)", False, "tampered reading verified")
            except Exception:  # noqa: BLE001
                res.check(f"{name} (tampered must fail)", True)

    # Readings signed by pycose with the Rust-provisioned key, verified by `veil device verify`.
    state = os.path.join(tmp, "state.json")
    for alg in ["ES256", "ESP256"]:
        ctr += 1
        nonce = os.urandom(32)
        data = sign1(dev_key, dev, payload("IOP-000001", ctr, now, nonce, 0x1810, 0x2A35,
                                           bytes.fromhex("04780050005d004600")), alg)
        out = os.path.join(tmp, f"py{ctr}.cose")
        open(out, "wb").write(data)
        common = ["--trust", os.path.join(tmp, "root.cert.pem"), "--chain", os.path.join(tmp, "IOP-000001.chain.pem"),
                  out, "--nonce", nonce.hex(), "--state", state, "--now", str(now)]
        p = veil("verify", *common, check=False)
        try:
            j = json.loads(p.stdout)
            ok = p.returncode == 0 and j["status"] == "verified" and j["measurement"]["systolic"] == 120
            res.check(f"pycose->rust {alg} verified", ok, p.stdout.decode())
        except Exception as e:  # noqa: BLE001
            res.check(f"pycose->rust {alg} verified", False, repr(e))
        p = veil("verify", *common, check=False)
        try:
            j = json.loads(p.stdout)
            res.check(f"pycose->rust {alg} replay rejected", p.returncode == 1 and j["reason"] == "replayed-counter",
                      p.stdout.decode())
        except Exception as e:  # noqa: BLE001
            res.check(f"pycose->rust {alg} replay rejected", False, repr(e))

    print(f"{res.passed} passed, {res.failed} failed")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
