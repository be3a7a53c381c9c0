"""The `rewardlab` command, run as a user would: in a subprocess."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

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
        "--jax-cache", os.environ["REWARDLAB_JAX_CACHE"],
    )
    assert out.returncode == 0, out.stderr
    assert "in the sandboxed training process" in out.stderr
    assert "upright" in out.stdout and "CartPole-v1:sparse" in out.stdout and "med" in out.stdout
    results = json.loads(out_json.read_text())
    assert [r["candidate"] for r in results] == ["upright", "CartPole-v1:sparse"]
    assert set(results[0]["checkpoints"][-1]["components"]) == {"up"}


# --- one error path: no traceback for any bad input ------------------------------------------------------

DRIVER = textwrap.dedent("""
    import contextlib, io, json, sys
    from rewardlab.cli import main
    results = []
    for argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code
        results.append({"code": code, "stdout": out.getvalue(), "stderr": err.getvalue()})
    print(json.dumps(results))
""")
"""Runs several commands in one process (the imports are paid once); an exception that escapes `main`
ends the process with a traceback, which the test reports."""

GOOD = "import jax.numpy as jnp\n\ndef compute_reward(state, action, next_state):\n    return 1.0, {}\n"
EVIL = 'open("PWNED", "w").write("x")\n\ndef compute_reward(state, action, next_state):\n    return 1.0, {}\n'


def _bad_inputs(tmp: Path) -> dict[str, Path]:
    """Files a user might pass by mistake, and run folders damaged in the ways the issue found."""
    from report.report_fixtures import make_run

    (tmp / "folder.py").mkdir()
    (tmp / "binary.py").write_bytes(bytes(range(256)) * 4)
    (tmp / "empty.py").write_text("")
    (tmp / "evil.py").write_text(EVIL)
    runs = {}
    for name, garble in (
        ("yaml", lambda r: (r / "config.yaml").write_text("samples: [4\n")),
        ("types", lambda r: (r / "config.yaml").write_text("samples: many\n")),
        ("run_json", lambda r: (r / "run.json").write_text("{not json")),
        ("candidate", lambda r: (r / "iter_000" / "cand_000" / "candidate.json").write_text('{"origin": ')),
    ):
        run_dir = make_run(tmp / f"damaged-{name}")
        garble(run_dir)
        runs[name] = run_dir
    return runs


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CASES = {
    # group "input": read and checked before any task is resolved (no JAX), nothing may be created
    "input": [
        (["search", "CartPole-v1", "--llm", "bogus:spec"], 2, "unknown LLM backend 'bogus'"),
        (["search", "CartPole-v1", "--set", "samples=0"], 2, "samples must be >= 1"),
        (["search", "CartPole-v1", "--llm", "openai:gpt-4o"], 2, "no API key for openai:gpt-4o"),
        (["search", "CartPole-v1", "--init", "missing.py"], 2, "--init: reward file not found"),
        (["search", "CartPole-v1", "--init", "folder.py"], 2, "is a directory"),
        (["search", "CartPole-v1", "--init", "binary.py"], 2, "binary.py is not UTF-8 text"),
        (["search", "CartPole-v1", "--init", "empty.py"], 2, "empty.py is empty"),
        (["search", "CartPole-v1", "--init", "evil.py"], 2, "does not pass the reward check (policy)"),
        (["train", "CartPole-v1", "--reward", "evil.py"], 2, "evil.py does not pass the reward check"),
        (["train", "CartPole-v1", "--reward", "binary.py"], 2, "binary.py is not UTF-8 text"),
        (["train", "CartPole-v1", "--reward", "missing.py"], 2, "reward file not found"),
        (["train", "CartPole-v1", "--seeds", "0"], 2, "--seeds must be at least 1"),
        (["search", "CartPole-v1", "--feedback", "human", "--feedback-file", "nope.txt"], 2, "nope.txt"),
        (["resume", "{yaml}"], 2, "config.yaml: is not valid YAML (line"),
        (["resume", "{types}"], 2, "config.yaml: is not a valid search config"),
        (["resume", "{run_json}"], 2, "run.json: is not valid JSON"),
        (["resume", "{candidate}"], 2, "cand_000/candidate.json: is not valid JSON"),
        (["report", "{candidate}"], 2, "candidate.json: is not valid JSON"),
        (["resume", "nowhere"], 2, "nowhere is not a run folder"),
        (["report", "nowhere"], 2, "nowhere is not a run folder"),
        (["llm", "ping", "nonsense"], 2, "bad LLM spec"),
    ],
    # group "tasks": these resolve the task (JAX) or reach the network
    "tasks": [
        (["search", "CartPole-v1", "--llm", "openai:x@http://127.0.0.1:{port}/v1"], 2, "nothing answers at"),
        (["search", "NoSuchTask-v0"], 2, "unknown task NoSuchTask-v0"),
        (["tasks", "--show", "NoSuch"], 2, "unknown task NoSuch"),
        (["check", "CartPole-v1", "missing.py"], 2, "reward file not found"),
        (["train", "CartPole-v1", "--set", "lrr=1"], 2, "unknown setting 'lrr'"),
        (["train", "CartPol"], 2, "Did you mean CartPole-v1"),
    ],
}


@pytest.mark.parametrize("group", sorted(CASES))
def test_bad_input_is_one_line_without_a_traceback(tmp_path, group):
    """Each command of the issue (and more) by subprocess: the exit status, one line `rewardlab CMD: ...`
    naming the problem, no traceback, and no run folder where validation failed."""
    runs = _bad_inputs(tmp_path)
    before = {p: (p / "run.json").read_bytes() + (p / "events.jsonl").read_bytes() for p in runs.values()}
    fill = {**{k: str(v) for k, v in runs.items()}, "port": str(_closed_port())}
    cases = [([a.format(**fill) for a in argv], code, text) for argv, code, text in CASES[group]]
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "REWARDLAB_DEBUG"}
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps([argv for argv, _, _ in cases])],
        capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env,
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    for (argv, code, text), got in zip(cases, json.loads(proc.stdout), strict=True):
        lines = [line for line in got["stderr"].splitlines() if line.strip()]
        mine = [line for line in lines if line.startswith("rewardlab ")]
        assert got["code"] == code, (argv, got)
        assert "Traceback" not in got["stderr"] + got["stdout"], (argv, got)
        assert len(mine) == 1 and mine[0].startswith(f"rewardlab {argv[0]}"), (argv, lines)
        assert text in mine[0], (argv, mine[0])
    assert not (tmp_path / "runs").exists()  # no search created a run folder
    assert not (tmp_path / "PWNED").exists()
    for run_dir, content in before.items():  # a refused resume changed nothing
        assert (run_dir / "run.json").read_bytes() + (run_dir / "events.jsonl").read_bytes() == content


def test_debug_shows_the_traceback(tmp_path, monkeypatch, capsys):
    """In-process (this error is raised before JAX or the task is touched): --debug before or after the
    command, or REWARDLAB_DEBUG=1, adds the traceback above the one line."""
    from rewardlab.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REWARDLAB_DEBUG", raising=False)
    bad = ["search", "CartPole-v1", "--llm", "bogus:spec"]
    for argv, env in (([*bad], None), (["--debug", *bad], None), ([*bad, "--debug"], None), (bad, "1")):
        if env is not None:
            monkeypatch.setenv("REWARDLAB_DEBUG", env)
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.rstrip().splitlines()[-1].startswith("rewardlab search: unknown LLM backend")
        assert ("Traceback" in err and "LLMConfigError" in err) == (argv != bad or env is not None)
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_train_sandboxes_reward_files(tmp_path):
    """A reward that loops forever in training ends with a timeout error; one with a module-level side
    effect is rejected before anything runs; nothing is written outside the job folder."""
    hang = tmp_path / "hang.py"
    hang.write_text(
        "import jax\n\n"
        "def compute_reward(state, action, next_state):\n"
        "    # spins forever once an episode is a few steps old: a fresh state passes, training hangs\n"
        "    spin = jax.lax.while_loop(lambda c: c[1] >= 3, lambda c: (c[0] + 1.0, c[1]), "
        "(0.0, next_state.time))\n"
        "    return spin[0] + 1.0, {'alive': spin[0] + 1.0}\n"
    )
    (tmp_path / "evil.py").write_text(EVIL)
    jobs, tmp = tmp_path / "jobs", tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp)}

    def train(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "rewardlab.cli", "train", "CartPole-v1", *args, "--seeds", "1",
             "--steps", "8192", "--no-progress"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env,
        )

    evil = train("--reward", "evil.py", "--out", str(jobs))
    assert evil.returncode == 2 and "does not pass the reward check" in evil.stderr, evil.stderr
    assert not (tmp_path / "PWNED").exists() and not jobs.exists()  # rejected before anything ran

    stuck = train("--reward", "hang.py", "--timeout", "30", "--out", str(jobs))
    assert stuck.returncode == 1, stuck.stderr
    assert "training timed out after 30 s (wall clock); the process was killed" in stuck.stdout
    assert "rewardlab train: 1 of 1 run(s) failed: training timed out" in stuck.stderr
    assert "Traceback" not in stuck.stderr
    # everything the sandboxed process wrote is in the job folder; the user's folder holds only inputs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.py", "hang.py", "jobs", "tmp"]
    assert not list(tmp.iterdir())
    assert sorted(p.name for p in jobs.iterdir()) == ["jax_cache", "worker"]


def test_error_kinds_map_to_exit_status_and_one_line():
    from rewardlab.api.errors import describe, run_command
    from rewardlab.llm import LLMRetryBudgetExhausted
    from rewardlab.tasks import TaskRefError

    failed = LLMRetryBudgetExhausted("openai:m: gave up after 5 attempts", attempts=5, last_status=503,
                                     last_error="HTTP 503")
    failed.add_note("everything finished so far is kept in runs/x: `rewardlab resume runs/x` continues it")
    assert describe(failed) == (1, f"{failed}; {failed.__notes__[0]}")
    assert describe(TaskRefError("unknown task X.\n Known tasks: A"))[0] == 2
    assert describe(TaskRefError("unknown task X.\n Known tasks: A"))[1] == "unknown task X. Known tasks: A"
    denied = PermissionError(13, "Permission denied", "/root/x.py")
    assert describe(denied) == (2, "Permission denied: /root/x.py")
    code, line = describe(KeyError("boom"))
    assert code == 1 and line.startswith("internal error: KeyError") and "--debug" in line

    import io

    err = io.StringIO()

    def broken(args):
        raise RuntimeError("no")

    assert run_command("tasks", broken, None, err=err) == 1
    assert err.getvalue().startswith("rewardlab tasks: internal error: RuntimeError: no")
    assert "Traceback" not in err.getvalue()


def test_trusted_skips_the_check_that_the_default_applies(tmp_path):
    """In-process, nothing trained: the default refuses a file the check rejects before any training,
    `--trusted` takes it as it is (it would run with the user's privileges)."""
    from rewardlab.api.train import _read_file
    from rewardlab.rewards.program import RewardProgramError

    evil = tmp_path / "evil.py"
    evil.write_text(EVIL)
    with pytest.raises(RewardProgramError, match=r"does not pass the reward check.*--trusted"):
        _read_file(str(evil), "CartPole-v1", checked=True)
    assert _read_file(str(evil), "CartPole-v1", checked=False).source == EVIL
    assert not (tmp_path / "PWNED").exists()  # reading is not running
