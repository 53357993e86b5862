"""The Lease state machine (plugins/module_utils/_lease.py) against an in-memory API and fake clocks."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.hiero.solo.plugins.module_utils import _lease as lease_mod
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError, LeaseBusy, LeaseLost
from ansible_collections.hiero.solo.plugins.module_utils._lease import (
    KEEPER_START_ALLOWANCE,
    SOLO_NAMESPACE_LABELS,
    Conflict,
    Holder,
    LocalProcessProber,
    Observation,
    acquire,
    check_lease_held,
    format_micro_time,
    is_expired,
    keep,
    parse_holder,
    parse_time,
    release,
    renew,
    run_lease_state,
    step_lease,
)

NS = "one-shot"
T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

ME = Holder("alice", "laptop", 1000, "hiero.solo", "run-me")
SAME_HOST_OTHER_PID = Holder("alice", "laptop", 2000, "hiero.solo", "run-other")
SOLO_ELSEWHERE = Holder("bob", "ci-runner-7", 4242)  # what solo writes: no tool, no run_id
THIRD = Holder("carol", "desk", 77, "hiero.solo", "run-c")


# --------------------------------------------------------------------------------------------
# Fakes
# --------------------------------------------------------------------------------------------


class FakeClock:
    """Virtual time: sleep() advances both clocks and runs the registered 'world' callbacks."""

    def __init__(self, wall_start: datetime = T0) -> None:
        self.elapsed = 0.0
        self._wall_start = wall_start
        self.on_sleep: list[Callable[[], None]] = []
        self.sleeps: list[float] = []

    def wall(self) -> datetime:
        return self._wall_start + timedelta(seconds=self.elapsed)

    def monotonic(self) -> float:
        return 5000.0 + self.elapsed

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += max(0.0, seconds)
        for callback in list(self.on_sleep):
            callback()


class FakeProber:
    def __init__(self, alive: set[int] = frozenset(), stopped: set[int] = frozenset()) -> None:
        self.alive_pids = set(alive)
        self.stopped_pids = set(stopped)

    def alive(self, pid: int) -> bool:
        return pid in self.alive_pids

    def stopped(self, pid: int) -> bool:
        return pid in self.stopped_pids


class FakeApi:
    """Leases with a global resourceVersion and both 409s, like the API server."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], dict] = {}
        self.namespaces: dict[str, dict] = {}
        self.version = 100
        self.writes: list[str] = []
        self.before_write: Callable[[str], None] | None = None  # interleaving hook

    def _bump(self, body: dict) -> dict:
        self.version += 1
        stored = copy.deepcopy(body)
        stored.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        return stored

    def _hook(self, verb: str) -> None:
        hook, self.before_write = self.before_write, None  # fire once
        if hook is not None:
            hook(verb)

    def read(self, namespace: str, name: str) -> dict | None:
        found = self.leases.get((namespace, name))
        return copy.deepcopy(found)

    def create(self, namespace: str, body: dict) -> dict:
        self._hook("create")
        key = (namespace, body["metadata"]["name"])
        if key in self.leases:
            raise Conflict("AlreadyExists")
        if namespace not in self.namespaces:
            raise AssertionError("create in a namespace that does not exist")
        stored = self._bump(body)
        stored["metadata"]["uid"] = f"uid-{self.version}"
        self.leases[key] = stored
        self.writes.append("create")
        return copy.deepcopy(stored)

    def replace(self, namespace: str, name: str, body: dict) -> dict:
        self._hook("replace")
        current = self.leases.get((namespace, name))
        if current is None or body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict("Conflict")
        stored = self._bump(body)
        self.leases[(namespace, name)] = stored
        self.writes.append("replace")
        return copy.deepcopy(stored)

    def delete(self, namespace: str, name: str, resource_version: str | None) -> bool:
        self._hook("delete")
        current = self.leases.get((namespace, name))
        if current is None:
            return False
        if resource_version and resource_version != current["metadata"]["resourceVersion"]:
            raise Conflict("Conflict")
        del self.leases[(namespace, name)]
        self.writes.append("delete")
        return True

    def ensure_namespace(self, name: str, labels) -> bool:
        if name in self.namespaces:
            return False
        self.namespaces[name] = {"labels": dict(labels)}
        return True

    # helpers for tests: what another tool does to the Lease
    def put(
        self,
        holder: Holder | str | None,
        renew_time: datetime | None,
        *,
        duration: int = 20,
        acquire_time: datetime | None = None,
        transitions: int | None = 0,
    ) -> dict:
        self.namespaces.setdefault(NS, {"labels": {}})
        identity = holder.to_json() if isinstance(holder, Holder) else holder
        spec = {
            "holderIdentity": identity,
            "leaseDurationSeconds": duration,
            "acquireTime": format_micro_time(acquire_time or renew_time or T0),
        }
        if renew_time is not None:
            spec["renewTime"] = format_micro_time(renew_time)
        if transitions is not None:
            spec["leaseTransitions"] = transitions
        previous = self.leases.get((NS, NS))
        stored = self._bump(
            {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": NS, "namespace": NS},
                "spec": spec,
            }
        )
        stored["metadata"]["uid"] = previous["metadata"]["uid"] if previous else "uid-foreign"
        self.leases[(NS, NS)] = stored
        return stored

    def spec(self) -> dict:
        return self.leases[(NS, NS)]["spec"]


