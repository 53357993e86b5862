# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``block_node`` step: solo's ``block node add`` (state ``present``) and ``block node destroy`` (``absent``).

Facts from hiero-ledger/solo (solo-spec §3.6, §3.14, §3.15; ``src/commands/block-node.ts``, ``src/core/helpers.ts``):

- add: release ``block-node-<id>`` (id = the block node component's id; one-shot registers id 1) of the
  ``block-node-server`` chart, installed with plain ``helm install`` (an existing release is not upgraded); values
  ``resources/block-node-values.yaml`` (+ the TSS overlay when TSS is on), the user's values files,
  ``nameOverride=<release>``, backfill sources for the other block nodes; for consensus nodes from v0.74.0 streaming
  blocks, an RSA roster bootstrap (an init container writing the gossip public keys as ``rsa-bootstrap-roster.json``
  and ``blockNode.config.ROSTER_BOOTSTRAP_RSA_MIRROR_NODE_BASE_URL``). Then phase ``deployed``, wait for the pods
  (``app.kubernetes.io/instance=<release>``) Running then Ready (900 x 1 s), the health check
  ``curl -s http://localhost:40983/healthz/readyz`` = ``OK`` in container ``block-node-server`` (port 40840 before
  v0.39), and every consensus node gets ``[<id>, <priority 1>]`` in its ``blockNodeMap``; ``versions.blockNodeChart``.
- destroy: uninstall the release, delete its PVCs, drop the block node from the consensus nodes' maps, remove the
  component.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _keys, _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._config import CHARTS, COMPONENTS, parse_version
from ansible_collections.hiero.solo.plugins.module_utils._errors import HelmError, HieroError, InputError, WaitTimeout
from ansible_collections.hiero.solo.plugins.module_utils._helm import ChartSource, chart_source_for, values_file
from ansible_collections.hiero.solo.plugins.module_utils._pod import exec_in_pod, list_pods, wait_pods
from ansible_collections.hiero.solo.plugins.module_utils._steps import _workloads as wl
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    check_label,
    check_run_options,
    diff_of,
    lease_fence,
    record_failure,
    run_step,
    solo_home,
    use_cluster_ref_context,
    write_guard,
)

STEP = "block_node"
DESTROY_STEP = "block_node_destroy"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(lambda params: DESTROY_STEP if params.get("state") == "absent" else STEP)

COMPONENT = "block_node"
COMMANDS = {"present": "block node add", "absent": "block node destroy"}
CONTAINER = "block-node-server"
BLOCK_NODE_PORT = 40840
HEALTH_PORT = 40983  # BLOCK_NODE_HEALTH_PORT, from block node v0.39.0
HEALTH_PORT_SINCE = (0, 39, 0)
DEFAULT_WAIT_S = 900  # BLOCK_NODE_PODS_RUNNING_MAX_ATTEMPTS 900 x 1 s
HEALTH_POLL_S = 2.0
MIN_TSS_VERSION = (0, 74, 0)

# solo's resources/block-node-values.yaml, the parts that matter to the deployment.
BLOCK_NODE_VALUES: dict[str, Any] = {
    "resources": {"requests": {"cpu": "1", "memory": "80Mi"}, "limits": {"cpu": "2", "memory": "160Mi"}},
    "image": {"repository": "ghcr.io/hiero-ledger/hiero-block-node-solo-dev"},
    "blockNode": {
        "config": {
            "JAVA_OPTS": "-Xmx24m -XX:MaxDirectMemorySize=8m -XX:MaxMetaspaceSize=32m -XX:+HeapDumpOnOutOfMemoryError "
            '-XX:HeapDumpPath="/tmp/dump.hprof"',
            "MESSAGING_BLOCK_ITEM_QUEUE_SIZE": "128",
            "MESSAGING_BLOCK_NOTIFICATION_QUEUE_SIZE": "16",
            "BACKFILL_FETCH_BATCH_SIZE": "5",
            "BACKFILL_BLOCK_NODE_SOURCES_PATH": "/opt/hiero/block-node/backfill/block-node-sources.json",
            "ROSTER_BOOTSTRAP_TSS_BLOCK_NODE_SOURCES_PATH": "/opt/hiero/block-node/backfill/block-node-sources.json",
            "SERVER_SOCKET_RECEIVE_BUFFER_SIZE_BYTES": "131072",
        },
        "persistence": {"archive": {"size": "1Gi"}, "live": {"size": "1Gi"}, "logging": {"size": "1Gi"}},
    },
}

