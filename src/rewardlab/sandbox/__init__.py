"""Untrusted reward code: a static policy, a sandboxed probe and an isolated training worker.

Any text an LLM returns becomes either a checked reward program or a short, classified error
(`CheckReport`) that can go back to the LLM; no text can harm the machine or the run:

* `check_static(source)`: the AST policy, in this process, without compiling or running anything;
* `probe(task, program, limits)`: static policy, then trace and run under `jax.jit` + `jax.vmap` on
  transitions sampled from the task's environment, in a child process with CPU, memory and
  wall-clock limits (`probe_many` checks a batch in one child);
* `train_in_worker(task, programs, config, seeds, run_dir, timeout_s)`: train checked programs in a
  child process; a worker that dies is survived by retrying its candidates one by one.

Importing this package does not import JAX.
"""

from rewardlab.sandbox.probe import DEFAULT_LIMITS, check_program, probe, probe_many
from rewardlab.sandbox.report import KINDS, CheckReport, Limits, Magnitude
from rewardlab.sandbox.static import check_static
from rewardlab.sandbox.worker import WorkerEvent, train_in_worker

__all__ = [
    "DEFAULT_LIMITS",
    "KINDS",
    "CheckReport",
    "Limits",
    "Magnitude",
    "WorkerEvent",
    "check_program",
    "check_static",
    "probe",
    "probe_many",
    "train_in_worker",
]
