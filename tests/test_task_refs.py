"""Task references: a user's environment named by file, module, registration or entry point, found again
in a fresh interpreter; and one clear line for every way a reference can be wrong."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from rewardlab import tasks
from rewardlab.rewards.program import load_reward_fn, transition_fn
from rewardlab.tasks import registry
from rewardlab.tasks.ref import TaskRef, TaskRefError, is_reference, load, resolve
from rewardlab.tasks.rollout import random_transitions
from user_env import DOT_ENV, write_dot_env


@pytest.fixture(scope="module")
def dot(tmp_path_factory):
    """The user's file (outside the package) and its resolved task and reference, shared by the module."""
    path = write_dot_env(tmp_path_factory.mktemp("user") / "project")
    task, ref = resolve(f"{path}:make_task")
    return path, task, ref


def test_file_reference_records_path_and_hash(dot):
    path, task, ref = dot
    assert (ref.kind, ref.name, ref.attr, ref.path) == ("file", "Dot-v0", "make_task", str(path.resolve()))
    assert len(ref.sha256) == 64 and ref.sys_path == (str(path.parent.resolve()),)
    assert TaskRef.from_dict(json.loads(json.dumps(ref.to_dict()))) == ref
    assert load(ref) is task  # the file is imported once per process
    assert not (path.parent / "__pycache__").exists()  # nothing written next to the user's file


def test_a_fresh_interpreter_loads_the_reference(dot):
    """What a training child does: import the task from the reference alone, from another folder."""
    _, _, ref = dot
    code = (
        "import json, sys; from rewardlab.tasks.ref import load; "
        "t = load(json.loads(sys.argv[1])); print(t.name, sorted(t.state_doc), t.env.max_episode_steps)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(ref.to_dict())],
        capture_output=True, text=True, timeout=300, check=True, cwd="/",
    )
    assert out.stdout.split("\n")[0] == "Dot-v0 ['time', 'v', 'x'] 40"


def test_a_changed_file_is_refused_unless_unverified(tmp_path):
    path = write_dot_env(tmp_path, name="changing.py")
    _, ref = resolve(f"{path}:make_task", check=False)
    path.write_text(DOT_ENV.replace("goal: float = 1.0", "goal: float = 1.5"))
    with pytest.raises(TaskRefError, match=r"changed since this run started.*--force"):
        load(ref)
    assert ref.with_current_hash().sha256 != ref.sha256


def test_module_reference_from_the_current_folder(tmp_path, monkeypatch):
    pkg = tmp_path / "userpkg"
    write_dot_env(pkg, name="envs.py")
    (pkg / "__init__.py").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    task, ref = resolve("userpkg.envs:make_task", check=False)
    assert (ref.kind, ref.module, ref.attr, task.name) == ("module", "userpkg.envs", "make_task", "Dot-v0")
    assert ref.sys_path == (str(tmp_path),)
    assert ref.path == str(pkg / "envs.py") and ref.sha256


def test_registered_name_becomes_a_reference_to_the_factory(tmp_path, monkeypatch):
    """`tasks.register()` in the user's own module: children find the factory's file again."""
    path = write_dot_env(tmp_path, name="registering.py")
    registration = "\nfrom rewardlab import tasks\ntasks.register('Dot-registered', make_task)\n"
    path.write_text(path.read_text() + registration)
    registry.names()  # the built-in suite registers itself first, so the copies below hold it
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    monkeypatch.setattr(registry, "_CACHE", dict(registry._CACHE))
    resolve(f"{path}:make_task", check=False)  # importing the file registers the name
    task, ref = resolve("Dot-registered", check=False)
    assert task.name == "Dot-v0" and ref.kind == "file" and ref.path == str(path) and ref.attr == "make_task"
    tasks.register("Dot-lambda", lambda: task)
    with pytest.raises(TaskRefError, match="cannot import again; register a module-level function"):
        resolve("Dot-lambda", check=False)


def test_entry_point_of_an_installed_package(tmp_path, monkeypatch):
    site = tmp_path / "site"
    write_dot_env(site / "dotpkg", name="tasks.py")
    (site / "dotpkg" / "__init__.py").write_text("")
    dist = site / "dotpkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: dotpkg\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[rewardlab.tasks]\nDotEP-v0 = dotpkg.tasks:make_task\n")
    monkeypatch.setattr(sys, "path", [str(site), *sys.path])
    assert "DotEP-v0" in tasks.names()
    task, ref = resolve("DotEP-v0", check=False)
    assert (task.name, ref.kind, ref.module, ref.attr) == ("Dot-v0", "module", "dotpkg.tasks", "make_task")
    assert ref.sys_path == (str(site),)


def test_builtin_names_stay_names():
    task, ref = resolve("CartPole-v1")
    assert (ref.kind, ref.name, ref.path) == ("builtin", "CartPole-v1", None) and load(ref) is task
    assert is_reference("a/b.py:make") and is_reference("pkg.mod:make") and not is_reference("CartPole-v1")


# --- one line for every bad reference ---------------------------------------------------------------------

BROKEN_TASKS = {
    "raises": ("def make_task():\n    raise RuntimeError('no licence for the simulator')\n",
               r"make_task\(\) raised RuntimeError: no licence for the simulator \(bad\.py, line 2\)"),
    "not_a_task": ("make_task = 3\n", "int is neither a Task nor a zero-argument function"),
    "returns_other": ("def make_task():\n    return {'name': 'x'}\n",
                      r"make_task\(\) returned dict, not a rewardlab Task"),
    "needs_args": ("def make_task(size):\n    pass\n", r"must take no arguments \(it requires size\)"),
    "syntax": ("def make_task(:\n", r"importing bad\.py failed: SyntaxError.*line 1"),
    "import_error": ("import not_a_module_anywhere\n", "importing bad.py failed: ModuleNotFoundError"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_TASKS))
