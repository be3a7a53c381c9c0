"""Host reward sources as extra rows of the final table: `rewardlab search ... --baseline judge:obj.txt`.

A baseline spec is a `rewardlab train --reward` spec with a host part (`judge:OBJECTIVE.txt`, `vlm:GOAL`,
`ellm`, optionally joined to `human` or `sparse` with `+`). The final evaluation trains each on the
winner's fresh seeds, budget, PPO config and engine, in the search's own process (a host source calls an
LLM or a model; the sandboxed child has no network), and records its results under the spec's text.

Which LLM: the judge and ELLM ask `baseline_llm` if set, else the search's `llm`, with the defaults of
`rewardlab train` for everything else; their answer caches live in the run folder (`judge_cache/`,
`ellm_cache/`), so a resumed run asks nothing twice. A reward file cannot join a baseline: it would run
in this process without the sandbox (train it with `rewardlab train --trusted` instead); `human` and
`sparse` alone are not baselines to add, they are in every final table.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rewardlab.runfolder import Layout
from rewardlab.search.config import SearchConfig
from rewardlab.search.host_specs import (
    BASELINES,
    HostOptions,
    RewardSpec,
    check_for_task,
    check_options,
    parse_reward_spec,
)
from rewardlab.tasks import Task

LLM_HINT = "--baseline-llm SPEC (or the search's --llm)"


def baseline_specs(config: SearchConfig) -> list[RewardSpec]:
    """The config's `baselines`, parsed (ValueError for a spec that is not a host baseline)."""
    specs = []
    for text in config.baselines:
        spec = parse_reward_spec(text, "--baseline")
        if not spec.has_host:
            raise ValueError(
                f"--baseline {text!r} names no host reward: {' and '.join(BASELINES)} are in every final "
                "table, and a reward file is a search candidate (--init) or a `rewardlab train` run; "
                "--baseline takes judge:OBJECTIVE.txt, vlm:GOAL, ellm, optionally joined to human or "
                "sparse with '+'"
            )
        if spec.code is not None and spec.code not in BASELINES:
            raise ValueError(
                f"--baseline {text!r} joins the reward file {spec.code} to a host reward; it would run in "
                "the search's process without the sandbox, so join only human or sparse (or train it with "
                "`rewardlab train --trusted`)"
            )
        specs.append(spec)
    return specs


def options(config: SearchConfig, layout: Layout | None = None) -> HostOptions:
    """The host sources' settings: the baseline LLM and encoder, caches in the run folder (`layout`)."""
    return HostOptions(
        llm=config.baseline_llm or config.llm,
        encoder=config.baseline_encoder,
        judge_cache=None if layout is None else str(layout.host_cache("judge")),
        ellm_cache=None if layout is None else str(layout.host_cache("ellm")),
    )


def check_baselines(config: SearchConfig) -> SearchConfig:
    """Every baseline spec checked without the task (kind, LLM named, files, extras installed); returns
    the config with objective files and the encoder folder as absolute paths, so that a resumed run
    finds them from any folder."""
    if config.init is not None and parse_reward_spec(config.init, "--init").has_host:
        raise ValueError(
            f"--init {config.init!r} is a host reward source, not code the LLM can edit; start from human, "
            f"a reward file or nothing, and compare with it in the final table with --baseline {config.init}"
        )
    specs = baseline_specs(config)
    if not specs:
        return config
    if config.final_seeds == 0:
        raise ValueError("--baseline adds rows to the final evaluation, which --final-seeds 0 skips")
    opts = options(config)
    for spec in specs:
        check_options(spec, opts, llm_hint=LLM_HINT, encoder_hint="--baseline-encoder DIR")
    encoder = config.baseline_encoder
    if encoder is not None:
        encoder = str(Path(encoder).expanduser().resolve())
    return dataclasses.replace(
        config, baselines=tuple(_absolute(spec) for spec in specs), baseline_encoder=encoder
    )


def check_baselines_for_task(config: SearchConfig, task: Task) -> None:
    """What `task` must offer each baseline (a describer, captioner or renderer; the ppo_jax engine)."""
    for spec in baseline_specs(config):
        check_for_task(spec, task)


def _absolute(spec: RewardSpec) -> str:
    parts = [] if spec.code is None else [spec.code]
    for kind, arg in spec.host:
        if kind == "judge":
            parts.append(f"judge:{Path(arg).expanduser().resolve()}")
        else:
            parts.append(kind if not arg else f"{kind}:{arg}")
    return "+".join(parts)
