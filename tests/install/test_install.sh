#!/usr/bin/env bash
# test_install.sh - install.consumer: libmnemo installed like a real C
# library, used the two ways a C project uses one.
#
# DESIGN: `cmake --install` of this build tree into a temporary prefix;
# then checks of what landed there (headers under include/mnemo/ only, none
# of them including a gRPC header, no test header, mnemo.pc, the CMake
# package; for a shared libmnemo, its dynamic symbols), and consumer.c built
# from the prefix alone, (a) with cc and pkg-config, (b) as a CMake project
# with find_package(mnemo), each run and its output compared. The consumer
# is compiled with the flags every target of the build gets (COMPILE_FLAGS):
# under MNEMO_SANITIZE those are the sanitizers', which a program linking an
# instrumented static libmnemo needs too. The prefix is removed at the end,
# kept with MNEMO_TEST_KEEP=1.
#
# usage: test_install.sh BUILD_DIR SOURCE_DIR LIBDIR VERSION CC CMAKE "COMPILE_FLAGS"
set -euo pipefail

if [[ $# -ne 7 ]]; then
    echo "usage: $0 BUILD_DIR SOURCE_DIR LIBDIR VERSION CC CMAKE COMPILE_FLAGS" >&2
    exit 2
fi
build_dir=$1 source_dir=$2 libdir=$3 version=$4 cc=$5 cmake=$6
read -r -a flags <<<"$7"

work=$(mktemp -d "${TMPDIR:-/tmp}/mnemo-install.XXXXXX")
if [[ "${MNEMO_TEST_KEEP:-0}" == "1" ]]; then
    echo "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi
prefix=$work/prefix
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

step() {
    echo "--- $*"
}

expected="NOT_FOUND mnemo.v1.GetMemoryRequest 5 SERVING unreachable"

# check_run NAME BINARY: runs a consumer and compares its line.
check_run() {
    local out
    if ! out=$("$2" 2>&1); then
        fail "$1: exited non-zero: $out"
    elif [[ "$out" != "$expected" ]]; then
        fail "$1: printed '$out', expected '$expected'"
    else
        echo "$1: $out"
    fi
}

step "cmake --install $build_dir --prefix $prefix"
"$cmake" --install "$build_dir" --prefix "$prefix" >"$work/install.log" ||
    {
        cat "$work/install.log" >&2
        exit 1
    }

step "what was installed"
if [[ -e "$prefix/include/grpc" ]]; then
    fail "something was installed under include/grpc: $(find "$prefix/include/grpc" -type f)"
fi
others=$(find "$prefix/include" -mindepth 1 -maxdepth 1 ! -name mnemo)
if [[ -n "$others" ]]; then
    fail "installed outside include/mnemo: $others"
fi
for h in mnemo/client.h mnemo/codes.h mnemo/v1/memory.pb-c.h mnemo/v1/repository.pb-c.h; do
    [[ -f "$prefix/include/$h" ]] || fail "include/$h is not installed"
done
if [[ -n $(find "$prefix/include" -name 'client_testing.h') ]]; then
    fail "client_testing.h was installed"
fi
grpc_includes=$(grep -rn '#include.*grpc' "$prefix/include" || true)
if [[ -n "$grpc_includes" ]]; then
    fail "an installed header includes a gRPC header: $grpc_includes"
fi
pc_dir=$prefix/$libdir/pkgconfig
[[ -f "$pc_dir/mnemo.pc" ]] || fail "$libdir/pkgconfig/mnemo.pc is not installed"
[[ -f "$prefix/$libdir/cmake/mnemo/mnemoConfig.cmake" ]] ||
    fail "$libdir/cmake/mnemo/mnemoConfig.cmake is not installed"

shared=$(find "$prefix/$libdir" -maxdepth 1 -name 'libmnemo.so.*' -type f | head -n 1)
if [[ -n "$shared" ]]; then
    step "dynamic symbols of $(basename "$shared")"
    symbols=$(nm -D --defined-only "$shared" | awk '{print $3}')
    echo "$(wc -l <<<"$symbols") symbols"
    stray=$(grep -Ev '^(mnemo_client_|mnemo_stream_|mnemo__v1__)' <<<"$symbols" || true)
    [[ -z "$stray" ]] || fail "exported beyond the API: $(tr '\n' ' ' <<<"$stray")"
    for s in mnemo_client_open mnemo_client_code_name mnemo__v1__memory__descriptor \
        mnemo__v1__get_memory_request__free_unpacked; do
        grep -qx "$s" <<<"$symbols" || fail "$s is not exported"
    done
else
    [[ -f "$prefix/$libdir/libmnemo.a" ]] || fail "neither libmnemo.so nor libmnemo.a installed"
    echo "static libmnemo: no dynamic symbols to check"
fi

step "(a) cc with pkg-config"
export PKG_CONFIG_PATH=$pc_dir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
pc_version=$(pkg-config --modversion mnemo) || fail "pkg-config does not find mnemo"
[[ "${pc_version:-}" == "$version" ]] || fail "pkg-config: version '${pc_version:-}', expected $version"
# --static as well: it must work whether libmnemo is static or shared.
for mode in "" --static; do
    read -r -a pc_flags <<<"$(pkg-config $mode --cflags --libs mnemo)"
    echo "pkg-config $mode --cflags --libs mnemo: ${pc_flags[*]:0:4} ..."
    bin=$work/consumer_pc${mode:+_static}
    if "$cc" "${flags[@]}" -o "$bin" "$source_dir/consumer.c" "${pc_flags[@]}"; then
        # A shared libmnemo lives in the prefix, not on the loader's path.
        LD_LIBRARY_PATH=$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
            check_run "pkg-config $mode" "$bin"
    else
        fail "cc with pkg-config $mode failed"
    fi
done

step "(b) CMake with find_package(mnemo)"
cm_build=$work/cmake_consumer
if "$cmake" -S "$source_dir/cmake_consumer" -B "$cm_build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${flags[*]}" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DMNEMO_VERSION="$version" \
    >"$work/cmake_consumer.log" 2>&1 &&
    "$cmake" --build "$cm_build" >>"$work/cmake_consumer.log" 2>&1; then
    found=$(sed -n 's/^mnemo_DIR:PATH=//p' "$cm_build/CMakeCache.txt")
    [[ "$found" == "$prefix/"* ]] || fail "find_package found mnemo in '$found', not in $prefix"
    # A shared libmnemo: CMake puts its directory in the consumer's RPATH.
    check_run "find_package" "$cm_build/consumer"
else
    cat "$work/cmake_consumer.log" >&2
    fail "the CMake consumer did not configure or build"
fi

if [[ $failures -ne 0 ]]; then
    echo "install.consumer: $failures failure(s)" >&2
    exit 1
fi
echo "install.consumer: OK"
