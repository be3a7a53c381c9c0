"""Task references: how a user names a task, and how a fresh process finds the same task again.

A search trains in sandboxed child processes (fresh interpreters), so a task cannot travel as a Python
object. It travels as a `TaskRef`, which a child turns back into the task with `load`:

* a built-in or registered name: `CartPole-v1`, or a name an installed package declares in the
  `rewardlab.tasks` entry-point group (`[project.entry-points."rewardlab.tasks"] MyTask = "pkg.mod:make"`);
* a file: `path/to/file.py:attr`;
* a module: `package.module:attr`;
* a Gymnasium environment: `gymnasium:ENV_ID` (curated for CartPole-v1, InvertedPendulum-v5 and Hopper-v5,
  generic otherwise; see `rewardlab.tasks.gym_suite`), trained by the `sb3` engine.

`attr` is a `Task` or a zero-argument callable returning one (a dotted attribute such as
`Factory.make` works too). A name registered with `tasks.register()` from the user's own script or
module becomes a file or module reference to the factory's definition, so it works in children too.

A file reference records the file's resolved path and a SHA-256 of its bytes; `load(..., verify=True)`
refuses a file that has changed since (a resumed run must train the environment it started with).
Only the referenced file is hashed, not modules it imports.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from rewardlab.tasks import registry
from rewardlab.tasks.base import Task

RefKind = Literal["builtin", "file", "module"]
USER_MODULE_PREFIX = "rewardlab_user_"
_MODULE_SPEC = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w.]*$")


class TaskRefError(ValueError):
    """A task reference cannot be resolved or loaded; the message is one line that says why."""


@dataclass(frozen=True)
class TaskRef:
    """Where a task comes from, in a form a fresh interpreter can follow (JSON-serialisable).

    `spec` is what the user wrote; `name` the task's own name. For `kind="builtin"` the task is looked up
    by `name` in the registry. For `file`, `path` is the resolved file and `attr` the attribute; for
    `module`, `module` and `attr`, with `sys_path` the folder the module was imported from (children
    add it to their import path). `sha256` hashes `path` when there is one.
    """

    spec: str
    kind: RefKind
    name: str
    attr: str | None = None
    path: str | None = None
    module: str | None = None
    sha256: str | None = None
    sys_path: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sys_path": list(self.sys_path)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> TaskRef:
        try:
            return TaskRef(
                spec=str(data["spec"]),
                kind=data["kind"],
                name=str(data["name"]),
                attr=data.get("attr"),
                path=data.get("path"),
                module=data.get("module"),
                sha256=data.get("sha256"),
                sys_path=tuple(data.get("sys_path") or ()),
            )
        except (KeyError, TypeError) as exc:
            raise TaskRefError(f"malformed task reference {data!r:.200}: {exc}") from None

    def describe(self) -> str:
        """`CartPole-v1`, `reach (examples/reach.py:make_task)`: for messages and reports."""
        return self.name if self.kind == "builtin" else f"{self.name} ({self.spec})"

    def with_current_hash(self) -> TaskRef:
        """The same reference with `sha256` of the file as it is now (after `--force` on a changed file)."""
        if self.path is None:
            return self
        return TaskRef(**{**asdict(self), "sha256": file_sha256(Path(self.path))})


def is_reference(spec: str) -> bool:
    """True for `FILE.py:attr` and `package.module:attr` forms (not for plain task names)."""
    left, sep, _ = spec.rpartition(":")
    return bool(sep) and (left.endswith(".py") or bool(_MODULE_SPEC.match(spec)))


def resolve(spec: str, *, check: bool = True) -> tuple[Task, TaskRef]:
    """The task `spec` names and a reference to it that children can load.

    `check=True` runs `check_task` on tasks that are not built in (the built-in suite is checked in CI);
    a failure raises TaskRefError naming the failed check. Every error is a TaskRefError (one line).
    """
    spec = spec.strip()
    if not spec:
        raise TaskRefError("empty task name")
    if not check:  # the builder checks what it builds unless told not to
        from rewardlab.tasks.builder import checks_skipped

        with checks_skipped():
            return _resolve(spec, check=False)
    return _resolve(spec, check=True)


def _resolve(spec: str, *, check: bool) -> tuple[Task, TaskRef]:
    left, sep, attr = spec.rpartition(":")
    if sep and left.endswith(".py"):
        path = Path(left).expanduser()
        if not path.is_file():
            raise TaskRefError(
                f"task file not found: {left}" if not path.exists() else f"task file {left} is not a file"
            )
        path = path.resolve()
        find = lambda: _attribute(_import_file(path, spec), attr, spec)
        task = _cached(("file", str(path), attr), find, spec)
        ref = TaskRef(spec, "file", task.name, attr=attr, path=str(path), sha256=file_sha256(path),
                      sys_path=(str(path.parent),))
    elif sep and _MODULE_SPEC.match(spec):
        module = _import_module(left, spec, allow_cwd=True)
        task = _cached(("module", module.__name__, attr), lambda: _attribute(module, attr, spec), spec)
        ref = _module_ref(spec, task.name, module, attr)
    elif spec.startswith(registry.GYM_PREFIX):
        task, ref = _resolve_gym(spec)
    else:
        task, ref = _resolve_name(spec)
    if check and (ref.kind != "builtin" or spec.startswith(registry.GYM_PREFIX)):
        run_check(task, ref)
    return task, ref


def load(ref: TaskRef | dict[str, Any], *, verify: bool = True) -> Task:
    """The task behind `ref`, in this process (children call this with the reference from the job file).

    With `verify`, a file whose hash differs from the one recorded raises TaskRefError. Tasks built with
    `from_gymnax` are not checked again here (the process that made the reference checked them).
    """
    if isinstance(ref, dict):
        ref = TaskRef.from_dict(ref)
    from rewardlab.tasks.builder import checks_skipped

    with checks_skipped():
        if ref.kind == "builtin":
            try:
                return registry.get(ref.name)
            except KeyError as exc:
                raise TaskRefError(exc.args[0]) from None
        if ref.kind == "file":
            if ref.path is None or ref.attr is None:
                raise TaskRefError(f"task reference {ref.spec!r} has no file or attribute")
            path = Path(ref.path)
            if not path.is_file():
                raise TaskRefError(f"task file {ref.path} (from {ref.spec!r}) no longer exists")
            if verify and ref.sha256 and file_sha256(path) != ref.sha256:
                raise TaskRefError(changed_message(ref))
            attr = ref.attr
            return _cached(
                ("file", str(path), attr), lambda: _attribute(_import_file(path, ref.spec), attr, ref.spec),
                ref.spec,
            )
        if ref.kind == "module":
            if ref.module is None or ref.attr is None:
                raise TaskRefError(f"task reference {ref.spec!r} has no module or attribute")
            for entry in ref.sys_path:
                if entry not in sys.path:
                    sys.path.append(entry)
            module = _import_module(ref.module, ref.spec, allow_cwd=False)
            if verify and ref.path and ref.sha256 and Path(ref.path).is_file() and (
                file_sha256(Path(ref.path)) != ref.sha256
            ):
                raise TaskRefError(changed_message(ref))
            attr = ref.attr
            return _cached(("module", ref.module, attr), lambda: _attribute(module, attr, ref.spec), ref.spec)
    raise TaskRefError(f"unknown task reference kind {ref.kind!r}")


def changed_message(ref: TaskRef) -> str:
    return (
        f"task file {ref.path} changed since this run started (it defines {ref.describe()}); "
        "resume with --force to train the changed environment"
    )


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_check(task: Task, ref: TaskRef | None = None) -> None:
    """`check_task` once per task object; a failure becomes a TaskRefError naming the failed check."""
    from rewardlab.tasks.builder import mark_checked, was_checked
    from rewardlab.tasks.check import TaskCheckError, check_task

    if was_checked(task):
        return
    try:
        check_task(task)
    except TaskCheckError as exc:
        where = f" (from {ref.spec})" if ref is not None and ref.kind != "builtin" else ""
        raise TaskRefError(f"{exc}{where}") from None
    mark_checked(task)


# --- names ------------------------------------------------------------------------------------------------


def _resolve_name(name: str) -> tuple[Task, TaskRef]:
    factory = registry.factory(name)
    if factory is not None:
        try:
            task = registry.get(name)
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise TaskRefError(f"task {name}: its factory raised {_exc_line(exc)}") from None
        origin = _factory_origin(factory)
        if origin is None:  # part of rewardlab: children find it in the registry
            return task, TaskRef(name, "builtin", task.name)
        return task, _ref_to_callable(name, task.name, factory, *origin)
    ep = registry.entry_point(name)
    if ep is not None:
        module_name, _, attr = ep.value.partition(":")
        module = _import_module(module_name.strip(), f"entry point {name}", allow_cwd=False)
        task = _task_from(_attribute(module, attr.strip(), f"entry point {name}"), f"entry point {name}")
        return task, _module_ref(name, task.name, module, attr.strip())
    if ":" in name:
        raise TaskRefError(
            f"cannot read task reference {name!r}: use FILE.py:attr or package.module:attr, or a task name"
        )
    raise TaskRefError(registry.unknown_message(name))


def _resolve_gym(spec: str) -> tuple[Task, TaskRef]:
    """`gymnasium:ENV_ID`: a curated or generic Gymnasium task, found again in children by its name."""
    from rewardlab.tasks.gym_adapter import EnvStepError

    try:
        task = registry.get(spec)
    except KeyError as exc:
        raise TaskRefError(str(exc.args[0])) from None
    except EnvStepError as exc:
        raise TaskRefError(str(exc)) from None
    return task, TaskRef(spec, "builtin", task.name)


def _factory_origin(factory: Callable[[], Task]) -> tuple[str, str] | None:
    """(module name, qualname) of a registered factory outside rewardlab, or None for rewardlab's own."""
    module = getattr(factory, "__module__", None) or ""
    if module == "rewardlab" or module.startswith("rewardlab."):
        return None
    return module, getattr(factory, "__qualname__", "")


