# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Commands and file uploads inside pods, over the API server's ``pods/exec`` websocket, the way kubectl does them.

``exec_in_pod`` runs one argv (never a shell string) and returns its stdout, stderr and exit code; the exit code
comes from the Status document the API server sends on the error channel when the command ends. ``upload_files``
streams a tar archive on the command's stdin to ``tar xf - -C <dir>``, as ``kubectl cp`` does: nothing is staged in
memory or on disk, and file modes and owners travel in the archive. Failures name the pod, the container, the
command and the cause.

``wait_pods`` waits for pods picked by a label selector (Running or Ready) and fails naming the last state seen.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import tarfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._client import cluster_error
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError
from ansible_collections.hiero.solo.plugins.module_utils._waiter import Clock, pod_ready, pod_running, wait_for, watched

try:
    from kubernetes.client.exceptions import ApiException
except ImportError:  # reported at the module edge

    class ApiException(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses work when kubernetes is missing."""

        status: int | None = None
        reason: str | None = None


try:
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
except ImportError:  # comes with kubernetes

    class Urllib3HTTPError(Exception):  # type: ignore[no-redef]
        """Stand-in when urllib3 is missing."""


try:
    from websocket import WebSocketException
except ImportError:  # websocket-client comes with kubernetes

    class WebSocketException(Exception):  # type: ignore[no-redef]
        """Stand-in when websocket-client is missing."""


ROOT_CONTAINER = "root-container"  # the consensus node pod's main container (solo's constants.ROOT_CONTAINER)
STDIN, STDOUT, STDERR, ERROR = 0, 1, 2, 3
DEFAULT_EXEC_TIMEOUT_S = 300
CHUNK = 64 * 1024
TAIL_LINES = 10


@dataclass(frozen=True)
class ExecResult:
    """What one command in a pod did. ``rc`` is None when it did not run to an exit code (``message`` says why)."""

    namespace: str
    pod: str
    container: str | None
    command: tuple[str, ...]
    rc: int | None
    stdout: str
    stderr: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def where(self) -> str:
        return describe(self.namespace, self.pod, self.container, self.command)


class PodCommandError(HieroError):
    """A command in a pod could not run or ended with a non-zero exit code."""


def describe(namespace: str, pod: str, container: str | None, command: Sequence[str]) -> str:
    """``command 'tar xf - -C /home/hedera' in pod one-shot/network-node1-0 (container root-container)``."""
    where = f"pod {namespace}/{pod}" + (f" (container {container})" if container else "")
    return f"command {shlex.join(command)!r} in {where}"


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = [line for line in (text or "").splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def failure(result: ExecResult, what: str = "") -> PodCommandError:
    """The error for a failed ``result``: the command, where it ran, the exit code and the end of its output."""
    if result.rc is None:
        cause = result.message or "it did not report an exit code"
    else:
        detail = _tail(result.stderr) or _tail(result.stdout) or "no output"
        cause = f"exit {result.rc}: {detail}"
    prefix = f"{what}: " if what else ""
    return PodCommandError(
        f"{prefix}{result.where()} failed ({cause})",
        pod=f"{result.namespace}/{result.pod}",
        container=result.container,
        command=list(result.command),
        rc=result.rc,
        stdout=result.stdout,
        stderr=result.stderr,
    )


def parse_status(text: str) -> tuple[int | None, str]:
    """(exit code, message) from the error channel's Status document; (0, "") for Success.

    Failure with reason NonZeroExitCode carries the code in ``details.causes[reason=ExitCode].message``; any other
    failure (command not found, container not running) has no exit code and is described by its message.
    """
    if not text or not text.strip():
        return None, "the connection closed without a status"
    try:
        status = json.loads(text)
    except ValueError:
        return None, f"unreadable status {text.strip()[:200]!r}"
    if not isinstance(status, dict):
        return None, f"unreadable status {text.strip()[:200]!r}"
    if status.get("status") == "Success":
        return 0, ""
    causes = ((status.get("details") or {}).get("causes")) or []
    for cause in causes:
        if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message")), str(status.get("message") or "")
            except (TypeError, ValueError):
                break
    return None, str(status.get("message") or status.get("reason") or "failed")


def _text(data: Any) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data or ""


def _private_api(core: Any) -> Any:
    """A CoreV1Api on its own ApiClient: ``kubernetes.stream`` swaps the ApiClient's ``call_api`` while it connects,
    which would send other threads' calls on a shared client (lease renewal, parallel nodes) over the websocket."""
    api_client = getattr(core, "api_client", None)
    if api_client is None or not hasattr(api_client, "configuration"):
        return core
    import kubernetes.client

    return kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration=api_client.configuration))


