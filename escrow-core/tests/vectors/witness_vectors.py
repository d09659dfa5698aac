#!/usr/bin/env python3
"""Independent implementation (C2SP signed-note, tlog-checkpoint, tlog-cosignature, RFC 8785 for
ASCII JSON) of the issue-17 known-answer vectors: a log-signed checkpoint cosigned by three
witnesses, and a version-3 policy with its digest. Writes witness.json next to this file.
Needs the `cryptography` package. Run: python3 witness_vectors.py"""
import base64, hashlib, json, os
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

def pub(sk):
    return sk.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

def key_id(name, typ, pk):
    return hashlib.sha256(name.encode() + b"\n" + bytes([typ]) + pk).digest()[:4]

def vkey(name, typ, pk):
    return f"{name}+{key_id(name, typ, pk).hex()}+" + base64.b64encode(bytes([typ]) + pk).decode()

ORIGIN = "escrow.example/trustee/0011223344556677/1"
log = Ed25519PrivateKey.from_private_bytes(bytes([1]) * 32)
root = hashlib.sha256(b"\x00leaf").digest()  # RFC 9162 leaf hash of b"leaf": a 1-entry tree
body = f"{ORIGIN}\n1\n{base64.b64encode(root).decode()}\n"
log_sig = key_id(ORIGIN, 1, pub(log)) + log.sign(body.encode())
note = body + "\n" + f"\u2014 {ORIGIN} {base64.b64encode(log_sig).decode()}\n"

witnesses = []
cosigs = []
for i, (name, auditing) in enumerate([("witness.example/w1", False), ("witness.example/w2", False), ("witness.example/audit", True)]):
    sk = Ed25519PrivateKey.from_private_bytes(bytes([0x11 * (i + 1)]) * 32)
    t = 1764505000 + i
    msg = b"cosignature/v1\ntime " + str(t).encode() + b"\n" + body.encode()
    blob = key_id(name, 4, pub(sk)) + t.to_bytes(8, "big") + sk.sign(msg)
    cosigs.append(f"\u2014 {name} {base64.b64encode(blob).decode()}\n")
    witnesses.append({"key": vkey(name, 4, pub(sk)), "auditing": auditing, "seed_byte": 0x11 * (i + 1), "time": t})

here = os.path.dirname(os.path.abspath(__file__))
policy = {
    "version": 3,
    "authorities": [{"name": "home-secretary", "role": "issuer", "key": "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEDegx71U34i0rM8k1ilwjkjULQ7O7\nNnyw8F6r9MVR2QqEqFEnr3FBE0JBN3uxRSZ1GqaYSpsj6mMR+rL5Uj08Yg==\n-----END PUBLIC KEY-----\n"}],
    "required_roles": ["issuer"],
    "max_validity_secs": 15811200, "max_urgent_validity_secs": 432000, "clock_skew_secs": 300,
    "max_releases": None, "urgent_unapproved_secs": 0,
    "witnessing": {"quorum": 2, "auditing_required": True, "witnesses": [
        {"key": w["key"], "auditing": w["auditing"]} | ({"url": "http://127.0.0.1:9001"} if i == 0 else {})
        for i, w in enumerate(witnesses)]},
}
jcs = json.dumps(policy, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
tag = b"escrow/v1/policy-digest"
digest = hashlib.sha256(bytes([len(tag)]) + tag + jcs.encode()).hexdigest()
out = {"log_key": vkey(ORIGIN, 1, pub(log)), "note": note, "cosignatures": cosigs,
       "witnesses": witnesses, "policy": json.dumps(policy, indent=2), "policy_digest": digest}
with open(os.path.join(here, "witness.json"), "w") as f:
    json.dump(out, f, indent=2, ensure_ascii=False)
    f.write("\n")
