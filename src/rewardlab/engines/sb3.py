"""The `sb3` engine: stable-baselines3 PPO (torch, CPU) on a Gymnasium task, any reward program.

Read top to bottom: the PPOConfig -> SB3 mapping, the environment wrappers that record a rollout, the
callback that computes its rewards, evaluation, and the driver `train_fns`.

How a candidate's reward reaches SB3: once per rollout, not once per step. During the rollout `_Rollout`
(a `VecEnvWrapper` right above SB3's `DummyVecEnv`) copies each vector step into preallocated arrays:
observations (the final observation of an episode that just ended, so `next_state` is the true final
state), actions, environment rewards, episode ends and the steps since each reset. Fields that need more
than the observation (`env.ATTR`, `info.KEY`, callables) are read per slot by `_StateEnv` before the
vector env auto-resets; a mapping without them leaves the slots bare. At the rollout's end
`RewardCallback` builds the state records of all `n_steps x n_envs` transitions with one slice per field,
calls the reward program once (`jax.jit(jax.vmap(...))`, compiled once per candidate), accumulates every
component, writes the totals into SB3's rollout buffer and recomputes returns and advantages, before
PPO's update. What SB3 adds to a reward on a truncated step (`gamma * V(final observation)`) is kept:
`_Bootstrap`, the outermost wrapper, hands SB3 reward rows that it owns, so SB3 writes those terms into
them. Reward normalisation (`normalize_reward`) is `VecNormalize`'s own formula and statistics, replayed
over the rollout's candidate rewards in step order (`_RewardScale`); `VecNormalize` itself normalises
only observations. On the environment's own reward the rollout buffer, and so the trained policy, is
bit-identical to plain SB3's (tests/engines/test_sb3_rewards.py).

The mapping of `PPOConfig` onto SB3's `PPO` (see `sb3_arguments`):

    num_envs -> n_envs (DummyVecEnv slots)      num_steps -> n_steps        update_epochs -> n_epochs
    num_minibatches -> batch_size = num_envs * num_steps / num_minibatches
    lr, anneal_lr -> learning_rate (lr, or lr * progress_remaining: linear decay to 0 over the run)
    gamma, gae_lambda, ent_coef, vf_coef, max_grad_norm -> the same names
    clip_eps -> clip_range (the value function is not clipped: SB3's clip_range_vf is another formula)
    hidden, activation, log_std_init -> policy_kwargs net_arch=dict(pi=hidden, vf=hidden), activation_fn,
        log_std_init (separate actor and critic networks, orthogonal init, as in ppo_jax)
    normalize_obs, normalize_reward -> VecNormalize(norm_obs, norm_reward, gamma) (the reward scaling
        replayed once per rollout by `_RewardScale`)
    total_timesteps -> num_updates * batch (rounded to whole checkpoint intervals, like ppo_jax)
    n_checkpoints, eval_episodes, eval_greedy -> this engine's evaluation (deterministic=eval_greedy)
    torso=cnn, conv, conv_stride -> not supported (an error result says so)

Runs (candidate x seed) train one after another in this process with one torch thread, each with its own
environments, so a run's numbers do not depend on its batch. A failure is a result, never an exception:
a reward that does not trace is `error`; a non-finite reward or non-finite network parameters stop the run
with status `nan`; an exception raised by the environment is an `error` that names the environment.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper, VecNormalize

from rewardlab.config import PPOConfig
from rewardlab.engines.base import Engine, Progress, ProgressInfo
from rewardlab.engines.ppo_jax import PreparedReward, batched_reward, prepare_rewards
from rewardlab.jax_cache import enable_compilation_cache
from rewardlab.rewards.program import RewardFn
from rewardlab.tasks.base import Task
from rewardlab.tasks.gym_adapter import EnvStepError, GymnasiumAdapter, GymTaskError, exc_line, is_host
from rewardlab.types import Checkpoint, ComponentStats, TrainResult

# --- the mapping --------------------------------------------------------------------------------------


def sb3_arguments(cfg: PPOConfig) -> dict[str, Any]:
    """Keyword arguments of `stable_baselines3.PPO` for `cfg` (the table in the module docstring)."""
    if cfg.torso != "mlp":
        raise ValueError(f"the sb3 engine trains MLP policies; torso={cfg.torso!r} is not supported")
    lr = cfg.lr
    return dict(
        learning_rate=(lambda progress: lr * progress) if cfg.anneal_lr else lr,
        n_steps=cfg.num_steps,
        batch_size=cfg.batch_size // cfg.num_minibatches,
        n_epochs=cfg.update_epochs,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_eps,
        ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm,
        policy_kwargs=dict(
            net_arch=dict(pi=list(cfg.hidden), vf=list(cfg.hidden)),
            activation_fn=torch.nn.Tanh if cfg.activation == "tanh" else torch.nn.ReLU,
            log_std_init=cfg.log_std_init,
        ),
    )


def total_steps(cfg: PPOConfig) -> int:
    return cfg.num_updates * cfg.batch_size


# --- the environment wrappers -------------------------------------------------------------------------


class _StateEnv(gymnasium.Wrapper):
    """One vector-env slot: steps the task's environment through the adapter (an exception names the
    environment) and, when the state mapping reads more than the observation, keeps those fields' values
    before and after the step, read before the vector env auto-resets (`_Rollout` collects them)."""

    def __init__(self, adapter: GymnasiumAdapter) -> None:
        super().__init__(adapter.make_env())
        self.adapter = adapter
        self.reads_extra = bool(adapter.extra_fields)
        self.extra = np.zeros(0, np.float32)  # the extra fields after the latest reset or step
        self.last = (self.extra, self.extra)  # (before, after) the latest step

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        obs, info = self.adapter.reset(self.env, seed=seed)
        if self.reads_extra:
            self.extra = self.adapter.extra_of(obs, info, self.env)
        return obs, info

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.adapter.step(self.env, action)
        if self.reads_extra:
            nxt = self.adapter.extra_of(obs, info, self.env)
            self.last, self.extra = (self.extra, nxt), nxt
        return obs, reward, terminated, truncated, info


@dataclass
class IntervalStats:
    """Training statistics since the last checkpoint: finished episodes and reward components."""

    width: int
    episodes: int = 0
    reward_return: float = 0.0
    env_return: float = 0.0
    length: float = 0.0
    comp_sum: np.ndarray = field(init=False)
    comp_min: np.ndarray = field(init=False)
    comp_max: np.ndarray = field(init=False)
    comp_count: int = 0

    def __post_init__(self) -> None:
        self.comp_sum = np.zeros(self.width, np.float64)
        self.comp_min = np.full(self.width, np.inf)
        self.comp_max = np.full(self.width, -np.inf)


class _Rollout(VecEnvWrapper):
    """Records one rollout's transitions in preallocated arrays; the candidate's reward comes later.

    Per vector step it copies the observations (the final observation for slots whose episode ended),
    actions, environment rewards, episode ends and, only when the mapping needs them, the slots' extra
    fields. `RewardCallback` then computes every reward of the rollout in one jitted call and rewrites
    SB3's rollout buffer; `_Bootstrap` (outermost) collects what SB3 adds to the rewards it was handed.
    """

    def __init__(self, venv: Any, adapter: GymnasiumAdapter, n_steps: int) -> None:
        super().__init__(venv)
        n, steps = venv.num_envs, n_steps
        self.slots = venv.envs if adapter.extra_fields else []
        width = sum(f.size for f in adapter.extra_fields)
        spec = adapter.action_spec
        self.obs = np.zeros((steps, n, *adapter.obs_shape), np.float32)
        self.next_obs = np.zeros_like(self.obs)
        self.extra = np.zeros((steps, n, width), np.float32)
        self.next_extra = np.zeros_like(self.extra)
        self.action = np.zeros((steps, n) if spec.discrete else (steps, n, spec.n),
                               np.int32 if spec.discrete else np.float32)
        self.time = np.zeros((steps, n), np.int64)  # steps since the reset, before each step
        self.elapsed = np.zeros(n, np.int64)
        self.env_reward = np.zeros((steps, n), np.float32)
        self.done = np.zeros((steps, n), bool)
        self.bootstrap = np.zeros((steps, n), np.float32)
        self.t = 0
        self.last_obs: np.ndarray | None = None
        self.label = adapter.label

    def _raised(self, what: str, exc: Exception) -> EnvStepError:
        return EnvStepError(f"environment {self.label}: {what}() raised {exc_line(exc)}")

    def reset(self) -> Any:
        try:
            obs = self.venv.reset()
        except (EnvStepError, GymTaskError):
            raise
        except Exception as exc:  # the slots are the bare environments when no field needs `_StateEnv`
            raise self._raised("reset", exc) from None
        self.last_obs = np.asarray(obs, np.float32).copy()
        self.elapsed[:] = 0
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        self.action[self.t] = np.asarray(actions).reshape(self.action.shape[1:])
        self.venv.step_async(actions)

    def step_wait(self) -> Any:
        try:
            obs, env_r, dones, infos = self.venv.step_wait()
        except (EnvStepError, GymTaskError):
            raise
        except Exception as exc:
            raise self._raised("step", exc) from None
        t = self.t
        self.obs[t] = self.last_obs
        self.next_obs[t] = obs
        for i in np.flatnonzero(dones):
            self.next_obs[t, i] = np.asarray(infos[i]["terminal_observation"], np.float32)
        for i, slot in enumerate(self.slots):
            self.extra[t, i], self.next_extra[t, i] = slot.last
        self.env_reward[t] = env_r
        self.done[t] = dones
        self.time[t] = self.elapsed
        self.elapsed = np.where(dones, 0, self.elapsed + 1)
        self.last_obs = np.asarray(obs, np.float32).copy()
        self.t = t + 1
        return obs, env_r, dones, infos


class _Bootstrap(VecEnvWrapper):
    """The outermost wrapper: hands SB3 a zero reward row of `rollout.bootstrap` and keeps it. For a
    truncated episode SB3 adds `gamma * V(final observation)` to that row in place, so after the rollout
    the rows hold exactly SB3's bootstrap terms, computed by SB3 itself (outermost because `VecNormalize`
    returns a copy of the rewards)."""

    def __init__(self, venv: Any, rollout: _Rollout) -> None:
        super().__init__(venv)
        self.rollout = rollout

    def reset(self) -> Any:
        return self.venv.reset()

    def step_wait(self) -> Any:
        obs, _, dones, infos = self.venv.step_wait()
        row = self.rollout.bootstrap[self.rollout.t - 1]
        row[:] = 0.0
        return obs, row, dones, infos


class _RewardScale:
    """SB3's `VecNormalize` reward scaling, replayed after the rollout on the candidate's rewards: the
    same running statistics of the discounted return, updated in the same order, so the numbers are
    those `VecNormalize(norm_reward=True)` gives when it sees the rewards step by step."""

    def __init__(self, n_envs: int, gamma: float) -> None:
        defaults = inspect.signature(VecNormalize).parameters  # the engine's VecNormalize uses SB3's defaults
        self.clip, self.epsilon = defaults["clip_reward"].default, defaults["epsilon"].default
        self.gamma = gamma
        self.returns = np.zeros(n_envs)
        self.rms = RunningMeanStd(shape=())

    def __call__(self, reward: np.ndarray, done: np.ndarray) -> np.ndarray:
        self.returns = self.returns * self.gamma + reward
        self.rms.update(self.returns)
        out = np.clip(reward / np.sqrt(self.rms.var + self.epsilon), -self.clip, self.clip)
        self.returns[done] = 0
        return out


class RewardCallback(BaseCallback):
    """At the end of each rollout: the candidate's rewards for all its transitions in one jitted call,
    written into SB3's rollout buffer before PPO's update, with the returns and advantages recomputed.

    SB3 computes returns and advantages just before `on_rollout_end`; computing them again from the
    rewritten rewards (with the same last values and episode ends) is what it would have computed had
    the wrapper replaced the rewards step by step. Rewards are what SB3 would have stored: the total as
    float32 (scaled as `VecNormalize` would when the config normalises rewards) plus the bootstrap term
    of truncated episodes, added in float32 as SB3 adds it.
    """

    def __init__(self, rollout: _Rollout, adapter: GymnasiumAdapter, reward: Callable, width: int,
                 scale: _RewardScale | None) -> None:
        super().__init__()
        self.rollout, self.adapter, self.reward, self.scale = rollout, adapter, reward, scale
        self.width = width
        self.stats = IntervalStats(width)
        self.ep = np.zeros((3, rollout.num_envs), np.float64)  # reward return, env return, length so far

    def _on_rollout_start(self) -> None:
        self.rollout.t = 0

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        ro, steps = self.rollout, self.rollout.t
        n = ro.num_envs
        total, comps = self.totals(steps)
        bad = ~np.isfinite(total).all(axis=1)
        if bad.any():
            first = self.model.num_timesteps - steps * n + (int(np.argmax(bad)) + 1) * n
            raise _Diverged(first, "non-finite reward")
        self.accumulate(total, comps.reshape(steps * n, -1), steps)
        trained = total.astype(np.float32)
        if self.scale is not None:
            trained = np.stack([self.scale(trained[t], ro.done[t]) for t in range(steps)]).astype(np.float32)
        buffer = self.model.rollout_buffer
        buffer.rewards[:steps] = trained + ro.bootstrap[:steps]
        buffer.compute_returns_and_advantage(last_values=self.locals["values"], dones=self.locals["dones"])

    def totals(self, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """The candidate's totals (steps, n_envs) and components (steps, n_envs, width), one call."""
        ro, a = self.rollout, self.adapter
        size = steps * ro.num_envs
        flat = lambda x: x[:steps].reshape((size, *x.shape[2:]))
        time = flat(ro.time)
        state = a.batch_record(flat(ro.obs), flat(ro.extra), time)
        nxt = a.batch_record(flat(ro.next_obs), flat(ro.next_extra), time + 1)
        total, comps = jax.device_get(self.reward(state, flat(ro.action), nxt, flat(ro.env_reward)))
        return (np.asarray(total, np.float64).reshape(steps, ro.num_envs),
                np.asarray(comps, np.float64).reshape(steps, ro.num_envs, -1))

    def accumulate(self, total: np.ndarray, comps: np.ndarray, steps: int) -> None:
        st, ro = self.stats, self.rollout
        st.comp_sum += comps.sum(axis=0)
        st.comp_min = np.minimum(st.comp_min, comps.min(axis=0))
        st.comp_max = np.maximum(st.comp_max, comps.max(axis=0))
        st.comp_count += comps.shape[0]
        for t in range(steps):
            self.ep += np.stack([total[t], ro.env_reward[t], np.ones(ro.num_envs)])
            done = ro.done[t]
            if done.any():
                st.episodes += int(done.sum())
                st.reward_return += float(self.ep[0, done].sum())
                st.env_return += float(self.ep[1, done].sum())
                st.length += float(self.ep[2, done].sum())
                self.ep[:, done] = 0.0

    def take_stats(self) -> IntervalStats:
        out, self.stats = self.stats, IntervalStats(self.width)
        return out


