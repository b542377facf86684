# barge benchmark, moves part: sourced by bench/run.sh (uses its helpers: log, die, record,
# measure, mutate, info, prepare, statwalk_cmd; its variables: BARGE, HAVE_BARGE, BENCH_DIR, TREE,
# LOGS, BENCH_SRC, BENCH_SEED, BENCH_TIMEOUT, BARGE_ERRORS, VERIFY_FAILED). See bench/README.md,
# "Moving volumes".
#
# Two agents, m0 (127.0.0.3) and m1 (127.0.0.4), mutual TLS over loopback, interval 1h, three
# volumes, all owned by m0 with m1 as replica:
#   mig  a copy of the 1 GiB tree + the stand-in container (testdata/agent/container.py as the
#        start/stop/pre_snapshot/post_snapshot hooks: a daemon committing 2 KB rows to
#        $BARGE_PATH/app.db every ~5 ms)
#   fo1  another copy of the tree, hooks `true`
#   fo8  BENCH_MOVES_BIG_MIB (8 GiB) of files: copies of one 1 GiB file (written, not sparse;
#        barge's store dedupes them, the standby copy on m1 is the full 8 GiB), hooks `true`
# Then: migration of mig after a 10 MiB change (downtime); kill -9 m0, failover of fo1 and fo8 to
# m1 (promotion time); 10 MiB written into m0's copy of fo1 while m0 is down (the divergence),
# m0 restarted (fenced: diverged snapshot, replica), m1 snapshots and replicates fo1 to m0 (fail-back
# bytes), then migrates fo1 back to m0. Every copy that moved is compared with where it came from.

BENCH_MOVES_PORT=${BENCH_MOVES_PORT:-27520}
BENCH_MOVES_METRICS_PORT=${BENCH_MOVES_METRICS_PORT:-29520}
BENCH_MOVES_BIG_MIB=${BENCH_MOVES_BIG_MIB:-8192}
BENCH_MOVES_UNIT_MIB=${BENCH_MOVES_UNIT_MIB:-1024}
BENCH_MOVES_CHANGE_MIB=${BENCH_MOVES_CHANGE_MIB:-10}
BENCH_MOVES_KEEP=${BENCH_MOVES_KEEP:-0}
MOVES=$BENCH_DIR/moves
MOVES_NODES=(m0 m1)
declare -A MOVES_ADDR=([m0]=127.0.0.3 [m1]=127.0.0.4)
declare -A MOVES_PID=()
MOVES_BARGE=$HAVE_BARGE
MOVES_CONTAINERS=$MOVES/containers
MOVES_CONTAINER_PY=$(dirname "$BENCH_SRC")/testdata/agent/container.py

mv_vol() { echo "$MOVES/$1/vols/$2"; }                 # mv_vol NODE VOLUME: the volume's path there
mv_standby() { echo "$MOVES/$1/vols/.barge-standby/$2"; }
mv_sock() { echo "$MOVES/$1.sock"; }
mv_filebytes() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }
mv_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }   # mv_ms T0_NS: milliseconds since

moves_fail() { # moves_fail NAME: a barge step failed; the rest of this part's barge steps are skipped
  BARGE_ERRORS+=("$1 (exit $LAST_RC)")
  MOVES_BARGE=0
  log "barge moves steps disabled after: $1"
}