class RenewingHolder:
    """Another live holder that renews every `period` seconds with its own (possibly skewed) clock."""

    def __init__(
        self,
        api: FakeApi,
        clock: FakeClock,
        holder: Holder,
        *,
        period: float = 10.0,
        skew: float = 0.0,
        duration: int = 20,
    ) -> None:
        self.api, self.clock, self.holder = api, clock, holder
        self.period, self.skew, self.duration = period, skew, duration
        self.last = clock.elapsed
        self.renewals = 0
        acquired = clock.wall() + timedelta(seconds=skew)
        api.put(holder, acquired, duration=duration, acquire_time=acquired)
        clock.on_sleep.append(self.tick)

    def tick(self) -> None:
        while self.clock.elapsed - self.last >= self.period:
            self.last += self.period
            record = self.api.leases[(NS, NS)]
            record = self.api._bump(record)
            moment = self.clock._wall_start + timedelta(seconds=self.last + self.skew)
            record["spec"]["renewTime"] = format_micro_time(moment)
            self.api.leases[(NS, NS)] = record
            self.renewals += 1


def new_world(**prober):
    return FakeApi(), FakeClock(), FakeProber(**prober)


# --------------------------------------------------------------------------------------------
# Holder identity and time parsing
# --------------------------------------------------------------------------------------------


def test_holder_json_is_solo_shaped_with_our_extras():
    document = json.loads(ME.to_json())
    assert list(document) == ["username", "hostname", "pid", "tool", "run_id"]
    assert document == {
        "username": "alice",
        "hostname": "laptop",
        "pid": 1000,
        "tool": "hiero.solo",
        "run_id": "run-me",
    }
    assert parse_holder(ME.to_json()) == ME


def test_parse_holder_tolerates_solo_foreign_and_empty_identities():
    solo = parse_holder('{"username":"bob","hostname":"ci-runner-7","pid":4242}')
    assert (solo.username, solo.hostname, solo.pid, solo.tool, solo.run_id) == ("bob", "ci-runner-7", 4242, None, None)
    assert solo.describe() == "bob@ci-runner-7 pid 4242 (solo)"
    foreign = parse_holder("controller-7f9c_2b1e")  # client-go style
    assert foreign is not None and not foreign.structured and foreign.describe() == "'controller-7f9c_2b1e'"
    assert parse_holder(None) is None and parse_holder("") is None


def test_parse_time_reads_micro_time_and_client_isoformat():
    assert parse_time("2025-01-02T03:04:05.123456Z") == T0 + timedelta(microseconds=123456)
    assert parse_time("2025-01-02T03:04:05.123Z") == T0 + timedelta(milliseconds=123)
    assert parse_time("2025-01-02T03:04:05+00:00") == T0
    assert parse_time(format_micro_time(T0)) == T0
    assert parse_time("garbage") is None and parse_time(None) is None


# --------------------------------------------------------------------------------------------
# acquire: create, renew, takeovers, refusal
# --------------------------------------------------------------------------------------------


def test_create_when_absent_creates_namespace_with_solo_label():
    api, clock, prober = new_world()
    result = acquire(api, NS, NS, ME, duration=20, wait_timeout=30, clock=clock, prober=prober)
    assert (result.changed, result.action, result.namespace_created) == (True, "created", True)
    assert api.namespaces[NS]["labels"] == SOLO_NAMESPACE_LABELS == {"app.kubernetes.io/created-by": "solo"}
    spec = api.spec()
    assert parse_holder(spec["holderIdentity"]) == ME and result.holder == spec["holderIdentity"]
    assert spec["leaseDurationSeconds"] == 20 and spec["leaseTransitions"] == 0
    assert parse_time(spec["acquireTime"]) == parse_time(spec["renewTime"]) == T0
    assert api.writes == ["create"] and clock.sleeps == []


def test_existing_namespace_is_left_alone():
    api, clock, prober = new_world()
    api.namespaces[NS] = {"labels": {"team": "x"}}
    result = acquire(api, NS, NS, ME, clock=clock, prober=prober)
    assert result.namespace_created is False and api.namespaces[NS]["labels"] == {"team": "x"}