@dataclass(frozen=True)
class TrainingEnv:
    """What PPO trains on for one run: `venv` (`_Bootstrap` over `VecNormalize` of observations, when the
    config normalises them, over `_Rollout`), the `DummyVecEnv` of slots underneath, the callback that
    rewrites each rollout's rewards (pass it to `learn`), and the observation normalisation that
    evaluation applies (identity when observations are not normalised)."""

    venv: Any
    slots: DummyVecEnv
    rewards: RewardCallback
    normalize: Callable[[np.ndarray], np.ndarray]


def training_env(adapter: GymnasiumAdapter, cfg: PPOConfig, reward: Callable, width: int) -> TrainingEnv:
    """The environments of one run, `reward` being `compiled_reward(...)` (records in, batch out).

    A slot is the bare environment when the state mapping reads only the observation and the step count
    (`_Rollout` has both), else the environment inside `_StateEnv`."""
    make = (lambda: _StateEnv(adapter)) if adapter.extra_fields else adapter.make_env
    slots = DummyVecEnv([make for _ in range(cfg.num_envs)])
    rollout = _Rollout(slots, adapter, cfg.num_steps)
    inner: Any = rollout
    normalize = _same
    if cfg.normalize_obs:  # rewards are scaled by `_RewardScale` after the rollout, not here
        inner = VecNormalize(rollout, norm_obs=True, norm_reward=False, gamma=cfg.gamma)
        normalize = inner.normalize_obs
    scale = _RewardScale(cfg.num_envs, cfg.gamma) if cfg.normalize_reward else None
    callback = RewardCallback(rollout, adapter, reward, width, scale)
    return TrainingEnv(_Bootstrap(inner, rollout), slots, callback, normalize)


