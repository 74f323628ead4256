#!/usr/bin/env bash
# run.sh - the soak test (not in CI): a real mnemod under a steady mixed
# load for MINUTES minutes, sampled every 10 s, so that a leak or a latency
# that creeps up shows as a slope. The goal its numbers are judged against:
# RSS and p99 flat after warm-up, within 1.3x between 10 and 30 minutes.
#
# Usage: bash tests/soak/run.sh MINUTES [--out DIR] [--build-dir DIR] [--no-build]
#                               [--rate N] [--watchers N] [--live N] [--files N]
#   MINUTES      length of the load (30 or more for the 10/30-minute ratio;
#                a fraction such as 0.5 works for a quick check)
#   --out        where everything goes (default BUILD_DIR/soak-out, emptied
#                first): samples.tsv (one row per 10 s window), table.txt,
#                soak.png (RSS and p99 over time), mnemod.log, load.log, and
#                the run's data/ and trees/
#   --build-dir  RelWithDebInfo build tree (default build-soak/ at the
#                repository root); --no-build uses what is built there
#   --rate       memory requests per second (default 400), --watchers
#                WatchSync streams (200), --live memories kept (20000: a
#                store beyond it deletes the oldest), --files of the
#                changing tree (3000; the cancelled full sync's tree has 4x)
#
# The load (tests/soak/soak.h has the details): StoreMemory, GetMemory,
# RetrieveMemory and SearchByTag at the fixed rate; each minute a sync of
# a tree that changed (files modified, added, deleted) and a full sync of
# a larger tree cancelled ~1 s after its start; WatchSync streams re-opened
# whenever they end. mnemod runs with its defaults on 127.0.0.1 (ephemeral
# port) with a fresh data dir. Every 10 s a line: RSS (and its anonymous
# part: the heap; the rest is libraries and LevelDB's mapped tables, page
# cache), what LevelDB's block caches and memtables hold of the heap
# (mnemo_store_memory_bytes from --metrics-listen: fixed costs that fill up
# to 2 x (32 + 2 x 16) MiB at the defaults), fds and threads of mnemod
# (/proc), requests/s, p50/p99 and errors; samples.tsv also has what the
# two search indexes hold (mnemo_index_memory_bytes) and malloc's bytes in
# use and kept free (mnemo_heap_in_use_bytes, _free_bytes). At the end: the table,
# the plot (gnuplot; gnuplot-nox is installed with apt-get when missing),
# and RSS and p99 at 1, 10 and 30 minutes with the 30/10 ratios.
#
# Exit status: 0 when mnemod stayed up, exited 0 on SIGTERM and no request
# failed (other than the CANCELLED the cancelled sync is meant to get);
# 1 otherwise; 2 on a usage error.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
usage() { sed -n '7,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[[ $# -ge 1 && $1 =~ ^[0-9]+([.][0-9]+)?$ ]] || usage
minutes=$1
shift
build_dir=$root/build-soak
out=""
no_build=0
load_args=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --out) out=$2; shift ;;
    --build-dir) build_dir=$2; shift ;;
    --no-build) no_build=1 ;;
    --rate | --watchers | --live | --files) load_args+=("$1" "$2"); shift ;;
    -h | --help) usage ;;
    *) echo "run.sh: unknown argument $1" >&2; usage ;;
    esac
    shift
done
exec </dev/null
out=${out:-$build_dir/soak-out}
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 + 0.5 }')
((seconds >= 10)) || { echo "run.sh: MINUTES must give at least 10 s" >&2; exit 2; }

# ---- gnuplot, the build ----
if ! command -v gnuplot >/dev/null; then
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "run.sh: installing gnuplot-nox for the plot"
    { "${sudo[@]}" apt-get update -qq &&
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null; } ||
        echo "run.sh: gnuplot could not be installed; there will be no plot" >&2
fi
if ((!no_build)); then
    mkdir -p "$build_dir"
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        >"$build_dir/soak-configure.log" 2>&1 ||
        { cat "$build_dir/soak-configure.log" >&2; exit 1; }
    cmake --build "$build_dir" -j "$(nproc)" --target mnemod mnemo_soak >/dev/null ||
        { echo "run.sh: build failed" >&2; exit 1; }
