#!/usr/bin/env python3
"""Batch throughput: `veil deid DIR -o OUT` (one model per core) against a trimesh loop doing the
same steps file after file (`bench_trimesh.py`'s pipeline: weld, PCA frame, Taubin, noise, shuffle,
export, and the Hausdorff p95 that the batch's summary.csv reports for every file), on the same
folder of models, in one run. The loop without the Hausdorff p95 (less work than veil does) is
timed too and its ratio printed beside.

Usage (what `cargo xtask bench batch` runs):
    python3 scripts/mesh/bench_batch.py --veil target/release/veil --model target/bench/head-65000.stl --files 200

The folder holds --files copies of --model. Prints one human line per tool, then a JSON line
{"files", "veil_s", "veil_files_per_s", "trimesh_s", "trimesh_files_per_s", "ratio", ...}.
Exit: 0 measured (with --check: and the target met, ratio >= 25); 1 target missed under --check;
2 bad usage or a tool failed.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_trimesh import trimesh_pipeline  # noqa: E402

TARGET_RATIO = 25.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--veil", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--trimesh-files", type=int, default=0,
                    help="time the trimesh loop without the p95 on this many files and scale (default: all)")
    ap.add_argument("--hausdorff-files", type=int, default=10,
                    help="time the trimesh loop with the p95 on this many files and scale (default 10)")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    if a.files < 1:
        ap.error("--files must be at least 1")
    with tempfile.TemporaryDirectory(prefix="veil-batch-bench-") as work:
        src = os.path.join(work, "in")
        os.makedirs(src)
        for i in range(a.files):
            shutil.copyfile(a.model, os.path.join(src, f"scan-{i:04d}.stl"))
        out = os.path.join(work, "out")
        t = time.perf_counter()
        r = subprocess.run([a.veil, "deid", src, "-o", out, "--seed", "1"], capture_output=True, text=True)
        veil_s = time.perf_counter() - t
        if r.returncode != 0:
            print(f"veil failed: {r.stderr.strip()}", file=sys.stderr)
            return 2
        peer_files = a.trimesh_files or a.files
        peer_out = os.path.join(work, "peer")
        os.makedirs(peer_out)
        import trimesh
        t = time.perf_counter()
        for i in range(peer_files):
            trimesh_pipeline(os.path.join(src, f"scan-{i:04d}.stl"), os.path.join(peer_out, f"{i}.stl"), i)
        trimesh_s = (time.perf_counter() - t) * a.files / peer_files
        same_files = max(1, min(a.hausdorff_files, a.files))
        t = time.perf_counter()
        p95 = []
        for i in range(same_files):
            p95.append(trimesh_pipeline(os.path.join(src, f"scan-{i:04d}.stl"), os.path.join(peer_out, f"h{i}.stl"), i, hausdorff=True))
        same_s = (time.perf_counter() - t) * a.files / same_files
        with open(os.path.join(out, "summary.csv")) as f:
            veil_p95 = [float(row.split(",")[5]) for row in f.read().splitlines()[1:] if row.split(",")[5]]
    ratio = same_s / veil_s
    ratio_less = trimesh_s / veil_s
    cores = os.cpu_count()
    print(f"veil deid (batch, {cores} cores): {a.files} files in {veil_s:.2f} s = {a.files / veil_s:.1f} files/s")
    scaled = "" if peer_files == a.files else f" (timed on {peer_files}, scaled)"
    print(f"trimesh {trimesh.__version__} loop, same steps with the Hausdorff p95: {a.files} files in {same_s:.2f} s = "
          f"{a.files / same_s:.2f} files/s (timed on {same_files}, scaled); p95 {min(p95):.3f}-{max(p95):.3f} mm "
          f"(veil's summary: {min(veil_p95, default=float('nan')):.3f}-{max(veil_p95, default=float('nan')):.3f} mm, deface included)")
    print(f"trimesh {trimesh.__version__} loop without the p95 (less than veil does): {a.files} files in {trimesh_s:.2f} s = "
          f"{a.files / trimesh_s:.1f} files/s{scaled}: {ratio_less:.1f}x")
    print(f"ratio (same steps) {ratio:.1f}x, target >= {TARGET_RATIO}x: {'ok' if ratio >= TARGET_RATIO else 'OVER TARGET'}")
    print("RESULT " + json.dumps({"area": "batch", "files": a.files, "veil_s": veil_s, "veil_files_per_s": a.files / veil_s,
                                  "trimesh_s": same_s, "trimesh_files_per_s": a.files / same_s, "ratio": ratio,
                                  "trimesh_without_p95_s": trimesh_s, "ratio_without_p95": ratio_less,
                                  "trimesh_version": trimesh.__version__, "trimesh_files_timed": same_files,
                                  "trimesh_without_p95_files_timed": peer_files}))
    return 1 if a.check and ratio < TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
