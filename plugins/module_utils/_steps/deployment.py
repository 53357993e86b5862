# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``deployment`` step: solo's ``deployment config create`` + ``deployment cluster attach`` + one-shot's
"Create remote config components", and ``deployment config delete``.

Facts from hiero-ledger/solo (solo-spec §3.2, §3.3, §1.4 phase 9, §3.14; ``src/commands/deployment.ts``):

- create: local config entry ``{name, namespace, clusters: [], realm, shard}``.
- attach: the cluster ref must be connected; adds it to the entry's ``clusters``; creates the namespace with the
  label ``app.kubernetes.io/created-by=solo`` when missing; creates the remote config (one consensus node per alias
  in phase ``requested``, ``componentIds.consensusNodes`` = N+1, the cluster entry, the command in the history)
  unless it exists.
- one-shot then registers, in phase ``requested`` and without bumping ``componentIds``, a block node, explorer,
  mirror node and relay (``consensusNodeIds`` 0..N-1) according to the toggles; an existing id is skipped.
- delete: warns about remote resources left behind, removes the entry, and prunes cluster refs no longer used by
  any deployment. The namespace itself is deleted by ``consensus network destroy`` (consensus_network absent).

Beyond solo: ``absent`` also deletes the remote config and the run-state ConfigMaps when they are still there (a
deploy interrupted before the consensus network), so that destroy converges from any point; the remote config is
changed with compare-and-swap writes; a component registered as ``requested`` by an earlier run whose toggle is now
off is unregistered (it was never deployed); and, with ``run_id``, the run's steps are registered in the run-state.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _local_config, _remote_config, _run_state
from ansible_collections.hiero.solo.plugins.module_utils._client import (
    ApiException,
    Urllib3HTTPError,
    cluster_error,
    is_already_exists,
    is_not_found,
)
from ansible_collections.hiero.solo.plugins.module_utils._config import MAX_CONSENSUS_NODES
from ansible_collections.hiero.solo.plugins.module_utils._configmap import configmap_parts, read_configmap
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._lease import SOLO_NAMESPACE_LABELS
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    DEFAULT_RUN_WAIT_S,
    check_label,
    check_run_options,
    diff_of,
    lease_fence,
    run_step,
    solo_home,
    use_cluster_ref_context,
    write_guard,
)

DEPLOYMENT_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "deployment": {"type": "str", "required": True},
    "namespace": {"type": "str"},
    "cluster_ref": {"type": "str"},
    "num_consensus_nodes": {"type": "int", "default": 1},
    "realm": {"type": "int", "default": 0},
    "shard": {"type": "int", "default": 0},
    "components": {"type": "dict"},
    "register_steps": {"type": "dict"},
    "solo_home": {"type": "path"},
}

STEP = "deployment"
CONNECT_STEP = "cluster_ref"
# The toggle-controlled components of the `components` option → their remote config kind.
COMPONENT_KINDS = {
    "block_node": "blockNodes",
    "mirror_node": "mirrorNodes",
    "explorer": "explorers",
    "relay": "relayNodes",
}
DEFAULT_COMPONENTS = {"block_node": False, "mirror_node": True, "explorer": True, "relay": True}
# solo's one-shot warns before deleting a deployment whose namespace still holds Helm releases' ConfigMaps.
HELM_CONFIGMAP_SELECTOR = "app.kubernetes.io/managed-by=Helm"


# ---------------------------------------------------------------------------------------------------------------
# Inputs


def check_node_count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONSENSUS_NODES:
        raise InputError("num_consensus_nodes", f"expected an integer from 1 to {MAX_CONSENSUS_NODES}, got {value!r}")
    return value


