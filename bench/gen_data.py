#!/usr/bin/env python3
"""Deterministic benchmark data for barge (python3 standard library only).

Every byte comes from BLAKE2b / SHAKE-128 streams keyed by --seed and a name, so the
output is byte-identical on every run, machine and Python version (>= 3.6).
Layout decisions use a BLAKE2b-counter PRNG (not `random`), for the same reason.
The SQLite file itself also depends on the SQLite library version (header, layout).

  gen_data.py tree OUT [--size-mib 1024] [--seed 42]
  gen_data.py mutate-tree OUT [--seed 42] [--round 0]   (~1% of the small/medium files)
  gen_data.py mutate-big OUT [--seed 42]                (8 x 4 KiB in the largest file)
  gen_data.py sqlite OUT.db [--size-mib 1024] [--seed 42]
  gen_data.py mutate-sqlite OUT.db [--percent 1] [--seed 42]
  gen_data.py manyfiles OUT [--files 100000] [--dirs N] [--seed 42]   (small files, N or ~files/50 dirs)
  gen_data.py mutate-manyfiles OUT [--seed 42]          (~0.1% edited, 20 added, 20 deleted)
  gen_data.py change-tree OUT [--mib 10] [--seed 42] [--round 0]
                                                        (N MiB: half overwritten in medium files, half new files)
  gen_data.py bigfile OUT [--size-mib 1024] [--seed 42] (one file: 4 MiB extents, mixed content)
  gen_data.py mutate-bigfile OUT [--inserts 50] [--overwrites 50] [--seed 42] [--round 0]
                                                        (small inserts and overwrites, spread out)
  gen_data.py mutate-bigfile OUT --overwrite-mib 10 [--seed 42] [--round 0]
                                                        (10 x 1/10 of N MiB overwritten in place)

Each subcommand prints one JSON document on stdout describing what it did; the mutate
subcommands report `bytes_changed`, the bytes whose content the mutation changed.
"""

import argparse
import hashlib
import json
import os
import sqlite3
import struct
import sys
import time

MiB = 1 << 20
KiB = 1 << 10
BASE_MTIME = 1767225600  # 2026-01-01T00:00:00Z; generated files get fixed, old mtimes
STREAM_CHUNK = 8 * MiB


# ---------------------------------------------------------------- randomness

class Rng:
    """Counter-mode BLAKE2b PRNG: fully specified, platform independent."""

    def __init__(self, key):
        self.key = key.encode() if isinstance(key, str) else key
        self.ctr = 0
        self.buf = []

    def u64(self):
        if not self.buf:
            block = hashlib.blake2b(self.key + struct.pack("<Q", self.ctr), digest_size=64).digest()
            self.ctr += 1
            self.buf = list(struct.unpack("<8Q", block))
            self.buf.reverse()
        return self.buf.pop()

    def below(self, n):
        """Uniform integer in [0, n) (n < 2**32: modulo bias is negligible)."""
        return self.u64() % n

    def between(self, lo, hi):
        """Uniform integer in [lo, hi]."""
        return lo + self.below(hi - lo + 1)

    def unit(self):
        return (self.u64() >> 11) / float(1 << 53)

    def loguniform(self, lo, hi):
        """Integer roughly log-uniform in [lo, hi]."""
        import math
        return int(math.exp(math.log(lo) + self.unit() * (math.log(hi) - math.log(lo))))

    def choice(self, seq):
        return seq[self.below(len(seq))]

    def sample_indices(self, n, k):
        """k distinct indices of range(n), in draw order (partial Fisher-Yates)."""
        k = min(k, n)
        idx = list(range(n))
        for i in range(k):
            j = i + self.below(n - i)
            idx[i], idx[j] = idx[j], idx[i]
        return idx[:k]


def stream(key, n):
    """n deterministic pseudo-random bytes for key (SHAKE-128, in 8 MiB pieces)."""
    key = key.encode() if isinstance(key, str) else key
    if n <= STREAM_CHUNK:
        return hashlib.shake_128(key + b"#0").digest(n)
    parts = []
    i = 0
    while n > 0:
        m = min(n, STREAM_CHUNK)
        parts.append(hashlib.shake_128(key + b"#%d" % i).digest(m))
        n -= m
        i += 1
    return b"".join(parts)


def stream_pieces(key, n):
    """Same bytes as stream(key, n), yielded piece by piece (bounded memory)."""
    key = key.encode() if isinstance(key, str) else key
    i = 0
    while n > 0:
        m = min(n, STREAM_CHUNK)
        yield hashlib.shake_128(key + b"#%d" % i).digest(m)
        n -= m
        i += 1


# 16-symbol alphabet: random bytes mapped through it carry 4 bits/byte (compress ~2:1).
HALF_TABLE = bytes(b"0123456789abcdef"[i & 15] for i in range(256))

