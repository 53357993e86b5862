"""The scheduler and the kubelet of the sandbox's single node, ``sandbox-node``.

A pod goes through what ``kubectl get pods -w`` shows on a real node, each step after the delay its
duration-model rule gives (``model.py``):

    created --schedule--> scheduled (spec.nodeName, PodScheduled=True; waits while a claimed PVC is unbound)
            --running---> Running (containers started: exec works from here)
            --ready-----> Ready=True (not with never_ready)
            --complete--> Succeeded / Failed (only pods whose restartPolicy is not Always, e.g. Job pods)

A DELETE of a scheduled pod leaves it Terminating (its grace period, see ``Strategies.deletion_grace``);
the kubelet removes it for good after ``terminate`` (at most the grace period), as a real kubelet does
once the containers stopped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import logging
from typing import TYPE_CHECKING

from .. import errors
from ..store import DELETED, Event
from .containers import Container, start_container, volume_files

if TYPE_CHECKING:
    from . import Workloads
    from .model import PodTiming

log = logging.getLogger(__name__)

NODE_NAME = "sandbox-node"
HOST_IP = "172.18.0.2"
POD_CIDR_PREFIX = "10.244.0."
TERMINAL = ("Succeeded", "Failed")


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def set_condition(
    conditions: list[dict], kind: str, status: str, now: str, reason: str = "", message: str = ""
) -> None:
    """Set a pod condition in place, keeping lastTransitionTime while the status does not change."""
    for condition in conditions:
        if condition.get("type") == kind:
            if condition.get("status") != status:
                condition["lastTransitionTime"] = now
            condition["status"] = status
            _set_reason(condition, reason, message)
            return
    condition = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": now}
    _set_reason(condition, reason, message)
    conditions.append(condition)


def _set_reason(condition: dict, reason: str, message: str) -> None:
    for key, value in (("reason", reason), ("message", message)):
        if value:
            condition[key] = value
        else:
            condition.pop(key, None)


def pod_claims(pod: dict) -> list[str]:
    return [
        volume["persistentVolumeClaim"]["claimName"]
        for volume in (pod.get("spec") or {}).get("volumes") or []
        if isinstance(volume, dict) and (volume.get("persistentVolumeClaim") or {}).get("claimName")
    ]


def is_ready(pod: dict) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _container_id(uid: str, name: str) -> str:
    return "containerd://" + hashlib.sha256(f"{uid}/{name}".encode()).hexdigest()


def _image_id(image: str) -> str:
    repository = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


class Kubelet:
    """Scheduling, container start, readiness, completion and final removal of every pod."""

    def __init__(self, hub: Workloads) -> None:
        self.hub = hub
        self.stages: dict[str, str] = {}  # pod uid -> scheduling | unschedulable | bound | creating | running | done
        self.removing: set[str] = set()
        self.containers: dict[str, dict[str, Container]] = {}
        self.ips: dict[str, str] = {}
        self._addresses = itertools.count(10)

    @property
    def pods(self):
        return self.hub.rt("", "pods")

    # --- events ----------------------------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        key = event.resource.key
        if key == ("", "pods"):
            uid = event.obj["metadata"].get("uid", "")
            if event.type == DELETED:
                self.forget(uid)
                return
            self.hub.enqueue(("kubelet", event.namespace, event.name), lambda: self.sync(event.namespace, event.name))
        elif (
            key == ("", "persistentvolumeclaims")
            and event.type != DELETED
            and (event.obj.get("status") or {}).get("phase") == "Bound"
        ):
            self._retry_unschedulable(event.namespace)

    def _retry_unschedulable(self, namespace: str) -> None:
        pods, _ = self.hub.store.list(self.pods, namespace)
        for pod in pods:
            if self.stages.get(pod["metadata"]["uid"]) == "unschedulable":
                name = pod["metadata"]["name"]
                self.hub.enqueue(("kubelet", namespace, name), lambda name=name: self.sync(namespace, name))

    def forget(self, uid: str) -> None:
        self.stages.pop(uid, None)
        self.removing.discard(uid)
        self.containers.pop(uid, None)
        self.ips.pop(uid, None)

    def resync(self) -> None:
        pods, _ = self.hub.store.list(self.pods)
        for pod in pods:
            ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
            self.hub.enqueue(("kubelet", ns, name), lambda ns=ns, name=name: self.sync(ns, name))

    # --- the state machine --------------------------------------------------------------------------------

    def _current(self, namespace: str, name: str, uid: str) -> dict | None:
        pod = self.hub.store.find(self.pods, namespace, name)
        return pod if pod is not None and pod["metadata"].get("uid") == uid else None

    def _later(self, seconds: float, pod: dict, step) -> None:
        meta = pod["metadata"]
        namespace, name, uid = meta["namespace"], meta["name"], meta["uid"]

        def fire() -> None:
            current = self._current(namespace, name, uid)
            if current is not None:
                try:
                    step(current)
                except errors.ApiError as exc:  # the pod changed or went meanwhile; its next event decides
                    log.debug("kubelet step on %s/%s: %s", namespace, name, exc.message)

        self.hub.later(seconds, fire)

    def sync(self, namespace: str, name: str) -> None:
        pod = self.hub.store.find(self.pods, namespace, name)
        if pod is None:
            return
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        uid = meta["uid"]
        timing = self.hub.timing(pod)
        if meta.get("deletionTimestamp"):
            self._terminate(pod, timing)
            return
        if status.get("phase") in TERMINAL:
            self.stages[uid] = "done"
            return
        stage = self.stages.get(uid)
        if stage in ("scheduling", "creating", "running", "done"):
            return
        if not spec.get("nodeName"):
            if stage is None or stage == "unschedulable":
                self._try_schedule(pod, timing)
            return
        if stage in (None, "bound"):
            if spec.get("nodeName") != NODE_NAME:
                return  # bound to a node nobody runs: stays Pending, as on a real cluster
            self._start_creating(pod, timing)

    def _try_schedule(self, pod: dict, timing: PodTiming) -> None:
        uid = pod["metadata"]["uid"]
        problem = self._unschedulable_reason(pod)
        if problem is not None:
            self.stages[uid] = "unschedulable"
            status = dict(pod.get("status") or {})
            conditions = [dict(c) for c in status.get("conditions") or []]
            set_condition(conditions, "PodScheduled", "False", utc_now(), "Unschedulable", problem)
            status["conditions"] = conditions
            self._write_status(pod, status)
            return
        self.stages[uid] = "scheduling"
        self._later(timing.scaled(timing.schedule), pod, self._bind)

    def _unschedulable_reason(self, pod: dict) -> str | None:
        pvcs = self.hub.rt("", "persistentvolumeclaims")
        namespace = pod["metadata"]["namespace"]
        for claim in pod_claims(pod):
            pvc = self.hub.store.find(pvcs, namespace, claim)
            if pvc is None:
                return f'0/1 nodes are available: persistentvolumeclaim "{claim}" not found.'
            if (pvc.get("status") or {}).get("phase") != "Bound":
                return "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."
        return None

    def _bind(self, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        if (pod.get("spec") or {}).get("nodeName"):
            self.stages[uid] = "bound"
            self.sync(pod["metadata"]["namespace"], pod["metadata"]["name"])
            return
        problem = self._unschedulable_reason(pod)
        if problem is not None:  # a claim went away meanwhile
            self.stages.pop(uid, None)
            self._try_schedule(pod, self.hub.timing(pod))
            return
        bound = dict(pod)
        bound["spec"] = {**(pod.get("spec") or {}), "nodeName": NODE_NAME}
        self.stages[uid] = "bound"
        bound = self.hub.store.update(self.pods, pod["metadata"]["namespace"], pod["metadata"]["name"], bound)
        status = dict(bound.get("status") or {})
        conditions = [dict(c) for c in status.get("conditions") or []]
        set_condition(conditions, "PodScheduled", "True", utc_now())
        status["conditions"] = conditions
        bound = self._write_status(bound, status)
        self._start_creating(bound, self.hub.timing(bound))

    def _start_creating(self, pod: dict, timing: PodTiming) -> None:
        uid = pod["metadata"]["uid"]
        self.stages[uid] = "creating"
        now = utc_now()
        spec = pod.get("spec") or {}
        ip = self.ips.setdefault(uid, f"{POD_CIDR_PREFIX}{next(self._addresses) % 250 + 2}")
        status = dict(pod.get("status") or {})
        conditions = [dict(c) for c in status.get("conditions") or []]
        set_condition(conditions, "PodReadyToStartContainers", "True", now)
        set_condition(
            conditions,
            "Initialized",
            "True" if not spec.get("initContainers") else "False",
            now,
            "" if not spec.get("initContainers") else "ContainersNotInitialized",
        )
        names = [c.get("name", "") for c in spec.get("containers") or []]
        unready = f"containers with unready status: [{' '.join(names)}]"
        set_condition(conditions, "Ready", "False", now, "ContainersNotReady", unready)
        set_condition(conditions, "ContainersReady", "False", now, "ContainersNotReady", unready)
        set_condition(conditions, "PodScheduled", "True", now)
        status.update(
            phase="Pending",
            conditions=_ordered(conditions),
            hostIP=HOST_IP,
            hostIPs=[{"ip": HOST_IP}],
            podIP=ip,
            podIPs=[{"ip": ip}],
            startTime=status.get("startTime") or now,
            qosClass=status.get("qosClass") or "BestEffort",
            containerStatuses=[
                self._container_status(pod, c, {"waiting": {"reason": "ContainerCreating"}}, ready=False, started=False)
                for c in spec.get("containers") or []
            ],
        )
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                self._container_status(pod, c, {"waiting": {"reason": "PodInitializing"}}, ready=False, started=False)
                for c in spec["initContainers"]
            ]
        self._write_status(pod, status)
        self._later(timing.scaled(timing.running), pod, self._run)

    def _run(self, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        if pod["metadata"].get("deletionTimestamp") or self.stages.get(uid) != "creating":
            return
        timing = self.hub.timing(pod)
        now = utc_now()
        spec = pod.get("spec") or {}
        status = dict(pod.get("status") or {})
        conditions = [dict(c) for c in status.get("conditions") or []]
        set_condition(conditions, "Initialized", "True", now)
        status["conditions"] = _ordered(conditions)
        status["phase"] = "Running"
        status["containerStatuses"] = [
            self._container_status(pod, c, {"running": {"startedAt": now}}, ready=False, started=True)
            for c in spec.get("containers") or []
        ]
        if spec.get("initContainers"):
            status["initContainerStatuses"] = [
                self._container_status(
                    pod,
                    c,
                    {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": now, "finishedAt": now}},
                    ready=True,
                    started=False,
                )
                for c in spec["initContainers"]
            ]
        self.stages[uid] = "running"
        running = self._write_status(pod, status)
        self.start_containers(running)
        if not timing.never_ready:
            self._later(timing.scaled(timing.ready), running, self._ready)
        if spec.get("restartPolicy", "Always") != "Always":
            self._later(timing.scaled(timing.complete), running, self._complete)

    def _ready(self, pod: dict) -> None:
        status = dict(pod.get("status") or {})
        if status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
            return
        now = utc_now()
        conditions = [dict(c) for c in status.get("conditions") or []]
        set_condition(conditions, "ContainersReady", "True", now)
        set_condition(conditions, "Ready", "True", now)
        status["conditions"] = _ordered(conditions)
        status["containerStatuses"] = [{**c, "ready": True} for c in status.get("containerStatuses") or []]
        self._write_status(pod, status)

    def _complete(self, pod: dict) -> None:
        status = dict(pod.get("status") or {})
        if status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
            return
        timing = self.hub.timing(pod)
        now = utc_now()
        code = timing.exit_code
        conditions = [dict(c) for c in status.get("conditions") or []]
        set_condition(conditions, "PodReadyToStartContainers", "False", now)
        set_condition(conditions, "ContainersReady", "False", now, "PodCompleted")
        set_condition(conditions, "Ready", "False", now, "PodCompleted")
        status["conditions"] = _ordered(conditions)
        status["phase"] = "Succeeded" if code == 0 else "Failed"
        terminated = {
            "exitCode": code,
            "reason": "Completed" if code == 0 else "Error",
            "startedAt": status.get("startTime") or now,
            "finishedAt": now,
        }
        status["containerStatuses"] = [
            {**c, "ready": False, "started": False, "state": {"terminated": terminated}}
            for c in status.get("containerStatuses") or []
        ]
        self.stages[pod["metadata"]["uid"]] = "done"
        self._write_status(pod, status)

    def _terminate(self, pod: dict, timing: PodTiming) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        if uid in self.removing:
            return
        self.removing.add(uid)
        grace = meta.get("deletionGracePeriodSeconds") or 0
        delay = min(timing.terminate, float(grace)) if (pod.get("spec") or {}).get("nodeName") else 0.0

        def remove(current: dict) -> None:
            try:
                self.hub.store.delete(
                    self.pods,
                    meta["namespace"],
                    meta["name"],
                    preconditions={"uid": uid},
                    grace_period_seconds=0,
                )
            except errors.ApiError as exc:
                log.debug("kubelet could not remove %s/%s: %s", meta["namespace"], meta["name"], exc.message)

        self._later(timing.scaled(delay), pod, remove)

    # --- helpers --------------------------------------------------------------------------------------

    def _container_status(self, pod: dict, container: dict, state: dict, *, ready: bool, started: bool) -> dict:
        uid, name, image = pod["metadata"]["uid"], container.get("name", ""), container.get("image", "")
        status = {
            "name": name,
            "image": image,
            "imageID": _image_id(image),
            "ready": ready,
            "started": started,
            "restartCount": 0,
            "state": state,
            "lastState": {},
        }
        if "waiting" not in state:
            status["containerID"] = _container_id(uid, name)
        return status

    def _write_status(self, pod: dict, status: dict) -> dict:
        meta = pod["metadata"]
        return self.hub.store.update(
            self.pods, meta["namespace"], meta["name"], {**pod, "status": status}, subresource="status"
        )

    # --- containers ---------------------------------------------------------------------------------------

    def start_containers(self, pod: dict) -> dict[str, Container]:
        uid = pod["metadata"]["uid"]
        if uid in self.containers:
            return self.containers[uid]
        namespace = pod["metadata"]["namespace"]
        started: dict[str, Container] = {}
        for spec in (pod.get("spec") or {}).get("containers") or []:
            if not isinstance(spec, dict) or not spec.get("name"):
                continue
            started[spec["name"]] = start_container(
                pod,
                spec,
                self.hub.behaviours,
                timing=lambda pod=pod: self.hub.timing(pod),
                now=self.hub.now,
                volumes=lambda volume, ns=namespace: volume_files(
                    volume, lambda kind, name: self._read(kind, ns, name)
                ),
            )
        self.containers[uid] = started
        return started

    def _read(self, kind: str, namespace: str, name: str) -> dict | None:
        rt = self.hub.rt("", "configmaps" if kind == "ConfigMap" else "secrets")
        return self.hub.store.find(rt, namespace, name)

    def container_for(self, pod: dict, name: str) -> Container | None:
        """The running container ``name`` of ``pod``, or None when its containers have not started."""
        status = pod.get("status") or {}
        if status.get("phase") != "Running":
            return None
        uid = pod["metadata"]["uid"]
        containers = self.containers.get(uid)
        if containers is None:
            running = any("running" in (c.get("state") or {}) for c in status.get("containerStatuses") or [])
            if not running:
                return None
            containers = self.start_containers(pod)  # Running before this kubelet knew it (status written by hand)
        return containers.get(name)


_CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def _ordered(conditions: list[dict]) -> list[dict]:
    rank = {kind: index for index, kind in enumerate(_CONDITION_ORDER)}
    return sorted(conditions, key=lambda c: rank.get(c.get("type", ""), len(rank)))