def test_renew_when_already_ours_moves_only_renew_time():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    before = api.spec()
    clock.elapsed = 7.0
    result = acquire(api, NS, NS, ME, clock=clock, prober=prober)
    after = api.spec()
    assert (result.changed, result.action) == (False, "renewed")
    assert parse_time(after["renewTime"]) == T0 + timedelta(seconds=7)
    assert after["acquireTime"] == before["acquireTime"] and after["leaseTransitions"] == 0
    assert api.writes == ["create", "replace"]


def test_same_process_with_a_fresh_run_id_keeps_the_recorded_holder():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    second_call = Holder(ME.username, ME.hostname, ME.pid, ME.tool, "another-uuid")
    result = acquire(api, NS, NS, second_call, clock=clock, prober=prober)
    assert result.action == "renewed" and parse_holder(result.holder) == ME
    assert parse_holder(api.spec()["holderIdentity"]) == ME


def test_expired_lease_is_taken_over_after_a_full_observed_duration():
    api, clock, prober = new_world()
    api.put(SOLO_ELSEWHERE, T0 - timedelta(seconds=300), duration=20, transitions=3)  # long dead
    result = acquire(api, NS, NS, ME, duration=20, wait_timeout=60, clock=clock, prober=prober)
    assert (result.changed, result.action) == (True, "taken_over")
    assert "expired" in result.reason
    # never before we ourselves watched it unchanged for its whole duration, however old renewTime is
    assert 20 <= clock.elapsed <= 20 + 20 / 3 + 0.01
    spec = api.spec()
    assert parse_holder(spec["holderIdentity"]) == ME and spec["leaseTransitions"] == 4
    assert parse_time(spec["acquireTime"]) == parse_time(spec["renewTime"]) == clock.wall()


def test_same_host_dead_pid_is_taken_over_at_once():
    api, clock, prober = new_world(alive={ME.pid})
    api.put(SAME_HOST_OTHER_PID, T0)  # fresh renewTime
    result = acquire(api, NS, NS, ME, wait_timeout=30, clock=clock, prober=prober)
    assert (result.action, clock.elapsed) == ("taken_over", 0.0)
    assert "2000" in result.reason and "gone" in result.reason
    assert parse_holder(api.spec()["holderIdentity"]) == ME


def test_same_host_stopped_pid_is_taken_over_at_once():
    api, clock, prober = new_world(alive={SAME_HOST_OTHER_PID.pid}, stopped={SAME_HOST_OTHER_PID.pid})
    api.put(SAME_HOST_OTHER_PID, T0)
    result = acquire(api, NS, NS, ME, wait_timeout=30, clock=clock, prober=prober)
    assert (result.action, clock.elapsed) == ("taken_over", 0.0) and "stopped" in result.reason


def test_same_host_live_pid_is_not_taken_over():
    api, clock, prober = new_world(alive={SAME_HOST_OTHER_PID.pid})
    RenewingHolder(api, clock, SAME_HOST_OTHER_PID, period=10)
    with pytest.raises(LeaseBusy):
        acquire(api, NS, NS, ME, wait_timeout=45, clock=clock, prober=prober)
    assert parse_holder(api.spec()["holderIdentity"]) == SAME_HOST_OTHER_PID


def test_pid_of_another_host_is_never_probed():
    api, clock, prober = new_world()  # prober says every PID is dead
    RenewingHolder(api, clock, SOLO_ELSEWHERE, period=10)
    with pytest.raises(LeaseBusy):
        acquire(api, NS, NS, ME, wait_timeout=5, clock=clock, prober=prober)


def test_live_holder_refused_after_wait_timeout_with_a_message_naming_it():
    api, clock, prober = new_world()
    holder = Holder("bob", "ci-runner-7", 4242, "hiero.solo", "awx-981")
    RenewingHolder(api, clock, holder, period=10)
    with pytest.raises(LeaseBusy) as caught:
        acquire(api, NS, NS, ME, wait_timeout=30, clock=clock, prober=prober)
    message = str(caught.value)
    spec = api.spec()
    for part in ("bob", "ci-runner-7", "4242", "hiero.solo", spec["acquireTime"], spec["renewTime"]):
        assert part in message, (part, message)
    assert message.startswith(f"Lease {NS}/{NS} is held by bob@ci-runner-7 pid 4242 (hiero.solo)")
    assert clock.elapsed == pytest.approx(30, abs=0.01)  # waited the whole wait_timeout, not longer
    assert api.writes == [] and parse_holder(spec["holderIdentity"]) == holder
    assert caught.value.result["lease"]["holder"]["hostname"] == "ci-runner-7"