SUPPORTED_PARAMS = frozenset(
    {
        "values_file",
        "block_node_tss_overlay",
        "priority_mapping",
        "domain_name",
        "block_node_message_size_soft_limit_bytes",
        "block_node_message_size_hard_limit_bytes",
        "block_node_version",
        "consensus_node_version",
    }
)

BLOCK_NODE_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "namespace": {"type": "str", "required": True},
    "version": {"type": "str", "aliases": ["block_node_version"]},
    "consensus_node_version": {"type": "str"},
    "component_id": {"type": "int"},
    "rsa_bootstrap": {"type": "bool", "default": False},
    "keys_dir": {"type": "path"},
    "params": {"type": "dict", "default": {}},
    "health_timeout": {"type": "int", "default": 300},
    "delete_pvcs": {"type": "bool", "default": True},
    "cluster_ref": {"type": "str"},
    "solo_home": {"type": "path"},
}


def release_name(component_id: int) -> str:
    return f"block-node-{component_id}"


def pod_selector(release: str) -> str:
    return f"app.kubernetes.io/instance={release}"


def default_source(version: str) -> ChartSource:
    chart = CHARTS[COMPONENT]
    return ChartSource(chart.kind, chart.chart, repo=chart.repo, version=version)


def chart_source(params: Mapping[str, Any], version: str) -> ChartSource:
    option = params.get("chart_sources") or {}
    if not isinstance(option, Mapping):
        raise InputError("chart_sources", f"expected a mapping of component to source, got {type(option).__name__}")
    return chart_source_for(option, COMPONENT, default_source(version))


def health_port(version: str) -> int:
    parsed = parse_version("version", version)
    return HEALTH_PORT if (parsed.major, parsed.minor, parsed.patch) >= HEALTH_PORT_SINCE else BLOCK_NODE_PORT


def priority_mapping(text: Any, aliases: list[str]) -> dict[str, int]:
    """solo's ``--priority-mapping`` (``node1=2,node2``): every consensus node at priority 1 by default."""
    if text in (None, ""):
        return dict.fromkeys(aliases, 1)
    mapping: dict[str, int] = {}
    for item in str(text).split(","):
        alias, _sep, priority = item.strip().partition("=")
        if alias not in aliases:
            raise InputError(
                "params.priority_mapping", f"{alias!r} is not one of the consensus nodes {', '.join(aliases)}"
            )
        mapping[alias] = int(priority) if priority.strip().isdigit() and int(priority) > 0 else 1
    return mapping


