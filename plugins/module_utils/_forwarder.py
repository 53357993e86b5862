# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""A TCP port-forward to a pod chosen by label selector, over the Kubernetes API's portforward websocket.

Used two ways:

- in process: ``accounts`` forwards a local port to each consensus node's haproxy for the duration of the call;
- as a detached program: ``port_forward`` copies this file next to its state and runs it with the module's own
  interpreter (``python _forwarder.py --spec <local_port>.json``), so the forward outlives the playbook.

Every accepted local connection gets its own portforward stream (the official client's websocket protocol carries
one connection per stream). The pod is chosen once and kept while streams to it open; when one cannot be opened
(the pod was replaced, or the forward dropped), the pod is looked up again by its selector and the stream retried,
so the forward heals itself the way solo's ``persist-port-forward`` restarts ``kubectl port-forward``.

This file imports nothing from the collection: the detached copy runs outside Ansible's module packaging.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import select
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

LOG = logging.getLogger("hiero.solo.forwarder")

READY = "ready"
ERROR = "error"
# How long one local connection may wait for a pod stream before it is closed.
DEFAULT_CONNECT_TIMEOUT_S = 30.0
RETRY_INITIAL_S = 0.25
RETRY_MAX_S = 2.0
CHUNK = 64 * 1024


class ForwardError(Exception):
    """No stream to a pod could be opened (no matching pod, or the API refused)."""


# ---------------------------------------------------------------------------------------------------------------
# Choosing the pod (pure)


def _get(obj: Any, *path: str) -> Any:
    """Field of a typed client object or of the API's JSON (camelCase and snake_case both work)."""
    for name in path:
        if obj is None:
            return None
        if isinstance(obj, Mapping):
            camel = name.split("_")[0] + "".join(part.title() for part in name.split("_")[1:])
            obj = obj.get(name, obj.get(camel))
        else:
            obj = getattr(obj, name, None)
    return obj


def pod_name(pod: Any) -> str:
    return str(_get(pod, "metadata", "name") or "")


def pod_running(pod: Any) -> bool:
    return _get(pod, "status", "phase") == "Running" and not _get(pod, "metadata", "deletion_timestamp")


def pod_ready(pod: Any) -> bool:
    for condition in _get(pod, "status", "conditions") or []:
        if _get(condition, "type") == "Ready":
            return str(_get(condition, "status")) == "True"
    return False


def choose_pod(pods: Iterable[Any], name_prefix: str = "") -> str | None:
    """The pod to forward to: running (not terminating), name starting with ``name_prefix``; ready ones first,
    then by name so the choice is stable. None when no pod qualifies."""
    candidates = [pod for pod in pods if pod_running(pod) and pod_name(pod).startswith(name_prefix)]
    if not candidates:
        return None
    candidates.sort(key=lambda pod: (not pod_ready(pod), pod_name(pod)))
    return pod_name(candidates[0])


# ---------------------------------------------------------------------------------------------------------------
# The forwarder


def splice(left: Any, right: Any, stop: Callable[[], bool] = lambda: False) -> None:
    """Copy bytes both ways between two sockets until either side closes (or ``stop()``); then close both."""
    peers = {left.fileno(): right, right.fileno(): left}
    sources = {left.fileno(): left, right.fileno(): right}
    try:
        while not stop():
            readable, _w, _x = select.select(list(sources), [], [], 1.0)
            for fd in readable:
                data = sources[fd].recv(CHUNK)
                if not data:
                    return
                peers[fd].sendall(data)
    except OSError:
        return
    finally:
        for sock in (left, right):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


