"""The compare-and-swap primitive over a ConfigMap's data, against the in-memory API of ``fakes.py``.

The fake answers as the API server does (stale resourceVersion → 409 Conflict, existing name → 409 AlreadyExists,
missing namespace → 404 on create, missing object → 404 on replace), so every branch of the loop is driven by the
same answers a cluster gives. The concurrency tests end with the control experiments: the same interleaving without
the retry, and without the resourceVersion, loses updates.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from kubernetes.client import ApiClient
from urllib3.exceptions import MaxRetryError, ProtocolError

from ansible_collections.hiero.solo.plugins.module_utils import _configmap as cm
from ansible_collections.hiero.solo.plugins.module_utils._errors import ClusterError, HieroError
from tests.unit.module_utils.fakes import FakeCoreV1Api, status_error

NS = "one-shot"
NAME = "shared-state"


def stored(api: FakeCoreV1Api) -> dict:
    return api.objects[(NS, NAME)]


def with_key(key: str, value: str):
    """A change that sets one key, keeping the rest (the shape every caller's change has)."""

    def change(data):
        return {**(data or {}), key: value}

    return change


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """Record the backoff sleeps instead of sleeping (only the module's clock is replaced)."""
    recorded: list[float] = []
    monkeypatch.setattr(cm, "time", SimpleNamespace(sleep=recorded.append))
    return recorded


# ------------------------------------------------------------------------------------------- single writer


def test_absent_configmap_is_created_with_the_labels_and_change_sees_none():
    api = FakeCoreV1Api()
    seen = []

    def change(data):
        seen.append(data)
        return {"a": "1"}

    assert cm.mutate_configmap(api, NS, NAME, change, labels={"app": "x"}) == ({"a": "1"}, True)
    assert seen == [None]
    assert api.writes == ["create"]
    assert stored(api)["data"] == {"a": "1"}
    assert stored(api)["metadata"]["labels"] == {"app": "x"}


def test_change_returning_none_leaves_an_absent_configmap_absent():
    api = FakeCoreV1Api()
    assert cm.mutate_configmap(api, NS, NAME, lambda data: None) == (None, False)
    assert api.objects == {} and api.writes == []


def test_equal_data_is_not_written_and_none_means_unchanged():
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1"})
    version = stored(api)["metadata"]["resourceVersion"]

    assert cm.mutate_configmap(api, NS, NAME, lambda data: dict(data)) == ({"a": "1"}, False)

    def edits_in_place_but_returns_none(data):
        data["a"] = "2"  # a private copy: this must not reach the cluster

    assert cm.mutate_configmap(api, NS, NAME, edits_in_place_but_returns_none) == ({"a": "1"}, False)
    assert api.writes == [] and api.calls.get("replace", 0) == 0
    assert stored(api)["metadata"]["resourceVersion"] == version
    assert stored(api)["data"] == {"a": "1"}


def test_replace_uses_the_read_resource_version_and_keeps_annotations_and_labels():
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1", "b": "2"}, labels={"team": "x"}, annotations={"note": "by hand"})
    version = stored(api)["metadata"]["resourceVersion"]

    data, changed = cm.mutate_configmap(api, NS, NAME, with_key("b", "3"), labels={"app": "y"})

    assert (data, changed) == ({"a": "1", "b": "3"}, True)
    assert api.writes == ["replace"] and api.conflicts == 0
    obj = stored(api)
    assert obj["data"] == {"a": "1", "b": "3"}
    assert obj["metadata"]["labels"] == {"team": "x", "app": "y"}
    assert obj["metadata"]["annotations"] == {"note": "by hand"}
    assert int(obj["metadata"]["resourceVersion"]) > int(version)


def test_a_label_function_gets_the_new_data_and_the_stored_labels():
    api = FakeCoreV1Api()
    calls = []

    def labels(data, existing):
        calls.append((dict(data), existing))
        return {**(existing or {}), "owner": data["owner"]}

    cm.mutate_configmap(api, NS, NAME, with_key("owner", "run-1"), labels=labels)
    cm.mutate_configmap(api, NS, NAME, with_key("owner", "run-2"), labels=labels)

    assert calls == [({"owner": "run-1"}, None), ({"owner": "run-2"}, {"owner": "run-1"})]
    assert stored(api)["metadata"]["labels"] == {"owner": "run-2"}


def test_without_labels_the_stored_labels_stay_as_they_are():
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1"}, labels={"team": "x"})
    cm.mutate_configmap(api, NS, NAME, with_key("a", "2"))
    assert stored(api)["metadata"]["labels"] == {"team": "x"}


def test_check_mode_returns_the_planned_data_and_writes_nothing():
    api = FakeCoreV1Api()
    assert cm.mutate_configmap(api, NS, NAME, with_key("a", "1"), check_mode=True) == ({"a": "1"}, True)
    assert api.objects == {}

    api.put_configmap(NS, NAME, {"a": "1"})
    assert cm.mutate_configmap(api, NS, NAME, with_key("b", "2"), check_mode=True) == ({"a": "1", "b": "2"}, True)
    assert cm.mutate_configmap(api, NS, NAME, with_key("a", "1"), check_mode=True) == ({"a": "1"}, False)
    assert api.writes == [] and stored(api)["data"] == {"a": "1"}


def test_objects_returned_as_plain_dicts_are_replaced_the_same_way():
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1"}, labels={"team": "x"}, annotations={"note": "kept"})
    as_model = api.read_namespaced_config_map
    to_dict = ApiClient().sanitize_for_serialization
    api.read_namespaced_config_map = lambda name, namespace, **kw: to_dict(as_model(name, namespace))

    assert cm.mutate_configmap(api, NS, NAME, with_key("a", "2"), labels={"app": "y"}) == ({"a": "2"}, True)
    obj = stored(api)
    assert obj["data"] == {"a": "2"}
    assert obj["metadata"]["labels"] == {"team": "x", "app": "y"}
    assert obj["metadata"]["annotations"] == {"note": "kept"}


def test_configmap_parts_of_models_dicts_and_nothing():
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1"})
    version = stored(api)["metadata"]["resourceVersion"]
    assert cm.configmap_parts(api.read_namespaced_config_map(NAME, NS)) == ({"a": "1"}, version)
    assert cm.configmap_parts(stored(api)) == ({"a": "1"}, version)  # a watch event's object
    assert cm.configmap_parts({"metadata": {"resourceVersion": "7"}}) == ({}, "7")
    assert cm.configmap_parts(None) == (None, None)


# ------------------------------------------------------------------------------------------ conflicts, 404s


def test_a_conflict_re_reads_and_re_applies_the_change_to_the_other_writers_data(sleeps):
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1"})
    seen = []

    def other_writer_first():
        api.before_write = None  # once
        api.put_configmap(NS, NAME, {"a": "1", "other": "yes"})

    def change(data):
        seen.append(dict(data))
        return {**data, "mine": "yes"}

    api.before_write = other_writer_first
    data, changed = cm.mutate_configmap(api, NS, NAME, change)

    assert changed and api.conflicts == 1
    assert seen == [{"a": "1"}, {"a": "1", "other": "yes"}]
    assert stored(api)["data"] == data == {"a": "1", "other": "yes", "mine": "yes"}
    assert len(sleeps) == 1


def test_losing_a_create_race_re_reads_and_applies_the_change_to_the_winners_data(sleeps):
    api = FakeCoreV1Api()

    def other_creator_wins():
        api.before_write = None
        api.put_configmap(NS, NAME, {"winner": "yes"})

    api.before_write = other_creator_wins
    data, changed = cm.mutate_configmap(api, NS, NAME, with_key("mine", "yes"))

    assert api.conflicts == 1  # the AlreadyExists
    assert changed and api.writes == ["replace"]
    assert stored(api)["data"] == data == {"winner": "yes", "mine": "yes"}


def test_deleted_between_read_and_replace_starts_over_and_creates(sleeps):
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1"})
    seen = []

    def someone_deletes_it():
        api.before_write = None
        api.delete_namespaced_config_map(NAME, NS)

    def change(data):
        seen.append(data)
        return {**(data or {}), "mine": "yes"}

    api.before_write = someone_deletes_it
    assert cm.mutate_configmap(api, NS, NAME, change) == ({"mine": "yes"}, True)
    assert seen == [{"a": "1"}, None]
    assert api.writes == ["create"]
    assert stored(api)["data"] == {"mine": "yes"}


def test_a_missing_namespace_raises_the_callers_error_or_a_cluster_error():
    api = FakeCoreV1Api(namespaces=())

    class NoNamespace(HieroError):
        pass

    with pytest.raises(NoNamespace, match="gone: one-shot") as caught:
        cm.mutate_configmap(
            api, NS, NAME, with_key("a", "1"), on_missing_namespace=lambda ns: NoNamespace(f"gone: {ns}")
        )
    assert caught.value.__cause__.status == 404

    with pytest.raises(
        ClusterError, match=r'cannot create ConfigMap one-shot/shared-state: 404 NotFound: namespaces "one-shot"'
    ):
        cm.mutate_configmap(api, NS, NAME, with_key("a", "1"))
    assert api.objects == {}


def test_other_api_errors_name_the_action_and_the_configmap():
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1"})
    api.fail_replace_with = status_error(403, "Forbidden", "configmaps is forbidden: User cannot update")
    with pytest.raises(ClusterError, match="cannot replace ConfigMap one-shot/shared-state: 403 Forbidden"):
        cm.mutate_configmap(api, NS, NAME, with_key("a", "2"))

    def forbidden_read(name, namespace, **_kw):
        raise status_error(403, "Forbidden", "configmaps is forbidden: User cannot get")

    api.read_namespaced_config_map = forbidden_read
    with pytest.raises(ClusterError, match="cannot read ConfigMap one-shot/shared-state: 403 Forbidden"):
        cm.mutate_configmap(api, NS, NAME, with_key("a", "2"))
    with pytest.raises(ClusterError, match="cannot read ConfigMap one-shot/shared-state: 403 Forbidden"):
        cm.read_configmap(api, NS, NAME)


def test_an_unreachable_api_server_is_a_cluster_error():
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"a": "1"})
    api.fail_replace_with = ProtocolError("Connection aborted.", ConnectionResetError(104, "reset"))
    with pytest.raises(ClusterError, match="cannot replace ConfigMap one-shot/shared-state: cannot reach the Kube"):
        cm.mutate_configmap(api, NS, NAME, with_key("a", "2"))

    def refused(name, namespace, **_kw):
        raise MaxRetryError(None, "/api/v1/namespaces/one-shot/configmaps/shared-state", "Connection refused")

    api.read_namespaced_config_map = refused
    with pytest.raises(ClusterError, match="cannot read ConfigMap one-shot/shared-state: cannot reach the Kube"):
        cm.mutate_configmap(api, NS, NAME, with_key("a", "2"))
    assert stored(api)["data"] == {"a": "1"}


