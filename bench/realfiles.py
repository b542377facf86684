#!/usr/bin/env python3
"""barge benchmark, real-files part (bench/README.md, "Real files").

Data nobody here wrote: a fixed list of Debian packages (`apt-get download`, unpacked with
`dpkg-deb -x`: Go's and Linux's sources and headers, Emacs Lisp, Python's and Perl's libraries,
HTML docs, compressed man pages, LibreOffice and LLVM binaries) and copies of the bare git
repositories this machine keeps under /opt/swift-packages (what a cgit host's volume holds):
about 40,000 files and 780 MB, many of them small or already compressed. The package versions
are whatever Debian's mirror serves; they are recorded in the results.

On it, RUNS times each, cold page cache (snapshots also warm), every step timed until durable
(a trailing `sync`):
  floors:   a parallel read of every file (2 readers; what no snapshot can beat),
            `cp -a` and `rsync -a --whole-file` of the tree (what no restore needs to lose to);
  snapshot: barge (a new store each run), restic 0.14 (default compression), borg 1.2 (lz4);
  restore:  of each tool's snapshot into an empty directory;
  first replication (realrepl.py; --replication 0 skips it): three barge agents over mutual TLS on
            loopback, fresh agents and empty stores each run, `barge snapshot` through the owner,
            then cold: `barge replicate` to one replica (--to d1), and to two at once, each timed
            from the command's start until the replicas' status shows the standby copy at the
            snapshot (compared with the rsync --whole-file copy; each copy checked with treecmp.py),
            and the agents' peak RSS (VmHWM).
Medians of the runs, ratios against restic, borg and the floors. Peak RSS via /usr/bin/time.

usage: realfiles.py --barge BIN --work DIR --results FILE [--runs 3] [--cache DIR] [--replication 1]
                    [--repl-port 27800]
Appends JSON lines to FILE (name=real_...); prints a summary. Python standard library only.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

import realrepl

PACKAGES = [
    "golang-1.19-src", "emacs-common", "libpython3.11-stdlib", "perl-modules-5.36", "manpages-dev",
    "python3.11-doc", "libreoffice-core", "gcc-12", "libllvm15",
]
HEADERS_PATTERN = r"^linux-headers-6\.1\.0-[0-9]+-common$"   # the newest one the mirror has
SETTLE = 6   # s after removing a big tree: this VM's ext4 skips recently freed inodes (bench/README.md)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def headers_package():
    def search():
        out = run(["apt-cache", "search", "--names-only", HEADERS_PATTERN], capture_output=True, text=True).stdout
        return sorted((line.split()[0] for line in out.splitlines() if line.strip()), key=lambda n: int(n.split("-")[3]))
    names = search()
    if not names and os.geteuid() == 0:
        # A fresh machine whose packages were all there already has no package lists yet.
        run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL)
        names = search()
    if not names:
        raise SystemExit("realfiles: no linux-headers-6.1.0-*-common package on the mirror; run `apt-get update` as root")
    return names[-1]


def tree_bytes(path):
    """Bytes of the regular files below path (apparent sizes)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def build(data, cache):
    """Downloads (once, into cache) and unpacks the packages, copies the bare repositories."""
    os.makedirs(cache, exist_ok=True)
    packages = PACKAGES + [headers_package()]
    missing = [p for p in packages if not any(f.startswith(p + "_") for f in os.listdir(cache))]
    if missing:
        run(["apt-get", "download", *missing], cwd=cache, stdout=subprocess.DEVNULL)
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    versions = {}
    for deb in sorted(f for f in os.listdir(cache) if f.endswith(".deb")):
        name = deb.split("_")[0]
        if name not in packages:
            continue
        versions[name] = urllib.parse.unquote(deb.split("_")[1])
        os.makedirs(os.path.join(data, "debs", name))
        run(["dpkg-deb", "-x", os.path.join(cache, deb), os.path.join(data, "debs", name)])
    repos = "/opt/swift-packages"
    if os.path.isdir(repos):
        run(["cp", "-a", repos, os.path.join(data, "git")])
    files = dirs = size = 0
    for root, ds, fs in os.walk(data):
        dirs += len(ds)
        for f in fs:
            st = os.lstat(os.path.join(root, f))
            files += 1
            size += st.st_size
    return {"files": files, "dirs": dirs, "bytes": size, "packages": versions, "git_repositories": os.path.isdir(repos)}


