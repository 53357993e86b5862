"""The channel framing of Kubernetes' websocket streams (exec, attach, port-forward).

Every message carries one channel: binary protocols (``v5.channel.k8s.io``, ``v4.channel.k8s.io``,
``channel.k8s.io``, ``portforward.k8s.io``) put the channel number in the first byte; base64 protocols
(``*.base64.channel.k8s.io``) send text whose first character is the channel digit and whose rest is
base64. ``v5`` adds a close signal: channel 255 with the number of the channel being closed.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import deque

from aiohttp import WSMsgType, web

STDIN, STDOUT, STDERR, ERROR, RESIZE = 0, 1, 2, 3, 4
CLOSE_SIGNAL = 255
CHUNK = 64 * 1024  # bytes per message we send


class ChannelSocket:
    """A prepared websocket speaking one of the channel protocols."""

    def __init__(self, ws: web.WebSocketResponse, protocol: str | None) -> None:
        self.ws = ws
        self.protocol = protocol or ""
        self.base64 = "base64" in self.protocol
        self.version = 5 if self.protocol.startswith("v5.") else 4 if self.protocol.startswith("v4.") else 1
        self.gone = False  # the client hung up: further output is dropped

    async def send(self, channel: int, data: bytes) -> None:
        if self.gone or self.ws.closed:
            return
        try:
            if self.base64:
                await self.ws.send_str(str(channel) + base64.b64encode(data).decode("ascii"))
            else:
                await self.ws.send_bytes(bytes([channel]) + data)
        except (ConnectionError, RuntimeError):
            self.gone = True

    def decode(self, message) -> tuple[int, bytes] | None:
        """(channel, payload) of a received message, None for anything else."""
        if message.type == WSMsgType.BINARY and message.data:
            return message.data[0], bytes(message.data[1:])
        if message.type == WSMsgType.TEXT and message.data:
            if self.base64:
                try:
                    return int(message.data[0]), base64.b64decode(message.data[1:])
                except (ValueError, binascii.Error):
                    return None
            raw = message.data.encode("utf-8")  # the Python client sends str writes as text frames
            return raw[0], raw[1:]
        return None

    async def close(self) -> None:
        if not self.ws.closed:
            try:
                await self.ws.close()
            except (ConnectionError, RuntimeError, asyncio.TimeoutError):
                pass


class StdinPipe:
    """What a client writes on the stdin channel, read by the command like a pipe."""

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._eof = False
        self._changed = asyncio.Event()

    def feed(self, data: bytes) -> None:
        if data and not self._eof:
            self._chunks.append(data)
            self._changed.set()

    def close(self) -> None:
        self._eof = True
        self._changed.set()

    @property
    def closed(self) -> bool:
        return self._eof

    async def read(self, n: int = -1) -> bytes:
        while not self._chunks and not self._eof:
            self._changed.clear()
            await self._changed.wait()
        if not self._chunks:
            return b""
        if n < 0:
            data = b"".join(self._chunks)
            self._chunks.clear()
            return data
        head = self._chunks.popleft()
        if len(head) > n:
            self._chunks.appendleft(head[n:])
            head = head[:n]
        return head


class ChannelWriter:
    """A command's stdout or stderr: chunks sent on one channel (a terminal turns \\n into \\r\\n)."""

    def __init__(self, socket: ChannelSocket, channel: int, tty: bool = False) -> None:
        self.socket = socket
        self.channel = channel
        self.tty = tty

    async def write(self, data: bytes) -> None:
        if self.tty:
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        for start in range(0, len(data), CHUNK):
            await self.socket.send(self.channel, data[start : start + CHUNK])


def port_prefix(port: int) -> bytes:
    """The first frame of a port-forward channel: the port, little-endian."""
    return port.to_bytes(2, "little")
