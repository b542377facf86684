#!/usr/bin/env python3
"""Independent reference of barge's FastCDC (normalized chunking, level 2).

Regenerates vectors.json: `python3 fastcdc_reference.py > vectors.json`.
Input data and the gear table both come from SplitMix64, so any language can
rebuild them; the Swift tests must produce exactly these cut points.
"""
import json

MASK64 = (1 << 64) - 1


def splitmix64(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


GEAR_SEED = 0x6261726765204344  # "barge CD"
_gen = splitmix64(GEAR_SEED)
GEAR = [next(_gen) for _ in range(256)]


def data(seed, length):
    """length bytes: each SplitMix64 output little-endian, then truncated."""
    out = bytearray()
    gen = splitmix64(seed)
    while len(out) < length:
        out += next(gen).to_bytes(8, "little")
    return bytes(out[:length])


def low_entropy(seed, length):
    """Text-like data: a small alphabet, so cut points depend on repeats."""
    gen = splitmix64(seed)
    alphabet = b"abc \n"
    return bytes(alphabet[next(gen) % len(alphabet)] for _ in range(length))


def high_mask(bits):
    return ((1 << bits) - 1) << (64 - bits)


def cut(buf, start, end, avg):
    minimum, maximum = avg // 4, avg * 4
    count = end - start
    if count <= minimum:
        return count
    bits = avg.bit_length() - 1
    mask_s, mask_l = high_mask(bits + 2), high_mask(bits - 2)
    n = min(count, maximum)
    normal = min(n, avg)
    fp = 0
    i = minimum
    while i < normal:
        fp = ((fp << 1) + GEAR[buf[start + i]]) & MASK64
        i += 1
        if fp & mask_s == 0:
            return i
    while i < n:
        fp = ((fp << 1) + GEAR[buf[start + i]]) & MASK64
        i += 1
        if fp & mask_l == 0:
            return i
    return n


def lengths(buf, avg):
    out, pos = [], 0
    while pos < len(buf):
        n = cut(buf, pos, len(buf), avg)
        out.append(n)
        pos += n
    return out


CASES = [
    ("random", 1, 0, 65536),
    ("random", 2, 1, 65536),
    ("random", 3, 16383, 65536),
    ("random", 4, 16385, 65536),
    ("random", 5, 300000, 65536),
    ("random", 6, 2 * 1024 * 1024, 65536),
    ("random", 7, 1024 * 1024, 4096),
    ("random", 8, 1024 * 1024, 16384),
    ("random", 9, 3 * 1024 * 1024, 1048576),
    ("zeros", 0, 1024 * 1024, 65536),
    ("text", 10, 512 * 1024, 8192),
]

if __name__ == "__main__":
    vectors = []
    for kind, seed, length, avg in CASES:
        if kind == "random":
            buf = data(seed, length)
        elif kind == "zeros":
            buf = bytes(length)
        else:
            buf = low_entropy(seed, length)
        vectors.append({"kind": kind, "seed": seed, "length": length, "average": avg, "cuts": lengths(buf, avg)})
    print(json.dumps({"about": "FastCDC cut lengths from fastcdc_reference.py; gear = SplitMix64(0x6261726765204344)",
                      "vectors": vectors}, indent=1))