def compiled_reward(prepared: PreparedReward, width: int) -> Callable:
    """`(states, actions, next_states, env_rewards) -> (totals, components (batch, width))`, jitted."""
    one = batched_reward([prepared], width)
    return jax.jit(jax.vmap(lambda s, a, ns, r: one(0, s, a, ns, r)))


# --- evaluation ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalOut:
    fitness: float
    metrics: dict[str, float]


class _Evaluator:
    """Evaluation episodes of a trained policy, all `eval_episodes` environments stepped together.

    Transitions are written into arrays of `chunk` steps; the jitted reward and the task's episode signals
    run once per full chunk (and once for the last, partial one), always on the chunk's full shape so they
    compile once. The chunk holds as many transitions as a training rollout when that divides evenly, so
    the reward compiled for training serves evaluation too. Finished episodes keep their last state
    under a false mask until every episode ends.
    """

    def __init__(self, task: Task, adapter: GymnasiumAdapter, reward: Callable, signals: Callable,
                 cfg: PPOConfig) -> None:
        self.task, self.adapter, self.reward, self.signals, self.cfg = task, adapter, reward, signals, cfg
        self.envs = [adapter.make_env() for _ in range(cfg.eval_episodes)]
        n, spec = len(self.envs), adapter.action_spec
        batch, limit = cfg.num_envs * cfg.num_steps, adapter.max_episode_steps
        same = batch % n == 0 and batch // n <= limit
        self.chunk = k = batch // n if same else min(64, limit)
        width = sum(f.size for f in adapter.extra_fields)
        self.obs = np.zeros((k + 1, n, *adapter.obs_shape), np.float32)  # state t is row t, next row t + 1
        self.extra = np.zeros((k + 1, n, width), np.float32)
        self.time = np.zeros((k + 1, n), np.int64)
        self.action = np.zeros((k, n) if spec.discrete else (k, n, spec.n),
                               np.int32 if spec.discrete else np.float32)
        self.env_r = np.zeros((k, n), np.float32)
        self.term = np.zeros((k, n), bool)
        self.mask = np.zeros((k, n), bool)

    def close(self) -> None:
        for env in self.envs:
            env.close()

    def run(self, model: Any, normalize: Callable[[np.ndarray], np.ndarray], seed: int) -> EvalOut:
        a, n, k = self.adapter, len(self.envs), self.chunk
        obs, extra, time = self.obs, self.extra, self.time
        time[0] = 0
        for i, env in enumerate(self.envs):
            o, info = a.reset(env, seed=seed + i)
            obs[0, i], extra[0, i] = o, a.extra_of(o, info, env)
        sums: dict[str, np.ndarray] = {}
        live, terminated, t = np.ones(n, bool), np.zeros(n, bool), 0
        policy = model.policy
        policy.set_training_mode(False)  # once, not per step as `model.predict` does
        for _ in range(a.max_episode_steps):
            with torch.no_grad():  # `model.predict`'s actions, without its per-call checks
                dist = policy.get_distribution(torch.as_tensor(normalize(obs[t]), dtype=torch.float32))
                actions = dist.get_actions(deterministic=self.cfg.eval_greedy).numpy()
            if a.action_spec.discrete:
                actions = np.asarray(actions).reshape(n).astype(np.int32)
            else:
                low, high = np.asarray(a.action_spec.low), np.asarray(a.action_spec.high)
                actions = np.clip(np.asarray(actions).reshape(n, -1).astype(np.float32), low, high)
            self.action[t], self.mask[t] = actions, live
            obs[t + 1], extra[t + 1], self.env_r[t], self.term[t] = obs[t], extra[t], 0.0, False
            time[t + 1] = np.where(live, time[t] + 1, time[t])
            for i in np.flatnonzero(live):
                o, r, te, tr, info = a.step(self.envs[i], actions[i])
                obs[t + 1, i], extra[t + 1, i] = o, a.extra_of(o, info, self.envs[i])
                self.env_r[t, i], self.term[t, i] = r, te
                if te or tr:
                    live[i], terminated[i] = False, bool(te)
            t += 1
            if t == k or not live.any():
                self.mask[t:] = False
                for key, v in self._sums().items():
                    sums[key] = sums[key] + v if key in sums else v
                obs[0], extra[0], time[0], t = obs[t], extra[t], time[t], 0
            if not live.any():
                break
        acc = {**sums, "terminated": terminated}
        fitness, metrics = self.task.fitness({key: jnp.asarray(v) for key, v in acc.items()})
        out = {key: float(v) for key, v in metrics.items()}
        out["env_return"] = float(np.mean(acc["env_return"]))
        out["reward_return"] = float(np.mean(acc["reward_return"]))
        out["episode_length"] = float(np.mean(acc["length"]))
        return EvalOut(float(fitness), out)

    def _sums(self) -> dict[str, np.ndarray]:
        """Per-episode sums over the chunk's stepped transitions: length, returns, episode signals."""
        a, (k, n), m = self.adapter, self.mask.shape, self.mask
        flat = lambda x: x.reshape((k * n, *x.shape[2:]))
        s = a.batch_record(flat(self.obs[:k]), flat(self.extra[:k]), flat(self.time[:k]))
        ns = a.batch_record(flat(self.obs[1:]), flat(self.extra[1:]), flat(self.time[1:]))
        action = flat(self.action)
        total, _ = self.reward(s, action, ns, flat(self.env_r))
        sig = self.signals(s, action, ns, flat(self.term))
        per = lambda v: np.where(m, np.asarray(v, np.float64).reshape(k, n), 0.0).sum(axis=0)
        out = {"length": m.sum(axis=0).astype(np.float64), "env_return": per(self.env_r),
               "reward_return": per(total)}
        out.update({key: per(v) for key, v in sig.items()})
        return out