class PortForwarder:
    """Listen on ``bind_address:local_port`` (0: any free port) and forward each connection to ``pod_port`` of
    a pod matching ``selector`` in ``namespace``.

    ``configuration`` is a ``kubernetes.client.Configuration``. The forwarder builds its own ApiClient from it:
    ``kubernetes.stream.portforward`` temporarily rewires the ApiClient it is given, so sharing one with code
    that makes ordinary API calls at the same time would send those calls over a websocket.
    """

    def __init__(
        self,
        configuration: Any,
        namespace: str,
        selector: str,
        pod_port: int,
        *,
        local_port: int = 0,
        bind_address: str = "127.0.0.1",
        name_prefix: str = "",
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT_S,
    ) -> None:
        import kubernetes.client  # late: the detached program imports it after reading its spec

        self.namespace, self.selector, self.pod_port = namespace, selector, int(pod_port)
        self.local_port, self.bind_address, self.name_prefix = int(local_port), bind_address, name_prefix
        self.connect_timeout = connect_timeout
        self._core = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration=configuration))
        self._open_lock = threading.Lock()  # portforward() rewires the ApiClient for the duration of a call
        self._pod: str | None = None
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()
        self._accept_thread: threading.Thread | None = None
        self.connections = 0  # accepted so far, for the log and tests

    # -- pods and streams ----------------------------------------------------------------------------------------

    def describe(self) -> str:
        return f"pods {self.selector!r} port {self.pod_port} in namespace {self.namespace}"

    def resolve_pod(self) -> str:
        """Look the pod up again by selector (the cached choice is dropped)."""
        try:
            pods = self._core.list_namespaced_pod(self.namespace, label_selector=self.selector).items or []
        except Exception as exc:  # API down, 403, namespace gone: reported to the caller as one error
            raise ForwardError(f"cannot list {self.describe()}: {_reason(exc)}") from exc
        chosen = choose_pod(pods, self.name_prefix)
        if chosen is None:
            found = ", ".join(f"{pod_name(p)} ({_get(p, 'status', 'phase')})" for p in pods) or "none"
            raise ForwardError(f"no running pod for {self.describe()} (found: {found})")
        if chosen != self._pod:
            LOG.info("forwarding %s:%s to pod %s port %s", self.bind_address, self.port, chosen, self.pod_port)
        self._pod = chosen
        return chosen

    def _open_to(self, pod: str) -> Any:
        from kubernetes.stream import portforward

        with self._open_lock:
            forward = portforward(
                self._core.connect_get_namespaced_pod_portforward, pod, self.namespace, ports=str(self.pod_port)
            )
        return forward.socket(self.pod_port)

    def open_stream(self) -> Any:
        """A socket connected to the pod's port; retries (re-resolving the pod) for up to ``connect_timeout``."""
        deadline = time.monotonic() + self.connect_timeout
        delay = RETRY_INITIAL_S
        last_error = "not tried"
        while True:
            try:
                pod = self._pod or self.resolve_pod()
                return self._open_to(pod)
            except ForwardError as exc:
                last_error = str(exc)
            except Exception as exc:  # the websocket handshake failed: the pod went away or the API refused
                last_error = f"cannot open a stream to pod {self._pod}: {_reason(exc)}"
                self._pod = None  # look it up again: the pod may have been replaced
            if self._stopped.is_set() or time.monotonic() + delay > deadline:
                raise ForwardError(last_error)
            LOG.warning("%s; retrying in %.2fs", last_error, delay)
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    # -- listening -----------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._listener is not None:
            return int(self._listener.getsockname()[1])
        return self.local_port

    def bind(self) -> int:
        """Open the listening socket (raises OSError, e.g. when the port is taken); returns the port."""
        listener = socket.socket(socket.AF_INET6 if ":" in self.bind_address else socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.bind_address, self.local_port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        return self.port

    def start(self) -> PortForwarder:
        """Bind and serve from a background thread (the in-process use)."""
        self.bind()
        self._accept_thread = threading.Thread(target=self.serve_forever, name=f"forward-{self.port}", daemon=True)
        self._accept_thread.start()
        return self

    def serve_forever(self) -> None:
        """Accept connections until ``stop()``; a failed listener is opened again on the same port."""
        delay = RETRY_INITIAL_S
        while not self._stopped.is_set():
            if self._listener is None:
                try:
                    self.bind()
                    delay = RETRY_INITIAL_S
                except OSError as exc:
                    LOG.error("cannot listen on %s:%s: %s", self.bind_address, self.local_port, exc)
                    self._stopped.wait(delay)
                    delay = min(delay * 2, 30.0)
                    continue
            listener = self._listener
            try:
                readable, _w, _x = select.select([listener], [], [], 1.0)
                if not readable:
                    continue
                conn, peer = listener.accept()
            except (OSError, ValueError) as exc:  # ValueError: closed by stop() meanwhile
                if self._stopped.is_set():
                    break
                LOG.error("listener on port %s failed (%s); opening it again", self.port, exc)
                with contextlib.suppress(OSError):
                    listener.close()
                self._listener = None
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, peer), name="forward-conn", daemon=True).start()

    def _serve(self, conn: socket.socket, peer: Any) -> None:
        try:
            stream = self.open_stream()
        except ForwardError as exc:
            LOG.error("connection from %s closed: %s", peer, exc)
            with contextlib.suppress(OSError):
                conn.close()
            return
        splice(conn, stream, self._stopped.is_set)

    def stop(self) -> None:
        self._stopped.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.close()
        if self._accept_thread is not None and self._accept_thread is not threading.current_thread():
            self._accept_thread.join(timeout=5)

    def __enter__(self) -> PortForwarder:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _reason(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    reason = getattr(exc, "reason", None)
    if status or reason:
        return " ".join(str(part) for part in (status, reason) if part)
    return f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------------------------------------------------------
# The detached program


class _Secrets:
    """Certificate and key material handed over on stdin, in files only this process can read, removed at exit."""

    def __init__(self) -> None:
        self._dir: str | None = None

    def file(self, name: str, content: str) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="hiero-solo-forwarder-")
        path = os.path.join(self._dir, name)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
            handle.write(content)
        return path

    def remove(self) -> None:
        if self._dir is not None:
            for name in os.listdir(self._dir):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(self._dir, name))
            with contextlib.suppress(OSError):
                os.rmdir(self._dir)


