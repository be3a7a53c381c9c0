"""The search and a task reference: one set of defaults for the API and the CLI, one-line errors for bad
references (and no run folder), `task.json` written and used on resume, a changed task file refused
unless forced."""

from __future__ import annotations

import argparse
import json
import os

import pytest

from rewardlab import runfolder, tasks
from rewardlab.api.cli import OPTIONS, add_search_commands, config_from_args, main
from rewardlab.search import SearchConfig
from rewardlab.search.runs import load_task
from rewardlab.store import RunStore, folder_stem
from rewardlab.tasks import TaskRefError
from user_env import dot_source, write_dot_env

NAME = "my/line:v0"  # a slash and a colon, which a run folder's name must not have
SOURCE = dot_source(NAME, tiny=True)


def _search_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rewardlab")
    add_search_commands(parser.add_subparsers(dest="command"))
    return parser


def test_cli_and_api_share_one_set_of_defaults():
    cartpole = tasks.get("CartPole-v1")
    cli = config_from_args(_search_parser().parse_args(["search", "CartPole-v1"]))
    api = SearchConfig(task="CartPole-v1")
    assert cli == api
    assert cli.ppo(cartpole).total_timesteps == api.ppo(cartpole).total_timesteps == 8192
    assert cli.ppo(cartpole).total_timesteps == cartpole.search_budget
    # the real command line (rewardlab.cli) builds the same config
    from rewardlab.cli import build_parser

    assert config_from_args(build_parser().parse_args(["search", "CartPole-v1"])) == api
    # every option shows its field's help text; none carries a default of its own
    fields = {f.name: f for f in SearchConfig.__dataclass_fields__.values()}
    actions = {a.dest: a for a in _search_parser()._subparsers._group_actions[0].choices["search"]._actions}
    for name, _, _ in OPTIONS:
        assert actions[name].default is None and fields[name].metadata["help"] in actions[name].help
    # 0 keeps meaning the task's full PPO budget; a number is that number; --set parses by field type
    zero = config_from_args(_search_parser().parse_args(["search", "CartPole-v1", "--timesteps", "0"]))
    assert zero.ppo(cartpole).total_timesteps == cartpole.ppo.total_timesteps
    pendulum = tasks.get("Pendulum-v1")
    args = ["search", "Pendulum-v1", "--set", "timesteps=4096", "--set", "seeds=2"]
    got = config_from_args(_search_parser().parse_args(args))
    assert (got.timesteps, got.seeds) == (4096, 2) and got.ppo(pendulum).total_timesteps == 4096
    assert SearchConfig(task="Pendulum-v1").resolved(pendulum).timesteps == 98_304


def test_folder_names_are_safe():
    assert folder_stem("CartPole-v1") == "CartPole-v1"
    assert folder_stem(NAME) == "my_line_v0"
    assert folder_stem("../..") == "task"