# --- one run ------------------------------------------------------------------------------------------


class _Diverged(Exception):
    def __init__(self, step: int, what: str) -> None:
        super().__init__(f"training diverged: {what} by step {step}")
        self.step = step


@dataclass
class _Run:
    """One (candidate, seed) run: builds the environments and the model, trains, checkpoints."""

    task: Task
    cfg: PPOConfig
    prepared: PreparedReward
    width: int
    seed: int
    progress: Progress | None
    best: Callable[[float | None], float | None]
    reward: Callable  # `compiled_reward(prepared, width)`, shared by the candidate's seeds
    signals: Callable  # the task's episode signals, jitted and vmapped once for all runs
    checkpoints: list[Checkpoint] = field(default_factory=list)
    train_s: float = 0.0
    compile_s: float = 0.0

    def train(self) -> TrainResult:
        cfg, adapter = self.cfg, self.task.env
        t0 = time.perf_counter()
        reward = self.reward
        total = total_steps(cfg)
        per_cp = total // cfg.n_checkpoints
        run = self
        model: Any = None
        closers: list[Any] = []

        class Checkpoints(BaseCallback):
            def __init__(self) -> None:
                super().__init__()
                self.t = time.perf_counter()

            def _on_step(self) -> bool:
                return True

            def _on_rollout_start(self) -> None:
                run.train_s += time.perf_counter() - self.t
                done = self.model.num_timesteps
                if done and done % per_cp == 0 and done < total:
                    run.checkpoint(done, model, rewards, evaluator, normalize)
                elif done and run.progress is not None:
                    run.progress(ProgressInfo(done, total, None, run.best(None)))
                self.t = time.perf_counter()

        try:
            _warm(reward, adapter, cfg.num_envs * cfg.num_steps)  # compiled here, not in the first rollout
            env = training_env(adapter, cfg, reward, self.width)
            closers.append(env.slots)
            venv, rewards, normalize = env.venv, env.rewards, env.normalize
            evaluator = _Evaluator(self.task, adapter, reward, self.signals, cfg)
            closers.append(evaluator)
            torch.set_num_threads(1)
            model = PPO("MlpPolicy", venv, seed=self.seed, verbose=0, device="cpu", **sb3_arguments(cfg))
            model.set_logger(Logger(folder=None, output_formats=[]))  # SB3's default makes a temp folder
            self.compile_s = time.perf_counter() - t0
            callback = Checkpoints()
            model.learn(total_timesteps=total, callback=[rewards, callback])
            self.train_s += time.perf_counter() - callback.t
            self.checkpoint(total, model, rewards, evaluator, normalize)
        except _Diverged as exc:
            return self.result("nan", exc.step, str(exc))
        except (EnvStepError, GymTaskError) as exc:
            why = f"{exc} (the task's environment failed, not the reward)"
            return self.result("error", _steps(model), why)
        except Exception as exc:  # anything else ends this run only, as a record
            if model is not None and not _finite_params(model):
                return self.result("nan", _steps(model),
                                   "training diverged: non-finite network parameters by step "
                                   f"{_steps(model)}")
            return self.result("error", _steps(model), f"training failed: {exc_line(exc)}")
        finally:
            for c in reversed(closers):
                c.close()
        return self.result("ok", total, "")

    def checkpoint(
        self, step: int, model: Any, rewards: RewardCallback, evaluator: _Evaluator, normalize: Callable
    ) -> None:
        if not _finite_params(model):
            raise _Diverged(step, "non-finite network parameters")
        index = len(self.checkpoints)
        ev = evaluator.run(model, normalize, seed=self.seed * 100_003 + 10_000 + 101 * index)
        st = rewards.take_stats()
        per_ep = (lambda x: x / st.episodes) if st.episodes else (lambda x: math.nan)
        count = max(st.comp_count, 1)
        comps = {
            name: ComponentStats(mean=float(st.comp_sum[j] / count), min=float(st.comp_min[j]),
                                 max=float(st.comp_max[j]))
            for j, name in enumerate(self.prepared.components)
        }
        self.checkpoints.append(Checkpoint(
            step=step, fitness=ev.fitness, eval_metrics=ev.metrics, reward_return=per_ep(st.reward_return),
            env_return=per_ep(st.env_return), episode_length=per_ep(st.length), components=comps,
            seconds=self.train_s,
        ))
        best = self.best(ev.fitness if math.isfinite(ev.fitness) else None)
        if self.progress is not None:
            self.progress(ProgressInfo(step, total_steps(self.cfg), index, best))

    def result(self, status: str, steps: int, message: str) -> TrainResult:
        return TrainResult(
            candidate=self.prepared.name, seed=self.seed, status=status,  # type: ignore[arg-type]
            checkpoints=tuple(self.checkpoints), env_steps=int(steps), train_seconds=self.train_s,
            compile_seconds=self.compile_s, message=message, extra={"engine": "sb3"},
        )


