"""Context for environments whose step method gets its reward out of a module-level helper.

`rewardlab.tasks.context` finds the reward in the step method's returned tuple and removes what
computed it. gymnax's MinAtar games and bsuite's DeepSea compute the reward inside helpers that
also advance the state (`state, reward = step_ball_brick(state, x, y)`): removing that statement
would remove the dynamics with it (the transform then blanks the whole step method). This module
first splits the reward out of those helpers, in the source text's syntax tree, then hands the result
to the same transform:

* in the step method, a tuple assignment from a call to a module function whose targets include a
  reward name (a name containing "reward", or one the returned reward slot reads) loses that target,
  and the helper loses the same element of every tuple it returns;
* anywhere else, a reward-named target of a tuple assignment from a call becomes `_`
  (`key_reward, key_trans = split(key)` keeps `key_trans`), and a tuple assignment of a literal tuple
  is split into one assignment per name (`done, reward = 0, 0`), so that removing the reward keeps
  its neighbours.

A helper that also computes a state field from the reward's own condition (DeepSea's `step_reward`
returns the reward and `denoised_return`) cannot be split by position; the task then names the step
method's statement and the reward-free code shown instead (`replace`).

The text is built from the installed environment's own source at task construction, so it follows
the library; a source this does not recognise raises `ContextError` (from the transform's own checks
or a replacement that no longer matches), never a silently wrong context.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rewardlab.tasks.context import ContextError, RewardAnchor, TaskContext, reward_contract, strip_reward

if TYPE_CHECKING:
    from rewardlab.tasks.base import Task

_REWARD = re.compile("reward", re.IGNORECASE)


def helper_context(task: Task, replace: Mapping[str, str] | None = None) -> str:
    """The context text of `task` (what `Task.context_text` holds), built from its environment's source.

    `replace` maps statements of the step method (as `ast.unparse` writes them) to the code shown
    instead, for a reward helper that also computes a state field (each must match exactly once).
    """
    return helper_task_context(task, replace).text


def helper_task_context(task: Task, replace: Mapping[str, str] | None = None) -> TaskContext:
    cls = task.env.source_class
    module = inspect.getmodule(cls)
    if module is None:
        raise ContextError(f"cannot find the source module of {cls.__name__}")
    anchor = RewardAnchor(cls.__name__, task.env.step_method, module.__name__)
    code = strip_reward(split_helper_rewards(inspect.getsource(module), anchor, replace), anchor)
    return TaskContext(
        task=task.name,
        description=task.description,
        code=code,
        source_name=module.__name__,
        state_fields=tuple(task.state_doc.items()),
        action=task.action_doc,
        fitness=task.fitness_doc,
        contract=reward_contract(),
    )


def split_helper_rewards(source: str, anchor: RewardAnchor, replace: Mapping[str, str] | None = None) -> str:
    """`source` with the reward taken out of the helpers that the anchor's step method calls."""
    tree = ast.parse(source)
    functions = {s.name: s for s in tree.body if isinstance(s, ast.FunctionDef)}
    step = _step_method(tree, anchor)
    for old, new in (replace or {}).items():
        _replace_statement(step, old, new, anchor)
    slot_names = _slot_names(step)
    drops: dict[str, int] = {}
    for node in ast.walk(step):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if not (isinstance(target, ast.Tuple) and isinstance(value, ast.Call)):
            continue
        callee = value.func.id if isinstance(value.func, ast.Name) else None
        hits = [
            i for i, t in enumerate(target.elts)
            if isinstance(t, ast.Name) and (_REWARD.search(t.id) or t.id in slot_names)
        ]
        if callee in functions and len(hits) == 1:
            drops[callee] = hits[0]
            del target.elts[hits[0]]
            if len(target.elts) == 1:
                node.targets[0] = target.elts[0]
    for name, index in drops.items():
        returns = functions[name].returns
        if isinstance(returns, ast.Subscript) and isinstance(returns.slice, ast.Tuple):
            del returns.slice.elts[index]
            if len(returns.slice.elts) == 1:
                functions[name].returns = returns.slice.elts[0]
        for ret in ast.walk(functions[name]):
            if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple):
                del ret.value.elts[index]
                if len(ret.value.elts) == 1:
                    ret.value = ret.value.elts[0]
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef):
            fn.body = _split_assignments(fn.body)
    return ast.unparse(ast.fix_missing_locations(tree))


def _step_method(tree: ast.Module, anchor: RewardAnchor) -> ast.FunctionDef:
    for stmt in tree.body:
        if isinstance(stmt, ast.ClassDef) and stmt.name == anchor.cls:
            for item in stmt.body:
                if isinstance(item, ast.FunctionDef) and item.name == anchor.method:
                    return item
    raise ContextError(f"{anchor.cls}.{anchor.method} is not defined in {anchor.file}")


def _replace_statement(step: ast.FunctionDef, old: str, new: str, anchor: RewardAnchor) -> None:
    want = ast.unparse(ast.parse(old))
    spots = [
        (parent, i)
        for parent in ast.walk(step)
        for i, stmt in enumerate(getattr(parent, "body", []) if isinstance(parent, ast.AST) else [])
        if isinstance(stmt, ast.stmt) and ast.unparse(stmt) == want
    ]
    if len(spots) != 1:
        raise ContextError(
            f"expected the statement `{want}` once in {anchor.cls}.{anchor.method} of {anchor.file}, "
            f"found it {len(spots)} times (the environment's source changed?)"
        )
    parent, i = spots[0]
    parent.body[i : i + 1] = ast.parse(new).body


def _slot_names(step: ast.FunctionDef) -> set[str]:
    """Names read by the reward slot (third element) of the step method's returned 5-tuples."""
    names: set[str] = set()
    for ret in ast.walk(step):
        if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple) and len(ret.value.elts) == 5:
            names |= {n.id for n in ast.walk(ret.value.elts[2]) if isinstance(n, ast.Name)}
    return names


def _split_assignments(body: list[ast.stmt]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in body:
        for block in ("body", "orelse", "finalbody"):
            if isinstance(getattr(stmt, block, None), list):
                setattr(stmt, block, _split_assignments(getattr(stmt, block)))
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
        if not (isinstance(target, ast.Tuple) and all(isinstance(t, ast.Name) for t in target.elts)):
            out.append(stmt)
            continue
        rewardy = [isinstance(t, ast.Name) and bool(_REWARD.search(t.id)) for t in target.elts]
        value = stmt.value
        if any(rewardy) and isinstance(value, ast.Tuple) and len(value.elts) == len(target.elts):
            out.extend(ast.Assign(targets=[t], value=v) for t, v in zip(target.elts, value.elts, strict=True))
            continue
        if any(rewardy) and not all(rewardy):
            blank = ast.Name(id="_", ctx=ast.Store())
            target.elts = [blank if r else t for t, r in zip(target.elts, rewardy, strict=True)]
        out.append(stmt)
    return out
