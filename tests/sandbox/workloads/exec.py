"""``pods/exec`` over websockets, as the API server and kubelet serve it to the Python client and kubectl.

``GET|POST /api/v1/namespaces/<ns>/pods/<name>/exec?command=..&container=..&stdin=..&stdout=..&stderr=..&tty=..``
upgrades to one of ``v5.channel.k8s.io``, ``v4.channel.k8s.io``, ``v4.base64.channel.k8s.io``,
``channel.k8s.io``, ``base64.channel.k8s.io`` (the client's first choice wins). Channels: 0 stdin,
1 stdout, 2 stderr, 3 error/status, 4 resize. From v4 on, channel 3 carries a ``Status``: ``Success``,
or ``Failure`` with reason ``NonZeroExitCode`` and an ``ExitCode`` cause (what the Python client's
``returncode`` reads), or ``InternalError`` when the command could not be started at all.

The command runs in the pod's scripted container (``containers.py``); a client that hangs up does not
stop it (its stdin ends), as with a real container runtime.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

from .. import errors
from .channels import CLOSE_SIGNAL, ERROR, RESIZE, STDERR, STDIN, STDOUT, ChannelSocket, ChannelWriter, StdinPipe
from .containers import Container
from .shell import ExitShell, NullWriter, Proc
from .vfs import FsError

if TYPE_CHECKING:
    from ..state import ResourceRequest
    from . import Workloads

log = logging.getLogger(__name__)

EXEC_PROTOCOLS = (
    "v5.channel.k8s.io",
    "v4.channel.k8s.io",
    "v4.base64.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
    "channel.k8s.io",
    "base64.channel.k8s.io",
)
# Builtins of the shell that no container has as a program: exec'ing them directly fails like a missing binary.
SHELL_ONLY = frozenset({"cd", "exit", "export", "unset", "set", "command", ":"})
MAX_MESSAGE = 1024 * 1024 * 1024  # a platform zip arrives in one message


@dataclass(frozen=True)
class ExecOutcome:
    exit_code: int = 0
    error: str | None = None  # the command could not start (OCI runtime error)


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def oci_error(name: str, status: int, exec_id: str) -> str:
    if status == 126:
        inner = f'exec: "{name}": permission denied'
    elif "/" in name:
        inner = f'exec: "{name}": stat {name}: no such file or directory'
    else:
        inner = f'exec: "{name}": executable file not found in $PATH'
    return (
        f'failed to exec in container: failed to start exec "{exec_id}": OCI runtime exec failed: '
        f"exec failed: unable to start container process: {inner}: unknown"
    )


async def run_in_container(container: Container, argv: list[str], stdin, stdout, stderr) -> ExecOutcome:
    """Start ``argv`` in the container (no shell in between, like the runtime) and wait for it."""
    shell = container.new_shell()
    handler = 127 if argv[0] in SHELL_ONLY else container.resolve(argv[0], shell)
    if isinstance(handler, int):
        exec_id = hashlib.sha256(f"{container.pod_uid}/{container.name}/{argv}".encode()).hexdigest()
        return ExecOutcome(error=oci_error(argv[0], handler, exec_id))
    proc = Proc(list(argv), stdin, stdout, stderr, shell)
    try:
        return ExecOutcome(await handler(proc))
    except ExitShell as done:
        return ExecOutcome(done.status)
    except FsError as exc:
        await stderr.write(f"{argv[0]}: {exc.path}: {exc.reason}\n".encode())
        return ExecOutcome(1)


def status_message(outcome: ExecOutcome, argv: list[str], version: int) -> bytes | None:
    """What channel 3 carries at the end (None: nothing, for a success before v4)."""
    if outcome.error is not None:
        message = f"error executing command in container: {outcome.error}"
        if version < 4:
            return message.encode()
        body = {
            "metadata": {},
            "status": "Failure",
            "message": f"Internal error occurred: {message}",
            "reason": "InternalError",
            "details": {"causes": [{"message": message}]},
            "code": 500,
        }
        return json.dumps(body).encode()
    if outcome.exit_code == 0:
        return json.dumps({"metadata": {}, "status": "Success"}).encode() if version >= 4 else None
    detail = f"command '{' '.join(argv)}' exited with {outcome.exit_code}: "
    message = f"command terminated with non-zero exit code: {detail}"
    if version < 4:
        return message.encode()
    body = {
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(outcome.exit_code)}]},
    }
    return json.dumps(body).encode()


def pick_container(pod: dict, requested: str | None) -> str:
    """The container an exec/attach addresses; the API server's errors for a missing or unknown one."""
    name = pod["metadata"]["name"]
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or [] if isinstance(c, dict)]
    if not requested:
        if len(containers) == 1:
            return containers[0]
        raise errors.bad_request(
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        )
    if requested not in containers:
        init = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or [] if isinstance(c, dict)]
        if requested in init:
            raise errors.bad_request(f'container "{requested}" in pod "{name}" is waiting to start: PodInitializing')
        raise errors.bad_request(f"container {requested} is not valid for pod {name}")
    return requested