BROKEN = {
    "missing.py": None,  # no such file
    "no_factory.py": "x = 3\n",
    "raises.py": "def make_task():\n    raise RuntimeError('boom: no GPU here')\n",
    # state_doc leaves out the field `time`, and the factory does not check the task itself
    "fails_check.py": SOURCE.replace("search_timesteps=512,", "state_doc={'x': 'x'}, check=False,"),
}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("missing.py:make_task", "task file not found"),
        ("no_factory.py:make_task", "has no attribute 'make_task'"),
        ("no_factory.py:x", "neither a Task nor a zero-argument function"),
        ("raises.py:make_task", "boom: no GPU here"),
        ("fails_check.py:make_task", "time"),  # the state field that state_doc does not explain
        ("NoSuchTask-v0", "NoSuchTask-v0"),
    ],
)
def test_bad_task_references_are_one_line_errors_and_create_nothing(tmp_path, capsys, spec, expected):
    for name, text in BROKEN.items():
        if text is not None:
            (tmp_path / name).write_text(text)
    out = tmp_path / "runs"
    code = main(["search", f"{tmp_path}/{spec}" if ".py" in spec else spec, "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("rewardlab search: ") and err.count("\n") == 1 and expected in err, err
    assert not out.exists()  # no run folder, not even its parent


def test_a_run_folder_without_task_json_resumes_by_the_task_name(tmp_path):
    store = RunStore.create(tmp_path, "CartPole-v1", SearchConfig(timesteps=8192).to_dict(), ["x"])
    assert runfolder.read_task_ref(store.layout) is None
    task, ref, changed = load_task(store, SearchConfig.from_dict(store.read_config()), force=False)
    assert (task.name, ref.kind, changed) == ("CartPole-v1", "builtin", None)


@pytest.mark.slow
def test_user_task_search_stores_its_reference_and_resume_refuses_changes(tmp_path, monkeypatch, capsys):
    from rewardlab.api import resume, search
    from rewardlab.tasks.ref import file_sha256

    project = tmp_path / "project"
    env_file = write_dot_env(project, SOURCE, name="line_env.py")
    monkeypatch.chdir(project)
    config = SearchConfig(
        task="line_env.py:make_task",  # relative to the folder the search starts in
        samples=1,
        iterations=1,
        final_seeds=0,
        confirm_top=0,
        n_checkpoints=1,
        eval_episodes=2,
        check="static",
        jax_cache_dir=os.environ["REWARDLAB_JAX_CACHE"],
    )
    run_dir = search(config, tmp_path / "runs", command=["test"])
    store = RunStore(run_dir)
    layout = store.layout

    # the folder is named after the task's name; task.json holds the resolved reference
    assert run_dir.name.startswith("my_line_v0-")
    ref = runfolder.read_task_ref(layout)
    assert (ref.kind, ref.name, ref.path, ref.sha256) == ("file", NAME, str(env_file), file_sha256(env_file))
    stored = store.read_config()
    assert stored["task"] == "line_env.py:make_task"
    assert stored["timesteps"] == 512  # None became the task's search budget
    # the sandbox got the reference (its children imported the user's file) and trained the budget
    jobs = sorted(layout.worker.glob("job-*/job.json"))
    assert jobs and all(json.loads(j.read_text())["task"]["path"] == str(env_file) for j in jobs)
    rec = runfolder.read_record(layout, 0, 0, 0)
    assert rec.status == "ok" and rec.results[0].env_steps == 512
    assert store.read_run()["status"] == "finished" and layout.report.exists()

    # resumed from another folder: the relative spec means nothing there, task.json finds the file
    monkeypatch.chdir(tmp_path)
    trained = lambda: sum(1 for e in store.events() if e["event"] == "trained")
    assert resume(run_dir) == run_dir and trained() == 1

    # the user edits the environment: resume refuses with one line and writes nothing
    env_file.write_text(env_file.read_text() + "\n# tuned later\n")
    before = (layout.run.read_bytes(), layout.events.read_bytes(), layout.task.read_bytes())
    with pytest.raises(TaskRefError, match="changed since this run started"):
        resume(run_dir)
    capsys.readouterr()
    assert main(["resume", str(run_dir), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rewardlab resume: task file") and err.count("\n") == 1 and "--force" in err
    assert (layout.run.read_bytes(), layout.events.read_bytes(), layout.task.read_bytes()) == before

    # --force accepts the change: task.json gets the new hash and the journal says so
    assert main(["resume", str(run_dir), "--quiet", "--force"]) == 0
    new = runfolder.read_task_ref(layout)
    assert new.sha256 == file_sha256(env_file) != ref.sha256 and new.path == ref.path
    (changed,) = [e for e in store.events() if e["event"] == "task_changed"]
    assert (changed["old_sha256"], changed["new_sha256"]) == (ref.sha256, new.sha256)
    assert trained() == 1 and store.read_run()["attempts"] == 3
    assert resume(run_dir) == run_dir  # and the next resume accepts the file as it is now
