"""Container probes (Kubernetes' pkg/kubelet/prober).

- `manager`  one worker per (running container, probe kind): timing, thresholds, and
             the results pod sync reads (ready, started, containers to kill)
- `runner`   runs one probe (`httpGet`, `tcpSocket` or `exec`) and words its outcome
"""
