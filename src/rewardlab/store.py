"""A run's lifecycle: create the folder, `run.json` (status, heartbeat, versions, the exact command, who
drives it), the append-only `events.jsonl` journal, and whether another live process drives the run.

The names and formats of the files are the schema's (`rewardlab.runfolder`); the per-candidate files are
the truth and `events.jsonl` is the journal for people and tests. Files are written atomically
(temporary file + `os.replace`), so a reader (or a resumed run) sees a whole file or none.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

from rewardlab.runfolder import (
    Layout,
    RunFolderError,
    read_json,
    write_json_atomic,
    write_task_ref,
    write_text_atomic,
)
from rewardlab.runfolder.files import read_config
from rewardlab.runfolder.io import write_yaml_atomic
from rewardlab.tasks.ref import TaskRef

__all__ = ["HEARTBEAT_S", "RunStore", "folder_stem", "read_json", "write_json_atomic", "write_text_atomic"]

HEARTBEAT_S = 10.0


def folder_stem(name: str) -> str:
    """A task name made safe as the start of a folder name (no slashes, colons or spaces)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")
    return stem or "task"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("rewardlab", "jax", "gymnax"):
        try:
            from importlib.metadata import version

            out[name] = version(name)
        except Exception:  # not installed as a distribution
            out[name] = "unknown"
    return out


class RunStore:
    """A run folder. `create` makes a new one; `RunStore(path)` opens an existing one."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.layout = Layout(self.root)
        self._lock = threading.Lock()
        self._beat: threading.Thread | None = None
        self._stop = threading.Event()
        self._log_checked = False

    # creation ------------------------------------------------------------------------------------------
    @staticmethod
    def create(
        out_dir: str | os.PathLike[str],
        task: str,
        config: dict[str, Any],
        command: list[str] | None = None,
        task_ref: TaskRef | None = None,
    ) -> RunStore:
        """A new run folder `<out_dir>/<task>-<UTC time>-<id>` holding the config, the task reference
        (when given: what a resumed run loads the task from) and `run.json`; `task` is the task's name."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        root = Path(out_dir) / f"{folder_stem(task)}-{stamp}-{secrets.token_hex(3)}"
        root.mkdir(parents=True, exist_ok=False)
        store = RunStore(root)
        write_yaml_atomic(store.layout.config, config)
        if task_ref is not None:
            write_task_ref(store.layout, task_ref)
        store.write_run(
            {
                "status": "running",
                "task": task,
                "created": time.time(),
                "heartbeat": time.time(),
                "versions": versions(),
                "command": command if command is not None else list(sys.argv),
                "pid": os.getpid(),
                "host": platform.node(),
                "attempts": 1,
            }
        )
        store.event("created", task=task, **({"spec": task_ref.spec} if task_ref is not None else {}))
        return store

    # run.json ------------------------------------------------------------------------------------------
    def read_run(self) -> dict[str, Any]:
        hint = "restore it from a copy, or start a new run"
        data = read_json(self.layout.run, hint)
        if not isinstance(data, dict):
            raise RunFolderError(self.layout.run, "does not hold the run's record (a JSON object)", hint)
        return data

    def write_run(self, data: dict[str, Any]) -> None:
        with self._lock:
            write_json_atomic(self.layout.run, data)

    def update_run(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            data = self.read_run()
            data.update(changes)
            write_json_atomic(self.layout.run, data)
            return data

    def read_config(self) -> dict[str, Any]:
        return read_config(self.layout)

    def set_status(self, status: str, **extra: Any) -> None:
        self.update_run(status=status, heartbeat=time.time(), **extra)

    def live_owner(self, now: float | None = None) -> str | None:
        """Who is driving this run right now, or None.

        A run is live when its status is `running`, its heartbeat is fresher than three beats, and the
        process that wrote it still exists on this host (a SIGKILLed search leaves a fresh heartbeat
        but no process). Another host's run with a fresh heartbeat counts as live: we cannot look.
        """
        run = self.read_run()
        if run.get("status") != "running":
            return None
        age = _heartbeat_age(run, now)
        if age > 3 * HEARTBEAT_S:
            return None
        pid, host = run.get("pid"), run.get("host")
        if host is not None and host != platform.node():
            return f"a process on {host} (heartbeat {age:.0f} s ago)"
        if not isinstance(pid, int) or pid == os.getpid():
            return None
        if not _alive(pid):
            return None
        return f"process {pid} (heartbeat {age:.0f} s ago)"

    def interrupted(self, now: float | None = None) -> bool:
        """Whether run.json says `running` although nothing drives the run any more: its heartbeat is
        older than three beats, or the process that wrote it is gone from this host (a SIGKILL leaves a
        fresh heartbeat). What `report` shows as status `interrupted`."""
        run = self.read_run()
        if run.get("status") != "running":
            return False
        if _heartbeat_age(run, now) > 3 * HEARTBEAT_S:
            return True
        pid, host = run.get("pid"), run.get("host")
        same_host = host is None or host == platform.node()
        return same_host and isinstance(pid, int) and pid != os.getpid() and not _alive(pid)

    def start_heartbeat(self, every_s: float = HEARTBEAT_S) -> None:
        """Refresh `run.json`'s heartbeat from a daemon thread until `stop_heartbeat`."""
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(every_s):
                with contextlib.suppress(OSError, ValueError):  # a damaged run.json: the run reports it
                    self.update_run(heartbeat=time.time())

        self._beat = threading.Thread(target=beat, name="rewardlab-heartbeat", daemon=True)
        self._beat.start()

    def stop_heartbeat(self) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None

    # events --------------------------------------------------------------------------------------------
    def event(self, event: str, **data: Any) -> None:
        """Append one line to `events.jsonl`. The first append of this store repairs a last line torn by
        a kill (cut back to the last complete line, with a `log_repaired` event saying what was dropped),
        so the new line never ends up glued to a fragment."""
        with self._lock:
            repaired = None if self._log_checked else _cut_torn_tail(self.layout.events)
            self._log_checked = True
            line = _event_line(event, data)
            with open(self.layout.events, "a", encoding="utf-8") as fh:
                if repaired is not None:
                    fh.write(_event_line("log_repaired", {"dropped": repaired}) + "\n")
                fh.write(line + "\n")
                fh.flush()
                os.fsync(fh.fileno())

    def events(self) -> list[dict[str, Any]]:
        path = self.layout.events
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # a line torn by a kill
                continue
        return out

    # paths -------------------------------------------------------------------------------------------
    def iteration_dir(self, restart: int, iteration: int) -> Path:
        return self.layout.iteration_dir(restart, iteration)

    def candidate_dir(self, restart: int, iteration: int, index: int) -> Path:
        return self.layout.candidate_dir(restart, iteration, index)


def _event_line(event: str, data: dict[str, Any]) -> str:
    return json.dumps({"time": round(time.time(), 3), "event": event, **data}, sort_keys=True, default=str)


def _cut_torn_tail(path: Path) -> str | None:
    """If the file's last line has no newline (a write cut short), truncate the file to its last complete
    line and return the fragment that was dropped (shortened); None when there was nothing to repair."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    if not data or data.endswith(b"\n"):
        return None
    keep = data.rfind(b"\n") + 1
    with open(path, "rb+") as fh:
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    text = data[keep:].decode("utf-8", errors="replace")
    return text if len(text) <= 200 else text[:200] + "..."


def _heartbeat_age(run: dict[str, Any], now: float | None) -> float:
    try:
        beat = float(run.get("heartbeat", 0.0))
    except (TypeError, ValueError):
        beat = 0.0
    return (now if now is not None else time.time()) - beat


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
