"""The PodSecurity admission plugin (`plugin`), its configuration file (`config`) and
metrics (`metrics`); the Pod Security Standards themselves are pure logic in
api/podsecurity/."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.podsecurity.configuration import PodSecurityConfiguration
from api.podsecurity.evaluator import Evaluator
from api.podsecurity.levels import Version
from apiserver.admission.podsecurity.plugin import PodSecurity

if TYPE_CHECKING:
    from apiserver.storage import Storage

__all__ = ["PodSecurity", "pod_security"]


def pod_security(
    storage: Storage, config: PodSecurityConfiguration | None, server_version: Version
) -> PodSecurity:
    """The plugin for this configuration (None: Kubernetes' default, all privileged),
    evaluating `latest` as the server's own version."""
    return PodSecurity(storage, config or PodSecurityConfiguration(), Evaluator(server_version))
