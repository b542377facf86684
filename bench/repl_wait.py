#!/usr/bin/env python3
"""Time one replication until the replica's standby copy holds the snapshot.

  repl_wait.py BARGE OWNER_SOCKET REPLICA_SOCKET VOLUME SNAPSHOT_ID [--interval 0.02] [--timeout 300]
               [--via cli|socket] [--pids d0=PID,d1=PID] [--to NODE]

Starts `BARGE replicate VOLUME --socket OWNER_SOCKET --json` and, from the same instant, runs
`BARGE status --socket REPLICA_SOCKET --json` every --interval seconds (start to start) until the
replica reports VOLUME's `standby_snapshot` == SNAPSHOT_ID (and not `standby_updating`), and the
replicate command has exited (--to NODE: `replicate VOLUME --to NODE`, that replica only).
REPLICA_SOCKET may be a comma-separated list (several replicas): each round polls every replica
not yet there, one after the other, and the standby counts as reached when ALL of them showed it.
--via socket sends status's request on the control socket itself (no process per poll: the
polls cost ~1 ms of CPU instead of ~9 ms). Prints one JSON document:
  replicate_s  start -> replicate command exited (its own wall time)
  standby_s    start -> the first status that showed the standby at SNAPSHOT_ID (several replica
               sockets: the last of them to show it)
  standby_each_s  (several replica sockets only) the same per socket, in the order given
  polls, poll_s_mean (wall time of one status call), replicate (its --json), standby (the volume's
  status at the end; several replica sockets: a list of them, in order), agent_cpu_s (CPU seconds
  of the --pids processes over the run), client_cpu_s (CPU seconds of the replicate client and the
  status polls), rc
Exit 0 when both happened, 1 otherwise (replicate failed, timeout, standby never reached).
python3 standard library only.
"""

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import threading
import time


def status_cli(barge, sock):
    r = subprocess.run([barge, "status", "--socket", sock, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        return None
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def status_socket(sock):
    """The request `barge status` sends: one JSON line, one JSON line back ({"ok", "status"})."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(sock)
            s.sendall(b'{"command":"status"}\n')
            buf = b""
            while b"\n" not in buf:
                more = s.recv(65536)
                if not more:
                    break
                buf += more
        doc = json.loads(buf.split(b"\n", 1)[0])
        return doc.get("status") if doc.get("ok") else None
    except (OSError, ValueError):
        return None


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), from /proc/PID/stat; None if gone."""
    try:
        with open("/proc/%s/stat" % pid) as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("barge")
    ap.add_argument("owner_socket")
    ap.add_argument("replica_socket", help="the replica's control socket; several: comma-separated")
    ap.add_argument("volume")
    ap.add_argument("snapshot")
    ap.add_argument("--interval", type=float, default=0.02)
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--via", choices=("cli", "socket"), default="cli",
                    help="cli: run `BARGE status --json` per poll; socket: send the same request "
                         "({\"command\":\"status\"}) on the control socket directly (no process start)")
    ap.add_argument("--pids", default="", help="NAME=PID,...: agents whose CPU seconds to report")
    ap.add_argument("--to", default=None, help="replicate only to this node (`replicate VOLUME --to NODE`)")
    a = ap.parse_args()
    pids = dict(kv.split("=", 1) for kv in a.pids.split(",") if "=" in kv)
    cpu0 = {n: cpu_seconds(p) for n, p in pids.items()}

    out = {"volume": a.volume, "snapshot": a.snapshot, "interval_s": a.interval, "via": a.via}
    done = {}

    t0 = time.monotonic()
    cmd = [a.barge, "replicate", a.volume, "--socket", a.owner_socket, "--json"] + (["--to", a.to] if a.to else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def waiter():
        so, se = proc.communicate()
        done["t"] = time.monotonic() - t0
        done["stdout"] = so.decode(errors="replace")
        done["stderr"] = se.decode(errors="replace")
        done["rc"] = proc.returncode

    th = threading.Thread(target=waiter, daemon=True)
    th.start()

    sockets = [s for s in a.replica_socket.split(",") if s]
    polls = 0
    poll_time = 0.0
    standby_s = None
    each_s = [None] * len(sockets)   # per replica socket: when it first showed the standby
    last = [None] * len(sockets)
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
            for i, sock in enumerate(sockets):
                if each_s[i] is not None:
                    continue
                p0 = time.monotonic()
                st = status_cli(a.barge, sock) if a.via == "cli" else status_socket(sock)
                p1 = time.monotonic()
                polls += 1
                poll_time += p1 - p0
                if st is not None:
                    vol = next((v for v in st.get("volumes", []) if v.get("name") == a.volume), None)
                    last[i] = vol
                    if vol and vol.get("standby_snapshot") == a.snapshot and not vol.get("standby_updating"):
                        # seen at p1 at the latest; the state changed between the previous poll and p1
                        each_s[i] = p1 - t0
                else:
                    status_errors += 1
            if all(e is not None for e in each_s):
                standby_s = max(each_s)
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

    cpu1 = {n: cpu_seconds(p) for n, p in pids.items()}
    out["agent_cpu_s"] = {n: (None if cpu0[n] is None or cpu1[n] is None else round(cpu1[n] - cpu0[n], 3))
                          for n in pids}
    # CPU of the status polls and of the replicate client (all children of this process)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["client_cpu_s"] = round(ru.ru_utime + ru.ru_stime, 3)
    out["replicate_s"] = done.get("t")
    out["standby_s"] = standby_s
    if len(sockets) > 1:
        out["standby_each_s"] = each_s
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
    out["standby"] = last[0] if len(sockets) == 1 else last
    ok = "error" not in out and standby_s is not None and done.get("rc") == 0
    out["ok"] = ok
    print(json.dumps(out))
    if not ok:
        sys.stderr.write("repl_wait: %s\n" % out.get("error", "standby not reached"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
