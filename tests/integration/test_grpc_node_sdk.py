"""The fake consensus nodes behind the sandbox's haproxy pods, reached by hiero-sdk-python over pods/portforward.

The path is the one the accounts step takes: haproxy pods Running in the sandbox (kubelet and duration
model), the official Python client's portforward websocket (through the collection's own forwarder) from a
local port to each pod's port 50211, and ``Client.for_network`` on those local ports with the genesis
operator. The assertions read the ledger the sandbox's pods share (``register_with_sandbox``).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import grpc
import pytest
import yaml
from hiero_sdk_python import AccountId, Client, Hbar, PrivateKey
from hiero_sdk_python.account.account_create_transaction import AccountCreateTransaction
from hiero_sdk_python.consensus.topic_create_transaction import TopicCreateTransaction
from hiero_sdk_python.consensus.topic_id import TopicId
from hiero_sdk_python.exceptions import PrecheckError
from hiero_sdk_python.hapi.services import (
    basic_types_pb2,
    crypto_get_account_balance_pb2,
    crypto_service_pb2_grpc,
    query_pb2,
)
from hiero_sdk_python.query.account_info_query import AccountInfoQuery
from hiero_sdk_python.query.topic_info_query import TopicInfoQuery
from hiero_sdk_python.response_code import ResponseCode
from kubernetes import client, config
from kubernetes.stream import stream

from ansible_collections.hiero.solo.plugins.module_utils._forwarder import PortForwarder
from tests.sandbox.grpc_node import GRPC_PORT, register_with_sandbox
from tests.sandbox.ledger import genesis_private_key

NODES = 2
HAPI_APPS = "/opt/hgcapp/services-hedera/HapiApp2.0/data/apps"
MODEL_FILE = Path(__file__).resolve().parents[1] / "sandbox" / "model.yaml"


def node_labels(node_id: int) -> dict[str, str]:
    return {
        "solo.hedera.com/node-name": f"node{node_id + 1}",
        "solo.hedera.com/node-id": str(node_id),
        "solo.hedera.com/account-id": f"0.0.{3 + node_id}",
    }


def haproxy_pod(node_id: int) -> client.V1Pod:
    alias = f"node{node_id + 1}"
    labels = {"app": f"haproxy-{alias}", "solo.hedera.com/type": "haproxy", **node_labels(node_id)}
    container = client.V1Container(
        name="haproxy",
        image="haproxytech/haproxy-alpine:2.4.25",
        ports=[client.V1ContainerPort(container_port=GRPC_PORT, name="non-tls-grpc")],
    )
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=f"haproxy-{alias}-0", labels=labels),
        spec=client.V1PodSpec(containers=[container]),
    )


def network_node_pod(node_id: int) -> client.V1Pod:
    alias = f"node{node_id + 1}"
    labels = {"app": f"network-{alias}", "solo.hedera.com/type": "network-node", **node_labels(node_id)}
    container = client.V1Container(name="root-container", image="ghcr.io/hashgraph/solo-containers/ubi8-init-java21")
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=f"network-{alias}-0", labels=labels),
        spec=client.V1PodSpec(containers=[container]),
    )


def wait_running(
    core: client.CoreV1Api, namespace: str, count: int, timeout: float = 30.0, selector: str = "solo.hedera.com/type"
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        pods = core.list_namespaced_pod(namespace, label_selector=selector).items
        if len(pods) == count and all(p.status and p.status.phase == "Running" for p in pods):
            return
        if time.monotonic() > deadline:
            phases = {p.metadata.name: p.status.phase if p.status else None for p in pods}
            pytest.fail(f"pods not Running after {timeout}s: {phases}")
        time.sleep(0.1)


class Cluster:
    """A sandbox with workloads and fake nodes behind its pods, a namespace, and port-forwards to open."""

    def __init__(self, server) -> None:
        self.server = server
        self.networks = server.call(register_with_sandbox, server.state)
        self.configuration = client.Configuration()
        config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=self.configuration)
        self.core = client.CoreV1Api(client.ApiClient(self.configuration))
        self.namespace = f"grpc-{uuid.uuid4().hex[:8]}"
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=self.namespace)))
        self.forwarders: list[PortForwarder] = []

    def run(self, pods: list[client.V1Pod]) -> None:
        for pod in pods:
            self.core.create_namespaced_pod(self.namespace, pod)
        wait_running(self.core, self.namespace, len(pods))

    def forward_haproxy(self, node_id: int) -> str:
        """A local port forwarded to port 50211 of node ``node_id``'s haproxy pod: ``127.0.0.1:<port>``."""
        selector = f"solo.hedera.com/type=haproxy,solo.hedera.com/node-id={node_id}"
        forwarder = PortForwarder(self.configuration, self.namespace, selector, GRPC_PORT).start()
        self.forwarders.append(forwarder)
        return f"127.0.0.1:{forwarder.port}"

    def exec(self, pod: str, command: list[str]) -> int:
        response = stream(
            self.core.connect_get_namespaced_pod_exec,
            pod,
            self.namespace,
            command=command,
            container="root-container",
            stdin=False,
            stdout=True,
            stderr=True,
            tty=False,
            _preload_content=False,
        )
        response.run_forever(timeout=20)
        return response.returncode

    def close(self) -> None:
        for forwarder in self.forwarders:
            forwarder.stop()
        self.server.call(self.networks.stop)