def check_non_negative(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(field, f"expected an integer >= 0, got {value!r}")
    return value


def check_components(value: Any) -> dict[str, bool]:
    """The ``components`` option: which toggle-controlled components to register (defaults as solo's one-shot)."""
    if value is None:
        return dict(DEFAULT_COMPONENTS)
    if not isinstance(value, Mapping):
        raise InputError("components", f"expected a mapping of component to true/false, got {value!r}")
    wanted = dict(DEFAULT_COMPONENTS)
    for name, enabled in value.items():
        if name not in COMPONENT_KINDS:
            raise InputError(f"components.{name}", f"unknown component; allowed: {', '.join(COMPONENT_KINDS)}")
        if isinstance(enabled, str) and enabled.strip().lower() in ("true", "false"):
            enabled = enabled.strip().lower() == "true"
        if not isinstance(enabled, bool):
            raise InputError(f"components.{name}", f"expected true or false, got {enabled!r}")
        wanted[name] = enabled
    return wanted


def check_register_steps(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InputError("register_steps", f"expected a mapping of step name to pending or skipped, got {value!r}")
    steps: dict[str, str] = {}
    for step, status in value.items():
        _run_state.check_step_name(step, f"register_steps.{step}")
        if status not in _run_state.REGISTER_STATUSES:
            raise InputError(
                f"register_steps.{step}", f"expected one of {', '.join(_run_state.REGISTER_STATUSES)}, got {status!r}"
            )
        steps[step] = status
    return steps


# ---------------------------------------------------------------------------------------------------------------
# Pure document changes


def _node_ids(doc: Mapping[str, Any]) -> list[int]:
    return sorted((c.get("metadata") or {}).get("id") for c in _remote_config.components(doc, "consensusNodes"))


def check_existing_document(doc: Mapping[str, Any] | None, deployment: str, namespace: str, aliases: list[str]) -> None:
    """Refuse, before any write, a remote config this deployment cannot converge to."""
    if doc is None:
        return
    owners = sorted({c.get("deployment") for c in doc.get("clusters") or [] if isinstance(c, Mapping)} - {None})
    if owners and deployment not in owners:
        raise InputError(
            "namespace",
            f"namespace {namespace} holds the remote config of deployment {', '.join(owners)}, not {deployment}",
        )
    wanted = {_remote_config.component_id_for_alias(alias) for alias in aliases}
    extra = [component_id for component_id in _node_ids(doc) if component_id not in wanted]
    if extra:
        have = ", ".join(_remote_config.alias_for_component_id(i) for i in _node_ids(doc))
        raise InputError(
            "num_consensus_nodes",
            f"the deployment already has the consensus nodes {have}; removing nodes is not supported, got "
            f"{len(aliases)}",
        )


def desired_document(
    doc: dict[str, Any] | None,
    *,
    deployment: str,
    namespace: str,
    cluster_ref: str,
    aliases: list[str],
    components: Mapping[str, bool],
) -> dict[str, Any]:
    """The remote config after attach + component registration; a pure function of ``doc`` (it is re-applied
    after a write conflict)."""
    if doc is None:
        doc = _remote_config.new_document(deployment, namespace, cluster_ref, node_aliases=aliases)
    else:
        doc = copy.deepcopy(doc)
        _remote_config.add_cluster(doc, cluster_ref, namespace, deployment)
        for alias in aliases:
            component_id = _remote_config.component_id_for_alias(alias)
            if _remote_config.get_component(doc, "consensusNodes", component_id) is None:
                node = _remote_config.new_component("consensusNodes", component_id, namespace, cluster_ref)
                _remote_config.add_component(doc, "consensusNodes", node)
        ids = doc["state"].setdefault("componentIds", {})
        ids["consensusNodes"] = max(_remote_config.next_id(doc, "consensusNodes"), max(_node_ids(doc), default=0) + 1)
    node_ids = [_remote_config.component_id_for_alias(alias) - 1 for alias in aliases]
    for toggle, kind in COMPONENT_KINDS.items():
        existing = _remote_config.components(doc, kind)
        if components[toggle]:
            if not existing:
                component = _remote_config.new_component(
                    kind,
                    _remote_config.next_id(doc, kind),
                    namespace,
                    cluster_ref,
                    consensus_node_ids=node_ids if kind == "relayNodes" else None,
                )
                # solo's one-shot pre-registers with skipIncrement: the component add step keeps the same id.
                _remote_config.add_component(doc, kind, component, increment_id=False)
        else:
            for component in existing:
                metadata = component.get("metadata") or {}
                if metadata.get("phase") == "requested":
                    _remote_config.remove_component(doc, kind, metadata["id"])
    return doc


def desired_local(
    doc: dict[str, Any], deployment: str, namespace: str, cluster_ref: str, realm: int, shard: int
) -> None:
    _local_config.set_deployment(doc, deployment, namespace, realm=realm, shard=shard)
    _local_config.attach_cluster(doc, deployment, cluster_ref)


def deployed_but_disabled(doc: Mapping[str, Any] | None, components: Mapping[str, bool]) -> list[str]:
    """Components whose toggle is off but that are already past ``requested`` (their own module removes them)."""
    found = []
    for toggle, kind in COMPONENT_KINDS.items():
        if components[toggle] or doc is None:
            continue
        for component in _remote_config.components(doc, kind):
            metadata = component.get("metadata") or {}
            if metadata.get("phase") != "requested":
                found.append(f"{kind} id {metadata.get('id')} ({metadata.get('phase')})")
    return found


def prune_local(doc: dict[str, Any], deployment: str) -> None:
    """``deployment config delete``: drop the entry, then every cluster ref no remaining deployment uses."""
    _local_config.remove_deployment(doc, deployment)
    used = {ref for entry in doc.get("deployments") or [] for ref in entry.get("clusters") or []}
    for ref in list(doc.get("clusterRefs") or {}):
        if ref not in used:
            _local_config.remove_cluster_ref(doc, ref)


# ---------------------------------------------------------------------------------------------------------------
# Cluster reads and writes


def namespace_exists(core: Any, namespace: str) -> bool:
    try:
        core.read_namespace(namespace)
    except ApiException as exc:
        if is_not_found(exc):
            return False
        raise cluster_error(exc, "read", "Namespace", None, namespace) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "read", "Namespace", None, namespace) from exc
    return True


def create_namespace(core: Any, namespace: str) -> bool:
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace, "labels": dict(SOLO_NAMESPACE_LABELS)},
    }
    try:
        core.create_namespace(body)
    except ApiException as exc:
        if is_already_exists(exc):
            return False
        raise cluster_error(exc, "create", "Namespace", None, namespace) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "create", "Namespace", None, namespace) from exc
    return True


