"""The controllers of kube-controller-manager that the collection's waits depend on, in miniature.

Deployment -> ReplicaSet (``<name>-<pod-template-hash>``) -> Pods; StatefulSet -> ``<name>-<ordinal>``
pods and ``<template>-<name>-<ordinal>`` claims; Job -> pods until ``completions`` succeed (or
``backoffLimit`` is passed); DaemonSet -> one pod on the node; PersistentVolumeClaim -> a provisioned
PersistentVolume, Bound. Status fields (replicas, readyReplicas, availableReplicas, updatedReplicas,
observedGeneration, revisions, conditions) follow the real controllers, so ``kubectl rollout status``,
``helm --wait`` and the collection's ``_waiter`` predicates see the same progress as on a cluster.

Every reconcile reads the store afresh and is idempotent; a write that changes nothing emits no event,
so the work queue runs dry once everything has converged.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from .. import errors
from ..resources import ResourceType
from ..store import ADDED, DELETED, Event
from .kubelet import NODE_NAME, TERMINAL, is_ready, utc_now

if TYPE_CHECKING:
    from . import Workloads

log = logging.getLogger(__name__)

_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand.SafeEncodeString
POD_TEMPLATE_HASH = "pod-template-hash"
REVISION_HASH = "controller-revision-hash"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
DEFAULT_STORAGE_CLASS = "standard"
JOB_BACKOFF_S = 10.0  # the Job controller's first retry delay (doubling per failure, at most 6 minutes)
JOB_BACKOFF_MAX_S = 360.0


# --- small pure helpers -------------------------------------------------------------------------------


def safe_encode(text: str) -> str:
    return "".join(_ALPHANUMS[ord(ch) % len(_ALPHANUMS)] for ch in text)


def template_hash(template: dict, collision_count: int | None = None) -> str:
    """A pod-template-hash: FNV-1a 32 of the template (and collision count), encoded as the controllers do."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    value = 0x811C9DC5
    for byte in data:
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return safe_encode(str(value))


