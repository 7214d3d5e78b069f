"""Defaults that more than one of minik's processes must agree on, in one place.

A component's own flag defaults live with the component; these are the ones `minik
up` (deploy/) passes to, or checks against, several components, so neither side
imports the other:

- the cluster DNS Service address, which the kubelet writes into pods' resolv.conf
  and the proxy answers on;
- the Docker network the kubelets' pods join;
- the Docker label naming the node a container belongs to, which the kubelet sets
  and `minik down` removes containers by;
- the host lock file that lets only one proxy serve a host's Services.
"""

from __future__ import annotations

DEFAULT_CLUSTER_DNS = "10.96.0.10"
DEFAULT_POD_NETWORK = "minik"
NODE_CONTAINER_LABEL = "io.minik.node"
PROXY_LOCK_FILE = "/run/minik-proxy.lock"
