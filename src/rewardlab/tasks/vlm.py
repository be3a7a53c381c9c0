"""The task-level VLM-RM factory: a task's renderer plus a CLIP encoder -> a host reward source.

It lives in `tasks` because `rewards` sits below `tasks` in the import layers and must not know what a
`Task` is; `rewardlab.rewards.vlm.make_vlm_reward` takes the render function itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from rewardlab.rewards.vlm import ImageTextEncoder, VLMReward, make_vlm_reward
from rewardlab.tasks.base import Task


def vlm_reward(
    task: Task,
    goal: str | Sequence[str],
    baseline: str | Sequence[str] | None = None,
    alpha: float = 0.0,
    encoder_dir: str | None = None,
    encoder: ImageTextEncoder | None = None,
    batch_size: int = 64,
    component: str = "vlm",
    device: str | None = None,
) -> VLMReward:
    """VLM-RM on `task`'s frames: a ValueError if the task has no `render`, an `EncoderError` (a
    ValueError) if `encoder_dir` holds no CLIP model; exactly one of `encoder_dir` and `encoder`."""
    return make_vlm_reward(
        task.render,
        goal,
        baseline,
        alpha,
        encoder_dir=encoder_dir,
        encoder=encoder,
        batch_size=batch_size,
        component=component,
        device=device,
        owner=f"task {task.name}",
    )
