"""hiero.solo.lease through ansible-playbook against the sandbox API server.

Each test runs real playbooks (tests/integration/playbooks/lease_*.yml) with a short Lease duration
and watches the Lease from the side with the official client while they run. The `sandbox` fixture
(tests/sandbox/fixture.py) is registered by tests/integration/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from ansible_collections.hiero.solo.plugins.module_utils._errors import LeaseLost
from ansible_collections.hiero.solo.plugins.module_utils._lease import (
    KEEPER_START_ALLOWANCE,
    Holder,
    KubeLeaseApi,
    acquire,
    format_micro_time,
    parse_holder,
    parse_time,
    step_lease,
)
from tests.integration._ansible import ansible_env, playbook_command

# Seconds. Must exceed the time from the acquire task to the keeper's first renewal (about 3 s on a
# loaded 2-core machine: task start-up, async_wrapper, importing kubernetes), or the Lease would go
# unrenewed for longer than its duration in that window.
DURATION = 4
PERIOD = DURATION / 3


def new_namespace() -> str:
    return f"lease-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def clients(sandbox):
    return get_clients({"kubeconfig": str(sandbox.kubeconfig)})


@pytest.fixture
def api(clients):
    return KubeLeaseApi(clients)


@dataclass
class Play:
    process: subprocess.Popen
    result_file: Path
    output_file: Path
    token: str
    started: float
    finished: float | None = None

    def poll(self) -> bool:
        if self.finished is None and self.process.poll() is not None:
            self.finished = time.monotonic()
        return self.finished is not None

    def wait(self, timeout: float = 60) -> tuple[int, str]:
        self.process.wait(timeout)
        self.poll()
        return self.process.returncode, self.output_file.read_text()

    def result(self) -> dict:
        return json.loads(self.result_file.read_text())


def start_play(sandbox, tmp_path: Path, playbook: str, **extra_vars) -> Play:
    """Start ansible-playbook the way a user on this machine would, on localhost with a local connection."""
    token = uuid.uuid4().hex
    work = tmp_path / token
    # HIERO_LEASE_TEST_TOKEN lets the test find this run's processes, keeper included.
    env = ansible_env(sandbox.kubeconfig, work, HIERO_LEASE_TEST_TOKEN=token)
    argv, env, result_file = playbook_command(sandbox.kubeconfig, work, playbook, extra_vars, env=env)
    output_file = work / "output.log"
    with output_file.open("w") as output:
        process = subprocess.Popen(argv, cwd=work, env=env, stdout=output, stderr=subprocess.STDOUT)
    return Play(process, result_file, output_file, token, time.monotonic())


def run_play(sandbox, tmp_path: Path, playbook: str, timeout: float = 60, **extra_vars) -> tuple[int, str, Play]:
    play = start_play(sandbox, tmp_path, playbook, **extra_vars)
    rc, out = play.wait(timeout)
    return rc, out, play


class LeaseSampler(threading.Thread):
    """Reads the Lease every 100 ms while a play runs: (monotonic time, record or None)."""

    def __init__(self, api: KubeLeaseApi, namespace: str) -> None:
        super().__init__(daemon=True)
        self.api, self.namespace = api, namespace
        self.samples: list[tuple[float, dict | None]] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.samples.append((time.monotonic(), self.api.read(self.namespace, self.namespace)))
            self._halt.wait(0.1)

    def stop(self) -> list[tuple[float, dict | None]]:
        self._halt.set()
        self.join(5)
        return self.samples


def play_processes(token: str) -> list[tuple[int, list[bytes]]]:
    """Live (not zombie) processes started by the play carrying `token`: (pid, argv)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"HIERO_LEASE_TEST_TOKEN={token}".encode() in environ and state != "Z":
            found.append((int(entry.name), cmdline.split(b"\0")))
    return found


