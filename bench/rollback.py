#!/usr/bin/env python3
"""Roll-back downtime (issue 9): a live 1 GiB volume rolled back, through its
owner's agent, to a snapshot that differs by 10 MiB, with stop and start hooks;
the downtime is the agent's own measure from the stop hook's start to the start
hook's end (`barge restore --in-place --json`: downtime_seconds), the replica's
standby copy follows afterwards. Standard library only; agents as in gc.py.

The data is generated (one file of random bytes, rewritten in random 4 KiB pages
as a database would be): a roll-back's cost depends on the bytes that differ and
the size of the volume, not on what the bytes are.
"""
import argparse
import hashlib
import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realfiles  # noqa: E402  (drop_caches)

# bench/gc.py by path: `import gc` would find Python's own gc module.
_spec = importlib.util.spec_from_file_location("bench_gc", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gc.py"))
gcpart = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gcpart)


class RollbackAgents(gcpart.Agents):
    """gc.py's two agents, with a `db` volume owned by d0 and hooks that log to a file."""

    def __init__(self, barge, work, small, port, db):
        super().__init__(barge, work, small, port)
        self.db = db
        os.makedirs(os.path.join(work, "d1", "vols", "db"), exist_ok=True)

    def extra_volumes(self, n):
        path = self.db if n == "d0" else os.path.join(self.work, "d1", "vols", "db")
        log = os.path.join(self.work, "hooks.log")
        return ['[[volume]]', 'name = "db"', 'path = "%s"' % path, 'owner = "d0"', 'replicas = ["d1"]', 'interval = "1h"',
                '[volume.hooks]', 'start = "echo start >> %s"' % log, 'stop = "echo stop >> %s"' % log, 'timeout = "30s"']


def barge_json(barge, *args):
    r = subprocess.run([barge, *args, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("barge %s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.strip()[-2000:]))
    return json.loads(r.stdout)


def rewrite_pages(path, total_bytes, seed):
    rng = random.Random(seed)
    size = os.path.getsize(path)
    pages = size // 4096
    with open(path, "r+b") as f:
        for page in rng.sample(range(pages), total_bytes // 4096):
            f.seek(page * 4096)
            f.write(rng.randbytes(4096))
        f.flush()
        os.fsync(f.fileno())


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--change-mib", type=int, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--port", type=int, default=27760)
    args = ap.parse_args()
    barge = os.path.abspath(args.barge) if os.sep in args.barge else shutil.which(args.barge) or args.barge
    work = os.path.abspath(args.work)
    if os.path.exists(work):
        shutil.rmtree(work)
    os.makedirs(work)
    small = os.path.join(work, "d0", "vols", "small")
    db = os.path.join(work, "d0", "vols", "db")
    os.makedirs(small)
    os.makedirs(db)
    with open(os.path.join(small, "f"), "w") as f:
        f.write("small\n")
    rng = random.Random(20261206)
    with open(os.path.join(db, "db.bin"), "wb") as f:
        for _ in range(args.size_mib):
            f.write(rng.randbytes(1 << 20))
    out = open(args.results, "a")
    agents = RollbackAgents(barge, work, small, args.port, db)
    errors, runs = [], []
    try:
        agents.start()
        sock = agents.sock("d0")
        first = barge_json(barge, "snapshot", "db", "--socket", sock)["id"]
        barge_json(barge, "replicate", "db", "--socket", sock)
        digest_first = sha256(os.path.join(db, "db.bin"))
        rewrite_pages(os.path.join(db, "db.bin"), args.change_mib << 20, 7)
        second = barge_json(barge, "snapshot", "db", "--socket", sock)["id"]
        barge_json(barge, "replicate", "db", "--socket", sock)
        digest_second = sha256(os.path.join(db, "db.bin"))
        targets = [(first, digest_first), (second, digest_second)]
        for run in range(args.runs):
            snapshot, digest = targets[run % 2]
            realfiles.drop_caches()
            started = time.monotonic()
            report = barge_json(barge, "restore", "db", "--snapshot", snapshot, "--in-place", "--socket", sock)
            wall = time.monotonic() - started
            ok = sha256(os.path.join(db, "db.bin")) == digest
            if not ok:
                errors.append("run %d: db.bin is not the snapshot's content after the roll-back" % run)
            replicated = all(p.get("ok") for p in ((report.get("replication") or {}).get("peers") or []))
            runs.append({"downtime": report.get("downtime_seconds"), "wall": wall, "seconds": report.get("seconds"),
                         "bytes_written": report.get("bytes_written"), "content_ok": ok, "replicated": replicated,
                         "problems": report.get("problems")})
            print("run %d: roll-back to %s: downtime %.3f s, whole command %.2f s, %d bytes written, replicas %s"
                  % (run, snapshot[:12], report.get("downtime_seconds") or -1, wall, report.get("bytes_written") or 0,
                     "follow" if replicated else "FAILED"), flush=True)
        verify = subprocess.run([barge, "verify", "--read-data", "--state-dir", agents.state("d0")], capture_output=True, text=True)
        if verify.returncode != 0:
            errors.append("verify --read-data of d0 failed: %s" % verify.stderr.strip()[-500:])
    except Exception as e:  # noqa: BLE001 - every failure is reported in the results
        errors.append(str(e))
    finally:
        agents.stop()
    downtimes = sorted(r["downtime"] for r in runs if r["downtime"] is not None)
    doc = {"name": "rollback", "tool": "barge", "size_mib": args.size_mib, "change_mib": args.change_mib, "runs": runs,
           "downtime_median": downtimes[len(downtimes) // 2] if downtimes else None,
           "downtime_min": downtimes[0] if downtimes else None, "downtime_max": downtimes[-1] if downtimes else None,
           "errors": errors}
    out.write(json.dumps(doc) + "\n")
    out.close()
    for e in errors:
        print("rollback bench: ERROR: %s" % e, file=sys.stderr, flush=True)
    if not errors:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
