#!/usr/bin/env python3
"""barge benchmark, failover part (bench/README.md, "Automatic failover").

A 3-member etcd (Debian's etcd-server) and three agents (f0, f1, f2) on loopback, one volume owned by
f0 with f1 and f2 as replicas, the stand-in container (testdata/agent/container.py) committing to
SQLite. For each lease TTL (2 s and 5 s), RUNS times each:
  kill:     kill -9 of f0's agent and its container;
  isolate:  every TCP packet of f0's agent dropped (nft, by the agent's own group id);
the time from the fault to the first commit a replica's container acknowledges (the service is
back), next to the target TTL + 2 s. Then a planned migrate under [cluster] of a volume with a
1 GiB file of which 10 MiB changed, with the container running (downtime, target < 1 s), and the
same with the container rewriting random 4 KiB pages of the file, 300 a second, until its stop hook
(a database under write load; downtime, target < 1 s). Then 20
volumes on the same agents: requests each agent sends to etcd per second at idle (its
barge_etcd_requests_total counter over 20 s).

usage: failover.py --barge BIN --work DIR --results FILE [--runs N] [--ttls 2,5]
Appends JSON lines to FILE (name=failover_...); prints a summary. Python standard library only.
"""
import argparse
import base64
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTAINER = os.path.join(ROOT, "testdata", "agent", "container.py")
NODES = ["f0", "f1", "f2"]
ADDR = {"f0": "127.0.0.21", "f1": "127.0.0.22", "f2": "127.0.0.23"}


def free_port(start):
    port = start
    while True:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                port += 1


class Etcd:
    def __init__(self, work, base):
        self.work, self.procs, self.clients, self.peers = work, [], [], []
        port = base
        for _ in range(3):
            c = free_port(port); p = free_port(c + 1); port = p + 1
            self.clients.append(c); self.peers.append(p)
        cluster = ",".join("e%d=http://127.0.0.1:%d" % (i, p) for i, p in enumerate(self.peers))
        token = "barge-bench-%d" % os.getpid()
        for i in range(3):
            data = os.path.join(work, "etcd%d" % i)
            shutil.rmtree(data, ignore_errors=True)
            log = open(os.path.join(work, "etcd%d.log" % i), "w")
            self.procs.append(subprocess.Popen(
                ["etcd", "--name", "e%d" % i, "--data-dir", data,
                 "--listen-client-urls", "http://127.0.0.1:%d" % self.clients[i],
                 "--advertise-client-urls", "http://127.0.0.1:%d" % self.clients[i],
                 "--listen-peer-urls", "http://127.0.0.1:%d" % self.peers[i],
                 "--initial-advertise-peer-urls", "http://127.0.0.1:%d" % self.peers[i],
                 "--initial-cluster", cluster, "--initial-cluster-token", token,
                 "--heartbeat-interval", "100", "--election-timeout", "1000", "--log-level", "warn"],
                stdout=log, stderr=log))
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                self.post("/v3/kv/range", {"key": b64("x")})
                return
            except Exception:
                time.sleep(0.2)
        raise SystemExit("etcd did not come up (logs in %s)" % work)

    def endpoints(self):
        return ["http://127.0.0.1:%d" % c for c in self.clients]

    def post(self, path, body):
        req = urllib.request.Request(self.endpoints()[0] + path, data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=3) as r:
            return json.load(r)

    def stop(self):
        for p in self.procs:
            p.kill()
            p.wait()


def b64(text):
    return base64.b64encode(text.encode()).decode()


