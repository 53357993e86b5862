"""Per-kind rules the API server applies on create and update (its "registry strategies").

Only what a client can observe and the project relies on: defaults (Namespace phase, Service
clusterIP, replicas), Secret ``stringData`` folded into ``data``, CRDs turned Established, and
immutability of ``immutable: true`` Secrets/ConfigMaps and of a Service's clusterIP.
"""

from __future__ import annotations

import base64
import ipaddress

from . import errors
from .resources import ResourceType, Subresource

_CLUSTER_IP_BASE = ipaddress.IPv4Address("10.96.0.10")


class Strategies:
    """Kind-specific create/update rules; holds the Service clusterIP allocator."""

    def __init__(self) -> None:
        self._next_ip = 0

    def prepare_create(self, rt: ResourceType, obj: dict, now: str) -> None:
        """Default a new object in place (status of status-subresource kinds is the server's)."""
        if rt.has_status:
            obj["status"] = {}
        hook = getattr(self, f"_create_{rt.group.replace('.', '_')}_{rt.kind}", None)
        if hook is not None:
            hook(obj, now)
        if rt.group == "" and rt.kind == "Secret":
            _fold_string_data(obj)

    def prepare_update(self, rt: ResourceType, old: dict, new: dict) -> None:
        """Carry over what a client cannot change, in place on ``new``."""
        if rt.group == "" and rt.kind == "Secret":
            _fold_string_data(new)
            new.setdefault("type", old.get("type", "Opaque"))
        if rt.group == "" and rt.kind in ("Secret", "ConfigMap") and old.get("immutable"):
            for field in ("data", "binaryData", "immutable"):
                if new.get(field) != old.get(field):
                    raise errors.invalid(rt.kind, _name(old), field, "field is immutable when `immutable` is set")
        if rt.group == "" and rt.kind == "Namespace":
            new.setdefault("spec", {}).setdefault("finalizers", old.get("spec", {}).get("finalizers", []))
            new["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = _name(old)
        if rt.group == "" and rt.kind == "Service":
            self._keep_cluster_ip(old, new)
        if rt.group == "apiextensions.k8s.io" and rt.kind == "CustomResourceDefinition":
            crd_resource_types(new)  # validates

    # --- per kind (method names: _create_<group with _>_<Kind>) -------------------------------------

    def _create__Namespace(self, obj: dict, now: str) -> None:
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = _name(obj)

    def _create__Secret(self, obj: dict, now: str) -> None:
        obj.setdefault("type", "Opaque")

    def _create__Pod(self, obj: dict, now: str) -> None:
        obj["status"] = {"phase": "Pending"}
        spec = obj.setdefault("spec", {})
        spec.setdefault("restartPolicy", "Always")

    def _create__PersistentVolumeClaim(self, obj: dict, now: str) -> None:
        obj["status"] = {"phase": "Pending"}

    def _create__PersistentVolume(self, obj: dict, now: str) -> None:
        obj["status"] = {"phase": "Pending"}

    def _create__Service(self, obj: dict, now: str) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
            ip = str(_CLUSTER_IP_BASE + self._next_ip)
            self._next_ip += 1
            spec["clusterIP"] = ip
            spec["clusterIPs"] = [ip]
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
        obj["status"] = {"loadBalancer": {}}

    def _create_apps_Deployment(self, obj: dict, now: str) -> None:
        obj.setdefault("spec", {}).setdefault("replicas", 1)

    def _create_apps_StatefulSet(self, obj: dict, now: str) -> None:
        obj.setdefault("spec", {}).setdefault("replicas", 1)

    def _create_apps_ReplicaSet(self, obj: dict, now: str) -> None:
        obj.setdefault("spec", {}).setdefault("replicas", 1)

    def _create_apiextensions_k8s_io_CustomResourceDefinition(self, obj: dict, now: str) -> None:
        crd_resource_types(obj)  # validates before anything is stored
        names = dict(obj["spec"]["names"])
        names.setdefault("singular", names["kind"].lower())
        names.setdefault("listKind", names["kind"] + "List")
        storage = next(
            (v["name"] for v in obj["spec"]["versions"] if v.get("storage")), obj["spec"]["versions"][0]["name"]
        )
        obj["status"] = {
            "acceptedNames": names,
            "conditions": [
                {
                    "type": "NamesAccepted",
                    "status": "True",
                    "reason": "NoConflicts",
                    "message": "no conflicts found",
                    "lastTransitionTime": now,
                },
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": now,
                },
            ],
            "storedVersions": [storage],
        }

    def _keep_cluster_ip(self, old: dict, new: dict) -> None:
        old_spec, new_spec = old.get("spec") or {}, new.setdefault("spec", {})
        if old_spec.get("clusterIP") and not new_spec.get("clusterIP"):
            new_spec["clusterIP"] = old_spec["clusterIP"]
            new_spec.setdefault("clusterIPs", old_spec.get("clusterIPs", [old_spec["clusterIP"]]))
        elif old_spec.get("clusterIP") and new_spec.get("clusterIP") != old_spec["clusterIP"]:
            raise errors.invalid("Service", _name(old), "spec.clusterIP", "field is immutable")


def _name(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("name", "")


def _fold_string_data(secret: dict) -> None:
    """``stringData`` is write-only: the API server merges it into base64 ``data``."""
    string_data = secret.pop("stringData", None)
    if not string_data:
        return
    if not isinstance(string_data, dict):
        raise errors.bad_request("Secret.stringData must be a map of strings")
    data = dict(secret.get("data") or {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    secret["data"] = data


def crd_resource_types(crd: dict) -> list[ResourceType]:
    """The resource types a CustomResourceDefinition serves; raises Invalid for a malformed one."""
    name = _name(crd)
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group, plural, kind = spec.get("group"), names.get("plural"), names.get("kind")
    kind_name = "CustomResourceDefinition"
    for field, value in (("spec.group", group), ("spec.names.plural", plural), ("spec.names.kind", kind)):
        if not value or not isinstance(value, str):
            raise errors.invalid(kind_name, name, field, "Required value", group="apiextensions.k8s.io")
    if name != f"{plural}.{group}":
        raise errors.invalid(
            kind_name,
            name,
            "metadata.name",
            f'must be spec.names.plural+"."+spec.group ({plural}.{group})',
            group="apiextensions.k8s.io",
        )
    scope = spec.get("scope", "Namespaced")
    if scope not in ("Namespaced", "Cluster"):
        raise errors.invalid(
            kind_name, name, "spec.scope", f"Unsupported value: {scope!r}", group="apiextensions.k8s.io"
        )
    versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("name")]
    if not versions:
        raise errors.invalid(
            kind_name,
            name,
            "spec.versions",
            "must have exactly one version marked as storage version",
            group="apiextensions.k8s.io",
        )
    versions.sort(key=lambda v: not v.get("storage"))  # the storage version is preferred in discovery
    types = []
    for version in versions:
        if not version.get("served", True):
            continue
        subresources = []
        if "status" in (version.get("subresources") or {}):
            subresources.append(Subresource("status", kind))
        types.append(
            ResourceType(
                group=group,
                version=version["name"],
                plural=plural,
                kind=kind,
                namespaced=scope == "Namespaced",
                singular=names.get("singular") or kind.lower(),
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                subresources=tuple(subresources),
                tracks_generation=True,
                custom=True,
                crd_name=name,
            )
        )
    return types
