"""A search's run folder, created for a new search or opened again to resume one.

`search(config)` resolves the task once (a bad reference raises TaskRefError before anything is
written), creates the folder named after the task, with the config (its budget made explicit) and the
task reference (`task.json`), and drives it. `resume(run_dir)` loads the task from `task.json`, refusing
a task file that changed since the run started unless forced, and drives the folder again.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

from rewardlab import runfolder
from rewardlab.search.config import SearchConfig
from rewardlab.search.loop import drive
from rewardlab.search.progress import Progress
from rewardlab.store import RunStore
from rewardlab.tasks import Task, TaskRef
from rewardlab.tasks.ref import TaskRefError, changed_message, file_sha256, load, resolve, run_check


def search(
    config: SearchConfig,
    out_dir: str | Path = "runs",
    *,
    command: list[str] | None = None,
    progress: Progress | None = None,
) -> Path:
    """Run a new search; returns the run folder.

    The task reference is resolved (and a user's task checked) before anything is written, so a bad
    reference raises TaskRefError and leaves no run folder. The folder is named after the task's name
    and stores the config with its budget made explicit, and the reference.
    """
    task, ref = resolve(config.task)
    config = config.resolved(task)
    store = RunStore.create(out_dir, task.name, config.to_dict(), command, task_ref=ref)
    return drive(store, config, task, ref, progress)


class RunInUse(RuntimeError):
    """The run folder is being driven by another live process."""


def resume(run_dir: str | Path, *, progress: Progress | None = None, force: bool = False) -> Path:
    """Continue a (killed or finished) run from its folder.

    Refuses (RunInUse) while another live process drives the run, since two drivers would write the
    same files, and (TaskRefError) when the task's file changed since the run started, since the rest
    of the run would train a different environment. `force` skips both: for a process you know is gone
    (e.g. on another host), or a change you mean (the new file's hash is recorded, with an event).
    Nothing is written when it refuses.
    """
    store = RunStore(run_dir)
    owner = None if force else store.live_owner()
    if owner is not None:
        raise RunInUse(
            f"{run_dir} is being driven by {owner}; wait for it, stop it, or pass --force if it is gone"
        )
    config = SearchConfig.from_dict(store.read_config())
    task, ref, changed = load_task(store, config, force=force)
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
    return drive(store, config, task, ref, progress)


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
