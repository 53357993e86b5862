"""The fake consensus node (tests/sandbox/grpc_node.py, ledger.py) through the real hiero-sdk-python client.

The client connects straight to the nodes on 127.0.0.1 over plaintext gRPC, the way the accounts
step reaches a port-forward: ``Client.for_network({"127.0.0.1:<port>": AccountId(0, 0, 3), ...})``
with operator 0.0.2 and the genesis key. A few protocol cases use the generated stubs directly,
where the SDK would retry or reconfigure itself instead of showing the node's answer.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import grpc
import pytest
from hiero_sdk_python import AccountId, Client, Hbar, PrivateKey
from hiero_sdk_python.account.account_create_transaction import AccountCreateTransaction
from hiero_sdk_python.consensus.topic_create_transaction import TopicCreateTransaction
from hiero_sdk_python.consensus.topic_id import TopicId
from hiero_sdk_python.exceptions import PrecheckError
from hiero_sdk_python.file.file_create_transaction import FileCreateTransaction
from hiero_sdk_python.hapi.services import (
    basic_types_pb2,
    crypto_get_info_pb2,
    crypto_service_pb2_grpc,
    file_service_pb2_grpc,
    query_header_pb2,
    query_pb2,
    transaction_get_receipt_pb2,
)
from hiero_sdk_python.query.account_balance_query import CryptoGetAccountBalanceQuery
from hiero_sdk_python.query.account_info_query import AccountInfoQuery
from hiero_sdk_python.query.topic_info_query import TopicInfoQuery
from hiero_sdk_python.query.transaction_record_query import TransactionRecordQuery
from hiero_sdk_python.response_code import ResponseCode
from hiero_sdk_python.transaction.transaction_id import TransactionId
from hiero_sdk_python.transaction.transfer_transaction import TransferTransaction

from tests.sandbox.grpc_node import (
    GRPC_PORT,
    FakeNodeHandle,
    client_network,
    register_with_sandbox,
    start_fake_network,
    start_fake_node,
)
from tests.sandbox.ledger import (
    FEES,
    FUNDING_ACCOUNT,
    QUERY_COSTS,
    TOTAL_TINYBAR_FLOAT,
    Ledger,
    genesis_private_key,
)
from tests.sandbox.state import SandboxState

OPERATOR = AccountId(0, 0, 2)
ONE_MILLION_HBAR = Hbar(1_000_000)


def make_client(nodes, operator: AccountId = OPERATOR, key: PrivateKey | None = None) -> Client:
    client = Client.for_network(client_network(nodes))
    client.set_operator(operator, key or genesis_private_key())
    # fail fast instead of the SDK's 10 attempts with backoff; the node answers at once anyway
    client.set_max_attempts(3).set_min_backoff(0.05).set_max_backoff(0.2)
    return client


@pytest.fixture
def network() -> Iterator[list[FakeNodeHandle]]:
    nodes = start_fake_network(3)
    yield nodes
    for node in nodes:
        node.stop()


@pytest.fixture
def client(network) -> Iterator[Client]:
    client = make_client(network)
    yield client
    client.close()


def create_alias_account(client: Client, key: PrivateKey, balance: Hbar = ONE_MILLION_HBAR):
    """What solo does for each predefined account: key, alias = the key's EVM address, initial balance."""
    return (
        AccountCreateTransaction()
        .set_key_without_alias(key.public_key())
        .set_alias(key.public_key().to_evm_address())
        .set_initial_balance(balance)
        .execute(client)
    )


def test_the_sdk_talks_plaintext_to_the_custom_nodes(network, client):
    assert not client.is_transport_security()
    assert sorted(str(a) for a in client.get_node_account_ids()) == ["0.0.3", "0.0.4", "0.0.5"]
    balance = CryptoGetAccountBalanceQuery().set_account_id(AccountId(0, 0, 3)).execute(client)
    assert balance.hbars.to_tinybars() == 0
    assert sum(node.node.calls["CryptoService/cryptoGetBalance"] for node in network) == 1


