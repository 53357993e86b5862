# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``consensus_network`` step: solo's ``consensus network deploy`` and ``consensus network destroy``.

Facts from hiero-ledger/solo (solo-spec §3.7, §3.14, §3.15, §5.3; ``src/commands/network.ts``,
``src/core/platform-installer.ts``, ``src/core/profile-manager.ts``):

- deploy copies the node keys into Secrets first (``network-<alias>-keys-secrets``: the node's gossip private key and
  every node's gossip certificate, label ``solo.hedera.com/node-name``; ``network-node-hapi-app-secrets``: every
  node's TLS key and certificate), because the chart mounts them only when they exist at install time;
- then ``helm upgrade --install solo-deployment`` with ``resources/solo-values.yaml``, the profile values (the node
  list ``hedera.nodes[i]`` = name, nodeId, accountId ``<shard>.<realm>.<3+nodeId>``, ``blockNodesJson`` of nodes
  with block nodes), the user's values files, and ``--set`` of ``hedera.nodes[i].name``, MinIO
  (``cloud.minio.enabled``, ``cloud.generateNewSecrets``; uploader sidecars off without MinIO),
  ``defaults.volumeClaims.enabled`` (``--pvcs``), ``crds.*``, static IPs and load balancer types; up to 3 attempts,
  15 s apart, uninstalling in between;
- then waits for the network-node pods (``solo.hedera.com/type=network-node`` + ``node-name``), HAProxy
  (``solo.hedera.com/type=haproxy``) and Envoy (``solo.hedera.com/type=envoy-proxy``) pods Running and the MinIO
  tenant pods (``v1.min.io/tenant=minio``) Ready; then sets each consensus node to ``requested``, adds one HAProxy and
  one Envoy component per node (phase ``deployed``) and records the consensus node version.
- destroy uninstalls the release, force-deletes the pods, deletes the remote config and waits until it is gone,
  deletes PVCs and Secrets, and deletes the namespace when solo created it (label
  ``app.kubernetes.io/created-by=solo``).

Differences, on purpose: a deployed release with the same values and chart version is left alone (upstream always
uninstalls and reinstalls); the local keys directory is kept (upstream deletes it), because the mirror node step
builds its address book from it in parallel; the remote config is changed with compare-and-swap writes.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _keys, _remote_config, _run_state
from ansible_collections.hiero.solo.plugins.module_utils._config import CHARTS, COMPONENTS, parse_version
from ansible_collections.hiero.solo.plugins.module_utils._errors import HelmError, HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._helm import ChartSource, chart_source_for, values_file
from ansible_collections.hiero.solo.plugins.module_utils._pod import wait_pods
from ansible_collections.hiero.solo.plugins.module_utils._steps import _workloads as wl
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    DEFAULT_RUN_WAIT_S,
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

STEP = "consensus_network"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(STEP)

RELEASE = "solo-deployment"
COMPONENT = "solo_deployment"
COMMAND = "consensus network deploy"
DEFAULT_WAIT_S = 900  # PODS_RUNNING_MAX_ATTEMPTS 900 x 1 s
DESTROY_WAIT_S = 120  # NETWORK_DESTROY_WAIT_TIMEOUT, and the remote config deletion poll (120 x 1 s)
DEFAULT_ATTEMPTS = 3
DEFAULT_RETRY_DELAY_S = 15
ACCOUNT_START = 3  # constants.DEFAULT_START_ID_NUMBER: node<n> is account <shard>.<realm>.<2+n>
BLOCK_NODE_PORT = 40840
TSS_MIN_VERSION = (0, 74, 0)
# TSS message-size limits written into block-nodes.json (solo's tss-config.yaml defaults).
TSS_SOFT_LIMIT_BYTES = 4194304
TSS_HARD_LIMIT_BYTES = 37748736
NAMESPACE_CREATED_BY = ("app.kubernetes.io/created-by", "solo")
MINIO_SELECTOR = "v1.min.io/tenant=minio"
HAPROXY_SELECTOR = "solo.hedera.com/type=haproxy"
ENVOY_SELECTOR = "solo.hedera.com/type=envoy-proxy"

# solo's resources/solo-values.yaml: applied after the chart defaults, before everything else.
SOLO_VALUES: dict[str, Any] = {
    "defaults": {
        "root": {
            "extraEnv": [
                {"name": "JAVA_HEAP_MIN", "value": "256m"},
                {"name": "JAVA_HEAP_MAX", "value": "6g"},
                {
                    "name": "JAVA_OPTS",
                    "value": "-XX:+UseG1GC -XX:MaxDirectMemorySize=1500m --add-opens java.base/jdk.internal.misc="
                    "ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true",
                },
            ]
        },
        "haproxy": {
            "maxconn": 1024,
            "timeouts": {"tunnel": "5m"},
            "probes": {"livenessPeriodSeconds": 10, "readinessPeriodSeconds": 10, "startupPeriodSeconds": 5},
        },
    },
    "minio-server": {
        "tenant": {
            "pools": [
                {"servers": 1, "name": "pool-1", "storageClassName": "standard", "volumesPerServer": 1, "size": "10Gi"}
            ]
        }
    },
}

# The values-file section keys (hiero_solo_config.steps.consensus_network.params) this module applies.
SUPPORTED_PARAMS = frozenset(
    {
        "pvcs",
        "load_balancer",
        "haproxy_ips",
        "envoy_ips",
        "network_node_ips",
        "values_file",
        "tss",
        "service_monitor",
        "pod_log",
        "genesis_throttles_file",
        "consensus_node_version",
        "solo_chart_version",
        "node_aliases",
    }
)

CONSENSUS_NETWORK_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "namespace": {"type": "str", "required": True},
    "node_aliases": {"type": "list", "elements": "str"},
    "release_tag": {"type": "str", "aliases": ["consensus_node_version"]},
    "solo_chart_version": {"type": "str"},
    "keys_dir": {"type": "path"},
    "minio": {"type": "bool", "default": True},
    "params": {"type": "dict", "default": {}},
    "realm": {"type": "int", "default": 0},
    "shard": {"type": "int", "default": 0},
    "install_attempts": {"type": "int", "default": DEFAULT_ATTEMPTS},
    "install_retry_delay": {"type": "float", "default": DEFAULT_RETRY_DELAY_S},
    "delete_pvcs": {"type": "bool", "default": True},
    "delete_secrets": {"type": "bool", "default": True},
    "cluster_ref": {"type": "str"},
    "solo_home": {"type": "path"},
}


