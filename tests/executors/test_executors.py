"""The evaluator seam without a cluster: resource requests, what travels to a worker, config checks, and
a cluster that cannot be reached failing in one line (exit 2) before the LLM is asked anything."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fake_openai import FakeLLMServer

from rewardlab.config import PPOConfig
from rewardlab.executors import Batch, ExecutorUnavailable, request
from rewardlab.executors.shipping import config_from_dict, pack, unpack
from rewardlab.search.config import SearchConfig
from rewardlab.tasks.ref import load, resolve
from rewardlab.types import RewardProgram
from user_env import dot_source, write_dot_env


def test_gpu_request_follows_the_task_unless_set():
    cpu = request(cpus=2, gpus=None, memory_mb=1024, practical_on="CPU")
    gpu = request(cpus=2, gpus=None, memory_mb=1024, practical_on="GPU")
    forced_off = request(cpus=2, gpus=0, memory_mb=1024, practical_on="GPU")
    half = request(cpus=1.5, gpus=0.5, memory_mb=0, practical_on="CPU")
    assert (cpu.num_gpus, gpu.num_gpus, forced_off.num_gpus, half.num_gpus) == (0.0, 1.0, 0.0, 0.5)
    env = dict(gpu.env_vars)
    assert env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false" and "XLA_PYTHON_CLIENT_PREALLOCATE" not in dict(
        cpu.env_vars
    )
    assert dict(half.env_vars)["OMP_NUM_THREADS"] == "1" and env["OPENBLAS_NUM_THREADS"] == "2"
    opts = cpu.options()
    assert opts["memory"] == 1024 * 2**20 and opts["num_cpus"] == 2.0
    assert "--xla_cpu_multi_thread_eigen=false" in opts["runtime_env"]["env_vars"]["XLA_FLAGS"]
    with pytest.raises(ValueError, match="ray_cpus"):
        request(cpus=0, gpus=None, memory_mb=1)


def test_search_config_checks_the_ray_fields():
    assert SearchConfig().executor == "local"
    with pytest.raises(ValueError, match="executor must be local or ray"):
        SearchConfig(executor="slurm")
    with pytest.raises(ValueError, match="ray_cpus"):
        SearchConfig(ray_cpus=0)
    # a run folder written before these fields existed resumes on the local worker
    assert SearchConfig.from_dict({"task": "CartPole-v1"}).executor == "local"


def test_a_task_file_travels_with_the_batch(tmp_path):
    """A worker that never saw the user's file gets its bytes: the original is gone when it unpacks."""
    src = write_dot_env(tmp_path / "user", dot_source("Shipped-v0", tiny=True))
    task, ref = resolve(f"{src}:make_task")
    human = task.reward_program("human")
    batch = Batch(
        ref,
        (RewardProgram("a", human.source, "human"), RewardProgram("h", "callable", "human", fn=len)),
        PPOConfig(hidden=(8, 8)),
        (0, 1),
        30.0,
    )
    payload = pack(batch)
    shutil.rmtree(src.parent)
    got_ref, programs, config = unpack(payload, tmp_path / "worker")
    assert got_ref.path != ref.path and got_ref.path.startswith(str(tmp_path / "worker"))
    assert got_ref.sha256 == ref.sha256  # the child still checks the file against the run's hash
    assert load(got_ref, verify=True).name == "Shipped-v0"
    assert [p.fn is not None for p in programs] == [False, True]  # the callable baseline goes by role
    assert config == batch.config and config_from_dict({**payload["config"], "hidden": [8, 8]}) == config


def test_a_warm_start_state_travels_with_the_batch(tmp_path):
    """`search --warm-start` on Ray: the state's bytes go with every batch and are written on the worker."""
    from rewardlab.executors.shipping import warm_start_file

    state = tmp_path / "driver" / "warm.policy.npz"
    state.parent.mkdir()
    state.write_bytes(b"not really a state, bytes are bytes")
    _, ref = resolve("CartPole-v1")
    batch = Batch(ref, (RewardProgram("a", "x", "llm"),), PPOConfig(), (0,), 30.0, None, str(state))
    payload = pack(batch)
    shutil.rmtree(state.parent)
    got = warm_start_file(payload, tmp_path / "worker")
    assert got is not None and got.startswith(str(tmp_path / "worker"))
    assert Path(got).read_bytes() == b"not really a state, bytes are bytes"
    no_state = pack(Batch(ref, batch.programs, PPOConfig(), (0,), 30.0))
    assert warm_start_file(no_state, tmp_path / "worker") is None


def test_unreachable_cluster_is_one_line_before_any_llm_request(tmp_path):
    with FakeLLMServer() as server:
        proc = subprocess.run(
            [sys.executable, "-m", "rewardlab.cli", "search", "CartPole-v1", "--executor", "ray",
             "--ray-address", "127.0.0.1:9", "--llm", f"openai:m@{server.openai_url}", "--out",
             str(tmp_path)],
            capture_output=True, text=True, timeout=300, check=False,
        )
        posts = [r for r in server.requests if r.method == "POST"]
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Ray cluster at 127.0.0.1:9" in lines[0], proc.stderr
    assert posts == [] and not any(tmp_path.iterdir())


def test_connect_refuses_a_malformed_address():
    pytest.importorskip("ray")
    from rewardlab.executors.ray_cluster import connect

    with pytest.raises(ExecutorUnavailable, match="HOST:PORT"):
        connect("nowhere")


def test_progress_shows_batches_per_node():
    from rewardlab.search.loop import _nodes_line
    from rewardlab.search.progress import Progress

    line = _nodes_line({"vm/127.0.0.1/d5a7ecb8": 1, "vm/127.0.0.1/21e47eed": 3})
    assert line == "batches per node: vm/21e47eed 3, vm/d5a7ecb8 1"
    progress = Progress(2, enabled=False)
    progress.update(phase="training", nodes=line)
    assert line in progress.render()
