#!/usr/bin/env python3
"""barge benchmark, gc part (bench/README.md, "Garbage collection").

Issue 9's gc targets on the real-files data set of realfiles.py (Debian packages unpacked, copies
of the bare git repositories in /opt/swift-packages; built by realfiles.build, or taken over from
--data when the real-files part left it there):

  store:    volume `big`: snapshot 1 = the whole tree; about half of its bytes removed (whole
            top-level parts: debs/PACKAGE, git/ORG, chosen deterministically), snapshot 2; snapshot 1
            forgotten (offline `barge forget`). About half of the store is then garbage.
  alone:    a copy of that store, offline `barge gc --json`, cold page cache, until durable; restic
            0.14 on the same two trees (backup, backup, forget the first) and `restic prune`, cold.
  beside:   two agents on loopback (d0 owns `small`, a copy of one package's tree, d1 its replica;
            mutual TLS). Baseline: ROUNDS rounds of (one small file of `small` changed, `barge
            snapshot small`, `barge replicate small`), each CLI call timed. Then `barge gc` through
            d0's agent in the background and the same rounds back to back until gc returns. The
            pause gc imposes = the longest call that overlapped gc minus the baseline median (target
            < 1 s for snapshot and for replicate). gc runs on the owner only (d1's store has no
            garbage). Afterwards: `barge verify --read-data` of d0's store and d1's standby copy of
            `small` compared with the source.
  extra:    --extra-gib N (default 0: none) adds N GiB of generated incompressible files (EXTRA_FILE_MIB
            each, SHAKE-128 of a fixed key, written EXTRA_CHUNK_MIB at a time) under `big`'s generated/
            before snapshot 1; every other one of them (whole files, half the bytes) is removed before
            snapshot 2 together with the real-files half. The store is then ~N GiB + the real files,
            about half garbage (issue 9: "a store with 10 GiB of which half is garbage"). restic backs
            up the same directory.

usage: gc.py --barge BIN --work DIR --results FILE [--data DIR] [--cache DIR] [--rounds 20] [--fraction 1] [--extra-gib 0]
Appends JSON lines to FILE (name=gc_...); prints a summary. Exit 1 when a barge command failed or a
check did not hold. Python standard library only.
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realfiles  # noqa: E402  (build, drop_caches)

BENCH = os.path.dirname(os.path.abspath(__file__))
SMALL_PACKAGE = "libpython3.11-stdlib"   # the small volume: a copy of this package's tree (~8 MB, 321 files)
ADDR = {"d0": "127.0.0.41", "d1": "127.0.0.42"}
PAUSE_TARGET_S = 1.0
EXTRA_FILE_MIB = 128   # generated files of --extra-gib: this size each (the last one may be shorter)
EXTRA_CHUNK_MIB = 8    # written this much at a time (memory stays small)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


tree_bytes = realfiles.tree_bytes


def remove(path):
    if os.path.islink(path) or os.path.isfile(path):   # rmtree (errors ignored) would leave a file in place
        os.unlink(path)
    elif os.path.lexists(path):
        subprocess.run(["chmod", "-R", "u+w", path], capture_output=True)   # restic's read-only packs, for non-root
        shutil.rmtree(path, ignore_errors=True)


def describe(data, cache):
    """What realfiles.build returns, for a tree built earlier (by the real-files part)."""
    files = dirs = size = 0
    for root, ds, fs in os.walk(data):
        dirs += len(ds)
        for f in fs:
            files += 1
            size += os.lstat(os.path.join(root, f)).st_size
    names = set(os.listdir(os.path.join(data, "debs"))) if os.path.isdir(os.path.join(data, "debs")) else set()
    versions = {}
    for deb in sorted(os.listdir(cache)) if os.path.isdir(cache) else []:
        if deb.endswith(".deb") and deb.split("_")[0] in names:
            versions[deb.split("_")[0]] = urllib.parse.unquote(deb.split("_")[1])
    return {"files": files, "dirs": dirs, "bytes": size, "packages": versions, "git_repositories": os.path.isdir(os.path.join(data, "git"))}


def parts_of(data):
    """The top-level parts (debs/PACKAGE, git/ORG) with their sizes, largest first, ties by name."""
    parts = []
    for top in ("debs", "git"):
        d = os.path.join(data, top)
        if os.path.isdir(d):
            for name in os.listdir(d):
                parts.append((tree_bytes(os.path.join(d, name)), top + "/" + name))
    return sorted(parts, key=lambda p: (-p[0], p[1]))


def split_half(parts, first):
    """Deterministic halves by bytes: `first` (the small volume's package) goes, then each part, largest
    first, to whichever side is lighter (ties: removed)."""
    removed, kept, rb, kb = [], [], 0, 0
    for size, name in sorted(parts, key=lambda p: (p[1] != first, -p[0], p[1])):
        if rb <= kb:
            removed.append(name)
            rb += size
        else:
            kept.append(name)
            kb += size
    return removed, kept, rb, kb


def generate_extra(root, gib):
    """gib GiB of incompressible bytes in files of EXTRA_FILE_MIB under root (gen_NNNN.bin), each chunk the
    SHAKE-128 of a fixed key, so the same for every run. Returns the files (relative to root's parent) and sizes."""
    os.makedirs(root, exist_ok=True)
    total, files, i = int(gib * (1 << 30)), [], 0
    while total > 0:
        size = min(total, EXTRA_FILE_MIB << 20)
        name = "gen_%04d.bin" % i
        with open(os.path.join(root, name), "wb") as f:
            done, c = 0, 0
            while done < size:
                n = min(EXTRA_CHUNK_MIB << 20, size - done)
                f.write(hashlib.shake_128(b"barge gc bench extra/%d/%d" % (i, c)).digest(n))
                done, c = done + n, c + 1
        files.append((size, os.path.join(os.path.basename(root), name)))
        total -= size
        i += 1
    return files


def timed(cmd, env=None):
    """Wall seconds until durable (a trailing sync), peak RSS (KiB) and stdout of one command."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd[:4]), r.returncode, r.stderr[-800:]))
    run(["sync"])
    lines = r.stderr.strip().splitlines()
    rss = int(lines[-1]) if lines and lines[-1].isdigit() else None
    return time.monotonic() - t0, rss, r.stdout


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    return s[max(0, math.ceil(p / 100.0 * len(s)) - 1)]


def free_port(addr, start):
    port = start
    while True:
        with socket.socket() as s:
            try:
                s.bind((addr, port))
                with socket.socket() as s2:
                    s2.bind((addr, port + 1))
                return port
            except OSError:
                port += 2


class Agents:
    """d0 (owner of `small`, its store holds `big` too) and d1 (replica), mutual TLS over loopback."""

    def __init__(self, barge, work, small, port):
        self.barge, self.work, self.small, self.procs = barge, work, small, {}
        self.port = {n: free_port(ADDR[n], port) for n in ADDR}
        run([barge, "cert", "init-ca", "--out", os.path.join(work, "ca")], capture_output=True)
        for n in ADDR:
            run([barge, "cert", "issue", n, "--ca", os.path.join(work, "ca"), "--out", os.path.join(work, "certs")], capture_output=True)
        os.makedirs(os.path.join(work, "d1", "vols"), exist_ok=True)

    def extra_volumes(self, n):
        """More [[volume]] lines for node n (other parts add theirs)."""
        return []

    def state(self, n):
        return os.path.join(self.work, n, "state")

    def sock(self, n):
        return os.path.join(self.work, n + ".sock")

    def config(self, n):
        other = "d1" if n == "d0" else "d0"
        path = self.small if n == "d0" else os.path.join(self.work, "d1", "vols", "small")
        lines = ['[node]', 'name = "%s"' % n, 'listen = "%s:%d"' % (ADDR[n], self.port[n]), 'state_dir = "%s"' % self.state(n),
                 'control_socket = "%s"' % self.sock(n), 'metrics = "%s:%d"' % (ADDR[n], self.port[n] + 1),
                 '[tls]', 'ca = "%s"' % os.path.join(self.work, "ca", "ca.pem"),
                 'cert = "%s"' % os.path.join(self.work, "certs", n + ".pem"), 'key = "%s"' % os.path.join(self.work, "certs", n + ".key"),
                 '[[peer]]', 'name = "%s"' % other, 'address = "%s:%d"' % (ADDR[other], self.port[other]),
                 # interval 1h: the scheduler stays out of the way; every snapshot and replication here is the bench's
                 '[[volume]]', 'name = "small"', 'path = "%s"' % path, 'owner = "d0"', 'replicas = ["d1"]', 'interval = "1h"']
        lines += self.extra_volumes(n)
        p = os.path.join(self.work, n + ".toml")
        with open(p, "w") as f:
            f.write("\n".join(lines) + "\n")
        return p

    def start(self):
        for n in ADDR:
            log = open(os.path.join(self.work, n + ".log"), "a")
            self.procs[n] = subprocess.Popen([self.barge, "agent", "--config", self.config(n)], stdout=log, stderr=log)
        for n in ADDR:
            for _ in range(600):
                if self.status(n) is not None:
                    break
                if self.procs[n].poll() is not None:
                    raise RuntimeError("agent %s exited (log %s)" % (n, os.path.join(self.work, n + ".log")))
                time.sleep(0.05)
            else:
                raise RuntimeError("agent %s did not answer within 30 s (log %s)" % (n, os.path.join(self.work, n + ".log")))

    def status(self, n):
        r = subprocess.run([self.barge, "status", "--json", "--socket", self.sock(n)], capture_output=True)
        if r.returncode != 0:
            return None
        try:
            return {v["name"]: v for v in json.loads(r.stdout)["volumes"]}
        except (ValueError, KeyError):
            return None

    def hwm_kib(self, n):
        try:
            with open("/proc/%d/status" % self.procs[n].pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        except (OSError, KeyError):
            pass
        return None

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = {}


class Rounds:
    """One round: one small file of `small` changed, `barge snapshot small`, `barge replicate small`,
    each CLI call timed (wall clock, process start included)."""

    def __init__(self, barge, sock, small):
        self.barge, self.sock, self.n = barge, sock, 0
        files = []
        for root, _, fs in os.walk(small):
            for f in fs:
                p = os.path.join(root, f)
                if not os.path.islink(p) and os.path.getsize(p) < 16384:
                    files.append(p)
        self.files = sorted(files)
        if not self.files:
            raise RuntimeError("no small file in %s" % small)
        self.failures = []

    def call(self, kind):
        t0 = time.monotonic()
        r = subprocess.run([self.barge, kind, "small", "--json", "--socket", self.sock], capture_output=True, text=True)
        t1 = time.monotonic()
        ok = r.returncode == 0
        doc = {}
        if ok:
            try:
                doc = json.loads(r.stdout)
            except ValueError:
                ok = False
        if ok and kind == "replicate" and not all(p.get("ok") for p in doc.get("peers", [])):
            ok = False
        if not ok:
            self.failures.append("%s (exit %d): %s %s" % (kind, r.returncode, r.stdout[-300:], r.stderr[-500:]))
        return {"kind": kind, "start": t0, "end": t1, "seconds": t1 - t0, "ok": ok}

    def one(self):
        path = self.files[self.n % len(self.files)]
        with open(path, "ab") as f:
            f.write(b"\n# barge gc bench, round %d\n" % self.n)
        self.n += 1
        return [self.call("snapshot"), self.call("replicate")]


def latency(calls, kind):
    s = [c["seconds"] for c in calls if c["kind"] == kind]
    return {"n": len(s), "p50": statistics.median(s) if s else None, "p95": pct(s, 95), "max": max(s) if s else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--data", help="the real-files tree: used (and consumed) when it exists, else built there (default WORK/data)")
    ap.add_argument("--cache", help="where the .deb files are kept (default WORK/cache)")
    ap.add_argument("--rounds", type=int, default=20, help="baseline rounds (default 20)")
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="keep only the smallest top-level parts holding this share of the bytes (quick runs; default 1: all)")
    ap.add_argument("--extra-gib", type=float, default=0.0,
                    help="add this many GiB of generated incompressible files to `big` (half removed before snapshot 2; default 0)")
    ap.add_argument("--port", type=int, default=27720)
    args = ap.parse_args()
    if args.rounds < 1 or not 0 < args.fraction <= 1 or args.extra_gib < 0:
        ap.error("--rounds must be at least 1, --fraction in (0, 1] and --extra-gib at least 0")
    for tool in ("restic", "apt-get", "dpkg-deb", "/usr/bin/time"):
        if shutil.which(tool) is None:
            raise SystemExit("gc bench needs %s (apt-get install restic time)" % tool)
    barge = os.path.abspath(args.barge) if os.sep in args.barge else shutil.which(args.barge) or args.barge
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    data = os.path.abspath(args.data or os.path.join(work, "data"))
    cache = args.cache or os.path.join(work, "cache")
    out = open(args.results, "a")

    def emit(doc):
        out.write(json.dumps(doc) + "\n")
        out.flush()

    def say(text):
        print(text, flush=True)

    errors = []
    agents = None
    env = dict(os.environ, RESTIC_PASSWORD="bench", RESTIC_CACHE_DIR=os.path.join(work, "restic-cache"))
    small = os.path.join(work, "small")
    repo, spare = os.path.join(work, "restic-repo"), os.path.join(work, "spare-state")
    try:
        # ---------------------------------------------------------------- data
        t0 = time.monotonic()
        if os.path.isdir(data) and os.listdir(data):
            reused = True
        else:
            reused = False
            realfiles.build(data, cache)
        remove(small)
        src = os.path.join(data, "debs", SMALL_PACKAGE)
        if not os.path.isdir(src):   # another mirror's package set: the smallest package part
            src = os.path.join(data, min(((s, n) for s, n in parts_of(data) if n.startswith("debs/")))[1])
        run(["cp", "-a", src, small])
        first = os.path.relpath(src, data)
        parts = parts_of(data)
        trimmed = []
        if args.fraction < 1:
            budget, acc = args.fraction * sum(s for s, _ in parts), 0
            for s, n in sorted(parts, key=lambda p: (p[0], p[1])):
                if acc + s <= budget or n == first:
                    acc += s
                else:
                    trimmed.append(n)
                    remove(os.path.join(data, n))
            parts = [p for p in parts if p[1] not in trimmed]
        info = describe(data, cache)
        removed, kept, rb, kb = split_half(parts, first)
        extra, extra_removed, t1 = [], [], time.monotonic()
        if args.extra_gib > 0:
            if os.path.lexists(os.path.join(data, "generated")):
                raise RuntimeError("%s already has generated/" % data)
            extra = generate_extra(os.path.join(data, "generated"), args.extra_gib)
            extra_removed = [n for k, (_, n) in enumerate(extra) if k % 2 == 1]
            run(["sync"])
        info.update({"extra_gib": args.extra_gib, "extra_files": len(extra), "extra_bytes": sum(s for s, _ in extra),
                     "extra_removed_files": len(extra_removed), "extra_removed_bytes": sum(s for s, n in extra if n in extra_removed),
                     "extra_generate_s": time.monotonic() - t1})
        info.update({"name": "gc_data", "tool": "info", "barge": barge, "reused": reused, "fraction": args.fraction, "trimmed_parts": len(trimmed),
                     "parts": len(parts), "removed_parts": removed, "removed_bytes": rb, "kept_bytes": kb,
                     "small_from": first, "small_files": sum(len(f) for _, _, f in os.walk(small)), "small_bytes": tree_bytes(small),
                     "prepare_s": time.monotonic() - t0})
        emit(info)
        say("gc data: %d files, %.0f MB in %d parts%s; snapshot 2 drops %d parts, %.0f MB (%.0f%% of the bytes); small = copy of %s "
            "(%d files, %.1f MB)" % (info["files"], info["bytes"] / 1e6, len(parts), " (fraction %.2f)" % args.fraction if trimmed else "",
                                      len(removed), rb / 1e6, 100.0 * rb / max(1, rb + kb), first, info["small_files"],
                                      info["small_bytes"] / 1e6))
        if extra:
            say("gc extra data: %d generated files, %.0f MB (in %.0f s) under generated/; snapshot 2 drops %d of them, %.0f MB" % (
                len(extra), info["extra_bytes"] / 1e6, info["extra_generate_s"], len(extra_removed), info["extra_removed_bytes"] / 1e6))

        # ---------------------------------------------------------------- the two histories
        state = os.path.join(work, "d0", "state")
        remove(os.path.join(work, "d0"))
        remove(os.path.join(work, "d1"))
        os.makedirs(os.path.join(work, "d0"))
        remove(repo)
        remove(env["RESTIC_CACHE_DIR"])
        bg = [barge, "--state-dir", state]
        run(bg + ["init"], stdout=subprocess.DEVNULL)
        run(bg + ["volume", "add", "big", data], stdout=subprocess.DEVNULL)
        run(["restic", "-q", "-r", repo, "init"], env=env, stdout=subprocess.DEVNULL)

        def restic_backup():
            doc = None
            for line in run(["restic", "-r", repo, "backup", "--json", data], env=env, capture_output=True, text=True).stdout.splitlines():
                if line.startswith("{") and '"summary"' in line:
                    doc = json.loads(line)
            return doc["snapshot_id"]

        t0 = time.monotonic()
        snap1 = json.loads(run(bg + ["snapshot", "big", "--json"], capture_output=True, text=True).stdout)["id"]
        rsnap1 = restic_backup()
        for name in removed + extra_removed:
            remove(os.path.join(data, name))
        snap2 = json.loads(run(bg + ["snapshot", "big", "--json"], capture_output=True, text=True).stdout)["id"]
        restic_backup()
        run(bg + ["forget", "big", "--snapshot", snap1], stdout=subprocess.DEVNULL)
        run(["restic", "-q", "-r", repo, "forget", rsnap1], env=env, stdout=subprocess.DEVNULL)
        remove(data)   # no longer needed: the rest works on the stores
        packs = lambda st: tree_bytes(os.path.join(st, "packs"))
        barge_before, restic_before = {"packs": packs(state), "state": tree_bytes(state)}, tree_bytes(repo)
        emit({"name": "gc_histories", "tool": "info", "barge_snapshots": [snap1, snap2], "restic_forgotten": rsnap1,
              "barge_packs_before": barge_before["packs"], "barge_state_before": barge_before["state"], "restic_repo_before": restic_before,
              "seconds": time.monotonic() - t0})
        say("histories: barge %s -> %s (first forgotten), store %.0f MB; restic repo %.0f MB" % (
            snap1[:8], snap2[:8], barge_before["state"] / 1e6, restic_before / 1e6))

        # ---------------------------------------------------------------- gc alone vs restic prune
        remove(spare)
        run(["cp", "-a", state, spare])
        mode = realfiles.cold()
        seconds, rss, stdout = timed([barge, "--state-dir", spare, "gc", "--json"])
        report = json.loads(stdout)
        doc = {"name": "gc_offline", "tool": "barge", "seconds": seconds, "rss_kib": rss, "cache": mode, "report": report,
               "packs_before": barge_before["packs"], "state_before": barge_before["state"],
               "packs_after": packs(spare), "state_after": tree_bytes(spare)}
        emit(doc)
        say("barge gc alone (offline, %s): %.2f s (its own %.2f s), rss %s KiB; store %.0f -> %.0f MB, %d packs deleted, %d rewritten, "
            "%.0f MB copied" % (mode, seconds, report["seconds"], rss, barge_before["state"] / 1e6, doc["state_after"] / 1e6,
                                report["packs_deleted"], report["packs_rewritten"], report["bytes_copied"] / 1e6))
        remove(spare)
        mode = realfiles.cold()
        seconds, rss, _ = timed(["restic", "-q", "-r", repo, "prune"], env=env)
        restic_after = tree_bytes(repo)
        emit({"name": "gc_restic_prune", "tool": "restic", "seconds": seconds, "rss_kib": rss, "cache": mode,
              "repo_before": restic_before, "repo_after": restic_after,
              "version": run(["restic", "version"], capture_output=True, text=True).stdout.strip()})
        say("restic prune (%s): %.2f s, rss %s KiB; repo %.0f -> %.0f MB" % (mode, seconds, rss, restic_before / 1e6, restic_after / 1e6))
        remove(repo)
        remove(env["RESTIC_CACHE_DIR"])

        # ---------------------------------------------------------------- gc beside snapshots and replications
        agents = Agents(barge, work, small, args.port)
        agents.start()
        rounds = Rounds(barge, agents.sock("d0"), small)
        rounds.call("snapshot")
        rounds.call("replicate")
        if rounds.failures:
            raise RuntimeError("first snapshot/replication of small failed: %s" % rounds.failures[0])
        realfiles.cold()
        rounds.one()   # untimed: binaries and `small` back in the page cache
        base = []
        for _ in range(args.rounds):
            base += rounds.one()
        bl = {k: latency(base, k) for k in ("snapshot", "replicate")}
        say("baseline, %d rounds: snapshot p50 %.3f s max %.3f s; replicate p50 %.3f s max %.3f s" % (
            args.rounds, bl["snapshot"]["p50"], bl["snapshot"]["max"], bl["replicate"]["p50"], bl["replicate"]["max"]))

        before = {"packs": packs(state), "state": tree_bytes(state)}
        mode = realfiles.cold()
        rounds.one()   # untimed, as before the baseline: only the store's packs stay cold
        gc_out = {}

        def run_gc():
            gc_out["start"] = time.monotonic()
            r = subprocess.run([barge, "gc", "--json", "--socket", agents.sock("d0")], capture_output=True, text=True)
            gc_out["end"] = time.monotonic()
            gc_out["rc"], gc_out["stdout"], gc_out["stderr"] = r.returncode, r.stdout, r.stderr

        thread = threading.Thread(target=run_gc)
        thread.start()
        during = []
        while thread.is_alive():
            during += rounds.one()
        thread.join()
        run(["sync"])
        if gc_out["rc"] != 0:
            raise RuntimeError("barge gc through the agent failed (exit %d): %s" % (gc_out["rc"], gc_out["stderr"][-800:]))
        report = json.loads(gc_out["stdout"])
        g0, g1 = gc_out["start"], gc_out["end"]
        overlapped = [c for c in during if c["start"] < g1 and c["end"] > g0]
        dl = {k: latency(overlapped, k) for k in ("snapshot", "replicate")}
        after = {"packs": packs(state), "state": tree_bytes(state)}
        emit({"name": "gc_agent", "tool": "barge", "wall_s": g1 - g0, "cache": mode, "report": report,
              "packs_before": before["packs"], "packs_after": after["packs"], "state_before": before["state"], "state_after": after["state"],
              "rounds_during": len(during) // 2, "calls_overlapping": len(overlapped), "hwm_kib": {n: agents.hwm_kib(n) for n in ADDR}})
        say("barge gc through d0's agent, beside the rounds (%s): %.2f s wall (its own %.2f s, waited %.3f s), store %.0f -> %.0f MB, "
            "%d packs skipped, %d blobs revived; %d rounds ran meanwhile" % (
                mode, g1 - g0, report["seconds"], report["waited_seconds"], before["state"] / 1e6, after["state"] / 1e6,
                report["packs_skipped"], report["blobs_revived"], len(during) // 2))
        for kind in ("snapshot", "replicate"):
            b, d = bl[kind], dl[kind]
            pause = d["max"] - b["p50"] if d["max"] is not None else None
            emit({"name": "gc_pause_%s" % kind, "tool": "barge", "baseline": b, "during": d, "pause_s": pause, "target_s": PAUSE_TARGET_S,
                  "baseline_s": [c["seconds"] for c in base if c["kind"] == kind],
                  "during_s": [c["seconds"] for c in overlapped if c["kind"] == kind]})
            say("%-9s during gc: n=%d p50 %s p95 %s max %s; pause = max - baseline median = %s (target < %.0f s)" % (
                kind, d["n"], *("%.3f s" % v if v is not None else "n/a" for v in (d["p50"], d["p95"], d["max"], pause)), PAUSE_TARGET_S))
        if rounds.failures:
            errors.append("%d snapshot/replicate calls failed, first: %s" % (len(rounds.failures), rounds.failures[0]))

        # ---------------------------------------------------------------- checks
        standby = None
        for _ in range(600):
            st = (agents.status("d1") or {}).get("small", {})
            own = (agents.status("d0") or {}).get("small", {})
            if st.get("standby_snapshot") and st.get("standby_snapshot") == own.get("latest_snapshot") and not st.get("standby_updating"):
                standby = st.get("standby_path")
                break
            time.sleep(0.1)
        agents.stop()
        cmp = subprocess.run([sys.executable, os.path.join(BENCH, "treecmp.py"), "--json", small, standby or "/nonexistent"],
                             capture_output=True, text=True)
        r = subprocess.run([barge, "--state-dir", state, "verify", "--read-data", "--json"], capture_output=True, text=True)
        emit({"name": "gc_checks", "tool": "barge", "verify_rc": r.returncode, "verify": r.stdout[-2000:] or r.stderr[-800:],
              "standby_identical": cmp.returncode == 0 and standby is not None, "standby_path": standby})
        if r.returncode != 0:
            errors.append("barge verify --read-data of d0's store after gc: exit %d: %s" % (r.returncode, (r.stdout + r.stderr)[-800:]))
        if cmp.returncode != 0 or standby is None:
            errors.append("d1's standby copy of small is not identical to the source (%s)" % (cmp.stdout[-500:] or "no standby"))
        say("checks: verify --read-data of d0's store %s; d1's standby of small %s" % (
            "ok" if r.returncode == 0 else "FAILED", "identical" if cmp.returncode == 0 and standby else "DIFFERS"))
    except Exception as e:   # recorded, then the work dirs go all the same
        errors.append("%s: %s" % (type(e).__name__, e))
    finally:
        if agents:
            agents.stop()
        emit({"name": "gc_errors", "tool": "info", "errors": errors})
        out.close()
        if errors:
            for e in errors:
                print("gc bench: ERROR: %s" % e, file=sys.stderr, flush=True)
            # the agents' logs, configs and stores stay for a look; the data and restic's repository go
            for p in (data, repo, spare, env["RESTIC_CACHE_DIR"]):
                remove(p)
        else:
            remove(work)
            if os.path.exists(data):
                remove(data)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
