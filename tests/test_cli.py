"""The `rewardlab` command, run as a user would: in a subprocess."""

import json
import subprocess
import sys

import pytest


def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rewardlab.cli", *args], capture_output=True, text=True, timeout=timeout
    )


def test_help_teaches_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for word in ("tasks", "train", "check", "llm", "compute_reward"):
        assert word in out.stdout
    train_help = run("train", "--help").stdout
    assert "total_timesteps" in train_help and "--seeds" in train_help


def test_tasks_lists_and_shows():
    out = run("tasks")
    assert out.returncode == 0 and "MountainCar-v0" in out.stdout
    show = run("tasks", "--show", "Pendulum-v1")
    assert show.returncode == 0 and "theta_dot" in show.stdout and "def compute_reward" in show.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "CartPol"), "Did you mean CartPole-v1"),
        (("train", "CartPole-v1", "--set", "lrr=1"), "unknown setting 'lrr'"),
        (("train", "CartPole-v1", "--reward", "missing.py"), "reward file not found"),
        (("train", "CartPole-v1", "--seeds", "0"), "--seeds must be at least 1"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    out = run(*args)
    assert out.returncode == 2
    assert message in out.stderr
    assert "Traceback" not in out.stderr


def test_train_a_user_reward_file(tmp_path):
    reward = tmp_path / "upright.py"
    reward.write_text(
        "import jax.numpy as jnp\n\n"
        "def compute_reward(state, action, next_state):\n"
        "    up = jnp.cos(next_state.theta)\n"
        "    return up, {'up': up}\n"
    )
    out_json = tmp_path / "res.json"
    out = run(
        "train", "CartPole-v1", "--reward", str(reward), "--reward", "sparse", "--seeds", "1",
        "--steps", "8192", "--set", "n_checkpoints=2", "--json", str(out_json), "--no-progress",
    )
    assert out.returncode == 0, out.stderr
    assert "upright" in out.stdout and "CartPole-v1:sparse" in out.stdout and "med" in out.stdout
    results = json.loads(out_json.read_text())
    assert [r["candidate"] for r in results] == ["upright", "CartPole-v1:sparse"]
    assert set(results[0]["checkpoints"][-1]["components"]) == {"up"}
