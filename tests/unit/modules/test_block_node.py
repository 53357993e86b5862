"""The block_node step's rules: release id, values, health port, and the remote config on add and destroy."""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps import block_node as step

NS = "one-shot"


def _doc(aliases=("node1", "node2"), registered=True):
    doc = _remote_config.new_document("one-shot", NS, "one-shot", node_aliases=list(aliases))
    if registered:  # as the deployment step registers it for one-shot
        component = _remote_config.new_component("blockNodes", 1, NS, "one-shot")
        _remote_config.add_component(doc, "blockNodes", component, increment_id=False)
    return doc


def _added(doc, mapping=None, limits=None):
    return step.desired_document(
        copy.deepcopy(doc),
        namespace=NS,
        component_id=1,
        version="0.39.0",
        mapping=mapping or {"node1": 1, "node2": 1},
        limits=limits or {},
    )


def test_the_registered_block_node_gives_the_release_name():
    assert step.component_id_of(_doc(), None) == 1
    assert step.release_name(step.component_id_of(_doc(), None)) == "block-node-1"
    assert step.component_id_of(_doc(registered=False), None) == 1
    with pytest.raises(InputError, match="component_id"):
        step.component_id_of(_doc(), 0)


def test_add_deploys_the_component_and_maps_it_into_every_consensus_node():
    doc = _added(_doc())
    block = doc["state"]["blockNodes"][0]["metadata"]
    assert block["phase"] == "deployed"
    assert doc["versions"]["blockNodeChart"] == "0.39.0"
    assert [c["blockNodeMap"] for c in doc["state"]["consensusNodes"]] == [[[1, 1]], [[1, 1]]]
    assert doc["history"]["lastExecutedCommand"] == "block node add"
    assert _added(doc) == doc, "a re-run adds nothing twice"


def test_priority_mapping_as_solo_parses_it():
    assert step.priority_mapping(None, ["node1", "node2"]) == {"node1": 1, "node2": 1}
    assert step.priority_mapping("node2=3,node1", ["node1", "node2"]) == {"node2": 3, "node1": 1}
    with pytest.raises(InputError, match="node7"):
        step.priority_mapping("node7=1", ["node1"])
    doc = _added(_doc(), mapping={"node2": 3})
    assert [c["blockNodeMap"] for c in doc["state"]["consensusNodes"]] == [[], [[1, 3]]]


def test_message_size_limits_are_recorded():
    doc = _added(_doc(), limits={"blockNodeMessageSizeSoftLimitBytes": 1000})
    assert doc["state"]["blockNodeMessageSizeSoftLimitBytes"] == 1000


def test_destroy_removes_the_component_and_the_map_entries():
    doc = step.removed_document(_added(_doc()), component_id=1)
    assert doc["state"]["blockNodes"] == []
    assert [c["blockNodeMap"] for c in doc["state"]["consensusNodes"]] == [[], []]
    assert step.removed_document(copy.deepcopy(doc), component_id=1) == doc
    assert step.removed_document(None, component_id=1) is None


def test_values_name_the_release_and_add_backfill_from_other_block_nodes():
    doc = _doc()
    _remote_config.add_component(doc, "blockNodes", _remote_config.new_component("blockNodes", 2, NS, "one-shot"))
    values = step.desired_values("block-node-1", 1, doc, NS, section={}, roster=None, user_values=[])
    assert values["nameOverride"] == "block-node-1"
    assert values["blockNode"]["backfill"]["sources"] == [
        {"address": "block-node-2.one-shot.svc.cluster.local", "port": 40840, "priority": 1}
    ]
    assert "initContainers" not in values["blockNode"]


def test_the_rsa_bootstrap_seeds_the_roster_through_an_init_container():
    roster = json.dumps({"addressBooks": []})
    values = step.desired_values("block-node-1", 1, _doc(), NS, section={}, roster=roster, user_values=[])
    init = values["blockNode"]["initContainers"][0]
    assert init["name"] == "init-storage-dirs"
    assert roster in init["command"][2]
    assert values["blockNode"]["config"]["ROSTER_BOOTSTRAP_RSA_MIRROR_NODE_BASE_URL"] == "http://mirror-1-restjava:80"


def test_the_health_port_moved_in_block_node_0_39():
    assert step.health_port("0.39.0") == 40983
    assert step.health_port("0.38.2") == 40840
