"""What the probe checks on a loaded program: it traces, compiles and runs, and honours the contract.

Runs in the probe child only. The program is wrapped so that its return value is checked while it is
being traced (under `vmap` a traced value shows the shape of one transition), which lets the message
say "component 'x' has shape (2,)" instead of an XLA error; then the compiled function runs on the
sampled transitions and every term must be finite. That call is timed (`CheckReport.call_seconds`) so
that a reward too slow to train within its time limit can be refused before it trains (`sandbox.cost`).
"""

from __future__ import annotations

import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from rewardlab.sandbox.errors import OutputContractError, classify_exception
from rewardlab.sandbox.lines import at_line, return_line, value_line
from rewardlab.sandbox.report import CheckReport, Magnitude
from rewardlab.sandbox.restricted import ProgramLoadError, load_untrusted
from rewardlab.sandbox.static import check_static
from rewardlab.sandbox.transitions import Batch, describe_state

MAX_COMPONENTS = 32
LARGE_MAGNITUDE = 1e6
NON_FINITE_HINT = (
    ". Hint: guard divisions (x / jnp.maximum(d, 1e-6)), logs (jnp.log(jnp.maximum(x, 1e-6))) and "
    "exponentials (jnp.exp(jnp.clip(x, -20, 20))); keep constants inside float32 range."
)


def check_candidate(source: str, batch: Batch, fields: tuple[str, ...]) -> CheckReport:
    """Static policy, restricted load, trace + compile + run on `batch`, contract and finiteness checks."""
    static = check_static(source)
    if not static.ok:
        return static
    lines = source.splitlines()
    warnings: list[str] = list(static.warnings)
    try:
        fn = load_untrusted(source)
    except ProgramLoadError as exc:
        return CheckReport.failure(exc.kind, exc.message, line=exc.line, stage="probe")  # type: ignore[arg-type]
    except Exception as exc:  # the module body raised: the candidate's fault, classified
        c = classify_exception(exc, lines, fields)
        return CheckReport.failure(c.kind, c.message, line=c.line, stage="probe")  # type: ignore[arg-type]

    with_env = _takes_env_reward(fn)

    def checked(s: Any, a: Any, ns: Any, r: Any) -> Any:
        return _normalize(fn(s, a, ns, r) if with_env else fn(s, a, ns), warnings)

    args = (batch.state, batch.action, batch.next_state, batch.env_reward)
    try:
        traced = jax.jit(jax.vmap(checked)).trace(*args)
        compiled = traced.lower().compile()
        t0 = time.perf_counter()
        total, comps = jax.block_until_ready(compiled(*args))
        call_s = time.perf_counter() - t0
        # Time it again, whatever it took: a first call can pay one-off costs, and on a busy machine a
        # microsecond reward's single call was once timed at 7.5 ms (a slow reward pays one more call).
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        call_s = min(call_s, time.perf_counter() - t0)
        total = np.asarray(total)
        comps = {k: np.asarray(v) for k, v in comps.items()}
    except OutputContractError as exc:
        line = return_line(source)
        return CheckReport.failure("shape", at_line(line, lines, str(exc)), line=line, stage="probe")
    except Exception as exc:
        c = classify_exception(exc, lines, fields)
        if c.kind == "shape" and c.line is None:
            line = return_line(source)
            return CheckReport.failure("shape", at_line(line, lines, c.message), line=line, stage="probe")
        return CheckReport.failure(c.kind, c.message, line=c.line, stage="probe")  # type: ignore[arg-type]
    bad_name, bad = _non_finite(total, comps, batch)
    if bad:
        line = value_line(source, bad_name)
        return CheckReport.failure("non_finite", at_line(line, lines, bad), line=line, stage="probe")
    mags = {k: _magnitude(v) for k, v in comps.items()}
    total_mag = _magnitude(total)
    if float(np.ptp(total)) == 0.0:
        warnings.append(f"total is {float(total[0]):.3g} on every sampled transition")
    for k, m in [("total", total_mag), *mags.items()]:
        if max(abs(m.min), abs(m.max)) > LARGE_MAGNITUDE:
            peak = max(abs(m.min), abs(m.max))
            warnings.append(f"{k} reaches {peak:.3g}: rewards this large destabilise PPO")
    return CheckReport(ok=True, stage="probe", total=total_mag, components=mags,
                       warnings=tuple(dict.fromkeys(warnings)), call_seconds=call_s)


def _takes_env_reward(fn: Any) -> bool:
    """The static policy allows three parameters or four (`env_reward` last); count the code's own."""
    return fn.__code__.co_argcount == 4


def _normalize(out: Any, warnings: list[str]) -> Any:
    """Check the contract on traced values (per-transition shapes under vmap); return float32 scalars."""
    if not isinstance(out, tuple | list) or len(out) != 2:
        raise OutputContractError(
            f"compute_reward must return a pair (total, components); it returned {_describe(out)}"
        )
    total, comps = out
    total = _scalar("total", total, warnings)
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
        clean[k] = _scalar(f"component {k!r}", v, warnings)
    return total, {k: jnp.reshape(v, ()) for k, v in clean.items()}


def _scalar(label: str, value: Any, warnings: list[str]) -> Any:
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


def _non_finite(total: Any, comps: dict[str, Any], batch: Batch) -> tuple[str, str]:
    """(name of the first non-finite term, message), or ("", "") when everything is finite."""
    named = [*comps.items(), ("total", total)]
    bad = [(k, ~np.isfinite(v)) for k, v in named if not np.all(np.isfinite(v))]
    if not bad:
        return "", ""
    name, mask = bad[0]
    idx = int(np.flatnonzero(mask)[0])
    kinds = "NaN" if np.isnan(dict(named)[name][idx]) else "infinite"
    msg = (f"{name} is {kinds} on {int(mask.sum())} of {mask.size} sampled transitions, e.g. with "
           f"next_state: {describe_state(batch.next_state, idx)}")
    others = [k for k, _ in bad[1:]]
    if others:
        msg += f"; also non-finite: {', '.join(others[:5])}"
    return name, msg + NON_FINITE_HINT


def _magnitude(values: Any) -> Magnitude:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    return Magnitude(mean_abs=float(np.mean(np.abs(v))), min=float(v.min()), max=float(v.max()))
