"""The TTL-after-finished controller (kube-controller-manager's `ttl-after-finished`)."""
