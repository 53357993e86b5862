"""pytest fixture ``sandbox``: one in-memory API server per test session, with a kubeconfig.

Register with ``pytest_plugins = ["tests.sandbox.fixture"]``. The server runs on its own thread and
event loop on a free port of 127.0.0.1; tests talk to it over HTTP like any client would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .runner import SandboxServer


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    """The running server: ``.url``, ``.port``, ``.kubeconfig`` (Path), ``.stats()``, ``.reset_stats()``, ``.state``."""
    kubeconfig = tmp_path_factory.mktemp("sandbox") / "kubeconfig"
    server = SandboxServer().start(kubeconfig=kubeconfig)
    try:
        yield server
    finally:
        server.stop()
