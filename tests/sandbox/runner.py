"""Running a sandbox API server: in the foreground (the CLI) or on a background thread (pytest)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from .kubeconfig import write_kubeconfig
from .server import make_app
from .state import SandboxState

log = logging.getLogger(__name__)
T = TypeVar("T")


async def start_site(
    state: SandboxState, host: str, port: int, *, access_log: bool = False
) -> tuple[web.AppRunner, int]:
    """Serve ``state`` on host:port (0 picks a free port); returns the runner and the bound port."""
    app = make_app(state)
    runner = web.AppRunner(
        app,
        handler_cancellation=True,  # a client that hangs up ends its watch at once
        shutdown_timeout=2.0,
        access_log=logging.getLogger("aiohttp.access") if access_log else None,
    )
    await runner.setup()
    sock = socket.create_server((host, port))
    sock.setblocking(False)
    site = web.SockSite(runner, sock)
    await site.start()
    return runner, sock.getsockname()[1]


def server_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve_forever(
    host: str, port: int, kubeconfig: str | None, *, workloads: bool = False, model: str | None = None
) -> None:
    """Run until SIGTERM/SIGINT; the kubeconfig is written once the socket listens.

    With ``workloads`` the sandbox runs controllers, a kubelet, exec and port-forward, paced by the
    duration model at ``model`` (None: $HIERO_SANDBOX_MODEL, else tests/sandbox/model.yaml).
    """
    state = SandboxState()
    networks = None
    if workloads:
        from .grpc_node import register_with_sandbox
        from .workloads import enable_workloads

        enabled = enable_workloads(state, model)
        log.info("workloads enabled; duration model %s (time_scale %s)", enabled.model.source, enabled.model.time_scale)
        # Fake consensus nodes behind haproxy/network-node pods, so accounts can be created through port-forward.
        networks = register_with_sandbox(state)
    runner, bound = await start_site(state, host, port, access_log=True)
    url = server_url(host, bound)
    if kubeconfig:
        write_kubeconfig(kubeconfig, url)
    log.info("sandbox API server listening on %s (kubeconfig: %s)", url, kubeconfig or "not written")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        log.info("sandbox API server stopping")
        if networks is not None:
            await networks.stop()
        await runner.cleanup()


class SandboxServer:
    """A sandbox API server on its own thread and event loop, for tests.

    ``call`` runs a function on the server's loop (the store is not thread-safe), e.g.
    ``server.call(server.state.store.get, rt, "default", "x")``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, state: SandboxState | None = None) -> None:
        self.host = host
        self.requested_port = port
        self.port = 0
        self.kubeconfig: Path | None = None
        self._state = state
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def state(self) -> SandboxState:
        assert self._state is not None, "the server is not started"
        return self._state

    @property
    def url(self) -> str:
        return server_url(self.host, self.port)

    def start(self, kubeconfig: str | Path | None = None, timeout: float = 15.0) -> SandboxServer:
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, args=(ready,), name="sandbox-apiserver", daemon=True)
        self._thread.start()
        ready.result(timeout)
        if kubeconfig is not None:
            self.kubeconfig = write_kubeconfig(kubeconfig, self.url)
        return self

    def _run(self, ready: concurrent.futures.Future[None]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)

        async def begin() -> None:
            if self._state is None:
                self._state = SandboxState()  # built on the loop that will serve it
            self._runner, self.port = await start_site(self._state, self.host, self.requested_port)

        try:
            self._loop.run_until_complete(begin())
        except BaseException as exc:
            ready.set_exception(exc)
            self._loop.close()
            return
        ready.set_result(None)
        self._loop.run_forever()
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on the server's loop and return its result (coroutines are awaited)."""
        assert self._loop is not None

        async def invoke() -> T:
            result = fn(*args, **kwargs)
            if asyncio.iscoroutine(result):
                result = await result
            return result

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(timeout)

    def stats(self) -> dict:
        return self.state.stats.snapshot()

    def reset_stats(self) -> None:
        self.state.stats.reset()

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is None or self._thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        self._loop = self._thread = self._runner = None

    def __enter__(self) -> SandboxServer:
        return self if self._loop is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
