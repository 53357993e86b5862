"""Workloads in the sandbox: controllers, a kubelet, exec and port-forward, paced by a duration model.

``enable_workloads(state, model)`` turns a bare API server (``SandboxState``) into a one-node cluster:

- ``controllers.py``: Deployment -> ReplicaSet -> Pods, StatefulSet (pods and claims), Job, DaemonSet,
  PVC binding, with the status fields the real controllers keep;
- ``kubelet.py``: scheduling on ``sandbox-node`` and the pod lifecycle (Pending -> Running -> Ready ->
  Succeeded/Failed, graceful deletion), each step after the delay of ``model.py``'s duration model;
- ``exec.py`` / ``portforward.py``: ``pods/exec`` and ``pods/portforward`` over the websocket channel
  protocols, into scripted containers (``containers.py``, ``shell.py``, ``commands.py``, ``vfs.py``,
  ``consensus.py``) and registered port backends (``backends.py``).

Everything runs on the server's event loop: store events are queued and handled in one batch per loop
iteration (``enqueue``), delays are loop timers (``later``). The hub starts with the aiohttp app.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

from .. import errors
from ..resources import ResourceType
from ..store import Event
from .backends import PortBackend, PortBackends, tcp_target
from .containers import BehaviourRegistry, Container
from .controllers import Controllers
from .exec import exec_handler
from .kubelet import HOST_IP, NODE_NAME, Kubelet
from .model import DEFAULT_MODEL_PATH, MODEL_ENV, DurationModel, ModelError, PodTiming, load_model
from .portforward import portforward_handler

if TYPE_CHECKING:
    from aiohttp import web

    from ..state import SandboxState

__all__ = [
    "DEFAULT_MODEL_PATH",
    "HOST_IP",
    "MODEL_ENV",
    "NODE_NAME",
    "BehaviourRegistry",
    "Container",
    "DurationModel",
    "ModelError",
    "ModelSource",
    "PodTiming",
    "PortBackend",
    "PortBackends",
    "Workloads",
    "default_behaviours",
    "enable_workloads",
    "load_model",
    "tcp_target",
]

log = logging.getLogger(__name__)

ModelSource = DurationModel | Mapping[str, Any] | str | os.PathLike | None


def default_behaviours() -> BehaviourRegistry:
    """The scripted containers every sandbox has: the consensus node's root container, the mirror's postgres."""
    from . import consensus, mirror_behaviour

    registry = BehaviourRegistry()
    consensus.register(registry)
    mirror_behaviour.register(registry)
    return registry


class Workloads:
    """The controllers, kubelet and streaming endpoints of one sandbox, sharing its store and loop."""

    def __init__(self, state: SandboxState, model: ModelSource = None, behaviours: BehaviourRegistry | None = None):
        self.state = state
        self.store = state.store
        self.model = load_model(model)
        self.behaviours = behaviours if behaviours is not None else default_behaviours()
        self.controllers = Controllers(self)
        self.kubelet = Kubelet(self)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._queue: OrderedDict[Hashable, Callable[[], None]] = OrderedDict()
        self._drain_scheduled = False
        self._timers: set[asyncio.TimerHandle] = set()

    # --- wiring ------------------------------------------------------------------------------------------

    def install(self) -> Workloads:
        self.state.workloads = self
        self._cluster_objects()
        self.store.add_listener(self._observe)
        self.state.extensions.register_subresource("", "pods", "exec", exec_handler(self))
        self.state.extensions.register_subresource("", "pods", "portforward", portforward_handler(self))
        self.state.extensions.add_app_hook(self._hook)
        return self

    def _hook(self, app: web.Application) -> None:
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    async def _start(self, app: web.Application) -> None:
        self.loop = asyncio.get_running_loop()
        self.controllers.resync()  # objects stored before the server started
        self.kubelet.resync()
        self._schedule_drain()

    async def _stop(self, app: web.Application) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.loop = None

    def _cluster_objects(self) -> None:
        """What a kind cluster has from the start: its node and the default StorageClass."""
        nodes, classes = self.rt("", "nodes"), self.rt("storage.k8s.io", "storageclasses")
        if self.store.find(nodes, None, NODE_NAME) is None:
            node = self.store.create(
                nodes,
                None,
                {
                    "metadata": {
                        "name": NODE_NAME,
                        "labels": {
                            "kubernetes.io/hostname": NODE_NAME,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "node-role.kubernetes.io/control-plane": "",
                        },
                    },
                    "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
                },
            )
            capacity = {"cpu": "2", "memory": "8Gi", "pods": "110", "ephemeral-storage": "100Gi"}
            self.store.update(
                nodes,
                None,
                NODE_NAME,
                {
                    **node,
                    "status": {
                        "capacity": capacity,
                        "allocatable": capacity,
                        "addresses": [
                            {"type": "InternalIP", "address": HOST_IP},
                            {"type": "Hostname", "address": NODE_NAME},
                        ],
                        "conditions": [
                            {
                                "type": "Ready",
                                "status": "True",
                                "reason": "KubeletReady",
                                "message": "kubelet is posting ready status",
                            }
                        ],
                        "nodeInfo": {
                            "kubeletVersion": self.state.version.get("gitVersion", "v1.33.0"),
                            "containerRuntimeVersion": "containerd://2.1.1",
                            "operatingSystem": "linux",
                            "architecture": "amd64",
                            "osImage": "Debian GNU/Linux 12 (bookworm)",
                        },
                    },
                },
                subresource="status",
            )
        if self.store.find(classes, None, "standard") is None:
            self.store.create(
                classes,
                None,
                {
                    "metadata": {
                        "name": "standard",
                        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                    },
                    "provisioner": "rancher.io/local-path",
                    "reclaimPolicy": "Delete",
                    "volumeBindingMode": "Immediate",
                },
            )

    # --- the work queue and timers ----------------------------------------------------------------------

    def _observe(self, event: Event) -> None:
        self.controllers.observe(event)
        self.kubelet.observe(event)

    def enqueue(self, key: Hashable, work: Callable[[], None]) -> None:
        """Run ``work`` soon on the loop; one pending run per key (the latest wins)."""
        self._queue[key] = work
        self._queue.move_to_end(key)
        self._schedule_drain()

    def _schedule_drain(self) -> None:
        if self.loop is not None and not self._drain_scheduled and self._queue:
            self._drain_scheduled = True
            self.loop.call_soon(self._drain)

    def _drain(self) -> None:
        """Run what is queued now; work queued meanwhile runs in the next loop iteration."""
        self._drain_scheduled = False
        batch = list(self._queue.items())
        self._queue.clear()
        for key, work in batch:
            try:
                work()
            except errors.ApiError as exc:  # a conflict or a vanished object: the next event retries
                log.debug("workloads: %s: %s", key, exc.message)
            except Exception:
                log.exception("workloads: %s failed", key)
        self._schedule_drain()

    def later(self, seconds: float, work: Callable[[], None]) -> None:
        """Run ``work`` after ``seconds`` (real seconds: apply the model's scale first)."""
        if self.loop is None:
            return

        def fire() -> None:
            self._timers.discard(handle)
            try:
                work()
            except errors.ApiError as exc:
                log.debug("workloads timer: %s", exc.message)
            except Exception:
                log.exception("workloads timer failed")

        handle = self.loop.call_later(max(0.0, seconds), fire)
        self._timers.add(handle)

    def now(self) -> float:
        return self.loop.time() if self.loop is not None else 0.0

    # --- lookups -------------------------------------------------------------------------------------------

    def rt(self, group: str, plural: str) -> ResourceType:
        rt = self.state.registry.lookup(group, "v1", plural)
        assert rt is not None, f"the sandbox serves no {group}/v1 {plural}"
        return rt

    def timing(self, pod: dict) -> PodTiming:
        return self.model.timing(pod)

    def set_model(self, model: ModelSource) -> None:
        """Use another duration model from now on (steps already waiting keep their delays)."""
        self.model = load_model(model)

    def container(self, namespace: str, pod: str, name: str) -> Container | None:
        """The running container ``name`` of a pod (for tests: its files, its platform state)."""
        obj = self.store.find(self.rt("", "pods"), namespace, pod)
        return None if obj is None else self.kubelet.container_for(obj, name)


def enable_workloads(
    state: SandboxState, model: ModelSource = None, behaviours: BehaviourRegistry | None = None
) -> Workloads:
    """Give ``state`` controllers, a kubelet, exec and port-forward; call before the server starts.

    ``model``: a DurationModel, a dict of the model file's shape, a path, or None for
    ``$HIERO_SANDBOX_MODEL`` or ``tests/sandbox/model.yaml``.
    """
    if state.workloads is not None:
        raise RuntimeError("workloads are already enabled on this sandbox")
    return Workloads(state, model, behaviours).install()
