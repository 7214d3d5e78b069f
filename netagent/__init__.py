"""The per-host network agent (`python -m netagent`): makes pods on other hosts
reachable by programming this host's kernel from the Node objects, as flannel does.

- `host-gw`: a route `<peer podCIDR> via <peer InternalIP>` per peer (hosts on one L2
  segment).
- `vxlan`: one VXLAN device (`minik.1`, VNI 1, UDP 8472, no learning) whose MAC and
  public IP each agent publishes on its own Node; per peer a route through the device,
  a permanent neighbour entry and an FDB entry (hosts on any routed network).

`nodeinfo` reads Nodes, `reconcile` turns them into the wanted kernel state and the
changes to get there (pure), `kernel` is the one place that talks to iproute2, and
`agent` ties them to an informer."""
