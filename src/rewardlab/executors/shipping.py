"""What travels to a remote worker with each batch, and how the worker turns it back into a job.

A worker node may never have seen the user's task file, so a file reference (`FILE.py:attr`) travels
with the file's bytes; the worker writes them to a folder named by their SHA-256 and points the
reference there; the reference keeps the hash recorded when the run started, so the training child
refuses a file that changed since, as it does locally.
Only that file travels: modules it imports from next to it must be importable on the worker (installed,
or shipped with a Ray runtime env). Built-in tasks travel by name and module references by module name
(the package must be installed on the workers). Programs travel as text; a task's own baseline that
exists only as a callable travels by its role (human or sparse) and is taken from the task again in the
training child, as it is locally.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardlab.config import PPOConfig
from rewardlab.executors.base import Batch
from rewardlab.types import RewardProgram

if TYPE_CHECKING:
    from rewardlab.tasks.ref import TaskRef


def pack(batch: Batch) -> dict[str, Any]:
    """The batch as plain data (no callables, no paths that only exist on the driver)."""
    ref = batch.ref
    task_file = None
    if ref.kind == "file" and ref.path is not None:
        task_file = {"name": Path(ref.path).name, "source": Path(ref.path).read_bytes()}
    return {
        "task": ref.to_dict(),
        "task_file": task_file,
        "programs": [
            {"name": p.name, "source": p.source, "origin": p.origin, "task_reward": p.fn is not None}
            for p in batch.programs
        ],
        "config": dataclasses.asdict(batch.config),
        "seeds": list(batch.seeds),
        "timeout_s": batch.timeout_s,
        "warm_start": Path(batch.warm_start).read_bytes() if batch.warm_start else None,
        "halving": batch.halving.to_dict() if batch.halving is not None else None,
    }


def _from_task(*_: Any) -> Any:
    """Stands for a task's own callable baseline: the training child takes the real one from the task."""
    raise RuntimeError("a task's callable baseline runs only inside the training child")


def warm_start_file(payload: dict[str, Any], workdir: Path) -> str | None:
    """The shipped warm-start state written under `workdir` (named by its hash), or None."""
    data = payload.get("warm_start")
    if not data:
        return None
    path = workdir / "warm_start" / f"{hashlib.sha256(data).hexdigest()[:16]}.policy.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def unpack(payload: dict[str, Any], workdir: Path) -> tuple[TaskRef, list[RewardProgram], PPOConfig]:
    """(reference, programs, PPO config) on the worker; a shipped task file is written under `workdir`."""
    from rewardlab.tasks.ref import TaskRef

    ref = TaskRef.from_dict(payload["task"])
    shipped = payload.get("task_file")
    if shipped is not None:
        data: bytes = shipped["source"]
        digest = hashlib.sha256(data).hexdigest()
        folder = workdir / "task" / digest[:16]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / shipped["name"]
        path.write_bytes(data)
        ref = dataclasses.replace(ref, path=str(path), sys_path=(str(folder), *ref.sys_path))
    programs = [
        RewardProgram(p["name"], p["source"], p["origin"], fn=_from_task if p["task_reward"] else None)
        for p in payload["programs"]
    ]
    return ref, programs, config_from_dict(payload["config"])


def config_from_dict(data: dict[str, Any]) -> PPOConfig:
    """A PPOConfig from `dataclasses.asdict` output (tuples come back as lists over JSON or pickles)."""
    fields = {f.name for f in dataclasses.fields(PPOConfig)}
    clean = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in fields}
    return PPOConfig(**clean)