@pytest.fixture
def cluster(start_sandbox):
    cluster = Cluster(start_sandbox())
    yield cluster
    cluster.close()


@pytest.fixture
def forwarded_network(cluster):
    """(server, namespace, networks, {"127.0.0.1:<port>": AccountId}) for NODES haproxy pods."""
    cluster.run([haproxy_pod(node_id) for node_id in range(NODES)])
    network_map = {cluster.forward_haproxy(node_id): AccountId(0, 0, 3 + node_id) for node_id in range(NODES)}
    return cluster.server, cluster.namespace, cluster.networks, network_map


def test_accounts_as_solo_creates_them_through_haproxy_port_forwards(forwarded_network):
    server, namespace, networks, network_map = forwarded_network
    sdk = Client.for_network(network_map)
    sdk.set_operator(AccountId(0, 0, 2), genesis_private_key())

    with pytest.raises(PrecheckError) as no_buffer_topic:
        TopicInfoQuery().set_topic_id(TopicId(0, 0, 1001)).execute(sdk)
    assert no_buffer_topic.value.status == ResponseCode.INVALID_TOPIC_ID
    topic = TopicCreateTransaction().set_memo("Buffer topic to bump entity IDs").execute(sdk)
    assert (topic.status, str(topic.topic_id)) == (ResponseCode.SUCCESS, "0.0.1001")

    keys = [PrivateKey.generate_ecdsa() for _ in range(10)]
    for index, key in enumerate(keys):
        receipt = (
            AccountCreateTransaction()
            .set_key_without_alias(key.public_key())
            .set_alias(key.public_key().to_evm_address())
            .set_initial_balance(Hbar(1_000_000))
            .set_node_account_ids([AccountId(0, 0, 3 + index % NODES)])  # both haproxies take a share
            .execute(sdk)
        )
        assert (receipt.status, str(receipt.account_id)) == (ResponseCode.SUCCESS, f"0.0.{1002 + index}")
        info = AccountInfoQuery().set_account_id(receipt.account_id).execute(sdk)
        assert info.contract_account_id == key.public_key().to_evm_address().address_bytes.hex()
    sdk.close()

    ledger = server.call(networks.ledger, namespace)
    for index, key in enumerate(keys):
        account = ledger.account(f"0.0.{1002 + index}")
        assert account.alias == key.public_key().to_evm_address().address_bytes
        assert account.balance == Hbar(1_000_000).to_tinybars()
    assert ledger.topic("0.0.1001").memo == "Buffer topic to bump entity IDs"
    # one fake node per haproxy pod, each answering as its own node account
    assert sorted(networks.nodes) == [(namespace, 3 + i) for i in range(NODES)]
    for node_id in range(NODES):
        assert networks.nodes[(namespace, 3 + node_id)].calls["CryptoService/createAccount"] == 10 // NODES


def balance_precheck(address: str) -> int:
    """The precheck code of a (free) balance query for 0.0.2, sent as raw gRPC to ``address``."""
    query = query_pb2.Query(
        cryptogetAccountBalance=crypto_get_account_balance_pb2.CryptoGetAccountBalanceQuery(
            accountID=basic_types_pb2.AccountID(accountNum=2)
        )
    )
    with grpc.insecure_channel(address) as channel:
        answer = crypto_service_pb2_grpc.CryptoServiceStub(channel).cryptoGetBalance(query, timeout=5)
    return answer.cryptogetAccountBalance.header.nodeTransactionPrecheckCode


def test_the_node_behind_haproxy_follows_its_platform(start_sandbox):
    # a consensus node that takes 3 s (150 nominal) from the lifecycle start to ACTIVE
    model = yaml.safe_load(MODEL_FILE.read_text())
    model["time_scale"] = 0.02
    model["rules"] = [{"selector": "solo.hedera.com/type=network-node", "platform_active_after": 150}]
    cluster = Cluster(start_sandbox(model))
    try:
        cluster.run([network_node_pod(0), haproxy_pod(0)])
        address = cluster.forward_haproxy(0)

        # before the platform starts nothing answers behind the haproxy, and no node was started for it
        with pytest.raises(grpc.RpcError) as refused:
            balance_precheck(address)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value
        assert cluster.networks.nodes == {}

        start = f"touch {HAPI_APPS}/HederaNode.jar && /command/network-node-lifecycle start-and-enable-autostart"
        assert cluster.exec("network-node1-0", ["bash", "-c", start]) == 0
        assert balance_precheck(address) == ResponseCode.PLATFORM_NOT_ACTIVE

        # the SDK retries PLATFORM_NOT_ACTIVE until the platform is ACTIVE
        sdk = Client.for_network({address: AccountId(0, 0, 3)})
        sdk.set_operator(AccountId(0, 0, 2), genesis_private_key())
        receipt = (
            AccountCreateTransaction().set_key_without_alias(PrivateKey.generate_ed25519().public_key()).execute(sdk)
        )
        assert (receipt.status, str(receipt.account_id)) == (ResponseCode.SUCCESS, "0.0.1001")
        assert balance_precheck(address) == ResponseCode.OK
        sdk.close()
    finally:
        cluster.close()
