#!/usr/bin/env bash
# barge benchmark (`make bench`): barge vs restic 0.14 vs rsync on a generated tree, a SQLite
# database and a tree of many small files; then replication between two agents (replication.sh)
# and moving volumes between two agents (moves.sh). See bench/README.md. bash + python3 standard
# library only.
#
# Environment:
#   BARGE              barge binary (default .build/release/barge; missing -> barge cells n/a)
#   BENCH_DIR          work dir, wiped at start (default /tmp/barge-bench)
#   BENCH_SIZE_MIB     size of the generated tree (default 1024)
#   BENCH_DB_SIZE_MIB  size of the SQLite database (default BENCH_SIZE_MIB)
#   BENCH_SEED         data seed (default 42)
#   BENCH_MANY_FILES   files in the walk-dominated many-small-files tree (default 100000; 0: skip)
#   BENCH_TIMEOUT      seconds allowed per measured command (default 300)
#   BENCH_DROP_CACHES  1 (default): drop the page cache before each measurement when allowed
#   BENCH_STRICT       1: exit 1 when a target is missed (default 0: only errors fail)
#   RESTIC_COMPRESSION restic's compression, auto (default: restic 0.14's default) or off
#   BENCH_ONLY         all (default) | snapshot (only the snapshot part) | replication (tree + DB
#                      generated, then only the replication part, bench/replication.sh) | moves
#                      (tree generated, then only the moves part, bench/moves.sh) | failover (no
#                      data: only automatic failover on etcd, bench/failover.py)
#                      | realfiles (no generated data: only the real-files part, bench/realfiles.py)
#                      | retention (30 simulated days of real files under a policy, barge vs restic,
#                      bench/retention.py; BENCH_RETENTION_INTERVAL minutes between snapshots:
#                      default 60 alone, 240 inside all; the issue's 15 takes restic ~40 min)
#                      | rollback (only the roll-back part, bench/rollback.py: a live 1 GiB volume
#                      rolled back 10 MiB through its owner's agent)
#                      | gc (no generated data: only the gc part, bench/gc.py: gc of a store half
#                      garbage beside snapshots and replications through an agent, vs restic prune)
#                      | offsite (no generated data: only the off-site part, bench/offsite.py: upload
#                      of the real files to a local S3 server (moto) and restore from it, vs restic)
#                      | scale (not part of all: only the scale part, bench/scale.py: 40,000 and
#                      1,000,000 generated small files, snapshot, no-change incremental, restore and
#                      first replication; time per file and peak RSS; ~20 min, ~13 GB of disk)
#   BENCH_FAILOVER_RUNS runs per failover measurement (default 3 alone, 1 inside all)
#   BENCH_FAILOVER_TTLS lease TTLs of the failover measurements (default 2,5 alone, 2 inside all)
#   BENCH_FAILOVER_PARTS, BENCH_FAILOVER_WORKLOADS failover.py's --parts and --workloads (default all alone;
#                      inside all: failover,migrate and pages)
#   BENCH_REAL_RUNS    runs per real-files measurement (default 3)
#   BENCH_REAL_SECONDARY_RUNS runs of the peers' warm snapshots, the cp floor and the first
#                      replications in the real-files part (default: as
#                      BENCH_REAL_RUNS alone, 1 inside all, which must stay under 20 minutes)
#   BENCH_REAL_REPL    1 (default): the real-files part also times the first replication to one and
#                      to two peers (bench/realrepl.py, agents on 127.0.0.1-3:27800); 0: skip it
#   BENCH_REAL_CACHE   where the real-files (and gc) part keeps its .deb files (default $BENCH_DIR/realfiles-cache)
#   BENCH_GC_ROUNDS    baseline rounds (snapshot + replicate) of the gc part (default 20)
#   BENCH_GC_FRACTION  share of the real-files bytes the gc part uses (default 1: all; quick runs)
#   BENCH_GC_EXTRA_GIB GiB of generated incompressible files the gc part adds to its store, half of
#                      them removed with the real-files half (default 0; 10 = issue 9's 10 GiB store)
#   BENCH_OFFSITE_RUNS runs of the off-site part, each from fresh buckets and stores (default 3 alone, 1 inside all)
#   BENCH_OFFSITE_FRACTION share of the real-files bytes the off-site part uses (default 1: all; quick runs)
#   BENCH_REPL_BIG_MIB size of the replication part's big file (default 1024)
#   BENCH_MOVES_BIG_MIB size of the moves part's big failover volume (default 8192 alone, 2048 inside all)
#   BENCH_SCALE_FILES  files of the scale part's big set (default 1000000)
#   BENCH_SCALE_DIRS   its directories (default 10000)
#   BENCH_SCALE_REF_FILES files of its reference set (default 40000; directories: files/100)
#   BENCH_SCALE_REF_RUNS runs on the reference set (default 3; the big set: 1)
#   BENCH_SCALE_RSYNC  which sets get the rsync --whole-file floor: both (default) | ref | none
#   BENCH_SCALE_PORT   the scale part's agents' peer port (default 27900, or the next free one)
set -euo pipefail

BENCH_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BARGE=${BARGE:-.build/release/barge}
BENCH_DIR=${BENCH_DIR:-/tmp/barge-bench}
BENCH_SIZE_MIB=${BENCH_SIZE_MIB:-1024}
BENCH_DB_SIZE_MIB=${BENCH_DB_SIZE_MIB:-$BENCH_SIZE_MIB}
BENCH_SEED=${BENCH_SEED:-42}
BENCH_MANY_FILES=${BENCH_MANY_FILES:-100000}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-300}
BENCH_DROP_CACHES=${BENCH_DROP_CACHES:-1}
BENCH_STRICT=${BENCH_STRICT:-0}
BENCH_ONLY=${BENCH_ONLY:-all}
export LC_ALL=C

