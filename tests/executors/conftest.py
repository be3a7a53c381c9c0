"""One Ray cluster for the Ray tests: a head and a worker node, each with one CPU, all on 127.0.0.1.

Starting a cluster costs ~10 s and ~1 GB, so the modules that need one share this module-scoped
fixture through `ray_cluster` (each module gets its own; there is one module). The nodes inherit this
process's environment: usage statistics off, the test session's JAX compilation cache as the nodes'
cache (`REWARDLAB_RAY_JAX_CACHE`), and `PYTHONPATH`, so workers import the same rewardlab.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

NODE = {"num_cpus": 1, "node_ip_address": "127.0.0.1"}


@dataclass
class TwoNodes:
    cluster: Any
    worker: Any  # the non-head node (the one a test may kill)

    @property
    def address(self) -> str:
        return str(self.cluster.address)


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[TwoNodes]:
    pytest.importorskip("ray")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    os.environ.setdefault("REWARDLAB_RAY_JAX_CACHE", os.environ["REWARDLAB_JAX_CACHE"])
    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    worker = cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    try:
        yield TwoNodes(cluster, worker)
    finally:
        ray.shutdown()
        cluster.shutdown()