def desired_replicas(obj: dict) -> int:
    value = (obj.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def owner_reference(rt: ResourceType, owner: dict) -> dict:
    meta = owner["metadata"]
    return {
        "apiVersion": rt.api_version,
        "kind": rt.kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_ref(obj: dict) -> dict | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return ref
    return None


def controlled_by(obj: dict, uid: str) -> bool:
    ref = controller_ref(obj)
    return ref is not None and ref.get("uid") == uid


def is_active(pod: dict) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in TERMINAL


def scaled_int_or_percent(value: int | str | None, total: int, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, str) and value.endswith("%"):
        fraction = int(value[:-1]) * total / 100
        return math.ceil(fraction) if round_up else math.floor(fraction)
    return int(value)


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp()
    except ValueError:
        return None


def ready_since(pod: dict) -> float | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return parse_time(condition.get("lastTransitionTime")) or 0.0
    return None


def merge_condition(
    existing: list[dict], kind: str, status: str, reason: str, message: str, now: str, *, update_time: bool = True
) -> dict:
    """A workload condition; its times only move when something about it changes (so rewrites are no-ops)."""
    old = next((c for c in existing if c.get("type") == kind), None)
    condition = {"type": kind, "status": status}
    if update_time:
        condition["lastUpdateTime"] = now
    condition.update(lastTransitionTime=now, reason=reason, message=message)
    if old is not None and old.get("status") == status:
        condition["lastTransitionTime"] = old.get("lastTransitionTime", now)
        if old.get("reason") == reason and old.get("message") == message and update_time:
            condition["lastUpdateTime"] = old.get("lastUpdateTime", now)
    return condition


def _without_hash(template: dict) -> dict:
    stripped = copy.deepcopy(template)
    labels = (stripped.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(POD_TEMPLATE_HASH, None)
    return stripped


def _creation_key(obj: dict) -> tuple[str, str]:
    return obj["metadata"].get("creationTimestamp", ""), obj["metadata"]["name"]


def _revision(rs: dict) -> int:
    try:
        return int((rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0"))
    except ValueError:
        return 0


# --- the controllers -----------------------------------------------------------------------------------


class Controllers:
    def __init__(self, hub: Workloads) -> None:
        self.hub = hub
        self.binding: set[str] = set()  # PVC uids with a bind scheduled
        self.job_retry_at: dict[str, float] = {}  # Job uid -> loop time before which no new pod is made

    def rt(self, group: str, plural: str) -> ResourceType:
        return self.hub.rt(group, plural)

    @property
    def store(self):
        return self.hub.store

    # --- events --------------------------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        group, plural = event.resource.key
        ns, name = event.namespace, event.name
        handlers: dict[tuple[str, str], Callable[[str, str], None]] = {
            ("apps", "deployments"): self.sync_deployment,
            ("apps", "replicasets"): self.sync_replicaset,
            ("apps", "statefulsets"): self.sync_statefulset,
            ("apps", "daemonsets"): self.sync_daemonset,
            ("batch", "jobs"): self.sync_job,
            ("", "persistentvolumeclaims"): self.sync_claim,
        }
        handler = handlers.get((group, plural))
        if handler is not None:
            self._queue(plural, ns, name, handler)
            if event.type == DELETED and plural == "persistentvolumeclaims":
                self._release_volume(event.obj)
        ref = controller_ref(event.obj)
        if ref is not None:
            owner = self._owner_handler(ref)
            if owner is not None:
                plural_of_owner, owner_handler = owner
                self._queue(plural_of_owner, ns, ref.get("name", ""), owner_handler)

    def _owner_handler(self, ref: dict) -> tuple[str, Callable[[str, str], None]] | None:
        group = ref.get("apiVersion", "").rpartition("/")[0]
        return {
            ("apps", "ReplicaSet"): ("replicasets", self.sync_replicaset),
            ("apps", "Deployment"): ("deployments", self.sync_deployment),
            ("apps", "StatefulSet"): ("statefulsets", self.sync_statefulset),
            ("apps", "DaemonSet"): ("daemonsets", self.sync_daemonset),
            ("batch", "Job"): ("jobs", self.sync_job),
        }.get((group, ref.get("kind", "")))

    def _queue(self, plural: str, ns: str, name: str, handler: Callable[[str, str], None]) -> None:
        self.hub.enqueue((plural, ns, name), lambda: handler(ns, name))

    def resync(self) -> None:
        for group, plural, handler in (
            ("apps", "deployments", self.sync_deployment),
            ("apps", "replicasets", self.sync_replicaset),
            ("apps", "statefulsets", self.sync_statefulset),
            ("apps", "daemonsets", self.sync_daemonset),
            ("batch", "jobs", self.sync_job),
            ("", "persistentvolumeclaims", self.sync_claim),
        ):
            items, _ = self.store.list(self.rt(group, plural))
            for obj in items:
                self._queue(plural, obj["metadata"]["namespace"], obj["metadata"]["name"], handler)

    # --- shared writes ----------------------------------------------------------------------------------

    def _owned(self, rt: ResourceType, ns: str, owner: dict) -> list[dict]:
        items, _ = self.store.list(rt, ns)
        return [obj for obj in items if controlled_by(obj, owner["metadata"]["uid"])]

    def _write_status(self, rt: ResourceType, obj: dict, status: dict) -> dict:
        if obj.get("status") == status:
            return obj
        meta = obj["metadata"]
        return self.store.update(
            rt, meta.get("namespace"), meta["name"], {**obj, "status": status}, subresource="status"
        )

    def _create_pod(
        self,
        owner_rt: ResourceType,
        owner: dict,
        template: dict,
        *,
        name: str | None = None,
        labels: dict | None = None,
        spec_extra: dict | None = None,
    ) -> dict | None:
        meta = owner["metadata"]
        template_meta = template.get("metadata") or {}
        pod_meta: dict = {
            "namespace": meta["namespace"],
            "labels": {**(template_meta.get("labels") or {}), **(labels or {})},
            "ownerReferences": [owner_reference(owner_rt, owner)],
        }
        if template_meta.get("annotations"):
            pod_meta["annotations"] = dict(template_meta["annotations"])
        if name:
            pod_meta["name"] = name
        else:
            pod_meta["generateName"] = f"{meta['name']}-"
        spec = copy.deepcopy(template.get("spec") or {})
        spec.update(spec_extra or {})
        try:
            return self.store.create(self.rt("", "pods"), meta["namespace"], {"metadata": pod_meta, "spec": spec})
        except errors.ApiError as exc:
            log.debug("%s %s could not create a pod: %s", owner_rt.kind, meta["name"], exc.message)
            return None

    def _delete_pod(self, pod: dict) -> None:
        meta = pod["metadata"]
        try:
            self.store.delete(self.rt("", "pods"), meta["namespace"], meta["name"], preconditions={"uid": meta["uid"]})
        except errors.ApiError as exc:
            log.debug("could not delete pod %s: %s", meta["name"], exc.message)

    def _available(self, pod: dict, min_ready_seconds: int) -> bool:
        since = ready_since(pod)
        if since is None:
            return False
        if not min_ready_seconds:
            return True
        wait = self.hub.model.scaled(min_ready_seconds)
        return since + wait <= dt.datetime.now(dt.timezone.utc).timestamp()

    def _recheck_availability(self, pods: list[dict], min_ready_seconds: int, requeue: Callable[[], None]) -> None:
        """With minReadySeconds, a pod turns available without an event of its own: look again then."""
        if not min_ready_seconds:
            return
        if any(ready_since(p) is not None and not self._available(p, min_ready_seconds) for p in pods):
            self.hub.later(min(1.0, self.hub.model.scaled(min_ready_seconds)) + 0.05, requeue)

    # --- ReplicaSet --------------------------------------------------------------------------------------

    def sync_replicaset(self, ns: str, name: str) -> None:
        rt = self.rt("apps", "replicasets")
        rs = self.store.find(rt, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return
        pods_rt = self.rt("", "pods")
        active = [p for p in self._owned(pods_rt, ns, rs) if is_active(p)]
        wanted = desired_replicas(rs)
        template = (rs.get("spec") or {}).get("template") or {}
        for _ in range(wanted - len(active)):
            self._create_pod(rt, rs, template)
        if len(active) > wanted:
            for victim in _deletion_order(active)[: len(active) - wanted]:
                self._delete_pod(victim)
        active = [p for p in self._owned(pods_rt, ns, rs) if is_active(p)]
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        selector_labels = ((rs.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        status: dict = {"replicas": len(active)}
        counts = {
            "fullyLabeledReplicas": sum(
                1
                for p in active
                if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in selector_labels.items())
            ),
            "readyReplicas": sum(1 for p in active if is_ready(p)),
            "availableReplicas": sum(1 for p in active if self._available(p, min_ready)),
        }
        status.update({key: value for key, value in counts.items() if value})  # zero counts are omitted
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        self._write_status(rt, rs, status)
        self._recheck_availability(
            active, min_ready, lambda: self._queue("replicasets", ns, name, self.sync_replicaset)
        )

    # --- Deployment --------------------------------------------------------------------------------------

    def sync_deployment(self, ns: str, name: str) -> None:
        rt = self.rt("apps", "deployments")
        dep = self.store.find(rt, ns, name)
        if dep is None or dep["metadata"].get("deletionTimestamp"):
            return
        rs_rt = self.rt("apps", "replicasets")
        spec = dep.get("spec") or {}
        desired = desired_replicas(dep)
        template = spec.get("template") or {}
        owned = sorted(self._owned(rs_rt, ns, dep), key=_creation_key)
        new_rs = next(
            (rs for rs in owned if _without_hash((rs.get("spec") or {}).get("template") or {}) == template), None
        )
        old = [rs for rs in owned if rs is not new_rs]
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("type", "RollingUpdate") != "Recreate"
        surge, unavailable = self._fenceposts(dep, desired)
        created = False
        if spec.get("paused"):
            self._deployment_status(rt, dep, new_rs, owned, desired, unavailable, created)
            return
        max_old_revision = max((_revision(rs) for rs in old), default=0)
        if new_rs is None:
            if rolling:
                total = sum(desired_replicas(rs) for rs in old)
                initial = (
                    desired
                    if not any(desired_replicas(rs) for rs in old)
                    else min(desired, max(0, desired + surge - total))
                )
            else:
                initial = (
                    0
                    if any(desired_replicas(rs) or (rs.get("status") or {}).get("replicas") for rs in old)
                    else desired
                )
            new_rs = self._create_replicaset(rs_rt, dep, template, initial, max_old_revision + 1)
            if new_rs is None:
                return
            created = True
            owned.append(new_rs)
        elif _revision(new_rs) <= max_old_revision:  # a rollback to an older template: it becomes the newest revision
            new_rs = self._annotate_revision(rs_rt, new_rs, max_old_revision + 1)
        if rolling:
            self._roll(rs_rt, dep, new_rs, old, desired, surge, unavailable)
        else:
            self._recreate(rs_rt, new_rs, old, desired)
        self._clean_history(rs_rt, dep, old)
        owned = sorted(self._owned(rs_rt, ns, dep), key=_creation_key)
        new_rs = next((rs for rs in owned if rs["metadata"]["uid"] == new_rs["metadata"]["uid"]), new_rs)
        self._deployment_status(rt, dep, new_rs, owned, desired, unavailable, created)

    def _fenceposts(self, dep: dict, desired: int) -> tuple[int, int]:
        rolling = ((dep.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
        surge = scaled_int_or_percent(rolling.get("maxSurge", "25%"), desired, round_up=True)
        unavailable = scaled_int_or_percent(rolling.get("maxUnavailable", "25%"), desired, round_up=False)
        if surge == 0 and unavailable == 0:
            unavailable = 1
        return surge, min(unavailable, desired)

    def _create_replicaset(
        self, rs_rt: ResourceType, dep: dict, template: dict, replicas: int, revision: int
    ) -> dict | None:
        meta = dep["metadata"]
        collision = int((dep.get("status") or {}).get("collisionCount") or 0)
        pod_hash = template_hash(template, collision)
        rs_template = copy.deepcopy(template)
        rs_template.setdefault("metadata", {}).setdefault("labels", {})[POD_TEMPLATE_HASH] = pod_hash
        selector = copy.deepcopy((dep.get("spec") or {}).get("selector") or {})
        selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = pod_hash
        surge, _ = self._fenceposts(dep, desired_replicas(dep))
        body = {
            "metadata": {
                "name": f"{meta['name']}-{pod_hash}",
                "namespace": meta["namespace"],
                "labels": dict(rs_template["metadata"]["labels"]),
                "annotations": {
                    REVISION_ANNOTATION: str(revision),
                    "deployment.kubernetes.io/desired-replicas": str(desired_replicas(dep)),
                    "deployment.kubernetes.io/max-replicas": str(desired_replicas(dep) + surge),
                },
                "ownerReferences": [owner_reference(self.rt("apps", "deployments"), dep)],
            },
            "spec": {
                "replicas": replicas,
                "minReadySeconds": int((dep.get("spec") or {}).get("minReadySeconds") or 0),
                "selector": selector,
                "template": rs_template,
            },
        }
        try:
            return self.store.create(rs_rt, meta["namespace"], body)
        except errors.ApiError as exc:
            if exc.code == 409:  # a ReplicaSet of that name that is not ours: count a collision and retry
                status = {**(dep.get("status") or {}), "collisionCount": collision + 1}
                self._write_status(self.rt("apps", "deployments"), dep, status)
            else:
                log.debug("deployment %s could not create its ReplicaSet: %s", meta["name"], exc.message)
            return None

    def _annotate_revision(self, rs_rt: ResourceType, rs: dict, revision: int) -> dict:
        updated = copy.deepcopy(rs)
        updated["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = str(revision)
        return self.store.update(rs_rt, rs["metadata"]["namespace"], rs["metadata"]["name"], updated)

    def _scale(self, rs_rt: ResourceType, rs: dict, replicas: int) -> dict:
        if desired_replicas(rs) == replicas:
            return rs
        updated = copy.deepcopy(rs)
        updated["spec"]["replicas"] = replicas
        return self.store.update(rs_rt, rs["metadata"]["namespace"], rs["metadata"]["name"], updated)

    def _roll(
        self, rs_rt: ResourceType, dep: dict, new_rs: dict, old: list[dict], desired: int, surge: int, unavailable: int
    ) -> None:
        """One step of a rolling update (kube-controller-manager's rolloutRolling)."""
        if not any(desired_replicas(rs) for rs in old):
            self._scale(rs_rt, new_rs, desired)
            return
        # scale the new ReplicaSet up, within maxSurge
        current_new = desired_replicas(new_rs)
        if current_new > desired:
            new_rs = self._scale(rs_rt, new_rs, desired)
        elif current_new < desired:
            total = current_new + sum(desired_replicas(rs) for rs in old)
            room = desired + surge - total
            if room > 0:
                new_rs = self._scale(rs_rt, new_rs, current_new + min(room, desired - current_new))
        # scale old ReplicaSets down, keeping desired - maxUnavailable available
        min_available = desired - unavailable
        all_rs = [new_rs, *old]
        all_count = sum(desired_replicas(rs) for rs in all_rs)
        new_status = new_rs.get("status") or {}
        new_unavailable = desired_replicas(new_rs) - int(new_status.get("availableReplicas") or 0)
        budget = all_count - min_available - new_unavailable
        if budget <= 0:
            return
        old_sorted = sorted(old, key=_creation_key)
        for index, rs in enumerate(old_sorted):  # first the replicas that are not available anyway
            unhealthy = desired_replicas(rs) - int((rs.get("status") or {}).get("availableReplicas") or 0)
            if budget <= 0 or unhealthy <= 0:
                continue
            cut = min(budget, unhealthy)
            old_sorted[index] = self._scale(rs_rt, rs, desired_replicas(rs) - cut)
            budget -= cut
        available = sum(int((rs.get("status") or {}).get("availableReplicas") or 0) for rs in [new_rs, *old_sorted])
        remaining = min(budget, available - min_available)
        for rs in old_sorted:
            if remaining <= 0:
                break
            cut = min(desired_replicas(rs), remaining)
            if cut:
                self._scale(rs_rt, rs, desired_replicas(rs) - cut)
                remaining -= cut

    def _recreate(self, rs_rt: ResourceType, new_rs: dict, old: list[dict], desired: int) -> None:
        if any(desired_replicas(rs) for rs in old):
            for rs in old:
                self._scale(rs_rt, rs, 0)
            return
        pods_rt = self.rt("", "pods")
        if any(self._owned(pods_rt, rs["metadata"]["namespace"], rs) for rs in old):
            return  # old pods still terminating
        self._scale(rs_rt, new_rs, desired)

    def _clean_history(self, rs_rt: ResourceType, dep: dict, old: list[dict]) -> None:
        limit = (dep.get("spec") or {}).get("revisionHistoryLimit")
        limit = 10 if limit is None else int(limit)
        idle = [
            rs
            for rs in sorted(old, key=_revision)
            if not desired_replicas(rs) and not (rs.get("status") or {}).get("replicas")
        ]
        for rs in idle[: max(0, len(idle) - limit)]:
            try:
                self.store.delete(rs_rt, rs["metadata"]["namespace"], rs["metadata"]["name"])
            except errors.ApiError:
                pass

    def _deployment_status(
        self,
        rt: ResourceType,
        dep: dict,
        new_rs: dict | None,
        owned: list[dict],
        desired: int,
        unavailable: int,
        created: bool,
    ) -> None:
        def count(rs: dict, key: str) -> int:
            return int((rs.get("status") or {}).get(key) or 0)

        now = utc_now()
        replicas = sum(count(rs, "replicas") for rs in owned)
        updated = count(new_rs, "replicas") if new_rs else 0
        ready = sum(count(rs, "readyReplicas") for rs in owned)
        available = sum(count(rs, "availableReplicas") for rs in owned)
        total_spec = sum(desired_replicas(rs) for rs in owned)
        old_status = dep.get("status") or {}
        existing = old_status.get("conditions") or []
        if available >= desired - unavailable:
            available_condition = merge_condition(
                existing, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now
            )
        else:
            available_condition = merge_condition(
                existing,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now,
            )
        rs_name = new_rs["metadata"]["name"] if new_rs else ""
        complete = new_rs is not None and updated == desired and replicas == updated and available >= updated
        if complete:
            reason, message = "NewReplicaSetAvailable", f'ReplicaSet "{rs_name}" has successfully progressed.'
        elif created:
            reason, message = "NewReplicaSetCreated", f'Created new replica set "{rs_name}"'
        else:
            reason, message = "ReplicaSetUpdated", f'ReplicaSet "{rs_name}" is progressing.'
        progressing = merge_condition(existing, "Progressing", "True", reason, message, now)
        status: dict = {"observedGeneration": dep["metadata"].get("generation", 1), "replicas": replicas}
        for key, value in (
            ("updatedReplicas", updated),
            ("readyReplicas", ready),
            ("availableReplicas", available),
            ("unavailableReplicas", max(0, total_spec - available)),
        ):
            if value:
                status[key] = value
        status["conditions"] = [available_condition, progressing]
        if old_status.get("collisionCount"):
            status["collisionCount"] = old_status["collisionCount"]
        self._write_status(rt, dep, status)

    # --- StatefulSet -------------------------------------------------------------------------------------

    def sync_statefulset(self, ns: str, name: str) -> None:
        rt = self.rt("apps", "statefulsets")
        sts = self.store.find(rt, ns, name)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        spec = sts.get("spec") or {}
        desired = desired_replicas(sts)
        start = int((spec.get("ordinals") or {}).get("start") or 0)
        template = spec.get("template") or {}
        update_revision = f"{name}-{template_hash(template)}"
        old_status = sts.get("status") or {}
        current_revision = old_status.get("currentRevision") or update_revision
        ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
        pods_rt = self.rt("", "pods")
        pods = {}
        for pod in self._owned(pods_rt, ns, sts):
            ordinal = _ordinal(pod["metadata"]["name"], name)
            if ordinal is not None:
                pods[ordinal] = pod
        wanted = range(start, start + desired)
        # create or replace missing and failed pods, in order when OrderedReady
        for ordinal in wanted:
            pod = pods.get(ordinal)
            if pod is None:
                if ordered and not all(_healthy(pods.get(o)) for o in range(start, ordinal)):
                    break
                self._ensure_claims(sts, ordinal)
                created = self._create_stateful_pod(sts, template, ordinal, update_revision)
                if created is not None:
                    pods[ordinal] = created
                if ordered:
                    break
                continue
            if (pod.get("status") or {}).get("phase") == "Failed" and not pod["metadata"].get("deletionTimestamp"):
                self._delete_pod(pod)
                if ordered:
                    break
            elif ordered and not _healthy(pod):
                break
        # scale down: highest ordinal first, one at a time when OrderedReady
        surplus = sorted((o for o in pods if o not in wanted), reverse=True)
        terminating = any(p["metadata"].get("deletionTimestamp") for p in pods.values())
        for ordinal in surplus:
            if ordered and terminating:
                break
            if not pods[ordinal]["metadata"].get("deletionTimestamp"):
                self._delete_pod(pods[ordinal])
                terminating = True
            if ordered:
                break
        # rolling update: replace the highest outdated pod once everything else is healthy
        strategy = spec.get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate" and not terminating:
            partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
            in_range = [pods.get(o) for o in wanted]
            if all(_healthy(p) for p in in_range):
                for ordinal in sorted(wanted, reverse=True):
                    pod = pods[ordinal]
                    if ordinal >= partition and _pod_revision(pod) != update_revision:
                        self._delete_pod(pod)
                        break
        self._statefulset_status(rt, sts, ns, name, update_revision, current_revision)

    def _create_stateful_pod(self, sts: dict, template: dict, ordinal: int, revision: str) -> dict | None:
        name = sts["metadata"]["name"]
        pod_name = f"{name}-{ordinal}"
        spec = sts.get("spec") or {}
        volumes = [
            v
            for v in copy.deepcopy((template.get("spec") or {}).get("volumes") or [])
            if v.get("name") not in {c["metadata"]["name"] for c in spec.get("volumeClaimTemplates") or []}
        ]
        for claim in spec.get("volumeClaimTemplates") or []:
            claim_name = claim["metadata"]["name"]
            volumes.append(
                {"name": claim_name, "persistentVolumeClaim": {"claimName": f"{claim_name}-{name}-{ordinal}"}}
            )
        extra: dict = {"hostname": pod_name}
        if spec.get("serviceName"):
            extra["subdomain"] = spec["serviceName"]
        if volumes:
            extra["volumes"] = volumes
        labels = {
            REVISION_HASH: revision,
            "statefulset.kubernetes.io/pod-name": pod_name,
            "apps.kubernetes.io/pod-index": str(ordinal),
        }
        return self._create_pod(
            self.rt("apps", "statefulsets"), sts, template, name=pod_name, labels=labels, spec_extra=extra
        )

    def _ensure_claims(self, sts: dict, ordinal: int) -> None:
        meta, spec = sts["metadata"], sts.get("spec") or {}
        pvc_rt = self.rt("", "persistentvolumeclaims")
        retention = spec.get("persistentVolumeClaimRetentionPolicy") or {}
        selector_labels = (spec.get("selector") or {}).get("matchLabels") or {}
        for claim in spec.get("volumeClaimTemplates") or []:
            claim_meta = claim.get("metadata") or {}
            claim_name = f"{claim_meta['name']}-{meta['name']}-{ordinal}"
            if self.store.find(pvc_rt, meta["namespace"], claim_name) is not None:
                continue
            body_meta: dict = {
                "name": claim_name,
                "namespace": meta["namespace"],
                "labels": {**(claim_meta.get("labels") or {}), **selector_labels},
            }
            if claim_meta.get("annotations"):
                body_meta["annotations"] = dict(claim_meta["annotations"])
            if retention.get("whenDeleted") == "Delete":
                body_meta["ownerReferences"] = [owner_reference(self.rt("apps", "statefulsets"), sts)]
            try:
                self.store.create(
                    pvc_rt, meta["namespace"], {"metadata": body_meta, "spec": copy.deepcopy(claim.get("spec") or {})}
                )
            except errors.ApiError as exc:
                log.debug("statefulset %s could not create claim %s: %s", meta["name"], claim_name, exc.message)

    def _statefulset_status(
        self, rt: ResourceType, sts: dict, ns: str, name: str, update_revision: str, current_revision: str
    ) -> None:
        sts = self.store.find(rt, ns, name) or sts
        desired = desired_replicas(sts)
        pods = [p for p in self._owned(self.rt("", "pods"), ns, sts) if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if is_ready(p))
        updated = sum(1 for p in pods if _pod_revision(p) == update_revision)
        if updated == len(pods) == desired and ready == desired:
            current_revision = update_revision  # the rollout is complete
        status = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": ready,
            "currentReplicas": sum(1 for p in pods if _pod_revision(p) == current_revision),
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": current_revision,
            "updateRevision": update_revision,
            "collisionCount": 0,
        }
        if not ready:
            del status["readyReplicas"]
        self._write_status(rt, sts, status)

    # --- DaemonSet ------------------------------------------------------------------------------------------

    def sync_daemonset(self, ns: str, name: str) -> None:
        rt = self.rt("apps", "daemonsets")
        ds = self.store.find(rt, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return
        template = (ds.get("spec") or {}).get("template") or {}
        revision = template_hash(template)
        pods = self._owned(self.rt("", "pods"), ns, ds)
        active = [p for p in pods if is_active(p)]
        terminating = [p for p in pods if p["metadata"].get("deletionTimestamp")]
        strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
        if not active and not terminating:
            labels = {REVISION_HASH: revision, "pod-template-generation": str(ds["metadata"].get("generation", 1))}
            self._create_pod(rt, ds, template, labels=labels, spec_extra={"nodeName": NODE_NAME})
        elif strategy == "RollingUpdate" and not terminating:
            for pod in active:
                if (pod["metadata"].get("labels") or {}).get(REVISION_HASH) != revision:
                    self._delete_pod(pod)
        for extra in active[1:]:
            self._delete_pod(extra)
        pods = [p for p in self._owned(self.rt("", "pods"), ns, ds) if is_active(p)]
        ready = sum(1 for p in pods if is_ready(p))
        status = {
            "currentNumberScheduled": len(pods),
            "desiredNumberScheduled": 1,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "observedGeneration": ds["metadata"].get("generation", 1),
            "updatedNumberScheduled": sum(
                1 for p in pods if (p["metadata"].get("labels") or {}).get(REVISION_HASH) == revision
            ),
            "numberAvailable": ready,
        }
        if ready < 1:
            status["numberUnavailable"] = 1 - ready
            del status["numberAvailable"]
        self._write_status(rt, ds, status)

    # --- Job ----------------------------------------------------------------------------------------------------

    def sync_job(self, ns: str, name: str) -> None:
        rt = self.rt("batch", "jobs")
        job = self.store.find(rt, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return
        spec, old_status = job.get("spec") or {}, job.get("status") or {}
        conditions = old_status.get("conditions") or []
        finished = any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions)
        pods = self._owned(self.rt("", "pods"), ns, job)
        succeeded = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if (p.get("status") or {}).get("phase") == "Failed")
        active = [p for p in pods if is_active(p)]
        completions = spec.get("completions")
        completions = 1 if completions is None else int(completions)
        parallelism = int(spec.get("parallelism") if spec.get("parallelism") is not None else 1)
        backoff_limit = int(spec.get("backoffLimit") if spec.get("backoffLimit") is not None else 6)
        now = utc_now()
        uid = job["metadata"]["uid"]
        status: dict = {"startTime": old_status.get("startTime") or now}
        new_conditions = list(conditions)
        if not finished and succeeded >= completions:
            for pod in active:
                self._delete_pod(pod)
            new_conditions = [
                *conditions,
                _job_condition(
                    "SuccessCriteriaMet", "CompletionsReached", "Reached expected number of succeeded pods", now
                ),
                _job_condition("Complete", "CompletionsReached", "Reached expected number of succeeded pods", now),
            ]
            status["completionTime"] = now
            finished = True
        elif not finished and failed > backoff_limit:
            for pod in active:
                self._delete_pod(pod)
            message = "Job has reached the specified backoff limit"
            new_conditions = [
                *conditions,
                _job_condition("FailureTarget", "BackoffLimitExceeded", message, now),
                _job_condition("Failed", "BackoffLimitExceeded", message, now),
            ]
            finished = True
        elif not finished and not spec.get("suspend"):
            want = min(parallelism, completions - succeeded) - len(active)
            retry_at = self.job_retry_at.get(uid, 0.0)
            if failed and want > 0 and failed > int(old_status.get("failed") or 0):
                delay = self.hub.model.scaled(min(JOB_BACKOFF_MAX_S, JOB_BACKOFF_S * 2 ** (failed - 1)))
                retry_at = self.hub.now() + delay
                self.job_retry_at[uid] = retry_at
                self.hub.later(delay + 0.01, lambda: self._queue("jobs", ns, name, self.sync_job))
            if want > 0 and self.hub.now() >= retry_at:
                for _ in range(want):
                    self._create_pod(rt, job, spec.get("template") or {})
        if finished and "completionTime" in old_status:
            status["completionTime"] = old_status["completionTime"]
        pods = self._owned(self.rt("", "pods"), ns, job)
        active = [p for p in pods if is_active(p)]
        for key, value in (
            ("active", len(active)),
            ("succeeded", succeeded),
            ("failed", failed),
        ):
            if value:
                status[key] = value
        status["ready"] = sum(1 for p in active if is_ready(p))
        status["terminating"] = sum(1 for p in pods if p["metadata"].get("deletionTimestamp"))
        status["uncountedTerminatedPods"] = {}
        if new_conditions:
            status["conditions"] = new_conditions
        self._write_status(rt, job, status)

    # --- PersistentVolumeClaim --------------------------------------------------------------------------------

    def sync_claim(self, ns: str, name: str) -> None:
        pvc = self.store.find(self.rt("", "persistentvolumeclaims"), ns, name)
        if pvc is None or pvc["metadata"].get("deletionTimestamp"):
            return
        uid = pvc["metadata"]["uid"]
        if (pvc.get("status") or {}).get("phase") == "Bound" or uid in self.binding:
            return
        self.binding.add(uid)
        self.hub.later(self.hub.model.scaled(self.hub.model.pvc_bind), lambda: self._bind(ns, name, uid))

    def _bind(self, ns: str, name: str, uid: str) -> None:
        self.binding.discard(uid)
        pvc_rt, pv_rt = self.rt("", "persistentvolumeclaims"), self.rt("", "persistentvolumes")
        pvc = self.store.find(pvc_rt, ns, name)
        if pvc is None or pvc["metadata"]["uid"] != uid or (pvc.get("status") or {}).get("phase") == "Bound":
            return
        spec = pvc.get("spec") or {}
        storage_class = spec.get("storageClassName") or DEFAULT_STORAGE_CLASS
        size = ((spec.get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        access_modes = spec.get("accessModes") or ["ReadWriteOnce"]
        pv_name = f"pvc-{uid}"
        if self.store.find(pv_rt, None, pv_name) is None:
            pv = self.store.create(
                pv_rt,
                None,
                {
                    "metadata": {
                        "name": pv_name,
                        "annotations": {"pv.kubernetes.io/provisioned-by": "rancher.io/local-path"},
                    },
                    "spec": {
                        "capacity": {"storage": size},
                        "accessModes": access_modes,
                        "persistentVolumeReclaimPolicy": "Delete",
                        "storageClassName": storage_class,
                        "volumeMode": spec.get("volumeMode", "Filesystem"),
                        "claimRef": {
                            "apiVersion": "v1",
                            "kind": "PersistentVolumeClaim",
                            "namespace": ns,
                            "name": name,
                            "uid": uid,
                        },
                        "hostPath": {
                            "path": f"/var/local-path-provisioner/{pv_name}_{ns}_{name}",
                            "type": "DirectoryOrCreate",
                        },
                    },
                },
            )
            self._write_status(pv_rt, pv, {"phase": "Bound"})
        bound = copy.deepcopy(pvc)
        bound["spec"] = {**spec, "volumeName": pv_name, "storageClassName": storage_class}
        bound["spec"].setdefault("volumeMode", "Filesystem")
        annotations = bound["metadata"].setdefault("annotations", {})
        annotations.update(
            {
                "pv.kubernetes.io/bind-completed": "yes",
                "pv.kubernetes.io/bound-by-controller": "yes",
                "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path",
                "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path",
            }
        )
        bound = self.store.update(pvc_rt, ns, name, bound)
        self._write_status(
            pvc_rt, bound, {"phase": "Bound", "accessModes": access_modes, "capacity": {"storage": size}}
        )

    def _release_volume(self, pvc: dict) -> None:
        """A deleted claim's provisioned volume goes with it (reclaim policy Delete)."""
        volume = (pvc.get("spec") or {}).get("volumeName")
        if not volume:
            return
        pv_rt = self.rt("", "persistentvolumes")
        pv = self.store.find(pv_rt, None, volume)
        if pv is None or (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") != "Delete":
            return
        try:
            self.store.delete(pv_rt, None, volume)
        except errors.ApiError as exc:
            log.debug("could not delete volume %s: %s", volume, exc.message)


def _job_condition(kind: str, reason: str, message: str, now: str) -> dict:
    return {
        "type": kind,
        "status": "True",
        "lastProbeTime": now,
        "lastTransitionTime": now,
        "reason": reason,
        "message": message,
    }


def _ordinal(pod_name: str, set_name: str) -> int | None:
    prefix = set_name + "-"
    if not pod_name.startswith(prefix) or not pod_name[len(prefix) :].isdigit():
        return None
    return int(pod_name[len(prefix) :])


def _healthy(pod: dict | None) -> bool:
    return pod is not None and not pod["metadata"].get("deletionTimestamp") and is_ready(pod)


def _pod_revision(pod: dict) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(REVISION_HASH)


def _deletion_order(pods: list[dict]) -> list[dict]:
    """Which pods a ReplicaSet removes first: unscheduled, pending, not ready, then the newest."""
    newest_first = sorted(pods, key=_creation_key, reverse=True)
    return sorted(
        newest_first,
        key=lambda p: (
            bool((p.get("spec") or {}).get("nodeName")),
            (p.get("status") or {}).get("phase") == "Running",
            is_ready(p),
        ),
    )


__all__ = ["ADDED", "Controllers", "safe_encode", "template_hash"]