def keeper_processes(token: str) -> list[int]:
    """PIDs of the lease keeper module of that play (the process that renews).

    Not async_wrapper's watcher: that one only polls its child every 5 s and writes the job file.
    """
    return [pid for pid, argv in play_processes(token) if len(argv) > 1 and argv[1].endswith(b"/AnsiballZ_lease.py")]


def put_solo_lease(clients, namespace: str, holder: dict, renew_time: datetime, duration: int) -> dict:
    """A Lease as solo leaves it after a renewal: holder JSON without tool/run_id, no leaseTransitions."""
    clients.core.create_namespace({"metadata": {"name": namespace, "labels": {"app.kubernetes.io/created-by": "solo"}}})
    body = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": namespace, "namespace": namespace},
        "spec": {
            "holderIdentity": json.dumps(holder, separators=(",", ":")),
            "leaseDurationSeconds": duration,
            "acquireTime": format_micro_time(renew_time),
            "renewTime": format_micro_time(renew_time),
        },
    }
    created = clients.coordination.create_namespaced_lease(namespace, body)
    return clients.api_client.sanitize_for_serialization(created)


# --------------------------------------------------------------------------------------------


def test_two_plays_together_one_wins_keeps_it_renewed_for_three_durations_and_releases_it(sandbox, api, tmp_path):
    """Two plays start together on one namespace (one pair of runs covers both acceptance cases, to keep
    this file short): exactly one gets the Lease; the other fails within its wait_timeout naming the
    holder; the winner's keeper renews it while the play sleeps 3x the duration; release frees it at once."""
    namespace = new_namespace()
    wait_timeout = 3
    sampler = LeaseSampler(api, namespace)
    sampler.start()
    writes_before = sandbox.stats()["lease_writes"]
    plays = [
        start_play(
            sandbox,
            tmp_path,
            "lease_hold.yml",
            lease_namespace=namespace,
            duration=DURATION,
            hold_seconds=3 * DURATION,
            wait_timeout=wait_timeout,
        )
        for _ in range(2)
    ]
    deadline = time.monotonic() + 120
    while not all(play.poll() for play in plays) and time.monotonic() < deadline:
        time.sleep(0.05)
    samples = sampler.stop()
    writes_during = sandbox.stats()["lease_writes"] - writes_before
    outcomes = [(*play.wait(1), play) for play in plays]

    # exactly one winner; the loser names it
    winners = [play for rc, _, play in outcomes if rc == 0]
    losers = [play for rc, _, play in outcomes if rc != 0]
    assert len(winners) == 1 and len(losers) == 1, [out for _, out, _ in outcomes]
    winner, loser = winners[0], losers[0]
    result = winner.result()
    failure = loser.result()["acquired"]
    assert failure["failed"] is True
    holder_identity = result["acquired"]["ansible_facts"]["hiero_solo_lease"]["holder"]
    holder = parse_holder(holder_identity)
    assert holder.tool == "hiero.solo" and holder.pid == winner.process.pid  # the ansible-playbook process
    assert failure["msg"].startswith(
        f"Lease {namespace}/{namespace} is held by {holder.username}@{holder.hostname} pid {winner.process.pid} "
        "(hiero.solo) since "
    ), failure["msg"]
    assert "last renewed " in failure["msg"]
    # it gave up once its wait_timeout was over, not later (the rest of its run time is ansible start-up)
    assert wait_timeout <= failure["waited"] < wait_timeout + 1
    assert loser.finished - loser.started < wait_timeout + 30  # a bound for a loaded machine, nothing more

    held = [(t, r) for t, r in samples if r is not None]
    assert held, "the Lease was never seen"
    assert all(r["spec"]["holderIdentity"] == holder_identity for _, r in held)
    assert result["acquired"]["ansible_facts"]["hiero_solo_lease"] == {
        "name": namespace,
        "namespace": namespace,
        "holder": holder_identity,
    }

    # renewTime advanced all along: between the first and the last sighting no version of the record
    # stood still for the duration it declares, so at no moment could anyone have judged it expired.
    # (The acquire declares duration + KEEPER_START_ALLOWANCE to cover the keeper's start; the
    # keeper's renewals declare the plain duration.)
    assert held[-1][0] - held[0][0] >= 3 * DURATION
    versions = [held[0]] + [
        (t, r)
        for (t, r), (_, prev) in zip(held[1:], held[:-1], strict=True)
        if r["spec"]["renewTime"] != prev["spec"]["renewTime"]
    ]
    ends = [t for t, _ in versions[1:]] + [held[-1][0]]
    unrenewed = [(end - t, r["spec"]["leaseDurationSeconds"]) for (t, r), end in zip(versions, ends, strict=True)]
    assert all(seconds < declared for seconds, declared in unrenewed), unrenewed
    assert versions[0][1]["spec"]["leaseDurationSeconds"] == DURATION + KEEPER_START_ALLOWANCE
    assert {r["spec"]["leaseDurationSeconds"] for _, r in versions[1:]} == {DURATION}
    assert len(versions) >= 3 * DURATION / PERIOD - 2
    handoff = versions[1][0] - versions[0][0]  # acquire -> the keeper's first renewal

    # released: gone from the cluster, and the keeper noticed on its own and said so
    assert samples[-1][1] is None
    assert result["released"]["changed"] is True and result["released"]["released"] is True
    keeper = result["keeper"]
    assert keeper["finished"] and keeper["lost"] is True and keeper["controller_gone"] is False
    assert keeper["renewals"] >= 3 * DURATION / PERIOD - 1

    # another holder gets it at once
    other = Holder("someone", "elsewhere", 99, "hiero.solo", "next-run")
    taken = acquire(api, namespace, namespace, other, duration=DURATION, wait_timeout=0)
    assert taken.action == "created" and taken.waited < 1

    seconds_held = held[-1][0] - held[0][0]
    versions = len({r["metadata"]["resourceVersion"] for _, r in held})
    print(
        f"\n[lease] held {seconds_held:.1f}s at duration {DURATION}s: {versions} Lease versions seen "
        f"({versions / seconds_held * 60:.0f}/min; renewal every duration/3, so {60 / (20 / 3):.0f}/min at the "
        f"default 20s); keeper renewals {keeper['renewals']}; acquire -> first keeper renewal {handoff:.1f}s; "
        f"the loser waited {failure['waited']}s"
    )
    print(f"[lease] Lease write requests during the two plays (sandbox stats): {writes_during}")


