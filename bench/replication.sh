# barge benchmark, replication part: sourced by bench/run.sh (uses its helpers: log, die, record,
# measure, peer, mutate, info, prepare; its variables: BARGE, HAVE_BARGE, BENCH_DIR, TREE, DBDIR,
# DB, LOGS, BENCH_SRC, BENCH_SEED). See bench/README.md, "Replication".
#
# Two barge agents (d0 on 127.0.0.1, d1 on 127.0.0.2, mutual TLS over loopback) with one volume
# per dataset (tree, db, big), owner d0, replica d1, interval 1h (the scheduler stays out of the
# way). Per dataset, side by side with `rsync -a` (to another local dir) and casync (a local store):
#   v1: rsync --whole-file copy (cold; the full-replication reference), casync make v1,
#       barge snapshot + replicate (cold), timed until d1's standby copy holds the snapshot
#   mutation (tree: mutate-tree --round 2; db: mutate-sqlite --round 1; big: mutate-bigfile)
#   v2: rsync --no-whole-file --stats (total bytes sent), casync make v2 (store growth),
#       barge snapshot + replicate: bytes_sent
# then the latency of a 10 MiB change (tree; and, as info, the big file), and the agents' VmHWM.
# Every standby copy is compared with its source (treecmp.py); a difference fails the run.

BENCH_REPL_BIG_MIB=${BENCH_REPL_BIG_MIB:-1024}
BENCH_REPL_PORT=${BENCH_REPL_PORT:-27420}
BENCH_REPL_METRICS_PORT=${BENCH_REPL_METRICS_PORT:-29420}
# socket (default): every 20 ms, the request `barge status --json` sends, on d1's control socket (the
# same JSON answer, ~1 ms of CPU); cli: run `barge status --json` each time (~9 ms of CPU per poll,
# ~2.5 CPU-s over a 5 s full replication: a quarter of a 2-core machine, taken from the agents)
BENCH_REPL_POLL=${BENCH_REPL_POLL:-socket}
REPL=$BENCH_DIR/repl
BIGDIR=$BENCH_DIR/data/big
BIG=$BIGDIR/big.img
REPL_AGENT_PIDS=()
REPL_BARGE=$HAVE_BARGE
REPL_SETS=(tree db big)

ensure casync casync

