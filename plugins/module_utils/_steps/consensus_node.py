# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``consensus_node`` step: solo's ``consensus node setup`` (state ``configured``) and ``consensus node start``
(state ``started``).

Facts from hiero-ledger/solo (solo-spec §3.8, §3.9; ``src/core/platform-installer.ts``, ``src/commands/node/tasks.ts``,
``src/core/genesis-network-models/*``, ``resources/extract-platform.sh``):

- setup uploads ``build-<tag>.zip``, ``build-<tag>.sha384`` and ``extract-platform.sh`` to ``/home/hedera`` in each
  node pod's ``root-container`` and runs ``extract-platform.sh <tag>`` (it checks the checksum with ``sha384sum -c``
  and unpacks ``data/lib``, ``data/apps``, ``VERSION`` into ``/opt/hgcapp/services-hedera/HapiApp2.0``); then writes
  ``genesis-network.json`` into ``…/data/config/`` and an archive copy into ``…/data/config/.archive/``, sets
  ``hedera:hedera`` and mode 0750 on the HAPI directories, records the consensus node version and sets each node to
  ``configured``. The genesis file lists every node (``nodeMetadata[].node`` and ``.rosterEntry``): node id, account,
  gossip endpoint ``network-<alias>-svc.<ns>.svc.<domain>:50111``, service endpoints on 50211 and 50212, the gossip
  certificate (base64 DER), weight 500, and an ED25519 admin key kept in the Secret ``account-key-<account>``
  (``privateKey``/``publicKey`` = base64 of the DER hex, label ``solo.hedera.com/account-id``).
- start waits for the pod to be Ready, runs ``/command/network-node-lifecycle`` (``stop-and-disable-autostart`` then
  ``start-and-enable-autostart``; nothing for a node that is already ACTIVE), waits for ``platform_PlatformStatus``
  2 (ACTIVE) from ``curl -s http://localhost:9999/metrics`` in the pod (300 x 1 s per node, CATASTROPHIC_FAILURE ends
  the wait), waits for the proxies, then sets each node to ``started`` and the ledger to ``initialized``.

Here the build is verified on the controller before any pod is touched, and a node whose pod already holds this
build and this genesis file (checked with ``sha384sum`` in the pod) and that the remote config records as configured
is left alone; a node already ACTIVE on the recorded version is left alone by ``started``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _keys, _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._config import parse_version
from ansible_collections.hiero.solo.plugins.module_utils._download import verify_build
from ansible_collections.hiero.solo.plugins.module_utils._errors import (
    DependencyMissing,
    HieroError,
    InputError,
    WaitTimeout,
)
from ansible_collections.hiero.solo.plugins.module_utils._pod import (
    ROOT_CONTAINER,
    UploadFile,
    exec_in_pod,
    failure,
    upload_files,
    wait_pods,
)
from ansible_collections.hiero.solo.plugins.module_utils._steps import _workloads as wl
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    check_label,
    check_run_options,
    lease_fence,
    record_failure,
    run_step,
    solo_home,
    use_cluster_ref_context,
    write_guard,
)
from ansible_collections.hiero.solo.plugins.module_utils._steps.consensus_network import (
    ENVOY_SELECTOR,
    HAPROXY_SELECTOR,
    account_id,
    check_aliases,
    node_id,
)

STEP_NAMES = {"configured": "consensus_node_configured", "started": "consensus_node_started"}
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(lambda params: STEP_NAMES.get(params.get("state")))

COMMANDS = {"configured": "consensus node setup", "started": "consensus node start"}

HOME_DIR = "/home/hedera"
HGCAPP_DIR = "/opt/hgcapp"
HAPI_DIR = "/opt/hgcapp/services-hedera/HapiApp2.0"
CONFIG_DIR = f"{HAPI_DIR}/data/config"
GENESIS_FILE = "genesis-network.json"
EXTRACT_SCRIPT = "extract-platform.sh"
LIFECYCLE = "/command/network-node-lifecycle"
METRICS_URL = "http://localhost:9999/metrics"
STATUS_METRIC = "platform_PlatformStatus"
GOSSIP_PORT = 50111  # HEDERA_NODE_EXTERNAL_GOSSIP_PORT
GRPC_PORT = 50211
NODE_WEIGHT = 500  # HEDERA_NODE_DEFAULT_STAKE_AMOUNT
ACCOUNT_ID_LABEL = "solo.hedera.com/account-id"

EXTRACT_TIMEOUT_S = 600
UPLOAD_TIMEOUT_S = 900
DEFAULT_READY_WAIT_S = 120  # solo: CN pod Ready, 120 x 1 s
DEFAULT_ACTIVE_WAIT_S = 300  # NETWORK_NODE_ACTIVE_MAX_ATTEMPTS 300 x 1 s, per node
POLL_S = 1.0

# NodeStatusCodes (src/core/enumerations.ts).
STATUS_NAMES = {
    0: "NO_VALUE",
    1: "STARTING_UP",
    2: "ACTIVE",
    4: "BEHIND",
    5: "FREEZING",
    6: "FREEZE_COMPLETE",
    7: "REPLAYING_EVENTS",
    8: "OBSERVING",
    9: "CHECKING",
    10: "RECONNECT_COMPLETE",
    11: "CATASTROPHIC_FAILURE",
}
ACTIVE = 2
CATASTROPHIC_FAILURE = 11

# Our own extract script, the equivalent of solo's resources/extract-platform.sh: verify, unpack, install.
EXTRACT_PLATFORM_SH = r"""#!/bin/bash
# extract-platform.sh <release-tag>: verify and unpack a consensus node platform build (shipped by hiero.solo).
# Expects build-<tag>.zip and build-<tag>.sha384 in /home/hedera.
set -o pipefail
readonly tag="${1:?usage: extract-platform.sh <release-tag>}"
readonly HOME_DIR=/home/hedera
readonly HAPI_DIR=/opt/hgcapp/services-hedera/HapiApp2.0
readonly BUILD_ZIP="${HOME_DIR}/build-${tag}.zip"
readonly CHECKSUM="${HOME_DIR}/build-${tag}.sha384"
readonly WORK_DIR="/tmp/extract-${tag}"
readonly LOG_FILE="${HAPI_DIR}/output/extract-platform.log"

log() {
  mkdir -p "${HAPI_DIR}/output"
  printf '%s - %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*" | tee -a "${LOG_FILE}"
}

fail() {
  log "$*" >&2
  exit 1
}

log "extract-platform.sh ${tag}: begin"
# Never replace jars under a running node: stop it first when it is up.
if [[ -x /command/network-node-lifecycle ]] && pgrep -f 'com.hedera.node.app.ServicesMain' > /dev/null 2>&1; then
  /command/network-node-lifecycle stop-and-disable-autostart || fail "cannot stop the running node"
fi
cd "${HOME_DIR}" || fail "cannot change directory to ${HOME_DIR}"
sha384sum -c "${CHECKSUM}" || fail "SHA-384 of ${BUILD_ZIP} does not match ${CHECKSUM}"
rm -rf "${WORK_DIR}" && mkdir -p "${WORK_DIR}" || fail "cannot create ${WORK_DIR}"
unzip -q -o "${BUILD_ZIP}" -d "${WORK_DIR}" || fail "cannot unzip ${BUILD_ZIP}"
mkdir -p "${HAPI_DIR}/data/lib" "${HAPI_DIR}/data/apps" || fail "cannot create ${HAPI_DIR}/data"
rm -f "${HAPI_DIR}"/data/lib/*.jar "${HAPI_DIR}"/data/apps/*.jar
cp -rf "${WORK_DIR}"/data/lib/. "${HAPI_DIR}/data/lib/" || fail "cannot install data/lib"
cp -rf "${WORK_DIR}"/data/apps/. "${HAPI_DIR}/data/apps/" || fail "cannot install data/apps"
for name in VERSION immediate.sh during-freeze.sh; do
  if [[ -f "${WORK_DIR}/${name}" ]]; then
    cp -f "${WORK_DIR}/${name}" "${HAPI_DIR}/${name}" || fail "cannot install ${name}"
  fi
done
rm -rf "${WORK_DIR}"
log "extract-platform.sh ${tag}: end"
"""

CONSENSUS_NODE_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "configured", "choices": ["configured", "started"]},
    "namespace": {"type": "str", "required": True},
    "node_aliases": {"type": "list", "elements": "str", "required": True},
    "release_tag": {"type": "str", "aliases": ["consensus_node_version"]},
    "build_path": {"type": "path"},
    "checksum_path": {"type": "path"},
    "params": {"type": "dict", "default": {}},
    "realm": {"type": "int", "default": 0},
    "shard": {"type": "int", "default": 0},
    "ready_timeout": {"type": "int", "default": DEFAULT_READY_WAIT_S},
    "cluster_ref": {"type": "str"},
    "solo_home": {"type": "path"},
}

SUPPORTED_PARAMS = {
    "configured": frozenset(
        {"node_aliases", "consensus_node_version", "domain_names", "gossip_endpoint_port", "service_endpoint_port"}
    ),
    "started": frozenset({"node_aliases"}),
}


def pod_name(alias: str) -> str:
    return f"network-{alias}-0"


def node_selector(alias: str) -> str:
    return f"solo.hedera.com/node-name={alias},solo.hedera.com/type=network-node"


# ---------------------------------------------------------------------------------------------------------------
# Genesis network (pure)


def _endpoint(address: str, port: int) -> dict[str, Any]:
    """A ServiceEndpoint as solo's Address writes it: IPv4 as base64 bytes, anything else as a domain name."""
    parts = address.split(".")
    if len(parts) == 4 and all(part.isdigit() and 0 <= int(part) <= 255 for part in parts):
        return {"port": port, "ipAddressV4": base64.b64encode(bytes(int(part) for part in parts)).decode("ascii")}
    return {"domainName": address, "port": port}


def _port_for(field: str, value: Any, alias: str, default: int) -> int:
    """A port option: one number for every node, or ``node1=50111,node2=50112`` per node."""
    if value in (None, ""):
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    for item in text.split(","):
        name, sep, port = item.strip().partition("=")
        if not sep or not port.strip().isdigit():
            raise InputError(field, f"expected a port or <alias>=<port> pairs, got {item.strip()!r}")
        if name == alias:
            return int(port)
    return default


def external_address(doc: Mapping[str, Any], alias: str, namespace: str) -> str:
    """``network-<alias>-svc.<ns>.svc.<dnsBaseDomain>`` from the cluster's DNS pattern in the remote config."""
    cluster_name = wl.cluster_of(doc, namespace)
    cluster = next(
        (c for c in doc.get("clusters") or [] if isinstance(c, Mapping) and c.get("name") == cluster_name), {}
    )
    pattern = cluster.get("dnsConsensusNodePattern") or _remote_config.DEFAULT_DNS_CONSENSUS_NODE_PATTERN
    domain = cluster.get("dnsBaseDomain") or _remote_config.DEFAULT_DNS_BASE_DOMAIN
    return pattern.replace("{nodeAlias}", alias).replace("{namespace}", namespace) + f".{domain}"


def gossip_certificate_der_b64(cert_pem: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    cert = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    return base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")


def genesis_network(
    aliases: list[str],
    *,
    doc: Mapping[str, Any],
    namespace: str,
    realm: int,
    shard: int,
    gossip_certs: Mapping[str, str],
    admin_keys: Mapping[str, bytes],
    section: Mapping[str, Any],
) -> str:
    """The text of ``genesis-network.json`` (GenesisNetworkDataConstructor.toJSON): one entry per node.

    ``admin_keys`` holds each node's raw 32-byte ED25519 public key; it is written as the protobuf JSON of a Key.
    """
    domains = wl.parse_node_map("params.domain_names", section.get("domain_names"), aliases)
    metadata = []
    for alias in aliases:
        address = external_address(doc, alias, namespace)
        gossip_port = _port_for("params.gossip_endpoint_port", section.get("gossip_endpoint_port"), alias, GOSSIP_PORT)
        service_port = _port_for("params.service_endpoint_port", section.get("service_endpoint_port"), alias, GRPC_PORT)
        service_host = domains.get(alias, address)
        certificate = gossip_certificate_der_b64(gossip_certs[alias])
        account = account_id(alias, realm, shard).split(".")
        node = {
            "nodeId": node_id(alias),
            "accountId": {"realmNum": account[1], "shardNum": account[0], "accountNum": account[2]},
            "description": alias,
            "gossipEndpoint": [_endpoint(address, gossip_port)],
            "serviceEndpoint": [_endpoint(service_host, service_port), _endpoint(service_host, service_port + 1)],
            "gossipCaCertificate": certificate,
            "grpcCertificateHash": "",
            "weight": NODE_WEIGHT,
            "deleted": False,
            "adminKey": {"ed25519": base64.b64encode(admin_keys[alias]).decode("ascii")},
        }
        roster = {
            "nodeId": node_id(alias),
            "gossipEndpoint": [_endpoint(address, gossip_port)],
            "gossipCaCertificate": certificate,
            "weight": NODE_WEIGHT,
        }
        metadata.append({"node": node, "rosterEntry": roster})
    return json.dumps({"nodeMetadata": metadata})


# ---------------------------------------------------------------------------------------------------------------
# Admin keys (Secrets account-key-<account>)


def account_secret_name(account: str) -> str:
    return f"account-key-{account}"


def new_admin_key() -> tuple[dict[str, str], bytes]:
    """A fresh ED25519 key as solo stores it (base64 of the DER hex strings) and its raw public key."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError as exc:
        raise DependencyMissing("cryptography", "to make the consensus nodes' admin keys") from exc
    key = Ed25519PrivateKey.generate()
    private_der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key()
    public_der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    data = {
        "privateKey": base64.b64encode(private_der.hex().encode("ascii")).decode("ascii"),
        "publicKey": base64.b64encode(public_der.hex().encode("ascii")).decode("ascii"),
    }
    return data, raw


def admin_public_key(data: Mapping[str, Any] | None, where: str) -> bytes | None:
    """The raw ED25519 public key from an account-key Secret's data; None when it has no usable public key."""
    if not data or not data.get("publicKey"):
        return None
    try:
        hex_der = base64.b64decode(str(data["publicKey"]), validate=True).decode("ascii").strip()
        der = bytes.fromhex(hex_der)
    except ValueError as exc:
        raise HieroError(f"{where}: publicKey is not base64 of a DER hex string ({exc})") from exc
    if len(der) == 32:
        return der  # a raw key written as hex
    if len(der) != 44 or not der.startswith(bytes.fromhex("302a300506032b6570032100")):
        raise HieroError(f"{where}: publicKey is not an ED25519 public key")
    return der[-32:]


# ---------------------------------------------------------------------------------------------------------------
# Metrics


def platform_status(metrics: str) -> int | None:
    """The ``platform_PlatformStatus`` value in Prometheus text, or None when the metric is not there yet."""
    for line in (metrics or "").splitlines():
        line = line.strip()
        if not line.startswith(STATUS_METRIC) or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name != STATUS_METRIC:
            continue
        try:
            return int(float(line.rsplit(None, 1)[-1]))
        except ValueError:
            return None
    return None


def status_name(status: int | None) -> str:
    if status is None:
        return "no platform_PlatformStatus metric yet"
    return f"{STATUS_NAMES.get(status, 'UNKNOWN')} ({status})"


# ---------------------------------------------------------------------------------------------------------------
# Shared


@dataclass
class Context:
    module: Any
    core: Any
    namespace: str
    aliases: list[str]
    section: dict[str, Any]


def _setup(module: Any, state: str) -> Context:
    params = module.params
    namespace = check_label("namespace", params["namespace"])
    aliases = check_aliases(params.get("node_aliases"))
    check_run_options(params)
    section = dict(params.get("params") or {})
    ignored = sorted(key for key in section if key not in SUPPORTED_PARAMS[state])
    if ignored:
        module.warn(f"params: not applied by hiero.solo.consensus_node state={state}: {', '.join(ignored)}")
    return Context(module, None, namespace, aliases, section)


def _connect(ctx: Context) -> None:
    params = ctx.module.params
    if params.get("cluster_ref"):
        use_cluster_ref_context(ctx.module, check_label("cluster_ref", params["cluster_ref"]), solo_home(params))
    ctx.core = ctx.module.clients().core


def _phase_of(doc: Mapping[str, Any], alias: str) -> str | None:
    node = _remote_config.get_component(doc, "consensusNodes", _remote_config.component_id_for_alias(alias))
    return None if node is None else (node.get("metadata") or {}).get("phase")


def _phases(doc: Mapping[str, Any] | None, aliases: list[str]) -> dict[str, str | None]:
    return {alias: (_phase_of(doc, alias) if doc else None) for alias in aliases}


def set_phases(
    doc: dict[str, Any] | None,
    *,
    namespace: str,
    aliases: list[str],
    phase: str,
    command: str,
    version: str | None = None,
    ledger_phase: str | None = None,
) -> dict[str, Any]:
    """The remote config with the nodes in ``phase`` (a pure function of ``doc``, re-applied after a conflict)."""
    if doc is None:
        raise HieroError(f"the remote config in namespace {namespace} disappeared; run hiero.solo.deployment again")
    before = copy.deepcopy(doc)
    for alias in aliases:
        component_id = _remote_config.component_id_for_alias(alias)
        if _remote_config.get_component(doc, "consensusNodes", component_id) is None:
            raise HieroError(f"the remote config in namespace {namespace} has no consensus node {alias}")
        _remote_config.set_phase(doc, "consensusNodes", component_id, phase)
    if version:
        _remote_config.set_version(doc, "consensusNodes", version)
    if ledger_phase:
        _remote_config.set_ledger_phase(doc, ledger_phase)
    return wl.finish_change(before, doc, command)


def _result(
    state: str, ctx: Context, actions: list[str], doc: Mapping[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    fact = {
        "namespace": ctx.namespace,
        "state": state,
        "node_aliases": ctx.aliases,
        "phases": _phases(doc, ctx.aliases),
        **extra,
    }
    return {
        "changed": bool(actions),
        "actions": actions,
        "namespace": ctx.namespace,
        "ansible_facts": {"hiero_solo_consensus_node": fact},
        **extra,
    }


# ---------------------------------------------------------------------------------------------------------------
# configured


def _in_pod_digests(core: Any, namespace: str, alias: str, paths: list[str]) -> dict[str, str]:
    """sha384 of each file in the node's pod ({} for missing files: sha384sum reports them and exits non-zero)."""
    result = exec_in_pod(core, namespace, pod_name(alias), ["sha384sum", *paths], container=ROOT_CONTAINER, check=False)
    digests: dict[str, str] = {}
    for line in result.stdout.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and len(parts[0]) == 96:
            digests[parts[1].strip().lstrip("*")] = parts[0].lower()
    return digests


def configured(module: Any) -> dict[str, Any]:
    params = module.params
    ctx = _setup(module, "configured")
    tag = params.get("release_tag") or ctx.section.get("consensus_node_version")
    if not tag:
        raise InputError("release_tag", "required with state=configured: the consensus node version to install")
    tag = parse_version("release_tag", tag).text(prefixed=True)
    if not params.get("build_path"):
        raise InputError("build_path", "required with state=configured: the platform build zip (from platform_build)")
    build_path = os.path.abspath(os.path.expanduser(params["build_path"]))
    checksum_path = os.path.abspath(
        os.path.expanduser(params.get("checksum_path") or build_path[: -len(".zip")] + ".sha384")
    )
    # A corrupt build already on disk fails here, before the cluster is contacted, naming both checksums.
    # In a parallel run the download (platform_download) may still be going when this step starts: then the
    # build is checked inside run_step, once its prerequisites are done, and still before any pod is touched.
    build_on_disk = os.path.isfile(build_path) and os.path.isfile(checksum_path)
    build_digest = verify_build(build_path, checksum_path) if build_on_disk else None
    zip_name = f"build-{tag}.zip"
    ready_timeout = params["ready_timeout"]
    _connect(ctx)
    core, ns = ctx.core, ctx.namespace
    actions: list[str] = []

    with run_step(module, ns, STEP_NAMES["configured"]):
        if build_digest is None:
            build_digest = verify_build(build_path, checksum_path)
        doc = wl.load_remote_config(core, ns, STEP_NAMES["configured"])
        for alias in ctx.aliases:
            if _phase_of(doc, alias) is None:
                raise HieroError(f"the remote config in namespace {ns} has no consensus node {alias}")
        for alias in ctx.aliases:  # exec needs a running container
            wait_pods(
                core,
                ns,
                node_selector(alias),
                f"consensus node {alias} pod",
                ready_timeout,
                heartbeat=lease_fence(module),
            )
        accounts = {alias: account_id(alias, params["realm"], params["shard"]) for alias in ctx.aliases}
        existing_keys = {alias: wl.read_secret(core, ns, account_secret_name(accounts[alias])) for alias in ctx.aliases}
        admin_keys: dict[str, bytes] = {}
        new_secrets: dict[str, dict[str, str]] = {}
        for alias in ctx.aliases:
            name = account_secret_name(accounts[alias])
            secret = existing_keys[alias]
            key = admin_public_key(secret.data if secret is not None else None, f"Secret {ns}/{name}")
            if key is None:
                data, key = new_admin_key()
                new_secrets[alias] = data
            admin_keys[alias] = key
        gossip_certs = {}
        for alias in ctx.aliases:
            secret = wl.read_secret(core, ns, _keys.gossip_secret_name(alias))
            entry = (secret.data or {}).get(_keys.gossip_cert_file(alias)) if secret is not None else None
            if not entry:
                raise HieroError(
                    f"Secret {ns}/{_keys.gossip_secret_name(alias)} has no {_keys.gossip_cert_file(alias)}: "
                    "run hiero.solo.consensus_network with state=present first"
                )
            gossip_certs[alias] = base64.b64decode(entry).decode("ascii")
        genesis = genesis_network(
            ctx.aliases,
            doc=doc,
            namespace=ns,
            realm=params["realm"],
            shard=params["shard"],
            gossip_certs=gossip_certs,
            admin_keys=admin_keys,
            section=ctx.section,
        ).encode("utf-8")
        genesis_digest = hashlib.sha384(genesis).hexdigest()
        zip_in_pod, genesis_in_pod = f"{HOME_DIR}/{zip_name}", f"{CONFIG_DIR}/{GENESIS_FILE}"

        todo = []
        for alias in ctx.aliases:
            done = _remote_config.phase_at_least(_phase_of(doc, alias), "configured")
            if done and _remote_config.get_version(doc, "consensusNodes") == tag.lstrip("v"):
                digests = _in_pod_digests(core, ns, alias, [zip_in_pod, genesis_in_pod])
                done = digests.get(zip_in_pod) == build_digest and digests.get(genesis_in_pod) == genesis_digest
            else:
                done = False
            if not done:
                todo.append(alias)
        actions += [f"create Secret {ns}/{account_secret_name(accounts[alias])}" for alias in new_secrets]
        actions += [f"install platform {tag} and {GENESIS_FILE} in pod {ns}/{pod_name(alias)}" for alias in todo]

        def remote_change(current: dict[str, Any] | None) -> dict[str, Any]:
            return set_phases(
                current,
                namespace=ns,
                aliases=todo,
                phase="configured",
                command=COMMANDS["configured"],
                version=tag,
            )

        doc_after = remote_change(copy.deepcopy(doc)) if todo else doc
        if doc_after != doc:
            actions.append(f"update remote config {ns}/{_remote_config.CONFIGMAP_NAME}")
        if actions and not module.check_mode:
            with write_guard(module, ns, cluster_writes=True) as guard:
                for alias, data in new_secrets.items():
                    guard.check()
                    name = account_secret_name(accounts[alias])
                    wl.write_secret(core, ns, name, data, {ACCOUNT_ID_LABEL: accounts[alias]}, None)
                for alias in todo:
                    _configure_node(core, ns, alias, tag, build_path, checksum_path, genesis, guard.check)
                if todo:
                    guard.check()
                    doc_after, _changed = _remote_config.mutate(core, ns, remote_change)
    return _result(
        "configured",
        ctx,
        actions,
        doc_after,
        release_tag=tag,
        build={"path": build_path, "checksum_path": checksum_path, "sha384": build_digest},
        configured_nodes=todo,
    )


def _configure_node(
    core: Any,
    namespace: str,
    alias: str,
    tag: str,
    build_path: str,
    checksum_path: str,
    genesis: bytes,
    check: Callable[[], None],
) -> None:
    pod = pod_name(alias)

    def run(command: list[str], timeout_s: float = 120, what: str = "") -> Any:
        check()
        return exec_in_pod(core, namespace, pod, command, container=ROOT_CONTAINER, timeout_s=timeout_s, what=what)

    run(["mkdir", "-p", HOME_DIR, f"{CONFIG_DIR}/.archive"])
    check()
    upload_files(
        core,
        namespace,
        pod,
        HOME_DIR,
        [
            UploadFile(f"build-{tag}.zip", path=build_path),
            UploadFile(f"build-{tag}.sha384", path=checksum_path),
            UploadFile(EXTRACT_SCRIPT, content=EXTRACT_PLATFORM_SH.encode("utf-8"), mode=0o755),
        ],
        container=ROOT_CONTAINER,
        timeout_s=UPLOAD_TIMEOUT_S,
    )
    run(["sync"])
    run([f"{HOME_DIR}/{EXTRACT_SCRIPT}", tag], EXTRACT_TIMEOUT_S, f"extracting platform {tag} on {alias}")
    check()
    upload_files(
        core,
        namespace,
        pod,
        CONFIG_DIR,
        [
            UploadFile(GENESIS_FILE, content=genesis, mode=0o640, owner="hedera", group="hedera", uid=2000, gid=2000),
            UploadFile(
                f".archive/{GENESIS_FILE}",
                content=genesis,
                mode=0o640,
                owner="hedera",
                group="hedera",
                uid=2000,
                gid=2000,
            ),
        ],
        container=ROOT_CONTAINER,
    )
    # As solo: the node runs as hedera and reads everything under these directories.
    for command in (
        ["chown", "-R", "hedera:hedera", HAPI_DIR, HGCAPP_DIR],
        ["chmod", "-R", "0750", HAPI_DIR, HGCAPP_DIR],
    ):
        run(command, what=f"setting permissions on {alias}")


# ---------------------------------------------------------------------------------------------------------------
# started


def read_status(core: Any, namespace: str, alias: str) -> tuple[int | None, str]:
    """(status, description) of the node from its metrics endpoint, read inside its pod."""
    result = exec_in_pod(
        core,
        namespace,
        pod_name(alias),
        ["curl", "-s", METRICS_URL],
        container=ROOT_CONTAINER,
        check=False,
        timeout_s=60,
    )
    if not result.ok:
        detail = result.message if result.rc is None else f"curl exit {result.rc}"
        return None, f"metrics endpoint not answering ({detail})"
    status = platform_status(result.stdout)
    return status, status_name(status)


def wait_active(
    core: Any,
    namespace: str,
    alias: str,
    timeout_s: float,
    check: Callable[[], None] | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Poll the node's metrics until ACTIVE; WaitTimeout naming the pod and the last status seen."""
    deadline = clock() + timeout_s
    while True:
        if check is not None:
            check()
        status, seen = read_status(core, namespace, alias)
        if status == ACTIVE:
            return
        if status == CATASTROPHIC_FAILURE:
            raise HieroError(
                f"consensus node {alias} (pod {namespace}/{pod_name(alias)}) reports {seen}",
                node=alias,
                last_status=seen,
            )
        if clock() >= deadline:
            raise WaitTimeout(
                f"timed out after {timeout_s:g}s waiting for consensus node {alias} (pod {namespace}/"
                f"{pod_name(alias)}) to become ACTIVE; last status seen: {seen}",
                node=alias,
                last_status=seen,
            )
        sleep(POLL_S)


def start_node(core: Any, namespace: str, alias: str, check: Callable[[], None]) -> None:
    for action in ("stop-and-disable-autostart", "start-and-enable-autostart"):
        check()
        result = exec_in_pod(
            core, namespace, pod_name(alias), [LIFECYCLE, action], container=ROOT_CONTAINER, check=False, timeout_s=300
        )
        if not result.ok:
            raise failure(result, f"starting consensus node {alias}")


def started(module: Any) -> dict[str, Any]:
    params = module.params
    ctx = _setup(module, "started")
    tag = params.get("release_tag")
    if tag:
        tag = parse_version("release_tag", tag).text(prefixed=True)
    timeout = params.get("wait_timeout")
    timeout = DEFAULT_ACTIVE_WAIT_S if timeout is None else timeout
    ready_timeout = params["ready_timeout"]
    _connect(ctx)
    core, ns = ctx.core, ctx.namespace
    actions: list[str] = []
    statuses: dict[str, str] = {}

    with run_step(module, ns, STEP_NAMES["started"]):
        doc = wl.load_remote_config(core, ns, STEP_NAMES["started"])
        recorded = _remote_config.get_version(doc, "consensusNodes")
        fence = lease_fence(module)
        todo = []
        for alias in ctx.aliases:
            phase = _phase_of(doc, alias)
            if phase is None:
                raise HieroError(f"the remote config in namespace {ns} has no consensus node {alias}")
            if not _remote_config.phase_at_least(phase, "configured"):
                raise HieroError(
                    f"consensus node {alias} is in phase {phase}, not configured: run hiero.solo.consensus_node "
                    "with state=configured first",
                    node=alias,
                )
            wait_pods(
                core,
                ns,
                node_selector(alias),
                f"consensus node {alias} pod",
                ready_timeout,
                ready=True,
                heartbeat=fence,
            )
            status, seen = read_status(core, ns, alias)
            statuses[alias] = seen
            right_version = tag is None or recorded == tag.lstrip("v")
            if not (status == ACTIVE and right_version):
                todo.append(alias)
        actions += [
            f"start consensus node {alias} (pod {ns}/{pod_name(alias)}, was {statuses[alias]})" for alias in todo
        ]

        def remote_change(current: dict[str, Any] | None) -> dict[str, Any]:
            return set_phases(
                current,
                namespace=ns,
                aliases=ctx.aliases,
                phase="started",
                command=COMMANDS["started"],
                ledger_phase="initialized",
            )

        doc_after = remote_change(copy.deepcopy(doc))
        if doc_after != doc:
            actions.append(f"update remote config {ns}/{_remote_config.CONFIGMAP_NAME}")
        if actions and not module.check_mode:
            with write_guard(module, ns, cluster_writes=True) as guard:
                for alias in todo:
                    start_node(core, ns, alias, guard.check)
                for alias in todo:
                    wait_active(core, ns, alias, timeout, guard.check)
                    statuses[alias] = status_name(ACTIVE)
                _wait_proxies(core, ns, len(ctx.aliases), timeout, guard.check)
                guard.check()
                doc_after, _changed = _remote_config.mutate(core, ns, remote_change)
        elif not module.check_mode:
            _wait_proxies(core, ns, len(ctx.aliases), timeout, fence)
    return _result(
        "started",
        ctx,
        actions,
        doc_after,
        statuses=statuses,
        ledger_phase=(doc_after.get("state") or {}).get("ledgerPhase"),
    )


def _wait_proxies(
    core: Any, namespace: str, count: int, timeout_s: float, heartbeat: Callable[[], None] | None
) -> None:
    deadline = wl.Deadline(timeout_s)
    wait_pods(
        core,
        namespace,
        HAPROXY_SELECTOR,
        "HAProxy pods",
        deadline.left(),
        ready=True,
        min_count=count,
        heartbeat=heartbeat,
    )
    wait_pods(
        core,
        namespace,
        ENVOY_SELECTOR,
        "Envoy proxy pods",
        deadline.left(),
        ready=True,
        min_count=count,
        heartbeat=heartbeat,
    )


def run(module: Any) -> dict[str, Any]:
    """Carry out one ``consensus_node`` task; every input is checked before anything is written."""
    if module.params["state"] == "started":
        return started(module)
    return configured(module)
