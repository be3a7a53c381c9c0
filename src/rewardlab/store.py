"""The run folder: every step of a search written as it happens, so a killed run can be resumed.

    runs/<task>-<timestamp>-<id>/
        run.json        status (running / finished / failed), heartbeat, versions, the exact command
        config.yaml     the resolved SearchConfig
        events.jsonl    append-only, one fsync'ed JSON line per event
        llm-cache/      LLM replies (a resumed run pays for nothing twice); llm-calls.jsonl: the ledger
        iter_000/cand_000/{candidate.json, prompt.json, response.txt, reward.py, check.json,
                           result.json, feedback.txt}
        iter_000/iteration.json   the iteration's selection and reflection (written when it is complete)
        restart_01/iter_000/...   restarts after the first
        final/results.json, summary.json, report.html

Files are written atomically (temporary file + `os.replace`), so a reader (or a resumed run) sees a
whole file or none. The per-candidate files are the truth; `events.jsonl` is the journal for people
and tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import sys
import threading
import time
from pathlib import Path
from typing import Any

import yaml

HEARTBEAT_S = 10.0


def write_text_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=True, default=str) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def iteration_dir_name(restart: int, iteration: int) -> str:
    it = f"iter_{iteration:03d}"
    return it if restart == 0 else f"restart_{restart:02d}/{it}"


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
        self._lock = threading.Lock()
        self._beat: threading.Thread | None = None
        self._stop = threading.Event()

    # creation ------------------------------------------------------------------------------------------
    @staticmethod
    def create(
        out_dir: str | os.PathLike[str], task: str, config: dict[str, Any], command: list[str] | None = None
    ) -> RunStore:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        root = Path(out_dir) / f"{task}-{stamp}-{secrets.token_hex(3)}"
        root.mkdir(parents=True, exist_ok=False)
        store = RunStore(root)
        write_text_atomic(root / "config.yaml", yaml.safe_dump(config, sort_keys=True))
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
        store.event("created", task=task)
        return store

    # run.json ------------------------------------------------------------------------------------------
    def read_run(self) -> dict[str, Any]:
        return read_json(self.root / "run.json")

    def write_run(self, data: dict[str, Any]) -> None:
        with self._lock:
            write_json_atomic(self.root / "run.json", data)

    def update_run(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            data = read_json(self.root / "run.json")
            data.update(changes)
            write_json_atomic(self.root / "run.json", data)
            return data

    def read_config(self) -> dict[str, Any]:
        return yaml.safe_load((self.root / "config.yaml").read_text(encoding="utf-8"))

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
        age = (now if now is not None else time.time()) - float(run.get("heartbeat", 0.0))
        if age > 3 * HEARTBEAT_S:
            return None
        pid, host = run.get("pid"), run.get("host")
        if host is not None and host != platform.node():
            return f"a process on {host} (heartbeat {age:.0f} s ago)"
        if not isinstance(pid, int) or pid == os.getpid():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # exists, owned by someone else
        return f"process {pid} (heartbeat {age:.0f} s ago)"

    def start_heartbeat(self, every_s: float = HEARTBEAT_S) -> None:
        """Refresh `run.json`'s heartbeat from a daemon thread until `stop_heartbeat`."""
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(every_s):
                with contextlib.suppress(OSError):
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
        line = json.dumps(
            {"time": round(time.time(), 3), "event": event, **data}, sort_keys=True, default=str
        )
        with self._lock, open(self.root / "events.jsonl", "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def events(self) -> list[dict[str, Any]]:
        path = self.root / "events.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:  # a line torn by a kill
                continue
        return out

    # files ---------------------------------------------------------------------------------------------
    def iteration_dir(self, restart: int, iteration: int) -> Path:
        return self.root / iteration_dir_name(restart, iteration)

    def candidate_dir(self, restart: int, iteration: int, index: int) -> Path:
        return self.iteration_dir(restart, iteration) / f"cand_{index:03d}"

    def write_json(self, path: Path, data: Any) -> None:
        write_json_atomic(path, data)

    def write_text(self, path: Path, text: str) -> None:
        write_text_atomic(path, text)

    @property
    def final_dir(self) -> Path:
        return self.root / "final"

    @property
    def cache_dir(self) -> Path:
        return self.root / "llm-cache"

    @property
    def ledger_path(self) -> Path:
        return self.root / "llm-calls.jsonl"