def test_waiting_uses_growing_jittered_backoff():
    api, clock, prober = new_world()
    RenewingHolder(api, clock, SOLO_ELSEWHERE, period=10, duration=60)
    draws = iter([0.0, 1.0] * 50)
    with pytest.raises(LeaseBusy):
        acquire(api, NS, NS, ME, wait_timeout=40, clock=clock, prober=prober, rng=lambda: next(draws))
    # base delays 0.5, 1, 2, 4, 5, 5 ... scaled by 0.5 + 0.5 * draw
    assert clock.sleeps[:6] == [0.25, 1.0, 1.0, 4.0, 2.5, 5.0]
    assert max(clock.sleeps) <= 5.0


def test_zero_wait_timeout_fails_at_once_and_hints_when_shorter_than_duration():
    api, clock, prober = new_world()
    api.put(SOLO_ELSEWHERE, T0 - timedelta(hours=1))
    with pytest.raises(LeaseBusy) as caught:
        acquire(api, NS, NS, ME, wait_timeout=0, clock=clock, prober=prober)
    assert clock.elapsed == 0 and "cannot expire" in str(caught.value)


def test_lease_without_holder_is_free():
    api, clock, prober = new_world()
    api.put(None, T0, transitions=5)  # client-go's ReleaseOnCancel shape
    result = acquire(api, NS, NS, ME, clock=clock, prober=prober)
    assert result.action == "taken_over" and api.spec()["leaseTransitions"] == 6 and clock.elapsed == 0


def test_check_mode_reports_without_writing_or_waiting():
    api, clock, prober = new_world()
    assert acquire(api, NS, NS, ME, clock=clock, prober=prober, check_mode=True).action == "would_create"
    assert api.leases == {} and api.namespaces == {}
    RenewingHolder(api, clock, SOLO_ELSEWHERE)
    result = acquire(api, NS, NS, ME, clock=clock, prober=prober, check_mode=True)
    assert (result.changed, result.action, clock.elapsed) == (False, "would_wait", 0.0)
    assert "bob@ci-runner-7" in result.reason and api.writes == []


# --------------------------------------------------------------------------------------------
# Races: every write carries the read resourceVersion; a 409 means re-read and decide again
# --------------------------------------------------------------------------------------------


def test_create_race_between_two_acquirers_has_exactly_one_winner():
    api, clock, prober = new_world(alive={ME.pid, THIRD.pid})
    outcome = {}

    def rival_runs_between_our_read_and_our_write(verb: str) -> None:
        outcome["rival"] = acquire(api, NS, NS, THIRD, wait_timeout=0, clock=clock, prober=prober)

    api.before_write = rival_runs_between_our_read_and_our_write
    with pytest.raises(LeaseBusy) as caught:
        acquire(api, NS, NS, ME, wait_timeout=5, clock=clock, prober=prober)
    assert outcome["rival"].action == "created"
    assert parse_holder(api.spec()["holderIdentity"]) == THIRD
    assert "carol@desk pid 77" in str(caught.value)
    assert api.writes == ["create"]  # our create lost with AlreadyExists; nothing overwritten


def test_takeover_race_has_exactly_one_winner_and_one_transition():
    api, clock, prober = new_world(alive={THIRD.pid, ME.pid})
    dead = Holder("alice", "laptop", 31337, "hiero.solo", "dead-run")
    api.put(dead, T0, transitions=2)
    both_same_host = Holder("alice", "laptop", THIRD.pid, "hiero.solo", "run-c")
    outcome = {}

    def rival(verb: str) -> None:
        outcome["rival"] = acquire(api, NS, NS, both_same_host, wait_timeout=0, clock=clock, prober=prober)

    api.before_write = rival
    with pytest.raises(LeaseBusy):
        acquire(api, NS, NS, ME, wait_timeout=3, clock=clock, prober=prober)
    assert outcome["rival"].action == "taken_over"
    assert parse_holder(api.spec()["holderIdentity"]) == both_same_host
    assert api.spec()["leaseTransitions"] == 3  # one holder change, counted once
    assert api.writes == ["replace"]


def test_conflicting_renewal_rereads_and_still_renews():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)

    def label_change_by_someone(verb: str) -> None:
        record = api._bump(api.leases[(NS, NS)])
        record["metadata"]["labels"] = {"touched": "yes"}
        api.leases[(NS, NS)] = record

    api.before_write = label_change_by_someone
    clock.elapsed = 5
    written = renew(api, NS, NS, ME, duration=20, clock=clock)
    assert parse_time(written["spec"]["renewTime"]) == T0 + timedelta(seconds=5)
    assert written["metadata"]["labels"] == {"touched": "yes"}  # their change kept, not overwritten


