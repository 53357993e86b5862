"""pytest fixtures for sandbox API servers, each on its own thread and event loop, with a kubeconfig.

Register with ``pytest_plugins = ["tests.sandbox.fixture"]``. Every server listens on a free port of
127.0.0.1; tests talk to it over HTTP like any client would.

- ``sandbox`` (session): the bare API server (no controllers or kubelet: objects stay as written).
- ``workload_sandbox`` (session): a one-node cluster: controllers, kubelet, exec and port-forward
  (tests/sandbox/workloads), paced by the duration model tests/sandbox/model.yaml.
- ``start_sandbox`` (function): ``start_sandbox(model=..., workloads=True)`` starts another server for one
  test (stopped after it), e.g. with a model whose consensus node never becomes ACTIVE. ``model`` is a
  dict of the model file's shape, a path, or None (the default model file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .runner import SandboxServer
from .state import SandboxState
from .workloads import ModelSource, enable_workloads


def _start(kubeconfig: Path, *, workloads: bool, model: ModelSource = None) -> SandboxServer:
    state = SandboxState()
    if workloads:
        enable_workloads(state, model)
    return SandboxServer(state=state).start(kubeconfig=kubeconfig)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The running server: ``.url``, ``.port``, ``.kubeconfig`` (Path), ``.stats()``, ``.reset_stats()``, ``.state``."""
    kubeconfig = tmp_path_factory.mktemp("sandbox") / "kubeconfig"
    server = SandboxServer().start(kubeconfig=kubeconfig)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def workload_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """A server with workloads and the default duration model; ``.state.workloads`` is the hub."""
    server = _start(tmp_path_factory.mktemp("workload-sandbox") / "kubeconfig", workloads=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture()
def start_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SandboxServer]]:
    """``start_sandbox(model=None, workloads=True) -> SandboxServer``; the servers stop after the test."""
    started: list[SandboxServer] = []

    def start(model: ModelSource = None, *, workloads: bool = True) -> SandboxServer:
        server = _start(tmp_path_factory.mktemp("sandbox") / "kubeconfig", workloads=workloads, model=model)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