# ---------------------------------------------------------------- word list (text files)

_KEYWORDS = (
    "func let var if else for while return struct class enum case switch guard import "
    "public private static self nil true false try throw catch async await defer where "
    "int string data error value count index buffer offset length size path file chunk "
    "pack blob hash key snapshot volume store read write open close sync flush commit "
    "INFO WARN ERROR DEBUG request response client server user session token time ms "
    "the a of to in is that it with as on by this be from at or an not are was"
).split()
_PUNCT = ["{", "}", "(", ")", "=", "==", "+=", "->", ":", ";", ",", ".", "[", "]", "//", "#",
          "\"ok\"", "0", "1", "42", "0x1f", "nil)", "x", "i"]
_SYL = ["ka", "lo", "mi", "ne", "ru", "ta", "po", "si", "de", "gu", "va", "ze", "bo", "chi",
        "fen", "tor", "lin", "mar", "sel", "dro", "qua", "nix", "pre", "str"]


def _build_words():
    words = [w.encode() for w in _KEYWORDS + _PUNCT]
    # line breaks, some indented: roughly one word in eight ends a line
    breaks = [b"\n", b"\n    ", b"\n        ", b";\n", b"\n\n", b"{\n    ", b"}\n"]
    words += breaks * 75
    r = Rng("wordlist")
    while len(words) < 4096:
        n = r.between(1, 4)
        w = "".join(r.choice(_SYL) for _ in range(n))
        if r.below(4) == 0:
            w += "_" + r.choice(_SYL)
        words.append(w.encode())
    return words[:4096]


WORDS = _build_words()


def text_bytes(key, n):
    """About n bytes (exactly n) of source/log-like text from a 4096-word vocabulary."""
    if n <= 0:
        return b""
    out = []
    have = 0
    piece = 0
    while have < n:
        want_words = (n - have) // 4 + 16
        raw = hashlib.shake_128(b"%s/t%d" % (key.encode(), piece)).digest(2 * want_words)
        idx = struct.unpack("<%dH" % want_words, raw)
        s = b" ".join([WORDS[i & 4095] for i in idx])
        out.append(s)
        have += len(s)
        piece += 1
    data = b"".join(out)[:n]
    if n > 1:
        data = data[:-1] + b"\n"
    return data


# ---------------------------------------------------------------- tree

SMALL_EXT = [".swift", ".c", ".h", ".py", ".log", ".txt", ".md", ".json", ".yaml", ".sh"]
MEDIUM_EXT = [".bin", ".jpg", ".png", ".so", ".gz", ".o", ".zip"]
LARGE_EXT = [".img", ".tar", ".vmdk"]


def plan_dirs(r, n_dirs):
    """n_dirs nested directories, depth <= 4, as (relpath, depth); the root is ("", 0)."""
    dirs = [("", 0)]
    for i in range(n_dirs):
        while True:
            parent, depth = r.choice(dirs)
            if depth < 4:
                break
        name = "%s%d" % (r.choice(_SYL) + r.choice(_SYL), i)
        dirs.append((os.path.join(parent, name) if parent else name, depth + 1))
    return dirs


