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


def test_split_program_trains_exactly_like_the_fused_one():
    """rollout -> reward -> learn (the default) against the single fused program: same training, same
    evaluations; only the component statistics and the reward's return may differ in the last bits (summed
    in another order)."""
    split = ppo_jax.train(CARTPOLE, [CARTPOLE.human, CARTPOLE.sparse], TINY, seeds=[3])
    fused = ppo_jax.train(CARTPOLE, [CARTPOLE.human, CARTPOLE.sparse], TINY, seeds=[3], fused=True)
    for s, f in zip(split, fused, strict=True):
        assert (s.extra["program"], f.extra["program"]) == ("split", "fused")
        assert len(s.checkpoints) == len(f.checkpoints) == TINY.n_checkpoints
        for cs, cf in zip(s.checkpoints, f.checkpoints, strict=True):
            # the return of the searched reward is a float32 sum whose order XLA may fuse differently
            # in the two programs (seen on an AVX-512 CPU): equal to float32 precision, not to the bit
            assert cs.reward_return == pytest.approx(cf.reward_return, rel=1e-6)
            blank = {"seconds": 0.0, "components": {}, "reward_return": 0.0}
            assert dataclasses.replace(cs, **blank) == dataclasses.replace(cf, **blank)
            assert cs.components.keys() == cf.components.keys()
            for name, stat in cs.components.items():
                other = cf.components[name]
                assert (stat.min, stat.max) == (other.min, other.max)
                assert stat.mean == pytest.approx(other.mean, rel=1e-5, abs=1e-9)


def test_a_new_reward_compiles_only_the_reward_program(caplog):
    """The reward-free programs (init, rollout, learn, evaluation, NaN check) of a second batch with new
    reward code come from the persistent compilation cache, as they do in a search's next sandboxed
    process; only the reward program (`one_run`) is compiled anew. JAX's cache logs name each program."""
    import logging
    import re

    import jax

    from rewardlab.engines import split_loop

    ppo_jax.train(CARTPOLE, [CARTPOLE.sparse], TINY, seeds=[0])  # the reward-free programs are in the cache
    split_loop._CACHE.clear()  # forget this process's programs: trace and look up again, like a new process
    jax.clear_caches()
    scaled = CARTPOLE.human.source.replace("def compute_reward(", "def _human(", 1) + (
        "\n\ndef compute_reward(state, action, next_state):\n"
        "    total, comps = _human(state, action, next_state)\n"
        "    return total * 1.2345, comps\n"
    )
    with caplog.at_level(logging.DEBUG, logger="jax._src.compiler"), caplog.at_level(
        logging.DEBUG, logger="jax._src.compilation_cache"
    ):
        (res,) = ppo_jax.train(CARTPOLE, [RewardProgram("new", scaled)], TINY, seeds=[0])
    assert res.status == "ok"
    text = "\n".join(r.getMessage() for r in caplog.records)
    read = set(re.findall(r"Persistent compilation cache hit for '(\w+)'", text))
    written = set(re.findall(r"Writing (\w+) to persistent compilation cache", text))
    missed = set(re.findall(r"PERSISTENT COMPILATION CACHE MISS for '(\w+)'", text))
    reward_free = {"jit_rollout", "jit_learn", "jit_evaluate", "jit_finite_params"}
    assert {"jit_rollout", "jit_learn", "jit_evaluate"} <= read, (read, written)
    assert not written & reward_free, written  # (the NaN check compiles too fast to be cached at all)
    # the new reward program was looked up and compiled (it may compile too fast to be written)
    assert "jit_one_run" in missed, missed


BREAKOUT = tasks.get("Breakout-MinAtar")
DEEP_SEA = tasks.get("DeepSea-20")
# The CNN torso's smallest program, on DeepSea's 20x20 grid (its 20-step episodes compile and evaluate
# far faster than a MinAtar game's 1000): 2 updates of 4 envs x 20 steps, 2 short evaluations.
TINY_CNN = dataclasses.replace(
    DEEP_SEA.ppo, torso="cnn", conv=(8,), conv_stride=2, hidden=(16,), total_timesteps=160, num_envs=4,
    num_steps=20, num_minibatches=2, n_checkpoints=2, eval_episodes=2,
)


def test_cnn_batch_gives_each_candidate_the_result_it_gets_alone():
    both = ppo_jax.train(DEEP_SEA, [DEEP_SEA.human, DEEP_SEA.sparse], TINY_CNN, seeds=[3])
    alone = ppo_jax.train(DEEP_SEA, [DEEP_SEA.sparse], TINY_CNN, seeds=[3])
    for a, b in zip(both[1].checkpoints, alone[0].checkpoints, strict=True):
        assert dataclasses.replace(a, seconds=0.0) == dataclasses.replace(b, seconds=0.0)
    assert len(alone[0].checkpoints) == 2 and both[0].checkpoints != both[1].checkpoints