fi
mnemod=$build_dir/server/mnemod
soak=$build_dir/tests/soak/mnemo-soak
for b in "$mnemod" "$soak"; do
    [[ -x $b ]] || { echo "run.sh: $b not built" >&2; exit 1; }
done

# ---- mnemod ----
rm -rf "$out"
mkdir -p "$out/trees"
out=$(cd "$out" && pwd)
# Defaults but for the pause between sync batches: with the changing tree
# synced one file per batch, it spreads the minute's sync over ~30 s, a
# sync the WatchSync streams stay attached to.
# --metrics-listen: the sampler reads LevelDB's share of RSS there.
"$mnemod" --listen 127.0.0.1:0 --data-dir "$out/data" --allow-root "$out/trees" \
    --batch-pause-ms 500 --metrics-listen 127.0.0.1:0 2>"$out/mnemod.log" &
pid=$!
stop_mnemod() { kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; true; }
trap stop_mnemod EXIT
addr=""
for _ in $(seq 600); do
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$out/mnemod.log" | head -n1)
    metrics=$(sed -n 's|.*metrics on http://\([^/]*\)/metrics.*|\1|p' "$out/mnemod.log" | head -n1)
    [[ -n $addr && -n $metrics ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $addr ]]; then
    echo "run.sh: mnemod did not start:" >&2
    cat "$out/mnemod.log" >&2
    exit 1
fi
echo "run.sh: mnemod (pid $pid) on $addr, data in $out/data; load for $minutes min"

# ---- the load ----
load_rc=0
"$soak" --server "$addr" --pid "$pid" --metrics "$metrics" --trees "$out/trees" --corpus "$build_dir/soak-corpus" \
    --tsv "$out/samples.tsv" --seconds "$seconds" "${load_args[@]}" \
    2> >(tee "$out/load.log" >&2) || load_rc=$?
wait_mnemod() { # waits up to $1 s for mnemod to exit; its status in $st ("running": not yet)
    st=running
    for _ in $(seq $(($1 * 10))); do
        if ! kill -0 "$pid" 2>/dev/null; then
            st=0
            wait "$pid" || st=$?
            return
        fi
        sleep 0.1
    done
}
failures=()
if ! kill -0 "$pid" 2>/dev/null; then
    wait_mnemod 1
    failures+=("mnemod crashed during the run (exit status $st); see $out/mnemod.log")
else
    kill -TERM "$pid"
    wait_mnemod 60
    [[ $st == 0 ]] || failures+=("mnemod did not exit 0 on SIGTERM (status: $st)")
fi
case $load_rc in
0) ;;
1) failures+=("requests failed (see 'soak: error' lines in $out/load.log)") ;;
3) ;; # mnemod went away: reported above
*) failures+=("the load generator failed (exit $load_rc)") ;;
esac

# ---- table, plot, summary ----
tsv=$out/samples.tsv
col() { head -n1 "$tsv" | tr '\t' '\n' | grep -nx "$1" | cut -d: -f1; }
if [[ -s $tsv ]] && (($(wc -l <"$tsv") > 1)); then
    {
        awk -F'\t' -v OFS='\t' '
            NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i
                      print "min", "RSS MiB", "anon MiB", "file MiB", "leveldb MiB", "index MiB", "fds", "threads", "req/s",
                            "errors", "p50 ms", "p99 ms", "store p99", "get p99", "retrieve p99", "tags p99",
                            "watching", "syncs"; next }
            { printf "%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
                     $c["t_s"] / 60, $c["rss_mib"], $c["anon_mib"], $c["file_mib"],
                     $c["leveldb_mib"], $c["index_mib"], $c["fds"], $c["threads"], $c["req_per_s"],
                     $c["errors"], $c["p50_ms"], $c["p99_ms"], $c["store_p99"], $c["get_p99"],
                     $c["retrieve_p99"], $c["tags_p99"], $c["watch_open"],
                     $c["tree_syncs"] + $c["big_syncs"] }' "$tsv" | column -t -s $'\t'
    } | tee "$out/table.txt"
    if command -v gnuplot >/dev/null; then
        term="pngcairo size 1100,600"
        gnuplot -e "set terminal pngcairo" 2>/dev/null </dev/null || term="png size 1100,600"
        gnuplot <<EOF 2>"$out/gnuplot.log" || echo "run.sh: gnuplot failed: $(cat "$out/gnuplot.log")" >&2
