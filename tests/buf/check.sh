#!/usr/bin/env bash
# check.sh - buf lint and buf breaking over proto/, the checks that keep
# mnemo's contract to the protobuf ecosystem's rules (proto/buf.yaml says
# which rules and why).
#
# Usage: bash tests/buf/check.sh MODE [TOOLS_DIR]
#   setup     npm ci the pinned buf (tests/buf/package-lock.json) into
#             TOOLS_DIR; nothing to do when it is there already, so re-runs
#             need no network (the first run needs the npm registry, or
#             npm's cache)
#   lint      buf lint proto/
#   breaking  first proves the check bites (the selftest below), then buf
#             breaking proto/ against the previous commit's proto/ and
#             against the latest release tag v*; a base that does not exist
#             here (a shallow clone, the first commit, no tag yet) is
#             skipped with a message, and when every base is skipped the
#             exit status is 77 (ctest: skipped)
#   selftest  breaks a copy of proto/ on purpose (a renamed field, a
#             renumbered tag, a changed type, a renamed RPC, a removed enum
#             value) and fails unless buf breaking reports each with the
#             expected rule; an added field and changed comments must pass
#
# TOOLS_DIR (default build/buf-tools) holds node_modules/.bin/buf; BUF=PATH
# uses another buf binary instead. MNEMO_BUF_BASE=REF compares against that
# git ref instead of HEAD~1 (say, a pull request's target branch).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../.." && pwd)
mode=${1:-}
tools=${2:-$src/build/buf-tools}

die() {
    echo "buf check: $*" >&2
    exit 1
}

setup() {
    local lock="$here/package-lock.json"
    if [[ -x "$tools/node_modules/.bin/buf" ]] && cmp -s "$lock" "$tools/.installed-lock"; then
        echo "buf check: buf $("$tools/node_modules/.bin/buf" --version) already in $tools"
        return
    fi
    command -v npm >/dev/null 2>&1 ||
        die "npm not found; bash cmake/install-deps.sh installs nodejs and npm"
    rm -rf "$tools"
    mkdir -p "$tools"
    cp "$here/package.json" "$lock" "$tools/"
    # --ignore-scripts: the package's postinstall only optimises its launcher.
    (cd "$tools" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline) ||
        die "npm ci failed in $tools (the first run needs the npm registry or npm's cache)"
    cp "$lock" "$tools/.installed-lock"
    echo "buf check: installed buf $("$tools/node_modules/.bin/buf" --version) in $tools"
}

buf_bin() {
    if [[ -n "${BUF:-}" ]]; then
        echo "$BUF"
    elif [[ -x "$tools/node_modules/.bin/buf" ]]; then
        echo "$tools/node_modules/.bin/buf"
    else
        die "no buf in $tools: run 'bash tests/buf/check.sh setup $tools' first"
    fi
}

# Extracts proto/ of git ref $1 into directory $2; false when the tree has
# no proto/.
extract() {
    mkdir -p "$2"
    git -C "$src" archive "$1" proto | tar -x -C "$2" 2>/dev/null
}

# breaking_against LABEL REF: buf breaking of the working tree's proto/
# against proto/ at REF. Returns 0 (no break), 1 (breaks) or 2 (skipped).
breaking_against() {
    local label=$1 ref=$2 base
    base=$(mktemp -d)
    if ! extract "$ref" "$base" || [[ ! -d "$base/proto/mnemo" ]]; then
        echo "buf check: breaking vs $label ($ref): skipped, it has no proto/mnemo/"
        rm -rf "$base"
        return 2
    fi
    local rc=0
    (cd "$src" && "$buf" breaking proto --against "$base/proto") || rc=$?
    rm -rf "$base"
    if ((rc == 0)); then
        echo "buf check: breaking vs $label ($ref): no breaking change"
        return 0
    fi
    echo "buf check: breaking vs $label ($ref): BREAKING CHANGES above (buf exit $rc)" >&2
    return 1
}

# Sets prev_ref to the base for "the previous commit": MNEMO_BUF_BASE, or
# HEAD~1 when the clone has it; leaves it empty and says why otherwise.
previous_ref() {
    prev_ref=
    if [[ -n "${MNEMO_BUF_BASE:-}" ]]; then
        git -C "$src" rev-parse -q --verify "${MNEMO_BUF_BASE}^{commit}" >/dev/null ||
            die "MNEMO_BUF_BASE=$MNEMO_BUF_BASE is not a commit here"
        prev_ref=$MNEMO_BUF_BASE
    elif git -C "$src" rev-parse -q --verify "HEAD~1^{commit}" >/dev/null; then
        prev_ref=HEAD~1
    elif [[ $(git -C "$src" rev-parse --is-shallow-repository) == true ]]; then
        echo "buf check: breaking vs previous commit: skipped, this is a shallow clone" \
            "without HEAD~1 (git fetch --deepen=1, or clone with --depth 2 or more)"
    else
        echo "buf check: breaking vs previous commit: skipped, HEAD is the first commit"
    fi
}

