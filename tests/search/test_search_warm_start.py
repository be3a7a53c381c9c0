"""`rewardlab search --warm-start FILE`: every training of the search starts from a saved policy.

A CartPole policy is trained with the human reward and saved (in this process, with the search's own PPO
settings); a tiny search started from it trains every candidate, the confirmation and the final
evaluation in the sandboxed child from that state (the run folder's copy of it), which the results show:
a seed-0 run's policy before its first update scores exactly what the saved run scored at its end. A
state that does not fit the task is one error (exit 2) before any run folder exists.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax
import numpy as np
import pytest
from tiny_search import tiny_search_args

from rewardlab import tasks
from rewardlab.api.cli import main as cli
from rewardlab.engines import ppo_jax
from rewardlab.engines import warm_start as W
from rewardlab.engines.warm_start import WarmStart
from rewardlab.search.config import SearchConfig


@pytest.mark.slow
def test_every_training_of_a_search_starts_from_the_saved_policy(tmp_path, capsys):
    task = tasks.get("CartPole-v1")
    args = tiny_search_args(tmp_path / "runs")
    ppo = SearchConfig(timesteps=8192, n_checkpoints=2, eval_episodes=4).ppo(task)
    saved = ppo_jax.train(task, [task.human], ppo, seeds=(0, 1), save_dir=tmp_path / "policies")[0]
    policy = saved.extra["policy"]
    assert WarmStart.load(policy).final_fitness == saved.final_fitness

    fewer = ["--iterations", "1", "--confirm-top", "0", "--final-seeds", "1"]  # the candidates and the final
    assert cli(["search", "CartPole-v1", *args, *fewer, "--warm-start", policy, "--quiet"]) == 0
    run = next((tmp_path / "runs").glob("CartPole-v1-*"))
    copy = run / "warm_start.policy.npz"
    assert copy.read_bytes() == Path(policy).read_bytes()
    results = [json.loads(p.read_text()) for p in run.glob("iter_*/cand_*/result.json")]
    runs = [r for res in results for r in res["results"]]
    final = json.loads((run / "final" / "results.json").read_text())["results"]
    runs += [r for rs in final.values() for r in rs]
    assert runs and all(r["extra"]["warm_start"]["path"] == str(copy.resolve()) for r in runs)
    seed0 = [r["extra"]["warm_start"]["start_fitness"] for r in runs if r["seed"] == 0]
    assert seed0 and all(f == saved.final_fitness for f in seed0), (seed0, saved.final_fitness)


def test_a_state_that_does_not_fit_the_search_is_refused_before_anything_runs(tmp_path, capsys):
    """A state saved from another network (written without training: only its header and shapes matter)."""
    task = tasks.get("CartPole-v1")
    ppo = dataclasses.replace(SearchConfig(timesteps=8192).ppo(task), hidden=(8,))
    init = ppo_jax.build_program(task, ppo, None, 0, 1).init
    r = jax.eval_shape(init, jax.random.PRNGKey(0), np.int32(0))
    template = W.TrainState(r.params, r.opt_state, r.obs_stats)
    state = jax.tree.map(lambda x: np.zeros(x.shape, x.dtype), template)
    path = W.save(tmp_path / "other.policy.npz", state, task, ppo, reward="h", seed=0, env_steps=1,
                  final_fitness=0.0)
    out = tmp_path / "runs"
    code = cli(["search", "CartPole-v1", *tiny_search_args(out), "--warm-start", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and "other network settings: hidden=[8]" in err and "Traceback" not in err, err
    assert not out.exists() or not any(out.iterdir())
