"""Node IPAM (`--allocate-node-cidrs`): each Node's spec.podCIDR(s) from
`--cluster-cidr`. `cidrset.py` and `allocator.py` are the pure range allocator,
`config.py` the flags' checks, `controller.py` the informer and the writes."""