def _ref_to_callable(spec: str, name: str, factory: Any, module_name: str, qualname: str) -> TaskRef:
    if not qualname or "<" in qualname:
        raise TaskRefError(
            f"task {name!r} was registered with {qualname or type(factory).__name__}, which a training "
            "process cannot import again; register a module-level function, or pass FILE.py:attr"
        )
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None)
    if module_name == "__main__" or module_name.startswith(USER_MODULE_PREFIX) or (
        module is not None and module.__spec__ is None
    ):
        if not file:
            raise TaskRefError(
                f"task {name!r} was registered from an interactive session; put its factory in a file "
                "and pass FILE.py:attr"
            )
        path = Path(file).resolve()
        return TaskRef(spec, "file", name, attr=qualname, path=str(path), sha256=file_sha256(path),
                       sys_path=(str(path.parent),))
    return _module_ref(spec, name, module, qualname)


def _module_ref(spec: str, name: str, module: Any, attr: str) -> TaskRef:
    file = getattr(module, "__file__", None)
    path = Path(file).resolve() if file else None
    sys_path: tuple[str, ...] = ()
    if path is not None:
        root = path.parent if path.name != "__init__.py" else path.parent.parent
        for _ in range(module.__name__.count(".")):
            root = root.parent
        sys_path = (str(root),)
    return TaskRef(
        spec, "module", name, attr=attr, path=str(path) if path else None, module=module.__name__,
        sha256=file_sha256(path) if path and path.is_file() else None, sys_path=sys_path,
    )


