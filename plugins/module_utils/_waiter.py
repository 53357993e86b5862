# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Readiness predicates over objects as the API returns them, and one ``wait_for`` that watches or polls.

Predicates take the API's JSON shape (camelCase keys). Typed client objects are converted with
``ApiClient().sanitize_for_serialization`` first (``to_dict``). The rollout rules follow ``kubectl rollout status``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._client import cluster_error
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, WaitTimeout

try:
    import kubernetes.watch
    from kubernetes.client import ApiClient
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported at the module edge

    class ApiException(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses work when kubernetes is missing."""

        status: int | None = None


try:
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
except ImportError:  # comes with kubernetes

    class Urllib3HTTPError(Exception):  # type: ignore[no-redef]
        """Stand-in when urllib3 is missing."""


Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

POLL_INITIAL_S = 0.5
POLL_MAX_S = 5.0
# A watch is cut into segments so that `heartbeat` (e.g. the lease fencing check) runs at least this often.
WATCH_SEGMENT_S = 30
SUMMARY_LIMIT = 10
MESSAGE_LIMIT = 160

_serializer: Any = None


def to_dict(obj: Any) -> Obj:
    """The API's JSON shape of ``obj``: dicts pass through, typed client models are serialized."""
    if obj is None:
        return {}
    if isinstance(obj, Mapping):
        return dict(obj)
    global _serializer
    if _serializer is None:
        _serializer = ApiClient()
    return _serializer.sanitize_for_serialization(obj)


# ---------------------------------------------------------------------------------------------------------------------
# Field access


def _metadata(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def _status(obj: Obj) -> Obj:
    return obj.get("status") or {}


def _name(obj: Obj) -> str:
    return _metadata(obj).get("name") or "?"


def _count(status: Obj, key: str) -> int:
    return int(status.get(key) or 0)


def _desired_replicas(obj: Obj) -> int:
    replicas = _spec(obj).get("replicas")
    return 1 if replicas is None else int(replicas)


def _condition(obj: Obj, kind: str) -> Obj | None:
    for condition in _status(obj).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def _condition_true(obj: Obj, kind: str) -> bool:
    condition = _condition(obj, kind)
    return bool(condition) and condition.get("status") == "True"


def _generation_observed(obj: Obj) -> bool:
    generation = _metadata(obj).get("generation")
    observed = _status(obj).get("observedGeneration")
    if generation is None:
        return True
    return observed is not None and int(observed) >= int(generation)


# ---------------------------------------------------------------------------------------------------------------------
# Predicates


def pod_running(pod: Obj) -> bool:
    return _status(pod).get("phase") == "Running"


def pod_ready(pod: Obj) -> bool:
    return pod_running(pod) and _condition_true(pod, "Ready")


def deployment_ready(deployment: Obj) -> bool:
    """All desired replicas updated and available, no old replicas left, and the controller saw the last change."""
    if not _generation_observed(deployment):
        return False
    status = _status(deployment)
    updated = _count(status, "updatedReplicas")
    return (
        updated >= _desired_replicas(deployment)
        and _count(status, "replicas") <= updated
        and _count(status, "availableReplicas") >= updated
    )


def statefulset_ready(statefulset: Obj) -> bool:
    """Desired replicas ready and the rolling update finished (or reached its partition)."""
    if not _generation_observed(statefulset) or _status(statefulset).get("observedGeneration") is None:
        return False
    status = _status(statefulset)
    desired = _desired_replicas(statefulset)
    if _count(status, "readyReplicas") < desired:
        return False
    strategy = _spec(statefulset).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return True
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    if partition > 0:
        return _count(status, "updatedReplicas") >= desired - partition
    return status.get("updateRevision") == status.get("currentRevision")


def replicaset_ready(replicaset: Obj) -> bool:
    if not _generation_observed(replicaset):
        return False
    status = _status(replicaset)
    desired = _desired_replicas(replicaset)
    return _count(status, "readyReplicas") >= desired and _count(status, "availableReplicas") >= desired


def job_complete(job: Obj) -> bool:
    return _condition_true(job, "Complete")


def job_failed(job: Obj) -> bool:
    return _condition_true(job, "Failed")


def pvc_bound(pvc: Obj) -> bool:
    return _status(pvc).get("phase") == "Bound"


# ---------------------------------------------------------------------------------------------------------------------
# Summaries for messages


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def _container_notes(label: str, statuses: Iterable[Obj], phase: str | None) -> list[str]:
    notes = []
    for container in statuses or []:
        name = container.get("name") or "?"
        state = container.get("state") or {}
        restarts = int(container.get("restartCount") or 0)
        suffix = f" (restarts {restarts})" if restarts else ""
        if state.get("waiting") is not None:
            waiting = state["waiting"] or {}
            reason = waiting.get("reason") or "waiting"
            message = f" - {_short(waiting['message'])}" if waiting.get("message") else ""
            notes.append(f"{label} {name} waiting: {reason}{message}{suffix}")
        elif state.get("terminated") is not None:
            terminated = state["terminated"] or {}
            code = terminated.get("exitCode")
            if label == "init container" and code == 0:
                continue  # finished as it should
            reason = terminated.get("reason") or "Terminated"
            notes.append(f"{label} {name} terminated: {reason} (exit {code}){suffix}")
        elif phase == "Running" and not container.get("ready"):
            notes.append(f"{label} {name} running, not ready{suffix}")
    return notes


def _pod_summary(pod: Obj) -> str:
    status = _status(pod)
    phase = status.get("phase")
    parts = [phase or "no phase yet"]
    if phase == "Running":
        parts[0] += ", ready" if _condition_true(pod, "Ready") else ", not ready"
    if status.get("reason"):
        parts.append(f"reason {status['reason']}")
    scheduled = _condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        detail = scheduled.get("message") or scheduled.get("reason") or "not scheduled"
        parts.append(f"not scheduled: {_short(detail)}")
    parts += _container_notes("init container", status.get("initContainerStatuses"), phase)
    parts += _container_notes("container", status.get("containerStatuses"), phase)
    return f"pod {_name(pod)}: " + "; ".join(parts)


def _workload_summary(kind: str, obj: Obj) -> str:
    status = _status(obj)
    text = (
        f"{kind} {_name(obj)}: ready {_count(status, 'readyReplicas')}/{_desired_replicas(obj)}, "
        f"updated {_count(status, 'updatedReplicas')}, available {_count(status, 'availableReplicas')}"
    )
    if not _generation_observed(obj):
        text += ", latest spec not yet observed"
    return text


def _job_summary(job: Obj) -> str:
    status = _status(job)
    text = (
        f"job {_name(job)}: active {_count(status, 'active')}, succeeded {_count(status, 'succeeded')}, "
        f"failed {_count(status, 'failed')}"
    )
    for condition in status.get("conditions") or []:
        if condition.get("status") == "True":
            reason = f" ({condition['reason']})" if condition.get("reason") else ""
            text += f", {condition.get('type')}{reason}"
    return text


def _kind_of(obj: Obj) -> str:
    kind = obj.get("kind")
    if kind:
        return str(kind)
    # Items of a list response carry no kind; tell them apart by shape.
    spec, status = _spec(obj), _status(obj)
    if "containers" in spec or "containerStatuses" in status:
        return "Pod"
    if "accessModes" in spec:
        return "PersistentVolumeClaim"
    if "completions" in spec or "backoffLimit" in spec:
        return "Job"
    if "serviceName" in spec:
        return "StatefulSet"
    if "strategy" in spec:
        return "Deployment"
    if "replicas" in spec:
        return "ReplicaSet"
    return ""


def summarize(obj: Any) -> str:
    """One line naming the object and its last observed state (pods: phase and container waiting reasons)."""
    obj = to_dict(obj)
    kind = _kind_of(obj)
    if kind == "Pod":
        return _pod_summary(obj)
    if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
        return _workload_summary(kind.lower(), obj)
    if kind == "Job":
        return _job_summary(obj)
    if kind == "PersistentVolumeClaim":
        return f"pvc {_name(obj)}: {_status(obj).get('phase') or 'no phase yet'}"
    status = _status(obj)
    state = status.get("phase") or ", ".join(
        f"{c.get('type')}={c.get('status')}" for c in status.get("conditions") or []
    )
    return f"{(kind or 'object').lower()} {_name(obj)}: {state or 'no status yet'}"


def summarize_all(objects: list[Obj], limit: int = SUMMARY_LIMIT) -> list[str]:
    lines = [summarize(obj) for obj in objects[:limit]]
    if len(objects) > limit:
        lines.append(f"and {len(objects) - limit} more")
    return lines


# ---------------------------------------------------------------------------------------------------------------------
# Waiting


@dataclass
class Clock:
    """Time source for waits; tests inject a fake one that never really sleeps."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


ListFn = Callable[[], Any]
WatchFn = Callable[[str | None, float], Iterable[Mapping[str, Any]]]


def watched(list_call: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[ListFn, WatchFn]:
    """``(list_fn, watch_fn)`` for ``wait_for`` over a typed list call, e.g.
    ``watched(clients.core.list_namespaced_pod, namespace, label_selector="app=x")``."""

    def list_fn() -> Any:
        return list_call(*args, **kwargs)

    def watch_fn(resource_version: str | None, timeout_s: float) -> Iterator[Mapping[str, Any]]:
        watch = kubernetes.watch.Watch()
        seconds = max(1, int(timeout_s))
        options = dict(kwargs, timeout_seconds=seconds, _request_timeout=seconds + 10)
        if resource_version:
            options["resource_version"] = resource_version
        try:
            yield from watch.stream(list_call, *args, **options)
        finally:
            watch.stop()

    return list_fn, watch_fn


def _items(response: Any) -> tuple[list[Obj], str | None]:
    """Objects and resourceVersion of a list response (typed, dict, or a plain list of objects)."""
    if isinstance(response, Mapping):
        items = [to_dict(item) for item in response.get("items") or []]
        return items, _metadata(dict(response)).get("resourceVersion")
    if isinstance(response, (list, tuple)):
        return [to_dict(item) for item in response], None
    items = getattr(response, "items", None) or []
    metadata = getattr(response, "metadata", None)
    return [to_dict(item) for item in items], getattr(metadata, "resource_version", None)


def _key(obj: Obj) -> tuple[str, str]:
    metadata = _metadata(obj)
    return (metadata.get("namespace") or "", metadata.get("name") or "")


class _Seen:
    """The last observed set of objects, kept current from list responses and watch events."""

    def __init__(self, response: Any) -> None:
        objects, self.resource_version = _items(response)
        self.objects: dict[tuple[str, str], Obj] = {_key(obj): obj for obj in objects}

    def apply(self, event: Mapping[str, Any]) -> None:
        raw = event.get("raw_object")
        obj = to_dict(raw if raw is not None else event.get("object"))
        version = _metadata(obj).get("resourceVersion")
        if version:
            self.resource_version = version
        kind = event.get("type")
        if kind in ("ADDED", "MODIFIED"):
            self.objects[_key(obj)] = obj
        elif kind == "DELETED":
            self.objects.pop(_key(obj), None)

    def values(self) -> list[Obj]:
        return list(self.objects.values())


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def wait_for(
    list_fn: ListFn,
    predicate: Predicate,
    what: str,
    timeout_s: float,
    clock: Clock | None = None,
    watch_fn: WatchFn | None = None,
    *,
    min_count: int = 1,
    failed: Predicate | None = None,
    heartbeat: Callable[[], None] | None = None,
) -> list[Obj]:
    """Wait until at least ``min_count`` objects exist and ``predicate`` holds for every one; return them.

    ``list_fn()`` returns a list response; with ``watch_fn(resource_version, timeout_s)`` changes arrive by watch
    (re-listing after each segment or a dropped stream), otherwise the list is polled with backoff.
    ``failed`` ends the wait at once with a HieroError when any object matches it (e.g. ``job_failed``);
    ``heartbeat`` runs between checks (e.g. to verify the lease is still ours) and may raise.
    Raises WaitTimeout naming ``what`` and the last state seen of every object.
    """
    clock = clock or Clock()
    deadline = clock.monotonic() + timeout_s
    seen = _Seen(_call(list_fn, what))
    delay = POLL_INITIAL_S
    while True:
        if heartbeat is not None:
            heartbeat()
        objects = seen.values()
        broken = [obj for obj in objects if failed is not None and failed(obj)]
        if broken:
            raise HieroError(f"gave up waiting for {what}: " + "; ".join(summarize_all(broken)))
        if len(objects) >= min_count and all(predicate(obj) for obj in objects):
            return objects
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            last_seen = summarize_all(objects) or ["no matching objects"]
            raise WaitTimeout(
                f"timed out after {_seconds(timeout_s)}s waiting for {what}; last seen: " + "; ".join(last_seen),
                last_seen=last_seen,
            )
        if watch_fn is not None:
            outcome = _follow(watch_fn, seen, predicate, failed, min_count, clock, deadline, what)
            if outcome == _DECIDED:
                continue
            if outcome == _RELIST:
                delay = POLL_INITIAL_S
                seen = _Seen(_call(list_fn, what))
                continue
        clock.sleep(min(delay, max(remaining, 0.0)))
        delay = min(delay * 2, POLL_MAX_S)
        seen = _Seen(_call(list_fn, what))


def _call(list_fn: ListFn, what: str) -> Any:
    try:
        return list_fn()
    except ApiException as exc:
        raise cluster_error(exc, "list while waiting for", what, None, None) from exc


_DECIDED, _RELIST, _BACKOFF = "decided", "relist", "backoff"


def _follow(
    watch_fn: WatchFn,
    seen: _Seen,
    predicate: Predicate,
    failed: Predicate | None,
    min_count: int,
    clock: Clock,
    deadline: float,
    what: str,
) -> str:
    """Apply watch events to ``seen`` for one segment.

    Returns _DECIDED when the caller should re-evaluate at once (done, failed or out of time), _RELIST when the
    segment ended normally, _BACKOFF when the stream ended at once with nothing (the caller sleeps, then re-lists).
    """
    started = clock.monotonic()
    segment = min(deadline - started, WATCH_SEGMENT_S)
    events = watch_fn(seen.resource_version, segment)
    got_event = False
    try:
        for event in events:
            got_event = True
            seen.apply(event)
            objects = seen.values()
            if failed is not None and any(failed(obj) for obj in objects):
                return _DECIDED
            if len(objects) >= min_count and all(predicate(obj) for obj in objects):
                return _DECIDED
            if clock.monotonic() >= deadline:
                return _DECIDED
    except ApiException as exc:
        if exc.status != 410:  # 410 Gone: our resourceVersion is too old; a fresh list fixes that
            raise cluster_error(exc, "watch while waiting for", what, None, None) from exc
    except Urllib3HTTPError:
        pass  # the server dropped the stream; re-list and carry on
    finally:
        close = getattr(events, "close", None)
        if close is not None:
            close()
    if clock.monotonic() >= deadline:
        return _DECIDED
    if got_event or clock.monotonic() - started >= segment / 2:
        return _RELIST
    return _BACKOFF
