"""A client-side load balancer for the apiservers, as k3s' agent load balancer: a local
TCP listener that joins each new connection to a healthy apiserver (no TLS
termination: clients verify the apiserver's certificate and present their own as if
they dialled it directly). `backends.py` keeps which apiservers are healthy and which
one is next, `health.py` checks them, `forward.py` moves the bytes."""
