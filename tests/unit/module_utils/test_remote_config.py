"""solo's remote config ConfigMap: document shape, component helpers, and read-modify-write with resourceVersion."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config as rc
from ansible_collections.hiero.solo.plugins.module_utils._errors import ClusterError, HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._local_config import yaml_load
from tests.unit.module_utils.fakes import RemoteConfigApi as FakeCoreV1Api
from tests.unit.module_utils.fakes import status_error

NS = "one-shot"
IDENTITY = {"name": "tester", "hostname": "test-host"}
FIXED_NOW = datetime(2026, 8, 21, 10, 0, 0, 123456, tzinfo=timezone.utc)


def attached_document(nodes: int = 3) -> dict[str, Any]:
    return rc.new_document(
        "one-shot",
        NS,
        "one-shot",
        "kind-solo-cluster",
        node_aliases=rc.node_aliases(nodes),
        identity=IDENTITY,
        now=FIXED_NOW,
    )


def create_if_absent(doc):
    return doc if doc is not None else attached_document()


def keys_sorted_everywhere(node: Any) -> bool:
    if isinstance(node, dict):
        keys = list(node)
        return keys == sorted(keys) and all(keys_sorted_everywhere(v) for v in node.values())
    if isinstance(node, list):
        return all(keys_sorted_everywhere(v) for v in node)
    return True


# ---------------------------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------------------------


def test_new_document_is_what_cluster_attach_writes() -> None:
    assert attached_document(3) == {
        "schemaVersion": 8,
        "metadata": {"lastUpdatedAt": "2026-08-21T10:00:00.123Z", "lastUpdatedBy": IDENTITY},
        "versions": {
            "cli": "0.87.1",
            "chart": "0.0.0",
            "consensusNode": "0.0.0",
            "mirrorNodeChart": "0.0.0",
            "explorerChart": "0.0.0",
            "jsonRpcRelayChart": "0.0.0",
            "blockNodeChart": "0.0.0",
        },
        "clusters": [
            {
                "name": "one-shot",
                "namespace": "one-shot",
                "deployment": "one-shot",
                "dnsBaseDomain": "cluster.local",
                "dnsConsensusNodePattern": "network-{nodeAlias}-svc.{namespace}.svc",
            }
        ],
        "state": {
            "ledgerPhase": "uninitialized",
            "componentIds": {
                "consensusNodes": 4,
                "blockNodes": 1,
                "mirrorNodes": 1,
                "relayNodes": 1,
                "haProxies": 1,
                "envoyProxies": 1,
                "explorers": 1,
                "postgres": 1,
                "redis": 1,
            },
            "consensusNodes": [
                {
                    "metadata": {"id": i, "namespace": "one-shot", "cluster": "one-shot", "phase": "requested"},
                    "blockNodeMap": [],
                    "externalBlockNodeMap": [],
                }
                for i in (1, 2, 3)
            ],
            "blockNodes": [],
            "mirrorNodes": [],
            "relayNodes": [],
            "haProxies": [],
            "envoyProxies": [],
            "explorers": [],
            "externalBlockNodes": [],
            "postgres": [],
            "redis": [],
        },
        "history": {"commands": ["deployment cluster attach"], "lastExecutedCommand": "deployment cluster attach"},
    }
    rc.validate(attached_document())


def test_yaml_text_has_sorted_keys_and_round_trips() -> None:
    doc = attached_document(2)
    text = rc.dumps(doc)
    parsed = yaml_load(text, "t")
    assert parsed == doc
    assert keys_sorted_everywhere(parsed)
    assert text.startswith("clusters:\n  - deployment: one-shot\n")
    assert "  lastUpdatedAt: 2026-08-21T10:00:00.123Z\n" in text  # a string, as JavaScript wrote it
    assert rc.loads(text) == doc
    assert rc.loads("{}") is None and rc.loads("") is None and rc.loads(None) is None


def test_component_ids_and_aliases() -> None:
    assert rc.component_id_for_alias("node1") == 1
    assert rc.component_id_for_alias("node10") == 10
    assert rc.alias_for_component_id(7) == "node7"
    assert rc.node_aliases(3) == ["node1", "node2", "node3"]
    for bad in ("node", "12", ""):
        with pytest.raises(InputError, match=r"^node_alias: "):
            rc.component_id_for_alias(bad)


def test_new_component_shapes() -> None:
    relay = rc.new_component("relayNodes", 1, NS, "one-shot", consensus_node_ids=[0, 1, 2])
    assert relay == {
        "metadata": {"id": 1, "namespace": NS, "cluster": "one-shot", "phase": "requested"},
        "consensusNodeIds": [0, 1, 2],
    }
    explorer = rc.new_component("explorers", 1, NS, "one-shot", "deployed", version="26.2.0")
    assert explorer["version"] == "26.2.0" and explorer["metadata"]["phase"] == "deployed"
    mirror = rc.new_component("mirrorNodes", 2, NS, "c", port_forward_configs=[{"localPort": 38081, "podPort": 80}])
    assert mirror == {
        "metadata": {
            "id": 2,
            "namespace": NS,
            "cluster": "c",
            "phase": "requested",
            "portForwardConfigs": [{"localPort": 38081, "podPort": 80}],
        }
    }
    assert set(rc.new_component("consensusNodes", 1, NS, "c")) == {"metadata", "blockNodeMap", "externalBlockNodeMap"}
    with pytest.raises(InputError, match=r"^kind: expected one of consensusNodes"):
        rc.new_component("mirrors", 1, NS, "c")
    with pytest.raises(InputError, match=r"^phase: expected one of requested, deployed, configured, started"):
        rc.new_component("mirrorNodes", 1, NS, "c", "running")


def test_add_update_remove_components() -> None:
    doc = attached_document(1)
    assert rc.next_id(doc, "mirrorNodes") == 1
    assert rc.add_component(
        doc, "mirrorNodes", rc.new_component("mirrorNodes", rc.next_id(doc, "mirrorNodes"), NS, "c")
    )
    assert rc.next_id(doc, "mirrorNodes") == 2  # solo's addNewComponent bumps the counter
    assert rc.add_component(doc, "mirrorNodes", rc.new_component("mirrorNodes", 1, NS, "c", "started")) is False
    assert rc.get_component(doc, "mirrorNodes", 1)["metadata"]["phase"] == "requested"  # existing one kept
    # one-shot's pre-registration adds without moving the counter (skipIncrement)
    assert rc.add_component(doc, "explorers", rc.new_component("explorers", 1, NS, "c"), increment_id=False)
    assert rc.next_id(doc, "explorers") == 1

    assert rc.set_phase(doc, "mirrorNodes", 1, "deployed") is True
    assert rc.set_phase(doc, "mirrorNodes", 1, "deployed") is False
    assert rc.update_component(doc, "consensusNodes", 1, phase="configured", blockNodeMap=[[1, 1]]) is True
    node1 = rc.get_component(doc, "consensusNodes", 1)
    assert node1["metadata"]["phase"] == "configured" and node1["blockNodeMap"] == [[1, 1]]
    pf = [{"localPort": 35211, "podPort": 50211}]
    assert rc.update_component(doc, "consensusNodes", 1, portForwardConfigs=pf) is True
    assert node1["metadata"]["portForwardConfigs"] == pf
    with pytest.raises(InputError, match=r"^phase: "):
        rc.set_phase(doc, "mirrorNodes", 1, "running")
    with pytest.raises(HieroError, match="no relayNodes component with id 1"):
        rc.set_phase(doc, "relayNodes", 1, "deployed")
    with pytest.raises(InputError, match=r"^id: "):
        rc.update_component(doc, "mirrorNodes", 1, id=5)

    assert rc.component_phases(doc) == {
        "consensusNodes": "configured",
        "mirrorNodes": "deployed",
        "explorers": "requested",
    }
    assert rc.phase_at_least("started", "deployed") and not rc.phase_at_least("requested", "deployed")
    assert rc.remove_component(doc, "mirrorNodes", 1) is True
    assert rc.remove_component(doc, "mirrorNodes", 1) is False
    assert rc.components(doc, "mirrorNodes") == []
    rc.validate(doc)


def test_versions_ledger_phase_clusters_history() -> None:
    doc = attached_document(1)
    assert rc.set_version(doc, "mirrorNodes", "v0.160.0") is True
    assert doc["versions"]["mirrorNodeChart"] == "0.160.0"  # solo's SemanticVersion drops the v
    assert rc.set_version(doc, "mirrorNodeChart", "0.160.0") is False
    assert rc.set_version(doc, "consensusNodes", "v0.75.1") and rc.get_version(doc, "consensusNode") == "0.75.1"
    assert rc.get_version(doc, "relayNodes") == "0.0.0"
    with pytest.raises(InputError, match=r"^version field: "):
        rc.set_version(doc, "haProxies", "1.0.0")
    assert rc.set_ledger_phase(doc, "initialized") is True and rc.set_ledger_phase(doc, "initialized") is False
    with pytest.raises(InputError, match=r"^ledger_phase: "):
        rc.set_ledger_phase(doc, "booted")
    assert rc.add_cluster(doc, "second", "ns2", "one-shot") is True
    assert rc.add_cluster(doc, "second", "ns2", "one-shot") is False
    for index in range(60):
        rc.record_command(doc, f"command {index}")
    assert len(doc["history"]["commands"]) == 50
    assert doc["history"]["commands"][0] == "command 10"
    assert doc["history"]["lastExecutedCommand"] == "command 59"
    rc.validate(doc)


def broken(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = attached_document(2)
    change(doc)
    return doc


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "expected a mapping"),
        (broken(_set("schemaVersion", 7)), "schemaVersion: expected 8, got 7; it was written by an older solo"),
        (broken(_set("schemaVersion", 9)), "schemaVersion: expected 8, got 9; it was written by a newer solo"),
        (broken(lambda d: d.pop("state")), "field state: expected a mapping"),
        (broken(_set("clusters", {})), "field clusters: expected a list"),
        (broken(lambda d: d["clusters"][0].pop("name")), r"field clusters\[0\]\.name"),
        (broken(_set("state.ledgerPhase", "booted")), "field state.ledgerPhase: expected one of uninitialized"),
        (broken(_set("state.componentIds", [])), "field state.componentIds: expected a mapping"),
        (broken(_set("state.componentIds.mirrorNodes", "x")), r"field state\.componentIds\.mirrorNodes"),
        (broken(_set("state.mirrorNodes", {})), "field state.mirrorNodes: expected a list"),
        (
            broken(_set("state.consensusNodes.1.metadata.phase", "running")),
            r"field state\.consensusNodes\[1\]\.metadata\.phase: expected one of requested",
        ),
        (
            broken(_set("state.consensusNodes.1.metadata.id", 1)),
            r"consensusNodes\[1\]\.metadata\.id: expected an id not",
        ),
        (broken(_set("state.consensusNodes.0.metadata", None)), r"consensusNodes\[0\]\.metadata: expected a mapping"),
        (broken(_set("history.commands", "x")), "field history.commands: expected a list"),
    ],
)
def test_validate_names_the_field(doc: Any, message: str) -> None:
    with pytest.raises(HieroError, match=message):
        rc.validate(doc)


# ---------------------------------------------------------------------------------------------------------------
# The ConfigMap
# ---------------------------------------------------------------------------------------------------------------


def test_load_absent_and_placeholder() -> None:
    api = FakeCoreV1Api()
    assert rc.load(api, NS) == (None, None)
    api.seed(NS, "{}")  # solo creates the ConfigMap with '{}' and fills it afterwards
    doc, rv = rc.load(api, NS)
    assert doc is None and rv == api.objects[(NS, rc.CONFIGMAP_NAME)]["metadata"]["resourceVersion"]


def test_mutate_creates_when_fn_returns_a_document() -> None:
    api = FakeCoreV1Api()
    doc, changed = rc.mutate(api, NS, create_if_absent)
    assert changed is True and api.writes == ["create"]
    stored = api.objects[(NS, rc.CONFIGMAP_NAME)]
    assert stored["metadata"]["labels"] == {"solo.hedera.com/type": "remote-config"}
    assert list(stored["data"]) == ["remote-config-data"]
    assert stored["data"]["remote-config-data"] == rc.dumps(doc)
    assert api.stored_doc() == doc == attached_document()
    assert rc.load(api, NS) == (doc, stored["metadata"]["resourceVersion"])


def test_mutate_leaves_absent_config_absent_when_fn_declines() -> None:
    api = FakeCoreV1Api()
    assert rc.mutate(api, NS, lambda doc: doc) == (None, False)
    assert api.writes == [] and api.objects == {}


def test_mutate_fills_the_placeholder_with_a_replace() -> None:
    api = FakeCoreV1Api()
    api.seed(NS, "{}")
    doc, changed = rc.mutate(api, NS, create_if_absent)
    assert changed and api.writes == ["replace"] and api.stored_doc() == doc


def test_no_op_mutate_does_not_write() -> None:
    api = FakeCoreV1Api()
    rc.mutate(api, NS, create_if_absent)
    rv_before = api.objects[(NS, rc.CONFIGMAP_NAME)]["metadata"]["resourceVersion"]
    _doc, changed = rc.mutate(api, NS, create_if_absent)  # the document exists: fn returns it unchanged
    assert changed is False and api.writes == ["create"]

    def set_requested(doc):
        rc.set_phase(doc, "consensusNodes", 1, "requested")  # already requested
        return doc

    assert rc.mutate(api, NS, set_requested)[1] is False
    assert api.writes == ["create"]
    assert api.objects[(NS, rc.CONFIGMAP_NAME)]["metadata"]["resourceVersion"] == rv_before


def test_mutate_in_place_and_check_mode() -> None:
    api = FakeCoreV1Api()
    rc.mutate(api, NS, create_if_absent)

    def start_node1(doc):
        rc.set_phase(doc, "consensusNodes", 1, "started")  # changes in place, returns None

    doc, changed = rc.mutate(api, NS, start_node1, check_mode=True)
    assert changed is True and rc.get_component(doc, "consensusNodes", 1)["metadata"]["phase"] == "started"
    assert api.writes == ["create"]  # check mode wrote nothing
    doc, changed = rc.mutate(api, NS, start_node1)
    assert changed and api.writes == ["create", "replace"]
    assert rc.get_component(api.stored_doc(), "consensusNodes", 1)["metadata"]["phase"] == "started"


def test_unknown_fields_survive_a_mutate() -> None:
    api = FakeCoreV1Api()
    doc = attached_document(2)
    doc["futureSection"] = {"answer": 42, "mode": "on"}
    doc["metadata"]["signature"] = "abc"
    doc["versions"]["futureChart"] = "1.2.3"
    doc["state"]["componentIds"]["futureKinds"] = 3
    doc["state"]["futureKinds"] = [{"metadata": {"id": 1}, "x": True}]
    doc["state"]["tssEnabled"] = False
    doc["state"]["blockNodeMessageSizeSoftLimitBytes"] = 4194304
    doc["state"]["consensusNodes"][0]["futureField"] = {"nested": ["a", "b"]}
    doc["state"]["consensusNodes"][0]["metadata"]["futureMeta"] = 1
    doc["history"]["futureHistory"] = []
    api.seed(NS, rc.dumps(doc))

    def advance(d):
        rc.set_phase(d, "consensusNodes", 1, "configured")
        return d

    rc.mutate(api, NS, advance)
    stored = api.stored_doc()
    expected = copy.deepcopy(doc)
    expected["state"]["consensusNodes"][0]["metadata"]["phase"] = "configured"
    assert stored == expected
    assert keys_sorted_everywhere(yaml_load(api.stored_text(), "t"))


def test_conflict_rereads_and_reapplies_fn() -> None:
    api = FakeCoreV1Api()
    rc.mutate(api, NS, create_if_absent)
    calls = []

    def add_mirror(doc):
        calls.append(copy.deepcopy(doc))
        rc.add_component(doc, "mirrorNodes", rc.new_component("mirrorNodes", rc.next_id(doc, "mirrorNodes"), NS, "c"))
        return doc

    def someone_else_adds_a_relay():
        api.before_write = None  # once
        api.concurrent_change(
            lambda d: rc.add_component(
                d, "relayNodes", rc.new_component("relayNodes", 1, NS, "c", consensus_node_ids=[0])
            )
        )

    api.before_write = someone_else_adds_a_relay
    doc, changed = rc.mutate(api, NS, add_mirror)
    assert changed and api.conflicts == 1 and len(calls) == 2
    assert calls[1]["state"]["relayNodes"]  # the second application saw the other writer's change
    stored = api.stored_doc()
    assert [c["metadata"]["id"] for c in stored["state"]["relayNodes"]] == [1]
    assert [c["metadata"]["id"] for c in stored["state"]["mirrorNodes"]] == [1]
    assert stored == doc


def test_create_race_rereads_and_applies_fn_to_the_winners_document() -> None:
    api = FakeCoreV1Api()

    def other_creator_wins():
        api.before_write = None
        winner = attached_document(1)
        winner["history"]["commands"].append("created by the other writer")
        api.seed(NS, rc.dumps(winner))

    api.before_write = other_creator_wins
    doc, changed = rc.mutate(api, NS, create_if_absent)
    assert api.conflicts == 1
    assert changed is False  # the second round found a document and fn left it as it was
    assert "created by the other writer" in doc["history"]["commands"]
    assert api.writes == []


def test_retries_are_bounded() -> None:
    api = FakeCoreV1Api()
    rc.mutate(api, NS, create_if_absent)
    counter = {"n": 0}

    def always_someone_first():
        counter["n"] += 1
        api.concurrent_change(lambda d: rc.record_command(d, f"other {counter['n']}"))

    api.before_write = always_someone_first
    calls = []

    def add_mirror(doc):
        calls.append(1)
        rc.add_component(doc, "mirrorNodes", rc.new_component("mirrorNodes", 1, NS, "c"))
        return doc

    with pytest.raises(HieroError, match=r"ConfigMap one-shot/solo-remote-config: .* 3 time\(s\) in a row; gave up"):
        rc.mutate(api, NS, add_mirror, retries=2)
    assert len(calls) == 3 and api.conflicts == 3
    assert rc.components(api.stored_doc(), "mirrorNodes") == []


def test_api_errors_name_the_configmap() -> None:
    api = FakeCoreV1Api(namespaces=())
    with pytest.raises(
        ClusterError, match=r'cannot create ConfigMap one-shot/solo-remote-config: 404 NotFound: namespaces "one-shot"'
    ):
        rc.mutate(api, NS, create_if_absent)

    api = FakeCoreV1Api()
    rc.mutate(api, NS, create_if_absent)
    api.fail_replace_with = status_error(403, "Forbidden", "configmaps is forbidden: User cannot update")
    with pytest.raises(ClusterError, match="cannot replace ConfigMap one-shot/solo-remote-config: 403 Forbidden"):
        rc.mutate(api, NS, lambda d: rc.set_ledger_phase(d, "initialized") and d)


def test_unreadable_or_foreign_documents_are_never_overwritten() -> None:
    api = FakeCoreV1Api()
    api.seed(NS, "state: [unclosed\n")
    with pytest.raises(
        HieroError, match="ConfigMap one-shot/solo-remote-config key remote-config-data: not valid YAML"
    ):
        rc.mutate(api, NS, create_if_absent)
    api.seed(NS, rc.dumps({**attached_document(), "schemaVersion": 9}))
    with pytest.raises(HieroError, match="written by a newer solo"):
        rc.mutate(api, NS, create_if_absent)
    assert api.writes == []

    api = FakeCoreV1Api()
    rc.mutate(api, NS, create_if_absent)

    def corrupt(doc):
        doc["state"]["consensusNodes"][0]["metadata"]["phase"] = "bogus"
        return doc

    with pytest.raises(HieroError, match=r"consensusNodes\[0\]\.metadata\.phase"):
        rc.mutate(api, NS, corrupt)
    assert api.writes == ["create"]


# ---------------------------------------------------------------------------------------------------------------
# Concurrency: 20 writers, each adding a different component, all read the same resourceVersion first.
# ---------------------------------------------------------------------------------------------------------------

WRITERS = 20


def run_concurrent_adds(api: FakeCoreV1Api, retries: int) -> list[BaseException]:
    rc.mutate(api, NS, create_if_absent)
    api.read_barrier = threading.Barrier(WRITERS, timeout=30)
    api.barrier_reads = 0
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(index: int) -> None:
        def add(doc):
            component_id = rc.next_id(doc, "mirrorNodes")
            component = rc.new_component("mirrorNodes", component_id, NS, f"writer-{index}")
            rc.add_component(doc, "mirrorNodes", component)
            return doc

        try:
            rc.mutate(api, NS, add, retries=retries)
        except BaseException as exc:  # collected and asserted on by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    return errors


def test_twenty_concurrent_mutates_lose_nothing() -> None:
    api = FakeCoreV1Api()
    # Every writer reads the same resourceVersion before any writes, so 19 of the first 20 writes conflict;
    # each conflict is caused by another writer's success, so 19 retries are always enough.
    errors = run_concurrent_adds(api, retries=rc.DEFAULT_RETRIES)
    assert errors == []
    stored = api.stored_doc()
    mirrors = rc.components(stored, "mirrorNodes")
    assert sorted(c["metadata"]["cluster"] for c in mirrors) == sorted(f"writer-{i}" for i in range(WRITERS))
    assert sorted(c["metadata"]["id"] for c in mirrors) == list(range(1, WRITERS + 1))
    assert rc.next_id(stored, "mirrorNodes") == WRITERS + 1
    assert api.conflicts >= WRITERS - 1  # the interleaving really happened
    assert api.writes.count("replace") == WRITERS


def test_without_retry_the_same_interleaving_loses_updates() -> None:
    # The control experiment for the test above: the same schedule with the retry switched off.
    api = FakeCoreV1Api()
    errors = run_concurrent_adds(api, retries=0)
    mirrors = rc.components(api.stored_doc(), "mirrorNodes")
    assert len(mirrors) == 1
    assert len(errors) == WRITERS - 1
    assert all(isinstance(e, HieroError) and "changed by another writer" in str(e) for e in errors)
