#!/usr/bin/env python3
"""Makes policies.json: retention vectors answered by restic itself (not by barge's code).

For each series of snapshot times, a restic repository gets one snapshot per time
(`restic backup --time`), then `restic forget --dry-run --json` with each policy says which it
keeps, and when it ran ("now": keep-within counts from the newest snapshot not after it). barge's retention
(Sources/Retention) must keep exactly the same ones. Times are UTC
(TZ=UTC: restic buckets in local time, barge in UTC).

usage: TZ=UTC make_vectors.py OUT.json   (needs restic; takes a few minutes)
"""
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile

os.environ["TZ"] = "UTC"
os.environ["RESTIC_PASSWORD"] = "vectors"

def series():
    start = dt.datetime(2026, 11, 1, 0, 7, tzinfo=dt.timezone.utc)
    every = [start + dt.timedelta(minutes=25 * i) for i in range(int(5 * 24 * 60 / 25))]
    six_hours = [start + dt.timedelta(hours=6 * i, minutes=i % 7) for i in range(4 * 40)]
    rng = random.Random(9)
    irregular = sorted({dt.datetime(2024, 12, 20, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=rng.randrange(800 * 86400))
                        for _ in range(150)})
    # Week and year edges: Sunday 23:59 and Monday 00:00 (ISO weeks begin on Monday), a 53-week year.
    edges = [dt.datetime(*t, tzinfo=dt.timezone.utc) for t in [
        (2026, 12, 27, 23, 59), (2026, 12, 28, 0, 0), (2026, 12, 31, 23, 59, 59), (2027, 1, 1, 0, 0, 1),
        (2027, 1, 3, 12, 0), (2027, 1, 4, 0, 0), (2027, 1, 4, 0, 30), (2027, 1, 4, 1, 0), (2027, 2, 28, 23, 0),
        (2027, 3, 1, 0, 0), (2028, 2, 29, 12, 0), (2028, 3, 1, 12, 0)]]
    return {"every-25-minutes-5-days": every, "every-6-hours-40-days": six_hours, "irregular-800-days": irregular, "edges": edges}

POLICIES = [
    {"keep_last": 3},
    {"keep_hourly": 24, "keep_daily": 7, "keep_weekly": 4},
    {"keep_daily": 10, "keep_monthly": 6, "keep_yearly": 2},
    {"keep_within": "2d", "keep_weekly": 3},
    {"keep_last": 1, "keep_hourly": 2},
    {"keep_within": "36h"},
    {"keep_weekly": 5, "keep_monthly": 3},
    {"keep_yearly": 5},
]

FLAGS = {"keep_last": "--keep-last", "keep_hourly": "--keep-hourly", "keep_daily": "--keep-daily",
         "keep_weekly": "--keep-weekly", "keep_monthly": "--keep-monthly", "keep_yearly": "--keep-yearly",
         "keep_within": "--keep-within"}

def restic(repo, *args):
    return subprocess.run(["restic", "-r", repo, "-q", *args], check=True, capture_output=True, text=True).stdout

def main():
    out = {"source": "restic " + subprocess.run(["restic", "version"], capture_output=True, text=True).stdout.split()[1],
           "cases": []}
    for name, times in series().items():
        with tempfile.TemporaryDirectory() as tmp:
            repo, data = os.path.join(tmp, "repo"), os.path.join(tmp, "data")
            os.makedirs(data)
            open(os.path.join(data, "f"), "w").write("x")
            restic(repo, "init")
            for t in times:
                restic(repo, "backup", "--host", "h", "--time", t.strftime("%Y-%m-%d %H:%M:%S"), data)
            stamps = [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times]
            for policy in POLICIES:
                args = []
                for key, value in policy.items():
                    args += [FLAGS[key], str(value)]
                now = dt.datetime.now(dt.timezone.utc)   # snapshots after it do not set keep_within's window
                groups = json.loads(restic(repo, "forget", "--dry-run", "--json", *args))
                kept = sorted(dt.datetime.fromisoformat(s["time"]).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                              for g in groups for s in g.get("keep") or [])
                out["cases"].append({"series": name, "policy": policy, "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                     "snapshots": stamps, "kept": kept})
                print(name, policy, len(kept), "of", len(stamps), file=sys.stderr)
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")

main()
