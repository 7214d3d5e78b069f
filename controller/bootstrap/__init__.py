"""Bootstrap token controllers: the tokencleaner (kube-controller-manager's
pkg/controller/bootstrap)."""
