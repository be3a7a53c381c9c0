"""Warm starts (curriculum): a saved PPO training state restarts training where it left off.

Real trainings on CartPole: a policy trained with the human reward is saved, and a warm-started training
from it evaluates, before its first update, to exactly the saved run's final fitness and stays far above a
cold start at its first checkpoint. The file round-trips every leaf exactly, never unpickles, and a file
that does not fit (another task, other network settings, damaged, foreign) is one error before training.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import statistics
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from rewardlab import tasks
from rewardlab.engines import ppo_jax
from rewardlab.engines import warm_start as W

CARTPOLE = tasks.get("CartPole-v1")
# anneal_lr off: total_timesteps then stays out of the compiled programs, so the long and the short
# trainings below share them (one compile); normalize_obs on, so the observation statistics matter.
LONG = dataclasses.replace(
    CARTPOLE.ppo, total_timesteps=65_536, n_checkpoints=4, eval_episodes=8, normalize_obs=True,
    anneal_lr=False,
)
SHORT = dataclasses.replace(LONG, total_timesteps=1024, n_checkpoints=2)  # first checkpoint: one update
SEEDS = [0, 1, 2, 3]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A CartPole policy trained with the human reward, saved: (result, path of its file, its run index).

    Four seeds, of which the best policy is used (which seed learns best differs between CPUs: XLA's
    float order follows the instruction set); the batch then has the short trainings' run count, and all
    share one set of compiled programs."""
    out = tmp_path_factory.mktemp("long")
    results = ppo_jax.train(CARTPOLE, [CARTPOLE.human], LONG, seeds=SEEDS, save_dir=out)
    assert all(r.ok for r in results), [r.message for r in results]
    best = max(range(len(SEEDS)), key=lambda i: results[i].final_fitness)
    return results[best], Path(results[best].extra["policy"]), best


@pytest.fixture(scope="module")
def cold(tmp_path_factory):
    """Short cold trainings on SEEDS, saved too: (results, folder)."""
    out = tmp_path_factory.mktemp("cold")
    return ppo_jax.train(CARTPOLE, [CARTPOLE.human], SHORT, seeds=SEEDS, save_dir=out), out


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A policy file of LONG's shapes with random leaves, written without training (for the fast tests)."""
    template = _template(LONG)
    rng = np.random.default_rng(1)
    leaves = [rng.standard_normal(x.shape).astype(x.dtype) for x in jax.tree.leaves(template)]
    state = jax.tree.unflatten(jax.tree.structure(template), leaves)
    path = tmp_path_factory.mktemp("made") / W.policy_filename("CartPole-v1:human", 0)
    return W.save(path, state, CARTPOLE, LONG, reward="CartPole-v1:human", seed=0, env_steps=1,
                  final_fitness=float("nan"))


@pytest.mark.slow
def test_a_warm_start_begins_at_the_saved_policy_not_from_scratch(saved, cold):
    res, path, best = saved
    warm = W.WarmStart.load(path)
    assert warm.final_fitness == res.final_fitness and res.final_fitness >= 400, res.checkpoints
    runs = ppo_jax.train(CARTPOLE, [CARTPOLE.sparse], SHORT, seeds=SEEDS, warm_start=warm)
    starts = [r.extra["warm_start"]["start_fitness"] for r in runs]
    # the saved run's seed plays the episodes of its last evaluation: the same number, to the bit
    assert starts[best] == res.final_fitness
    assert min(starts) >= 0.9 * res.final_fitness, starts
    warm_first = [r.checkpoints[0].fitness for r in runs]
    cold_first = [r.checkpoints[0].fitness for r in cold[0]]
    assert statistics.mean(warm_first) >= 0.8 * res.final_fitness, warm_first
    assert statistics.mean(warm_first) >= statistics.mean(cold_first) + 150, (warm_first, cold_first)
    # a warm start counts its own budget from zero
    assert [c.step for c in runs[0].checkpoints] == [c.step for c in cold[0][0].checkpoints]
    assert runs[0].env_steps == SHORT.total_timesteps


@pytest.mark.slow
def test_an_unfinished_policy_restarts_exactly_where_it_stopped(cold):
    """A non-saturated fitness (not 500) reproduced bit for bit: params and observation statistics are
    restored whole. The file of seed 2 starts all four runs; seed 2's run replays its evaluation."""
    results, out = cold
    path = out / W.policy_filename(results[2].candidate, 2)
    assert Path(results[2].extra["policy"]) == path and path.name == "CartPole-v1_human_seed2.policy.npz"
    runs = ppo_jax.train(CARTPOLE, [CARTPOLE.human], SHORT, seeds=SEEDS, warm_start=W.WarmStart.load(path))
    assert runs[2].extra["warm_start"]["start_fitness"] == results[2].final_fitness
    assert runs[2].extra["warm_start"]["saved_fitness"] == results[2].final_fitness


