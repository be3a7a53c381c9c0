"""What an LLM reads about a Brax locomotion task: the environment class's own source, reward removed.

Brax environments do not fit the generic transform (`rewardlab.tasks.reward_strip`): their `step`
returns `state.replace(..., reward=reward, ...)`, not a 5-tuple, and the reward is spread over named
terms (`forward_reward`, `healthy_reward`, `ctrl_cost`, `contact_cost`) that also feed `state.metrics`.
The transform here knows that shape and nothing else: in every method of the class it drops the
statements that assign a reward or cost name (attributes included, e.g. `self._ctrl_cost_weight`),
`if` blocks left empty by that, the `state.metrics.update(...)` call and any assignment whose value
mentions a reward (the metrics dict of `reset`), the constructor's reward/cost parameters, the `reward=`
keyword of returned records, and docstrings that describe the reward; names it dropped that are still
read elsewhere become `...`. The dynamics (pipeline step, health test, observation) stay as written.
A Brax version whose code no longer fits raises `ContextError` rather than leaking the reward.
"""

from __future__ import annotations

import ast
import inspect
import re
from typing import Any

from rewardlab.tasks.reward_strip import ContextError

_REWARDISH = re.compile(r"reward|cost", re.I)
_REWARD_WORD = re.compile(r"reward", re.I)


def strip_brax_reward(env_class: type) -> str:
    """The module of `env_class` (imports and the class) with its reward computation removed."""
    try:
        source = inspect.getsource(inspect.getmodule(env_class))
    except (OSError, TypeError) as exc:
        raise ContextError(f"cannot read the source of {env_class.__name__}: {exc}") from None
    tree = ast.parse(source)
    body: list[ast.stmt] = []
    found = False
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            body.append(stmt)
        elif isinstance(stmt, ast.ClassDef) and stmt.name == env_class.__name__:
            _strip_class(stmt)
            body.append(stmt)
            found = True
    if not found:
        raise ContextError(f"{env_class.__name__} is not defined at the top level of its module")
    tree.body = body
    code = ast.unparse(ast.fix_missing_locations(tree))
    match = _REWARD_WORD.search(code)
    if match:
        line = code[: match.start()].count("\n") + 1
        raise ContextError(
            f"reward code is left in {env_class.__name__} after the transform (line {line}: "
            f"{code.splitlines()[line - 1].strip()!r}); the installed Brax is not the version these tasks "
            "were written for"
        )
    return code + "\n"


def _strip_class(cls: ast.ClassDef) -> None:
    _drop_reward_docstring(cls)
    for node in cls.body:
        if isinstance(node, ast.FunctionDef):
            _drop_reward_docstring(node)
            _drop_reward_params(node.args)
            removed: set[str] = set()
            node.body = _block(node.body, removed) or [ast.Pass()]
            _Blank(removed).visit(node)


def _drop_reward_docstring(node: ast.ClassDef | ast.FunctionDef) -> None:
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
        and _REWARD_WORD.search(first.value.value)
    ):
        node.body = node.body[1:] or [ast.Pass()]


def _drop_reward_params(args: ast.arguments) -> None:
    """Remove `healthy_reward=1.0`-style parameters (positional-or-keyword ones keep defaults aligned)."""
    n_plain = len(args.args)
    defaults = [None] * (n_plain - len(args.defaults)) + list(args.defaults)
    kept = [(a, d) for a, d in zip(args.args, defaults, strict=True) if not _REWARDISH.search(a.arg)]
    args.args = [a for a, _ in kept]
    args.defaults = [d for _, d in kept if d is not None]
    kw = [
        (a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if not _REWARDISH.search(a.arg)
    ]
    args.kwonlyargs = [a for a, _ in kw]
    args.kw_defaults = [d for _, d in kw]


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Attribute):
        return [target.attr]
    if isinstance(target, ast.Tuple | ast.List):
        return [n for elt in target.elts for n in _target_names(elt)]
    return []


def _block(stmts: list[ast.stmt], removed: set[str]) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for stmt in stmts:
        if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            names = [n for t in targets for n in _target_names(t)]
            value_mentions = stmt.value is not None and _REWARD_WORD.search(ast.unparse(stmt.value))
            unpacks = isinstance(stmt, ast.Assign) and len(targets) == 1 and isinstance(targets[0], ast.Tuple)
            if unpacks and any(_REWARDISH.search(n) for n in names):
                # `reward, done, zero = jp.zeros(3)`: keep the other names, discard the reward's slot
                for elt in targets[0].elts:
                    if isinstance(elt, ast.Name) and _REWARDISH.search(elt.id):
                        removed.add(elt.id)
                        elt.id = "_"
                out.append(stmt)
                continue
            if any(_REWARDISH.search(n) for n in names) or value_mentions:
                removed.update(names)
                continue
        elif isinstance(stmt, ast.Expr) and _is_metrics_update(stmt.value):
            continue
        elif isinstance(stmt, ast.If):
            stmt.body = _block(stmt.body, removed)
            stmt.orelse = _block(stmt.orelse, removed)
            if not stmt.body and not stmt.orelse:
                continue
            stmt.body = stmt.body or [ast.Pass()]
        elif isinstance(stmt, ast.For | ast.While | ast.With):
            stmt.body = _block(stmt.body, removed) or [ast.Pass()]
        out.append(stmt)
    return out


def _is_metrics_update(call: Any) -> bool:
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "update"
        and "metrics" in ast.unparse(call.func.value)
    )


class _Blank(ast.NodeTransformer):
    """Reads of dropped names become `...`; `reward=` keywords of calls are dropped."""

    def __init__(self, removed: set[str]) -> None:
        self.removed = removed

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if isinstance(node.ctx, ast.Load) and node.id in self.removed:
            return ast.copy_location(ast.Constant(Ellipsis), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        node.keywords = [k for k in node.keywords if not (k.arg and _REWARDISH.search(k.arg))]
        self.generic_visit(node)
        return node
