"""``pods/portforward`` over websockets, as the kubelet serves it to ``kubernetes.stream.portforward``.

``GET /api/v1/namespaces/<ns>/pods/<name>/portforward?ports=P1,P2`` upgrades to
``v4.channel.k8s.io`` (or ``v4.base64.channel.k8s.io``, ``portforward.k8s.io``, none). Port number i
(in request order) gets a data channel 2i and an error channel 2i+1; the first message on each is
the port as 2 little-endian bytes. Each port connects at once to the backend registered for the pod
and port in ``state.port_backends`` (``backends.py``); without one (or when it refuses) the error
channel gets the kubelet's message and that port is done. The stream ends when every port is done
or the client hangs up.

kubectl port-forward is not served: it tunnels SPDY (directly or inside a websocket).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from .. import errors
from .backends import Connect, PortBackend, PortBackends, Streams, tcp_target
from .channels import ChannelSocket, port_prefix

if TYPE_CHECKING:
    from ..state import ResourceRequest
    from . import Workloads

__all__ = [
    "PORTFORWARD_PROTOCOLS",
    "Connect",
    "PortBackend",
    "PortBackends",
    "Streams",
    "forwarding_error",
    "portforward_handler",
    "tcp_target",
]

log = logging.getLogger(__name__)

PORTFORWARD_PROTOCOLS = ("v4.channel.k8s.io", "v4.base64.channel.k8s.io", "portforward.k8s.io")
CONNECT_TIMEOUT_S = 10.0


def parse_ports(values: list[str]) -> list[int]:
    ports: list[int] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            if not item.isdigit() or not 0 < int(item) < 65536:
                raise errors.bad_request(f'invalid port "{item}"')
            ports.append(int(item))
    if not ports:
        raise errors.bad_request('query parameter "ports" is required')
    return ports


def forwarding_error(pod: dict, port: int, cause: str = "connect: connection refused") -> str:
    """The kubelet's (containerd's) message for a port nothing listens on."""
    uid = pod["metadata"].get("uid", "")
    sandbox = hashlib.sha256(uid.encode()).hexdigest()
    return (
        f"error forwarding port {port} to pod {sandbox}, uid : failed to execute portforward in network namespace "
        f'"/var/run/netns/cni-{uid}": failed to connect to localhost:{port} inside namespace "{sandbox}", '
        f"IPv4: dial tcp4 127.0.0.1:{port}: {cause} IPv6 dial tcp6 [::1]:{port}: {cause} "
    )


def portforward_handler(hub: Workloads):
    async def handle(request: web.Request, target: ResourceRequest) -> web.StreamResponse:
        if target.name is None or request.method not in ("GET", "POST"):
            raise errors.method_not_allowed()
        pod = hub.store.get(hub.rt("", "pods"), target.namespace, target.name)
        ports = parse_ports(request.query.getall("ports", []) + request.query.getall("port", []))
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.bad_request(f"pod {target.name} does not have a host assigned")
        phase = (pod.get("status") or {}).get("phase")
        if phase != "Running":
            raise errors.bad_request(f"unable to forward port because pod is not running. Current status={phase}")
        ws = web.WebSocketResponse(protocols=PORTFORWARD_PROTOCOLS, max_msg_size=0, timeout=5.0)
        if not ws.can_prepare(request).ok:
            raise errors.bad_request("Upgrade request required")
        await ws.prepare(request)
        await PortForwardSession(ChannelSocket(ws, ws.ws_protocol), pod, ports, hub.state.port_backends).run()
        return ws

    return handle


class PortForwardSession:
    def __init__(self, socket: ChannelSocket, pod: dict, ports: list[int], backends: PortBackends) -> None:
        self.socket = socket
        self.pod = pod
        self.ports = ports
        self.backends = backends
        self.inbound: list[asyncio.Queue[bytes | None]] = [asyncio.Queue() for _ in ports]

    async def run(self) -> None:
        for index, port in enumerate(self.ports):
            await self.socket.send(2 * index, port_prefix(port))
            await self.socket.send(2 * index + 1, port_prefix(port))
        forwards = asyncio.gather(*(self._forward(index, port) for index, port in enumerate(self.ports)))
        reader = asyncio.create_task(self._read_client())
        try:
            await asyncio.wait([forwards, reader], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for queue in self.inbound:
                queue.put_nowait(None)
            reader.cancel()
            if not forwards.done():
                try:
                    await asyncio.wait_for(asyncio.shield(forwards), 1.0)
                except (asyncio.TimeoutError, Exception):
                    forwards.cancel()
            await asyncio.gather(forwards, reader, return_exceptions=True)
            await self.socket.close()

    async def _read_client(self) -> None:
        async for message in self.socket.ws:
            if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                break
            decoded = self.socket.decode(message)
            if decoded is None:
                continue
            channel, payload = decoded
            index, is_error = divmod(channel, 2)
            if index < len(self.ports) and not is_error and payload:
                self.inbound[index].put_nowait(payload)
        self.socket.gone = True

    async def _forward(self, index: int, port: int) -> None:
        backend = self.backends.lookup(self.pod, port)
        if backend is None:
            await self.socket.send(2 * index + 1, forwarding_error(self.pod, port).encode())
            return
        try:
            reader, writer = await asyncio.wait_for(backend.connect(self.pod), CONNECT_TIMEOUT_S)
        except Exception as exc:  # a backend that refuses is a port nothing listens on
            cause = "connect: connection refused" if isinstance(exc, ConnectionError | OSError) else f"{exc}"
            await self.socket.send(2 * index + 1, forwarding_error(self.pod, port, cause).encode())
            return
        to_backend = asyncio.create_task(self._to_backend(index, writer))
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                await self.socket.send(2 * index, data)
                if self.socket.gone:
                    break
        except (ConnectionError, OSError) as exc:
            log.debug("port %d of %s: backend read failed: %s", port, self.pod["metadata"]["name"], exc)
        finally:
            to_backend.cancel()
            await asyncio.gather(to_backend, return_exceptions=True)
            writer.close()

    async def _to_backend(self, index: int, writer: asyncio.StreamWriter) -> None:
        queue = self.inbound[index]
        while True:
            data = await queue.get()
            if data is None:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
