#!/usr/bin/env python3
"""Reads the logs of benches/scripts/peer_round.sh and prints the table of
docs/PERFORMANCE.md: every row at 1 and 2 threads, ours beside the peer, the ratio
(ours / peer time; peer / ours for GFLOP/s), and each side's speed-up from 1 to 2 threads.

    python3 benches/scripts/round_table.py /tmp/peer-round
Ours: the peer-style median of the framework bench for Trainer steps, criterion's point
estimate (the middle of its `time:` triple) elsewhere. Peers: `median_ms`.
"""
import json
import re
import sys
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/peer-round")
UNIT = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}


def lines(log):
    return log.read_text().splitlines() if log.exists() else []


def criterion(log):
    """{bench id: middle estimate in ms} from a criterion log."""
    res, name = {}, None
    for line in lines(log):
        m = re.match(r"^(\S+/\S+)(\s+time:.*)?$", line)
        if m and not line.startswith(" "):
            name = m.group(1)
        t = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if t and name and name not in res:
            res[name] = float(t.group(1)) * UNIT[t.group(2)]
    return res


def peer_style(log):
    res = {}
    for line in lines(log):
        m = re.match(r"peer-style median: (.*), RAYON_NUM_THREADS=\d+: ([\d.]+) ms/step", line)
        if m:
            res[m.group(1)] = float(m.group(2))
    return res


def jsonl(log):
    rows = []
    for line in lines(log):
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def peer(t, name, case, dtype=None, lib=None):
    for d in jsonl(OUT / f"peer-t{t}-{name}.log"):
        if d.get("case") == case and (dtype is None or d.get("dtype") == dtype) and (lib is None or d.get("lib") == lib):
            return d
    return None


ROWS = [
    # (label, ours(t) -> ms, peer(t) -> ms)
    ("MLP 64-256-256-10 b128, Trainer::train_step", lambda t: peer_style(OUT / f"ours-t{t}-framework.log").get("framework mlp (a) train step"),
     lambda t: (peer(t, "mlp", "mlp (a) 64-256-256-10 b128", lib="torch eager") or {}).get("median_ms")),
    ("MLP 784-512-512-10 b128, Trainer::train_step", lambda t: peer_style(OUT / f"ours-t{t}-framework.log").get("framework mlp (b) train step"),
     lambda t: (peer(t, "mlp", "mlp (b) 784-512-512-10 b128", lib="torch eager") or {}).get("median_ms")),
    ("small CNN b64 train step", lambda t: peer_style(OUT / f"ours-t{t}-framework.log").get("framework small CNN train step b64 32x32x3"),
     lambda t: (peer(t, "conv", "small CNN train step b64 32x32x3") or {}).get("median_ms")),
    ("Conv2d 32x3x32x32->64 fwd+bwd (dW, db, dX)", lambda t: criterion(OUT / f"ours-t{t}-layers.log").get("conv2d_32x3x32x32_64_3x3/fwd_bwd_wx"),
     lambda t: (peer(t, "conv", "conv2d 32x3x32x32->64 3x3 fwd+bwd (dW,db,dX)") or {}).get("median_ms")),
    ("tanh RNN T50 B32 I64 H128 fwd+BPTT", lambda t: criterion(OUT / f"ours-t{t}-layers.log").get("rnn_T50_B32_I64_H128/tanh/fwd_bwd"),
     lambda t: (peer(t, "rnn", "RNN tanh T50 B32 I64 H128 fwd+bwd (BPTT)") or {}).get("median_ms")),
    ("LSTM T50 B32 I64 H128 fwd+BPTT", lambda t: criterion(OUT / f"ours-t{t}-layers.log").get("rnn_T50_B32_I64_H128/lstm/fwd_bwd"),
     lambda t: (peer(t, "rnn", "LSTM T50 B32 I64 H128 fwd+bwd (BPTT)") or {}).get("median_ms")),
    ("BatchNorm1d 256x1024 train fwd+bwd", lambda t: criterion(OUT / f"ours-t{t}-norm.log").get("batchnorm1d_256x1024/train_fwd_bwd"),
     lambda t: (peer(t, "bn", "batchnorm1d 256x1024 train fwd+bwd") or {}).get("median_ms")),
    ("analytic NTK 4000^2, f64", lambda t: criterion(OUT / f"ours-t{t}-ntk.log").get("ntk/analytic_ntk/4000"),
     lambda t: (peer(t, "ntk64", "analytic NTK 4000x4000 (d=100, 3x Dense512-ReLU)") or {}).get("median_ms")),
    ("empirical NTK 400 pts, structured path, f64", lambda t: criterion(OUT / f"ours-t{t}-ntk.log").get("ntk/empirical_ntk/400/structured"),
     lambda t: (peer(t, "ntk64", "empirical NTK 400x400, width-512 depth-3 MLP, jacobian contraction (default)") or {}).get("median_ms")),
    ("empirical NTK 100 pts, generic path, 64 MiB budget, f64", lambda t: criterion(OUT / f"ours-t{t}-ntk.log").get("ntk/empirical_ntk/100/batched_64MiB"),
     lambda t: (peer(t, "ntk64", "empirical NTK 100x100, width-512 depth-3 MLP, jacobian contraction (default)") or {}).get("median_ms")),
    ("empirical NTK 100 pts, generic path, 1 GiB budget, f64", lambda t: criterion(OUT / f"ours-t{t}-ntk.log").get("ntk/empirical_ntk/100/batched_1GiB"),
     lambda t: (peer(t, "ntk64", "empirical NTK 100x100, width-512 depth-3 MLP, jacobian contraction (default)") or {}).get("median_ms")),
    ("empirical NTK 400 pts, generic path, 4 GiB budget, f64", lambda t: criterion(OUT / f"ours-t{t}-ntk.log").get("ntk/empirical_ntk/400/batched_4GiB"),
     lambda t: (peer(t, "ntk64", "empirical NTK 400x400, width-512 depth-3 MLP, jacobian contraction (default)") or {}).get("median_ms")),
    ("kernel regression 2000/500, f64", lambda t: criterion(OUT / f"ours-t{t}-ntk.log").get("ntk/kernel_regression/2000x500"),
     lambda t: (peer(t, "ntk64", "kernel regression t=inf, 2000 train / 500 test (jit, incl. kernels + solve)") or {}).get("median_ms")),
]