# --------------------------------------------------------------------------------------------
# Clock skew: +-60 s never causes a steal
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("holder_skew", [-60.0, 60.0])
def test_holder_clock_skew_never_causes_a_steal_of_a_live_lease(holder_skew):
    api, clock, prober = new_world()
    RenewingHolder(api, clock, SOLO_ELSEWHERE, period=10, skew=holder_skew, duration=20)
    with pytest.raises(LeaseBusy):
        acquire(api, NS, NS, ME, wait_timeout=120, clock=clock, prober=prober)
    assert parse_holder(api.spec()["holderIdentity"]) == SOLO_ELSEWHERE and api.writes == []


@pytest.mark.parametrize("our_skew", [-60.0, 60.0])
def test_our_clock_skew_never_causes_a_steal_of_a_live_lease(our_skew):
    api = FakeApi()
    clock = FakeClock(T0 + timedelta(seconds=our_skew))
    holder_clock = FakeClock(T0)
    holder = RenewingHolder(api, holder_clock, SOLO_ELSEWHERE, period=10)
    clock.on_sleep.append(lambda: (setattr(holder_clock, "elapsed", clock.elapsed), holder.tick()))
    with pytest.raises(LeaseBusy):
        acquire(api, NS, NS, ME, wait_timeout=120, clock=clock, prober=FakeProber())
    assert parse_holder(api.spec()["holderIdentity"]) == SOLO_ELSEWHERE


def test_stale_looking_renew_time_alone_does_not_expire_a_lease():
    lease = FakeApi().put(SOLO_ELSEWHERE, T0 - timedelta(seconds=60))
    assert not is_expired(lease, observed_for=0.0, wall_now=T0)
    assert not is_expired(lease, observed_for=19.9, wall_now=T0)
    assert is_expired(lease, observed_for=20.0, wall_now=T0)


def test_renew_time_can_only_delay_expiry():
    # A dead holder whose clock ran 60 s ahead: we wait until its renewTime is a duration old by our clock.
    api, clock, prober = new_world()
    api.put(SOLO_ELSEWHERE, T0 + timedelta(seconds=60), duration=20)
    result = acquire(api, NS, NS, ME, wait_timeout=200, clock=clock, prober=prober)
    assert result.action == "taken_over" and 80 <= clock.elapsed <= 80 + 20 / 3 + 0.01


def test_observation_restarts_whenever_the_record_changes():
    observation = Observation()
    record = FakeApi().put(SOLO_ELSEWHERE, T0)
    assert observation.update(record, 10.0) == 0.0
    assert observation.update(record, 25.0) == 15.0
    changed = copy.deepcopy(record)
    changed["metadata"]["resourceVersion"] = "999"
    assert observation.update(changed, 26.0) == 0.0


# --------------------------------------------------------------------------------------------
# leaseTransitions
# --------------------------------------------------------------------------------------------


def test_lease_transitions_count_holder_changes_only():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    assert api.spec()["leaseTransitions"] == 0
    renew(api, NS, NS, ME, duration=20, clock=clock)
    assert api.spec()["leaseTransitions"] == 0
    same_host_1 = Holder("alice", "laptop", 3001, "hiero.solo", "r1")
    acquire(api, NS, NS, same_host_1, clock=clock, prober=prober)  # ME's pid is dead
    assert api.spec()["leaseTransitions"] == 1
    same_host_2 = Holder("alice", "laptop", 3002, "hiero.solo", "r2")
    acquire(api, NS, NS, same_host_2, clock=clock, prober=prober)
    assert api.spec()["leaseTransitions"] == 2
    acquire(api, NS, NS, same_host_2, clock=clock, prober=prober)  # renewal by the holder
    assert api.spec()["leaseTransitions"] == 2


def test_lease_transitions_missing_as_solo_leaves_it_becomes_one():
    api, clock, prober = new_world()
    api.put(SAME_HOST_OTHER_PID, T0, transitions=None)
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    assert api.spec()["leaseTransitions"] == 1


# --------------------------------------------------------------------------------------------
# release
# --------------------------------------------------------------------------------------------


def test_release_by_holder_deletes_the_lease():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    result = release(api, NS, NS, ME)
    assert (result.changed, result.released) == (True, True) and api.leases == {}
    again = release(api, NS, NS, ME)
    assert (again.changed, again.released) == (False, False) and "does not exist" in again.reason


def test_release_by_non_holder_is_refused_and_leaves_the_lease_untouched():
    api = FakeApi()
    api.put(SOLO_ELSEWHERE, T0 - timedelta(hours=1))  # even when it looks expired
    before = copy.deepcopy(api.leases)
    result = release(api, NS, NS, ME)
    assert (result.changed, result.released) == (False, False)
    assert "bob@ci-runner-7 pid 4242 (solo)" in result.reason and "untouched" in result.reason
    assert api.leases == before and api.writes == []


