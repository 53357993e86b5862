# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``mirror_node`` step: solo's ``mirror node add`` (+ the one-shot pinger) and ``mirror node destroy``.

Facts from hiero-ledger/solo (solo-spec §3.10, §3.14, §3.15; ``src/commands/mirror-node.ts``,
``src/core/shared-resources/*.ts``, ``account-manager.ts buildAddressBookBase64``), in solo's order:

1. ``solo-shared-resources`` (postgres + redis, chart of the solo charts) installed once; postgres pod Ready;
   components ``postgres`` and ``redis`` (phase ``deployed``) in the remote config.
2. Redis settings from Secret ``solo-shared-resources-redis``.
3. Priming: when Secret ``mirror-passwords`` is missing, ``mirror-<id>`` is installed with every application
   disabled so that the chart renders it; the database init reads it.
4. The database init runs in the postgres pod (container ``postgresql``): solo's wrapper around the mirror node's
   ``init.sh``, guarded by the sentinel comment ``solo-initialized`` on the database.
5. The importer's initial address book: a ``NodeAddressBook`` protobuf (base64) with every consensus node, its
   account, gRPC endpoint and the gossip certificate's public key. Built from the keys made by the keys step (the
   keys directory, else the public parts of ``network-<alias>-keys-secrets``), so it never silently lacks a key
   (upstream hazard H7: solo only warns and leaves ``RSA_PubKey`` empty when the Secret does not exist yet).
6. The mirror ingress controller ``haproxy-ingress-<id>`` (IngressClass ``mirror-ingress-class``).
7. ``mirror-<id>`` with solo's values; phase ``deployed`` and ``versions.mirrorNodeChart``.
8. Importer Ready, then every mirror pod Ready.
9. The pinger (when asked for): configured in the values but disabled, then enabled by a values change once the
   consensus nodes are started (solo #4749: it crashed when started earlier).

Beyond solo: every step compares what exists with what is wanted and changes only what differs, so a re-run of a
healthy deployment changes nothing (solo reinstalls); the database check is read-only; absent also removes the
objects solo leaves behind (IngressClass and leader-election objects even when the namespace is gone, hazard H9).

What the explorer and relay steps share with this one lives in ``_steps/_component.py``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _keys, _local_config, _pod, _remote_config, _run_state
from ansible_collections.hiero.solo.plugins.module_utils._config import (
    COMPONENTS,
    parse_version,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError, WaitTimeout
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    DEFAULT_RUN_WAIT_S,
    check_label,
    check_run_options,
    lease_fence,
    record_failure,
    run_step,
    solo_home,
    use_cluster_ref_context,
)
from ansible_collections.hiero.solo.plugins.module_utils._steps._component import (
    DEFAULT_OPERATOR_NUMBER,
    GRPC_PORT,
    INGRESS_CONTROLLER_PREFIX,
    INGRESS_CONTROLLER_VALUES,
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
    create_ingress_class,
    deep_merge,
    default_cluster_ref,
    delete_leader_election,
    delete_or_absent,
    delete_pvcs,
    delete_release_cluster_objects,
    entity_id,
    ingress_class_exists,
    install_release,
    load_remote_config,
    load_values_files,
    namespace_exists,
    node_account_id,
    node_id_of,
    operator_key_for,
    patch_ingresses,
    plan_then_apply,
    record_deployed,
    release_record,
    remove_components,
    remove_step,
    secret_data,
    step_result,
    uninstall_release,
    values_digest,
    wait_pods_gone,
)

STEP = "mirror_node"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(STEP)

PINGER_STEP = "pinger"
KIND = "mirrorNodes"
DEFAULT_VERSION = COMPONENTS["mirror_node"].default
SHARED_RESOURCES_RELEASE = "solo-shared-resources"
POSTGRES_SELECTOR = "app.kubernetes.io/name=postgres,app.kubernetes.io/instance=solo-shared-resources"
SHARED_RESOURCES_SELECTOR = "app.kubernetes.io/instance=solo-shared-resources"
POSTGRES_CONTAINER = "postgresql"
POSTGRES_SECRET = "solo-shared-resources-passwords"
REDIS_SECRET = "solo-shared-resources-redis"
MIRROR_PASSWORDS_SECRET = "mirror-passwords"
MIRROR_ENV_PREFIX = "HIERO"
CHART_NAMESPACE = "hiero"  # the key under <module>.config where the mirror's Spring configuration lives
DB_NAME = "mirror_node"
DB_SENTINEL = "solo-initialized"
MIRROR_INGRESS_CLASS = "mirror-ingress-class"
MIRROR_INGRESS_CONTROLLER = "mirror-ingress-controller"
MIRROR_TLS_SECRET = "ca-secret-mirror-node"
PINGER_RECIPIENT_NUMBER = 98
BLOCK_NODE_PORT = 40840
# The first mirror node version with the Go pinger and shared redis (solo's MEMORY_ENHANCEMENTS_MIRROR_NODE_VERSION)
# and the first whose importer takes block nodes as nodes[].endpoints[] (solo's chart 0.157.0 boundary).
MIN_VERSION = (0, 152, 0)
BLOCK_NODE_ENDPOINTS_VERSION = (0, 157, 0)
MIN_TSS_CONSENSUS_VERSION = (0, 74, 0)
MIRROR_MODULES = ("monitor", "rest", "grpc", "importer", "restjava", "graphql", "rosetta", "web3")
IMAGE_TAG_MODULES = ("grpc", "importer", "monitor", "pinger", "rest", "restjava", "web3")
DB_INIT_SCRIPT_URL = (
    "https://raw.githubusercontent.com/hiero-ledger/hiero-mirror-node/refs/tags/{tag}"
    "/importer/src/main/resources/db/scripts/init.sh"
)

# Seconds, from solo's attempts x delay: postgres Running 900x1, importer seen 15x2 and Ready 900x2, every other
# mirror pod Ready 300x2, the pinger 900x2.
POSTGRES_WAIT_S = 900
IMPORTER_DETECT_S = 30
IMPORTER_READY_S = 1800
PODS_READY_S = 600
PINGER_READY_S = 1800
DB_INIT_TIMEOUT_S = 600

MIRROR_NODE_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "namespace": {"type": "str", "required": True},
    "cluster_ref": {"type": "str"},
    "solo_home": {"type": "path"},
    "version": {"type": "str", "default": DEFAULT_VERSION},
    "node_aliases": {"type": "list", "elements": "str"},
    "keys_dir": {"type": "path"},
    "realm": {"type": "int", "default": 0},
    "shard": {"type": "int", "default": 0},
    "enable_ingress": {"type": "bool", "default": True},
    "domain_name": {"type": "str"},
    "pinger": {"type": "bool", "default": False},
    "pinger_wait_for": {"type": "list", "elements": "str", "default": ["consensus_node_started"]},
    "operator_id": {"type": "str"},
    "operator_key": {"type": "str", "no_log": True},
    "force_block_node_integration": {"type": "bool", "default": False},
    "db_init_script": {"type": "str"},
    "values_files": {"type": "list", "elements": "path", "default": []},
}


# ---------------------------------------------------------------------------------------------------------------------
# The importer's address book


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 fields encode negatives as ten-byte varints
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_bytes(number: int, value: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(value)) + value


def gossip_public_key_hex(cert_pem: str, where: str) -> str:
    """Hex of the DER SubjectPublicKeyInfo of a gossip certificate (solo's ``RSA_PubKey``)."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
    except ImportError as exc:
        raise HieroError("the Python library cryptography is required to read gossip certificates") from exc
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise HieroError(f"{where}: not a PEM certificate ({exc})") from exc
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return der.hex()


def node_address_entry(
    alias: str, shard: int, realm: int, endpoint: str, port: int, rsa_pub_key_hex: str
) -> dict[str, Any]:
    return {
        "alias": alias,
        "node_id": node_id_of(alias),
        "account_id": node_account_id(alias, shard, realm),
        "endpoint": f"{endpoint}:{port}",
        "domain_name": endpoint,
        "port": port,
        "rsa_pub_key": rsa_pub_key_hex,
    }


def encode_address_book(entries: Sequence[Mapping[str, Any]]) -> bytes:
    """A ``NodeAddressBook`` protobuf, fields in the order and with the explicit zero values protobuf.js writes
    them (solo's encoder), so the bytes are the ones solo would produce."""
    book = b""
    for entry in entries:
        shard, realm, number = (int(part) for part in str(entry["account_id"]).split("."))
        account = _field_varint(1, shard) + _field_varint(2, realm) + _field_varint(3, number)
        service_endpoint = _field_varint(2, int(entry["port"])) + _field_bytes(3, entry["domain_name"].encode())
        address = (
            _field_bytes(4, entry["rsa_pub_key"].encode("ascii"))
            + _field_varint(5, int(entry["node_id"]))
            + _field_bytes(6, account)
            + _field_bytes(8, service_endpoint)
            + _field_bytes(9, entry["alias"].encode())
        )
        book += _field_bytes(1, address)
    return book


def node_fqdn(doc: Mapping[str, Any], alias: str, namespace: str, cluster_ref: str) -> str:
    """The consensus node's in-cluster name from the cluster entry of the remote config (solo's
    renderConsensusNodeFullyQualifiedDomainName)."""
    cluster = next(
        (c for c in doc.get("clusters") or [] if isinstance(c, Mapping) and c.get("name") == cluster_ref),
        None,
    ) or next((c for c in doc.get("clusters") or [] if isinstance(c, Mapping)), {})
    pattern = cluster.get("dnsConsensusNodePattern") or _remote_config.DEFAULT_DNS_CONSENSUS_NODE_PATTERN
    base = cluster.get("dnsBaseDomain") or _remote_config.DEFAULT_DNS_BASE_DOMAIN
    for search, replace in (
        ("{nodeAlias}", alias),
        ("{nodeId}", str(node_id_of(alias))),
        ("{namespace}", namespace),
        ("{cluster}", cluster_ref),
    ):
        pattern = pattern.replace(search, replace, 1)
    return f"{pattern}.{base}"


def gossip_certificate(core: Any, namespace: str, keys_dir: str, alias: str) -> tuple[str, str]:
    """(PEM, where it was read) of the node's gossip certificate: the keys directory first (what the keys step
    made, available before any Secret exists), then the public parts of the nodes' key Secrets."""
    name = _keys.gossip_cert_file(alias)
    path = os.path.join(keys_dir, name)
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read(), path
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError) as exc:
        raise HieroError(f"cannot read {path}: {exc}") from exc
    # Every node's Secret holds every node's certificate; the node's own Secret is the natural place to look.
    secrets = api_call(
        "list",
        "Secret",
        namespace,
        None,
        lambda: core.list_namespaced_secret(namespace, label_selector=_keys.NODE_NAME_LABEL),
    )
    ordered = sorted(
        secrets.items or [], key=lambda s: (s.metadata.name != _keys.gossip_secret_name(alias), s.metadata.name)
    )
    for secret in ordered:
        encoded = (secret.data or {}).get(name)
        if encoded:
            try:
                return base64.b64decode(encoded).decode("ascii"), f"Secret {namespace}/{secret.metadata.name}"
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise HieroError(f"Secret {namespace}/{secret.metadata.name} key {name}: not base64 of a PEM") from exc
    raise HieroError(
        f"no gossip certificate for {alias}: neither {path} nor the Secret {namespace}/"
        f"{_keys.gossip_secret_name(alias)} holds {name}; run hiero.solo.keys first (with run_id, list keys in "
        "wait_for), or point keys_dir at the keys directory"
    )


def address_book(
    core: Any,
    doc: Mapping[str, Any],
    namespace: str,
    cluster_ref: str,
    keys_dir: str,
    aliases: Sequence[str],
    *,
    shard: int,
    realm: int,
) -> tuple[str, list[dict[str, Any]]]:
    """(base64 NodeAddressBook, entries) for ``aliases``: every node with its gossip public key."""
    entries = []
    for alias in aliases:
        pem, where = gossip_certificate(core, namespace, keys_dir, alias)
        entries.append(
            node_address_entry(
                alias,
                shard,
                realm,
                node_fqdn(doc, alias, namespace, cluster_ref),
                GRPC_PORT,
                gossip_public_key_hex(pem, where),
            )
        )
    return base64.b64encode(encode_address_book(entries)).decode("ascii"), entries


# ---------------------------------------------------------------------------------------------------------------------
# Values (solo's resources/mirror-node-values.yaml and mirror-node-hikari-limits.yaml, then mirror-node.ts)


def _probes(ready: int = 60, live: int = 60, startup: int = 60) -> dict[str, Any]:
    # solo shortens every probe so that a development network comes up as fast as its pods allow.
    return {
        "readinessProbe": {"initialDelaySeconds": 0, "periodSeconds": 1, "failureThreshold": ready},
        "livenessProbe": {"initialDelaySeconds": 0, "periodSeconds": 1, "failureThreshold": live},
        "startupProbe": {"initialDelaySeconds": 0, "periodSeconds": 1, "failureThreshold": startup},
    }


def _resources(cpu_limit: str, memory_request: str, memory_limit: str) -> dict[str, Any]:
    # Quantities as strings, the form the API server stores them in (solo's YAML writes some as bare numbers).
    return {"requests": {"cpu": "0", "memory": memory_request}, "limits": {"cpu": cpu_limit, "memory": memory_limit}}


SOLO_TOLERATIONS = [
    {"key": "solo-scheduling.io/os", "operator": "Equal", "value": "linux", "effect": "NoSchedule"},
    {"key": "solo-scheduling.io/role", "operator": "Equal", "value": "network", "effect": "NoSchedule"},
]
_MIRROR_ENV_FROM = [
    {"secretRef": {"name": MIRROR_PASSWORDS_SECRET}},
    {"secretRef": {"name": "{{ .Release.Name }}-redis"}},
    {"secretRef": {"name": "uploader-mirror-secrets"}},
]


def _hikari(minimum: int, maximum: int) -> dict[str, Any]:
    return {"config": {"spring": {"datasource": {"hikari": {"minimumIdle": minimum, "maximumPoolSize": maximum}}}}}


def base_values() -> dict[str, Any]:
    """What solo's mirror values files set, before the values computed per deployment."""
    values: dict[str, Any] = {
        "graphql": {"enabled": False},
        "rosetta": {"enabled": False},
        "redis": {"enabled": True},
        "importer": {
            "image": {"registry": "ghcr.io", "repository": "hiero-ledger/hiero-mirror-node/importer"},
            "nodeSelector": {},
            "tolerations": SOLO_TOLERATIONS,
            "resources": _resources("1000m", "200Mi", "220Mi"),
            **_probes(startup=300),
            "envFrom": _MIRROR_ENV_FROM,
            "addressBook": "",
            "config": {
                CHART_NAMESPACE: {
                    "mirror": {
                        "importer": {
                            "startDate": "1970-01-01T00:00:00Z",
                            "network": "other",
                            "downloader": {"allowAnonymousAccess": False, "bucketName": "solo-streams"},
                            "parser": {
                                "record": {
                                    "entity": {"persist": {"pendingReward": False}},
                                    "sidecar": {"enabled": True},
                                }
                            },
                        }
                    }
                }
            },
        },
        "grpc": {
            "image": {"registry": "ghcr.io", "repository": "hiero-ledger/hiero-mirror-node/grpc"},
            "ingress": {"annotations": {"haproxy-ingress.github.io/backend-protocol": "h2"}},
            "nodeSelector": {},
            "tolerations": SOLO_TOLERATIONS,
            "resources": _resources("500m", "100Mi", "120Mi"),
            **_probes(),
        },
        "pinger": {"enabled": True, "resources": _resources("100m", "15Mi", "20Mi"), **_probes()},
        "postgresql": {
            "persistence": {"size": "10Gi"},
            "postgresql": {
                "nodeSelector": {},
                "tolerations": SOLO_TOLERATIONS,
                "resources": _resources("1000m", "0", "1000Mi"),
            },
            "pgpool": {"replicaCount": 0},
        },
        "rest": {
            "nodeSelector": {},
            "tolerations": SOLO_TOLERATIONS,
            "resources": _resources("500m", "120Mi", "120Mi"),
            **_probes(),
            "monitor": {"enabled": False},
            "redis": {"enabled": True},
            "global": {"hostname": "localhost"},
        },
        "restjava": {
            "image": {"registry": "ghcr.io", "repository": "hiero-ledger/hiero-mirror-node/rest-java"},
            "nodeSelector": {},
            "tolerations": SOLO_TOLERATIONS,
            "resources": _resources("2", "175Mi", "200Mi"),
            **_probes(),
        },
        "web3": {
            "image": {"registry": "ghcr.io", "repository": "hiero-ledger/hiero-mirror-node/web3"},
            "nodeSelector": {},
            "tolerations": SOLO_TOLERATIONS,
            "resources": _resources("1000m", "185Mi", "185Mi"),
            **_probes(),
            "config": {
                CHART_NAMESPACE: {
                    "mirror": {
                        "web3": {
                            "opcode": {"tracer": {"enabled": True}},
                            "evm": {"network": "OTHER"},
                            # Off so that just-imported state is visible at once (solo's comment: no sleeps in tests).
                            "cache": {
                                "contractState": "expireAfterWrite=0s,maximumSize=0",
                                "entity": "expireAfterWrite=0s,maximumSize=0",
                                "token": "expireAfterWrite=0s,maximumSize=0",
                            },
                        }
                    }
                }
            },
        },
        "monitor": {
            "enabled": False,
            "nodeSelector": {},
            "tolerations": SOLO_TOLERATIONS,
            "resources": _resources("500m", "0", "1000Mi"),
            "envFrom": _MIRROR_ENV_FROM,
            "config": {
                CHART_NAMESPACE: {
                    "mirror": {
                        "common": {"realm": 0, "shard": 0},
                        "monitor": {
                            "publish": {
                                "scenarios": {
                                    "pinger": {
                                        "properties": {
                                            "amount": 1,
                                            "maxTransactionFee": 10000,
                                            "senderAccountId": "0.0.2",
                                            "recipientAccountId": "0.0.55",
                                            "transferTypes": ["CRYPTO"],
                                        },
                                        "receiptPercent": 1,
                                        "tps": 5,
                                        "type": "CRYPTO_TRANSFER",
                                    }
                                }
                            },
                            "subscribe": {
                                "grpc": {"hcs": {"enabled": False}},
                                "rest": {"transactionId": {"enabled": True, "samplePercent": 1}},
                            },
                            "network": "OTHER",
                        },
                    }
                }
            },
            "readinessProbe": {"failureThreshold": 60, "initialDelaySeconds": 0, "timeoutSeconds": 1},
        },
    }
    # One-shot adds resources/mirror-node-hikari-limits.yaml: small connection pools on the shared postgres.
    hikari = {"importer": _hikari(8, 12), "grpc": _hikari(1, 2), "restjava": _hikari(1, 4), "web3": _hikari(1, 2)}
    return deep_merge(values, hikari)


def _version_tuple(version: str) -> tuple[int, int, int]:
    parsed = parse_version("version", version)
    return parsed.major, parsed.minor, parsed.patch


def block_node_values(doc: Mapping[str, Any], cluster_ref: str, mirror_version: str, force: bool) -> dict[str, Any]:
    """The importer's block node settings (solo's prepareBlockNodeIntegrationValues): only with block nodes in the
    same cluster, and TSS on with a consensus node >= v0.74.0 unless forced."""
    block_nodes = [
        c
        for c in _remote_config.components(doc, "blockNodes")
        if (c.get("metadata") or {}).get("cluster") == cluster_ref
    ]
    if not block_nodes:
        return {}
    if not force:
        if (doc.get("state") or {}).get("tssEnabled") is False:
            return {}
        consensus = _remote_config.get_version(doc, "consensusNodes")
        try:
            if _version_tuple(consensus) < MIN_TSS_CONSENSUS_VERSION:
                return {}
        except InputError:
            return {}
    base = (
        next(
            (
                c.get("dnsBaseDomain")
                for c in doc.get("clusters") or []
                if isinstance(c, Mapping) and c.get("name") == cluster_ref
            ),
            None,
        )
        or _remote_config.DEFAULT_DNS_BASE_DOMAIN
    )
    hosts = [f"block-node-{c['metadata']['id']}.{c['metadata'].get('namespace')}.svc.{base}" for c in block_nodes]
    env: dict[str, Any] = {"SPRING_PROFILES_ACTIVE": os.environ.get("SPRING_PROFILES_ACTIVE") or "blocknode"}
    importer: dict[str, Any] = {"downloader": {"balance": {"enabled": False}, "record": {"enabled": False}}}
    if _version_tuple(mirror_version) >= BLOCK_NODE_ENDPOINTS_VERSION:
        importer["block"] = {"nodes": [{"endpoints": [{"host": host, "port": BLOCK_NODE_PORT}]} for host in hosts]}
    else:
        for index, host in enumerate(hosts):
            env[f"HIERO_MIRROR_IMPORTER_BLOCK_NODES_{index}_HOST"] = host
    return {"importer": {"env": env, "config": {CHART_NAMESPACE: {"mirror": {"importer": importer}}}}}


def pinger_values(operator_id: str, operator_key: str, recipient: str, enabled: bool) -> dict[str, Any]:
    scenario = {"properties": {"senderAccountId": operator_id, "recipientAccountId": recipient}}
    return {
        "pinger": {
            "enabled": enabled,
            "env": {
                "HIERO_MIRROR_PINGER_OPERATOR_ID": operator_id,
                "HIERO_MIRROR_PINGER_TO_ACCOUNT_ID": recipient,
                "HIERO_MIRROR_PINGER_OPERATOR_KEY": operator_key,
            },
        },
        "monitor": {
            "config": {
                CHART_NAMESPACE: {
                    "mirror": {
                        "monitor": {
                            "operator": {"accountId": operator_id, "privateKey": operator_key},
                            "publish": {"scenarios": {"pinger": scenario}},
                        }
                    }
                }
            }
        },
    }


def mirror_values(
    *,
    namespace: str,
    version: str,
    realm: int,
    shard: int,
    address_book_b64: str,
    redis: Mapping[str, str],
    pinger: Mapping[str, Any] | None,
    block_nodes: Mapping[str, Any],
    domain_name: str | None,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    """The values of ``mirror-<id>``: solo's files, the user's files, then what mirror-node.ts sets (helm applies
    ``--set`` after every values file, so solo's computed values win over the user's files)."""
    tag = version.lstrip("v")
    computed: dict[str, Any] = {module: {"image": {"tag": tag}} for module in IMAGE_TAG_MODULES}
    computed = deep_merge(
        computed,
        {
            "stackgres": {"enabled": False},
            "postgresql": {"enabled": False},
            "db": {"name": DB_NAME, "host": f"solo-shared-resources-postgres.{namespace}.svc.cluster.local"},
            "redis": {
                "enabled": False,
                "auth": {"password": redis["password"]},
                "host": redis["host"],
                "port": redis["port"],
            },
            "importer": {"addressBook": address_book_b64},
        },
    )
    for module in MIRROR_MODULES:
        common = {"realm": realm, "shard": shard}
        computed = deep_merge(computed, {module: {"config": {CHART_NAMESPACE: {"mirror": {"common": common}}}}})
    if domain_name:
        computed = deep_merge(
            computed, {"ingress": {"enabled": True, "tls": {"enabled": False}, "hosts": [{"host": domain_name}]}}
        )
    if pinger is not None:
        computed = deep_merge(computed, pinger_values(**pinger))
    else:
        computed = deep_merge(computed, {"monitor": {"enabled": False}, "pinger": {"enabled": False}})
    computed = deep_merge(computed, block_nodes)
    return deep_merge(deep_merge(base_values(), extra), computed)


def prime_values(namespace: str) -> dict[str, Any]:
    """The priming install: every application off, redis off (so no stale sentinel settings are written), only
    the chart's Secrets (``mirror-passwords``) rendered."""
    values: dict[str, Any] = {
        "stackgres": {"enabled": False},
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "db": {"host": f"solo-shared-resources-postgres.{namespace}.svc.cluster.local", "name": DB_NAME},
    }
    for module in ("importer", "grpc", "rest", "restjava", "web3", "rosetta", "graphql", "monitor"):
        values[module] = {"enabled": False}
    return values


def shared_resources_values() -> dict[str, Any]:
    """solo's SharedResourceManager values for one-shot: postgres and redis (sentinel master set ``mirror``)."""
    return {
        "postgresql": {"enabled": True},
        "redis": {
            "enabled": True,
            "image": {"registry": "gcr.io", "repository": "mirrornode/redis", "tag": "8.2.2"},
            "sentinel": {
                "image": {"registry": "gcr.io", "repository": "mirrornode/redis-sentinel", "tag": "8.2.2"},
                "masterSet": "mirror",
            },
        },
    }


def ingress_controller_values(namespace: str) -> dict[str, Any]:
    return deep_merge(
        INGRESS_CONTROLLER_VALUES,
        {
            "fullnameOverride": f"{MIRROR_INGRESS_CONTROLLER}-{namespace}",
            "controller": {
                "ingressClass": MIRROR_INGRESS_CLASS,
                "extraArgs": {"controller-class": MIRROR_INGRESS_CONTROLLER},
            },
        },
    )


def mirror_ingress_patch(ingress: Any, tls_host: str) -> dict[str, Any] | None:
    """What solo patches into each mirror Ingress so the mirror ingress controller serves it."""
    name = ingress.metadata.name
    path_type = "regex" if name.endswith(("-restjava", "-web3")) else "prefix"
    tls = [{"hosts": [tls_host], "secretName": MIRROR_TLS_SECRET}]
    annotations = ingress.metadata.annotations or {}
    current_tls = [
        {"hosts": list(entry.hosts or []), "secretName": entry.secret_name} for entry in (ingress.spec.tls or [])
    ]
    if (
        ingress.spec.ingress_class_name == MIRROR_INGRESS_CLASS
        and current_tls == tls
        and annotations.get("haproxy-ingress.github.io/path-type") == path_type
    ):
        return None
    return {
        "metadata": {"annotations": {"haproxy-ingress.github.io/path-type": path_type}},
        "spec": {"ingressClassName": MIRROR_INGRESS_CLASS, "tls": tls},
    }


def self_signed_tls(host: str, days: int = 365) -> dict[str, str]:
    """A self-signed RSA-2048 / SHA-256 certificate for ``host`` (solo's KeyManager.generateTls), as Secret data."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    return {"tls.crt": base64.b64encode(cert_pem).decode(), "tls.key": base64.b64encode(key_pem).decode()}


# ---------------------------------------------------------------------------------------------------------------------
# The database init (solo's PostgresSharedResource.initializeMirrorNode)

# A read-only query as the postgres superuser. The password arrives on stdin as a .pgpass line, so it never appears in
# the exec request (a URL the API server may log) or in a process listing; the file is private and removed at once.
PGPASS_FILE = "/tmp/.hiero-solo-pgpass"
PSQL_QUERY = (
    f'f={PGPASS_FILE}; rm -f "$f"; touch "$f" && chmod 600 "$f" && cat > "$f" || exit 1; '
    'PGPASSFILE="$f" psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -tAc "$1"; rc=$?; rm -f "$f"; exit $rc'
)
SENTINEL_QUERY = f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{DB_NAME}'"
INIT_DIR = "/tmp"
INIT_SCRIPT = "init-postgres.sh"
INIT_ENV = "hiero-solo-mirror-init.env"
INIT_WRAPPER = "run-init.sh"
# solo's wrapper, in substance: credentials from a private env file, the sentinel comment makes it run once (a
# re-run only re-applies the role passwords), a partial earlier run is cleaned up first, and nothing is left in /tmp.
INIT_WRAPPER_TEXT = r"""#!/usr/bin/env bash
# Written by hiero.solo: initialize the mirror node database once, as solo does.
set -euo pipefail
cleanup() { rm -f /tmp/.pgpass /tmp/hiero-solo-mirror-init.env /tmp/init-postgres.sh /tmp/run-init.sh; }
trap cleanup EXIT
set -a
. /tmp/hiero-solo-mirror-init.env
set +a
pgpass_escape() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g'; }
umask 077
{
  printf '127.0.0.1:5432:*:postgres:%s\n' "$(pgpass_escape "$SUPERUSER_PASSWORD")"
  printf '127.0.0.1:5432:%s:%s:%s\n' "$DB_NAME" "$OWNER_USERNAME" "$(pgpass_escape "$OWNER_PASSWORD")"
} > /tmp/.pgpass
export PGPASSFILE=/tmp/.pgpass
query() { psql -tAc "$1" | tr -d '[:space:]'; }
sentinel=$(query "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '${DB_NAME}'")
if [ "$sentinel" = "solo-initialized" ]; then
  # Already initialized; the role passwords are re-applied in case mirror-passwords was re-created.
  roles=("$OWNER_USERNAME" mirror_importer "$REST_USERNAME" mirror_rest_java mirror_web3 mirror_grpc \
    mirror_graphql mirror_rosetta)
  passwords=("$OWNER_PASSWORD" "$IMPORTER_PASSWORD" "$REST_PASSWORD" "$REST_JAVA_PASSWORD" "$WEB3_PASSWORD" \
    "$GRPC_PASSWORD" "$GRAPHQL_PASSWORD" "$ROSETTA_PASSWORD")
  for i in "${!roles[@]}"; do
    if [ "$(query "SELECT 1 FROM pg_roles WHERE rolname = '${roles[$i]}'")" = "1" ]; then
      psql -c "ALTER USER ${roles[$i]} WITH PASSWORD '${passwords[$i]}';"
    fi
  done
  exit 0
fi
if [ "$(query "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'")" = "1" ]; then
  echo "database ${DB_NAME} exists without the sentinel: removing the partial initialization"
  psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
    WHERE datname = '${DB_NAME}' AND pid <> pg_backend_pid();" || true
  psql -c "DROP DATABASE IF EXISTS ${DB_NAME};"
  for role in mirror_graphql mirror_grpc mirror_importer mirror_api "$REST_USERNAME" mirror_rest_java \
    mirror_rosetta mirror_web3 "$OWNER_USERNAME"; do
    psql -c "DROP USER IF EXISTS ${role};" || true
  done
  psql -c "DROP ROLE IF EXISTS temporary_admin, readwrite, readonly;" || true
elif [ "$(query "SELECT 1 FROM pg_roles WHERE rolname = '${OWNER_USERNAME}'")" = "1" ]; then
  psql -c "DROP USER ${OWNER_USERNAME};"
fi
/bin/bash /tmp/init-postgres.sh
psql -c "COMMENT ON DATABASE ${DB_NAME} IS 'solo-initialized';"
echo "mirror node database initialized"
"""


def pgpass_line(database: str, user: str, password: str) -> str:
    """One ~/.pgpass line for 127.0.0.1:5432 (``:`` and ``\\`` escaped as libpq expects)."""
    escaped = password.replace("\\", "\\\\").replace(":", "\\:")
    return f"127.0.0.1:5432:{database}:{user}:{escaped}\n"


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def init_environment(superuser_password: str, passwords: Mapping[str, str], prefix: str = MIRROR_ENV_PREFIX) -> str:
    """The env file of the init wrapper, from ``mirror-passwords`` (decoded) as solo reads it."""

    def get(key: str, default: str = "") -> str:
        return passwords.get(f"{prefix}_{key}", default)

    rest_username = get("MIRROR_REST_DB_USERNAME") or get("MIRROR_IMPORTER_DB_RESTUSERNAME") or "mirror_rest"
    database = get("MIRROR_IMPORTER_DB_NAME") or DB_NAME
    owner = get("MIRROR_IMPORTER_DB_OWNER")
    if not owner or not get("MIRROR_IMPORTER_DB_OWNERPASSWORD"):
        raise HieroError(
            f"Secret {MIRROR_PASSWORDS_SECRET} lacks {prefix}_MIRROR_IMPORTER_DB_OWNER or its password: the mirror "
            "chart did not render it as expected"
        )
    variables = {
        "POSTGRES_USER": "postgres",
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
        "PGHOST": "127.0.0.1",
        "PGPORT": "5432",
        "DB_NAME": database,
        "OWNER_USERNAME": owner,
        "OWNER_PASSWORD": get("MIRROR_IMPORTER_DB_OWNERPASSWORD"),
        "SUPERUSER_PASSWORD": superuser_password,
        "GRAPHQL_PASSWORD": get("MIRROR_GRAPHQL_DB_PASSWORD"),
        "GRPC_PASSWORD": get("MIRROR_GRPC_DB_PASSWORD"),
        "IMPORTER_PASSWORD": get("MIRROR_IMPORTER_DB_PASSWORD"),
        "REST_PASSWORD": get("MIRROR_REST_DB_PASSWORD"),
        "REST_USERNAME": rest_username,
        "REST_JAVA_PASSWORD": get("MIRROR_RESTJAVA_DB_PASSWORD"),
        "ROSETTA_PASSWORD": get("MIRROR_ROSETTA_DB_PASSWORD"),
        "WEB3_PASSWORD": get("MIRROR_WEB3_DB_PASSWORD"),
    }
    return "".join(f"{key}={_shell_quote(value)}\n" for key, value in variables.items())


def init_script_location(option: str | None, version: str) -> str:
    tag = "v" + version.lstrip("v")
    return option or DB_INIT_SCRIPT_URL.format(tag=tag)


def read_init_script(module: Any, location: str, version: str, home: str) -> bytes:
    """The mirror node's database init script: a local file, or a URL downloaded once into solo's cache
    (``<cache>/mirror-node/<tag>/init-postgres.sh``, as solo caches it)."""
    path = location[len("file://") :] if location.startswith("file://") else location
    if "://" not in path:
        try:
            with open(os.path.expanduser(path), "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise InputError("db_init_script", f"cannot read {path}: {exc}") from exc
    env = dict(os.environ)
    env.setdefault("SOLO_HOME", home)
    tag = "v" + version.lstrip("v")
    cached = os.path.join(_local_config.solo_cache_dir(env), "mirror-node", tag, INIT_SCRIPT)
    if location == DB_INIT_SCRIPT_URL.format(tag=tag) and os.path.isfile(cached):
        with open(cached, "rb") as handle:
            return handle.read()
    from ansible.module_utils.urls import open_url

    try:
        response = open_url(location, timeout=60)
        content = response.read()
    except Exception as exc:  # open_url raises several exception types (HTTPError, URLError, socket errors)
        raise HieroError(f"cannot download the mirror node database init script from {location}: {exc}") from exc
    if location == DB_INIT_SCRIPT_URL.format(tag=tag):
        os.makedirs(os.path.dirname(cached), exist_ok=True)
        with open(cached, "wb") as handle:
            handle.write(content)
    return content


def postgres_pod(core: Any, namespace: str) -> str | None:
    pods = _pod.list_pods(core, namespace, POSTGRES_SELECTOR)
    running = [p for p in pods if (p.status.phase == "Running" and not p.metadata.deletion_timestamp)]
    chosen = sorted(running or pods, key=lambda p: p.metadata.name)
    return chosen[0].metadata.name if chosen else None


def database_initialized(core: Any, namespace: str, pod: str, superuser_password: str) -> bool:
    result = _pod.exec_in_pod(
        core,
        namespace,
        pod,
        ["sh", "-c", PSQL_QUERY, "psql-query", SENTINEL_QUERY],
        container=POSTGRES_CONTAINER,
        stdin=pgpass_line("*", "postgres", superuser_password).encode(),
        timeout_s=120,
        what="checking whether the mirror node database is initialized",
    )
    return result.stdout.strip() == DB_SENTINEL


def initialize_database(core: Any, namespace: str, pod: str, script: bytes, environment: str) -> _pod.ExecResult:
    files = [
        _pod.UploadFile(INIT_SCRIPT, content=script, mode=0o755),
        _pod.UploadFile(INIT_ENV, content=environment.encode(), mode=0o600),
        _pod.UploadFile(INIT_WRAPPER, content=INIT_WRAPPER_TEXT.encode(), mode=0o755),
    ]
    _pod.upload_files(core, namespace, pod, INIT_DIR, files, container=POSTGRES_CONTAINER, timeout_s=120)
    return _pod.exec_in_pod(
        core,
        namespace,
        pod,
        # Run by its path (its #! names bash), as any executable file; solo runs it as `bash <file>`.
        [f"{INIT_DIR}/{INIT_WRAPPER}"],
        container=POSTGRES_CONTAINER,
        timeout_s=DB_INIT_TIMEOUT_S,
        what="the mirror node database init",
    )


# ---------------------------------------------------------------------------------------------------------------------
# present


class _Mirror:
    """Everything one present/absent run of the mirror node needs, checked before anything is written."""

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
            self._check_present_options(params)
        self.context = use_cluster_ref_context(module, self.given_cluster_ref, self.home)
        self.clients = module.clients()
        self.core = self.clients.core

    def _check_present_options(self, params: Mapping[str, Any]) -> None:
        self.realm = check_non_negative("realm", params.get("realm", 0))
        self.shard = check_non_negative("shard", params.get("shard", 0))
        for step in params.get("pinger_wait_for") or []:
            _run_state.check_step_name(step, "pinger_wait_for")
        self.version = parse_version("version", params.get("version") or DEFAULT_VERSION).text(True)
        if _version_tuple(self.version) < MIN_VERSION:
            raise InputError(
                "version",
                f"mirror node {self.version} predates the shared postgres/redis layout solo deploys "
                f"(v{'.'.join(map(str, MIN_VERSION))} or later is supported)",
            )
        self.aliases = check_node_aliases(params["node_aliases"]) if params.get("node_aliases") else None
        self.operator_id = (
            check_entity_id("operator_id", params["operator_id"])
            if params.get("operator_id")
            else entity_id(self.shard, self.realm, DEFAULT_OPERATOR_NUMBER)
        )
        self.values_files = check_values_files(params.get("values_files"))
        self.extra_values = load_values_files(self.values_files)
        env = {**os.environ, "SOLO_HOME": self.home}
        self.keys_dir = os.path.abspath(os.path.expanduser(params.get("keys_dir") or _keys.default_keys_dir(env)))
        self.sources = chart_sources(
            params,
            {"mirror_node": self.version.lstrip("v"), "solo_shared_resources": None, "ingress_controller": None},
        )

    # -- names ---------------------------------------------------------------------------------------------------------

    def names(self, component_id: int) -> dict[str, str]:
        return {
            "mirror_node": f"mirror-{component_id}",
            "ingress_controller": f"haproxy-ingress-{component_id}",
            "solo_shared_resources": SHARED_RESOURCES_RELEASE,
        }


def _pods_ready(mirror: _Mirror, guard: Any, selector: str, what: str, timeout_s: float, min_count: int = 1) -> list:
    return _pod.wait_pods(
        mirror.core, mirror.namespace, selector, what, timeout_s, ready=True, min_count=min_count, heartbeat=guard.check
    )


def _ensure_shared_resources(mirror: _Mirror, guard: Any | None, actions: list[str]) -> None:
    """Install solo-shared-resources once (solo never upgrades it: it holds the database), wait for its pods."""
    helm = mirror.module.helm()
    source = mirror.sources["solo_shared_resources"]
    record = release_record(helm, SHARED_RESOURCES_RELEASE, mirror.namespace)
    if record is None or record.get("status") != "deployed":
        reason = "not installed" if record is None else f"status {record.get('status')}"
        actions.append(f"install release {mirror.namespace}/{SHARED_RESOURCES_RELEASE} ({source.describe()}): {reason}")
        if guard is None:
            return
        install_release(
            mirror.module,
            guard,
            SHARED_RESOURCES_RELEASE,
            mirror.namespace,
            source,
            shared_resources_values(),
            what="mirror node shared resources (postgres, redis)",
        )
    if guard is not None:
        _pods_ready(mirror, guard, POSTGRES_SELECTOR, "the shared postgres", budget(mirror.params, POSTGRES_WAIT_S))
        _pods_ready(
            mirror,
            guard,
            SHARED_RESOURCES_SELECTOR,
            "the shared postgres and redis",
            budget(mirror.params, POSTGRES_WAIT_S),
        )


def _shared_components(mirror: _Mirror, guard: Any | None, cluster_ref: str, actions: list[str]) -> None:
    """Components ``postgres`` and ``redis`` in phase deployed, added once (solo adds them on install)."""
    for kind in ("postgres", "redis"):
        doc = load_remote_config(mirror.core, mirror.namespace)
        if component_ids(doc, kind):
            continue
        component_id = _remote_config.next_id(doc, kind)
        record_deployed(mirror.core, guard, mirror.namespace, kind, component_id, cluster_ref, actions)


def _redis_settings(mirror: _Mirror) -> dict[str, str] | None:
    data = secret_data(mirror.core, mirror.namespace, REDIS_SECRET)
    if data is None:
        return None
    missing = [
        key
        for key in ("SPRING_DATA_REDIS_PASSWORD", "SPRING_DATA_REDIS_HOST", "SPRING_DATA_REDIS_PORT")
        if not data.get(key)
    ]
    if missing:
        raise HieroError(f"Secret {mirror.namespace}/{REDIS_SECRET} lacks {', '.join(missing)}")
    mirror.module.ansible_module.no_log_values.add(data["SPRING_DATA_REDIS_PASSWORD"])
    return {
        "password": data["SPRING_DATA_REDIS_PASSWORD"],
        "host": data["SPRING_DATA_REDIS_HOST"],
        "port": data["SPRING_DATA_REDIS_PORT"],
    }


def _prime(mirror: _Mirror, guard: Any | None, names: Mapping[str, str], actions: list[str]) -> None:
    if secret_data(mirror.core, mirror.namespace, MIRROR_PASSWORDS_SECRET) is not None:
        return
    source = mirror.sources["mirror_node"]
    actions.append(
        f"prime release {mirror.namespace}/{names['mirror_node']} to create Secret {MIRROR_PASSWORDS_SECRET}"
    )
    if guard is None:
        return
    install_release(
        mirror.module,
        guard,
        names["mirror_node"],
        mirror.namespace,
        source,
        prime_values(mirror.namespace),
        what="mirror node priming install",
    )
    if secret_data(mirror.core, mirror.namespace, MIRROR_PASSWORDS_SECRET) is None:
        raise HieroError(
            f"the priming install of {names['mirror_node']} ({source.describe()}) did not create Secret "
            f"{mirror.namespace}/{MIRROR_PASSWORDS_SECRET}, which the database init needs"
        )


def _init_database(mirror: _Mirror, guard: Any | None, actions: list[str]) -> None:
    passwords = secret_data(mirror.core, mirror.namespace, POSTGRES_SECRET)
    pod = postgres_pod(mirror.core, mirror.namespace)
    if passwords is None or not passwords.get("password") or pod is None:
        actions.append(f"initialize database {DB_NAME} in the shared postgres")
        if guard is None:
            return
        if pod is None:
            raise HieroError(f"no postgres pod matches {POSTGRES_SELECTOR} in namespace {mirror.namespace}")
        raise HieroError(f"Secret {mirror.namespace}/{POSTGRES_SECRET} (the postgres superuser password) is missing")
    superuser = passwords["password"]
    mirror.module.ansible_module.no_log_values.add(superuser)
    if database_initialized(mirror.core, mirror.namespace, pod, superuser):
        return
    actions.append(f"initialize database {DB_NAME} in pod {mirror.namespace}/{pod}")
    if guard is None:
        return
    mirror_passwords = secret_data(mirror.core, mirror.namespace, MIRROR_PASSWORDS_SECRET) or {}
    # Only the passwords are secret: names such as the database's must stay readable in messages.
    mirror.module.ansible_module.no_log_values.update(
        value for key, value in mirror_passwords.items() if value and "PASSWORD" in key
    )
    environment = init_environment(superuser, mirror_passwords)
    location = init_script_location(mirror.params.get("db_init_script"), mirror.version)
    script = read_init_script(mirror.module, location, mirror.version, mirror.home)
    guard.check()
    initialize_database(mirror.core, mirror.namespace, pod, script, environment)
    if not database_initialized(mirror.core, mirror.namespace, pod, superuser):
        raise HieroError(
            f"the mirror node database init in pod {mirror.namespace}/{pod} ended without marking database "
            f"{DB_NAME} as initialized (comment {DB_SENTINEL!r})"
        )


def _ingress_controller(mirror: _Mirror, guard: Any | None, names: Mapping[str, str], actions: list[str]) -> None:
    converge_release(
        mirror.module,
        guard,
        names["ingress_controller"],
        mirror.namespace,
        mirror.sources["ingress_controller"],
        ingress_controller_values(mirror.namespace),
        actions,
        what="mirror ingress controller",
    )


def _ingress_objects(mirror: _Mirror, guard: Any | None, names: Mapping[str, str], actions: list[str]) -> None:
    """TLS Secret, IngressClass and the Ingress patches solo makes after installing the mirror chart."""
    networking = mirror.clients.networking
    dry = guard is None
    host = mirror.params.get("domain_name") or "localhost"
    if secret_data(mirror.core, mirror.namespace, MIRROR_TLS_SECRET) is None:
        actions.append(f"create Secret {mirror.namespace}/{MIRROR_TLS_SECRET} (self-signed certificate for {host})")
        if not dry:
            guard.check()
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": MIRROR_TLS_SECRET, "namespace": mirror.namespace},
                "type": "Opaque",
                "data": self_signed_tls(host),
            }
            api_call(
                "create",
                "Secret",
                mirror.namespace,
                MIRROR_TLS_SECRET,
                lambda: mirror.core.create_namespaced_secret(mirror.namespace, body),
            )
    if not dry:
        guard.check()
    patched = patch_ingresses(
        networking,
        mirror.namespace,
        f"app.kubernetes.io/instance={names['mirror_node']}",
        lambda ingress: mirror_ingress_patch(ingress, host),
        dry,
    )
    actions.extend(f"patch Ingress {mirror.namespace}/{name} for {MIRROR_INGRESS_CLASS}" for name in patched)
    if not ingress_class_exists(networking, MIRROR_INGRESS_CLASS):
        actions.append(f"create IngressClass {MIRROR_INGRESS_CLASS}")
        if not dry:
            guard.check()
            create_ingress_class(
                networking, MIRROR_INGRESS_CLASS, INGRESS_CONTROLLER_PREFIX + MIRROR_INGRESS_CONTROLLER
            )


def _wait_mirror_pods(mirror: _Mirror, guard: Any, release: str, pinger: bool) -> list[str]:
    """Importer first (its schema migrations gate the other components), then every mirror pod Ready."""
    importer = f"app.kubernetes.io/component=importer,app.kubernetes.io/instance={release}"
    has_importer = bool(_pod.list_pods(mirror.core, mirror.namespace, importer))
    if not has_importer:
        try:
            _pod.wait_pods(
                mirror.core,
                mirror.namespace,
                importer,
                f"the importer of {release}",
                IMPORTER_DETECT_S,
                heartbeat=guard.check,
            )
            has_importer = True
        except WaitTimeout:
            pass  # the importer is switched off by the user's values: no schema to wait for
    if has_importer:
        _pods_ready(mirror, guard, importer, f"the importer of {release}", budget(mirror.params, IMPORTER_READY_S))
    selector = f"app.kubernetes.io/instance={release}"
    pods = _pods_ready(mirror, guard, selector, f"the pods of {release}", budget(mirror.params, PODS_READY_S))
    components = sorted(
        {(p.get("metadata") or {}).get("labels", {}).get("app.kubernetes.io/component", "?") for p in pods}
    )
    if pinger:
        pinger_selector = f"app.kubernetes.io/component=pinger,app.kubernetes.io/instance={release}"
        _pods_ready(mirror, guard, pinger_selector, f"the pinger of {release}", budget(mirror.params, PINGER_READY_S))
    return components


def _mirror_values(
    mirror: _Mirror,
    doc: Mapping[str, Any],
    cluster_ref: str,
    book_b64: str,
    redis: Mapping[str, str],
    pinger_enabled: bool | None,
) -> dict[str, Any]:
    pinger = None
    if mirror.params.get("pinger"):
        key = mirror.params.get("operator_key") or operator_key_for(mirror.core, mirror.namespace, mirror.operator_id)
        mirror.module.ansible_module.no_log_values.add(key)
        pinger = {
            "operator_id": mirror.operator_id,
            "operator_key": key,
            "recipient": entity_id(mirror.shard, mirror.realm, PINGER_RECIPIENT_NUMBER),
            "enabled": bool(pinger_enabled),
        }
    return mirror_values(
        namespace=mirror.namespace,
        version=mirror.version,
        realm=mirror.realm,
        shard=mirror.shard,
        address_book_b64=book_b64,
        redis=redis,
        pinger=pinger,
        block_nodes=block_node_values(
            doc, cluster_ref, mirror.version, bool(mirror.params.get("force_block_node_integration"))
        ),
        domain_name=mirror.params.get("domain_name"),
        extra=mirror.extra_values,
    )


def _current_pinger_enabled(mirror: _Mirror, release: str) -> bool:
    """Whether the release already runs the pinger: a re-run keeps it as the pinger step left it."""
    current = mirror.module.helm().get_values(release, mirror.namespace) or {}
    return bool((current.get("pinger") or {}).get("enabled"))


def _converge_mirror(mirror: _Mirror, guard: Any | None, actions: list[str]) -> dict[str, Any]:
    """One pass over solo's mirror node add; ``guard`` None only plans (reads, writes nothing)."""
    doc = load_remote_config(mirror.core, mirror.namespace)
    component_id = component_id_for(doc, KIND)
    names = mirror.names(component_id)
    cluster_ref = default_cluster_ref(doc, KIND, component_id, mirror.given_cluster_ref)
    aliases = mirror.aliases or consensus_aliases(doc)
    if not aliases:
        raise InputError("node_aliases", f"required: the remote config in {mirror.namespace} lists no consensus nodes")
    # The address book comes first: a missing key fails the step before anything is written (hazard H7).
    book_b64, book = address_book(
        mirror.core,
        doc,
        mirror.namespace,
        cluster_ref,
        mirror.keys_dir,
        aliases,
        shard=mirror.shard,
        realm=mirror.realm,
    )
    _ensure_shared_resources(mirror, guard, actions)
    _shared_components(mirror, guard, cluster_ref, actions)
    _prime(mirror, guard, names, actions)
    _init_database(mirror, guard, actions)
    if mirror.params.get("enable_ingress", True):
        _ingress_controller(mirror, guard, names, actions)
    redis = _redis_settings(mirror)
    values_digest_now = None
    if redis is None:
        if guard is not None:
            raise HieroError(
                f"Secret {mirror.namespace}/{REDIS_SECRET} is missing after installing the shared resources"
            )
        actions.append(
            f"install release {mirror.namespace}/{names['mirror_node']} ({mirror.sources['mirror_node'].describe()})"
        )
    else:
        pinger_enabled = _current_pinger_enabled(mirror, names["mirror_node"]) if mirror.params.get("pinger") else None
        values = _mirror_values(mirror, doc, cluster_ref, book_b64, redis, pinger_enabled)
        values_digest_now = values_digest(values)

        def drop_stale_redis_secret() -> None:
            # solo deletes <release>-redis before the full install so the chart re-creates it without stale keys.
            guard.check()
            name = f"{names['mirror_node']}-redis"
            delete_or_absent(
                "Secret",
                mirror.namespace,
                name,
                lambda: mirror.core.delete_namespaced_secret(name, mirror.namespace, _preload_content=False),
            )

        converge_release(
            mirror.module,
            guard,
            names["mirror_node"],
            mirror.namespace,
            mirror.sources["mirror_node"],
            values,
            actions,
            attempts=3,
            uninstall_between=True,
            what="mirror node",
            before_change=drop_stale_redis_secret,
        )
    if mirror.params.get("enable_ingress", True):
        _ingress_objects(mirror, guard, names, actions)
    record_deployed(
        mirror.core, guard, mirror.namespace, KIND, component_id, cluster_ref, actions, version=mirror.version
    )
    components: list[str] = []
    if guard is not None:
        components = _wait_mirror_pods(mirror, guard, names["mirror_node"], pinger=False)
    return {
        "component_id": component_id,
        "names": names,
        "cluster_ref": cluster_ref,
        "aliases": aliases,
        "address_book": book,
        "address_book_sha256": hashlib.sha256(base64.b64decode(book_b64)).hexdigest(),
        "values_sha256": values_digest_now,
        "components": components,
    }


def _converge_pinger(mirror: _Mirror, guard: Any | None, state: Mapping[str, Any], actions: list[str]) -> None:
    """The lightweight pinger switch: the same values with ``pinger.enabled`` true, then the pinger pod Ready."""
    release = state["names"]["mirror_node"]
    redis = _redis_settings(mirror)
    if redis is None:  # only in check mode before the shared resources exist
        actions.append(f"enable the pinger of release {mirror.namespace}/{release}")
        return
    doc = load_remote_config(mirror.core, mirror.namespace)
    book_b64 = base64.b64encode(encode_address_book(state["address_book"])).decode("ascii")
    values = _mirror_values(mirror, doc, state["cluster_ref"], book_b64, redis, True)
    converge_release(
        mirror.module,
        guard,
        release,
        mirror.namespace,
        mirror.sources["mirror_node"],
        values,
        actions,
        what="mirror node pinger",
    )
    if guard is not None:
        _wait_mirror_pods(mirror, guard, release, pinger=True)


def _fact(mirror: _Mirror, state: Mapping[str, Any], pinger: bool) -> dict[str, Any]:
    names = state["names"]
    ns = mirror.namespace
    return {
        "state": "present",
        "namespace": ns,
        "cluster_ref": state["cluster_ref"],
        "component_id": state["component_id"],
        "version": mirror.version,
        "releases": {
            "mirror_node": names["mirror_node"],
            "solo_shared_resources": names["solo_shared_resources"],
            "ingress_controller": names["ingress_controller"] if mirror.params.get("enable_ingress", True) else None,
        },
        "node_aliases": list(state["aliases"]),
        "address_book": {
            "sha256": state["address_book_sha256"],
            "nodes": [
                {key: entry[key] for key in ("alias", "node_id", "account_id", "endpoint")}
                | {"rsa_pub_key_sha256": hashlib.sha256(bytes.fromhex(entry["rsa_pub_key"])).hexdigest()}
                for entry in state["address_book"]
            ],
        },
        "values_sha256": state["values_sha256"],
        "pinger": pinger,
        "ingress_class": MIRROR_INGRESS_CLASS if mirror.params.get("enable_ingress", True) else None,
        "endpoints": {
            "rest": f"http://{names['mirror_node']}-rest.{ns}.svc.cluster.local",
            "web3": f"http://{names['mirror_node']}-web3.{ns}.svc.cluster.local",
            "grpc": f"{names['mirror_node']}-grpc.{ns}.svc.cluster.local:5600",
            "ingress": f"http://{MIRROR_INGRESS_CONTROLLER}-{ns}.{ns}.svc.cluster.local",
        },
        "pods_ready": list(state["components"]),
    }


def present(module: Any) -> dict[str, Any]:
    mirror = _Mirror(module, present=True)
    pinger = bool(module.params.get("pinger"))
    actions: list[str] = []
    with run_step(module, mirror.namespace, STEP):
        state, actions = plan_then_apply(module, mirror.namespace, lambda g, a: _converge_mirror(mirror, g, a))
    if pinger:
        _pinger_step(mirror, state, actions)
    return step_result(module, "hiero_solo_mirror_node", _fact(mirror, state, pinger), actions)


def _pinger_step(mirror: _Mirror, state: Mapping[str, Any], actions: list[str]) -> None:
    module = mirror.module
    params = module.params
    run_id = None if module.check_mode else params.get("run_id")
    timeout = params.get("wait_timeout")
    with _run_state.step_run(
        mirror.core,
        mirror.namespace,
        run_id,
        PINGER_STEP,
        wait_for=params.get("pinger_wait_for") or [],
        timeout_s=DEFAULT_RUN_WAIT_S if timeout is None else timeout,
        fence=lease_fence(module),
    ):
        _, done = plan_then_apply(module, mirror.namespace, lambda g, a: _converge_pinger(mirror, g, state, a))
        actions.extend(done)


# ---------------------------------------------------------------------------------------------------------------------
# absent


def _remove_mirror(mirror: _Mirror, guard: Any | None, actions: list[str]) -> list[int]:
    """solo's mirror node destroy, plus what it leaves behind; ``guard`` None only plans."""
    ns = mirror.namespace
    core = mirror.core
    dry = guard is None
    exists = namespace_exists(core, ns)
    doc = load_remote_config(core, ns, required=False) if exists else None
    ids = component_ids(doc, KIND) or [component_id_for(doc, KIND)]
    heartbeat = (lambda: None) if dry else guard.check
    if exists:
        for component_id in ids:
            names = mirror.names(component_id)
            release = names["mirror_node"]
            if uninstall_release(mirror.module, guard, release, ns, actions) and not dry:
                wait_pods_gone(
                    core,
                    ns,
                    f"app.kubernetes.io/instance={release}",
                    release,
                    budget(mirror.params, PODS_READY_S),
                    heartbeat,
                )
            actions.extend(
                f"delete PersistentVolumeClaim {ns}/{n}"
                for n in delete_pvcs(core, ns, f"app.kubernetes.io/instance={release}", dry)
            )
        if uninstall_release(mirror.module, guard, SHARED_RESOURCES_RELEASE, ns, actions) and not dry:
            wait_pods_gone(
                core,
                ns,
                SHARED_RESOURCES_SELECTOR,
                SHARED_RESOURCES_RELEASE,
                budget(mirror.params, PODS_READY_S),
                heartbeat,
            )
        actions.extend(
            f"delete PersistentVolumeClaim {ns}/{n}" for n in delete_pvcs(core, ns, SHARED_RESOURCES_SELECTOR, dry)
        )
        remove_components(core, guard, ns, {"postgres": None, "redis": None}, actions)
    # Cluster-scoped, so removed even when the namespace is gone (hazard H9).
    if ingress_class_exists(mirror.clients.networking, MIRROR_INGRESS_CLASS):
        actions.append(f"delete IngressClass {MIRROR_INGRESS_CLASS}")
        if not dry:
            guard.check()
            delete_or_absent(
                "IngressClass",
                None,
                MIRROR_INGRESS_CLASS,
                lambda: mirror.clients.networking.delete_ingress_class(MIRROR_INGRESS_CLASS, _preload_content=False),
            )
    if exists:
        if not dry:
            guard.check()
        actions.extend(
            f"delete {what}"
            for what in delete_leader_election(
                mirror.clients, ns, f"ingress-controller-leader-{MIRROR_INGRESS_CLASS}", dry
            )
        )
        for component_id in ids:
            release = mirror.names(component_id)["ingress_controller"]
            if uninstall_release(mirror.module, guard, release, ns, actions) and not dry:
                wait_pods_gone(
                    core,
                    ns,
                    f"app.kubernetes.io/instance={release}",
                    release,
                    budget(mirror.params, PODS_READY_S),
                    heartbeat,
                )
        # Secrets that outlive their releases: ours (TLS) and chart Secrets a keep policy may leave behind.
        leftovers = [MIRROR_TLS_SECRET, MIRROR_PASSWORDS_SECRET, POSTGRES_SECRET, REDIS_SECRET]
        leftovers += [f"{mirror.names(i)['mirror_node']}-redis" for i in ids]
        for name in leftovers:
            if secret_data(core, ns, name) is None:
                continue
            actions.append(f"delete Secret {ns}/{name}")
            if not dry:
                guard.check()
                delete_or_absent(
                    "Secret",
                    ns,
                    name,
                    lambda name=name: core.delete_namespaced_secret(name, ns, _preload_content=False),
                )
        remove_components(core, guard, ns, {KIND: ids}, actions)
    releases = [name for i in ids for name in (mirror.names(i)["mirror_node"], mirror.names(i)["ingress_controller"])]
    delete_release_cluster_objects(mirror.clients, guard, ns, [SHARED_RESOURCES_RELEASE, *releases], actions)
    return ids


def absent(module: Any) -> dict[str, Any]:
    mirror = _Mirror(module, present=False)
    return remove_step(
        module, mirror.core, mirror.namespace, STEP, functools.partial(_remove_mirror, mirror), "hiero_solo_mirror_node"
    )


def run(module: Any) -> dict[str, Any]:
    if module.params["state"] == "absent":
        return absent(module)
    return present(module)
