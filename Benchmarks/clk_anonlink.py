"""The comparison `concord bench clk` measures, through anonlink (PyPI), on the same encodings.

    python3 Benchmarks/clk_anonlink.py FILTERS THRESHOLD

FILTERS is what `concord bench clk --write-filters` writes: one 1024-bit filter per line in hex,
the left records, a blank line, the right records. Prints the comparisons per second of
anonlink's dice_coefficient_accelerated (its C++ popcount kernel, one thread), best of three,
and the pairs it kept, so the caller can check both implementations found the same pairs.
"""
import sys, time

from bitarray import bitarray
from anonlink.similarities import dice_coefficient_accelerated

path, threshold = sys.argv[1], float(sys.argv[2])
with open(path) as f:
    text = f.read()
left_text, right_text = text.strip("\n").split("\n\n")


def filters(block):
    result = []
    for line in block.split("\n"):
        bits = bitarray(endian="big")
        bits.frombytes(bytes.fromhex(line))
        result.append(bits)
    return result


left, right = filters(left_text), filters(right_text)
best = float("inf")
for _ in range(3):
    started = time.perf_counter()
    scores, (ids_left, ids_right) = dice_coefficient_accelerated([left, right], threshold)
    best = min(best, time.perf_counter() - started)
comparisons = len(left) * len(right)
print(f"anonlink: {len(left)} x {len(right)} comparisons, threshold {threshold}, {len(scores)} pairs kept")
print(f"anonlink: one core: {comparisons / best / 1e6:.1f} M comparisons/s")