def plan_tree(size_mib, seed):
    """Deterministic plan: dirs, files (path, kind, size, mode, mtime), symlinks, empty dirs."""
    r = Rng("%d:tree-plan" % seed)
    total = size_mib * MiB
    scale = size_mib / 1024.0
    n_small = max(40, int(round(3600 * scale)))
    n_medium = max(4, int(round(240 * scale)))
    n_large = max(1, int(round(6 * scale)))

    n_files_est = n_small + n_medium + n_large
    n_dirs = max(6, n_files_est // 12)
    dirs = plan_dirs(r, n_dirs)

    files = []

    def place(prefix, i, ext):
        d = r.choice(dirs)[0]
        name = "%s_%s%d%s" % (prefix, r.choice(_SYL) + r.choice(_SYL), i, ext)
        return os.path.join(d, name) if d else name

    small_bytes = 0
    for i in range(n_small):
        size = r.loguniform(200, 64 * KiB)
        mode = 0o755 if r.below(20) == 0 else 0o644
        files.append({"path": place("s", i, r.choice(SMALL_EXT)), "kind": "text", "size": size,
                      "mode": mode})
        small_bytes += size
    medium_bytes = 0
    for i in range(n_medium):
        size = r.loguniform(64 * KiB, 8 * MiB)
        files.append({"path": place("m", i, r.choice(MEDIUM_EXT)), "kind": "random",
                      "size": size, "mode": 0o644})
        medium_bytes += size
    rest = max(total - small_bytes - medium_bytes, n_large * MiB)
    for i in range(n_large):
        size = rest // n_large + (rest % n_large if i == 0 else 0)
        files.append({"path": place("L", i, r.choice(LARGE_EXT)), "kind": "half",
                      "size": size, "mode": 0o644})
    for f in files:
        f["mtime"] = BASE_MTIME + r.below(365 * 86400)

    links = []
    n_links = max(2, len(files) // 200)
    for i in range(n_links):
        target = r.choice(files)["path"]
        d = r.choice(dirs)[0]
        lp = os.path.join(d, "link%d" % i) if d else "link%d" % i
        links.append((lp, os.path.relpath(target, os.path.dirname(lp) or ".")))
    # one symlink to a directory
    dtarget = dirs[1][0]
    links.append(("link_dir", dtarget))

    empties = ["empty", os.path.join(dirs[-1][0], "empty_sub")]
    return dirs, files, links, empties


def write_content(path, kind, size, key):
    with open(path, "wb") as fh:
        if kind == "text":
            fh.write(text_bytes(key, size))
        elif kind == "random":
            for piece in stream_pieces(key, size):
                fh.write(piece)
        else:  # half: compresses about 2:1
            for piece in stream_pieces(key, size):
                fh.write(piece.translate(HALF_TABLE))


def cmd_tree(args):
    t0 = time.time()
    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out):
        sys.exit("gen_data: %s exists and is not empty" % out)
    dirs, files, links, empties = plan_tree(args.size_mib, args.seed)
    os.makedirs(out, exist_ok=True)
    for d, _ in dirs[1:]:
        os.makedirs(os.path.join(out, d), exist_ok=True)
    total = 0
    for i, f in enumerate(files):
        p = os.path.join(out, f["path"])
        write_content(p, f["kind"], f["size"], "%d:file:%s" % (args.seed, f["path"]))
        os.chmod(p, f["mode"])
        os.utime(p, (f["mtime"], f["mtime"]))
        total += f["size"]
    for lp, target in links:
        p = os.path.join(out, lp)
        os.symlink(target, p)
        os.utime(p, (BASE_MTIME, BASE_MTIME), follow_symlinks=False)
    for e in empties:
        os.makedirs(os.path.join(out, e), exist_ok=True)
    # directory mtimes last, deepest first
    alld = sorted({d for d, _ in dirs} | set(empties), key=lambda s: -s.count(os.sep) - (s != ""))
    for d in alld:
        p = os.path.join(out, d) if d else out
        os.utime(p, (BASE_MTIME, BASE_MTIME))
    print(json.dumps({"tree": out, "files": len(files), "dirs": len(alld), "symlinks": len(links),
                      "bytes": total, "seconds": round(time.time() - t0, 3)}))


def list_tree(root):
    """Sorted relative paths of regular files and symlink targets (absolute) under root."""
    files = []
    link_targets = set()
    for dp, dn, fn in os.walk(root):
        dn.sort()
        for n in sorted(fn):
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                link_targets.add(os.path.normpath(os.path.join(dp, os.readlink(p))))
            elif os.path.isfile(p):
                files.append(rel)
        for n in dn:
            p = os.path.join(dp, n)
            if os.path.islink(p):  # os.walk lists dir symlinks in dn
                link_targets.add(os.path.normpath(os.path.join(dp, os.readlink(p))))
    files.sort()
    return files, link_targets


def is_large(rel):
    """The few big `half` files of the tree (named L_*): mutate-tree leaves them alone."""
    return os.path.basename(rel).startswith("L_")


def tree_totals(root):
    files = nbytes = 0
    for dp, dn, fn in os.walk(root):
        for name in fn:
            q = os.path.join(dp, name)
            if not os.path.islink(q) and os.path.isfile(q):
                files += 1
                nbytes += os.path.getsize(q)
    return files, nbytes


def cmd_mutate_tree(args):
    """A small change: ~1% of the small/medium files modified (1-8 KiB overwritten or
    appended), ~0.25% added plus one 256 KiB binary, ~0.25% deleted. The large L_* files are
    never touched (see mutate-big). --round N (N > 0) gives another, disjoint-named change of
    the same shape (new files are named new_rN_*)."""
    t0 = time.time()
    root = os.path.abspath(args.out)
    files, link_targets = list_tree(root)
    if not files:
        sys.exit("gen_data: no files under %s" % root)
    rnd = args.round
    tag = "" if rnd == 0 else ":r%d" % rnd
    r = Rng("%d:mutate-tree:%d%s" % (args.seed, len(files), tag))
    pool = [f for f in files if not is_large(f)]
    if not pool:
        sys.exit("gen_data: no small/medium files under %s" % root)
    sizes = {f: os.path.getsize(os.path.join(root, f)) for f in pool}
    n_mod = max(3, len(pool) // 100)
    n_add = max(2, len(pool) // 400)
    n_del = max(2, len(pool) // 400)

    order = r.sample_indices(len(pool), n_mod + n_del)
    chosen = [pool[i] for i in order]
    mod = chosen[:n_mod]
    rest = [f for f in chosen[n_mod:] if os.path.join(root, f) not in link_targets]
    dele = rest[:n_del]

    appended = overwritten = new_bytes = deleted_bytes = 0
    log = []
    for k, f in enumerate(mod):
        p = os.path.join(root, f)
        size = sizes[f]
        if k % 2 == 1 and size < 256 * KiB:
            n = r.between(1 * KiB, 8 * KiB)
            with open(p, "ab") as fh:
                fh.write(text_bytes("%d:append:%s%s" % (args.seed, f, tag), n))
            appended += n
            log.append(("append", f))
        else:
            n = min(size, r.between(1 * KiB, 8 * KiB))
            off = r.below(size - n + 1)
            with open(p, "r+b") as fh:
                fh.seek(off)
                fh.write(stream("%d:mut:%s%s" % (args.seed, f, tag), n))
            overwritten += n
            log.append(("overwrite", f))
    for f in dele:
        deleted_bytes += sizes[f]
        os.unlink(os.path.join(root, f))
        log.append(("delete", f))
    prefix = "new_" if rnd == 0 else "new_r%d_" % rnd
    added = 0
    for i in range(n_add):
        d = os.path.dirname(r.choice(files))
        p = os.path.join(root, d, "%s%d.txt" % (prefix, i))
        if os.path.lexists(p):
            continue
        n = r.between(1 * KiB, 32 * KiB)
        with open(p, "wb") as fh:
            fh.write(text_bytes("%d:new:%d%s" % (args.seed, i, tag), n))
        new_bytes += n
        added += 1
        log.append(("add", os.path.relpath(p, root)))
    # one new incompressible binary file
    p = os.path.join(root, os.path.dirname(r.choice(files)),
                     "new_blob.bin" if rnd == 0 else "new_blob_r%d.bin" % rnd)
    if not os.path.lexists(p):
        n = 256 * KiB
        with open(p, "wb") as fh:
            fh.write(stream("%d:newblob%s" % (args.seed, tag), n))
        new_bytes += n
        added += 1
        log.append(("add", os.path.relpath(p, root)))

    tot_files, tot_bytes = tree_totals(root)
    doc = {
        "tree": root, "round": rnd, "modified": len(mod), "added": added, "deleted": len(dele),
        "largest_modified": max((sizes[f] for f in mod), default=0),
        "bytes_appended": appended, "bytes_overwritten": overwritten,
        "bytes_new_files": new_bytes, "bytes_deleted": deleted_bytes,
        "bytes_changed": appended + overwritten + new_bytes,
        "bytes_in_modified_files": sum(sizes[f] for f in mod) + appended,
        "files_after": tot_files, "bytes_after": tot_bytes,
        "seconds": round(time.time() - t0, 3),
    }
    if args.verbose:
        doc["changes"] = [list(x) for x in log]
    print(json.dumps(doc))


def cmd_mutate_big(args):
    """8 x 4 KiB overwritten at spread-out offsets of the largest file (sub-file change
    detection: a file-level detector has to re-read the whole file)."""
    t0 = time.time()
    root = os.path.abspath(args.out)
    files, _ = list_tree(root)
    if not files:
        sys.exit("gen_data: no files under %s" % root)
    sizes = {f: os.path.getsize(os.path.join(root, f)) for f in files}
    largest = max(files, key=lambda f: (sizes[f], f))
    size = sizes[largest]
    r = Rng("%d:mutate-big:%s" % (args.seed, largest))
    n = 4 * KiB
    overwritten = 0
    offsets = []
    with open(os.path.join(root, largest), "r+b") as fh:
        for j in range(8):
            m = min(n, size)
            off = (size // 8) * j + r.below(max(1, size // 8 - m))
            off = min(off, size - m)
            fh.seek(off)
            fh.write(stream("%d:mut:%s:%d" % (args.seed, largest, j), m))
            overwritten += m
            offsets.append(off)
    tot_files, tot_bytes = tree_totals(root)
    print(json.dumps({
        "tree": root, "file": largest, "file_size": size, "edits": len(offsets),
        "offsets": offsets, "bytes_overwritten": overwritten, "bytes_changed": overwritten,
        "files_after": tot_files, "bytes_after": tot_bytes,
        "seconds": round(time.time() - t0, 3)}))


def cmd_change_tree(args):
    """A change of about --mib MiB in the tree (the replication latency test): half of it
    overwritten in place, 512 KiB at a time, in the medium/large incompressible files (m_*,
    spread over as many files as that takes, largest first), half as new incompressible
    files of 1 MiB (new_mib_rN_*.bin) in existing directories."""
    t0 = time.time()
    root = os.path.abspath(args.out)
    files, link_targets = list_tree(root)
    if not files:
        sys.exit("gen_data: no files under %s" % root)
    tag = ":r%d" % args.round
    r = Rng("%d:change-tree:%d:%d%s" % (args.seed, len(files), args.mib, tag))
    total = args.mib * MiB
    piece = 512 * KiB
    n_over = max(1, (total // 2) // piece)
    n_new = max(1, (total - n_over * piece + MiB - 1) // MiB)
    pool = sorted((f for f in files if os.path.basename(f).startswith("m_")),
                  key=lambda f: (-os.path.getsize(os.path.join(root, f)), f))
    pool = [f for f in pool if os.path.getsize(os.path.join(root, f)) >= piece] or \
        sorted(files, key=lambda f: (-os.path.getsize(os.path.join(root, f)), f))
    overwritten = 0
    touched = []
    for k in range(n_over):
        f = pool[k % len(pool)]
        p = os.path.join(root, f)
        size = os.path.getsize(p)
        n = min(piece, size)
        off = r.below(size - n + 1)
        with open(p, "r+b") as fh:
            fh.seek(off)
            fh.write(stream("%d:change-tree:%s:%d%s" % (args.seed, f, k, tag), n))
        overwritten += n
        touched.append(f)
    new_bytes = 0
    added = []
    for i in range(n_new):
        d = os.path.dirname(r.choice(files))
        p = os.path.join(root, d, "new_mib_r%d_%d.bin" % (args.round, i))
        if os.path.lexists(p):
            continue
        n = min(MiB, total - overwritten - new_bytes) or MiB
        with open(p, "wb") as fh:
            fh.write(stream("%d:change-tree-new:%d%s" % (args.seed, i, tag), n))
        new_bytes += n
        added.append(os.path.relpath(p, root))
    tot_files, tot_bytes = tree_totals(root)
    print(json.dumps({
        "tree": root, "round": args.round, "files_modified": len(set(touched)), "files_added": len(added),
        "bytes_overwritten": overwritten, "bytes_new_files": new_bytes,
        "bytes_changed": overwritten + new_bytes,
        "bytes_in_modified_files": sum(os.path.getsize(os.path.join(root, f)) for f in set(touched)),
        "files_after": tot_files, "bytes_after": tot_bytes, "seconds": round(time.time() - t0, 3)}))


# ---------------------------------------------------------------- one big file

BIG_EXTENT = 4 * MiB


def big_extent(seed, i, n):
    """Extent i of the big file: 40% incompressible, 40% 16-symbol (~2:1), 20% text."""
    k = Rng("%d:bigfile-kind:%d" % (seed, i)).below(10)
    key = "%d:bigfile:%d" % (seed, i)
    if k < 4:
        return stream(key, n)
    if k < 8:
        return stream(key, n).translate(HALF_TABLE)
    return text_bytes(key, n)


def cmd_bigfile(args):
    """One file of --size-mib MiB (a disk image, say): 4 MiB extents, each incompressible,
    16-symbol (~2:1 compressible) or text-like; fixed old mtime."""
    t0 = time.time()
    path = os.path.abspath(args.out)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    size = args.size_mib * MiB
    with open(path, "wb") as fh:
        i = off = 0
        while off < size:
            n = min(BIG_EXTENT, size - off)
            fh.write(big_extent(args.seed, i, n))
            off += n
            i += 1
    os.chmod(path, 0o644)
    os.utime(path, (BASE_MTIME, BASE_MTIME))
    os.utime(os.path.dirname(path), (BASE_MTIME, BASE_MTIME))
    print(json.dumps({"file": path, "bytes": size, "extents": i,
                      "seconds": round(time.time() - t0, 3)}))


def cmd_mutate_bigfile(args):
    """Default: --inserts small inserts (16-800 B) and --overwrites small overwrites (16-800 B)
    at spread-out places (one edit per 1/(inserts+overwrites) of the file, kinds shuffled); the
    file is rewritten (a new file renamed over it, as an editor or a tool would do).
    --overwrite-mib N: N MiB overwritten in place instead, in 10 spread-out pieces."""
    t0 = time.time()
    path = os.path.abspath(args.out)
    size = os.path.getsize(path)
    tag = "" if args.round == 0 else ":r%d" % args.round
    if args.overwrite_mib:
        r = Rng("%d:mutate-bigfile-mib:%d:%d%s" % (args.seed, size, args.overwrite_mib, tag))
        pieces = 10
        n = args.overwrite_mib * MiB // pieces
        offsets = []
        with open(path, "r+b") as fh:
            for j in range(pieces):
                seg = size // pieces
                off = min(seg * j + r.below(max(1, seg - n)), size - n)
                fh.seek(off)
                fh.write(stream("%d:bigfile-mib:%d%s" % (args.seed, j, tag), n))
                offsets.append(off)
        print(json.dumps({"file": path, "file_size": size, "mode": "overwrite", "edits": pieces,
                          "offsets": offsets, "bytes_overwritten": n * pieces,
                          "bytes_changed": n * pieces, "bytes_after": size,
                          "seconds": round(time.time() - t0, 3)}))
        return
    r = Rng("%d:mutate-bigfile:%d:%d:%d%s" % (args.seed, size, args.inserts, args.overwrites, tag))
    n_edits = args.inserts + args.overwrites
    kinds = ["insert"] * args.inserts + ["overwrite"] * args.overwrites
    order = r.sample_indices(n_edits, n_edits)
    kinds = [kinds[i] for i in order]
    seg = size // max(1, n_edits)
    edits = []
    for j, kind in enumerate(kinds):
        n = r.between(16, 800)
        off = seg * j + r.below(max(1, seg - n))
        edits.append((off, kind, stream("%d:bigfile-edit:%d%s" % (args.seed, j, tag), n)))
    tmp = path + ".gen-tmp"
    inserted = overwritten = 0
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        pos = 0
        for off, kind, data in edits:
            while pos < off:
                buf = src.read(min(STREAM_CHUNK, off - pos))
                if not buf:
                    break
                dst.write(buf)
                pos += len(buf)
            dst.write(data)
            if kind == "insert":
                inserted += len(data)
            else:
                src.seek(len(data), os.SEEK_CUR)
                pos += len(data)
                overwritten += len(data)
        while True:
            buf = src.read(STREAM_CHUNK)
            if not buf:
                break
            dst.write(buf)
        dst.flush()
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)
    print(json.dumps({"file": path, "file_size": size, "mode": "edit", "inserts": args.inserts,
                      "overwrites": args.overwrites, "offsets": [e[0] for e in edits],
                      "bytes_inserted": inserted, "bytes_overwritten": overwritten,
                      "bytes_changed": inserted + overwritten, "bytes_after": os.path.getsize(path),
                      "seconds": round(time.time() - t0, 3)}))


# ---------------------------------------------------------------- sqlite

PAGE = 4096
BATCH = 20000


def payload_batch(key, lengths):
    """Semi-compressible payloads: first half raw random, second half 16-symbol text."""
    total = sum(lengths)
    raw = hashlib.shake_128(key.encode()).digest(total)
    half = raw.translate(HALF_TABLE)
    out = []
    pos = 0
    for n in lengths:
        h = n // 2
        out.append(raw[pos:pos + h] + half[pos + h:pos + n])
        pos += n
    return out


def cmd_sqlite(args):
    t0 = time.time()
    path = os.path.abspath(args.out)
    for suffix in ("", "-journal", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    target = args.size_mib * MiB
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA page_size=%d" % PAGE)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-65536")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, tag TEXT NOT NULL, payload BLOB NOT NULL)")
    r = Rng("%d:sqlite" % args.seed)
    next_id = 1
    batch_no = 0
    while True:
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        if pages * PAGE >= target:
            break
        # rows of ~1000 B average; shrink the last batches as the target approaches
        remaining = target - pages * PAGE
        nrows = max(100, min(BATCH, remaining // 1250))
        lengths = [r.between(400, 1600) for _ in range(nrows)]
        pl = payload_batch("%d:sqlite:batch%d" % (args.seed, batch_no), lengths)
        rows = [(next_id + i, "user-%05d" % ((next_id + i) * 7919 % 100000), pl[i])
                for i in range(nrows)]
        con.execute("BEGIN")
        con.executemany("INSERT INTO t (id, tag, payload) VALUES (?, ?, ?)", rows)
        con.execute("COMMIT")
        next_id += nrows
        batch_no += 1
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    size = os.path.getsize(path)
    print(json.dumps({"db": path, "rows": next_id - 1, "bytes": size, "pages": size // PAGE,
                      "page_size": PAGE, "seconds": round(time.time() - t0, 3)}))


def page_digests(path):
    out = []
    with open(path, "rb", buffering=0) as fh:
        while True:
            buf = fh.read(256 * PAGE)
            if not buf:
                break
            for off in range(0, len(buf), PAGE):
                out.append(hashlib.blake2b(buf[off:off + PAGE], digest_size=16).digest())
    return out


def cmd_mutate_sqlite(args):
    t0 = time.time()
    path = os.path.abspath(args.out)
    before = page_digests(path)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=DELETE")
    con.execute("PRAGMA synchronous=NORMAL")
    max_id = con.execute("SELECT max(id) FROM t").fetchone()[0] or 0
    if max_id == 0:
        sys.exit("gen_data: empty database")
    # rows are ~1000 B, so ~4 consecutive ids share a page: update clusters of 4
    # consecutive rows, so that ~percent of the rows touch ~percent of the pages.
    cluster = 4
    n_rows = max(cluster, int(max_id * args.percent / 100.0))
    n_clusters = max(1, n_rows // cluster)
    tag = "" if args.round == 0 else ":r%d" % args.round
    r = Rng("%d:mutate-sqlite:%d:%s%s" % (args.seed, max_id, args.percent, tag))
    starts = sorted({1 + r.below(max(1, max_id - cluster + 1)) for _ in range(n_clusters)})
    ids = sorted({s + j for s in starts for j in range(cluster) if s + j <= max_id})
    con.execute("BEGIN")
    lens = dict(con.execute(
        "SELECT id, length(payload) FROM t WHERE id IN (%s)" % ",".join(map(str, ids))).fetchall())
    ids = [i for i in ids if i in lens]
    pl = payload_batch("%d:mutate-sqlite:%s%s" % (args.seed, args.percent, tag), [lens[i] for i in ids])
    # same length payloads: SQLite overwrites the cells in place
    con.executemany("UPDATE t SET payload = ? WHERE id = ?", [(pl[k], i) for k, i in enumerate(ids)])
    con.execute("COMMIT")
    con.close()
    after = page_digests(path)
    changed = sum(1 for i in range(max(len(before), len(after)))
                  if i >= len(before) or i >= len(after) or before[i] != after[i])
    print(json.dumps({"db": path, "rows_total": max_id, "rows_updated": len(ids),
                      "pages_total": len(after), "pages_changed": changed,
                      "bytes_changed": changed * PAGE, "bytes_after": os.path.getsize(path),
                      "seconds": round(time.time() - t0, 3)}))


# ---------------------------------------------------------------- many small files

MANY_EXT = [".swift", ".c", ".h", ".py", ".txt", ".md", ".json", ".yaml", ".cfg", ".html"]
MANY_BIN_EXT = [".bin", ".o", ".dat"]


def plan_manyfiles(n_files, seed, n_dirs=None):
    """Deterministic plan of a walk-dominated tree: n_files small files (0-4 KiB; ~6% empty,
    ~10% incompressible, the rest text-like) in about n_dirs (default n_files/50) directories, depth <= 4."""
    r = Rng("%d:many-plan:%d" % (seed, n_files))
    n_dirs = max(4, n_files // 50) if n_dirs is None else max(4, n_dirs)
    dirs = plan_dirs(r, n_dirs)
    files = []
    for i in range(n_files):
        d = r.choice(dirs)[0]
        k = r.below(100)
        if k < 6:
            kind, size = "text", 0
        elif k < 16:
            kind, size = "random", r.between(1, 4 * KiB)
        else:
            kind, size = "text", r.loguniform(16, 4 * KiB)
        ext = r.choice(MANY_BIN_EXT if kind == "random" else MANY_EXT)
        name = "f%d_%s%s" % (i, r.choice(_SYL) + r.choice(_SYL), ext)
        mode = 0o755 if r.below(20) == 0 else 0o644
        mtime = BASE_MTIME + r.below(365 * 86400)
        files.append((os.path.join(d, name) if d else name, kind, size, mode, mtime))
    return dirs, files


def cmd_manyfiles(args):
    t0 = time.time()
    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out):
        sys.exit("gen_data: %s exists and is not empty" % out)
    dirs, files = plan_manyfiles(args.files, args.seed, args.dirs)
    os.makedirs(out, exist_ok=True)
    for d, _ in dirs[1:]:
        os.makedirs(os.path.join(out, d), exist_ok=True)
    total = empty = binary = 0
    for rel, kind, size, mode, mtime in files:
        p = os.path.join(out, rel)
        key = "%d:many:%s" % (args.seed, rel)
        data = stream(key, size) if kind == "random" else text_bytes(key, size)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            if data:
                os.write(fd, data)
            os.fchmod(fd, mode)  # independent of the umask
            os.utime(fd, (mtime, mtime))
        finally:
            os.close(fd)
        total += size
        empty += size == 0
        binary += kind == "random"
    for d in sorted((d for d, _ in dirs), key=lambda s: -s.count(os.sep) - (s != "")):
        os.utime(os.path.join(out, d) if d else out, (BASE_MTIME, BASE_MTIME))
    print(json.dumps({"tree": out, "files": len(files), "dirs": len(dirs) - 1,
                      "entries": len(files) + len(dirs), "empty_files": empty,
                      "binary_files": binary, "bytes": total,
                      "max_depth": max(dp for _, dp in dirs),
                      "seconds": round(time.time() - t0, 3)}))


def cmd_mutate_manyfiles(args):
    """A small change of the many-files tree: ~0.1% of the files edited (half: 1-64 bytes
    overwritten in place; half: 1-64 bytes appended), 20 files added (0-4 KiB of text, named
    new_*), 20 deleted."""
    t0 = time.time()
    root = os.path.abspath(args.out)
    files, _ = list_tree(root)
    if not files:
        sys.exit("gen_data: no files under %s" % root)
    r = Rng("%d:mutate-many:%d" % (args.seed, len(files)))
    n_mod = max(3, len(files) // 1000)
    n_add = n_del = min(20, max(1, len(files) // 100))
    order = r.sample_indices(len(files), n_mod + n_del)
    mod = [files[i] for i in order[:n_mod]]
    dele = [files[i] for i in order[n_mod:]]
    appended = overwritten = new_bytes = deleted_bytes = 0
    for k, f in enumerate(mod):
        p = os.path.join(root, f)
        size = os.path.getsize(p)
        n = r.between(1, 64)
        if k % 2 == 1 or size == 0:
            with open(p, "ab") as fh:
                fh.write(text_bytes("%d:many-append:%s" % (args.seed, f), n))
            appended += n
        else:
            n = min(n, size)
            off = r.below(size - n + 1)
            with open(p, "r+b") as fh:
                fh.seek(off)
                fh.write(stream("%d:many-mut:%s" % (args.seed, f), n))
            overwritten += n
    for f in dele:
        p = os.path.join(root, f)
        deleted_bytes += os.path.getsize(p)
        os.unlink(p)
    added = 0
    for i in range(n_add):
        p = os.path.join(root, os.path.dirname(r.choice(files)), "new_%d.txt" % i)
        n = r.between(0, 4 * KiB)
        if os.path.lexists(p):
            continue
        with open(p, "wb") as fh:
            fh.write(text_bytes("%d:many-new:%d" % (args.seed, i), n))
        new_bytes += n
        added += 1
    tot_files, tot_bytes = tree_totals(root)
    n_dirs = sum(len(dn) for _, dn, _ in os.walk(root))
    print(json.dumps({
        "tree": root, "modified": len(mod), "added": added, "deleted": len(dele),
        "bytes_appended": appended, "bytes_overwritten": overwritten,
        "bytes_new_files": new_bytes, "bytes_deleted": deleted_bytes,
        "bytes_changed": appended + overwritten + new_bytes,
        "files_after": tot_files, "dirs_after": n_dirs, "entries_after": tot_files + n_dirs + 1,
        "bytes_after": tot_bytes, "seconds": round(time.time() - t0, 3)}))


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("tree")
    p.add_argument("out")
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--seed", type=int, default=42)
    p = sub.add_parser("mutate-tree")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--round", type=int, default=0,
                   help="0: the first change; N > 0: another change with new_rN_* names")
    p.add_argument("--verbose", action="store_true", help="list every change in the JSON")
    p = sub.add_parser("mutate-big")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=42)
    p = sub.add_parser("sqlite")
    p.add_argument("out")
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--seed", type=int, default=42)
    p = sub.add_parser("mutate-sqlite")
    p.add_argument("out")
    p.add_argument("--percent", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--round", type=int, default=0,
                   help="0: the first change; N > 0: other rows, other payloads")
    p = sub.add_parser("manyfiles")
    p.add_argument("out")
    p.add_argument("--files", type=int, default=100000)
    p.add_argument("--dirs", type=int, default=None, help="directories (default files/50)")
    p.add_argument("--seed", type=int, default=42)
    p = sub.add_parser("mutate-manyfiles")
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=42)
    p = sub.add_parser("change-tree")
    p.add_argument("out")
    p.add_argument("--mib", type=int, default=10)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--round", type=int, default=0)
    p = sub.add_parser("bigfile")
    p.add_argument("out")
    p.add_argument("--size-mib", type=int, default=1024)
    p.add_argument("--seed", type=int, default=42)
    p = sub.add_parser("mutate-bigfile")
    p.add_argument("out")
    p.add_argument("--inserts", type=int, default=50)
    p.add_argument("--overwrites", type=int, default=50)
    p.add_argument("--overwrite-mib", type=int, default=0,
                   help="overwrite this many MiB in place (10 pieces) instead of the small edits")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--round", type=int, default=0)
    args = ap.parse_args()
    {"change-tree": cmd_change_tree, "bigfile": cmd_bigfile, "mutate-bigfile": cmd_mutate_bigfile,
     "tree": cmd_tree, "mutate-tree": cmd_mutate_tree, "mutate-big": cmd_mutate_big,
     "sqlite": cmd_sqlite,
     "mutate-sqlite": cmd_mutate_sqlite, "manyfiles": cmd_manyfiles,
     "mutate-manyfiles": cmd_mutate_manyfiles}[args.cmd](args)


if __name__ == "__main__":
    main()
