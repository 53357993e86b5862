# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""What the workload steps (consensus_network, consensus_node, block_node) share: Helm values merging, Secrets,
namespaced deletions, the remote config they read, and deadlines for chains of waits.

Every cluster call is wrapped so a failure names the kind, namespace and name (``_client.cluster_error``).
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._client import (
    ApiException,
    Urllib3HTTPError,
    cluster_error,
    is_already_exists,
    is_not_found,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError, WaitTimeout
from ansible_collections.hiero.solo.plugins.module_utils._local_config import user_identity

_API_ERRORS = (ApiException, Urllib3HTTPError, OSError)

# ---------------------------------------------------------------------------------------------------------------
# Helm values: files merged as helm merges them, then --set paths


def merge_values(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base`` as helm merges values files: maps recursively, everything else (lists included)
    replaced, and a null in the overlay removes the key."""
    merged = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


_SEGMENT_RE = re.compile(r"^([^.\[\]]+)((?:\[\d+\])*)$")


def _segments(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.split("."):
        match = _SEGMENT_RE.match(piece)
        if not match:
            raise InputError("values", f"invalid value path {path!r}")
        parts.append(match.group(1))
        parts.extend(int(index) for index in re.findall(r"\[(\d+)\]", match.group(2)))
    return parts


def set_value(values: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Apply one ``--set path=value`` the way helm does: ``a.b[1].c`` walks (and creates) maps and lists; an index
    past the end of a list pads it. Changes ``values`` in place and returns it."""
    parts = _segments(path)
    node: Any = values
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        following = None if last else parts[position + 1]
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(part, int):
            while len(node) <= part:
                node.append(None)
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if not isinstance(node[part], (dict, list)):
                    node[part] = empty
                node = node[part]
        else:
            if last:
                node[part] = copy.deepcopy(value)
            else:
                if not isinstance(node.get(part), (dict, list)):
                    node[part] = empty
                node = node[part]
    return values


def parse_node_map(field: str, text: Any, aliases: Iterable[str]) -> dict[str, str]:
    """``node1=10.0.0.1,node2=10.0.0.2`` (solo's static IP flags) → {alias: value}, aliases checked."""
    if text in (None, ""):
        return {}
    if not isinstance(text, str):
        raise InputError(field, f"expected a string such as node1=10.0.0.1,node2=10.0.0.2, got {text!r}")
    known = list(aliases)
    mapping: dict[str, str] = {}
    for item in text.split(","):
        alias, sep, value = item.strip().partition("=")
        if not sep or not alias or not value:
            raise InputError(field, f"expected <alias>=<value> pairs separated by commas, got {item.strip()!r}")
        if alias not in known:
            raise InputError(field, f"{alias!r} is not one of the nodes {', '.join(known)}")
        mapping[alias] = value.strip()
    return mapping


def values_files_of(field: str, value: Any) -> list[str]:
    """The paths of a comma-separated list of values files (solo's ``--values-file``), or of a list."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",") if item.strip()]
    elif isinstance(value, list):
        items = [str(item).strip() for item in value if str(item).strip()]
    else:
        raise InputError(field, f"expected a path or a comma-separated list of paths, got {value!r}")
    return items


def load_values_file(field: str, path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except FileNotFoundError:
        raise InputError(field, f"values file {path} does not exist") from None
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(field, f"cannot read values file {path}: {' '.join(str(exc).split())}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError(field, f"values file {path} must hold a mapping, got {type(document).__name__}")
    return document


# ---------------------------------------------------------------------------------------------------------------
# Remote config


def load_remote_config(core: Any, namespace: str, step: str) -> dict[str, Any]:
    """The deployment's remote config; a clear error when there is none (the deployment step makes it)."""
    doc, _rv = _remote_config.load(core, namespace)
    if doc is None:
        raise HieroError(
            f"{step}: namespace {namespace} has no remote config (ConfigMap {_remote_config.CONFIGMAP_NAME}); "
            "run hiero.solo.deployment with state=present first",
            namespace=namespace,
        )
    _remote_config.validate(doc)
    return doc


def cluster_of(doc: Mapping[str, Any], namespace: str) -> str:
    """The cluster reference the deployment's components live in (solo's ``metadata.cluster``)."""
    for node in _remote_config.components(doc, "consensusNodes"):
        cluster = (node.get("metadata") or {}).get("cluster")
        if cluster:
            return str(cluster)
    for cluster in doc.get("clusters") or []:
        if isinstance(cluster, Mapping) and cluster.get("namespace") == namespace and cluster.get("name"):
            return str(cluster["name"])
    clusters = [c.get("name") for c in doc.get("clusters") or [] if isinstance(c, Mapping) and c.get("name")]
    if clusters:
        return str(clusters[0])
    raise HieroError(f"the remote config in namespace {namespace} names no cluster")


def finish_change(before: Mapping[str, Any] | None, after: dict[str, Any], command: str) -> dict[str, Any]:
    """When ``after`` differs from ``before``: stamp metadata and record the command in the history, as solo's
    persist after a command does. An unchanged document is returned untouched (a re-run writes nothing)."""
    if before is not None and after == before:
        return after
    metadata = after.setdefault("metadata", {})
    metadata["lastUpdatedAt"] = _remote_config.iso_now()
    metadata["lastUpdatedBy"] = user_identity()
    _remote_config.record_command(after, command)
    return after


# ---------------------------------------------------------------------------------------------------------------
# Namespaces, Secrets, PVCs, pods


def namespace_labels(core: Any, namespace: str) -> dict[str, str] | None:
    """The namespace's labels, or None when it does not exist."""
    try:
        found = core.read_namespace(namespace)
    except ApiException as exc:
        if is_not_found(exc):
            return None
        raise cluster_error(exc, "read", "Namespace", None, namespace) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "read", "Namespace", None, namespace) from exc
    return dict(found.metadata.labels or {})


def read_secret(core: Any, namespace: str, name: str) -> Any | None:
    try:
        return core.read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if is_not_found(exc):
            return None
        raise cluster_error(exc, "read", "Secret", namespace, name) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "read", "Secret", namespace, name) from exc


