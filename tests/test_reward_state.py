"""`reward_state`: an adapter may show rewards a view of the state it carries, and every path shows the same.

A tiny jittable adapter (a dot on a line; no Brax) carries a record with a bulky field that stands for a
physics state, and its `reward_state` returns a slim view with other field names. A reward or signal that
read the carried record in some path would fail (the view's fields are not on it), so these tests check
that the engine's rollout, its shape sample, its evaluation signals, the random rollouts and the sandbox's
sampler all hand over the view; that training through the view equals training an adapter without the
hook whose reward reads the same numbers off the carried record; and that without the hook the carried
record is what rewards see, as before.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rewardlab.config import PPOConfig
from rewardlab.engines import ppo_jax
from rewardlab.sandbox.transitions import load_batch, sample_transitions, save_batch
from rewardlab.tasks.adapter import ActionSpec, EnvAdapter, Step, reward_state
from rewardlab.tasks.base import Task
from rewardlab.tasks.check import TaskCheckError, check_task
from rewardlab.tasks.rollout import random_transitions
from rewardlab.types import RewardProgram

EPISODE = 16
CFG = PPOConfig(
    total_timesteps=256, num_envs=4, num_steps=8, update_epochs=1, num_minibatches=2, hidden=(8,),
    n_checkpoints=2, eval_episodes=2,
)


class Carry(NamedTuple):
    x: jax.Array
    v: jax.Array
    bulk: jax.Array  # what the next step needs and no reward should see (Brax: MuJoCo's whole Data)
    time: jax.Array


class View(NamedTuple):
    pos: jax.Array
    speed: jax.Array
    time: jax.Array


class LineAdapter:
    """A dot on a line pushed left, not at all or right; the episode ends near x = 1 or after 16 steps."""

    kind = "line"

    def reset(self, key: jax.Array) -> tuple[jax.Array, Carry]:
        x = jax.random.uniform(key, (), minval=-0.5, maxval=0.5)
        s = Carry(x, jnp.float32(0.0), jnp.full((32,), x), jnp.int32(0))
        return jnp.stack([s.x, s.v]), s

    def step(self, key: jax.Array, state: Carry, action: jax.Array) -> Step:
        v = jnp.clip(0.8 * state.v + (action.astype(jnp.float32) - 1.0) * 0.05, -0.2, 0.2)
        x = jnp.clip(state.x + v, -2.0, 2.0)
        s = Carry(x, v, state.bulk + v, state.time + 1)
        terminated = jnp.abs(x - 1.0) < 0.1
        truncated = (s.time >= EPISODE) & ~terminated
        return Step(jnp.stack([x, v]), s, -jnp.abs(x - 1.0), terminated, truncated)

    @property
    def action_spec(self) -> ActionSpec:
        return ActionSpec(True, 3)

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return (2,)

    @property
    def max_episode_steps(self) -> int:
        return EPISODE

    @property
    def source_class(self) -> type:
        return type(self)

    @property
    def step_method(self) -> str:
        return "step"


class ViewAdapter(LineAdapter):
    """The same dot, showing rewards a `View` (its own field names) instead of the carried record."""

    def reward_state(self, state: Carry) -> View:
        return View(pos=state.x, speed=jnp.abs(state.v), time=state.time)


# The same reward and signal over each adapter's own record: identical numbers, different field names.
VIEW_REWARD = """
import jax.numpy as jnp

def compute_reward(state, action, next_state):
    progress = next_state.pos - state.pos
    slow = -next_state.speed
    return progress + 0.1 * slow, {"progress": progress, "slow": slow}
