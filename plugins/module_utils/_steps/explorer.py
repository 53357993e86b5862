# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``explorer`` step: solo's ``explorer node add`` and ``explorer node destroy``.

Facts from hiero-ledger/solo (solo-spec §3.11, §3.14, §3.15; ``src/commands/explorer.ts``):

- ``hiero-explorer-<id>`` (chart hiero-explorer-chart) with ``resources/hiero-explorer-values.yaml``,
  ``fullnameOverride=hiero-explorer-<id>-<ns>``, ``proxyPass./api`` = the mirror node's REST service, and with
  ingress enabled ``ingress.enabled`` and ``ingressClassName`` = the explorer ingress release name.
- Phase ``deployed`` in the remote config.
- The explorer ingress controller ``explorer-haproxy-ingress-<id>-<ns>`` (53 characters at most), the
  ``haproxy-ingress.github.io/backend-protocol: h1`` annotation on the explorer's Ingress, and an IngressClass
  named after that release.
- Waits: explorer pods Ready (``app.kubernetes.io/instance=hiero-explorer-<id>``), ingress controller pods Ready.
- destroy: both releases, the IngressClass, the component. solo uninstalls the ingress release without a context,
  i.e. in whatever cluster the default kube context points at (hazard H8); here every call uses the deployment's
  cluster. The IngressClass is cluster-scoped and removed even when the namespace is gone (hazard H9).

Not reproduced: TLS through cert-manager (``--enable-explorer-tls``), load balancers, static IPs and domain names.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._config import (
    COMPONENTS,
    explorer_ingress_release_name,
    normalize_version,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError
from ansible_collections.hiero.solo.plugins.module_utils._pod import wait_pods
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    check_label,
    check_run_options,
    record_failure,
    run_step,
    solo_home,
    use_cluster_ref_context,
)
from ansible_collections.hiero.solo.plugins.module_utils._steps._component import (
    INGRESS_CONTROLLER_POD_NAME,
    INGRESS_CONTROLLER_PREFIX,
    INGRESS_CONTROLLER_VALUES,
    budget,
    chart_sources,
    check_timeout,
    check_values_files,
    component_id_for,
    component_ids,
    converge_release,
    create_ingress_class,
    deep_merge,
    default_cluster_ref,
    delete_leader_election,
    delete_or_absent,
    delete_release_cluster_objects,
    ingress_class_exists,
    load_remote_config,
    load_values_files,
    namespace_exists,
    patch_ingresses,
    plan_then_apply,
    record_deployed,
    remove_components,
    remove_step,
    step_result,
    uninstall_release,
    wait_pods_gone,
)

STEP = "explorer"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(STEP)

KIND = "explorers"
DEFAULT_VERSION = COMPONENTS["explorer"].default
RELEASE_PREFIX = "hiero-explorer"
PODS_READY_S = 600  # solo: PODS_READY_MAX_ATTEMPTS 300 x 2 s
BACKEND_PROTOCOL = "haproxy-ingress.github.io/backend-protocol"

EXPLORER_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "namespace": {"type": "str", "required": True},
    "cluster_ref": {"type": "str"},
    "solo_home": {"type": "path"},
    "version": {"type": "str", "default": DEFAULT_VERSION},
    "mirror_namespace": {"type": "str"},
    "mirror_node_id": {"type": "int"},
    "enable_ingress": {"type": "bool", "default": True},
    "values_files": {"type": "list", "elements": "path", "default": []},
}

# The explorer's network list: it talks to its own URL, whose /api is proxied to the mirror node (solo's values).
NETWORK_CONFIG = """[
  {
    "name": "localnet",
    "displayName": "LOCALNET",
    "url": "/",
    "ledgerID": "03",
    "baseRealm": 0,
    "baseShard": 0,
    "enableWallet": false,
    "enableStaking": false,
    "enableExpiry": false,
    "enableMarket": false,
    "erc20IndexURL": null,
    "erc721IndexURL": null,
    "sourcifySetup": null
  }
]
"""


