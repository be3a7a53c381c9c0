"""How the confirmation and the final evaluation cut their trainings into batches (`train_programs`).

A batch larger than an iteration's (programs x seeds > batch_size x seeds per candidate) would compile
the engine's programs afresh, so such sets are cut by seeds, then by programs; the results come back in
the order one batch would give them. The evaluator here records batches instead of training: what is
checked is the cutting and the reassembly, not training (which the search tests do for real).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from rewardlab.executors import Batch, BatchOutcome
from rewardlab.search.config import SearchConfig
from rewardlab.search.evaluate import train_programs
from rewardlab.store import RunStore
from rewardlab.tasks.ref import resolve
from rewardlab.types import RewardProgram, TrainResult


class Recorder:
    """An evaluator that returns one result per run, with fitness naming its program and seed."""

    name = "recorder"

    def __init__(self) -> None:
        self.batches: list[Batch] = []

    def run(
        self, batches: Sequence[Batch], on_event=None, on_start=None
    ) -> Iterator[tuple[int, BatchOutcome]]:
        for i, b in enumerate(batches):
            self.batches.append(b)
            results = tuple(
                TrainResult(p.name, s, "ok", (), 1, 0.0, 0.0) for p in b.programs for s in b.seeds
            )
            yield i, BatchOutcome(results, "here")

    def close(self) -> None:
        pass


def _train(tmp_path, n_programs: int, n_seeds: int, **config) -> tuple[Recorder, list[TrainResult]]:
    task, ref = resolve("CartPole-v1")
    store = RunStore.create(tmp_path, task.name, {})
    programs = [RewardProgram(f"p{k}", task.human.source) for k in range(n_programs)]
    seeds = [1000 + k for k in range(n_seeds)]
    rec = Recorder()
    cfg = SearchConfig(**config)
    return rec, train_programs(store, cfg, task, ref, programs, seeds, rec)


def test_a_final_evaluation_larger_than_an_iteration_batch_is_cut_by_seeds(tmp_path):
    rec, results = _train(tmp_path, 3, 10, batch_size=16, seeds=1)
    assert [(len(b.programs), len(b.seeds)) for b in rec.batches] == [(3, 5), (3, 5)]
    assert [(r.candidate, r.seed) for r in results] == [(f"p{p}", 1000 + s) for p in range(3)
                                                        for s in range(10)]


def test_a_set_that_fits_stays_one_batch_and_many_programs_are_cut_too(tmp_path):
    rec, _ = _train(tmp_path / "a", 5, 3, batch_size=16, seeds=1)
    assert [(len(b.programs), len(b.seeds)) for b in rec.batches] == [(5, 3)]
    rec, results = _train(tmp_path / "b", 5, 2, batch_size=4, seeds=1)
    assert [(len(b.programs), len(b.seeds)) for b in rec.batches] == [(4, 1), (1, 1), (4, 1), (1, 1)]
    assert [(r.candidate, r.seed) for r in results] == [(f"p{p}", 1000 + s) for p in range(5)
                                                        for s in range(2)]


def test_a_search_of_few_samples_cuts_the_final_to_its_iteration_batch(tmp_path):
    """3 samples train 3 runs per batch (not batch_size's 16): the final's 3 x 2 runs go as two batches of
    3, on the iteration's compiled programs (on an H200 a batch of new size costs Ant-Brax 83 s)."""
    rec, _ = _train(tmp_path, 3, 2, batch_size=16, samples=3, seeds=1)
    assert [(len(b.programs), len(b.seeds)) for b in rec.batches] == [(3, 1), (3, 1)]


def test_the_winner_is_recognised_as_the_human_reward_whatever_its_formatting():
    from rewardlab.search.final import same_code

    task, _ = resolve("CartPole-v1")
    src = task.human.source
    assert same_code("# a comment\n" + src.replace("\n\n", "\n\n\n"), src)
    assert not same_code(src.replace("1.0", "2.0", 1), src) and "1.0" in src
    assert not same_code("def (", src)


def test_finished_batches_are_kept_and_a_second_call_trains_only_what_is_missing(tmp_path):
    """What a search killed between two batches of its final evaluation does on resume."""
    task, ref = resolve("CartPole-v1")
    store = RunStore.create(tmp_path, task.name, {})
    programs = [RewardProgram(f"p{k}", task.human.source) for k in range(3)]
    seeds = [1000 + k for k in range(4)]
    cfg = SearchConfig(batch_size=16, samples=3, seeds=1)
    first = Recorder()
    done = train_programs(store, cfg, task, ref, programs, seeds[:2], first, stage="final")
    assert len(first.batches) == 2 and len(list(store.layout.trained("final").iterdir())) == 6
    again = Recorder()
    results = train_programs(store, cfg, task, ref, programs, seeds, again, stage="final")
    assert [tuple(b.seeds) for b in again.batches] == [(1002,), (1003,)]  # seeds 1000-1001 were stored
    assert [r.to_dict() for r in results[:2]] == [r.to_dict() for r in done[:2]]
    assert [(r.candidate, r.seed) for r in results] == [(p.name, s) for p in programs for s in seeds]
    # the same name with other code (a resumed search that picked another winner) trains afresh
    other = [RewardProgram("p0", task.sparse.source)]
    fresh = Recorder()
    train_programs(store, cfg, task, ref, other, seeds[:1], fresh, stage="final")
    assert [tuple(b.seeds) for b in fresh.batches] == [(1000,)]


def test_runs_a_worker_delivered_but_the_search_never_recorded_are_taken_not_retrained(tmp_path):
    """A search killed after a worker wrote results.json but before the search wrote its own copy."""
    import dataclasses
    import json

    task, ref = resolve("CartPole-v1")
    store = RunStore.create(tmp_path, task.name, {})
    programs = [RewardProgram(f"p{k}", task.human.source) for k in range(2)]
    cfg = SearchConfig(batch_size=16, samples=2, seeds=1)
    job = store.layout.worker / "job-000"
    job.mkdir(parents=True)
    spec = {"candidates": [{"name": p.name, "source": p.source} for p in programs], "seeds": [1000],
            "config": dataclasses.asdict(cfg.ppo(task)), "task": ref.to_dict(), "halving": None}
    (job / "job.json").write_text(json.dumps(spec))
    done = [TrainResult(p.name, 1000, "ok", (), 7, 0.0, 0.0) for p in programs]
    (job / "results.json").write_text(json.dumps({"results": [r.to_dict() for r in done]}))
    other = store.layout.worker / "job-001"  # another budget: not the same runs
    other.mkdir()
    (other / "job.json").write_text(json.dumps({**spec, "seeds": [1001], "config": {"total_timesteps": 1}}))
    (other / "results.json").write_text(json.dumps({"results": [
        TrainResult(p.name, 1001, "ok", (), 7, 0.0, 0.0).to_dict() for p in programs]}))
    rec = Recorder()
    results = train_programs(store, cfg, task, ref, programs, [1000, 1001], rec, stage="final")
    assert [tuple(b.seeds) for b in rec.batches] == [(1001,)]
    assert [r.env_steps for r in results] == [7, 1, 7, 1]  # the delivered runs, then the Recorder's