def test_release_never_deletes_a_lease_taken_over_after_our_read():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)

    def taken_over_meanwhile(verb: str) -> None:
        record = api._bump(api.leases[(NS, NS)])
        record["spec"]["holderIdentity"] = THIRD.to_json()
        api.leases[(NS, NS)] = record

    api.before_write = taken_over_meanwhile
    result = release(api, NS, NS, ME)
    assert result.changed is False and parse_holder(api.spec()["holderIdentity"]) == THIRD


def test_release_check_mode_does_not_delete():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    result = release(api, NS, NS, ME, check_mode=True)
    assert (result.changed, result.released) == (True, False) and (NS, NS) in api.leases


# --------------------------------------------------------------------------------------------
# The keeper loop
# --------------------------------------------------------------------------------------------


def test_keeper_renews_every_third_of_the_duration_until_the_lease_is_taken():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, duration=9, clock=clock, prober=prober)

    def steal_at_31s() -> None:
        if clock.elapsed >= 31 and parse_holder(api.spec()["holderIdentity"]) == ME:
            record = api._bump(api.leases[(NS, NS)])
            record["spec"]["holderIdentity"] = THIRD.to_json()
            api.leases[(NS, NS)] = record

    clock.on_sleep.append(steal_at_31s)
    result = keep(api, NS, NS, ME, duration=9, clock=clock, prober=prober)
    assert result.lost and not result.controller_gone
    assert result.reason == "lease lost: now held by carol@desk pid 77 (hiero.solo)"
    assert result.renewals == 11  # at t = 0, 3, ..., 30
    assert 31 <= clock.elapsed <= 33


def test_keeper_stops_when_the_lease_is_released():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, duration=6, clock=clock, prober=prober)
    clock.on_sleep.append(lambda: clock.elapsed >= 5 and api.leases.pop((NS, NS), None))
    result = keep(api, NS, NS, ME, duration=6, clock=clock, prober=prober)
    assert result.lost and result.reason == f"lease lost: the Lease {NS}/{NS} no longer exists"


def test_keeper_stops_within_a_second_of_the_controller_dying_without_touching_the_lease():
    api, clock, prober = new_world(alive={424242})
    acquire(api, NS, NS, ME, duration=30, clock=clock, prober=prober)
    clock.on_sleep.append(lambda: clock.elapsed >= 12.5 and prober.alive_pids.discard(424242))
    result = keep(api, NS, NS, ME, duration=30, controller_pid=424242, clock=clock, prober=prober)
    assert result.controller_gone and not result.lost and "424242" in result.reason
    assert 12.5 <= clock.elapsed <= 13.5
    assert parse_holder(api.spec()["holderIdentity"]) == ME  # left to expire, not deleted


def test_keeper_survives_api_errors():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, duration=3, clock=clock, prober=prober)
    real_read = api.read
    failures = iter([True, True, False, False, False, False])

    def flaky_read(namespace, name):
        if next(failures, False):
            raise OSError("connection refused")
        return real_read(namespace, name)

    api.read = flaky_read
    clock.on_sleep.append(lambda: clock.elapsed >= 5.5 and api.leases.pop((NS, NS), None))
    result = keep(api, NS, NS, ME, duration=3, clock=clock, prober=prober)
    assert result.errors == 2 and "connection refused" in result.last_error
    assert result.renewals >= 3 and result.lost


# --------------------------------------------------------------------------------------------
# Fencing
# --------------------------------------------------------------------------------------------


def test_fencing_passes_while_held_and_names_the_new_holder_when_lost():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    fact = {"name": NS, "namespace": NS, "holder": ME.to_json()}
    check_lease_held(api, fact)
    api.put(SOLO_ELSEWHERE, T0)
    with pytest.raises(LeaseLost) as caught:
        check_lease_held(api, fact)
    assert str(caught.value) == "lease lost: now held by bob@ci-runner-7 pid 4242 (solo)"
    api.leases.clear()
    with pytest.raises(LeaseLost) as caught:
        check_lease_held(api, fact)
    assert str(caught.value) == f"lease lost: the Lease {NS}/{NS} no longer exists"


def test_fencing_compares_the_whole_holder_including_run_id():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    stale_fact = {"name": NS, "namespace": NS, "holder": Holder("alice", "laptop", 1000, "hiero.solo", "old").to_json()}
    with pytest.raises(LeaseLost):
        check_lease_held(api, stale_fact)


# --------------------------------------------------------------------------------------------
# step_lease
# --------------------------------------------------------------------------------------------


