"""Loading a checked program in the child: restricted builtins and guarded module proxies.

Runs only inside a sandbox child process, after the static policy has accepted the text. The
namespace gives the program plain-attribute proxies of the allowed modules (built fresh for each
candidate, so nothing one candidate does to them reaches the next) instead of the real module
objects, and builtins without `open`, `__import__`, `getattr` and friends. Together with the static
policy this is defence in depth, not a proof: the child's resource limits and audit hook are the
last line.
"""

from __future__ import annotations
import __future__

import builtins
import math
import types
import typing
from collections.abc import Callable
from typing import Any

import jax
import jax.lax
import jax.nn
import jax.numpy
import jax.numpy.fft
import jax.numpy.linalg
import jax.random
import jax.scipy
import jax.scipy.special

from rewardlab.sandbox.allowlist import (
    ALLOWED_MODULES,
    BLOCKED_ATTRIBUTE_PREFIXES,
    BLOCKED_ATTRIBUTES,
    JAX_TOP_LEVEL,
    REWARD_FILENAME,
    REWARD_FN_NAME,
    TYPING_NAMES,
)

SAFE_BUILTIN_NAMES = (
    "abs", "all", "any", "bool", "complex", "dict", "divmod", "enumerate", "filter", "float", "frozenset",
    "int", "isinstance", "iter", "len", "list", "map", "max", "min", "next", "pow", "range", "repr",
    "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
    "ArithmeticError", "AssertionError", "Exception", "IndexError", "KeyError", "NotImplementedError",
    "OverflowError", "RuntimeError", "TypeError", "ValueError", "ZeroDivisionError",
)


class ProgramLoadError(Exception):
    """The program could not be turned into a callable; `kind` is a CheckReport kind."""

    def __init__(self, kind: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.line = line


class GuardedModule(types.SimpleNamespace):
    """A module's allowed public attributes as a plain namespace (no `__dict__` of the real module)."""

    def __init__(self, label: str, attrs: dict[str, Any]) -> None:
        super().__init__(**attrs)
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"module '{object.__getattribute__(self, '_label')}' has no attribute '{name}' "
                             "available to reward code")

    def __repr__(self) -> str:
        return f"<module '{object.__getattribute__(self, '_label')}' (guarded)>"


def _allowed_attr(name: str) -> bool:
    return not name.startswith("_") and name not in BLOCKED_ATTRIBUTES and not name.startswith(
        BLOCKED_ATTRIBUTE_PREFIXES
    )


_TABLES: dict[str, dict[str, Any]] | None = None


def _tables() -> dict[str, dict[str, Any]]:
    """Attribute tables of every allowed module, computed once per process (proxies are rebuilt per use)."""
    global _TABLES
    if _TABLES is None:
        real = {
            "math": math, "jax.numpy": jax.numpy, "jax.numpy.linalg": jax.numpy.linalg,
            "jax.numpy.fft": jax.numpy.fft, "jax.nn": jax.nn, "jax.lax": jax.lax, "jax.random": jax.random,
            "jax.scipy.special": jax.scipy.special, "jax.tree": jax.tree,
        }
        tables: dict[str, dict[str, Any]] = {}
        for label, mod in real.items():
            tables[label] = {
                k: v for k in dir(mod) if _allowed_attr(k)
                for v in [getattr(mod, k)] if not isinstance(v, types.ModuleType)
            }
        tables["jax.scipy"] = {}
        tables["jax"] = {k: getattr(jax, k) for k in JAX_TOP_LEVEL
                         if k not in ("numpy", "nn", "lax", "random", "scipy", "tree")}
        tables["typing"] = {k: getattr(typing, k) for k in TYPING_NAMES}
        tables["__future__"] = {"annotations": __future__.annotations}
        _TABLES = tables
    return _TABLES


def guarded_modules() -> dict[str, GuardedModule]:
    """Fresh proxies for every importable name, wired together (`jax.numpy` is the `jnp` proxy)."""
    t = _tables()
    mods = {label: GuardedModule(label, dict(attrs)) for label, attrs in t.items()}
    links = {
        "jax": {"numpy": "jax.numpy", "nn": "jax.nn", "lax": "jax.lax", "random": "jax.random",
                "scipy": "jax.scipy", "tree": "jax.tree"},
        "jax.numpy": {"linalg": "jax.numpy.linalg", "fft": "jax.numpy.fft"},
        "jax.scipy": {"special": "jax.scipy.special"},
    }
    for parent, children in links.items():
        for attr, child in children.items():
            object.__setattr__(mods[parent], attr, mods[child])
    missing = ALLOWED_MODULES - set(mods)
    if missing:  # the allow-list and this loader must agree (a test checks it too)
        raise RuntimeError(f"allow-list names modules the loader cannot provide: {sorted(missing)}")
    return mods


def safe_builtins(mods: dict[str, GuardedModule]) -> dict[str, Any]:
    table = {name: getattr(builtins, name) for name in SAFE_BUILTIN_NAMES}

    def guarded_import(name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
                       ) -> GuardedModule:
        if level:
            raise ImportError("relative imports are not allowed in reward code")
        if name not in mods:
            raise ImportError(f"importing {name!r} is not allowed in reward code")
        return mods[name] if fromlist or "." not in name else mods[name.split(".")[0]]

    table["__import__"] = guarded_import
    return table


def load_untrusted(source: str) -> Callable[..., Any]:
    """Compile and run the program's module body in a restricted namespace; return `compute_reward`.

    Annotations are compiled postponed (never evaluated), so `state: EnvState` or `-> Tuple[...]`
    annotations that name types the program cannot see do not fail.
    """
    try:
        code = compile(source, REWARD_FILENAME, "exec", flags=__future__.annotations.compiler_flag,
                       dont_inherit=True)
    except SyntaxError as exc:
        raise ProgramLoadError("syntax", f"line {exc.lineno}: {exc.msg}", exc.lineno) from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ProgramLoadError("syntax", f"the program could not be compiled: {type(exc).__name__}") from None
    mods = guarded_modules()
    namespace: dict[str, Any] = {
        "__builtins__": safe_builtins(mods),
        "__name__": "reward_program",
        "jax": mods["jax"],
        "jnp": mods["jax.numpy"],
        "math": mods["math"],
    }
    exec(code, namespace)  # errors propagate to the caller, which classifies them
    fn = namespace.get(REWARD_FN_NAME)
    if not isinstance(fn, types.FunctionType):
        raise ProgramLoadError("signature", f"{REWARD_FN_NAME} is not a function after running the module")
    return fn