def _template(cfg):
    """One run's state as shapes (traced, not compiled)."""
    init = ppo_jax.build_program(CARTPOLE, cfg, None, 0, 1).init
    r = jax.eval_shape(init, jax.random.PRNGKey(0), np.int32(0))
    return W.TrainState(r.params, r.opt_state, r.obs_stats)


def test_every_leaf_round_trips_exactly_and_the_schedule_restarts(tmp_path):
    cfg = dataclasses.replace(LONG, anneal_lr=True)
    template = _template(cfg)
    rng = np.random.default_rng(0)
    leaves = []
    for _, leaf, restored in W.named_leaves(template):
        if np.dtype(leaf.dtype).kind == "f":
            leaves.append(rng.standard_normal(leaf.shape).astype(leaf.dtype))
        else:
            leaves.append(np.full(leaf.shape, 7 if restored else 11, leaf.dtype))
    state = jax.tree.unflatten(jax.tree.structure(template), leaves)
    path = W.save(tmp_path / "x.policy.npz", state, CARTPOLE, cfg, reward="r", seed=3, env_steps=10,
                  final_fitness=42.0)
    warm = W.WarmStart.load(path)
    back = warm.state(template)
    names = [(n, r) for n, _, r in W.named_leaves(template)]
    assert sum(not r for _, r in names) == 1  # the learning-rate schedule's count, and nothing else
    for (name, restored), a, b in zip(names, jax.tree.leaves(state), jax.tree.leaves(back), strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        if restored:
            assert np.array_equal(a, b), name
        else:
            assert np.all(b == 0), name  # was 11: the new budget's schedule starts at its full rate
    assert warm.header["curriculum"] == [{"reward": "r", "seed": 3, "env_steps": 10}]
    again = W.save(tmp_path / "y.policy.npz", back, CARTPOLE, cfg, reward="s", seed=0, env_steps=5,
                   final_fitness=1.0, previous=warm)
    assert W.WarmStart.load(again).header["total_env_steps"] == 15
    # a constant learning rate has no schedule count; the same file starts it all the same
    W.WarmStart.load(path).state(_template(LONG))


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_files_that_do_not_fit_are_one_error_before_training(made, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = made
    warm = W.WarmStart.load(path)
    acrobot = tasks.get("Acrobot-v1")
    with pytest.raises(W.WarmStartError, match="trained on task CartPole-v1, not Acrobot-v1"):
        ppo_jax.train(acrobot, [acrobot.human], SHORT, warm_start=warm)  # raised before compiling
    with pytest.raises(W.WarmStartError, match=r"other network settings: hidden=\[64, 64\] \(now \[32\]\)"):
        warm.check(CARTPOLE, dataclasses.replace(SHORT, hidden=(32,)))
    with pytest.raises(W.WarmStartError, match="normalize_obs=True"):
        warm.check(CARTPOLE, dataclasses.replace(SHORT, normalize_obs=False))

    data = path.read_bytes()
    cases = {
        "cut.npz": data[: len(data) // 2],
        "text.npz": b"just text\n",
        "pickled.npz": None,
        "foreign.npz": None,
        "tampered.npz": None,
    }
    np.savez(tmp_path / "pickled.npz", header=np.array([_Boom()], dtype=object))
    np.savez(tmp_path / "foreign.npz", weights=np.zeros(3))
    header = dict(warm.header, leaves=[dict(x) for x in warm.header["leaves"]])
    header["leaves"][0]["shape"] = [5]
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != W.HEADER_KEY}
    np.savez(tmp_path / "tampered.npz", header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays)
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
    expected = {
        "cut.npz": "is not a rewardlab policy file",
        "text.npz": "is not a rewardlab policy file",
        "pickled.npz": "is not a rewardlab policy file",
        "foreign.npz": "is not a rewardlab policy file (no header)",
        "tampered.npz": "is damaged: leaf params/",
    }
    for name, message in expected.items():
        with pytest.raises(W.WarmStartError, match=re.escape(message)):
            W.WarmStart.load(tmp_path / name)
    assert not (tmp_path / "PWNED").exists()  # loading never unpickles
    with pytest.raises(W.WarmStartError, match="is a folder; name one policy file in it: "):
        W.WarmStart.load(path.parent)
    with pytest.raises(W.WarmStartError, match="no policy file at"):
        W.WarmStart.load(tmp_path / "missing.policy.npz")


@pytest.mark.slow
def test_a_policy_loads_under_the_sandbox_audit_hook(made, tmp_path):
    """The sandboxed training child installs an audit hook that refuses writes outside its job folder
    before it loads rewards; loading a policy file from anywhere only reads, so it works there."""
    job = tmp_path / "job"
    job.mkdir()
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        import dataclasses, jax, numpy as np
        from rewardlab import tasks
        from rewardlab.engines import ppo_jax, warm_start as W
        from rewardlab.sandbox.guard import install_audit_hook
        task = tasks.get("CartPole-v1")
        cfg = dataclasses.replace(task.ppo, normalize_obs=True)
        init = ppo_jax.build_program(task, cfg, None, 0, 1).init
        r = jax.eval_shape(init, jax.random.PRNGKey(0), np.int32(0))
        job = Path(sys.argv[1])
        install_audit_hook([job])
        warm = W.WarmStart.load(sys.argv[2])  # outside the job folder: reading is allowed
        state = warm.state(W.TrainState(r.params, r.opt_state, r.obs_stats))
        W.save(job / "again.policy.npz", state, task, cfg, reward="x", seed=0, env_steps=1, final_fitness=1.0)
        try:
            W.save(job.parent / "out.policy.npz", state, task, cfg, reward="x", seed=0, env_steps=1,
                   final_fitness=1.0)
        except PermissionError as exc:
            print("refused:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(job), str(made)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "refused: sandbox: writing files outside the run folder" in done.stdout, done.stdout
    assert W.WarmStart.load(job / "again.policy.npz").arrays.keys() == W.WarmStart.load(made).arrays.keys()
    assert not (tmp_path / "out.policy.npz").exists()


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardlab.cli", "train", *args], capture_output=True, text=True, timeout=600,
        cwd=cwd,
    )


SHORT_ARGS = ["--steps", "1024", "--set", "n_checkpoints=2", "--set", "eval_episodes=8",
              "--set", "normalize_obs=true", "--set", "anneal_lr=false", "--no-progress"]


@pytest.mark.slow
def test_the_command_line_saves_and_warm_starts(saved, tmp_path):
    """`rewardlab train --warm-start FILE --out DIR`: the curriculum step, end to end in a new process,
    the runs in the sandboxed training child (which reads the state and saves the new ones in its job
    folder; the command moves them to DIR/policies/). Four seeds: the batch size of the fixtures, whose
    compiled programs the persistent cache serves."""
    res, path, best = saved
    out, results = tmp_path / "out", tmp_path / "res.json"
    done = _cli("CartPole-v1", "--reward", "sparse", "--seeds", "4", *SHORT_ARGS, "--warm-start", str(path),
                "--out", str(out), "--json", str(results), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"warm start from CartPole-v1_human_seed{SEEDS[best]}.policy.npz" in done.stderr
    assert " start " in done.stdout and "not a checkpoint" in done.stdout
    same_seed = json.loads(results.read_text())[best]
    assert same_seed["seed"] == SEEDS[best]
    assert same_seed["extra"]["warm_start"]["start_fitness"] == res.final_fitness
    saved_file = out / "policies" / f"CartPole-v1_sparse_seed{SEEDS[best]}.policy.npz"
    assert same_seed["extra"]["policy"] == str(saved_file)
    header = W.WarmStart.load(saved_file).header
    assert [s["reward"] for s in header["curriculum"]] == ["CartPole-v1:human", "CartPole-v1:sparse"]


def test_the_command_line_refuses_a_policy_that_does_not_fit(made, tmp_path, capsys, monkeypatch):
    from rewardlab import cli

    monkeypatch.chdir(tmp_path)
    path = made
    bad = [
        (["CartPole-v1", "--set", "hidden=32"], "other network settings: hidden=[64, 64] (now [32])"),
        (["Acrobot-v1"], "trained on task CartPole-v1, not Acrobot-v1"),
        (["CartPole-v1", "--set", "normalize_obs=false"], "normalize_obs=True (now False)"),
    ]
    for args, message in bad:
        code = cli.main(["train", *args, "--warm-start", str(path), "--no-progress"])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, err
        assert "compiling" not in err  # refused before anything trained
    assert cli.main(["train", "CartPole-v1", "--warm-start", str(tmp_path)]) == 2
    assert "is a folder; name one policy file in it" in capsys.readouterr().err
