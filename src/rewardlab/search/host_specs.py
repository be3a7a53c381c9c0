"""Reward specs naming host reward sources, for `rewardlab train --reward` and `rewardlab search --baseline`.

    human                    the task's human reward (code, compiled)
    judge:objective.txt      an LLM judge of the objective in the file (a host reward source)
    human+judge:obj.txt      both: each step's reward is the sum of their components
    vlm:a pole upright       VLM-RM: CLIP's similarity of each rendered frame to the goal (an encoder folder)
    ellm                     ELLM: goals an LLM suggests from the task's captions
    sparse+ellm              the environment's reward plus ELLM's goal reward
    my_reward.py+judge:o.txt a reward file with the judge (only when trusted: it runs in this process)

A spec with a host part trains in this process (the host source needs the network and the LLM client; no
LLM-written code runs in it), which is why a reward file may join one only when the user vouches for it.
Everything here is checked before anything trains, so a wrong spec costs nothing: `check_options` needs
no task (it runs before the task is built, which can take seconds), `check_for_task` what the task must
offer. The module sits in `search` because both `rewardlab train` (api) and the search's final
evaluation use it, and it needs the `Task` (tasks) and the engine (engines), which `rewards` may not import.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardlab.rewards.host import HostReward
from rewardlab.tasks.base import Task
from rewardlab.types import RewardProgram, TrainResult

BASELINES = ("human", "sparse")
HOST_KINDS = ("judge", "vlm")
"""Host reward kinds a spec may name (`KIND:ARGUMENT`)."""
BARE_HOST_KINDS = ("ellm",)
"""Host reward kinds named without an argument (their settings are options)."""
LLM_KINDS = ("judge", "ellm")
"""Host reward kinds that ask an LLM."""


@dataclass(frozen=True)
class RewardSpec:
    """One `--reward` value split into its code part (a baseline name, a file, or none) and host parts."""

    text: str
    code: str | None
    host: tuple[tuple[str, str], ...]  # (kind, argument)
    option: str = "--reward"  # the option it came from, for errors

    @property
    def label(self) -> str:
        return f"{self.option} {self.text!r}"

    @property
    def has_host(self) -> bool:
        return bool(self.host)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind, _ in self.host)


@dataclass(frozen=True)
class HostOptions:
    """The settings of host reward sources. The field names are `rewardlab train`'s option names, so
    `from_namespace(args)` reads them; the search builds one from its config (`search.final`)."""

    llm: str | None = None
    trusted: bool = False
    out: str | None = None
    judge_cache: str | None = None
    judge_default: float = 0.0
    judge_concurrency: int = 4
    judge_timeout: float = 120.0
    encoder: str | None = None
    vlm_baseline: str | None = None
    vlm_alpha: float = 0.0
    vlm_batch: int = 64
    embedder: str | None = None
    ellm_threshold: float = 0.6
    ellm_cache: str | None = None
    ellm_concurrency: int = 4
    ellm_timeout: float = 120.0

    @staticmethod
    def from_namespace(ns: Any) -> HostOptions:
        """The options an argparse namespace holds (fields it lacks keep their defaults)."""
        names = [f.name for f in dataclasses.fields(HostOptions)]
        return HostOptions(**{n: getattr(ns, n) for n in names if getattr(ns, n, None) is not None})


def parse_reward_spec(text: str, what: str = "--reward") -> RewardSpec:
    """Split `text` on `+`; at most one code part, host parts named `KIND:ARGUMENT`. `what` names the
    option in errors."""
    if "+" not in text and text.strip() not in BARE_HOST_KINDS and not _looks_like_host(text):
        return RewardSpec(text, text, (), what)
    code: list[str] = []
    host: list[tuple[str, str]] = []
    for part in (p.strip() for p in text.split("+")):
        if not part:
            raise ValueError(f"{what} {text!r} has an empty part around a '+'")
        if part in BASELINES or part.endswith(".py"):
            code.append(part)
            continue
        if part in BARE_HOST_KINDS:
            host.append((part, ""))
            continue
        kind, sep, arg = part.partition(":")
        if not sep or kind not in HOST_KINDS:
            raise ValueError(
                f"{what} {text!r}: unknown reward kind {part!r}; a part is human, sparse, a reward file "
                f"(.py), judge:OBJECTIVE.txt, vlm:GOAL SENTENCE or ellm"
            )
        if not arg.strip():
            example = "judge:OBJECTIVE.txt" if kind == "judge" else "vlm:'a pole balanced upright'"
            raise ValueError(f"{what} {text!r}: {kind}: needs an argument ({example})")
        host.append((kind, arg.strip()))
    if len(code) > 1:
        raise ValueError(f"{what} {text!r} combines {len(code)} code rewards; combine at most one with '+'")
    return RewardSpec(text, code[0] if code else None, tuple(host), what)


def _looks_like_host(text: str) -> bool:
    kind, sep, _ = text.partition(":")
    return bool(sep) and not text.endswith(".py") and kind.isidentifier() and not Path(text).exists()


def check_options(
    spec: RewardSpec, opts: HostOptions, *, llm_hint: str = "--llm SPEC", encoder_hint: str = "--encoder DIR"
) -> None:
    """What a host-rewarded training needs apart from the task (an LLM named, readable files, settings
    in range, the extras installed), raised before the task is built. The hints say how to name an LLM
    and a CLIP folder."""
    if spec.code is not None and spec.code not in BASELINES and not opts.trusted:
        raise ValueError(
            f"{spec.label} combines the reward file {spec.code} with a host reward, which trains "
            "in this process without the sandbox; pass --trusted if the file is your own code"
        )
    for kind, arg in spec.host:
        if kind in LLM_KINDS and not opts.llm:
            asks = "an LLM judge" if kind == "judge" else "an LLM for goals"
            raise ValueError(f"{spec.label} asks {asks}: name the LLM with {llm_hint}")
        if kind == "judge":
            from rewardlab.rewards.judge import JudgeSettings, read_objective

            read_objective(arg)
            _judge_settings(opts, JudgeSettings)
        elif kind == "vlm":
            _check_vlm(spec, opts, encoder_hint)
        elif kind == "ellm":
            from rewardlab.rewards.ellm import ELLMSettings
            from rewardlab.rewards.embedder import bundled_model_dir, check_libraries, check_model_dir

            _ellm_settings(opts, ELLMSettings)
            check_libraries()
            if opts.embedder:
                check_model_dir(opts.embedder)
            else:
                bundled_model_dir()


def _check_vlm(spec: RewardSpec, opts: HostOptions, encoder_hint: str) -> None:
    from rewardlab.rewards.clip_encoder import check_libraries

    if not opts.encoder:
        raise ValueError(
            f"{spec.label} scores frames with CLIP: name the model folder with {encoder_hint} (a "
            "CLIPModel.save_pretrained folder, see docs/vlm_rm.md)"
        )
    if not 0.0 <= opts.vlm_alpha <= 1.0:
        raise ValueError(f"--vlm-alpha must be between 0 and 1 (got {opts.vlm_alpha:g})")
    if opts.vlm_alpha > 0 and not opts.vlm_baseline:
        raise ValueError("--vlm-alpha > 0 projects onto the baseline-to-goal direction: give --vlm-baseline")
    if not Path(opts.encoder).expanduser().is_dir():
        raise ValueError(f"{encoder_hint.split()[0]} {opts.encoder!r} is not a folder")
    check_libraries()


def check_for_task(spec: RewardSpec, task: Task) -> None:
    """What the task must offer the spec's host sources (a describer, a renderer, a captioner, the
    engine that has the host path)."""
    if task.engine != "ppo_jax":
        raise ValueError(
            f"{spec.label}: host rewards need the ppo_jax engine; task {task.name} trains on {task.engine}"
        )
    for kind, _ in spec.host:
        if kind == "judge" and task.describe_episode is None:
            raise ValueError(
                f"{spec.label}: task {task.name} has no describe_episode, so an LLM judge cannot be told "
                "what happened in an episode (give the Task a describe_episode)"
            )
        if kind == "vlm" and task.render is None:
            raise ValueError(
                f"{spec.label}: task {task.name} has no render, so a vision-language model cannot see it "
                "(give the Task a render function, see docs/vlm_rm.md)"
            )
        if kind == "ellm" and task.caption is None:
            raise ValueError(
                f"{spec.label}: task {task.name} has no caption, so ELLM cannot tell an LLM what the agent "
                "sees or what it did (give the Task a caption function, see docs/reward_sources.md)"
            )


def check_host_spec(spec: RewardSpec, task: Task, opts: HostOptions) -> None:
    """Both checks: everything that would stop a host-rewarded training, raised before anything runs."""
    check_options(spec, opts)
    check_for_task(spec, task)


def build_sources(spec: RewardSpec, task: Task, opts: HostOptions) -> list[HostReward]:
    """The host reward sources a checked spec names, ready to train with (LLM endpoints checked)."""
    return [_BUILDERS[kind](arg, task, opts) for kind, arg in spec.host]


def train_spec(
    task: Task,
    spec: RewardSpec,
    code: RewardProgram | None,
    sources: Sequence[HostReward],
    config: Any,
    seeds: Sequence[int],
    progress: Callable[[Any], None] | None = None,
    **engine_options: Any,
) -> list[TrainResult]:
    """Train one spec in this process: its code part (`code`, loaded here, so trusted) plus its host
    sources, one run per seed named `spec.text`; the sources are closed at the end. `engine_options` go
    to `ppo_jax.train_fns` as they are (e.g. a warm start)."""
    from rewardlab.engines import ppo_jax
    from rewardlab.rewards.program import load_reward_fn

    fn = load_reward_fn(code) if code is not None else _no_code_reward
    try:
        return ppo_jax.train_fns(
            task,
            [(spec.text, fn)],
            config,
            list(seeds),
            progress=progress,
            host=list(sources),
            pad_single=False,  # a padded twin of a lone run would double the LLM's or encoder's work
            **engine_options,
        )
    finally:
        for src in sources:
            src.close()


def _no_code_reward(state: Any, action: Any, next_state: Any) -> tuple[float, dict]:
    """The code part of a spec that has only host rewards: nothing."""
    return 0.0, {}


def _answer_cache_dir(given: str | None, out: str | None, kind: str) -> Path:
    """`given` (`--judge-cache`, `--ellm-cache`), else `OUT/<kind>_cache` with `--out`, else the user's
    cache folder's `<kind>`."""
    if given:
        return Path(given)
    if out:
        return Path(out) / f"{kind}_cache"
    from rewardlab.jax_cache import default_cache_dir

    return default_cache_dir().parent / kind