moves_kill_containers() { # the stand-in containers' daemons (they outlive the agents, as services do)
  local f pid i
  for f in "$MOVES_CONTAINERS"/*.pid; do
    [[ -e $f ]] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [[ $pid =~ ^[0-9]+$ ]] || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for (( i = 0; i < 100; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}

moves_stop_agent() { # moves_stop_agent NODE [SIGNAL]: TERM (then KILL after 10 s), or SIGNAL at once
  local node=$1 sig=${2:-TERM} pid i
  pid=${MOVES_PID[$node]:-}
  [[ -n $pid ]] || return 0
  { # stderr closed: no "Killed" line from bash when it reaps the agent
    kill "-$sig" "$pid" || true
    for (( i = 0; i < 100; i++ )); do kill -0 "$pid" || break; sleep 0.1; done
    kill -KILL "$pid" || true
    wait "$pid" || true
  } 2>/dev/null
  unset "MOVES_PID[$node]"
}

moves_cleanup() {
  local node
  for node in "${MOVES_NODES[@]}"; do moves_stop_agent "$node"; done
  moves_kill_containers
}

moves_config() { # moves_config NODE OTHER
  local node=$1 other=$2 v
  mkdir -p "$MOVES/$node/vols"
  {
    printf '[node]\nname = "%s"\nlisten = "%s:%s"\nstate_dir = "%s"\ncontrol_socket = "%s"\nmetrics = "%s:%s"\n' \
      "$node" "${MOVES_ADDR[$node]}" "$BENCH_MOVES_PORT" "$MOVES/$node/state" "$(mv_sock "$node")" \
      "${MOVES_ADDR[$node]}" "$BENCH_MOVES_METRICS_PORT"
    printf '[tls]\nca = "%s"\ncert = "%s"\nkey = "%s"\n' "$MOVES/ca/ca.pem" "$MOVES/certs/$node.pem" "$MOVES/certs/$node.key"
    printf '[[peer]]\nname = "%s"\naddress = "%s:%s"\n' "$other" "${MOVES_ADDR[$other]}" "$BENCH_MOVES_PORT"
    for v in mig fo1 fo8; do
      printf '[[volume]]\nname = "%s"\npath = "%s"\nowner = "m0"\nreplicas = ["m1"]\ninterval = "1h"\n' "$v" "$(mv_vol "$node" "$v")"
      if [[ $v == mig ]]; then
        local c="python3 $MOVES_CONTAINER_PY"
        printf '[volume.hooks]\nstart = "%s start --node %s --cluster %s"\nstop = "%s stop --node %s --cluster %s"\n' \
          "$c" "$node" "$MOVES_CONTAINERS" "$c" "$node" "$MOVES_CONTAINERS"
        printf 'pre_snapshot = "%s pre_snapshot --node %s --cluster %s"\npost_snapshot = "%s post_snapshot --node %s --cluster %s"\ntimeout = "20s"\n' \
          "$c" "$node" "$MOVES_CONTAINERS" "$c" "$node" "$MOVES_CONTAINERS"
      else
        printf '[volume.hooks]\nstart = "true"\nstop = "true"\n'
      fi
    done
  } >"$MOVES/$node.toml"
}

moves_start_agent() { # moves_start_agent NODE: starts it, waits (10 s) until its control socket answers
  local node=$1 i
  "$BARGE" agent --config "$MOVES/$node.toml" >>"$LOGS/moves_agent_$node.log" 2>&1 &
  MOVES_PID[$node]=$!
  record name="moves_agent_$node" tool=info pid="$!" config="$MOVES/$node.toml" log="$LOGS/moves_agent_$node.log"
  for (( i = 0; i < 200; i++ )); do
    if "$BARGE" status --socket "$(mv_sock "$node")" --json >/dev/null 2>&1; then return 0; fi
    kill -0 "${MOVES_PID[$node]}" 2>/dev/null || break
    sleep 0.05
  done
  log "agent $node did not answer on $(mv_sock "$node") within 10 s:"
  tail -n 15 "$LOGS/moves_agent_$node.log" | sed 's/^/    | /' >&2
  return 1
}

# moves_step NAME CACHE ARGS...: a measured barge command (tool barge, no trailing sync); on failure
# the rest of this part's barge steps are skipped
moves_step() {
  local name=$1 cache=$2; shift 2
  [[ $MOVES_BARGE == 1 ]] || return 1
  if MEASURE_CACHE=$cache measure "$name" barge 0 "$BARGE" "$@"; then return 0; fi
  moves_fail "$name"
  return 1
}

# moves_util NAME ARGS...: bench/moves_util.py ARGS, its JSON recorded as NAME (tool info, rc)
moves_util() {
  local name=$1 rc=0; shift
  python3 "$BENCH_SRC/moves_util.py" "$@" >"$LOGS/$name.json" 2>"$LOGS/$name.err" || rc=$?
  record name="$name" tool=info rc="$rc" stdout="$LOGS/$name.json"
  log "$name: $(head -c 600 "$LOGS/$name.json")"
  if [[ $rc != 0 ]]; then tail -n 5 "$LOGS/$name.err" | sed 's/^/    | /' >&2; fi
  return "$rc"
}

# moves_snapshot NAME NODE VOLUME: `barge snapshot VOLUME --json` through NODE; sets MOVES_SNAP
MOVES_SNAP=""
moves_snapshot() {
  MOVES_SNAP=""
  moves_step "$1" warm snapshot "$3" --socket "$(mv_sock "$2")" --json || return 1
  MOVES_SNAP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$LOGS/$1.out") || true
  if [[ -z $MOVES_SNAP ]]; then LAST_RC=1; moves_fail "$1 (no id in its --json)"; return 1; fi
}

# moves_replicate NAME FROM TO VOLUME: `replicate VOLUME --to TO` through FROM, timed (repl_wait.py)
# until TO's standby holds MOVES_SNAP
moves_replicate() {
  [[ $MOVES_BARGE == 1 && -n $MOVES_SNAP ]] || return 1
  if ! MEASURE_CACHE=warm measure "$1" poll 0 python3 "$BENCH_SRC/repl_wait.py" "$BARGE" "$(mv_sock "$2")" "$(mv_sock "$3")" \
       "$4" "$MOVES_SNAP" --to "$3" --interval 0.02 --via socket --timeout "$BENCH_TIMEOUT" \
       --pids "$2=${MOVES_PID[$2]:-0},$3=${MOVES_PID[$3]:-0}"; then
    moves_fail "$1"
    return 1
  fi
  log "$1: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d.get("replicate") or {}; print("replicate %.3f s, standby at %.3f s, bytes_sent %s" % (d["replicate_s"], d["standby_s"], r.get("bytes_sent")))' "$LOGS/$1.out" 2>/dev/null || echo '?')"
}

# moves_verify NAME A B [EXCLUDE...]: treecmp A B; a difference fails the run
moves_verify() {
  local name=$1 a=$2 b=$3 rc=0 ex=(); shift 3
  for p in "$@"; do ex+=(--exclude "$p"); done
  python3 "$BENCH_SRC/treecmp.py" --json "${ex[@]}" "$a" "$b" >"$LOGS/$name.json" || rc=$?
  record name="$name" tool=barge rc="$rc" stdout="$LOGS/$name.json" a="$a" b="$b"
  if [[ $rc != 0 ]]; then
    VERIFY_FAILED=1
    log "$name: $b is NOT identical to $a:"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print("    |", p["path"], "-", p["problem"], file=sys.stderr) for p in d.get("first_problems", [])]' "$LOGS/$name.json" || true
  else
    log "$name: identical ($(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["entries"], "entries,", d["file_bytes"], "file bytes")' "$LOGS/$name.json"))"
  fi
  return 0
}

moves_check() { # moves_check NAME OK DETAIL: a correctness check that is not a tree comparison
  record name="$1" tool=barge rc="$([[ $2 == 1 ]] && echo 0 || echo 1)" detail="$3"
  if [[ $2 == 1 ]]; then log "$1: ok ($3)"; else VERIFY_FAILED=1; log "$1: FAILED ($3)"; fi
}

moves_hwm() { # moves_hwm NAME: both agents' VmHWM so far
  local node a out=""
  for node in "${MOVES_NODES[@]}"; do
    a=$(awk '/^VmHWM:/ {print $2}' "/proc/${MOVES_PID[$node]:-0}/status" 2>/dev/null || true)
    out+=" ${node}_vmhwm_kib=${a:-0}"
  done
  # shellcheck disable=SC2086
  record name="$1" tool=barge-agent $out
}

# ================================================================== moves
MOVES_T0=$(date +%s)
MOVES_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
if [[ -d $MOVES ]]; then chmod -R u+w "$MOVES" 2>/dev/null || true; rm -rf "$MOVES"; fi
mkdir -p "$MOVES"/{ca,certs,m0/vols,m1/vols} "$MOVES_CONTAINERS"

# The big volume needs its size twice (owner + standby copy) on this file system, plus the 1 GiB
# volumes; with less room it is halved (down to one unit) and the notes say so.
[[ $BENCH_MOVES_BIG_MIB =~ ^[0-9]+$ && $BENCH_MOVES_UNIT_MIB =~ ^[0-9]+$ && $BENCH_MOVES_UNIT_MIB -gt 0 ]] \
  || die "BENCH_MOVES_BIG_MIB and BENCH_MOVES_UNIT_MIB must be numbers"
MOVES_TREE_BYTES=$(mv_filebytes "$TREE")
MOVES_AVAIL=$(df -B1 --output=avail "$MOVES" | tail -n 1 | tr -d ' ')
moves_big=$(( BENCH_MOVES_BIG_MIB / BENCH_MOVES_UNIT_MIB * BENCH_MOVES_UNIT_MIB ))
(( moves_big >= BENCH_MOVES_UNIT_MIB )) || moves_big=$BENCH_MOVES_UNIT_MIB
moves_need() { # bytes needed for a big volume of $1 MiB: 2 copies + 2 stores of one unit, 4 tree copies + stores, 2 GiB spare
  echo $(( 2 * $1 * 1048576 + 2 * BENCH_MOVES_UNIT_MIB * 1048576 + 6 * MOVES_TREE_BYTES + 2147483648 ))
}
while (( moves_big > BENCH_MOVES_UNIT_MIB )) && (( $(moves_need "$moves_big") > MOVES_AVAIL )); do
  moves_big=$(( moves_big / 2 / BENCH_MOVES_UNIT_MIB * BENCH_MOVES_UNIT_MIB ))
  (( moves_big >= BENCH_MOVES_UNIT_MIB )) || moves_big=$BENCH_MOVES_UNIT_MIB
done
if (( moves_big != BENCH_MOVES_BIG_MIB )); then
  log "moves: only $(( MOVES_AVAIL >> 30 )) GiB free on $MOVES: the big volume is ${moves_big} MiB instead of ${BENCH_MOVES_BIG_MIB} MiB"
fi
MOVES_BIG_MIB=$moves_big
record name=moves_config tool=info big_mib="$MOVES_BIG_MIB" big_mib_requested="$BENCH_MOVES_BIG_MIB" \
  unit_mib="$BENCH_MOVES_UNIT_MIB" change_mib="$BENCH_MOVES_CHANGE_MIB" avail_bytes="$MOVES_AVAIL" \
  tree_bytes="$MOVES_TREE_BYTES" port="$BENCH_MOVES_PORT"
log "moves: agents m0/m1 on 127.0.0.3/127.0.0.4:$BENCH_MOVES_PORT; volumes mig, fo1 (copies of the tree), fo8 (${MOVES_BIG_MIB} MiB: copies of a ${BENCH_MOVES_UNIT_MIB} MiB file)"

# ---------------------------------------------------------------- certificates, data (untimed)
if [[ $MOVES_BARGE == 1 ]]; then
  if ! { "$BARGE" cert init-ca --out "$MOVES/ca" >"$LOGS/moves_cert_ca.out" 2>&1 \
         && "$BARGE" cert issue m0 --ca "$MOVES/ca" --out "$MOVES/certs" >"$LOGS/moves_cert_m0.out" 2>&1 \
         && "$BARGE" cert issue m1 --ca "$MOVES/ca" --out "$MOVES/certs" >"$LOGS/moves_cert_m1.out" 2>&1; }; then
    LAST_RC=1; moves_fail moves_certs
  fi
fi
if [[ $MOVES_BARGE == 1 ]]; then   # without barge, no data: the rows are n/a
t=$(date +%s%N)
cp -a "$TREE" "$(mv_vol m0 mig)"
cp -a "$TREE" "$(mv_vol m0 fo1)"
mkdir -p "$(mv_vol m0 fo8)"
if [[ -f $BENCH_DIR/data/big/big.img && $(stat -c %s "$BENCH_DIR/data/big/big.img") == $(( BENCH_MOVES_UNIT_MIB * 1048576 )) ]]; then
  cp "$BENCH_DIR/data/big/big.img" "$(mv_vol m0 fo8)/part_00.img"   # the replication part's big file
else
  python3 "$BENCH_SRC/gen_data.py" bigfile "$(mv_vol m0 fo8)/part_00.img" --size-mib "$BENCH_MOVES_UNIT_MIB" \
    --seed "$BENCH_SEED" >"$LOGS/moves_gen_unit.json"
fi
for (( i = 1; i < MOVES_BIG_MIB / BENCH_MOVES_UNIT_MIB; i++ )); do
  cp -p "$(mv_vol m0 fo8)/part_00.img" "$(mv_vol m0 fo8)/$(printf 'part_%02d.img' "$i")"
done
sync
record name=moves_data tool=info ms="$(mv_ms "$t")"
for v in mig fo1 fo8; do
  moves_util "moves_size_$v" size "$(mv_vol m0 "$v")" || true
done
fi

# ---------------------------------------------------------------- agents
if [[ $MOVES_BARGE == 1 ]]; then
  moves_config m0 m1
  moves_config m1 m0
  trap moves_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if moves_start_agent m0 && moves_start_agent m1; then
    log "agents m0 (pid ${MOVES_PID[m0]}) and m1 (pid ${MOVES_PID[m1]}) up; configs in $MOVES"
    # m0 starts the containers it owns once m1 has answered (it may retry every 2 s)
    moves_util moves_wait_up wait "$(mv_sock m0)" --volume mig --volume fo1 --volume fo8 --until container-up --timeout 60 \
      || { LAST_RC=1; moves_fail moves_wait_up; }
  else
    LAST_RC=1; moves_fail moves_start_agents
  fi
fi

# ---------------------------------------------------------------- first replication of each volume (setup, info)
# mig last: the container's own commits since its replication stay few before the migration
for v in fo1 fo8 mig; do
  if moves_snapshot "moves_snap1_$v" m0 "$v"; then
    moves_replicate "moves_repl1_$v" m0 m1 "$v" || true
  fi
done
moves_hwm moves_hwm_setup

# ---------------------------------------------------------------- migration: 10 MiB written since the last replication
if [[ $MOVES_BARGE == 1 ]]; then
  mutate moves_change_mig change-tree "$(mv_vol m0 mig)" --mib "$BENCH_MOVES_CHANGE_MIB" --seed "$BENCH_SEED" --round 1
fi
WALK_ROOT=$(mv_vol m0 mig); statwalk_cmd
if moves_step moves_migrate_mig warm migrate mig --to m1 --socket "$(mv_sock m0)" --json; then
  log "moves_migrate_mig: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("downtime %.3f s, %d bytes sent; " % (d["downtime_s"], d["bytes_sent"]) + ", ".join("%s %.3f s %d B" % (p["name"], p["seconds"], p["bytes_sent"]) for p in d["phases"]))' "$LOGS/moves_migrate_mig.out" 2>/dev/null || echo '?')"
  moves_util moves_ledger_mig ledger "$MOVES_CONTAINERS" "$(mv_vol m1 mig)/app.db" --old m0 --new m1 || VERIFY_FAILED=1
  # m0 demoted its live data to the standby place: the final snapshot; m1 runs the container on it
  moves_verify moves_verify_mig "$(mv_standby m0 mig)" "$(mv_vol m1 mig)" 'app.db*'
  moves_check moves_check_mig_source_empty "$([[ ! -e $(mv_vol m0 mig) ]] && echo 1 || echo 0)" "m0's volume path holds nothing after the hand-over"
fi
WALK_ROOT=$TREE; statwalk_cmd

# ---------------------------------------------------------------- failover: kill -9 the owner, promote on the replica
if [[ $MOVES_BARGE == 1 ]]; then
  moves_hwm moves_hwm_before_kill
  t=$(date +%s%N)
  moves_stop_agent m0 KILL
  record name=moves_kill_m0 tool=info ms="$(mv_ms "$t")"
  log "m0 killed (SIGKILL)"
  for v in fo1 fo8; do
    # cold: sync + page cache dropped right before (the replica's agent keeps its own memory)
    moves_step "moves_failover_$v" cold failover "$v" --to m1 --socket "$(mv_sock m1)" --json || break
    log "moves_failover_$v: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("promotion %.4f s, epoch %d, started %s, may lose %.1f s" % (d["promotion_s"], d["epoch"], d["started"], d["may_lose_since_s"]))' "$LOGS/moves_failover_$v.out" 2>/dev/null || echo '?')"
  done
fi
if [[ $MOVES_BARGE == 1 ]]; then
  # m0's copy of fo1 is untouched since its snapshot (hooks `true`): the promoted copy must equal it
  moves_verify moves_verify_fo1_failover "$(mv_vol m0 fo1)" "$(mv_vol m1 fo1)"
  moves_util moves_size_fo8_promoted size "$(mv_vol m1 fo8)" || true
  # info: the new owner's first snapshot after the promotion, and the next one (unchanged data both times)
  moves_hwm moves_hwm_after_failover
  moves_snapshot moves_snap_promoted1_fo8 m1 fo8 && moves_snapshot moves_snap_promoted2_fo8 m1 fo8 || true
  moves_hwm moves_hwm_after_promoted_snapshots
fi

# ---------------------------------------------------------------- fail-back: divergence on the old owner, fence, resync
if [[ $MOVES_BARGE == 1 ]]; then
  # writes the new owner never got: into m0's copy while m0 is down
  mutate moves_diverge_fo1 change-tree "$(mv_vol m0 fo1)" --mib "$BENCH_MOVES_CHANGE_MIB" --seed "$BENCH_SEED" --round 2
  sync
  t=$(date +%s%N)
  if moves_start_agent m0; then
    log "m0 restarted (pid ${MOVES_PID[m0]}); waiting until it has fenced fo1 and fo8"
    if moves_util moves_fence wait "$(mv_sock m0)" --volume fo1 --volume fo8 --until replica --timeout 120; then
      record name=moves_fence_total tool=info ms="$(mv_ms "$t")"   # agent started -> both fenced
    else
      LAST_RC=1; moves_fail moves_fence
    fi
  else
    LAST_RC=1; moves_fail moves_restart_m0
  fi
fi
if [[ $MOVES_BARGE == 1 ]]; then
  "$BARGE" snapshots fo1 --json --state-dir "$MOVES/m0/state" >"$LOGS/moves_snapshots_m0_fo1.json" 2>"$LOGS/moves_snapshots_m0_fo1.err" || true
  info moves_snapshots_m0_fo1 "$LOGS/moves_snapshots_m0_fo1.json"
  ok=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(1 if any(s.get("state") == "diverged" for s in d) else 0)' \
       "$LOGS/moves_snapshots_m0_fo1.json" 2>/dev/null || echo 0)
  moves_check moves_check_fenced "$ok" "m0 keeps its fo1 copy as a diverged snapshot and is a replica"
  moves_check moves_check_fenced_empty "$([[ ! -e $(mv_vol m0 fo1) ]] && echo 1 || echo 0)" "the fenced m0's fo1 path holds nothing"
  if moves_snapshot moves_failback_snap_fo1 m1 fo1; then
    moves_replicate moves_failback_repl_fo1 m1 m0 fo1 || true
  fi
fi
if [[ $MOVES_BARGE == 1 ]]; then
  moves_verify moves_verify_fo1_resync "$(mv_vol m1 fo1)" "$(mv_standby m0 fo1)"
  moves_hwm moves_hwm_after_failback
  WALK_ROOT=$(mv_vol m1 fo1); statwalk_cmd
  if moves_step moves_migrate_back_fo1 warm migrate fo1 --to m0 --socket "$(mv_sock m1)" --json; then
    moves_verify moves_verify_fo1_back "$(mv_standby m1 fo1)" "$(mv_vol m0 fo1)"
  fi
  WALK_ROOT=$TREE; statwalk_cmd
fi

# ---------------------------------------------------------------- agents' peak RSS, stop, clean up
for node in "${MOVES_NODES[@]}"; do
  pid=${MOVES_PID[$node]:-}
  [[ -n $pid && -r /proc/$pid/status ]] || continue
  record name="moves_agent_rss_$node" tool=barge-agent pid="$pid" \
    vmhwm_kib="$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")" vmrss_kib="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"
done
moves_cleanup
trap - EXIT INT TERM
if [[ $BENCH_MOVES_KEEP != 1 ]]; then
  # the big volume's copies (owner's fenced copy, new owner's live copy) are big and dull
  rm -rf "$(mv_vol m0 fo8)" "$(mv_standby m0 fo8)" "$(mv_vol m1 fo8)" "$(mv_standby m1 fo8)"
fi
record name=moves_elapsed tool=info seconds="$(( $(date +%s) - MOVES_T0 ))" loadavg_start="$MOVES_LOAD0" \
  loadavg="$(cut -d' ' -f1-3 /proc/loadavg)"
