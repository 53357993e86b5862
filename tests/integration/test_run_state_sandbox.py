"""Run-state ConfigMap against the sandbox API server: real HTTP, resourceVersion conflicts and watch streams.

The ``sandbox`` fixture (tests/sandbox/fixture.py) is registered by the conftest.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from kubernetes import client, config

from ansible_collections.hiero.solo.plugins.module_utils import _run_state as run_state
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, WaitTimeout
from tests.integration._ansible import run_playbook


def _core(sandbox_server) -> client.CoreV1Api:
    # one ApiClient (one connection pool) per thread, as separate module processes would have
    return client.CoreV1Api(config.new_client_from_config(config_file=str(sandbox_server.kubeconfig)))


@pytest.fixture
def namespace(sandbox):
    name = f"run-state-{uuid.uuid4().hex[:8]}"
    _core(sandbox).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def _in_thread(target, *args, **kwargs):
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = target(*args, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_register_mark_read_round_trip_through_the_api_server(sandbox, namespace):
    core = _core(sandbox)
    assert run_state.register(core, namespace, "run-1", {"keys": "pending", "block_node": "skipped"})
    assert not run_state.register(core, namespace, "run-1", {"keys": "pending", "block_node": "skipped"})
    run_state.mark(core, namespace, "run-1", "keys", "running")
    run_state.mark(core, namespace, "run-1", "keys", "done")

    configmap = core.read_namespaced_config_map(run_state.CONFIGMAP_NAME, namespace)
    assert configmap.metadata.labels["app.kubernetes.io/managed-by"] == "hiero.solo"
    assert configmap.metadata.labels["hiero.solo/run-id"] == "run-1"
    keys = json.loads(configmap.data["keys"])
    assert keys["status"] == "done" and keys["attempt"] == 1 and keys["started"] <= keys["finished"]
    state = run_state.read(core, namespace)
    assert state.run_id == "run-1"
    assert {step: entry.status for step, entry in state.steps.items()} == {"keys": "done", "block_node": "skipped"}


def test_a_waiter_returns_promptly_after_the_producer_marks_done(sandbox, namespace):
    run_state.register(_core(sandbox), namespace, "run-1", {"mirror_node": "pending", "explorer": "pending"})
    sandbox.reset_stats()
    thread, outcome = _in_thread(run_state.wait_for, _core(sandbox), namespace, "run-1", ["mirror_node"], timeout_s=30)

    time.sleep(1.0)
    assert thread.is_alive(), "the waiter returned before its prerequisite was done"
    producer = _core(sandbox)
    run_state.mark(producer, namespace, "run-1", "mirror_node", "running")
    run_state.mark(producer, namespace, "run-1", "mirror_node", "done")
    marked_at = time.monotonic()
    thread.join(10)

    assert not thread.is_alive() and "error" not in outcome, outcome
    # a watch delivers the change at once; polling with a WATCH_ROUND_S period would usually miss this bound
    assert outcome["ended"] - marked_at < 1.0
    requests = sandbox.stats()["requests"]
    assert requests.get("watch configmaps", 0) >= 1
    assert requests.get("list configmaps", 0) <= 2, requests  # one list per watch round, not a polling loop


def test_a_failed_producer_unblocks_its_waiter_with_the_cause(sandbox, namespace):
    run_state.register(_core(sandbox), namespace, "run-1", {"consensus_node_started": "pending", "relay": "pending"})

    def relay_module():
        core = _core(sandbox)
        with run_state.step_run(core, namespace, "run-1", "relay", wait_for=["consensus_node_started"], timeout_s=30):
            pass

    thread, outcome = _in_thread(relay_module)
    time.sleep(1.0)
    assert thread.is_alive()
    run_state.mark(
        _core(sandbox), namespace, "run-1", "consensus_node_started", "failed", error="pod network-node1-0 not ready"
    )
    failed_at = time.monotonic()
    thread.join(10)

    assert not thread.is_alive()
    assert str(outcome["error"]) == "blocked by consensus_node_started: pod network-node1-0 not ready"
    assert outcome["ended"] - failed_at < 1.0
    relay = run_state.read(_core(sandbox), namespace).steps["relay"]
    assert relay.status == "failed"
    assert relay.error == "blocked by consensus_node_started: pod network-node1-0 not ready"


def test_concurrent_marks_from_threads_are_all_kept(sandbox, namespace):
    steps = [f"step-{i:02d}" for i in range(10)]
    run_state.register(_core(sandbox), namespace, "run-1", dict.fromkeys(steps, "pending"))
    cores = [_core(sandbox) for _ in steps]
    barrier = threading.Barrier(len(steps))
    errors: list[BaseException] = []

    def worker(core, step):
        barrier.wait()
        try:
            run_state.mark(core, namespace, "run-1", step, "done")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=pair) for pair in zip(cores, steps, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    state = run_state.read(_core(sandbox), namespace)
    assert {step: state.steps[step].status for step in steps} == dict.fromkeys(steps, "done")


def test_timeout_stale_run_and_missing_namespace_fail_clearly(sandbox, namespace):
    core = _core(sandbox)
    run_state.register(core, namespace, "run-1", {"mirror_node": "pending"})
    run_state.mark(core, namespace, "run-1", "mirror_node", "running")
    with pytest.raises(WaitTimeout, match=r"waiting for mirror_node \(running\)"):
        run_state.wait_for(core, namespace, "run-1", ["mirror_node"], timeout_s=1)

    run_state.register(core, namespace, "run-2", {"mirror_node": "pending"})
    with pytest.raises(HieroError, match="stale"):
        run_state.mark(core, namespace, "run-1", "mirror_node", "done")

    with pytest.raises(HieroError, match="namespace no-such-namespace does not exist"):
        run_state.register(core, "no-such-namespace", "run-1", {"mirror_node": "pending"})


def test_a_step_that_fails_before_it_starts_still_blocks_its_waiters_at_once(sandbox, namespace, tmp_path):
    """The explorer module fails on a missing values file before entering its run-state step: the failure must be
    recorded all the same, so a waiter fails at once with "blocked by explorer" instead of waiting out its timeout."""
    core = _core(sandbox)
    run_state.register(core, namespace, "run-early", {"explorer": "pending", "relay": "pending"})
    missing = tmp_path / "no-such-values.yaml"
    run = run_playbook(
        sandbox.kubeconfig,
        tmp_path / "work",
        "step_fails_early.yml",
        {"namespace": namespace, "run_id": "run-early", "missing_values_file": str(missing)},
    )
    assert run.rc != 0, run.output[-4000:]
    explorer = run_state.read(core, namespace).steps["explorer"]
    assert explorer.status == "failed", explorer
    assert "values_files" in explorer.error and str(missing) in explorer.error, explorer.error
    assert run_state.read(core, namespace).steps["relay"].status == "pending"  # only the failed step is touched
    started = time.monotonic()
    with pytest.raises(HieroError, match="blocked by explorer"):
        run_state.wait_for(core, namespace, "run-early", ["explorer"], timeout_s=60)
    assert time.monotonic() - started < 5
