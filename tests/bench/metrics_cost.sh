#!/usr/bin/env bash
# metrics_cost.sh - what counting calls for Prometheus costs: GetMemory
# throughput of a mnemod with --metrics-listen against one without, the
# same memory, h2load -t1 -c4 -m10 (figure 3's load), interleaved.
#
# Usage: bash tests/bench/metrics_cost.sh [--build-dir DIR] [--rounds N]
#                                         [--seconds S]
#   --build-dir  a built tree with server/mnemod and client/mnemo
#                (default: build/ at the repository root)
#   --rounds     rounds of one run on each mnemod, the order alternating
#                (default 7)
#   --seconds    measured seconds of each run, after 1 s of warm-up
#                (default 4)
# Prints each round's req/s and ratio (with metrics / without) and the
# median ratio; the goal is >= 0.97 (a cost of at most 3 %). The metrics
# mnemod is scraped once under load (a scrape is part of the cost) and at
# the end, where grpc_server_handled_total{GetMemory,OK} must have counted
# every request h2load saw succeed. Needs h2load (nghttp2-client). Exit 0
# when every run succeeded (whatever the ratio), 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$root/build
rounds=7
seconds=4
while [[ $# -gt 0 ]]; do
    case $1 in
    --build-dir) build=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --seconds) seconds=$2; shift ;;
    -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "metrics_cost.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
mnemod=$build/server/mnemod
mnemo=$build/client/mnemo
command -v h2load >/dev/null || { echo "metrics_cost.sh: h2load missing (apt-get install nghttp2-client)" >&2; exit 1; }
[[ -x $mnemod && -x $mnemo ]] || { echo "metrics_cost.sh: build $mnemod and $mnemo first" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME ARGS...: mnemod on 127.0.0.1:0; sets addr_NAME (and the
# metrics address when asked for).
start() {
    local name=$1; shift
    "$mnemod" --listen 127.0.0.1:0 --data-dir "$work/$name" "$@" 2>"$work/$name.log" &
    pids+=($!)
    for _ in $(seq 100); do
        grep -q 'listening on' "$work/$name.log" && break
        sleep 0.1
    done
    printf -v "addr_$name" '%s' "$(sed -n 's/.*listening on \([^ ]*:[0-9]*\).*/\1/p' "$work/$name.log" | head -n1)"
}
start plain
start metrics --metrics-listen 127.0.0.1:0
metrics_addr=$(sed -n 's|.*metrics on http://\([^/]*\)/metrics.*|\1|p' "$work/metrics.log" | head -n1)

# The same memory in both; the request GetMemory{id} framed for gRPC.
content="the metrics cost benchmark reads this memory again and again"
id=$("$mnemo" --server "$addr_plain" store "$content" | grep -o '[0-9a-f]\{64\}' | head -n1)
"$mnemo" --server "$addr_metrics" store "$content" >/dev/null
"$mnemo" --server "$addr_metrics" get "$id" >/dev/null # grpc-status OK, not just HTTP 200
printf '\x00\x00\x00\x00\x42\x0a\x40%s' "$id" >"$work/get.grpc"

# qps ADDR: one run; sets rate (req/s) and ok (requests that succeeded),
# fails on any failed request.
qps() {
    local out
    out=$(h2load -t1 -c4 -m10 -D "$seconds" --warm-up-time 1 -H 'content-type: application/grpc' \
        -H 'te: trailers' -d "$work/get.grpc" "http://$1/mnemo.v1.MemoryService/GetMemory")
    grep -q ' 0 failed, 0 errored' <<<"$out" || { echo "$out" >&2; return 1; }
    ok=$(sed -n 's/.* \([0-9]*\) succeeded.*/\1/p' <<<"$out")
    rate=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
}

echo "round  without-metrics  with-metrics  ratio"
ratios=()
succeeded=0
for r in $(seq "$rounds"); do
    for side in $( ((r % 2)) && echo "plain metrics" || echo "metrics plain"); do
        if [[ $side == plain ]]; then
            qps "$addr_plain"; a=$rate
        else
            qps "$addr_metrics"; b=$rate; succeeded=$((succeeded + ok))
        fi
    done
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b / a }')
    ratios+=("$ratio")
    printf '%5d  %15.0f  %12.0f  %s\n' "$r" "$a" "$b" "$ratio"
    ((r == 1)) && curl -s "http://$metrics_addr/metrics" >/dev/null # a scrape during the run
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo "median ratio (with/without --metrics-listen): $median (goal >= 0.97)"

label='grpc_method="GetMemory",grpc_code="OK"'
counted=$(curl -s "http://$metrics_addr/metrics" | grep '^grpc_server_handled_total{' | grep "$label" | awk '{ print $2 }')
echo "GetMemory OK counted: $counted (h2load's succeeded: $succeeded, plus warm-up and the CLI's get)"
((counted >= succeeded)) || { echo "metrics_cost.sh: fewer calls counted than made" >&2; exit 1; }