# ---------------------------------------------------------------------------------------------------------------
# Inputs


def check_aliases(value: Any) -> list[str]:
    if not value:
        raise InputError("node_aliases", "required with state=present: the consensus nodes, e.g. [node1, node2]")
    aliases = []
    for alias in value:
        _remote_config.component_id_for_alias(alias)  # InputError unless it ends in a number
        check_label("node_aliases", alias)
        if alias in aliases:
            raise InputError("node_aliases", f"{alias} is listed twice")
        aliases.append(alias)
    return aliases


def node_id(alias: str) -> int:
    """``node1`` → 0 (solo's nodeIdFromNodeAlias)."""
    return _remote_config.component_id_for_alias(alias) - 1


def account_id(alias: str, realm: int, shard: int) -> str:
    return f"{shard}.{realm}.{ACCOUNT_START + node_id(alias)}"


def default_source(version: str | None) -> ChartSource:
    chart = CHARTS[COMPONENT]
    wanted = version or COMPONENTS["solo_chart"].default
    return ChartSource(chart.kind, chart.chart, repo=chart.repo, version=wanted.lstrip("v"))


def chart_source(params: Mapping[str, Any]) -> ChartSource:
    option = params.get("chart_sources") or {}
    if not isinstance(option, Mapping):
        raise InputError("chart_sources", f"expected a mapping of component to source, got {type(option).__name__}")
    version = params.get("solo_chart_version")
    if version:
        version = parse_version("solo_chart_version", version).text(prefixed=False)
    return chart_source_for(option, COMPONENT, default_source(version))


