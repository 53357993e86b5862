"""The remote config against the sandbox API server: real HTTP, real resourceVersion conflicts.

The ``sandbox`` fixture (tests/sandbox/fixture.py) is registered by the conftest.
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from kubernetes import client, config

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config as rc
from ansible_collections.hiero.solo.plugins.module_utils._client import is_conflict
from ansible_collections.hiero.solo.plugins.module_utils._errors import ClusterError, HieroError
from ansible_collections.hiero.solo.plugins.module_utils._local_config import yaml_load

WRITERS = 20
IDENTITY = {"name": "tester", "hostname": "test-host"}


def _core(sandbox_server) -> client.CoreV1Api:
    # One ApiClient (one connection pool) per writer, as separate module processes would have.
    return client.CoreV1Api(config.new_client_from_config(config_file=str(sandbox_server.kubeconfig)))


@pytest.fixture
def namespace(sandbox) -> str:
    name = f"remote-config-{uuid.uuid4().hex[:8]}"
    _core(sandbox).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def _create(namespace: str):
    def create_if_absent(doc):
        if doc is not None:
            return doc
        return rc.new_document("one-shot", namespace, "one-shot", node_aliases=rc.node_aliases(2), identity=IDENTITY)

    return create_if_absent


class FirstReadWaits:
    """A CoreV1Api whose first ConfigMap read waits at a barrier, so every writer starts from the same
    resourceVersion: the worst interleaving, every time. Everything else goes straight to the real client."""

    def __init__(self, core: client.CoreV1Api, barrier: threading.Barrier) -> None:
        self._core = core
        self._barrier = barrier
        self._waited = False

    def read_namespaced_config_map(self, *args: Any, **kwargs: Any) -> Any:
        result = self._core.read_namespaced_config_map(*args, **kwargs)
        if not self._waited:
            self._waited = True
            self._barrier.wait()
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)


def _concurrent_adds(sandbox, namespace: str, retries: int) -> list[BaseException]:
    rc.mutate(_core(sandbox), namespace, _create(namespace))
    barrier = threading.Barrier(WRITERS, timeout=60)
    apis = [FirstReadWaits(_core(sandbox), barrier) for _ in range(WRITERS)]
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(index: int) -> None:
        def add(doc):
            component = rc.new_component("mirrorNodes", rc.next_id(doc, "mirrorNodes"), namespace, f"writer-{index}")
            rc.add_component(doc, "mirrorNodes", component)
            return doc

        try:
            rc.mutate(apis[index], namespace, add, retries=retries)
        except BaseException as exc:  # collected for the test's assertions
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(index,), daemon=True) for index in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
        assert not thread.is_alive()
    return errors


def test_create_writes_solos_configmap(sandbox, namespace) -> None:
    core = _core(sandbox)
    doc, changed = rc.mutate(core, namespace, _create(namespace))
    assert changed is True
    configmap = core.read_namespaced_config_map("solo-remote-config", namespace)
    assert configmap.metadata.labels == {"solo.hedera.com/type": "remote-config"}
    assert list(configmap.data) == ["remote-config-data"]
    assert configmap.data["remote-config-data"] == rc.dumps(doc)
    assert yaml_load(configmap.data["remote-config-data"], "t") == doc
    listed = core.list_namespaced_config_map(namespace, label_selector=rc.LABEL_SELECTOR)
    assert [item.metadata.name for item in listed.items] == ["solo-remote-config"]
    assert rc.load(core, namespace) == (doc, configmap.metadata.resource_version)

    # a second identical run writes nothing
    assert rc.mutate(core, namespace, _create(namespace)) == (doc, False)
    after = core.read_namespaced_config_map("solo-remote-config", namespace)
    assert after.metadata.resource_version == configmap.metadata.resource_version


def test_the_server_rejects_a_stale_resource_version(sandbox, namespace) -> None:
    core = _core(sandbox)
    rc.mutate(core, namespace, _create(namespace))
    stale = core.read_namespaced_config_map("solo-remote-config", namespace)
    rc.mutate(core, namespace, lambda doc: rc.set_ledger_phase(doc, "initialized") and doc)
    stale.data = {"remote-config-data": "{}"}
    with pytest.raises(client.exceptions.ApiException) as caught:
        core.replace_namespaced_config_map("solo-remote-config", namespace, stale)
    assert is_conflict(caught.value)
    assert rc.load(core, namespace)[0]["state"]["ledgerPhase"] == "initialized"


def test_twenty_concurrent_mutates_lose_nothing(sandbox, namespace) -> None:
    errors = _concurrent_adds(sandbox, namespace, retries=rc.DEFAULT_RETRIES)
    assert errors == []
    doc, _rv = rc.load(_core(sandbox), namespace)
    mirrors = rc.components(doc, "mirrorNodes")
    assert sorted(c["metadata"]["cluster"] for c in mirrors) == sorted(f"writer-{i}" for i in range(WRITERS))
    assert sorted(c["metadata"]["id"] for c in mirrors) == list(range(1, WRITERS + 1))
    assert rc.next_id(doc, "mirrorNodes") == WRITERS + 1
    assert len(rc.components(doc, "consensusNodes")) == 2  # the rest of the document is intact


def test_without_retry_the_same_interleaving_loses_updates(sandbox, namespace) -> None:
    errors = _concurrent_adds(sandbox, namespace, retries=0)
    doc, _rv = rc.load(_core(sandbox), namespace)
    assert len(rc.components(doc, "mirrorNodes")) == 1
    assert len(errors) == WRITERS - 1
    assert all(isinstance(e, HieroError) and "changed by another writer" in str(e) for e in errors)


def test_unknown_fields_survive_the_round_trip(sandbox, namespace) -> None:
    core = _core(sandbox)
    doc = _create(namespace)(None)
    doc["futureSection"] = {"mode": "on", "count": 3}
    doc["state"]["consensusNodes"][0]["futureField"] = ["x"]
    rc.mutate(core, namespace, lambda current: doc if current is None else current)
    rc.mutate(core, namespace, lambda d: rc.set_phase(d, "consensusNodes", 2, "started") and d)
    stored, _rv = rc.load(core, namespace)
    assert stored["futureSection"] == {"mode": "on", "count": 3}
    assert stored["state"]["consensusNodes"][0]["futureField"] == ["x"]
    assert rc.get_component(stored, "consensusNodes", 2)["metadata"]["phase"] == "started"


def test_missing_namespace_is_a_clear_cluster_error(sandbox) -> None:
    with pytest.raises(ClusterError, match=r"cannot create ConfigMap no-such-namespace/solo-remote-config: 404"):
        rc.mutate(_core(sandbox), "no-such-namespace", _create("no-such-namespace"))