def delete_configmap(core: Any, namespace: str, name: str) -> bool:
    try:
        core.delete_namespaced_config_map(name, namespace)
    except ApiException as exc:
        if is_not_found(exc):
            return False
        raise cluster_error(exc, "delete", "ConfigMap", namespace, name) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "delete", "ConfigMap", namespace, name) from exc
    return True


def _register_run(
    core: Any, namespace: str, run_id: str, steps: Mapping[str, str], cluster_ref_connected: bool
) -> None:
    """Register the run's steps; record the connect step, which ran before the namespace (and so the run-state)
    existed, as done: this step has just verified its outcome (the cluster ref is in the local config and the
    cluster answers)."""
    _run_state.register(core, namespace, run_id, steps)
    if cluster_ref_connected and steps.get(CONNECT_STEP) == _run_state.PENDING:
        entry = _run_state.read(core, namespace).steps.get(CONNECT_STEP)
        if entry is not None and entry.status == _run_state.PENDING:
            _run_state.mark(core, namespace, run_id, CONNECT_STEP, _run_state.DONE)


# ---------------------------------------------------------------------------------------------------------------
# present / absent


def present(module: Any) -> dict[str, Any]:
    params = module.params
    deployment = check_label("deployment", params["deployment"])
    namespace = check_label("namespace", params.get("namespace") or deployment)
    if not params.get("cluster_ref"):
        raise InputError("cluster_ref", "required with state=present: the cluster reference to attach")
    cluster_ref = check_label("cluster_ref", params["cluster_ref"])
    aliases = _remote_config.node_aliases(check_node_count(params["num_consensus_nodes"]))
    realm = check_non_negative("realm", params["realm"])
    shard = check_non_negative("shard", params["shard"])
    components = check_components(params.get("components"))
    register_steps = check_register_steps(params.get("register_steps"))
    check_run_options(params)
    run_id = params.get("run_id")

    home = solo_home(params)
    local_before = _local_config.read(home) or _local_config.new_document()
    if cluster_ref not in (local_before.get("clusterRefs") or {}):
        raise InputError(
            "cluster_ref",
            f"cluster reference {cluster_ref!r} is not connected (not in {_local_config.config_path(home)}): "
            "run hiero.solo.cluster_ref with state=connected first",
        )
    context = use_cluster_ref_context(module, cluster_ref, home)
    core = module.clients().core

    recorded = _local_config.get_deployment(local_before, deployment)
    if recorded and recorded.get("namespace") != namespace:
        old_doc, _rv = _remote_config.load(core, recorded["namespace"])
        if old_doc is not None:
            raise InputError(
                "namespace",
                f"deployment {deployment} already lives in namespace {recorded['namespace']}, got {namespace}; "
                "remove it first (state=absent) to move it",
            )

    def remote_change(doc: dict[str, Any] | None) -> dict[str, Any]:
        return desired_document(
            doc,
            deployment=deployment,
            namespace=namespace,
            cluster_ref=cluster_ref,
            aliases=aliases,
            components=components,
        )

    def local_change(doc: dict[str, Any]) -> None:
        desired_local(doc, deployment, namespace, cluster_ref, realm, shard)

    # Plan from what is there now; nothing below writes before every check has passed.
    ns_existed = namespace_exists(core, namespace)
    doc_before, _rv = _remote_config.load(core, namespace) if ns_existed else (None, None)
    if doc_before is not None:
        _remote_config.validate(doc_before)
    check_existing_document(doc_before, deployment, namespace, aliases)
    doc_planned = remote_change(copy.deepcopy(doc_before))
    local_planned = copy.deepcopy(local_before)
    local_change(local_planned)
    cluster_writes = not ns_existed or doc_planned != doc_before
    for leftover in deployed_but_disabled(doc_before, components):
        module.warn(f"{leftover} is deployed although its toggle is off; remove it with its own module (state=absent)")

    doc_after, local_after = doc_planned, local_planned
    changed = {"namespace": not ns_existed, "remote_config": doc_planned != doc_before, "local_config": False}
    if module.check_mode:
        changed["local_config"] = local_planned != local_before
    else:
        with write_guard(module, namespace, cluster_writes=cluster_writes) as guard:
            if not namespace_exists(core, namespace):  # taking our own Lease may have created it (as solo's lock)
                guard.check()
                create_namespace(core, namespace)
            if run_id is not None:
                guard.check()
                _register_run(core, namespace, run_id, register_steps, cluster_ref_connected=True)
            with run_step(module, namespace, STEP):
                guard.check()
                doc_after, changed["remote_config"] = _remote_config.mutate(core, namespace, remote_change)
                guard.check()
                local_after, changed["local_config"] = _local_config.mutate(home, local_change)

    fact = {
        "deployment": deployment,
        "namespace": namespace,
        "cluster_ref": cluster_ref,
        "context": context,
        "node_aliases": aliases,
        "realm": realm,
        "shard": shard,
        "components": registered_components(doc_after),
        "remote_config": {"namespace": namespace, "name": _remote_config.CONFIGMAP_NAME},
        "local_config": _local_config.config_path(home),
        "run_id": run_id,
    }
    result: dict[str, Any] = {
        "changed": any(changed.values()),
        "changes": changed,
        "deployment": deployment,
        "namespace": namespace,
        "ansible_facts": {"hiero_solo_deployment": fact},
    }
    if module.diff_mode:
        result["diff"] = _diffs(namespace, ns_existed, True, doc_before, doc_after, home, local_before, local_after)
    return result


