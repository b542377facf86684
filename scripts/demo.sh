#!/usr/bin/env bash
# The main job of barge: two agents on loopback (d0 on 127.0.0.1, d1 on 127.0.0.2),
# mutual TLS between them. A volume on d0, with a stand-in container writing to a
# database in it, is snapshotted and replicated to d1's standby copy; the changes
# travel as deltas; the volume and its container migrate to d1 and back, and
# every commit the container acknowledged is there after each move.
set -euo pipefail

BARGE=${1:-.build/debug/barge}
BARGE=$(cd "$(dirname "$BARGE")" && pwd)/$(basename "$BARGE")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/barge-demo.XXXXXX)
PORT=${BARGE_DEMO_PORT:-17420}
PIDS=()
cleanup() {
  for pidfile in "$WORK"/containers/*.pid; do [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(d$1)"; }
on() { local node=$1; shift; "$BARGE" "$@" --socket "$WORK/$node.sock"; }

say "Certificates: a cluster CA, one certificate per node"
"$BARGE" cert init-ca --out "$WORK/ca"
for node in d0 d1; do "$BARGE" cert issue $node --ca "$WORK/ca" --out "$WORK/certs"; done

say "Two agents: d0 owns volume git, d1 keeps its standby copy"
for i in 0 1; do
  node=d$i; other=d$((1 - i))
  cat > "$WORK/$node.toml" <<EOF
[node]
name = "$node"
listen = "127.0.0.$((i + 1)):$PORT"
state_dir = "$WORK/$node/state"
control_socket = "$WORK/$node.sock"
metrics = "127.0.0.$((i + 1)):$((PORT + 1))"
[tls]
ca = "$WORK/ca/ca.pem"
cert = "$WORK/certs/$node.pem"
key = "$WORK/certs/$node.key"
[[peer]]
name = "$other"
address = "127.0.0.$((2 - i)):$PORT"
[[volume]]
name = "git"
path = "$WORK/$node/media/state/git"
owner = "d0"
replicas = ["d1"]
interval = "1h"
[volume.hooks]
start = "python3 $ROOT/testdata/agent/container.py start --node $node --cluster $WORK/containers"
stop = "python3 $ROOT/testdata/agent/container.py stop --node $node --cluster $WORK/containers"
pre_snapshot = "python3 $ROOT/testdata/agent/container.py pre_snapshot --node $node --cluster $WORK/containers"
post_snapshot = "python3 $ROOT/testdata/agent/container.py post_snapshot --node $node --cluster $WORK/containers"
EOF
done
mkdir -p "$WORK/containers"
VOLUME=$WORK/d0/media/state/git
STANDBY=$WORK/d1/media/state/.barge-standby/git
mkdir -p "$(dirname "$VOLUME")" "$WORK/d1/media/state"
cp -a "$ROOT/testdata/demo-volume" "$VOLUME"
ln -s ../config/cgitrc "$VOLUME/repos/cgitrc"
# The container's database: 2 MiB written once.
python3 -c "import sys; open(sys.argv[1], 'wb').write(bytes((i * 7919) % 251 for i in range(2 << 20)))" "$VOLUME/cache.db"
for node in d0 d1; do
  "$BARGE" agent --config "$WORK/$node.toml" 2>"$WORK/$node.log" &
  PIDS+=($!)
done
for node in d0 d1; do
  for _ in $(seq 100); do on $node status >/dev/null 2>&1 && break; sleep 0.1; done
  on $node status >/dev/null 2>&1 || { echo "agent $node did not start:" >&2; cat "$WORK/$node.log" >&2; exit 1; }
done
for _ in $(seq 100); do [ -f "$WORK/containers/acks.log" ] && break; sleep 0.1; done
on d0 status

# The stand-in container's database changes all the time: compare everything else.
same() { diff -r --no-dereference -x 'app.db*' "$1" "$2"; }
wait_standby() { # snapshot id
  for _ in $(seq 200); do
    [ "$(on d1 status --json | field "['volumes'][0].get('standby_snapshot')")" = "$1" ] && return 0
    sleep 0.05
  done
  echo "the standby never reached $1" >&2; tail -20 "$WORK/d1.log" >&2; return 1
}

say "Snapshot 1 on d0, replicated to d1"
S1=$(on d0 snapshot git --json)
ID1=$(echo "$S1" | field "['id']")
R1=$(on d0 replicate git --json)
echo "$R1" | python3 -c 'import json,sys; r=json.load(sys.stdin); p=r["peers"][0]; print("%s → %s: %d bytes on the wire, %d chunks, %d trees, %.3f s" % (r["snapshot"][:12], p["peer"], r["bytes_sent"], p["chunks_raw"], p["trees"], r["seconds"]))'
wait_standby "$ID1"
same "$VOLUME" "$STANDBY" && echo "d1's standby copy equals the volume (the live database aside)"

say "The container writes: a log line, a new ref, a removed file, a mode change, one 4 KiB page of its database"
echo '10.0.0.9 - - [25/Nov/2026:07:00:00] "GET /migrate HTTP/1.1" 200 42' >> "$VOLUME/access.log"
printf 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\n' > "$VOLUME/repos/cgit.git/refs/heads/feature"
rm "$VOLUME/repos/cgit.git/description"
chmod 600 "$VOLUME/config/cgitrc"
python3 - "$VOLUME/cache.db" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(1 << 20); f.write(b"page rewritten by the container ".ljust(4096, b"."))
PY

say "Snapshot 2 (incremental) and replication: only the changes travel, as deltas"
S2=$(on d0 snapshot git --json)
ID2=$(echo "$S2" | field "['id']")
R2=$(on d0 replicate git --json)
echo "$R2" | python3 -c 'import json,sys; r=json.load(sys.stdin); p=r["peers"][0]; print("%s → %s: %d bytes on the wire (%d chunks whole, %d as librsync deltas), %.3f s" % (r["snapshot"][:12], p["peer"], r["bytes_sent"], p["chunks_raw"], p["chunks_delta"], r["seconds"]))'
wait_standby "$ID2"
same "$VOLUME" "$STANDBY" && echo "d1's standby copy equals the changed volume (the live database aside)"
on d0 status
on d1 status

check_commits() { # node
  python3 - "$WORK/$1/media/state/git/app.db" "$WORK/containers/acks.log" <<'PY'
import sqlite3, sys
# The container keeps committing: read the acknowledgements first, so that every
# commit counted was acknowledged before the database is read.
acked = [int(line.split()[1]) for line in open(sys.argv[2])]
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
rows = {r[0] for r in db.execute("SELECT n FROM commits")}
missing = [n for n in acked if n not in rows]
print(f"{len(acked)} commits acknowledged so far, {len(missing)} missing, integrity {db.execute('PRAGMA integrity_check').fetchone()[0]}")
sys.exit(1 if missing else 0)
PY
}

say "Migrate the volume and its container to d1 (stop on d0, final copy, hand-over, start on d1)"
M1=$(on d0 migrate git --to d1 --json)
echo "$M1" | python3 -c 'import json,sys; m=json.load(sys.stdin); print("epoch %d, downtime %.3f s, %d bytes sent: %s" % (m["epoch"], m["downtime_s"], m["bytes_sent"], ", ".join("%s %.3fs" % (p["name"], p["seconds"]) for p in m["phases"])))'
sleep 0.5
check_commits d1
on d1 status

say "And back to d0"
M2=$(on d1 migrate git --to d0 --json)
echo "$M2" | python3 -c 'import json,sys; m=json.load(sys.stdin); print("epoch %d, downtime %.3f s, %d bytes sent" % (m["epoch"], m["downtime_s"], m["bytes_sent"]))'
sleep 0.5
check_commits d0
[ ! -s "$WORK/containers/violations.log" ] && echo "the container never ran on both nodes at once"

say "Restore snapshot 1 from d1's store (any node holds the history)"
"$BARGE" restore git --snapshot "${ID1:0:12}" --target "$WORK/restored-1" --state-dir "$WORK/d1/state"
"$BARGE" verify --read-data --state-dir "$WORK/d1/state"

say "Summary"
python3 - "$R1" "$R2" "$M1" "$M2" "$(on d0 status --json)" <<'PY'
import json, sys
r1, r2, m1, m2, d0 = (json.loads(a) for a in sys.argv[1:6])
v = d0["volumes"][0]
print(f"volume git: owner {v['owner']} (epoch {v['epoch']}), container {v.get('container')}, replica d1")
print(f"  first replication: {r1['bytes_sent']} bytes on the wire")
print(f"  after the container's changes: {r2['bytes_sent']} bytes, {r2['chunks_delta']} chunks as deltas")
print(f"  migrated to d1 with {m1['downtime_s']:.3f} s of downtime and back with {m2['downtime_s']:.3f} s; no acknowledged commit lost")
print("  snapshot 1 restored from the replica's store; verify --read-data ok")
PY
