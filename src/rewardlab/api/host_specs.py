"""`--reward` specs that name host reward sources: `judge:OBJECTIVE.txt`, combined with code by `+`.

    human                    the task's human reward (code, compiled)
    judge:objective.txt      an LLM judge of the objective in the file (a host reward source)
    human+judge:obj.txt      both: each step's reward is the sum of their components
    vlm:a pole upright       VLM-RM: CLIP's similarity of each rendered frame to the goal (--encoder DIR)
    ellm                     ELLM: goals an LLM suggests from the task's captions (--llm SPEC)
    sparse+ellm              the environment's reward plus ELLM's goal reward
    my_reward.py+judge:o.txt a reward file with the judge (only with --trusted: it runs in this process)

A spec with a host part trains in this process (the host source needs the network and the LLM client; no
LLM-written code runs in it), which is why a reward file may join one only when the user vouches for it.
Everything here is checked before anything trains, so a wrong spec costs nothing (exit status 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rewardlab.rewards.host import HostReward
from rewardlab.tasks.base import Task

BASELINES = ("human", "sparse")
HOST_KINDS = ("judge", "vlm")
"""Host reward kinds a spec may name (`KIND:ARGUMENT`)."""
BARE_HOST_KINDS = ("ellm",)
"""Host reward kinds named without an argument (their settings are options of `rewardlab train`)."""


@dataclass(frozen=True)
class RewardSpec:
    """One `--reward` value split into its code part (a baseline name, a file, or none) and host parts."""

    text: str
    code: str | None
    host: tuple[tuple[str, str], ...]  # (kind, argument)

    @property
    def has_host(self) -> bool:
        return bool(self.host)


def parse_reward_spec(text: str) -> RewardSpec:
    """Split `text` on `+`; at most one code part, host parts named `KIND:ARGUMENT`."""
    if "+" not in text and text.strip() not in BARE_HOST_KINDS and not _looks_like_host(text):
        return RewardSpec(text, text, ())
    code: list[str] = []
    host: list[tuple[str, str]] = []
    for part in (p.strip() for p in text.split("+")):
        if not part:
            raise ValueError(f"--reward {text!r} has an empty part around a '+'")
        if part in BASELINES or part.endswith(".py"):
            code.append(part)
            continue
        if part in BARE_HOST_KINDS:
            host.append((part, ""))
            continue
        kind, sep, arg = part.partition(":")
        if not sep or kind not in HOST_KINDS:
            raise ValueError(
                f"--reward {text!r}: unknown reward kind {part!r}; a part is human, sparse, a reward file "
                f"(.py), judge:OBJECTIVE.txt, vlm:GOAL SENTENCE or ellm"
            )
        if not arg.strip():
            example = "judge:OBJECTIVE.txt" if kind == "judge" else "vlm:'a pole balanced upright'"
            raise ValueError(f"--reward {text!r}: {kind}: needs an argument ({example})")
        host.append((kind, arg.strip()))
    if len(code) > 1:
        raise ValueError(f"--reward {text!r} combines {len(code)} code rewards; combine at most one with '+'")
    return RewardSpec(text, code[0] if code else None, tuple(host))


def _looks_like_host(text: str) -> bool:
    kind, sep, _ = text.partition(":")
    return bool(sep) and not text.endswith(".py") and kind.isidentifier() and not Path(text).exists()


def check_host_spec(spec: RewardSpec, task: Task, args: argparse.Namespace) -> None:
    """Everything that would stop a host-rewarded training, raised before anything runs."""
    if spec.code is not None and spec.code not in BASELINES and not args.trusted:
        raise ValueError(
            f"--reward {spec.text!r} combines the reward file {spec.code} with a host reward, which trains "
            "in this process without the sandbox; pass --trusted if the file is your own code"
        )
    if task.engine != "ppo_jax":
        raise ValueError(
            f"--reward {spec.text!r}: host rewards need the ppo_jax engine; task {task.name} trains on "
            f"{task.engine}"
        )
    for kind, arg in spec.host:
        if kind == "judge":
            from rewardlab.rewards.judge import read_objective

            if task.describe_episode is None:
                raise ValueError(
                    f"--reward {spec.text!r}: task {task.name} has no describe_episode, so an LLM judge "
                    "cannot be told what happened in an episode (give the Task a describe_episode)"
                )
            if not args.llm:
                raise ValueError(f"--reward {spec.text!r} asks an LLM judge: name the LLM with --llm SPEC")
            read_objective(arg)
        elif kind == "vlm":
            if task.render is None:
                raise ValueError(
                    f"--reward {spec.text!r}: task {task.name} has no render, so a vision-language model "
                    "cannot see it (give the Task a render function, see docs/vlm_rm.md)"
                )
            if not args.encoder:
                raise ValueError(
                    f"--reward {spec.text!r} scores frames with CLIP: name the model folder with "
                    "--encoder DIR (a CLIPModel.save_pretrained folder, see docs/vlm_rm.md)"
                )
            if not 0.0 <= args.vlm_alpha <= 1.0:
                raise ValueError(f"--vlm-alpha must be between 0 and 1 (got {args.vlm_alpha:g})")
            if args.vlm_alpha > 0 and not args.vlm_baseline:
                raise ValueError(
                    "--vlm-alpha > 0 projects onto the baseline-to-goal direction: give --vlm-baseline"
                )
            if not Path(args.encoder).expanduser().is_dir():
                raise ValueError(f"--encoder {args.encoder!r} is not a folder")
        elif kind == "ellm":
            _check_ellm(spec, task, args)


def _check_ellm(spec: RewardSpec, task: Task, args: argparse.Namespace) -> None:
    from rewardlab.rewards.ellm import ELLMSettings
    from rewardlab.rewards.embedder import bundled_model_dir, check_libraries, check_model_dir

    if task.caption is None:
        raise ValueError(
            f"--reward {spec.text!r}: task {task.name} has no caption, so ELLM cannot tell an LLM what the "
            "agent sees or what it did (give the Task a caption function, see docs/reward_sources.md)"
        )
    if not args.llm:
        raise ValueError(f"--reward {spec.text!r} asks an LLM for goals: name the LLM with --llm SPEC")
    _ellm_settings(args, ELLMSettings)
    check_libraries()
    if args.embedder:
        check_model_dir(args.embedder)
    else:
        bundled_model_dir()


def build_sources(spec: RewardSpec, task: Task, args: argparse.Namespace) -> list[HostReward]:
    """The host reward sources a checked spec names, ready to train with (LLM endpoints checked)."""
    return [_BUILDERS[kind](arg, task, args) for kind, arg in spec.host]


def judge_cache_dir(args: argparse.Namespace) -> Path:
    """`--judge-cache`, else `OUT/judge_cache` with `--out`, else the user's cache folder."""
    if args.judge_cache:
        return Path(args.judge_cache)
    if args.out:
        return Path(args.out) / "judge_cache"
    from rewardlab.jax_cache import default_cache_dir

    return default_cache_dir().parent / "judge"


