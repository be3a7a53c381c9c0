"""VLM-RM (Rocamonde et al., "Vision-Language Models are Zero-Shot Reward Models", ICLR 2024).

The reward of a step is how well a picture of the state it reached matches a goal sentence ("a pole
balanced upright on a cart"), measured by a CLIP-style encoder that embeds images and sentences in one
space. It is a host reward source (`rewardlab.rewards.host`): the engine hands it a `Segment`, this
renders every `next_state` with the task's jittable renderer (`Task.render`), encodes the frames in
batches with torch and returns one float32 reward per step under one component name.

Goal-baseline regularisation, in our words. Let x be a frame's unit embedding, g the goal sentence's
and b a baseline sentence's that describes the scene without the goal ("a pole on a cart"). CLIP's
embeddings carry much that the goal does not care about (colours, layout, rendering style); the
direction d = (g - b) / |g - b| is the part that distinguishes the goal from the neutral scene, and
P = d d^T projects onto it. With M = alpha P + (1 - alpha) I the reward is

    r(x) = 1 - 1/2 |M (x - g)|^2.

Write v = x - g and s = v . d. Because P v = s d, M v = (1 - alpha) v + alpha s d, and
|M v|^2 = (1 - alpha)^2 |v|^2 + (1 - (1 - alpha)^2) s^2. So:

* alpha = 0: r = 1 - |x - g|^2 / 2 = x . g, the plain cosine similarity of frame and goal (unit vectors);
* alpha = 1: r = 1 - s^2 / 2, only the distance to the goal along the baseline-to-goal direction
  counts, every other difference between frame and goal is ignored;
* in between, the orthogonal part is damped by (1 - alpha)^2.

Several goal (or baseline) sentences are averaged in embedding space and renormalised. The paper finds
larger CLIP models give better rewards; this module is agnostic to the encoder (`ImageTextEncoder`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import jax
import numpy as np

from rewardlab.rewards.host import Segment


@runtime_checkable
class ImageTextEncoder(Protocol):
    """Embeds frames and sentences into one space; every returned row has unit length."""

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """uint8 frames [N, H, W, 3] -> float32 [N, D]."""
        ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Sentences -> float32 [M, D]."""
        ...


def goal_baseline_reward(
    x: np.ndarray, goal: np.ndarray, baseline: np.ndarray | None, alpha: float
) -> np.ndarray:
    """1 - 1/2 |(alpha P + (1 - alpha) I)(x - goal)|^2 for each row of `x` (see the module docstring).

    `x` is [N, D], `goal` and `baseline` are [D]; all are expected to be unit vectors. Without a
    baseline, `alpha` must be 0 (there is no direction to project on).
    """
    x = np.asarray(x, np.float64)
    v = x - np.asarray(goal, np.float64)[None, :]
    sq = np.sum(v * v, axis=-1)
    if baseline is None or alpha == 0.0:
        if baseline is None and alpha != 0.0:
            raise ValueError("goal-baseline regularisation (alpha > 0) needs a baseline sentence")
        return (1.0 - 0.5 * sq).astype(np.float32)
    direction = np.asarray(goal, np.float64) - np.asarray(baseline, np.float64)
    norm = np.linalg.norm(direction)
    if norm < 1e-8:
        raise ValueError("goal and baseline sentences embed to the same vector: no direction to project on")
    s = v @ (direction / norm)
    keep = (1.0 - alpha) ** 2
    return (1.0 - 0.5 * (keep * sq + (1.0 - keep) * s * s)).astype(np.float32)


def _unit_mean(rows: np.ndarray) -> np.ndarray:
    mean = np.asarray(rows, np.float64).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def _as_list(texts: str | Sequence[str]) -> list[str]:
    return [texts] if isinstance(texts, str) else list(texts)


