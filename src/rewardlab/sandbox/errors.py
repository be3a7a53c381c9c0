"""Turning an exception raised by candidate code into a short, classified message for the LLM.

The traceback is cut down to the candidate's own frames (filename `<reward>`), each shown with its
line of source, because the frames inside jax, the engine and this sandbox are noise to the reader
and leak paths of this machine. Common JAX mistakes get a one-line hint that says what to write
instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rewardlab.sandbox.allowlist import REWARD_FILENAME

MAX_MESSAGE_CHARS = 900
MAX_FRAMES = 4


class CpuTimeExceeded(BaseException):
    """Raised in the child by the SIGXCPU handler when a candidate uses up its CPU-time budget.

    A BaseException, so that `except Exception:` in candidate code cannot swallow it (bare `except:`
    is refused by the static policy).
    """


class OutputContractError(Exception):
    """The program ran but returned something other than (scalar total, dict of scalar components)."""


@dataclass(frozen=True)
class Classified:
    kind: str
    message: str
    line: int | None


_HINTS: dict[str, str] = {
    "TracerBoolConversionError": (
        "Python `if`, `while`, `and`, `or` and `not` cannot branch on traced values: use "
        "jnp.where(cond, a, b), jnp.logical_and / jnp.logical_or, or jnp.maximum / jnp.minimum"
    ),
    "ConcretizationTypeError": (
        "a value that depends on the state was used where a Python constant is needed (a shape, "
        "range(), a Python branch): keep shapes constant and use jnp.where for conditions"
    ),
    "TracerIntegerConversionError": (
        "int() or Python indexing on a traced value: use jnp operations (jnp.take, jnp.where) instead"
    ),
    "TracerArrayConversionError": (
        "numpy or float() was applied to a traced value: use jax.numpy (jnp) functions throughout"
    ),
    "UnexpectedTracerError": "do not store traced values outside compute_reward (no globals, no caches)",
    "RecursionError": "a function calls itself without end; reward code should not recurse",
    "ZeroDivisionError": "guard divisions, e.g. x / jnp.maximum(d, 1e-6)",
}

_PATH = re.compile(r"(?:[A-Za-z]:)?(?:/[\w.\-+~@]+){2,}")
_URL = re.compile(r"\s*(?:See|see|For more information, see)?\s*https?://\S+")


def clean_text(text: str, limit: int = 300) -> str:
    """First meaningful line(s) of an error text, without machine paths and documentation links."""
    text = _URL.sub("", text)
    text = _PATH.sub("<path>", text)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    out = lines[0] if lines else ""
    if len(out) < 60 and len(lines) > 1:
        out = f"{out} {lines[1]}"
    return out if len(out) <= limit else out[: limit - 3] + "..."


def candidate_frames(exc: BaseException) -> list[tuple[int, str]]:
    """(line, function) of every `<reward>` frame in the exception's traceback, outermost first.

    JAX re-raises trace-time errors with the original attached as `__cause__`; the first exception
    in the chain that has candidate frames wins.
    """
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        frames: list[tuple[int, str]] = []
        tb = cur.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            if code.co_filename == REWARD_FILENAME:
                frames.append((tb.tb_lineno, code.co_name))
            tb = tb.tb_next
        if frames:
            return frames
        cur = cur.__cause__ or cur.__context__
    return []


def classify_exception(
    exc: BaseException, source_lines: Sequence[str], state_fields: Sequence[str] = ()
) -> Classified:
    """Kind, message and candidate line for an exception raised while loading, tracing or running."""
    name = type(exc).__name__
    raw = str(exc)
    frames = candidate_frames(exc)
    line = frames[-1][0] if frames else None
    if isinstance(exc, CpuTimeExceeded):
        kind = "timeout"
        head = f"the program used more than its CPU-time budget ({raw})"
        hint = "look for loops that never end or work that grows with a huge constant"
    elif isinstance(exc, MemoryError) or "RESOURCE_EXHAUSTED" in raw or "Out of memory" in raw:
        kind = "memory"
        head = "ran out of memory" + (f": {clean_text(raw, 160)}" if raw else "")
        hint = "the reward must not build large arrays or lists; work on the scalar fields of the state"
    elif isinstance(exc, OutputContractError):
        kind, head, hint = "shape", raw, ""
    else:
        kind = "trace"
        head = f"{name}: {clean_text(raw)}" if raw else name
        hint = _HINTS.get(name, "")
        if name == "RecursionError":
            head = "RecursionError: maximum recursion depth exceeded"
        elif isinstance(exc, AttributeError) and state_fields and "has no attribute" in raw:
            hint = f"state fields are: {', '.join(state_fields)}"
        elif isinstance(exc, NameError):
            hint = "only jnp, jax and math are predefined; import what else you need from the allowed modules"
        elif name == "TypeError" and "not a valid JAX type" in raw:
            kind = "shape"
            hint = "return (total, {name: scalar}) with jnp arrays or Python numbers only"
    return Classified(kind, _compose(head, hint, frames, source_lines), line)


def _compose(head: str, hint: str, frames: list[tuple[int, str]], source_lines: Sequence[str]) -> str:
    parts = [head]
    collapsed: list[tuple[int, str, int]] = []
    for lineno, fn in frames:
        if collapsed and collapsed[-1][:2] == (lineno, fn):
            collapsed[-1] = (lineno, fn, collapsed[-1][2] + 1)
        else:
            collapsed.append((lineno, fn, 1))
    for lineno, fn, count in collapsed[-MAX_FRAMES:]:
        text = source_lines[lineno - 1].strip() if 0 < lineno <= len(source_lines) else ""
        where = f"line {lineno}, in {fn}" if fn != "<module>" else f"line {lineno} (module level)"
        again = f"  (repeated {count} times)" if count > 1 else ""
        parts.append(f"  {where}: {text[:160]}{again}")
    if hint:
        parts.append(f"Hint: {hint}.")
    msg = "\n".join(parts)
    return msg if len(msg) <= MAX_MESSAGE_CHARS else msg[: MAX_MESSAGE_CHARS - 3] + "..."
