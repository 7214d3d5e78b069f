"""minik's ingress controller: a userspace HTTP/1.1 reverse proxy that serves the
Ingresses of its IngressClass (`python -m ingress`). Pure routing decisions live in
`routing`, HTTP framing in `http1`, backend connections in `upstream`, TLS in
`tlsstore`; `server` moves bytes and `controller` watches the API."""
