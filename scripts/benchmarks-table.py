#!/usr/bin/env python3
"""Turns the W1-W7 table of a `dotnet cake --target=Bench` run (artifacts/bench/workloads.md) into the table of
docs/benchmarks.md: one row per case with the ratio to libtorch computed from the medians, the issue-5 goal and
whether it is met. Standard library only.

    python3 scripts/benchmarks-table.py artifacts/bench/workloads.md > /tmp/table.md
"""
import re
import sys

UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def seconds(cell):
    m = re.match(r"\s*([\d.,]+)\s*(ns|µs|us|ms|s)\b", cell)
    return float(m.group(1).replace(",", "")) * UNITS[m.group(2)] if m else None


def params(cell):
    return dict(kv.split("=", 1) for kv in cell.strip().strip("[]").split(", ") if "=" in kv)


def describe(workload, p):
    t = f"{p.get('Threads', '?')}T"
    if workload == "W1_SeedStep":
        return "W1 seed-step", t, 0.05
    if workload == "W2_TinyOp":
        grad = p.get("Grad") == "True"
        return "W2 tiny-op", ("a requires grad, " if grad else "no grad, ") + t, 0.15 if grad else 0.10
    if workload == "W2_TinyOpInto":
        return "W2 tiny-op", "into a preallocated c (out=), " + t, 0.10
    if workload == "W2_TinyOpRecycled":
        return "W2 tiny-op", "no grad, RecycleTensors on, " + t, 0.10
    if workload == "W3_Elementwise":
        size = int(p["Size"])
        big = size >= 1 << 24
        goal = 0.25 if big else (0.8 if p["Threads"] == "1" else 1.0)
        return "W3 elementwise", f"{p['Op']} {'16M' if big else '1M'}, {t}", goal
    if workload == "W4_Gemm":
        n = int(p["N"])
        return "W4 gemm", f"n = {n}, {t}", 1.0 if n <= 128 else 1 / 0.9
    if workload == "W5_MlpStep":
        return "W5 mlp-step", t, 1.0
    if workload == "W5_MlpStepRecycled":
        return "W5 mlp-step", "RecycleTensors on, " + t, 1.0
    if workload == "W6_Sum":
        return "W6 sum", t, 1.0
    if workload == "W7_Softmax":
        name = "log_softmax" if p["Log"] == "True" else "softmax"
        bwd = p["Backward"] == "True"
        return "W7 softmax", f"{name} {'fwd+bwd' if bwd else 'fwd'}, {t}", 0.7 if bwd else 0.6
    if workload == "Loss_BceWithLogits":  # beyond the workloads: no goal
        return "BCE-with-logits 1M", ("fwd+bwd, " if p["Backward"] == "True" else "fwd, ") + t, None
    return workload, t, None


def main(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 11 or not (cells[0].startswith("W") or cells[0].startswith("Loss_")):
            continue
        workload, p = cells[0], params(cells[1])
        torch, native, managed = cells[2], cells[3], cells[4]
        name, case, goal = describe(workload, p)
        ts, ns, ms = seconds(torch), seconds(native), seconds(managed)
        ratio = ns / ts if ts and ns else None
        met = "" if goal is None or ratio is None else ("met" if ratio <= goal + 1e-9 else "not met")
        goal_text = "" if goal is None else (f"≤ {goal:.2f}" + (" (≥ 0.9× GFLOP/s)" if workload == "W4_Gemm" and goal > 1 else ""))
        fmt = lambda r: "" if r is None else f"{r:.2f}"
        rows.append(f"| {name} | {case} | {torch} | {native} | {managed} | **{fmt(ratio)}** | {goal_text} | {met} | "
                     f"{fmt(ms / ts if ts and ms else None)} | {fmt(ms / ns if ns and ms else None)} | {cells[8]} / {cells[9]} / {cells[10]} |")
    print("| workload | case | libtorch (TorchSharp) | NativeGrad native | NativeGrad managed | **native / libtorch** | goal | "
          "| managed / libtorch | managed / native | alloc per op: libtorch / native / managed |")
    print("|---|---|--:|--:|--:|--:|--:|---|--:|--:|--:|")
    print("\n".join(rows))
    met = sum(1 for r in rows if "| met |" in r)
    goals = sum(1 for r in rows if "| met |" in r or "| not met |" in r)
    print(f"\n{met} of {goals} rows with a goal meet it.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "artifacts/bench/workloads.md")
