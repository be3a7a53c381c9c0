"""Probe child: `python -m rewardlab.sandbox._probe_child JOB_DIR` checks candidates one after another.

Reads `job.json` (candidates with their tasks, limits), hardens itself, samples transitions from each
task's environment once, then for each candidate: marks it as current (`current.json`), re-applies the
static policy, loads the program with restricted builtins, traces it under `jax.jit(jax.vmap(...))`
on the sampled transitions, runs it, checks the contract and writes `results/<i>.json`. The parent
watches the files and kills the process when a candidate overruns its wall-clock budget.
"""

from __future__ import annotations

import ast
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from rewardlab.sandbox.guard import exit_with_parent, harden, read_json, write_json_atomic
from rewardlab.sandbox.report import CheckReport, Limits, Magnitude

MAX_COMPONENTS = 32
LARGE_MAGNITUDE = 1e6


def main(job_dir: Path) -> int:
    job = read_json(job_dir / "job.json")
    limits = Limits.from_dict(job["limits"])
    harden(limits, file_size_mb=64)
    exit_with_parent()

    import jax
    import numpy as np

    from rewardlab import tasks
    from rewardlab.sandbox.errors import CpuTimeExceeded, classify_exception
    from rewardlab.sandbox.guard import CpuBudget, install_audit_hook
    from rewardlab.sandbox.transitions import sample_transitions

    batches = {}
    for name in dict.fromkeys(c["task"] for c in job["candidates"]):
        batches[name] = sample_transitions(
            tasks.get(name), n=int(job.get("n_transitions", 64)), seed=int(job.get("seed", 0))
        )
    warm = jax.jit(jax.vmap(lambda s, a, ns: a))  # start the backend before any candidate is timed
    for b in batches.values():
        np.asarray(warm(b.state, b.action, b.next_state))
    budget = CpuBudget()
    install_audit_hook([job_dir])
    results = job_dir / "results"
    results.mkdir(exist_ok=True)
    write_json_atomic(job_dir / "ready.json", {"pid": os.getpid()})

    for i, cand in enumerate(job["candidates"]):
        write_json_atomic(job_dir / "current.json", {"index": i})
        t0 = time.perf_counter()
        batch = batches[cand["task"]]
        fields = tuple(getattr(batch.next_state, "__dataclass_fields__", {}))
        try:
            budget.arm(limits.cpu_s)
            report = _check_one(cand["source"], batch, fields, np, jax)
        except CpuTimeExceeded as exc:
            c = classify_exception(exc, cand["source"].splitlines(), fields)
            report = CheckReport.failure("timeout", c.message, line=c.line, stage="probe")
        finally:
            budget.disarm()
        report = report.with_(name=cand["name"], seconds=time.perf_counter() - t0)
        write_json_atomic(results / f"{i}.json", report.to_dict())
    return 0


def _check_one(source: str, batch: Any, fields: tuple[str, ...], np: Any, jax: Any) -> CheckReport:
    from rewardlab.sandbox.errors import OutputContractError, classify_exception
    from rewardlab.sandbox.restricted import ProgramLoadError, load_untrusted
    from rewardlab.sandbox.static import check_static

    static = check_static(source)
    if not static.ok:
        return static
    lines = source.splitlines()
    warnings: list[str] = []
    try:
        fn = load_untrusted(source)
    except ProgramLoadError as exc:
        return CheckReport.failure(exc.kind, exc.message, line=exc.line, stage="probe")  # type: ignore[arg-type]
    except Exception as exc:  # the module body raised: the candidate's fault, classified
        c = classify_exception(exc, lines, fields)
        return CheckReport.failure(c.kind, c.message, line=c.line, stage="probe")  # type: ignore[arg-type]

    def checked(s: Any, a: Any, ns: Any) -> Any:
        return _normalize(fn(s, a, ns), warnings, jax)

    try:
        traced = jax.jit(jax.vmap(checked)).trace(batch.state, batch.action, batch.next_state)
        compiled = traced.lower().compile()
        total, comps = compiled(batch.state, batch.action, batch.next_state)
        total = np.asarray(total)
        comps = {k: np.asarray(v) for k, v in comps.items()}
    except OutputContractError as exc:
        return CheckReport.failure("shape", str(exc), line=_return_line(source), stage="probe")
    except Exception as exc:
        c = classify_exception(exc, lines, fields)
        line = c.line if c.kind != "shape" else (c.line or _return_line(source))
        return CheckReport.failure(c.kind, c.message, line=line, stage="probe")  # type: ignore[arg-type]
    bad = _non_finite(total, comps, batch, np)
    if bad:
        return CheckReport.failure("non_finite", bad, line=_return_line(source), stage="probe")
    mags = {k: _magnitude(v, np) for k, v in comps.items()}
    total_mag = _magnitude(total, np)
    if float(np.ptp(total)) == 0.0:
        warnings.append(f"total is {float(total[0]):.3g} on every sampled transition")
    for k, m in [("total", total_mag), *mags.items()]:
        if max(abs(m.min), abs(m.max)) > LARGE_MAGNITUDE:
            peak = max(abs(m.min), abs(m.max))
            warnings.append(f"{k} reaches {peak:.3g}: rewards this large destabilise PPO")
    return CheckReport(ok=True, stage="probe", total=total_mag, components=mags,
                       warnings=tuple(dict.fromkeys(warnings)))