def test_sigkill_of_ansible_playbook_stops_the_keeper_and_the_lease_is_taken_over_at_once(sandbox, api, tmp_path):
    namespace = new_namespace()
    sampler = LeaseSampler(api, namespace)
    sampler.start()
    play = start_play(
        sandbox, tmp_path, "lease_hold.yml", lease_namespace=namespace, duration=DURATION, hold_seconds=60
    )
    try:
        check_sigkill(sandbox, api, tmp_path, namespace, sampler, play)
    finally:
        # A SIGKILLed ansible-playbook leaves the worker of its running task (the pause) behind; it is ours.
        for pid, _ in play_processes(play.token):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def check_sigkill(sandbox, api, tmp_path: Path, namespace: str, sampler: LeaseSampler, play: Play) -> None:
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline and not keeper_processes(play.token):
        time.sleep(0.1)
    assert keeper_processes(play.token), "the keeper never started"
    while time.monotonic() < deadline and len({r["spec"]["renewTime"] for _, r in sampler.samples if r}) < 2:
        time.sleep(0.1)  # until it has renewed

    killed_wall = datetime.now(timezone.utc)
    killed_at = time.monotonic()
    play.process.send_signal(signal.SIGKILL)
    play.process.wait(10)
    while keeper_processes(play.token) and time.monotonic() - killed_at < 10:
        time.sleep(0.05)
    keeper_gone_after = time.monotonic() - killed_at
    assert keeper_processes(play.token) == []
    # The keeper's own report (its async job file, written as it ends) says when it stopped renewing.
    (job_file,) = (play.result_file.parent / "ansible-async").iterdir()  # ANSIBLE_ASYNC_DIR of _ansible.ansible_env
    keeper: dict = {}
    while "controller_gone" not in keeper and time.monotonic() - killed_at < 10:  # async_wrapper writes it last
        time.sleep(0.05)
        keeper = json.loads(job_file.read_text() or "{}")
    assert keeper["controller_gone"] is True and keeper["lost"] is False
    keeper_stopped_after = (parse_time(keeper["finished"]) - killed_wall).total_seconds()
    assert keeper_stopped_after <= PERIOD, keeper_stopped_after  # within one renewal period
    assert keeper_gone_after <= PERIOD + 1.5, keeper_gone_after  # and the process exits (+ slack on a busy machine)

    time.sleep(PERIOD)
    samples = sampler.stop()
    # no renewal after the keeper saw the controller go: renewTime stands still after the kill
    after_kill = [r for t, r in samples if t > killed_at + keeper_gone_after and r is not None]
    assert after_kill and len({r["spec"]["renewTime"] for r in after_kill}) == 1
    dead_holder = parse_holder(after_kill[-1]["spec"]["holderIdentity"])
    assert dead_holder.pid == play.process.pid

    rc, out, rerun = run_play(
        sandbox,
        tmp_path,
        "lease_acquire.yml",
        lease_namespace=namespace,
        duration=DURATION,
        wait_timeout=math.ceil(DURATION + PERIOD),
    )
    takeover_after = time.monotonic() - killed_at
    assert rc == 0, out
    acquired = rerun.result()["acquired"]
    assert acquired["action"] == "taken_over" and f"process {play.process.pid}" in acquired["msg"]
    assert acquired["waited"] < 1.0  # same host, dead PID: at once, no waiting for expiry
    assert acquired["lease"]["lease_transitions"] == 1
    print(
        f"\n[lease] keeper stopped {keeper_stopped_after:.2f}s (process gone {keeper_gone_after:.2f}s) after SIGKILL; "
        f"new run waited {acquired['waited']:.2f}s "
        f"for the Lease; SIGKILL -> re-acquired (incl. ansible-playbook start-up) {takeover_after:.1f}s"
    )


