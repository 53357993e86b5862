"""The deployment step's rules: the remote config it converges to, input checks, and delete's local cleanup."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest
from kubernetes.client.exceptions import ApiException

from ansible_collections.hiero.solo.plugins.module_utils import _local_config
from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps import deployment as step

SPEC = argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, step.DEPLOYMENT_ARG_SPEC)
ALL = {"block_node": True, "mirror_node": True, "explorer": True, "relay": True}


class FakeModule:
    def __init__(self, clients=None, check_mode=False, **params):
        self.params = {name: spec.get("default") for name, spec in SPEC.items()}
        self.params.update(params)
        self.check_mode = check_mode
        self.diff_mode = True
        self._clients = clients
        self.warnings: list[str] = []
        self.ansible_module = SimpleNamespace(no_log_values=set())

    def clients(self):
        if self._clients is None:
            raise AssertionError("the cluster must not be contacted")
        return self._clients

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


def _document(aliases=("node1",), components=None, doc=None):
    return step.desired_document(
        doc,
        deployment="one-shot",
        namespace="one-shot",
        cluster_ref="one-shot",
        aliases=list(aliases),
        components=components or step.DEFAULT_COMPONENTS,
    )


def test_a_new_deployment_registers_nodes_and_components_as_solo_one_shot_does():
    doc = _document(("node1", "node2"), ALL)
    state = doc["state"]
    assert [c["metadata"]["id"] for c in state["consensusNodes"]] == [1, 2]
    assert state["componentIds"]["consensusNodes"] == 3
    for kind in ("blockNodes", "mirrorNodes", "explorers", "relayNodes"):
        assert [c["metadata"] for c in state[kind]] == [
            {"id": 1, "namespace": "one-shot", "cluster": "one-shot", "phase": "requested"}
        ], kind
        assert state["componentIds"][kind] == 1, "one-shot registers with skipIncrement"
    assert state["relayNodes"][0]["consensusNodeIds"] == [0, 1]
    assert doc["history"]["commands"] == ["deployment cluster attach"]


def test_the_document_is_a_fixed_point_so_a_rerun_writes_nothing():
    doc = _document(("node1", "node2"), ALL)
    assert _document(("node1", "node2"), ALL, doc=copy.deepcopy(doc)) == doc


def test_default_components_leave_the_block_node_out():
    doc = _document()
    assert doc["state"]["blockNodes"] == []
    assert len(doc["state"]["mirrorNodes"]) == 1


def test_a_toggle_turned_off_unregisters_a_requested_component_but_keeps_a_deployed_one():
    doc = _document(components=ALL)
    doc["state"]["mirrorNodes"][0]["metadata"]["phase"] = "deployed"
    off = {"block_node": False, "mirror_node": False, "explorer": False, "relay": True}
    after = _document(components=off, doc=copy.deepcopy(doc))
    assert after["state"]["explorers"] == [] and after["state"]["blockNodes"] == []
    assert after["state"]["mirrorNodes"] == doc["state"]["mirrorNodes"]
    assert step.deployed_but_disabled(after, off) == ["mirrorNodes id 1 (deployed)"]


def test_nodes_can_be_added_and_removal_is_refused_before_any_write():
    doc = _document(("node1",))
    grown = _document(("node1", "node2"), doc=copy.deepcopy(doc))
    assert [c["metadata"]["id"] for c in grown["state"]["consensusNodes"]] == [1, 2]
    assert grown["state"]["componentIds"]["consensusNodes"] == 3
    with pytest.raises(InputError) as info:
        step.check_existing_document(grown, "one-shot", "one-shot", ["node1"])
    assert info.value.field == "num_consensus_nodes" and "node2" in info.value.msg


def test_a_namespace_holding_another_deployment_is_refused():
    doc = _document()
    with pytest.raises(InputError) as info:
        step.check_existing_document(doc, "other", "one-shot", ["node1"])
    assert info.value.msg.startswith("namespace: namespace one-shot holds the remote config of deployment one-shot")


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"warp_drive": True}, "components.warp_drive"),
        ({"relay": "maybe"}, "components.relay"),
        ("all", "components"),
    ],
)
def test_bad_components_name_the_field(value, field):
    with pytest.raises(InputError) as info:
        step.check_components(value)
    assert info.value.field == field


def test_components_accept_booleans_as_strings_and_keep_defaults():
    assert step.check_components({"explorer": "false"}) == {**step.DEFAULT_COMPONENTS, "explorer": False}


def test_bad_register_steps_name_the_step():
    with pytest.raises(InputError) as info:
        step.check_register_steps({"keys": "done"})
    assert info.value.field == "register_steps.keys"
    assert step.check_register_steps({"keys": "pending", "pinger": "skipped"}) == {
        "keys": "pending",
        "pinger": "skipped",
    }


def test_delete_prunes_cluster_refs_no_other_deployment_uses():
    doc = _local_config.new_document({"name": "u", "hostname": "h"})
    doc["clusterRefs"] = {"a": "ctx-a", "b": "ctx-b", "loose": "ctx"}
    doc["deployments"] = [
        {"name": "one", "namespace": "one", "clusters": ["a"], "realm": 0, "shard": 0},
        {"name": "two", "namespace": "two", "clusters": ["b"], "realm": 0, "shard": 0},
    ]
    step.prune_local(doc, "one")
    assert [d["name"] for d in doc["deployments"]] == ["two"]
    assert doc["clusterRefs"] == {"b": "ctx-b"}


def test_present_refuses_an_unconnected_cluster_ref_without_contacting_the_cluster(tmp_path):
    module = FakeModule(deployment="one-shot", cluster_ref="one-shot", solo_home=str(tmp_path))
    with pytest.raises(InputError) as info:
        step.run(module)
    assert info.value.field == "cluster_ref" and "not connected" in info.value.msg
    assert not (tmp_path / "local-config.yaml").exists()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"deployment": "One_Shot"}, "deployment"),
        ({"namespace": "ns."}, "namespace"),
        ({"cluster_ref": None}, "cluster_ref"),
        ({"num_consensus_nodes": 0}, "num_consensus_nodes"),
        ({"realm": -1}, "realm"),
        ({"run_id": "a b"}, "run_id"),
        ({"wait_for": ["cluster_ref"]}, "wait_for"),  # without run_id
    ],
)
def test_present_checks_every_input_first(tmp_path, params, field):
    module = FakeModule(**{"deployment": "one-shot", "cluster_ref": "one-shot", "solo_home": str(tmp_path), **params})
    with pytest.raises(InputError) as info:
        step.run(module)
    assert info.value.field == field


class MissingNamespaceCore:
    """A cluster whose deployment namespace is already gone (consensus network destroy deleted it)."""

    def __init__(self):
        self.calls: list[str] = []

    def read_namespace(self, name):
        self.calls.append(f"read_namespace {name}")
        raise ApiException(status=404, reason="Not Found")

    def __getattr__(self, name):
        raise AssertionError(f"unexpected call {name}")


def test_absent_after_the_namespace_is_gone_cleans_the_local_config_only(tmp_path):
    def seed(doc):
        _local_config.set_cluster_ref(doc, "one-shot", "kind-solo")
        _local_config.set_deployment(doc, "one-shot", "one-shot")
        _local_config.attach_cluster(doc, "one-shot", "one-shot")

    _local_config.mutate(str(tmp_path), seed)
    core = MissingNamespaceCore()
    module = FakeModule(SimpleNamespace(core=core), state="absent", deployment="one-shot", solo_home=str(tmp_path))
    result = step.run(module)
    assert result["changed"] is True
    assert result["changes"] == {"remote_config": False, "run_state": False, "local_config": True}
    assert core.calls == ["read_namespace one-shot"]
    doc = _local_config.read(str(tmp_path))
    assert doc["deployments"] == [] and doc["clusterRefs"] == {}
    assert module.params["context"] == "kind-solo"  # the deployment's cluster ref chose the context
    again = step.run(
        FakeModule(SimpleNamespace(core=core), state="absent", deployment="one-shot", solo_home=str(tmp_path))
    )
    assert again["changed"] is False
    assert json.dumps(result["diff"])  # serialisable for Ansible
