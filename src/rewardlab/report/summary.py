"""`summary.json`: everything the report shows, rebuilt from the run folder alone.

Everything comes from the run folder's records (`rewardlab.runfolder`): a candidate's status is the one
`records.record` gives it, the same function the search used, so the report shows what the search saw
(and `pending` for a candidate a killed run had not checked or trained yet).
"""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

from rewardlab import runfolder
from rewardlab.report.headline import row_label
from rewardlab.report.stats import gap_noise, human_normalised, paired_difference, summarise
from rewardlab.runfolder import EvalRecord, IterationRecord, Layout
from rewardlab.search.host_specs import describe_stats
from rewardlab.store import RunStore


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


def candidate_row(rec: EvalRecord, layout: Layout) -> dict[str, Any]:
    """A candidate's line in the summary: its record's status, fitness and message."""
    c = rec.candidate
    row: dict[str, Any] = {
        "id": c.id,
        "index": c.index,
        "origin": c.origin,
        "note": c.note,
        "folder": str(layout.candidate_dir(c.restart, c.iteration, c.index).relative_to(layout.root)),
        "status": rec.status,
        "message": rec.message,  # an "ok" record has one only when successive halving stopped it
    }
    if rec.fitness is not None:
        row["fitness"] = rec.fitness
    return row


def build_summary(run_dir: str | Path) -> dict[str, Any]:
    store = RunStore(run_dir)
    layout = store.layout
    config = store.read_config()
    run = store.read_run()
    ref = runfolder.read_task_ref(layout)
    iterations: list[dict[str, Any]] = []
    records: list[IterationRecord | None] = []
    for r in range(int(config.get("restarts", 1))):
        for i in range(int(config.get("iterations", 1))):
            if not layout.iteration_dir(r, i).exists():
                continue
            info = runfolder.read_iteration(layout, r, i)
            cands = runfolder.read_records(layout, r, i)
            records.append(info)
            iterations.append(
                {
                    "restart": r,
                    "iteration": i,
                    "complete": info is not None,
                    "best": info.best if info else None,
                    "best_fitness": info.best_fitness if info else None,
                    "errors": list(info.errors) if info else [],
                    "candidates": [candidate_row(rec, layout) for rec in cands],
                }
            )
    return {
        "run": store.root.name,
        "task": ref.name if ref is not None else config.get("task"),
        "task_ref": ref.to_dict() if ref is not None else None,
        "status": "interrupted" if store.interrupted() else run.get("status"),
        "config": config,
        "llm": llm_used(store, config),
        "versions": run.get("versions"),
        "iterations": iterations,
        "confirmation": [
            conf.to_dict()
            for r in range(int(config.get("restarts", 1)))
            if (conf := runfolder.read_confirmation(layout, r)) is not None
        ],
        "winner": _winner(layout, [x for x in records if x is not None]),
        "final": _final(layout),
    }


def llm_used(store: RunStore, config: dict[str, Any]) -> dict[str, Any] | None:
    """Which LLM the run asked (None for an LLM-free run): the spec it asks now (config.yaml), every spec
    in the order the run used them (`rewardlab resume --llm` records each switch as `llm_changed`), and
    the models that answered with their calls, from the ledger (`cached`: answered from the cache)."""
    from rewardlab.llm.ledger import read_ledger

    changes = [
        {"old": e.get("old"), "new": e.get("new"), "time": e.get("time")}
        for e in store.events()
        if e.get("event") == "llm_changed"
    ]
    models: dict[tuple[str, str], dict[str, Any]] = {}
    ledger = store.layout.llm_ledger
    for entry in read_ledger(ledger) if ledger.exists() else []:
        row = models.setdefault((entry.backend, entry.model), {
            "backend": entry.backend, "model": entry.model, "calls": 0, "cached": 0})
        row["calls"] += 1
        row["cached"] += int(entry.cached)
    if not config.get("llm") and not changes and not models:
        return None
    specs = [changes[0]["old"], *(c["new"] for c in changes)] if changes else [config.get("llm")]
    return {"spec": config.get("llm"), "specs": specs, "changes": changes, "models": list(models.values())}