def test_read_configmap_is_none_when_absent_even_without_a_namespace():
    assert cm.read_configmap(FakeCoreV1Api(), NS, NAME) is None
    assert cm.read_configmap(FakeCoreV1Api(namespaces=()), NS, NAME) is None


def test_retries_are_bounded_and_the_error_names_the_configmap_and_the_attempts(sleeps):
    api = FakeCoreV1Api()
    api.put_configmap(NS, NAME, {"n": "0"})
    counter = {"n": 0}

    def always_someone_first():
        counter["n"] += 1
        api.put_configmap(NS, NAME, {"n": "0", "other": str(counter["n"])})

    applied = []

    def change(data):
        applied.append(1)
        return {**data, "mine": "yes"}

    api.before_write = always_someone_first
    with pytest.raises(
        HieroError,
        match=r"cannot replace ConfigMap one-shot/shared-state: it was changed by another writer 4 time\(s\)",
    ) as caught:
        cm.mutate_configmap(api, NS, NAME, change, retries=3)

    assert caught.value.result == {"attempts": 4}
    assert len(applied) == 4 and api.conflicts == 4
    assert "mine" not in stored(api)["data"]
    # one growing, jittered sleep between attempts, none after the last
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        nominal = cm.BACKOFF_BASE_S * 2**attempt
        assert 0.5 * nominal <= delay <= 1.5 * nominal


