"""The Eureka loop: propose, evaluate, reflect, select; N iterations, R restarts, a final evaluation.

`drive(store, ...)` runs a search in its run folder to the end (`search/runs.py` creates the folder or
opens it again). A new run and a resumed one are the same function over the folder: every step first
looks for its records and only does what is missing, so a run killed at any point continues where it
stopped, trains nothing twice and asks the LLM for nothing it already paid for (the response cache
answers). The task goes to the sandbox as its `TaskRef`, which the children import it from. Building
the report is not the loop's job: `rewardlab.api` runs the loop, then the report.
"""

from __future__ import annotations

import contextlib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardlab import runfolder
from rewardlab.executors import Evaluator
from rewardlab.runfolder import EvalRecord, IterationRecord, Verdict
from rewardlab.search import (
    briefing,
    confirm,
    evaluate,
    mutate,
    prompts,
    propose,
    reflect,
    select,
    shaping,
)
from rewardlab.search.config import SearchConfig
from rewardlab.search.final import final_evaluation
from rewardlab.search.progress import Progress
from rewardlab.store import RunStore
from rewardlab.tasks import Task, TaskRef


@dataclass
class _Restart:
    """What one restart carries from iteration to iteration."""

    best: EvalRecord | None = None
    reflection: str = ""
    errors: list[str] = field(default_factory=list)
    comment: str | None = None
    history: list[EvalRecord] = field(default_factory=list)
    past: list[briefing.LastIteration] = field(default_factory=list)
    start: EvalRecord | None = None
    """The starting reward's own record, when it trained in iteration 0."""


@dataclass(frozen=True)
class IterationOutcome:
    """An iteration's records and the best program after it (which may come from an earlier iteration)."""

    restart: int
    iteration: int
    records: tuple[EvalRecord, ...]
    best: EvalRecord | None
    reflection: str = ""


def init_program(config: SearchConfig, task: Any) -> tuple[str, str] | None:
    """(origin, source) of the starting reward; the LLM-free proposer always starts from one."""
    which = config.init or (None if config.llm else "human")
    if which is None:
        return None
    program = task.reward_program(which)
    return program.origin, program.source


def drive(
    store: RunStore,
    config: SearchConfig,
    task: Task,
    ref: TaskRef,
    progress: Progress | None = None,
    evaluator: Evaluator | None = None,
) -> Path:
    """Run (or continue) the search in `store` to the end; the run is `finished` when this returns.

    Training goes to `evaluator` (default: the one `config.executor` names, made here before any LLM
    call and closed at the end); the loop does not know which one it is.
    """
    progress = progress or Progress(config.iterations, config.restarts, enabled=False)
    own = evaluator is None
    store.start_heartbeat()
    try:
        if evaluator is None:
            evaluator = evaluate.evaluator_for(config, task, store)
        return _drive(store, config, task, ref, progress, evaluator)
    except BaseException as exc:
        store.stop_heartbeat()
        with contextlib.suppress(Exception):  # a damaged run.json must not hide the error itself
            store.set_status("failed", error=f"{type(exc).__name__}: {exc}")
            store.event("failed", error=f"{type(exc).__name__}: {exc}")
        progress.close()
        if not isinstance(exc, runfolder.RunFolderError):  # that one says itself what to do
            exc.add_note(RESUME_NOTE.format(root=store.root))
        raise
    finally:
        if own and evaluator is not None:
            with contextlib.suppress(Exception):
                evaluator.close()


def _drive(
    store: RunStore,
    config: SearchConfig,
    task: Task,
    ref: TaskRef,
    progress: Progress,
    evaluator: Evaluator,
) -> Path:
    """The search itself: restarts of N iterations, confirmation, final evaluation."""
    llm = _LLM(store, config) if config.llm else None
    winners: list[tuple[EvalRecord, float | None]] = []
    for r in range(config.restarts):
        state = _Restart()
        for i in range(config.iterations):
            done_before = store.layout.iteration(r, i).exists()  # a resumed run replays it from disk
            outcome = run_iteration(store, config, task, ref, r, i, state, llm, progress, evaluator)
            if not done_before:
                store.event(
                    "iteration_done",
                    restart=r,
                    iteration=i,
                    best=outcome.best.candidate.id if outcome.best else None,
                    best_fitness=outcome.best.fitness if outcome.best else None,
                )
        if config.confirm_top > 0:
            won, score = confirm.confirm(
                store, config, task, ref, r, state.history, progress, evaluator
            )
            if won is not None:
                winners.append((won, score))
        elif state.best is not None:
            winners.append((state.best, state.best.fitness))
    best, score = _best_of_restarts(winners)
    if config.final_seeds > 0:
        confirmed = score if config.confirm_top > 0 else None
        final_evaluation(
            store, config, task, ref, best, progress, confirmed=confirmed, evaluator=evaluator
        )
    store.stop_heartbeat()
    store.set_status("finished")
    store.event("finished", best=best.candidate.id if best else None)
    progress.close()
    return store.root