def test_cnn_torso_shapes_and_validation():
    import jax

    from rewardlab.engines import policy as P

    torso = P.make_torso("cnn", (10, 10, 4), (64,), (16, 8), stride=2)
    assert torso.conv_out == 3 * 3 * 8  # 10 -> 5 -> 3
    params = P.net_init(jax.random.PRNGKey(0), torso, 3, out_gain=0.01)
    assert params["conv0"].shape == (9 * 4, 16) and params["conv1"].shape == (9 * 16, 8)
    assert params["w0"].shape == (72, 64) and params["w1"].shape == (64, 3)
    out = P.net_apply(params, torso, jnp.ones((5, 7, 400)), "relu")
    assert out.shape == (5, 7, 3)
    assert P.make_torso("cnn", (20, 20), (8,), (4,), 1).conv_out == 20 * 20 * 4  # a 2-D grid: one channel
    with pytest.raises(ValueError, match="height, width"):
        P.make_torso("cnn", (4,), (8,), (4,))
    with pytest.raises(ValueError, match="torso must be"):
        P.make_torso("resnet", (4,), (8,), ())


def test_cnn_matches_a_convolution():
    """The patches-times-matrix convolution equals lax's convolution with the same kernel."""
    import jax

    from rewardlab.engines import policy as P

    x = jax.random.normal(jax.random.PRNGKey(1), (3, 10, 10, 4))
    params = P.conv_init(jax.random.PRNGKey(2), (4, 6))
    params["conv_b0"] = jnp.arange(6.0)
    for stride in (1, 2):
        ours = P.conv_apply(params, x, "tanh", stride)
        kernel = params["conv0"].reshape(3, 3, 4, 6)
        ref = jax.lax.conv_general_dilated(
            x, kernel, (stride, stride), [(1, 1), (1, 1)], dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        np.testing.assert_allclose(np.asarray(ours), np.tanh(np.asarray(ref) + np.arange(6.0)), atol=1e-5)


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
    for init in (prog.init, _cnn_init()):  # the CNN torso's kernels are orthogonal too
        hlo = ppo_jax.init_hlo(init, keys, jnp.zeros((n,), jnp.int32))
        lapack = [ln for ln in hlo.splitlines() if 'custom_call_target="lapack_' in ln]
        assert any("geqrf" in ln for ln in lapack), "expected the orthogonal init's QR in the init program"
        assert all('num_batch_dims="0"' in ln for ln in lapack), [ln[:160] for ln in lapack]
    # the same program under vmap batches them (what this test guards against)
    batched = jax.jit(jax.vmap(prog.init)).lower(keys, jnp.zeros((n,), jnp.int32)).compile().as_text()
    assert any('lapack_sgeqrf' in ln and 'num_batch_dims="1"' in ln for ln in batched.splitlines())


def _cnn_init():
    from rewardlab.rewards.program import load_reward_fn

    cfg = dataclasses.replace(BREAKOUT.ppo, num_envs=4)  # the MinAtar tasks' own CNN
    prepared = ppo_jax.prepare_rewards(BREAKOUT, [("sparse", load_reward_fn(BREAKOUT.sparse))])
    return ppo_jax.build_program(BREAKOUT, cfg, ppo_jax.batched_reward(prepared, 1), 1, 1).init


# --- host reward sources (rewardlab.engines.split_loop) ---------------------------------------------


class _ObjectiveOnHost:
    """Ultimatum's human reward computed in numpy on the host: the same numbers by the other path."""

    components = ("objective_host",)

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, seg):
        self.calls += 1
        agree = (seg.states.offer >= 3) == (seg.actions == 1)
        return {"objective_host": agree.astype(np.float32)}

    def stats(self):
        return {"calls": self.calls}

    def close(self):
        pass


def _no_code(state, action, next_state):
    return 0.0, {}


@pytest.mark.slow
def test_a_host_reward_trains_exactly_like_the_same_code_reward():
    """Rollout -> host -> update gives the compiled program's numbers when the rewards are equal.

    Same task and budget as tests/rewards/test_judge_train.py, whose host program this reuses from the
    compilation cache.
    """
    task = tasks.get("Ultimatum-v0")
    cfg = dataclasses.replace(task.ppo, total_timesteps=4096)
    compiled = ppo_jax.train(task, [task.human], cfg, seeds=[0, 1])
    source = _ObjectiveOnHost()
    hosted = ppo_jax.train_fns(task, [("host", _no_code)], cfg, seeds=[0, 1], host=[source])
    assert source.calls == cfg.num_updates  # one call per rollout, for both runs together
    for c, h in zip(compiled, hosted, strict=True):
        assert [x.fitness for x in c.checkpoints] == [x.fitness for x in h.checkpoints]
        assert [x.reward_return for x in c.checkpoints] == [x.reward_return for x in h.checkpoints]
        for xc, xh in zip(c.checkpoints, h.checkpoints, strict=True):
            assert xc.components["objective"] == xh.components["objective_host"]
        assert h.extra["host_rewards"] == {"_ObjectiveOnHost": {"calls": cfg.num_updates}}
