"""The per-host service proxy and cluster DNS (`python -m proxy`).

No iptables: every Service port is a userspace listener.

- `servicemap`  Services + Endpoints → listeners, ClusterIPs, backends (pure logic)
- `balancer`    round robin and ClientIP session affinity (pure logic)
- `addresses`   the ClusterIPs held as /32 addresses on `lo`, labelled `lo:minik`
- `tcp`, `udp`  the data path: listeners that forward to a balancer's backends
- `dnsrecords`  the cluster's DNS records (pure logic); `dns` serves them
- `loadbalancer`  `type: LoadBalancer` the k3s ServiceLB way: status and Events
- `clusterdns`  the `kube-system/kube-dns` Service
- `proxier`     informers → one level-triggered sync that applies all of the above
- `hostinfo`    host defaults (primary address, resolver) and the one-per-host lock
"""
