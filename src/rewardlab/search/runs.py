"""A search's run folder, created for a new search or opened again to resume one.

`search(config)` first checks everything the run depends on (`prepare`: the config, the LLM spec and
endpoint, the `--init` reward, the task reference), so a mistake is one error before any folder is
created or any token paid for; then it creates the folder named after the task, with the config (its
budget made explicit) and the task reference (`task.json`), and drives it. `resume(run_dir)` reads the
folder (a damaged file is a RunFolderError naming it), loads the task from `task.json`, refusing a task
file that changed since the run started unless forced, and drives the folder again; `resume(run_dir,
llm=SPEC)` switches the rest of the run to another LLM (`switch_llm`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rewardlab import runfolder
from rewardlab.llm import backend_from_spec, check_backend, watch_streams
from rewardlab.rewards.program import RewardProgramError, read_program
from rewardlab.runfolder import RunFolderError
from rewardlab.runfolder.files import config_hint
from rewardlab.runfolder.io import write_yaml_atomic
from rewardlab.sandbox import check_static
from rewardlab.search.baselines import baseline_specs, check_baselines, check_baselines_for_task
from rewardlab.search.config import SearchConfig
from rewardlab.search.evaluate import preflight
from rewardlab.search.loop import drive
from rewardlab.search.progress import Progress
from rewardlab.store import RunStore
from rewardlab.tasks import Task, TaskRef
from rewardlab.tasks.ref import TaskRefError, changed_message, file_sha256, load, resolve, run_check

BASELINES = ("human", "sparse")


def search(
    config: SearchConfig,
    out_dir: str | Path = "runs",
    *,
    command: list[str] | None = None,
    progress: Progress | None = None,
    check_llm: bool = True,
) -> Path:
    """Run a new search; returns the run folder.

    Everything the run depends on is checked first (`prepare`), so a mistake raises before any folder
    is created or any LLM call is paid for. The folder is named after the task's name and stores the
    config with its budget (and `--init` path) made explicit, and the task reference.
    """
    task, ref, config = prepare(config, check_llm=check_llm)
    store = RunStore.create(out_dir, task.name, config.to_dict(), command, task_ref=ref)
    if config.warm_start is not None:  # the run keeps its own copy: resuming must not depend on the original
        shutil.copyfile(config.warm_start, store.layout.warm_start)
    with _streaming_shown(progress):
        return drive(store, config, task, ref, progress)


def prepare(config: SearchConfig, *, check_llm: bool = True) -> tuple[Task, TaskRef, SearchConfig]:
    """(task, reference, config as the run folder stores it), after checking, cheapest first:

    * the LLM spec parses and its backend can be built (key, SDK): LLMConfigError;
    * every `--baseline` spec (kind, LLM named, objective file, extras; then what the task must offer)
      and `--baseline-llm`: ValueError, LLMConfigError; a host spec given to `--init`: ValueError;
    * an `--init` file reads and passes the static check: RewardProgramError; a feedback file exists;
    * the task reference resolves and the task passes its checks: TaskRefError; `--halving` on a task
      whose engine cannot halve: ValueError;
    * with `executor=ray`, Ray is installed and the cluster answers: ExecutorUnavailable;
    * a network LLM answers a model-list request within seconds (`check_llm=False` skips it):
      LLMUnreachable, or LLMRequestRejected for a refused key.

    Nothing is written and no token is generated.
    """
    backend = llm_backend(config)
    config = check_baselines(config)  # --baseline specs (and a host spec given to --init): no task needed
    baseline_backend = None
    if config.baseline_llm and any(s.has_host for s in baseline_specs(config)):
        baseline_backend = backend_from_spec(config.baseline_llm, timeout_s=config.llm_timeout_s)
    init = config.init
    if init is not None and init not in BASELINES:
        init = str(Path(init).expanduser().resolve())
        try:
            source = read_program(init).source
        except RewardProgramError as exc:
            raise RewardProgramError(f"--init: {exc}") from None
        check_init(source, config.init)
        config = dataclasses.replace(config, init=init)  # a resumed run finds it from any folder
    if config.feedback_file is not None and not Path(config.feedback_file).is_file():
        raise ValueError(f"feedback file not found: {config.feedback_file}")
    task, ref = resolve(config.task)
    if init in BASELINES:
        check_init(task.reward_program(init).source, init)
    if config.warm_start is not None:
        config = dataclasses.replace(config, warm_start=str(Path(config.warm_start).expanduser().resolve()))
        from rewardlab.engines.warm_start import WarmStart

        WarmStart.for_task(config.warm_start, task, config.ppo(task))  # WarmStartError: exit 2
    if config.halving and task.engine != "ppo_jax":
        raise ValueError(f"--halving needs the ppo_jax engine; task {task.name} trains on {task.engine}")
    check_baselines_for_task(config, task)
    preflight(config, task)  # an unreachable cluster: one error before the LLM is asked anything
    if check_llm:
        for b in (backend, baseline_backend):
            if b is not None:
                check_backend(b)
    return task, ref, config.resolved(task)


def llm_backend(config: SearchConfig) -> Any:
    """The run's LLM backend (LLMConfigError for a bad spec, a missing key or SDK); None without an LLM."""
    if not config.llm:
        return None
    return backend_from_spec(config.llm, timeout_s=config.llm_timeout_s, concurrency=config.llm_concurrency)


