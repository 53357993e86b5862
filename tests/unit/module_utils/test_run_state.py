"""Run-state ConfigMap: CAS writes, watch-based waits, run scoping and the timeline, against an in-memory API.

The fake CoreV1Api (tests/unit/module_utils/fakes.py) keeps real resourceVersion semantics (replace with a
stale version → 409 Conflict, create of an existing name → 409 AlreadyExists, create in a missing namespace → 404)
and serves watches as chunked JSON lines, so the production code runs with the real ``kubernetes.watch.Watch``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.hiero.solo.plugins.module_utils import _run_state as run_state
from ansible_collections.hiero.solo.plugins.module_utils._errors import (
    HieroError,
    InputError,
    LeaseLost,
    WaitTimeout,
)
from tests.unit.module_utils.fakes import RunStateApi as FakeCoreV1Api

NS = "one-shot"
NAME = run_state.CONFIGMAP_NAME
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Ticker:
    """A wall clock that moves one second per reading, so recorded times are distinct and predictable."""

    def __init__(self, start: datetime = datetime(2025, 1, 31, 9, 0, 0, 42000, tzinfo=timezone.utc)):
        self.now = start

    def __call__(self) -> datetime:
        moment = self.now
        self.now += timedelta(seconds=1)
        return moment


def _in_thread(target, *args, **kwargs):
    """Run ``target`` in a thread; returns (thread, outcome) where outcome gets 'result'/'error'/'elapsed'."""
    outcome: dict = {}

    def run():
        started = time.monotonic()
        try:
            outcome["result"] = target(*args, **kwargs)
        except BaseException as exc:
            outcome["error"] = exc
        outcome["elapsed"] = time.monotonic() - started
        outcome["ended"] = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


# ------------------------------------------------------------------------------------------ register / mark


def test_register_creates_a_labelled_map_with_one_key_per_step_and_is_idempotent():
    api = FakeCoreV1Api()
    assert run_state.register(api, NS, "run-1", {"block_node": "skipped", "mirror_node": "pending"}, clock=Ticker())

    obj = api.objects[(NS, NAME)]
    assert obj["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "hiero.solo", "hiero.solo/run-id": "run-1"}
    assert set(obj["data"]) == {"run", "block_node", "mirror_node"}
    assert json.loads(obj["data"]["run"]) == {"run_id": "run-1", "created": "2025-01-31T09:00:00.042Z"}
    assert api.step("block_node") == {
        "status": "skipped",
        "started": None,
        "finished": None,
        "error": None,
        "run_id": "run-1",
        "attempt": 0,
    }
    version = obj["metadata"]["resourceVersion"]

    assert not run_state.register(api, NS, "run-1", {"block_node": "skipped", "mirror_node": "pending"})
    assert api.objects[(NS, NAME)]["metadata"]["resourceVersion"] == version

    state = run_state.read(api, NS)
    assert state.run_id == "run-1"
    assert state.created == "2025-01-31T09:00:00.042Z"
    assert {step: entry.status for step, entry in state.steps.items()} == {
        "block_node": "skipped",
        "mirror_node": "pending",
    }


def test_re_register_in_the_same_run_keeps_started_steps_and_adds_new_ones():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"keys": "pending", "relay": "pending"})
    run_state.mark(api, NS, "run-1", "keys", "done")

    assert run_state.register(api, NS, "run-1", {"keys": "pending", "relay": "skipped", "explorer": "pending"})
    steps = run_state.read(api, NS).steps
    assert (steps["keys"].status, steps["relay"].status, steps["explorer"].status) == ("done", "skipped", "pending")


def test_mark_records_times_attempts_and_errors():
    api = FakeCoreV1Api()
    clock = Ticker()
    run_state.register(api, NS, "run-1", {"mirror_node": "pending"}, clock=clock)

    running = run_state.mark(api, NS, "run-1", "mirror_node", "running", clock=clock)
    assert (running.status, running.attempt, running.finished) == ("running", 1, None)
    assert running.started == "2025-01-31T09:00:01.042Z"

    failed = run_state.mark(
        api, NS, "run-1", "mirror_node", "failed", error="helm upgrade failed: timeout", clock=clock
    )
    assert failed.started == "2025-01-31T09:00:01.042Z"
    assert failed.finished == "2025-01-31T09:00:02.042Z"
    assert failed.error == "helm upgrade failed: timeout"

    # a retry in the same run counts a second attempt and clears the old finish time and error
    again = run_state.mark(api, NS, "run-1", "mirror_node", "running", clock=clock)
    assert (again.attempt, again.finished, again.error) == (2, None, None)
    done = run_state.mark(api, NS, "run-1", "mirror_node", "done")
    assert done.status == "done" and done.attempt == 2 and done.error is None
    assert RFC3339_MS.match(done.started) and RFC3339_MS.match(done.finished)
    assert api.step("mirror_node") == json.loads(done.to_json())


def test_mark_of_an_unregistered_step_adds_it_and_a_mark_on_an_empty_namespace_starts_the_record():
    api = FakeCoreV1Api()
    run_state.mark(api, NS, "run-1", "custom_step", "running")
    state = run_state.read(api, NS)
    assert state.run_id == "run-1"
    assert state.steps["custom_step"].status == "running"


def test_a_long_error_is_truncated_so_the_configmap_stays_small():
    api = FakeCoreV1Api()
    run_state.mark(api, NS, "run-1", "relay", "failed", error="x" * 100_000)
    assert len(api.step("relay")["error"]) == run_state.MAX_ERROR_CHARS


def test_concurrent_marks_from_threads_lose_no_update():
    # latency makes every thread read, sleep, then write: most writes collide and must be re-read and re-applied
    api = FakeCoreV1Api(latency=0.002)
    steps = [f"step-{i:02d}" for i in range(20)]
    run_state.register(api, NS, "run-1", dict.fromkeys(steps, "pending"))
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(steps))

    def worker(step):
        barrier.wait()
        try:
            run_state.mark(api, NS, "run-1", step, "done")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(s,)) for s in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    assert api.conflicts > 0, "the threads never collided; the test would not show the retry"
    state = run_state.read(api, NS)
    assert {step: state.steps[step].status for step in steps} == dict.fromkeys(steps, "done")


def test_writes_fail_clearly_when_the_namespace_does_not_exist():
    api = FakeCoreV1Api(namespaces=())
    for call in (
        lambda: run_state.register(api, NS, "run-1", {"a": "pending"}),
        lambda: run_state.mark(api, NS, "run-1", "a", "running"),
        lambda: run_state.read(api, NS),
        lambda: run_state.wait_for(api, NS, "run-1", ["a"], timeout_s=5),
    ):
        with pytest.raises(HieroError, match=r"namespace one-shot does not exist"):
            call()
    assert api.objects == {}


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda api: run_state.register(api, NS, "bad run id", {"a": "pending"}), "run_id"),
        (lambda api: run_state.register(api, NS, "r", {"a b": "pending"}), "steps"),
        (lambda api: run_state.register(api, NS, "r", {"a": "running"}), "steps"),
        (lambda api: run_state.register(api, NS, "r", {"run": "pending"}), "steps"),
        (lambda api: run_state.mark(api, NS, "r", "a", "pending"), "status"),
        (lambda api: run_state.mark(api, NS, "r", "a/b", "done"), "step"),
        (lambda api: run_state.wait_for(api, NS, "r", ["ok", "not ok"], timeout_s=1), "wait_for"),
        (lambda api: run_state.wait_for(api, NS, "x" * 64, ["a"], timeout_s=1), "run_id"),
    ],
)
def test_bad_names_fail_before_any_write_naming_the_field(call, field):
    api = FakeCoreV1Api()
    with pytest.raises(InputError) as info:
        call(api)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert api.objects == {}


# -------------------------------------------------------------------------------------------------- wait_for


def test_wait_for_returns_when_all_are_done_or_skipped_using_a_watch_not_polling():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"mirror_node": "pending", "consensus_node_started": "pending"})
    thread, outcome = _in_thread(
        run_state.wait_for, api, NS, "run-1", ["mirror_node", "consensus_node_started"], timeout_s=30
    )

    time.sleep(0.3)
    run_state.mark(api, NS, "run-1", "mirror_node", "done")
    time.sleep(0.3)
    assert thread.is_alive(), "returned while consensus_node_started was still pending"
    marked_at = time.monotonic()
    run_state.mark(api, NS, "run-1", "consensus_node_started", "done")
    thread.join(5)

    assert not thread.is_alive() and "error" not in outcome, outcome
    assert outcome["ended"] - marked_at < 0.5
    # one list before the first watch; the watch rounds (50 ms each here) carried the rest
    assert api.calls.get("list", 0) <= 1 + api.calls["watch"]
    assert api.calls["watch"] >= 1


def test_a_skipped_producer_releases_its_waiters():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"block_node": "skipped", "mirror_node": "pending"})
    started = time.monotonic()
    run_state.wait_for(api, NS, "run-1", ["block_node"], timeout_s=30)
    assert time.monotonic() - started < 0.5

    thread, outcome = _in_thread(run_state.wait_for, api, NS, "run-1", ["mirror_node"], timeout_s=30)
    time.sleep(0.2)
    run_state.mark(api, NS, "run-1", "mirror_node", "skipped")
    thread.join(5)
    assert not thread.is_alive() and "error" not in outcome, outcome


def test_a_failed_producer_blocks_its_waiters_at_once_with_the_cause():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"mirror_node": "pending", "consensus_node_started": "pending"})
    run_state.mark(api, NS, "run-1", "consensus_node_started", "running")
    thread, outcome = _in_thread(
        run_state.wait_for, api, NS, "run-1", ["mirror_node", "consensus_node_started"], timeout_s=60
    )

    time.sleep(0.2)
    failed_at = time.monotonic()
    run_state.mark(api, NS, "run-1", "consensus_node_started", "failed", error="pod network-node1-0 not ready")
    thread.join(5)

    assert not thread.is_alive()
    error = outcome["error"]
    assert type(error) is HieroError
    assert str(error) == "blocked by consensus_node_started: pod network-node1-0 not ready"
    assert error.result["blocked_by"] == "consensus_node_started"
    assert outcome["ended"] - failed_at < 0.5


def test_when_several_prerequisites_failed_the_earliest_failure_is_named():
    api = FakeCoreV1Api()
    clock = Ticker()
    run_state.register(api, NS, "run-1", {"a": "pending", "b": "pending"})
    run_state.mark(api, NS, "run-1", "b", "failed", error="first", clock=clock)
    run_state.mark(api, NS, "run-1", "a", "failed", error="second", clock=clock)
    with pytest.raises(HieroError, match=r"^blocked by b: first$"):
        run_state.wait_for(api, NS, "run-1", ["a", "b"], timeout_s=5)


def test_timeout_names_the_steps_still_waited_for_and_their_statuses():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"mirror_node": "pending", "relay": "pending", "keys": "pending"})
    run_state.mark(api, NS, "run-1", "mirror_node", "running")
    run_state.mark(api, NS, "run-1", "keys", "done")
    started = time.monotonic()

    with pytest.raises(WaitTimeout) as info:
        run_state.wait_for(api, NS, "run-1", ["keys", "mirror_node", "relay", "explorer"], timeout_s=0.3)

    assert 0.3 <= time.monotonic() - started < 2
    message = str(info.value)
    assert "mirror_node (running), relay (pending), explorer (not registered in this run)" in message
    assert "keys" not in message
    assert "timed out after 0.3 s" in message
    assert info.value.result["waiting"] == {
        "mirror_node": "running",
        "relay": "pending",
        "explorer": "not registered in this run",
    }


def test_fence_runs_between_watch_rounds_and_a_lost_lease_stops_the_wait():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"mirror_node": "pending"})
    checks = []

    def fence():
        checks.append(time.monotonic())
        if len(checks) == 3:
            raise LeaseLost("lease lost: now held by someone-else")

    with pytest.raises(LeaseLost, match="lease lost"):
        run_state.wait_for(api, NS, "run-1", ["mirror_node"], timeout_s=60, fence=fence)
    assert len(checks) == 3
    assert api.calls["watch"] == 2  # one watch round between consecutive fence checks


def test_a_compacted_resource_version_makes_the_waiter_relist_not_fail():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"a": "pending"})
    api.expire_next_watch = True
    thread, outcome = _in_thread(run_state.wait_for, api, NS, "run-1", ["a"], timeout_s=30)
    time.sleep(0.3)
    run_state.mark(api, NS, "run-1", "a", "done")
    thread.join(5)
    assert not thread.is_alive() and "error" not in outcome, outcome
    assert api.calls["list"] >= 2


def test_a_waiter_started_before_the_map_exists_is_released_when_it_appears():
    api = FakeCoreV1Api()
    thread, outcome = _in_thread(run_state.wait_for, api, NS, "run-1", ["keys"], timeout_s=30)
    time.sleep(0.2)
    run_state.register(api, NS, "run-1", {"keys": "skipped"})
    thread.join(5)
    assert not thread.is_alive() and "error" not in outcome, outcome


def test_wait_for_nothing_returns_without_calling_the_api():
    api = FakeCoreV1Api(namespaces=())
    run_state.wait_for(api, NS, "run-1", [], timeout_s=0)
    assert api.calls == {}


# ------------------------------------------------------------------------------------------- run scoping


def test_a_new_run_replaces_the_old_runs_entries_and_the_old_run_becomes_stale():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"keys": "pending", "mirror_node": "pending"})
    run_state.mark(api, NS, "run-1", "keys", "done")

    assert run_state.register(api, NS, "run-2", {"keys": "pending"})
    state = run_state.read(api, NS)
    assert state.run_id == "run-2"
    assert set(state.steps) == {"keys"} and state.steps["keys"].status == "pending"
    assert api.objects[(NS, NAME)]["metadata"]["labels"]["hiero.solo/run-id"] == "run-2"

    # run-1's "done" no longer releases anyone
    with pytest.raises(WaitTimeout, match=r"keys \(pending\)"):
        run_state.wait_for(api, NS, "run-2", ["keys"], timeout_s=0.1)
    # a module of the old run cannot write, and cannot wait
    with pytest.raises(HieroError, match=r"belongs to run run-2, not to this task's run run-1: this run_id is stale"):
        run_state.mark(api, NS, "run-1", "mirror_node", "done")
    with pytest.raises(HieroError, match=r"run run-1: this run_id is stale"):
        run_state.wait_for(api, NS, "run-1", ["keys"], timeout_s=30)
    assert run_state.read(api, NS).steps["keys"].status == "pending"


def test_entries_of_another_run_inside_the_map_are_ignored_by_waiters():
    api = FakeCoreV1Api()
    old_entry = run_state.StepState(status="done", run_id="run-1", started="x", finished="y").to_json()
    api.put(NS, {"run": json.dumps({"run_id": "run-2", "created": "2025-01-31T09:00:00.000Z"}), "keys": old_entry})
    with pytest.raises(WaitTimeout, match=r"keys \(not registered in this run\)"):
        run_state.wait_for(api, NS, "run-2", ["keys"], timeout_s=0.1)

    run_state.mark(api, NS, "run-2", "keys", "done")
    run_state.wait_for(api, NS, "run-2", ["keys"], timeout_s=5)
    assert api.step("keys")["attempt"] == 0  # the old run's attempts were not carried over


def test_a_hand_edited_garbage_entry_keeps_waiters_waiting_instead_of_crashing():
    api = FakeCoreV1Api()
    api.put(NS, {"run": json.dumps({"run_id": "run-1"}), "keys": "{not json"})
    with pytest.raises(WaitTimeout, match=r"keys \(not registered in this run\)"):
        run_state.wait_for(api, NS, "run-1", ["keys"], timeout_s=0.1)
    assert run_state.read(api, NS).steps["keys"].status == "invalid"


# -------------------------------------------------------------------------------------------------- step_run


def test_step_run_waits_then_marks_running_then_done():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"mirror_node": "pending", "explorer": "pending"})
    seen = {}

    def explorer_module():
        with run_state.step_run(api, NS, "run-1", "explorer", wait_for=["mirror_node"], timeout_s=30):
            seen["inside"] = run_state.read(api, NS).steps["explorer"].status

    thread, outcome = _in_thread(explorer_module)
    time.sleep(0.2)
    assert run_state.read(api, NS).steps["explorer"].status == "pending"
    run_state.mark(api, NS, "run-1", "mirror_node", "done")
    thread.join(5)

    assert "error" not in outcome, outcome
    assert seen["inside"] == "running"
    explorer = run_state.read(api, NS).steps["explorer"]
    assert explorer.status == "done" and explorer.started and explorer.finished


def test_step_run_marks_a_failing_body_failed_and_re_raises_so_its_waiters_fail_too():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-1", {"mirror_node": "pending", "explorer": "pending", "relay": "pending"})

    with pytest.raises(RuntimeError, match="helm exited 1"), run_state.step_run(api, NS, "run-1", "mirror_node"):
        raise RuntimeError("helm exited 1")
    assert api.step("mirror_node")["status"] == "failed"
    assert api.step("mirror_node")["error"] == "helm exited 1"

    # a waiter of the failed step fails at once, and is itself recorded as failed with the chained cause
    body_ran = []
    explorer = run_state.step_run(api, NS, "run-1", "explorer", wait_for=["mirror_node"], timeout_s=30)
    with pytest.raises(HieroError, match=r"^blocked by mirror_node: helm exited 1$"), explorer:
        body_ran.append(True)
    assert body_ran == []
    assert api.step("explorer")["status"] == "failed"
    with pytest.raises(HieroError, match=r"^blocked by explorer: blocked by mirror_node: helm exited 1$"):
        run_state.wait_for(api, NS, "run-1", ["explorer"], timeout_s=5)


def test_step_run_without_a_run_id_touches_nothing():
    api = FakeCoreV1Api(namespaces=())
    ran = []
    with run_state.step_run(api, NS, None, "keys", wait_for=["anything"], timeout_s=0):
        ran.append(True)
    assert ran == [True]
    assert api.calls == {}


def test_step_run_of_a_stale_run_fails_without_writing():
    api = FakeCoreV1Api()
    run_state.register(api, NS, "run-2", {"keys": "pending"})
    version = api.objects[(NS, NAME)]["metadata"]["resourceVersion"]
    with pytest.raises(HieroError, match="stale"), run_state.step_run(api, NS, "run-1", "keys", timeout_s=5):
        pass
    assert api.objects[(NS, NAME)]["metadata"]["resourceVersion"] == version


# -------------------------------------------------------------------------------------------------- timeline


def _state(steps: dict[str, tuple[str, str | None, str | None]]) -> run_state.RunState:
    base = datetime(2025, 1, 31, 9, 0, 0, tzinfo=timezone.utc)

    def at(seconds):
        return None if seconds is None else run_state.format_time(base + timedelta(seconds=seconds))

    return run_state.RunState(
        run_id="run-1",
        steps={
            name: run_state.StepState(status=status, run_id="run-1", started=at(start), finished=at(end))
            for name, (status, start, end) in steps.items()
        },
    )


def _bar(text: str, step: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith(step + " "))
    return line.split("|")[1]


def test_timeline_scales_bars_to_the_run_and_shows_overlap():
    state = _state(
        {
            "consensus_network": ("done", 0, 60),
            "mirror_node": ("done", 30, 90),
            "explorer": ("failed", 90, 120),
            "block_node": ("skipped", None, None),
        }
    )
    text = run_state.timeline(state, width=40)

    assert text.splitlines()[0] == "run run-1  2025-01-31T09:00:00.000Z .. 2025-01-31T09:02:00.000Z  (120.0 s)"
    network, mirror, explorer = (_bar(text, s) for s in ("consensus_network", "mirror_node", "explorer"))
    assert network == "#" * 20 + " " * 20
    assert mirror == " " * 10 + "#" * 20 + " " * 10
    assert explorer == " " * 30 + "X" * 10
    overlap = [i for i in range(40) if network[i] != " " and mirror[i] != " "]
    assert overlap == list(range(10, 20))
    assert _bar(text, "block_node") == " " * 40
    assert "skipped" in text.splitlines()[-1]
    assert "60.0 s" in next(line for line in text.splitlines() if line.startswith("mirror_node"))
    # rows come in start order, never-started steps last
    order = [line.split()[0] for line in text.splitlines()[2:]]
    assert order == ["consensus_network", "mirror_node", "explorer", "block_node"]


def test_timeline_draws_a_running_step_up_to_now_and_shows_errors():
    state = _state({"keys": ("done", 0, 10), "relay": ("running", 5, None)})
    now = datetime(2025, 1, 31, 9, 0, 20, tzinfo=timezone.utc)
    text = run_state.timeline(state, width=20, now=now)
    assert _bar(text, "relay") == " " * 5 + ">" * 15
    assert _bar(text, "keys") == "#" * 10 + " " * 10

    failed = run_state.RunState(
        run_id="r",
        steps={"accounts": run_state.StepState("failed", "r", "2025-01-31T09:00:00.000Z", None, "grpc: UNAVAILABLE")},
    )
    assert "failed: grpc: UNAVAILABLE" in run_state.timeline(failed, width=10)


def test_timeline_of_an_empty_or_instant_run_does_not_divide_by_zero():
    assert run_state.timeline(run_state.RunState(run_id=None)).startswith("run -\n")
    instant = run_state.timeline(_state({"a": ("done", 0, 0)}), width=10)
    assert _bar(instant, "a") == "#" + " " * 9