T_START=$(date +%s)
log() { printf '[bench %4ds] %s\n' $(( $(date +%s) - T_START )) "$*" >&2; }
die() { printf '\nbench: FATAL: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ tools
SUDO=""
if [[ $(id -u) != 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
APT_UPDATED=0
ensure() { # ensure COMMAND DEBIAN_PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2 (for $1)"
  if [[ $APT_UPDATED == 0 ]]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq >/dev/null 2>&1 || true
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null \
    || die "could not install $2 (needed for $1)"
  command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}
ensure python3 python3
ensure /usr/bin/time time
ensure restic restic
ensure rsync rsync
ensure find findutils
ensure timeout coreutils
ensure du coreutils

# ------------------------------------------------------------------ work dir
case "$BENCH_ONLY" in all|snapshot|replication|moves|failover|realfiles|gc|rollback|retention|offsite|scale) ;; *) die "BENCH_ONLY must be all, snapshot, replication, moves, failover, realfiles, gc, rollback, retention, offsite or scale (got '$BENCH_ONLY')" ;; esac
[[ $BENCH_MANY_FILES =~ ^[0-9]+$ ]] || die "BENCH_MANY_FILES must be a number (got '$BENCH_MANY_FILES')"
case "$BENCH_DIR" in
  /*) ;;
  *) die "BENCH_DIR must be an absolute path (got '$BENCH_DIR')" ;;
esac
BENCH_DIR=${BENCH_DIR%/}
[[ -n $BENCH_DIR && $BENCH_DIR != "/" && $BENCH_DIR != "$HOME" ]] || die "refusing BENCH_DIR='$BENCH_DIR'"
if [[ -e $BENCH_DIR ]]; then
  if [[ -n $(ls -A "$BENCH_DIR" 2>/dev/null) && ! -e $BENCH_DIR/.barge-bench ]]; then
    die "$BENCH_DIR is not empty and was not made by this script (no .barge-bench marker); not wiping it"
  fi
  # restic makes its pack files read-only; rm -rf as root does not care, chmod for non-root
  chmod -R u+w "$BENCH_DIR" 2>/dev/null || true
  # the scale part wants to know when many inodes were last freed here (see run_scale)
  SCALE_REMOVED_AT=$(cat "$BENCH_DIR/.scale-removed-at" 2>/dev/null || echo 0)
  [[ $SCALE_REMOVED_AT =~ ^[0-9]+$ ]] || SCALE_REMOVED_AT=0
  WIPE_INODES0=$(df --output=iused "$BENCH_DIR" 2>/dev/null | tail -n 1 | tr -d ' ')
  rm -rf "$BENCH_DIR"
  WIPE_INODES1=$(df --output=iused "$(dirname "$BENCH_DIR")" 2>/dev/null | tail -n 1 | tr -d ' ')
  if [[ $(( ${WIPE_INODES0:-0} - ${WIPE_INODES1:-0} )) -gt 100000 ]]; then SCALE_REMOVED_AT=$(date +%s); sync; fi
fi
mkdir -p "$BENCH_DIR"/{data/db,out,logs}
touch "$BENCH_DIR/.barge-bench"

TREE=$BENCH_DIR/data/tree
MANY=$BENCH_DIR/data/many
DBDIR=$BENCH_DIR/data/db
DB=$DBDIR/bench.db
STATE=$BENCH_DIR/barge-state
OUT=$BENCH_DIR/out
LOGS=$BENCH_DIR/logs
RESULTS=$BENCH_DIR/results.jsonl
: >"$RESULTS"
export RESTIC_REPOSITORY=$BENCH_DIR/restic-repo
export RESTIC_PASSWORD=barge-bench
export RESTIC_CACHE_DIR=$BENCH_DIR/restic-cache
export RESTIC_PROGRESS_FPS=0.2
# restic 0.14 creates repository format v2 and compresses (zstd) by default ("auto")
export RESTIC_COMPRESSION=${RESTIC_COMPRESSION:-auto}
unset BARGE_STATE_DIR || true

# ------------------------------------------------------------------ barge present?
if [[ $BARGE != */* ]]; then
  BARGE=$(command -v "$BARGE" 2>/dev/null || echo "$BARGE")
