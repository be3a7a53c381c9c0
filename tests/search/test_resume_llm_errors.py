"""`rewardlab resume RUN --llm SPEC` refusals: one line, exit status 2, nothing in the run folder changed.

The run folders are made as a new search makes them (config, task reference, run.json) but hold no
iteration yet, so each refusal is checked in a second without training. The switch itself is tested
for real in `test_resume_recovery_and_llm.py`.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from rewardlab.api.cli import main
from rewardlab.search.config import SearchConfig
from rewardlab.search.runs import pending_llm_switch, switch_llm
from rewardlab.store import RunStore
from rewardlab.tasks.ref import resolve


def _run_folder(tmp_path: Path, llm: str | None) -> Path:
    task, ref = resolve("CartPole-v1")
    config = SearchConfig(task="CartPole-v1", llm=llm, samples=2, iterations=1).resolved(task)
    store = RunStore.create(tmp_path, task.name, config.to_dict(), ["rewardlab", "search"], task_ref=ref)
    store.set_status("failed", error="killed")  # no live driver: resume is allowed
    return store.root


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("started_with", "spec", "says"),
    [
        (None, "openai:m@http://127.0.0.1:9/v1", "LLM-free proposer, which cannot switch to an LLM"),
        ("openai:m@http://127.0.0.1:9/v1", "no-colon-here", "bad LLM spec 'no-colon-here'"),
        ("openai:m@http://127.0.0.1:9/v1", "   ", "the spec is empty"),
        ("openai:m@http://127.0.0.1:9/v1", "openai:m@http://127.0.0.1:{port}/v1", "127.0.0.1:{port}"),
    ],
    ids=["llm-free-run", "bad-spec", "empty-spec", "unreachable"],
)
def test_a_refused_switch_is_one_line_exit_2_and_changes_nothing(tmp_path, capsys, started_with, spec, says):
    port = _closed_port()
    spec, says = spec.format(port=port), says.format(port=port)
    root = _run_folder(tmp_path, started_with)
    before = _files(root)
    code = main(["resume", str(root), "--llm", spec, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("rewardlab resume: ") and err.count("\n") == 1 and says in err, err
    assert "Traceback" not in err
    assert _files(root) == before


def test_the_same_spec_is_no_switch_and_help_says_what_is_refused(capsys):
    config = SearchConfig(llm="openai:m@http://127.0.0.1:9/v1")
    assert switch_llm(config, " openai:m@http://127.0.0.1:9/v1 ", "run") == (config, None)
    changed, old = switch_llm(config, "openai:n@http://127.0.0.1:9/v1", "run")
    assert (changed.llm, old) == ("openai:n@http://127.0.0.1:9/v1", config.llm)
    with pytest.raises(SystemExit):
        main(["resume", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "--llm SPEC" in shown and "Refused for a run of the LLM-free proposer" in shown


def test_a_switch_killed_before_config_yaml_is_finished_by_the_next_resume(tmp_path, capsys):
    """`resume --llm` records `llm_changed` before config.yaml names the new LLM; when a kill falls
    between the two, a plain resume goes on with the LLM the event names (here unreachable, so the
    resume stops at its LLM check and the one-line refusal shows which LLM it asked)."""
    old, new = "openai:m@http://127.0.0.1:9/v1", f"openai:n@http://127.0.0.1:{_closed_port()}/v1"
    root = _run_folder(tmp_path, old)
    store = RunStore(root)
    config = SearchConfig(task="CartPole-v1", llm=old)
    assert pending_llm_switch(store, config) == (config, None)  # no event: nothing pending

    store.event("llm_changed", old=old, new=new, attempt=2)  # ... and the kill, before config.yaml
    switched, replaced = pending_llm_switch(store, config)
    assert (switched.llm, replaced) == (new, old)
    assert pending_llm_switch(store, switched) == (switched, None)  # config.yaml already names it

    code = main(["resume", str(root), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and new.split("@")[1].removesuffix("/v1") in err and "127.0.0.1:9/" not in err, err
