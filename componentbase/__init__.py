"""Shared scaffolding for minik's components (Kubernetes' component-base)."""
