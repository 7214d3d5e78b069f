"""minik's controller manager (`python -m controller`): the controllers that turn
what users ask for into what runs, one folder per controller (as Kubernetes'
pkg/controller), each on the same skeleton (util/base.py: shared informers → work
queue → workers → `reconcile(key)`). In each folder `controller.py` does the I/O; the
other modules are pure logic, unit-tested alone.

- replicaset/        keeps `spec.replicas` pods of a ReplicaSet (util.py: which pods
                     to delete, creation batches, status)
- deployment/        rolls Deployments between ReplicaSets (rollout.py: the rolling
                     update and recreate plans; util.py: hashes, revisions, status)
- garbagecollector/  cascades deletion along ownerReferences (graph.py)
- endpoints/         lists a Service's pod addresses in its Endpoints (subsets.py)
- endpointslice/     lists them in EndpointSlices of up to 100 (reconciler.py,
                     tracker.py)
- nodelifecycle/     marks silent nodes Unknown and taints them (api/taints.py)
- tainteviction/     evicts pods from NoExecute-tainted nodes
- podgc/             force-deletes pods no kubelet will ever finish
- util/              what every controller builds on: the base Controller, shared
                     informers, controller references, expectations, pod helpers,
                     and the Service→pods base of the two endpoints controllers

manager.py builds the selected controllers; __main__.py parses kube-controller-manager's
flags and, with --leader-elect, runs them only while holding the Lease
(client/leaderelection.py)."""
