"""What reward programs may import and name: the tables shared by the static policy and the child's loader.

Keeping them in one place means the static check (`static.py`) and the runtime guard (`restricted.py`)
cannot drift apart: a module the policy allows is exactly a module the loader can provide.
"""

from __future__ import annotations

REWARD_FN_NAME = "compute_reward"
REWARD_PARAMS = ("state", "action", "next_state")
ENV_REWARD_PARAM = "env_reward"
"""The reward contract's name and parameters (`rewardlab.rewards.program` holds the same values; a test
checks they agree). Repeated here so that the static check does not import JAX."""

REWARD_FILENAME = "<reward>"
"""Filename candidate code is compiled under: tracebacks are cut to frames of this file."""

MAX_SOURCE_BYTES = 20_000
MAX_PROBLEMS_SHOWN = 5
MAX_INT_LITERAL = 2**63
MAX_CONST_DIGITS = 308  # beyond this a constant is not a float32/float64 number anyway

# Modules a reward may import, and what `import X` / `from X import ...` binds them to.
ALLOWED_MODULES = frozenset(
    {"jax", "jax.numpy", "jax.numpy.linalg", "jax.numpy.fft", "jax.nn", "jax.lax", "jax.random",
     "jax.scipy", "jax.scipy.special", "math"}
)
TYPING_NAMES = frozenset(
    {"Any", "Dict", "Tuple", "List", "Optional", "Union", "Callable", "Mapping", "Sequence"}
)
# What `jax.<name>` may be: submodules above and function transformations.
JAX_TOP_LEVEL = frozenset(
    {"numpy", "nn", "lax", "random", "scipy", "tree", "jit", "vmap", "grad", "value_and_grad",
     "jacfwd", "jacrev", "hessian", "Array"}
)
# Attribute names that are never needed in a reward and lead to files, the host, or the interpreter.
BLOCKED_ATTRIBUTES = frozenset(
    {"load", "save", "savez", "savez_compressed", "savetxt", "loadtxt", "genfromtxt", "fromfile",
     "tofile", "memmap", "printoptions", "set_printoptions", "debug", "callback", "pure_callback",
     "io_callback", "host_callback", "experimental", "config", "profiler", "distributed", "system",
     "popen", "environ", "ctypes", "format", "format_map", "mro", "f_back", "f_builtins", "f_code",
     "f_globals", "f_locals", "f_trace", "register", "register_pytree_node"}
)
BLOCKED_ATTRIBUTE_PREFIXES = ("gi_", "cr_", "ag_", "co_", "tb_")
# Builtins a reward may not call, with the reason the LLM reads.
FORBIDDEN_NAMES = {
    **dict.fromkeys(
        ("open", "exec", "eval", "compile", "__import__", "input", "breakpoint", "exit", "quit", "help",
         "copyright", "credits", "license"),
        "reward code may not run code, read input or touch files",
    ),
    **dict.fromkeys(
        ("getattr", "setattr", "delattr", "hasattr", "globals", "locals", "vars", "dir", "type", "object",
         "super", "memoryview", "classmethod", "staticmethod", "property"),
        "reward code may not inspect or change objects dynamically; access fields directly (state.x)",
    ),
    "print": "print is not available; return values you want to watch as extra components",
}
# Names of modules that are not available, with the hint the LLM needs.
UNAVAILABLE_MODULES = {
    "np": "numpy is not available: use jax.numpy (`jnp`), which the engine can jit and vmap",
    "numpy": "numpy is not available: use jax.numpy (`jnp`), which the engine can jit and vmap",
    "torch": "this is a JAX project: use jax.numpy (`jnp`) instead of torch",
    "tf": "this is a JAX project: use jax.numpy (`jnp`) instead of tensorflow",
    "tensorflow": "this is a JAX project: use jax.numpy (`jnp`) instead of tensorflow",
    "scipy": "use jax.scipy (e.g. jax.scipy.special) instead of scipy",
}
SYSTEM_MODULES = frozenset(
    {"os", "sys", "subprocess", "socket", "shutil", "pathlib", "io", "ctypes", "pickle", "marshal",
     "importlib", "builtins", "signal", "threading", "multiprocessing", "asyncio", "urllib", "http",
     "requests", "tempfile", "glob", "resource", "gc", "inspect", "code", "codecs", "random", "time"}
)