def tss_enabled(tss: bool, release_tag: str | None) -> bool:
    """solo: TSS is on with ``--tss`` (default true) for consensus nodes from v0.74.0."""
    if not tss or not release_tag:
        return False
    version = parse_version("release_tag", release_tag)
    return (version.major, version.minor, version.patch) >= TSS_MIN_VERSION


def check_params(params: Mapping[str, Any], warn: Callable[[str], None]) -> dict[str, Any]:
    section = dict(params.get("params") or {})
    ignored = sorted(key for key in section if key not in SUPPORTED_PARAMS)
    if ignored:
        warn(f"params: not applied by hiero.solo.consensus_network: {', '.join(ignored)}")
    for key in ("pvcs", "load_balancer", "tss", "service_monitor", "pod_log"):
        if key in section and not isinstance(section[key], bool):
            raise InputError(f"params.{key}", f"expected a boolean, got {section[key]!r}")
    return section


# ---------------------------------------------------------------------------------------------------------------
# Values (pure)


def block_nodes_json(doc: Mapping[str, Any], alias: str, namespace: str, tss: bool) -> str | None:
    """The node's ``block-nodes.json`` (BlockNodesJsonWrapper) from its blockNodeMap, or None without block nodes."""
    node = _remote_config.get_component(doc, "consensusNodes", _remote_config.component_id_for_alias(alias))
    if node is None:
        return None
    entries = []
    domains = {c.get("name"): c.get("dnsBaseDomain") for c in doc.get("clusters") or [] if isinstance(c, Mapping)}
    for pair in node.get("blockNodeMap") or []:
        block_id, priority = pair[0], pair[1]
        block = _remote_config.get_component(doc, "blockNodes", block_id)
        if block is None:
            continue
        metadata = block.get("metadata") or {}
        domain = domains.get(metadata.get("cluster")) or _remote_config.DEFAULT_DNS_BASE_DOMAIN
        entry: dict[str, Any] = {
            "address": f"block-node-{block_id}.{metadata.get('namespace') or namespace}.svc.{domain}",
            "streamingPort": BLOCK_NODE_PORT,
            "servicePort": BLOCK_NODE_PORT,
            "priority": priority,
        }
        if tss:
            state = doc.get("state") or {}
            entry["messageSizeSoftLimitBytes"] = state.get("blockNodeMessageSizeSoftLimitBytes") or TSS_SOFT_LIMIT_BYTES
            entry["messageSizeHardLimitBytes"] = state.get("blockNodeMessageSizeHardLimitBytes") or TSS_HARD_LIMIT_BYTES
        entries.append(entry)
    for pair in node.get("externalBlockNodeMap") or []:
        external = next(
            (e for e in (doc.get("state") or {}).get("externalBlockNodes") or [] if e.get("id") == pair[0]), None
        )
        if external is not None:
            entries.append(
                {
                    "address": external.get("address"),
                    "streamingPort": external.get("port"),
                    "servicePort": external.get("port"),
                    "priority": pair[1],
                }
            )
    if not entries:
        return None
    return json.dumps({"nodes": entries}, indent=2)


