"""The sandbox's resource types: what discovery advertises and what the store keeps.

A :class:`ResourceType` is one (group, version, plural) the API serves. The built-in table below
covers what the project's clients (the Python client, kubectl, helm) touch; a
``CustomResourceDefinition`` adds more at run time through :meth:`Registry.register`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NAMESPACE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = ("get", "patch", "update")


@dataclass(frozen=True)
class Subresource:
    name: str
    kind: str
    verbs: tuple[str, ...] = SUBRESOURCE_VERBS
    group: str = ""  # only when the subresource's kind lives in another group (Scale)
    version: str = ""


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[Subresource, ...] = ()
    categories: tuple[str, ...] = ()
    # metadata.generation is kept (and bumped when anything but metadata/status changes)
    tracks_generation: bool = False
    # how metadata.name is validated: "subdomain" (DNS-1123), "label" (DNS-1123 label) or "path"
    name_rule: str = "subdomain"
    custom: bool = False  # served for a CustomResourceDefinition
    crd_name: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_version(self) -> str:
        return self.api_version

    @property
    def key(self) -> tuple[str, str]:
        """Storage key: all versions of one group/plural share their objects."""
        return (self.group, self.plural)

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def label(self) -> str:
        """kubectl's spelling of the resource (``leases.coordination.k8s.io``), used in stats."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def subresource(self, name: str) -> Subresource | None:
        return next((sub for sub in self.subresources if sub.name == name), None)

    @property
    def has_status(self) -> bool:
        return self.subresource("status") is not None

    def discovery_entries(self) -> list[dict]:
        entry: dict = {
            "name": self.plural,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        entries = [entry]
        for sub in self.subresources:
            sub_entry: dict = {
                "name": f"{self.plural}/{sub.name}",
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": sub.kind,
                "verbs": list(sub.verbs),
            }
            if sub.group:
                sub_entry.update(group=sub.group, version=sub.version)
            entries.append(sub_entry)
        return entries


def _status(kind: str) -> Subresource:
    return Subresource("status", kind)


_SCALE = Subresource("scale", "Scale", group="autoscaling", version="v1")
_PATH = "path"  # RBAC names may hold ':' ("system:controller:...")


def _builtin() -> list[ResourceType]:
    rt = ResourceType
    workload = ("all",)
    return [
        # core/v1
        rt(
            "",
            "v1",
            "namespaces",
            "Namespace",
            namespaced=False,
            short_names=("ns",),
            verbs=NAMESPACE_VERBS,
            subresources=(_status("Namespace"),),
            name_rule="label",
        ),
        rt(
            "",
            "v1",
            "pods",
            "Pod",
            short_names=("po",),
            categories=workload,
            subresources=(
                _status("Pod"),
                Subresource("exec", "PodExecOptions", ("create", "get")),
                Subresource("portforward", "PodPortForwardOptions", ("create", "get")),
                Subresource("log", "Pod", ("get",)),
            ),
        ),
        rt(
            "",
            "v1",
            "services",
            "Service",
            short_names=("svc",),
            categories=workload,
            subresources=(_status("Service"),),
            name_rule="label",
        ),
        rt("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
        rt("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
        rt("", "v1", "secrets", "Secret"),
        rt("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
        rt(
            "",
            "v1",
            "persistentvolumeclaims",
            "PersistentVolumeClaim",
            short_names=("pvc",),
            subresources=(_status("PersistentVolumeClaim"),),
        ),
        rt(
            "",
            "v1",
            "persistentvolumes",
            "PersistentVolume",
            namespaced=False,
            short_names=("pv",),
            subresources=(_status("PersistentVolume"),),
        ),
        rt("", "v1", "events", "Event", short_names=("ev",)),
        rt("", "v1", "nodes", "Node", namespaced=False, short_names=("no",), subresources=(_status("Node"),)),
        # apps/v1
        rt(
            "apps",
            "v1",
            "deployments",
            "Deployment",
            short_names=("deploy",),
            categories=workload,
            subresources=(_status("Deployment"), _SCALE),
            tracks_generation=True,
        ),
        rt(
            "apps",
            "v1",
            "statefulsets",
            "StatefulSet",
            short_names=("sts",),
            categories=workload,
            subresources=(_status("StatefulSet"), _SCALE),
            tracks_generation=True,
        ),
        rt(
            "apps",
            "v1",
            "replicasets",
            "ReplicaSet",
            short_names=("rs",),
            categories=workload,
            subresources=(_status("ReplicaSet"), _SCALE),
            tracks_generation=True,
        ),
        rt(
            "apps",
            "v1",
            "daemonsets",
            "DaemonSet",
            short_names=("ds",),
            categories=workload,
            subresources=(_status("DaemonSet"),),
            tracks_generation=True,
        ),
        rt("apps", "v1", "controllerrevisions", "ControllerRevision"),
        # batch/v1
        rt("batch", "v1", "jobs", "Job", categories=workload, subresources=(_status("Job"),), tracks_generation=True),
        rt(
            "batch",
            "v1",
            "cronjobs",
            "CronJob",
            short_names=("cj",),
            categories=workload,
            subresources=(_status("CronJob"),),
            tracks_generation=True,
        ),
        # coordination.k8s.io/v1
        rt("coordination.k8s.io", "v1", "leases", "Lease"),
        # networking.k8s.io/v1
        rt(
            "networking.k8s.io",
            "v1",
            "ingresses",
            "Ingress",
            short_names=("ing",),
            subresources=(_status("Ingress"),),
            tracks_generation=True,
        ),
        rt("networking.k8s.io", "v1", "ingressclasses", "IngressClass", namespaced=False),
        rt(
            "networking.k8s.io",
            "v1",
            "networkpolicies",
            "NetworkPolicy",
            short_names=("netpol",),
            tracks_generation=True,
        ),
        # rbac.authorization.k8s.io/v1
        rt("rbac.authorization.k8s.io", "v1", "roles", "Role", name_rule=_PATH),
        rt("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", name_rule=_PATH),
        rt("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", namespaced=False, name_rule=_PATH),
        rt(
            "rbac.authorization.k8s.io",
            "v1",
            "clusterrolebindings",
            "ClusterRoleBinding",
            namespaced=False,
            name_rule=_PATH,
        ),
        # policy/v1
        rt(
            "policy",
            "v1",
            "poddisruptionbudgets",
            "PodDisruptionBudget",
            short_names=("pdb",),
            subresources=(_status("PodDisruptionBudget"),),
            tracks_generation=True,
        ),
        # storage.k8s.io/v1
        rt("storage.k8s.io", "v1", "storageclasses", "StorageClass", namespaced=False, short_names=("sc",)),
        # apiextensions.k8s.io/v1
        rt(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            namespaced=False,
            short_names=("crd", "crds"),
            subresources=(_status("CustomResourceDefinition"),),
            tracks_generation=True,
        ),
    ]


@dataclass
class Registry:
    """All served resource types, indexed for URL routing and for kind lookups."""

    _types: dict[tuple[str, str, str], ResourceType] = field(default_factory=dict)
    _group_order: list[str] = field(default_factory=list)

    @classmethod
    def builtin(cls) -> Registry:
        registry = cls()
        registry.register(_builtin())
        return registry

    def register(self, types: Iterable[ResourceType]) -> None:
        for rt in types:
            self._types[(rt.group, rt.version, rt.plural)] = rt
            if rt.group not in self._group_order:
                self._group_order.append(rt.group)

    def unregister_crd(self, crd_name: str) -> list[ResourceType]:
        gone = [rt for rt in self._types.values() if rt.custom and rt.crd_name == crd_name]
        for rt in gone:
            del self._types[(rt.group, rt.version, rt.plural)]
        served = {rt.group for rt in self._types.values()}
        self._group_order = [group for group in self._group_order if group in served]
        return gone

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return next(
            (rt for rt in self._types.values() if rt.group == group and rt.version == version and rt.kind == kind),
            None,
        )

    def storage_types(self) -> list[ResourceType]:
        """One served type per storage key (the first registered version)."""
        seen: dict[tuple[str, str], ResourceType] = {}
        for rt in self._types.values():
            seen.setdefault(rt.key, rt)
        return list(seen.values())

    def groups(self) -> list[str]:
        """Named groups (not core) in registration order."""
        return [group for group in self._group_order if group]

    def versions(self, group: str) -> list[str]:
        versions: list[str] = []
        for rt in self._types.values():
            if rt.group == group and rt.version not in versions:
                versions.append(rt.version)
        return versions

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._types.values() if rt.group == group and rt.version == version]

    def group_versions(self) -> list[tuple[str, str]]:
        out = [("", version) for version in self.versions("")]
        for group in self.groups():
            out.extend((group, version) for version in self.versions(group))
        return out
