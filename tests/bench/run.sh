#!/usr/bin/env bash
# run.sh - the mnemo benchmark in one command: installs the baselines,
# builds mnemo in Release with the benchmark programs, runs every figure
# (mnemo and its baseline alternating inside each round) and prints one
# table: figure | mnemo | baseline | ratio | target | met?.
#
# Usage: bash tests/bench/run.sh [--smoke] [--build-dir DIR] [--no-build]
#                                [--code-path DIR] [--only FIGURE]...
#   (default)    all changelog entries, /usr/include, several rounds; needs
#                root (or sudo) for apt the first time; about 7 minutes on 2 cores.
#   --smoke      300 entries, /usr/include/linux/netfilter, one round, short
#                durations; installs nothing, skips baselines whose packages
#                are missing. ctest runs it (label bench-smoke).
#   --build-dir  build tree (default: build-bench/ at the repository root).
#   --no-build   use the programs already built in the build tree.
#   --only       run only this figure (store, retrieve, unary, code,
#                during-sync; repeatable) after the corpus; the table then
#                says "not measured" for the rows of the others.
# Everything the run writes goes under BUILD_DIR/bench-work (or
# bench-smoke-work): results.txt (raw RESULT lines), bench.log, table.md.
# Exit status: 0 when every figure ran (targets may be missed), 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
smoke=0
no_build=0
build_dir=$root/build-bench
code_path=""
only=()
while [[ $# -gt 0 ]]; do
    case $1 in
    --smoke) smoke=1 ;;
    --no-build) no_build=1 ;;
    --build-dir) build_dir=$2; shift ;;
    --code-path) code_path=$2; shift ;;
    --only) only+=("$2"); shift ;;
    -h | --help) sed -n '2,24p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
exec </dev/null
start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

if ((smoke)); then
    work=$build_dir/bench-smoke-work
    if [[ -z $code_path ]]; then
        for d in /usr/include/linux/netfilter /usr/include/netinet /usr/include/arpa; do
            [[ -d $d ]] && { code_path=$d; break; }
        done
    fi
    corpus_args=(--max-entries 300)
    store_args=(--rounds 1 --seconds 0.5)
    retr_args=(--rounds 1 --passes 1)
    unary_args=(--rounds 1)
    code_args=(--rounds 1 --passes 1)
    during_args=(--rounds 1)
else
    work=$build_dir/bench-work
    code_path=${code_path:-/usr/include}
    corpus_args=()
    store_args=(--rounds 5 --seconds 2)
    retr_args=(--rounds 5 --passes 3)
    unary_args=(--rounds 3)
    code_args=(--rounds 3 --passes 5)
    during_args=(--rounds 2)
fi
code_path=$(realpath "$code_path")

# ---- packages (full run only) ----
install_packages() {
    bash "$root/cmake/install-deps.sh"
    local pkgs=(libsqlite3-dev codesearch nghttp2-client libgrpc++-dev libprotobuf-dev
                protobuf-compiler protobuf-compiler-grpc g++ python3)
    local missing=()
    for p in "${pkgs[@]}"; do
        [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true) == "install ok installed" ]] ||
            missing+=("$p")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        echo "run.sh: benchmark packages already installed"
        return
    fi
    local sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    echo "run.sh: installing ${missing[*]}"
    "${sudo[@]}" apt-get update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${missing[@]}"
}

# ---- build ----
build() {
    mkdir -p "$build_dir"
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DMNEMO_BENCH=ON \
        >"$build_dir/bench-configure.log" 2>&1 ||
        { cat "$build_dir/bench-configure.log"; return 1; }
    cmake --build "$build_dir" -j "$(nproc)" --target bench_all
}

if ((!smoke)); then
    install_packages
fi
if ((!no_build)); then
    mkdir -p "$build_dir"
    build
fi

bench=$build_dir/tests/bench/mnemo-bench
cpp=$build_dir/tests/bench/mnemo-bench-cpp-server
if [[ ! -x $bench ]]; then
    echo "run.sh: $bench not built" >&2
    exit 1
fi
rm -rf "$work"
mkdir -p "$work"
results=$work/results.txt
log=$work/bench.log
: >"$results"

failed=()
figure() { # figure NAME ARGS...: one subcommand; RESULT lines to $results
    local name=$1
    shift
    if [[ ${#only[@]} -gt 0 && $name != corpus && " ${only[*]} " != *" $name "* ]]; then
        return
    fi
    echo "=== $name" | tee -a "$log" >&2
    if ! "$bench" "$name" --work "$work" "$@" >>"$results" 2> >(tee -a "$log" >&2); then
        failed+=("$name")
    fi
}

cpp_args=()
[[ -x $cpp ]] && cpp_args=(--cpp-server "$cpp")
smoke_flag=()
((smoke)) && smoke_flag=(--smoke)

figure corpus "${corpus_args[@]}"
figure store "${store_args[@]}" "${smoke_flag[@]}"
figure retrieve "${retr_args[@]}" "${smoke_flag[@]}"
figure unary "${unary_args[@]}" "${cpp_args[@]}" "${smoke_flag[@]}"
figure code --path "$code_path" "${code_args[@]}" "${smoke_flag[@]}"
figure during-sync --path "$code_path" "${during_args[@]}" "${smoke_flag[@]}"
wait

elapsed=$(($(date +%s) - start))
{
    echo
    ((smoke)) && echo "SMOKE RUN (tiny corpus, one round): checks the harness, not the numbers"
    python3 "$root/tests/bench/table.py" "$results"
    echo
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')," \
        "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)," \
        "$(. /etc/os-release && echo "$PRETTY_NAME")"
    echo "load average (1/5/15 min) at start: $load_start, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "command: bash tests/bench/run.sh$( ((smoke)) && echo ' --smoke')${only[*]/#/ --only };" \
        "code: $code_path;" \
        "wall time ${elapsed} s"
} | tee "$work/table.md"

rm -rf "$work"/mem-mnemo "$work"/*.sqlite* "$work"/corpus
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "run.sh: FAILED figures: ${failed[*]} (see $log)" >&2
    exit 1
fi
