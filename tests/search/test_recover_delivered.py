"""Iteration batches take the runs a worker delivered but a killed search never recorded (`evaluate.train`).

The worker's job folders are written here as the sandboxed worker writes them (`job.json` with the job's
settings, `results.json`); the evaluator records the batches it is asked to train instead of training.
What is checked is which candidates are taken and which train again, not training itself (the
kill-and-resume test in `test_resume_recovery_and_llm.py` does that for real).
"""

from __future__ import annotations

import dataclasses
import json

from test_train_programs_batches import Recorder

from rewardlab import runfolder
from rewardlab.engines.halving import Halving
from rewardlab.runfolder import Candidate
from rewardlab.search.config import SearchConfig
from rewardlab.search.evaluate import JobMatch, train
from rewardlab.store import RunStore
from rewardlab.tasks.ref import resolve
from rewardlab.types import TrainResult

SEEDS = [0, 1]


def _job(store: RunStore, n: int, job: JobMatch, cands: list[Candidate], results: list[TrainResult]) -> None:
    folder = store.layout.worker / f"job-{n:03d}"
    folder.mkdir(parents=True)
    spec = {**job.as_job(), "seeds": SEEDS, "candidates": [{"name": c.id, "source": c.source} for c in cands]}
    (folder / "job.json").write_text(json.dumps(spec))
    (folder / "results.json").write_text(json.dumps({"results": [r.to_dict() for r in results]}))


def _ok(c: Candidate, seed: int, steps: int = 7) -> TrainResult:
    return TrainResult(c.id, seed, "ok", (), steps, 0.0, 0.0)


def test_only_complete_successful_runs_under_the_same_settings_are_taken(tmp_path):
    task, ref = resolve("CartPole-v1")
    store = RunStore.create(tmp_path, task.name, {})
    ppo = SearchConfig(timesteps=8192).ppo(task)
    halving = Halving.default(ppo.n_checkpoints)
    src = task.human.source
    cands = [Candidate(0, 1, j, src.replace("1.0", f"{j + 1}.0", 1), "llm") for j in range(6)]
    c0, c1, c2, c3, c4, c5 = cands
    same = JobMatch(ref, ppo, None, halving)
    # c0: both seeds delivered ok -> taken; c1: one seed failed -> trains again
    _job(store, 0, same, [c0, c1], [_ok(c0, 0), _ok(c0, 1), _ok(c1, 0),
                                    TrainResult(c1.id, 1, "nan", (), 3, 0.0, 0.0, message="NaN")])
    # c2: delivered without halving; c3: with another budget; c4: from another task file
    _job(store, 1, JobMatch(ref, ppo, None, None), [c2], [_ok(c2, s) for s in SEEDS])
    _job(store, 2, JobMatch(ref, SearchConfig(timesteps=4096).ppo(task), None, halving), [c3],
         [_ok(c3, s) for s in SEEDS])
    changed = dataclasses.replace(ref, sha256="0" * 64)
    _job(store, 3, JobMatch(changed, ppo, None, halving), [c4], [_ok(c4, s) for s in SEEDS])
    # c5: delivered with other code under the same name (a run of another search state)
    other = Candidate(0, 1, 5, src, "llm")
    _job(store, 4, same, [other], [_ok(other, s) for s in SEEDS])
    # a job cut off while writing its results is skipped, not an error
    torn = store.layout.worker / "job-005"
    torn.mkdir()
    (torn / "job.json").write_text(json.dumps({**same.as_job(), "seeds": SEEDS,
                                               "candidates": [{"name": c5.id, "source": c5.source}]}))
    (torn / "results.json").write_text('{"results": [')

    rec = Recorder()
    out = train(store, ref, cands, ppo, SEEDS, timeout_s=60, batch_size=8, evaluator=rec, halving=halving)

    assert [p.name for b in rec.batches for p in b.programs] == [c.id for c in cands[1:]]
    assert [r.env_steps for r in out[c0.id]] == [7, 7]  # the delivered runs, not the Recorder's (1)
    assert [r.seed for r in out[c0.id]] == SEEDS
    stored = runfolder.read_results(store.layout, c0)
    assert stored is not None and [r.to_dict() for r in stored] == [r.to_dict() for r in out[c0.id]]
    recovered = [e for e in store.events() if e["event"] == "runs_recovered"]
    assert [(e["stage"], e["ids"], e["runs"]) for e in recovered] == [("iteration", [c0.id], 2)]
    # a second call reads what the first recorded: nothing recovered or trained again
    again = Recorder()
    train(store, ref, cands, ppo, SEEDS, timeout_s=60, batch_size=8, evaluator=again, halving=halving)
    assert again.batches == []
    assert sum(1 for e in store.events() if e["event"] == "runs_recovered") == 1


def test_the_warm_start_file_must_be_the_same(tmp_path):
    task, ref = resolve("CartPole-v1")
    store = RunStore.create(tmp_path, task.name, {})
    ppo = SearchConfig(timesteps=8192).ppo(task)
    c = Candidate(0, 0, 0, task.human.source, "llm")
    start = tmp_path / "warm.policy.npz"
    _job(store, 0, JobMatch(ref, ppo, str(start), None), [c], [_ok(c, s) for s in SEEDS])
    cold = Recorder()
    train(store, ref, [c], ppo, SEEDS, timeout_s=60, batch_size=8, evaluator=cold)
    assert len(cold.batches) == 1  # trained from scratch: the delivered runs started from a policy
    store2 = RunStore.create(tmp_path / "b", task.name, {})
    _job(store2, 0, JobMatch(ref, ppo, str(start), None), [c], [_ok(c, s) for s in SEEDS])
    warm = Recorder()
    train(store2, ref, [c], ppo, SEEDS, timeout_s=60, batch_size=8, evaluator=warm, warm_start=str(start))
    assert warm.batches == []
