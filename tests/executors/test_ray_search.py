"""A real two-node Ray cluster on 127.0.0.1 (one CPU per node): a search with `executor=ray` gives the
same records as the local worker, hostile code is contained as locally, a killed driver resumes, and a
node killed mid-batch loses nothing and trains nothing twice. The node-killing test runs last: it
leaves the cluster with one node.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from rewardlab import runfolder
from rewardlab.executors import Batch, LocalEvaluator
from rewardlab.search.config import SearchConfig
from rewardlab.search.runs import search
from rewardlab.store import RunStore
from rewardlab.tasks.ref import resolve
from rewardlab.types import RewardProgram
from run_watch import events as read_events
from run_watch import kill_when
from user_env import dot_source, write_dot_env

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TINY = {"samples": 2, "iterations": 1, "batch_size": 1, "seed": 3}


def _config(task: str, **changes) -> SearchConfig:
    settings = {
        **TINY,
        "final_seeds": 1,
        "confirm_top": 2,
        "confirm_seeds": 1,
        "train_timeout_s": 300.0,
        "jax_cache_dir": os.environ["REWARDLAB_JAX_CACHE"],
    }
    return SearchConfig(task=task, **{**settings, **changes})


@pytest.fixture(scope="module")
def dot_task(tmp_path_factory) -> str:
    """The tiny user environment, in a folder outside the package (it travels to the workers)."""
    folder = tmp_path_factory.mktemp("user")
    return f"{write_dot_env(folder, dot_source('RayDot-v0', tiny=True))}:make_task"


def _fingerprint(run_dir: Path) -> str:
    """Everything a search's records say about training, minus timings and the node (as JSON: NaN-safe)."""
    store = RunStore(run_dir)

    def runs(results) -> list:
        return [
            (r.seed, r.status, r.message, [{**dataclasses.asdict(c), "seconds": None} for c in r.checkpoints])
            for r in results
        ]

    out: dict = {rec.candidate.id: runs(rec.results) for rec in runfolder.read_records(store.layout, 0, 0)}
    conf = runfolder.read_confirmation(store.layout, 0)
    out["confirm"] = [(row.id, row.per_seed) for row in conf.candidates] if conf else None
    final = runfolder.read_final(store.layout)
    out["final"] = {k: runs(v) for k, v in final.results.items()} if final else None
    return json.dumps(out, sort_keys=True)


def test_search_on_two_nodes_matches_local(ray_cluster, dot_task, tmp_path):
    # seed 5, batches of one: the later tests train the same programs and find them compiled
    same = {"seed": 5, "confirm_top": 0}
    local = search(_config(dot_task, **same), tmp_path / "local", check_llm=False)
    on_ray = _config(dot_task, executor="ray", ray_address=ray_cluster.address, **same)
    remote = search(on_ray, tmp_path / "ray")
    assert _fingerprint(remote) == _fingerprint(local)  # bit-identical: the same engine, seeds, batches
    trained = [e for e in read_events(remote) if e["event"] == "trained"]
    assert len(trained) == 2 and all(e["node"].count("/") == 2 for e in trained)
    records = runfolder.read_records(RunStore(remote).layout, 0, 0)
    nodes = {r.extra["node"] for rec in records for r in rec.results}
    assert nodes == {e["node"] for e in trained}
    final = runfolder.read_final(RunStore(remote).layout)
    used = nodes | {r.extra["node"] for v in final.results.values() for r in v}
    assert len(used) == 2, used  # one-CPU nodes: concurrent batches spread over both
    assert not any((remote / "worker").glob("job-*")), "remote training wrote into the driver's run folder"


HOSTILE = {
    "policy": "import os\n\ndef compute_reward(state, action, next_state, env_reward):\n"
    "    os.system('touch /tmp/pwned')\n    return env_reward, {'env': env_reward}\n",
    "loops": "def compute_reward(state, action, next_state, env_reward):\n    n = 0\n    while True:\n"
    "        n += 1\n    return env_reward, {'env': env_reward}\n",
}


def test_hostile_programs_are_contained_as_locally(ray_cluster, dot_task, tmp_path):
    from rewardlab.executors import request
    from rewardlab.executors.ray_cluster import RayEvaluator

    task, ref = resolve(dot_task)
    config = _config(dot_task).ppo(task)
    work = [
        Batch(ref, (RewardProgram(name, src, "llm"),), config, (0,), 15.0) for name, src in HOSTILE.items()
    ]
    local_evaluator = LocalEvaluator(tmp_path)
    try:
        local = dict(local_evaluator.run(work))
    finally:
        local_evaluator.close()
    evaluator = RayEvaluator(request(cpus=1, gpus=None, memory_mb=512), address=ray_cluster.address)
    remote = dict(evaluator.run(work))
    for i in range(len(work)):
        mine, theirs = local[i].results[0], remote[i].results[0]
        assert (theirs.status, theirs.message) == (mine.status, mine.message)
    assert "importing `os` is not allowed" in local[0].results[0].message
    assert "timed out after 15 s" in local[1].results[0].message


