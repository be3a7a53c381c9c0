"""The context an LLM is shown about a task, generated from the environment's own source code.

Eureka found that LLMs write better rewards from raw environment code than from hand-written
abstractions, because code models read code best. So the context is the environment module itself
(state dataclass, parameters, dynamics, observation and termination code), with every reward
computation removed by an AST transform, followed by the reward contract and the task's own
explanations of state fields and actions.

What the transform removes, in each function of the module:
* every statement that assigns a name containing "reward", or whose value reads such a name or a
  value derived from one (taint flows forward through assignments);
* assignments whose only readers were removed statements (dead code left behind, e.g. CartPole's
  `prev_terminal`), repeated until nothing changes;
* a reward inside a returned tuple becomes `...`, so the tuple keeps its shape;
* methods and functions named like a reward, functions that only reward code called (Pendulum's
  `angle_normalize`), docstrings that mention rewards, and every comment (`ast.unparse` drops them).
A final check refuses to return code that still contains the word "reward".
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rewardlab.tasks.base import Task

_REWARD = re.compile("reward", re.IGNORECASE)
_NOISE_METHODS = frozenset({"state_space", "render"})
CODE_FENCE = "```python"


class ContextError(RuntimeError):
    """The environment's source could not be turned into a reward-free context."""


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
            f"This is the environment's own JAX source (`{self.source_name}`) with every reward computation "
            "removed; `...` marks where the environment's reward value used to be. Your function replaces "
            "it. Helper functions in this code are for reading only: they are not available inside your "
            "reward function.",
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
        raise ContextError(f"cannot find the source module of {cls.__name__}")
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError) as exc:
        raise ContextError(f"cannot read the source of {module.__name__}: {exc}") from None
    fields = tuple(task.state_doc.items())
    return TaskContext(
        task=task.name,
        description=task.description,
        code=strip_reward(source),
        source_name=module.__name__,
        state_fields=fields,
        action=task.action_doc,
        fitness=task.fitness_doc,
        contract=reward_contract(),
    )


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


# --- the transform ------------------------------------------------------------------------------------


def strip_reward(source: str) -> str:
    """`source` with every reward computation removed (see the module docstring)."""
    tree = ast.parse(source)
    _drop_docstring(tree)
    removed_reads: set[str] = set()
    kept: list[ast.stmt] = []
    for stmt in tree.body:
        named = isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        if named and _REWARD.search(stmt.name):
            removed_reads |= _reads(stmt)
            continue
        if isinstance(stmt, ast.ClassDef):
            removed_reads |= _strip_class(stmt)
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            removed_reads |= _strip_function(stmt)
        kept.append(stmt)
    tree.body = _drop_orphan_helpers(kept, removed_reads)
    code = ast.unparse(ast.fix_missing_locations(tree))
    if _REWARD.search(code):
        raise ContextError("reward code is still present after the transform: " + _first_match(code))
    return code + "\n"


def _strip_class(cls: ast.ClassDef) -> set[str]:
    _drop_docstring(cls)
    removed: set[str] = set()
    body: list[ast.stmt] = []
    for stmt in cls.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            if _REWARD.search(stmt.name) or stmt.name in _NOISE_METHODS:
                removed |= _reads(stmt)
                continue
            removed |= _strip_function(stmt)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and _mentions_reward(stmt):
            removed |= _reads(stmt)
            continue
        body.append(stmt)
    cls.body = body or [ast.Pass()]
    return removed


