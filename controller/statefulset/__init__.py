"""The StatefulSet controller: pods with stable ordinal names, per-ordinal claims and
ordered rollout (identity.py: pods and claims of an ordinal; plan.py: what one sync
does; controller.py: the I/O)."""