def _winner(layout: Layout, iterations: list[IterationRecord]) -> dict[str, Any] | None:
    """The candidate the final evaluation retrained, else the best after any iteration: its code, its
    diff against the best before its iteration, and its training curves."""
    final = runfolder.read_final(layout)
    if final is not None and final.method is not None:
        win_id = final.method.candidate
    else:
        done = [it for it in iterations if it.best]
        if not done:
            return None
        win_id = max(done, key=lambda it: it.best_fitness if it.best_fitness is not None else -math.inf).best
    assert win_id is not None
    win = runfolder.read_record(layout, *runfolder.parse_candidate_id(win_id))
    if win is None or win.candidate.source is None:
        return None
    # the previous best: the best after the iteration before the winner's, in the same restart
    c = win.candidate
    prev = next(
        (it.best for it in iterations if it.restart == c.restart and it.iteration == c.iteration - 1), None
    )
    prev_rec = runfolder.read_record(layout, *runfolder.parse_candidate_id(prev)) if prev else None
    prev_source = prev_rec.candidate.source or "" if prev_rec is not None else ""
    source = shown = c.source or ""
    if c.origin == "mutation" and prev_source:
        # mutations are re-printed from the syntax tree: compare canonical forms so the diff shows
        # the edits, not the lost comments and formatting
        prev_source = runfolder.canonical_source(prev_source) + "\n"
        shown = runfolder.canonical_source(source) + "\n"
    diff = "".join(
        difflib.unified_diff(
            prev_source.splitlines(True), shown.splitlines(True), fromfile=prev or "(nothing)", tofile=win_id
        )
    )
    trained = [x for x in win.results if x.checkpoints]
    curves = {k: [_num(v) for v in vals] for k, vals in runfolder.training_curves(trained).items()}
    steps = [cp.step for cp in trained[0].checkpoints] if trained else []
    return {"id": win_id, "source": source, "previous": prev, "diff": diff, "steps": steps, "curves": curves}


def _final(layout: Layout) -> dict[str, Any] | None:
    final = runfolder.read_final(layout)
    if final is None:
        return None
    rows = {}
    for name, results in final.results.items():
        vals = [r.max_fitness for r in results if r.ok]
        s = summarise(vals)
        errors = list(dict.fromkeys(f"{r.status}: {r.message}" for r in results if not r.ok))
        rows[name] = {**s.to_dict(), "failed": sum(1 for r in results if not r.ok), "errors": errors}
        stats = results[0].extra.get("host_rewards", {}) if results else {}
        if stats:  # a host baseline: what its LLM or model did, totals over its seeds
            rows[name]["host"] = [describe_stats(row_label(k), v) for k, v in stats.items()]
    out: dict[str, Any] = {
        "seeds": list(final.seeds),
        "method": final.method.to_dict() if final.method else None,
        "table": rows,
    }
    if "method" in rows:
        for stat in ("mean", "iqm"):
            hns = human_normalised(rows["method"][stat], rows["sparse"][stat], rows["human"][stat])
            out[f"human_normalised_{stat}"] = {"value": _num(hns.value), "message": hns.message}
        noise = gap_noise(rows["human"]["values"], rows["sparse"]["values"])
        out["human_sparse_gap"] = {
            "unreliable": noise.unreliable,
            "gap": _num(noise.gap),
            "noise": _num(noise.noise),
            "message": noise.message,
        }
    if "method" in final.results and "human" in final.results:
        per_seed = {
            name: {r.seed: r.max_fitness for r in final.results[name] if r.ok} for name in ("method", "human")
        }
        paired = paired_difference(per_seed["method"], per_seed["human"])
        ci = [_num(paired.ci_low), _num(paired.ci_high)]
        same = bool(final.method and final.method.same_as_human)
        out["method_minus_human"] = {
            **paired.to_dict(), "mean": _num(paired.mean), "ci": ci, "same_reward": same
        }
    return out
