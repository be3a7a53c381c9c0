"""What checking a reward program produces: a `CheckReport`, and the `Limits` a check runs under.

A report is the one record a candidate's check turns into, whether it passed or failed, so that it can
be written to a run folder (`check.json`), shown to a person (`rewardlab check`) and pasted back to an
LLM (`feedback()`). Its `message` is written for that last reader: short, naming the rule and the line
of the candidate's own code, with no paths of this machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Kind = Literal["syntax", "policy", "signature", "trace", "shape", "non_finite", "timeout", "memory", "crash"]
KINDS: tuple[str, ...] = (
    "syntax", "policy", "signature", "trace", "shape", "non_finite", "timeout", "memory", "crash",
)
"""Every way a check can fail. `crash` is a child process that died without saying why (a signal)."""

KIND_HELP: dict[str, str] = {
    "syntax": "the code does not parse or compile",
    "policy": "the code uses something reward programs may not use (imports, files, dunders, ...)",
    "signature": "compute_reward is missing, duplicated or has the wrong parameters",
    "trace": "the code raised an error while being traced with jax.jit + jax.vmap",
    "shape": "the return value is not (scalar total, dict of scalar components)",
    "non_finite": "the reward is NaN or infinite on some sampled transitions",
    "timeout": "the check ran out of time (wall clock or CPU)",
    "memory": "the check ran out of memory",
    "crash": "the checking process died",
}


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed child process (per candidate for probes, per batch for training).

    `memory_mb` caps the child's data segment (RLIMIT_DATA: heap and private writable mappings), which
    tracks what the process really uses; RLIMIT_AS would also count the gigabytes of address space that
    XLA and thread stacks reserve without touching. None switches a limit off.
    """

    wall_s: float | None = 30.0
    cpu_s: float | None = 30.0
    memory_mb: int | None = 3072

    def __post_init__(self) -> None:
        for name in ("wall_s", "cpu_s", "memory_mb"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ValueError(f"Limits.{name} must be > 0 or None (got {v!r})")

    def to_dict(self) -> dict[str, Any]:
        return {"wall_s": self.wall_s, "cpu_s": self.cpu_s, "memory_mb": self.memory_mb}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Limits:
        return Limits(**{k: data.get(k) for k in ("wall_s", "cpu_s", "memory_mb")})


@dataclass(frozen=True)
class Magnitude:
    """Typical size of one reward term over the sampled transitions."""

    mean_abs: float
    min: float
    max: float

    def to_dict(self) -> dict[str, float]:
        return {"mean_abs": self.mean_abs, "min": self.min, "max": self.max}


@dataclass(frozen=True)
class CheckReport:
    """The outcome of checking one reward program.

    `ok` is True only if the program passed every stage that ran (static policy, and the probe when
    one ran: `stage` says which was last). On failure `kind` is one of `KINDS`, `message` says what to
    change, `line` is the candidate's line number when one is known and `rule` names the static rule
    that rejected it. On success `total` and `components` give typical magnitudes over the probe's
    sampled transitions, which tells an LLM (and a person) whether the terms are on sensible scales.
    """

    ok: bool
    kind: Kind | None = None
    message: str = ""
    line: int | None = None
    rule: str | None = None
    name: str = ""
    stage: Literal["static", "probe"] = "static"
    total: Magnitude | None = None
    components: dict[str, Magnitude] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    call_seconds: float | None = None
    """Probe only: wall seconds of one compiled call on the sampled transitions (what `sandbox.cost`
    turns into an estimate of the reward's share of a training run)."""

    def __post_init__(self) -> None:
        if self.ok and self.kind is not None:
            raise ValueError("a passing CheckReport has no failure kind")
        if not self.ok and self.kind not in KINDS:
            raise ValueError(f"a failing CheckReport needs a kind from {KINDS}, got {self.kind!r}")

    @staticmethod
    def failure(
        kind: Kind, message: str, line: int | None = None, rule: str | None = None, **kw: Any
    ) -> CheckReport:
        return CheckReport(ok=False, kind=kind, message=message, line=line, rule=rule, **kw)

    def with_(self, **changes: Any) -> CheckReport:
        return replace(self, **changes)

    def feedback(self) -> str:
        """The text to paste back to the LLM that wrote the program."""
        if self.ok:
            parts = ["The reward function passed the check."]
            if self.total is not None:
                parts.append(f"total: {_fmt_mag(self.total)}")
            parts += [f"{k}: {_fmt_mag(v)}" for k, v in self.components.items()]
            parts += [f"note: {w}" for w in self.warnings]
            return "\n".join(parts)
        return f"The reward function failed the check ({self.kind}: {KIND_HELP[self.kind]}).\n{self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "kind": self.kind,
            "message": self.message,
            "line": self.line,
            "rule": self.rule,
            "name": self.name,
            "stage": self.stage,
            "total": self.total.to_dict() if self.total else None,
            "components": {k: v.to_dict() for k, v in self.components.items()},
            "warnings": list(self.warnings),
            "seconds": _json_float(self.seconds),
            "call_seconds": None if self.call_seconds is None else _json_float(self.call_seconds),
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> CheckReport:
        total = data.get("total")
        return CheckReport(
            ok=bool(data["ok"]),
            kind=data.get("kind"),
            message=data.get("message", ""),
            line=data.get("line"),
            rule=data.get("rule"),
            name=data.get("name", ""),
            stage=data.get("stage", "static"),
            total=Magnitude(**total) if total else None,
            components={k: Magnitude(**v) for k, v in (data.get("components") or {}).items()},
            warnings=tuple(data.get("warnings") or ()),
            seconds=float(data.get("seconds") or 0.0),
            call_seconds=None if data.get("call_seconds") is None else float(data["call_seconds"]),
        )


def _json_float(x: float) -> float:
    return x if math.isfinite(x) else 0.0


def _fmt_mag(m: Magnitude) -> str:
    return f"typical |value| {m.mean_abs:.3g}, range [{m.min:.3g}, {m.max:.3g}]"
