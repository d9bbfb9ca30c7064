#!/usr/bin/env python3
"""An independent verifier of a Concord audit log against kept checkpoints (concord-tlog/1,
docs/transparency-log.md): shares no code with the hub. Reads the entries' `content`, one per
line in seq order, as psql prints them:

    psql "$DATABASE_URL" -Atc "SELECT content FROM audit_log ORDER BY seq" \
        | python3 verify_log.py --hub-key hub-signing.pub kept/*.note

Checks each entry's seq follows the last, recomputes the Merkle tree (RFC 6962, hashlib only) and
holds its root at each checkpoint's size to the checkpoint's, after checking the checkpoint's
Ed25519 signature (which needs the `cryptography` package). Exits 1 at the first problem.
"""
import argparse
import base64
import hashlib
import json
import sys


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(stack):
    """The root of a tree from its complete subtrees, left to right (empty tree: SHA-256 of nothing)."""
    result = None
    for _, h in reversed(stack):
        result = h if result is None else node_hash(h, result)
    return result if result is not None else hashlib.sha256(b"").digest()


def read_checkpoint(path, hub_key_line):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    text = open(path, encoding="utf-8").read()
    body, _, signatures = text.partition("\n\n")
    body += "\n"
    origin, size, root_b64, time_line = body.split("\n")[:4]
    _, kind, _, key_b64 = hub_key_line.split()
    public = base64.b64decode(key_b64)
    key_id = "hs-" + hashlib.sha256(b"concord-public-key-id-v1\x00hub-signing\x00" + public).digest()[:8].hex()
    if kind != "hub-signing" or origin != "concord-audit/" + key_id:
        sys.exit(f"{path}: the checkpoint is of log {origin}, not of the hub key given")
    key_hash = hashlib.sha256(origin.encode() + b"\n\x01" + public).digest()[:4]
    for line in signatures.splitlines():
        parts = line.split(" ")
        if len(parts) == 3 and parts[0] == "\u2014" and parts[1] == origin:
            blob = base64.b64decode(parts[2])
            if blob[:4] == key_hash:
                Ed25519PublicKey.from_public_bytes(public).verify(blob[4:], body.encode())
                return int(size), base64.b64decode(root_b64), time_line[5:]
    sys.exit(f"{path}: no signature by the hub key")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hub-key", required=True, help="file with the hub's concord-public-key/1 hub-signing line")
    parser.add_argument("checkpoints", nargs="*")
    arguments = parser.parse_args()
    hub_key = open(arguments.hub_key, encoding="utf-8").read().strip()
    checkpoints = sorted(read_checkpoint(path, hub_key) for path in arguments.checkpoints)
    stack, size, matched = [], 0, 0
    for line in sys.stdin.buffer:
        content = line.rstrip(b"\n")
        seq = json.loads(content)["seq"]
        if seq != size + 1:
            sys.exit(f"entry {size + 1}: the entry read has seq {seq}")
        stack.append((0, leaf_hash(content)))
        while len(stack) >= 2 and stack[-1][0] == stack[-2][0]:
            (level, right), (_, left) = stack.pop(), stack.pop()
            stack.append((level + 1, node_hash(left, right)))
        size += 1
        while checkpoints and checkpoints[0][0] == size:
            _, expected, time = checkpoints.pop(0)
            if root(stack) != expected:
                sys.exit(f"entries up to {size} do not hash to the root of the checkpoint of size {size} signed at {time}")
            matched += 1
    if checkpoints:
        sys.exit(f"the log ends at entry {size}, but a checkpoint of size {checkpoints[0][0]} holds more")
    print(f"ok: {size} entries, root {base64.b64encode(root(stack)).decode()}, {matched} checkpoint(s) matched")


if __name__ == "__main__":
    main()