class VLMReward:
    """A `HostReward`: render each next state, embed the frames, score them against goal and baseline.

    `render` maps one environment state to a uint8 frame [H, W, 3] with `jax.numpy` (a task's
    `Task.render`); it is vmapped and jitted here over chunks of `batch_size` states. A frame whose
    embedding is not finite gets `default` and is counted in `stats()["defaults_used"]`.
    """

    def __init__(
        self,
        render: Callable[[Any], jax.Array],
        encoder: ImageTextEncoder,
        goal: str | Sequence[str],
        baseline: str | Sequence[str] | None = None,
        alpha: float = 0.0,
        batch_size: int = 64,
        component: str = "vlm",
        default: float = 0.0,
        name: str = "",
    ) -> None:
        goals, baselines = _as_list(goal), ([] if baseline is None else _as_list(baseline))
        if not goals or not all(t.strip() for t in goals + baselines):
            raise ValueError("VLM-RM needs a non-empty goal sentence (and non-empty baseline sentences)")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if alpha > 0.0 and not baselines:
            raise ValueError("alpha > 0 (goal-baseline regularisation) needs a baseline sentence")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if not component.isidentifier():
            raise ValueError(f"component name must be an identifier, got {component!r}")
        self.components = (component,)
        self.name = name or f"vlm:{goals[0]}"
        """How reports and `rewardlab train` name this source (default `vlm:` and the first goal)."""
        self.encoder = encoder
        self.alpha = float(alpha)
        self.batch_size = batch_size
        self.default = float(default)
        self.goal = _unit_mean(encoder.encode_texts(goals))
        self.baseline = _unit_mean(encoder.encode_texts(baselines)) if baselines else None
        if self.baseline is not None and self.alpha > 0.0:
            goal_baseline_reward(self.goal[None, :], self.goal, self.baseline, self.alpha)  # fail early
        self._render_batch = jax.jit(jax.vmap(render))
        self._counts = {"calls": 0, "frames_encoded": 0, "defaults_used": 0}
        self._seconds = {"render_seconds": 0.0, "encode_seconds": 0.0}

    def frames(self, states: Any) -> np.ndarray:
        """uint8 frames [N, H, W, 3] of a batch of states with one leading axis N, rendered in chunks."""
        return np.concatenate(list(self._frame_chunks(states, _leading(states))), axis=0)

    def __call__(self, segment: Segment) -> Mapping[str, np.ndarray]:
        self._counts["calls"] += 1
        lead = segment.lead
        n = math.prod(lead)
        states = jax.tree_util.tree_map(lambda a: np.asarray(a).reshape((n, *np.shape(a)[len(lead):])),
                                        segment.next_states)
        rewards = np.empty(n, np.float32)
        start = 0
        for frames in self._frame_chunks(states, n):
            t0 = time.perf_counter()
            emb = np.asarray(self.encoder.encode_images(frames), np.float32)
            self._seconds["encode_seconds"] += time.perf_counter() - t0
            self._counts["frames_encoded"] += len(frames)
            ok = np.all(np.isfinite(emb), axis=-1)
            chunk = np.full(len(frames), self.default, np.float32)
            if ok.any():
                chunk[ok] = goal_baseline_reward(emb[ok], self.goal, self.baseline, self.alpha)
            self._counts["defaults_used"] += int((~ok).sum())
            rewards[start : start + len(frames)] = chunk
            start += len(frames)
        return {self.components[0]: rewards.reshape(lead)}

    def _frame_chunks(self, states: Any, n: int):
        """Rendered chunks of at most `batch_size` frames. The last chunk is padded to the full size so the
        renderer compiles once; the next chunk is dispatched (JAX runs it asynchronously) before the
        current one is handed back to be encoded, so rendering overlaps encoding."""
        def dispatch(lo: int):
            hi = min(lo + self.batch_size, n)
            idx = np.minimum(np.arange(lo, lo + self.batch_size), n - 1)
            return hi - lo, self._render_batch(jax.tree_util.tree_map(lambda a: a[idx], states))

        pending = dispatch(0) if n else None
        lo = 0
        while pending is not None:
            count, frames = pending
            lo += self.batch_size
            pending = dispatch(lo) if lo < n else None
            t0 = time.perf_counter()
            host = np.asarray(frames)[:count]
            self._seconds["render_seconds"] += time.perf_counter() - t0
            yield host

    def stats(self) -> Mapping[str, float]:
        """Calls, frames encoded, defaults used, and seconds spent waiting on rendering and encoding."""
        return {**{k: float(v) for k, v in self._counts.items()}, **self._seconds}

    def close(self) -> None:
        close = getattr(self.encoder, "close", None)
        if callable(close):
            close()


def _leading(states: Any) -> int:
    leaves = jax.tree_util.tree_leaves(states)
    if not leaves:
        raise ValueError("states have no arrays to render")
    return int(np.shape(leaves[0])[0])


def make_vlm_reward(
    render: Callable[[Any], jax.Array] | None,
    goal: str | Sequence[str],
    baseline: str | Sequence[str] | None = None,
    alpha: float = 0.0,
    encoder_dir: str | None = None,
    encoder: ImageTextEncoder | None = None,
    batch_size: int = 64,
    component: str = "vlm",
    device: str | None = None,
    owner: str = "this task",
) -> VLMReward:
    """A `VLMReward` from a renderer and either a CLIP directory (`encoder_dir`) or a ready `encoder`.

    `owner` names what the renderer belongs to in the error raised when there is none.
    """
    if render is None:
        raise ValueError(f"{owner} has no renderer (Task.render), so a VLM reward cannot see it")
    if (encoder_dir is None) == (encoder is None):
        raise ValueError("give exactly one of encoder_dir (a CLIP model directory) or encoder")
    if encoder is None:
        from rewardlab.rewards.clip_encoder import CLIPEncoder

        encoder = CLIPEncoder.from_directory(encoder_dir, device=device, batch_size=batch_size)
    return VLMReward(render, encoder, goal, baseline, alpha, batch_size=batch_size, component=component)