class Cluster:
    def __init__(self, barge, work, etcd, ttl, volumes, port, label, container_args=""):
        self.barge, self.work, self.etcd, self.ttl, self.volumes, self.port = barge, work, etcd, ttl, volumes, port
        self.container_args = container_args
        self.procs, self.group = {}, 45000 + os.getpid() % 5000
        self.containers = os.path.join(work, "containers")
        os.makedirs(self.containers, exist_ok=True)
        self.prefix = "/barge/bench-%s/" % label
        subprocess.run([barge, "cert", "init-ca", "--out", os.path.join(work, "ca")], check=True, capture_output=True)
        for n in NODES:
            subprocess.run([barge, "cert", "issue", n, "--ca", os.path.join(work, "ca"), "--out", os.path.join(work, "certs")],
                           check=True, capture_output=True)
            for v in volumes:
                os.makedirs(self.vol(n, v), exist_ok=True)

    def vol(self, node, volume):
        return os.path.join(self.work, node, "vols", volume)

    def sock(self, node):
        return os.path.join(self.work, node + ".sock")

    def config(self, node):
        lines = ['[node]', 'name = "%s"' % node, 'listen = "%s:%d"' % (ADDR[node], self.port),
                 'state_dir = "%s"' % os.path.join(self.work, node, "state"), 'control_socket = "%s"' % self.sock(node),
                 'metrics = "%s:%d"' % (ADDR[node], self.port + 1), '[tls]',
                 'ca = "%s"' % os.path.join(self.work, "ca", "ca.pem"), 'cert = "%s"' % os.path.join(self.work, "certs", node + ".pem"),
                 'key = "%s"' % os.path.join(self.work, "certs", node + ".key"),
                 '[cluster]', 'endpoints = [%s]' % ", ".join('"%s"' % e for e in self.etcd.endpoints()),
                 'prefix = "%s"' % self.prefix, 'lease_ttl = "%ds"' % self.ttl]
        for other in NODES:
            if other != node:
                lines += ['[[peer]]', 'name = "%s"' % other, 'address = "%s:%d"' % (ADDR[other], self.port)]
        for v in self.volumes:
            lines += ['[[volume]]', 'name = "%s"' % v, 'path = "%s"' % self.vol(node, v), 'owner = "f0"',
                      'replicas = ["f1", "f2"]', 'interval = "1s"']
            if v == "app":
                c = "python3 %s" % CONTAINER
                lines += ['[volume.hooks]'] + ['%s = "%s %s --node %s --cluster %s%s"' % (h, c, h, node, self.containers, self.container_args)
                                               for h in ("start", "stop", "pre_snapshot", "post_snapshot")] + ['timeout = "20s"']
        path = os.path.join(self.work, node + ".toml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self, node):
        log = open(os.path.join(self.work, node + ".log"), "a")
        cmd = ["setpriv", "--regid=%d" % (self.group + NODES.index(node)), "--clear-groups", self.barge, "agent",
               "--config", self.config(node)]
        self.procs[node] = subprocess.Popen(cmd, stdout=log, stderr=log)
        for _ in range(400):
            if self.status(node) is not None:
                return
            time.sleep(0.05)
        raise SystemExit("agent %s did not come up (log %s)" % (node, os.path.join(self.work, node + ".log")))

    def status(self, node):
        r = subprocess.run([self.barge, "status", "--json", "--socket", self.sock(node)], capture_output=True)
        if r.returncode != 0:
            return None
        try:
            return {v["name"]: v for v in json.loads(r.stdout)["volumes"]}
        except (ValueError, KeyError):
            return None

    def kill(self, node):
        p = self.procs.pop(node, None)
        if p:
            p.kill()
            p.wait()
        for name in os.listdir(self.containers):
            if name.endswith(".%s.pid" % node):
                try:
                    os.kill(int(open(os.path.join(self.containers, name)).read()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        claim = os.path.join(self.containers, "app.running")
        try:
            if open(claim).read() == node:
                os.unlink(claim)
        except OSError:
            pass

    def stop_all(self):
        for n in list(self.procs):
            self.kill(n)

    def acks(self):
        try:
            with open(os.path.join(self.containers, "acks.log")) as f:
                return [line.split() for line in f if len(line.split()) == 3]
        except OSError:
            return []

    def metric(self, node, name):
        try:
            with urllib.request.urlopen("http://%s:%d/metrics" % (ADDR[node], self.port + 1), timeout=3) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith(name + " ") or line.startswith(name + "{"):
                        return float(line.rsplit(" ", 1)[1])
        except OSError:
            pass
        return None


def wait(pred, timeout, step=0.01):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def nft(script):
    subprocess.run(["nft", "-f", "-"], input=script.encode(), check=True)


def one_failover(args, etcd, ttl, fault, run, port):
    work = os.path.join(args.work, "ttl%d-%s-%d" % (ttl, fault, run))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    c = Cluster(args.barge, work, etcd, ttl, ["app"], port, "%d-%s-%d-%d" % (ttl, fault, run, os.getpid()))
    table = "barge_bench_%d_%d" % (os.getpid(), random.randrange(1 << 30))
    try:
        for n in NODES:
            c.start(n)
        if not wait(lambda: (c.status("f0") or {}).get("app", {}).get("container") == "up", 30):
            raise SystemExit("f0 did not start its container")
        wait(lambda: all((c.status(n) or {}).get("app", {}).get("standby_snapshot") for n in ("f1", "f2")), 30)
        time.sleep(0.5)
        before = len(c.acks())
        t0 = time.time()
        if fault == "kill":
            c.kill("f0")
        else:
            nft("table inet %s {\n chain out {\n  type filter hook output priority 0; policy accept;\n  meta skgid %d meta l4proto tcp drop\n }\n}\n"
                % (table, c.group))
        first = wait(lambda: next((a for a in c.acks()[before:] if a[0] != "f0"), None), ttl + 30, step=0.005)
        seconds = time.time() - t0 if first else None
        violations = os.path.exists(os.path.join(c.containers, "violations.log"))
        return {"seconds": seconds, "new_owner": first[0] if first else None, "violations": violations}
    finally:
        if fault != "kill":
            subprocess.run(["nft", "delete", "table", "inet", table], capture_output=True)
        c.stop_all()


def migration(args, etcd, ttl, port, workload):
    """migrate under [cluster] of a volume with a big file and the container running. workload
    `changed`: 10 MiB of the file rewritten before the migrate; `pages`: the container itself
    rewrites random 4 KiB pages of it (a database's pattern, --pages-per-second) until its stop hook."""
    work = os.path.join(args.work, "migrate-%s-ttl%d" % (workload, ttl))
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    extra = " --page-writes big.bin --pages-per-second %d" % args.pages_per_second if workload == "pages" else ""
    c = Cluster(args.barge, work, etcd, ttl, ["app"], port, "migrate-%s-%d-%d" % (workload, ttl, os.getpid()), extra)
    big = os.path.join(c.vol("f0", "app"), "big.bin")
    rng = random.Random(7)
    with open(big, "wb") as f:
        for _ in range(args.migrate_mib):
            f.write(rng.randbytes(1 << 20))
    try:
        for n in NODES:
            c.start(n)
        wait(lambda: (c.status("f0") or {}).get("app", {}).get("container") == "up", 60)
        wait(lambda: all((c.status(n) or {}).get("app", {}).get("standby_snapshot") for n in ("f1", "f2")), 600, step=0.2)
        if workload == "changed":
            with open(big, "r+b") as f:
                for i in range(10):
                    f.seek(rng.randrange(args.migrate_mib - 1) << 20)
                    f.write(rng.randbytes(1 << 20))
        else:
            time.sleep(10)   # the load runs through a few snapshot intervals first
        r = subprocess.run([args.barge, "migrate", "app", "--to", "f1", "--json", "--socket", c.sock("f0")], capture_output=True)
        if r.returncode != 0:
            return {"error": r.stderr.decode()[-500:]}
        report = json.loads(r.stdout)
        phases = ", ".join("%s %.3f s%s" % (p.get("name"), p.get("seconds", 0), " (%.1f MB)" % (p["bytes_sent"] / 1e6) if p.get("bytes_sent") else "")
                           for p in report.get("phases", []))
        return {"downtime_s": report.get("downtime_s"), "seconds": report.get("seconds"), "bytes_sent": report.get("bytes_sent"),
                "epoch": report.get("epoch"), "phases": phases, "violations": os.path.exists(os.path.join(c.containers, "violations.log"))}
    finally:
        c.stop_all()


def idle_requests(args, etcd, ttl, port):
    work = os.path.join(args.work, "idle-ttl%d" % ttl)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    volumes = ["v%02d" % i for i in range(20)]
    c = Cluster(args.barge, work, etcd, ttl, volumes, port, "idle-%d-%d" % (ttl, os.getpid()))
    try:
        for n in NODES:
            c.start(n)
        # Settled: every volume snapshotted and replicated at least once (interval 1 s), nothing changes after.
        time.sleep(max(10, 3 * ttl))
        start = {n: c.metric(n, "barge_etcd_requests_total") for n in NODES}
        time.sleep(20)
        end = {n: c.metric(n, "barge_etcd_requests_total") for n in NODES}
        return {n: (end[n] - start[n]) / 20.0 if start[n] is not None and end[n] is not None else None for n in NODES}
    finally:
        c.stop_all()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ttls", default="2,5")
    ap.add_argument("--port", type=int, default=27620)
    ap.add_argument("--migrate-mib", type=int, default=1024)
    ap.add_argument("--pages-per-second", type=int, default=300)
    ap.add_argument("--parts", default="failover,migrate,idle", help="which parts to run (comma-separated)")
    ap.add_argument("--workloads", default="changed,pages", help="the migrations: changed (10 MiB before), pages (writes until the stop)")
    args = ap.parse_args()
    for tool in ("etcd", "nft", "setpriv"):
        if shutil.which(tool) is None:
            raise SystemExit("failover bench needs %s (apt-get install etcd-server nftables util-linux)" % tool)
    os.makedirs(args.work, exist_ok=True)
    etcd = Etcd(args.work, 23790)
    out = open(args.results, "a")
    try:
        parts = set(args.parts.split(","))
        for ttl in [int(t) for t in args.ttls.split(",")] if "failover" in parts else []:
            for fault in ("kill", "isolate"):
                times = []
                for run in range(args.runs):
                    r = one_failover(args, etcd, ttl, fault, run, args.port)
                    times.append(r["seconds"])
                    print("failover ttl=%ds %s run %d: %s s -> %s%s" % (ttl, fault, run, "%.2f" % r["seconds"] if r["seconds"] else "n/a",
                                                                       r["new_owner"], " VIOLATION" if r["violations"] else ""), flush=True)
                    out.write(json.dumps({"name": "failover_%s_ttl%d_run%d" % (fault, ttl, run), "tool": "barge", "ttl": ttl,
                                          "fault": fault, "seconds": r["seconds"], "new_owner": r["new_owner"],
                                          "violations": r["violations"]}) + "\n")
                ok = sorted(t for t in times if t is not None)
                median = ok[len(ok) // 2] if ok else None
                out.write(json.dumps({"name": "failover_%s_ttl%d" % (fault, ttl), "tool": "barge", "ttl": ttl, "fault": fault,
                                      "median_s": median, "min_s": ok[0] if ok else None, "max_s": ok[-1] if ok else None,
                                      "runs": len(times), "target_s": ttl + 2}) + "\n")
                print("failover ttl=%ds %s: median %s s (target < %d s)" % (ttl, fault, "%.2f" % median if median else "n/a", ttl + 2), flush=True)
        for workload in args.workloads.split(",") if "migrate" in parts else ():
            m = migration(args, etcd, 5, args.port, workload)
            if workload == "changed":
                out.write(json.dumps(dict({"name": "failover_migrate", "tool": "barge", "size_mib": args.migrate_mib, "changed_mib": 10}, **m)) + "\n")
                print("migrate under [cluster], %d MiB volume, 10 MiB changed: %s" % (args.migrate_mib, m), flush=True)
            else:
                out.write(json.dumps(dict({"name": "failover_migrate_pages", "tool": "barge", "size_mib": args.migrate_mib,
                                           "pages_per_second": args.pages_per_second}, **m)) + "\n")
                print("migrate under [cluster], %d MiB file under %d page writes/s: %s" % (args.migrate_mib, args.pages_per_second, m),
                      flush=True)
        for ttl in [int(t) for t in args.ttls.split(",")] if "idle" in parts else []:
            rates = idle_requests(args, etcd, ttl, args.port)
            out.write(json.dumps({"name": "failover_idle_requests_ttl%d" % ttl, "tool": "barge", "ttl": ttl, "volumes": 20,
                                  "per_agent": rates}) + "\n")
            print("etcd requests per second at idle, 20 volumes, ttl=%ds: %s" % (ttl, rates), flush=True)
    finally:
        etcd.stop()
        out.close()


if __name__ == "__main__":
    main()