set terminal $term
set output "$out/soak.png"
set datafile separator "\t"
set title "mnemod soak: $minutes min at $(awk -F'\t' -v k="$(col req_per_s)" 'NR > 1 { s += $k; n++ } END { printf "%.0f", n ? s / n : 0 }' "$tsv") req/s"
set xlabel "minutes"
set ylabel "RSS (MiB)"
set y2label "p99 latency (ms)"
set yrange [0:*]
set y2range [0:*]
set ytics nomirror
set y2tics
set grid
set key top left
plot "$tsv" skip 1 using (\$1/60):$(col rss_mib) with linespoints lw 2 title "mnemod RSS (MiB)" axes x1y1, \
     "" skip 1 using (\$1/60):$(col anon_mib) with lines lw 2 title "RssAnon: heap and stacks (MiB)" axes x1y1, \
     "" skip 1 using (\$1/60):$(col leveldb_mib) with lines title "of which LevelDB caches and memtables (MiB)" axes x1y1, \
     "" skip 1 using (\$1/60):$(col index_mib) with lines title "of which search indexes (MiB)" axes x1y1, \
     "" skip 1 using (\$1/60):$(col p99_ms) with lines lw 2 title "p99, all memory requests (ms)" axes x1y2, \
     "" skip 1 using (\$1/60):$(col retrieve_p99) with lines title "p99, RetrieveMemory (ms)" axes x1y2
EOF
        [[ -s $out/soak.png ]] && echo "plot: $out/soak.png"
    fi
    echo
    # RSS: the last sample of the minute ending at the mark; p99: the median
    # of that minute's six window p99s (one window's p99 is a handful of
    # requests, so a single slow one moves it).
    awk -F'\t' '
        NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
        { t = $c["t_s"]; m = int((t - 1) / 60) + 1; rss[m] = $c["rss_mib"]; anon[m] = $c["anon_mib"]
          own[m] = $c["anon_mib"] - $c["leveldb_mib"]
          n[m]++; p[m, n[m]] = $c["p99_ms"]; if (m > maxm) maxm = m; err += $c["errors"]
          endt = t }
        function median(m,   k, i, j, tmp, v) {
            k = n[m]; for (i = 1; i <= k; i++) v[i] = p[m, i]
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
                if (v[j] < v[i]) { tmp = v[i]; v[i] = v[j]; v[j] = tmp }
            return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2 }
        function show(label, m) {
            printf "  %-14s RSS %8.1f MiB (anon %7.1f, anon less LevelDB %7.1f)   p99 %8.2f ms\n",
                   label, rss[m], anon[m], own[m], median(m) }
        END {
            if (maxm < 1) exit
            print "summary (RSS: end of the minute; p99: median of its 10-s windows):"
            if (endt >= 60) show("1 min", 1)
            if (endt >= 600) show("10 min", 10)
            if (endt >= 1800) show("30 min", 30)
            if (endt != 60 && endt != 600 && endt != 1800)
                show(sprintf("end (%.4g min)", endt / 60), maxm)
            if (endt >= 1800) { a = 30; label = "30-min/10-min" }
            else if (endt > 600) { a = maxm; label = "end/10-min" }
            if (a) printf "  ratio %s:  RSS %.2fx (anon %.2fx, anon less LevelDB %.2fx)   p99 %.2fx   (goal: both within 1.3x)\n",
                          label, rss[a] / rss[10], anon[a] / anon[10], own[a] / own[10],
                          median(a) / median(10)
            else print "  ratio 30-min/10-min: n/a (the run is shorter than 11 minutes)"
            printf "  errors in the windows: %d\n", err }' "$tsv" | tee -a "$out/table.txt"
fi
grep -h '^\[.*soak: [0-9]* requests' "$out/load.log" | sed 's/^\[[^]]*\] soak: /load: /' || true

if [[ ${#failures[@]} -gt 0 ]]; then
    for f in "${failures[@]}"; do echo "run.sh: FAIL: $f" >&2; done
    exit 1
fi
echo "run.sh: OK (everything is in $out)"