def rsa_roster_json(aliases: list[str], keys_dir: str) -> str | None:
    """solo's buildRsaAddressBookJson: each node's gossip RSA public key (SPKI DER hex) by node id."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    addresses = []
    for alias in aliases:
        path = os.path.join(keys_dir, _keys.gossip_cert_file(alias))
        try:
            with open(path, "rb") as handle:
                cert = x509.load_pem_x509_certificate(handle.read())
        except FileNotFoundError:
            return None
        spki = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        addresses.append({"RSAPubKey": spki.hex(), "nodeId": _remote_config.component_id_for_alias(alias) - 1})
    return json.dumps(
        {"addressBooks": [{"addressBook": {"nodeAddress": addresses}, "startBlock": "0", "endBlock": "-1"}]},
        separators=(",", ":"),
    )


def rsa_bootstrap_values(roster: str) -> dict[str, Any]:
    """The init container solo adds to seed the block node's roster from the gossip keys."""
    script = " && \\\n".join(
        [
            "mkdir -p /application-state-pvc",
            "chown 2000:2000 /application-state-pvc",
            "chmod 700 /application-state-pvc",
            "if [ ! -s /application-state-pvc/rsa-bootstrap-roster.json ]; then printf '%s' "
            f"'{roster}' > /application-state-pvc/rsa-bootstrap-roster.json; fi",
            "mkdir -p /archive-pvc/archive-data",
            "chown 2000:2000 /archive-pvc/archive-data",
            "chmod 700 /archive-pvc/archive-data",
            "mkdir -p /live-pvc/live-data",
            "chown 2000:2000 /live-pvc/live-data",
            "chmod 700 /live-pvc/live-data",
        ]
    )
    return {
        "blockNode": {
            "initContainers": [
                {
                    "name": "init-storage-dirs",
                    "image": "busybox:1.36.1",
                    "command": ["sh", "-c", script],
                    "volumeMounts": [
                        {"name": "application-state-storage", "mountPath": "/application-state-pvc"},
                        {"name": "archive-storage", "mountPath": "/archive-pvc"},
                        {"name": "live-storage", "mountPath": "/live-pvc"},
                        {"name": "logging-storage", "mountPath": "/logging-pvc"},
                    ],
                }
            ]
        }
    }


def desired_values(
    release: str,
    component_id: int,
    doc: Mapping[str, Any],
    namespace: str,
    *,
    section: Mapping[str, Any],
    roster: str | None,
    user_values: list[Mapping[str, Any]],
) -> dict[str, Any]:
    values = copy.deepcopy(BLOCK_NODE_VALUES)
    if roster is not None:
        wl.set_value(
            values, "blockNode.config.ROSTER_BOOTSTRAP_RSA_MIRROR_NODE_BASE_URL", "http://mirror-1-restjava:80"
        )
        values = wl.merge_values(values, rsa_bootstrap_values(roster))
    for extra in user_values:
        values = wl.merge_values(values, extra)
    wl.set_value(values, "nameOverride", release)
    if section.get("domain_name"):
        for path, value in (
            ("ingress.enabled", True),
            ("ingress.hosts[0].host", section["domain_name"]),
            ("ingress.hosts[0].paths[0].path", "/"),
            ("ingress.hosts[0].paths[0].pathType", "ImplementationSpecific"),
        ):
            wl.set_value(values, path, value)
    domains = {c.get("name"): c.get("dnsBaseDomain") for c in doc.get("clusters") or [] if isinstance(c, Mapping)}
    index = 0
    for other in _remote_config.components(doc, "blockNodes"):
        metadata = other.get("metadata") or {}
        if metadata.get("id") == component_id:
            continue
        domain = domains.get(metadata.get("cluster")) or _remote_config.DEFAULT_DNS_BASE_DOMAIN
        wl.set_value(
            values,
            f"blockNode.backfill.sources[{index}].address",
            f"block-node-{metadata.get('id')}.{namespace}.svc.{domain}",
        )
        wl.set_value(values, f"blockNode.backfill.sources[{index}].port", BLOCK_NODE_PORT)
        wl.set_value(values, f"blockNode.backfill.sources[{index}].priority", 1)
        index += 1
    return values