def base_values() -> dict[str, Any]:
    """solo's resources/hiero-explorer-values.yaml, in substance."""
    return {
        "resources": {"requests": {"cpu": "200m", "memory": "100Mi"}, "limits": {"cpu": "1000m", "memory": "250Mi"}},
        "ingress": {
            "enabled": False,
            "hosts": [{"host": "explorer.solo.local", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": [
                {"secretName": "ca-secret-hiero-explorer", "hosts": ['{{ index .Values.ingress.hosts 0 "host" }}']}
            ],
        },
        "nodeSelector": {},
        "tolerations": [
            {"key": "solo-scheduling.io/os", "operator": "Equal", "value": "linux", "effect": "NoSchedule"},
            {"key": "solo-scheduling.io/role", "operator": "Equal", "value": "network", "effect": "NoSchedule"},
        ],
        "proxyPass": {"/api": "http://{{ .Release.Name }}-rest"},
        "config": NETWORK_CONFIG,
        "readinessProbe": {"initialDelaySeconds": 0, "periodSeconds": 1, "failureThreshold": 60},
        "livenessProbe": {"initialDelaySeconds": 0, "periodSeconds": 1, "failureThreshold": 60},
    }


def explorer_values(
    *,
    release: str,
    namespace: str,
    ingress_release: str,
    mirror_release: str,
    mirror_namespace: str,
    enable_ingress: bool,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """solo's values file, then the user's files, then what explorer.ts sets (``--set`` wins over files in helm)."""
    computed: dict[str, Any] = {
        "fullnameOverride": f"{release}-{namespace}",
        "proxyPass": {"/api": f"http://{mirror_release}-rest.{mirror_namespace}.svc.cluster.local"},
    }
    if enable_ingress:
        computed = deep_merge(computed, {"ingress": {"enabled": True}, "ingressClassName": ingress_release})
    return deep_merge(deep_merge(base_values(), extra), computed)


def ingress_controller_values(ingress_release: str) -> dict[str, Any]:
    return deep_merge(
        INGRESS_CONTROLLER_VALUES,
        {
            "fullnameOverride": ingress_release,
            "controller": {"ingressClass": ingress_release, "extraArgs": {"controller-class": ingress_release}},
        },
    )


def h1_patch(ingress: Any) -> dict[str, Any] | None:
    """haproxy's default backend protocol is h2 (for gRPC); the explorer speaks HTTP/1."""
    if (ingress.metadata.annotations or {}).get(BACKEND_PROTOCOL) == "h1":
        return None
    return {"metadata": {"annotations": {BACKEND_PROTOCOL: "h1"}}}


class _Explorer:
    def __init__(self, module: Any, *, present: bool) -> None:
        params = module.params
        self.module = module
        self.params = params
        self.namespace = check_label("namespace", params["namespace"])
        self.given_cluster_ref = (
            check_label("cluster_ref", params["cluster_ref"]) if params.get("cluster_ref") is not None else None
        )
        self.home = solo_home(params)
        check_run_options(params)
        check_timeout(params)
        if present:
            self.mirror_namespace = (
                check_label("mirror_namespace", params["mirror_namespace"])
                if params.get("mirror_namespace")
                else self.namespace
            )
            mirror_id = params.get("mirror_node_id")
            if mirror_id is not None and mirror_id < 1:
                raise InputError("mirror_node_id", f"expected a component id >= 1, got {mirror_id}")
            # Chart versions carry no "v" (the explorer's and relay's charts are versioned like their images).
            self.version = normalize_version("version", params.get("version") or DEFAULT_VERSION, prefixed=False)
            self.extra_values = load_values_files(check_values_files(params.get("values_files")))
            self.sources = chart_sources(params, {"explorer": self.version, "ingress_controller": None})
        use_cluster_ref_context(module, self.given_cluster_ref, self.home)
        self.clients = module.clients()
        self.core = self.clients.core

    def names(self, component_id: int) -> dict[str, str]:
        return {
            "explorer": f"{RELEASE_PREFIX}-{component_id}",
            "ingress_controller": explorer_ingress_release_name(self.namespace, component_id),
        }

    def mirror_release(self) -> str:
        """solo's inferMirrorNodeData: the given id, else the mirror node registered in the mirror namespace."""
        mirror_id = self.params.get("mirror_node_id")
        if mirror_id is None:
            doc = load_remote_config(self.core, self.mirror_namespace, required=False)
            mirror_id = (component_ids(doc, "mirrorNodes") or [1])[0]
        return f"mirror-{mirror_id}"


def _converge(explorer: _Explorer, guard: Any | None, actions: list[str]) -> dict[str, Any]:
    ns = explorer.namespace
    doc = load_remote_config(explorer.core, ns)
    component_id = component_id_for(doc, KIND)
    names = explorer.names(component_id)
    cluster_ref = default_cluster_ref(doc, KIND, component_id, explorer.given_cluster_ref)
    enable_ingress = bool(explorer.params.get("enable_ingress", True))
    mirror_release = explorer.mirror_release()
    values = explorer_values(
        release=names["explorer"],
        namespace=ns,
        ingress_release=names["ingress_controller"],
        mirror_release=mirror_release,
        mirror_namespace=explorer.mirror_namespace,
        enable_ingress=enable_ingress,
        extra=explorer.extra_values,
    )
    converge_release(
        explorer.module, guard, names["explorer"], ns, explorer.sources["explorer"], values, actions, what="explorer"
    )
    record_deployed(explorer.core, guard, ns, KIND, component_id, cluster_ref, actions, version=explorer.version)
    if enable_ingress:
        converge_release(
            explorer.module,
            guard,
            names["ingress_controller"],
            ns,
            explorer.sources["ingress_controller"],
            ingress_controller_values(names["ingress_controller"]),
            actions,
            what="explorer ingress controller",
        )
        if guard is not None:
            guard.check()
        patched = patch_ingresses(
            explorer.clients.networking, ns, f"app.kubernetes.io/instance={names['explorer']}", h1_patch, guard is None
        )
        actions.extend(f"annotate Ingress {ns}/{name} with {BACKEND_PROTOCOL}: h1" for name in patched)
        if not ingress_class_exists(explorer.clients.networking, names["ingress_controller"]):
            actions.append(f"create IngressClass {names['ingress_controller']}")
            if guard is not None:
                guard.check()
                create_ingress_class(
                    explorer.clients.networking,
                    names["ingress_controller"],
                    INGRESS_CONTROLLER_PREFIX + names["ingress_controller"],
                )
    if guard is not None:
        timeout = budget(explorer.params, PODS_READY_S)
        wait_pods(
            explorer.core,
            ns,
            f"app.kubernetes.io/instance={names['explorer']}",
            f"the explorer {names['explorer']}",
            timeout,
            ready=True,
            heartbeat=guard.check,
        )
        if enable_ingress:
            wait_pods(
                explorer.core,
                ns,
                f"app.kubernetes.io/name={INGRESS_CONTROLLER_POD_NAME},"
                f"app.kubernetes.io/instance={names['ingress_controller']}",
                f"the explorer ingress controller {names['ingress_controller']}",
                timeout,
                ready=True,
                heartbeat=guard.check,
            )
    return {
        "component_id": component_id,
        "names": names,
        "cluster_ref": cluster_ref,
        "mirror_release": mirror_release,
        "enable_ingress": enable_ingress,
    }


def present(module: Any) -> dict[str, Any]:
    explorer = _Explorer(module, present=True)
    actions: list[str] = []
    with run_step(module, explorer.namespace, STEP):
        state, actions = plan_then_apply(module, explorer.namespace, lambda g, a: _converge(explorer, g, a))
    ns = explorer.namespace
    names = state["names"]
    fact = {
        "state": "present",
        "namespace": ns,
        "cluster_ref": state["cluster_ref"],
        "component_id": state["component_id"],
        "version": explorer.version,
        "releases": {
            "explorer": names["explorer"],
            "ingress_controller": names["ingress_controller"] if state["enable_ingress"] else None,
        },
        "ingress_class": names["ingress_controller"] if state["enable_ingress"] else None,
        "mirror_node": {"namespace": explorer.mirror_namespace, "release": state["mirror_release"]},
        "endpoints": {"http": f"http://{names['explorer']}-{ns}.{ns}.svc.cluster.local"},
    }
    return step_result(module, "hiero_solo_explorer", fact, actions)


def _remove(explorer: _Explorer, guard: Any | None, actions: list[str]) -> list[int]:
    ns = explorer.namespace
    dry = guard is None
    exists = namespace_exists(explorer.core, ns)
    doc = load_remote_config(explorer.core, ns, required=False) if exists else None
    ids = component_ids(doc, KIND) or [component_id_for(doc, KIND)]
    heartbeat = (lambda: None) if dry else guard.check
    timeout = budget(explorer.params, PODS_READY_S)
    for component_id in ids:
        names = explorer.names(component_id)
        if exists:
            for release in (names["explorer"], names["ingress_controller"]):
                # Every call goes to the deployment's cluster, the ingress release included (hazard H8).
                if uninstall_release(explorer.module, guard, release, ns, actions) and not dry:
                    selector = f"app.kubernetes.io/instance={release}"
                    wait_pods_gone(explorer.core, ns, selector, release, timeout, heartbeat)
            if not dry:
                guard.check()
            leader = f"ingress-controller-leader-{names['ingress_controller']}"
            actions.extend(f"delete {what}" for what in delete_leader_election(explorer.clients, ns, leader, dry))
        ingress_class = names["ingress_controller"]
        if ingress_class_exists(explorer.clients.networking, ingress_class):
            actions.append(f"delete IngressClass {ingress_class}")
            if not dry:
                guard.check()
                delete_or_absent(
                    "IngressClass",
                    None,
                    ingress_class,
                    lambda name=ingress_class: explorer.clients.networking.delete_ingress_class(
                        name, _preload_content=False
                    ),
                )
    if exists:
        remove_components(explorer.core, guard, ns, {KIND: ids}, actions)
    releases = [name for i in ids for name in (explorer.names(i)["explorer"], explorer.names(i)["ingress_controller"])]
    delete_release_cluster_objects(explorer.clients, guard, ns, releases, actions)
    return ids


def absent(module: Any) -> dict[str, Any]:
    explorer = _Explorer(module, present=False)
    return remove_step(
        module, explorer.core, explorer.namespace, STEP, functools.partial(_remove, explorer), "hiero_solo_explorer"
    )


def run(module: Any) -> dict[str, Any]:
    if module.params["state"] == "absent":
        return absent(module)
    return present(module)