def test_a_live_solo_lease_blocks_us_and_an_expired_one_is_taken_over(sandbox, clients, api, tmp_path):
    # Two namespaces, two plays at once: one Lease solo keeps renewing, one solo abandoned.
    live, abandoned = new_namespace(), new_namespace()
    solo_holder = {"username": "solo-user", "hostname": "other-machine", "pid": 4242}
    put_solo_lease(clients, live, solo_holder, datetime.now(timezone.utc), DURATION)
    put_solo_lease(clients, abandoned, solo_holder, datetime.now(timezone.utc) - timedelta(seconds=60), DURATION)

    stop = threading.Event()

    def solo_renews() -> None:  # as solo does: every duration/2, a replace with a new renewTime
        while not stop.wait(DURATION / 2):
            lease = clients.coordination.read_namespaced_lease(live, live)
            lease.spec.renew_time = datetime.now(timezone.utc)
            clients.coordination.replace_namespaced_lease(live, live, lease)

    renewer = threading.Thread(target=solo_renews, daemon=True)
    renewer.start()
    try:
        blocked = start_play(
            sandbox, tmp_path, "lease_acquire.yml", lease_namespace=live, duration=DURATION, wait_timeout=DURATION + 1
        )
        taking = start_play(
            sandbox,
            tmp_path,
            "lease_acquire.yml",
            lease_namespace=abandoned,
            duration=DURATION,
            wait_timeout=3 * DURATION,
        )
        (blocked_rc, _), (taking_rc, taking_out) = blocked.wait(90), taking.wait(90)
    finally:
        stop.set()
        renewer.join(5)

    # the live one blocks us, for longer than its duration, and is left as it was
    assert blocked_rc != 0
    failure = blocked.result()["acquired"]
    assert "is held by solo-user@other-machine pid 4242 (solo)" in failure["msg"], failure["msg"]
    assert DURATION + 1 <= failure["waited"] < DURATION + 2
    assert parse_holder(api.read(live, live)["spec"]["holderIdentity"]).username == "solo-user"

    # the abandoned one (renewTime older than its duration, unchanged while we watch) is taken over
    assert taking_rc == 0, taking_out
    acquired = taking.result()["acquired"]
    assert acquired["action"] == "taken_over" and "expired" in acquired["msg"]
    assert acquired["waited"] >= DURATION  # only after watching it unchanged for a full duration
    assert acquired["lease"]["lease_transitions"] == 1  # solo leaves the counter out; we count from there
    assert parse_holder(acquired["ansible_facts"]["hiero_solo_lease"]["holder"]).pid == taking.process.pid
    print(
        f"\n[lease] abandoned Lease of another host taken over after watching it {acquired['waited']}s "
        f"(duration {DURATION}s)"
    )


