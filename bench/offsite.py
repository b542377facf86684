#!/usr/bin/env python3
"""barge benchmark, off-site part (bench/README.md, "Off-site copies to S3").

Issue 10's targets: upload to and restore from an S3 server, side by side with restic 0.14 to the
same server, encryption on for both (barge's [[offsite]] copies are always encrypted, restic's
repositories too). The server: moto on loopback with SigV4 signature checking on, started by
scripts/s3-test-server.py (one per run, so every run starts with empty buckets; barge and restic
get a bucket each). The data: the real-files tree of realfiles.py (Debian packages unpacked, copies
of the bare git repositories in /opt/swift-packages; built by realfiles.build, or taken from --data
when the real-files part left it there), optionally only part of it (--fraction).

Each run, every timed step after a dropped page cache and until durable (a trailing `sync`):
  first upload:  `barge snapshot v` (the local snapshot) then at once `barge offsite push v --to s3`
                 vs `restic -r s3:ENDPOINT/restic-bench backup DATA`. barge's number is snapshot +
                 push (both tools start from files); push alone is reported too.
  small change:  ~1% of the regular files (a fixed sample) changed: every other one gets 4 KiB
                 overwritten in its middle (the whole file when smaller), the others a line appended;
                 then the same three commands again.
  restore:       onto a "bare machine": `barge restore v --offsite s3 --target DIR` without a state
                 dir (it fetches into a scratch store beside DIR and restores) vs `restic restore
                 latest --target DIR` with an empty cache dir. The first run compares both restored
                 trees with the (changed) source, bench/treecmp.py.
  bytes:         each bucket's growth (sum of its objects' sizes, listed with boto3 before and after
                 each upload); also barge's own bytes_uploaded and restic's data_added.
The change is undone after each run (the changed files put back from copies), so every run sees the
same trees. Timings: medians over the runs; bytes from the first run (all runs are recorded).

moto 5.x rebuilds the request's URL through werkzeug, which decodes a %2F in the query: a listing
whose prefix holds a "/" (restic's keys/, data/, ...) then fails the signature check. The server is
started by scripts/s3-test-server.py with s3-test-server.d/sitecustomize.py, which puts the query back in
SigV4's canonical encoding before moto checks it (the check stays on, for both tools).

usage: offsite.py --barge BIN --work DIR --results FILE [--data DIR] [--cache DIR] [--runs 3] [--fraction 1]
Appends JSON lines to FILE (name=offsite_...); prints a summary. Exit 1 when a command failed or a
restore differs from the source. Needs boto3 and moto[server] (make deps-bench), restic.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realfiles  # noqa: E402  (build, drop_caches, tree_bytes)

BENCH = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(os.path.dirname(BENCH), "scripts", "s3-test-server.py")
BARGE_BUCKET, BARGE_PREFIX, RESTIC_BUCKET = "barge-bench", "b.", "restic-bench"
CHANGE_SHARE = 0.01       # share of the regular files the small change touches
CHANGE_SEED = 20261210
OVERWRITE = 4096          # bytes overwritten in the middle of every other changed file


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def setup(cmd, env=None):
    """An untimed step; its stderr goes into the error."""
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd[:4]), r.returncode, (r.stderr or r.stdout)[-800:]))
    return r.stdout


def remove(path):
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.lexists(path):
        subprocess.run(["chmod", "-R", "u+w", path], capture_output=True)   # restic's read-only files, for non-root
        shutil.rmtree(path, ignore_errors=True)


def timed(cmd, env=None, cwd=None):
    """Wall seconds until durable (a trailing sync), peak RSS (KiB) and stdout of one command."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (" ".join(cmd[:4]), r.returncode, r.stderr[-800:]))
    run(["sync"])
    lines = r.stderr.strip().splitlines()
    rss = int(lines[-1]) if lines and lines[-1].isdigit() else None
    return time.monotonic() - t0, rss, r.stdout


