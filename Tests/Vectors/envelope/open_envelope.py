#!/usr/bin/env python3
"""A second, independent opener for concord-envelope/1, written from docs/envelope.md and
RFC 9180 alone (HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM), with the
`cryptography` package's X25519, Ed25519 and AES-GCM primitives. It proves the spec is enough to
interoperate, and is checked against Tests/Vectors/envelope/vector.json by the test suite.

    open_envelope.py VECTOR.json          # open the vector's envelope and compare with its payload
"""
import hashlib, hmac, json, struct, sys, base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAGIC = b"CONCORD\x00"
KEM_ID, KDF_ID = 0x0020, 0x0001
AEADS = {1: (0x0002, AESGCM), 2: (0x0003, ChaCha20Poly1305)}


def extract(salt, ikm):
    return hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()


def expand(prk, info, length):
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def labeled_extract(suite_id, salt, label, ikm):
    return extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def labeled_expand(suite_id, prk, label, info, length):
    return expand(prk, struct.pack(">H", length) + b"HPKE-v1" + suite_id + label + info, length)


def hpke_base_recipient(sk_r, enc, info, aead_id):
    """RFC 9180 section 4.1 (Decap) and 5.1 (KeySchedule, mode_base): returns key, base nonce."""
    kem_suite = b"KEM" + struct.pack(">H", KEM_ID)
    dh = sk_r.exchange(X25519PublicKey.from_public_bytes(enc))
    pk_rm = sk_r.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    eae_prk = labeled_extract(kem_suite, b"", b"eae_prk", dh)
    shared_secret = labeled_expand(kem_suite, eae_prk, b"shared_secret", enc + pk_rm, 32)
    suite = b"HPKE" + struct.pack(">HHH", KEM_ID, KDF_ID, aead_id)
    context = b"\x00" + labeled_extract(suite, b"", b"psk_id_hash", b"") + labeled_extract(suite, b"", b"info_hash", info)
    secret = labeled_extract(suite, shared_secret, b"secret", b"")
    return labeled_expand(suite, secret, b"key", context, 32), labeled_expand(suite, secret, b"base_nonce", context, 12)


def open_envelope(data, hub_private_key, agency_public_keys):
    """Returns (manifest dict, plaintext); raises ValueError naming what is wrong."""
    if data[:8] != MAGIC:
        raise ValueError("not an envelope")
    version, suite_id, chunk_size, manifest_length = struct.unpack(">HHII", data[8:20])
    if version != 1 or suite_id not in AEADS or not 4096 <= chunk_size <= 1 << 24 or not 2 <= manifest_length <= 1 << 20:
        raise ValueError("unsupported or invalid header")
    header_end = 20 + manifest_length
    header = data[:header_end]
    manifest_bytes = data[20:header_end]
    manifest = json.loads(manifest_bytes)
    canonical = json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if canonical != manifest_bytes:
        raise ValueError("manifest not canonical")
    signature = data[header_end:header_end + 64]
    agency_public_keys[manifest["agency"]].verify(signature, b"concord-envelope-v1 header\x00" + header)
    enc = data[header_end + 64:header_end + 96]
    aead_id, aead_class = AEADS[suite_id]
    info = b"concord-envelope-v1 payload\x00" + hashlib.sha256(header).digest()
    key, base_nonce = hpke_base_recipient(hub_private_key, enc, info, aead_id)
    aead = aead_class(key)
    chunks = data[header_end + 96:]
    wire = chunk_size + 16
    count = max(1, -(-len(chunks) // wire))
    plaintext = b""
    for index in range(count):
        chunk = chunks[index * wire:(index + 1) * wire]
        last = index == count - 1
        nonce = (int.from_bytes(base_nonce, "big") ^ index).to_bytes(12, "big")
        aad = b"concord-envelope-v1 chunk\x00" + struct.pack(">QB", index, 1 if last else 0)
        plaintext += aead.decrypt(nonce, chunk, aad)
    if len(plaintext) != manifest["payload_bytes"] or hashlib.sha256(plaintext).hexdigest() != manifest["payload_sha256"]:
        raise ValueError("payload does not match the manifest")
    return manifest, plaintext


def main():
    vector = json.load(open(sys.argv[1]))
    hub = X25519PrivateKey.from_private_bytes(bytes.fromhex(vector["hub_x25519_private_key"]))
    agency = Ed25519PublicKey.from_public_bytes(bytes.fromhex(vector["agency_ed25519_public_key"]))
    envelope = base64.b64decode(vector["envelope_base64"])
    manifest, plaintext = open_envelope(envelope, hub, {vector["agency"]: agency})
    assert hashlib.sha256(envelope[:20 + len(vector["manifest"].encode())]).hexdigest() == vector["header_digest"], "header digest"
    assert json.dumps(manifest, sort_keys=True, separators=(",", ":"), ensure_ascii=False) == vector["manifest"], "manifest"
    assert plaintext == vector["payload"].encode(), "payload"
    tampered = bytearray(envelope)
    tampered[-1] ^= 1
    try:
        open_envelope(bytes(tampered), hub, {vector["agency"]: agency})
        raise SystemExit("a tampered envelope opened")
    except Exception as error:
        if isinstance(error, SystemExit):
            raise
    print(f"ok: {manifest['rows']} rows, {len(plaintext)} bytes, in {max(1, -(-(len(envelope) - 116 - len(vector['manifest'].encode())) // (vector['chunk_size'] + 16)))} chunks")


if __name__ == "__main__":
    main()