def test_broken_reference_says_why_in_one_line(tmp_path, case):
    source, pattern = BROKEN_TASKS[case]
    path = tmp_path / case / "bad.py"
    path.parent.mkdir()
    path.write_text(source)
    with pytest.raises(TaskRefError, match=pattern) as info:
        resolve(f"{path}:make_task")
    assert "\n" not in str(info.value)


def test_missing_file_and_attribute(tmp_path):
    with pytest.raises(TaskRefError, match=r"task file not found: .*nope\.py"):
        resolve(f"{tmp_path}/nope.py:make_task")
    path = write_dot_env(tmp_path)
    with pytest.raises(TaskRefError, match="has no attribute 'make_tsk'; did you mean make_task"):
        resolve(f"{path}:make_tsk")
    with pytest.raises(TaskRefError, match="no module named 'no_such_pkg'"):
        resolve("no_such_pkg.envs:make_task")
    with pytest.raises(TaskRefError, match=r"unknown task Cartpole\. Did you mean CartPole-v1"):
        resolve("Cartpole")


def test_a_task_that_fails_its_check_names_the_check(tmp_path):
    bad_doc = DOT_ENV.replace(
        "name='Dot-v0',", "name='Dot-v0', state_doc={'x': 'position', 'speed': 'velocity', 'time': 't'},"
    )
    assert bad_doc != DOT_ENV
    path = write_dot_env(tmp_path, bad_doc, name="bad_doc.py")
    expected = r"state_doc must document exactly the state fields; missing \['v'\]"
    with pytest.raises(TaskRefError, match=expected):
        resolve(f"{path}:make_task")


def test_a_state_that_is_not_a_pytree_of_arrays_is_refused(tmp_path):
    source = DOT_ENV.replace(
        "    v: jax.Array  # velocity of the dot\n",
        "    v: jax.Array  # velocity of the dot\n"
        "    label: str = struct.field(pytree_node=False, default='dot')\n",
    )
    path = write_dot_env(tmp_path, source, name="labelled.py")
    with pytest.raises(TaskRefError, match="state field 'label' is not a pytree of numeric arrays"):
        resolve(f"{path}:make_task")


# --- what the builder fills in ------------------------------------------------------------------------


def test_builder_defaults(dot):
    _, task, _ = dot
    assert task.state_doc == {
        "time": "int",
        "x": "jax.Array: position of the dot on the line",
        "v": "jax.Array: velocity of the dot",
    }
    assert task.action_doc == "int: one of 3 discrete actions, 0 to 2"
    assert "reach a success state (`reached`)" in task.fitness_doc and task.fitness_range == (0.0, 1.0)
    assert task.search_budget == 2048 and task.ppo.total_timesteps == 8192 and task.ppo.normalize_obs
    assert task.ppo.gamma == 0.95  # 1 - 5 / 40 episode steps, clipped to [0.95, 0.995]
    assert task.human.fn is None and "env_reward" in task.human.source
    assert task.sparse.fn is not None and task.sparse.origin == "sparse"


def test_default_baselines_are_the_env_reward_and_the_success_indicator(dot):
    _, task, _ = dot
    tr = random_transitions(task, n_envs=4, n_steps=200, seed=3)
    args = (tr.state, tr.action, tr.next_state, tr.env_reward)
    human, comps = jax.jit(jax.vmap(transition_fn(load_reward_fn(task.human))))(*args)
    np.testing.assert_array_equal(np.asarray(human), np.asarray(tr.env_reward))
    np.testing.assert_array_equal(np.asarray(comps["env"]), np.asarray(tr.env_reward))
    sparse, _ = jax.jit(jax.vmap(transition_fn(load_reward_fn(task.sparse))))(*args)
    reached = np.abs(1.0 - np.asarray(tr.next_state.x)) < 0.1
    assert reached.any() and (~reached).any()
    np.testing.assert_array_equal(np.asarray(sparse), reached.astype(np.float32))


def test_builder_rejects_inconsistent_fitness(dot):
    from rewardlab.tasks import from_gymnax

    env = dot[1].env
    with pytest.raises(ValueError, match='fitness="success" needs success'):
        from_gymnax(env, name="x", description="d", fitness="success")
    with pytest.raises(ValueError, match="fitness must be one of"):
        from_gymnax(env, name="x", description="d", fitness="speed")
    with pytest.raises(ValueError, match="callable fitness needs fitness_doc"):
        from_gymnax(env, name="x", description="d", fitness=lambda ep: (ep["length"].mean(), {}))
    length = from_gymnax(env, name="x", description="d", fitness="-length", check=False)
    assert length.fitness_range == (-40.0, 0.0) and "step = jnp.float32(-1.0)" in length.sparse.source


def test_human_reward_given_as_source(dot):
    from rewardlab.tasks import from_gymnax

    source = textwrap.dedent("""
        import jax.numpy as jnp

        def compute_reward(state, action, next_state, env_reward):
            progress = next_state.x - state.x
            return env_reward + progress, {"env": env_reward, "progress": progress}
    """)
    task = from_gymnax(dot[1].env, name="Dot-human", description="d", fitness="return", human=source)
    assert task.human.name == "Dot-human:human" and task.human.origin == "human"
    assert "env_reward" in task.sparse.source  # fitness "return": the env reward is the sparse baseline
