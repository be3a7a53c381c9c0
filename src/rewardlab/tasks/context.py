"""The context an LLM is shown about a task, generated from the environment's own source code.

Eureka found that LLMs write better rewards from raw environment code than from hand-written
abstractions, because code models read code best. So the context is the environment's own code
(its class, state dataclass, parameters, dynamics, observation and termination code) with every
reward computation removed (`rewardlab.tasks.reward_strip`, which describes the transform), followed
by the task's explanations of state fields and actions, how success is measured, and the reward
contract. A task can replace the code with its own text (`Task.context_text`,
`from_gymnax(..., context=...)`).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rewardlab.tasks.reward_strip import REMEDY, ContextError, RewardAnchor, strip_reward

if TYPE_CHECKING:
    from rewardlab.tasks.base import Task

__all__ = [
    "CODE_FENCE", "ContextError", "RewardAnchor", "TaskContext", "build_context", "environment_code",
    "reward_contract", "strip_reward", "task_context",
]

CODE_FENCE = "```python"


@dataclass(frozen=True)
class TaskContext:
    """The parts of a task's context; `text` joins them into what the LLM reads."""

    task: str
    description: str
    code: str
    source_name: str
    state_fields: tuple[tuple[str, str], ...]
    action: str
    fitness: str
    contract: str
    language: str = "JAX"  # what the source is written in: JAX (gymnax) or Python (Gymnasium)

    @property
    def text(self) -> str:
        fields = "\n".join(f"- `{name}`: {doc}" for name, doc in self.state_fields)
        return "\n".join([
            f"# Task: {self.task}",
            "",
            self.description,
            "",
            "## Environment source code (reward removed)",
            "",
            f"This is the environment's own {self.language} source (`{self.source_name}`) with every reward "
            "computation removed; `...` marks where the environment's reward value used to be. Your function "
            "replaces it. Helper functions in this code are for reading only: they are not available inside "
            "your reward function.",
            "",
            CODE_FENCE,
            self.code.rstrip(),
            "```",
            "",
            "## State fields (`state` and `next_state`)",
            "",
            fields,
            "",
            "## Action",
            "",
            self.action,
            "",
            "## How success is measured",
            "",
            self.fitness,
            "",
            self.contract.rstrip(),
            "",
        ])


def build_context(task: Task) -> str:
    """The full context text for `task` (what `Task.context` returns); the task's own text if it has one."""
    if task.context_text is not None:
        return task.context_text
    return task_context(task).text


def task_context(task: Task) -> TaskContext:
    cls = task.env.source_class
    module = inspect.getmodule(cls)
    if module is None:
        raise ContextError(f"cannot find the source module of {cls.__name__}; {REMEDY}")
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError) as exc:
        raise ContextError(f"cannot read the source of {module.__name__}: {exc}; {REMEDY}") from None
    name = _source_name(module)
    fields = tuple(task.state_doc.items())
    return TaskContext(
        task=task.name,
        description=task.description,
        code=strip_reward(source, RewardAnchor(cls.__name__, task.env.step_method, name, _reward_slot(task))),
        source_name=name,
        state_fields=fields,
        action=task.action_doc,
        fitness=task.fitness_doc,
        contract=reward_contract(),
        language="Python" if getattr(task.env, "host", False) else "JAX",
    )


def _source_name(module: Any) -> str:
    """The module's name, or its file's name for a user's file (imported under a generated module name)."""
    from rewardlab.tasks.ref import USER_MODULE_PREFIX

    file = getattr(module, "__file__", None)
    if file and (module.__name__.startswith(USER_MODULE_PREFIX) or module.__name__ == "__main__"):
        return Path(file).name
    return module.__name__


def environment_code(task: Task) -> str:
    """Only the reward-free environment code of `task`'s context."""
    return task_context(task).code


def reward_contract() -> str:
    """The reward function contract, in words and a template (deliberately free of any reward idea)."""
    return """## Your reward function

Write one Python function with exactly this signature and return format:

```python
import jax.numpy as jnp

def compute_reward(state, action, next_state):
    term_a = ...  # jnp expressions of the fields of state, action and next_state
    term_b = ...
    total = term_a + 0.1 * term_b
    return total, {"term_a": term_a, "term_b": term_b}
```

- `state` is the state before the step, `next_state` the state after it (fields listed above, read as
  `next_state.<field>`). On the last step of an episode `next_state` is the true final state.
- `action` is the action taken (see above).
- Return `(total, components)`: `total` is a scalar, `components` a dict mapping short names to the
  scalar terms that make up the total. The components are logged during training and reported back to
  you, so name every term you want to watch.
- The function sees one transition and is run under `jax.jit` and `jax.vmap`: use `jax.numpy` (`jnp`)
  for all math, no numpy, no Python `if`/`while`/`and`/`or` on state values (use `jnp.where`,
  `jnp.logical_and`, `jnp.maximum`), no global state, no printing, no files.
- Only `jax`, `jax.numpy`, `jax.lax`, `jax.nn`, `jax.random`, `jax.scipy.special` and `math` may be
  imported; `jnp`, `jax` and `math` are also predefined.
- Keep every value finite (guard divisions, logs and exponentials) and terms on sensible scales.
"""




def _reward_slot(task: Task) -> int:
    """Where the step method's returned tuple holds the reward: 2 for gymnax, 1 for Gymnasium."""
    return int(getattr(task.env, "reward_slot", 2))
