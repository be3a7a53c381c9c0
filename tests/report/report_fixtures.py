"""A small, hand-made run folder (no training) for report tests, written with the run-folder schema's own
writers: what the search writes is what the report reads."""

from __future__ import annotations

from pathlib import Path

from rewardlab import runfolder
from rewardlab.runfolder import Candidate, FinalResults, IterationRecord, MethodInfo
from rewardlab.sandbox import CheckReport
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


def make_run(tmp: Path, iterations: int = 2) -> Path:
    """Two complete iterations of two candidates; final table Method 30/40/50, Human 20/20/20, Sparse
    10/10/10. (`iterations` > 2: the config asks for more, as in a run killed after iteration 1.)"""
    store = RunStore.create(
        tmp,
        "CartPole-v1",
        {"task": "CartPole-v1", "samples": 2, "iterations": iterations, "restarts": 1},
        command=["test"],
    )
    layout = store.layout
    fits = {(0, 0): [10.0, 12.0], (0, 1): None, (1, 0): [15.0, 25.0], (1, 1): [5.0, 6.0]}
    for (i, j), f in fits.items():
        cand = Candidate(0, i, j, CODE_B if (i, j) == (1, 0) else CODE_A, "llm")
        runfolder.write_candidate(layout, cand, None)
        if f is None:
            runfolder.write_check(layout, cand, CheckReport.failure("trace", "no field foo"))
            continue
        runfolder.write_check(layout, cand, CheckReport(ok=True))
        runfolder.write_results(layout, cand, [result(cand.id, 0, f)])
    runfolder.write_iteration(layout, IterationRecord(0, 0, (), "r0-i0-c0", 12.0))
    runfolder.write_iteration(layout, IterationRecord(0, 1, (), "r0-i1-c0", 25.0))
    if iterations > 2:
        return store.root  # killed: no final evaluation, status still "running"
    seeds = (1000, 1001, 1002)
    final = FinalResults(
        seeds=seeds,
        method=MethodInfo("r0-i1-c0", 25.0),
        results={
            "method": tuple(result("method", s, [v]) for s, v in zip(seeds, [30.0, 40.0, 50.0], strict=True)),
            "human": tuple(result("human", s, [20.0]) for s in seeds),
            "sparse": tuple(result("sparse", s, [10.0]) for s in seeds),
        },
    )
    runfolder.write_final(layout, final)
    store.set_status("finished")
    return store.root


def add_unfinished_iteration(run: Path) -> None:
    """Iteration 2 of a run killed in it (`make_run(tmp, iterations=3)`): one candidate checked but not
    trained, one proposed but not checked, one without code; no iteration record."""
    layout = runfolder.Layout(run)
    checked = Candidate(0, 2, 0, CODE_A, "llm")
    runfolder.write_candidate(layout, checked, None)
    runfolder.write_check(layout, checked, CheckReport(ok=True))
    runfolder.write_candidate(layout, Candidate(0, 2, 1, CODE_B, "llm"), None)
    runfolder.write_candidate(layout, Candidate(0, 2, 2, None, "llm", extract_reason="no fenced code"), None)

