"""minik's controller manager (`python -m controller`): the controllers that turn
what users ask for into what runs, each one module on the same skeleton (base.py:
shared informers → work queue → workers → `reconcile(key)`).

- replicaset.py      keeps `spec.replicas` pods of a ReplicaSet (replicaset_util.py)
- deployment.py      rolls Deployments between ReplicaSets (deployment_util.py, rollout.py)
- garbagecollector.py  cascades deletion along ownerReferences (gcgraph.py)
- endpoints.py       lists a Service's pod addresses in its Endpoints (endpoints_util.py)
- endpointslice.py   lists them in EndpointSlices of up to 100 (endpointslice_util.py,
                     endpointslice_tracker.py)
- nodelifecycle.py   marks silent nodes Unknown and taints them (taints.py)
- tainteviction.py   evicts pods from NoExecute-tainted nodes
- podgc.py           force-deletes pods no kubelet will ever finish

manager.py builds the selected controllers; __main__.py parses kube-controller-manager's
flags and, with --leader-elect, runs them only while holding the Lease
(client/leaderelection.py)."""