elif [[ $BARGE != /* ]]; then
  # relative: to the current directory, else to the repository root
  if [[ -e $PWD/$BARGE ]]; then BARGE=$PWD/$BARGE; else BARGE=$(dirname "$BENCH_SRC")/$BARGE; fi
fi
HAVE_BARGE=0
if [[ -x $BARGE ]] && "$BARGE" --help >/dev/null 2>&1; then
  HAVE_BARGE=1
  log "barge: $BARGE"
else
  cat >&2 <<EOF

  ************************************************************************
  bench: no working barge binary at '$BARGE'
         (build it with 'swift build -c release', or set BARGE=path).
         Running the peers (restic, rsync) only; barge cells will be n/a.
  ************************************************************************

EOF
fi
BARGE_ERRORS=()
VERIFY_FAILED=0

# ------------------------------------------------------------------ caches
CACHE_STATE=warm
if [[ $BENCH_DROP_CACHES == 1 ]]; then
  sync
  if { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then CACHE_STATE=cold; fi
fi
log "page cache before each measurement: $CACHE_STATE"
# Cache mode of a measurement: MEASURE_CACHE=cold|warm|meta (default cold)
#   cold  sync, drop the page cache (dentries, inodes, data), re-warm the tool binaries
#   warm  sync, NO drop; re-warm the binaries, then one untimed stat walk of the tree
#         (`find TREE -printf ...`) right before the timed command: the tree's metadata is warm
#   meta  like cold, then the untimed stat walk: metadata warm, file data and tool state cold
# The tree walked is WALK_ROOT (default: the main tree; the many-small-files tree in its section).
WALK_ROOT=$TREE
statwalk_cmd() { STATWALK=(find "$WALK_ROOT" -printf '%s %T@ %C@ %i\n'); }
statwalk_cmd
prepare() {
  local mode=${MEASURE_CACHE:-cold}
  sync
  if [[ $CACHE_STATE == cold && $mode != warm ]]; then
    { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null || true
  fi
  restic version >/dev/null 2>&1 || true
  rsync --version >/dev/null 2>&1 || true
  find --version >/dev/null 2>&1 || true
  sync --version >/dev/null 2>&1 || true
  timeout --version >/dev/null 2>&1 || true
  /usr/bin/time --version >/dev/null 2>&1 || true
  if [[ $HAVE_BARGE == 1 ]]; then "$BARGE" --help >/dev/null 2>&1 || true; fi
  if [[ $mode != cold && -d $WALK_ROOT ]]; then "${STATWALK[@]}" >/dev/null 2>&1 || true; fi
}

# ------------------------------------------------------------------ recording
record() { # record key=value ...   (integers and decimals stay numbers)
  local doc="{" sep="" kv k v
  for kv in "$@"; do
    k=${kv%%=*}; v=${kv#*=}
    if [[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
      doc+="$sep\"$k\":$v"
    else
      v=${v//\\/\\\\}; v=${v//\"/\\\"}
      doc+="$sep\"$k\":\"$v\""
    fi
    sep=","
  done
  printf '%s}\n' "$doc" >>"$RESULTS"
}

# measure NAME TOOL SYNC CMD...
#   Runs CMD once under /usr/bin/time (peak RSS, %M) and timeout; wall time is taken with
#   date +%s%N around it. SYNC=1 puts a trailing `sync` inside the timed interval, so the
#   data written is durable when the clock stops. MEASURE_STDOUT overrides where stdout goes.
LAST_RC=0
LAST_WALL=0
measure() {
  local name=$1 tool=$2 dosync=$3; shift 3
  local base=$LOGS/$name
  local sout=${MEASURE_STDOUT:-$base.out}
  printf '%s\n' "$*" >"$base.cmd"
  prepare
  local t0 tc t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -q -f '%e %M' -o "$base.time" \
    timeout -k 10 "$BENCH_TIMEOUT" "$@" >"$sout" 2>"$base.err" || rc=$?
  tc=$(date +%s%N)
  if [[ $dosync == 1 ]]; then sync; fi
  t1=$(date +%s%N)
  local us=$(( (t1 - t0) / 1000 )) sus=$(( (t1 - tc) / 1000 ))
  LAST_WALL=$(printf '%d.%06d' $(( us / 1000000 )) $(( us % 1000000 )))
  local rss
  rss=$(tail -n 1 "$base.time" 2>/dev/null | awk 'NF==2 {print $2}')
  [[ -n $rss ]] || rss=0
  LAST_RC=$rc
  record name="$name" tool="$tool" wall_s="$LAST_WALL" rss_kib="$rss" rc="$rc" \
    synced="$dosync" sync_s="$(printf '%d.%06d' $(( sus / 1000000 )) $(( sus % 1000000 )))" \
    cache="${MEASURE_CACHE:-cold}" stdout="$sout" stderr="$base.err"
  if [[ $rc != 0 ]]; then
    [[ $rc == 124 ]] && log "$name: TIMED OUT after ${BENCH_TIMEOUT}s"
    log "$name ($tool) FAILED with exit $rc: $*"
    tail -n 15 "$base.err" | sed 's/^/    | /' >&2
    return "$rc"
  fi
  log "$(printf '%-28s %-7s %9.3f s  %7d KiB  (%s)' "$name" "$tool" "$LAST_WALL" "$rss" "${MEASURE_CACHE:-cold}")"
  return 0
}

peer() { measure "$@" || die "$1 ($2) failed; see $LOGS/$1.err"; }

# barge steps run only while barge works; the first failure disables the rest
barge_step() { # barge_step NAME SYNC ARGS...   (runs: barge --state-dir STATE ARGS...)
  local name=$1 dosync=$2; shift 2
  [[ $HAVE_BARGE == 1 ]] || return 1
  if measure "$name" barge "$dosync" "$BARGE" --state-dir "$STATE" "$@"; then return 0; fi
  BARGE_ERRORS+=("$name (exit $LAST_RC)")
  HAVE_BARGE=0
  log "barge disabled for the rest of the run after: $name"
  return 1
}

dusize() { du -sb "$1" 2>/dev/null | cut -f1; }
# bytes in barge's pack files: `du -sb STATE/packs` without the directory inodes' own sizes
# (a directory's size jumps by 4096 as it gains entries, which is not data barge wrote)
packsize() { find "$STATE/packs" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }

# barge_snapshot NAME VOLUME: a measured `barge snapshot VOLUME --json` (sync in the timed
# interval), then NAME_growth: growth of STATE/packs (packs_bytes) and of the whole state dir
# (state_bytes, du -sb; includes SQLite's WAL). Returns 1 when barge is off or fails.
barge_snapshot() {
  local name=$1 vol=$2 p0 s0
  [[ $HAVE_BARGE == 1 ]] || return 1
  p0=$(packsize); s0=$(dusize "$STATE")
  barge_step "$name" 1 snapshot "$vol" --json || return 1
  record name="${name}_growth" tool=barge packs_bytes="$(( $(packsize) - p0 ))" \
    state_bytes="$(( $(dusize "$STATE") - s0 ))" packs_total="$(packsize)" state_total="$(dusize "$STATE")"
}
# restic_snapshot NAME PATH: a measured `restic backup --json PATH`, then NAME_growth (du -sb of
# the whole repository; restic's cache lives outside it)
restic_snapshot() {
  local name=$1 path=$2 r0
  r0=$(dusize "$RESTIC_REPOSITORY")
  peer "$name" restic 1 restic backup --json "$path"
  record name="${name}_growth" tool=restic bytes="$(( $(dusize "$RESTIC_REPOSITORY") - r0 ))" \
    total="$(dusize "$RESTIC_REPOSITORY")"
}
statwalks() { # statwalks PREFIX: 3 measured stat walks of WALK_ROOT (cache mode from MEASURE_CACHE)
  local i
  for i in 1 2 3; do
    MEASURE_STDOUT=/dev/null peer "${1}_$i" find 0 "${STATWALK[@]}"
  done
}
mutate() { # mutate NAME ARGS...: gen_data.py ARGS, its JSON report recorded as NAME
  python3 "$BENCH_SRC/gen_data.py" "${@:2}" >"$LOGS/$1.json"
  info "$1" "$LOGS/$1.json"
  log "$1: $(cat "$LOGS/$1.json")"
}
info() { # info NAME FILE   (a JSON document produced by a helper)
  record name="$1" tool=info stdout="$2"
}
verify() { # verify NAME TOOL A B  -> records the comparison; returns its status
  local name=$1 tool=$2 a=$3 b=$4 rc=0
  python3 "$BENCH_SRC/treecmp.py" --json "$a" "$b" >"$LOGS/$name.json" || rc=$?
  record name="$name" tool="$tool" rc="$rc" stdout="$LOGS/$name.json"
  if [[ $rc != 0 ]]; then
    log "$name: restore by $tool is NOT identical to the source:"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print("    |", p["path"], "-", p["problem"], file=sys.stderr) for p in d["first_problems"]]' "$LOGS/$name.json" || true
  else
    log "$name: restore by $tool identical ($(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["entries"], "entries,", d["mode_diffs"], "mode diffs,", d["mtime_diffs"], "file mtime diffs")' "$LOGS/$name.json"))"
  fi
  return "$rc"
}

# ------------------------------------------------------------------ repetitions (cold full snapshots, restores)
# The cold full snapshots (tree, DB) and the cold restores (tree, DB) are measured REPS times per
# tool (same cache preparation before each); report.py shows the median and min-max.
# Repetition 1 keeps the plain name (NAME), the others are NAME_r2, NAME_r3.
REPS=3
# remove_settled PATH: PATH out of the way before the next repetition writes there. Without a
# journal (this VM's root file system) ext4's inode allocator skips every inode freed in the last
# 5 s, reading its inode table block each time (find_inode_bit -> recently_deleted): a restore
# right after an rm -rf of the previous one pays that per file created, whichever tool runs. So a
# tree of many inodes is renamed into the trash (nothing freed), and empty_trash frees them all
# once a section is done and waits those 5 s out once, instead of after every repetition.
TRASH=$BENCH_DIR/trash
remove_settled() {
  local entries
  [[ -e $1 || -L $1 ]] || return 0
  entries=$( { find "$1" -xdev 2>/dev/null || true; } | head -n 1001 | wc -l)
  if [[ $entries -gt 1000 ]]; then
    mkdir -p "$TRASH"
    mv "$1" "$TRASH/$(date +%s%N)"
  else
    chmod -R u+w "$1" 2>/dev/null || true
    rm -rf "$1"
  fi
}
empty_trash() {
  [[ -d $TRASH ]] || return 0
  chmod -R u+w "$TRASH" 2>/dev/null || true
  rm -rf "$TRASH"
  sleep 6
}
rep_name() { if [[ $2 == 1 ]]; then echo "$1"; else echo "${1}_r$2"; fi; }
# barge_full_reps NAME VOLUME PATH: repetitions 2..REPS of a full snapshot, each into a fresh
# throwaway state dir (init + volume add, recorded as NAME_rI_init/_volume_add, not in the table),
# deleted afterwards; the main state dir (repetition 1) is left as it is for the later steps.
barge_full_reps() {
  local name=$1 vol=$2 path=$3 i main=$STATE
  for (( i = 2; i <= REPS; i++ )); do
    [[ $HAVE_BARGE == 1 ]] || break
    STATE=$BENCH_DIR/barge-state-rep
    rm -rf "$STATE"
    if barge_step "${name}_r${i}_init" 0 init; then
      if barge_step "${name}_r${i}_volume_add" 0 volume add "$vol" "$path"; then
        barge_snapshot "${name}_r$i" "$vol" || true
      fi
    fi
    rm -rf "$STATE"
    STATE=$main
  done
}
# restic_full_reps NAME PATH: repetitions 2..REPS of `restic backup`, each into a fresh throwaway
# repository (restic init, NAME_rI_init) with a fresh cache dir, both deleted afterwards
restic_full_reps() {
  local name=$1 path=$2 i repo=$RESTIC_REPOSITORY cache=$RESTIC_CACHE_DIR
  for (( i = 2; i <= REPS; i++ )); do
    export RESTIC_REPOSITORY=$BENCH_DIR/restic-repo-rep RESTIC_CACHE_DIR=$BENCH_DIR/restic-cache-rep
    chmod -R u+w "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR" 2>/dev/null || true
    rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"
    peer "${name}_r${i}_init" restic 1 restic init
    restic_snapshot "${name}_r$i" "$path"
    chmod -R u+w "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR" 2>/dev/null || true
    rm -rf "$RESTIC_REPOSITORY" "$RESTIC_CACHE_DIR"
    export RESTIC_REPOSITORY=$repo RESTIC_CACHE_DIR=$cache
  done
}
rsync_copies() { # rsync_copies NAME SRC DST: REPS copies SRC/ -> DST/ (DST removed before each, untimed)
  local i
  for (( i = 1; i <= REPS; i++ )); do
    remove_settled "$3"
    peer "$(rep_name "$1" "$i")" rsync 1 rsync -a --whole-file "$2/" "$3/"
  done
  remove_settled "$3"
}
# barge_restores NAME VOLUME SRC TARGET VERIFY_NAME: REPS restores of VOLUME into TARGET (removed
# before each, untimed) from the same store; the first one is compared with SRC
barge_restores() {
  local i
  for (( i = 1; i <= REPS; i++ )); do
    [[ $HAVE_BARGE == 1 ]] || break
    remove_settled "$4"
    barge_step "$(rep_name "$1" "$i")" 1 restore "$2" --target "$4" --json || break
    if [[ $i == 1 ]]; then verify "$5" barge "$3" "$4" || VERIFY_FAILED=1; fi
  done
  remove_settled "$4"
}
# peer_restores NAME TOOL SRC TARGET RESTORED VERIFY_NAME CMD...: REPS restores by CMD into TARGET
# (removed before each, untimed); the first one (RESTORED: where SRC ends up) is compared with SRC
peer_restores() {
  local name=$1 tool=$2 src=$3 target=$4 restored=$5 vname=$6 i; shift 6
  for (( i = 1; i <= REPS; i++ )); do
    remove_settled "$target"
    peer "$(rep_name "$name" "$i")" "$tool" 1 "$@"
    if [[ $i == 1 ]]; then verify "$vname" "$tool" "$src" "$restored" || true; fi
  done
  remove_settled "$target"
}

record name=config tool=info reps="$REPS" size_mib="$BENCH_SIZE_MIB" db_size_mib="$BENCH_DB_SIZE_MIB" \
  many_files="$BENCH_MANY_FILES" seed="$BENCH_SEED" only="$BENCH_ONLY" caches="$CACHE_STATE" barge="$BARGE" have_barge="$HAVE_BARGE" \
  restic="$(restic version | head -n 1)" rsync="$(rsync --version | head -n 1)" \
  nproc="$(nproc)" kernel="$(uname -r)" started="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  loadavg="$(cut -d' ' -f1-3 /proc/loadavg)"

# ================================================================== j. automatic failover on etcd (bench/failover.py)
# three more agents and a 3-member etcd: time from the owner's death to the service back; etcd's cost
run_failover() {
  [[ $HAVE_BARGE == 1 ]] || return 0
  ensure etcd etcd-server
  ensure nft nftables
  # One run each inside `all` (the whole bench stays near 20 minutes); three when run alone.
  local runs=${BENCH_FAILOVER_RUNS:-$([[ $BENCH_ONLY == all ]] && echo 1 || echo 3)}
  # Inside `all`: TTL 2 s, and of the migrations only the one under page writes; alone, TTL 5 s too,
  # the migration after a 10 MiB change and the idle etcd rate (the moves part has a migration too).
  local ttls=${BENCH_FAILOVER_TTLS:-$([[ $BENCH_ONLY == all ]] && echo 2 || echo 2,5)}
  local parts=${BENCH_FAILOVER_PARTS:-$([[ $BENCH_ONLY == all ]] && echo failover,migrate || echo failover,migrate,idle)}
  local workloads=${BENCH_FAILOVER_WORKLOADS:-$([[ $BENCH_ONLY == all ]] && echo pages || echo changed,pages)}
  log "failover: TTL $ttls s, kill -9 and isolation, $runs runs each; parts $parts; migrations: $workloads"
  if ! python3 "$BENCH_SRC/failover.py" --barge "$BARGE" --work "$BENCH_DIR/failover" --results "$RESULTS" \
      --runs "$runs" --ttls "$ttls" --parts "$parts" --workloads "$workloads" >"$LOGS/failover.log" 2>&1; then
    BARGE_ERRORS+=("failover part (see $LOGS/failover.log and $BENCH_DIR/failover)")
  else
    rm -rf "$BENCH_DIR/failover"   # ~14 GB of volumes, stores and standby copies; kept when something failed
  fi
  sed 's/^/    | /' "$LOGS/failover.log" >&2
}
run_realfiles() {
  [[ $HAVE_BARGE == 1 ]] || return 0
  ensure borg borgbackup
  log "real files: Debian packages and bare git repositories, ${BENCH_REAL_RUNS:-3} runs each of barge, restic, borg and the floors$([[ ${BENCH_REAL_REPL:-1} == 0 ]] || echo "; then barge's first replication to one and two peers")"
  local ok=1
  if ! python3 "$BENCH_SRC/realfiles.py" --barge "$BARGE" --work "$BENCH_DIR/realfiles" --results "$RESULTS" \
      --cache "${BENCH_REAL_CACHE:-$BENCH_DIR/realfiles-cache}" --runs "${BENCH_REAL_RUNS:-3}" \
      --secondary-runs "${BENCH_REAL_SECONDARY_RUNS:-$([[ $BENCH_ONLY == all ]] && echo 1 || echo "${BENCH_REAL_RUNS:-3}")}" \
      --replication "${BENCH_REAL_REPL:-1}" >"$LOGS/realfiles.log" 2>&1; then
    BARGE_ERRORS+=("real-files part (see $LOGS/realfiles.log)")
    ok=0
  fi
  sed 's/^/    | /' "$LOGS/realfiles.log" >&2
  # Inside `all` the off-site and retention parts, next, use the unpacked tree and the gc part takes it
  # over (and removes it); saves rebuilding it.
  if [[ $BENCH_ONLY != all || $ok == 0 ]]; then rm -rf "$BENCH_DIR/realfiles/data"; fi
}
# off-site copies (issue 10): the real-files tree uploaded to a local S3 server (moto, signatures
# checked, scripts/s3-test-server.py) and restored from it, barge vs restic 0.14 to the same server
run_offsite() {
  [[ $HAVE_BARGE == 1 ]] || return 0
  if ! python3 -c 'import moto.server, boto3, flask' 2>/dev/null; then
    log "installing moto[server]==5.2.1 from PyPI (for the off-site part's S3 server)"
    python3 -m pip install --quiet 'moto[server]==5.2.1' || die "could not install moto[server] (needed for the off-site part)"
  fi
  # One run inside `all` (the whole bench stays under 20 minutes); three when run alone.
  local runs=${BENCH_OFFSITE_RUNS:-$([[ $BENCH_ONLY == all ]] && echo 1 || echo 3)}
  log "offsite: real files to a local S3 server (moto) and back, $runs runs of barge snapshot + push / restore --offsite vs restic"
  # Inside `all` the real-files part left its unpacked tree: used as it is (changed, then put back) unless a fraction is asked.
  local data_arg=()
  [[ -d $BENCH_DIR/realfiles/data ]] && data_arg=(--data "$BENCH_DIR/realfiles/data")
  if ! python3 "$BENCH_SRC/offsite.py" --barge "$BARGE" --work "$BENCH_DIR/offsite" --results "$RESULTS" "${data_arg[@]}" \
      --cache "${BENCH_REAL_CACHE:-$BENCH_DIR/realfiles-cache}" --runs "$runs" \
      --fraction "${BENCH_OFFSITE_FRACTION:-1}" >"$LOGS/offsite.log" 2>&1; then
    BARGE_ERRORS+=("offsite part (see $LOGS/offsite.log)")
  fi
  sed 's/^/    | /' "$LOGS/offsite.log" >&2
  rm -rf "$BENCH_DIR/offsite"   # offsite.py removes it itself; this covers an early exit
}
# gc of a store half garbage (the real-files tree, half of it removed between two snapshots, the
# first forgotten) through an agent while it snapshots and replicates a small volume; vs restic prune
run_gc() {
  [[ $HAVE_BARGE == 1 ]] || { rm -rf "$BENCH_DIR/realfiles/data"; return 0; }
  log "gc: a store half garbage (real files), gc alone vs restic prune, then gc through the agent beside snapshots and replications"
  if ! python3 "$BENCH_SRC/gc.py" --barge "$BARGE" --work "$BENCH_DIR/gc" --data "$BENCH_DIR/realfiles/data" --results "$RESULTS" \
      --cache "${BENCH_REAL_CACHE:-$BENCH_DIR/realfiles-cache}" --rounds "${BENCH_GC_ROUNDS:-20}" \
      --fraction "${BENCH_GC_FRACTION:-1}" --extra-gib "${BENCH_GC_EXTRA_GIB:-0}" >"$LOGS/gc.log" 2>&1; then
    BARGE_ERRORS+=("gc part (see $LOGS/gc.log; agents' logs and stores kept in $BENCH_DIR/gc)")
  fi
  sed 's/^/    | /' "$LOGS/gc.log" >&2
  rm -rf "$BENCH_DIR/realfiles/data"   # gc.py removes it itself; this covers an early exit
}
# roll-back of a live 1 GiB volume through its owner's agent (bench/rollback.py)
run_rollback() {
  [[ $HAVE_BARGE == 1 ]] || return 0
  log "roll-back: a live 1 GiB volume rolled back 10 MiB through the owner's agent (stop hook to start hook)"
  if ! python3 "$BENCH_SRC/rollback.py" --barge "$BARGE" --work "$BENCH_DIR/rollback" --results "$RESULTS" \
      --runs "${BENCH_ROLLBACK_RUNS:-3}" >"$LOGS/rollback.log" 2>&1; then
    BARGE_ERRORS+=("roll-back part (see $LOGS/rollback.log; agents' logs kept in $BENCH_DIR/rollback)")
  fi
  sed 's/^/    | /' "$LOGS/rollback.log" >&2
}
# store growth under retention: 30 simulated days of real files, barge forget + gc vs restic forget --prune
run_retention() {
  [[ $HAVE_BARGE == 1 ]] || return 0
  local interval=${BENCH_RETENTION_INTERVAL:-$([[ $BENCH_ONLY == all ]] && echo 1440 || echo 60)}
  log "retention: 30 simulated days of a real-files volume, a snapshot every $interval min, 1% daily churn; vs restic"
  local data_arg=()
  [[ -d $BENCH_DIR/realfiles/data ]] && data_arg=(--data "$BENCH_DIR/realfiles/data")
  if ! python3 "$BENCH_SRC/retention.py" --barge "$BARGE" --work "$BENCH_DIR/retention" --results "$RESULTS" "${data_arg[@]}" \
      --cache "${BENCH_REAL_CACHE:-$BENCH_DIR/realfiles-cache}" --interval "$interval" >"$LOGS/retention.log" 2>&1; then
    BARGE_ERRORS+=("retention part (see $LOGS/retention.log)")
  fi
  sed 's/^/    | /' "$LOGS/retention.log" >&2
  rm -rf "$BENCH_DIR/retention"
}
# scale (bench/scale.py): 40,000 and 1,000,000 generated small files; time per file and peak RSS of
# snapshot, no-change incremental, restore and first replication to one peer (agents on 127.0.0.1-3:27900)
run_scale() {
  [[ $HAVE_BARGE == 1 ]] || return 0
  local files=${BENCH_SCALE_FILES:-1000000} dirs=${BENCH_SCALE_DIRS:-10000} ref=${BENCH_SCALE_REF_FILES:-40000}
  [[ $files =~ ^[0-9]+$ && $dirs =~ ^[0-9]+$ && $ref =~ ^[0-9]+$ ]] || die "BENCH_SCALE_FILES, BENCH_SCALE_DIRS and BENCH_SCALE_REF_FILES must be numbers"
  # Without a journal this VM's ext4 skips inodes freed in the last 60 s (360 s while their inode table
  # block is dirty, as it is again once a new inode in it is written) when it creates new ones
  # (bench/README.md): 6 min after the previous scale part's removal of its trees (the time it left in
  # BENCH_DIR/.scale-removed-at) or after a wipe of BENCH_DIR that freed more than 100,000 inodes.
  local wait_s=$(( ${SCALE_REMOVED_AT:-0} + 365 - $(date +%s) ))
  if [[ $wait_s -gt 0 ]]; then
    log "scale: many inodes were freed here $(( $(date +%s) - SCALE_REMOVED_AT )) s ago; waiting $wait_s s before creating trees"
    sleep "$wait_s"
  fi
  log "scale: $ref files ($((ref / 100)) dirs, ${BENCH_SCALE_REF_RUNS:-3} runs) then $files files ($dirs dirs, 1 run): snapshot, no-change incremental, restore, first replication"
  local rc=0
  python3 "$BENCH_SRC/scale.py" --barge "$BARGE" --work "$BENCH_DIR/scale" --results "$RESULTS" \
      --files "$files" --dirs "$dirs" --ref-files "$ref" --ref-runs "${BENCH_SCALE_REF_RUNS:-3}" \
      --rsync "${BENCH_SCALE_RSYNC:-both}" --port "${BENCH_SCALE_PORT:-27900}" --seed "$BENCH_SEED" \
      --logs "$LOGS/scale-agents" 2>&1 | tee "$LOGS/scale.log" | sed -u 's/^/    | /' >&2 || rc=$?
  if [[ $rc != 0 ]]; then BARGE_ERRORS+=("scale part (see $LOGS/scale.log; agents' logs in $LOGS/scale-agents)"); fi
  rm -rf "$BENCH_DIR/scale"   # scale.py removes it itself; this covers a kill
}
if [[ $BENCH_ONLY == scale ]]; then
  run_scale
  record name=elapsed tool=info seconds="$(( $(date +%s) - T_START ))" loadavg="$(cut -d' ' -f1-3 /proc/loadavg)"
  python3 "$BENCH_SRC/report.py" "$RESULTS" --json "$BENCH_DIR/results.json" --md "$BENCH_DIR/results.md" || true
  log "results: $BENCH_DIR/results.md"
  [[ ${#BARGE_ERRORS[@]} -eq 0 ]] || { printf '\nbench: barge FAILED: %s\n' "${BARGE_ERRORS[*]}" >&2; exit 1; }
  exit 0
fi
if [[ $BENCH_ONLY == offsite ]]; then
  run_offsite
  python3 "$BENCH_SRC/report.py" "$RESULTS" --json "$BENCH_DIR/results.json" --md "$BENCH_DIR/results.md" || true
  log "results: $BENCH_DIR/results.md"
  [[ ${#BARGE_ERRORS[@]} -eq 0 ]] || { printf '\nbench: barge FAILED: %s\n' "${BARGE_ERRORS[*]}" >&2; exit 1; }
  exit 0
fi
if [[ $BENCH_ONLY == retention ]]; then
  run_retention
  python3 "$BENCH_SRC/report.py" "$RESULTS" --json "$BENCH_DIR/results.json" --md "$BENCH_DIR/results.md" || true
  log "results: $BENCH_DIR/results.md"
  [[ ${#BARGE_ERRORS[@]} -eq 0 ]] || { printf '\nbench: barge FAILED: %s\n' "${BARGE_ERRORS[*]}" >&2; exit 1; }
  exit 0
fi
if [[ $BENCH_ONLY == rollback ]]; then
  run_rollback
  python3 "$BENCH_SRC/report.py" "$RESULTS" --json "$BENCH_DIR/results.json" --md "$BENCH_DIR/results.md" || true
  log "results: $BENCH_DIR/results.md"
  [[ ${#BARGE_ERRORS[@]} -eq 0 ]] || { printf '\nbench: barge FAILED: %s\n' "${BARGE_ERRORS[*]}" >&2; exit 1; }
  exit 0
fi
if [[ $BENCH_ONLY == gc ]]; then
  run_gc
  python3 "$BENCH_SRC/report.py" "$RESULTS" --json "$BENCH_DIR/results.json" --md "$BENCH_DIR/results.md" || true
  log "results: $BENCH_DIR/results.md"
  [[ ${#BARGE_ERRORS[@]} -eq 0 ]] || { printf '\nbench: barge FAILED: %s\n' "${BARGE_ERRORS[*]}" >&2; exit 1; }
  exit 0
fi
if [[ $BENCH_ONLY == realfiles ]]; then
  run_realfiles
  python3 "$BENCH_SRC/report.py" "$RESULTS" --json "$BENCH_DIR/results.json" --md "$BENCH_DIR/results.md" || true
  log "results: $BENCH_DIR/results.md"
  [[ ${#BARGE_ERRORS[@]} -eq 0 ]] || { printf '\nbench: barge FAILED: %s\n' "${BARGE_ERRORS[*]}" >&2; exit 1; }
  exit 0
fi
if [[ $BENCH_ONLY == failover ]]; then
  run_failover
  python3 "$BENCH_SRC/report.py" "$RESULTS" --json "$BENCH_DIR/results.json" --md "$BENCH_DIR/results.md" || true
  log "results: $BENCH_DIR/results.md"
  [[ ${#BARGE_ERRORS[@]} -eq 0 ]] || { printf '\nbench: barge FAILED: %s\n' "${BARGE_ERRORS[*]}" >&2; exit 1; }
  exit 0
fi

# ================================================================== data
if [[ $BENCH_ONLY == moves ]]; then   # the moves part needs the tree only
  log "generating ${BENCH_SIZE_MIB} MiB tree (seed $BENCH_SEED)"
else
  log "generating ${BENCH_SIZE_MIB} MiB tree and ${BENCH_DB_SIZE_MIB} MiB SQLite database (seed $BENCH_SEED)"
fi
python3 "$BENCH_SRC/gen_data.py" tree "$TREE" --size-mib "$BENCH_SIZE_MIB" --seed "$BENCH_SEED" >"$LOGS/gen_tree.json"
info gen_tree "$LOGS/gen_tree.json"
log "data: $(cat "$LOGS/gen_tree.json")"
if [[ $BENCH_ONLY != moves ]]; then
  python3 "$BENCH_SRC/gen_data.py" sqlite "$DB" --size-mib "$BENCH_DB_SIZE_MIB" --seed "$BENCH_SEED" >"$LOGS/gen_db.json"
  info gen_db "$LOGS/gen_db.json"
  log "data: $(cat "$LOGS/gen_db.json")"
fi

if [[ $BENCH_ONLY == all || $BENCH_ONLY == snapshot ]]; then   # sections b-g: the snapshot engine vs restic / rsync
# ================================================================== b. full snapshot, tree (cold)
if [[ $HAVE_BARGE == 1 ]]; then
  barge_step barge_init 0 init || true
  barge_step barge_volume_add_tree 0 volume add t "$TREE" || true
  barge_snapshot barge_snap_full_tree t || true
  if [[ $HAVE_BARGE == 1 ]]; then
    record name=barge_state_after_full_tree tool=barge bytes="$(dusize "$STATE")" packs_bytes="$(packsize)"
  fi
  barge_full_reps barge_snap_full_tree t "$TREE" || true
fi
peer restic_init restic 1 restic init
record name=restic_repo tool=info \
  version="$(restic cat config 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])' || echo unknown)" \
  compression="$RESTIC_COMPRESSION"
restic_snapshot restic_snap_full_tree "$TREE"
record name=restic_repo_after_full_tree tool=restic bytes="$(dusize "$RESTIC_REPOSITORY")"
restic_full_reps restic_snap_full_tree "$TREE"
rsync_copies rsync_copy_full_tree "$TREE" "$OUT/rsync-copy-tree"

# ================================================================== c. small change, WARM (target)
# ~1% of the small/medium files; the large files are untouched. Stat walk and both incremental
# snapshots run with the tree's metadata warm: no cache drop, one untimed `find` right before each.
mutate mutate_tree mutate-tree "$TREE" --seed "$BENCH_SEED"
MEASURE_CACHE=warm statwalks statwalk_warm
MEASURE_CACHE=warm barge_snapshot barge_snap_incr_tree t || true
MEASURE_CACHE=warm restic_snapshot restic_snap_incr_tree "$TREE"

# ================================================================== c2. another small change, COLD (info)
mutate mutate_tree2 mutate-tree "$TREE" --seed "$BENCH_SEED" --round 1
MEASURE_CACHE=cold statwalks statwalk_cold
MEASURE_CACHE=cold barge_snapshot barge_snap_incr2_tree t || true
MEASURE_CACHE=cold restic_snapshot restic_snap_incr2_tree "$TREE"

# ================================================================== d. 8 x 4 KiB in the largest file (info)
# metadata warm, data cold (drop, then the untimed find) for each tool, so that restic does not
# read the large file from the page cache barge filled
mutate mutate_big mutate-big "$TREE" --seed "$BENCH_SEED"
MEASURE_CACHE=meta barge_snapshot barge_snap_big_tree t || true
MEASURE_CACHE=meta restic_snapshot restic_snap_big_tree "$TREE"

# ================================================================== e. restore, tree (final state, cold)
# REPS restores per tool into fresh target dirs from the same store; the first one is verified
barge_restores barge_restore_tree t "$TREE" "$OUT/barge-restore-tree" verify_barge_tree
peer_restores restic_restore_tree restic "$TREE" "$OUT/restic-restore-tree" "$OUT/restic-restore-tree$TREE" \
  verify_restic_tree restic restore latest --path "$TREE" --target "$OUT/restic-restore-tree"
peer_restores rsync_restore_tree rsync "$TREE" "$OUT/rsync-restore-tree" "$OUT/rsync-restore-tree" \
  verify_rsync_tree rsync -a --whole-file "$TREE/" "$OUT/rsync-restore-tree/"
empty_trash

# ================================================================== f. SQLite database (cold)
if [[ $HAVE_BARGE == 1 ]]; then
  barge_step barge_volume_add_db 0 volume add db "$DBDIR" || true
  barge_snapshot barge_snap_full_db db || true
  barge_full_reps barge_snap_full_db db "$DBDIR" || true
fi
restic_snapshot restic_snap_full_db "$DBDIR"
restic_full_reps restic_snap_full_db "$DBDIR"
rsync_copies rsync_copy_full_db "$DBDIR" "$OUT/rsync-copy-db"

mutate mutate_db mutate-sqlite "$DB" --percent 1 --seed "$BENCH_SEED"
barge_snapshot barge_snap_incr_db db || true
restic_snapshot restic_snap_incr_db "$DBDIR"

barge_restores barge_restore_db db "$DBDIR" "$OUT/barge-restore-db" verify_barge_db
peer_restores restic_restore_db restic "$DBDIR" "$OUT/restic-restore-db" "$OUT/restic-restore-db$DBDIR" \
  verify_restic_db restic restore latest --path "$DBDIR" --target "$OUT/restic-restore-db"
peer_restores rsync_restore_db rsync "$DBDIR" "$OUT/rsync-restore-db" "$OUT/rsync-restore-db" \
  verify_rsync_db rsync -a --whole-file "$DBDIR/" "$OUT/rsync-restore-db/"

# ================================================================== g. many small files (walk-dominated)
# ~100k files of 0-4 KiB in ~2000 dirs: here the per-entry cost of the walk dominates barge's fixed
# costs (process start, SQLite open, the fsyncs of the changed data), unlike the 3.8k-file tree.
# Full snapshot cold; then WARM (no drop, the untimed `find` of this tree before each command):
# stat walk (median of 3), barge with no change (median of 3; each a real snapshot) and restic
# (one run), mutate-manyfiles, barge and restic after the small change (one run each: the target).
if [[ $BENCH_MANY_FILES -gt 0 ]]; then
  log "generating $BENCH_MANY_FILES small files (seed $BENCH_SEED)"
  python3 "$BENCH_SRC/gen_data.py" manyfiles "$MANY" --files "$BENCH_MANY_FILES" --seed "$BENCH_SEED" >"$LOGS/gen_many.json"
  info gen_many "$LOGS/gen_many.json"
  log "data: $(cat "$LOGS/gen_many.json")"
  WALK_ROOT=$MANY; statwalk_cmd
  if [[ $HAVE_BARGE == 1 ]]; then
    barge_step barge_volume_add_many 0 volume add m "$MANY" || true
    barge_snapshot barge_snap_full_many m || true
  fi
  restic_snapshot restic_snap_full_many "$MANY"
  MEASURE_CACHE=warm statwalks statwalk_many_warm
  for i in 1 2 3; do
    MEASURE_CACHE=warm barge_snapshot "barge_snap_many_nochange_$i" m || true
  done
  MEASURE_CACHE=warm restic_snapshot restic_snap_many_nochange "$MANY"
  mutate mutate_many mutate-manyfiles "$MANY" --seed "$BENCH_SEED"
  MEASURE_CACHE=warm barge_snapshot barge_snap_many_incr m || true
  MEASURE_CACHE=warm restic_snapshot restic_snap_many_incr "$MANY"
  WALK_ROOT=$TREE; statwalk_cmd
fi
fi   # BENCH_ONLY all or snapshot

# ================================================================== h. replication (bench/replication.sh)
# two agents over loopback mutual TLS vs rsync and casync, on the final tree and DB and a big file
if [[ $BENCH_ONLY == all || $BENCH_ONLY == replication ]]; then
  # shellcheck source=bench/replication.sh
  source "$BENCH_SRC/replication.sh"
fi

# ================================================================== i. moving volumes (bench/moves.sh)
# two more agents: migration downtime, failover promotion (1 GiB and 8 GiB), fail-back bytes
if [[ $BENCH_ONLY == all || $BENCH_ONLY == moves ]]; then
  # Inside `all` the big failover volume is 2 GiB (8 GiB alone): promotion is a rename either way.
  [[ $BENCH_ONLY == all ]] && BENCH_MOVES_BIG_MIB=${BENCH_MOVES_BIG_MIB:-2048}
  # shellcheck source=bench/moves.sh
  source "$BENCH_SRC/moves.sh"
fi

if [[ $BENCH_ONLY == all ]]; then run_failover; run_realfiles; run_offsite; run_retention; run_gc; run_rollback; fi

if [[ -d $STATE ]]; then record name=barge_state_final tool=barge bytes="$(dusize "$STATE")"; fi
record name=restic_repo_final tool=restic bytes="$(dusize "$RESTIC_REPOSITORY")"
record name=elapsed tool=info seconds="$(( $(date +%s) - T_START ))" loadavg="$(cut -d' ' -f1-3 /proc/loadavg)"

# ================================================================== report
rep_rc=0
python3 "$BENCH_SRC/report.py" "$RESULTS" --json "$BENCH_DIR/results.json" --md "$BENCH_DIR/results.md" || rep_rc=$?
echo
log "results: $BENCH_DIR/results.md, $BENCH_DIR/results.json (raw: $RESULTS, logs: $LOGS)"

status=0
if [[ ${#BARGE_ERRORS[@]} -gt 0 ]]; then
  printf '\nbench: barge FAILED: %s (logs in %s)\n' "${BARGE_ERRORS[*]}" "$LOGS" >&2
  status=1
fi
if [[ $VERIFY_FAILED == 1 ]]; then
  printf '\nbench: barge restore is NOT byte-identical to the source (see %s/verify_barge_*.json)\n' "$LOGS" >&2
  status=1
fi
if [[ $rep_rc == 3 && $BENCH_STRICT == 1 ]]; then
  printf '\nbench: some targets were missed (BENCH_STRICT=1)\n' >&2
  status=1
elif [[ $rep_rc != 0 && $rep_rc != 3 ]]; then
  status=1
fi
exit "$status"