def _judge(arg: str, task: Task, args: argparse.Namespace) -> HostReward:
    from rewardlab.llm.spec import backend_from_spec
    from rewardlab.rewards.judge import JudgeReward, JudgeSettings, read_objective

    settings = JudgeSettings(
        default=args.judge_default,
        concurrency=args.judge_concurrency,
        answer_timeout_s=args.judge_timeout,
    )
    backend = backend_from_spec(args.llm, timeout_s=args.judge_timeout, concurrency=args.judge_concurrency)
    from rewardlab.llm.preflight import check_backend

    check_backend(backend)  # an endpoint that does not answer is an error now, not a training of defaults
    assert task.describe_episode is not None
    return JudgeReward(
        read_objective(arg),
        task.describe_episode,
        backend,
        cache_dir=judge_cache_dir(args),
        settings=settings,
        name=f"judge:{arg}",
    )


def ellm_cache_dir(args: argparse.Namespace) -> Path:
    """`--ellm-cache`, else `OUT/ellm_cache` with `--out`, else the user's cache folder."""
    if args.ellm_cache:
        return Path(args.ellm_cache)
    if args.out:
        return Path(args.out) / "ellm_cache"
    from rewardlab.jax_cache import default_cache_dir

    return default_cache_dir().parent / "ellm"


def _ellm_settings(args: argparse.Namespace, settings_cls: Any) -> Any:
    return settings_cls(
        threshold=args.ellm_threshold, concurrency=args.ellm_concurrency, answer_timeout_s=args.ellm_timeout
    )


def _ellm(arg: str, task: Task, args: argparse.Namespace) -> HostReward:
    from rewardlab.llm.preflight import check_backend
    from rewardlab.llm.spec import backend_from_spec
    from rewardlab.rewards.ellm import ELLMReward, ELLMSettings
    from rewardlab.rewards.embedder import SentenceEmbedder

    settings = _ellm_settings(args, ELLMSettings)
    backend = backend_from_spec(args.llm, timeout_s=args.ellm_timeout, concurrency=args.ellm_concurrency)
    check_backend(backend)  # an endpoint that does not answer is an error now, not a training without goals
    assert task.caption is not None
    return ELLMReward(
        task.caption,
        backend,
        SentenceEmbedder(args.embedder),
        setting=task.description,
        cache_dir=ellm_cache_dir(args),
        settings=settings,
    )


def _vlm(arg: str, task: Task, args: argparse.Namespace) -> HostReward:
    from rewardlab.tasks.vlm import vlm_reward

    return vlm_reward(
        task,
        goal=arg,
        baseline=args.vlm_baseline,
        alpha=args.vlm_alpha,
        encoder_dir=args.encoder,
        batch_size=args.vlm_batch,
        component="vlm",
    )


_BUILDERS: dict[str, Callable[[str, Task, argparse.Namespace], Any]] = {
    "judge": _judge,
    "vlm": _vlm,
    "ellm": _ellm,
}


def describe_stats(name: str, stats: dict[str, Any]) -> str:
    """One line of what a host source did, for the end of `rewardlab train`."""
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