def check_init(source: str, what: str) -> None:
    """The starting reward must pass the static check the search applies to every candidate."""
    report = check_static(source, "init")
    if not report.ok:
        message = " ".join(report.message.split())
        raise RewardProgramError(f"--init {what} does not pass the reward check ({report.kind}): {message}")


@contextlib.contextmanager
def _streaming_shown(progress: Progress | None) -> Iterator[None]:
    """Show tokens arriving from the LLM on the progress line while replies stream in."""
    if progress is None or not progress.enabled:
        yield
        return
    every = 1.0 if progress.stream.isatty() else 30.0

    def show(status: Any) -> None:
        if status.in_flight:
            progress.update(llm=status.describe())

    with watch_streams(show, every_s=every):
        yield


def read_search_config(store: RunStore) -> SearchConfig:
    """The run's SearchConfig from `config.yaml`; a damaged or invalid file is a RunFolderError."""
    data = store.read_config()
    try:
        return SearchConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        problem = f"is not a valid search config ({' '.join(str(exc).split())[:300]})"
        raise RunFolderError(store.layout.config, problem, config_hint(store.layout)) from None


class RunInUse(RuntimeError):
    """The run folder is being driven by another live process."""


def resume(
    run_dir: str | Path,
    *,
    progress: Progress | None = None,
    force: bool = False,
    check_llm: bool = True,
    where: dict[str, Any] | None = None,
    llm: str | None = None,
) -> Path:
    """Continue a (killed or finished) run from its folder.

    Refuses (RunInUse) while another live process drives the run, since two drivers would write the
    same files, and (TaskRefError) when the task's file changed since the run started, since the rest
    of the run would train a different environment. `force` skips both: for a process you know is gone
    (e.g. on another host), or a change you mean (the new file's hash is recorded, with an event).
    Nothing is written when it refuses, nor when a file of the folder is damaged (RunFolderError names
    it) or the LLM endpoint does not answer (as for a new search; `check_llm=False` skips that).
    `where` overrides where training runs (`executor`, `ray_address`, ...: fields that do not change
    results), e.g. a cluster that came back on another address; config.yaml keeps what the run began with.
    `llm` switches the rest of the run to another LLM spec (`switch_llm`: checked like a new search's,
    refused for an LLM-free run); config.yaml then names it, so a later plain resume keeps it, and an
    `llm_changed` event keeps the spec it replaced.
    """
    store = RunStore(run_dir)
    if not store.layout.run.exists():
        hint = f"{run_dir} is not the folder of a search (rewardlab search prints it at the end)"
        raise RunFolderError(store.layout.run, "is missing", hint)
    owner = None if force else store.live_owner()
    if owner is not None:
        raise RunInUse(
            f"{run_dir} is being driven by {owner}; wait for it, stop it, or pass --force if it is gone"
        )
    config = read_search_config(store)
    config, pending_old = pending_llm_switch(store, config)
    config, old_llm = switch_llm(config, llm, run_dir) if llm is not None else (config, None)
    if where:
        config = dataclasses.replace(config, **where)
    runfolder.verify(store.layout, config.restarts, config.iterations)
    if config.warm_start is not None and not store.layout.warm_start.is_file():
        hint = "it is the --warm-start state the run began with"
        raise RunFolderError(store.layout.warm_start, "is missing", hint)
    backend = llm_backend(config)
    task, ref, changed = load_task(store, config, force=force)
    preflight(config, task)
    if backend is not None and check_llm:
        check_backend(backend)
    run = store.read_run()
    store.update_run(
        status="running",
        attempts=int(run.get("attempts", 1)) + 1,
        pid=os.getpid(),
        host=platform.node(),
        heartbeat=time.time(),
        resume_command=list(sys.argv),
    )
    store.event("resumed", previous_status=run.get("status"))
    if changed is not None:
        runfolder.write_task_ref(store.layout, ref)
        store.event("task_changed", path=ref.path, old_sha256=changed.sha256, new_sha256=ref.sha256)
    # The event first, then config.yaml (which names the LLM the run goes on with): a kill between the
    # two leaves the event, and the next resume finishes the switch from it (`pending_llm_switch`).
    if old_llm is not None:
        store.event("llm_changed", old=old_llm, new=config.llm, attempt=int(run.get("attempts", 1)) + 1)
    if old_llm is not None or pending_old is not None:
        write_yaml_atomic(store.layout.config, {**store.read_config(), "llm": config.llm})
    with _streaming_shown(progress):
        return drive(store, config, task, ref, progress)


