"""`summary.json`: everything the report shows, rebuilt from the run folder alone."""

from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any

from rewardlab.report.stats import human_normalised, summarise
from rewardlab.store import RunStore, read_json
from rewardlab.types import TrainResult


def _num(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def _candidates(folder: Path) -> list[dict[str, Any]]:
    out = []
    for cdir in sorted(folder.glob("cand_*")):
        meta_path = cdir / "candidate.json"
        if not meta_path.exists():
            continue
        meta = read_json(meta_path)
        row: dict[str, Any] = {
            "index": meta["index"],
            "origin": meta["origin"],
            "note": meta.get("note", ""),
            "folder": str(cdir.relative_to(folder.parent)),
        }
        check = read_json(cdir / "check.json") if (cdir / "check.json").exists() else None
        results = (
            [TrainResult.from_dict(d) for d in read_json(cdir / "result.json")["results"]]
            if (cdir / "result.json").exists()
            else None
        )
        if not meta.get("has_code"):
            row.update(status="no_code", message=meta.get("extract_reason") or "")
        elif check is None or not check["ok"]:
            row.update(
                status="check_failed",
                message=f"{check['kind']}: {check['message']}" if check else "not checked",
            )
        elif results is None:
            row.update(status="not_trained", message="")
        elif all(r.ok and math.isfinite(r.max_fitness) for r in results):
            row.update(status="ok", fitness=sum(r.max_fitness for r in results) / len(results), message="")
        else:
            bad = next(r for r in results if not (r.ok and math.isfinite(r.max_fitness)))
            row.update(status="train_failed", message=f"{bad.status}: {bad.message}")
        out.append(row)
    return out


def build_summary(run_dir: str | Path) -> dict[str, Any]:
    store = RunStore(run_dir)
    root = store.root
    config = store.read_config()
    run = store.read_run()
    iterations = []
    for r in range(int(config.get("restarts", 1))):
        for i in range(int(config.get("iterations", 1))):
            folder = store.iteration_dir(r, i)
            if not folder.exists():
                continue
            info = read_json(folder / "iteration.json") if (folder / "iteration.json").exists() else {}
            iterations.append(
                {
                    "restart": r,
                    "iteration": i,
                    "complete": bool(info),
                    "best": info.get("best"),
                    "best_fitness": _num(info.get("best_fitness")),
                    "errors": info.get("errors", []),
                    "candidates": _candidates(folder),
                }
            )
    summary: dict[str, Any] = {
        "run": root.name,
        "task": config.get("task"),
        "status": run.get("status"),
        "config": config,
        "versions": run.get("versions"),
        "iterations": iterations,
        "confirmation": _confirmations(store, int(config.get("restarts", 1))),
        "winner": _winner(store, iterations),
        "final": _final(store),
    }
    return summary


def _confirmations(store: RunStore, restarts: int) -> list[dict[str, Any]]:
    """Each restart's confirmation (shortlist retrained on fresh seeds), where it ran."""
    from rewardlab.search.confirm import confirm_path

    return [read_json(p) for r in range(restarts) if (p := confirm_path(store, r)).exists()]


def _folder_of(store: RunStore, cand_id: str) -> Path:
    r, i, c = (int(p[1:]) for p in cand_id.split("-"))
    return store.candidate_dir(r, i, c)


def _winner(store: RunStore, iterations: list[dict[str, Any]]) -> dict[str, Any] | None:
    final_path = store.final_dir / "results.json"
    if final_path.exists() and read_json(final_path).get("method"):
        win_id = read_json(final_path)["method"]["candidate"]
    else:
        done = [it for it in iterations if it["best"]]
        if not done:
            return None
        win_id = max(done, key=lambda it: it["best_fitness"] or -math.inf)["best"]
    folder = _folder_of(store, win_id)
    source = (folder / "reward.py").read_text(encoding="utf-8")
    # the previous best: the best after the iteration before the winner's, in the same restart
    r, i, _ = (int(p[1:]) for p in win_id.split("-"))
    prev = next((it["best"] for it in iterations if it["restart"] == r and it["iteration"] == i - 1), None)
    prev_source = (_folder_of(store, prev) / "reward.py").read_text(encoding="utf-8") if prev else ""
    meta = read_json(folder / "candidate.json") if (folder / "candidate.json").exists() else {}
    if meta.get("origin") == "mutation" and prev_source:
        # mutations are re-printed from the syntax tree: compare canonical forms so the diff shows
        # the edits, not the lost comments and formatting
        from rewardlab.search.mutate import normalize

        prev_source, shown = normalize(prev_source) + "\n", normalize(source) + "\n"
    else:
        shown = source
    diff = "".join(
        difflib.unified_diff(
            prev_source.splitlines(True), shown.splitlines(True), fromfile=prev or "(nothing)", tofile=win_id
        )
    )
    curves: dict[str, list[float | None]] = {}
    steps: list[int] = []
    if (folder / "result.json").exists():
        results = [TrainResult.from_dict(d) for d in read_json(folder / "result.json")["results"]]
        results = [x for x in results if x.checkpoints]
        if results:
            from rewardlab.search.reflect import statistics

            curves = {k: [_num(v) for v in vals] for k, vals in statistics(results).items()}
            steps = [c.step for c in results[0].checkpoints]
    return {"id": win_id, "source": source, "previous": prev, "diff": diff, "steps": steps, "curves": curves}


def _final(store: RunStore) -> dict[str, Any] | None:
    path = store.final_dir / "results.json"
    if not path.exists():
        return None
    data = read_json(path)
    rows = {}
    for name, dicts in data["results"].items():
        results = [TrainResult.from_dict(d) for d in dicts]
        vals = [r.max_fitness for r in results if r.ok]
        s = summarise(vals)
        errors = list(dict.fromkeys(f"{r.status}: {r.message}" for r in results if not r.ok))
        rows[name] = {**s.to_dict(), "failed": sum(1 for r in results if not r.ok), "errors": errors}
    out: dict[str, Any] = {"seeds": data["seeds"], "method": data.get("method"), "table": rows}
    if "method" in rows:
        for stat in ("mean", "iqm"):
            hns = human_normalised(rows["method"][stat], rows["sparse"][stat], rows["human"][stat])
            out[f"human_normalised_{stat}"] = {"value": _num(hns.value), "message": hns.message}
    return out