def fmt(v):
    return "–" if v is None else (f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}")


def ratio(a, b):
    return "–" if a is None or b is None else f"{a / b:.2f}"


print("| row | ours 1t ms | peer 1t ms | ratio 1t | ours 2t ms | peer 2t ms | ratio 2t | speed-up ours | speed-up peer |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for label, ours, theirs in ROWS:
    o1, p1, o2, p2 = ours(1), theirs(1), ours(2), theirs(2)
    print(f"| {label} | {fmt(o1)} | {fmt(p1)} | **{ratio(o1, p1)}** | {fmt(o2)} | {fmt(p2)} | **{ratio(o2, p2)}** | {ratio(o1, o2)} | {ratio(p1, p2)} |")

print()
print("| GEMM n | dtype | ours 1t GFLOP/s | torch 1t | ratio | ours 2t | torch 2t | ratio | speed-up ours | speed-up torch |")
print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for dtype in ("f32", "f64"):
    for n in (128, 256, 512, 1024):
        def ours(t):
            ms = criterion(OUT / f"ours-t{t}-gemm.log").get(f"gemm_{dtype}/{n}")
            return None if ms is None else 2 * n**3 / (ms / 1e3) / 1e9
        def torch(t):
            d = peer(t, "gemm", f"gemm n={n}", dtype=dtype)
            return None if d is None else d["gflops"]
        o1, p1, o2, p2 = ours(1), torch(1), ours(2), torch(2)
        print(f"| {n} | {dtype} | {fmt(o1)} | {fmt(p1)} | **{ratio(o1, p1)}** | {fmt(o2)} | {fmt(p2)} | **{ratio(o2, p2)}** | {ratio(o2, o1)} | {ratio(p2, p1)} |")

print()
print("| step | threads | ours resident before / peak MB | ours step MB | torch before / peak MB | torch step MB |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
cases = {"mlp-a": ("mlp", "mlp (a) 64-256-256-10 b128"), "mlp-b": ("mlp", "mlp (b) 784-512-512-10 b128"),
         "cnn": ("conv", "small CNN train step b64 32x32x3")}
for t in (1, 2):
    log = OUT / f"ours-t{t}-memory.log"
    if not log.exists():
        continue
    for d in jsonl(log):
        name, case = cases[d["case"]]
        p = peer(t, name, case, lib="torch eager" if name == "mlp" else None) or {}
        pb, pp = p.get("rss_before_mb"), p.get("peak_rss_mb")
        step = None if pb is None or pp is None else pp - pb
        print(f"| {d['case']} | {t} | {d['rss_before_mb']:.1f} / {d['peak_rss_mb']:.1f} | {d['step_mb']:.1f} | {fmt(pb)} / {fmt(pp)} | {fmt(step)} |")

print()
print("ext_load of the peer lines (other processes' share of the CPU while each ran):")
loads = [d.get("ext_load") for f in sorted(OUT.glob("peer-t*.log")) for d in jsonl(f) if d.get("ext_load") is not None]
if loads:
    print(f"  max {max(loads):.3f}, mean {sum(loads) / len(loads):.3f} over {len(loads)} lines")
