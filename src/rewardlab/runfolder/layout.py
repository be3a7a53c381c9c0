"""Every file and folder name of a run folder, and the paths built from them.

    runs/<task>-<UTC time>-<id>/
        run.json  config.yaml  task.json  events.jsonl       the run (store.py), its config and task
        llm-cache/  llm-calls.jsonl                          LLM replies and the cost ledger
        iter_000/iteration.json  iter_000/comment.txt        an iteration's selection (and human comment)
        iter_000/cand_000/{candidate.json, prompt.json, response.txt, reward.py,
                           check.json, result.json, feedback.txt}
        confirm.json                                         the restart's confirmation
        restart_01/iter_000/...  restart_01/confirm.json     restarts after the first
        final/results.json  final/method.py                  the final evaluation
        final/partial.json                                   its rows trained so far (until results.json)
        judge_cache/  ellm_cache/                            host baselines' LLM answers and ledgers
        worker/  probe/  jax_cache/                          sandbox jobs and the compilation cache
        warm_start.policy.npz                                the state trainings start from (--warm-start)
        summary.json  report.html                            the report

This module is the only place in rewardlab that spells these names (the sandbox, a lower layer, names
its job folder `worker/` inside the `run_dir` it is given; `WORKER` records that name and a test
checks the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RUN = "run.json"
CONFIG = "config.yaml"
TASK = "task.json"
EVENTS = "events.jsonl"
LLM_CACHE = "llm-cache"
LLM_LEDGER = "llm-calls.jsonl"
ITERATION = "iteration.json"
COMMENT = "comment.txt"
CANDIDATE = "candidate.json"
PROMPT = "prompt.json"
RESPONSE = "response.txt"
REWARD = "reward.py"
CHECK = "check.json"
RESULT = "result.json"
FEEDBACK = "feedback.txt"
CONFIRM = "confirm.json"
FINAL = "final"
FINAL_RESULTS = "results.json"
FINAL_METHOD = "method.py"
FINAL_PARTIAL = "partial.json"
HOST_CACHE = "{kind}_cache"
TRAINED = "trained/{stage}"  # each finished batch of a confirmation or final evaluation, per run
WORKER = "worker"
PROBE = "probe"
JAX_CACHE = "jax_cache"
WARM_START = "warm_start.policy.npz"
SUMMARY = "summary.json"
REPORT = "report.html"

_CAND_PREFIX = "cand_"


@dataclass(frozen=True)
class CandidatePaths:
    """The files of one candidate's folder."""

    folder: Path

    @property
    def meta(self) -> Path:
        """`candidate.json`, written last: its presence means the candidate's other files are there."""
        return self.folder / CANDIDATE

    @property
    def prompt(self) -> Path:
        return self.folder / PROMPT

    @property
    def response(self) -> Path:
        return self.folder / RESPONSE

    @property
    def reward(self) -> Path:
        return self.folder / REWARD

    @property
    def check(self) -> Path:
        return self.folder / CHECK

    @property
    def result(self) -> Path:
        return self.folder / RESULT

    @property
    def feedback(self) -> Path:
        return self.folder / FEEDBACK


@dataclass(frozen=True)
class Layout:
    """The paths of the run folder at `root`."""

    root: Path

    @property
    def run(self) -> Path:
        return self.root / RUN

    @property
    def config(self) -> Path:
        return self.root / CONFIG

    @property
    def task(self) -> Path:
        return self.root / TASK

    @property
    def events(self) -> Path:
        return self.root / EVENTS

    @property
    def llm_cache(self) -> Path:
        return self.root / LLM_CACHE

    @property
    def llm_ledger(self) -> Path:
        return self.root / LLM_LEDGER

    @property
    def worker(self) -> Path:
        return self.root / WORKER

    @property
    def probe(self) -> Path:
        return self.root / PROBE

    @property
    def jax_cache(self) -> Path:
        return self.root / JAX_CACHE

    @property
    def warm_start(self) -> Path:
        return self.root / WARM_START

    @property
    def final(self) -> Path:
        return self.root / FINAL

    @property
    def final_results(self) -> Path:
        return self.final / FINAL_RESULTS

    @property
    def final_method(self) -> Path:
        return self.final / FINAL_METHOD

    @property
    def final_partial(self) -> Path:
        return self.final / FINAL_PARTIAL

    def trained(self, stage: str) -> Path:
        """The results of the confirmation's or final evaluation's batches that finished (`confirm-0`,
        `final`), one file per run: a run killed between two of them retrains only the missing ones."""
        return self.root / TRAINED.format(stage=stage)

    def host_cache(self, kind: str) -> Path:
        """The answers cache and ledger of a host baseline's source (`judge`, `ellm`)."""
        return self.root / HOST_CACHE.format(kind=kind)

    @property
    def summary(self) -> Path:
        return self.root / SUMMARY

    @property
    def report(self) -> Path:
        return self.root / REPORT

    def restart_dir(self, restart: int) -> Path:
        """The first restart lives at the top of the run folder (runs without restarts stay flat)."""
        return self.root if restart == 0 else self.root / f"restart_{restart:02d}"

    def iteration_dir(self, restart: int, iteration: int) -> Path:
        return self.restart_dir(restart) / f"iter_{iteration:03d}"

    def iteration(self, restart: int, iteration: int) -> Path:
        return self.iteration_dir(restart, iteration) / ITERATION

    def comment(self, restart: int, iteration: int) -> Path:
        return self.iteration_dir(restart, iteration) / COMMENT

    def confirm(self, restart: int) -> Path:
        return self.restart_dir(restart) / CONFIRM

    def candidate_dir(self, restart: int, iteration: int, index: int) -> Path:
        return self.iteration_dir(restart, iteration) / f"{_CAND_PREFIX}{index:03d}"

    def candidate(self, restart: int, iteration: int, index: int) -> CandidatePaths:
        return CandidatePaths(self.candidate_dir(restart, iteration, index))

    def candidate_indices(self, restart: int, iteration: int) -> list[int]:
        """Indices of the candidate folders on disk, in order (complete or not)."""
        folder = self.iteration_dir(restart, iteration)
        if not folder.is_dir():
            return []
        out = []
        for path in folder.glob(f"{_CAND_PREFIX}*"):
            suffix = path.name[len(_CAND_PREFIX) :]
            if path.is_dir() and suffix.isdigit():
                out.append(int(suffix))
        return sorted(out)
