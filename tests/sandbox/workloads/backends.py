"""What a forwarded pod port connects to: the port-backend registry behind ``state.port_backends``.

A test double that should answer on a pod's port (a fake gRPC node behind the haproxy pod, an echo
server, ...) registers here; ``pods/portforward`` (``portforward.py``) connects each requested port
to the first backend whose selector matches the pod's labels. This module has no dependencies, so
``SandboxState`` can hold a registry whether or not the workloads are enabled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Connect = Callable[[dict], Awaitable[Streams]]


@dataclass(frozen=True)
class PortBackend:
    selector: Mapping[str, str]  # every label must be on the pod (an empty selector matches every pod)
    port: int
    connect: Connect
    namespace: str | None = None  # None: any namespace

    def matches(self, pod: dict, port: int) -> bool:
        if port != self.port:
            return False
        meta = pod.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        labels = meta.get("labels") or {}
        return all(labels.get(key) == value for key, value in self.selector.items())


def tcp_target(host: str, port: int) -> Connect:
    """A backend that opens a TCP connection to ``host:port`` for every forwarded connection."""

    async def connect(pod: dict) -> Streams:
        return await asyncio.open_connection(host, port)

    return connect


@dataclass
class PortBackends:
    """Registry of port backends; lookups take the first registered match.

    ``register`` and ``unregister`` are thread-safe enough for tests (a list append/remove); the
    lookup runs on the server's loop when a port-forward connects.
    """

    _backends: list[PortBackend] = field(default_factory=list)

    def register(
        self,
        selector: Mapping[str, str],
        port: int,
        connect: Connect | tuple[str, int],
        *,
        namespace: str | None = None,
    ) -> PortBackend:
        """Serve ``port`` of pods carrying all ``selector`` labels with ``connect``.

        ``connect`` is ``async (pod) -> (reader, writer)`` called once per forwarded connection with
        the pod as the API returns it, or a ``(host, port)`` TCP target. Returns the registration,
        which ``unregister`` takes.
        """
        if not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError(f"invalid port {port!r}")
        target = tcp_target(*connect) if isinstance(connect, tuple) else connect
        backend = PortBackend(dict(selector), port, target, namespace)
        self._backends.append(backend)
        return backend

    def unregister(self, backend: PortBackend) -> None:
        if backend in self._backends:
            self._backends.remove(backend)

    def lookup(self, pod: dict, port: int) -> PortBackend | None:
        return next((backend for backend in list(self._backends) if backend.matches(pod, port)), None)

    def __len__(self) -> int:
        return len(self._backends)