def test_genesis_state_leaves_0_0_1001_as_the_next_entity(network, client):
    ledger = network[0].ledger
    assert ledger.next_entity_num == 1001
    assert ledger.account("0.0.2").balance == TOTAL_TINYBAR_FLOAT
    assert ledger.account("0.0.1000") is not None and ledger.account("0.0.1001") is None
    with pytest.raises(PrecheckError) as missing_topic:
        TopicInfoQuery().set_topic_id(TopicId(0, 0, 1001)).execute(client)
    assert missing_topic.value.status == ResponseCode.INVALID_TOPIC_ID
    with pytest.raises(PrecheckError) as missing_account:
        AccountInfoQuery().set_account_id(AccountId(0, 0, 1001)).execute(client)
    assert missing_account.value.status == ResponseCode.INVALID_ACCOUNT_ID


def test_buffer_topic_then_ten_alias_accounts_as_solo_creates_them(network, client):
    ledger = network[0].ledger
    receipt = TopicCreateTransaction().set_memo("Buffer topic to bump entity IDs").execute(client)
    assert receipt.status == ResponseCode.SUCCESS
    assert str(receipt.topic_id) == "0.0.1001"
    info = TopicInfoQuery().set_topic_id(TopicId(0, 0, 1001)).execute(client)
    assert info.memo == "Buffer topic to bump entity IDs"
    with pytest.raises(PrecheckError) as topic_is_no_account:
        AccountInfoQuery().set_account_id(AccountId(0, 0, 1001)).execute(client)
    assert topic_is_no_account.value.status == ResponseCode.INVALID_ACCOUNT_ID

    keys = [PrivateKey.generate_ecdsa() for _ in range(10)]
    created = []
    for index, key in enumerate(keys):
        receipt = create_alias_account(client, key)
        assert receipt.status == ResponseCode.SUCCESS
        assert str(receipt.account_id) == f"0.0.{1002 + index}"
        created.append(receipt.account_id)

    for account_id, key in zip(created, keys, strict=True):
        info = AccountInfoQuery().set_account_id(account_id).execute(client)
        evm = key.public_key().to_evm_address().address_bytes
        assert info.balance.to_tinybars() == ONE_MILLION_HBAR.to_tinybars()
        assert info.contract_account_id == evm.hex()
        assert info.key.to_bytes_raw() == key.public_key().to_bytes_raw()
        assert ledger.account(evm).num == account_id.num  # the alias finds the account
    genesis_left = ledger.account("0.0.2").balance
    expected_spend = 10 * (ONE_MILLION_HBAR.to_tinybars() + FEES["cryptoCreateAccount"]) + FEES["consensusCreateTopic"]
    paid_queries = 11  # account infos plus the topic info; their payments are transfers too
    expected_spend += paid_queries * (QUERY_COSTS["cryptoGetInfo"] + FEES["cryptoTransfer"])
    assert TOTAL_TINYBAR_FLOAT - genesis_left == expected_spend
    assert ledger.total_tinybar() == TOTAL_TINYBAR_FLOAT  # hbar moved, none created or lost


def test_key_with_alias_form_and_a_plain_key_account(network, client):
    ecdsa = PrivateKey.generate_ecdsa()
    with_alias = AccountCreateTransaction().set_key_with_alias(ecdsa).set_initial_balance(Hbar(5)).execute(client)
    assert with_alias.status == ResponseCode.SUCCESS
    ed = PrivateKey.generate_ed25519()
    plain = AccountCreateTransaction().set_key_without_alias(ed.public_key()).set_account_memo("plain").execute(client)
    assert plain.status == ResponseCode.SUCCESS
    assert plain.account_id.num == with_alias.account_id.num + 1
    info = AccountInfoQuery().set_account_id(plain.account_id).execute(client)
    assert info.account_memo == "plain"
    assert info.contract_account_id == (bytes(12) + plain.account_id.num.to_bytes(8, "big")).hex()
    assert network[0].ledger.account(plain.account_id).alias == b""


def test_alias_rules_of_crypto_create(network, client):
    ledger = network[0].ledger
    owner = PrivateKey.generate_ecdsa()
    other = PrivateKey.generate_ed25519()
    evm = owner.public_key().to_evm_address()

    no_key = AccountCreateTransaction().set_alias(evm).set_initial_balance(Hbar(1)).execute(client)
    assert no_key.status == ResponseCode.INVALID_ALIAS_KEY

    # the alias of another key needs that key's signature (HIP-583)
    unsigned = AccountCreateTransaction().set_key_without_alias(other.public_key()).set_alias(evm).execute(client)
    assert unsigned.status == ResponseCode.INVALID_SIGNATURE
    signed = (
        AccountCreateTransaction()
        .set_key_with_alias(other.public_key(), owner.public_key())
        .freeze_with(client)
        .sign(owner)
        .execute(client)
    )
    assert signed.status == ResponseCode.SUCCESS
    assert ledger.account(signed.account_id).alias == evm.address_bytes

    taken = create_alias_account(client, owner, Hbar(1))
    assert taken.status == ResponseCode.ALIAS_ALREADY_ASSIGNED
    long_zero = AccountCreateTransaction().set_key_without_alias(other.public_key()).set_alias("00" * 12 + "ff" * 8)
    assert long_zero.execute(client).status == ResponseCode.INVALID_ALIAS_KEY
    # failed creations charge the fee but take no entity number
    assert ledger.next_entity_num == signed.account_id.num + 1


