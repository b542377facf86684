#!/usr/bin/env python3
"""Time one replication until the replica's standby copy holds the snapshot.

  repl_wait.py BARGE OWNER_SOCKET REPLICA_SOCKET VOLUME SNAPSHOT_ID [--interval 0.02] [--timeout 300]

Starts `BARGE replicate VOLUME --socket OWNER_SOCKET --json` and, from the same instant, runs
`BARGE status --socket REPLICA_SOCKET --json` every --interval seconds (start to start) until the
replica reports VOLUME's `standby_snapshot` == SNAPSHOT_ID (and not `standby_updating`), and the
replicate command has exited. Prints one JSON document:
  replicate_s  start -> replicate command exited (its own wall time)
  standby_s    start -> the first status that showed the standby at SNAPSHOT_ID
  polls, poll_s_mean (wall time of one status call), replicate (its --json), standby (the volume's
  status at the end), rc
Exit 0 when both happened, 1 otherwise (replicate failed, timeout, standby never reached).
python3 standard library only.
"""

import argparse
import json
import subprocess
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("barge")
    ap.add_argument("owner_socket")
    ap.add_argument("replica_socket")
    ap.add_argument("volume")
    ap.add_argument("snapshot")
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--timeout", type=float, default=300)
    a = ap.parse_args()

    out = {"volume": a.volume, "snapshot": a.snapshot, "interval_s": a.interval}
    done = {}

    t0 = time.monotonic()
    proc = subprocess.Popen([a.barge, "replicate", a.volume, "--socket", a.owner_socket, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def waiter():
        so, se = proc.communicate()
        done["t"] = time.monotonic() - t0
        done["stdout"] = so.decode(errors="replace")
        done["stderr"] = se.decode(errors="replace")
        done["rc"] = proc.returncode

    th = threading.Thread(target=waiter, daemon=True)
    th.start()

    polls = 0
    poll_time = 0.0
    standby_s = None
    last = None
    status_errors = 0
    nxt = t0
    while True:
        now = time.monotonic()
        if now - t0 > a.timeout:
            out["error"] = "timeout after %.0f s" % a.timeout
            break
        if standby_s is None:
            if now < nxt:
                time.sleep(nxt - now)
            nxt += a.interval
            p0 = time.monotonic()
            r = subprocess.run([a.barge, "status", "--socket", a.replica_socket, "--json"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            p1 = time.monotonic()
            polls += 1
            poll_time += p1 - p0
            if r.returncode == 0:
                try:
                    st = json.loads(r.stdout)
                    vol = next((v for v in st.get("volumes", []) if v.get("name") == a.volume), None)
                except ValueError:
                    vol = None
                last = vol
                if vol and vol.get("standby_snapshot") == a.snapshot and not vol.get("standby_updating"):
                    # seen at p1 at the latest; the state changed between the previous poll and p1
                    standby_s = p1 - t0
            else:
                status_errors += 1
        if standby_s is not None and "t" in done:
            break
        if "t" in done and done["rc"] != 0:
            out["error"] = "replicate failed with exit %d" % done["rc"]
            break
        if standby_s is not None:
            th.join(timeout=max(0.0, a.timeout - (time.monotonic() - t0)))
            if "t" not in done:
                out["error"] = "replicate did not exit"
                proc.kill()
                break

    out["replicate_s"] = done.get("t")
    out["standby_s"] = standby_s
    out["polls"] = polls
    out["status_errors"] = status_errors
    out["poll_s_mean"] = poll_time / polls if polls else None
    out["replicate_rc"] = done.get("rc")
    try:
        out["replicate"] = json.loads(done.get("stdout") or "null")
    except ValueError:
        out["replicate"] = None
        out["replicate_stdout"] = done.get("stdout")
    if done.get("stderr"):
        out["replicate_stderr"] = done["stderr"][-2000:]
    out["standby"] = last
    ok = "error" not in out and standby_s is not None and done.get("rc") == 0
    out["ok"] = ok
    print(json.dumps(out))
    if not ok:
        sys.stderr.write("repl_wait: %s\n" % out.get("error", "standby not reached"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
