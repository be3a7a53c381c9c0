"""`SearchConfig`: every knob of the Eureka search, one help text per field; the single source of the
defaults of the Python API and of `rewardlab search` (whose options are made from these fields).

The search trains each candidate with a smaller budget than the task's own PPO defaults, because on a
CPU the search trains hundreds of runs: `timesteps=None` (the default) takes the task's search budget
(`Task.search_budget`), 0 the task's full PPO budget, any other number that many steps. A run folder
stores the resolved number (`resolved`), so a resumed run trains exactly as it started. The final
evaluation trains the winner, the two baselines and any `baselines` specs with that same budget and
engine, so the comparison is fair whatever the budget.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rewardlab.config import PPOConfig
from rewardlab.engines.halving import Halving

if TYPE_CHECKING:
    from rewardlab.tasks import Task


def _f(default: Any, help: str, choices: tuple[str, ...] | None = None) -> Any:
    meta: dict[str, Any] = {"help": help}
    if choices is not None:
        meta["choices"] = choices
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class SearchConfig:
    """The Eureka loop: K samples per iteration, N iterations, R restarts, then a multi-seed evaluation."""

    task: str = _f(
        "CartPole-v1",
        "The task: a name (see `rewardlab tasks`), FILE.py:attr or package.module:attr (a Task or a "
        "zero-argument function returning one).",
    )
    llm: str | None = _f(
        None,
        "LLM spec (openai:M[@URL], ollama:M, anthropic:M, manual:DIR, scripted:FILE); "
        "unset (None): the LLM-free proposer (search/mutate.py).",
    )
    samples: int = _f(16, "Candidates proposed per iteration (the paper's K).")
    iterations: int = _f(5, "Iterations per restart (the paper's N).")
    restarts: int = _f(1, "Independent restarts; the best reward over all restarts is evaluated.")
    seeds: int = _f(
        1,
        "Training seeds per candidate during the search; fitness is their mean. One seed lets a lucky run "
        "pick the winner on tasks whose runs learn or fail by seed: with an LLM on Pendulum-v1, 3 seeds "
        "found rewards that beat the human one where 1 did not (docs/search.md); the default stays 1 "
        "until the LLM-free proposer is measured the same way.",
    )
    final_seeds: int = _f(
        10,
        "Fresh seeds for the final evaluation of the winner and the baselines; 0 skips it. Ten because "
        "seed-to-seed spread on the CPU tasks is as large as the differences a search finds; they train in "
        "batches no larger than an iteration's, with its compiled programs (about one later batch's time "
        "per 5 seeds).",
    )
    init: str | None = _f(
        None,
        "Start from an existing reward: 'human' or a path to a .py file; iteration 0 then "
        "improves it instead of writing one from scratch, trains it unchanged as candidate 0 (the reward "
        "to beat) and confirmation always includes it (always 'human' for the LLM-free proposer).",
    )
    warm_start: str | None = _f(
        None,
        "A saved training state (`rewardlab train TASK --out DIR` writes DIR/policies/*.policy.npz): every "
        "training of the search (candidates, confirmation, the final winner and baselines) starts from it "
        "instead of from scratch, Eureka's curriculum (a policy trained with one reward, fine-tuned under "
        "the searched one). Checked against the task first; copied into the run folder.",
    )
    baselines: tuple[str, ...] = _f(
        (),
        "Extra rows of the final table: reward specs trained like Human and Sparse (same fresh seeds, "
        "budget, PPO config and engine) in this process through the host path, e.g. judge:objective.txt "
        "(an LLM judges each episode against the objective in the file), sparse+ellm (the env reward plus "
        "ELLM's goal reward, for tasks with captions), vlm:'a pole upright' (CLIP on rendered frames, with "
        "baseline_encoder). Repeatable; see docs/reward_sources.md.",
    )
    baseline_llm: str | None = _f(
        None,
        "LLM spec the judge and ELLM baselines ask; unset (None): the search's llm (the LLM-free proposer "
        "has none, so name one here).",
    )
    baseline_encoder: str | None = _f(
        None, "CLIP model folder (CLIPModel.save_pretrained) for vlm: baselines; nothing is downloaded."
    )
    feedback: str = _f(
        "auto",
        "auto: automatic reward reflection; human: ask a person after each iteration.",
        choices=("auto", "human"),
    )
    feedback_file: str | None = _f(
        None, "With feedback=human off a terminal: a file whose text is read as the person's comment."
    )
    seed: int = _f(0, "Seed of the LLM-free proposer and of the training seeds.")
    timesteps: int | None = _f(
        None,
        "Environment steps per candidate training run; unset (None): the task's search budget "
        "(`rewardlab tasks --show TASK`); 0: the task's full PPO budget.",
    )
    n_checkpoints: int = _f(5, "Checkpoints per training run (fitness = max over checkpoints).")
    eval_episodes: int = _f(
        8, "Evaluation episodes per checkpoint (greedy actions, or sampled where the task says so)."
    )
    temperature: float = _f(1.0, "LLM sampling temperature.")
    max_tokens: int = _f(2048, "LLM reply length limit.")
    llm_timeout_s: float = _f(
        300.0,
        "LLM timeout in seconds: the longest wait for the next token of a streamed reply (the first "
        "included), not a limit on the whole reply.",
    )
    llm_concurrency: int | None = _f(
        None,
        "LLM requests in flight at once; unset (None): learned from the server (1 for llama-cpp-python, "
        "llama.cpp's slots), else 4.",
    )
    check: str = _f(
        "auto",
        "Pre-training check: probe (sandboxed trace on sampled transitions), static (AST only), "
        "auto (probe for LLM code, static for mutations of already-checked programs).",
        choices=("auto", "probe", "static"),
    )
    train_timeout_s: float = _f(600.0, "Wall-clock limit of one training batch (and of each solo retry).")
    batch_size: int = _f(16, "Candidates trained together in one compiled program (one worker).")
    jax_cache_dir: str | None = _f(
        None, "Persistent JAX compilation cache; default: the run folder's jax_cache/."
    )
    mutation_scale: float = _f(
        0.5, "Std of the log-normal factor applied to constants by the LLM-free proposer."
    )
    add_terms: bool = _f(
        True,
        "Let the LLM-free proposer add shaping terms built from one state variable (search/shaping.py).",
    )
    skip_rescales: bool = _f(
        True,
        "When training normalises rewards, the LLM-free proposer never proposes a child that only "
        "multiplies the whole reward by a number (training could not tell it from its parent).",
    )
    confirm_top: int = _f(
        4,
        "Before the final evaluation, retrain this many of each restart's best candidates (plus the "
        "starting reward) on fresh seeds and keep the best on those seeds; 0 keeps the single-run best.",
    )
    confirm_seeds: int = _f(3, "Fresh seeds per candidate for that confirmation.")
    halving: bool = _f(
        False,
        "Successive halving inside each iteration's training batch: every candidate trains to a fifth of "
        "the checkpoints (rounded, at least 1), the better half (mean over seeds of the best score so far) "
        "go on to half of them, the better half of those to the end; dropped candidates keep the "
        "checkpoints they reached and are marked as stopped. With the default 5 checkpoints (rungs after "
        "1 and 2) a batch of K costs 0.45x the env steps of K full trainings, so twice the samples cost "
        "0.9x what K did. Confirmation and the "
        "final evaluation train every run to the end. Needs n_checkpoints >= 2, the ppo_jax engine, and "
        "more than one candidate per batch to save anything.",
    )
    reflection: str = _f(
        "table",
        "What the next LLM prompt says about the last iteration. table: every candidate of the last "
        "iteration (what changed, score over seeds, status), the best score after each iteration, a note "
        "when nothing improved, how the score is defined, gamma, the budget and the episode limit; "
        "best: only the best candidate's statistics (the paper's prompt).",
        choices=("table", "best"),
    )
    elites: int = _f(
        1,
        "How many of the run's best distinct rewards the LLM sees, with code and score, in each request "
        "after iteration 0. 1: only the best (the paper's prompt); N > 1: also the next N-1, with an "
        "invitation to combine what they do well.",
    )
    train_init: bool = _f(
        True,
        "With an LLM and --init: train the starting reward in iteration 0 next to the LLM's samples "
        "(candidate 0), show it with its score as the reward to beat, and confirm it like the others "
        "(the LLM-free proposer always does).",
    )

    executor: str = _f(
        "local",
        "Where training batches run: local (a sandboxed child process on this machine, one batch at a "
        "time) or ray (each batch a Ray task running the same sandboxed child on a cluster node; "
        "independent batches at once; needs rewardlab[ray], see docs/scale.md).",
        choices=("local", "ray"),
    )
    ray_address: str | None = _f(
        None,
        "With executor=ray: the cluster, HOST:PORT of its head (`ray start --head` prints it), "
        "ray://HOST:PORT, or auto (the cluster this machine belongs to); unset (None): a private Ray "
        "instance on 127.0.0.1 for this run.",
    )
    ray_cpus: float = _f(1.0, "With executor=ray: CPUs each batch's task asks for (and its thread cap).")
    ray_gpus: float | None = _f(
        None,
        "With executor=ray: GPUs each batch's task asks for; unset (None): 1 if the task is practical "
        "only on a GPU (its practical_on), else 0.",
    )
    ray_memory_mb: int = _f(2048, "With executor=ray: memory (MB) each batch's task reserves on its node.")
    ray_retries: int = _f(
        3,
        "With executor=ray: times Ray reruns a batch whose worker or node died, before each of its "
        "programs is tried alone.",
    )

    def __post_init__(self) -> None:
        if not isinstance(self.baselines, tuple):  # a list from config.yaml or the Python API
            object.__setattr__(self, "baselines", tuple(self.baselines))
        problems = [
            f"{name} must be >= 1 (got {getattr(self, name)})"
            for name in (
                "samples",
                "iterations",
                "restarts",
                "seeds",
                "n_checkpoints",
                "eval_episodes",
                "batch_size",
            )
            if getattr(self, name) < 1
        ]
        for f in dataclasses.fields(self):
            choices = f.metadata.get("choices")
            if choices is not None and getattr(self, f.name) not in choices:
                allowed = ", ".join(choices[:-1]) + " or " + choices[-1]
                problems.append(f"{f.name} must be {allowed} (got {getattr(self, f.name)!r})")
        if self.llm_concurrency is not None and self.llm_concurrency < 1:
            problems.append(f"llm_concurrency must be >= 1 (got {self.llm_concurrency})")
        if not self.llm_timeout_s > 0:
            problems.append(f"llm_timeout_s must be > 0 (got {self.llm_timeout_s})")
        if self.ray_cpus <= 0 or (self.ray_gpus is not None and self.ray_gpus < 0):
            problems.append("ray_cpus must be > 0 and ray_gpus >= 0")
        if self.ray_memory_mb < 0 or self.ray_retries < 0:
            problems.append("ray_memory_mb and ray_retries must be >= 0")
        if self.elites < 1:
            problems.append("elites must be >= 1 (1 shows only the best reward)")
        if self.halving and self.n_checkpoints < 2:
            problems.append(f"halving needs n_checkpoints >= 2 (got {self.n_checkpoints})")
        if self.confirm_top < 0 or self.confirm_seeds < 1:
            problems.append("confirm_top must be >= 0 and confirm_seeds >= 1")
        if (self.timesteps is not None and self.timesteps < 0) or self.final_seeds < 0:
            problems.append("timesteps and final_seeds must be >= 0")
        if len(set(self.baselines)) != len(self.baselines):
            problems.append("baselines must not name a spec twice")
        if problems:
            raise ValueError("invalid SearchConfig: " + "; ".join(problems))

    def budget(self, task: Task) -> int:
        """Environment steps per candidate training run on `task` (see the module docstring)."""
        if self.timesteps is None:
            return task.search_budget
        return self.timesteps or task.ppo.total_timesteps

    def resolved(self, task: Task) -> SearchConfig:
        """This config with `timesteps` made explicit for `task`: what a run folder stores."""
        return dataclasses.replace(self, timesteps=self.budget(task))

    def ppo(self, task: Task) -> PPOConfig:
        """The PPO config one candidate trains with: the task's, with the search budget applied."""
        return dataclasses.replace(
            task.ppo,
            total_timesteps=self.budget(task),
            n_checkpoints=self.n_checkpoints,
            eval_episodes=self.eval_episodes,
        )

    def halving_rungs(self) -> Halving | None:
        """The rungs an iteration's batches are halved at (`--halving`), or None."""
        return Halving.default(self.n_checkpoints) if self.halving else None

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "baselines": list(self.baselines)}  # YAML has no tuples

    @staticmethod
    def from_dict(data: dict[str, Any]) -> SearchConfig:
        """The config stored in a run folder. Fields added since a run was created take the value that
        reproduces how that run behaved (`LEGACY`), so resuming an old run does not change its method."""
        names = {f.name for f in dataclasses.fields(SearchConfig)}
        return SearchConfig(**{**LEGACY, **{k: v for k, v in data.items() if k in names}})


LEGACY: dict[str, Any] = {
    "add_terms": False,
    "confirm_top": 0,
    "skip_rescales": False,
    "reflection": "best",
    "train_init": False,
}
"""Values of later-added fields for run folders whose config.yaml predates them."""

