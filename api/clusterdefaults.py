"""Defaults that more than one of minik's processes must agree on, in one place.

A component's own flag defaults live with the component; these are the ones `minik
up` (deploy/) passes to, or checks against, several components, so neither side
imports the other:

- the cluster DNS Service address, which the kubelet writes into pods' resolv.conf
  and the proxy answers on;
- the Service address range, whose first address is the `kubernetes` Service's (the
  apiserver makes that Service; its serving certificate must name the address, as
  kubeadm's does, for in-cluster clients to verify it);
- the Docker network the kubelets' pods join;
- the Docker label keys the kubelet sets on what it creates and other processes find
  it by: the node a container belongs to (`minik down` removes containers by it),
  the pod's name and namespace, the container's kind (init or app), and the pod
  network's label (the benches find and clean the kubelet's containers with them);
- the sandbox (pause) image the kubelet starts each pod's network namespace in,
  which the workloads bench also starts to measure Docker's own floor;
- the host lock file that lets only one proxy serve a host's Services.
"""

from __future__ import annotations

import ipaddress

DEFAULT_CLUSTER_DNS = "10.96.0.10"
DEFAULT_SERVICE_CIDR = "10.96.0.0/16"
DEFAULT_POD_NETWORK = "minik"
NODE_CONTAINER_LABEL = "io.minik.node"
POD_NAME_CONTAINER_LABEL = "io.minik.pod.name"
POD_NAMESPACE_CONTAINER_LABEL = "io.minik.pod.namespace"
CONTAINER_KIND_LABEL = "io.minik.container.kind"  # "init" or "app"
POD_NETWORK_LABEL = "io.minik.network"  # on the pod network the kubelet created
DEFAULT_SANDBOX_IMAGE = "minik/pause:1"
PROXY_LOCK_FILE = "/run/minik-proxy.lock"


def kubernetes_service_ip(service_cidr: str = DEFAULT_SERVICE_CIDR) -> str:
    """The `kubernetes` Service's ClusterIP: the first address of the Service range."""
    return str(ipaddress.ip_network(service_cidr, strict=False).network_address + 1)
