# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``relay`` step: solo's ``relay node add`` and ``relay node destroy`` (the JSON-RPC relay).

Facts from hiero-ledger/solo (solo-spec §3.12, §3.14, §3.15; ``src/commands/relay.ts``):

- ``relay-<id>`` (chart hedera-json-rpc, chart version = relay version) with ``resources/relay-values.yaml``,
  ``nameOverride=relay-<id>``, ``relay.config.MIRROR_NODE_URL`` (the mirror ingress controller),
  ``relay.config.MIRROR_NODE_URL_WEB3`` (the mirror's web3 service), ``CHAIN_ID`` (``SOLO_CHAIN_ID`` or 298), image
  tags, ``OPERATOR_ID_MAIN``/``OPERATOR_KEY_MAIN`` (the operator's account-key Secret, else solo's built-in key) and
  ``HEDERA_NETWORK``: ``{"<haproxy address>:<gRPC port>": "<node account>"}``; the same for the websocket server
  (``ws.*``).
- Phase ``deployed``, ``versions.jsonRpcRelayChart``; waits: relay pods Running then Ready
  (``app.kubernetes.io/instance=relay-<id>,app.kubernetes.io/name=relay``, 900 x 1 s each).
- destroy: the release and the component.

One deliberate difference: solo's one-shot always passes ``--node-aliases node1``, so a multi-node network's relay
talks to node1 only (hazard H5). Here the relay is pointed at every consensus node of the deployment unless
``node_aliases`` names some, and the component's ``consensusNodeIds`` lists them.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._config import COMPONENTS, normalize_version
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
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
    DEFAULT_OPERATOR_NUMBER,
    HAPROXY_SERVICE_SELECTOR,
    NODE_NAME_LABEL,
    api_call,
    budget,
    chart_sources,
    check_entity_id,
    check_node_aliases,
    check_non_negative,
    check_timeout,
    check_values_files,
    component_id_for,
    component_ids,
    consensus_aliases,
    converge_release,
    deep_merge,
    default_cluster_ref,
    entity_id,
    load_remote_config,
    load_values_files,
    namespace_exists,
    node_account_id,
    node_id_of,
    operator_key_for,
    plan_then_apply,
    record_deployed,
    remove_components,
    remove_step,
    step_result,
    uninstall_release,
    wait_pods_gone,
)
from ansible_collections.hiero.solo.plugins.module_utils._steps.mirror_node import (
    MIRROR_INGRESS_CONTROLLER,
)

STEP = "relay"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(STEP)

KIND = "relayNodes"
DEFAULT_VERSION = COMPONENTS["relay"].default
RELEASE_PREFIX = "relay"
DEFAULT_CHAIN_ID = "298"  # solo's HEDERA_CHAIN_ID
GRPC_PORT_NAME = "non-tls-grpc-client-port"
RELAY_PORT = 7546
PODS_RUNNING_S = 900  # solo: RELAY_PODS_RUNNING_MAX_ATTEMPTS 900 x 1 s
PODS_READY_S = 900  # solo: RELAY_PODS_READY_MAX_ATTEMPTS 900 x 1 s

RELAY_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "namespace": {"type": "str", "required": True},
    "cluster_ref": {"type": "str"},
    "solo_home": {"type": "path"},
    "version": {"type": "str", "default": DEFAULT_VERSION},
    "node_aliases": {"type": "list", "elements": "str"},
    "mirror_namespace": {"type": "str"},
    "mirror_node_id": {"type": "int"},
    "chain_id": {"type": "str"},
    "operator_id": {"type": "str"},
    "operator_key": {"type": "str", "no_log": True},
    "replica_count": {"type": "int"},
    "realm": {"type": "int", "default": 0},
    "shard": {"type": "int", "default": 0},
    "values_files": {"type": "list", "elements": "path", "default": []},
}

_SERVER_CONFIG = {
    "WORKERS_POOL_ENABLED": False,
    "NODE_OPTIONS": "--max-old-space-size=192",
    "LOG_LEVEL": "error",
    "PRETTY_LOGS_ENABLED": False,
    "REDIS_ENABLED": False,
    "CACHE_MAX": 50,
    "CACHE_TTL": 300,
    "OPERATOR_BALANCE_STARTUP_MAX_ATTEMPTS": 600,
    "OPERATOR_BALANCE_STARTUP_RETRY_DELAY_MS": 1000,
    "MIRROR_NODE_STARTUP_MAX_ATTEMPTS": 600,
    "MIRROR_NODE_STARTUP_RETRY_DELAY_MS": 1000,
}


def base_values() -> dict[str, Any]:
    """solo's resources/relay-values.yaml, in substance: small, patient relay and websocket servers."""
    return {
        "relay": {
            "config": {**_SERVER_CONFIG, "GET_RECORD_DEFAULT_TO_CONSENSUS_NODE": True},
            "readinessProbe": {
                "initialDelaySeconds": 0,
                "periodSeconds": 1,
                "failureThreshold": 120,
                "timeoutSeconds": 2,
            },
            "livenessProbe": {"initialDelaySeconds": 0, "periodSeconds": 5, "failureThreshold": 60},
            "startupProbe": {
                "initialDelaySeconds": 0,
                "periodSeconds": 1,
                "failureThreshold": 660,
                "timeoutSeconds": 2,
            },
            "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "250Mi"}},
        },
        "ws": {"enabled": True, "config": dict(_SERVER_CONFIG), "startupProbe": {"failureThreshold": 660}},
    }


