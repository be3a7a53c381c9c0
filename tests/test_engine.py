"""The JAX PPO engine: GAE against a plain loop, batch invariance, learning, failure isolation."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from rewardlab import tasks
from rewardlab.engines import ppo_jax
from rewardlab.types import RewardProgram, TrainResult

CARTPOLE = tasks.get("CartPole-v1")
TINY = dataclasses.replace(CARTPOLE.ppo, total_timesteps=16_384, n_checkpoints=2, eval_episodes=4)


def _gae_loop(rewards, values, dones, last_value, gamma, lam):
    T, E = rewards.shape
    adv = np.zeros((T, E))
    for e in range(E):
        next_adv, next_value = 0.0, last_value[e]
        for t in reversed(range(T)):
            nonterminal = 0.0 if dones[t, e] else 1.0
            delta = rewards[t, e] + gamma * next_value * nonterminal - values[t, e]
            next_adv = delta + gamma * lam * nonterminal * next_adv
            adv[t, e] = next_adv
            next_value = values[t, e]
    return adv, adv + values


def test_gae_matches_a_python_loop():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(37, 5)).astype(np.float32)
    values = rng.normal(size=(37, 5)).astype(np.float32)
    dones = rng.random((37, 5)) < 0.1
    last = rng.normal(size=(5,)).astype(np.float32)
    adv, target = ppo_jax.compute_gae(
        jnp.asarray(rewards), jnp.asarray(values), jnp.asarray(dones), jnp.asarray(last), 0.97, 0.9
    )
    want_adv, want_target = _gae_loop(rewards, values, dones, last, 0.97, 0.9)
    np.testing.assert_allclose(np.asarray(adv), want_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(target), want_target, rtol=1e-5, atol=1e-5)


def _same(a: TrainResult, b: TrainResult) -> None:
    assert a.status == b.status == "ok"
    assert len(a.checkpoints) == len(b.checkpoints) == TINY.n_checkpoints
    for ca, cb in zip(a.checkpoints, b.checkpoints, strict=True):
        assert dataclasses.replace(ca, seconds=0.0) == dataclasses.replace(cb, seconds=0.0)


def test_batch_gives_each_candidate_the_result_it_gets_alone():
    both = ppo_jax.train(CARTPOLE, [CARTPOLE.human, CARTPOLE.sparse], TINY, seeds=[3])
    alone = ppo_jax.train(CARTPOLE, [CARTPOLE.sparse], TINY, seeds=[3])
    _same(both[1], alone[0])
    human_two_seeds = ppo_jax.train(CARTPOLE, [CARTPOLE.human], TINY, seeds=[3, 4])
    _same(both[0], human_two_seeds[0])
    assert both[0].checkpoints != both[1].checkpoints  # different rewards really train differently


def test_results_record_components_and_true_final_states():
    src = CARTPOLE.sparse.source.replace(
        'return alive, {"alive": alive}',
        "fell = jnp.where((jnp.abs(next_state.theta) > 0.2094) | (jnp.abs(next_state.x) > 2.4), 1.0, 0.0)\n"
        '    return alive, {"alive": alive, "fell": fell}',
    )
    res = ppo_jax.train(CARTPOLE, [RewardProgram("watch", src)], TINY, seeds=[0])[0]
    first = res.checkpoints[0]
    assert set(first.components) == {"alive", "fell"}
    # Only the true final state of a failed episode is past the limits; an auto-reset state never is.
    assert first.components["fell"].max == 1.0 and 0.0 < first.components["fell"].mean < 0.2
    assert first.components["alive"].mean == first.components["alive"].min == 1.0
    assert first.reward_return == pytest.approx(first.env_return)
    assert res.env_steps == TINY.num_updates * TINY.batch_size
    assert res.checkpoints[-1].step == res.env_steps
    assert TrainResult.from_dict(res.to_dict()) == res


def test_bad_candidates_fail_alone_and_nan_stops_only_its_run():
    bad_trace = RewardProgram(
        "bad_trace", "def compute_reward(state, action, next_state):\n    return undefined_name, {}\n"
    )
    bad_shape = RewardProgram(
        "bad_shape",
        "import jax.numpy as jnp\ndef compute_reward(state, action, next_state):\n"
        "    return jnp.ones(3), {}\n",
    )
    nan = RewardProgram(
        "nan",
        "import jax.numpy as jnp\ndef compute_reward(state, action, next_state):\n"
        "    r = jnp.log(next_state.x - 10.0)\n    return r, {'r': r}\n",
    )
    res = ppo_jax.train(CARTPOLE, [CARTPOLE.sparse, bad_trace, bad_shape, nan], TINY, seeds=[0])
    by = {r.candidate: r for r in res}
    assert by["CartPole-v1:sparse"].status == "ok" and by["CartPole-v1:sparse"].checkpoints
    assert by["bad_trace"].status == "error" and "undefined_name" in by["bad_trace"].message
    assert by["bad_shape"].status == "error" and "scalar" in by["bad_shape"].message
    assert by["nan"].status == "nan" and "non-finite" in by["nan"].message
    assert by["nan"].checkpoints == ()


@pytest.mark.slow
def test_cartpole_human_reward_learns_to_balance():
    cfg = dataclasses.replace(CARTPOLE.ppo, total_timesteps=100_000)
    res = ppo_jax.train(CARTPOLE, [CARTPOLE.human], cfg, seeds=[0, 1])
    for r in res:
        assert r.max_fitness >= 475, [c.fitness for c in r.checkpoints]


@pytest.mark.slow
def test_mountaincar_sparse_fails_where_human_succeeds():
    task = tasks.get("MountainCar-v0")
    cfg = dataclasses.replace(task.ppo, total_timesteps=100_000, n_checkpoints=4)
    human, sparse = ppo_jax.train(task, [task.human, task.sparse], cfg, seeds=[0])
    assert human.max_fitness >= 0.9, [c.fitness for c in human.checkpoints]
    assert sparse.max_fitness == 0.0, [c.fitness for c in sparse.checkpoints]


def test_run_init_has_no_batched_qr_that_can_deadlock_the_cpu_pool():
    # The orthogonal init calls LAPACK QR. Batched over runs (vmap), jaxlib's CPU kernel splits the batch
    # over the intra-op pool and waits; two such kernels at once on a 2-thread pool deadlocked a training
    # (seen three times in one session). The engine initialises one run at a time: every QR is 2-D.
    import jax

    task = tasks.get("Pendulum-v1")
    cfg = task.ppo
    from rewardlab.rewards.program import load_reward_fn

    prepared = ppo_jax.prepare_rewards(task, [("human", load_reward_fn(task.human))])
    width = len(prepared[0].components)
    prog = ppo_jax.build_program(task, cfg, ppo_jax.batched_reward(prepared, width), width, 1)
    n = 64
    keys = jnp.stack([jax.random.PRNGKey(s) for s in range(n)])
    hlo = ppo_jax.init_hlo(prog.init, keys, jnp.zeros((n,), jnp.int32))
    lapack = [ln for ln in hlo.splitlines() if 'custom_call_target="lapack_' in ln]
    assert any("geqrf" in ln for ln in lapack), "expected the orthogonal init's QR in the init program"
    assert all('num_batch_dims="0"' in ln for ln in lapack), [ln[:160] for ln in lapack]
    # the same program under vmap batches them (what this test guards against)
    batched = jax.jit(jax.vmap(prog.init)).lower(keys, jnp.zeros((n,), jnp.int32)).compile().as_text()
    assert any('lapack_sgeqrf' in ln and 'num_batch_dims="1"' in ln for ln in batched.splitlines())
