"""Kubernetes API errors as the sandbox raises them, and the ``Status`` bodies that carry them.

Clients branch on ``reason`` and ``code`` (the Python client's ApiException.status, client-go's
``errors.IsNotFound`` ...), so each error keeps the reason, message and ``details`` a real API
server sends: ``details.kind`` is the resource plural for NotFound/AlreadyExists/Conflict and the
Kind for Invalid, as in k8s.io/apimachinery/pkg/api/errors.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error answer of the API: HTTP ``code`` with a canonical ``reason``."""

    def __init__(
        self, code: int, reason: str, message: str, *, name: str = "", group: str = "", kind: str = "", causes=None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details: dict = {}
        if name:
            self.details["name"] = name
        if name or kind:
            self.details["group"] = group
        if kind:
            self.details["kind"] = kind
        if causes:
            self.details["causes"] = causes

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def not_found(resource: str, name: str, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', name=name, group=group, kind=resource)


def already_exists(resource: str, name: str, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists', name=name, group=group, kind=resource)


def conflict(resource: str, name: str, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    message = (
        f'Operation cannot be fulfilled on {qualified} "{name}": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    return ApiError(409, "Conflict", message, name=name, group=group, kind=resource)


def invalid(kind: str, name: str, field: str, why: str, group: str = "") -> ApiError:
    qualified = f"{kind}.{group}" if group else kind
    cause = {"reason": "FieldValueInvalid", "message": why, "field": field}
    return ApiError(
        422,
        "Invalid",
        f'{qualified} "{name}" is invalid: {field}: {why}',
        name=name,
        group=group,
        kind=kind,
        causes=[cause],
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def forbidden(resource: str, name: str, why: str, group: str = "") -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    return ApiError(
        403, "Forbidden", f'{qualified} "{name}" is forbidden: {why}', name=name, group=group, kind=resource
    )


def unsupported_media_type(message: str) -> ApiError:
    return ApiError(415, "UnsupportedMediaType", message)


def method_not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def expired(requested: int, oldest: int) -> ApiError:
    return ApiError(410, "Expired", f"too old resource version: {requested} ({oldest})")


def no_such_resource() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource")
