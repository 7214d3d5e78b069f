"""The Job controller (kube-controller-manager's `job`)."""
