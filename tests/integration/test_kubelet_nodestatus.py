"""The kubelet's node agent (kubelet/nodestatus.py) against the real apiserver, as
its node's own identity.

A node cut off from the apiserver past the grace period is marked Unknown by the node
lifecycle controller; when it comes back, its kubelet must put Ready back at its next
status check, as Kubernetes' kubelet does (it GETs its Node before each update and
patches when the API's copy differs from what it would write). Comparing with what
the kubelet itself last wrote is not enough: that has not changed, so the Node stayed
Unknown until the once-a-minute report (issue 16's link-cut chaos test found it)."""

from __future__ import annotations

import asyncio
import secrets

from api.resources import NODES
from client.kubeconfig import load
from client.rest import AsyncClient
from deploy.controlplane import ApiServer
from kubelet.node import NodeFacts
from kubelet.nodestatus import NodeAgent

CAPACITY = {"cpu": "2", "memory": "2048Mi", "pods": "110"}


def unknown(node: dict) -> dict:
    """The node lifecycle controller's patch for a silent node: every condition Unknown."""
    conditions = [
        {
            **c,
            "status": "Unknown",
            "reason": "NodeStatusUnknown",
            "message": "Kubelet stopped posting node status.",
        }
        for c in node["status"]["conditions"]
    ]
    return {**node, "status": {**node["status"], "conditions": conditions}}


def ready(node: dict) -> dict:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_a_node_marked_unknown_is_reported_ready_again_at_the_next_check(
    apiserver: ApiServer,
) -> None:
    name = f"nodestatus-{secrets.token_hex(3)}"
    facts = NodeFacts(name=name, internal_ip="127.0.0.1", kubelet_port=10250,
                      container_runtime_version="docker://0")  # fmt: skip

    async def scenario() -> None:
        async with (
            AsyncClient(load(str(apiserver.kubeconfig_as(f"kubelet-{name}")))) as kubelet,
            AsyncClient(load(str(apiserver.kubeconfig))) as admin,
        ):
            agent = NodeAgent(kubelet, facts, CAPACITY, CAPACITY, lambda: (True, ""))
            await agent.register()
            await agent.report()  # nothing changed: nothing written
            node = await admin.get(NODES, name)
            assert ready(node)["status"] == "True"
            await asyncio.sleep(1.1)  # timestamps have whole seconds
            marked = await admin.update_status(NODES, unknown(node))
            assert ready(marked)["status"] == "Unknown"

            await agent.report()  # the next check, well within the minute

            after = await admin.get(NODES, name)
            assert ready(after)["status"] == "True"
            assert ready(after)["reason"] == "KubeletReady"
            # a transition (Unknown -> True), not registration's carried over
            assert ready(after)["lastTransitionTime"] > ready(node)["lastTransitionTime"]
            # and when the API agrees, a check writes nothing
            await agent.report()
            again = await admin.get(NODES, name)
            assert again["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]
            await admin.delete(NODES, name)

    asyncio.run(scenario())
