# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Stop a step whose playbook run is gone.

A step module that runs with the play's ``lease`` option (the ``hiero_solo_lease`` fact) belongs to that run. The
holder identity names the ansible-playbook process and its host. When that process dies (SIGKILL, OOM killer, a
lost terminal), the async jobs it launched would otherwise go on installing charts into a deployment that someone
is about to destroy or redeploy: async_wrapper detaches them into their own session, so nothing else stops them.

The watchdog is a daemon thread that probes the PID twice a second. When the process is gone it sends the module
SIGTERM, whose handler (in the main thread) terminates the module's own children (helm) and raises ``RunGone``:
``finally`` blocks still run (temporary values files with secrets are removed, the run-state records the step as
failed when it can), and the module fails with a message naming the run. SIGTERM from anyone else (AWX
cancelling a job) ends a step that runs under the play's Lease the same way.

Only a holder on this host is watched: a PID means nothing on another machine, and there the Lease fence (every
write checks the holder) is what stops the step.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._lease import LocalProcessProber, parse_holder

POLL_S = 0.5
# A step that has not ended this long after the first SIGTERM gets a second one, with the default action.
ESCALATE_S = 5.0


class RunGone(BaseException):
    """The playbook run this step belongs to ended, or the module was asked to terminate.

    A BaseException, as KeyboardInterrupt is: the ``except Exception`` of a retry loop must not swallow it.
    """

    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result: dict[str, Any] = {}


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc); empty where /proc is not readable."""
    children: list[int] = []
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="utf-8") as stat:
                    # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
                    fields = stat.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if len(fields) > 1 and fields[1].isdigit() and int(fields[1]) == pid:
                children.append(int(entry))
    return children


def watched_pid(lease: Any, hostname: str | None = None) -> int | None:
    """The ansible-playbook PID of a ``lease`` option whose holder runs on this host, else None."""
    if not isinstance(lease, Mapping):
        return None
    try:
        holder = parse_holder(lease.get("holder"))
    except Exception:  # malformed holders are reported by the step's own lease checks
        return None
    if holder is None or not holder.pid or holder.hostname != (hostname or socket.gethostname()):
        return None
    return int(holder.pid)


class Watchdog(threading.Thread):
    """Calls ``on_gone`` when ``pid`` stops existing (a zombie counts as gone), and again ``escalate_s`` later
    unless stopped meanwhile."""

    def __init__(
        self, pid: int, on_gone: Callable[[int], None], poll_s: float = POLL_S, escalate_s: float = ESCALATE_S
    ) -> None:
        super().__init__(name=f"hiero-solo-watchdog-{pid}", daemon=True)
        self.pid = pid
        self._on_gone = on_gone
        self._poll_s = poll_s
        self._escalate_s = escalate_s
        self._halt = threading.Event()
        self._prober = LocalProcessProber()

    def run(self) -> None:
        while not self._halt.wait(self._poll_s):
            if not self._prober.alive(self.pid):
                self._on_gone(self.pid)
                # Still running escalate_s later (a module that ends stops its watchdog): once more. The SIGTERM
                # handler is gone by then, so the default action ends the process.
                if not self._halt.wait(self._escalate_s):
                    self._on_gone(self.pid)
                return

    def stop(self) -> None:
        self._halt.set()


def terminate_children() -> None:
    """SIGTERM to this process's children (helm), which must not outlive the step."""
    for child in child_pids(os.getpid()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(child, signal.SIGTERM)


def install_sigterm(describe: Callable[[], str]) -> None:
    """SIGTERM ends the children, then raises RunGone in the main thread: the module unwinds and fails."""

    def handler(signum: int, frame: Any) -> None:
        del signum, frame
        # Once is enough: a second SIGTERM while unwinding must not interrupt the clean-up.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        terminate_children()
        raise RunGone(describe())

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)


def guard_run(lease: Any) -> Watchdog | None:
    """With a ``lease`` option: arm the SIGTERM handler, and the watchdog when the holder runs on this host."""
    if not lease:
        return None
    pid = watched_pid(lease)
    gone: dict[str, int] = {}

    def describe() -> str:
        if "pid" in gone:
            return (
                f"the playbook run that holds the Lease (ansible-playbook PID {gone['pid']} on this host) has ended; "
                "this step stopped instead of going on without it"
            )
        return "terminated (SIGTERM)"

    install_sigterm(describe)
    if pid is None:
        return None

    def on_gone(dead: int) -> None:
        gone["pid"] = dead
        os.kill(os.getpid(), signal.SIGTERM)  # handled in the main thread (install_sigterm)

    watchdog = Watchdog(pid, on_gone)
    watchdog.start()
    return watchdog