def test_backoff_grows_is_capped_and_jittered():
    for attempt in range(30):
        nominal = min(cm.BACKOFF_MAX_S, cm.BACKOFF_BASE_S * 2**attempt)
        delays = {cm.backoff_delay(attempt) for _ in range(20)}
        assert all(0.5 * nominal <= delay <= 1.5 * nominal for delay in delays)
        assert len(delays) > 1  # jittered: writers that collided do not retry in lockstep
    assert max(cm.backoff_delay(100) for _ in range(50)) <= 1.5 * cm.BACKOFF_MAX_S


# ------------------------------------------------------------------------------------------- concurrency

WRITERS = 20


def _increment(data):
    return {**data, "count": str(int(data["count"]) + 1)}


def _run_writers(api: FakeCoreV1Api, write) -> list[BaseException]:
    """Every writer's first read waits at a barrier, so all start from the same resourceVersion."""
    api.put_configmap(NS, NAME, {"count": "0"})
    api.read_barrier = threading.Barrier(WRITERS, timeout=30)
    api.barrier_reads = 0
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer() -> None:
        try:
            write()
        except BaseException as exc:  # collected for the assertions
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()
    return errors


def test_twenty_concurrent_increments_lose_nothing():
    api = FakeCoreV1Api()
    # Each conflict is caused by another writer's success, so WRITERS - 1 retries always suffice.
    errors = _run_writers(api, lambda: cm.mutate_configmap(api, NS, NAME, _increment, retries=WRITERS - 1))
    assert errors == []
    assert stored(api)["data"] == {"count": str(WRITERS)}
    assert api.conflicts >= WRITERS - 1  # the interleaving really happened
    assert api.writes == ["replace"] * WRITERS


def test_without_the_retry_the_same_interleaving_loses_updates():
    api = FakeCoreV1Api()
    errors = _run_writers(api, lambda: cm.mutate_configmap(api, NS, NAME, _increment, retries=0))
    assert stored(api)["data"] == {"count": "1"}  # 19 increments lost ...
    assert len(errors) == WRITERS - 1  # ... but every loser was told
    assert all(isinstance(e, HieroError) and "changed by another writer 1 time(s)" in str(e) for e in errors)


def test_without_the_resource_version_the_same_interleaving_loses_updates_silently():
    # solo's persist: read, change, write the whole object back unconditionally (last writer wins)
    api = FakeCoreV1Api()

    def last_writer_wins():
        current = api.read_namespaced_config_map(NAME, NS)
        current.data = _increment(current.data)
        current.metadata.resource_version = None
        api.replace_namespaced_config_map(NAME, NS, current)

    errors = _run_writers(api, last_writer_wins)
    assert errors == [] and api.conflicts == 0
    assert stored(api)["data"] == {"count": "1"}