def configuration_from_transport(transport: Mapping[str, Any], secrets: _Secrets) -> Any:
    """Rebuild the module's Kubernetes connection from what it handed over on stdin.

    ``{"kubeconfig": path or dict, "context": ...}`` is loaded the way the module loaded it (kept this way so that
    exec and auth-provider credentials can refresh); ``{"configuration": {...}}`` is a snapshot of the module's
    Configuration, with certificate and key contents instead of (possibly temporary) file paths.
    """
    import kubernetes.client
    import kubernetes.config

    cfg = kubernetes.client.Configuration()
    if "kubeconfig" in transport:
        kubeconfig, context = transport["kubeconfig"], transport.get("context")
        if isinstance(kubeconfig, Mapping):
            kubernetes.config.load_kube_config_from_dict(
                config_dict=dict(kubeconfig), context=context, client_configuration=cfg, persist_config=False
            )
        else:
            kubernetes.config.load_kube_config(
                config_file=kubeconfig, context=context, client_configuration=cfg, persist_config=False
            )
        return cfg
    snapshot = transport["configuration"]
    cfg.host = snapshot["host"]
    cfg.api_key = dict(snapshot.get("api_key") or {})
    cfg.api_key_prefix = dict(snapshot.get("api_key_prefix") or {})
    cfg.verify_ssl = bool(snapshot.get("verify_ssl", True))
    for attribute in ("assert_hostname", "tls_server_name", "proxy", "no_proxy"):
        if snapshot.get(attribute) is not None:
            setattr(cfg, attribute, snapshot[attribute])
    for attribute in ("ssl_ca_cert", "cert_file", "key_file"):
        if snapshot.get(attribute):
            setattr(cfg, attribute, secrets.file(attribute, snapshot[attribute]))
    return cfg


def _handshake(stream: Any, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


def _detach_stdio() -> None:
    """After the handshake: stdin and stdout point nowhere, so the module that started us can go."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    os.close(null)


def main(argv: list[str] | None = None) -> int:
    """``--spec <local_port>.json``: read the connection from stdin, bind, answer ``ready <port>`` or
    ``error <reason>`` on stdout, then forward until SIGTERM. Logs go to stderr (the module points it at the log
    file)."""
    parser = argparse.ArgumentParser(description="hiero.solo persistent port-forward")
    parser.add_argument("--spec", required=True, help="JSON file: namespace, selector, pod_port, local_port, ...")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    out = sys.stdout
    secrets = _Secrets()
    try:
        with open(args.spec, encoding="utf-8") as handle:
            spec = json.load(handle)
        transport = json.loads(sys.stdin.readline() or "{}")
        forwarder = PortForwarder(
            configuration_from_transport(transport, secrets),
            spec["namespace"],
            spec["selector"],
            int(spec["pod_port"]),
            local_port=int(spec["local_port"]),
            bind_address=spec.get("bind_address") or "127.0.0.1",
            name_prefix=spec.get("name_prefix") or "",
        )
        forwarder.bind()
    except Exception as exc:  # everything before "ready" is reported to the module, which fails clearly
        secrets.remove()
        _handshake(out, f"{ERROR} {type(exc).__name__}: {exc}".replace("\n", " "))
        return 1

    def terminate(signum: int, _frame: Any) -> None:
        LOG.info("signal %s: stopping", signum)
        forwarder.stop()

    # Before "ready": whoever reads it may stop us at once, and must find the handler in place.
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, terminate)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # the playbook's terminal going away must not end the forward
    LOG.info(
        "pid %s listening on %s:%s for %s", os.getpid(), forwarder.bind_address, forwarder.port, forwarder.describe()
    )
    _handshake(out, f"{READY} {forwarder.port}")
    _detach_stdio()

    try:
        forwarder.serve_forever()
    finally:
        secrets.remove()
        LOG.info("stopped")
    return 0


if __name__ == "__main__":
    code = main()
    # End without interpreter finalization: a connection thread (daemon) may still be logging to stderr, and
    # finalization would then abort the process ("could not acquire lock for <stderr> at interpreter shutdown").
    logging.shutdown()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os._exit(code)