def desired_document(
    doc: dict[str, Any] | None,
    *,
    namespace: str,
    component_id: int,
    version: str,
    mapping: Mapping[str, int],
    limits: Mapping[str, int],
) -> dict[str, Any]:
    """The remote config after the block node is deployed (a pure function of ``doc``)."""
    if doc is None:
        raise HieroError(f"the remote config in namespace {namespace} disappeared; run hiero.solo.deployment again")
    before = copy.deepcopy(doc)
    if _remote_config.get_component(doc, "blockNodes", component_id) is None:
        component = _remote_config.new_component("blockNodes", component_id, namespace, wl.cluster_of(doc, namespace))
        _remote_config.add_component(doc, "blockNodes", component)
    _remote_config.set_phase(doc, "blockNodes", component_id, "deployed")
    _remote_config.set_version(doc, "blockNodes", version)
    for node in _remote_config.components(doc, "consensusNodes"):
        alias = _remote_config.alias_for_component_id((node.get("metadata") or {}).get("id"))
        if alias not in mapping:
            continue
        pairs = [list(pair) for pair in node.get("blockNodeMap") or []]
        if not any(pair and pair[0] == component_id for pair in pairs):
            pairs.append([component_id, mapping[alias]])
            _remote_config.update_component(doc, "consensusNodes", node["metadata"]["id"], blockNodeMap=pairs)
    state = doc.setdefault("state", {})
    for key, value in limits.items():
        if state.get(key) != value:
            state[key] = value
    return wl.finish_change(before, doc, COMMANDS["present"])


def removed_document(doc: dict[str, Any] | None, *, component_id: int) -> dict[str, Any] | None:
    if doc is None:
        return None
    before = copy.deepcopy(doc)
    _remote_config.remove_component(doc, "blockNodes", component_id)
    for node in _remote_config.components(doc, "consensusNodes"):
        pairs = [list(pair) for pair in node.get("blockNodeMap") or []]
        kept = [pair for pair in pairs if not (pair and pair[0] == component_id)]
        if kept != pairs:
            _remote_config.update_component(doc, "consensusNodes", node["metadata"]["id"], blockNodeMap=kept)
    return wl.finish_change(before, doc, COMMANDS["absent"])


def component_id_of(doc: Mapping[str, Any], given: int | None) -> int:
    """The block node's id: the option, else the one registered (one-shot registers it), else the next id."""
    if given is not None:
        if given < 1:
            raise InputError("component_id", f"expected a positive integer, got {given}")
        return given
    registered = _remote_config.components(doc, "blockNodes")
    if registered:
        return int((registered[0].get("metadata") or {}).get("id"))
    return _remote_config.next_id(doc, "blockNodes")


