"""HTTP serving settings every minik server shares, as Kubernetes' secure serving
(k8s.io/apiserver's SecureServingInfo) sets them.

The idle timeout matters more than it looks: Go's HTTP client keeps idle connections
for 90 s and does not retry a non-idempotent request (a POST) that meets a connection
the server has just closed. uvicorn's default of 5 s made `kubectl drain`, which POSTs
an eviction every 5 s while a budget refuses it, now and then race the server's close
and fail with an EOF. Kubernetes' servers keep idle connections for 90 s, so do we."""

from __future__ import annotations

IDLE_TIMEOUT_SECONDS = 90  # http.Server.IdleTimeout in Kubernetes' secure serving

# http.Server.ReadHeaderTimeout in Kubernetes' secure serving ("just shy of
# requestTimeoutUpperBound"): how long a connection may take to send a request's
# headers (componentbase.rawupgrade enforces it; uvicorn has no such setting). The
# idle timeout above still governs the wait between requests.
READ_HEADER_TIMEOUT_SECONDS = 32
