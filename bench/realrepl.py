#!/usr/bin/env python3
"""barge benchmark, real-files part: first replication of the real-files tree (bench/README.md,
"Real files"). Used by realfiles.py (after its restore steps, on the same data); runs alone too:

  realrepl.py --barge BIN --data DIR --work DIR --results FILE [--runs 3] [--port 27800]

Three agents over mutual TLS on loopback: d0 (127.0.0.1, owner of the volume `real` = the data
directory), d1 and d2 (127.0.0.2, 127.0.0.3, its replicas; their volume paths only place their
standby copies), interval 1h (the scheduler stays out of the way). RUNS times each, alternating:

  repl1  `barge replicate real --to d1`, until d1's standby copy holds the snapshot
  repl2  `barge replicate real` (d1 and d2 at once), until BOTH standby copies hold it

Every run starts from fresh agents and empty state directories (no replica holds any of the data):
the agents are started (the owner first; then the replicas, which find the owner without a
snapshot and so re-seed nothing), `barge snapshot real` through d0 (warm), the page cache is
dropped (cold), then repl_wait.py times the replication from the `replicate` command's start until
the replicas' `status` (polled every 20 ms on their control sockets) shows the standby at the
snapshot. Each agent's VmHWM is read before it is stopped; each standby copy is compared with the
data (treecmp.py) after the run: a difference fails the part.

first_replication() is one such run (fresh agents, snapshot, cold, timed, standby copies compared); the
scale part (scale.py) uses it on its generated trees, with another volume name and port.

Appends JSON lines to FILE: real_repl_config, real_repl{1,2}_barge_runN (seconds = standby_s,
replicate_s, bytes_sent, agent CPU, VmHWM), real_repl{1,2}_barge (median_s, min_s, max_s, runs),
real_repl_rss (vmhwm_kib: the largest VmHWM of each agent over all the runs, KiB).
Python standard library only.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
VOLUME = "real"
ADDR = {"d0": "127.0.0.1", "d1": "127.0.0.2", "d2": "127.0.0.3"}
REPLICAS = ["d1", "d2"]
START_TIMEOUT = 10     # s for an agent to answer on its control socket
RESEED_TIMEOUT = 30    # s for a replica to find that the owner has nothing to re-seed yet
WAIT_TIMEOUT = 900     # s for one replication (repl_wait.py --timeout)


def port_free(port):
    for addr in ADDR.values():
        with socket.socket() as s:
            try:
                s.bind((addr, port))
            except OSError:
                return False
    return True


def pick_port(start):
    port = start
    while not port_free(port):
        port += 1
    return port


def vmhwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


class Agents:
    """d0 (owner of the volume, default `real`), d1 and d2 (replicas); state under NODES, certificates under WORK."""

    def __init__(self, barge, work, nodes, data, port, tag, volume=VOLUME):
        self.barge, self.work, self.nodes, self.data, self.port, self.tag = barge, work, nodes, data, port, tag
        self.volume = volume
        self.procs = {}

    def sock(self, n):
        return os.path.join(self.nodes, n + ".sock")

    def log(self, n):
        return os.path.join(self.work, "logs", "%s-%s.log" % (self.tag, n))

    def volume_path(self, n):
        # the owner's path is the data; a replica's only places its standby copy
        return self.data if n == "d0" else os.path.join(self.nodes, n, "vols", self.volume)

    def standby(self, n):
        return os.path.join(os.path.dirname(self.volume_path(n)), ".barge-standby", self.volume)

    def config(self, n):
        lines = ['[node]', 'name = "%s"' % n, 'listen = "%s:%d"' % (ADDR[n], self.port),
                 'state_dir = "%s"' % os.path.join(self.nodes, n, "state"), 'control_socket = "%s"' % self.sock(n), 'metrics = ""',
                 '[tls]', 'ca = "%s"' % os.path.join(self.work, "ca", "ca.pem"),
                 'cert = "%s"' % os.path.join(self.work, "certs", n + ".pem"), 'key = "%s"' % os.path.join(self.work, "certs", n + ".key")]
        for other in ADDR:
            if other != n:
                lines += ['[[peer]]', 'name = "%s"' % other, 'address = "%s:%d"' % (ADDR[other], self.port)]
        lines += ['[[volume]]', 'name = "%s"' % self.volume, 'path = "%s"' % self.volume_path(n), 'owner = "d0"',
                  'replicas = [%s]' % ", ".join('"%s"' % r for r in REPLICAS), 'interval = "1h"']
        os.makedirs(os.path.join(self.nodes, n), exist_ok=True)
        if n != "d0":
            os.makedirs(os.path.dirname(self.volume_path(n)), exist_ok=True)
        path = os.path.join(self.nodes, n + ".toml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def tail(self, n, lines=15):
        try:
            with open(self.log(n), errors="replace") as f:
                return "".join("    | " + line for line in f.readlines()[-lines:])
        except OSError:
            return "    | (no log)\n"

    def wait_up(self, n):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.procs[n].poll() is not None:
                break
            r = subprocess.run([self.barge, "status", "--socket", self.sock(n), "--json"], capture_output=True)
            if r.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("agent %s did not answer on %s within %d s (exit %s); log %s:\n%s"
                           % (n, self.sock(n), START_TIMEOUT, self.procs[n].poll(), self.log(n), self.tail(n)))

    def wait_reseed_done(self, n):
        """A replica that starts with an empty store asks the owner for a re-seed; the owner has no
        snapshot yet, so nothing comes. Waits for that answer: a re-seed still pending (retried every
        5 s) would otherwise start in the background during a timed replication."""
        deadline = time.monotonic() + RESEED_TIMEOUT
        while time.monotonic() < deadline:
            with open(self.log(n), errors="replace") as f:
                text = f.read()
            if "nothing to re-seed" in text:
                return
            if "re-seeded from the owner" in text:
                raise RuntimeError("replica %s re-seeded from the owner before the benchmark's snapshot; log %s" % (n, self.log(n)))
            if self.procs[n].poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("replica %s did not report 'nothing to re-seed' within %d s; log %s:\n%s"
                           % (n, RESEED_TIMEOUT, self.log(n), self.tail(n)))

    def start(self):
        os.makedirs(os.path.join(self.work, "logs"), exist_ok=True)
        # the owner first: the replicas' re-seed requests then find it (and no snapshot)
        for group in (["d0"], REPLICAS):
            for n in group:
                log = open(self.log(n), "w")
                self.procs[n] = subprocess.Popen([self.barge, "agent", "--config", self.config(n)], stdout=log, stderr=log)
                log.close()
            for n in group:
                self.wait_up(n)
        for n in REPLICAS:
            self.wait_reseed_done(n)

    def pid(self, n):
        return self.procs[n].pid

    def hwm(self):
        return {n: vmhwm_kib(p.pid) for n, p in self.procs.items()}

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = {}


def certificates(barge, work):
    for d in ("ca", "certs"):
        if os.path.isdir(os.path.join(work, d)):
            subprocess.run(["rm", "-rf", os.path.join(work, d)], check=True)
    subprocess.run([barge, "cert", "init-ca", "--out", os.path.join(work, "ca")], check=True, capture_output=True)
    for n in ADDR:
        subprocess.run([barge, "cert", "issue", n, "--ca", os.path.join(work, "ca"), "--out", os.path.join(work, "certs")],
                       check=True, capture_output=True)


def verify(src, standby, report, label="real-files replication", jobs=1):
    r = subprocess.run([sys.executable, os.path.join(HERE, "treecmp.py"), "--json", "--jobs", str(jobs), src, standby],
                       capture_output=True, text=True)
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        doc = {"ok": False, "error": (r.stdout + r.stderr)[-800:]}
    if r.returncode != 0:
        bar = "!" * 74
        lines = ["", bar, "%s: the STANDBY COPY %s is NOT identical to %s (treecmp exit %d):"
                 % (label, standby, src, r.returncode)]
        lines += ["    | %s - %s" % (p["path"], p["problem"]) for p in doc.get("first_problems", [])]
        if "error" in doc:
            lines.append("    | " + doc["error"])
        lines += [bar, ""]
        report("\n".join(lines), err=True)
        raise RuntimeError("standby copy %s differs from %s" % (standby, src))
    return doc


def first_replication(barge, data, work, nodes, port, targets, tag, drop_caches, report, volume=VOLUME,
                      verify_label="real-files replication", what="replication", before_verify=None, verify_jobs=1):
    """One run: fresh agents (state under NODES, which must be new or empty), `barge snapshot VOLUME`
    through d0 (warm; timed: snapshot_s), page cache dropped, then repl_wait.py from `barge replicate`
    (--to TARGET when one) until every target's standby copy holds the snapshot. The agents are
    stopped (also on failure), before_verify() called when given, each standby copy compared with
    DATA (treecmp --jobs VERIFY_JOBS; raises on a difference). Returns (repl_wait's document, {node: VmHWM KiB},
    snapshot id, snapshot_s)."""
    agents = Agents(barge, work, nodes, data, port, tag, volume=volume)
    try:
        agents.start()
        t0 = time.monotonic()
        snap = subprocess.run([barge, "snapshot", volume, "--socket", agents.sock("d0"), "--json"],
                              check=True, capture_output=True, text=True)
        snapshot_s = time.monotonic() - t0
        snap_id = json.loads(snap.stdout)["id"]
        drop_caches()
        cmd = [sys.executable, os.path.join(HERE, "repl_wait.py"), barge, agents.sock("d0"),
               ",".join(agents.sock(n) for n in targets), volume, snap_id, "--interval", "0.02", "--via", "socket",
               "--timeout", str(WAIT_TIMEOUT), "--pids", ",".join("%s=%d" % (n, agents.pid(n)) for n in ADDR)]
        if len(targets) == 1:
            cmd += ["--to", targets[0]]
        r = subprocess.run(cmd, capture_output=True, text=True)
        hwm = agents.hwm()
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            doc = {"ok": False}
        rep = doc.get("replicate") or {}
        peers_ok = all(p.get("ok") for p in rep.get("peers") or []) and len(rep.get("peers") or []) == len(targets)
        if r.returncode != 0 or not doc.get("ok") or not peers_ok:
            raise RuntimeError("%s: replication failed (repl_wait exit %d): %s %s; logs %s"
                               % (what, r.returncode, r.stdout[-1500:], r.stderr[-800:], os.path.join(work, "logs")))
    finally:
        agents.stop()
    if before_verify is not None:
        before_verify()
    for n in targets:
        verify(data, agents.standby(n), report, label=verify_label, jobs=verify_jobs)
    return doc, hwm, snap_id, snapshot_s


def measure(barge, data, work, out, runs, remove, drop_caches, port=27800, floor_s=None, report=None):
    """The first-replication rows. remove(path, settle) and drop_caches() are realfiles.py's (passed
    in: realfiles imports this module). floor_s: the rsync --whole-file copy's median, for the summary
    lines only. Writes JSON lines to the open file out; returns {kind: summary}."""
    if report is None:
        def report(msg, err=False):
            print(msg, file=sys.stderr if err else sys.stdout, flush=True)
    work = os.path.abspath(work)
    nodes = os.path.join(work, "nodes")   # everything a run creates; removed before the next
    os.makedirs(work, exist_ok=True)
    port = pick_port(port)
    certificates(barge, work)
    out.write(json.dumps({"name": "real_repl_config", "tool": "info", "runs": runs, "port": port, "volume": VOLUME,
                          "replicas": REPLICAS, "poll_interval_s": 0.02, "poll_via": "socket", "cache": "cold"}) + "\n")
    out.flush()
    kinds = [("repl1", ["d1"]), ("repl2", ["d1", "d2"])]
    times = {k: [] for k, _ in kinds}
    hwm_max = {}
    try:
        for i in range(runs):
            for kind, targets in kinds:
                remove(nodes, settle=True)   # the previous run's standby copies: a tree's worth of inodes
                os.makedirs(nodes)
                doc, hwm, snap_id, _ = first_replication(barge, data, work, nodes, port, targets, "%s-run%d" % (kind, i),
                                                         drop_caches, report, what="%s run %d" % (kind, i), verify_jobs=2)
                rep = doc.get("replicate") or {}
                for n, k in hwm.items():
                    if k is not None:
                        hwm_max[n] = max(hwm_max.get(n, 0), k)
                seconds = doc["standby_s"]
                times[kind].append(seconds)
                line = {"name": "real_%s_barge_run%d" % (kind, i), "tool": "barge", "peers": targets, "seconds": seconds,
                        "replicate_s": doc.get("replicate_s"), "standby_each_s": doc.get("standby_each_s", [seconds]),
                        "bytes_sent": rep.get("bytes_sent"), "chunks_raw": rep.get("chunks_raw"),
                        "peer_seconds": {p.get("peer"): p.get("seconds") for p in rep.get("peers") or []},
                        "agent_cpu_s": doc.get("agent_cpu_s"), "polls": doc.get("polls"), "vmhwm_kib": hwm, "snapshot": snap_id}
                out.write(json.dumps(line) + "\n")
                out.flush()
                c = doc.get("agent_cpu_s") or {}
                report("%-9s barge   run %d: standby %.2f s (replicate %.2f s), %s bytes sent; CPU s %s; VmHWM KiB %s; standby identical"
                       % (kind, i, seconds, doc.get("replicate_s") or 0, rep.get("bytes_sent"),
                          " ".join("%s %s" % kv for kv in sorted(c.items())), " ".join("%s %s" % kv for kv in sorted(hwm.items()))))
    finally:   # first_replication stops its agents itself, also on failure
        remove(nodes, settle=False)
    summaries = {}
    for kind, targets in kinds:
        t = sorted(times[kind])
        doc = {"name": "real_%s_barge" % kind, "tool": "barge", "peers": targets, "median_s": t[len(t) // 2], "min_s": t[0],
               "max_s": t[-1], "runs": len(t)}
        out.write(json.dumps(doc) + "\n")
        summaries[kind] = doc
        extra = ""
        if kind == "repl1" and floor_s:
            extra = "  (%.2fx the rsync --whole-file copy)" % (floor_s / doc["median_s"])
        elif kind == "repl2":
            extra = "  (%.2fx one peer)" % (doc["median_s"] / summaries["repl1"]["median_s"])
        report("%-9s barge   median %.2f s [%.2f-%.2f]%s" % (kind, doc["median_s"], doc["min_s"], doc["max_s"], extra))
    out.write(json.dumps({"name": "real_repl_rss", "tool": "barge-agent", "vmhwm_kib": hwm_max, "runs": runs}) + "\n")
    out.flush()
    report("repl      agents  VmHWM %s" % ", ".join("%s %.1f MiB" % (n, k / 1024.0) for n, k in sorted(hwm_max.items())))
    return summaries


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--barge", required=True)
    ap.add_argument("--data", required=True, help="the tree to replicate (realfiles.py's data directory)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--port", type=int, default=27800)
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    import realfiles   # noqa: E402  (remove, drop_caches; realfiles imports this module, so not at the top)
    with open(args.results, "a") as out:
        measure(os.path.abspath(args.barge), os.path.abspath(args.data), args.work, out, args.runs,
                realfiles.remove, realfiles.drop_caches, port=args.port)


if __name__ == "__main__":
    main()
