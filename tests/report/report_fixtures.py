"""A small, hand-made run folder (no training) for report tests."""

from __future__ import annotations

from pathlib import Path

from rewardlab.store import RunStore
from rewardlab.types import Checkpoint, ComponentStats, TrainResult

CODE_A = (
    "import jax.numpy as jnp\n\n\ndef compute_reward(state, action, next_state):\n    up = 1.0\n"
    '    return up, {"up": up}\n'
)
CODE_B = CODE_A.replace("up = 1.0", "up = 2.0")


def result(name: str, seed: int, fits: list[float]) -> TrainResult:
    cps = tuple(
        Checkpoint(
            step=1000 * (k + 1),
            fitness=f,
            eval_metrics={},
            reward_return=f,
            env_return=f,
            episode_length=20.0,
            components={"up": ComponentStats(0.1 * k, 0.0, 1.0)},
        )
        for k, f in enumerate(fits)
    )
    return TrainResult(name, seed, "ok", cps, 2000, 1.0, 3.0)


def make_run(tmp: Path) -> Path:
    """Two iterations of two candidates; final table Method 30/40/50, Human 20/20/20, Sparse 10/10/10."""
    store = RunStore.create(
        tmp,
        "CartPole-v1",
        {"task": "CartPole-v1", "samples": 2, "iterations": 2, "restarts": 1},
        command=["test"],
    )
    fits = {(0, 0): [10.0, 12.0], (0, 1): None, (1, 0): [15.0, 25.0], (1, 1): [5.0, 6.0]}
    for (i, j), f in fits.items():
        folder = store.candidate_dir(0, i, j)
        code = CODE_B if (i, j) == (1, 0) else CODE_A
        store.write_text(folder / "reward.py", code)
        store.write_json(
            folder / "candidate.json",
            {"index": j, "origin": "llm", "has_code": True, "restart": 0, "iteration": i},
        )
        if f is None:
            store.write_json(folder / "check.json", {"ok": False, "kind": "trace", "message": "no field foo"})
            continue
        store.write_json(folder / "check.json", {"ok": True, "kind": None, "message": ""})
        store.write_json(folder / "result.json", {"results": [result(f"r0-i{i}-c{j}", 0, f).to_dict()]})
    store.write_json(store.iteration_dir(0, 0) / "iteration.json", {"best": "r0-i0-c0", "best_fitness": 12.0})
    store.write_json(store.iteration_dir(0, 1) / "iteration.json", {"best": "r0-i1-c0", "best_fitness": 25.0})
    final = {
        "seeds": [1000, 1001, 1002],
        "method": {"candidate": "r0-i1-c0", "search_fitness": 25.0},
        "results": {
            "method": [
                result("method", s, [v]).to_dict()
                for s, v in zip([1000, 1001, 1002], [30.0, 40.0, 50.0], strict=True)
            ],
            "human": [result("human", s, [20.0]).to_dict() for s in [1000, 1001, 1002]],
            "sparse": [result("sparse", s, [10.0]).to_dict() for s in [1000, 1001, 1002]],
        },
    }
    store.write_json(store.final_dir / "results.json", final)
    store.set_status("finished")
    return store.root
