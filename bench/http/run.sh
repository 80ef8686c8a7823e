#!/usr/bin/env bash
# bench/http/run.sh — hearth's HTTP front end against its peers, side by side,
# in one run: hearth, Node.js http, Fastify 4, FastAPI + Uvicorn, nginx.
#
# hearth is built and started first and sent the chat body once with curl:
# its answer (an error, since the body names a model hearth does not have)
# becomes the answer every peer gives after validating, so all do the same
# work. Then each peer starts on its own free port with the same share of the
# machine (WORKERS processes or I/O threads, default 2) and is checked with
# curl: healthz answers, the chat body is accepted with hearth's answer, and
# the bad bodies in invalid/ get 400. A server that fails a check is not
# measured on that route. The bodies in valid/ must not get 400; a server
# that rejects one is noted (its schema differs) but still measured. The measurements are interleaved — for each route
# and connection count every server takes its turn (a WARMUP-second wrk run,
# then DURATION seconds with --latency) — so a disturbance on the shared
# machine does not land on one server only. Prints a table with the ratio
# hearth/peer in req/s and writes every number to
# bench/results/http-<timestamp>.json.
#
# Settings (environment):
#   DURATION=10        seconds per measured run      WARMUP=2   seconds of warm-up
#   CONNS="64 256"     wrk connection counts         THREADS=2  wrk threads
#   WORKERS=2          processes / I/O threads each server gets (1 with PIN=1)
#   PIN=0              1: every server is pinned to CPU 1 and wrk to CPU 0
#                      (taskset), so the load generator never takes the
#                      server's core: each server's own capacity on one core
#   PEERS="node fastify fastapi nginx"   which peers (any subset, any order)
#   HEARTH=1           0 skips hearth (peers only)   HEARTH_ARGS  extra serve flags
#   HEARTH_BUILD=1     0 uses ./hearth as it is, without running make first
#   BENCH_AUTH=KEY     sent as "Authorization: Bearer KEY" on the POST route
#   NODE_CLUSTER_SCHED_POLICY=none|rr   node:cluster distribution (default none)
#   QUIET_WAIT=0       before each run, wait up to this many seconds for the
#                      machine to be idle (other processes < 10% of a core)
#   REPEAT=1           passes over all runs; the table shows each one's best
#   KEEP_TMP=1         keep the temp dir (server logs, raw wrk output)
#
# Every server runs in its own session (setsid); the EXIT trap ends each of
# those sessions, also on Ctrl-C, and removes the temp dir.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-"64 256"}
PIN=${PIN:-0}
if [ "$PIN" = 1 ]; then
  THREADS=${THREADS:-1}; WORKERS=${WORKERS:-1}
  SRV_PIN=(taskset -c 1); WRK_PIN=(taskset -c 0)
else
  THREADS=${THREADS:-2}; WORKERS=${WORKERS:-2}
  SRV_PIN=(); WRK_PIN=()
fi
PEERS=${PEERS:-"node fastify fastapi nginx"}
HEARTH=${HEARTH:-1}
HEARTH_ARGS=${HEARTH_ARGS:-}
HEARTH_BUILD=${HEARTH_BUILD:-1}
BENCH_AUTH=${BENCH_AUTH:-}
KEEP_TMP=${KEEP_TMP:-0}
QUIET_WAIT=${QUIET_WAIT:-0}
REPEAT=${REPEAT:-1}
export NODE_CLUSTER_SCHED_POLICY=${NODE_CLUSTER_SCHED_POLICY:-none}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
# Debian's python3 has python3-fastapi / python3-uvicorn; a pyenv shim may not.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
REPORT="$HERE/report.py"
BODY="$HERE/body.json"
HZ=$(getconf CLK_TCK)

die() { echo "run.sh: $*" >&2; exit 1; }
say() { echo "== $*"; }
warn() { echo "!! $*" >&2; }

for tool in wrk curl node setsid "$PY"; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (bash scripts/install.sh installs it)"
done
for p in $PEERS; do
  case $p in node|fastify|fastapi|nginx) ;; *) die "unknown peer '$p' (node fastify fastapi nginx)";; esac
