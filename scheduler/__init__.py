"""The scheduler: places pods without `spec.nodeName` on nodes.

One sequential decision loop (queue → filter plugins → score plugins → assume in
the cache) feeds many concurrent binds, as Kubernetes' kube-scheduler does. Read
`scheduler.py` first; the placement rules are the plugins in `plugins/`.
"""
