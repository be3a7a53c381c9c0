"""The hostile and broken corpus: every program ends in its expected error kind with a helpful message.

Each file in `corpus/` (Python source stored as `*.py.txt`, so that linters and pytest leave these
deliberately broken programs alone) states what must happen to it in its first comment lines:
`# expect: <kind or ok>`, optionally `# task: <task name>` (default CartPole-v1) and any number of
`# message: <text that must appear in the message>`. The whole corpus, plus the human and sparse
programs of one task of each kind of state (`PROBED_TASKS`), is checked in one `probe_many` call (one
child process, restarted only when a candidate kills or hangs it), so the suite stays fast. `make test`
runs each module on one xdist worker (`--dist loadscope`), so this minute of probing runs once.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from rewardlab import tasks
from rewardlab.sandbox import KINDS, Limits, probe_many
from rewardlab.types import RewardProgram

CORPUS = Path(__file__).parent / "corpus"
PROBED_TASKS = (
    *("Acrobot-v1", "CartPole-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"),  # floats
    "Breakout-MinAtar",  # a boolean grid
    "DeepSea-20",  # integer fields
)
"""Every task's programs also pass `check_task` (tests/test_tasks.py, tests/test_suites.py); the probe
adds the sandbox's path, whose cost is one random rollout per task, so one task per kind of state."""
FILES = sorted(CORPUS.glob("*.py.txt"))
SENTINEL = Path(tempfile.gettempdir()) / "rewardlab_corpus_pwned"
# Small limits keep the timeouts of the corpus cheap; correct programs need well under a second.
LIMITS = Limits(wall_s=4.0, cpu_s=1.5, memory_mb=2048)
MACHINE_PATH = re.compile(r"/(?:work|home|root|usr|tmp|opt)/|site-packages|\.py\b")


def _spec(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    head = [ln for ln in text.splitlines()[:6] if ln.startswith("# ")]
    expect = next(ln.split(":", 1)[1].strip() for ln in head if ln.startswith("# expect:"))
    task = next((ln.split(":", 1)[1].strip() for ln in head if ln.startswith("# task:")), "CartPole-v1")
    messages = [ln.split(":", 1)[1].strip() for ln in head if ln.startswith("# message:")]
    return {"expect": expect, "task": task, "messages": messages, "source": text}


SPECS = {p.name.removesuffix(".py.txt"): _spec(p) for p in FILES}


@pytest.fixture(scope="module")
def corpus_reports(tmp_path_factory):
    """Reports for every corpus file and every task baseline, from one probe_many call."""
    sentinel_before = SENTINEL.exists()
    workdir = tmp_path_factory.mktemp("probe-run")
    items = [(n, tasks.get(n).baseline(which)) for n in PROBED_TASKS for which in ("human", "sparse")]
    items += [(spec["task"], RewardProgram(stem, spec["source"], "llm")) for stem, spec in SPECS.items()]
    reports = probe_many([t for t, _ in items], [p for _, p in items], LIMITS, workdir)
    by_name = {p.name: r for (_, p), r in zip(items, reports, strict=True)}
    return {"reports": by_name, "workdir": workdir, "sentinel_before": sentinel_before}


def test_corpus_is_large_and_covers_every_failure_kind():
    kinds = {spec["expect"] for spec in SPECS.values()}
    assert len(FILES) >= 50
    assert set(KINDS) - {"crash"} <= kinds, f"kinds without a corpus program: {set(KINDS) - kinds}"
    assert kinds <= set(KINDS) | {"ok"}


@pytest.mark.parametrize("stem", sorted(SPECS))
def test_corpus_program_ends_in_expected_kind(stem, corpus_reports):
    spec = SPECS[stem]
    report = corpus_reports["reports"][stem]
    got = "ok" if report.ok else report.kind
    assert got == spec["expect"], f"{stem}: expected {spec['expect']}, got {got}: {report.message}"
    assert report.name == stem
    for text in spec["messages"]:
        assert text in report.message, f"{stem}: {text!r} not in message {report.message!r}"
    if not report.ok:
        assert report.message.strip()
        assert len(report.message) <= 1000
        assert not MACHINE_PATH.search(report.message), f"{stem}: machine path in {report.message!r}"
        if report.line is not None:
            assert f"line {report.line}" in report.message
        assert report.kind in report.feedback()


@pytest.mark.parametrize("task", PROBED_TASKS)
@pytest.mark.parametrize("which", ["human", "sparse"])
def test_task_baselines_pass_the_probe(task, which, corpus_reports):
    report = corpus_reports["reports"][f"{task}:{which}"]
    assert report.ok, report.message
    assert report.stage == "probe"
    assert report.total is not None
    assert report.components, "baselines name their components"
    for m in report.components.values():
        assert m.min <= m.max
        assert m.mean_abs >= 0


def test_corpus_wrote_nothing_outside_its_workdir(corpus_reports):
    if not corpus_reports["sentinel_before"]:
        assert not SENTINEL.exists(), "a hostile program wrote its sentinel file"
    workdir = corpus_reports["workdir"]
    job_dirs = sorted(p for p in workdir.iterdir() if p.name != "transitions")
    assert job_dirs and all(p.name.startswith("probe-") for p in job_dirs)
    assert {p.suffix for p in (workdir / "transitions").iterdir()} == {".npz"}
    for job in job_dirs:
        # HOME and TMPDIR of the child point here; matplotlib, jax and XLA caches must land inside too.
        for path in job.rglob("*"):
            assert workdir in path.parents
    # No probe child may outlive the call.
    for job in job_dirs:
        ready = job / "ready.json"
        if ready.exists():
            import json

            pid = json.loads(ready.read_text())["pid"]
            assert not _alive(pid), f"probe child {pid} still running"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes; /proc says which.
    try:
        return Path(f"/proc/{pid}/status").read_text().find("State:\tZ") < 0
    except OSError:
        return False


def test_the_probe_times_each_reward_so_a_busy_loop_can_be_refused_before_training(corpus_reports):
    from rewardlab.config import PPOConfig
    from rewardlab.sandbox.cost import reward_calls, slow_verdict

    reports = corpus_reports["reports"]
    fast, busy = reports["ok_cartpole_shaped"], reports["ok_busy_loop"]
    assert fast.ok and busy.ok  # both honour the contract: only their speed differs
    assert fast.call_seconds is not None and busy.call_seconds is not None
    assert busy.call_seconds > 20 * fast.call_seconds, (busy.call_seconds, fast.call_seconds)
    # a tiny CartPole search (8,192 steps, 30 s per batch): the busy loop alone (~0.1 s x ~3,000 calls)
    # would outlast the batch; a plain reward (microseconds per call) is far inside it
    cfg = PPOConfig(total_timesteps=8192, num_envs=4, num_steps=128, n_checkpoints=2, eval_episodes=8)
    calls = reward_calls(cfg, episode_steps=500)
    assert slow_verdict(fast, calls, 30.0) is fast
    refused = slow_verdict(busy, calls, 30.0)
    assert not refused.ok and refused.kind == "timeout" and "too slow to train" in refused.message
