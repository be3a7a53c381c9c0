"""A user's own Gymnasium environment for tests, written to a folder outside the package.

`write_gym_env(folder)` writes `slide_env.py`: a tiny `gymnasium.Env` (a block on a line must reach x = 1;
three discrete actions; 16-step episodes, pure Python so it steps fast) ending in `make_task()`, which
builds the task with `rewardlab.tasks.from_gymnasium` and a state mapping that reads the observation, an
`info` key and an attribute of the environment. Tests use it only through task references
(`slide_env.py:make_task`), in this process and in the sandbox's children.
"""

from __future__ import annotations

from pathlib import Path

SOURCE = '''\
"""A block slides on a line and must reach x = 1."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class SlideEnv(gym.Env):
    """Push the block left, not at all, or right; it keeps a little of its velocity."""

    def __init__(self, limit: int = 16):
        self.observation_space = spaces.Box(-2.0, 2.0, (2,), np.float32)
        self.action_space = spaces.Discrete(3)
        self.limit = limit
        self.x = 0.0
        self.v = 0.0
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(-0.5, 0.0))
        self.v = 0.0
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.v = float(np.clip(0.8 * self.v + (int(action) - 1) * 0.05, -0.2, 0.2))
        self.x = float(np.clip(self.x + self.v, -2.0, 2.0))
        self.t += 1
        gap = abs(1.0 - self.x)
        r = -0.1 * gap
        done = gap < 0.1
        return self._obs(), r, done, self.t >= self.limit, {"gap": gap}

    def _obs(self):
        return np.array([self.x, self.v], np.float32)


def make_task():
    from rewardlab.tasks import from_gymnasium

    return from_gymnasium(
        SlideEnv, name="Slide-v0", description="Slide the block to x = 1 and stop there.",
        state={"x": "obs[0]", "v": "obs[1]", "gap": "info.gap", "t": "env.t"},
        max_episode_steps=16, fitness="success", success=lambda s: s.gap < 0.1,
        ppo={"num_envs": 4, "num_steps": 32, "num_minibatches": 2, "total_timesteps": 2048},
        search_timesteps=512,
    )
'''


def write_gym_env(folder: Path, source: str = SOURCE) -> Path:
    path = folder / "slide_env.py"
    path.write_text(source)
    return path
