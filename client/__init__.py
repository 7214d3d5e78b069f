"""minik's client library: the one HTTP layer every component and minikctl use.

- `client.kubeconfig`: find the server, credentials and namespace (`load`).
- `client.rest`: `Client` (blocking) and `AsyncClient` (asyncio) by `api.resources.Resource`.
- `client.watch`: `ResumableWatch`, a watch that resumes and relists on its own.
- `client.informer`: `Informer`, a watch-fed local cache with event handlers.
- `client.workqueue`: `WorkQueue`, client-go's rate-limited queue of keys.
- `client.threeway`: the three-way strategic merge patch of `kubectl apply`.
"""

from client.informer import Informer, key_of
from client.kubeconfig import KubeConfig, KubeconfigError, load, write_kubeconfig
from client.rest import ALL_NAMESPACES, AsyncClient, Client
from client.watch import RELIST, ResumableWatch
from client.workqueue import WorkQueue

__all__ = [
    "ALL_NAMESPACES",
    "RELIST",
    "AsyncClient",
    "Client",
    "Informer",
    "KubeConfig",
    "KubeconfigError",
    "ResumableWatch",
    "WorkQueue",
    "key_of",
    "load",
    "write_kubeconfig",
]
