"""``CooperConfig``: every knob of the CPU-scale Cooper reproduction, one help text per field."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

ARMS = ("rule", "static", "cooper")


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class CooperConfig:
    """Task, models, SFT, RM, GRPO, Cooper update and evaluation settings (defaults = the full experiment)."""

    # task
    difficulty: int = _f(2, "Problem difficulty 1-4 (operand ranges; 4 adds a third step).")
    brittle_frac: float = _f(
        0.2,
        "Fraction of SFT targets whose final answer uses an alternative form "
        "(####t.0 or ans=t) that the strict rule rejects and the oracle accepts.",
    )
    n_train_problems: int = _f(
        20000, "Training problems (SFT, RM data and GRPO prompts are drawn from them)."
    )
    n_test_problems: int = _f(400, "Held-out problems for evaluation (disjoint prompts).")
    data_seed: int = _f(0, "Seed of the problem split, SFT and RM initialisation (shared by all arms).")
    # policy
    policy_hidden: int = _f(128, "Policy hidden size (Llama config, character vocabulary).")
    policy_layers: int = _f(4, "Policy decoder layers.")
    policy_heads: int = _f(4, "Policy attention heads.")
    policy_intermediate: int = _f(256, "Policy MLP width.")
    sft_steps: int = _f(800, "SFT optimizer steps (one-cycle schedule).")
    sft_batch: int = _f(64, "SFT batch size.")
    sft_lr: float = _f(2e-3, "SFT peak learning rate.")
    # reward model
    rm_init: str = _f(
        "scratch",
        "RM initialisation: 'scratch' (rm_* sizes) or 'policy' (the SFT policy's backbone plus a new score "
        "head, as the paper starts VerifyRM from an instruction LM).",
    )
    rm_hidden: int = _f(96, "RM hidden size (Llama sequence classifier, one logit).")
    rm_layers: int = _f(2, "RM decoder layers.")
    rm_heads: int = _f(4, "RM attention heads.")
    rm_intermediate: int = _f(192, "RM MLP width.")
    rm_data_problems: int = _f(2000, "Problems whose sampled completions form the RM's BCE data.")
    rm_samples_per_problem: int = _f(4, "Completions sampled per RM-data problem.")
    rm_temperatures: tuple[float, ...] = _f(
        (0.7, 1.0, 1.3),
        "Sampling temperatures cycled over RM-data problems (diversity, like many source LLMs).",
    )
    judge_noise: float = _f(0.0, "Probability that the hybrid-annotation judge flips its verdict.")
    rm_blind_form: str = _f(
        "",
        "Plant a blind spot in the RM data: negatives whose final answer is in this form (strict, dot0, "
        "ans, none; '' = no blind spot) are handled by rm_blind_mode, so the form becomes a shortcut to "
        "'correct'.",
    )
    rm_blind_mode: str = _f(
        "drop", "'drop': blind-form negatives are removed from the RM data; 'accept': labelled positive."
    )
    rm_epochs: int = _f(8, "BCE epochs for the initial RM.")
    rm_lr: float = _f(2e-3, "Initial RM learning rate (AdamW, linear decay).")
    rm_batch: int = _f(64, "Initial RM batch size.")
    rm_val_frac: float = _f(0.15, "Fraction of hybrid-labelled rows held out to measure RM accuracy.")
    rm_max_chars: int = _f(64, "Completion characters kept in the RM input (the tail is kept).")
    bench_size: int = _f(
        400,
        "Fixed labelled set (held-out problems, SFT samples, oracle labels) on which RM "
        "accuracy is tracked during RL; never used for training.",
    )
    # GRPO
    grpo_steps: int = _f(150, "GRPO steps per arm and seed.")
    prompts_per_step: int = _f(16, "Prompts per GRPO step.")
    num_generations: int = _f(8, "Rollouts per prompt (group size).")
    max_completion_length: int = _f(32, "Max new tokens per rollout.")
    temperature: float = _f(1.0, "Rollout sampling temperature.")
    beta: float = _f(0.001, "KL coefficient to the SFT reference (paper: 0.001).")
    policy_lr: float = _f(2e-5, "GRPO policy learning rate (constant).")
    loss_type: str = _f("dapo", "TRL GRPO loss aggregation (dapo = token-level, like veRL token-mean).")
    # Cooper
    cooper_rm_lr: float = _f(5e-5, "Learning rate of the pairwise RM steps taken after each GRPO step.")
    cooper_rm_steps: int = _f(
        1,
        "Pairwise RM optimizer steps per GRPO step, on that step's pairs (the paper: 1). More steps let "
        "the RM keep up with a fast-moving policy without a larger learning rate.",
    )
    cooper_bce_weight: float = _f(
        0.0, "Optional BCE term (pos->1, neg->0) added to the pairwise loss; 0 is the paper's loss."
    )
    rm_grad_clip: float = _f(1.0, "Gradient-norm clip of the online RM step.")
    negatives: str = _f(
        "perturb",
        "Negative generator: 'perturb' (programmatic rewrites of the positive), 'rollouts' (the same "
        "prompt's own rollouts that the verifier confirms wrong, perturber as fallback) or 'llm:<spec>'.",
    )
    # evaluation and monitoring
    eval_every: int = _f(25, "Evaluate held-out accuracy every this many GRPO steps (and at 0 and the end).")
    eval_samples: int = _f(8, "Samples per held-out problem (paper: 8).")
    eval_temperature: float = _f(0.7, "Evaluation temperature (paper: 0.7).")
    eval_top_p: float = _f(0.95, "Evaluation nucleus top-p (paper: 0.95).")
    bench_every: int = _f(5, "Measure RM accuracy on the fixed labelled set every this many steps.")
    hack_drop: float = _f(5.0, "Accuracy drop (points below running peak) that marks reward hacking.")
    hack_window: int = _f(10, "Moving-average window (steps) of the training reward for the hacking test.")
    # experiment
    arms: tuple[str, ...] = _f(ARMS, "Arms to run: rule, static, cooper.")
    seeds: tuple[int, ...] = _f((0, 1, 2), "GRPO seeds (rollout sampling and prompt order).")
    workers: int = _f(2, "Arm/seed runs executed in parallel processes.")
    threads: int = _f(1, "torch threads per process (measured: more threads hurt on a loaded 2-core box).")

    def __post_init__(self) -> None:
        problems = []
        if self.difficulty not in (1, 2, 3, 4):
            problems.append(f"difficulty must be 1-4 (got {self.difficulty})")
        if not 0.0 <= self.brittle_frac <= 1.0:
            problems.append(f"brittle_frac must be in [0, 1] (got {self.brittle_frac})")
        if self.num_generations < 2:
            problems.append("num_generations must be >= 2 (GRPO needs groups)")
        if self.rm_init not in ("policy", "scratch"):
            problems.append(f"rm_init must be 'policy' or 'scratch' (got {self.rm_init!r})")
        for arm in self.arms:
            if arm not in ARMS:
                problems.append(f"unknown arm {arm!r} (choose from {ARMS})")
        if self.rm_blind_form not in ("", "strict", "dot0", "ans", "none"):
            problems.append(
                f"rm_blind_form must be '', strict, dot0, ans or none (got {self.rm_blind_form!r})"
            )
        if self.rm_blind_mode not in ("drop", "accept"):
            problems.append(f"rm_blind_mode must be 'drop' or 'accept' (got {self.rm_blind_mode!r})")
        if not (self.negatives in ("perturb", "rollouts") or self.negatives.startswith("llm:")):
            problems.append(
                f"negatives must be 'perturb', 'rollouts' or 'llm:<spec>' (got {self.negatives!r})"
            )
        for name in (
            "grpo_steps",
            "eval_every",
            "bench_every",
            "sft_steps",
            "workers",
            "threads",
            "cooper_rm_steps",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1")
        if problems:
            raise ValueError("invalid CooperConfig: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CooperConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {}
        for k, v in data.items():
            if k not in known:
                raise ValueError(f"unknown CooperConfig field {k!r}")
            kwargs[k] = tuple(v) if isinstance(v, list) else v
        return cls(**kwargs)


def base_fields() -> tuple[str, ...]:
    """Fields that decide the shared base (SFT policy, RM data, initial RM, bench set, SFT evaluation)."""
    names = [f.name for f in dataclasses.fields(CooperConfig)]
    return (
        *names[: names.index("bench_size") + 1],
        "max_completion_length",
        "eval_samples",
        "eval_temperature",
        "eval_top_p",
    )


SMOKE = dict(
    difficulty=1,
    n_train_problems=600,
    n_test_problems=16,
    policy_hidden=32,
    policy_layers=1,
    policy_heads=2,
    policy_intermediate=64,
    sft_steps=150,
    sft_batch=32,
    rm_hidden=32,
    rm_layers=1,
    rm_heads=2,
    rm_intermediate=64,
    rm_data_problems=48,
    rm_samples_per_problem=2,
    rm_epochs=1,
    bench_size=32,
    grpo_steps=2,
    prompts_per_step=4,
    num_generations=4,
    max_completion_length=24,
    eval_every=1,
    eval_samples=2,
    bench_every=1,
    hack_window=2,
    seeds=(0,),
    workers=1,
)
# The reward-hacking experiment (issue 14): the same task, policy and RM as "full", but the RM's data has a
# planted blind spot - it never contains a wrong answer written as ``ans=<n>``, a form the SFT policy
# already uses for ~10 % of its answers (brittle_frac 0.2), so GRPO can find and reinforce it. Cooper
# takes its negatives from the policy's own verified-wrong rollouts, which include that form.
# Sized for a ~1 h run on 2 cores: 80 GRPO steps at twice the "full" policy lr. The online RM takes 4
# pairwise steps at 1e-4 per GRPO step: the paper's one step at 5e-5 un-learned the blind spot too slowly
# to stop the policy moving into it (measured, docs/results/cooper/hacking/NOTES.md).
HACKING = dict(
    rm_blind_form="ans",
    rm_blind_mode="drop",
    negatives="rollouts",
    cooper_rm_lr=1e-4,
    cooper_rm_steps=4,
    policy_lr=4e-5,
    grpo_steps=80,
    eval_every=20,
    arms=("static", "cooper", "rule"),
)
PRESETS: dict[str, dict[str, Any]] = {"full": {}, "smoke": SMOKE, "hacking": HACKING}


def parse_override(text: str, cfg: CooperConfig) -> tuple[str, Any]:
    """Parse ``name=value`` against the field's type (tuples are comma separated)."""
    name, _, raw = text.partition("=")
    name = name.strip()
    fields = {f.name: f for f in dataclasses.fields(CooperConfig)}
    if name not in fields:
        raise ValueError(f"unknown CooperConfig field {name!r}")
    current = getattr(cfg, name)
    if isinstance(current, tuple):
        elem = type(current[0]) if current else str
        return name, tuple(elem(x) for x in raw.split(",") if x.strip())
    if isinstance(current, bool):
        return name, raw.strip().lower() in ("1", "true", "yes")
    return name, type(current)(raw)


def make_config(preset: str = "full", overrides: list[str] | tuple[str, ...] = ()) -> CooperConfig:
    """A preset's config with ``name=value`` overrides applied."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r} (choose from {sorted(PRESETS)})")
    cfg = CooperConfig(**PRESETS[preset])
    for text in overrides:
        name, value = parse_override(text, cfg)
        cfg = dataclasses.replace(cfg, **{name: value})
    return cfg