def _strip_function(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """Remove reward statements from `fn` in place; return the names the removed code read."""
    _drop_docstring(fn)
    tainted: set[str] = set()
    removed_reads: set[str] = set()
    fn.body = _strip_block(fn.body, tainted, removed_reads)
    _drop_dead(fn, removed_reads)
    return removed_reads


def _strip_block(body: list[ast.stmt], tainted: set[str], removed_reads: set[str]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in body:
        if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = _targets(stmt)
            value = stmt.value
            reads = _reads(value) if value is not None else set()
            if any(_REWARD.search(t) for t in targets) or reads & tainted or _mentions_reward(value):
                tainted |= targets
                removed_reads |= reads
                continue
        elif isinstance(stmt, ast.Return) and stmt.value is not None:
            stmt.value = _blank_tainted(stmt.value, tainted, removed_reads)
        elif isinstance(stmt, ast.If | ast.For | ast.While | ast.With | ast.Try):
            for attr in ("body", "orelse", "finalbody"):
                block = getattr(stmt, attr, None)
                if block:
                    setattr(stmt, attr, _strip_block(block, tainted, removed_reads) or [ast.Pass()])
            if _reads(getattr(stmt, "test", None) or getattr(stmt, "iter", None)) & tainted:
                removed_reads |= _reads(stmt)
                continue
        elif _reads(stmt) & tainted or _mentions_reward(stmt):
            removed_reads |= _reads(stmt)
            continue
        out.append(stmt)
    return out


def _blank_tainted(value: ast.expr, tainted: set[str], removed_reads: set[str]) -> ast.expr:
    """A returned reward becomes `...`; inside a tuple only the reward element does."""
    if isinstance(value, ast.Tuple):
        elts = []
        for e in value.elts:
            if _reads(e) & tainted or _mentions_reward(e):
                removed_reads |= _reads(e)
                elts.append(ast.Constant(...))
            else:
                elts.append(e)
        value.elts = elts
        return value
    if _reads(value) & tainted or _mentions_reward(value):
        removed_reads |= _reads(value)
        return ast.Constant(...)
    return value


def _drop_dead(fn: ast.FunctionDef | ast.AsyncFunctionDef, removed_reads: set[str]) -> None:
    """Remove simple assignments to names that only removed code read, until nothing changes."""
    while True:
        loads = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
        dead = {name for name in removed_reads if name not in loads}
        changed = False
        for node in ast.walk(fn):
            for attr in ("body", "orelse", "finalbody"):
                block = getattr(node, attr, None)
                if not isinstance(block, list):
                    continue
                keep = []
                for stmt in block:
                    if isinstance(stmt, ast.Assign) and _targets(stmt) and _targets(stmt) <= dead:
                        removed_reads |= _reads(stmt.value)
                        changed = True
                        continue
                    keep.append(stmt)
                if len(keep) != len(block):
                    setattr(node, attr, keep or [ast.Pass()])
        if not changed:
            return


def _drop_orphan_helpers(body: list[ast.stmt], removed_reads: set[str]) -> list[ast.stmt]:
    """Drop module-level functions that only removed code called (repeated for helpers of helpers)."""
    while True:
        used = set()
        for stmt in body:
            for node in ast.walk(stmt):
                if isinstance(node, ast.Name):
                    used.add(node.id)
        orphans = [s for s in body if isinstance(s, ast.FunctionDef) and s.name in removed_reads
                   and s.name not in used]
        if not orphans:
            return body
        for s in orphans:
            removed_reads |= _reads(s)
        body = [s for s in body if s not in orphans]


# --- small helpers --------------------------------------------------------------------------------------


def _targets(stmt: ast.Assign | ast.AugAssign | ast.AnnAssign) -> set[str]:
    nodes = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
    return {n.id for t in nodes for n in ast.walk(t) if isinstance(n, ast.Name)}


def _reads(node: Any) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _mentions_reward(node: Any) -> bool:
    if node is None:
        return False
    for n in ast.walk(node):
        text = (n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute)
                else n.arg if isinstance(n, ast.arg | ast.keyword) and n.arg
                else n.value if isinstance(n, ast.Constant) and isinstance(n.value, str) else "")
        if _REWARD.search(text):
            return True
    return False


def _drop_docstring(node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(
        body[0].value.value, str
    ) and _REWARD.search(body[0].value.value):
        node.body = body[1:] or [ast.Pass()]


def _first_match(code: str) -> str:
    for line in code.splitlines():
        if _REWARD.search(line):
            return line.strip()[:120]
    return ""