class FakeModule:
    def __init__(self, params: dict, check_mode: bool = False) -> None:
        self.params = params
        self.check_mode = check_mode
        self.warnings: list[str] = []

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)

    def clients(self):
        raise AssertionError("the API is injected in these tests")


def test_step_lease_own_lease_is_acquired_renewed_and_released():
    api = FakeApi()
    module = FakeModule({"namespace": NS, "lease": None})
    with step_lease(module, duration=3, api=api, prober=FakeProber()) as guard:
        held = parse_holder(api.spec()["holderIdentity"])
        assert guard.own and held.pid == os.getpid() and held.tool == "hiero.solo" and held.run_id
        first_renew = api.spec()["renewTime"]
        time.sleep(1.3)  # the background renewal runs every duration/3 = 1 s
        assert api.spec()["renewTime"] != first_renew
        guard.check()
    assert api.leases == {} and api.writes[0] == "create" and api.writes[-1] == "delete"


def test_step_lease_own_lease_is_released_when_the_body_fails():
    api = FakeApi()
    module = FakeModule({"namespace": NS})
    with pytest.raises(RuntimeError, match="helm exploded"), step_lease(module, api=api, prober=FakeProber()):
        assert (NS, NS) in api.leases
        raise RuntimeError("helm exploded")
    assert api.leases == {}


def test_step_lease_own_lease_waits_then_refuses_a_live_holder_without_running_the_body():
    api = FakeApi()
    api.put(SOLO_ELSEWHERE, datetime.now(timezone.utc))
    ran = []
    with pytest.raises(LeaseBusy), step_lease(FakeModule({"namespace": NS}), api=api, wait_timeout=0.3):
        ran.append(True)
    assert ran == [] and parse_holder(api.spec()["holderIdentity"]) == SOLO_ELSEWHERE


def test_step_lease_fences_on_a_given_lease_and_never_takes_one():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    fact = {"name": NS, "namespace": NS, "holder": ME.to_json()}
    with step_lease(FakeModule({"namespace": NS, "lease": fact}), api=api) as guard:
        assert not guard.own and guard.lease == fact
        guard.check()
        api.put(THIRD, T0)
        with pytest.raises(LeaseLost, match="now held by carol@desk"):
            guard.check()
    assert parse_holder(api.spec()["holderIdentity"]) == THIRD and "delete" not in api.writes


def test_step_lease_with_a_lost_lease_fails_before_the_body_runs():
    api = FakeApi()
    api.put(THIRD, T0)
    fact = {"name": NS, "namespace": NS, "holder": ME.to_json()}
    ran = []
    with pytest.raises(LeaseLost), step_lease(FakeModule({"namespace": NS, "lease": fact}), api=api):
        ran.append(True)
    assert ran == []


def test_step_lease_in_check_mode_neither_takes_nor_fences():
    api = FakeApi()
    api.put(THIRD, T0)
    fact = {"name": NS, "namespace": NS, "holder": ME.to_json()}
    with step_lease(FakeModule({"namespace": NS, "lease": fact}, check_mode=True), api=api) as guard:
        guard.check()
    with step_lease(FakeModule({"namespace": NS}, check_mode=True), api=api) as guard:
        guard.check()
    assert api.writes == []


# --------------------------------------------------------------------------------------------
# The real process prober (Linux /proc)
# --------------------------------------------------------------------------------------------


