"""The deployment_info step: what it shows of a deployment, what it leaves out, and that it only reads."""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import pytest

from ansible_collections.hiero.solo.plugins.module_utils import _local_config, _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps import deployment_info as step

SPEC = argspec(AUTH_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, step.DEPLOYMENT_INFO_ARG_SPEC)
PRIVATE = "0x105d050185ccb907fba04dd92d8de9e32c18305e097ab41dadda21489a211524"


class FakeModule:
    def __init__(self, kubeconfig, **params):
        self.params = {name: spec.get("default") for name, spec in SPEC.items()}
        self.params.update(kubeconfig=str(kubeconfig), **params)
        self.check_mode = False
        self.diff_mode = False
        self.ansible_module = SimpleNamespace(no_log_values=set())
        self._clients = None

    def clients(self):
        if self._clients is None:
            self._clients = get_clients(self.params, env={})
        return self._clients

    def warn(self, msg):
        raise AssertionError(msg)


def deployed_doc(namespace):
    doc = _remote_config.new_document("dep", namespace, "one-shot", node_aliases=["node1", "node2"])
    _remote_config.set_phase(doc, "consensusNodes", 1, "started")
    for kind in ("haProxies", "relayNodes"):
        _remote_config.add_component(
            doc, kind, _remote_config.new_component(kind, 1, namespace, "one-shot", "deployed")
        )
    _remote_config.update_component(doc, "haProxies", 1, portForwardConfigs=[{"localPort": 35211, "podPort": 50211}])
    _remote_config.set_version(doc, "relayNodes", "0.78.1")
    return doc


ACCOUNTS = {
    "systemAccounts": [{"name": "Operator", "accountId": "0.0.2", "publicKey": "302a", "privateKey": "302e" * 10}],
    "createdAccounts": [
        {
            "accountId": "0.0.1002",
            "privateKey": PRIVATE,
            "publicKey": "0x02b3",
            "balance": "1000000 ℏ",
            "group": "ecdsa-alias",
            "publicAddress": "0.0.67d8",
        },
    ],
}


def test_views_of_components_and_endpoints():
    doc = deployed_doc("ns")
    views = step.component_views(doc)
    assert [v["node_alias"] for v in views["consensusNodes"]] == ["node1", "node2"]
    assert views["consensusNodes"][0]["phase"] == "started"
    assert views["relayNodes"][0]["consensus_node_ids"] == []
    assert "explorers" not in views
    endpoints = step.endpoint_views(doc, {35211: 4242})
    assert endpoints == [
        {
            "component": "haProxies",
            "id": 1,
            "label": "Consensus Node gRPC",
            "local_port": 35211,
            "pod_port": 50211,
            "address": "127.0.0.1:35211",
            "forwarder_pid": 4242,
        }
    ]


def test_accounts_lose_their_private_keys():
    public, dropped = step.public_accounts(json.dumps(ACCOUNTS))
    assert "privateKey" not in json.dumps(public)
    assert public["createdAccounts"][0]["publicAddress"] == "0.0.67d8"
    assert dropped == {PRIVATE, "302e" * 10}
    assert step.public_accounts(None) == (None, set())
    with pytest.raises(HieroError, match=r"accounts.json: not valid JSON"):
        step.public_accounts("{nope")


def test_info_reads_local_config_remote_config_and_output_files(sandbox, tmp_path):
    namespace = f"info-{uuid.uuid4().hex[:6]}"
    core = get_clients({"kubeconfig": str(sandbox.kubeconfig)}, env={}).core
    core.create_namespace({"metadata": {"name": namespace}})
    _remote_config.mutate(core, namespace, lambda _doc: deployed_doc(namespace))
    home = tmp_path / "solo"

    def register(doc):
        _local_config.set_deployment(doc, "dep", namespace, realm=0, shard=0)

    _local_config.mutate(str(home), register)
    out = home / "one-shot-dep"
    out.mkdir()
    (out / "accounts.json").write_text(json.dumps(ACCOUNTS))
    (out / "forwards").write_text("Consensus Node gRPC port forward enabled on 127.0.0.1:35211\n")
    version_before = core.read_namespaced_config_map(_remote_config.CONFIGMAP_NAME, namespace).metadata.resource_version

    module = FakeModule(sandbox.kubeconfig, deployment="dep", solo_home=str(home))
    result = step.run(module)
    assert result["changed"] is False
    assert result["namespace"] == namespace and result["found"] == {
        "local_config": True,
        "namespace": True,
        "remote_config": True,
    }
    assert result["phases"] == {"consensusNodes": "requested", "relayNodes": "deployed"}
    assert result["versions"]["jsonRpcRelayChart"] == "0.78.1"
    assert result["endpoints"][0]["local_port"] == 35211 and result["endpoints"][0]["forwarder_pid"] is None
    assert result["forwards"] == ["Consensus Node gRPC port forward enabled on 127.0.0.1:35211"]
    assert result["files"] == {"notes": False, "versions": False, "forwards": True, "accounts.json": True}
    assert result["accounts"]["createdAccounts"][0]["accountId"] == "0.0.1002"
    assert PRIVATE not in json.dumps(result) and PRIVATE in module.ansible_module.no_log_values
    assert result["ansible_facts"]["hiero_solo_deployment_info"]["namespace"] == namespace
    after = core.read_namespaced_config_map(_remote_config.CONFIGMAP_NAME, namespace).metadata.resource_version
    assert after == version_before  # read-only


def test_info_of_a_deployment_that_is_gone(sandbox, tmp_path):
    module = FakeModule(sandbox.kubeconfig, deployment="dep", namespace="gone-ns", solo_home=str(tmp_path))
    result = step.run(module)
    assert result["found"] == {"local_config": False, "namespace": False, "remote_config": False}
    assert result["components"] == {} and result["accounts"] is None and result["endpoints"] == []
    with pytest.raises(InputError, match=r"^namespace: required: deployment 'dep' is not in"):
        step.run(FakeModule(sandbox.kubeconfig, deployment="dep", solo_home=str(tmp_path)))