def check_health(
    core: Any,
    namespace: str,
    release: str,
    port: int,
    timeout_s: float,
    check: Callable[[], None] | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """``curl -s http://localhost:<port>/healthz/readyz`` in the block node container until it answers OK."""
    deadline = time.monotonic() + timeout_s
    seen = "no answer yet"
    while True:
        if check is not None:
            check()
        pods = list_pods(core, namespace, pod_selector(release))
        if not pods:
            seen = f"no pod labelled {pod_selector(release)}"
        else:
            pod = pods[0].metadata.name
            command = ["curl", "-s", f"http://localhost:{port}/healthz/readyz"]
            result = exec_in_pod(core, namespace, pod, command, container=CONTAINER, check=False, timeout_s=60)
            if result.ok and result.stdout.strip() == "OK":
                return pod
            answer = result.stdout.strip()[:120] or result.stderr.strip()[:120] or result.message
            seen = f"pod {namespace}/{pod} answered {answer!r} (exit {result.rc})"
        if time.monotonic() >= deadline:
            raise WaitTimeout(
                f"timed out after {timeout_s:g}s waiting for block node {release} to report healthy; last: {seen}"
            )
        sleep(HEALTH_POLL_S)


# ---------------------------------------------------------------------------------------------------------------
# present / absent


def _connect(module: Any) -> Any:
    params = module.params
    if params.get("cluster_ref"):
        use_cluster_ref_context(module, check_label("cluster_ref", params["cluster_ref"]), solo_home(params))
    return module.clients().core


def present(module: Any) -> dict[str, Any]:
    params = module.params
    namespace = check_label("namespace", params["namespace"])
    check_run_options(params)
    section = dict(params.get("params") or {})
    ignored = sorted(key for key in section if key not in SUPPORTED_PARAMS)
    if ignored:
        module.warn(f"params: not applied by hiero.solo.block_node: {', '.join(ignored)}")
    version = params.get("version") or section.get("block_node_version") or COMPONENTS["block_node"].default
    version = parse_version("version", version).text(prefixed=False)
    source = chart_source(params, version)
    user_values = [
        wl.load_values_file("params.values_file", p)
        for p in wl.values_files_of("params.values_file", section.get("values_file"))
    ]
    limits = {}
    for key, field in (
        ("block_node_message_size_soft_limit_bytes", "blockNodeMessageSizeSoftLimitBytes"),
        ("block_node_message_size_hard_limit_bytes", "blockNodeMessageSizeHardLimitBytes"),
    ):
        if section.get(key) is not None:
            limits[field] = int(section[key])
    timeout = params.get("wait_timeout")
    timeout = DEFAULT_WAIT_S if timeout is None else timeout
    home = solo_home(params)
    keys_dir = os.path.abspath(
        os.path.expanduser(params.get("keys_dir") or _keys.default_keys_dir({**os.environ, "SOLO_HOME": home}))
    )
    core = _connect(module)
    helm = module.helm()
    actions: list[str] = []

    with run_step(module, namespace, STEP):
        doc = wl.load_remote_config(core, namespace, STEP)
        component_id = component_id_of(doc, params.get("component_id"))
        release = release_name(component_id)
        aliases = [
            _remote_config.alias_for_component_id((node.get("metadata") or {}).get("id"))
            for node in _remote_config.components(doc, "consensusNodes")
        ]
        mapping = priority_mapping(section.get("priority_mapping"), aliases)
        roster = None
        if params["rsa_bootstrap"]:
            roster = rsa_roster_json(aliases, keys_dir)
            if roster is None:
                module.warn(
                    f"rsa_bootstrap: gossip certificates missing in {keys_dir}; the block node gets no RSA roster"
                )
        values = desired_values(
            release, component_id, doc, namespace, section=section, roster=roster, user_values=user_values
        )
        status = helm.status(release, namespace)
        state = (status or {}).get("info", {}).get("status")
        install = state != "deployed"
        if install:
            actions.append(f"install release {namespace}/{release} ({source.describe()})")

        def remote_change(current: dict[str, Any] | None) -> dict[str, Any]:
            return desired_document(
                current, namespace=namespace, component_id=component_id, version=version, mapping=mapping, limits=limits
            )

        doc_planned = remote_change(copy.deepcopy(doc))
        if doc_planned != doc:
            actions.append(f"update remote config {namespace}/{_remote_config.CONFIGMAP_NAME}")
        doc_after = doc_planned
        pod = None
        if module.check_mode:
            pass
        elif actions:
            with write_guard(module, namespace, cluster_writes=True) as guard:
                if install:
                    guard.check()
                    _install(helm, release, source, namespace, values, status is not None, module.warn)
                pod = _wait_ready(core, namespace, release, version, timeout, params["health_timeout"], guard.check)
                guard.check()
                doc_after, _changed = _remote_config.mutate(core, namespace, remote_change)
        else:
            pod = _wait_ready(core, namespace, release, version, timeout, params["health_timeout"], lease_fence(module))

    fact = {
        "namespace": namespace,
        "state": "present",
        "component_id": component_id,
        "release": release,
        "version": version,
        "chart_source": source.to_dict(),
        "pod": pod,
        "priority_mapping": mapping,
    }
    result: dict[str, Any] = {
        "changed": bool(actions),
        "actions": actions,
        "namespace": namespace,
        "release": release,
        "ansible_facts": {"hiero_solo_block_node": fact},
    }
    if module.diff_mode:
        result["diff"] = diff_of(doc, doc_after, "remote config (before)", "remote config (after)")
    return result


def _install(
    helm: Any,
    release: str,
    source: ChartSource,
    namespace: str,
    values: Mapping[str, Any],
    existed: bool,
    warn: Callable[[str], None],
) -> None:
    """Plain install: a release left failed by an earlier run is removed first, as solo's install would refuse it."""
    if existed:
        warn(f"release {namespace}/{release} exists but is not deployed: reinstalling it")
        helm.uninstall(release, namespace, wait=True)
    with values_file(values) as path:
        try:
            helm.upgrade_install(release, source, namespace, values_files=[path])
        except HelmError as exc:
            raise HelmError(
                f"block node release {namespace}/{release}: {exc.msg}",
                argv=exc.argv,
                rc=exc.rc,
                stdout=exc.stdout,
                stderr=exc.stderr,
            ) from exc


def _wait_ready(
    core: Any,
    namespace: str,
    release: str,
    version: str,
    timeout_s: float,
    health_timeout_s: float,
    heartbeat: Callable[[], None] | None,
) -> str:
    deadline = wl.Deadline(timeout_s)
    what = f"block node {release} pod"
    wait_pods(core, namespace, pod_selector(release), what, deadline.left(), heartbeat=heartbeat)
    wait_pods(core, namespace, pod_selector(release), what, deadline.left(), ready=True, heartbeat=heartbeat)
    return check_health(core, namespace, release, health_port(version), health_timeout_s, heartbeat)


def absent(module: Any) -> dict[str, Any]:
    params = module.params
    namespace = check_label("namespace", params["namespace"])
    check_run_options(params)
    core = _connect(module)
    actions: list[str] = []
    if wl.namespace_labels(core, namespace) is None:
        fact = {"namespace": namespace, "state": "absent"}
        return {
            "changed": False,
            "actions": [],
            "namespace": namespace,
            "ansible_facts": {"hiero_solo_block_node": fact},
        }
    helm = module.helm()
    with run_step(module, namespace, DESTROY_STEP):
        doc, _rv = _remote_config.load(core, namespace)
        component_id = (
            component_id_of(doc, params.get("component_id")) if doc is not None else (params.get("component_id") or 1)
        )
        release = release_name(component_id)
        status = helm.status(release, namespace)
        pvcs = (
            wl.list_names(
                core.list_namespaced_persistent_volume_claim, "PersistentVolumeClaim", namespace, pod_selector(release)
            )
            if params["delete_pvcs"]
            else []
        )

        def remote_change(current: dict[str, Any] | None) -> dict[str, Any] | None:
            return removed_document(current, component_id=component_id)

        doc_planned = remote_change(copy.deepcopy(doc))
        if status is not None:
            actions.append(f"uninstall release {namespace}/{release}")
        actions += [f"delete PersistentVolumeClaim {namespace}/{name}" for name in pvcs]
        if doc_planned != doc:
            actions.append(f"update remote config {namespace}/{_remote_config.CONFIGMAP_NAME}")
        if actions and not module.check_mode:
            with write_guard(module, namespace, cluster_writes=True) as guard:
                if status is not None:
                    guard.check()
                    helm.uninstall(release, namespace, wait=True)
                for name in pvcs:
                    guard.check()
                    wl.delete_named(
                        core.delete_namespaced_persistent_volume_claim, "PersistentVolumeClaim", namespace, name
                    )
                if doc_planned != doc:
                    guard.check()
                    _remote_config.mutate(core, namespace, remote_change)
    fact = {"namespace": namespace, "state": "absent", "component_id": component_id, "release": release}
    return {
        "changed": bool(actions),
        "actions": actions,
        "namespace": namespace,
        "ansible_facts": {"hiero_solo_block_node": fact},
    }


def run(module: Any) -> dict[str, Any]:
    """Carry out one ``block_node`` task; every input is checked before anything is written."""
    if module.params["state"] == "absent":
        return absent(module)
    return present(module)
