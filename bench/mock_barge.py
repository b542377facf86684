#!/usr/bin/env python3
"""A stand-in for the barge binary, only to test the benchmark harness without a Swift build:

  BARGE=bench/mock_barge.py BENCH_SIZE_MIB=64 bash bench/run.sh

It implements the few commands run.sh uses (init, volume add, snapshot --json,
restore --target --json, --help) with whole-file, content-addressed copies. Its numbers mean
nothing. MOCK_BARGE_CORRUPT=1 flips a byte in one restored file (the harness must fail);
MOCK_BARGE_FAIL=CMD makes that command exit 1. snapshot --json reports bytes_added,
chunk_bytes_new, chunk_bytes_stored and tree_bytes_stored like barge (whole files are the
chunks, the entry list is the tree, both stored in packs/); MOCK_BARGE_OLD_JSON=1 leaves out
the chunk_/tree_ fields (older barge), MOCK_BARGE_BLOAT=N writes N unreported bytes to packs/
per snapshot (the store-growth target must fail).
"""

import hashlib
import json
import os
import shutil
import stat
import sys
import time


def fail(msg, code=1):
    print("mock-barge: " + msg, file=sys.stderr)
    sys.exit(code)


def main(argv):
    state = os.environ.get("BARGE_STATE_DIR", "/var/lib/barge")
    args = list(argv)
    if args and args[0] in ("--help", "-h", "help"):
        print("mock barge: init | volume add NAME PATH | snapshot NAME | restore NAME --target DIR")
        return 0
    if len(args) >= 2 and args[0] == "--state-dir":
        state = args[1]
        args = args[2:]
    if not args:
        fail("missing command", 2)
    want_json = "--json" in args
    args = [a for a in args if a != "--json"]
    cmd = args[0]
    if os.environ.get("MOCK_BARGE_FAIL") == cmd:
        fail("failing %s on purpose (MOCK_BARGE_FAIL)" % cmd)
    if cmd == "init":
        os.makedirs(os.path.join(state, "packs"), exist_ok=True)
        os.makedirs(os.path.join(state, "volumes"), exist_ok=True)
        open(os.path.join(state, "index.sqlite"), "a").close()
        return 0
    if cmd == "volume" and len(args) == 4 and args[1] == "add":
        with open(os.path.join(state, "volumes", args[2]), "w") as fh:
            fh.write(os.path.abspath(args[3]))
        return 0
    if cmd == "snapshot" and len(args) == 2:
        return snapshot(state, args[1], want_json)
    if cmd == "restore" and len(args) == 4 and args[2] == "--target":
        return restore(state, args[1], args[3], want_json)
    fail("unsupported: %s" % " ".join(argv), 2)


def write_blob(path, data):
    # no fsync per blob (100k small files would take a minute): snapshot() syncs once at the end
    with open(path + ".tmp", "wb") as out:
        out.write(data)
    os.rename(path + ".tmp", path)


def snapshot(state, name, want_json):
    t0 = time.time()
    root = open(os.path.join(state, "volumes", name)).read()
    packs = os.path.join(state, "packs")
    entries = []
    files = dirs = bytes_read = bytes_added = chunks = 0
    for dp, dn, fn in os.walk(root):
        dn.sort()
        for n in dn + sorted(fn):
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            e = {"path": rel, "mode": stat.S_IMODE(st.st_mode), "mtime_ns": st.st_mtime_ns}
            if stat.S_ISLNK(st.st_mode):
                e.update(type="link", target=os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                e.update(type="dir")
                dirs += 1
            else:
                with open(p, "rb") as fh:
                    data = fh.read()
                h = hashlib.sha256(data).hexdigest()
                blob = os.path.join(packs, h)
                if not os.path.exists(blob):
                    write_blob(blob, data)
                    bytes_added += len(data)
                    chunks += 1
                bytes_read += len(data)
                files += 1
                e.update(type="file", blob=h, size=len(data))
            entries.append(e)
    sdir = os.path.join(state, "snaps", name)
    os.makedirs(sdir, exist_ok=True)
    parent = None
    existing = sorted(os.listdir(sdir))
    if existing:
        parent = existing[-1][21:-5]
    sid = hashlib.sha256(json.dumps(entries).encode() + str(t0).encode()).hexdigest()
    # the "trees": the entry list, stored in packs/ like the chunks
    tree = json.dumps(entries).encode()
    write_blob(os.path.join(packs, "tree-" + sid), tree)
    bloat = int(os.environ.get("MOCK_BARGE_BLOAT", "0") or 0)
    if bloat > 0:  # unreported pack bytes: the store-growth target must fail
        write_blob(os.path.join(packs, "bloat-" + sid), b"\0" * bloat)
    record = json.dumps({"id": sid, "volume": name, "parent": parent, "tree": "tree-" + sid}).encode()
    with open(os.path.join(sdir, "%020d-%s.json" % (time.time_ns(), sid)), "wb") as fh:
        fh.write(record)
    os.sync()  # everything written above is durable before the snapshot is reported
    doc = {"id": sid, "volume": name, "parent": parent, "files": files, "dirs": dirs,
           "bytes_read": bytes_read, "bytes_added": bytes_added + len(tree) + max(bloat, 0),
           "bytes_total": sum(e.get("size", 0) for e in entries), "chunks_added": chunks,
           "duration_s": round(time.time() - t0, 3), "skipped": []}
    if os.environ.get("MOCK_BARGE_OLD_JSON") != "1":
        # whole files are the "chunks"; the mock stores them raw, without record headers
        doc.update(chunk_bytes_new=bytes_added, chunk_bytes_stored=bytes_added,
                   tree_bytes_stored=len(tree))
    print(json.dumps(doc, indent=2) if want_json else sid)
    return 0


def restore(state, name, target, want_json):
    t0 = time.time()
    sdir = os.path.join(state, "snaps", name)
    latest = sorted(os.listdir(sdir))[-1]
    record = json.load(open(os.path.join(sdir, latest)))
    entries = json.load(open(os.path.join(state, "packs", record["tree"])))
    if os.path.exists(target) and os.listdir(target):
        fail("target not empty")
    os.makedirs(target, exist_ok=True)
    written = files = dirs = 0
    corrupt = os.environ.get("MOCK_BARGE_CORRUPT") == "1"
    for e in entries:
        p = os.path.join(target, e["path"])
        if e["type"] == "dir":
            os.makedirs(p, exist_ok=True)
            dirs += 1
        elif e["type"] == "link":
            os.symlink(e["target"], p)
        else:
            shutil.copyfile(os.path.join(state, "packs", e["blob"]), p)
            if corrupt and e["size"] > 0:
                corrupt = False
                with open(p, "r+b") as fh:
                    b = fh.read(1)
                    fh.seek(0)
                    fh.write(bytes([b[0] ^ 0xFF]))
            os.chmod(p, e["mode"])
            os.utime(p, ns=(e["mtime_ns"], e["mtime_ns"]))
            written += e["size"]
            files += 1
    for e in reversed(entries):
        if e["type"] == "dir":
            p = os.path.join(target, e["path"])
            os.chmod(p, e["mode"])
            os.utime(p, ns=(e["mtime_ns"], e["mtime_ns"]))
    doc = {"snapshot": latest[21:-5], "target": target, "files": files, "dirs": dirs,
           "bytes_written": written, "duration_s": round(time.time() - t0, 3)}
    print(json.dumps(doc, indent=2) if want_json else "")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