breaking() {
    selftest
    if ! git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        echo "buf check: breaking: skipped, $src is not a git checkout (no base to compare with)"
        exit 77
    fi
    local checked=0 failed=0 rc tag
    previous_ref
    if [[ -n "$prev_ref" ]]; then
        rc=0
        breaking_against "previous commit" "$prev_ref" || rc=$?
        ((rc == 0)) && checked=$((checked + 1))
        ((rc == 1)) && failed=1
    fi
    # The newest release by version order, not by date.
    tag=$(git -C "$src" tag --list 'v*' --sort=-version:refname | head -n 1)
    if [[ -n "$tag" ]]; then
        rc=0
        breaking_against "latest release" "$tag" || rc=$?
        ((rc == 0)) && checked=$((checked + 1))
        ((rc == 1)) && failed=1
    else
        echo "buf check: breaking vs latest release: skipped, no v* tag in this clone yet"
    fi
    ((failed == 0)) || exit 1
    if ((checked == 0)); then
        echo "buf check: breaking: nothing to compare with (see above)"
        exit 77
    fi
}

# expect_break NAME FILE SED RULE: applies SED to FILE in a fresh copy of
# proto/ and checks that buf breaking reports RULE against the original.
expect_break() {
    local name=$1 file=$2 script=$3 rule=$4 dir out rc=0
    dir=$(mktemp -d)
    cp -R "$src/proto" "$dir/base"
    cp -R "$src/proto" "$dir/changed"
    sed -i -e "$script" "$dir/changed/$file"
    if cmp -s "$dir/base/$file" "$dir/changed/$file"; then
        rm -rf "$dir"
        die "selftest '$name': '$script' changed nothing in $file; update the selftest"
    fi
    out=$(cd "$dir" && "$buf" breaking changed --against base --error-format json 2>&1) || rc=$?
    rm -rf "$dir"
    if [[ -z "$rule" ]]; then
        ((rc == 0)) || die "selftest '$name': buf breaking reported a compatible change: $out"
        echo "buf check: selftest '$name': passes, as it should"
    elif ((rc == 0)); then
        die "selftest '$name': buf breaking did not notice it (is breaking.use still FILE?)"
    elif ! grep -q "\"type\":\"$rule\"" <<<"$out"; then
        die "selftest '$name': expected $rule, buf said: $out"
    else
        echo "buf check: selftest '$name': caught ($rule)"
    fi
}

selftest() {
    local m=mnemo/v1/memory.proto r=mnemo/v1/repository.proto
    expect_break "field renamed" $m 's/^  string content = 1;/  string text = 1;/' FIELD_SAME_NAME
    expect_break "tag renumbered" $m 's/^  int64 created_at_ms = 6;/  int64 created_at_ms = 16;/' \
        FIELD_NO_DELETE
    expect_break "type changed" $m 's/^  bool match_all = 2;/  int32 match_all = 2;/' FIELD_SAME_TYPE
    expect_break "RPC renamed" $r 's/^  rpc CancelSync(/  rpc StopSync(/' RPC_NO_DELETE
    expect_break "enum value removed" $r '/^  SYNC_STATE_INTERRUPTED = 6;/d' ENUM_VALUE_NO_DELETE
    expect_break "go_package changed" $m 's|^option go_package = "|option go_package = "x/|' \
        FILE_SAME_GO_PACKAGE
    expect_break "field added" $m 's/^  int64 updated_at_ms = 7;/&\n  string note = 8;/' ""
    expect_break "comments changed" $r 's|^  // Best first\.$|  // Ranked, best first.|' ""
}

case "$mode" in
setup) setup ;;
lint)
    buf=$(buf_bin)
    (cd "$src" && "$buf" lint proto) || die "lint: see above (proto/buf.yaml lists the rules)"
    echo "buf check: lint: proto/ is clean"
    ;;
breaking)
    buf=$(buf_bin)
    breaking
    ;;
selftest)
    buf=$(buf_bin)
    selftest
    ;;
*)
    echo "usage: bash tests/buf/check.sh setup|lint|breaking|selftest [TOOLS_DIR]" >&2
    exit 2
    ;;
esac