# --- importing ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _no_bytecode() -> Iterator[None]:
    """Import user code without writing `__pycache__` next to it (nothing outside the run folder)."""
    before = sys.dont_write_bytecode
    sys.dont_write_bytecode = True
    try:
        yield
    finally:
        sys.dont_write_bytecode = before


def _import_file(path: Path, spec: str) -> Any:
    """Import a user's file as a module of its own (once per process per path), its folder on sys.path."""
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    mod_name = f"{USER_MODULE_PREFIX}{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # sibling modules import as they would for `python file.py`
    module_spec = importlib.util.spec_from_file_location(mod_name, path)
    if module_spec is None or module_spec.loader is None:
        raise TaskRefError(f"{spec}: {path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = module
    try:
        with _no_bytecode():
            module_spec.loader.exec_module(module)
    except BaseException as exc:
        sys.modules.pop(mod_name, None)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise TaskRefError(f"{spec}: importing {path.name} failed: {_exc_line(exc, path)}") from None
    return module


def _import_module(name: str, spec: str, *, allow_cwd: bool) -> Any:
    try:
        with _no_bytecode():
            return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        top = name.split(".")[0]
        cwd = os.getcwd()
        if allow_cwd and exc.name in (top, name) and cwd not in sys.path:
            sys.path.append(cwd)  # like `python -m`: modules of the current folder are importable
            return _import_module(name, spec, allow_cwd=False)
        raise TaskRefError(f"{spec}: no module named {exc.name or name!r}") from None
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise TaskRefError(f"{spec}: importing {name} failed: {_exc_line(exc)}") from None


def _attribute(module: Any, attr: str, spec: str) -> Any:
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            where = getattr(module, "__file__", None) or getattr(module, "__name__", "the module")
            names = [n for n in dir(module) if not n.startswith("_")]
            hint = _close(part, names)
            label = Path(where).name if where else where
            raise TaskRefError(f"{spec}: {label} has no attribute {attr!r}{hint}")
        obj = getattr(obj, part)
    return obj


_TASKS: dict[tuple[str, str, str], Task] = {}


def _cached(key: tuple[str, str, str], find: Callable[[], Any], spec: str) -> Task:
    """One task object per (file or module, attribute) and process: a factory runs once."""
    if key not in _TASKS:
        _TASKS[key] = _task_from(find(), spec)
    return _TASKS[key]


def _task_from(obj: Any, spec: str) -> Task:
    if isinstance(obj, Task):
        return obj
    if not callable(obj):
        raise TaskRefError(
            f"{spec}: {type(obj).__name__} is neither a Task nor a zero-argument function returning one"
        )
    try:
        sig = inspect.signature(obj)
        required = [p.name for p in sig.parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                                           p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        required = []
    if required:
        raise TaskRefError(
            f"{spec}: {getattr(obj, '__name__', 'the factory')}() must take no arguments "
            f"(it requires {', '.join(required)})"
        )
    return _built(obj, spec)


def _built(factory: Callable[[], Any], spec: str) -> Task:
    try:
        task = factory()
    except TaskRefError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        name = getattr(factory, "__name__", "the factory")
        raise TaskRefError(f"{spec}: {name}() raised {_exc_line(exc)}") from None
    if not isinstance(task, Task):
        raise TaskRefError(
            f"{spec}: {getattr(factory, '__name__', 'the factory')}() returned {type(task).__name__}, "
            "not a rewardlab Task (build one with rewardlab.tasks.from_gymnax)"
        )
    return task


def _exc_line(exc: BaseException, path: Path | None = None) -> str:
    """`ValueError: bad value (file.py, line 12)`: one line about an exception from user code.

    The location is the deepest frame in `path`, or else in the user's own code (not rewardlab, not an
    installed package, not the standard library).
    """
    text = " ".join(str(exc).split())
    line = None
    tb = exc.__traceback__
    while tb is not None:
        file = tb.tb_frame.f_code.co_filename
        if (Path(file) == path) if path is not None else _is_user_file(file):
            line = (Path(file).name, tb.tb_lineno)
        tb = tb.tb_next
    if line is None and isinstance(exc, SyntaxError) and exc.lineno and exc.filename:
        line = (Path(exc.filename).name, exc.lineno)
    where = f" ({line[0]}, line {line[1]})" if line else ""
    return f"{type(exc).__name__}: {text[:300]}{where}" if text else f"{type(exc).__name__}{where}"


_OWN = str(Path(__file__).resolve().parents[1])
_LIBS = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix})


def _is_user_file(file: str) -> bool:
    if file.startswith("<") or "site-packages" in file or "dist-packages" in file:
        return False
    return not file.startswith(_OWN) and not file.startswith(_LIBS)


def _close(word: str, options: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, options, n=3, cutoff=0.5)
    return f"; did you mean {', '.join(close)}?" if close else ""
