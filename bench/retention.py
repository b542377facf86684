#!/usr/bin/env python3
"""Store growth under retention (issue 9): 30 simulated days of a volume of real
files with 1% daily churn, a snapshot every INTERVAL minutes (`barge snapshot
--time`, `restic backup --time`), and once a simulated day the policy
keep_hourly 24, keep_daily 7, keep_weekly 4 (`barge forget` + `barge gc`,
`restic forget --prune`). Reports the store's size at the end against the live
data's, the snapshots kept, and the time retention and space reclaiming took.

The volume: the first VOLUME_MIB of the real-files tree (bench/realfiles.py) in
path order; churn replaces files with others from the rest of that tree, so the
new content is real too. Standard library only.
"""
import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import realfiles  # noqa: E402  (build, tree_bytes)

POLICY = ["--keep-hourly", "24", "--keep-daily", "7", "--keep-weekly", "4"]


def timed(cmd, env=None, cwd=None):
    started = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd[:3]), r.returncode, (r.stderr or r.stdout).strip()[-1500:]))
    return time.monotonic() - started, r.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--barge", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--data", help="the real-files tree (read only; built there when missing)")
    ap.add_argument("--cache", help="where the .deb files are kept")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--interval", type=int, default=15, help="minutes between snapshots (default 15)")
    ap.add_argument("--volume-mib", type=int, default=64)
    ap.add_argument("--churn", type=float, default=0.01, help="share of the live bytes replaced per day (default 0.01)")
    args = ap.parse_args()
    if args.days < 1 or not 1 <= args.interval <= 1440 or 1440 % args.interval:
        ap.error("--days at least 1; --interval must divide a day")
    barge = os.path.abspath(args.barge) if os.sep in args.barge else shutil.which(args.barge) or args.barge
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    data = os.path.abspath(args.data or os.path.join(work, "data"))
    built_here = False
    if not os.path.isdir(data):
        realfiles.build(data, args.cache or os.path.join(work, "cache"))
        built_here = True
    files = realfiles.regular_files(data)
    live, reserve, total = [], [], 0
    for rel, size in files:
        if total < args.volume_mib << 20:
            live.append((rel, size))
            total += size
        else:
            reserve.append((rel, size))
    volume, state, repo = os.path.join(work, "volume"), os.path.join(work, "state"), os.path.join(work, "restic")
    for rel, _ in live:
        os.makedirs(os.path.dirname(os.path.join(volume, rel)), exist_ok=True)
        shutil.copy2(os.path.join(data, rel), os.path.join(volume, rel))
    env = dict(os.environ, RESTIC_PASSWORD="bench", RESTIC_CACHE_DIR=os.path.join(work, "restic-cache"), RESTIC_PROGRESS_FPS="0.0001")
    subprocess.run([barge, "--state-dir", state, "init"], check=True, capture_output=True)
    subprocess.run([barge, "--state-dir", state, "volume", "add", "v", volume], check=True, capture_output=True)
    subprocess.run(["restic", "-r", repo, "init"], check=True, capture_output=True, env=env)

    rng = random.Random(20261206)
    per_step = args.churn * args.interval / 1440
    start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
    steps_per_day = 1440 // args.interval
    t = {"barge_snapshot": 0.0, "restic_backup": 0.0, "barge_forget": 0.0, "barge_gc": 0.0, "restic_forget_prune": 0.0}
    replaced = 0
    debt = 0.0
    for step in range(args.days * steps_per_day):
        # Churn: files out, as many bytes of files from the rest of the tree in.
        debt += per_step * sum(size for _, size in live)
        while debt > 0 and reserve and len(live) > 1:
            out = live.pop(rng.randrange(len(live)))
            os.unlink(os.path.join(volume, out[0]))
            incoming = reserve.pop(rng.randrange(len(reserve)))
            target = os.path.join(volume, incoming[0])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copy2(os.path.join(data, incoming[0]), target)
            live.append(incoming)
            debt -= max(out[1], incoming[1], 1)
            replaced += 1
        when = (start + datetime.timedelta(minutes=step * args.interval)).strftime("%Y-%m-%dT%H:%M:%SZ")
        seconds, _ = timed([barge, "--state-dir", state, "snapshot", "v", "--time", when])
        t["barge_snapshot"] += seconds
        # restic's --time takes "YYYY-MM-DD HH:MM:SS" in local time: TZ=UTC makes it barge's instant.
        seconds, _ = timed(["restic", "-r", repo, "backup", "--quiet", "--time", when.replace("T", " ").rstrip("Z"), "."],
                           env=dict(env, TZ="UTC"), cwd=volume)
        t["restic_backup"] += seconds
        if (step + 1) % steps_per_day == 0:
            seconds, _ = timed([barge, "--state-dir", state, "forget", "v", *POLICY])
            t["barge_forget"] += seconds
            seconds, _ = timed([barge, "--state-dir", state, "gc"])
            t["barge_gc"] += seconds
            seconds, _ = timed(["restic", "-r", repo, "forget", "--quiet", *POLICY, "--prune"], env=dict(env, TZ="UTC"))
            t["restic_forget_prune"] += seconds
            print("day %d: live %.1f MB; barge store %.1f MB, restic repo %.1f MB" % (
                (step + 1) // steps_per_day, realfiles.tree_bytes(volume) / 1e6, realfiles.tree_bytes(state) / 1e6, realfiles.tree_bytes(repo) / 1e6), flush=True)
    _, listed = timed([barge, "--state-dir", state, "snapshots", "v", "--json"])
    barge_kept = len(json.loads(listed))
    _, listed = timed(["restic", "-r", repo, "snapshots", "--json"], env=env)
    restic_kept = len(json.loads(listed))
    verify = subprocess.run([barge, "--state-dir", state, "verify", "--read-data"], capture_output=True, text=True)
    doc = {"name": "retention", "tool": "barge", "days": args.days, "interval_minutes": args.interval, "churn": args.churn,
           "snapshots_taken": args.days * steps_per_day, "files_replaced": replaced,
           "live_bytes": realfiles.tree_bytes(volume), "live_files": len(live), "barge_store_bytes": realfiles.tree_bytes(state),
           "barge_packs_bytes": realfiles.tree_bytes(os.path.join(state, "packs")), "restic_repo_bytes": realfiles.tree_bytes(repo),
           "barge_kept": barge_kept, "restic_kept": restic_kept, "seconds": t, "verify_ok": verify.returncode == 0,
           "restic_version": subprocess.run(["restic", "version"], capture_output=True, text=True).stdout.strip()}
    with open(args.results, "a") as out:
        out.write(json.dumps(doc) + "\n")
    print(json.dumps(doc, indent=1), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    if built_here:
        shutil.rmtree(data, ignore_errors=True)
    return 0 if doc["verify_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