RESUME_NOTE = "everything finished so far is kept in {root}: `rewardlab resume {root}` continues the run"
"""Added to an error that ends a run: what the user can do next (the CLI prints it after the error)."""


def _best_of_restarts(
    winners: list[tuple[EvalRecord, float | None]],
) -> tuple[EvalRecord | None, float | None]:
    """The restart winner with the highest score (confirmed mean, or search fitness without
    confirmation); ties go to the earlier restart."""
    best: tuple[EvalRecord, float | None] | None = None
    for rec, score in winners:
        if score is None or not math.isfinite(score):
            continue
        if best is None or best[1] is None or score > best[1]:
            best = (rec, score)
    return best if best else (None, None)


class _LLM:
    """The backend, cache and ledger of a run (the backend is built per call: it owns its connections)."""

    def __init__(self, store: RunStore, config: SearchConfig) -> None:
        from rewardlab.llm import Ledger, ResponseCache

        self.config = config
        self.cache = ResponseCache(store.layout.llm_cache)
        self.ledger = Ledger(store.layout.llm_ledger)

    def backend(self) -> Any:
        from rewardlab.llm import backend_from_spec

        c = self.config
        return backend_from_spec(c.llm or "", timeout_s=c.llm_timeout_s, concurrency=c.llm_concurrency)

    def describe(self) -> str:
        s = self.ledger.summary()
        return f"llm {s.calls} calls, {s.prompt_tokens + s.completion_tokens} tok, ${s.cost_usd:.3f}"


def run_iteration(
    store: RunStore,
    config: SearchConfig,
    task: Task,
    ref: TaskRef,
    r: int,
    i: int,
    state: _Restart,
    llm: _LLM | None,
    progress: Progress,
    evaluator: Evaluator | None = None,
) -> IterationOutcome:
    """One iteration: propose K, check, train, select against the best so far, reflect."""
    K = config.samples
    for key in ("proposed", "checked", "valid", "done"):
        progress.state.pop(key, None)
    progress.update(
        restart=r, iteration=i, phase="proposing", best=_fit(state.best), llm=llm.describe() if llm else ""
    )
    init = init_program(config, task) if i == 0 else None
    parent_id, parent_source = _parent(state, r, init, config)
    if llm is not None:
        train_start = init is not None and config.train_init
        brief = (
            briefing.make_brief(config, task, r, i, state.past, state.start)
            if config.reflection == "table"
            else None
        )
        if state.best is None:
            messages = prompts.first_messages(
                task.context, task.description, init[1] if init else None, brief, init_trained=train_start
            )
            if state.errors:  # nothing has trained yet: say what went wrong last time
                note = prompts.load("errors").format(errors="\n".join(f"- {e}" for e in state.errors))
                messages[-1] = {"role": "user", "content": messages[-1]["content"] + "\n\n" + note}
        else:
            messages = prompts.next_messages(
                task.context,
                task.description,
                state.best.candidate.source or "",
                _fit(state.best) if _fit(state.best) is not None else math.nan,
                state.reflection,
                state.errors,
                state.comment,
                brief,
                briefing.elites_text(state.history, state.best, config.elites),
            )
        starts = [propose.propose_start(store, r, i, init)] if init is not None and train_start else []
        cands = starts + propose.propose_llm(
            store,
            r,
            i,
            K,
            messages,
            llm.backend,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
            ledger=llm.ledger,
            cache=llm.cache,
            first_index=(r * config.iterations + i) * K,
            offset=len(starts),
        )
    else:
        parents = [
            mutate.Parent(  # ranked: all valid
                rec.candidate.id, rec.candidate.source or "", float(rec.fitness or 0.0), reward_magnitude(rec)
            )
            for rec in select.ranked(state.history)[:4]
        ]
        start = init_program(config, task)
        if not parents and i > 0 and start is not None:  # every earlier candidate failed: start over
            parents = [mutate.Parent("init", start[1], math.nan)]
        cands = propose.propose_mutations(
            store,
            r,
            i,
            K,
            parents,
            [h.candidate.source or "" for h in state.history],
            seed=config.seed,
            scale=config.mutation_scale,
            init=init if i == 0 else None,
            features=shaping.features_for(task) if config.add_terms else (),
            scale_free=config.skip_rescales and config.ppo(task).normalize_reward,
        )
    progress.update(phase="checking", proposed=len(cands), llm=llm.describe() if llm else "")

    mode = config.check if config.check != "auto" else ("probe" if llm is not None else "static")
    seeds = [config.seed + s for s in range(config.seeds)]
    done = {"n": 0}

    def on_check(reports: dict) -> None:
        progress.update(
            phase="training", checked=len(reports), valid=sum(1 for x in reports.values() if x.ok), done=0
        )

    nodes: dict[str, int] = {}

    def on_event(ev: Any) -> None:
        if ev.kind == "finished":
            done["n"] += len(ev.candidates)
            node = ev.info.get("node")
            if node is not None:  # a remote evaluator names the node that trained the batch
                nodes[node] = nodes.get(node, 0) + 1
                progress.update(done=done["n"], nodes=_nodes_line(nodes))
            else:
                progress.update(done=done["n"])

    records = evaluate.evaluate(
        store,
        ref,
        cands,
        check_mode=mode,
        config=config.ppo(task),
        seeds=seeds,
        timeout_s=config.train_timeout_s,
        batch_size=config.batch_size,
        jax_cache_dir=config.jax_cache_dir,
        on_check=on_check,
        on_event=on_event,
        evaluator=evaluator,
        episode_steps=_episode_steps(task),
        warm_start=evaluate.warm_start_file(store, config),
        halving=config.halving_rungs(),
    )
    for rec in records:
        _write_feedback(store, rec)
    state.history.extend(records)
    best = select.select(records, state.best)
    errors = reflect.error_lines(records)
    reflection = reflect.reflect(best) if best is not None else ""
    comment = (
        _human_comment(store, config, r, i, best, reflection, progress)
        if config.feedback == "human"
        else None
    )
    if best is not None:
        state.best, state.reflection, state.comment = best, reflection, comment
    state.errors = errors
    state.past.append(briefing.LastIteration(i, tuple(records), parent_id, parent_source, state.best))
    if i == 0:
        state.start = next((x for x in records if reflect.is_start(x) and x.fitness is not None), None)
    outcome = IterationOutcome(r, i, tuple(records), best, reflection)
    runfolder.write_iteration(
        store.layout,
        IterationRecord(
            restart=r,
            iteration=i,
            candidates=tuple(Verdict.of(rec) for rec in records),
            best=best.candidate.id if best else None,
            best_fitness=best.fitness if best else None,
            reflection=reflection,
            errors=tuple(errors),
            comment=comment,
        ),
    )
    progress.update(phase="done", best=_fit(state.best), done=sum(1 for x in records if x.status == "ok"))
    return outcome


