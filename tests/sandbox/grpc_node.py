"""A fake consensus node: the HAPI gRPC services on 127.0.0.1, backed by a shared ``Ledger``.

Every unary method of the ten HAPI services (CryptoService, ConsensusService, FileService, ...) is
served with hiero-sdk-python's own generated protobufs: a ``Transaction`` goes to ``Ledger.submit``
(precheck code in the TransactionResponse), a ``Query`` to ``Ledger.answer``. The ledger implements
what account creation needs (accounts with keys and EVM aliases, topics, transfers, receipts,
records, account info and balances) and answers NOT_SUPPORTED for the rest, like a node that has the
service disabled. Plaintext gRPC, as a node's port 50211.

Three ways in:

- ``FakeNetworkNode(ledger, node_account_id).start()`` on the caller's event loop (grpc.aio);
- ``start_fake_node(...)`` / ``start_fake_network(n)``: nodes on their own thread and loop, for code
  that blocks, such as the synchronous SDK in a test;
- ``register_with_sandbox(state)``: port-forwards to port 50211 of haproxy or network-node pods of
  the sandbox reach a node of that namespace's network, started on first use. When the namespace has
  the node's network-node pod, the node follows its platform (tests/sandbox/workloads/consensus.py):
  connections are refused until the platform runs, and every request answers PLATFORM_NOT_ACTIVE
  until it is ACTIVE, as a real node behind its haproxy does. A haproxy pod without a network-node
  pod of its node stands for a whole active node.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable

import grpc
from hiero_sdk_python.account.account_id import AccountId
from hiero_sdk_python.hapi.services import query_pb2, response_pb2, transaction_pb2, transaction_response_pb2

from .ledger import FIRST_NODE_ACCOUNT, RC, Ledger, entity_num, precheck_response
from .workloads import consensus

GRPC_PORT = 50211  # the plaintext HAPI port of a node and of its haproxy
_SERVICE_MODULES = (
    "address_book_service",
    "consensus_service",
    "crypto_service",
    "file_service",
    "freeze_service",
    "network_service",
    "schedule_service",
    "smart_contract_service",
    "token_service",
    "util_service",
)
POD_SELECTORS = ({"solo.hedera.com/type": "haproxy"}, {"solo.hedera.com/type": "network-node"})
NETWORK_NODE_SELECTOR = "solo.hedera.com/type=network-node"


class FakeNetworkNode:
    """One consensus node answering as node account ``node_account_id`` (0.0.3 is node id 0).

    ``platform_active``, when given, tells whether the node's platform is ACTIVE; while it is not,
    every transaction and query is answered PLATFORM_NOT_ACTIVE (the SDK retries those).
    """

    def __init__(
        self,
        ledger: Ledger | None = None,
        node_account_id: object = FIRST_NODE_ACCOUNT,
        host: str = "127.0.0.1",
        port: int = 0,
        platform_active: Callable[[], bool] | None = None,
    ) -> None:
        self.ledger = ledger if ledger is not None else Ledger()
        self.node_account = entity_num(node_account_id, self.ledger.shard, self.ledger.realm)
        self.host = host
        self.requested_port = port
        self.port = 0
        self.platform_active = platform_active
        self.calls: Counter[str] = Counter()  # "<Service>/<method>" -> number of calls answered
        self._server: grpc.aio.Server | None = None

    @property
    def node_account_id(self) -> str:
        return self.ledger.entity_id(self.node_account)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def start(self) -> FakeNetworkNode:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers(tuple(self._handlers()))
        port = server.add_insecure_port(f"{self.host}:{self.requested_port}")
        if port == 0:
            raise OSError(f"cannot listen on {self.host}:{self.requested_port}")
        await server.start()
        self._server, self.port = server, port
        return self

    async def stop(self, grace: float | None = None) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    def _active(self) -> bool:
        return self.platform_active is None or self.platform_active()

    def _handlers(self) -> Iterable[grpc.GenericRpcHandler]:
        for name in _SERVICE_MODULES:
            module = importlib.import_module(f"hiero_sdk_python.hapi.services.{name}_pb2")
            for service in module.DESCRIPTOR.services_by_name.values():
                methods = {m.name: self._method(service.name, m) for m in service.methods}
                yield grpc.method_handlers_generic_handler(service.full_name, methods)

    def _method(self, service: str, method) -> grpc.RpcMethodHandler:
        label = f"{service}/{method.name}"
        if method.input_type.name == "Transaction":

            async def submit(
                request: transaction_pb2.Transaction, context
            ) -> transaction_response_pb2.TransactionResponse:
                self.calls[label] += 1
                if not self._active():
                    return transaction_response_pb2.TransactionResponse(
                        nodeTransactionPrecheckCode=RC.PLATFORM_NOT_ACTIVE
                    )
                return self.ledger.submit(request, self.node_account)

            return grpc.unary_unary_rpc_method_handler(
                submit,
                request_deserializer=transaction_pb2.Transaction.FromString,
                response_serializer=transaction_response_pb2.TransactionResponse.SerializeToString,
            )

        async def answer(request: query_pb2.Query, context) -> response_pb2.Response:
            self.calls[label] += 1
            if not self._active():
                return precheck_response(request, RC.PLATFORM_NOT_ACTIVE)
            return self.ledger.answer(request, self.node_account)

        return grpc.unary_unary_rpc_method_handler(
            answer,
            request_deserializer=query_pb2.Query.FromString,
            response_serializer=response_pb2.Response.SerializeToString,
        )


class FakeNodeHandle:
    """A ``FakeNetworkNode`` serving from its own thread and event loop; ``stop()`` ends both."""

    def __init__(self, node: FakeNetworkNode) -> None:
        self.node = node
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"fake-node-{node.node_account}", daemon=True
        )

    @property
    def port(self) -> int:
        return self.node.port

    @property
    def ledger(self) -> Ledger:
        return self.node.ledger

    @property
    def address(self) -> str:
        return self.node.address

    @property
    def node_account_id(self) -> str:
        return self.node.node_account_id

    def start(self, timeout: float = 10.0) -> FakeNodeHandle:
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.node.start(), self._loop).result(timeout)
        except BaseException:
            self._shutdown(timeout)
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.node.stop(), self._loop).result(timeout)
        except concurrent.futures.TimeoutError:
            pass  # the loop goes anyway
        self._shutdown(timeout)

    def _shutdown(self, timeout: float) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> FakeNodeHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_fake_node(
    ledger: Ledger | None = None, host: str = "127.0.0.1", node_account_id: object = FIRST_NODE_ACCOUNT, port: int = 0
) -> FakeNodeHandle:
    """A node on a free port of ``host`` (or ``port``), serving from a background thread."""
    return FakeNodeHandle(FakeNetworkNode(ledger, node_account_id, host, port)).start()


def start_fake_network(count: int, ledger: Ledger | None = None, host: str = "127.0.0.1") -> list[FakeNodeHandle]:
    """``count`` nodes (0.0.3, 0.0.4, ...) sharing one ledger, so they agree like a network's nodes."""
    ledger = ledger if ledger is not None else Ledger()
    handles: list[FakeNodeHandle] = []
    try:
        for i in range(count):
            handles.append(start_fake_node(ledger, host, FIRST_NODE_ACCOUNT + i))
    except BaseException:
        for handle in handles:
            handle.stop()
        raise
    return handles