def judge_cache_dir(opts: HostOptions) -> Path:
    """`--judge-cache`, else `OUT/judge_cache` with `--out`, else the user's cache folder."""
    return _answer_cache_dir(opts.judge_cache, opts.out, "judge")


def _judge_settings(opts: HostOptions, settings_cls: Any) -> Any:
    return settings_cls(
        default=opts.judge_default, concurrency=opts.judge_concurrency, answer_timeout_s=opts.judge_timeout
    )


def _judge(arg: str, task: Task, opts: HostOptions) -> HostReward:
    from rewardlab.llm.preflight import check_backend
    from rewardlab.llm.spec import backend_from_spec
    from rewardlab.rewards.judge import JudgeReward, JudgeSettings, read_objective

    assert opts.llm is not None and task.describe_episode is not None
    backend = backend_from_spec(opts.llm, timeout_s=opts.judge_timeout, concurrency=opts.judge_concurrency)
    check_backend(backend)  # an endpoint that does not answer is an error now, not a training of defaults
    return JudgeReward(
        read_objective(arg),
        task.describe_episode,
        backend,
        cache_dir=judge_cache_dir(opts),
        settings=_judge_settings(opts, JudgeSettings),
        name=f"judge:{arg}",
    )


def ellm_cache_dir(opts: HostOptions) -> Path:
    """`--ellm-cache`, else `OUT/ellm_cache` with `--out`, else the user's cache folder."""
    return _answer_cache_dir(opts.ellm_cache, opts.out, "ellm")


