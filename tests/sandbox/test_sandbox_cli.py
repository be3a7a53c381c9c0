"""`rewardlab check TASK PATH.py` (through `rewardlab.sandbox.cli`, until the main CLI wires it in)."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys

from rewardlab import tasks
from rewardlab.sandbox.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _main_for_tests

BAD = (
    "import numpy as np\n\n"
    "def compute_reward(state, action, next_state):\n    return np.cos(next_state.theta), {}\n"
)


def _check(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = _main_for_tests(["check", *argv], out)
    return code, out.getvalue()


def test_check_passes_a_good_program_and_prints_magnitudes(tmp_path):
    path = tmp_path / "pendulum_reward.py"
    path.write_text(tasks.get("Pendulum-v1").human.source)
    code, out = _check("Pendulum-v1", str(path))
    assert code == EXIT_OK, out
    assert out.startswith("pendulum_reward on Pendulum-v1: OK")
    for term in ("total", "angle_cost", "velocity_cost", "torque_cost", "mean |x|"):
        assert term in out
    assert re.search(r"one compiled call on the sampled transitions: [0-9.e+-]+ ms", out), out


def test_check_fails_a_bad_program_with_exit_1(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(BAD)
    code, out = _check("CartPole-v1", str(path))
    assert code == EXIT_FAILED
    assert "FAILED (policy)" in out and "line 1" in out and "jax.numpy" in out
    code, out = _check("CartPole-v1", str(path), "--json")
    assert code == EXIT_FAILED
    data = json.loads(out)
    assert data["ok"] is False and data["kind"] == "policy" and data["line"] == 1


def test_usage_errors_exit_2(tmp_path, capsys):
    path = tmp_path / "r.py"
    path.write_text(BAD)
    assert _check("CartPol-v1", str(path))[0] == EXIT_USAGE
    assert "Did you mean CartPole-v1" in capsys.readouterr().err
    assert _check("CartPole-v1", str(tmp_path / "missing.py"))[0] == EXIT_USAGE
    assert "reward file not found" in capsys.readouterr().err
    assert _check("CartPole-v1", str(path), "--wall", "0")[0] == EXIT_USAGE


def test_check_runs_as_a_module(tmp_path):
    path = tmp_path / "bad.py"
    path.write_text(BAD)
    proc = subprocess.run([sys.executable, "-m", "rewardlab.sandbox.cli", "check", "CartPole-v1", str(path)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == EXIT_FAILED, proc.stderr
    assert "bad on CartPole-v1: FAILED (policy)" in proc.stdout