def registered_components(doc: Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """kind → [{id, phase}] as the remote config records them (a summary for the fact)."""
    summary: dict[str, list[dict[str, Any]]] = {}
    for kind in _remote_config.COMPONENT_KINDS:
        entries = [] if doc is None else _remote_config.components(doc, kind)
        summary[kind] = [
            {"id": (c.get("metadata") or {}).get("id"), "phase": (c.get("metadata") or {}).get("phase")}
            for c in entries
        ]
    return summary


def _remote_warning(core: Any, namespace: str) -> str | None:
    """solo's delete warning: what is still deployed in the namespace (never fails the delete)."""
    notes = []
    try:
        doc, _rv = _remote_config.load(core, namespace)
    except HieroError:
        doc = None
    for kind, entries in registered_components(doc).items():
        live = [f"{kind} {e['id']} ({e['phase']})" for e in entries if e["phase"] != "requested"]
        notes.extend(live)
    try:
        releases = core.list_namespaced_config_map(namespace, label_selector=HELM_CONFIGMAP_SELECTOR).items or []
    except (ApiException, Urllib3HTTPError, OSError):
        releases = []
    if releases:
        notes.append(f"{len(releases)} Helm-managed ConfigMap(s)")
    return ", ".join(notes) or None


def absent(module: Any) -> dict[str, Any]:
    params = module.params
    deployment = check_label("deployment", params["deployment"])
    if params.get("namespace") is not None:
        check_label("namespace", params["namespace"])
    if params.get("cluster_ref") is not None:
        check_label("cluster_ref", params["cluster_ref"])
    check_run_options(params)
    home = solo_home(params)
    local_before = _local_config.read(home) or _local_config.new_document()
    entry = _local_config.get_deployment(local_before, deployment) or {}
    namespace = params.get("namespace") or entry.get("namespace") or deployment
    cluster_ref = params.get("cluster_ref") or next(iter(entry.get("clusters") or []), None)
    context = use_cluster_ref_context(module, cluster_ref, home)
    core = module.clients().core

    if params.get("run_id") and params.get("wait_for"):
        timeout = params.get("wait_timeout")
        _run_state.wait_for(
            core,
            namespace,
            params["run_id"],
            params["wait_for"],
            DEFAULT_RUN_WAIT_S if timeout is None else timeout,
            fence=lease_fence(module),
        )

    ns_existed = namespace_exists(core, namespace)
    present_maps = []
    if ns_existed:
        for name in (_remote_config.CONFIGMAP_NAME, _run_state.CONFIGMAP_NAME):
            if read_configmap(core, namespace, name) is not None:
                present_maps.append(name)
    doc_before = None
    if _remote_config.CONFIGMAP_NAME in present_maps:
        data, _rv = configmap_parts(read_configmap(core, namespace, _remote_config.CONFIGMAP_NAME))
        try:
            doc_before = _remote_config.loads((data or {}).get(_remote_config.DATA_KEY))
        except HieroError:
            doc_before = None  # an unreadable remote config is deleted all the same
    if ns_existed:
        leftovers = _remote_warning(core, namespace)
        if leftovers:
            module.warn(
                f"deployment {deployment} still has resources in namespace {namespace}: {leftovers}; "
                "continuing with the cleanup (the component and consensus_network modules remove them)"
            )
    local_planned = copy.deepcopy(local_before)
    prune_local(local_planned, deployment)

    changed = {"remote_config": False, "run_state": False, "local_config": local_planned != local_before}
    local_after = local_planned
    if module.check_mode:
        changed["remote_config"] = _remote_config.CONFIGMAP_NAME in present_maps
        changed["run_state"] = _run_state.CONFIGMAP_NAME in present_maps
    elif present_maps or changed["local_config"]:
        with write_guard(module, namespace, cluster_writes=bool(present_maps)) as guard:
            for key, name in (
                ("remote_config", _remote_config.CONFIGMAP_NAME),
                ("run_state", _run_state.CONFIGMAP_NAME),
            ):
                if name in present_maps:
                    guard.check()
                    changed[key] = delete_configmap(core, namespace, name)
            guard.check()
            local_after, changed["local_config"] = _local_config.mutate(home, lambda doc: prune_local(doc, deployment))

    fact = {"deployment": deployment, "namespace": namespace, "cluster_ref": cluster_ref, "context": context}
    result: dict[str, Any] = {
        "changed": any(changed.values()),
        "changes": changed,
        "deployment": deployment,
        "namespace": namespace,
        "ansible_facts": {"hiero_solo_deployment": {**fact, "state": "absent"}},
    }
    if module.diff_mode:
        result["diff"] = _diffs(namespace, ns_existed, ns_existed, doc_before, None, home, local_before, local_after)
    return result


def _diffs(
    namespace: str,
    ns_before: bool,
    ns_after: bool,
    doc_before: Mapping[str, Any] | None,
    doc_after: Mapping[str, Any] | None,
    home: str,
    local_before: Mapping[str, Any],
    local_after: Mapping[str, Any],
) -> list[dict[str, Any]]:
    where = f"ConfigMap {namespace}/{_remote_config.CONFIGMAP_NAME} {_remote_config.DATA_KEY}"
    path = _local_config.config_path(home)
    return [
        diff_of(f"namespace {namespace}\n" if ns_before else "", f"namespace {namespace}\n" if ns_after else ""),
        diff_of(
            _remote_config.dumps(doc_before) if doc_before else "",
            _remote_config.dumps(doc_after) if doc_after else "",
            f"{where} (before)",
            f"{where} (after)",
        ),
        diff_of(dict(local_before), dict(local_after), f"{path} (before)", f"{path} (after)"),
    ]


def run(module: Any) -> dict[str, Any]:
    """Carry out one ``deployment`` task. Every input is checked before anything is read or written."""
    if module.params["state"] == "absent":
        return absent(module)
    return present(module)
