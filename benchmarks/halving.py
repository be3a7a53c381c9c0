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

    python benchmarks/halving.py --agreement RUN_DIR

applies the halving rule to a plain search's full training curves after the fact: per iteration, whether
the candidate with the best full-budget score would have survived every rung (how often the early
checkpoints predict the winner). The comparison prints it for its plain search too.
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


def rung_agreement(run_dir: Path) -> tuple[int, int]:
    """(iterations whose best full-budget candidate survives `Halving.default`'s rungs, iterations), on a
    search trained without halving: each candidate's full curve says what it had at every rung."""
    from rewardlab.engines.halving import Halving
    from rewardlab.runfolder import read_config

    n_checkpoints = int(read_config(Layout(run_dir))["n_checkpoints"])
    kept = total = 0
    for it in sorted(run_dir.glob("**/iter_*")):
        curves = {}
        for k, p in enumerate(sorted(it.glob("cand_*/result.json"))):
            res = [r for r in read_json(p)["results"] if r["status"] == "ok" and r["checkpoints"]]
            if res and len(res) == len(read_json(p)["results"]):
                curves[k] = [[c["fitness"] for c in r["checkpoints"]] for r in res]
        if len(curves) < 2:
            continue
        halving = Halving.default(n_checkpoints)
        alive = sorted(curves)
        for rung in halving.after:
            alive = list(halving.survivors({k: [max(c[:rung]) for c in curves[k]] for k in alive}))
        final = {k: sum(max(c) for c in cs) / len(cs) for k, cs in curves.items()}
        top = max(final.values())
        total += 1
        kept += any(final[k] == top for k in alive)
    return kept, total


def run(
    task: str, out: Path, samples: int, iterations: int, halving: bool, sets: list[str]
) -> tuple[Path, float]:
    from rewardlab.api.cli import main as cli

    argv = ["--samples", str(samples), "--iterations", str(iterations), "--out", str(out), "--quiet"]
    argv += ["--halving"] if halving else []
    argv += [a for item in sets for a in ("--set", item)]
    t0 = time.perf_counter()
    code = cli(["search", task, *argv])
    wall = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"{task}: search failed with exit code {code}")
    return max((p.parent for p in out.glob("*/run.json")), key=lambda p: p.stat().st_mtime), wall


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tasks", nargs="*")
    ap.add_argument("--agreement", metavar="RUN_DIR", help="only the rung agreement of a plain search")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="for both searches")
    ap.add_argument("--arms", default="plain,halving", help="which searches to run (plain, halving)")
    ap.add_argument("--samples", type=int, default=16, help="K of plain best-of-K; halving gets 2K")
    ap.add_argument("--iterations", type=int, default=5)
    ap.add_argument("--out", default="runs/bench-halving")
    ap.add_argument("--extra-seeds", type=int, default=0, help="winner vs human on N more seeds, per search")
    args = ap.parse_args(argv)
    from rewardlab.store import folder_stem

    if args.agreement:
        kept, total = rung_agreement(Path(args.agreement))
        print(f"the best full-budget candidate survives the rungs in {kept}/{total} iterations")
        return 0

    for task in args.tasks:
        got = {}
        arms = (("plain", args.samples, False), ("halving", 2 * args.samples, True))
        for name, samples, halving in (a for a in arms if a[0] in args.arms.split(",")):
            out = Path(args.out) / folder_stem(task) / name
            run_dir, wall = run(task, out, samples, args.iterations, halving, args.set)
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
        if len(got) == 2:
            (_, wp, (ip, ep), _), (_, wh, (ih, eh), _) = got["plain"], got["halving"]
            print(
                f"halving / plain: iteration env steps {ih / ip:.3f}x, all env steps {eh / ep:.3f}x, "
                f"wall time {wh / wp:.2f}x"
            )
        if "plain" in got:
            kept, total = rung_agreement(got["plain"][0])
            print(f"plain search, halving's rule applied to it: its best survives the rungs in "
                  f"{kept}/{total} iterations")
        if args.extra_seeds > 0:
            for name, (run_dir, *_rest) in got.items():
                print(f"{name}:", end="")
                extra_seeds(task, run_dir, args.extra_seeds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
