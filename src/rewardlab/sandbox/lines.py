"""Finding the line of a candidate's source that a message is about (pure AST, no execution).

Errors raised inside the candidate carry their own line (the traceback's `<reward>` frames). Errors
found by inspecting what it returned (wrong shape, NaN) do not, so these helpers point at the line
that computed the offending term, or at the return statement.
"""

from __future__ import annotations

import ast

from rewardlab.sandbox.allowlist import REWARD_FN_NAME


def at_line(line: int | None, lines: list[str], message: str) -> str:
    """Prefix a message with the candidate line it is about, as tracebacks do for trace errors."""
    if line is None or not 0 < line <= len(lines):
        return message
    return f"line {line}: {lines[line - 1].strip()[:160]}\n{message}"


def value_line(source: str, name: str) -> int | None:
    """Line where compute_reward computes the returned total (`name == "total"`) or component `name`.

    Follows `return total, {"name": expr}`: the line of `expr`, or of the last assignment to it when
    `expr` is a plain variable. Falls back to the last return line.
    """
    fallback = return_line(source)
    fn = reward_def(source)
    if fn is None:
        return fallback
    for ret in (n for n in ast.walk(fn) if isinstance(n, ast.Return)):
        value = ret.value
        if not (isinstance(value, ast.Tuple) and len(value.elts) == 2):
            continue
        expr: ast.expr | None = value.elts[0] if name == "total" else None
        if isinstance(value.elts[1], ast.Dict) and name != "total":
            for key, val in zip(value.elts[1].keys, value.elts[1].values, strict=False):
                if isinstance(key, ast.Constant) and key.value == name:
                    expr = val
        if expr is None:
            continue
        if isinstance(expr, ast.Name):
            assigns = [n.lineno for n in ast.walk(fn) if expr.id in _assigned(n)]
            return max(assigns) if assigns else expr.lineno
        return expr.lineno
    return fallback


def _assigned(node: ast.AST) -> set[str]:
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    else:
        return set()
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def reward_def(source: str) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == REWARD_FN_NAME:
            return node
    return None


def return_line(source: str) -> int | None:
    """Line of the last `return` in compute_reward (where a wrong return value is built)."""
    fn = reward_def(source)
    if fn is None:
        return None
    returns = [n.lineno for n in ast.walk(fn) if isinstance(n, ast.Return)]
    return max(returns) if returns else fn.lineno
