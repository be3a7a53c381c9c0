"""Frozen configuration records, one help text per field.

Every knob a user can turn lives in exactly one dataclass here, so the CLI, the run folder's
`config.yaml` and the docs all read the same names and the same explanations.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class PPOConfig:
    """Hyper-parameters of the JAX PPO engine (PureJaxRL-style, clipped objective, GAE).

    Each task carries defaults that solve it with its human reward; override single fields with
    `dataclasses.replace` or `rewardlab train --set name=value`.
    """

    total_timesteps: int = _f(200_000, "Environment steps per training run (per candidate and seed).")
    num_envs: int = _f(8, "Parallel environments per run.")
    num_steps: int = _f(64, "Steps collected per environment between two updates (rollout length).")
    update_epochs: int = _f(4, "Passes over each rollout batch.")
    num_minibatches: int = _f(4, "Minibatches per epoch (the batch is num_envs * num_steps transitions).")
    lr: float = _f(2.5e-4, "Adam learning rate.")
    anneal_lr: bool = _f(True, "Decay the learning rate linearly to zero over the run.")
    gamma: float = _f(0.99, "Discount factor.")
    gae_lambda: float = _f(0.95, "GAE lambda.")
    clip_eps: float = _f(0.2, "PPO ratio clipping.")
    ent_coef: float = _f(0.01, "Entropy bonus coefficient.")
    vf_coef: float = _f(0.5, "Value-loss coefficient.")
    max_grad_norm: float = _f(0.5, "Global gradient-norm clip.")
    hidden: tuple[int, ...] = _f(
        (64, 64), "Hidden (dense) layer sizes of the actor and of the critic (separate networks)."
    )
    torso: str = _f(
        "mlp",
        "Network body: mlp (the flattened observation into the hidden layers) or cnn (3x3 convolutions "
        "over the observation grid, then the hidden layers; for image-like observations).",
    )
    conv: tuple[int, ...] = _f((16,), "Output channels of each 3x3 convolution of the cnn torso.")
    conv_stride: int = _f(
        2, "Stride of the cnn torso's convolutions (2 halves each side of the grid per layer)."
    )
    activation: str = _f("tanh", "Hidden activation: tanh or relu.")
    normalize_obs: bool = _f(False, "Normalise observations with running mean/variance.")
    normalize_reward: bool = _f(False, "Scale rewards by a running std of the discounted return.")
    log_std_init: float = _f(
        0.0, "Initial log standard deviation of the Gaussian policy (continuous actions)."
    )
    n_checkpoints: int = _f(10, "Checkpoints per run at which fitness and reward components are recorded.")
    eval_episodes: int = _f(16, "Evaluation episodes per checkpoint (run in parallel).")
    eval_greedy: bool = _f(
        True,
        "Evaluate with the policy's most likely action; false samples actions, for deterministic games "
        "in which a greedy policy plays the same episode every time.",
    )

    def __post_init__(self) -> None:
        problems = []
        for name in (
            "total_timesteps",
            "num_envs",
            "num_steps",
            "update_epochs",
            "num_minibatches",
            "n_checkpoints",
            "eval_episodes",
            "conv_stride",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1 (got {getattr(self, name)})")
        if (self.num_envs * self.num_steps) % self.num_minibatches:
            problems.append(
                f"num_envs * num_steps ({self.num_envs * self.num_steps}) must be divisible by "
                f"num_minibatches ({self.num_minibatches})"
            )
        if not 0.0 < self.gamma <= 1.0:
            problems.append(f"gamma must be in (0, 1] (got {self.gamma})")
        if not 0.0 <= self.gae_lambda <= 1.0:
            problems.append(f"gae_lambda must be in [0, 1] (got {self.gae_lambda})")
        if self.lr <= 0:
            problems.append(f"lr must be > 0 (got {self.lr})")
        if self.torso not in ("mlp", "cnn"):
            problems.append(f"torso must be 'mlp' or 'cnn' (got {self.torso!r})")
        if self.torso == "cnn" and (not self.conv or min(self.conv) < 1):
            problems.append(f"the cnn torso needs conv channel counts >= 1 (got {self.conv})")
        if self.activation not in ("tanh", "relu"):
            problems.append(f"activation must be 'tanh' or 'relu' (got {self.activation!r})")
        if problems:
            raise ValueError("invalid PPOConfig: " + "; ".join(problems))

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_updates(self) -> int:
        """PPO updates: the budget rounded to the nearest whole number of equal checkpoint intervals."""
        per = max(1, round(self.total_timesteps / (self.batch_size * self.n_checkpoints)))
        return per * self.n_checkpoints


def field_help(cls: type) -> dict[str, str]:
    """Help text of every field of a config dataclass, for `--help` and the docs."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}


def apply_overrides(config: Any, overrides: dict[str, str]) -> Any:
    """Return `config` with string overrides (`{"lr": "1e-3"}`) parsed to each field's type.

    Unknown names and unparsable values raise ValueError naming the field and the valid choices,
    so a typo on the command line never silently trains with the default.
    """
    fields = {f.name: f for f in dataclasses.fields(config)}
    changes: dict[str, Any] = {}
    for name, raw in overrides.items():
        if name not in fields:
            raise ValueError(f"unknown setting {name!r}; valid: {', '.join(sorted(fields))}")
        current = getattr(config, name)
        try:
            changes[name] = _parse_like(current, raw)
        except ValueError as exc:
            raise ValueError(f"bad value for {name}: {raw!r} ({exc})") from None
    return dataclasses.replace(config, **changes)


def _parse_like(current: Any, raw: str) -> Any:
    if isinstance(current, bool):
        low = raw.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("expected true/false")
    if isinstance(current, int):
        return (
            int(float(raw)) if raw.replace("_", "").replace("e", "").replace(".", "").isdigit() else int(raw)
        )
    if isinstance(current, float):
        return float(raw)
    if isinstance(current, tuple):
        return tuple(int(x) for x in raw.replace("x", ",").split(",") if x.strip())
    return raw