def test_local_prober_sees_alive_stopped_zombie_and_dead_processes():
    prober = LocalProcessProber()
    assert prober.alive(os.getpid()) and not prober.stopped(os.getpid())
    assert not prober.alive(0) and not prober.alive(-1)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        os.kill(child.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 5
        while not prober.stopped(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert prober.alive(child.pid) and prober.stopped(child.pid)
        assert lease_mod.process_lost(prober, child.pid)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while prober.alive(child.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not prober.alive(child.pid)  # a zombie until reaped: counts as dead
    finally:
        child.kill()
        child.wait()
    assert not prober.alive(child.pid)


# --------------------------------------------------------------------------------------------
# run_lease_state: what the `lease` module does per state
# --------------------------------------------------------------------------------------------


def module_params(**params) -> dict:
    return {
        "state": "acquired",
        "namespace": NS,
        "name": None,
        "duration": 20,
        "wait_timeout": 60,
        "run_id": None,
        "holder": None,
        "_controller_pid": 1000,
        **params,
    }


def test_module_acquired_returns_the_fact_and_covers_the_keeper_start():
    api, clock, prober = new_world(alive={1000})
    result = run_lease_state(module_params(run_id="awx-17"), api, clock=clock, prober=prober)
    fact = result["ansible_facts"]["hiero_solo_lease"]
    holder = parse_holder(fact["holder"])
    assert fact["name"] == fact["namespace"] == NS and fact["holder"] == api.spec()["holderIdentity"]
    assert (holder.pid, holder.tool, holder.run_id) == (1000, "hiero.solo", "awx-17")  # the controller's PID
    assert result["changed"] is True and result["action"] == "created" and result["namespace_created"] is True
    assert api.spec()["leaseDurationSeconds"] == 20 + KEEPER_START_ALLOWANCE
    # the same playbook acquiring again (fresh run_id) keeps the recorded holder: its keeper stays valid
    again = run_lease_state(module_params(), api, clock=clock, prober=prober)
    assert (again["changed"], again["action"]) == (False, "renewed")
    assert again["ansible_facts"]["hiero_solo_lease"]["holder"] == fact["holder"]


def test_module_keeper_renews_with_the_plain_duration_and_stops_with_the_controller():
    api, clock, prober = new_world(alive={1000})
    fact = run_lease_state(module_params(), api, clock=clock, prober=prober)["ansible_facts"]["hiero_solo_lease"]
    clock.on_sleep.append(lambda: clock.elapsed >= 30 and prober.alive_pids.discard(1000))
    result = run_lease_state(module_params(state="held", holder=fact["holder"]), api, clock=clock, prober=prober)
    assert result["controller_gone"] is True and result["lost"] is False and result["changed"] is False
    assert result["renewals"] == 5  # t = 0, 6.7, 13.3, 20, 26.7
    assert api.spec()["leaseDurationSeconds"] == 20
    assert result["lease"]["holder_identity"] == fact["holder"]


def test_module_held_in_check_mode_only_checks():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    ours = run_lease_state(module_params(state="held", holder=ME.to_json()), api, check_mode=True)
    theirs = run_lease_state(module_params(state="held", holder=THIRD.to_json()), api, check_mode=True)
    assert (ours["lost"], theirs["lost"]) == (False, True) and api.writes == ["create"]
    assert theirs["msg"] == "lease lost: now held by alice@laptop pid 1000 (hiero.solo)"


def test_module_acquired_in_check_mode_warns_instead_of_waiting():
    api, clock, prober = new_world()
    RenewingHolder(api, clock, SOLO_ELSEWHERE)
    warnings: list[str] = []
    result = run_lease_state(module_params(), api, check_mode=True, warn=warnings.append, clock=clock, prober=prober)
    assert result["action"] == "would_wait" and result["changed"] is False and clock.elapsed == 0
    assert warnings and "bob@ci-runner-7 pid 4242 (solo)" in warnings[0]
    assert parse_holder(result["ansible_facts"]["hiero_solo_lease"]["holder"]).pid == 1000


def test_module_released_and_info():
    api, clock, prober = new_world()
    acquire(api, NS, NS, ME, clock=clock, prober=prober)
    info = run_lease_state(module_params(state="info", holder=ME.to_json()), api)
    assert info["held"] is True and info["lease"]["holder"]["username"] == "alice" and info["changed"] is False
    not_ours = run_lease_state(module_params(state="released", holder=THIRD.to_json()), api)
    assert (not_ours["changed"], not_ours["released"]) == (False, False) and (NS, NS) in api.leases
    ours = run_lease_state(module_params(state="released", holder=ME.to_json()), api)
    assert (ours["changed"], ours["released"]) == (True, True) and api.leases == {}
    again = run_lease_state(module_params(state="released", holder=ME.to_json()), api)
    assert again["changed"] is False
    assert run_lease_state(module_params(state="info"), api)["lease"] == {"exists": False}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"namespace": "One_Shot"}, "namespace"),
        ({"name": "x" * 64}, "name"),
        ({"duration": 0}, "duration"),
        ({"wait_timeout": -1}, "wait_timeout"),
        ({"state": "held"}, "holder"),
        ({"state": "released", "holder": ""}, "holder"),
    ],
)
def test_module_rejects_bad_input_before_any_call(params, field):
    api = FakeApi()
    with pytest.raises(InputError) as caught:
        run_lease_state(module_params(**params), api)
    assert caught.value.field == field and str(caught.value).startswith(f"{field}: ")
    assert api.writes == [] and api.namespaces == {}


def test_renewal_sends_micro_time_with_six_fraction_digits_even_for_a_zero_fraction():
    api, clock, _ = new_world()
    api.put(ME, T0)
    api.leases[(NS, NS)]["spec"]["acquireTime"] = "2025-01-02T03:04:05+00:00"  # isoformat() of a whole second
    clock.elapsed = 2.0
    renew(api, NS, NS, ME, duration=20, clock=clock)
    assert api.spec()["acquireTime"] == "2025-01-02T03:04:05.000000Z"
    assert api.spec()["renewTime"] == "2025-01-02T03:04:07.000000Z"
