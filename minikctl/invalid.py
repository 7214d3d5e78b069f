"""How kubectl words a 422 Invalid answer, for every command that can meet one."""

from __future__ import annotations

from api.errors import ApiError


def describe_invalid(err: ApiError) -> str:
    """kubectl's wording of a 422: `The Deployment "web" is invalid: <cause>`, from the
    Status details (the bare kind; the message names the group-qualified one), one
    `* cause` line each when there are several."""
    details = err.details or {}
    kind, name = details.get("kind") or "", details.get("name") or ""
    if not kind and not name:
        return f"error: {err.message}"
    head = f'The {kind} "{name}" is invalid'
    causes = [
        f"{c['field']}: {c['message']}" if c.get("field") else c.get("message", "")
        for c in err.causes
    ]
    if not causes:
        return head
    if len(causes) == 1:
        return f"{head}: {causes[0]}"
    return f"{head}: \n" + "\n".join(f"* {c}" for c in causes)
