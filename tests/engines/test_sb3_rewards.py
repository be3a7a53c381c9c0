"""What SB3 trains on under the `sb3` engine: the candidate's rewards, computed once per rollout.

The engine records a rollout's transitions and rewrites SB3's rollout buffer at the rollout's end. These
tests check that rewrite against references that share none of its code: the reward program called
directly on each transition as a recording wrapper inside the environment saw it (a terminal and a
truncated step included), and plain SB3 on the environment's own reward, with and without `VecNormalize`
(the policy parameters after three updates must be bit-identical).
"""

from __future__ import annotations

from types import SimpleNamespace

import gymnasium as gym
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from rewardlab.config import PPOConfig
from rewardlab.engines.ppo_jax import prepare_rewards
from rewardlab.engines.sb3 import compiled_reward, sb3_arguments, training_env
from rewardlab.rewards.program import load_reward_fn
from rewardlab.tasks import from_gymnasium
from rewardlab.types import RewardProgram

LIMIT = 6
STATE = {"x": "obs[0]", "pos": "env.position", "gap": "info.gap", "t": "time"}

SHAPED = """\
def compute_reward(state, action, next_state, env_reward):
    move = next_state.x - state.x
    late = 0.1 * next_state.t
    bonus = jnp.where(action == 1, 0.5, -0.25) * next_state.pos + state.gap
    return env_reward + move - late + bonus, {"move": move, "late": late, "bonus": bonus}
"""

ENV_REWARD = "def compute_reward(state, action, next_state, env_reward):\n    return env_reward, {}\n"


class Walk(gym.Env):
    """A walk on a line that ends by chance (terminated) or at the time limit (truncated)."""

    def __init__(self) -> None:
        self.observation_space = spaces.Box(-10.0, 10.0, (2,), np.float32)
        self.action_space = spaces.Discrete(2)
        self.position = 0.0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.position = float(self.np_random.uniform(-1.0, 1.0))
        return self._obs(), {}

    def step(self, action):
        self.position += float(action) - 0.4
        gap = abs(self.position - 2.0)
        return self._obs(), -gap, bool(self.np_random.random() < 0.12), False, {"gap": gap}

    def _obs(self):
        return np.array([self.position, self.position ** 2 / 10.0], np.float32)


class Recorder(gym.Wrapper):
    """Outermost wrapper: writes down every step's state before and after, read by hand from the mapping."""

    def __init__(self, env, log: list) -> None:
        super().__init__(env)
        self.log = log
        self.before: dict = {}

    def _state(self, obs, info) -> dict:
        return {"x": np.float32(obs[0]), "pos": np.float32(self.env.unwrapped.position),
                "gap": np.float32(info.get("gap", 0.0)), "t": np.float32(self.env._elapsed_steps)}

    def reset(self, **kw):
        obs, info = self.env.reset(**kw)
        self.before = self._state(obs, info)
        return obs, info

    def step(self, action):
        obs, r, term, trunc, info = self.env.step(action)
        after = self._state(obs, info)
        self.log.append(dict(state=self.before, action=int(action), next_state=after, reward=np.float32(r),
                             terminated=term, truncated=trunc, final_obs=np.asarray(obs, np.float32)))
        self.before = after
        return obs, r, term, trunc, info


def _task(logs: list[list] | None = None):
    def make():
        env = gym.wrappers.TimeLimit(Walk(), LIMIT)
        if logs is None:
            return env
        logs.append([])
        return Recorder(env, logs[-1])

    return from_gymnasium(make, name="Walk-v0", description="Walk to x = 2.", state=STATE,
                          max_episode_steps=LIMIT, fitness="return", check=False)


def _cfg(normalize: bool) -> PPOConfig:
    return PPOConfig(num_envs=3, num_steps=12, num_minibatches=2, update_epochs=2, hidden=(16,), lr=3e-3,
                     gamma=0.9, normalize_obs=normalize, normalize_reward=normalize)


def _engine_model(task, cfg: PPOConfig, source: str, seed: int):
    adapter = task.env
    sample = (adapter.template(), adapter.action_spec.zero_action(), adapter.template(), jnp.float32(0.0))
    (prepared,) = prepare_rewards(task, [("r", load_reward_fn(RewardProgram("r", source)))], sample)
    width = max(1, len(prepared.components))
    env = training_env(adapter, cfg, compiled_reward(prepared, width), width)
    model = PPO("MlpPolicy", env.venv, seed=seed, verbose=0, device="cpu", **sb3_arguments(cfg))
    model.set_logger(Logger(folder=None, output_formats=[]))
    return model, env


