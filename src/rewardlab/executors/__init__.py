"""Where training batches run: `LocalEvaluator` (a sandboxed child on this machine) or `RayEvaluator`
(the same sandboxed child inside a Ray task on a cluster node). The search only sees `Evaluator`.

`rewardlab.executors.ray_cluster` imports Ray when used; nothing here needs it.
"""

from rewardlab.executors.base import Batch, BatchOutcome, Evaluator, ExecutorUnavailable
from rewardlab.executors.local import LocalEvaluator
from rewardlab.executors.resources import Request, request

__all__ = [
    "Batch",
    "BatchOutcome",
    "Evaluator",
    "ExecutorUnavailable",
    "LocalEvaluator",
    "Request",
    "request",
]
