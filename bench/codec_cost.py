#!/usr/bin/env python3
"""What each codec costs and saves on a tree's bytes: every regular file in pieces of 64 KiB (about
barge's average chunk), each piece compressed on its own, one thread, through ctypes on Debian's
libzstd and liblz4. Prints, per codec, the seconds, MB/s and the share of bytes stored (a piece that
does not shrink is stored raw, as barge does). Not part of `make bench`: it backs the README's
note on the warm snapshot's compression cost.

    python3 bench/codec_cost.py TREE [--zstd-levels 1,-1,-3] [--lz4-accelerations 1,4]
"""
import argparse
import ctypes
import os
import time

PIECE = 64 << 10
ZSTD_C_COMPRESSION_LEVEL, ZSTD_C_HASH_LOG = 100, 102   # zstd.h's ZSTD_cParameter values


def pieces(tree):
    out = []
    for root, _, files in os.walk(tree):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                data = f.read()
            out.extend(data[i:i + PIECE] for i in range(0, len(data), PIECE))
    return out


def measure(label, parts, compress):
    total = sum(map(len, parts))
    start = time.perf_counter()
    stored = 0
    for part in parts:
        n = compress(part)
        stored += n if 0 < n < len(part) else len(part)
    seconds = time.perf_counter() - start
    print("%-12s %6.2f s %5.0f MB/s  stores %.3f of the bytes" % (label, seconds, total / seconds / 1e6, stored / total), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("--zstd-levels", default="1,-1,-3")
    ap.add_argument("--lz4-accelerations", default="1,4")
    args = ap.parse_args()
    parts = pieces(args.tree)
    print("%d pieces, %.0f MB" % (len(parts), sum(map(len, parts)) / 1e6), flush=True)

    zstd = ctypes.CDLL("libzstd.so.1")
    zstd.ZSTD_createCCtx.restype = ctypes.c_void_p
    zstd.ZSTD_compressBound.restype = ctypes.c_size_t
    zstd.ZSTD_compressCCtx.restype = ctypes.c_size_t
    zstd.ZSTD_compressCCtx.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_int]
    zstd.ZSTD_isError.argtypes = [ctypes.c_size_t]
    context = zstd.ZSTD_createCCtx()
    out = ctypes.create_string_buffer(zstd.ZSTD_compressBound(PIECE))
    for level in (int(x) for x in args.zstd_levels.split(",") if x):
        def compress(part, level=level):
            n = zstd.ZSTD_compressCCtx(context, out, len(out), part, len(part), level)
            return 0 if zstd.ZSTD_isError(n) else n
        measure("zstd %d" % level, parts, compress)

    # barge's own setting (Repository/Compression.swift): level 1 with a 2^11-entry match table.
    zstd.ZSTD_CCtx_setParameter.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
    zstd.ZSTD_compress2.restype = ctypes.c_size_t
    zstd.ZSTD_compress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    barge = zstd.ZSTD_createCCtx()
    zstd.ZSTD_CCtx_setParameter(barge, ZSTD_C_COMPRESSION_LEVEL, 1)
    zstd.ZSTD_CCtx_setParameter(barge, ZSTD_C_HASH_LOG, 11)

    def compress_barge(part):
        n = zstd.ZSTD_compress2(barge, out, len(out), part, len(part))
        return 0 if zstd.ZSTD_isError(n) else n
    measure("barge's zstd", parts, compress_barge)

    lz4 = ctypes.CDLL("liblz4.so.1")
    lz4.LZ4_compress_fast.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    out4 = ctypes.create_string_buffer(PIECE + PIECE // 255 + 16)
    for acceleration in (int(x) for x in args.lz4_accelerations.split(",") if x):
        measure("lz4 fast %d" % acceleration, parts,
                lambda part, a=acceleration: lz4.LZ4_compress_fast(part, out4, len(part), len(out4), a))


if __name__ == "__main__":
    main()