def _last_llm_change(store: RunStore) -> str | None:
    """The LLM spec the run's last `llm_changed` event switched to (None when it never switched)."""
    changes = [e for e in store.events() if e.get("event") == "llm_changed"]
    return str(changes[-1].get("new")) if changes and changes[-1].get("new") else None


def pending_llm_switch(store: RunStore, config: SearchConfig) -> tuple[SearchConfig, str | None]:
    """(config, the spec it replaces) for a plain resume: a `resume --llm` killed after recording its
    `llm_changed` event but before config.yaml named the new LLM is finished here, so the run goes on
    with the LLM its events say it switched to; (config, None) when there is nothing to finish."""
    new = _last_llm_change(store) if config.llm else None
    if new is None or new == config.llm:
        return config, None
    return dataclasses.replace(config, llm=new), config.llm


def switch_llm(config: SearchConfig, spec: str, run_dir: str | Path) -> tuple[SearchConfig, str | None]:
    """(config with the LLM `spec`, the spec it replaces; None when it is the same).

    An LLM-free run is refused (ValueError): its proposer started from the human reward and mutates it,
    and its folder has no prompts an LLM could continue from, so switching mid-run would mix two methods.
    The spec itself is checked with the run's other checks (`llm_backend`, `check_backend`)."""
    if not config.llm:
        raise ValueError(
            f"--llm: {run_dir} runs the LLM-free proposer, which cannot switch to an LLM mid-run; "
            "start a new search with --llm SPEC (--init PATH starts it from a reward of this run)"
        )
    spec = spec.strip()
    if not spec:
        raise ValueError("--llm: the spec is empty; the run cannot drop its LLM mid-run")
    if spec == config.llm:
        return config, None
    return dataclasses.replace(config, llm=spec), config.llm


def load_task(store: RunStore, config: SearchConfig, *, force: bool) -> tuple[Task, TaskRef, TaskRef | None]:
    """(task, reference, the stored reference if the task file changed and `force` accepted it).

    The task comes from the run's `task.json`; run folders from before task references name a task in
    their config. A changed task file raises TaskRefError (its one-line message says so) unless `force`.
    """
    ref = runfolder.read_task_ref(store.layout)
    if ref is None:
        task, ref = resolve(config.task)
        return task, ref, None
    stale = ref.path is not None and ref.sha256 is not None and Path(ref.path).is_file() and (
        file_sha256(Path(ref.path)) != ref.sha256
    )
    if not stale:
        return load(ref, verify=True), ref, None
    if not force:
        raise TaskRefError(changed_message(ref))
    current = ref.with_current_hash()
    task = load(current, verify=True)
    run_check(task, current)  # the environment changed: it must still pass the task checks
    return task, current, ref