def test_payer_signature_must_be_valid(network):
    wrong_key_client = make_client(network, key=PrivateKey.generate_ed25519())
    before = network[0].ledger.next_entity_num
    with pytest.raises(PrecheckError) as bad_signature:
        create_alias_account(wrong_key_client, PrivateKey.generate_ecdsa())
    assert bad_signature.value.status == ResponseCode.INVALID_SIGNATURE
    assert network[0].ledger.next_entity_num == before
    unknown_payer = make_client(network, operator=AccountId(0, 0, 99_999))
    with pytest.raises(PrecheckError) as no_payer:
        create_alias_account(unknown_payer, PrivateKey.generate_ecdsa())
    assert no_payer.value.status == ResponseCode.PAYER_ACCOUNT_NOT_FOUND
    wrong_key_client.close()
    unknown_payer.close()


def test_payer_must_afford_fee_and_initial_balance(network, client):
    poor_key = PrivateKey.generate_ed25519()
    poor = AccountCreateTransaction().set_key_without_alias(poor_key.public_key()).set_initial_balance(Hbar(2))
    poor_id = poor.execute(client).account_id
    poor_client = make_client(network, operator=poor_id, key=poor_key)
    with pytest.raises(PrecheckError) as insufficient:
        create_alias_account(poor_client, PrivateKey.generate_ecdsa(), Hbar(5))
    assert insufficient.value.status == ResponseCode.INSUFFICIENT_PAYER_BALANCE
    affordable = create_alias_account(poor_client, PrivateKey.generate_ecdsa(), Hbar(1))
    assert affordable.status == ResponseCode.SUCCESS
    remaining = Hbar(1).to_tinybars() - FEES["cryptoCreateAccount"]
    assert network[1].ledger.account(poor_id).balance == remaining
    poor_client.close()


def test_resubmitting_a_transaction_is_a_duplicate(network, client):
    tx = AccountCreateTransaction().set_key_without_alias(PrivateKey.generate_ed25519().public_key())
    tx.freeze_with(client)
    first = tx.execute(client)
    assert first.status == ResponseCode.SUCCESS
    with pytest.raises(PrecheckError) as duplicate:
        tx.execute(client)
    assert duplicate.value.status == ResponseCode.DUPLICATE_TRANSACTION
    assert network[0].ledger.next_entity_num == first.account_id.num + 1


def test_nodes_of_one_ledger_agree(network, client):
    via_node_4 = (
        AccountCreateTransaction()
        .set_key_without_alias(PrivateKey.generate_ed25519().public_key())
        .set_initial_balance(Hbar(3))
        .set_node_account_ids([AccountId(0, 0, 4)])
        .execute(client)
    )
    assert via_node_4.status == ResponseCode.SUCCESS
    info = AccountInfoQuery().set_account_id(via_node_4.account_id).set_node_account_ids([AccountId(0, 0, 5)])
    assert info.execute(client).balance.to_tinybars() == Hbar(3).to_tinybars()
    assert network[1].node.calls["CryptoService/createAccount"] == 1
    assert network[2].node.calls["CryptoService/getAccountInfo"] == 2  # cost query, then the paid one


def test_query_payment_goes_to_the_answering_node(network, client):
    ledger = network[0].ledger
    before = ledger.account("0.0.5").balance
    AccountInfoQuery().set_account_id(AccountId(0, 0, 2)).set_node_account_ids([AccountId(0, 0, 5)]).execute(client)
    assert ledger.account("0.0.5").balance - before == QUERY_COSTS["cryptoGetInfo"]


