"""What one sandbox API server holds: the store, request counters and the extension points.

Later parts of the sandbox plug in here without touching the server: controllers and the kubelet
(``tests.sandbox.workloads.enable_workloads(state, model)``) listen to ``state.store``; pods/exec,
pods/portforward and pods/log handlers register with ``state.extensions.register_subresource``; whole
extra routes go in with ``state.extensions.add_app_hook`` (called by ``make_app`` before the API routes
are added).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .resources import Registry, ResourceType
from .store import Store
from .workloads.backends import PortBackends

if TYPE_CHECKING:
    from aiohttp import web

    from .workloads import Workloads

SERVER_VERSION = {
    "major": "1",
    "minor": "33",
    "gitVersion": "v1.33.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-04-23T00:00:00Z",
    "goVersion": "go1.24.2",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class ResourceRequest:
    """A parsed resource URL: what a subresource handler is told about its request."""

    resource: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    watch: bool = False  # a legacy /watch/ path


SubresourceHandler = Callable[["web.Request", ResourceRequest], Awaitable["web.StreamResponse"]]
AppHook = Callable[["web.Application"], None]


class Stats:
    """Request counters per ``"<verb> <resource>"`` plus the number of writes to coordination.k8s.io leases.

    Thread-safe: the server's loop counts while a test thread reads or resets them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._lease_writes = 0
            self._since = time.time()

    def record(self, verb: str, rt: ResourceType | None, subresource: str | None = None) -> None:
        label = "discovery" if rt is None else rt.label + (f"/{subresource}" if subresource else "")
        with self._lock:
            self._requests[f"{verb} {label}"] += 1
            if rt is not None and rt.key == ("coordination.k8s.io", "leases") and verb in _WRITE_VERBS:
                self._lease_writes += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests": dict(sorted(self._requests.items())),
                "total_requests": sum(self._requests.values()),
                "lease_writes": self._lease_writes,
                "seconds": round(time.time() - self._since, 3),
            }


@dataclass
class Extensions:
    subresource_handlers: dict[tuple[str, str, str], SubresourceHandler] = field(default_factory=dict)
    app_hooks: list[AppHook] = field(default_factory=list)

    def register_subresource(self, group: str, plural: str, subresource: str, handler: SubresourceHandler) -> None:
        """Serve ``<plural>/<subresource>`` of ``group`` (any method) with ``handler(request, resource_request)``."""
        self.subresource_handlers[(group, plural, subresource)] = handler

    def handler_for(self, rt: ResourceType, subresource: str) -> SubresourceHandler | None:
        return self.subresource_handlers.get((rt.group, rt.plural, subresource))

    def add_app_hook(self, hook: AppHook) -> None:
        """Call ``hook(app)`` from make_app before the API's catch-all routes, e.g. to add websocket routes."""
        self.app_hooks.append(hook)


@dataclass
class SandboxState:
    store: Store = field(default_factory=Store)
    stats: Stats = field(default_factory=Stats)
    extensions: Extensions = field(default_factory=Extensions)
    version: dict = field(default_factory=lambda: dict(SERVER_VERSION))
    # What a pods/portforward connects to (tests/sandbox/workloads/backends.py); used once workloads are on.
    port_backends: PortBackends = field(default_factory=PortBackends)
    # Controllers, kubelet, exec and port-forward: set by tests.sandbox.workloads.enable_workloads.
    workloads: Workloads | None = None

    @property
    def registry(self) -> Registry:
        return self.store.registry