def client_network(nodes: Iterable[FakeNodeHandle | FakeNetworkNode]) -> dict[str, AccountId]:
    """The ``Client.for_network`` map of ``nodes``: ``{"127.0.0.1:<port>": AccountId(0, 0, 3), ...}``."""
    return {n.address: AccountId.from_string(n.node_account_id) for n in nodes}


class SandboxNetworks:
    """The fake networks behind the sandbox's pods: one ledger per namespace, one node per node account.

    Nodes start on the sandbox's loop when a port-forward first reaches them. ``ledger(namespace)``
    gives the state a test asserts on; ``stop()`` (a coroutine, run it on the sandbox's loop) stops
    the nodes and removes the port backends.
    """

    def __init__(self, state, ledger: Ledger | None = None) -> None:
        self._state = state
        self._shared = ledger
        self.ledgers: dict[str, Ledger] = {}
        self.nodes: dict[tuple[str, int], FakeNetworkNode] = {}
        self._starting: dict[tuple[str, int], asyncio.Task] = {}
        self._backends = [
            state.port_backends.register(selector, GRPC_PORT, self._connect) for selector in POD_SELECTORS
        ]

    def ledger(self, namespace: str) -> Ledger:
        if namespace not in self.ledgers:
            self.ledgers[namespace] = self._shared if self._shared is not None else Ledger()
        return self.ledgers[namespace]

    async def node_for(self, pod: dict) -> FakeNetworkNode:
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        account = _pod_node_account(meta.get("labels") or {})
        key = (namespace, account)
        if key not in self.nodes:
            if key not in self._starting:  # concurrent first connections share one start
                node = FakeNetworkNode(self.ledger(namespace), account, platform_active=self._follower(key))
                self._starting[key] = asyncio.ensure_future(node.start())
            try:
                self.nodes[key] = await self._starting[key]
            finally:
                self._starting.pop(key, None)
        return self.nodes[key]

    def platform_status(self, namespace: str, account: int) -> tuple[bool, int | None]:
        """(whether the namespace has the network-node pod of node account ``account``, its platform's
        ``platform_PlatformStatus`` or None while the platform is not running)."""
        pods_rt = self._state.registry.lookup("", "v1", "pods")
        pods, _ = self._state.store.list(pods_rt, namespace, label_selector=NETWORK_NODE_SELECTOR)
        pod = next((p for p in pods if _pod_node_account(p["metadata"].get("labels") or {}) == account), None)
        if pod is None:
            return False, None
        workloads = self._state.workloads
        container = workloads.container(namespace, pod["metadata"]["name"], consensus.CONTAINER) if workloads else None
        return True, consensus.platform_status(container) if container is not None else None

    def _follower(self, key: tuple[str, int]) -> Callable[[], bool]:
        def platform_active() -> bool:
            present, status = self.platform_status(*key)
            return not present or status == consensus.ACTIVE

        return platform_active

    async def _connect(self, pod: dict) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        meta = pod.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        present, status = self.platform_status(namespace, _pod_node_account(meta.get("labels") or {}))
        if present and status is None:  # nothing listens on 50211 before the platform starts
            raise ConnectionRefusedError(f"the consensus node of {meta.get('name')} is not running")
        node = await self.node_for(pod)
        return await asyncio.open_connection(node.host, node.port)

    async def stop(self) -> None:
        for backend in self._backends:
            self._state.port_backends.unregister(backend)
        self._backends = []
        for node in self.nodes.values():
            await node.stop()
        self.nodes.clear()


def _pod_node_account(labels: dict) -> int:
    """The node account a pod stands for: its ``account-id`` label, else node id + 3, else 0.0.3."""
    account = labels.get("solo.hedera.com/account-id")
    if account:
        return int(str(account).rsplit(".", 1)[-1])
    node_id = labels.get("solo.hedera.com/node-id")
    return FIRST_NODE_ACCOUNT + int(node_id) if node_id not in (None, "") else FIRST_NODE_ACCOUNT


def register_with_sandbox(state, ledger: Ledger | None = None) -> SandboxNetworks:
    """Serve port 50211 of the sandbox's haproxy and network-node pods with fake nodes.

    ``state`` is the ``SandboxState`` (its ``port_backends`` registry); with ``ledger`` every
    namespace shares it, otherwise each namespace gets its own fresh network.
    """
    return SandboxNetworks(state, ledger)
