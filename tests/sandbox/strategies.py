"""Per-kind rules the API server applies on create and update (its "registry strategies").

Only what a client can observe and the project relies on: defaults (Namespace phase, Service
clusterIP, replicas, the update strategies of workloads, a Job's selector), Secret ``stringData``
folded into ``data``, CRDs turned Established, immutability of ``immutable: true`` Secrets/ConfigMaps
and of a Service's clusterIP, and graceful deletion of pods that run on a node.
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
        _default_workload(rt, obj)

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
        if rt.group == "batch" and rt.kind == "Job":
            old_spec, new_spec = old.get("spec") or {}, new.setdefault("spec", {})
            if "selector" not in new_spec and "selector" in old_spec:
                new_spec["selector"] = old_spec["selector"]  # generated on create, immutable after
        _default_workload(rt, new)

    def deletion_grace(self, rt: ResourceType, obj: dict, requested: int | None) -> int:
        """Seconds a DELETE leaves the object Terminating before it goes; 0 removes it at once.

        Only pods are deleted gracefully, and only while a kubelet runs them (scheduled, not finished):
        the kubelet deletes them for good (grace 0) once their containers stopped.
        """
        if not (rt.group == "" and rt.kind == "Pod"):
            return 0
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        if requested is None or requested < 0:
            requested = spec.get("terminationGracePeriodSeconds")
        return 30 if requested is None else max(0, int(requested))

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
        spec.setdefault("terminationGracePeriodSeconds", 30)

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

    # Status fields without omitempty are always in the API's JSON (zero at first); typed clients require them.
    def _create_apps_StatefulSet(self, obj: dict, now: str) -> None:
        obj.setdefault("spec", {}).setdefault("replicas", 1)
        obj["status"] = {"replicas": 0, "availableReplicas": 0}

    def _create_apps_ReplicaSet(self, obj: dict, now: str) -> None:
        obj.setdefault("spec", {}).setdefault("replicas", 1)
        obj["status"] = {"replicas": 0}

    def _create_apps_DaemonSet(self, obj: dict, now: str) -> None:
        obj["status"] = {
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0,
        }

    def _create_batch_Job(self, obj: dict, now: str) -> None:
        """A Job without manualSelector gets a selector on its own uid, and the labels that go with it."""
        spec = obj.setdefault("spec", {})
        if spec.get("manualSelector"):
            return
        uid, name = obj["metadata"]["uid"], _name(obj)
        labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
        template_meta = spec.setdefault("template", {}).setdefault("metadata", {})
        template_meta["labels"] = {**(template_meta.get("labels") or {}), **labels}
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}

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


def _default_workload(rt: ResourceType, obj: dict) -> None:
    """The API server's defaults for workload specs that rollout logic (helm --wait, kubectl rollout) reads."""
    if rt.group not in ("apps", "batch"):
        return
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return
    if rt.kind == "Deployment":
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxSurge", "25%")
            rolling.setdefault("maxUnavailable", "25%")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
    elif rt.kind == "StatefulSet":
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
        retention.setdefault("whenDeleted", "Retain")
        retention.setdefault("whenScaled", "Retain")
    elif rt.kind == "DaemonSet":
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxUnavailable", 1)
            rolling.setdefault("maxSurge", 0)
        spec.setdefault("revisionHistoryLimit", 10)
    elif rt.kind == "Job":
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)


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
