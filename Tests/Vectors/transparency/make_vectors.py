#!/usr/bin/env python3
"""Test vectors for concord-tlog/1 (docs/transparency-log.md), computed straight from the
recursive definitions of RFC 6962 section 2.1 with nothing but hashlib, so that they are
independent of the Swift code they test. The checkpoint's Ed25519 signature needs the
`cryptography` package (python3-cryptography on Debian).

    python3 Tests/Vectors/transparency/make_vectors.py > Tests/Vectors/transparency/vectors.json
"""
import base64
import hashlib
import json

# The leaves of the certificate-transparency project's Merkle tree tests, and one audit entry.
LEAVES = [bytes.fromhex(h) for h in
          ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]]
LEAVES.append(b'{"action":"agency.add","actor":"operator:ana","at":"2025-01-02T03:04:05.000006Z",'
              b'"details":{"name":"Essex"},"outcome":"ok","seq":9,"subject":"essex"}')


def sha256(data):
    return hashlib.sha256(data).digest()


def mth(leaves):
    """MTH(D[n]) of RFC 6962 section 2.1."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return sha256(b"\x00" + leaves[0])
    k = split(n)
    return sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:]))


def split(n):
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def path(m, leaves):
    """PATH(m, D[n]) of RFC 6962 section 2.1.1: the inclusion proof of leaf m."""
    n = len(leaves)
    if n == 1:
        return []
    k = split(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, complete):
    """SUBPROOF(m, D[n], b) of RFC 6962 section 2.1.2."""
    n = len(leaves)
    if m == n:
        return [] if complete else [mth(leaves)]
    k = split(n)
    if m <= k:
        return subproof(m, leaves[:k], complete) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def hexes(hashes):
    return [h.hex() for h in hashes]


def checkpoint_vector():
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization

    seed = bytes(range(32))
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # The hub's key id, as concord-public-key/1 defines it (docs/envelope.md, section 4).
    key_id = "hs-" + sha256(b"concord-public-key-id-v1\x00hub-signing\x00" + public)[:8].hex()
    origin = "concord-audit/" + key_id
    size = len(LEAVES)
    root = mth(LEAVES)
    body = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\ntime 2026-11-22T06:20:06Z\n"
    # C2SP signed-note: key hash = SHA-256(name || 0x0A || 0x01 || public key)[:4].
    key_hash = sha256(origin.encode() + b"\n\x01" + public)[:4]
    signature = key.sign(body.encode())
    note = body + "\n" + f"\u2014 {origin} {base64.b64encode(key_hash + signature).decode()}\n"
    return {
        "seed_hex": seed.hex(),
        "public_key_line": f"concord-public-key/1 hub-signing hub {base64.b64encode(public).decode()}",
        "key_id": key_id,
        "origin": origin,
        "size": size,
        "root_hex": root.hex(),
        "time": "2026-11-22T06:20:06Z",
        "key_hash_hex": key_hash.hex(),
        "note": note,
    }


def main():
    n_max = len(LEAVES)
    vectors = {
        "format": "concord-tlog/1 test vectors",
        "leaves_hex": [leaf.hex() for leaf in LEAVES],
        "leaf_hashes": [sha256(b"\x00" + leaf).hex() for leaf in LEAVES],
        "roots": [mth(LEAVES[:n]).hex() for n in range(0, n_max + 1)],
        "inclusion": [
            {"index": m, "size": n, "path": hexes(path(m, LEAVES[:n]))}
            for n in range(1, n_max + 1) for m in range(n)
        ],
        "consistency": [
            {"first": m, "second": n, "proof": hexes(subproof(m, LEAVES[:n], True))}
            for n in range(1, n_max + 1) for m in range(1, n + 1)
        ],
        "checkpoint": checkpoint_vector(),
    }
    print(json.dumps(vectors, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