def parts_of(data):
    """The top-level parts (debs/PACKAGE, git/ORG) with their sizes (as gc.py)."""
    parts = []
    for top in ("debs", "git"):
        d = os.path.join(data, top)
        if os.path.isdir(d):
            for name in os.listdir(d):
                parts.append((realfiles.tree_bytes(os.path.join(d, name)), top + "/" + name))
    return parts


def trim(data, fraction):
    """Keeps the smallest top-level parts holding `fraction` of the bytes (as gc.py --fraction); removes the rest."""
    parts = parts_of(data)
    budget, acc, trimmed = fraction * sum(s for s, _ in parts), 0, []
    for s, n in sorted(parts):
        if acc + s <= budget:
            acc += s
        else:
            trimmed.append(n)
            remove(os.path.join(data, n))
    return trimmed


def describe(data):
    files = dirs = size = 0
    for root, ds, fs in os.walk(data):
        dirs += len(ds)
        for f in fs:
            files += 1
            size += os.lstat(os.path.join(root, f)).st_size
    return {"files": files, "dirs": dirs, "bytes": size}


def versions_of(data, cache):
    names = set(os.listdir(os.path.join(data, "debs"))) if os.path.isdir(os.path.join(data, "debs")) else set()
    out = {}
    for deb in sorted(os.listdir(cache)) if cache and os.path.isdir(cache) else []:
        if deb.endswith(".deb") and deb.split("_")[0] in names:
            out[deb.split("_")[0]] = urllib.parse.unquote(deb.split("_")[1])
    return out


class Change:
    """The small change: a fixed sample of ~1% of the regular files; apply() and undo()."""

    def __init__(self, data, saved):
        files = realfiles.regular_files(data)
        n = max(1, round(CHANGE_SHARE * len(files)))
        self.picks = sorted(random.Random(CHANGE_SEED).sample(files, n))
        self.data, self.saved, self.applied = data, saved, False

    def apply(self):
        remove(self.saved)
        os.makedirs(self.saved)
        self.applied = True
        changed = overwritten = appended = 0
        for i, (rel, size) in enumerate(self.picks):
            path = os.path.join(self.data, rel)
            shutil.copy2(path, os.path.join(self.saved, "%06d" % i))
            os.chmod(path, os.lstat(path).st_mode | 0o200)   # git's packs are read-only (for non-root)
            with open(path, "r+b") as f:
                if i % 2 == 0:
                    n = min(OVERWRITE, size)
                    off = (size - n) // 2
                    f.seek(off)
                    f.write(hashlib.shake_128(b"barge offsite bench/%d" % i).digest(n))
                    overwritten += 1
                else:
                    n = len(b"\n# barge offsite bench: small change %06d\n" % i)
                    f.seek(0, os.SEEK_END)
                    f.write(b"\n# barge offsite bench: small change %06d\n" % i)
                    appended += 1
                f.flush()
                os.fsync(f.fileno())
            changed += n
        return {"files_changed": len(self.picks), "files_overwritten": overwritten, "files_appended": appended, "bytes_changed": changed,
                "bytes_of_changed_files": sum(s for _, s in self.picks)}

    def undo(self):
        if not self.applied:
            return
        for i, (rel, _) in enumerate(self.picks):
            path, copy = os.path.join(self.data, rel), os.path.join(self.saved, "%06d" % i)
            if os.path.exists(copy):
                os.unlink(path)
                shutil.copy2(copy, path)   # content, mode and mtime as before
        remove(self.saved)
        self.applied = False