repl_src() { case $1 in tree) echo "$TREE" ;; db) echo "$DBDIR" ;; big) echo "$BIGDIR" ;; esac; }
# the file casync indexes as a blob (.caibx) for the single-file datasets; the tree is a .caidx
repl_casync_input() { case $1 in tree) echo "$TREE/" ;; db) echo "$DB" ;; big) echo "$BIG" ;; esac; }
repl_casync_index() { case $1 in tree) echo "$REPL/casync/$1.$2.caidx" ;; *) echo "$REPL/casync/$1.$2.caibx" ;; esac; }
repl_standby() { echo "$REPL/d1/vols/.barge-standby/$1"; }
filebytes() { find "$1" -type f -printf '%s\n' 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'; }

repl_stop_agents() {
  local pid i
  for pid in "${REPL_AGENT_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${REPL_AGENT_PIDS[@]}"; do
    for (( i = 0; i < 100; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  REPL_AGENT_PIDS=()
}

repl_fail() { # repl_fail NAME: a barge step of this part failed; the rest of barge's steps are skipped
  BARGE_ERRORS+=("$1 (exit $LAST_RC)")
  REPL_BARGE=0
  log "barge replication steps disabled after: $1"
}

repl_config() { # repl_config NODE ADDR OTHER OTHER_ADDR
  local node=$1 addr=$2 other=$3 other_addr=$4 v path
  mkdir -p "$REPL/$node/vols"
  {
    printf '[node]\nname = "%s"\nlisten = "%s:%s"\nstate_dir = "%s"\ncontrol_socket = "%s"\nmetrics = "%s:%s"\n' \
      "$node" "$addr" "$BENCH_REPL_PORT" "$REPL/$node/state" "$REPL/$node.sock" "$addr" "$BENCH_REPL_METRICS_PORT"
    printf '[tls]\nca = "%s"\ncert = "%s"\nkey = "%s"\n' "$REPL/ca/ca.pem" "$REPL/certs/$node.pem" "$REPL/certs/$node.key"
    printf '[[peer]]\nname = "%s"\naddress = "%s:%s"\n' "$other" "$other_addr" "$BENCH_REPL_PORT"
    for v in "${REPL_SETS[@]}"; do
      # the owner's path is the data; the replica's path only places its standby copy
      if [[ $node == d0 ]]; then path=$(repl_src "$v"); else path=$REPL/d1/vols/$v; fi
      printf '[[volume]]\nname = "%s"\npath = "%s"\nowner = "d0"\nreplicas = ["d1"]\ninterval = "1h"\n' "$v" "$path"
    done
  } >"$REPL/$node.toml"
}

repl_start_agents() {
  local node i ok
  mkdir -p "$REPL"/{rsync,casync,certs}
  "$BARGE" cert init-ca --out "$REPL/ca" >"$LOGS/repl_cert_ca.out" 2>&1 || return 1
  for node in d0 d1; do
    "$BARGE" cert issue "$node" --ca "$REPL/ca" --out "$REPL/certs" >"$LOGS/repl_cert_$node.out" 2>&1 || return 1
  done
  repl_config d0 127.0.0.1 d1 127.0.0.2
  repl_config d1 127.0.0.2 d0 127.0.0.1
  for node in d0 d1; do
    "$BARGE" agent --config "$REPL/$node.toml" >"$LOGS/repl_agent_$node.log" 2>&1 &
    REPL_AGENT_PIDS+=($!)
    record name="repl_agent_$node" tool=info pid=$! config="$REPL/$node.toml" log="$LOGS/repl_agent_$node.log"
  done
  trap repl_stop_agents EXIT
  for node in d0 d1; do
    ok=0
    for (( i = 0; i < 200; i++ )); do
      if "$BARGE" status --socket "$REPL/$node.sock" --json >/dev/null 2>&1; then ok=1; break; fi
      sleep 0.05
    done
    if [[ $ok == 0 ]]; then
      log "agent $node did not answer on $REPL/$node.sock within 10 s:"
      tail -n 15 "$LOGS/repl_agent_$node.log" | sed 's/^/    | /' >&2
      return 1
    fi
  done
  log "agents d0 (pid ${REPL_AGENT_PIDS[0]}) and d1 (pid ${REPL_AGENT_PIDS[1]}) up; configs in $REPL"
}

# repl_snapshot NAME VOLUME: `barge snapshot VOLUME --json` through d0; sets REPL_SNAP (its id)
REPL_SNAP=""
repl_snapshot() {
  REPL_SNAP=""
  [[ $REPL_BARGE == 1 ]] || return 1
  if ! measure "$1" barge 0 "$BARGE" snapshot "$2" --socket "$REPL/d0.sock" --json; then repl_fail "$1"; return 1; fi
  REPL_SNAP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$LOGS/$1.out") || true
  if [[ -z $REPL_SNAP ]]; then LAST_RC=1; repl_fail "$1 (no id in its --json)"; return 1; fi
}

# repl_replicate NAME VOLUME: `barge replicate VOLUME --json` through d0, timed (repl_wait.py) until
# d1's `status --json` shows the standby at REPL_SNAP (polled every 20 ms)
repl_replicate() {
  [[ $REPL_BARGE == 1 && -n $REPL_SNAP ]] || return 1
  if ! measure "$1" poll 0 python3 "$BENCH_SRC/repl_wait.py" "$BARGE" "$REPL/d0.sock" "$REPL/d1.sock" "$2" "$REPL_SNAP" \
       --interval 0.02 --via "$BENCH_REPL_POLL" --timeout "$BENCH_TIMEOUT" --pids "d0=${REPL_AGENT_PIDS[0]:-0},d1=${REPL_AGENT_PIDS[1]:-0}"; then
    repl_fail "$1"
    return 1
  fi
  repl_hwm "$1"
  log "$1: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); r=d.get("replicate") or {}; c=d.get("agent_cpu_s") or {}; print("replicate %.3f s, standby at %.3f s, bytes_sent %s, chunks raw/delta %s/%s, %d polls; CPU s: owner %s, replica %s, polls+client %s" % (d["replicate_s"], d["standby_s"], r.get("bytes_sent"), r.get("chunks_raw"), r.get("chunks_delta"), d["polls"], c.get("d0"), c.get("d1"), d.get("client_cpu_s")))' "$LOGS/$1.out" 2>/dev/null || echo '?')"
}

# repl_verify NAME VOLUME: the standby copy on d1 against the source (treecmp.py); a difference fails the run
repl_verify() {
  local name=$1 vol=$2 rc=0 src
  src=$(repl_src "$vol")
  python3 "$BENCH_SRC/treecmp.py" --json "$src" "$(repl_standby "$vol")" >"$LOGS/$name.json" || rc=$?
  record name="$name" tool=barge rc="$rc" stdout="$LOGS/$name.json"
  if [[ $rc != 0 ]]; then
    VERIFY_FAILED=1
    printf '\n  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
    log "$name: the STANDBY COPY of $vol on d1 is NOT identical to $src:"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [print("    |", p["path"], "-", p["problem"], file=sys.stderr) for p in d["first_problems"]]' "$LOGS/$name.json" || true
    printf '  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
  else
    log "$name: standby of $vol identical to the source ($(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["entries"], "entries,", d["mode_diffs"], "mode diffs,", d["mtime_diffs"], "file mtime diffs")' "$LOGS/$name.json"))"
  fi
}

repl_casync() { # repl_casync VOLUME VERSION: casync make into the dataset's store; records the store size
  local v=$1 ver=$2 store=$REPL/casync/$1.castr
  peer "repl_casync_${ver}_$v" casync 1 casync make --store="$store" "$(repl_casync_index "$v" "$ver")" "$(repl_casync_input "$v")"
  record name="repl_casync_${ver}_${v}_store" tool=casync bytes="$(filebytes "$store")"
}

repl_hwm() { # repl_hwm NAME: both agents' VmHWM so far (which step drives the peak)
  local a b
  a=$(awk '/^VmHWM:/ {print $2}' "/proc/${REPL_AGENT_PIDS[0]:-0}/status" 2>/dev/null || echo 0)
  b=$(awk '/^VmHWM:/ {print $2}' "/proc/${REPL_AGENT_PIDS[1]:-0}/status" 2>/dev/null || echo 0)
  record name="${1}_hwm" tool=barge-agent d0_vmhwm_kib="${a:-0}" d1_vmhwm_kib="${b:-0}"
}

repl_agent_rss() {
  local node pid i=0 hwm rss
  for node in d0 d1; do
    pid=${REPL_AGENT_PIDS[$i]:-}; i=$(( i + 1 ))
    [[ -n $pid && -r /proc/$pid/status ]] || continue
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
    record name="repl_agent_rss_$node" tool=barge-agent pid="$pid" vmhwm_kib="${hwm:-0}" vmrss_kib="${rss:-0}"
    log "agent $node (pid $pid): VmHWM ${hwm:-?} KiB, VmRSS ${rss:-?} KiB"
  done
}

# ================================================================== replication
REPL_T0=$(date +%s)
REPL_LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
case "$BENCH_REPL_POLL" in cli|socket) ;; *) die "BENCH_REPL_POLL must be cli or socket (got '$BENCH_REPL_POLL')" ;; esac
log "replication: ${BENCH_REPL_BIG_MIB} MiB big file, agents on 127.0.0.1/127.0.0.2:$BENCH_REPL_PORT, status polled via $BENCH_REPL_POLL"
record name=repl_config tool=info big_mib="$BENCH_REPL_BIG_MIB" poll="$BENCH_REPL_POLL" casync="$(casync --version 2>&1 | head -n 1)"
rm -rf "$REPL" "$BIGDIR"
mkdir -p "$REPL"
python3 "$BENCH_SRC/gen_data.py" bigfile "$BIG" --size-mib "$BENCH_REPL_BIG_MIB" --seed "$BENCH_SEED" >"$LOGS/repl_gen_big.json"
info repl_gen_big "$LOGS/repl_gen_big.json"
log "data: $(cat "$LOGS/repl_gen_big.json")"
for v in "${REPL_SETS[@]}"; do
  record name="repl_size_v1_$v" tool=info bytes="$(filebytes "$(repl_src "$v")")" files="$(find "$(repl_src "$v")" -type f | wc -l)"
done

if [[ $REPL_BARGE == 1 ]]; then
  if ! repl_start_agents; then
    LAST_RC=1
    repl_fail repl_start_agents
  fi
fi

# ---------------------------------------------------------------- v1: first full replication
for v in "${REPL_SETS[@]}"; do
  src=$(repl_src "$v")
  rm -rf "$REPL/rsync/$v"
  peer "repl_rsync_full_$v" rsync 1 rsync -a --whole-file "$src/" "$REPL/rsync/$v/"
  MEASURE_CACHE=warm repl_casync "$v" v1
  if MEASURE_CACHE=warm repl_snapshot "repl_barge_snap1_$v" "$v"; then
    MEASURE_CACHE=cold repl_replicate "repl_barge_full_$v" "$v" || true
  fi
done
for v in "${REPL_SETS[@]}"; do
  if [[ $REPL_BARGE == 1 ]]; then repl_verify "repl_verify1_$v" "$v"; fi
done

# ---------------------------------------------------------------- v1 -> v2: bytes on the wire
mutate repl_mutate_tree mutate-tree "$TREE" --seed "$BENCH_SEED" --round 2
mutate repl_mutate_db mutate-sqlite "$DB" --percent 1 --seed "$BENCH_SEED" --round 1
mutate repl_mutate_big mutate-bigfile "$BIG" --seed "$BENCH_SEED"
for v in "${REPL_SETS[@]}"; do
  src=$(repl_src "$v")
  MEASURE_CACHE=warm peer "repl_rsync_delta_$v" rsync 1 rsync -a --no-whole-file --stats "$src/" "$REPL/rsync/$v/"
  MEASURE_CACHE=warm repl_casync "$v" v2
  if MEASURE_CACHE=warm repl_snapshot "repl_barge_snap2_$v" "$v"; then
    MEASURE_CACHE=warm repl_replicate "repl_barge_delta_$v" "$v" || true
  fi
done
for v in "${REPL_SETS[@]}"; do
  if [[ $REPL_BARGE == 1 ]]; then repl_verify "repl_verify2_$v" "$v"; fi
done

# ---------------------------------------------------------------- latency: 10 MiB change, snapshot committed -> standby
# warm: the change was just written. The clock starts when `barge snapshot` has returned (committed).
mutate repl_change_tree change-tree "$TREE" --mib 10 --seed "$BENCH_SEED"
if MEASURE_CACHE=warm repl_snapshot repl_barge_snap3_tree tree; then
  MEASURE_CACHE=warm repl_replicate repl_barge_lat_tree tree || true
fi
mutate repl_change_big mutate-bigfile "$BIG" --overwrite-mib 10 --seed "$BENCH_SEED"
if MEASURE_CACHE=warm repl_snapshot repl_barge_snap3_big big; then
  MEASURE_CACHE=warm repl_replicate repl_barge_lat_big big || true
fi
for v in tree big; do
  if [[ $REPL_BARGE == 1 ]]; then repl_verify "repl_verify3_$v" "$v"; fi
done

# ---------------------------------------------------------------- agents' peak RSS, stop
repl_agent_rss
repl_stop_agents
trap - EXIT
record name=repl_elapsed tool=info seconds="$(( $(date +%s) - REPL_T0 ))" loadavg_start="$REPL_LOAD0" \
  loadavg="$(cut -d' ' -f1-3 /proc/loadavg)"
