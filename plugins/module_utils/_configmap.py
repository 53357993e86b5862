# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Compare-and-swap over the ``data`` of one ConfigMap: the single read → change → replace → retry-on-409 loop.

Every shared ConfigMap the collection writes (run-state, solo's remote config) goes through ``mutate_configmap``:
read the object, apply a pure function to a copy of its data, and write the result back with the resourceVersion
that was read. When another writer got there first the API server answers 409; the data is read again and the
function applied again, so concurrent writers never overwrite each other's changes (solo's whole-blob persist
loses them).
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._client import (
    ApiException,
    Urllib3HTTPError,
    cluster_error,
    is_already_exists,
    is_conflict,
    is_not_found,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError

Data = dict[str, str]
# A function of (new data, labels on the stored object or None when creating) → labels to write; a plain mapping
# is merged over the stored labels; None keeps them as they are.
Labels = Callable[[Data, Data | None], Data] | Mapping[str, str] | None

DEFAULT_RETRIES = 20
BACKOFF_BASE_S = 0.05
BACKOFF_MAX_S = 1.0


def backoff_delay(attempt: int) -> float:
    """Seconds to sleep after the ``attempt``-th (0-based) conflict: growing, capped, jittered."""
    # Jitter spreads writers that collided so they do not collide again in lockstep.
    return min(BACKOFF_MAX_S, BACKOFF_BASE_S * (2 ** min(attempt, 16))) * random.uniform(0.5, 1.5)


def configmap_parts(obj: Any) -> tuple[Data | None, str | None]:
    """(data, resourceVersion) of a V1ConfigMap model or a raw dict (watch events); (None, None) for no object."""
    if obj is None:
        return None, None
    if isinstance(obj, Mapping):
        return dict(obj.get("data") or {}), (obj.get("metadata") or {}).get("resourceVersion")
    metadata = getattr(obj, "metadata", None)
    return dict(getattr(obj, "data", None) or {}), getattr(metadata, "resource_version", None)


def read_configmap(core_api: Any, namespace: str, name: str) -> Any | None:
    """The ConfigMap as the API returns it, or None when there is none (also when the namespace is missing)."""
    try:
        return core_api.read_namespaced_config_map(name, namespace)
    except ApiException as exc:
        if is_not_found(exc):
            return None
        raise cluster_error(exc, "read", "ConfigMap", namespace, name) from exc
    except (Urllib3HTTPError, OSError) as exc:  # the API server cannot be reached
        raise cluster_error(exc, "read", "ConfigMap", namespace, name) from exc


def _labels(labels: Labels, data: Data, existing: Mapping[str, str] | None) -> Data | None:
    if labels is None:
        return dict(existing) if existing is not None else None
    if callable(labels):
        return dict(labels(data, dict(existing) if existing is not None else None))
    return {**(existing or {}), **labels}


def _new_body(namespace: str, name: str, data: Data, labels: Labels) -> Any:
    from kubernetes.client import V1ConfigMap, V1ObjectMeta  # imported late: kubernetes is checked at the edge

    return V1ConfigMap(
        api_version="v1",
        kind="ConfigMap",
        metadata=V1ObjectMeta(name=name, namespace=namespace, labels=_labels(labels, data, None)),
        data=data,
    )


def _replacement_body(current: Any, data: Data, labels: Labels) -> Any:
    """The object that was read, with the new data and labels: it keeps the read resourceVersion (the CAS token)
    and everything else on it (annotations, owner references, binaryData)."""
    body = copy.deepcopy(current)
    if isinstance(body, dict):
        metadata = body.setdefault("metadata", {})
        body["data"] = dict(data)
        metadata["labels"] = _labels(labels, data, metadata.get("labels"))
        return body
    body.data = dict(data)
    body.metadata.labels = _labels(labels, data, body.metadata.labels)
    return body


def mutate_configmap(
    core_api: Any,
    namespace: str,
    name: str,
    change: Callable[[Data | None], Data | None],
    *,
    labels: Labels = None,
    retries: int = DEFAULT_RETRIES,
    check_mode: bool = False,
    on_missing_namespace: Callable[[str], BaseException] | None = None,
) -> tuple[Data | None, bool]:
    """Change the ConfigMap's data with optimistic concurrency. Returns (data, changed).

    ``change`` gets a copy of the stored data (None when there is no ConfigMap) and returns the new data, or None
    to leave it as it is (absent stays absent). Nothing is written when the result equals what is stored; an absent
    ConfigMap is created, an existing one replaced with the resourceVersion that was read. On 409 (Conflict, or
    AlreadyExists when another writer created it first) the data is read again and ``change`` applied again, up to
    ``retries`` more times with growing jittered backoff, so ``change`` must be a pure function of its argument.
    A 404 on replace (deleted in between) starts over; a 404 on create means the namespace is missing and raises
    ``on_missing_namespace(namespace)`` when given, else a ClusterError. With ``check_mode`` nothing is written and
    the data that would be written is returned.
    """
    retries = max(0, retries)
    action = "write"
    last_error: ApiException | None = None
    for attempt in range(retries + 1):
        current = read_configmap(core_api, namespace, name)
        data, _version = configmap_parts(current)
        new = change(None if data is None else dict(data))
        if new is None or (current is not None and new == data):
            return data, False
        if check_mode:
            return dict(new), True
        action = "create" if current is None else "replace"
        try:
            if current is None:
                core_api.create_namespaced_config_map(namespace, _new_body(namespace, name, new, labels))
            else:
                core_api.replace_namespaced_config_map(name, namespace, _replacement_body(current, new, labels))
        except ApiException as exc:
            last_error = exc
            if is_conflict(exc) or is_already_exists(exc):
                if attempt < retries:
                    time.sleep(backoff_delay(attempt))
                continue
            if is_not_found(exc) and current is not None:
                continue  # deleted between read and replace: start over, which creates it again
            if is_not_found(exc) and on_missing_namespace is not None:
                raise on_missing_namespace(namespace) from exc
            raise cluster_error(exc, action, "ConfigMap", namespace, name) from exc
        except (Urllib3HTTPError, OSError) as exc:  # the API server cannot be reached
            raise cluster_error(exc, action, "ConfigMap", namespace, name) from exc
        return dict(new), True
    raise HieroError(
        f"cannot {action} ConfigMap {namespace}/{name}: it was changed by another writer {retries + 1} time(s) in a "
        "row; gave up",
        attempts=retries + 1,
    ) from last_error
