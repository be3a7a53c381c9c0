"""`RayEvaluator`: each batch is a Ray task that runs the same sandboxed child as the local worker.

The task writes the job into a temporary folder on its node, calls `train_in_worker` there (static
check, child process with limits, stall watchdog, solo retries: all as locally) and returns the results
as plain records; nothing is written to a shared disk, and the driver's run folder stays the single
source of truth. Ray retries a task whose worker process or node died (`retries` times); after that
each program of the batch is tried alone as its own task, and a program that still cannot be trained
gets an error result that says why, so the search goes on. An exception raised by rewardlab itself
inside the task is raised on the driver as it would be locally.

Ray is imported lazily: the core install works without it (`pip install 'rewardlab[ray]'`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import platform
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardlab.engines.halving import Halving
from rewardlab.executors.base import Batch, BatchOutcome, ExecutorUnavailable
from rewardlab.executors.resources import Request
from rewardlab.executors.shipping import pack, unpack, warm_start_file
from rewardlab.sandbox.worker import WorkerEvent, train_in_worker
from rewardlab.types import TrainResult

INSTALL_HINT = "install it with: pip install 'rewardlab[ray]'"
LOOPBACK = ("127.0.0.1", "localhost")
_started_here = {"flag": False}


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorUnavailable(
            f"--executor ray needs Ray, which is not installed; {INSTALL_HINT}"
        ) from None
    return ray


def connect(address: str | None, *, probe_timeout_s: float = 5.0) -> None:
    """Connect this process to the cluster at `address` (host:port, `auto`, `ray://...`), or start a
    private Ray instance on 127.0.0.1 when `address` is None. Raises ExecutorUnavailable (one line)
    when Ray is missing or the cluster does not answer; a process already connected stays connected.
    """
    ray = _ray()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR"}
    if address is None:  # "local": never join a cluster this machine happens to run
        kwargs.update(address="local", _node_ip_address="127.0.0.1", include_dashboard=False)
    else:
        _probe(address, probe_timeout_s)
        host = address.removeprefix("ray://").rpartition(":")[0]
        if host in LOOPBACK:
            kwargs["_node_ip_address"] = "127.0.0.1"
        kwargs["address"] = address
    try:
        with _loopback_kept(kwargs.get("_node_ip_address") == "127.0.0.1"):
            ray.init(**kwargs)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError or ValueError here
        detail = " ".join(str(exc).split())[:200]
        where = address or "a local Ray instance"
        raise ExecutorUnavailable(f"cannot connect to the Ray cluster at {where}: {detail}") from None
    _started_here["flag"] = True


@contextlib.contextmanager
def _loopback_kept(loopback: bool) -> Iterator[None]:
    """Ray turns a loopback cluster address into the machine's own address before connecting, where a
    cluster started with `--node-ip-address 127.0.0.1` does not listen. Ray keeps loopback addresses on
    platforms where it does not support clusters (its `ENABLE_RAY_CLUSTER` switch); for a loopback
    cluster the driver is on the same machine, so that behaviour is the right one here too."""
    if not loopback:
        yield
        return
    from ray._private import ray_constants

    before = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = before


def _probe(address: str, timeout_s: float) -> None:
    """Fail in seconds on a host:port nobody listens on (ray.init would retry for a minute)."""
    if address == "auto":
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise ExecutorUnavailable(
            f"--ray-address must be HOST:PORT, ray://HOST:PORT or auto (got {address!r})"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ExecutorUnavailable(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc} "
            "(start one with `ray start --head`, or check the address)"
        ) from None


def node_label() -> str:
    """`host/ip/node-id prefix` of the node this runs on (several nodes may share a host and an ip)."""
    import ray

    node_id = ray.get_runtime_context().get_node_id()
    ip = next((n["NodeManagerAddress"] for n in ray.nodes() if n["NodeID"] == node_id), "?")
    return f"{platform.node()}/{ip}/{node_id[:8]}"


CACHE_ENV = "REWARDLAB_RAY_JAX_CACHE"
"""A node's persistent JAX compilation cache (set in the environment `ray start` runs in); default: a
folder per Ray worker process under the node's temporary directory."""


def _cache_dir() -> Path:
    shared = os.environ.get(CACHE_ENV)
    if shared:
        return Path(shared)
    return Path(tempfile.gettempdir()) / f"rewardlab-ray-jax-{os.getuid()}" / str(os.getpid())


def train_batch(payload: dict[str, Any]) -> dict[str, Any]:
    """The Ray task: train a packed batch in a sandboxed child in a temporary folder of this node."""
    events: list[dict[str, Any]] = []

    def keep(ev: WorkerEvent) -> None:
        if ev.kind in ("retry", "failed"):
            events.append({"kind": ev.kind, "candidates": list(ev.candidates), "message": ev.message})

    cache = _cache_dir()
    with tempfile.TemporaryDirectory(prefix="rewardlab-ray-") as tmp:
        ref, programs, config = unpack(payload, Path(tmp))
        results = train_in_worker(
            ref,
            programs,
            config,
            payload["seeds"],
            run_dir=tmp,
            timeout_s=payload["timeout_s"],
            jax_cache_dir=cache,
            on_event=keep,
            warm_start=warm_start_file(payload, Path(tmp)),
            halving=Halving.from_dict(payload["halving"]) if payload.get("halving") else None,
        )
    return {"node": node_label(), "results": [r.to_dict() for r in results], "events": events}


