"""The explorer and relay steps' pure parts: values, the relay's network map (every node, hazard H5)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from ansible_collections.hiero.solo.plugins.module_utils._config import explorer_ingress_release_name
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError
from ansible_collections.hiero.solo.plugins.module_utils._steps import explorer, relay

NS = "one-shot"

# --------------------------------------------------------------------------------------------- explorer


def test_explorer_values_proxy_the_mirror_rest_service_and_use_the_ingress_class():
    ingress = explorer_ingress_release_name(NS)
    v = explorer.explorer_values(
        release="hiero-explorer-1",
        namespace=NS,
        ingress_release=ingress,
        mirror_release="mirror-1",
        mirror_namespace="mirrors",
        enable_ingress=True,
        extra={"proxyPass": {"/api": "http://elsewhere"}, "replicas": 2},
    )
    assert v["fullnameOverride"] == "hiero-explorer-1-one-shot"
    assert v["proxyPass"] == {"/api": "http://mirror-1-rest.mirrors.svc.cluster.local"}
    assert v["ingress"]["enabled"] is True and v["ingressClassName"] == "explorer-haproxy-ingress-1-one-shot"
    assert v["replicas"] == 2
    assert json.loads(v["config"])[0]["name"] == "localnet"
    plain = explorer.explorer_values(
        release="hiero-explorer-1",
        namespace=NS,
        ingress_release=ingress,
        mirror_release="mirror-1",
        mirror_namespace=NS,
        enable_ingress=False,
        extra={},
    )
    assert plain["ingress"]["enabled"] is False and "ingressClassName" not in plain


def test_explorer_ingress_controller_serves_its_own_class():
    name = explorer_ingress_release_name(NS)
    v = explorer.ingress_controller_values(name)
    assert v["fullnameOverride"] == name
    assert v["controller"]["ingressClass"] == name
    assert v["controller"]["extraArgs"] == {"controller-class": name}


def test_h1_annotation_patch_only_when_missing():
    def ingress(annotations):
        return SimpleNamespace(metadata=SimpleNamespace(annotations=annotations))

    assert explorer.h1_patch(ingress(None)) == {
        "metadata": {"annotations": {"haproxy-ingress.github.io/backend-protocol": "h1"}}
    }
    assert explorer.h1_patch(ingress({"haproxy-ingress.github.io/backend-protocol": "h1"})) is None


# --------------------------------------------------------------------------------------------- relay


def haproxy_service(alias: str, cluster_ip: str, lb_ip: str | None = None, port: int = 50211):
    ports = [SimpleNamespace(name="non-tls-grpc-client-port", port=port), SimpleNamespace(name="tls", port=50212)]
    balancer = SimpleNamespace(ingress=[SimpleNamespace(ip=lb_ip)] if lb_ip else None)
    return SimpleNamespace(
        metadata=SimpleNamespace(name=f"haproxy-{alias}-svc", labels={"solo.hedera.com/node-name": alias}),
        spec=SimpleNamespace(cluster_ip=cluster_ip, ports=ports),
        status=SimpleNamespace(load_balancer=balancer),
    )


def test_relay_network_lists_every_node_in_node_order():
    services = [haproxy_service("node3", "10.0.0.3"), haproxy_service("node1", "10.0.0.1", lb_ip="1.2.3.4")]
    services.append(haproxy_service("node2", "10.0.0.2"))
    endpoints = relay.haproxy_endpoints(services, ["node3", "node1", "node2"], 0, 0, NS)
    assert list(endpoints.items()) == [
        ("1.2.3.4:50211", "0.0.3"),  # a load balancer address wins over the cluster IP, as in solo
        ("10.0.0.2:50211", "0.0.4"),
        ("10.0.0.3:50211", "0.0.5"),
    ]
    assert json.loads(relay.hedera_network(endpoints)) == endpoints


def test_relay_network_fails_naming_a_node_without_haproxy_service():
    with pytest.raises(HieroError, match=r"no HAProxy service for consensus node node2 .*deploy the consensus network"):
        relay.haproxy_endpoints([haproxy_service("node1", "10.0.0.1")], ["node1", "node2"], 0, 0, NS)


def test_relay_values_point_relay_and_ws_at_the_mirror_and_the_network():
    network = relay.hedera_network({"10.0.0.1:50211": "0.0.3", "10.0.0.2:50211": "0.0.4"})
    v = relay.relay_values(
        release="relay-1",
        version="v0.78.1",
        mirror_release="mirror-1",
        mirror_namespace=NS,
        chain_id="298",
        operator_id="0.0.2",
        operator_key="k3y",
        network=network,
        replica_count=None,
        extra={"relay": {"config": {"HEDERA_NETWORK": "{}", "LOG_LEVEL": "debug"}}},
    )
    assert v["nameOverride"] == "relay-1"
    for server in ("relay", "ws"):
        config = v[server]["config"]
        assert config["HEDERA_NETWORK"] == network  # solo's computed value wins over values files
        assert config["CHAIN_ID"] == 298
        assert config["OPERATOR_ID_MAIN"] == "0.0.2" and config["OPERATOR_KEY_MAIN"] == "k3y"
        assert config["MIRROR_NODE_URL"] == f"http://mirror-ingress-controller-{NS}.{NS}.svc.cluster.local"
        assert v[server]["image"]["tag"] == "0.78.1"
    assert v["relay"]["config"]["MIRROR_NODE_URL_WEB3"] == f"http://mirror-1-web3.{NS}.svc.cluster.local"
    assert v["relay"]["config"]["LOG_LEVEL"] == "debug"
    assert v["ws"]["enabled"] is True
    assert "replicaCount" not in v["relay"]
    scaled = relay.relay_values(
        release="relay-1",
        version="0.78.1",
        mirror_release="mirror-1",
        mirror_namespace=NS,
        chain_id="custom",
        operator_id="0.0.2",
        operator_key="k",
        network="{}",
        replica_count=2,
        extra={},
    )
    assert scaled["relay"]["replicaCount"] == 2 and scaled["ws"]["replicaCount"] == 2
    assert scaled["relay"]["config"]["CHAIN_ID"] == "custom"


# --------------------------------------------------------------------------------------------- bad input, via main()


def run_main(module, args: dict, capsys) -> dict:
    from ansible.module_utils.testing import patch_module_args

    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("module_name", "args", "message"),
    [
        ("mirror_node", {"version": "v0.150.0"}, r"^version: mirror node v0.150.0 predates"),
        ("mirror_node", {"version": "latest"}, r"^version: expected a version like v0.75.1"),
        ("mirror_node", {"node_aliases": ["n1"]}, r"^node_aliases: expected node aliases such as node1"),
        ("mirror_node", {"realm": -1}, r"^realm: expected an integer >= 0"),
        ("mirror_node", {"pinger_wait_for": ["no such step!"]}, r"^pinger_wait_for"),
        ("mirror_node", {"values_files": ["/nonexistent.yaml"]}, r"^values_files: values file /nonexistent.yaml"),
        ("mirror_node", {"chart_sources": {"mirror_node": {"path": "relative"}}}, r"^chart_sources.mirror_node.path"),
        ("explorer", {"mirror_node_id": 0}, r"^mirror_node_id: expected a component id >= 1"),
        ("explorer", {"namespace": "Not_A_Label"}, r"^namespace: expected an RFC 1123 label"),
        ("relay", {"operator_id": "2"}, r"^operator_id: expected an account id such as 0.0.2"),
        ("relay", {"replica_count": 0}, r"^replica_count: expected a number of replicas >= 1"),
        ("relay", {"wait_for": ["mirror_node"]}, r"^wait_for: needs run_id"),
    ],
)
def test_bad_input_fails_naming_the_option_before_touching_a_cluster(module_name, args, message, capsys, tmp_path):
    import importlib
    import re

    module = importlib.import_module(f"ansible_collections.hiero.solo.plugins.modules.{module_name}")
    # A kubeconfig that points nowhere: reaching the cluster would fail with another message.
    result = run_main(module, {"namespace": "one-shot", "kubeconfig": str(tmp_path / "missing"), **args}, capsys)
    assert result["failed"] is True
    assert re.search(message, result["msg"]), result["msg"]
