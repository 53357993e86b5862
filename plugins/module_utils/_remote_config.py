# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""solo's remote config: the ConfigMap ``solo-remote-config`` that describes a deployment (schema 8).

Facts from hiero-ledger/solo (solo-spec §4.1-4.3): one ConfigMap in the deployment namespace, label
``solo.hedera.com/type=remote-config``, one data key ``remote-config-data`` holding YAML dumped with sorted keys:

    schemaVersion: 8
    metadata: {lastUpdatedAt, lastUpdatedBy: {name, hostname}}
    versions: {cli, chart, consensusNode, mirrorNodeChart, explorerChart, jsonRpcRelayChart, blockNodeChart}
    clusters: [{name, namespace, deployment, dnsBaseDomain, dnsConsensusNodePattern}]
    state: {ledgerPhase, componentIds: {<kind>: next id}, <kind>: [{metadata: {id, namespace, cluster, phase,
            portForwardConfigs?}, ...kind fields}], externalBlockNodes: [...], tssEnabled?, wrapsEnabled?, ...}
    history: {commands: [...at most 50], lastExecutedCommand}

The document is handled as plain dicts so that fields a newer solo writes survive our writes. solo persists with an
unconditional merge-patch of the whole blob (hazard H1: concurrent writers lose updates). Here every change is
``mutate`` (over ``_configmap.mutate_configmap``): read, apply a function to a copy, replace the ConfigMap with the
resourceVersion that was read, and on a 409 read again and re-apply the function, so concurrent steps cannot
overwrite each other.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._configmap import (
    DEFAULT_RETRIES,
    configmap_parts,
    mutate_configmap,
    read_configmap,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._local_config import (
    SOLO_CLI_VERSION,
    VERSION_FIELDS,
    ZERO_VERSION,
    normalize_version,
    user_identity,
    yaml_dump,
    yaml_load,
)

CONFIGMAP_NAME = "solo-remote-config"
DATA_KEY = "remote-config-data"
LABELS = {"solo.hedera.com/type": "remote-config"}
LABEL_SELECTOR = "solo.hedera.com/type=remote-config"
SCHEMA_VERSION = 8
MAX_HISTORY = 50  # SOLO_REMOTE_CONFIG_MAX_COMMAND_IN_HISTORY

# DeploymentPhase, in DEPLOYMENT_PHASE_ORDER.
PHASES = ("requested", "deployed", "configured", "started", "stopped", "frozen")
PHASE_ORDER = {phase: index for index, phase in enumerate(PHASES)}
LEDGER_PHASES = (
    "uninitialized",
    "initialized",
    "snapshot-restoring",
    "snapshot-restored",
    "recovering",
    "recovered",
    "freezing",
    "frozen",
)
# ComponentTypes that have a list under `state` and a counter under `state.componentIds`.
COMPONENT_KINDS = (
    "consensusNodes",
    "blockNodes",
    "mirrorNodes",
    "relayNodes",
    "haProxies",
    "envoyProxies",
    "explorers",
    "postgres",
    "redis",
)
# externalBlockNodes entries are {id, address, port}, not components with metadata.
STATE_LISTS = (*COMPONENT_KINDS, "externalBlockNodes")
METADATA_FIELDS = ("id", "namespace", "cluster", "phase", "portForwardConfigs")
# Component kind → its field under `versions` (applyCallbackToVersionField); plus `cli` and `chart` themselves.
VERSION_FIELD_OF = {
    "consensusNodes": "consensusNode",
    "mirrorNodes": "mirrorNodeChart",
    "explorers": "explorerChart",
    "relayNodes": "jsonRpcRelayChart",
    "blockNodes": "blockNodeChart",
    "cli": "cli",
    "chart": "chart",
}
DEFAULT_DNS_BASE_DOMAIN = "cluster.local"
DEFAULT_DNS_CONSENSUS_NODE_PATTERN = "network-{nodeAlias}-svc.{namespace}.svc"
DEFAULT_COMMAND = "deployment cluster attach"  # argv._ of the command that creates the remote config

# ---------------------------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------------------------


def dumps(doc: Mapping[str, Any]) -> str:
    """The ConfigMap text of ``doc`` (YAML, sorted keys, as solo writes it)."""
    return yaml_dump(doc)


def loads(text: str | None, source: str = f"ConfigMap {CONFIGMAP_NAME} key {DATA_KEY}") -> dict[str, Any] | None:
    """Parse the ConfigMap text. None for an empty document (solo first creates the ConfigMap holding ``{}``)."""
    if text is None or not text.strip():
        return None
    doc = yaml_load(text, source)
    if doc is None or doc == {}:
        return None
    if not isinstance(doc, dict):
        raise HieroError(f"{source}: expected a mapping at the top, got {type(doc).__name__}")
    return doc


# ---------------------------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------------------------


def _fail(field: str, expected: str, value: Any) -> HieroError:
    return HieroError(f"remote config field {field}: expected {expected}, got {value!r}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_component(kind: str, index: int, component: Any) -> int:
    where = f"state.{kind}[{index}]"
    if not isinstance(component, Mapping):
        raise _fail(where, "a mapping", component)
    metadata = component.get("metadata")
    if not isinstance(metadata, Mapping):
        raise _fail(f"{where}.metadata", "a mapping", metadata)
    component_id = metadata.get("id")
    if not _is_int(component_id) or component_id < 0:
        raise _fail(f"{where}.metadata.id", "a non-negative integer", component_id)
    phase = metadata.get("phase")
    if phase not in PHASE_ORDER:
        raise _fail(f"{where}.metadata.phase", f"one of {', '.join(PHASES)}", phase)
    forwards = metadata.get("portForwardConfigs")
    if forwards is not None and not isinstance(forwards, list):
        raise _fail(f"{where}.metadata.portForwardConfigs", "a list", forwards)
    return component_id


def validate(doc: Any) -> None:
    """Raise HieroError naming the field unless ``doc`` is a schema-8 remote config this code can work on."""
    if not isinstance(doc, Mapping):
        raise HieroError(f"remote config: expected a mapping, got {type(doc).__name__}")
    version = doc.get("schemaVersion")
    if version != SCHEMA_VERSION:
        if _is_int(version) and version > SCHEMA_VERSION:
            hint = f"; it was written by a newer solo, this collection understands schema {SCHEMA_VERSION}"
        elif _is_int(version):
            hint = "; it was written by an older solo: run a current solo command on the deployment to migrate it"
        else:
            hint = ""
        raise HieroError(f"remote config field schemaVersion: expected {SCHEMA_VERSION}, got {version!r}{hint}")
    for section in ("metadata", "versions", "state", "history"):
        if not isinstance(doc.get(section), Mapping):
            raise _fail(section, "a mapping", doc.get(section))
    clusters = doc.get("clusters")
    if not isinstance(clusters, list):
        raise _fail("clusters", "a list", clusters)
    for index, cluster in enumerate(clusters):
        if not isinstance(cluster, Mapping):
            raise _fail(f"clusters[{index}]", "a mapping", cluster)
        for key in ("name", "namespace", "deployment"):
            if not isinstance(cluster.get(key), str) or not cluster.get(key):
                raise _fail(f"clusters[{index}].{key}", "a non-empty string", cluster.get(key))
    history = doc["history"]
    if not isinstance(history.get("commands", []), list):
        raise _fail("history.commands", "a list", history.get("commands"))
    state = doc["state"]
    ledger_phase = state.get("ledgerPhase")
    if ledger_phase is not None and ledger_phase not in LEDGER_PHASES:
        raise _fail("state.ledgerPhase", f"one of {', '.join(LEDGER_PHASES)}", ledger_phase)
    component_ids = state.get("componentIds")
    if not isinstance(component_ids, Mapping):
        raise _fail("state.componentIds", "a mapping", component_ids)
    for kind in COMPONENT_KINDS:
        if kind in component_ids and (not _is_int(component_ids[kind]) or component_ids[kind] < 0):
            raise _fail(f"state.componentIds.{kind}", "a non-negative integer", component_ids[kind])
    for kind in STATE_LISTS:
        entries = state.get(kind, [])
        if not isinstance(entries, list):
            raise _fail(f"state.{kind}", "a list", entries)
        if kind not in COMPONENT_KINDS:
            continue
        seen: set[int] = set()
        for index, component in enumerate(entries):
            component_id = _validate_component(kind, index, component)
            if component_id in seen:
                raise _fail(f"state.{kind}[{index}].metadata.id", "an id not used by another entry", component_id)
            seen.add(component_id)


# ---------------------------------------------------------------------------------------------------------------
# Building the document
# ---------------------------------------------------------------------------------------------------------------


def iso_now(now: datetime | None = None) -> str:
    """A timestamp as JavaScript's Date.toISOString() writes it: UTC, milliseconds, ``Z``."""
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def component_id_for_alias(alias: str) -> int:
    """``node1`` → 1 (solo: nodeIdFromNodeAlias + 1, the number at the end of the alias)."""
    digits = ""
    for char in reversed(alias):
        if not char.isdigit():
            break
        digits = char + digits
    if not digits or len(digits) == len(alias):
        raise InputError("node_alias", f"expected an alias ending in a number, such as node1, got {alias!r}")
    return int(digits)


def alias_for_component_id(component_id: int) -> str:
    return f"node{component_id}"


def node_aliases(count: int) -> list[str]:
    """``node1`` … ``node<count>`` (Templates.renderNodeAliasesFromCount)."""
    return [alias_for_component_id(number) for number in range(1, count + 1)]


def new_component(
    kind: str,
    component_id: int,
    namespace: str,
    cluster: str,
    phase: str = "requested",
    *,
    port_forward_configs: list[dict[str, int]] | None = None,
    consensus_node_ids: list[int] | None = None,
    version: str | None = None,
) -> dict[str, Any]:
    """One entry of ``state.<kind>`` shaped as solo's ComponentFactory makes it.

    Consensus nodes carry empty ``blockNodeMap``/``externalBlockNodeMap``; a relay lists ``consensusNodeIds``
    (node ids, i.e. component id - 1); an explorer may carry ``version``. Unset optional fields are left out,
    as solo's YAML omits undefined values.
    """
    check_kind(kind)
    check_phase(phase)
    metadata: dict[str, Any] = {"id": component_id, "namespace": namespace, "cluster": cluster, "phase": phase}
    if port_forward_configs is not None:
        metadata["portForwardConfigs"] = [dict(item) for item in port_forward_configs]
    component: dict[str, Any] = {"metadata": metadata}
    if kind == "consensusNodes":
        component["blockNodeMap"] = []
        component["externalBlockNodeMap"] = []
    if kind == "relayNodes" and consensus_node_ids is not None:
        component["consensusNodeIds"] = list(consensus_node_ids)
    if kind == "explorers" and version is not None:
        component["version"] = version
    return component


def new_document(
    deployment: str,
    namespace: str,
    cluster_ref: str,
    context: str | None = None,
    *,
    node_aliases: list[str] | tuple[str, ...] = (),
    ledger_phase: str = "uninitialized",
    cli_version: str = SOLO_CLI_VERSION,
    command: str = DEFAULT_COMMAND,
    identity: Mapping[str, str] | None = None,
    now: datetime | None = None,
    dns_base_domain: str = DEFAULT_DNS_BASE_DOMAIN,
    dns_consensus_node_pattern: str = DEFAULT_DNS_CONSENSUS_NODE_PATTERN,
) -> dict[str, Any]:
    """The document ``deployment cluster attach`` writes (RemoteConfigRuntimeState.create).

    One consensus node per alias (id from the alias, phase ``requested``), ``componentIds.consensusNodes`` =
    number of nodes + 1 and every other counter 1, versions ``0.0.0`` except ``cli``, one cluster entry, and the
    command in the history. ``context`` is accepted because solo's create() takes it, but the document does not
    record contexts (they live in the local config's clusterRefs).
    """
    del context  # not part of the document
    if ledger_phase not in LEDGER_PHASES:
        raise InputError("ledger_phase", f"expected one of {', '.join(LEDGER_PHASES)}, got {ledger_phase!r}")
    versions = dict.fromkeys(VERSION_FIELDS, ZERO_VERSION)
    versions["cli"] = normalize_version(cli_version)
    component_ids = dict.fromkeys(COMPONENT_KINDS, 1)
    component_ids["consensusNodes"] = len(node_aliases) + 1
    state: dict[str, Any] = {"ledgerPhase": ledger_phase, "componentIds": component_ids}
    for kind in STATE_LISTS:
        state[kind] = []
    state["consensusNodes"] = [
        new_component("consensusNodes", component_id_for_alias(alias), namespace, cluster_ref) for alias in node_aliases
    ]
    return {
        "schemaVersion": SCHEMA_VERSION,
        "metadata": {"lastUpdatedAt": iso_now(now), "lastUpdatedBy": dict(identity or user_identity())},
        "versions": versions,
        "clusters": [
            {
                "name": cluster_ref,
                "namespace": namespace,
                "deployment": deployment,
                "dnsBaseDomain": dns_base_domain,
                "dnsConsensusNodePattern": dns_consensus_node_pattern,
            }
        ],
        "state": state,
        "history": {"commands": [command], "lastExecutedCommand": command},
    }


# ---------------------------------------------------------------------------------------------------------------
# Component helpers (ComponentsDataWrapper). Each changes ``doc`` in place and returns whether it changed it.
# ---------------------------------------------------------------------------------------------------------------


def check_kind(kind: str) -> str:
    if kind not in COMPONENT_KINDS:
        raise InputError("kind", f"expected one of {', '.join(COMPONENT_KINDS)}, got {kind!r}")
    return kind


def check_phase(phase: str) -> str:
    if phase not in PHASE_ORDER:
        raise InputError("phase", f"expected one of {', '.join(PHASES)}, got {phase!r}")
    return phase


def components(doc: Mapping[str, Any], kind: str) -> list[dict[str, Any]]:
    check_kind(kind)
    return list((doc.get("state") or {}).get(kind) or [])


def get_component(doc: Mapping[str, Any], kind: str, component_id: int) -> dict[str, Any] | None:
    for component in components(doc, kind):
        if (component.get("metadata") or {}).get("id") == component_id:
            return component
    return None


def next_id(doc: Mapping[str, Any], kind: str) -> int:
    """The id solo gives the next component of ``kind`` (``state.componentIds[kind]``, default 1)."""
    check_kind(kind)
    return int(((doc.get("state") or {}).get("componentIds") or {}).get(kind) or 1)


def add_component(doc: dict[str, Any], kind: str, component: Mapping[str, Any], *, increment_id: bool = True) -> bool:
    """Append ``component`` unless one with its id exists (then nothing changes, as in solo).

    ``increment_id`` adds 1 to ``componentIds[kind]`` as solo's addNewComponent does; one-shot's "Create remote
    config components" step registers mirror/explorer/relay/block node with the counter left alone (skipIncrement).
    """
    check_kind(kind)
    component_id = (component.get("metadata") or {}).get("id")
    if not _is_int(component_id):
        raise InputError("component", f"metadata.id must be an integer, got {component_id!r}")
    check_phase((component.get("metadata") or {}).get("phase"))
    if get_component(doc, kind, component_id) is not None:
        return False
    state = doc.setdefault("state", {})
    state.setdefault(kind, []).append(copy.deepcopy(dict(component)))
    if increment_id:
        ids = state.setdefault("componentIds", {})
        ids[kind] = next_id(doc, kind) + 1
    return True


def update_component(doc: dict[str, Any], kind: str, component_id: int, **changes: Any) -> bool:
    """Set fields of one component: ``namespace``, ``cluster``, ``phase`` and ``portForwardConfigs`` go into its
    metadata, anything else (``blockNodeMap``, ``consensusNodeIds``, ``version``...) onto the entry itself."""
    component = get_component(doc, kind, component_id)
    if component is None:
        raise HieroError(f"remote config has no {kind} component with id {component_id}")
    if "id" in changes:
        raise InputError("id", "a component's id cannot be changed")
    if "phase" in changes:
        check_phase(changes["phase"])
    changed = False
    for key, value in changes.items():
        target = component.setdefault("metadata", {}) if key in METADATA_FIELDS else component
        if key not in target or target[key] != value:
            target[key] = copy.deepcopy(value)
            changed = True
    return changed


def set_phase(doc: dict[str, Any], kind: str, component_id: int, phase: str) -> bool:
    return update_component(doc, kind, component_id, phase=phase)


def remove_component(doc: dict[str, Any], kind: str, component_id: int) -> bool:
    """Remove one component; False when there is none with that id (solo raises; removal here is idempotent)."""
    existing = components(doc, kind)
    kept = [c for c in existing if (c.get("metadata") or {}).get("id") != component_id]
    if len(kept) == len(existing):
        return False
    doc["state"][kind] = kept
    return True


def phase_at_least(phase: str | None, minimum: str) -> bool:
    """solo's isDeploymentPhaseAtLeast."""
    return phase in PHASE_ORDER and PHASE_ORDER[phase] >= PHASE_ORDER[check_phase(minimum)]


def component_phases(doc: Mapping[str, Any]) -> dict[str, str]:
    """The lowest phase per kind that has components (getComponentPhasesMap)."""
    phases: dict[str, str] = {}
    for kind in ("consensusNodes", "blockNodes", "mirrorNodes", "explorers", "relayNodes"):
        seen = [(c.get("metadata") or {}).get("phase") for c in components(doc, kind)]
        known = [phase for phase in seen if phase in PHASE_ORDER]
        if known:
            phases[kind] = min(known, key=PHASE_ORDER.__getitem__)
    return phases


def set_ledger_phase(doc: dict[str, Any], ledger_phase: str) -> bool:
    if ledger_phase not in LEDGER_PHASES:
        raise InputError("ledger_phase", f"expected one of {', '.join(LEDGER_PHASES)}, got {ledger_phase!r}")
    state = doc.setdefault("state", {})
    if state.get("ledgerPhase") == ledger_phase:
        return False
    state["ledgerPhase"] = ledger_phase
    return True


def get_version(doc: Mapping[str, Any], kind_or_field: str) -> str:
    field = VERSION_FIELD_OF.get(kind_or_field, kind_or_field)
    return str((doc.get("versions") or {}).get(field) or ZERO_VERSION)


def set_version(doc: dict[str, Any], kind_or_field: str, version: str) -> bool:
    """Record a version under ``versions`` by component kind (``mirrorNodes``) or field (``mirrorNodeChart``),
    written without a leading ``v`` as solo's SemanticVersion does."""
    field = VERSION_FIELD_OF.get(kind_or_field, kind_or_field)
    if field not in VERSION_FIELDS:
        allowed = ", ".join(sorted({*VERSION_FIELDS, *VERSION_FIELD_OF}))
        raise InputError("version field", f"expected one of {allowed}, got {kind_or_field!r}")
    value = normalize_version(version)
    versions = doc.setdefault("versions", {})
    if versions.get(field) == value:
        return False
    versions[field] = value
    return True


def add_cluster(
    doc: dict[str, Any],
    cluster_ref: str,
    namespace: str,
    deployment: str,
    *,
    dns_base_domain: str = DEFAULT_DNS_BASE_DOMAIN,
    dns_consensus_node_pattern: str = DEFAULT_DNS_CONSENSUS_NODE_PATTERN,
) -> bool:
    clusters = doc.setdefault("clusters", [])
    if any(isinstance(c, Mapping) and c.get("name") == cluster_ref for c in clusters):
        return False
    clusters.append(
        {
            "name": cluster_ref,
            "namespace": namespace,
            "deployment": deployment,
            "dnsBaseDomain": dns_base_domain,
            "dnsConsensusNodePattern": dns_consensus_node_pattern,
        }
    )
    return True


def record_command(doc: dict[str, Any], command: str) -> bool:
    """Append ``command`` to ``history.commands`` (keeping the last 50) and make it ``lastExecutedCommand``.

    This always changes the document, so call it only together with a real change, or a re-run is never a no-op.
    """
    history = doc.setdefault("history", {})
    commands = history.setdefault("commands", [])
    commands.append(command)
    del commands[:-MAX_HISTORY]
    history["lastExecutedCommand"] = command
    return True


# ---------------------------------------------------------------------------------------------------------------
# The ConfigMap
# ---------------------------------------------------------------------------------------------------------------


def _source(namespace: str) -> str:
    return f"ConfigMap {namespace}/{CONFIGMAP_NAME} key {DATA_KEY}"


def load(core_api: Any, namespace: str) -> tuple[dict[str, Any] | None, str | None]:
    """(document, resourceVersion) of the remote config in ``namespace``; (None, None) when there is no ConfigMap
    and (None, <rv>) when it exists but is still empty (solo creates it with ``{}`` before filling it)."""
    data, resource_version = configmap_parts(read_configmap(core_api, namespace, CONFIGMAP_NAME))
    doc = None if data is None else loads(data.get(DATA_KEY), _source(namespace))
    return doc, resource_version


def mutate(
    core_api: Any,
    namespace: str,
    fn: Callable[[dict[str, Any] | None], dict[str, Any] | None],
    *,
    retries: int = DEFAULT_RETRIES,
    check_mode: bool = False,
) -> tuple[dict[str, Any] | None, bool]:
    """Change the remote config with optimistic concurrency. Returns (document, changed).

    ``fn`` gets a private copy of the current document and returns the new one (or None after changing it in
    place). When there is no remote config yet, ``fn`` gets None: returning a document creates the ConfigMap,
    returning None leaves it absent. Nothing is written when the result equals what is stored. The write replaces
    the ConfigMap with the resourceVersion that was read; on a 409 (someone wrote in between, or created it first)
    the document is read again and ``fn`` applied again, up to ``retries`` more times with jittered backoff, so
    ``fn`` must be a pure function of the document it gets. With ``check_mode`` nothing is written.
    """
    # The documents of the latest application of ``fn``: the one returned to the caller.
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None

    def change(data: dict[str, str] | None) -> dict[str, str] | None:
        nonlocal before, after
        before = None if data is None else loads(data.get(DATA_KEY), _source(namespace))
        if before is not None:
            validate(before)  # never rewrite a document this code does not understand
        work = copy.deepcopy(before)
        result = fn(work)
        after = work if result is None else result
        if after is None or after == before:
            return None  # compared as documents, so a differently formatted but equal text is not rewritten
        validate(after)
        return {**(data or {}), DATA_KEY: dumps(after)}

    _data, changed = mutate_configmap(
        core_api, namespace, CONFIGMAP_NAME, change, labels=LABELS, retries=retries, check_mode=check_mode
    )
    return (after if changed else before), changed
