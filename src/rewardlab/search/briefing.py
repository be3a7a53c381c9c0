"""The `Brief` of a request (`reflection="table"`): the facts the paper's prompt leaves out, from the
search's state.

An LLM improving a reward needs to know how it is judged (the score is a maximum over checkpoints, the
training budget, gamma for potential-based shaping, the episode limit), what its other attempts of the
last iteration did, whether the search is stuck, and what it started from. Everything here is a pure
function of records the run folder holds, so a resumed iteration builds the same request again.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from rewardlab.runfolder import EvalRecord
from rewardlab.search import prompts, reflect, select
from rewardlab.search.config import SearchConfig
from rewardlab.tasks import Task


@dataclass(frozen=True)
class LastIteration:
    """What one iteration left behind for the next request."""

    iteration: int
    records: tuple[EvalRecord, ...]
    parent_id: str | None
    """The reward its candidates were asked to improve (None: written from scratch)."""
    parent_source: str | None
    best: EvalRecord | None
    """The best record after it (possibly from an earlier iteration)."""


def _num(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else "nan"


def round_text(config: SearchConfig, restart: int, iteration: int) -> str:
    """Which iteration (and restart) a request is for: no two requests of a run share it."""
    where = f"; restart {restart} of 0 to {config.restarts - 1}" if config.restarts > 1 else ""
    return prompts.load("round").format(iteration=iteration, last=config.iterations - 1, restart=where)


def setup_text(config: SearchConfig, task: Task) -> str:
    """How a reward is trained and scored, in the task's own numbers."""
    ppo = config.ppo(task)
    lo_hi = task.fitness_range
    where = f" The task score lies between {_num(lo_hi[0])} and {_num(lo_hi[1])}." if lo_hi else ""
    seeds = "1 training seed" if config.seeds == 1 else f"{config.seeds} training seeds"
    acting = "greedily: its most likely action" if ppo.eval_greedy else "with actions sampled from it"
    text = prompts.load("setup").format(
        budget=f"{config.budget(task):,}",
        gamma=f"{ppo.gamma:g}",
        episode_limit=task.env.max_episode_steps,
        n_checkpoints=config.n_checkpoints,
        eval_episodes=config.eval_episodes,
        fitness_doc=task.fitness_doc.strip().rstrip("."),
        range=where,
        seeds=seeds,
        acting=acting,
    )
    # refilled: the task's fitness text is inserted mid-paragraph and has no line breaks of its own
    return textwrap.fill(" ".join(text.split()), width=104)


def history_text(history: Sequence[LastIteration]) -> str:
    """The best score after each iteration so far."""
    if not history:
        return ""
    parts = [f"iteration {h.iteration}: {_best_score(h.best)}" for h in history]
    return prompts.load("history").format(history=", ".join(parts))


def _best_score(best: EvalRecord | None) -> str:
    return _num(best.fitness) if best is not None and best.fitness is not None else "none"


def stalled_text(last: LastIteration) -> str:
    """A note when the last iteration's candidates did not beat the best so far ("" when they did)."""
    best = last.best
    if best is not None and best.candidate.iteration == last.iteration:
        return ""
    if best is None:
        return ""  # nothing has trained yet: the error lines say why
    return prompts.load("stalled").format(
        n=len(last.records),
        best_id=best.candidate.id,
        best_score=reflect.score_text(best),
        since=best.candidate.iteration,
    )


def start_text(start: EvalRecord | None, best: EvalRecord | None) -> str:
    """The starting reward as the reward to beat, with its score (its code only when it is not the best,
    which the request already shows)."""
    if start is None or start.fitness is None:
        return ""
    score = reflect.score_text(start)
    if best is None or best is start or best.candidate.id == start.candidate.id:
        return prompts.load("start_best").format(score=score)
    gain = _num((best.fitness or 0.0) - start.fitness)
    return prompts.load("start").format(score=score, gain=gain, code=(start.candidate.source or "").strip())


def fixed_text(best: EvalRecord | None) -> str:
    """The best reward's terms that have one value on every step (see `reflect.fixed_terms`)."""
    terms = reflect.fixed_terms(best) if best is not None else []
    return prompts.load("fixed").format(terms=", ".join(terms)) if terms else ""


def elites_text(records: Sequence[EvalRecord], best: EvalRecord | None, n: int) -> str:
    """The run's next `n - 1` best rewards after `best`, each with its score and code, best first.

    Candidates whose code is the same as a reward already listed (the best included) are skipped: the
    point is to show the LLM different ways of scoring well, so that it can combine them. Empty when
    `n` is 1 (the paper's prompt) or nothing else has a score."""
    if n <= 1 or best is None:
        return ""
    seen = {(best.candidate.source or "").strip()}
    entries = []
    for rec in select.ranked(records):
        code = (rec.candidate.source or "").strip()
        if not code or code in seen:
            continue
        seen.add(code)
        entries.append(
            prompts.load("elite").format(id=rec.candidate.id, score=reflect.score_text(rec), code=code)
        )
        if len(entries) == n - 1:
            break
    return prompts.load("elites").format(entries="\n\n".join(entries)) if entries else ""


def make_brief(
    config: SearchConfig,
    task: Task,
    restart: int,
    iteration: int,
    history: Sequence[LastIteration],
    start: EvalRecord | None,
) -> prompts.Brief:
    """The brief of the request for `iteration`, given what every earlier iteration left behind."""
    last = history[-1] if history else None
    return prompts.Brief(
        round=round_text(config, restart, iteration),
        setup=setup_text(config, task),
        table=reflect.candidate_table(last.records, last.parent_id, last.parent_source) if last else "",
        history=history_text(history),
        stalled=stalled_text(last) if last else "",
        start=start_text(start, last.best) if last else "",
        fixed=fixed_text(last.best) if last else "",
    )
