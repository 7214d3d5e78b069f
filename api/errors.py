"""Kubernetes `Status` errors, shared by the apiserver (which raises them) and the
client (which rebuilds them from a response body), so both speak the same shapes."""

from __future__ import annotations

from typing import Any

REASON_BY_CODE = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


# Kubernetes' constructors for these codes (NewNotFound, NewConflict, NewInvalid,
# NewForbidden, NewMethodNotSupported, NewTooManyRequests, NewInternalError,
# NewGenericServerResponse...) always fill StatusDetails, which encodes as `{}` when
# empty; clients read it unguarded (`kubectl debug` dereferences details.name).
_CODES_WITH_DETAILS = frozenset({403, 404, 405, 409, 422, 429, 500, 504})


class ApiError(Exception):
    """An API failure carrying the Kubernetes Status it maps to."""

    def __init__(
        self,
        code: int,
        message: str,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASON_BY_CODE.get(code, "Unknown")
        self.details = details
        # the Status's ListMeta: a 410 for an expired LIST page's token to go on with
        self.list_meta: dict[str, Any] = {}

    @property
    def causes(self) -> list[dict[str, Any]]:
        return list((self.details or {}).get("causes") or [])

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.list_meta),
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        elif self.code in _CODES_WITH_DETAILS:
            body["details"] = {}
        return body

    @classmethod
    def from_status(cls, code: int, body: Any) -> ApiError:
        """Rebuild the most specific error class from a Status body (or any body)."""
        if isinstance(body, dict) and body.get("kind") == "Status":
            code = int(body.get("code") or code)
            reason = body.get("reason") or REASON_BY_CODE.get(code, "Unknown")
            message = body.get("message") or reason
            details = body.get("details")
        else:
            reason = REASON_BY_CODE.get(code, "Unknown")
            message = body if isinstance(body, str) and body else f"HTTP {code}"
            details = None
        found = next((sub for sub in _SUBCLASSES if sub.matches(code, reason)), cls)
        err = found(code, message, reason, details)
        if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
            err.list_meta = dict(body["metadata"])
        return err

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.message!r})"


class NotFound(ApiError):
    @staticmethod
    def matches(code: int, reason: str) -> bool:
        return code == 404


class AlreadyExists(ApiError):
    @staticmethod
    def matches(code: int, reason: str) -> bool:
        return code == 409 and reason == "AlreadyExists"


class Conflict(ApiError):
    @staticmethod
    def matches(code: int, reason: str) -> bool:
        return code == 409 and reason != "AlreadyExists"


class Gone(ApiError):
    """410: the resourceVersion asked for has been compacted away; relist."""

    @staticmethod
    def matches(code: int, reason: str) -> bool:
        return code == 410


class Invalid(ApiError):
    @staticmethod
    def matches(code: int, reason: str) -> bool:
        return code == 422


class Unauthorized(ApiError):
    @staticmethod
    def matches(code: int, reason: str) -> bool:
        return code == 401


_SUBCLASSES: tuple[Any, ...] = (NotFound, AlreadyExists, Conflict, Gone, Invalid, Unauthorized)


def _details(name: str | None, group: str, kind: str) -> dict[str, Any]:
    details: dict[str, Any] = {"group": group, "kind": kind} if group else {"kind": kind}
    if name:
        details = {"name": name, **details}
    return details


def not_found(group_resource: str, name: str, group: str = "", plural: str = "") -> NotFound:
    return NotFound(
        404,
        f'{group_resource} "{name}" not found',
        "NotFound",
        _details(name, group, plural or group_resource.split(".")[0]),
    )


def already_exists(
    group_resource: str, name: str, group: str = "", plural: str = ""
) -> AlreadyExists:
    return AlreadyExists(
        409,
        f'{group_resource} "{name}" already exists',
        "AlreadyExists",
        _details(name, group, plural or group_resource.split(".")[0]),
    )


def conflict(
    group_resource: str, name: str, why: str, group: str = "", plural: str = ""
) -> Conflict:
    return Conflict(
        409,
        f'Operation cannot be fulfilled on {group_resource} "{name}": {why}',
        "Conflict",
        _details(name, group, plural or group_resource.split(".")[0]),
    )


def invalid(kind: str, name: str, causes: list[dict[str, Any]], group: str = "") -> Invalid:
    """422 with one cause per bad field, worded as Kubernetes does: the message names
    the group-qualified kind (`Deployment.apps "web" is invalid: ...`), the details
    the group and the bare kind (which kubectl prints as `The Deployment "web" ...`)."""
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    details = _details(name, group, kind)
    details["causes"] = [
        {
            "reason": c.get("reason", "FieldValueInvalid"),
            "message": c["message"],
            "field": c.get("field", ""),
        }
        for c in causes
    ]
    qualified = f"{kind}.{group}" if group else kind
    return Invalid(422, f'{qualified} "{name}" is invalid: {text}', "Invalid", details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message, "BadRequest")


def gone(message: str) -> Gone:
    return Gone(410, message, "Expired")


def method_not_allowed(message: str) -> ApiError:
    return ApiError(405, message, "MethodNotAllowed")


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        f"the body of the request was in an unknown format - accepted media "
        f"types include: application/json, application/yaml, "
        f'application/vnd.kubernetes.protobuf (got "{content_type}")',
        "UnsupportedMediaType",
    )


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, f"the request body is larger than the limit of {limit} bytes", "RequestEntityTooLarge"
    )


def unauthorized() -> Unauthorized:
    return Unauthorized(401, "Unauthorized", "Unauthorized")


def forbidden(message: str) -> ApiError:
    return ApiError(403, message, "Forbidden")


NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


def namespace_terminating(namespace: str) -> ApiError:
    """NamespaceLifecycle's refusal to create in a namespace being deleted; the cause
    tells clients (controllers) this 403 apart from others, as Kubernetes' does."""
    message = (
        f"unable to create new content in namespace {namespace} because it is being terminated"
    )
    cause = {
        "reason": NAMESPACE_TERMINATING_CAUSE,
        "message": message,
        "field": "metadata.namespace",
    }
    return ApiError(403, message, "Forbidden", {"causes": [cause]})


def is_namespace_terminating(err: ApiError) -> bool:
    """Whether a create failed only because its namespace is being deleted."""
    return err.code == 403 and any(
        cause.get("reason") == NAMESPACE_TERMINATING_CAUSE for cause in err.causes
    )


def internal(message: str) -> ApiError:
    return ApiError(500, message, "InternalError")
