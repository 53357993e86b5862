"""In-memory Kubernetes API server for tests: the official client, kubectl and helm talk to it over HTTP.

Start one with ``python -m tests.sandbox serve``, ``scripts/sandbox up`` or the ``sandbox`` pytest
fixture (tests/sandbox/fixture.py). ``make_app(state)`` builds the aiohttp application around a
:class:`SandboxState` (store, request stats, extension points for subresources and routes).
"""

from .resources import Registry, ResourceType, Subresource
from .runner import SandboxServer
from .server import make_app
from .state import ResourceRequest, SandboxState, Stats
from .store import ADDED, DELETED, MODIFIED, Event, Store, Subscription

__all__ = [
    "ADDED",
    "DELETED",
    "MODIFIED",
    "Event",
    "Registry",
    "ResourceRequest",
    "ResourceType",
    "SandboxServer",
    "SandboxState",
    "Stats",
    "Store",
    "Subresource",
    "Subscription",
    "make_app",
]