def _warm(reward: Callable, adapter: GymnasiumAdapter, n: int) -> None:
    """Compile the batched reward for a rollout's shapes and dtypes (zeros, results unused)."""
    obs = np.zeros((n, *adapter.obs_shape), np.float32)
    extra = np.zeros((n, sum(f.size for f in adapter.extra_fields)), np.float32)
    state = adapter.batch_record(obs, extra, np.zeros(n, np.int64))
    dtype = np.int32 if adapter.action_spec.discrete else np.float32
    action = np.stack([np.asarray(adapter.zero_action(), dtype)] * n)
    jax.block_until_ready(reward(state, action, state, np.zeros(n, np.float32)))


def _same(obs: np.ndarray) -> np.ndarray:
    return obs


def _steps(model: Any) -> int:
    return int(model.num_timesteps) if model is not None else 0


def _finite_params(model: Any) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.policy.parameters())


# --- the driver ---------------------------------------------------------------------------------------


def train_fns(
    task: Task,
    named_fns: Sequence[tuple[str, RewardFn]],
    config: PPOConfig | None = None,
    seeds: Sequence[int] = (0,),
    progress: Progress | None = None,
) -> list[TrainResult]:
    """Train every (reward, seed) pair, one after another; results in candidate-major order."""
    if not named_fns:
        raise ValueError("train needs at least one reward")
    if not seeds:
        raise ValueError("train needs at least one seed")
    if not is_host(task.env):
        raise ValueError(f"the sb3 engine trains Gymnasium tasks; {task.name} is a {task.env.kind} task")
    enable_compilation_cache()
    cfg = config or task.ppo
    adapter: GymnasiumAdapter = task.env
    template = adapter.template()
    sample = (template, adapter.action_spec.zero_action(), template, jnp.float32(0.0))
    prepared = prepare_rewards(task, named_fns, sample)
    width = max([1, *(len(p.components) for p in prepared)])
    best: list[float | None] = [None]

    def track(f: float | None) -> float | None:
        if f is not None:
            best[0] = f if best[0] is None else max(best[0], f)
        return best[0]

    try:
        sb3_arguments(cfg)
        problem = ""
    except ValueError as exc:
        problem = str(exc)
    results = []
    signals = jax.jit(jax.vmap(task.episode_signals))
    for p in prepared:
        reward = compiled_reward(p, width) if p.fn is not None else None
        for seed in seeds:
            if p.fn is None:
                results.append(TrainResult(p.name, seed, "error", (), 0, 0.0, 0.0, message=p.error))
                continue
            if problem:
                results.append(TrainResult(p.name, seed, "error", (), 0, 0.0, 0.0, message=problem))
                continue
            results.append(_Run(task, cfg, p, width, int(seed), progress, track, reward, signals).train())
    return results


ENGINE = Engine(
    name="sb3",
    summary="stable-baselines3 PPO (torch) over a vectorised Gymnasium environment, candidate x seed in turn",
    train_fns=train_fns,
)