def _ellm_settings(opts: HostOptions, settings_cls: Any) -> Any:
    return settings_cls(
        threshold=opts.ellm_threshold, concurrency=opts.ellm_concurrency, answer_timeout_s=opts.ellm_timeout
    )


def _ellm(arg: str, task: Task, opts: HostOptions) -> HostReward:
    from rewardlab.llm.preflight import check_backend
    from rewardlab.llm.spec import backend_from_spec
    from rewardlab.rewards.ellm import ELLMReward, ELLMSettings
    from rewardlab.rewards.embedder import SentenceEmbedder

    assert opts.llm is not None and task.caption is not None
    backend = backend_from_spec(opts.llm, timeout_s=opts.ellm_timeout, concurrency=opts.ellm_concurrency)
    check_backend(backend)  # an endpoint that does not answer is an error now, not a training without goals
    return ELLMReward(
        task.caption,
        backend,
        SentenceEmbedder(opts.embedder),
        setting=task.description,
        cache_dir=ellm_cache_dir(opts),
        settings=_ellm_settings(opts, ELLMSettings),
    )


def _vlm(arg: str, task: Task, opts: HostOptions) -> HostReward:
    from rewardlab.tasks.vlm import vlm_reward

    return vlm_reward(
        task,
        goal=arg,
        baseline=opts.vlm_baseline,
        alpha=opts.vlm_alpha,
        encoder_dir=opts.encoder,
        batch_size=opts.vlm_batch,
        component="vlm",
    )


_BUILDERS: dict[str, Callable[[str, Task, HostOptions], Any]] = {
    "judge": _judge,
    "vlm": _vlm,
    "ellm": _ellm,
}


def describe_stats(name: str, stats: dict[str, Any]) -> str:
    """One line of what a host source did, for the end of a training."""
    if "suggestions_needed" in stats:
        from rewardlab.rewards.ellm import describe

        return f"{name}: {describe(stats)}"
    if "requests" in stats:
        return (
            f"{name}: {stats['episodes']:,} episodes judged, {stats['descriptions']} distinct descriptions, "
            f"{stats['requests']} LLM requests, {stats['cache_hits']} answers from the cache, "
            f"{stats['defaults']} defaults ({stats['unknown']} unclear answers, {stats['failed']} failed "
            f"requests), ${stats['cost_usd']:.4f}"
        )
    if "frames_encoded" in stats:
        return (
            f"{name}: {stats['frames_encoded']:,.0f} frames scored in {stats['calls']:.0f} calls, "
            f"{stats['encode_seconds']:.1f} s encoding and {stats['render_seconds']:.1f} s rendering, "
            f"{stats['defaults_used']:.0f} defaults (non-finite embeddings)"
        )
    return f"{name}: " + ", ".join(f"{k} {v}" for k, v in stats.items())