def drop_caches():
    run(["sync"])
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def regular_files(root):
    """(relative path, size) of every regular file under root, in a stable order."""
    out = []
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(base, name)
            st = os.lstat(path)
            if os.path.isfile(path) and not os.path.islink(path):
                out.append((os.path.relpath(path, root), st.st_size))
    return out


def cold():
    """Page cache dropped when allowed (root); returns the cache mode."""
    try:
        drop_caches()
        return "cold"
    except OSError:
        run(["sync"])
        return "warm"


def timed(cmd, env=None, cwd=None):
    """Wall seconds until durable and peak RSS (KiB) of one command."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd[:3]), r.returncode, r.stderr[-800:]))
    run(["sync"])
    rss = int(r.stderr.strip().splitlines()[-1]) if r.stderr.strip() else None
    return time.monotonic() - t0, rss


TRASHES = set()


def remove(path, settle=True):
    """settle: the next step creates a tree's worth of inodes (a copy, a restore). Then the tree is
    renamed into a trash beside it instead (nothing freed, so nothing to wait out), and empty_trash()
    frees everything at once and waits SETTLE once, when the steps that create trees are done."""
    if not os.path.exists(path):
        return
    if settle:
        trash = os.path.join(os.path.dirname(os.path.abspath(path)), ".bench-trash")
        os.makedirs(trash, exist_ok=True)
        TRASHES.add(trash)
        os.rename(path, os.path.join(trash, "%d" % time.monotonic_ns()))
    else:
        shutil.rmtree(path)


def empty_trash():
    if TRASHES:
        for trash in sorted(TRASHES):
            shutil.rmtree(trash, ignore_errors=True)
        TRASHES.clear()
        time.sleep(SETTLE)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--secondary-runs", type=int, default=None,
                    help="runs of the peers' warm snapshots, the cp floor and the first replications (default: --runs)")
    ap.add_argument("--cache", help="where the .deb files are kept (default WORK/cache)")
    ap.add_argument("--replication", type=int, choices=(0, 1), default=1,
                    help="1 (default): also the first-replication rows (realrepl.py); 0: skip them")
    ap.add_argument("--repl-port", type=int, default=27800, help="the replication agents' peer port (the next free one)")
    args = ap.parse_args()
    for tool in ("restic", "borg", "rsync", "apt-get", "dpkg-deb", "/usr/bin/time"):
        if shutil.which(tool) is None:
            raise SystemExit("realfiles needs %s (apt-get install restic borgbackup rsync time)" % tool)
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "data")
    info = build(data, args.cache or os.path.join(work, "cache"))
    out = open(args.results, "a")
    out.write(json.dumps(dict({"name": "real_data", "tool": "info"}, **info)) + "\n")
    print("real files: %d files, %d dirs, %.0f MB; %s" % (info["files"], info["dirs"], info["bytes"] / 1e6,
                                                       ", ".join("%s %s" % kv for kv in sorted(info["packages"].items()))), flush=True)
    restic_cache = os.path.join(work, "restic-cache")
    env = dict(os.environ, RESTIC_PASSWORD="bench", RESTIC_CACHE_DIR=restic_cache, BORG_PASSPHRASE="", BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes",
               BORG_RELOCATED_REPO_ACCESS_IS_OK="yes")
    store, target = os.path.join(work, "store"), os.path.join(work, "target")
    read_all = ["sh", "-c", "find %s -type f -print0 | xargs -0 -P 2 -n 64 cat > /dev/null" % data]

    secondary = args.secondary_runs or args.runs
    template = os.path.join(work, "restic-template")

    def step(name, tool, prepare, cmd, cwd=None, cold=True, runs=None):
        times, rss = [], []
        for i in range(runs or args.runs):
            remove(target)
            prepare()
            if cold:
                drop_caches()
            else:
                run(read_all)   # the tree in the page cache, as right after it was written
            seconds, kib = timed(cmd, env=env, cwd=cwd)
            times.append(seconds)
            rss.append(kib)
            out.write(json.dumps({"name": "real_%s_%s_run%d" % (name, tool, i), "tool": tool, "seconds": seconds, "rss_kib": kib}) + "\n")
        times.sort()
        doc = {"name": "real_%s_%s" % (name, tool), "tool": tool, "median_s": times[len(times) // 2], "min_s": times[0],
               "max_s": times[-1], "rss_kib": max(k for k in rss if k) if any(rss) else None, "runs": len(times)}
        out.write(json.dumps(doc) + "\n")
        out.flush()
        print("%-9s %-7s median %.2f s [%.2f-%.2f]  rss %s KiB" % (name, tool, doc["median_s"], doc["min_s"], doc["max_s"], doc["rss_kib"]),
              flush=True)
        return doc

    nothing = lambda: None
    try:
        step("floor_read", "read", nothing, read_all, runs=secondary)
        step("floor_copy", "cp", nothing, ["cp", "-a", data, target], runs=secondary)
        rsync_copy = step("floor_copy", "rsync", nothing, ["rsync", "-a", "--whole-file", data + "/", target + "/"])

        def fresh_barge(codec=None):
            remove(store, settle=False)   # a snapshot creates a few pack files, not a tree
            run([args.barge, "--state-dir", store, "init"] + (["--compression", codec] if codec else []), stdout=subprocess.DEVNULL)
            run([args.barge, "--state-dir", store, "volume", "add", "real", data], stdout=subprocess.DEVNULL)

        def stored(tool, path):
            """The bytes of the store the last step left (its last run's snapshot of the whole tree)."""
            out.write(json.dumps({"name": "real_store_%s" % tool, "tool": tool, "bytes": tree_bytes(path)}) + "\n")

        def fresh_restic():
            # One `restic init` (2-3 s of key derivation each), copied for every run: an empty repository.
            remove(store, settle=False)
            remove(restic_cache, settle=False)   # the copies share the template's id: no cache from the run before
            if not os.path.isdir(template):
                run(["restic", "-q", "-r", template, "init"], env=env, stdout=subprocess.DEVNULL)
            shutil.copytree(template, store, symlinks=True)

        def fresh_borg():
            remove(store, settle=False)
            run(["borg", "init", "-e", "none", store], env=env, stdout=subprocess.DEVNULL)

        # Each tool: its snapshots, then (on the store of its last run) its restores.
        step("snapshot", "barge", fresh_barge, [args.barge, "--state-dir", store, "snapshot", "real"])
        step("snapshot_warm", "barge", fresh_barge, [args.barge, "--state-dir", store, "snapshot", "real"], cold=False)
        stored("barge", store)
        step("restore", "barge", nothing, [args.barge, "--state-dir", store, "restore", "real", "--target", target])
        # The faster codec a store can be made with (`init --compression lz4`): larger packs, less CPU.
        step("snapshot_warm", "barge-lz4", lambda: fresh_barge("lz4"), [args.barge, "--state-dir", store, "snapshot", "real"],
             cold=False, runs=secondary)
        stored("barge-lz4", store)
        step("snapshot", "restic", fresh_restic, ["restic", "-q", "-r", store, "backup", data])
        step("snapshot_warm", "restic", fresh_restic, ["restic", "-q", "-r", store, "backup", data], cold=False, runs=secondary)
        stored("restic", store)
        step("restore", "restic", nothing, ["restic", "-q", "-r", store, "restore", "latest", "--target", target])
        step("snapshot", "borg", fresh_borg, ["borg", "create", "--compression", "lz4", store + "::a", data])
        step("snapshot_warm", "borg", fresh_borg, ["borg", "create", "--compression", "lz4", store + "::a", data], cold=False,
             runs=secondary)
        stored("borg", store)
        step("restore", "borg", lambda: os.makedirs(target), ["borg", "extract", store + "::a"], cwd=target)
        if args.replication:
            remove(target)   # the replicas create two trees' worth of inodes next
            remove(store, settle=False)
            empty_trash()
            realrepl.measure(args.barge, data, os.path.join(work, "repl"), out, secondary, remove, drop_caches,
                             port=args.repl_port, floor_s=rsync_copy["median_s"])
    finally:
        remove(target, settle=False)
        remove(template, settle=False)
        remove(restic_cache, settle=False)
        empty_trash()
        remove(store)
        out.close()


if __name__ == "__main__":
    main()