def test_transfer_and_its_record(network, client):
    ledger = network[0].ledger
    funding_before = ledger.account(FUNDING_ACCOUNT).balance
    response = (
        TransferTransaction()
        .add_hbar_transfer(OPERATOR, -Hbar(1).to_tinybars())
        .add_hbar_transfer(AccountId(0, 0, 3), Hbar(1).to_tinybars())
        .execute(client, wait_for_receipt=False)
    )
    assert response.get_receipt(client).status == ResponseCode.SUCCESS
    assert ledger.account("0.0.3").balance == Hbar(1).to_tinybars()
    record = TransactionRecordQuery().set_transaction_id(response.transaction_id).execute(client)
    assert record.transaction_fee == FEES["cryptoTransfer"]
    assert record.transfers[AccountId(0, 0, 3)] == Hbar(1).to_tinybars()
    # the record query's own payment also paid a transfer fee to the funding account
    assert ledger.account(FUNDING_ACCOUNT).balance - funding_before == 2 * FEES["cryptoTransfer"]


def test_receipts_wait_for_consensus():
    ledger = Ledger(consensus_delay=1.0)
    with start_fake_node(ledger) as node:
        client = make_client([node])
        client.set_max_attempts(30)
        payer_key = PrivateKey.generate_ed25519()
        payer_id = (
            AccountCreateTransaction()
            .set_key_without_alias(payer_key.public_key())
            .set_initial_balance(Hbar(10))
            .execute(client)
            .account_id
        )
        payer_client = make_client([node], operator=payer_id, key=payer_key)
        payer_client.set_max_attempts(30)
        # each is affordable at submit time, together they are not: the second fails at consensus
        submitted = [
            AccountCreateTransaction()
            .set_key_without_alias(PrivateKey.generate_ed25519().public_key())
            .set_initial_balance(Hbar(6))
            .execute(payer_client, wait_for_receipt=False)
            for _ in range(2)
        ]
        pending = ledger.answer(submitted[1].get_receipt_query()._make_request(), node.node.node_account)
        assert pending.transactionGetReceipt.receipt.status == ResponseCode.UNKNOWN
        assert ledger.account(payer_id).balance == Hbar(10).to_tinybars()
        first, second = (response.get_receipt(payer_client) for response in submitted)
        assert first.status == ResponseCode.SUCCESS
        assert second.status == ResponseCode.INSUFFICIENT_PAYER_BALANCE
        fee = FEES["cryptoCreateAccount"]
        assert ledger.account(payer_id).balance == Hbar(10).to_tinybars() - Hbar(6).to_tinybars() - 2 * fee
        client.close()
        payer_client.close()


def test_unknown_receipt_unpaid_query_and_wrong_node_at_the_wire():
    with start_fake_node() as node, grpc.insecure_channel(node.address) as channel:
        crypto = crypto_service_pb2_grpc.CryptoServiceStub(channel)
        unknown = TransactionId.generate(OPERATOR)._to_proto()
        receipt_query = query_pb2.Query(
            transactionGetReceipt=transaction_get_receipt_pb2.TransactionGetReceiptQuery(transactionID=unknown)
        )
        answer = crypto.getTransactionReceipts(receipt_query, timeout=5)
        assert answer.transactionGetReceipt.header.nodeTransactionPrecheckCode == ResponseCode.RECEIPT_NOT_FOUND

        def info_query(response_type):
            header = query_header_pb2.QueryHeader(responseType=response_type)
            account = basic_types_pb2.AccountID(accountNum=2)
            return query_pb2.Query(
                cryptoGetInfo=crypto_get_info_pb2.CryptoGetInfoQuery(header=header, accountID=account)
            )

        cost = crypto.getAccountInfo(info_query(query_header_pb2.COST_ANSWER), timeout=5).cryptoGetInfo.header
        assert (cost.nodeTransactionPrecheckCode, cost.cost) == (ResponseCode.OK, QUERY_COSTS["cryptoGetInfo"])
        unpaid = crypto.getAccountInfo(info_query(query_header_pb2.ANSWER_ONLY), timeout=5).cryptoGetInfo
        assert unpaid.header.nodeTransactionPrecheckCode == ResponseCode.INSUFFICIENT_TX_FEE
        assert not unpaid.HasField("accountInfo")

        # a transaction built for node 0.0.4 is refused by node 0.0.3
        tx = AccountCreateTransaction().set_key_without_alias(PrivateKey.generate_ed25519().public_key())
        tx.set_transaction_id(TransactionId.generate(OPERATOR)).set_node_account_ids([AccountId(0, 0, 4)])
        tx.freeze().sign(genesis_private_key())
        refused = crypto.createAccount(tx._to_proto(), timeout=5)
        assert refused.nodeTransactionPrecheckCode == ResponseCode.INVALID_NODE_ACCOUNT

        files = file_service_pb2_grpc.FileServiceStub(channel)
        create_file = FileCreateTransaction().set_contents(b"x").set_keys([genesis_private_key().public_key()])
        create_file.set_transaction_id(TransactionId.generate(OPERATOR)).set_node_account_ids([AccountId(0, 0, 3)])
        create_file.freeze().sign(genesis_private_key())
        unsupported = files.createFile(create_file._to_proto(), timeout=5)
        assert unsupported.nodeTransactionPrecheckCode == ResponseCode.NOT_SUPPORTED