def chain_id_value(text: str) -> Any:
    """solo sets CHAIN_ID with ``--set``, which makes a number of digits an integer."""
    return int(text) if text.isdigit() else text


def hedera_network(endpoints: Mapping[str, str]) -> str:
    """``{"<host>:<port>": "<account>"}`` as JSON text (solo's prepareNetworkJsonString)."""
    return json.dumps(dict(endpoints), separators=(",", ":"))


def relay_values(
    *,
    release: str,
    version: str,
    mirror_release: str,
    mirror_namespace: str,
    chain_id: str,
    operator_id: str,
    operator_key: str,
    network: str,
    replica_count: int | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """solo's values file, the user's files, then what relay.ts sets (``--set`` wins over files in helm)."""
    ingress_url = f"http://{MIRROR_INGRESS_CONTROLLER}-{mirror_namespace}.{mirror_namespace}.svc.cluster.local"
    web3_url = f"http://{mirror_release}-web3.{mirror_namespace}.svc.cluster.local"
    tag = version.lstrip("v")
    server = {
        "CHAIN_ID": chain_id_value(chain_id),
        "OPERATOR_ID_MAIN": operator_id,
        "OPERATOR_KEY_MAIN": operator_key,
        "HEDERA_NETWORK": network,
        "MIRROR_NODE_URL": ingress_url,
    }
    computed: dict[str, Any] = {
        "nameOverride": release,
        "relay": {"config": {**server, "MIRROR_NODE_URL_WEB3": web3_url}, "image": {"tag": tag}},
        "ws": {"config": dict(server), "image": {"tag": tag}},
    }
    if replica_count:
        computed = deep_merge(
            computed, {"relay": {"replicaCount": replica_count}, "ws": {"replicaCount": replica_count}}
        )
    return deep_merge(deep_merge(base_values(), extra), computed)


def haproxy_endpoints(services: Sequence[Any], aliases: Sequence[str], shard: int, realm: int, namespace: str) -> dict:
    """The relay's network map: each node's HAProxy (load balancer address if it has one, else its cluster IP)
    and plain gRPC port → the node's account, in node order."""
    by_alias = {}
    for service in services:
        alias = (service.metadata.labels or {}).get(NODE_NAME_LABEL)
        if alias:
            by_alias.setdefault(alias, service)
    endpoints: dict[str, str] = {}
    for alias in sorted(aliases, key=node_id_of):
        service = by_alias.get(alias)
        if service is None:
            raise HieroError(
                f"no HAProxy service for consensus node {alias} ({HAPROXY_SERVICE_SELECTOR},{NODE_NAME_LABEL}={alias}) "
                f"in namespace {namespace}: deploy the consensus network first (with run_id, wait for "
                "consensus_node_started)"
            )
        # solo prefers the load balancer address (reachable from other clusters), else the cluster IP.
        balancer = service.status.load_balancer if service.status else None
        balancer_ingress = (balancer.ingress if balancer else None) or []
        host = (
            balancer_ingress[0].ip if balancer_ingress and balancer_ingress[0].ip else None
        ) or service.spec.cluster_ip
        port = next((p.port for p in service.spec.ports or [] if p.name == GRPC_PORT_NAME), None)
        if not host or host == "None" or port is None:
            raise HieroError(
                f"Service {namespace}/{service.metadata.name} has no cluster IP or no port named {GRPC_PORT_NAME}"
            )
        endpoints[f"{host}:{port}"] = node_account_id(alias, shard, realm)
    return endpoints


class _Relay:
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
            self.realm = check_non_negative("realm", params.get("realm", 0))
            self.shard = check_non_negative("shard", params.get("shard", 0))
            self.aliases = check_node_aliases(params["node_aliases"]) if params.get("node_aliases") else None
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
            chain_id = params.get("chain_id") or os.environ.get("SOLO_CHAIN_ID") or DEFAULT_CHAIN_ID
            if not str(chain_id).strip():
                raise InputError("chain_id", "expected a chain id such as 298")
            self.chain_id = str(chain_id).strip()
            self.operator_id = (
                check_entity_id("operator_id", params["operator_id"])
                if params.get("operator_id")
                else entity_id(self.shard, self.realm, DEFAULT_OPERATOR_NUMBER)
            )
            replicas = params.get("replica_count")
            if replicas is not None and replicas < 1:
                raise InputError("replica_count", f"expected a number of replicas >= 1, got {replicas}")
            self.extra_values = load_values_files(check_values_files(params.get("values_files")))
            self.sources = chart_sources(params, {"relay": self.version})
        use_cluster_ref_context(module, self.given_cluster_ref, self.home)
        self.clients = module.clients()
        self.core = self.clients.core

    def release(self, component_id: int) -> str:
        return f"{RELEASE_PREFIX}-{component_id}"

    def mirror_release(self) -> str:
        mirror_id = self.params.get("mirror_node_id")
        if mirror_id is None:
            doc = load_remote_config(self.core, self.mirror_namespace, required=False)
            mirror_id = (component_ids(doc, "mirrorNodes") or [1])[0]
        return f"mirror-{mirror_id}"


def _converge(relay: _Relay, guard: Any | None, actions: list[str]) -> dict[str, Any]:
    ns = relay.namespace
    doc = load_remote_config(relay.core, ns)
    component_id = component_id_for(doc, KIND)
    release = relay.release(component_id)
    cluster_ref = default_cluster_ref(doc, KIND, component_id, relay.given_cluster_ref)
    # Every consensus node of the deployment, not only node1 (hazard H5).
    aliases = relay.aliases or consensus_aliases(doc)
    if not aliases:
        raise InputError("node_aliases", f"required: the remote config in {ns} lists no consensus nodes")
    services = api_call(
        "list",
        "Service",
        ns,
        None,
        lambda: relay.core.list_namespaced_service(ns, label_selector=HAPROXY_SERVICE_SELECTOR).items or [],
    )
    endpoints = haproxy_endpoints(services, aliases, relay.shard, relay.realm, ns)
    operator_key = relay.params.get("operator_key") or operator_key_for(relay.core, ns, relay.operator_id)
    relay.module.ansible_module.no_log_values.add(operator_key)
    mirror_release = relay.mirror_release()
    values = relay_values(
        release=release,
        version=relay.version,
        mirror_release=mirror_release,
        mirror_namespace=relay.mirror_namespace,
        chain_id=relay.chain_id,
        operator_id=relay.operator_id,
        operator_key=operator_key,
        network=hedera_network(endpoints),
        replica_count=relay.params.get("replica_count"),
        extra=relay.extra_values,
    )
    converge_release(relay.module, guard, release, ns, relay.sources["relay"], values, actions, what="relay")
    node_ids = [node_id_of(alias) for alias in sorted(aliases, key=node_id_of)]
    record_deployed(
        relay.core,
        guard,
        ns,
        KIND,
        component_id,
        cluster_ref,
        actions,
        version=relay.version,
        consensusNodeIds=node_ids,
    )
    if guard is not None:
        selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/name=relay"
        what = f"the relay {release}"
        wait_pods(relay.core, ns, selector, what, budget(relay.params, PODS_RUNNING_S), heartbeat=guard.check)
        wait_pods(relay.core, ns, selector, what, budget(relay.params, PODS_READY_S), ready=True, heartbeat=guard.check)
    return {
        "component_id": component_id,
        "release": release,
        "cluster_ref": cluster_ref,
        "aliases": sorted(aliases, key=node_id_of),
        "endpoints": endpoints,
        "mirror_release": mirror_release,
    }


def present(module: Any) -> dict[str, Any]:
    relay = _Relay(module, present=True)
    actions: list[str] = []
    with run_step(module, relay.namespace, STEP):
        state, actions = plan_then_apply(module, relay.namespace, lambda g, a: _converge(relay, g, a))
    ns = relay.namespace
    fact = {
        "state": "present",
        "namespace": ns,
        "cluster_ref": state["cluster_ref"],
        "component_id": state["component_id"],
        "version": relay.version,
        "release": state["release"],
        "node_aliases": state["aliases"],
        "network": state["endpoints"],
        "chain_id": relay.chain_id,
        "operator_id": relay.operator_id,
        "mirror_node": {"namespace": relay.mirror_namespace, "release": state["mirror_release"]},
        "endpoints": {"json_rpc": f"http://{state['release']}.{ns}.svc.cluster.local:{RELAY_PORT}"},
    }
    return step_result(module, "hiero_solo_relay", fact, actions)


def _remove(relay: _Relay, guard: Any | None, actions: list[str]) -> list[int]:
    ns = relay.namespace
    dry = guard is None
    if not namespace_exists(relay.core, ns):
        return []
    doc = load_remote_config(relay.core, ns, required=False)
    ids = component_ids(doc, KIND) or [component_id_for(doc, KIND)]
    heartbeat = (lambda: None) if dry else guard.check
    for component_id in ids:
        release = relay.release(component_id)
        if uninstall_release(relay.module, guard, release, ns, actions) and not dry:
            selector = f"app.kubernetes.io/instance={release}"
            wait_pods_gone(relay.core, ns, selector, release, budget(relay.params, PODS_READY_S), heartbeat)
    remove_components(relay.core, guard, ns, {KIND: ids}, actions)
    return ids


def absent(module: Any) -> dict[str, Any]:
    relay = _Relay(module, present=False)
    return remove_step(module, relay.core, relay.namespace, STEP, functools.partial(_remove, relay), "hiero_solo_relay")


def run(module: Any) -> dict[str, Any]:
    if module.params["state"] == "absent":
        return absent(module)
    return present(module)
