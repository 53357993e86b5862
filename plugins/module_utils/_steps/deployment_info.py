# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``deployment_info`` step: solo's ``one-shot show deployment`` and ``one-shot show accounts``, as data.

Facts from hiero-ledger/solo (``default-one-shot.ts`` info() and showAccounts()): the deployment is looked up in
the local config (namespace, clusters), its cluster's context in ``clusterRefs``; the namespace and the remote
config ``solo-remote-config`` are read; versions and deployed components come from the remote config; the output
directory ``~/.solo/one-shot-<deployment>`` holds ``notes``, ``versions``, ``forwards`` and ``accounts.json``.
Where solo prints a warning (no local config entry, namespace or remote config missing) this returns what it found
and says what is missing.

Read-only: nothing is written, not even the run-state (``wait_for`` only waits); private keys are never read from
Secrets and are dropped from what ``accounts.json`` holds.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _local_config, _remote_config, _run_state
from ansible_collections.hiero.solo.plugins.module_utils._client import (
    ApiException,
    Urllib3HTTPError,
    cluster_error,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    DEFAULT_RUN_WAIT_S,
    check_label,
    check_run_options,
    solo_home,
    use_cluster_ref_context,
)
from ansible_collections.hiero.solo.plugins.module_utils._steps.accounts import ACCOUNT_ID_LABEL, ACCOUNTS_FILE
from ansible_collections.hiero.solo.plugins.module_utils._steps.deployment import namespace_exists
from ansible_collections.hiero.solo.plugins.module_utils._steps.port_forward import (
    FORWARDS_FILE,
    StateDir,
    output_dir_of,
    read_lines,
)

DEPLOYMENT_INFO_ARG_SPEC: dict[str, dict[str, Any]] = {
    "deployment": {"type": "str", "default": "one-shot"},
    "namespace": {"type": "str"},
    "cluster_ref": {"type": "str"},
    "output_dir": {"type": "path"},
    "solo_home": {"type": "path"},
}

OUTPUT_FILES = ("notes", "versions", FORWARDS_FILE, ACCOUNTS_FILE)
# Component kind → the label solo gives its port-forward.
FORWARD_LABELS = {
    "haProxies": "Consensus Node gRPC",
    "mirrorNodes": "Mirror ingress controller",
    "explorers": "Explorer",
    "relayNodes": "JSON RPC Relay",
}
NODEPORT_SELECTOR = "app.kubernetes.io/managed-by=solo-one-shot"
PRIVATE_FIELDS = ("privateKey",)


# ---------------------------------------------------------------------------------------------------------------
# Pure views of what was read


def component_views(doc: Mapping[str, Any] | None) -> dict[str, list[dict[str, Any]]]:
    """Every component of the remote config: id, phase, cluster, namespace, port-forwards (+ alias for nodes)."""
    views: dict[str, list[dict[str, Any]]] = {}
    if doc is None:
        return views
    for kind in _remote_config.COMPONENT_KINDS:
        entries = []
        for component in _remote_config.components(doc, kind):
            metadata = component.get("metadata") or {}
            view: dict[str, Any] = {
                "id": metadata.get("id"),
                "phase": metadata.get("phase"),
                "cluster": metadata.get("cluster"),
                "namespace": metadata.get("namespace"),
                "port_forwards": [dict(item) for item in metadata.get("portForwardConfigs") or []],
            }
            if kind in ("consensusNodes", "haProxies", "envoyProxies") and isinstance(view["id"], int):
                view["node_alias"] = _remote_config.alias_for_component_id(view["id"])
            if kind == "relayNodes":
                view["consensus_node_ids"] = list(component.get("consensusNodeIds") or [])
            entries.append(view)
        if entries:
            views[kind] = entries
    return views


def endpoint_views(doc: Mapping[str, Any] | None, running: Mapping[int, int | None]) -> list[dict[str, Any]]:
    """The port-forwards the remote config records, with whether a forwarder of ours serves the local port."""
    endpoints = []
    for kind, entries in component_views(doc).items():
        for view in entries:
            for item in view["port_forwards"]:
                local = item.get("localPort")
                endpoints.append(
                    {
                        "component": kind,
                        "id": view["id"],
                        "label": FORWARD_LABELS.get(kind, kind),
                        "local_port": local,
                        "pod_port": item.get("podPort"),
                        "address": f"127.0.0.1:{local}",
                        "forwarder_pid": running.get(local) if isinstance(local, int) else None,
                    }
                )
    return sorted(endpoints, key=lambda e: (e["local_port"] or 0, e["component"]))