done
for v in DURATION WARMUP THREADS WORKERS REPEAT QUIET_WAIT; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, not '${!v}'"
done
[ "$DURATION" -ge 1 ] && [ "$WARMUP" -ge 1 ] && [ "$REPEAT" -ge 1 ] || die "DURATION, WARMUP and REPEAT must be at least 1"
for c in $CONNS; do
  [ "$c" -ge "$THREADS" ] 2>/dev/null || die "CONNS entry '$c' must be a number >= THREADS ($THREADS)"
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hearth-bench-http.XXXXXX")
PGIDS=()

cleanup() {
  trap - EXIT INT TERM
  local pg alive i
  for pg in "${PGIDS[@]}"; do kill -TERM -- "-$pg" 2>/dev/null; done
  for i in $(seq 50); do
    alive=0
    for pg in "${PGIDS[@]}"; do kill -0 -- "-$pg" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pg in "${PGIDS[@]}"; do kill -KILL -- "-$pg" 2>/dev/null; done
  if [ "$KEEP_TMP" = 1 ]; then echo "temp dir kept: $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'echo; warn "interrupted"; exit 130' INT
trap 'warn "terminated"; exit 143' TERM

# start_server NAME CMD... : runs CMD in a new session (its pid is the process
# group and session of everything it forks), output to $TMP/NAME.log.
declare -A PG PORT DESC WITH_POST GET_OK POST_OK
start_server() {
  local name=$1; shift
  setsid "${SRV_PIN[@]}" "$@" >"$TMP/$name.log" 2>&1 </dev/null &
  PG[$name]=$!
  PGIDS+=("$!")
}

stop_server() {
  local pg=${PG[$1]} i keep=()
  kill -TERM -- "-$pg" 2>/dev/null
  for i in $(seq 50); do kill -0 -- "-$pg" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pg" 2>/dev/null
  for i in "${PGIDS[@]}"; do [ "$i" = "$pg" ] || keep+=("$i"); done
  PGIDS=("${keep[@]}")
}

# wait_ready NAME : healthz answers 200 within 30 s, or the log is shown.
wait_ready() {
  local name=$1 i
  for i in $(seq 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[$name]}/healthz")" = 200 ]; then
      return 0
    fi
    kill -0 -- "-${PG[$name]}" 2>/dev/null || break
    sleep 0.1
  done
  warn "$name did not come up on port ${PORT[$name]}; its log:"
  tail -n 20 "$TMP/$name.log" >&2
  return 1
}

# Memory (kB) and CPU time (clock ticks) of every process in a session.
rss_kb() { ps -o rss= --sid "$1" 2>/dev/null | awk '{s += $1} END {print s + 0}'; }
cpu_ticks() {
  local p t=0 f
  for p in $(ps -o pid= --sid "$1" 2>/dev/null); do
    f=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    f=${f##*) }
    t=$((t + $(echo "$f" | awk '{print $12 + $13}')))
  done
  echo $t
}
# Busy CPU time of the whole machine in clock ticks, all cores added up:
# user, nice, system and steal. Interrupt and softirq time is left out: on
# loopback most of it is the benchmark's own TCP traffic, charged to no process.
machine_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $9}' /proc/stat; }
# Share of the machine busy over one second, in percent of all its cores.
machine_busy() {
  local a b
  a=$(machine_ticks); sleep 1; b=$(machine_ticks)
  echo $(( (b - a) * 100 / HZ / $(nproc) ))
}
# CPU ticks used by this shell's finished children (wrk), from the output of
# `times` saved to a file. `times` must run in the current shell: a command
# substitution or pipeline forks, and a fork sees no children's times.
child_ticks() {
  awk -v hz="$HZ" 'NR == 2 {
    t = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
    printf "%d\n", t * hz }' "$1"
}

