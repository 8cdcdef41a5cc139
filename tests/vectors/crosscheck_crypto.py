#!/usr/bin/env python3
"""crosscheck_crypto.py: re-derives the crypto golden vectors of this
directory from docs/format.md with an independent implementation (Python's
hashlib SHA-256/HMAC and the `cryptography` package's Argon2id, ChaCha20-Poly1305
and X25519; HChaCha20 is written out below), so the vectors do not merely
agree with the C code that produced them.

Usage: python3 tests/vectors/crosscheck_crypto.py [vectors-dir]
Exit status 0 when every vector matches.  Not run by CTest: the package it
needs is optional.
"""
import hashlib
import hmac
import os
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives import serialization

DIR = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("MISMATCH:", what)


def fields(name):
    out = {}
    with open(os.path.join(DIR, name)) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                k, _, v = line.partition(" ")
                out[k] = v
    return out


def mac_h(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def h(msg):
    return hashlib.sha256(msg).digest()


def _rotl(x, n):
    return ((x << n) & 0xFFFFFFFF) | (x >> (32 - n))


def _qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xFFFFFFFF; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xFFFFFFFF; s[b] = _rotl(s[b] ^ s[c], 7)


def hchacha20(key, nonce16):
    s = list(struct.unpack("<4I", b"expand 32-byte k"))
    s += list(struct.unpack("<8I", key)) + list(struct.unpack("<4I", nonce16))
    for _ in range(10):
        _qr(s, 0, 4, 8, 12); _qr(s, 1, 5, 9, 13)
        _qr(s, 2, 6, 10, 14); _qr(s, 3, 7, 11, 15)
        _qr(s, 0, 5, 10, 15); _qr(s, 1, 6, 11, 12)
        _qr(s, 2, 7, 8, 13); _qr(s, 3, 4, 9, 14)
    return struct.pack("<8I", *(s[0:4] + s[12:16]))


def xchacha_open(key, nonce24, ct, ad):
    sub = hchacha20(key, nonce24[:16])
    return ChaCha20Poly1305(sub).decrypt(b"\0" * 4 + nonce24[16:], ct, ad)


def check_gear():
    key = bytes(range(32))
    rows = {}
    with open(os.path.join(DIR, "gear_v1.txt")) as f:
        for line in f:
            if not line.startswith("#"):
                i, v = line.split()
                rows[int(i)] = int(v, 16)
    check(len(rows) == 256, "gear_v1.txt has 256 rows")
    for i in range(256):
        mac = mac_h(key, b"cairn-gear-v1" + bytes([i]))
        check(rows.get(i) == struct.unpack("<Q", mac[:8])[0], "gear[%d]" % i)


def check_chunkid():
    n = 0
    with open(os.path.join(DIR, "chunkid_v1.txt")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            k, m, want = line.split()
            m = b"" if m == "-" else bytes.fromhex(m)
            got = h(m) if k == "-" else mac_h(bytes.fromhex(k), m)
            check(got.hex() == want, "chunkid line %d" % n)
            n += 1
    check(n == 16, "chunkid_v1.txt has 16 lines")


def check_envelope():
    t = fields("envelope_v1.txt")
    with open(os.path.join(DIR, "envelope_v1.bin"), "rb") as f:
        b = f.read()
    magic = t["magic"].encode()
    check(b[:8] == magic, "envelope magic")
    pt = xchacha_open(bytes.fromhex(t["key"]), b[8:32], b[32:], magic)
    check(pt.hex() == t["plaintext"], "envelope plaintext")


def check_keyfile():
    import json
    t = fields("keyfile_v1.expected")
    with open(os.path.join(DIR, "keyfile_v1.json"), "rb") as f:
        kf = json.loads(f.read())
    kdf = kf["kdf"]
    check(kdf["algorithm"] == "argon2id13", "kdf algorithm")
    for k in ("created", "hostname", "username"):
        check(kf[k] == t[k], k)
    kek = Argon2id(salt=bytes.fromhex(kdf["salt"]), length=32,
                   iterations=kdf["opslimit"], lanes=1,
                   memory_cost=kdf["memlimit"] // 1024).derive(
                       bytes.fromhex(t["password"]))
    block = xchacha_open(kek, bytes.fromhex(kf["nonce"]),
                         bytes.fromhex(kf["payload"]), b"cairn-key-v1")
    check(len(block) == 232, "block length")
    check(block[0:4] == b"CMK1" and block[4] == 1, "block magic/version")
    check(block[5:6].hex() == t["flags"] and block[6:8] == b"\0\0", "flags")
    offs = [("repo_id", 8), ("config_hash", 40), ("chunk_id_key", 72),
            ("chunker_key", 104), ("meta_key", 136), ("data_pk", 168),
            ("data_sk", 200)]
    for name, off in offs:
        check(block[off:off + 32].hex() == t[name], name)
    pk = X25519PrivateKey.from_private_bytes(block[200:232]).public_key()
    raw = pk.public_bytes(serialization.Encoding.Raw,
                          serialization.PublicFormat.Raw)
    check(raw == block[168:200], "data_pk is the public half of data_sk")


check_gear()
check_chunkid()
check_envelope()
check_keyfile()
print("crosscheck_crypto: %s" % ("ok" if failures == 0 else "%d mismatches" % failures))
sys.exit(1 if failures else 0)
