"""The Python API: run a search, resume one, rebuild its report. Each search or resume ends with
`report.html` and `summary.json` in the run folder, like `rewardlab search` / `resume` / `report`.

    from rewardlab.api import report, resume, search
    from rewardlab.search import SearchConfig

    run_dir = search(SearchConfig(task="Pendulum-v1", samples=8, iterations=3), out_dir="runs")
    resume(run_dir)        # continue a killed run; nothing finished is redone
    resume(run_dir, llm="openai:qwen2.5-coder@http://localhost:8001/v1")  # ... asking another LLM
    report(run_dir)        # rebuild report.html + summary.json from the folder alone

The task may be a name, `FILE.py:attr` or `package.module:attr`. This layer sits above the search and the
report (the search knows nothing of the report), so it is the one place that runs both.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardlab.search.config import SearchConfig

if TYPE_CHECKING:
    from rewardlab.search.progress import Progress

__all__ = ["RunFolderError", "RunInUse", "SearchConfig", "TaskRefError", "report", "resume", "search"]


def __getattr__(name: str) -> Any:
    """The errors these functions raise, imported on first use (the search stack imports JAX, and
    `rewardlab --help` imports this package)."""
    if name == "RunInUse":
        from rewardlab.search.runs import RunInUse

        return RunInUse
    if name == "TaskRefError":
        from rewardlab.tasks.ref import TaskRefError

        return TaskRefError
    if name == "RunFolderError":
        from rewardlab.runfolder import RunFolderError

        return RunFolderError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def search(
    config: SearchConfig,
    out_dir: str | Path = "runs",
    *,
    command: list[str] | None = None,
    progress: Progress | None = None,
    check_llm: bool = True,
) -> Path:
    """Run a new search and build its report; returns the run folder.

    Everything the run depends on is checked before any folder is created or any LLM call paid for
    (`rewardlab.search.runs.prepare`): a bad task reference raises TaskRefError, a bad `--init` file
    RewardProgramError, a bad LLM spec or key LLMConfigError, an LLM endpoint that does not answer
    LLMUnreachable (`check_llm=False` skips that check).
    """
    from rewardlab.report import build
    from rewardlab.search.runs import search as run_search

    run_dir = run_search(config, out_dir, command=command, progress=progress, check_llm=check_llm)
    build(run_dir)
    return run_dir


def resume(
    run_dir: str | Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    check_llm: bool = True,
    where: dict[str, Any] | None = None,
    llm: str | None = None,
) -> Path:
    """Continue a killed (or finished) run and rebuild its report; returns the run folder.

    Raises RunInUse while another live process drives the run, and TaskRefError when the task's file
    changed since the run started; `force` overrides both (see `rewardlab.search.runs.resume`). A
    damaged file of the folder raises RunFolderError, which names it and says what to do. `where`
    ({"executor": "ray", "ray_address": ...}) moves the rest of the training without changing results.
    `llm` ("openai:MODEL@URL", ...) asks another LLM from now on (a server that moved, a renamed model):
    checked like a new search's spec (LLMConfigError, LLMUnreachable; nothing written then), refused
    with ValueError for an LLM-free run; later resumes keep it (config.yaml names it, an `llm_changed`
    event the one it replaced).
    """
    from rewardlab.report import build
    from rewardlab.search.runs import resume as run_resume

    root = run_resume(run_dir, progress=progress, force=force, check_llm=check_llm, where=where, llm=llm)
    build(root)
    return root


def report(run_dir: str | Path) -> Path:
    """Rebuild `summary.json` and `report.html` from the run folder alone; returns the report's path."""
    from rewardlab.report import build

    return build(run_dir)