class StepModule:
    """The parts of HieroModule that step_lease uses, over a real client."""

    def __init__(self, clients, params: dict) -> None:
        self._clients, self.params, self.check_mode = clients, params, False

    def clients(self):
        return self._clients

    def warn(self, msg: str) -> None:
        raise AssertionError(msg)


def test_a_step_given_a_lost_lease_fails_before_writing_anything(sandbox, clients, api):
    namespace = new_namespace()
    ours = Holder("alice", "laptop", 11, "hiero.solo", "ours")
    acquire(api, namespace, namespace, ours, duration=DURATION, wait_timeout=0)
    fact = {"name": namespace, "namespace": namespace, "holder": ours.to_json()}
    put_by_other = api.read(namespace, namespace)
    put_by_other["spec"]["holderIdentity"] = json.dumps({"username": "bob", "hostname": "ci", "pid": 7})
    api.replace(namespace, namespace, put_by_other)
    version_before = api.read(namespace, namespace)["metadata"]["resourceVersion"]

    body_ran = []
    module = StepModule(clients, {"namespace": namespace, "lease": fact})
    lost_to_bob = r"^lease lost: now held by bob@ci pid 7 \(solo\)$"
    with pytest.raises(LeaseLost, match=lost_to_bob), step_lease(module) as guard:
        body_ran.append(True)
        guard.check()
        clients.core.create_namespaced_config_map(namespace, {"metadata": {"name": "written-by-step"}})
    assert body_ran == []
    assert clients.core.list_namespaced_config_map(namespace).items == []
    assert api.read(namespace, namespace)["metadata"]["resourceVersion"] == version_before

    clients.coordination.delete_namespaced_lease(namespace, namespace)
    gone = f"^lease lost: the Lease {namespace}/{namespace} no longer exists$"
    with pytest.raises(LeaseLost, match=gone), step_lease(module):
        body_ran.append(True)
    assert body_ran == [] and api.read(namespace, namespace) is None


def test_a_step_without_a_lease_takes_and_releases_its_own(sandbox, clients, api):
    namespace = new_namespace()
    with step_lease(StepModule(clients, {"namespace": namespace, "lease": None}), duration=DURATION) as guard:
        record = api.read(namespace, namespace)
        holder = parse_holder(record["spec"]["holderIdentity"])
        assert guard.own and holder.pid == os.getpid() and holder.tool == "hiero.solo"
        assert clients.core.read_namespace(namespace).metadata.labels["app.kubernetes.io/created-by"] == "solo"
        time.sleep(PERIOD + 0.5)
        assert api.read(namespace, namespace)["spec"]["renewTime"] != record["spec"]["renewTime"]
        guard.check()
    assert api.read(namespace, namespace) is None
