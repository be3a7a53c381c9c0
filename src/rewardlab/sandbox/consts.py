"""Judging all-constant arithmetic (`10 ** 10 ** 10`, `[0] * 10**9`) without computing anything big.

The static policy must flag constants that would hang or exhaust any process that evaluated them,
and it must do so in the parent, which never runs candidate code. `const_digits` estimates the size
of a constant expression from logarithms; only expressions known to be small are evaluated exactly.
"""

from __future__ import annotations

import ast
import math

from rewardlab.sandbox.allowlist import MAX_CONST_DIGITS


def const_value(node: ast.AST) -> int | float | None:
    """Value of a small all-constant arithmetic expression, or None (never computes anything big)."""
    digits = const_digits(node)
    if digits is None or digits > MAX_CONST_DIGITS:
        return None
    return _eval_small(node)


def const_digits(node: ast.AST, depth: int = 0) -> float | None:
    """Estimated log10 of |value| for a constant arithmetic expression; None if not constant."""
    if depth > 50:
        return None
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        v = abs(node.value)
        return math.log10(v) if v and math.isfinite(v) else 0.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return const_digits(node.operand, depth + 1)
    if not isinstance(node, ast.BinOp):
        return None
    left = const_digits(node.left, depth + 1)
    right = const_digits(node.right, depth + 1)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Pow):
        if right > MAX_CONST_DIGITS:
            return math.inf if left > 0 else 0.0
        exponent = _eval_small(node.right)
        if not isinstance(exponent, int | float) or exponent <= 0:
            return 0.0
        return abs(exponent) * left
    if isinstance(node.op, ast.LShift):
        shift = _eval_small(node.right) if right <= 6 else math.inf
        return left + (shift if isinstance(shift, int | float) else 0) * math.log10(2)
    if isinstance(node.op, ast.Mult):
        return left + right
    if isinstance(node.op, ast.Add | ast.Sub):
        return max(left, right) + 1
    return left


def _eval_small(node: ast.AST) -> int | float | None:
    """Evaluate an all-constant expression already known to be small (None if it cannot be)."""
    try:
        return _eval_small_unsafe(node)
    except (ArithmeticError, ValueError, TypeError, RecursionError):
        return None


def _eval_small_unsafe(node: ast.AST) -> int | float | None:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        v = _eval_small(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp):
        if (const_digits(node) or 0) > MAX_CONST_DIGITS:
            return None
        a, b = _eval_small(node.left), _eval_small(node.right)
        if a is None or b is None:
            return None
        ops = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
               ast.Pow: lambda: a**b, ast.LShift: lambda: a << b, ast.Div: lambda: a / b,
               ast.FloorDiv: lambda: a // b, ast.Mod: lambda: a % b}
        fn = ops.get(type(node.op))
        return fn() if fn else None
    return None