def _parent(
    state: _Restart, r: int, init: tuple[str, str] | None, config: SearchConfig
) -> tuple[str | None, str | None]:
    """(id, source) of the reward this iteration's candidates are asked to improve: the best so far,
    else the starting reward (named by its candidate id when it trains as candidate 0)."""
    if state.best is not None:
        return state.best.candidate.id, state.best.candidate.source
    if init is not None:
        trained = config.train_init or config.llm is None
        return (runfolder.candidate_id(r, 0, 0) if trained else f"the starting reward ({init[0]})"), init[1]
    return None, None


def reward_magnitude(rec: EvalRecord) -> float:
    """Typical size of a trained candidate's per-step reward (median over its checkpoints of
    |training return| / episode length); 1.0 when nothing was recorded."""
    vals = sorted(
        abs(cp.reward_return) / cp.episode_length
        for res in rec.results
        for cp in res.checkpoints
        if cp.episode_length > 0 and math.isfinite(cp.reward_return)
    )
    mid = vals[len(vals) // 2] if vals else 0.0
    return mid if mid > 1e-8 else 1.0


def _nodes_line(nodes: dict[str, int]) -> str:
    """`batches per node: a 3, b 2` for the progress line (node labels shortened to host/id)."""
    parts = [f"{label.split('/')[0]}/{label.split('/')[-1]} {n}" for label, n in sorted(nodes.items())]
    return "batches per node: " + ", ".join(parts)


def _episode_steps(task: Task) -> int | None:
    """The task's episode limit, or None when its environment does not say (no speed check then)."""
    steps = getattr(task.env, "max_episode_steps", None)
    return int(steps) if isinstance(steps, int) and steps > 0 else None


def _fit(rec: EvalRecord | None) -> float | None:
    return rec.fitness if rec is not None else None


def _write_feedback(store: RunStore, rec: EvalRecord) -> None:
    if runfolder.has_feedback(store.layout, rec.candidate):
        return
    text = reflect.reflect(rec) if rec.status == "ok" else (reflect.error_summary(rec) or "")
    runfolder.write_feedback(store.layout, rec.candidate, text)


def _human_comment(
    store: RunStore,
    config: SearchConfig,
    r: int,
    i: int,
    best: EvalRecord | None,
    reflection: str,
    progress: Progress,
) -> str | None:
    """Ask a person for a comment on the best candidate (once: it is stored with the iteration)."""
    stored = runfolder.read_comment(store.layout, r, i)
    if stored is not None:
        return stored or None
    progress.message(
        f"\nBest candidate after iteration {i}: "
        f"{best.candidate.id if best else 'none'} (fitness {_fit(best)})\n{reflection}"
    )
    if sys.stdin.isatty() and config.feedback_file is None:
        progress.message("Your comment for the next iteration (end with an empty line):")
        lines = []
        for line in sys.stdin:
            if not line.strip():
                break
            lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
    elif config.feedback_file is not None:
        text = Path(config.feedback_file).read_text(encoding="utf-8")
    else:
        text = sys.stdin.read()
    runfolder.write_comment(store.layout, r, i, text)
    store.event("human_feedback", restart=r, iteration=i, chars=len(text.strip()))
    return text.strip() or None