def desired_values(
    aliases: list[str],
    *,
    namespace: str,
    realm: int,
    shard: int,
    minio: bool,
    section: Mapping[str, Any],
    doc: Mapping[str, Any],
    tss: bool,
    user_values: list[Mapping[str, Any]] = (),  # type: ignore[assignment]
    throttles: str | None = None,
) -> dict[str, Any]:
    """The release's values: solo-values.yaml < profile (node list) < user files < solo's --set flags."""
    nodes = []
    for alias in aliases:
        entry: dict[str, Any] = {"name": alias, "nodeId": node_id(alias), "accountId": account_id(alias, realm, shard)}
        json_text = block_nodes_json(doc, alias, namespace, tss)
        if json_text is not None:
            entry["blockNodesJson"] = json_text
        nodes.append(entry)
    values = wl.merge_values(SOLO_VALUES, {"hedera": {"nodes": nodes}})
    for extra in user_values:
        values = wl.merge_values(values, extra)
    sets: list[tuple[str, Any]] = []
    if minio:
        sets += [("cloud.minio.enabled", True), ("cloud.generateNewSecrets", True)]
    else:
        sets += [
            ("cloud.minio.enabled", False),
            ("cloud.generateNewSecrets", False),
            ("defaults.sidecars.recordStreamUploader.enabled", False),
            ("defaults.sidecars.eventStreamUploader.enabled", False),
            ("defaults.sidecars.blockstreamUploader.enabled", False),
        ]
    sets += [(f"hedera.nodes[{index}].name", alias) for index, alias in enumerate(aliases)]
    sets += [
        ("telemetry.prometheus.svcMonitor.enabled", False),
        ("crds.serviceMonitor.enabled", bool(section.get("service_monitor", False))),
        ("crds.podLog.enabled", bool(section.get("pod_log", False))),
        ("defaults.volumeClaims.enabled", bool(section.get("pvcs", False))),
    ]
    for key, value_name in (
        ("haproxy_ips", "haproxyStaticIP"),
        ("envoy_ips", "envoyProxyStaticIP"),
        ("network_node_ips", "networkNodeStaticIP"),
    ):
        for alias, address in wl.parse_node_map(f"params.{key}", section.get(key), aliases).items():
            sets.append((f"hedera.nodes[{aliases.index(alias)}].{value_name}", address))
    if throttles is not None:
        sets.append(("hedera.configMaps.genesisThrottlesJson", throttles))
    if section.get("load_balancer"):
        sets += [
            ("defaults.haproxy.service.type", "LoadBalancer"),
            ("defaults.envoyProxy.service.type", "LoadBalancer"),
            ("defaults.consensus.service.type", "LoadBalancer"),
        ]
    for path, value in sets:
        wl.set_value(values, path, value)
    return values


def desired_document(
    doc: dict[str, Any] | None,
    *,
    namespace: str,
    aliases: list[str],
    release_tag: str | None,
    chart_version: str | None,
    tss: bool,
    reset_phases: bool,
) -> dict[str, Any]:
    """The remote config after the deploy (a pure function of ``doc``: it is re-applied after a write conflict)."""
    if doc is None:
        raise HieroError(f"the remote config in namespace {namespace} disappeared; run hiero.solo.deployment again")
    before = copy.deepcopy(doc)
    cluster = wl.cluster_of(doc, namespace)
    for alias in aliases:
        component_id = _remote_config.component_id_for_alias(alias)
        if _remote_config.get_component(doc, "consensusNodes", component_id) is None:
            _remote_config.add_component(
                doc, "consensusNodes", _remote_config.new_component("consensusNodes", component_id, namespace, cluster)
            )
        elif reset_phases:
            # A (re)installed release has fresh pods: the nodes need setup again (solo sets them to requested).
            _remote_config.set_phase(doc, "consensusNodes", component_id, "requested")
    for kind in ("envoyProxies", "haProxies"):
        while len(_remote_config.components(doc, kind)) < len(aliases):
            component = _remote_config.new_component(
                kind, _remote_config.next_id(doc, kind), namespace, cluster, phase="deployed"
            )
            _remote_config.add_component(doc, kind, component)
    if release_tag:
        _remote_config.set_version(doc, "consensusNodes", release_tag)
    if chart_version:
        _remote_config.set_version(doc, "chart", chart_version)
    state = doc.setdefault("state", {})
    if state.get("tssEnabled") != tss:
        state["tssEnabled"] = tss
    return wl.finish_change(before, doc, COMMAND)


# ---------------------------------------------------------------------------------------------------------------
# Keys → Secrets


