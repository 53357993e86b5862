"""A step stops when the ansible-playbook run that holds its Lease is gone (module_utils/_watchdog.py).

The end-to-end case runs a real child Python process that arms ``guard_run`` the way HieroModule does, with a
stand-in "ansible-playbook" process (``sleep``) as the Lease holder, starts a long child of its own (as helm
would be), and then waits. Killing the stand-in must end the step through RunGone (its ``finally`` runs) and take
its child down with it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ansible_collections.hiero.solo.plugins.module_utils._lease import Holder, local_holder
from ansible_collections.hiero.solo.plugins.module_utils._watchdog import ESCALATE_S, Watchdog, child_pids, watched_pid

ROOT = Path(__file__).resolve().parents[3]


def lease_of(holder: Holder) -> dict:
    return {"name": "ns", "namespace": "ns", "holder": holder.to_json()}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/status", encoding="utf-8") as status:
        return "\nState:\tZ" not in status.read()


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_holder_on_this_host_is_watched_by_its_pid():
    assert watched_pid(lease_of(local_holder(4242))) == 4242


def test_a_holder_on_another_host_or_without_a_pid_is_not_watched():
    holder = local_holder(4242)
    elsewhere = Holder(holder.username, "some-other-host", 4242, holder.tool, holder.run_id)
    assert watched_pid(lease_of(elsewhere)) is None
    assert watched_pid(lease_of(Holder(holder.username, holder.hostname, None))) is None
    assert watched_pid({"namespace": "ns", "holder": "not json"}) is None
    assert watched_pid(None) is None


def test_child_pids_lists_direct_children_only():
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert child.pid in child_pids(os.getpid())
        assert child_pids(child.pid) == []
    finally:
        child.kill()
        child.wait()


def test_the_watchdog_reports_a_dead_process_again_unless_stopped_and_never_a_living_one():
    living = subprocess.Popen(["sleep", "30"])
    doomed = subprocess.Popen(["sleep", "30"])
    twice = subprocess.Popen(["sleep", "30"])
    seen: list[int] = []
    try:
        keep = Watchdog(living.pid, seen.append, poll_s=0.05)
        watch = Watchdog(doomed.pid, seen.append, poll_s=0.05, escalate_s=0.5)
        again = Watchdog(twice.pid, seen.append, poll_s=0.05, escalate_s=0.5)
        for thread in (keep, watch, again):
            thread.start()
        time.sleep(0.3)
        assert seen == []
        doomed.kill()
        doomed.wait()  # reaped: gone from /proc
        assert wait_until(lambda: seen == [doomed.pid])
        watch.stop()  # as a module that ends does: no second report
        watch.join(timeout=2)
        assert not watch.is_alive()
        twice.kill()
        twice.wait()
        assert wait_until(lambda: seen.count(twice.pid) == 2)
        again.join(timeout=2)
        assert not again.is_alive()
        assert keep.is_alive()
        keep.stop()
        keep.join(timeout=2)
        assert not keep.is_alive()
        assert seen == [doomed.pid, twice.pid, twice.pid]
    finally:
        living.kill()
        living.wait()


STEP = textwrap.dedent(
    """
    import json, subprocess, sys, time
    from ansible_collections.hiero.solo.plugins.module_utils._watchdog import RunGone, guard_run

    lease, report = json.loads(sys.argv[1]), sys.argv[2]
    guard_run(lease)
    helm = subprocess.Popen(["sleep", "60"])  # the long child a step waits on, as it waits on helm
    with open(report, "w") as out:
        out.write(json.dumps({"child": helm.pid}))
    try:
        while True:
            try:
                helm.wait()
                break
            except Exception:  # a retry loop must not swallow the end of the run
                continue
        outcome = {"child": helm.pid, "ended": "child exited"}
    except RunGone as exc:
        outcome = {"child": helm.pid, "ended": "RunGone", "msg": exc.msg}
    finally:
        with open(report, "w") as out:
            out.write(json.dumps({**locals().get("outcome", {"child": helm.pid}), "finally": True}))
    sys.exit(3)
    """
)


@pytest.fixture
def playbook():
    """A stand-in ansible-playbook process to hold the Lease."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def start_step(tmp_path: Path, lease: dict, script: str = STEP) -> tuple[subprocess.Popen, Path, int]:
    report = tmp_path / "report.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "collections"), os.environ.get("PYTHONPATH", "")])}
    step = subprocess.Popen([sys.executable, "-c", script, json.dumps(lease), str(report)], env=env)
    assert wait_until(lambda: report.exists() and report.read_text().strip() != ""), "the step did not start"
    return step, report, json.loads(report.read_text())["child"]


def test_a_step_ends_through_its_finally_when_the_playbook_is_killed(tmp_path, playbook):
    step, report, child = start_step(tmp_path, lease_of(local_holder(playbook.pid)))
    try:
        time.sleep(1.0)
        assert step.poll() is None, "the step must go on while the playbook lives"
        playbook.send_signal(signal.SIGKILL)
        playbook.wait()
        assert step.wait(timeout=10) == 3
        outcome = json.loads(report.read_text())
        assert outcome["ended"] == "RunGone", outcome
        assert f"ansible-playbook PID {playbook.pid}" in outcome["msg"]
        assert outcome["finally"] is True
        assert wait_until(lambda: not alive(child)), "the step's child (helm) must not outlive it"
    finally:
        if step.poll() is None:
            step.kill()
        if alive(child):
            os.kill(child, signal.SIGKILL)


def test_a_step_of_a_playbook_on_another_host_is_left_to_the_lease_fence(tmp_path, playbook):
    holder = local_holder(playbook.pid)
    elsewhere = Holder(holder.username, "some-other-host", playbook.pid, holder.tool, holder.run_id)
    step, _report, child = start_step(tmp_path, lease_of(elsewhere))
    try:
        playbook.kill()
        playbook.wait()
        time.sleep(1.5)
        assert step.poll() is None, "a PID on another host says nothing about this one"
    finally:
        step.kill()
        step.wait()
        os.kill(child, signal.SIGKILL)


STUBBORN = textwrap.dedent(
    """
    import json, sys, time
    from ansible_collections.hiero.solo.plugins.module_utils._watchdog import guard_run

    lease, report = json.loads(sys.argv[1]), sys.argv[2]
    guard_run(lease)
    with open(report, "w") as out:
        out.write(json.dumps({"child": 0}))
    while True:
        try:
            time.sleep(0.1)
        except BaseException:  # swallows even RunGone
            pass
    """
)


def test_a_step_that_swallows_the_end_of_its_run_is_terminated_anyway(tmp_path, playbook):
    step, _report, _child = start_step(tmp_path, lease_of(local_holder(playbook.pid)), STUBBORN)
    try:
        playbook.kill()
        playbook.wait()
        # first SIGTERM raises RunGone (swallowed here); the second, ESCALATE_S later, has the default action
        assert step.wait(timeout=ESCALATE_S + 10) == -signal.SIGTERM
    finally:
        if step.poll() is None:
            step.kill()
            step.wait()