def exec_handler(hub: Workloads):
    async def handle(request: web.Request, target: ResourceRequest) -> web.StreamResponse:
        if target.name is None or request.method not in ("GET", "POST"):
            raise errors.method_not_allowed()
        pod = hub.store.get(hub.rt("", "pods"), target.namespace, target.name)
        query = request.query
        argv = query.getall("command", [])
        if not argv:
            raise errors.bad_request("you must specify at least one command for the container")
        want_stdin, want_stdout, want_stderr, tty = (
            _true(query.get(key)) for key in ("stdin", "stdout", "stderr", "tty")
        )
        if not (want_stdin or want_stdout or want_stderr):
            raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
        name = pick_container(pod, query.get("container"))
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise errors.bad_request(f"cannot exec into a container in a completed pod; current phase is {phase}")
        if not (pod.get("spec") or {}).get("nodeName"):
            raise errors.bad_request(f"pod {target.name} does not have a host assigned")
        container = hub.kubelet.container_for(pod, name)
        if container is None:
            raise errors.bad_request(f'unable to upgrade connection: container not found ("{name}")')
        ws = web.WebSocketResponse(protocols=EXEC_PROTOCOLS, max_msg_size=MAX_MESSAGE, timeout=5.0)
        if not ws.can_prepare(request).ok:
            raise errors.bad_request("Upgrade request required")
        await ws.prepare(request)
        await ExecSession(ws, container, argv, want_stdin, want_stdout, want_stderr, tty).run()
        return ws

    return handle


class ExecSession:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        container: Container,
        argv: list[str],
        stdin: bool,
        stdout: bool,
        stderr: bool,
        tty: bool,
    ) -> None:
        self.socket = ChannelSocket(ws, ws.ws_protocol)
        self.container = container
        self.argv = argv
        self.stdin = StdinPipe()
        if not stdin:
            self.stdin.close()
        self.stdout = ChannelWriter(self.socket, STDOUT, tty) if stdout else NullWriter()
        if tty:
            self.stderr = self.stdout  # a terminal has one output stream
        else:
            self.stderr = ChannelWriter(self.socket, STDERR) if stderr else NullWriter()
        self.first_channel = STDOUT if stdout else STDERR if stderr and not tty else ERROR

    async def run(self) -> None:
        # The kubelet tells the client the stream is up with an empty message on its first output channel.
        await self.socket.send(self.first_channel, b"")
        pump = asyncio.create_task(self._pump())
        try:
            outcome = await run_in_container(self.container, self.argv, self.stdin, self.stdout, self.stderr)
        except Exception as exc:  # a faulty scripted command: report it like a runtime failure
            log.exception("exec %s in %s/%s failed", self.argv, self.container.pod_name, self.container.name)
            outcome = ExecOutcome(error=f"sandbox: {exc}")
        message = status_message(outcome, self.argv, self.socket.version)
        if message is not None:
            await self.socket.send(ERROR, message)
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)
        await self.socket.close()

    async def _pump(self) -> None:
        """Client -> command: stdin data, the v5 close signal, terminal resizes (ignored)."""
        try:
            async for message in self.socket.ws:
                if message.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                    break
                decoded = self.socket.decode(message)
                if decoded is None:
                    continue
                channel, payload = decoded
                if channel == STDIN:
                    self.stdin.feed(payload)
                elif channel == CLOSE_SIGNAL and self.socket.version >= 5 and payload[:1] == bytes([STDIN]):
                    self.stdin.close()
                elif channel == RESIZE:
                    continue
        finally:
            self.socket.gone = self.socket.gone or self.socket.ws.closed
            self.stdin.close()
