"""The metrics server: scrapes every kubelet's `/metrics/resource` and serves
`metrics.k8s.io/v1beta1` (NodeMetrics, PodMetrics) behind the apiserver's
aggregation layer, as Kubernetes' metrics-server does (`kubectl top`, the HPA)."""