def _normalize(out: Any, warnings: list[str], jax: Any) -> Any:
    """Check the contract on traced values (per-transition shapes under vmap); return float32 scalars."""
    from rewardlab.sandbox.errors import OutputContractError

    jnp = jax.numpy
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise OutputContractError(
            f"compute_reward must return a pair (total, components); it returned {_describe(out)}"
        )
    total, comps = out
    total = _scalar("total", total, warnings, jax)
    if not isinstance(comps, dict):
        raise OutputContractError(
            f"components must be a dict mapping names to scalars; got {_describe(comps)}"
        )
    if len(comps) > MAX_COMPONENTS:
        raise OutputContractError(f"at most {MAX_COMPONENTS} components are allowed (got {len(comps)})")
    clean = {}
    for k, v in comps.items():
        if not isinstance(k, str) or not k or len(k) > 64:
            raise OutputContractError(
                f"component names must be non-empty strings of <= 64 chars; got {k!r:.80}"
            )
        clean[k] = _scalar(f"component {k!r}", v, warnings, jax)
    return total, {k: jnp.reshape(v, ()) for k, v in clean.items()}


def _scalar(label: str, value: Any, warnings: list[str], jax: Any) -> Any:
    from rewardlab.sandbox.errors import OutputContractError

    jnp = jax.numpy
    if isinstance(value, bool | int | float):
        return jnp.reshape(jnp.asarray(value, jnp.float32), ())
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    if shape is None or dtype is None:
        raise OutputContractError(f"{label} must be a number or a jnp scalar; got {_describe(value)}")
    if math.prod(shape) != 1:
        raise OutputContractError(
            f"{label} has shape {tuple(shape)} for a single transition; it must be a scalar (shape ()). "
            "compute_reward sees one transition at a time: reduce with jnp.sum / jnp.mean or index the array"
        )
    if jnp.issubdtype(dtype, jnp.complexfloating) or not (
        jnp.issubdtype(dtype, jnp.number) or jnp.issubdtype(dtype, jnp.bool_)
    ):
        raise OutputContractError(f"{label} has dtype {dtype}; it must be a real number (float)")
    if jnp.issubdtype(dtype, jnp.bool_):
        warnings.append(f"{label} is a boolean; it is used as 0/1 (jnp.where(cond, 1.0, 0.0) says so)")
    return jnp.reshape(jnp.asarray(value, jnp.float32), ())


def _describe(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} values"
    shape = getattr(value, "shape", None)
    if shape is not None:
        return f"an array of shape {tuple(shape)}"
    return f"a {type(value).__name__}"


def _non_finite(total: Any, comps: dict[str, Any], batch: Any, np: Any) -> str:
    from rewardlab.sandbox.transitions import describe_state

    named = [("total", total), *comps.items()]
    bad = [(k, ~np.isfinite(v)) for k, v in named if not np.all(np.isfinite(v))]
    if not bad:
        return ""
    name, mask = bad[0]
    idx = int(np.flatnonzero(mask)[0])
    kinds = "NaN" if np.isnan(dict(named)[name][idx]) else "infinite"
    msg = (f"{name} is {kinds} on {int(mask.sum())} of {mask.size} sampled transitions, e.g. with "
           f"next_state: {describe_state(batch.next_state, idx)}")
    others = [k for k, _ in bad[1:] if k != "total"]
    if others:
        msg += f"; also non-finite: {', '.join(others[:5])}"
    return msg + (". Hint: guard divisions (x / jnp.maximum(d, 1e-6)), logs (jnp.log(jnp.maximum(x, 1e-6)))"
                  " and exponentials (jnp.exp(jnp.clip(x, -20, 20))); keep constants inside float32 range.")


def _magnitude(values: Any, np: Any) -> Magnitude:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return Magnitude(mean_abs=float(np.mean(np.abs(v))), min=float(v.min()), max=float(v.max()))


def _return_line(source: str) -> int | None:
    """Line of the last `return` in compute_reward (where a wrong return value is built)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "compute_reward":
            returns = [n.lineno for n in ast.walk(node) if isinstance(n, ast.Return)]
            return max(returns) if returns else node.lineno
    return None


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