def secret_differs(existing: Any | None, data: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    if existing is None:
        return True
    have_labels = existing.metadata.labels or {}
    return (
        dict(existing.data or {}) != dict(data)
        or any(have_labels.get(key) != value for key, value in labels.items())
        or (existing.type or "Opaque") != "Opaque"
    )


def write_secret(
    core: Any, namespace: str, name: str, data: Mapping[str, str], labels: Mapping[str, str], existing: Any | None
) -> None:
    """Create the Opaque Secret, or replace it (keeping its other labels) with the resourceVersion that was read."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if existing is not None:
        metadata["labels"] = {**(existing.metadata.labels or {}), **labels}
        metadata["resourceVersion"] = existing.metadata.resource_version
        if existing.metadata.annotations:
            metadata["annotations"] = dict(existing.metadata.annotations)
    body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": metadata, "data": dict(data)}
    action = "replace" if existing is not None else "create"
    try:
        if existing is None:
            core.create_namespaced_secret(namespace, body)
        else:
            core.replace_namespaced_secret(name, namespace, body)
    except ApiException as exc:
        if existing is None and is_already_exists(exc):
            # created meanwhile (another writer): make it ours with a fresh read
            write_secret(core, namespace, name, data, labels, read_secret(core, namespace, name))
            return
        raise cluster_error(exc, action, "Secret", namespace, name) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, action, "Secret", namespace, name) from exc


def list_names(list_call: Callable[..., Any], kind: str, namespace: str, selector: str | None = None) -> list[str]:
    kwargs = {"label_selector": selector} if selector else {}
    try:
        items = list_call(namespace, **kwargs).items or []
    except _API_ERRORS as exc:
        raise cluster_error(exc, "list", kind, namespace, None) from exc
    return sorted(item.metadata.name for item in items)


def delete_named(
    delete_call: Callable[..., Any], kind: str, namespace: str | None, name: str, grace_period_s: int | None = None
) -> bool:
    """Delete one object; False when it was already gone.

    The answer is not deserialized: API servers answer a delete with the object or with a Status, and the typed
    client refuses a Status where it expects the object.
    """
    kwargs: dict[str, Any] = {"_preload_content": False}
    if grace_period_s is not None:
        kwargs["grace_period_seconds"] = grace_period_s
    args = (name, namespace) if namespace is not None else (name,)
    try:
        response = delete_call(*args, **kwargs)
        release = getattr(response, "release_conn", None)
        if release is not None:
            release()
    except ApiException as exc:
        if is_not_found(exc):
            return False
        raise cluster_error(exc, "delete", kind, namespace, name) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "delete", kind, namespace, name) from exc
    return True


def wait_gone(
    read: Callable[[], Any], what: str, timeout_s: float, *, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Poll ``read`` (None or a 404 = gone) until the object is gone; WaitTimeout naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        try:
            if read() is None:
                return
        except ApiException as exc:
            if is_not_found(exc):
                return
            raise
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout_s:g}s waiting for {what} to be deleted; it still exists")
        sleep(delay)
        delay = min(delay * 2, 2.0)


class Deadline:
    """One budget for a chain of waits: each wait gets what is left."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.seconds = seconds
        self._end = clock() + seconds

    def left(self) -> float:
        return max(0.0, self._end - self._clock())
