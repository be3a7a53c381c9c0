"""Benchmark: successive halving (`--halving`, 2K samples) against plain best-of-K on equal env steps.

    python benchmarks/halving.py CartPole-v1 [--samples 16 --iterations 5] [--extra-seeds 16]
                                 [--out runs/bench-halving]

For each task it runs two LLM-free searches with the CLI's defaults and the same seed: plain best-of-K
(`--samples K`) and successive halving with twice the samples (`--samples 2K --halving`, rungs after
checkpoints 1 and 2 of 5: 0.45x the steps of K full trainings per batch of K, so 0.9x in all). It
prints, per search, the env steps its trainings used (the iterations' candidates; every sandboxed
training, confirmation and final evaluation included), the wall time and the compile share, and the
final table's Method and Human means; then the ratios halving / plain; and with `--extra-seeds N` each
winner against the human reward on N seeds no step of either search used (2000, 2001, ...: the same
seeds for both searches), as a paired difference with its standard error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rewardlab.runfolder import Layout, read_json
from search import batch_times, extra_seeds


def env_steps(run_dir: Path) -> tuple[int, int]:
    """(env steps of the iterations' candidate trainings, env steps of every sandboxed training)."""
    layout = Layout(run_dir)
    iters = sum(
        r["env_steps"] for p in run_dir.glob("**/iter_*/cand_*/result.json") for r in read_json(p)["results"]
    )
    every = sum(
        r["env_steps"] for p in layout.worker.glob("job-*/results.json") for r in read_json(p)["results"]
    )
    return iters, every


def run(task: str, out: Path, samples: int, iterations: int, halving: bool) -> tuple[Path, float]:
    from rewardlab.api.cli import main as cli

    argv = ["--samples", str(samples), "--iterations", str(iterations), "--out", str(out), "--quiet"]
    argv += ["--halving"] if halving else []
    t0 = time.perf_counter()
    code = cli(["search", task, *argv])
    wall = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"{task}: search failed with exit code {code}")
    return max((p.parent for p in out.glob("*/run.json")), key=lambda p: p.stat().st_mtime), wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tasks", nargs="+")
    ap.add_argument("--samples", type=int, default=16, help="K of plain best-of-K; halving gets 2K")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--out", default="runs/bench-halving")
    ap.add_argument("--extra-seeds", type=int, default=0, help="winner vs human on N more seeds, per search")
    args = ap.parse_args(argv)
    from rewardlab.store import folder_stem

    for task in args.tasks:
        got = {}
        for name, samples, halving in (("plain", args.samples, False), ("halving", 2 * args.samples, True)):
            out = Path(args.out) / folder_stem(task) / name
            run_dir, wall = run(task, out, samples, args.iterations, halving)
            got[name] = (run_dir, wall, env_steps(run_dir), batch_times(run_dir)["compile"])
        print(f"\n== {task}: plain best-of-{args.samples} vs --halving with {2 * args.samples} samples")
        for name, (run_dir, wall, (iters, every), comp) in got.items():
            final = json.loads(Layout(run_dir).summary.read_text())["final"]["table"]
            m, h = final["method"], final["human"]
            print(
                f"{name:8s} env steps: iterations {iters:,}, all trainings {every:,}; wall {wall:.0f} s, "
                f"compiling {100 * comp / wall:.0f}%; final ({len(m['values'])} seeds) "
                f"Method {m['mean']:.4g} vs Human {h['mean']:.4g}  ({run_dir})"
            )
        (_, wp, (ip, ep), _), (_, wh, (ih, eh), _) = got["plain"], got["halving"]
        print(
            f"halving / plain: iteration env steps {ih / ip:.3f}x, all env steps {eh / ep:.3f}x, "
            f"wall time {wh / wp:.2f}x"
        )
        if args.extra_seeds > 0:
            for name, (run_dir, *_rest) in got.items():
                print(f"{name}:", end="")
                extra_seeds(task, run_dir, args.extra_seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
