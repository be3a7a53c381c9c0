"""The second kind of reward: a host reward source, computed outside the compiled program.

Reward as code (`rewardlab.rewards.program`) is a pure `jax.numpy` function the engine compiles into
its rollout. Some rewards cannot be: an LLM judging a finished episode (Kwon et al. 2023), an LLM
suggesting goals whose embeddings are compared with a caption of what the agent did (ELLM, Du et al.
2023), a vision-language model scoring a rendered frame against a goal sentence (VLM-RM, Rocamonde et
al. 2024). They need network calls, caches or a torch encoder. An engine that supports them runs
rollout (compiled) -> host reward (Python, batched, cached) -> update (compiled), and hands the host
reward one `Segment` per rollout.

The contract, shared by every host reward source:

* `components` names what the source returns, in the same sense as a reward program's components:
  reports and reflection show them per checkpoint, and the total reward of a step is their sum.
* `__call__(segment)` returns one float32 array per component, each with the segment's leading shape
  (`segment.lead`). It may keep state between calls (an episode's earlier steps, a cache); it must not
  raise for bad answers from an LLM or odd frames: it degrades to its configured default and counts it
  in `stats()`.
* `stats()` is a flat mapping of counters (calls made, cache hits, defaults used, ...) that the engine
  writes into the training's record, so a user sees what a run cost.
* `close()` releases what the source holds (HTTP clients, encoder memory, open cache files). A source
  whose cache lives in a file flushes it on every call, so a killed training resumes with its cache.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Segment:
    """A batch of finished environment steps, as numpy arrays on the host.

    Every array and every leaf of the state pytrees has the same leading shape `lead` (for example
    `(num_steps, num_envs)` for one rollout, or `(runs, num_steps, num_envs)` when an engine trains
    several seeds in one program), followed by the leaf's own shape. `next_states` is the true state
    after each step, never the state an auto-reset produced, and `done[...]` is True where that step
    ended its episode (terminated or truncated), so an episode-level source knows where to put its
    reward. `env_reward` is what the environment's own step returned.
    """

    states: Any
    actions: np.ndarray
    next_states: Any
    done: np.ndarray
    env_reward: np.ndarray

    @property
    def lead(self) -> tuple[int, ...]:
        """The leading shape shared by every array of the segment."""
        return tuple(self.done.shape)


@runtime_checkable
class HostReward(Protocol):
    """A reward source the engine calls on the host between a compiled rollout and a compiled update."""

    components: tuple[str, ...]

    def __call__(self, segment: Segment) -> Mapping[str, np.ndarray]:
        """One float32 array of shape `segment.lead` per name in `components`."""
        ...

    def stats(self) -> Mapping[str, float]:
        """Counters describing what the source did so far (calls, cache hits, defaults used)."""
        ...

    def close(self) -> None:
        """Release clients, encoders and files."""
        ...


def check_output(
    source: HostReward, segment: Segment, out: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The source's output as float32 arrays, or a ValueError saying what is wrong with it.

    Engines call this on every output, so a source that returns the wrong names or shapes fails with
    a message naming the source rather than deep inside the update.
    """
    name = type(source).__name__
    missing = [c for c in source.components if c not in out]
    extra = [k for k in out if k not in source.components]
    if missing or extra:
        declared = list(source.components)
        raise ValueError(f"host reward {name} returned components {sorted(out)}, declared {declared}")
    checked: dict[str, np.ndarray] = {}
    for key in source.components:
        arr = np.asarray(out[key], dtype=np.float32)
        if arr.shape != segment.lead:
            raise ValueError(
                f"host reward {name}: component {key!r} has shape {arr.shape}, expected {segment.lead}"
            )
        checked[key] = arr
    return checked
