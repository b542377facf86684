#!/usr/bin/env python3
"""A stand-in container for the move tests, driven by a volume's hooks.

start: forks a daemon that commits numbered transactions to SQLite in the
volume ($BARGE_PATH/app.db) and appends each acknowledged number to
CLUSTER/acks.log (outside every volume) with the epoch (fencing token) it
runs under, fsynced. It claims CLUSTER/running
with O_EXCL; finding it taken means the container runs twice: that is logged
to CLUSTER/violations.log.
stop: SIGTERM to the daemon, then waits for it to finish its transaction,
close the database and release the claim.

pre_snapshot / post_snapshot: pause the daemon between transactions (its WAL
checkpointed into app.db) and resume it, so a snapshot sees a quiet database.

With --page-writes FILE (in the volume) the daemon also rewrites random 4 KiB pages of that
existing file, --pages-per-second of them (a database's write pattern), paused and stopped with it.

usage: container.py start|stop|pre_snapshot|post_snapshot --node NODE --cluster DIR [--fail]
                    [--page-writes FILE --pages-per-second N]
"""
import argparse
import os
import signal
import sqlite3
import random
import sys
import threading
import time

parser = argparse.ArgumentParser()
parser.add_argument("action", choices=["start", "stop", "pre_snapshot", "post_snapshot"])
parser.add_argument("--node", required=True)
parser.add_argument("--cluster", required=True)
parser.add_argument("--fail", action="store_true", help="exit 1 (a failing hook)")
parser.add_argument("--page-writes", help="a file in the volume whose random 4 KiB pages the daemon rewrites")
parser.add_argument("--pages-per-second", type=float, default=300)
args = parser.parse_args()
if args.fail:
    print(f"{args.action} hook failing on purpose on {args.node}")
    sys.exit(1)

volume = os.environ["BARGE_VOLUME"]
path = os.environ["BARGE_PATH"]
pidfile = os.path.join(args.cluster, f"{volume}.{args.node}.pid")
claim = os.path.join(args.cluster, f"{volume}.running")


def append(name, line):
    with open(os.path.join(args.cluster, name), "a") as f:
        f.write(line + "\n")
        f.flush()
        os.fsync(f.fileno())


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


paused_marker = pidfile + ".paused"
if args.action in ("pre_snapshot", "post_snapshot"):
    try:
        pid = int(open(pidfile).read())
    except (OSError, ValueError):
        sys.exit(0)  # not running here: nothing to quiesce
    if args.action == "pre_snapshot":
        os.kill(pid, signal.SIGUSR1)
        for _ in range(1000):
            if os.path.exists(paused_marker) or not alive(pid):
                sys.exit(0)
            time.sleep(0.005)
        print("container did not pause")
        sys.exit(1)
    os.kill(pid, signal.SIGUSR2)
    sys.exit(0)

if args.action == "stop":
    try:
        pid = int(open(pidfile).read())
    except (OSError, ValueError):
        sys.exit(0)  # not running here
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
        # The daemon removes its pid file as its last act (a zombie would still answer kill 0).
        for _ in range(1000):
            if not os.path.exists(pidfile) or not alive(pid):
                break
            time.sleep(0.005)
        else:
            print(f"container pid {pid} did not stop")
            sys.exit(1)
    try:
        os.unlink(pidfile)
    except OSError:
        pass
    sys.exit(0)

# start is idempotent, like `systemctl start`: a running container is left alone.
try:
    if alive(int(open(pidfile).read())):
        sys.exit(0)
except (OSError, ValueError):
    pass

# start: a daemon, so the hook returns at once.
if os.fork() > 0:
    # Wait until the daemon has opened the database: the start hook returns once it serves.
    for _ in range(500):
        if os.path.exists(pidfile):
            sys.exit(0)
        time.sleep(0.01)
    print("container did not come up")
    sys.exit(1)
os.setsid()
if os.fork() > 0:
    os._exit(0)
devnull = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(devnull, fd)

try:
    fd = os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.write(fd, args.node.encode())
    os.close(fd)
except FileExistsError:
    append("violations.log", f"{args.node} started {volume} while {open(claim).read()} runs it")

stopping = False
paused = False


def on_term(signum, frame):
    global stopping
    stopping = True


def on_pause(signum, frame):
    global paused
    paused = signum == signal.SIGUSR1


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGUSR1, on_pause)
signal.signal(signal.SIGUSR2, on_pause)
db = sqlite3.connect(os.path.join(path, "app.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE IF NOT EXISTS commits (n INTEGER PRIMARY KEY, node TEXT, payload BLOB)")


def write_pages():
    """Random 4 KiB pages rewritten in place at the given rate, fdatasync'ed every 32."""
    fd = os.open(os.path.join(path, args.page_writes), os.O_WRONLY)
    pages = max(1, os.fstat(fd).st_size // 4096)
    rng = random.Random()
    written = 0
    while not stopping:
        if paused:
            if not pager_quiet.is_set():
                os.fdatasync(fd)
                pager_quiet.set()
            time.sleep(0.002)
            continue
        pager_quiet.clear()
        os.pwrite(fd, rng.randbytes(4096), rng.randrange(pages) * 4096)
        written += 1
        if written % 32 == 0:
            os.fdatasync(fd)
        time.sleep(1.0 / args.pages_per_second)
    os.fdatasync(fd)
    os.close(fd)


pager_quiet = threading.Event()  # set while paused, after the last page is synced
pager = threading.Thread(target=write_pages) if args.page_writes else None
if pager:
    pager.start()
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
while not stopping:
    if paused:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        while pager and paused and not stopping and not pager_quiet.wait(0.01):
            pass
        open(paused_marker, "w").close()
        while paused and not stopping:
            time.sleep(0.002)
        os.unlink(paused_marker)
        continue
    db.execute("BEGIN IMMEDIATE")
    n = (db.execute("SELECT max(n) FROM commits").fetchone()[0] or 0) + 1
    db.execute("INSERT INTO commits VALUES (?, ?, randomblob(2000))", (n, args.node))
    db.execute("COMMIT")
    append("acks.log", f"{args.node} {n} {os.environ.get('BARGE_EPOCH', '0')}")
    time.sleep(0.005)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
db.close()
if pager:
    pager.join()
try:
    if open(claim).read() == args.node:
        os.unlink(claim)
except OSError:
    pass
os.unlink(pidfile)