def test_a_batch_no_node_can_run_is_refused_at_once(ray_cluster):
    from rewardlab.executors import ExecutorUnavailable, request
    from rewardlab.executors.ray_cluster import RayEvaluator

    with pytest.raises(ExecutorUnavailable, match=r"no node of the Ray cluster has .*1 GPU"):
        RayEvaluator(request(cpus=1, gpus=None, memory_mb=0, practical_on="GPU"), address=ray_cluster.address)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "rewardlab.cli", *args]


def test_driver_killed_then_resumed_on_ray(ray_cluster, dot_task, tmp_path):
    out = tmp_path / "runs"
    args = [
        "search", dot_task, "--samples", "3", "--iterations", "1", "--final-seeds", "0",
        "--confirm-top", "0", "--seed", "5", "--executor", "ray", "--ray-address", ray_cluster.address,
        "--out", str(out), "--quiet",
        "--set", "batch_size=1", "--set", f"jax_cache_dir={os.environ['REWARDLAB_JAX_CACHE']}",
    ]
    proc = subprocess.Popen(
        _cli(*args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    # SIGKILL the driver once the first batch is back: 3 batches, 2 one-CPU nodes
    run_dir = kill_when(proc, out, "RayDot-v0-*", lambda evs: any(e["event"] == "trained" for e in evs),
                        "the search never trained its first batch", timeout_s=500)
    resumed = subprocess.run(_cli("resume", str(run_dir), "--quiet"), capture_output=True, text=True,
                             timeout=600, check=False)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-3000:]
    events = read_events(run_dir)
    trained = Counter(e["id"] for e in events if e["event"] == "trained")
    assert set(trained) == {"r0-i0-c0", "r0-i0-c1", "r0-i0-c2"}
    assert max(trained.values()) == 1, trained  # nothing finished was trained again
    kinds = [e["event"] for e in events]
    assert "trained" in kinds[kinds.index("resumed"):]  # the resumed driver trained what was unfinished
    assert RunStore(run_dir).read_run()["status"] == "finished"


def _parent(pid: int) -> int:
    """The parent of a process (0 when it is gone): field 4 of /proc/PID/stat, after the command's ')'."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _training_child_under(ancestor: int) -> bool:
    """Whether a sandboxed training child runs inside a Ray task of the node whose raylet is `ancestor`
    (Ray's worker processes are the raylet's children; their job folders are in the task's temp)."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            cwd = os.readlink(f"/proc/{pid}/cwd")
            if b"rewardlab.sandbox._train_child" not in cmd or "rewardlab-ray-" not in cwd:
                continue
            p = int(pid)
            while p > 1:
                p = _parent(p)
                if p == ancestor:
                    return True
    return False


def test_node_killed_mid_batch_loses_nothing(ray_cluster, dot_task, tmp_path):
    import ray._private.ray_constants as ray_constants

    raylet = ray_cluster.worker.all_processes[ray_constants.PROCESS_TYPE_RAYLET][0].process.pid
    killed = threading.Event()

    def kill_when_the_worker_node_trains() -> None:
        # Kill the non-head node while one of its training children runs (a batch is in flight there).
        # Waiting for both nodes to train at once was a race: with compiled programs in the cache, one
        # node's batch could finish before the other's child started.
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and not killed.is_set():
            if _training_child_under(raylet):
                ray_cluster.cluster.remove_node(ray_cluster.worker, allow_graceful=False)
                killed.set()
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_when_the_worker_node_trains, daemon=True)
    killer.start()
    # seed 5, batches of one: programs the earlier tests compiled (the nodes' cache has them)
    run_dir = search(_config(dot_task, executor="ray", ray_address=ray_cluster.address, seed=5,
                             confirm_top=0, final_seeds=0), tmp_path)
    killer.join(timeout=5)
    assert killed.is_set(), "no batch ran on the worker node, so it was never killed mid-batch"
    events = read_events(run_dir)
    trained = Counter(e["id"] for e in events if e["event"] == "trained")
    assert trained == Counter({"r0-i0-c0": 1, "r0-i0-c1": 1})
    records = runfolder.read_records(RunStore(run_dir).layout, 0, 0)
    assert [r.status for rec in records for r in rec.results] == ["ok", "ok"]
    assert len({e["node"] for e in events if e["event"] == "trained"}) == 1  # the survivor did both