def _connect(core: Any, namespace: str, pod: str, container: str | None, command: Sequence[str], stdin: bool) -> Any:
    from kubernetes.stream import stream  # imported late: kubernetes is checked at the module edge

    core = _private_api(core)
    kwargs: dict[str, Any] = {
        "command": list(command),
        "stdin": stdin,
        "stdout": True,
        "stderr": True,
        "tty": False,
        "_preload_content": False,
        "binary": True,
    }
    if container:
        kwargs["container"] = container
    return stream(core.connect_get_namespaced_pod_exec, pod, namespace, **kwargs)


def _connection_error(
    exc: BaseException, namespace: str, pod: str, container: str | None, command: Sequence[str]
) -> PodCommandError:
    # The client turns a refused websocket upgrade into ApiException(status=0, reason="Handshake status 404 ...").
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return PodCommandError(
        f"cannot run {describe(namespace, pod, container, command)}: {' '.join(str(reason).split())}",
        pod=f"{namespace}/{pod}",
        container=container,
        command=list(command),
    )


class _ClosedError(Exception):
    """The websocket closed while stdin was still being sent."""


_TRANSPORT_ERRORS = (OSError, Urllib3HTTPError, WebSocketException, _ClosedError)


def exec_in_pod(
    core: Any,
    namespace: str,
    pod: str,
    command: Sequence[str],
    *,
    container: str | None = None,
    stdin: bytes | Iterable[bytes] | Callable[[Callable[[bytes], None]], None] | None = None,
    timeout_s: float = DEFAULT_EXEC_TIMEOUT_S,
    check: bool = True,
    what: str = "",
) -> ExecResult:
    """Run ``command`` in the pod and wait for it to end; raise PodCommandError unless it exits 0 (with ``check``).

    ``stdin`` is bytes, an iterable of byte chunks, or a function that gets a ``write(chunk)`` callable (for
    streaming producers such as tarfile); it is sent, then closed (v5 protocol; with v4 the program must see the end
    of its input by itself, as tar does at the end of an archive).
    """
    command = tuple(str(part) for part in command)
    try:
        client = _connect(core, namespace, pod, container, command, stdin is not None)
    except (ApiException, Urllib3HTTPError, OSError, WebSocketException) as exc:
        raise _connection_error(exc, namespace, pod, container, command) from exc
    deadline = time.monotonic() + timeout_s
    try:
        if stdin is not None:
            try:
                _send(client, stdin)
            except _TRANSPORT_ERRORS as exc:
                # The command may have exited early (e.g. tar refused the archive); its status tells why.
                with contextlib.suppress(*_TRANSPORT_ERRORS):
                    client.run_forever(timeout=max(0.1, min(5.0, deadline - time.monotonic())))
                result = _result(client, namespace, pod, container, command)
                if result.rc not in (None, 0):
                    raise failure(result, what) from exc
                raise _connection_error(exc, namespace, pod, container, command) from exc
        try:
            while client.is_open() and time.monotonic() < deadline:
                client.update(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
        except _TRANSPORT_ERRORS as exc:
            raise _connection_error(exc, namespace, pod, container, command) from exc
        if client.is_open():
            raise PodCommandError(
                f"{describe(namespace, pod, container, command)} did not finish within {timeout_s:g}s",
                pod=f"{namespace}/{pod}",
                container=container,
                command=list(command),
            )
        result = _result(client, namespace, pod, container, command)
    finally:
        with contextlib.suppress(Exception):
            client.close()
    if check and not result.ok:
        raise failure(result, what)
    return result


def _send(client: Any, stdin: bytes | Iterable[bytes] | Callable[[Callable[[bytes], None]], None]) -> None:
    def write(chunk: bytes) -> None:
        for start in range(0, len(chunk), CHUNK):
            if not client.is_open():
                raise _ClosedError("the command's connection closed")
            client.write_stdin(bytes(chunk[start : start + CHUNK]))
            client.update(timeout=0)  # drain output so neither side blocks on a full buffer

    if callable(stdin):
        stdin(write)
    elif isinstance(stdin, (bytes, bytearray)):
        write(bytes(stdin))
    else:
        for chunk in stdin:
            write(chunk)
    if client.is_open():
        client.close_channel(STDIN)


def _result(client: Any, namespace: str, pod: str, container: str | None, command: tuple[str, ...]) -> ExecResult:
    rc, message = parse_status(_text(client.read_channel(ERROR)))
    return ExecResult(
        namespace=namespace,
        pod=pod,
        container=container,
        command=command,
        rc=rc,
        stdout=_text(client.read_channel(STDOUT)),
        stderr=_text(client.read_channel(STDERR)),
        message=message,
    )


# ---------------------------------------------------------------------------------------------------------------
# Uploads


@dataclass(frozen=True)
class UploadFile:
    """One file of an upload: its name in the target directory and either a local ``path`` or ``content``."""

    name: str
    path: str | None = None
    content: bytes | None = None
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    uid: int = 0
    gid: int = 0

    def size(self) -> int:
        if self.content is not None:
            return len(self.content)
        assert self.path is not None
        return os.path.getsize(self.path)


def _tar_info(item: UploadFile, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(item.name)
    info.size = item.size()
    info.mode = item.mode
    info.uid, info.gid = item.uid, item.gid
    info.uname, info.gname = item.owner, item.group
    info.mtime = int(mtime)
    return info


def check_upload(files: Sequence[UploadFile]) -> None:
    """Refuse names that would leave the target directory and local files that are missing, before any write."""
    for item in files:
        parts = item.name.split("/")
        if not item.name or item.name.startswith("/") or ".." in parts:
            raise HieroError(f"upload: file name {item.name!r} must be relative to the target directory")
        if (item.path is None) == (item.content is None):
            raise HieroError(f"upload: {item.name}: give either a local path or the content")
        if item.path is not None and not os.path.isfile(item.path):
            raise HieroError(f"upload: local file {item.path} does not exist")


def tar_stream(files: Sequence[UploadFile], write: Callable[[bytes], None], mtime: float | None = None) -> None:
    """Write a tar archive of ``files`` to ``write`` as it is produced (stream mode: no seeking, no buffering)."""
    stamp = time.time() if mtime is None else mtime

    class _Sink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            chunk = bytes(data)
            if chunk:
                write(chunk)
            return len(chunk)

    with tarfile.open(fileobj=_Sink(), mode="w|", format=tarfile.GNU_FORMAT) as archive:
        for item in files:
            info = _tar_info(item, stamp)
            if item.content is not None:
                archive.addfile(info, io.BytesIO(item.content))
            else:
                assert item.path is not None
                with open(item.path, "rb") as handle:
                    archive.addfile(info, handle)


def upload_files(
    core: Any,
    namespace: str,
    pod: str,
    dest_dir: str,
    files: Sequence[UploadFile],
    *,
    container: str | None = None,
    timeout_s: float = DEFAULT_EXEC_TIMEOUT_S,
) -> ExecResult:
    """Copy ``files`` into ``dest_dir`` of the pod: a tar stream on the stdin of ``tar xf - -C <dest_dir>``."""
    check_upload(files)
    names = ", ".join(item.name for item in files)
    return exec_in_pod(
        core,
        namespace,
        pod,
        ["tar", "xf", "-", "-C", dest_dir],
        container=container,
        stdin=lambda write: tar_stream(files, write),
        timeout_s=timeout_s,
        what=f"upload of {names} to {dest_dir}",
    )


# ---------------------------------------------------------------------------------------------------------------
# Waiting for pods


def list_pods(core: Any, namespace: str, selector: str) -> list[Any]:
    try:
        return list(core.list_namespaced_pod(namespace, label_selector=selector).items or [])
    except (ApiException, Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "list", "Pod", namespace, None) from exc


def wait_pods(
    core: Any,
    namespace: str,
    selector: str,
    what: str,
    timeout_s: float,
    *,
    ready: bool = False,
    min_count: int = 1,
    heartbeat: Callable[[], None] | None = None,
    clock: Clock | None = None,
) -> list[dict[str, Any]]:
    """Wait until at least ``min_count`` pods match ``selector`` and all are Running (or Ready); return them.

    Raises WaitTimeout naming ``what`` and the last state seen of each pod (phase, container waiting reasons).
    """
    list_fn, watch_fn = watched(core.list_namespaced_pod, namespace, label_selector=selector)
    predicate = pod_ready if ready else pod_running
    state = "Ready" if ready else "Running"
    return wait_for(
        list_fn,
        predicate,
        f"{what} ({selector}) in namespace {namespace} to be {state}",
        timeout_s,
        clock=clock,
        watch_fn=watch_fn,
        min_count=min_count,
        heartbeat=heartbeat,
        failed=_pod_failed,
    )


def _pod_failed(pod: Mapping[str, Any]) -> bool:
    # A pod that has ended for good will not become Running: stop waiting at once.
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded") and not (pod.get("metadata") or {}).get(
        "deletionTimestamp"
    )
