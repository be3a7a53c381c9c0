"""`SearchConfig`: every knob of the Eureka search, one help text per field.

The search trains each candidate with a smaller budget than the task's own PPO defaults (the
`timesteps` field; 0 keeps the task's budget), because on a CPU the search trains hundreds of runs.
The final evaluation trains the winner and the two baselines with that same budget and engine, so
the comparison is fair whatever the budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rewardlab.config import PPOConfig


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class SearchConfig:
    """The Eureka loop: K samples per iteration, N iterations, R restarts, then a multi-seed evaluation."""

    task: str = _f("CartPole-v1", "Registered task name (see `rewardlab tasks`).")
    llm: str | None = _f(
        None,
        "LLM spec (openai:M[@URL], ollama:M, anthropic:M, manual:DIR, scripted:FILE); "
        "None uses the LLM-free proposer (search/mutate.py).",
    )
    samples: int = _f(16, "Candidates proposed per iteration (the paper's K).")
    iterations: int = _f(5, "Iterations per restart (the paper's N).")
    restarts: int = _f(1, "Independent restarts; the best reward over all restarts is evaluated.")
    seeds: int = _f(1, "Training seeds per candidate during the search; fitness is their mean.")
    final_seeds: int = _f(
        5, "Fresh seeds for the final evaluation of the winner and the baselines; 0 skips it."
    )
    init: str | None = _f(
        None,
        "Start from an existing reward: 'human' or a path to a .py file; iteration 0 then "
        "mutates it instead of writing one from scratch (always 'human' for the LLM-free proposer).",
    )
    feedback: str = _f("auto", "auto: automatic reward reflection; human: ask a person after each iteration.")
    feedback_file: str | None = _f(
        None, "With feedback=human off a terminal: a file whose text is read as the person's comment."
    )
    seed: int = _f(0, "Seed of the LLM-free proposer and of the training seeds.")
    timesteps: int = _f(0, "Environment steps per candidate training run; 0 keeps the task's default budget.")
    n_checkpoints: int = _f(5, "Checkpoints per training run (fitness = max over checkpoints).")
    eval_episodes: int = _f(8, "Greedy evaluation episodes per checkpoint.")
    temperature: float = _f(1.0, "LLM sampling temperature.")
    max_tokens: int = _f(2048, "LLM reply length limit.")
    llm_timeout_s: float = _f(300.0, "Per-request LLM timeout in seconds.")
    check: str = _f(
        "auto",
        "Pre-training check: probe (sandboxed trace on sampled transitions), static (AST only), "
        "auto (probe for LLM code, static for mutations of already-checked programs).",
    )
    train_timeout_s: float = _f(600.0, "Wall-clock limit of one training batch (and of each solo retry).")
    batch_size: int = _f(16, "Candidates trained together in one compiled program (one worker).")
    jax_cache_dir: str | None = _f(
        None, "Persistent JAX compilation cache; default: the run folder's jax_cache/."
    )
    mutation_scale: float = _f(
        0.5, "Std of the log-normal factor applied to constants by the LLM-free proposer."
    )
    add_terms: bool = _f(
        True,
        "Let the LLM-free proposer add shaping terms built from one state variable (search/shaping.py).",
    )
    confirm_top: int = _f(
        4,
        "Before the final evaluation, retrain this many of each restart's best candidates (plus the "
        "starting reward) on fresh seeds and keep the best on those seeds; 0 keeps the single-run best.",
    )
    confirm_seeds: int = _f(3, "Fresh seeds per candidate for that confirmation.")

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be >= 1 (got {getattr(self, name)})"
            for name in (
                "samples",
                "iterations",
                "restarts",
                "seeds",
                "n_checkpoints",
                "eval_episodes",
                "batch_size",
            )
            if getattr(self, name) < 1
        ]
        if self.feedback not in ("auto", "human"):
            problems.append(f"feedback must be auto or human (got {self.feedback!r})")
        if self.check not in ("auto", "probe", "static"):
            problems.append(f"check must be auto, probe or static (got {self.check!r})")
        if self.confirm_top < 0 or self.confirm_seeds < 1:
            problems.append("confirm_top must be >= 0 and confirm_seeds >= 1")
        if self.timesteps < 0 or self.final_seeds < 0:
            problems.append("timesteps and final_seeds must be >= 0")
        if problems:
            raise ValueError("invalid SearchConfig: " + "; ".join(problems))

    def ppo(self, task_ppo: PPOConfig) -> PPOConfig:
        """The PPO config one candidate trains with: the task's, with the search budget applied."""
        changes: dict[str, Any] = {"n_checkpoints": self.n_checkpoints, "eval_episodes": self.eval_episodes}
        if self.timesteps:
            changes["total_timesteps"] = self.timesteps
        return dataclasses.replace(task_ppo, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> SearchConfig:
        """The config stored in a run folder. Fields added since a run was created take the value that
        reproduces how that run behaved (`LEGACY`), so resuming an old run does not change its method."""
        names = {f.name for f in dataclasses.fields(SearchConfig)}
        return SearchConfig(**{**LEGACY, **{k: v for k, v in data.items() if k in names}})


LEGACY: dict[str, Any] = {"add_terms": False, "confirm_top": 0}
"""Values of later-added fields for run folders whose config.yaml predates them."""


DEFAULT_TIMESTEPS: dict[str, int] = {
    "CartPole-v1": 8_192,
    "Pendulum-v1": 98_304,
    "Acrobot-v1": 65_536,
}
"""Search budgets the CLI uses when `--timesteps` is not given: small enough for a laptop CPU and short
enough that the human reward has not saturated the fitness, so the search optimises how fast a reward
teaches the task. (With 32,768 steps the human reward already reaches CartPole's maximum of 500 at some
checkpoint; with 8,192 it does not. On Pendulum-v1 the human reward's best upright fraction, averaged
over seeds, was 0.23 at 81,920 steps (6 seeds), 0.58 at 98,304 (8 seeds) and 0.80 at 131,072 (5 seeds),
about what a swing-up from a random start allows, so 131,072 left a search little to find and 65,536
taught no reward anything.)"""
