"""What every minik component shares when it starts, in the spirit of Kubernetes'
k8s.io/component-base: one scaffold instead of five copies.

- `flags`: the shared flags (`--kubeconfig`, leader election) and Go-style flag
  types (durations, booleans), so `--leader-elect-retry-period=500ms` and
  `--leader-elect=false` mean the same to every component.
- `logs`: `-v N` / `--v N`, an integer verbosity as klog's, mapped to Python's
  logging levels, and the one log line format.
- `run`: the component's event loop, and "run until SIGTERM/SIGINT, then stop
  gracefully".
- `pki`: the cluster CA and serving certificates (the apiserver's, and `minik up`'s
  and the compose lab's, which make them before the apiserver starts).
- `httpserve`: a small ASGI app served from the component's own loop (`bind`,
  `EmbeddedServer`): the metrics server and the dashboard.

- `metrics`: Prometheus' text from the process's registry (`exposition()`), and the
  small plain-HTTP `/metrics` + `/healthz` listener of the components that have no
  HTTP server of their own (scheduler, controller manager, proxy); `loopmetrics`:
  lock-free metric families for event-loop-only hot paths (the apiserver's);
  `workqueuemetrics`: client-go's work queue metrics for every `client.workqueue`
  queue.

A `componentbase/healthz.py` with each component registering its checks belongs
here too (a next issue); each component only registers what it measures.
"""
