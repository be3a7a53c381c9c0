"""Confirmation: retrain a restart's best few candidates on fresh seeds before choosing its winner.

During the search each candidate is trained once (or on `seeds` seeds) and judged by its best
checkpoint, so the top of the ranking is crowded with lucky runs: picking the maximum of 80 noisy
scores favours noise (the winner's curse). Confirmation retrains the `confirm_top` best candidates of
a restart, plus its starting reward when there is one, on `confirm_seeds` seeds that no candidate has
seen, and keeps the best mean on those seeds only. The starting reward is always in the shortlist so a
search never hands back a change that did not beat what it started from on fresh seeds.

The result is the restart's `Confirmation` record (`confirm.json` in the restart's folder); a resumed run
that finds it does not train again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rewardlab import runfolder
from rewardlab.executors import Evaluator
from rewardlab.runfolder import Confirmation, ConfirmRow, EvalRecord
from rewardlab.search import select
from rewardlab.search.config import SearchConfig
from rewardlab.search.evaluate import train_programs
from rewardlab.search.progress import Progress
from rewardlab.store import RunStore
from rewardlab.tasks import Task, TaskRef
from rewardlab.types import RewardProgram

CONFIRM_SEED_BASE = 500  # search seeds start at `seed`, final seeds at 1000 + `seed`


def job_name(cand_id: str) -> str:
    """The program name of a candidate in the confirmation batch (distinct from its search training)."""
    return f"confirm-{cand_id}"


def shortlist(history: list[EvalRecord], top: int) -> list[EvalRecord]:
    """The `top` best valid records, plus the starting reward (origin human/file) if it trained."""
    ranked = select.ranked(history)
    chosen = ranked[:top]
    start = [r for r in ranked if r.candidate.origin in ("human", "file") and r.candidate.iteration == 0]
    for rec in start:
        if rec not in chosen:
            chosen.append(rec)
    return chosen


def confirm(
    store: RunStore,
    config: SearchConfig,
    task: Task,
    ref: TaskRef,
    restart: int,
    history: list[EvalRecord],
    progress: Progress | None = None,
    evaluator: Evaluator | None = None,
) -> tuple[EvalRecord | None, float | None]:
    """The restart's winner after confirmation and its mean fitness on the confirmation seeds.

    With fewer than two trained candidates there is nothing to compare: the best is returned with
    its search fitness and nothing is trained.
    """
    pool = shortlist(history, config.confirm_top)
    if len(pool) < 2:
        best = pool[0] if pool else None
        return best, best.fitness if best else None
    by_id = {rec.candidate.id: rec for rec in pool}
    conf = runfolder.read_confirmation(store.layout, restart)
    if conf is None:
        seeds = [CONFIRM_SEED_BASE + config.seed + k for k in range(config.confirm_seeds)]
        if progress is not None:
            progress.update(phase=f"confirming the best {len(pool)} on {len(seeds)} fresh seeds")
        store.event("confirm_started", restart=restart, ids=list(by_id), seeds=seeds)
        programs = [
            RewardProgram(job_name(r.candidate.id), r.candidate.source or "", r.candidate.origin)
            for r in pool
        ]
        results = train_programs(
            store, config, task, ref, programs, seeds, evaluator, stage=f"confirm-{restart}"
        )
        rows = []
        for rec in pool:
            mine = [r for r in results if r.candidate == job_name(rec.candidate.id)]
            vals = [r.max_fitness for r in mine]
            ok = bool(mine) and all(r.ok and math.isfinite(v) for r, v in zip(mine, vals, strict=True))
            rows.append(
                ConfirmRow(
                    id=rec.candidate.id,
                    origin=rec.candidate.origin,
                    search_fitness=rec.fitness,
                    confirm_fitness=sum(vals) / len(vals) if ok else None,
                    per_seed=tuple(v if math.isfinite(v) else None for v in vals),
                    message="" if ok else next((r.message for r in mine if r.message), "failed"),
                )
            )
        conf = Confirmation(restart, tuple(seeds), tuple(rows), _winner(rows))
        runfolder.write_confirmation(store.layout, conf)
        store.event("confirm_done", restart=restart, winner=conf.winner)
    row = conf.row(conf.winner) if conf.winner is not None else None
    if row is None or row.id not in by_id:  # every confirmation run failed: keep the search's best
        best = pool[0]
        return best, best.fitness
    return by_id[row.id], row.confirm_fitness


def _winner(rows: Sequence[ConfirmRow]) -> str | None:
    """Highest confirmation mean; ties go to the earlier row (the search's ranking order)."""
    best: ConfirmRow | None = None
    for row in rows:
        f = row.confirm_fitness
        if f is not None and (best is None or best.confirm_fitness is None or f > best.confirm_fitness):
            best = row
    return best.id if best else None
