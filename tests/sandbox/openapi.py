"""OpenAPI v3 stub: just enough for kubectl and helm to trust server-side field validation.

kubectl (>= 1.27) and helm (>= 3.17) validate manifests against the OpenAPI schema unless the
server supports the ``fieldValidation`` query parameter, which they find in ``/openapi/v3``: the
PATCH operation of the kind's path (tagged with ``x-kubernetes-group-version-kind``) must list it.
So each group-version document carries, per resource, only that PATCH operation. No schemas: the
clients then fall back to their compiled-in types for strategic merge, as with any server.
"""

from __future__ import annotations

import hashlib
import json

from .resources import Registry, ResourceType

_FIELD_VALIDATION = {
    "name": "fieldValidation",
    "in": "query",
    "description": "Ignore, Warn or Strict: how the server treats unknown or duplicate fields.",
    "schema": {"type": "string", "uniqueItems": True},
}


def gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _named_path(rt: ResourceType) -> str:
    prefix = "/" + gv_path(rt.group, rt.version)
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    return f"{prefix}{scope}/{rt.plural}/{{name}}"


def document(registry: Registry, group: str, version: str) -> dict | None:
    """The OpenAPI v3 document of one group-version, or None if it is not served."""
    types = registry.in_group_version(group, version)
    if not types:
        return None
    paths = {}
    for rt in types:
        path_params = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
        if rt.namespaced:
            path_params.append({"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}})
        paths[_named_path(rt)] = {
            "parameters": path_params,
            "patch": {
                "operationId": f"patch{rt.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
                "parameters": [_FIELD_VALIDATION],
                "responses": {"200": {"description": "OK"}},
            },
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.33.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def index(registry: Registry) -> dict:
    """``/openapi/v3``: where each group-version's document lives; the hash changes when its types do."""
    paths = {}
    for group, version in registry.group_versions():
        doc = document(registry, group, version)
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest().upper()
        path = gv_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}
