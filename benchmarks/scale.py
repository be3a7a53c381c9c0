"""Scale-out benchmark: the same LLM-free search locally and on Ray with 1 and 2 nodes, on this machine,
then a simulation of how an iteration's wall time falls with N workers, from the measured batch costs.

Every variant runs the same search (task, seeds, candidates, batch size) with its own fresh JAX
compilation cache, so each pays its compilations as a real first run does. All Ray processes stay on
127.0.0.1 (`ray.cluster_utils.Cluster`, dashboard and usage statistics off). The 1-node cluster gets
`--cpus` CPUs; the 2-node cluster splits them (so both have the same cores in total): on a 2-core
machine Ray cannot beat the local worker, and the table says by how much it costs.

The simulation: an iteration of K candidates in batches of one is K independent batches; with N
workers its wall time is the makespan of those batches (longest first onto the least-loaded worker),
each costing the measured median wall time of one local batch (a cold worker process: start,
compile, train), i.e. workers as fast as this machine. Iterations run one after another, so a
search's training time is iterations x that.

Run: python benchmarks/scale.py                       (~10-20 min on a loaded 2-core machine)
     python benchmarks/scale.py --samples 2 --timesteps 8192
Requires the `ray` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ["RAY_USAGE_STATS_ENABLED"] = "0"


def _search(args: argparse.Namespace, out: Path, **changes) -> tuple[float, list[dict]]:
    """(wall seconds, events) of one search."""
    from rewardlab.search.config import SearchConfig
    from rewardlab.search.runs import search

    config = SearchConfig(
        task=args.task, samples=args.samples, iterations=1, batch_size=1, final_seeds=0, confirm_top=0,
        timesteps=args.timesteps, n_checkpoints=2, eval_episodes=4, seed=0, **changes,
    )
    t0 = time.monotonic()
    run = search(config, out, check_llm=False)
    wall = time.monotonic() - t0
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    return wall, events


def _batch_walls(events: list[dict]) -> list[float]:
    """Seconds from each batch's hand-over to its results (batches of one candidate)."""
    started = {e["ids"][0]: e["time"] for e in events if e["event"] == "train_started"}
    return [e["time"] - started[e["id"]] for e in events if e["event"] == "trained"]


def _ray_variant(args: argparse.Namespace, root: Path, nodes: int) -> tuple[float, list[dict]]:
    import ray
    from ray.cluster_utils import Cluster

    cache = root / f"cache-ray{nodes}"
    os.environ["REWARDLAB_RAY_JAX_CACHE"] = str(cache)  # the nodes inherit it
    per_node = args.cpus / nodes
    node = {"node_ip_address": "127.0.0.1", "num_cpus": per_node}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    for _ in range(nodes - 1):
        cluster.add_node(**node)
    cluster.wait_for_nodes()
    try:
        return _search(args, root / f"ray{nodes}", executor="ray", ray_address=cluster.address,
                       jax_cache_dir=str(cache))
    finally:
        ray.shutdown()
        cluster.shutdown()


def makespan(costs: list[float], workers: int) -> float:
    """Longest-first list scheduling of independent batches onto `workers` identical workers."""
    loads = [0.0] * workers
    for c in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += c
    return max(loads)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="CartPole-v1")
    p.add_argument("--samples", type=int, default=4, help="candidates (= batches of one) per iteration")
    p.add_argument("--timesteps", type=int, default=16384)
    p.add_argument("--cpus", type=float, default=2.0, help="CPUs of the Ray cluster, split over its nodes")
    p.add_argument("--sim-samples", type=int, default=16, help="K of the simulated iteration")
    p.add_argument("--sim-iterations", type=int, default=5)
    args = p.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="rewardlab-scale-") as tmp:
        root = Path(tmp)
        wall, ev = _search(args, root / "local", jax_cache_dir=str(root / "cache-local"))
        rows.append(("local", wall, ev))
        for nodes in (1, 2):
            wall, ev = _ray_variant(args, root, nodes)
            rows.append((f"ray, {nodes} node{'s' * (nodes > 1)}", wall, ev))

    print(f"{args.task}: {args.samples} candidates x 1 iteration, batches of 1, {args.timesteps} steps each, "
          f"on {os.cpu_count()} cores (load {os.getloadavg()[0]:.1f} at the end)")
    print(f"{'executor':<14} {'search wall s':>13} {'batch wall s (median)':>22} {'nodes used':>10}")
    for name, wall, ev in rows:
        walls = _batch_walls(ev)
        nodes = {e.get("node") for e in ev if e["event"] == "trained"}
        print(f"{name:<14} {wall:>13.1f} {statistics.median(walls):>22.1f} {len(nodes):>10}")
    local_wall = rows[0][1]
    for name, wall, _ in rows[1:]:
        print(f"  {name}: {wall / local_wall:.2f}x the local wall time")

    cost = statistics.median(_batch_walls(rows[0][2]))
    compile_s = statistics.median(e["compile_s"] for e in rows[0][2] if e["event"] == "trained")
    print(f"\nsimulated: K={args.sim_samples} batches of one per iteration, each {cost:.1f} s "
          f"(the median local batch: one batch alone on this machine; {compile_s:.1f} s of it compilation), "
          f"{args.sim_iterations} iterations, Ray's own overhead per task not included")
    print(f"{'workers':>8} {'iteration s':>12} {'search training s':>18} {'speed-up':>9}")
    base = makespan([cost] * args.sim_samples, 1)
    for n in (1, 2, 4, 8, 16, 32):
        span = makespan([cost] * args.sim_samples, n)
        print(f"{n:>8} {span:>12.1f} {span * args.sim_iterations:>18.1f} {base / span:>8.1f}x")


if __name__ == "__main__":
    sys.exit(main())