def node_keys(core: Any, namespace: str, aliases: list[str], keys_dir: str) -> list[_keys.NodeKeys]:
    """Each node's keys from the keys directory, else from the Secrets made by an earlier deploy."""
    tls_secret = wl.read_secret(core, namespace, _keys.TLS_SECRET_NAME)
    found = []
    for alias in aliases:
        keys = _keys.load_keys(keys_dir, alias)
        if keys is None:
            gossip = wl.read_secret(core, namespace, _keys.gossip_secret_name(alias))
            data = {
                **dict((gossip.data if gossip else None) or {}),
                **dict((tls_secret.data if tls_secret else None) or {}),
            }
            keys = _keys.keys_from_secret_data(data, alias)
        if keys is None:
            missing = ", ".join(_keys.key_file_names(alias))
            raise HieroError(
                f"the keys of {alias} are neither in {keys_dir} ({missing}) nor in the Secrets "
                f"{namespace}/{_keys.gossip_secret_name(alias)} and {namespace}/{_keys.TLS_SECRET_NAME}; "
                "run hiero.solo.keys first",
                node=alias,
            )
        found.append(keys)
    return found


# ---------------------------------------------------------------------------------------------------------------
# Helm


def release_summary(status: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not status:
        return None
    chart = (status.get("chart") or {}).get("metadata") or {}
    return {
        "name": status.get("name"),
        "namespace": status.get("namespace"),
        "revision": status.get("version"),
        "status": (status.get("info") or {}).get("status"),
        "chart": chart.get("name"),
        "chart_version": chart.get("version"),
    }


def release_matches(
    status: Mapping[str, Any] | None, values: Mapping[str, Any] | None, desired: Any, source: ChartSource
) -> bool:
    """A deployed release with exactly the desired values (and chart version, when the source names one)."""
    summary = release_summary(status)
    if summary is None or summary["status"] != "deployed":
        return False
    if source.version and summary["chart_version"] != source.version:
        return False
    return (values or {}) == desired


def install_with_retries(
    helm: Any,
    source: ChartSource,
    namespace: str,
    values: Mapping[str, Any],
    *,
    attempts: int,
    delay_s: float,
    check: Callable[[], None],
    warn: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """``helm upgrade --install`` up to ``attempts`` times, ``delay_s`` apart, uninstalling in between (as solo)."""
    last: HelmError | None = None
    with values_file(values) as path:
        for attempt in range(1, attempts + 1):
            check()
            try:
                return helm.upgrade_install(RELEASE, source, namespace, values_files=[path])
            except HelmError as exc:
                last = exc
                if attempt == attempts:
                    break
                warn(f"attempt {attempt} of {attempts} to install {namespace}/{RELEASE} failed: {exc.msg}")
                try:
                    helm.uninstall(RELEASE, namespace, wait=True)
                except HieroError as cleanup:
                    warn(f"could not remove the failed release {namespace}/{RELEASE}: {cleanup}")
                sleep(delay_s)
    assert last is not None
    raise HelmError(
        f"release {namespace}/{RELEASE} ({source.describe()}) failed after {attempts} attempt(s): {last.msg}",
        argv=last.argv,
        rc=last.rc,
        stdout=last.stdout,
        stderr=last.stderr,
    )


# ---------------------------------------------------------------------------------------------------------------
# Waits


def wait_network(
    core: Any, namespace: str, aliases: list[str], minio: bool, timeout_s: float, heartbeat: Callable[[], None] | None
) -> dict[str, list[str]]:
    """Network-node, HAProxy and Envoy pods Running and the MinIO tenant Ready; returns the pod names per kind."""
    deadline = wl.Deadline(timeout_s)
    pods: dict[str, list[str]] = {}

    def names(found: list[dict[str, Any]]) -> list[str]:
        return sorted((pod.get("metadata") or {}).get("name") for pod in found)

    for alias in aliases:
        selector = f"solo.hedera.com/node-name={alias},solo.hedera.com/type=network-node"
        found = wait_pods(
            core, namespace, selector, f"consensus node {alias} pod", deadline.left(), heartbeat=heartbeat
        )
        pods[alias] = names(found)
    count = len(aliases)
    pods["haproxy"] = names(
        wait_pods(
            core, namespace, HAPROXY_SELECTOR, "HAProxy pods", deadline.left(), min_count=count, heartbeat=heartbeat
        )
    )
    pods["envoy_proxy"] = names(
        wait_pods(
            core, namespace, ENVOY_SELECTOR, "Envoy proxy pods", deadline.left(), min_count=count, heartbeat=heartbeat
        )
    )
    if minio:
        pods["minio"] = names(
            wait_pods(
                core, namespace, MINIO_SELECTOR, "MinIO tenant pods", deadline.left(), ready=True, heartbeat=heartbeat
            )
        )
    return pods


# ---------------------------------------------------------------------------------------------------------------
# present


def present(module: Any) -> dict[str, Any]:
    params = module.params
    namespace = check_label("namespace", params["namespace"])
    aliases = check_aliases(params.get("node_aliases"))
    check_run_options(params)
    section = check_params(params, module.warn)
    release_tag = (
        params.get("release_tag") or section.get("consensus_node_version") or COMPONENTS["consensus_node"].default
    )
    release_tag = parse_version("release_tag", release_tag).text(prefixed=True)
    source = chart_source(params)
    attempts = params["install_attempts"]
    if attempts < 1:
        raise InputError("install_attempts", f"expected at least 1, got {attempts}")
    delay = params["install_retry_delay"]
    if delay < 0:
        raise InputError("install_retry_delay", f"expected seconds >= 0, got {delay}")
    tss = tss_enabled(section.get("tss", True), release_tag)
    minio = bool(params["minio"])
    user_values = [
        wl.load_values_file("params.values_file", path)
        for path in wl.values_files_of("params.values_file", section.get("values_file"))
    ]
    throttles = _read_text("params.genesis_throttles_file", section.get("genesis_throttles_file"))
    timeout = params.get("wait_timeout")
    timeout = DEFAULT_WAIT_S if timeout is None else timeout
    home = solo_home(params)
    keys_dir = os.path.abspath(
        os.path.expanduser(params.get("keys_dir") or _keys.default_keys_dir({**os.environ, "SOLO_HOME": home}))
    )
    if params.get("cluster_ref"):
        use_cluster_ref_context(module, check_label("cluster_ref", params["cluster_ref"]), home)
    core = module.clients().core
    helm = module.helm()
    actions: list[str] = []

    with run_step(module, namespace, STEP):
        doc = wl.load_remote_config(core, namespace, STEP)
        keys = node_keys(core, namespace, aliases, keys_dir)
        secrets = _keys.secrets_for(keys)
        existing = {name: wl.read_secret(core, namespace, name) for name in secrets}
        stale = [
            name for name, spec in secrets.items() if wl.secret_differs(existing[name], spec["data"], spec["labels"])
        ]
        values = desired_values(
            aliases,
            namespace=namespace,
            realm=params["realm"],
            shard=params["shard"],
            minio=minio,
            section=section,
            doc=doc,
            tss=tss,
            user_values=user_values,
            throttles=throttles,
        )
        status = helm.status(RELEASE, namespace)
        current_values = helm.get_values(RELEASE, namespace) if status is not None else None
        install = not release_matches(status, current_values, values, source)

        def remote_change(current: dict[str, Any] | None) -> dict[str, Any]:
            return desired_document(
                current,
                namespace=namespace,
                aliases=aliases,
                release_tag=release_tag,
                chart_version=source.version,
                tss=tss,
                reset_phases=install,
            )

        doc_planned = remote_change(copy.deepcopy(doc))
        actions += [f"write Secret {namespace}/{name}" for name in stale]
        if install:
            verb = "install" if status is None else "upgrade"
            actions.append(f"{verb} release {namespace}/{RELEASE} ({source.describe()})")
        if doc_planned != doc:
            actions.append(f"update remote config {namespace}/{_remote_config.CONFIGMAP_NAME}")
        doc_after = doc_planned
        pods: dict[str, list[str]] = {}
        release = release_summary(status)
        if module.check_mode:
            pass
        elif actions:
            with write_guard(module, namespace, cluster_writes=True) as guard:
                for name in stale:
                    guard.check()
                    wl.write_secret(
                        core, namespace, name, secrets[name]["data"], secrets[name]["labels"], existing[name]
                    )
                if install:
                    release = release_summary(
                        install_with_retries(
                            helm,
                            source,
                            namespace,
                            values,
                            attempts=attempts,
                            delay_s=delay,
                            check=guard.check,
                            warn=module.warn,
                        )
                    )
                pods = wait_network(core, namespace, aliases, minio, timeout, guard.check)
                guard.check()
                doc_after, _changed = _remote_config.mutate(core, namespace, remote_change)
        else:
            pods = wait_network(core, namespace, aliases, minio, timeout, lease_fence(module))

    fact = {
        "namespace": namespace,
        "state": "present",
        "node_aliases": aliases,
        "release": release,
        "chart_source": source.to_dict(),
        "release_tag": release_tag,
        "minio": minio,
        "tss": tss,
        "secrets": sorted(secrets),
        "pods": pods,
        "phases": _phases(doc_after),
    }
    result: dict[str, Any] = {
        "changed": bool(actions),
        "actions": actions,
        "namespace": namespace,
        "release": release,
        "ansible_facts": {"hiero_solo_consensus_network": fact},
    }
    if module.diff_mode:
        result["diff"] = [
            diff_of(
                current_values or {}, values, f"release {RELEASE} values (before)", f"release {RELEASE} values (after)"
            ),
            diff_of(doc, doc_after, "remote config (before)", "remote config (after)"),
        ]
    return result


def _read_text(field: str, path: Any) -> str | None:
    if path in (None, ""):
        return None
    try:
        with open(os.path.expanduser(str(path)), encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise InputError(field, f"cannot read {path}: {exc}") from None


def _phases(doc: Mapping[str, Any] | None) -> dict[str, str]:
    if not doc:
        return {}
    return {
        _remote_config.alias_for_component_id((c.get("metadata") or {}).get("id")): (c.get("metadata") or {}).get(
            "phase"
        )
        for c in _remote_config.components(doc, "consensusNodes")
    }


# ---------------------------------------------------------------------------------------------------------------
# absent


@contextlib.contextmanager
def destroy_run(module: Any, core: Any, namespace: str, exists: bool) -> Iterator[dict[str, bool]]:
    """Run-state for a step that may delete the namespace holding the run-state: wait and mark running as usual,
    mark done only while the namespace (and so the run-state) still exists."""
    params = module.params
    run_id = None if module.check_mode or not exists else params.get("run_id")
    outcome = {"namespace_deleted": False}
    if run_id is None:
        yield outcome
        return
    timeout = params.get("wait_timeout")
    try:
        _run_state.wait_for(
            core,
            namespace,
            run_id,
            params.get("wait_for") or [],
            DEFAULT_RUN_WAIT_S if timeout is None else timeout,
            fence=lease_fence(module),
        )
        _run_state.mark(core, namespace, run_id, STEP, _run_state.RUNNING)
    except Exception as exc:
        with contextlib.suppress(Exception):
            _run_state.mark(core, namespace, run_id, STEP, _run_state.FAILED, error=str(exc))
        raise
    try:
        yield outcome
    except Exception as exc:
        if not outcome["namespace_deleted"]:
            with contextlib.suppress(Exception):
                _run_state.mark(core, namespace, run_id, STEP, _run_state.FAILED, error=str(exc))
        raise
    if not outcome["namespace_deleted"]:
        _run_state.mark(core, namespace, run_id, STEP, _run_state.DONE)


def absent(module: Any) -> dict[str, Any]:
    params = module.params
    namespace = check_label("namespace", params["namespace"])
    check_run_options(params)
    timeout = params.get("wait_timeout")
    timeout = DESTROY_WAIT_S if timeout is None else timeout
    home = solo_home(params)
    if params.get("cluster_ref"):
        use_cluster_ref_context(module, check_label("cluster_ref", params["cluster_ref"]), home)
    core = module.clients().core
    labels = wl.namespace_labels(core, namespace)
    actions: list[str] = []
    if labels is None:
        fact = {"namespace": namespace, "state": "absent"}
        return {
            "changed": False,
            "actions": [],
            "namespace": namespace,
            "ansible_facts": {"hiero_solo_consensus_network": fact},
        }

    with destroy_run(module, core, namespace, exists=True) as outcome:
        helm = module.helm()
        release = helm.status(RELEASE, namespace)
        pods = wl.list_names(core.list_namespaced_pod, "Pod", namespace)
        remote = _remote_config.CONFIGMAP_NAME in wl.list_names(core.list_namespaced_config_map, "ConfigMap", namespace)
        pvcs = (
            wl.list_names(core.list_namespaced_persistent_volume_claim, "PersistentVolumeClaim", namespace)
            if params["delete_pvcs"]
            else []
        )
        secrets = wl.list_names(core.list_namespaced_secret, "Secret", namespace) if params["delete_secrets"] else []
        ours = labels.get(NAMESPACE_CREATED_BY[0]) == NAMESPACE_CREATED_BY[1]
        if release is not None:
            actions.append(f"uninstall release {namespace}/{RELEASE}")
        actions += [f"delete Pod {namespace}/{name}" for name in pods]
        if remote:
            actions.append(f"delete ConfigMap {namespace}/{_remote_config.CONFIGMAP_NAME}")
        actions += [f"delete PersistentVolumeClaim {namespace}/{name}" for name in pvcs]
        actions += [f"delete Secret {namespace}/{name}" for name in secrets]
        if ours:
            actions.append(f"delete Namespace {namespace}")
        else:
            module.warn(
                f"namespace {namespace} is kept: it lacks the label {'='.join(NAMESPACE_CREATED_BY)}, "
                "so solo did not create it"
            )
        if actions and not module.check_mode:
            with write_guard(module, namespace, cluster_writes=True) as guard:
                if release is not None:
                    guard.check()
                    helm.uninstall(RELEASE, namespace)
                for name in wl.list_names(core.list_namespaced_pod, "Pod", namespace):
                    guard.check()
                    wl.delete_named(core.delete_namespaced_pod, "Pod", namespace, name, grace_period_s=0)
                if remote:
                    guard.check()
                    wl.delete_named(
                        core.delete_namespaced_config_map, "ConfigMap", namespace, _remote_config.CONFIGMAP_NAME
                    )
                    wl.wait_gone(
                        lambda: _read_configmap_or_none(core, namespace),
                        f"ConfigMap {namespace}/{_remote_config.CONFIGMAP_NAME}",
                        timeout,
                    )
                for name in pvcs:
                    guard.check()
                    wl.delete_named(
                        core.delete_namespaced_persistent_volume_claim, "PersistentVolumeClaim", namespace, name
                    )
                for name in secrets:
                    guard.check()
                    wl.delete_named(core.delete_namespaced_secret, "Secret", namespace, name)
                if ours:
                    # The Lease and the run-state live in this namespace: this is the step's last write.
                    guard.check()
                    outcome["namespace_deleted"] = True
                    wl.delete_named(core.delete_namespace, "Namespace", None, namespace, grace_period_s=0)
                    wl.wait_gone(lambda: wl.namespace_labels(core, namespace), f"Namespace {namespace}", timeout)

    fact = {"namespace": namespace, "state": "absent"}
    return {
        "changed": bool(actions),
        "actions": actions,
        "namespace": namespace,
        "ansible_facts": {"hiero_solo_consensus_network": fact},
    }


def _read_configmap_or_none(core: Any, namespace: str) -> Any:
    from ansible_collections.hiero.solo.plugins.module_utils._configmap import read_configmap

    return read_configmap(core, namespace, _remote_config.CONFIGMAP_NAME)


def run(module: Any) -> dict[str, Any]:
    """Carry out one ``consensus_network`` task; every input is checked before anything is written."""
    if module.params["state"] == "absent":
        return absent(module)
    return present(module)
