#!/usr/bin/env python3
"""table.py - turns mnemo-bench's RESULT/SKIP lines into the one table.

For each row: mnemo and baseline are the medians over rounds (min-max in
parentheses when there was more than one round); the ratio is the median of
the per-round ratios mnemo/baseline (each round ran both sides back to back);
the target is checked on that ratio, or on mnemo's median for absolute
targets. Usage: table.py RESULTS_FILE  (prints Markdown on stdout; exit 0).
"""
import statistics
import sys

# key, figure label, baseline label, target kind, target value.
# kinds: ge/le = ratio >= / <= value; abs_le = mnemo median <= value;
# plus_le = mnemo median <= baseline median + value; None = no target.
ROWS = [
    ("store_c1", "1. StoreMemory durable, 1 client thread (ops/s)", "FTS5, 1 doc/txn", None, None),
    ("store_c16", "1. StoreMemory durable, 16 client threads (ops/s)", "FTS5, 1 doc/txn", "ge", 2.0),
    ("retr_inproc_p50", "2. RetrieveMemory in-process p50 (ms)", "FTS5 OR-query", "le", 1.0),
    ("retr_inproc_p99", "2. RetrieveMemory in-process p99 (ms)", "FTS5 OR-query", "le", 1.0),
    ("retr_e2e_p50", "2. RetrieveMemory end-to-end p50 (ms)", "FTS5 in-process", "abs_le", 1.0),
    ("retr_e2e_p99", "2. RetrieveMemory end-to-end p99 (ms)", "FTS5 in-process", None, None),
    ("unary_get_c4m10", "3. GetMemory QPS, h2load -c4 -m10", "C++ grpc server", "ge", 0.8),
    ("unary_get_c1m1", "3. GetMemory QPS, h2load -c1 -m1", "C++ grpc server", None, None),
    ("unary_health_c4m10", "3. Health/Check QPS, h2load -c4 -m10", "C++ grpc server", "ge", 1.0),
    ("unary_health_c1m1", "3. Health/Check QPS, h2load -c1 -m1", "C++ grpc server", None, None),
    ("unary_get_tls_c4m10", "3. GetMemory QPS over TLS, h2load -c4 -m10", "same mnemod, plaintext",
     None, None),
    ("unary_get_tls_c1m1", "3. GetMemory QPS over TLS, h2load -c1 -m1", "same mnemod, plaintext",
     None, None),
    ("unary_get_token_c4m10", "3. GetMemory QPS with a bearer token checked, h2load -c4 -m10",
     "mnemod without tokens", None, None),
    ("unary_get_token_c1m1", "3. GetMemory QPS with a bearer token checked, h2load -c1 -m1",
     "mnemod without tokens", None, None),
    ("sync_mbps", "4. full sync (MiB/s of input)", "FTS5 chunk insert", "ge", 1.0),
    ("sync_mbps_ci", "4. full sync (MiB/s of input), stretch", "cindex", "ge", 0.5),
    ("sync_files", "4. full sync (files/s)", "FTS5 chunk insert", None, None),
    ("sync_files_ci", "4. full sync (files/s)", "cindex", None, None),
    ("disk_mib", "4. on-disk size after full sync (MiB)", "FTS5 database", "le", 1.0),
    ("rss_mib", "4. mnemod peak RSS, VmHWM (MiB)", None, "abs_le", 256.0),
    ("resync_pct", "5. no-change re-sync (% of full sync time)", None, "abs_le", 5.0),
    ("search_p50", "6. SearchCode end-to-end p50 (ms)", "FTS5 in-process", "plus_le", 1.0),
    ("search_p99", "6. SearchCode end-to-end p99 (ms)", "FTS5 in-process", None, None),
    ("search_cs_p50", "6. SearchCode end-to-end p50 (ms)", "csearch, 1 process/query", "le", 0.25),
    ("search_cs_p99", "6. SearchCode end-to-end p99 (ms)", "csearch, 1 process/query", None, None),
    ("during_retr_p99", "7. RetrieveMemory p99 during full sync (ms)", "same, idle", "le", 2.0),
    ("during_store_p99", "7. StoreMemory p99 during full sync (ms)", "same, idle", "le", 2.0),
    ("watched_retr_p99", "7. RetrieveMemory p99, full re-sync with 1,000 WatchSync streams (ms)",
     "same re-sync, no watchers", "le", 2.0),
    ("watched_store_p99", "7. StoreMemory p99, full re-sync with 1,000 WatchSync streams (ms)",
     "same re-sync, no watchers", "le", 2.0),
]


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def cell(values):
    if not values:
        return None, "-"
    med = statistics.median(values)
    if len(values) == 1:
        return med, fmt(med)
    return med, f"{fmt(med)} ({fmt(min(values))}–{fmt(max(values))})"


def target_text(kind, value, unit_hint):
    if kind is None:
        return "-"
    if kind == "ge":
        return f"ratio ≥ {value:g}"
    if kind == "le":
        return f"ratio ≤ {value:g}"
    if kind == "abs_le":
        return f"≤ {value:g}{unit_hint}"
    return f"≤ baseline + {value:g} ms"


def main():
    data = {}   # (row, side) -> {round: value}
    skips = {}  # row -> reason (baseline only)
    skip_all = {}
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 5 and parts[0] == "RESULT":
                _, row, side, rnd, value = parts
                data.setdefault((row, side), {})[int(rnd)] = float(value)
            elif len(parts) >= 3 and parts[0] == "SKIP":
                skips[parts[1]] = " ".join(parts[2:])
            elif len(parts) >= 3 and parts[0] == "SKIP-ALL":
                skip_all[parts[1]] = " ".join(parts[2:])

    print("| figure | mnemo | baseline | ratio | target | met? |")
    print("|---|---|---|---|---|---|")
    met = missed = 0
    for key, label, base_label, kind, tval in ROWS:
        m = data.get((key, "mnemo"), {})
        b = data.get((key, "base"), {})
        m_med, m_txt = cell(list(m.values()))
        b_med, b_txt = cell(list(b.values()))
        ratios = [m[r] / b[r] for r in m if r in b and b[r] != 0]
        ratio = statistics.median(ratios) if ratios else None
        if base_label is not None:
            b_txt = f"{b_txt} [{base_label}]" if b else f"skipped: {skips.get(key, 'not measured')}"
        unit = " %" if key == "resync_pct" else (" MiB" if key == "rss_mib" else " ms")
        verdict = "-"
        if key in skip_all:
            m_txt, b_txt, verdict = f"skipped: {skip_all[key]}", "-", "skipped"
        elif kind in ("ge", "le"):
            if ratio is None:
                verdict = "skipped" if m else "not measured"
            else:
                ok = ratio >= tval if kind == "ge" else ratio <= tval
                verdict = "yes" if ok else "**NO**"
        elif kind == "abs_le":
            verdict = "not measured" if m_med is None else ("yes" if m_med <= tval else "**NO**")
        elif kind == "plus_le":
            if m_med is None or b_med is None:
                verdict = "skipped" if m else "not measured"
            else:
                verdict = "yes" if m_med <= b_med + tval else "**NO**"
        met += verdict == "yes"
        missed += verdict == "**NO**"
        print(f"| {label} | {m_txt} | {b_txt} | {fmt(ratio) if ratio is not None else '-'} "
              f"| {target_text(kind, tval, unit)} | {verdict} |")
    print()
    print(f"targets met: {met}, missed: {missed}")


if __name__ == "__main__":
    main()
