"""A second, independent implementation of `concord-clk/1` (docs/pprl.md) in plain Python, which
writes the test vectors (vectors.json) the Swift suite checks the encoder against.

    python3 Tests/Vectors/clk/make_vectors.py > Tests/Vectors/clk/vectors.json
"""
import base64, hashlib, hmac, json

SCHEME = b"concord-clk/1"
# The standard parameters (docs/pprl.md, section 3): feature, component, tokenisation, k.
FEATURES = [("surname", "surname", "bigrams", 12), ("forename", "forename_canonical", "bigrams", 12),
            ("date_of_birth", "date_of_birth", "date_positions", 8), ("postcode", "postcode", "postcode_positions", 4)]
BLOCKS = [("clk_b1", ["surname_soundex", "birth_year"]), ("clk_b2", ["date_of_birth"])]


def hkdf(key: bytes, info: str) -> bytes:
    prk = hmac.new(SCHEME, key, hashlib.sha256).digest()
    return hmac.new(prk, info.encode() + b"\x01", hashlib.sha256).digest()


def tokens(value: str, kind: str) -> list[str]:
    if kind == "bigrams":
        padded = "_" + value + "_"
        return [padded[i:i + 2] for i in range(len(padded) - 1)]
    if kind == "date_positions":
        return [f"{i + 1}:{d}" for i, d in enumerate(c for c in value if c.isdigit())]
    outward, inward = value.split(" ")
    return [f"o{i + 1}:{c}" for i, c in enumerate(outward)] + [f"i{i + 1}:{c}" for i, c in enumerate(inward)]


def clk(key: bytes, values: dict) -> bytes:
    unfolded = 0  # bit i of the 2048 is bit (2047 - i) of this integer: bit 0 first
    for name, component, kind, k in FEATURES:
        if values.get(component) is None:
            continue
        feature_key = hkdf(key, "feature:" + name)
        for token in tokens(values[component], kind):
            mac = hmac.new(feature_key, token.encode(), hashlib.sha256).digest()
            for j in range(k):
                unfolded |= 1 << (2047 - (int.from_bytes(mac[2 * j:2 * j + 2], "big") % 2048))
    folded = (unfolded >> 1024) ^ (unfolded & ((1 << 1024) - 1))
    return folded.to_bytes(128, "big")


def lp(s: str) -> bytes:
    b = s.encode()
    return len(b).to_bytes(4, "big") + b


def blocking_tokens(key: bytes, version: int, values: dict) -> list:
    block_key = hkdf(key, "blocking")
    result = []
    for name, components in BLOCKS:
        if any(values.get(c) is None for c in components):
            result.append(None)
            continue
        message = lp("concord-match-key-v1") + lp(name) + lp(str(version))
        for c in components:
            message += lp(c) + lp(values[c])
        mac = hmac.new(block_key, message, hashlib.sha256).digest()
        result.append(f"k{version}:" + base64.urlsafe_b64encode(mac).rstrip(b"=").decode())
    return result


def dice(a: bytes, b: bytes) -> float:
    x, y = int.from_bytes(a, "big"), int.from_bytes(b, "big")
    total = bin(x).count("1") + bin(y).count("1")
    return 2 * bin(x & y).count("1") / total if total else 0.0


RECORDS = [
    {"surname": "OBRIEN", "forename_canonical": "ZOE", "date_of_birth": "2014-03-05", "postcode": "CM1 1AA",
     "surname_soundex": "O165", "birth_year": "2014"},
    {"surname": "OBRIAN", "forename_canonical": "ZOE", "date_of_birth": "2014-03-05", "postcode": "CM1 1AA",
     "surname_soundex": "O165", "birth_year": "2014"},
    {"surname": "SMITHJONES", "forename_canonical": "WILLIAM", "date_of_birth": "1980-07-21", "postcode": "B33 8TH",
     "surname_soundex": "S532", "birth_year": "1980"},
    {"surname": "SMITH", "forename_canonical": "WILLIAM", "date_of_birth": "1980-07-21", "postcode": "B33 8TH",
     "surname_soundex": "S530", "birth_year": "1980"},
    {"surname": "ΠΑΠΑΔΟΠΟΥΛΟΥ", "forename_canonical": "ΣΟΦΙΑ", "date_of_birth": "2001-12-31", "postcode": None,
     "surname_soundex": None, "birth_year": "2001"},
]

if __name__ == "__main__":
    key, version = bytes(range(32)), 1
    encodings = [clk(key, r) for r in RECORDS]
    vectors = {
        "key_base64": base64.b64encode(key).decode(), "key_version": version,
        "records": [{"values": r, "clk_hex": e.hex(), "bits": bin(int.from_bytes(e, "big")).count("1"),
                     "blocking_tokens": blocking_tokens(key, version, r)} for r, e in zip(RECORDS, encodings)],
        "dice": [{"a": a, "b": b, "dice": round(dice(encodings[a], encodings[b]), 6)} for a, b in [(0, 1), (2, 3), (0, 2), (0, 4)]],
        "tokens": {"SMITH": tokens("SMITH", "bigrams"), "1980-07-21": tokens("1980-07-21", "date_positions"),
                   "CM1 1AA": tokens("CM1 1AA", "postcode_positions")},
    }
    print(json.dumps(vectors, indent=2, ensure_ascii=False))