class S3Server:
    """scripts/s3-test-server.py (moto, signatures checked) with the query-encoding fix loaded."""

    def __init__(self, log_path):
        env = dict(os.environ)
        self.log = open(log_path, "a")
        self.info, self.moto_pid = None, None
        self.proc = subprocess.Popen([sys.executable, SERVER], stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        got = {}
        reader = threading.Thread(target=lambda: got.setdefault("line", self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(90)
        if not got.get("line"):
            self.stop()
            raise RuntimeError("scripts/s3-test-server.py printed nothing within 90 s (log %s)" % log_path)
        self.info = json.loads(got["line"])
        self.moto_pid = self.info.get("pid")
        self.endpoint = self.info["endpoint"]

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=self.info["access_key_id"],
                            aws_secret_access_key=self.info["secret_access_key"], region_name=self.info.get("region", "us-east-1"))

    def bucket(self, name):
        """(objects, bytes) in the bucket; (0, 0) when it does not exist yet."""
        s3 = self.client()
        objects = size = 0
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
                for o in page.get("Contents", []):
                    objects += 1
                    size += o["Size"]
        except s3.exceptions.NoSuchBucket:
            return 0, 0
        return objects, size

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()   # the starter kills moto's process group and exits
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.moto_pid:   # the moto server this starter started, should it still run
            try:
                with open("/proc/%d/cmdline" % self.moto_pid, "rb") as f:
                    alive = b"moto.server" in f.read()
            except OSError:
                alive = False
            if alive:
                try:
                    os.killpg(self.moto_pid, signal.SIGTERM)
                except OSError:
                    pass
            self.moto_pid = None
        self.log.close()


def restic_summary(stdout):
    doc = None
    for line in stdout.splitlines():
        if line.startswith("{") and '"summary"' in line:
            try:
                doc = json.loads(line)
            except ValueError:
                pass
    return doc or {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--data", help="the real-files tree (changed during a run, put back after it); built in WORK/data when missing")
    ap.add_argument("--cache", help="where the .deb files are kept (default WORK/cache)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--fraction", type=float, default=1.0,
                    help="use only the smallest top-level parts holding this share of the bytes (quick runs; default 1: all)")
    args = ap.parse_args()
    if args.runs < 1 or not 0 < args.fraction <= 1:
        ap.error("--runs must be at least 1 and --fraction in (0, 1]")
    for tool in ("restic", "apt-get", "dpkg-deb", "/usr/bin/time"):
        if shutil.which(tool) is None:
            raise SystemExit("offsite bench needs %s (apt-get install restic time)" % tool)
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError:
        raise SystemExit("offsite bench needs boto3 and moto[server] (make deps-bench: pip install 'moto[server]==5.2.1')")
    barge = os.path.abspath(args.barge) if os.sep in args.barge else shutil.which(args.barge) or args.barge
    work = os.path.abspath(args.work)
    remove(work)
    os.makedirs(work)
    cache = args.cache or os.path.join(work, "cache")
    # A shared tree (the real-files part's) is used as it is; a fraction of it needs a tree of our own.
    shared = args.data and os.path.isdir(args.data) and os.listdir(args.data) and args.fraction >= 1
    data = os.path.abspath(args.data) if shared else os.path.join(work, "data")
    out = open(args.results, "a")

    def emit(doc):
        out.write(json.dumps(doc) + "\n")
        out.flush()

    started = time.monotonic()

    def say(text):
        print("[offsite %4ds] %s" % (time.monotonic() - started, text), flush=True)

    errors = []
    change = None
    server = None
    state, cfg, key, creds = (os.path.join(work, n) for n in ("state", "offsite.toml", "offsite.key", "s3.credentials"))
    target_b, target_r = os.path.join(work, "restore-barge"), os.path.join(work, "restore-restic")
    rcache, rcache_restore = os.path.join(work, "restic-cache"), os.path.join(work, "restic-cache-restore")
    runs = []
    try:
        # ---------------------------------------------------------------- data
        t0 = time.monotonic()
        trimmed = []
        if not shared:
            realfiles.build(data, cache)
            if args.fraction < 1:
                trimmed = trim(data, args.fraction)
        info = describe(data)
        versions = {
            "restic": run(["restic", "version"], capture_output=True, text=True).stdout.strip(),
            "moto": run([sys.executable, "-c", "import moto; print(moto.__version__)"], capture_output=True, text=True).stdout.strip(),
            "boto3": run([sys.executable, "-c", "import boto3; print(boto3.__version__)"], capture_output=True, text=True).stdout.strip(),
        }
        st = os.stat(barge)
        info.update({"name": "offsite_data", "tool": "info", "barge": barge, "barge_size": st.st_size,
                     "barge_mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(st.st_mtime)), "versions": versions,
                     "packages": versions_of(data, cache), "git_repositories": os.path.isdir(os.path.join(data, "git")),
                     "shared_tree": bool(shared), "fraction": args.fraction, "trimmed_parts": len(trimmed), "runs": args.runs,
                     "change_share": CHANGE_SHARE, "prepare_s": time.monotonic() - t0})
        change = Change(data, os.path.join(work, "changed-originals"))
        info["change_files"] = len(change.picks)
        emit(info)
        say("offsite data: %d files, %d dirs, %.0f MB%s; %s; moto %s" % (
            info["files"], info["dirs"], info["bytes"] / 1e6, " (fraction %.2f, %d parts left out)" % (args.fraction, len(trimmed))
            if trimmed else "", versions["restic"], versions["moto"]))

        for r in range(args.runs):
            doc = {"name": "offsite_run%d" % r, "tool": "info", "run": r}
            run_t0 = time.monotonic()
            server = S3Server(os.path.join(work, "s3-server.log"))
            doc["endpoint"] = server.endpoint
            # ------------------------------------------------------------ fresh barge state, target, restic repository
            for p in (state, cfg, key, creds, rcache, rcache_restore):
                remove(p)
            with open(creds, "w") as f:
                f.write('access_key_id = "%s"\nsecret_access_key = "%s"\n' % (server.info["access_key_id"], server.info["secret_access_key"]))
            os.chmod(creds, 0o600)
            setup([barge, "offsite", "keygen", key])
            with open(cfg, "w") as f:
                f.write('[[offsite]]\nname = "s3"\nendpoint = "%s"\nbucket = "%s"\nprefix = "%s"\ncredentials_file = "%s"\nkey_file = "%s"\n' % (
                    server.endpoint, BARGE_BUCKET, BARGE_PREFIX, creds, key))
            setup([barge, "--state-dir", state, "init"])
            setup([barge, "--state-dir", state, "volume", "add", "v", data])
            setup([barge, "offsite", "init", "s3", "--config", cfg])
            benv = dict(os.environ, BARGE_STATE_DIR=state)
            bare = {k: v for k, v in os.environ.items() if k != "BARGE_STATE_DIR"}
            renv = dict(os.environ, RESTIC_PASSWORD="bench", AWS_ACCESS_KEY_ID=server.info["access_key_id"],
                        AWS_SECRET_ACCESS_KEY=server.info["secret_access_key"], RESTIC_CACHE_DIR=rcache, RESTIC_PROGRESS_FPS="0.2")
            repo = "s3:%s/%s" % (server.endpoint, RESTIC_BUCKET)
            setup(["restic", "-q", "-r", repo, "init"], env=renv)

            def upload(label):
                """barge snapshot, push at once; restic backup: times, RSS, bucket growth."""
                b0, r0 = server.bucket(BARGE_BUCKET), server.bucket(RESTIC_BUCKET)
                d = {"cache": realfiles.cold()}
                d["barge_snapshot_s"], d["barge_snapshot_rss_kib"], o = timed([barge, "--state-dir", state, "snapshot", "v", "--json"])
                snap = json.loads(o)
                d["barge_push_s"], d["barge_push_rss_kib"], o = timed(
                    [barge, "offsite", "push", "v", "--to", "s3", "--config", cfg, "--json"], env=benv)
                push = json.loads(o)
                d["barge_s"] = d["barge_snapshot_s"] + d["barge_push_s"]
                b1 = server.bucket(BARGE_BUCKET)
                realfiles.cold()
                d["restic_s"], d["restic_rss_kib"], o = timed(["restic", "-r", repo, "backup", "--json", data], env=renv)
                summary = restic_summary(o)
                r1 = server.bucket(RESTIC_BUCKET)
                d.update({"barge_bucket_bytes": b1[1] - b0[1], "barge_bucket_objects": b1[0] - b0[0], "barge_bucket_total": b1[1],
                          "barge_bytes_uploaded": push.get("bytes_uploaded"), "barge_blobs_uploaded": push.get("blobs_uploaded"),
                          "barge_packs_uploaded": push.get("packs_uploaded"), "barge_push_own_s": push.get("seconds"),
                          "barge_snapshot_chunk_bytes_new": snap.get("chunk_bytes_new"), "barge_snapshot_bytes_added": snap.get("bytes_added"),
                          "restic_bucket_bytes": r1[1] - r0[1], "restic_bucket_objects": r1[0] - r0[0], "restic_bucket_total": r1[1],
                          "restic_data_added": summary.get("data_added"), "restic_files_new": summary.get("files_new"),
                          "restic_files_changed": summary.get("files_changed")})
                say("run %d %-6s barge snapshot %.2f s + push %.2f s = %.2f s (rss %s / %s KiB), bucket +%.2f MB (bytes_uploaded %.2f MB); "
                    "restic backup %.2f s (rss %s KiB), bucket +%.2f MB (data_added %.2f MB)" % (
                        r, label, d["barge_snapshot_s"], d["barge_push_s"], d["barge_s"], d["barge_snapshot_rss_kib"], d["barge_push_rss_kib"],
                        d["barge_bucket_bytes"] / 1e6, (d["barge_bytes_uploaded"] or 0) / 1e6, d["restic_s"], d["restic_rss_kib"],
                        d["restic_bucket_bytes"] / 1e6, (d["restic_data_added"] or 0) / 1e6))
                return d

            try:
                doc["first"] = upload("first")
                doc["change"] = change.apply()
                doc["small"] = upload("small")

                # -------------------------------------------------------- restores onto a bare machine
                # Both restored trees stay until both restores ran: no tree is removed right before a restore
                # (this VM's ext4 skips recently freed inodes, see realfiles.SETTLE); the next run's restores
                # come minutes after this run's trees go.
                d = {}
                remove(target_b)
                remove(target_r)
                d["cache"] = realfiles.cold()
                d["barge_s"], d["barge_rss_kib"], o = timed(
                    ["env", "-u", "BARGE_STATE_DIR", barge, "restore", "v", "--offsite", "s3", "--config", cfg, "--target", target_b, "--json"],
                    env=bare)
                rest = json.loads(o)
                d["barge_bytes_downloaded"] = (rest.get("offsite") or {}).get("bytes_downloaded")
                d["barge_bytes_written"] = rest.get("bytes_written")
                realfiles.cold()
                d["restic_s"], d["restic_rss_kib"], _ = timed(["restic", "-q", "-r", repo, "restore", "latest", "--target", target_r],
                                                              env=dict(renv, RESTIC_CACHE_DIR=rcache_restore))
                if r == 0:   # both restored trees against the (changed) source, the two comparisons side by side
                    v0 = time.monotonic()
                    cmps = {tool: subprocess.Popen([sys.executable, os.path.join(BENCH, "treecmp.py"), "--json", data, restored],
                                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                            for tool, restored in (("barge", target_b), ("restic", target_r + data))}   # restic: the absolute path below
                    for tool, p in cmps.items():
                        stdout, stderr = p.communicate()
                        d[tool + "_identical"] = p.returncode == 0
                        d[tool + "_compare"] = json.loads(stdout) if stdout.startswith("{") else stderr[-500:]
                        if p.returncode != 0:
                            errors.append("%s's restore from the bucket differs from the source: %s" % (tool, (stdout or stderr)[-600:]))
                    d["compare_s"] = time.monotonic() - v0
                remove(target_b)
                remove(target_r)
                doc["restore"] = d
                say("run %d restore  barge %.2f s (rss %s KiB, %.2f MB downloaded)%s; restic %.2f s (rss %s KiB)%s" % (
                    r, d["barge_s"], d["barge_rss_kib"], (d["barge_bytes_downloaded"] or 0) / 1e6,
                    "" if r else (", identical" if d["barge_identical"] else ", DIFFERS"), d["restic_s"], d["restic_rss_kib"],
                    "" if r else (", identical" if d["restic_identical"] else ", DIFFERS")))
            finally:
                change.undo()
                server.stop()
                server = None
                for p in (target_b, target_r, state, rcache, rcache_restore):
                    remove(p)
            doc["run_s"] = time.monotonic() - run_t0   # the whole run, untimed steps (server, setup, listings, compares) included
            emit(doc)
            runs.append(doc)

        # ---------------------------------------------------------------- summary
        def med(part, key):
            v = [d[part][key] for d in runs if d.get(part, {}).get(key) is not None]
            return (statistics.median(v), min(v), max(v)) if v else (None, None, None)

        summary = {"name": "offsite", "tool": "barge", "runs": len(runs), "cache": runs[0]["first"]["cache"], "data_bytes": info["bytes"], "data_files": info["files"],
                   "change": runs[0]["change"], "first_bytes": {}, "small_bytes": {}, "times": {}, "peak_rss_kib": {}}
        for part in ("first", "small"):
            d = runs[0][part]
            summary[part + "_bytes"] = {k: d[k] for k in ("barge_bucket_bytes", "barge_bytes_uploaded", "barge_bucket_objects",
                                                          "restic_bucket_bytes", "restic_data_added", "restic_bucket_objects")}
            summary[part + "_bytes"]["barge_bucket_bytes_all"] = [x[part]["barge_bucket_bytes"] for x in runs]
            summary[part + "_bytes"]["restic_bucket_bytes_all"] = [x[part]["restic_bucket_bytes"] for x in runs]
            for key in ("barge_s", "barge_snapshot_s", "barge_push_s", "restic_s"):
                summary["times"]["%s_%s" % (part, key)] = med(part, key)
        for key in ("barge_s", "restic_s"):
            summary["times"]["restore_" + key] = med("restore", key)
        for part, keys in (("first", ("barge_snapshot_rss_kib", "barge_push_rss_kib", "restic_rss_kib")),
                           ("small", ("barge_snapshot_rss_kib", "barge_push_rss_kib", "restic_rss_kib")),
                           ("restore", ("barge_rss_kib", "restic_rss_kib"))):
            for key in keys:
                v = [x[part][key] for x in runs if x[part].get(key)]
                summary["peak_rss_kib"]["%s_%s" % (part, key)] = max(v) if v else None
        summary["restore_identical"] = {"barge": runs[0]["restore"].get("barge_identical"), "restic": runs[0]["restore"].get("restic_identical")}
        summary["restore_barge_bytes_downloaded"] = runs[0]["restore"].get("barge_bytes_downloaded")
        emit(summary)
        t = summary["times"]
        for part in ("first", "small"):
            b = summary[part + "_bytes"]
            say("%-6s upload: bytes barge %.2f MB vs restic %.2f MB (%.2fx); time barge snapshot+push %.2f s (push alone %.2f s) "
                "vs restic backup %.2f s: %.2fx restic's speed" % (
                    part, b["barge_bucket_bytes"] / 1e6, b["restic_bucket_bytes"] / 1e6, b["barge_bucket_bytes"] / max(1, b["restic_bucket_bytes"]),
                    t[part + "_barge_s"][0], t[part + "_barge_push_s"][0], t[part + "_restic_s"][0],
                    t[part + "_restic_s"][0] / t[part + "_barge_s"][0]))
        say("restore: barge %.2f s vs restic %.2f s: %.2fx restic's speed (medians of %d runs)" % (
            t["restore_barge_s"][0], t["restore_restic_s"][0], t["restore_restic_s"][0] / t["restore_barge_s"][0], len(runs)))
    except Exception as e:   # recorded, then the work dir goes all the same
        errors.append("%s: %s" % (type(e).__name__, e))
    finally:
        if change is not None:
            change.undo()
        if server is not None:
            server.stop()
        emit({"name": "offsite_errors", "tool": "info", "errors": errors})
        out.close()
        for e in errors:
            print("offsite bench: ERROR: %s" % e, file=sys.stderr, flush=True)
        log = os.path.join(work, "s3-server.log")
        if errors and os.path.exists(log):
            with open(log, errors="replace") as f:
                tail = f.read()[-2000:]
            if tail.strip():
                print("s3 server's log (tail):\n" + tail, file=sys.stderr, flush=True)
        remove(work)   # the tree built here (not a shared one), the stores, the targets
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