def haproxy_pod(namespace: str, node_id: int) -> dict:
    labels = {
        "app": f"haproxy-node{node_id + 1}",
        "solo.hedera.com/type": "haproxy",
        "solo.hedera.com/node-name": f"node{node_id + 1}",
        "solo.hedera.com/node-id": str(node_id),
        "solo.hedera.com/account-id": f"0.0.{3 + node_id}",
    }
    return {"metadata": {"name": f"haproxy-node{node_id + 1}-abc", "namespace": namespace, "labels": labels}}


class ForwardingLoop:
    """A background event loop with a local TCP port per pod, relayed through the registered port backend:
    what a port-forward does between its local socket and the pod's port."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.servers: list[asyncio.Server] = []

    def run(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def forward(self, state, pod: dict, port: int = GRPC_PORT) -> int:
        backend = state.port_backends.lookup(pod, port)
        assert backend is not None, f"no backend for {pod['metadata']['name']}:{port}"

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            finally:
                writer.close()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            upstream_reader, upstream_writer = await backend.connect(pod)
            await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)

        async def listen() -> int:
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            self.servers.append(server)
            return server.sockets[0].getsockname()[1]

        return self.run(listen())

    def close(self) -> None:
        for server in self.servers:
            server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def test_sandbox_pods_reach_one_network_per_namespace():
    state = SandboxState()  # no workloads: no network-node pods, so the haproxy pods stand for active nodes
    forwarding = ForwardingLoop()
    networks = register_with_sandbox(state)
    try:
        envoy = {"metadata": {"namespace": "a", "labels": {"solo.hedera.com/type": "envoy-proxy"}}}
        assert state.port_backends.lookup(envoy, GRPC_PORT) is None
        node_pod = {"metadata": {"namespace": "a", "labels": {"solo.hedera.com/type": "network-node"}}}
        assert state.port_backends.lookup(node_pod, GRPC_PORT) is not None

        a_ports = [forwarding.forward(state, haproxy_pod("a", node_id)) for node_id in (0, 1)]
        b_port = forwarding.forward(state, haproxy_pod("b", 0))
        a_client = Client.for_network(
            {f"127.0.0.1:{a_ports[0]}": AccountId(0, 0, 3), f"127.0.0.1:{a_ports[1]}": AccountId(0, 0, 4)}
        )
        a_client.set_operator(OPERATOR, genesis_private_key())
        created = (
            AccountCreateTransaction()
            .set_key_without_alias(PrivateKey.generate_ed25519().public_key())
            .set_node_account_ids([AccountId(0, 0, 4)])
            .execute(a_client)
        )
        assert str(created.account_id) == "0.0.1001"
        assert networks.ledger("a").account("0.0.1001") is not None
        assert networks.ledger("b").account("0.0.1001") is None
        assert sorted(networks.nodes) == [("a", 4)]  # nodes start on first use, as node account 0.0.4 here

        b_client = Client.for_network({f"127.0.0.1:{b_port}": AccountId(0, 0, 3)})
        b_client.set_operator(OPERATOR, genesis_private_key())
        with pytest.raises(PrecheckError) as missing:
            AccountInfoQuery().set_account_id(AccountId(0, 0, 1001)).execute(b_client)
        assert missing.value.status == ResponseCode.INVALID_ACCOUNT_ID
        assert sorted(networks.nodes) == [("a", 4), ("b", 3)]
        a_client.close()
        b_client.close()
    finally:
        forwarding.run(networks.stop())
        forwarding.close()
    assert len(state.port_backends) == 0
