#!/usr/bin/env python3
"""Helpers of the moves part of the benchmark (bench/moves.sh). python3 standard library only.

  moves_util.py wait SOCKET --volume V [--volume W ...] --until replica|container-up
                [--timeout 60] [--interval 0.02]
      Polls the agent's status (the request `barge status --json` sends, on its control socket)
      every --interval s until every volume is in the state: `replica` = role replica with a
      complete standby copy (standby_snapshot set, not updating); `container-up` = container
      "up". The clock starts when this command starts (right after an agent was started, it
      includes the agent's start). Prints {ok, seconds, polls, volumes: {NAME: status}}.
  moves_util.py ledger CLUSTER DB --old NODE --new NODE [--timeout 20]
      The stand-in container's ledger (testdata/agent/container.py) after a move from OLD to
      NEW: waits until NEW has acknowledged a commit of its own (the container serves there),
      then checks that every commit OLD acknowledged is in DB (the new owner's app.db), the
      database's integrity_check, and that the container never ran twice (violations.log).
  moves_util.py size DIR
      Regular files, their apparent bytes and allocated bytes (st_blocks * 512) under DIR: a copy that is
      written, not sparse, has allocated >= apparent (give or take the last blocks).
Exit 0 when ok, 1 otherwise.
"""

import argparse
import json
import os
import socket
import sqlite3
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from repl_wait import status_socket  # noqa: E402


def status(sock):
    """The agent's status over its control socket (the same request as repl_wait.py's)."""
    return status_socket(sock)


def reached(vol, until):
    if vol is None:
        return False
    if until == "replica":
        return (vol.get("role") == "replica" and vol.get("standby_snapshot") is not None
                and not vol.get("standby_updating"))
    return vol.get("container") == "up"


def cmd_wait(a):
    t0 = time.monotonic()
    polls = 0
    last = {}
    ok = False
    while True:
        st = status(a.socket)
        polls += 1
        if st is not None:
            vols = {v.get("name"): v for v in st.get("volumes", [])}
            last = {n: vols.get(n) for n in a.volume}
            if all(reached(last[n], a.until) for n in a.volume):
                ok = True
                break
        if time.monotonic() - t0 > a.timeout:
            break
        time.sleep(a.interval)
    out = {"ok": ok, "until": a.until, "seconds": round(time.monotonic() - t0, 4), "polls": polls,
           "volumes": last}
    print(json.dumps(out))
    if not ok:
        sys.stderr.write("moves_util: %s not reached within %.0f s: %s\n" % (a.until, a.timeout, json.dumps(last)))
    return 0 if ok else 1


def acks(cluster):
    out = []
    try:
        with open(os.path.join(cluster, "acks.log")) as fh:
            for line in fh:
                parts = line.split()
                if len(parts) in (2, 3) and parts[1].isdigit():
                    out.append((parts[0], int(parts[1])))
    except OSError:
        pass
    return out


def cmd_ledger(a):
    t0 = time.monotonic()
    served = False
    while time.monotonic() - t0 < a.timeout:
        if any(node == a.new for node, _ in acks(a.cluster)):
            served = True
            break
        time.sleep(0.05)
    ledger = acks(a.cluster)
    old = [n for node, n in ledger if node == a.old]
    new = [n for node, n in ledger if node == a.new]
    db = sqlite3.connect("file:%s?mode=ro" % a.db, uri=True, timeout=10)
    rows = set(r[0] for r in db.execute("SELECT n FROM commits"))
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    missing = [n for n in old if n not in rows]
    try:
        with open(os.path.join(a.cluster, "violations.log")) as fh:
            violations = [line.strip() for line in fh if line.strip()]
    except OSError:
        violations = []
    ok = served and not missing and integrity == "ok" and not violations
    print(json.dumps({"ok": ok, "served_by_new_owner": served, "acked_by_old": len(old),
                      "acked_by_new": len(new), "rows_in_db": len(rows), "missing": len(missing),
                      "first_missing": missing[:20], "integrity": integrity,
                      "violations": violations[:20]}))
    return 0 if ok else 1


def cmd_size(a):
    files = apparent = allocated = 0
    for dp, dn, fn in os.walk(a.dir):
        for name in fn:
            st = os.lstat(os.path.join(dp, name))
            if not stat.S_ISREG(st.st_mode):
                continue
            files += 1
            apparent += st.st_size
            allocated += st.st_blocks * 512
    print(json.dumps({"dir": a.dir, "files": files, "bytes": apparent, "allocated_bytes": allocated}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("wait")
    p.add_argument("socket")
    p.add_argument("--volume", action="append", required=True)
    p.add_argument("--until", choices=("replica", "container-up"), required=True)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--interval", type=float, default=0.02)
    p = sub.add_parser("ledger")
    p.add_argument("cluster")
    p.add_argument("db")
    p.add_argument("--old", required=True)
    p.add_argument("--new", required=True)
    p.add_argument("--timeout", type=float, default=20)
    p = sub.add_parser("size")
    p.add_argument("dir")
    a = ap.parse_args()
    return {"wait": cmd_wait, "ledger": cmd_ledger, "size": cmd_size}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