"""
CARRY_REWARD = VIEW_REWARD.replace(".pos", ".x").replace("next_state.speed", "jnp.abs(next_state.v)")


def _fitness(ep: Any) -> tuple[jax.Array, dict[str, jax.Array]]:
    return jnp.mean(ep["moved"]), {"moved": jnp.mean(ep["moved"])}


def _task(adapter: type, seen: list[tuple[str, type]] | None = None) -> Task:
    view = adapter is ViewAdapter
    source = VIEW_REWARD if view else CARRY_REWARD

    def signals(state: Any, action: Any, next_state: Any, terminated: Any) -> dict[str, jax.Array]:
        if seen is not None:
            seen.append(("signals", type(state)))
            seen.append(("signals", type(next_state)))
        moved = next_state.pos - state.pos if view else next_state.x - state.x
        return {"moved": moved}

    fields = View._fields if view else Carry._fields
    return Task(
        name="line-view" if view else "line-carry",
        description="Reach x = 1.",
        make_env=adapter,
        ppo=CFG,
        human=RewardProgram("human", source, "human"),
        sparse=RewardProgram("sparse", source, "sparse"),
        episode_signals=signals,
        fitness=_fitness,
        fitness_doc="distance moved towards +x",
        state_doc={f: f"the {f}" for f in fields},
        action_doc="0 left, 1 stay, 2 right",
    )


def _spy(seen: list[tuple[str, type]], read: str):
    """A reward (callable) that notes the record types it is traced with and reads field `read`."""

    def reward(state: Any, action: Any, next_state: Any):
        seen.append(("reward", type(state)))
        seen.append(("reward", type(next_state)))
        progress = getattr(next_state, read) - getattr(state, read)
        return progress, {"progress": progress}

    return reward


def _without_seconds(res: Any) -> list[Any]:
    return [dataclasses.replace(cp, seconds=0.0) for cp in res.checkpoints]


def test_the_helper_takes_the_adapters_view_and_otherwise_the_state_itself():
    _, carried = LineAdapter().reset(jax.random.PRNGKey(0))
    assert reward_state(LineAdapter(), carried) is carried
    view = reward_state(ViewAdapter(), carried)
    assert isinstance(view, View) and float(view.pos) == float(carried.x)
    assert isinstance(ViewAdapter(), EnvAdapter)  # the hook is optional: both fit the contract


@pytest.mark.parametrize("fused", [False, True], ids=["split", "fused"])
def test_engine_rewards_and_evaluation_signals_see_the_view(fused):
    seen: list[tuple[str, type]] = []
    task = _task(ViewAdapter, seen)
    (res,) = ppo_jax.train_fns(task, [("spy", _spy(seen, "pos"))], CFG, seeds=[0], fused=fused)
    assert res.status == "ok", res.message
    assert {kind for kind, _ in seen} == {"reward", "signals"}
    assert {t for _, t in seen} == {View}, seen
    sample = ppo_jax._sample_transition(task)
    assert type(sample[0]) is View and type(sample[2]) is View


def test_training_through_the_view_equals_reading_the_carried_record():
    """The view's numbers are the carried state's, at the same steps (true final states included)."""
    view_task, carry_task = _task(ViewAdapter), _task(LineAdapter)
    through_view = ppo_jax.train(view_task, [view_task.human], CFG, seeds=[1, 2])
    plain = ppo_jax.train(carry_task, [carry_task.human], CFG, seeds=[1, 2])
    for a, b in zip(through_view, plain, strict=True):
        assert a.status == b.status == "ok"
        assert _without_seconds(a) == _without_seconds(b)
    assert set(through_view[0].checkpoints[-1].components) == {"progress", "slow"}


def test_without_the_hook_rewards_see_the_carried_record_as_before():
    seen: list[tuple[str, type]] = []
    task = _task(LineAdapter, seen)
    (res,) = ppo_jax.train_fns(task, [("spy", _spy(seen, "x"))], CFG, seeds=[0])
    assert res.status == "ok", res.message
    assert seen and {t for _, t in seen} == {Carry}
    tr = random_transitions(task, n_envs=2, n_steps=8)
    assert type(tr.state) is Carry and tr.state.bulk.shape == (16, 32)


def test_random_rollouts_and_the_sampler_record_the_view(tmp_path):
    view_task, carry_task = _task(ViewAdapter), _task(LineAdapter)
    tr = random_transitions(view_task, n_envs=4, n_steps=40, seed=3)
    ref = random_transitions(carry_task, n_envs=4, n_steps=40, seed=3)
    assert type(tr.state) is View and type(tr.next_state) is View
    assert np.asarray(tr.terminated | tr.truncated).any()  # episode ends are in the sample
    np.testing.assert_array_equal(np.asarray(tr.next_state.pos), np.asarray(ref.next_state.x))
    np.testing.assert_array_equal(np.asarray(tr.state.speed), np.abs(np.asarray(ref.state.v)))
    np.testing.assert_array_equal(np.asarray(tr.next_state.time), np.asarray(ref.next_state.time))

    batch = sample_transitions(view_task, n=16, seed=1)
    assert type(batch.state) is View and type(batch.next_state) is View
    path = tmp_path / "batch.npz"
    save_batch(path, batch)
    again = load_batch(path, view_task)
    assert again is not None and type(again.next_state) is View
    np.testing.assert_array_equal(np.asarray(again.next_state.pos), np.asarray(batch.next_state.pos))
    assert load_batch(path, carry_task) is None  # a batch of the view is not one of the carried record


def test_check_task_holds_state_doc_to_the_view():
    check_task(_task(ViewAdapter), n_envs=2, n_steps=64)
    wrong = dataclasses.replace(_task(ViewAdapter), state_doc={f: f"the {f}" for f in Carry._fields})
    with pytest.raises(TaskCheckError, match="state_doc must document exactly the state fields"):
        check_task(wrong, n_envs=2, n_steps=64)
