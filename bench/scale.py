#!/usr/bin/env python3
"""barge benchmark, scale part (bench/README.md, "Scale").

Does barge's cost per file stay flat when a volume grows 25 times? Two trees from the same generator
(`gen_data.py manyfiles`: small files of 0-4 KiB, ~6% empty, ~10% incompressible, the rest text-like,
depth <= 4, about 100 files a directory):

  reference  --ref-files (40,000) files in --ref-dirs (files/100) directories, --ref-runs (3) runs, medians
  scale      --files (1,000,000) files in --dirs (10,000) directories, --runs (1) run

On each, per run (every command followed by `sync` inside the timed interval, peak RSS via
/usr/bin/time -f %M; "cold": sync, page cache dropped (dentries and inodes too), then the binaries
re-warmed (`barge --help`, `rsync --version`, `find --version`) so a small tree does not pay the
barge binary's page-ins that a big one hides):
  snapshot  `barge init`, `barge volume add many DATA` (untimed, a new store), then
            `barge snapshot many` (full), cold;
  walk      (first run only) the floor of an incremental snapshot: a bare stat walk
            `find DATA -printf '%s %T@ %C@ %i\\n'`, warm (one untimed walk, then 3 timed, median);
  nochange  `barge snapshot many` again, nothing changed, warm (the untimed walk right before it);
  restore   `barge restore many --target NEW_DIR`, cold; the first run's copy compared with the data
            (treecmp.py --jobs 8: a difference fails the part);
  rsync     the restore's floor: `rsync -a --whole-file DATA/ NEW_DIR/`, cold (--rsync both|ref|none);
  repl1     first replication to one peer (realrepl.first_replication): three fresh agents d0 (owner,
            volume `many` = DATA), d1, d2 over mutual TLS on loopback (port --port, default 27900, or the
            next free one), `barge snapshot many` through d0 (timed: info), cold, then from the start of
            `barge replicate many --to d1` until d1's status shows the standby copy at that snapshot
            (repl_wait.py); each agent's VmHWM; the standby copy compared with the data (treecmp.py --jobs 8).
Each run writes into new directories (stores, restore and rsync targets, the agents' state and standby
copies), and nothing is removed while trees are still to be created: this VM's ext4 has no journal, and
without one its inode allocator skips every inode freed in the last 60 s (360 s while the inode table
block is dirty), so a tree created right after a big one was removed pays for the removal. Removing is
slow too (ext4 mounted with `discard` and no journal discards each file's blocks synchronously in
unlink: ~150 us a file, ~80 us with 4 rm in parallel), so the removal of everything but the big set's
data and standby copy starts in the background (4 rm in parallel) when the last tree has been created,
while the big set's standby copy is compared with the data (untimed). At the end everything under --work
is removed (also on failure or SIGTERM; the agents' logs are first copied to --logs on failure), and the
time of that removal written to WORK/../.scale-removed-at: run.sh reads it before it wipes BENCH_DIR and
makes the next scale part wait until 6 min have passed.

usage: scale.py --barge BIN --work DIR --results FILE [--files 1000000] [--dirs 10000]
                [--ref-files 40000] [--ref-dirs FILES/100] [--runs 1] [--ref-runs 3] [--rsync both]
                [--port 27900] [--seed 42] [--logs DIR]
Appends JSON lines to FILE (name=scale_...); prints timestamped progress lines. Python standard library only.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import realrepl

HERE = os.path.dirname(os.path.abspath(__file__))
VOLUME = "many"
CMD_TIMEOUT = 3600          # s for any one command (the 1M-file steps take seconds to minutes)
# disk per file (bytes), measured on the generator's trees: a tree (4 KiB blocks, directories) ~3.8 KiB,
# a store ~0.8 KiB; with margin
TREE_PER_FILE = 4400
STORE_PER_FILE = 1200
VERIFY_JOBS = 8            # treecmp --jobs (processes): a cold 1M-file comparison, 282 s alone here, took 79-96 s
RM_PARALLEL = 4            # rm processes (this VM's disk: 4 beat 1 by 2.3x and 16 by 1.3x)
T0 = time.monotonic()


def log(msg):
    print("[%s +%5ds] %s" % (time.strftime("%H:%M:%S"), time.monotonic() - T0, msg), flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, timeout=CMD_TIMEOUT, **kw)


def pressure():
    """Stall totals (s) from /proc/pressure: cpu and io "some" (any task waiting); {} without PSI."""
    out = {}
    for what in ("cpu", "io"):
        try:
            with open("/proc/pressure/" + what) as f:
                out[what] = int(f.readline().split("total=")[1]) / 1e6
        except (OSError, IndexError, ValueError):
            pass
    return out


def remover(paths):
    """A background process removing PATHS, one after the other, each with RM_PARALLEL rm processes."""
    script = 'for p in "$@"; do [ -e "$p" ] || continue; ' \
             'find "$p" -mindepth 1 -maxdepth 1 -print0 | xargs -0 -r -P %d -n 1 rm -rf; rm -rf "$p"; done' % RM_PARALLEL
    return subprocess.Popen(["sh", "-c", script, "sh", *paths])


class Scale:
    def __init__(self, args):
        self.args = args
        self.barge = args.barge
        self.work = os.path.abspath(args.work)
        self.out = open(args.results, "a")
        self.bg_remove = None   # (Popen, start time, paths)
        self.last = {}          # CPU and stall seconds of the last timed() command

    def remove_in_background(self, keep):
        """Starts removing every store, restore and rsync target, standby copy and data set under the work
        dir except KEEP (untimed steps only follow: no tree is created after this)."""
        paths = []
        for tag in sorted(os.listdir(self.work)):
            d = os.path.join(self.work, tag)
            if os.path.isdir(d) and tag != "repl":
                paths += [os.path.join(d, n) for n in sorted(os.listdir(d)) if os.path.join(d, n) not in keep]
        log("scale: removing %d trees and stores in the background (%d rm in parallel) while the standby copy is compared"
            % (len(paths), RM_PARALLEL))
        self.bg_remove = (remover(paths), time.monotonic(), paths)

    # ------------------------------------------------------------ helpers
    def record(self, doc):
        self.out.write(json.dumps(doc) + "\n")
        self.out.flush()

    def drop_caches(self):
        run(["sync"])
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")

    def cold(self):
        self.drop_caches()
        for cmd in ([self.barge, "--help"], ["rsync", "--version"], ["find", "--version"], ["/usr/bin/time", "--version"]):
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def walk_cmd(self, data):
        return ["find", data, "-printf", "%s %T@ %C@ %i\\n"]

    def warm(self, data):
        """No drop; one untimed stat walk: the tree's metadata in the cache."""
        run(["sync"])
        run(self.walk_cmd(data), stdout=subprocess.DEVNULL)

    def timed(self, cmd, sync=True, stdout=None):
        """Wall seconds (until durable when sync) and peak RSS (KiB) of one command; raises on failure.
        self.last: its user and system CPU seconds, and the machine's cpu/io stall seconds meanwhile (PSI
        "some": time any task waited; on a shared 2-core VM, what tells noise from the command's cost)."""
        tfile = os.path.join(self.work, ".time")
        p0 = pressure()
        t0 = time.monotonic()
        r = subprocess.run(["/usr/bin/time", "-q", "-f", "%U %S %M", "-o", tfile, *cmd], stdout=stdout or subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=CMD_TIMEOUT)
        if sync:
            run(["sync"])
        seconds = time.monotonic() - t0
        p1 = pressure()
        if r.returncode != 0:
            raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd[:4]), r.returncode,
                                                            r.stderr.decode(errors="replace")[-1500:]))
        self.last = {"stall_%s_s" % k: round(p1[k] - p0[k], 3) for k in p0 if k in p1}
        try:
            with open(tfile) as f:
                user, sys_, rss = f.read().split()[-3:]
            rss = int(rss)
            self.last.update(user_s=float(user), sys_s=float(sys_))
        except (OSError, ValueError, IndexError):
            rss = None
        return seconds, rss, (r.stdout.decode(errors="replace") if stdout is None else "")

    def verify(self, data, copy, what):
        def report(text, err=False):
            print(text, file=sys.stderr if err else sys.stdout, flush=True)
        return realrepl.verify(data, copy, report, label="scale: the %s" % what, jobs=VERIFY_JOBS)

    # ------------------------------------------------------------ one set
    def run_set(self, tag, files, dirs, runs, with_rsync, last_set):
        a = self.args
        base = os.path.join(self.work, tag)
        data = os.path.join(base, "data")
        os.makedirs(base)
        label = "%s set (%d files, %d dirs)" % (tag, files, dirs)
        log("%s: generating (gen_data.py manyfiles --seed %d) ..." % (label, a.seed))
        t0 = time.monotonic()
        r = run([sys.executable, os.path.join(HERE, "gen_data.py"), "manyfiles", data, "--files", str(files),
                 "--dirs", str(dirs), "--seed", str(a.seed)], capture_output=True, text=True)
        run(["sync"])
        gen = json.loads(r.stdout)
        gen_s = time.monotonic() - t0
        self.record(dict(gen, name="scale_%s_gen" % tag, tool="info", set=tag, seconds_until_durable=gen_s,
                         at=time.strftime("%H:%M:%S")))
        nfiles = gen["files"]
        log("%s: generated in %.1f s (%.1f us/file): %d files, %d dirs, %.0f MB" % (label, gen_s, gen_s * 1e6 / nfiles, nfiles,
                                                                                 gen["dirs"], gen["bytes"] / 1e6))
        steps = {k: [] for k in ("snapshot", "walk", "nochange", "restore", "rsync", "repl1")}
        rss = {k: [] for k in steps}
        extra = {"repl1": []}
        hwm_max = {}

        def note(step, i, seconds, kib, **kw):
            steps[step].append(seconds)
            rss[step].append(kib)
            m = {} if step == "repl1" else self.last
            doc = dict({"name": "scale_%s_%s_run%d" % (tag, step, i), "tool": "barge" if step not in ("walk", "rsync") else step,
                        "set": tag, "files": nfiles, "seconds": seconds, "rss_kib": kib,
                        "us_per_file": seconds * 1e6 / nfiles, "at": time.strftime("%H:%M:%S")}, **dict(m, **kw))
            if kib is None:
                del doc["rss_kib"]   # (repl1: the agents' VmHWM instead) report.py takes max() over rss_kib
            self.record(doc)
            log("%s: %-8s run %d: %8.2f s  %7.2f us/file  peak RSS %s%s" % (
                tag, step, i, seconds, seconds * 1e6 / nfiles, "n/a" if kib is None else "%.1f MiB" % (kib / 1024.0),
                "" if "user_s" not in m else "  (CPU %.1f s user + %.1f s sys; machine stalls: cpu %s s, io %s s)" % (
                    m["user_s"], m["sys_s"], m.get("stall_cpu_s", "?"), m.get("stall_io_s", "?"))))

        try:
            for i in range(runs):
                store = os.path.join(base, "store-run%d" % i)
                run([self.barge, "--state-dir", store, "init"], stdout=subprocess.DEVNULL)
                run([self.barge, "--state-dir", store, "volume", "add", VOLUME, data], stdout=subprocess.DEVNULL)
                log("%s: run %d: full snapshot, cold ..." % (tag, i))
                self.cold()
                s, k, so = self.timed([self.barge, "--state-dir", store, "snapshot", VOLUME, "--json"])
                d = json.loads(so)
                note("snapshot", i, s, k, duration_s=d.get("duration_s"), bytes_read=d.get("bytes_read"),
                     chunk_bytes_stored=d.get("chunk_bytes_stored"), snap_files=d.get("files"))
                if i == 0:
                    log("%s: bare stat walks, warm (1 untimed + 3 timed) ..." % tag)
                    self.warm(data)
                    for j in range(3):
                        s, k, _ = self.timed(self.walk_cmd(data), sync=False, stdout=subprocess.DEVNULL)
                        note("walk", j, s, k)
                log("%s: run %d: no-change incremental snapshot, warm ..." % (tag, i))
                self.warm(data)
                s, k, so = self.timed([self.barge, "--state-dir", store, "snapshot", VOLUME, "--json"])
                d = json.loads(so)
                note("nochange", i, s, k, duration_s=d.get("duration_s"), bytes_read=d.get("bytes_read"))
                target = os.path.join(base, "restore-run%d" % i)
                log("%s: run %d: restore into a new directory, cold ..." % (tag, i))
                self.cold()
                s, k, so = self.timed([self.barge, "--state-dir", store, "restore", VOLUME, "--target", target, "--json"])
                d = json.loads(so)
                note("restore", i, s, k, duration_s=d.get("duration_s"), bytes_written=d.get("bytes_written"))
                if i == 0:
                    log("%s: comparing the restored copy with the data (treecmp) ..." % tag)
                    t1 = time.monotonic()
                    doc = self.verify(data, target, "restored copy")
                    self.record({"name": "scale_%s_verify_restore" % tag, "tool": "barge", "set": tag, "ok": doc["ok"],
                                 "entries": doc["entries"], "problems": doc["problems"], "mode_diffs": doc["mode_diffs"],
                                 "mtime_diffs": doc["mtime_diffs"], "seconds": time.monotonic() - t1})
                    log("%s: restored copy identical (%d entries, %d mode diffs, %d mtime diffs; compared in %.1f s)"
                        % (tag, doc["entries"], doc["mode_diffs"], doc["mtime_diffs"], time.monotonic() - t1))
                if with_rsync:
                    log("%s: run %d: rsync -a --whole-file into a new directory, cold (the restore's floor) ..." % (tag, i))
                    self.cold()
                    s, k, _ = self.timed(["rsync", "-a", "--whole-file", data + "/", os.path.join(base, "rsync-run%d" % i) + "/"])
                    note("rsync", i, s, k)
                log("%s: run %d: first replication to one peer (fresh agents, snapshot through the owner, cold, "
                    "replicate --to d1) ..." % (tag, i))
                nodes = os.path.join(base, "nodes-run%d" % i)
                os.makedirs(nodes)
                last = last_set and i == runs - 1

                def before_verify():
                    log("%s: run %d: replicated; comparing the standby copy with the data (treecmp) ..." % (tag, i))
                    if last:   # no tree is created after this one: start the removal of the others
                        self.remove_in_background(keep=(data, nodes))
                doc, hwm, snap_id, snap_s = realrepl.first_replication(
                    self.barge, data, self.repl_work, nodes, self.port, ["d1"], "%s-run%d" % (tag, i), self.cold,
                    lambda msg, err=False: print(msg, file=sys.stderr if err else sys.stdout, flush=True),
                    volume=VOLUME, verify_label="scale replication (%s set)" % tag, what="scale %s run %d" % (tag, i),
                    before_verify=before_verify, verify_jobs=VERIFY_JOBS)
                rep = doc.get("replicate") or {}
                for n, k in hwm.items():
                    if k is not None:
                        hwm_max[n] = max(hwm_max.get(n, 0), k)
                note("repl1", i, doc["standby_s"], None, replicate_s=doc.get("replicate_s"), owner_snapshot_s=snap_s,
                     bytes_sent=rep.get("bytes_sent"), agent_cpu_s=doc.get("agent_cpu_s"), vmhwm_kib=hwm, snapshot=snap_id)
                extra["repl1"].append(snap_s)
                log("%s: run %d: standby copy identical; snapshot through the owner %.1f s; replicate %.1f s; "
                    "agents' VmHWM %s" % (tag, i, snap_s, doc.get("replicate_s") or 0,
                                          ", ".join("%s %.1f MiB" % (n, (k or 0) / 1024.0) for n, k in sorted(hwm.items()))))

        finally:   # the summaries of what was measured, also when a later step failed
            for step, t in steps.items():
                if not t:
                    continue
                ts = sorted(t)
                ks = [k for k in rss[step] if k]
                med = ts[len(ts) // 2]
                doc = {"name": "scale_%s_%s" % (tag, step), "tool": "barge" if step not in ("walk", "rsync") else step, "set": tag,
                       "files": nfiles, "median_s": med, "min_s": ts[0], "max_s": ts[-1], "runs": len(ts),
                       "us_per_file": med * 1e6 / nfiles}
                if ks:
                    doc["rss_kib"] = max(ks)
                if step == "repl1":
                    doc["owner_snapshot_s"] = sorted(extra["repl1"])[len(extra["repl1"]) // 2]
                self.record(doc)
            self.record({"name": "scale_%s_repl_rss" % tag, "tool": "barge-agent", "set": tag, "vmhwm_kib": hwm_max, "runs": runs})
        free = shutil.disk_usage(self.work).free   # the whole file system's: other users' files count too
        self.record({"name": "scale_%s_disk" % tag, "tool": "info", "set": tag, "bytes_free_after": free})
        log("%s: done; %.1f GB free on the file system" % (label, free / 1e9))
        return nfiles

    # ------------------------------------------------------------ the part
    def main(self):
        a = self.args
        os.makedirs(self.work, exist_ok=True)
        ref_dirs = a.ref_dirs if a.ref_dirs else max(4, a.ref_files // 100)
        trees_ref = a.ref_runs * (2 + (a.rsync in ("both", "ref"))) + 1
        trees_big = a.runs * (2 + (a.rsync == "both")) + 1
        need = (a.ref_files * trees_ref + a.files * trees_big) * TREE_PER_FILE \
            + (a.ref_files * 3 * a.ref_runs + a.files * 3 * a.runs) * STORE_PER_FILE
        free = shutil.disk_usage(self.work).free
        self.record({"name": "scale_config", "tool": "info", "files": a.files, "dirs": a.dirs, "ref_files": a.ref_files,
                     "ref_dirs": ref_dirs, "runs": a.runs, "ref_runs": a.ref_runs, "rsync": a.rsync, "seed": a.seed,
                     "volume": VOLUME, "disk_free": free, "disk_needed_est": need, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                     "loadavg": open("/proc/loadavg").read().split()[:3]})
        log("scale: reference %d files / %d dirs x %d runs, then %d files / %d dirs x %d run(s); rsync floor: %s; "
            "disk: %.1f GB free, ~%.1f GB needed" % (a.ref_files, ref_dirs, a.ref_runs, a.files, a.dirs, a.runs, a.rsync,
                                                    free / 1e9, need / 1e9))
        if free < need:
            raise SystemExit("scale: %.1f GB free under %s, ~%.1f GB needed" % (free / 1e9, self.work, need / 1e9))
        self.repl_work = os.path.join(self.work, "repl")   # certificates, the agents' logs
        os.makedirs(self.repl_work)
        self.port = realrepl.pick_port(a.port)
        realrepl.certificates(self.barge, self.repl_work)
        self.record({"name": "scale_repl_config", "tool": "info", "port": self.port, "volume": VOLUME,
                     "replicas": ["d1"], "poll_interval_s": 0.02, "poll_via": "socket", "cache": "cold"})
        for tag, files, dirs, runs, rs in (("ref", a.ref_files, ref_dirs, a.ref_runs, a.rsync in ("both", "ref")),
                                          ("big", a.files, a.dirs, a.runs, a.rsync == "both")):
            t0 = time.monotonic()
            self.run_set(tag, files, dirs, runs, rs, last_set=tag == "big")
            self.record({"name": "scale_%s_elapsed" % tag, "tool": "info", "seconds": time.monotonic() - t0,
                         "loadavg": open("/proc/loadavg").read().split()[:3], "ended": time.strftime("%H:%M:%S")})

    def cleanup(self, failed):
        if failed and self.args.logs and os.path.isdir(os.path.join(self.work, "repl", "logs")):
            shutil.copytree(os.path.join(self.work, "repl", "logs"), self.args.logs, dirs_exist_ok=True)
            log("scale: the agents' logs copied to %s" % self.args.logs)
        if os.path.exists(self.work):
            log("scale: removing %s (its trees and stores) ..." % self.work)
            t0 = time.monotonic()
            rest = [os.path.join(self.work, tag, n) for tag in sorted(os.listdir(self.work)) if tag != "repl"
                    and os.path.isdir(os.path.join(self.work, tag)) for n in sorted(os.listdir(os.path.join(self.work, tag)))]
            if self.bg_remove is not None:
                rest = [p for p in rest if p not in self.bg_remove[2]]
            fg = remover(rest)
            fg.wait()
            bg_s = None
            if self.bg_remove is not None:
                self.bg_remove[0].wait()
                bg_s = time.monotonic() - self.bg_remove[1]
            subprocess.run(["rm", "-rf", self.work])
            subprocess.run(["sync"])   # the freed inodes' table blocks clean: the allocator skips them 60 s, not 360 s
            # when it was: run.sh reads this before it wipes BENCH_DIR, and lets the next scale part wait
            with open(os.path.join(os.path.dirname(self.work), ".scale-removed-at"), "w") as f:
                f.write("%d\n" % time.time())
            self.record({"name": "scale_cleanup", "tool": "info", "seconds": time.monotonic() - t0,
                         "background_s": bg_s})
            log("scale: removed in %.1f s after the end%s" % (time.monotonic() - t0, "" if bg_s is None else
                                                              " (the background removal took %.1f s)" % bg_s))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--barge", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (must be new or empty; removed at the end)")
    ap.add_argument("--results", required=True)
    ap.add_argument("--files", type=int, default=1000000)
    ap.add_argument("--dirs", type=int, default=10000)
    ap.add_argument("--ref-files", type=int, default=40000)
    ap.add_argument("--ref-dirs", type=int, default=0, help="default: ref-files/100 (the scale set's density)")
    ap.add_argument("--runs", type=int, default=1, help="runs on the scale set")
    ap.add_argument("--ref-runs", type=int, default=3, help="runs on the reference set (medians)")
    ap.add_argument("--rsync", choices=("both", "ref", "none"), default="both", help="which sets get the rsync floor")
    ap.add_argument("--port", type=int, default=27900, help="the agents' peer port (or the next free one)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--logs", help="where to copy the agents' logs when the part fails")
    args = ap.parse_args()
    for tool in ("rsync", "find", "/usr/bin/time"):
        if shutil.which(tool) is None:
            raise SystemExit("scale needs %s" % tool)
    args.barge = os.path.abspath(args.barge)
    if os.path.exists(args.work) and os.listdir(args.work):
        raise SystemExit("scale: %s exists and is not empty" % args.work)

    def on_term(signum, frame):
        raise SystemExit("scale: terminated by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    sc = Scale(args)
    failed = True
    try:
        sc.main()
        failed = False
    except BaseException as e:
        sc.record({"name": "scale_error", "tool": "info", "error": "%s: %s" % (type(e).__name__, str(e)[-2000:])})
        log("scale: FAILED: %s: %s" % (type(e).__name__, str(e)[-2000:]))
        raise
    finally:
        sc.cleanup(failed)
        sc.record({"name": "scale_elapsed", "tool": "info", "seconds": time.monotonic() - T0, "ok": not failed,
                   "ended": time.strftime("%H:%M:%S")})
        sc.out.close()
        log("scale: %s after %.0f s" % ("FAILED" if failed else "done", time.monotonic() - T0))


if __name__ == "__main__":
    main()
