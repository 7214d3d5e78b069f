"""The certificate controllers: csrapproving (approver.py) and csrsigning
(signer.py, with authority.py the CA's signing), as kube-controller-manager's
pkg/controller/certificates."""