class Capture(BaseCallback):
    """Keeps each rollout's buffer rewards and the value of every truncated episode's final observation."""

    def __init__(self) -> None:
        super().__init__()
        self.rewards: list[np.ndarray] = []
        self.values: list = []

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.rewards.append(self.model.rollout_buffer.rewards.copy())
        self.values.append(self.value)

    @torch.no_grad()
    def value(self, obs: np.ndarray) -> float:
        return float(self.model.policy.predict_values(self.model.policy.obs_to_tensor(obs)[0])[0])


def test_sb3_trains_on_the_programs_totals_including_terminal_and_truncated_steps():
    logs: list[list] = []
    task = _task(logs)
    cfg = _cfg(normalize=False)
    model, env = _engine_model(task, cfg, SHAPED, seed=3)
    slots = logs[-cfg.num_envs:]  # the training slots are the last environments the factory built
    capture = Capture()
    torch.set_num_threads(1)
    model.learn(total_timesteps=cfg.num_envs * cfg.num_steps, callback=[env.rewards, capture])
    trained, value = capture.rewards[0], capture.values[0]
    fn = load_reward_fn(RewardProgram("shaped", SHAPED))
    kinds, comps = set(), []
    for i, log in enumerate(slots):
        assert len(log) == cfg.num_steps
        for t, step in enumerate(log):
            total, parts = fn(SimpleNamespace(**step["state"]), jnp.int32(step["action"]),
                              SimpleNamespace(**step["next_state"]), step["reward"])
            expected = np.float32(total)
            if step["truncated"] and not step["terminated"]:  # SB3 bootstraps with V(final observation)
                expected = expected + np.float32(cfg.gamma * value(step["final_obs"]))
                kinds.add("truncated")
            elif step["terminated"]:
                kinds.add("terminated")
            np.testing.assert_allclose(trained[t, i], expected, rtol=1e-5, atol=1e-5)
            comps.append([float(parts[k]) for k in sorted(parts)])  # the engine's component order
    assert kinds == {"terminated", "truncated"}
    stats = env.rewards.take_stats()
    assert stats.comp_count == cfg.num_envs * cfg.num_steps and stats.episodes >= 3
    np.testing.assert_allclose(stats.comp_sum / stats.comp_count, np.mean(comps, axis=0), rtol=1e-5)
    np.testing.assert_allclose(stats.comp_max, np.max(comps, axis=0), rtol=1e-5)


@pytest.mark.parametrize("normalize", [False, True], ids=["raw", "vecnormalize"])
def test_env_reward_trains_bit_identical_to_plain_sb3(normalize):
    task = _task()
    cfg = _cfg(normalize)
    steps = 3 * cfg.num_envs * cfg.num_steps
    torch.set_num_threads(1)
    ours, env = _engine_model(task, cfg, ENV_REWARD, seed=5)
    ours_capture = Capture()
    ours.learn(total_timesteps=steps, callback=[env.rewards, ours_capture])

    venv = DummyVecEnv([task.env.make_env for _ in range(cfg.num_envs)])
    if normalize:
        venv = VecNormalize(venv, norm_obs=True, norm_reward=True, gamma=cfg.gamma)
    plain = PPO("MlpPolicy", venv, seed=5, verbose=0, device="cpu", **sb3_arguments(cfg))
    plain.set_logger(Logger(folder=None, output_formats=[]))
    plain_capture = Capture()
    plain.learn(total_timesteps=steps, callback=plain_capture)

    for a, b in zip(ours_capture.rewards, plain_capture.rewards, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.all(ours_capture.rewards[0] == ours_capture.rewards[0][0, 0])  # rewards really vary
    theirs = plain.policy.state_dict()
    for name, p in ours.policy.state_dict().items():
        assert torch.equal(p, theirs[name]), name


class Exploding(Walk):
    """Raises after 100 steps in all (counted on the class): the simulator fails mid-training."""

    calls = 0

    def step(self, action):
        Exploding.calls += 1
        if Exploding.calls > 100:
            raise RuntimeError("simulator exploded")
        return super().step(action)


def test_a_bare_slot_that_raises_is_blamed_not_the_reward():
    """With only observation and step-count fields the slots are the bare environments (no `_StateEnv`):
    an exception inside their `step` still ends the run as an error that names the environment."""
    from rewardlab import engines

    def boom():
        return gym.wrappers.TimeLimit(Exploding(), LIMIT)

    task = from_gymnasium(boom, name="Boom-v0",
                          description="d", state={"x": "obs[0]", "t": "time"}, max_episode_steps=LIMIT,
                          check=False)
    assert task.env.extra_fields == ()
    Exploding.calls = 0
    (res,) = engines.get("sb3").train(task, [task.human], _cfg(normalize=False), seeds=[0])
    assert res.status == "error" and res.message.startswith("environment boom: ")
    assert "step() raised RuntimeError: simulator exploded" in res.message and "not the reward" in res.message