# wait_quiet : up to QUIET_WAIT seconds for the machine to be idle.
wait_quiet() {
  local end=$(( $(date +%s) + QUIET_WAIT )) busy
  [ "$QUIET_WAIT" -gt 0 ] || return 0
  while :; do
    busy=$(machine_busy)
    [ "$busy" -lt 5 ] && return 0
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "   (machine still ${busy}% busy after ${QUIET_WAIT}s: measuring anyway)"; return 0
    fi
  done
}

post() {  # post PORT FILE OUTFILE -> prints the status code
  local auth=()
  [ -n "$BENCH_AUTH" ] && auth=(-H "Authorization: Bearer $BENCH_AUTH")
  curl -s -o "$3" -w '%{http_code}' -H 'Content-Type: application/json' "${auth[@]}" \
    --data-binary "@$2" "http://127.0.0.1:$1/v1/chat/completions"
}

# check_server NAME : sets GET_OK[NAME], POST_OK[NAME], appends to servers.jsonl.
check_server() {
  local name=$1 port=${PORT[$1]} out code ct f notes=() bad=0 total=0 checks
  local get_ok=1 post_ok=${WITH_POST[$1]}
  out=$(curl -s -D "$TMP/h" "http://127.0.0.1:$port/healthz" | tr -d ' \r\n')
  code=$(awk 'NR == 1 {print $2}' "$TMP/h")
  ct=$(grep -i '^content-type:' "$TMP/h" | tr -d '\r' | cut -d' ' -f2-)
  if [ "$code" != 200 ] || [ "$out" != '{"status":"ok"}' ]; then
    get_ok=0; notes+=("GET /healthz answered $code $out")
  fi
  case $ct in application/json*) ;; *) get_ok=0; notes+=("GET /healthz content-type '$ct'");; esac
  if [ "${WITH_POST[$name]}" = 1 ]; then
    code=$(post "$port" "$BODY" "$TMP/post.out")
    if [ "$code" = 400 ] || [ "$code" = 000 ]; then
      post_ok=0; notes+=("the chat body got $code: $(head -c 300 "$TMP/post.out")")
    elif [ "$name" != hearth ]; then
      if [ "$code" != "$POST_STATUS" ] || ! cmp -s "$TMP/post.out" "$TMP/expected_body"; then
        post_ok=0; notes+=("the chat body got $code and not $POST_FROM's answer")
      else
        notes+=("the chat body got $POST_FROM's $code")
      fi
    fi
    for f in "$HERE"/invalid/*.json; do
      total=$((total + 1))
      code=$(post "$port" "$f" "$TMP/post.out")
      if [ "$code" != 400 ]; then
        bad=$((bad + 1)); notes+=("$(basename "$f" .json) got $code, not 400")
      fi
    done
    [ $bad = 0 ] || post_ok=0
    notes+=("$((total - bad))/$total bad bodies got 400")
    # More valid bodies: a 400 here means this server's schema differs from
    # the others'; noted, but the chat body above is what is measured.
    bad=0; total=0
    for f in "$HERE"/valid/*.json; do
      total=$((total + 1))
      code=$(post "$port" "$f" "$TMP/post.out")
      if [ "$code" = 400 ] || [ "$code" = 000 ]; then
        bad=$((bad + 1)); notes+=("valid/$(basename "$f") got $code: $(head -c 160 "$TMP/post.out")")
      fi
    done
    notes+=("$((total - bad))/$total other valid bodies accepted")
  fi
  checks=$(printf '%s; ' "${notes[@]}"); checks=${checks%; }
  GET_OK[$name]=$get_ok; POST_OK[$name]=$post_ok
  echo "   checks: GET $([ $get_ok = 1 ] && echo ok || echo FAILED)$([ "${WITH_POST[$name]}" = 1 ] && echo ", POST $([ "$post_ok" = 1 ] && echo ok || echo FAILED)")${checks:+ — $checks}"
  "$PY" "$REPORT" obj name "$name" port:json "$port" description "${DESC[$name]}" checks "$checks" \
    get_ok:json "$get_ok" post_ok:json "$post_ok" >>"$TMP/servers.jsonl"
}

# bench_one NAME get|post CONNS : warm-up, then one measured wrk run.
bench_one() {
  local name=$1 route=$2 c=$3 url script=() expect=none out rss line t0 t1 w0 w1 m0 m1 n0 n1 cpu wcpu other
  if [ "$route" = post ]; then
    url="http://127.0.0.1:${PORT[$name]}/v1/chat/completions"; script=(-s "$HERE/post.lua")
    case $POST_STATUS in 2??|3??) expect=none;; *) expect=all;; esac
    route="POST /v1/chat/completions"
  else
    url="http://127.0.0.1:${PORT[$name]}/healthz"; route="GET /healthz"
  fi
  out="$TMP/wrk-$name-${2}-$c-$REP.txt"
  wait_quiet
  BENCH_BODY_FILE="$BODY" BENCH_AUTH="$BENCH_AUTH" \
    "${WRK_PIN[@]}" wrk -t"$THREADS" -c"$c" -d"${WARMUP}s" --timeout 2s "${script[@]}" "$url" >/dev/null 2>&1
  t0=$(cpu_ticks "${PG[$name]}"); times >"$TMP/times0"; m0=$(machine_ticks); n0=$(date +%s%N)
  BENCH_BODY_FILE="$BODY" BENCH_AUTH="$BENCH_AUTH" \
    "${WRK_PIN[@]}" wrk -t"$THREADS" -c"$c" -d"${DURATION}s" --timeout 2s --latency "${script[@]}" "$url" >"$out" 2>&1
  n1=$(date +%s%N); m1=$(machine_ticks); times >"$TMP/times1"; t1=$(cpu_ticks "${PG[$name]}")
  w0=$(child_ticks "$TMP/times0"); w1=$(child_ticks "$TMP/times1")
  # CPU in percent of one core over the measured run: the server, wrk, and
  # everything else on the machine (other helpers' builds make that > 0).
  local ms=$(( (n1 - n0) / 1000000 ))
  cpu=$(( (t1 - t0) * 100000 / HZ / ms ))
  wcpu=$(( (w1 - w0) * 100000 / HZ / ms ))
  other=$(( (m1 - m0) * 100000 / HZ / ms - cpu - wcpu ))
  [ $other -lt 0 ] && other=0
  rss=$(rss_kb "${PG[$name]}")
  line=$("$PY" "$REPORT" parse "$out" "$name" "$route" "$c" "$expect" "$rss" "$cpu" "$wcpu" "$other" "$REP")
  echo "$line" >>"$TMP/runs.jsonl"
  echo "$line" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); print("   %-8s %-26s c=%-4d %10s req/s  p99 %7.2f ms  cpu: server %3d%% wrk %3d%% other %3d%%%s" % (r["server"], r["route"], r["conns"], "{:,.0f}".format(r["rps"] or 0), r["p99_ms"] or 0, r["cpu_pct"], r["wrk_cpu_pct"], r["other_cpu_pct"], ("  !! " + "; ".join(r["problems"])) if r["problems"] else ""))'
}

: >"$TMP/runs.jsonl"; : >"$TMP/servers.jsonl"
mapfile -t FREE < <("$PY" "$REPORT" freeports 5)
T0=$(date +%s)
STAMP=$(date +%Y%m%d-%H%M%S)
BUSY=$(machine_busy)

say "hearth HTTP benchmark: $(nproc) cores, wrk -t$THREADS, conns: $CONNS, ${DURATION}s runs after ${WARMUP}s warm-up"
if [ "$PIN" = 1 ]; then
  say "every server gets $WORKERS workers/threads pinned to CPU 1, wrk is pinned to CPU 0; access logs are off everywhere"
else
  say "every server gets $WORKERS workers/threads and shares the cores with wrk; access logs are off everywhere"
fi
[ "$BUSY" -gt 15 ] && warn "the machine was ${BUSY}% busy before starting: other processes use the CPU, numbers will be noisy"

SERVERS=()

# ---- hearth -----------------------------------------------------------------
POST_STATUS=""
if [ "$HEARTH" = 1 ]; then
  [ "$HEARTH_BUILD" = 1 ] && say "hearth: make -C $ROOT"
  if [ "$HEARTH_BUILD" = 1 ] && ! make -C "$ROOT" -j2 >"$TMP/make.log" 2>&1; then
    warn "make failed; hearth skipped (HEARTH_BUILD=0 runs ./hearth as it is). Last lines:"
    tail -n 15 "$TMP/make.log" >&2
  elif [ ! -x "$ROOT/hearth" ]; then
    warn "no ./hearth; hearth skipped"
  elif ! "$ROOT/hearth" serve --help 2>&1 | grep -q -- '--port'; then
    warn "./hearth has no 'serve --port' yet; hearth skipped"
  else
    PORT[hearth]=${FREE[0]}; WITH_POST[hearth]=1
    DESC[hearth]="$("$ROOT/hearth" version 2>/dev/null | head -n 1) serve --io-threads $WORKERS (one process, $WORKERS I/O loops)"
    mkdir -p "$TMP/hearth-data"
    # shellcheck disable=SC2086
    start_server hearth "$ROOT/hearth" serve --host 127.0.0.1 --port "${PORT[hearth]}" --io-threads "$WORKERS" \
      --data "$TMP/hearth-data" --access-log off $HEARTH_ARGS
    if wait_ready hearth; then
      POST_STATUS=$(post "${PORT[hearth]}" "$BODY" "$TMP/expected_body")
      say "hearth: ${DESC[hearth]}"
      echo "   the chat body gets $POST_STATUS $(head -c 300 "$TMP/expected_body")"
      case $POST_STATUS in
        400) warn "hearth rejects the benchmark body (400): fix body.json or hearth's schema";;
        401|403) warn "hearth wants a key ($POST_STATUS): set BENCH_AUTH=<key> (and HEARTH_ARGS if needed)";;
        2??) warn "hearth answered $POST_STATUS: it ran the model, so the POST route measures inference, not the HTTP path";;
      esac
      check_server hearth
      SERVERS+=(hearth)
      case $POST_STATUS in 400|401|403|000) POST_STATUS="";; esac
    else
      stop_server hearth
    fi
  fi
fi
if [ -z "$POST_STATUS" ]; then
  POST_STATUS=404; POST_FROM=fallback
  printf '%s' '{"error":{"message":"The model `bench-absent-model` does not exist or you do not have access to it.","type":"invalid_request_error","param":"model","code":"model_not_found"}}' >"$TMP/expected_body"
  say "no answer from hearth to copy: the peers answer the chat body with 404 and an OpenAI-shaped model_not_found error"
fi
POST_FROM=${POST_FROM:-hearth}
export BENCH_POST_STATUS=$POST_STATUS BENCH_POST_BODY_FILE="$TMP/expected_body"

# ---- peers ------------------------------------------------------------------
NODE_V=$(node --version)
i=0
for peer in $PEERS; do
  i=$((i + 1)); port=${FREE[$i]}; PORT[$peer]=$port
  case $peer in
    node)
      DESC[node]="Node.js $NODE_V node:http, node:cluster $WORKERS workers (scheduling $NODE_CLUSTER_SCHED_POLICY), JSON.parse + hand-written validation"
      start_server node env HOST=127.0.0.1 PORT="$port" WORKERS="$WORKERS" node "$HERE/node_server.js"
      WITH_POST[node]=1;;
    fastify)
      fv=$(node -p "require('$ROOT/node_modules/fastify/package.json').version" 2>/dev/null) \
        || { warn "fastify is not installed (npm ci in $ROOT); skipped"; continue; }
      DESC[fastify]="Fastify $fv on Node.js $NODE_V, node:cluster $WORKERS workers (scheduling $NODE_CLUSTER_SCHED_POLICY), logger off, Ajv JSON schema"
      start_server fastify env HOST=127.0.0.1 PORT="$port" WORKERS="$WORKERS" NODE_PATH="$ROOT/node_modules" \
        node "$HERE/fastify_server.js"
      WITH_POST[fastify]=1;;
    fastapi)
      vers=$("$PY" -c 'import fastapi, pydantic, uvicorn, importlib.util as u
print("FastAPI %s, pydantic %s, Uvicorn %s (loop %s, http %s)" % (fastapi.__version__, pydantic.VERSION, uvicorn.__version__,
  "uvloop" if u.find_spec("uvloop") else "asyncio", "httptools" if u.find_spec("httptools") else "h11"))' 2>/dev/null) \
        || { warn "python3-fastapi / python3-uvicorn missing; fastapi skipped"; continue; }
      DESC[fastapi]="$vers, uvicorn --workers $WORKERS --no-access-log, pydantic models"
      start_server fastapi "$PY" -m uvicorn fastapi_app:app --app-dir "$HERE" --host 127.0.0.1 --port "$port" \
        --workers "$WORKERS" --no-access-log --log-level warning
      WITH_POST[fastapi]=1;;
    nginx)
      command -v nginx >/dev/null || { warn "nginx missing; skipped"; continue; }
      mkdir -p "$TMP/nginx"
      cat >"$TMP/nginx/nginx.conf" <<EOF
# written by bench/http/run.sh
worker_processes $WORKERS;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        location = /healthz {
            default_type application/json;
            return 200 '{"status":"ok"}';
        }
    }
}
EOF
      DESC[nginx]="$(nginx -v 2>&1 | sed 's/nginx version: //') worker_processes $WORKERS, 'return 200' on /healthz (no POST route: nginx has no JSON validation)"
      start_server nginx nginx -p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log"
      WITH_POST[nginx]=0;;
  esac
  if ! wait_ready "$peer"; then
    stop_server "$peer"; continue
  fi
  say "$peer: ${DESC[$peer]}"
  check_server "$peer"
  SERVERS+=("$peer")
done

# ---- load: interleaved, every server in turn for each route and conns --------
echo
say "load: ${#SERVERS[@]} servers, each run ${WARMUP}s warm-up + ${DURATION}s measured$([ "$REPEAT" -gt 1 ] && echo ", $REPEAT passes")"
for REP in $(seq "$REPEAT"); do
  for route in get post; do
    for c in $CONNS; do
      for s in "${SERVERS[@]}"; do
        if [ $route = get ]; then
          [ "${GET_OK[$s]}" = 1 ] || continue
        else
          [ "${WITH_POST[$s]}" = 1 ] && [ "${POST_OK[$s]}" = 1 ] || continue
        fi
        bench_one "$s" $route "$c"
      done
    done
  done
done
for s in "${SERVERS[@]}"; do stop_server "$s"; done

# ---- report -----------------------------------------------------------------
"$PY" "$REPORT" obj \
  timestamp "$STAMP" host_cores:json "$(nproc)" kernel "$(uname -r)" machine_busy_pct_before:json "$BUSY" \
  duration_s:json "$DURATION" warmup_s:json "$WARMUP" conns:json "[${CONNS// /,}]" wrk_threads:json "$THREADS" \
  workers_per_server:json "$WORKERS" pinned:json "$PIN" quiet_wait_s:json "$QUIET_WAIT" repeat:json "$REPEAT" wrk "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)" \
  post_status:json "$POST_STATUS" post_from "$POST_FROM" post_body "$(cat "$TMP/expected_body")" \
  request_body "$(cat "$BODY")" elapsed_s:json "$(( $(date +%s) - T0 ))" >"$TMP/meta.json"
mkdir -p "$RESULTS_DIR"
OUT="$RESULTS_DIR/http-$STAMP.json"
echo
"$PY" "$REPORT" table "$TMP/runs.jsonl" "$TMP/meta.json" "$TMP/servers.jsonl" "$OUT"
echo
say "raw results: $OUT ($(( $(date +%s) - T0 )) s)"