def check_fits(req: Request) -> None:
    """Raise ExecutorUnavailable unless some live node has what one batch asks for: Ray would otherwise
    keep an infeasible task waiting forever (e.g. a GPU task on a CPU-only cluster)."""
    ray = _ray()
    want = {"CPU": req.num_cpus, "GPU": req.num_gpus, "memory": float(req.memory_bytes)}
    for node in ray.nodes():
        have = node.get("Resources", {}) if node.get("Alive") else {}
        if all(have.get(k, 0.0) >= v for k, v in want.items() if v > 0):
            return
    asked = f"{req.num_cpus:g} CPU, {req.num_gpus:g} GPU, {req.memory_bytes / 2**20:.0f} MB"
    raise ExecutorUnavailable(
        f"no node of the Ray cluster has what one training batch asks for ({asked}); "
        "lower ray_cpus / ray_gpus / ray_memory_mb, or add such a node"
    )


@dataclass
class RayEvaluator:
    """Runs batches as Ray tasks with `request`'s resources; independent batches run at the same time."""

    request: Request
    address: str | None = None
    retries: int = 3
    name: str = "ray"
    per_node: dict[str, int] = field(default_factory=dict)
    _remote: Any = None

    def __post_init__(self) -> None:
        connect(self.address)
        check_fits(self.request)
        ray = _ray()
        self._remote = ray.remote(train_batch).options(
            max_retries=self.retries, retry_exceptions=False, **self.request.options()
        )

    def run(
        self,
        batches: Sequence[Batch],
        on_event: Callable[[Any], None] | None = None,
        on_start: Callable[[int], None] | None = None,
    ) -> Iterator[tuple[int, BatchOutcome]]:
        ray = _ray()
        emit = on_event or (lambda _ev: None)
        where: dict[Any, int] = {}
        for i, batch in enumerate(batches):
            where[self._remote.remote(pack(batch))] = i
            if on_start is not None:
                on_start(i)
            emit(WorkerEvent("started", batch.names, info={"executor": "ray"}))
        pending = list(where)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                i = where[done[0]]
                batch = batches[i]
                try:
                    outcome = self._outcome(ray.get(done[0]), emit)
                except ray.exceptions.RayTaskError as exc:
                    raise _cause(exc) from None
                except ray.exceptions.RayError as exc:
                    outcome = self._solo(batch, exc, emit)
                self.per_node[outcome.node] = self.per_node.get(outcome.node, 0) + 1
                emit(WorkerEvent("finished", batch.names, info={"node": outcome.node}))
                yield i, outcome
        finally:
            for ref in pending:  # a driver that stops early (an error, Ctrl-C) leaves nothing running
                ray.cancel(ref, force=True)

    def _outcome(self, reply: dict[str, Any], emit: Callable[[Any], None]) -> BatchOutcome:
        node = str(reply["node"])
        for ev in reply.get("events", ()):
            emit(WorkerEvent(ev["kind"], tuple(ev["candidates"]), message=ev["message"], info={"node": node}))
        results = tuple(_with_node(TrainResult.from_dict(d), node) for d in reply["results"])
        return BatchOutcome(results, node)

    def _solo(self, batch: Batch, exc: Exception, emit: Callable[[Any], None]) -> BatchOutcome:
        """Ray's retries are spent: each program alone, as its own task; what still fails is an error."""
        ray = _ray()
        why = _one_line(exc)
        note = f"ray task failed ({why}); retrying each program alone"
        emit(WorkerEvent("retry", batch.names, message=note))
        solos = [Batch(batch.ref, (p,), batch.config, batch.seeds, batch.timeout_s) for p in batch.programs]
        refs = [self._remote.remote(pack(s)) for s in solos] if len(solos) > 1 else []
        results: list[TrainResult] = []
        nodes: list[str] = []
        for solo, ref in zip(solos, refs or [None] * len(solos), strict=True):
            try:
                if ref is None:
                    raise exc
                out = self._outcome(ray.get(ref), emit)
                results.extend(out.results)
                nodes.append(out.node)
            except ray.exceptions.RayTaskError as inner:
                raise _cause(inner) from None
            except ray.exceptions.RayError as inner:
                message = f"ray task failed after {self.retries} retries: {_one_line(inner)}"
                p = solo.programs[0]
                results.extend(
                    TrainResult(p.name, s, "error", (), 0, 0.0, 0.0, message=message) for s in solo.seeds
                )
        return BatchOutcome(tuple(results), nodes[0] if nodes else "lost")

    def close(self) -> None:
        """Disconnect when this process started or joined Ray itself (a caller's own session stays)."""
        if _started_here["flag"]:
            _ray().shutdown()
            _started_here["flag"] = False


def _with_node(result: TrainResult, node: str) -> TrainResult:
    return dataclasses.replace(result, extra={**result.extra, "node": node})


def _cause(exc: Any) -> BaseException:
    """The exception a Ray task raised, as its own type where Ray can rebuild it."""
    try:
        cause = exc.as_instanceof_cause()
    except Exception:
        return exc
    return cause if isinstance(cause, BaseException) else exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__
