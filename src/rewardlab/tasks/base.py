"""What a task is: an environment, a goal in words, a ground-truth fitness and two baseline rewards.

The fitness is how rewardlab judges a trained policy. It is computed from greedy evaluation
rollouts and is never the reward being searched: a reward candidate can only score well by
teaching the policy to do what the fitness measures.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax

from rewardlab.config import PPOConfig
from rewardlab.tasks.adapter import EnvAdapter
from rewardlab.types import RewardProgram

EpisodeSignals = Callable[[Any, Any, Any, jax.Array], Mapping[str, jax.Array]]
"""(state, action, next_state, terminated) -> per-step quantities that are summed over an episode."""

EpisodeDescriber = Callable[[Any, Any, Any], str]
"""(state, action, next_state) of an episode's last transition -> the episode in words, for an LLM judge.

Host-side, not jitted: the leaves are numpy arrays of one environment (no batch axis) and `next_state`
is the true final state (before any auto-reset). Write what the objective could be judged on, in plain
sentences, and only what the state shows: the judge sees nothing else of the episode. It must be a
function of the transition alone: the judge describes each distinct transition once and reuses the text.
"""

FitnessFn = Callable[[Mapping[str, jax.Array]], tuple[jax.Array, Mapping[str, jax.Array]]]
"""Per-episode arrays (`length`, `env_return`, `terminated` and each signal's sum) -> (fitness, metrics)."""


@dataclass(frozen=True)
class BaselineScores:
    """The human and sparse rewards' fitness at a task's search budget, as measured for its calibration.

    Each score is the mean over `seeds` seeds of the best checkpoint's fitness (what a search ranks a
    candidate by) after `steps` environment steps; `source` says where the measurement and its command
    are written down. Kept on the task so that listings show the room a search has above `human`.
    """

    steps: int
    seeds: int
    human: float
    sparse: float
    source: str = "docs/tasks.md"


@dataclass(frozen=True)
class Task:
    """A reward-design problem.

    `make_env` returns the task's `EnvAdapter` (`rewardlab.tasks.adapter`): the only way rewardlab
    reaches the environment; `Task.env` builds it once per task object.
    `episode_signals` and `fitness` are jittable: the engine evaluates them inside the compiled
    evaluation rollout. `fitness_doc` says in words what the number means, for reports and LLMs.
    `solve_env_return` is the classic "solved" threshold on the environment's own episode return,
    used by benchmarks to compare with other libraries. `search_timesteps` is the training budget per
    candidate a search uses by default (None: `ppo.total_timesteps`); it should be small enough that
    the human reward has not yet reached the fitness ceiling, or a search has nothing to find.
    `context_text`, when set, replaces the context generated from the environment's source (for
    environments whose reward the transform cannot find). `practical_on` says where a search on the
    task is practical ("CPU" or "GPU"); `baseline_scores`, where measured, records how the `human`
    and `sparse` rewards score at the search budget, so that a user can see how much room a search has.
    `render`, where set, draws one state (as rewards see it, `tasks.adapter.reward_state`) as a uint8
    RGB frame [H, W, 3] with `jax.numpy` (jittable, vmappable), for rewards that look at pictures (VLM-RM,
    `rewardlab.rewards.vlm`).
    `describe_episode`, where given, turns an episode's last transition into text for reward sources that
    ask an LLM about episodes (`rewardlab.rewards.judge`); see `EpisodeDescriber`.
    `caption`, where given, writes states in words for ELLM (`rewardlab.rewards.ellm`): `caption(state)` is
    what the agent sees and has, `caption(state, action, next_state)` what it just did ('' for nothing).
    `engine` names the training engine the task runs on (`rewardlab.engines.get`): `ppo_jax` for jittable
    (gymnax-API) environments, `sb3` for Gymnasium environments; `ppo` holds that engine's defaults.
    """

    name: str
    description: str
    make_env: Callable[[], EnvAdapter]
    ppo: PPOConfig
    human: RewardProgram
    sparse: RewardProgram
    episode_signals: EpisodeSignals
    fitness: FitnessFn
    fitness_doc: str
    state_doc: Mapping[str, str]
    action_doc: str
    solve_env_return: float | None = None
    fitness_range: tuple[float, float] | None = None
    search_timesteps: int | None = None
    context_text: str | None = None
    practical_on: str = "CPU"
    baseline_scores: BaselineScores | None = None
    render: Callable[[Any], jax.Array] | None = None
    describe_episode: EpisodeDescriber | None = None
    caption: Callable[..., str] | None = None
    engine: str = "ppo_jax"

    @functools.cached_property
    def env(self) -> EnvAdapter:
        """The environment adapter (built once per task object)."""
        return self.make_env()

    @property
    def search_budget(self) -> int:
        """Environment steps per candidate in a search unless the search says otherwise."""
        return self.search_timesteps or self.ppo.total_timesteps

    @property
    def context(self) -> str:
        """What an LLM is shown about the environment: its source with every reward computation removed.

        Built on demand from the environment's own code (see `rewardlab.tasks.context`), unless the
        task gives its own `context_text`.
        """
        from rewardlab.tasks.context import build_context

        return build_context(self)

    def reward_program(self, spec: str) -> RewardProgram:
        """`human`, `sparse` or the path of a reward file: how a user names a reward on the command line."""
        if spec in ("human", "sparse"):
            return self.baseline(spec)
        from rewardlab.rewards.program import read_program

        return read_program(spec)

    def baseline(self, which: str) -> RewardProgram:
        """The task's `human` or `sparse` reward program."""
        if which == "human":
            return self.human
        if which == "sparse":
            return self.sparse
        raise ValueError(f"unknown baseline {which!r}: expected 'human' or 'sparse'")