def public_accounts(text: str | None) -> tuple[dict[str, list[dict[str, Any]]] | None, set[str]]:
    """``accounts.json`` without private keys (solo's ``show accounts``), and the private values that were dropped
    (for Ansible to mask, should any show up elsewhere). None when there is no file."""
    if text is None:
        return None, set()
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise HieroError(f"{ACCOUNTS_FILE}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(document, dict):
        raise HieroError(f"{ACCOUNTS_FILE}: expected an object at the top, got {type(document).__name__}")
    dropped: set[str] = set()
    public: dict[str, list[dict[str, Any]]] = {}
    for group, entries in document.items():
        if not isinstance(entries, list):
            continue
        public[group] = []
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for name in PRIVATE_FIELDS:
                if isinstance(entry.get(name), str):
                    dropped.add(entry[name])
            public[group].append({key: value for key, value in entry.items() if key not in PRIVATE_FIELDS})
    return public, dropped


# ---------------------------------------------------------------------------------------------------------------
# Reading


def _list(call: Any, kind: str, namespace: str, **kwargs: Any) -> list[Any]:
    try:
        return list(call(namespace, **kwargs).items or [])
    except ApiException as exc:
        if exc.status == 404:
            return []
        raise cluster_error(exc, "list", kind, namespace, None) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "list", kind, namespace, None) from exc


def _nodeports(core: Any, namespace: str) -> list[dict[str, Any]]:
    found = []
    for service in _list(core.list_namespaced_service, "Service", namespace, label_selector=NODEPORT_SELECTOR):
        for port in service.spec.ports or []:
            found.append({"service": service.metadata.name, "port": port.port, "node_port": port.node_port})
    return found


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise HieroError(f"cannot read {path}: {exc}") from exc


def info(module: Any) -> dict[str, Any]:
    params = module.params
    deployment = params["deployment"]
    if not deployment:
        raise InputError("deployment", "expected a deployment name such as one-shot")
    check_run_options(params)
    home = solo_home(params)
    local = _local_config.read(home)
    entry = _local_config.get_deployment(local, deployment) if local else None
    namespace = params.get("namespace") or (entry or {}).get("namespace")
    if not namespace:
        where = _local_config.config_path(home)
        raise InputError("namespace", f"required: deployment {deployment!r} is not in {where}")
    namespace = check_label("namespace", namespace)
    clusters = list((entry or {}).get("clusters") or [])
    cluster_ref = params.get("cluster_ref") or (clusters[0] if clusters else None)
    context = use_cluster_ref_context(module, cluster_ref, home)
    core = module.clients().core

    run_id = params.get("run_id")
    if run_id and params.get("wait_for"):
        timeout = params.get("wait_timeout")
        _run_state.wait_for(
            core, namespace, run_id, params["wait_for"], DEFAULT_RUN_WAIT_S if timeout is None else timeout
        )

    found = {"local_config": entry is not None, "namespace": False, "remote_config": False}
    doc = None
    run_state = None
    account_ids: list[str] = []
    nodeports: list[dict[str, Any]] = []
    if namespace_exists(core, namespace):
        found["namespace"] = True
        doc, _rv = _remote_config.load(core, namespace)
        found["remote_config"] = doc is not None
        state = _run_state.read(core, namespace)
        if state.run_id is not None:
            run_state = {
                "run_id": state.run_id,
                "steps": {step: step_state.status for step, step_state in sorted(state.steps.items())},
                "timeline": _run_state.timeline(state),
            }
        secrets = _list(core.list_namespaced_secret, "Secret", namespace, label_selector=ACCOUNT_ID_LABEL)
        account_ids = sorted(
            {(s.metadata.labels or {}).get(ACCOUNT_ID_LABEL) for s in secrets} - {None},
            key=lambda text: tuple(int(p) if p.isdigit() else 0 for p in str(text).split(".")),
        )
        nodeports = _nodeports(core, namespace)

    output_dir = output_dir_of({**params, "deployment": deployment}, namespace)
    state_dir = StateDir(output_dir)
    running = {port: state_dir.running_pid(port, state_dir.record(port)) for port in state_dir.ports()}
    accounts, private_values = public_accounts(_read_text(os.path.join(output_dir, ACCOUNTS_FILE)))
    module.ansible_module.no_log_values.update(value for value in private_values if len(value) >= 16)
    files = {name: os.path.isfile(os.path.join(output_dir, name)) for name in OUTPUT_FILES}

    versions = dict((doc or {}).get("versions") or {})
    history = (doc or {}).get("history") or {}
    fact = {
        "deployment": deployment,
        "namespace": namespace,
        "cluster_ref": cluster_ref,
        "context": context,
        "clusters": clusters,
        "realm": (entry or {}).get("realm"),
        "shard": (entry or {}).get("shard"),
        "found": found,
        "versions": versions,
        "ledger_phase": ((doc or {}).get("state") or {}).get("ledgerPhase"),
        "phases": _remote_config.component_phases(doc) if doc else {},
        "components": component_views(doc),
        "endpoints": endpoint_views(doc, running),
        "forwards": read_lines(os.path.join(output_dir, FORWARDS_FILE)),
        "nodeport_services": nodeports,
        "accounts": accounts,
        "account_secrets": account_ids,
        "output_dir": output_dir,
        "files": files,
        "last_command": history.get("lastExecutedCommand"),
        "run_state": run_state,
    }
    return {"changed": False, **fact, "ansible_facts": {"hiero_solo_deployment_info": fact}}


def run(module: Any) -> dict[str, Any]:
    return info(module)
