"""The ReplicaSet controller (controller.py) and its pure decisions: which pods to
delete first, creation batches, status (util.py)."""
