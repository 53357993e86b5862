# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The single deployment Lease: acquire, renew (the keeper), release, and fencing.

The state machine is a set of pure functions over three injected parts, so it can be tested
without a cluster and without waiting:

- a ``LeaseApi`` (read / create / replace / delete with optimistic concurrency, raising
  ``Conflict`` on any 409; ``KubeLeaseApi`` is the real one over the typed kubernetes client),
- a ``Clock`` (wall time for the Lease's MicroTime fields, monotonic time for observing it),
- a ``ProcessProber`` (is a local PID alive / stopped).

Compatibility with solo (hiero-ledger/solo ``src/core/lock``): same object (Lease named after the
namespace, in that namespace), same holder JSON (``username``, ``hostname``, ``pid``; solo ignores
our extra ``tool`` and ``run_id``), same takeover rules, and release deletes the Lease as solo does.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol

from ansible_collections.hiero.solo.plugins.module_utils._client import ApiException, Urllib3HTTPError, cluster_error
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError, LeaseBusy, LeaseError, LeaseLost

TOOL = "hiero.solo"
DEFAULT_DURATION = 20  # solo's DEFAULT_LEASE_DURATION (env SOLO_LEASE_DURATION)
DEFAULT_WAIT_TIMEOUT = 60
# Extra seconds of leaseDurationSeconds written by `lease state=acquired`: the keeper is a separate task
# and needs a few seconds (task start, async_wrapper, Python and kubernetes imports; ~4 s measured on a
# loaded 2-core machine) before its first renewal. Without this, a short `duration` would leave the Lease
# unrenewed for longer than it declares, i.e. open to a legitimate takeover while its holder is fine.
# The keeper's renewals write the plain `duration` again.
KEEPER_START_ALLOWANCE = 10
# solo labels a namespace it creates for its lock this way (constants.ts); so do we.
SOLO_NAMESPACE_LABELS = {"app.kubernetes.io/created-by": "solo"}

# Backoff while waiting for a busy Lease: start small (a release is usually seconds away), double,
# cap so a freed Lease is noticed quickly, and jitter so two waiters do not re-read in lockstep.
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 5.0
# Bound on re-read/re-decide rounds after 409s within one renew or release (each round needs
# another writer to have won in between, so reaching it means something is badly wrong).
MAX_CONFLICT_ROUNDS = 10


class Conflict(Exception):
    """A write lost an optimistic-concurrency race (HTTP 409, or the object vanished under us)."""


# --------------------------------------------------------------------------------------------
# Injected parts
# --------------------------------------------------------------------------------------------


class LeaseApi(Protocol):
    def read(self, namespace: str, name: str) -> dict | None: ...

    def create(self, namespace: str, body: dict) -> dict: ...

    def replace(self, namespace: str, name: str, body: dict) -> dict: ...

    def delete(self, namespace: str, name: str, resource_version: str | None) -> bool: ...

    def ensure_namespace(self, name: str, labels: Mapping[str, str]) -> bool: ...


class Clock(Protocol):
    def wall(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class ProcessProber(Protocol):
    def alive(self, pid: int) -> bool: ...

    def stopped(self, pid: int) -> bool: ...


class SystemClock:
    def wall(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


_STATE_RE = re.compile(r"^State:\s+(\S)", re.MULTILINE)


class LocalProcessProber:
    """Probes PIDs on this machine the way solo's LockHolder does (Linux /proc for the state)."""

    def _state(self, pid: int) -> str | None:
        try:
            with open(f"/proc/{pid}/status", encoding="utf-8") as status:
                match = _STATE_RE.search(status.read())
        except OSError:
            return None
        return match.group(1) if match else None

    def alive(self, pid: int) -> bool:
        if pid <= 0:  # kill(0 or negative) would address a process group, never a holder
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # exists, owned by someone else
            return True
        # A zombie has exited and only waits to be reaped: it can never renew anything.
        return self._state(pid) not in ("Z", "X")

    def stopped(self, pid: int) -> bool:
        # SIGSTOP / Ctrl-Z ("T") or a tracing stop ("t"): the PID exists but cannot renew.
        return self._state(pid) in ("T", "t")


def process_lost(prober: ProcessProber, pid: int) -> bool:
    return not prober.alive(pid) or prober.stopped(pid)


# --------------------------------------------------------------------------------------------
# Holder identity
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    """Who holds the Lease. Solo reads username, hostname and pid; tool and run_id are ours."""

    username: str
    hostname: str
    pid: int | None
    tool: str | None = None
    run_id: str | None = None
    raw: str = field(default="", compare=False)  # the holderIdentity as found, for foreign formats

    @property
    def structured(self) -> bool:
        return bool(self.username or self.hostname or self.pid is not None)

    def to_json(self) -> str:
        # Compact, key order as solo's JSON.stringify, so solo's own output looks the same.
        document: dict[str, Any] = {"username": self.username, "hostname": self.hostname, "pid": self.pid}
        if self.tool is not None:
            document["tool"] = self.tool
        if self.run_id is not None:
            document["run_id"] = self.run_id
        return json.dumps(document, separators=(",", ":"))

    def describe(self) -> str:
        if not self.structured:
            return repr(self.raw)
        # A holder JSON without "tool" is the shape solo writes.
        return f"{self.username}@{self.hostname} pid {self.pid} ({self.tool or 'solo'})"


def local_holder(pid: int, run_id: str | None = None) -> Holder:
    """This machine's identity as solo computes it (login name, os.hostname()) for a given PID."""
    return Holder(
        username=current_username(),
        hostname=socket.gethostname(),
        pid=pid,
        tool=TOOL,
        run_id=run_id or str(uuid.uuid4()),
    )


def current_username() -> str:
    # solo uses os.userInfo().username, i.e. the passwd entry of the uid, not $USER.
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        import getpass

        return getpass.getuser()


def parse_holder(identity: Any) -> Holder | None:
    """holderIdentity → Holder; None when the Lease has no holder. Never raises."""
    if identity is None or identity == "":
        return None
    if isinstance(identity, Mapping):
        document: Any = identity
        raw = json.dumps(dict(identity), separators=(",", ":"))
    else:
        raw = str(identity)
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
    if not isinstance(document, Mapping):
        return Holder(username="", hostname="", pid=None, raw=raw)
    pid = document.get("pid")
    try:
        pid = int(pid) if pid is not None and not isinstance(pid, bool) else None
    except (TypeError, ValueError):
        pid = None

    def text(key: str) -> str | None:
        value = document.get(key)
        return None if value is None else str(value)

    return Holder(
        username=text("username") or "",
        hostname=text("hostname") or "",
        pid=pid,
        tool=text("tool"),
        run_id=text("run_id"),
        raw=raw,
    )


def same_holder(a: Holder | None, b: Holder | None) -> bool:
    """The exact holder: what fencing, the keeper and release compare."""
    if a is None or b is None:
        return False
    if not a.structured or not b.structured:
        return a.raw == b.raw
    return a == b


def same_process(a: Holder | None, b: Holder | None) -> bool:
    """Same user, host, PID and tool (solo's LockHolder.equals plus the tool): the same run."""
    if a is None or b is None or not a.structured or not b.structured or a.pid is None:
        return False
    return (a.username, a.hostname, a.pid, a.tool) == (b.username, b.hostname, b.pid, b.tool)


def same_machine(a: Holder | None, b: Holder | None) -> bool:
    """Same username and hostname (solo's isSameMachineIdentity)."""
    if a is None or b is None or not a.username or not a.hostname:
        return False
    return (a.username, a.hostname) == (b.username, b.hostname)


# --------------------------------------------------------------------------------------------
# Time and the record
# --------------------------------------------------------------------------------------------


def format_micro_time(moment: datetime) -> str:
    """RFC 3339 with microseconds in UTC, the wire form of a metav1.MicroTime."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def spec_of(lease: Mapping | None) -> dict:
    return dict((lease or {}).get("spec") or {})


def duration_of(lease: Mapping | None) -> int:
    return int(spec_of(lease).get("leaseDurationSeconds") or DEFAULT_DURATION)


def record_key(lease: Mapping | None) -> tuple | None:
    """What must stay identical for the record to count as 'unchanged' while we observe it."""
    if lease is None:
        return None
    metadata = lease.get("metadata") or {}
    spec = spec_of(lease)
    return (
        metadata.get("uid"),
        metadata.get("resourceVersion"),
        spec.get("holderIdentity"),
        spec.get("leaseDurationSeconds"),
        str(spec.get("acquireTime")),
        str(spec.get("renewTime")),
        spec.get("leaseTransitions"),
    )


@dataclass
class Observation:
    """client-go's observedRecord/observedTime: when did *we* first see the current record."""

    key: tuple | None = None
    since: float = 0.0
    seen: bool = False

    def update(self, lease: Mapping | None, monotonic_now: float) -> float:
        """Record a read; return for how long (our monotonic seconds) the record has been unchanged."""
        key = record_key(lease)
        if not self.seen or key != self.key:
            self.key, self.since, self.seen = key, monotonic_now, True
        return monotonic_now - self.since


def is_expired(lease: Mapping, observed_for: float, wall_now: datetime) -> bool:
    """May this Lease be taken over because its holder has stopped renewing?

    The rule, and why it survives +-60 s (or any) clock skew:

    1. Necessary: WE have seen the very same record (same resourceVersion, same spec) for at least
       leaseDurationSeconds, measured on OUR monotonic clock. A live holder renews well within its
       duration (solo every duration/2, we every duration/3), and every renewal changes the record,
       so a record that stays unchanged that long belongs to a holder that has stopped. No wall
       clock takes part, so neither the holder's skew nor a jump of our own clock can shorten it.
       This is client-go's observedTime rule (leaderelection.go) and the python client's.
    2. Also necessary: by our wall clock, renewTime (or acquireTime) is at least
       leaseDurationSeconds old. That timestamp comes from the holder's clock, so it is only
       allowed to make us MORE conservative: a holder whose clock runs ahead of ours looks freshly
       renewed, and we wait up to that skew longer before taking over a dead holder's Lease. A
       holder whose clock runs behind looks stale, but rule 1 still holds us back, so a skew in
       that direction can never lead to a steal. (Solo uses rule 2 alone, which is exactly what a
       slow clock turns into a steal.)

    Consequence: a fresh acquirer never takes over a Lease it has not watched for a full duration,
    however old its renewTime claims to be. The same-host dead-PID rule does not depend on time.
    """
    duration = duration_of(lease)
    if observed_for < duration:
        return False
    spec = spec_of(lease)
    last_write = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    return last_write is None or (wall_now - last_write).total_seconds() >= duration


# --------------------------------------------------------------------------------------------
# Decisions and bodies (pure)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    action: str  # "create" | "renew" | "takeover" | "wait"
    reason: str


def decide(
    lease: Mapping | None, me: Holder, observed_for: float, wall_now: datetime, prober: ProcessProber
) -> Decision:
    """solo's acquire() rules, with a skew-proof expiry (see is_expired)."""
    if lease is None:
        return Decision("create", "no Lease exists")
    current = parse_holder(spec_of(lease).get("holderIdentity"))
    if current is None:
        # client-go releases by clearing holderIdentity; such a Lease is free.
        return Decision("takeover", "the Lease has no holder")
    if same_holder(current, me) or same_process(current, me):
        return Decision("renew", "already held by this run")
    if is_expired(lease, observed_for, wall_now):
        return Decision(
            "takeover", f"expired: unchanged for {observed_for:.1f}s, longer than its {duration_of(lease)}s duration"
        )
    if same_machine(current, me) and current.pid is not None:
        if not prober.alive(current.pid):
            return Decision("takeover", f"holder process {current.pid} on this host is gone")
        if prober.stopped(current.pid):
            return Decision("takeover", f"holder process {current.pid} on this host is stopped")
    return Decision("wait", f"held by {current.describe()}")


def new_lease_body(namespace: str, name: str, holder_identity: str, duration: int, now: datetime) -> dict:
    stamp = format_micro_time(now)
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "holderIdentity": holder_identity,
            "leaseDurationSeconds": int(duration),
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": 0,
        },
    }


def _writable_copy(lease: Mapping) -> dict:
    body = copy.deepcopy(dict(lease))
    body.setdefault("apiVersion", "coordination.k8s.io/v1")
    body.setdefault("kind", "Lease")
    body["spec"] = spec_of(lease)
    # MicroTime must go back with exactly six fraction digits (the API parses RFC3339Micro strictly), but a
    # read through the typed client comes back as datetime.isoformat(), which drops a zero fraction.
    for key in ("acquireTime", "renewTime"):
        moment = parse_time(body["spec"].get(key))
        if moment is not None:
            body["spec"][key] = format_micro_time(moment)
    return body  # metadata.resourceVersion stays: the replace is conditional on it


def renewed_body(lease: Mapping, duration: int, now: datetime) -> dict:
    body = _writable_copy(lease)
    body["spec"]["renewTime"] = format_micro_time(now)
    body["spec"]["leaseDurationSeconds"] = int(duration)
    return body


def takeover_body(lease: Mapping, holder_identity: str, duration: int, now: datetime) -> dict:
    body = _writable_copy(lease)
    spec = body["spec"]
    stamp = format_micro_time(now)
    if spec.get("holderIdentity") != holder_identity:
        # Upstream loses this counter (it is not copied into the V1Lease); we keep it.
        spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
    spec.update(holderIdentity=holder_identity, leaseDurationSeconds=int(duration), acquireTime=stamp, renewTime=stamp)
    return body


def lease_summary(lease: Mapping | None) -> dict:
    """What modules return about a Lease (no metadata noise)."""
    if lease is None:
        return {"exists": False}
    spec = spec_of(lease)
    holder = parse_holder(spec.get("holderIdentity"))
    return {
        "exists": True,
        "name": (lease.get("metadata") or {}).get("name"),
        "namespace": (lease.get("metadata") or {}).get("namespace"),
        "holder_identity": spec.get("holderIdentity"),
        "holder": None
        if holder is None
        else {
            "username": holder.username,
            "hostname": holder.hostname,
            "pid": holder.pid,
            "tool": holder.tool,
            "run_id": holder.run_id,
        },
        "lease_duration_seconds": spec.get("leaseDurationSeconds"),
        "acquire_time": _as_text(spec.get("acquireTime")),
        "renew_time": _as_text(spec.get("renewTime")),
        "lease_transitions": spec.get("leaseTransitions"),
        "resource_version": (lease.get("metadata") or {}).get("resourceVersion"),
    }


def _as_text(value: Any) -> str | None:
    if isinstance(value, datetime):
        return format_micro_time(value)
    return None if value is None else str(value)


def busy_message(namespace: str, name: str, lease: Mapping, waited: float) -> str:
    spec = spec_of(lease)
    holder = parse_holder(spec.get("holderIdentity"))
    who = holder.describe() if holder else "nobody"
    return (
        f"Lease {namespace}/{name} is held by {who} since {_as_text(spec.get('acquireTime')) or 'unknown'}, "
        f"last renewed {_as_text(spec.get('renewTime')) or 'never'}; gave up after waiting {waited:.1f}s"
    )


def lost_message(namespace: str, name: str, lease: Mapping | None) -> str:
    if lease is None:
        return f"lease lost: the Lease {namespace}/{name} no longer exists"
    holder = parse_holder(spec_of(lease).get("holderIdentity"))
    if holder is None:
        return f"lease lost: the Lease {namespace}/{name} has no holder"
    return f"lease lost: now held by {holder.describe()}"


def check_held(lease: Mapping | None, namespace: str, name: str, holder: Holder) -> None:
    """Fencing on a record already read: raise LeaseLost unless it is held by exactly `holder`."""
    current = None if lease is None else parse_holder(spec_of(lease).get("holderIdentity"))
    if not same_holder(current, holder):
        raise LeaseLost(lost_message(namespace, name, lease), lease=lease_summary(lease))


# --------------------------------------------------------------------------------------------
# Operations
# --------------------------------------------------------------------------------------------


@dataclass
class AcquireResult:
    changed: bool
    # created | renewed | taken_over; in check mode would_create | would_renew | would_take_over | would_wait
    action: str
    reason: str
    holder: str  # holderIdentity that is (or would be) in the Lease
    lease: dict | None
    waited: float = 0.0
    namespace_created: bool = False


_PAST = {"create": "created", "renew": "renewed", "takeover": "taken_over"}
_WOULD = {"create": "would_create", "renew": "would_renew", "takeover": "would_take_over"}


def _backoff(delay: float, rng: Callable[[], float]) -> float:
    return delay * (0.5 + 0.5 * rng())


def acquire(
    api: LeaseApi,
    namespace: str,
    name: str,
    me: Holder,
    *,
    duration: int = DEFAULT_DURATION,
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
    clock: Clock | None = None,
    prober: ProcessProber | None = None,
    rng: Callable[[], float] = random.random,
    check_mode: bool = False,
    start_allowance: int = 0,
) -> AcquireResult:
    """Take the Lease for `me`, waiting (backoff + jitter) up to wait_timeout; LeaseBusy after that.

    The Lease is written with leaseDurationSeconds = duration + start_allowance (see KEEPER_START_ALLOWANCE).
    """
    clock = clock or SystemClock()
    prober = prober or LocalProcessProber()
    me_identity = me.to_json()
    started = clock.monotonic()
    deadline = started + max(0.0, float(wait_timeout))
    observation = Observation()
    delay = BACKOFF_INITIAL
    while True:
        lease = api.read(namespace, name)
        observed_for = observation.update(lease, clock.monotonic())
        decision = decide(lease, me, observed_for, clock.wall(), prober)
        waited = clock.monotonic() - started
        if decision.action == "wait":
            if check_mode:
                return AcquireResult(False, "would_wait", decision.reason, me_identity, lease, waited)
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                message = busy_message(namespace, name, lease, waited)
                if wait_timeout < duration_of(lease):  # an abandoned Lease can only expire after a full duration
                    message += f" (wait_timeout {wait_timeout}s is below the Lease duration, so it cannot expire)"
                raise LeaseBusy(message, lease=lease_summary(lease), waited=round(waited, 3))
            clock.sleep(min(_backoff(delay, rng), remaining))
            # Re-read at least about once per renewal period of the holder, so expiry is seen promptly.
            delay = min(delay * 2, BACKOFF_MAX, max(BACKOFF_INITIAL, duration_of(lease) / 3))
            continue
        # Renewing for the same run (maybe a second call with a fresh run_id) keeps the recorded
        # identity, so the keeper and the fact from the first call stay valid.
        holder_identity = spec_of(lease).get("holderIdentity") if decision.action == "renew" else me_identity
        if check_mode:
            return AcquireResult(
                decision.action != "renew", _WOULD[decision.action], decision.reason, holder_identity, lease, waited
            )
        now = clock.wall()
        declared = duration + start_allowance
        namespace_created = False
        try:
            if decision.action == "create":
                namespace_created = api.ensure_namespace(namespace, SOLO_NAMESPACE_LABELS)
                written = api.create(namespace, new_lease_body(namespace, name, holder_identity, declared, now))
            elif decision.action == "renew":
                written = api.replace(namespace, name, renewed_body(lease, declared, now))
            else:
                written = api.replace(namespace, name, takeover_body(lease, holder_identity, declared, now))
        except Conflict:
            # Someone else wrote between our read and our write: never overwrite, re-read and decide.
            continue
        return AcquireResult(
            decision.action != "renew",
            _PAST[decision.action],
            decision.reason,
            holder_identity,
            written,
            clock.monotonic() - started,
            namespace_created,
        )


def renew(
    api: LeaseApi, namespace: str, name: str, holder: Holder, *, duration: int, clock: Clock | None = None
) -> dict:
    """One renewal by the holder: re-read, verify it is still ours (LeaseLost otherwise), write renewTime."""
    clock = clock or SystemClock()
    for _ in range(MAX_CONFLICT_ROUNDS):
        lease = api.read(namespace, name)
        check_held(lease, namespace, name, holder)
        try:
            return api.replace(namespace, name, renewed_body(lease, duration, clock.wall()))
        except Conflict:
            continue
    raise LeaseError(f"could not renew the Lease {namespace}/{name}: {MAX_CONFLICT_ROUNDS} conflicting writes in a row")


@dataclass
class ReleaseResult:
    changed: bool
    released: bool
    reason: str
    lease: dict | None  # the record as last read (None when absent)


def release(api: LeaseApi, namespace: str, name: str, holder: Holder, *, check_mode: bool = False) -> ReleaseResult:
    """Give the Lease up, only if it is held by exactly `holder`; otherwise leave it untouched.

    Release DELETES the Lease, as solo does, instead of clearing holderIdentity the client-go way:
    solo parses holderIdentity with JSON.parse before any other check (heldBySameProcess in
    IntervalLock.acquire), so a null or empty holder makes every later `solo` acquire throw until
    somebody deletes the object; a missing Lease is what solo treats as free. The delete carries
    the resourceVersion we read as a precondition, so a Lease taken over in between is never
    deleted. Unlike solo we do not delete another holder's *expired* Lease here: one read cannot
    establish expiry safely (see is_expired), and the next acquirer takes an expired Lease over
    anyway.
    """
    for _ in range(MAX_CONFLICT_ROUNDS):
        lease = api.read(namespace, name)
        if lease is None:
            return ReleaseResult(False, False, f"the Lease {namespace}/{name} does not exist", None)
        current = parse_holder(spec_of(lease).get("holderIdentity"))
        if not same_holder(current, holder):
            who = current.describe() if current else "nobody"
            return ReleaseResult(
                False, False, f"the Lease {namespace}/{name} is held by {who}, not by us; left untouched", lease
            )
        if check_mode:
            return ReleaseResult(True, False, f"would delete the Lease {namespace}/{name}", lease)
        try:
            api.delete(namespace, name, (lease.get("metadata") or {}).get("resourceVersion"))
        except Conflict:
            continue
        return ReleaseResult(True, True, f"deleted the Lease {namespace}/{name}", lease)
    raise LeaseError(f"could not release the Lease {namespace}/{name}: {MAX_CONFLICT_ROUNDS} conflicting writes")


@dataclass
class KeeperResult:
    lost: bool
    controller_gone: bool
    reason: str
    renewals: int
    errors: int
    last_error: str | None
    lease: dict | None


def keep(
    api: LeaseApi,
    namespace: str,
    name: str,
    holder: Holder,
    *,
    duration: int = DEFAULT_DURATION,
    controller_pid: int | None = None,
    clock: Clock | None = None,
    prober: ProcessProber | None = None,
    stop: Callable[[], bool] | None = None,
) -> KeeperResult:
    """The keeper loop: renew every duration/3 until the Lease is not ours or the controller is gone.

    It watches the controller PID at least once a second (and at least once per renewal period), so
    it never renews more than once after the playbook has died. Transient API errors are counted
    and retried at the next period; whether the Lease is still ours is decided by the next read.
    """
    clock = clock or SystemClock()
    prober = prober or LocalProcessProber()
    period = max(duration / 3.0, 0.2)
    poll = min(1.0, period)
    renewals = errors = 0
    last_error: str | None = None
    last_lease: dict | None = None
    next_renewal = clock.monotonic()
    while True:
        if stop is not None and stop():
            return KeeperResult(False, False, "stopped", renewals, errors, last_error, last_lease)
        if controller_pid and process_lost(prober, controller_pid):
            return KeeperResult(
                False,
                True,
                f"controller process {controller_pid} is gone; stopped renewing (the Lease expires by itself)",
                renewals,
                errors,
                last_error,
                last_lease,
            )
        now = clock.monotonic()
        if now >= next_renewal:
            try:
                last_lease = renew(api, namespace, name, holder, duration=duration, clock=clock)
                renewals += 1
            except LeaseLost as exc:
                return KeeperResult(True, False, exc.msg, renewals, errors, last_error, exc.result.get("lease"))
            except Exception as exc:  # a keeper must outlive API hiccups; the next read decides
                errors += 1
                last_error = str(exc)
            next_renewal = now + period
        clock.sleep(max(0.0, min(poll, next_renewal - clock.monotonic())))


def check_lease_held(api: LeaseApi, lease: Mapping) -> dict:
    """Fencing through an API: read the Lease described by a `lease` option and verify the holder."""
    namespace, name, holder = lease_ref(lease)
    record = api.read(namespace, name)
    check_held(record, namespace, name, holder)
    return record


def lease_ref(lease: Mapping) -> tuple[str, str, Holder]:
    """(namespace, name, holder) from a `lease` option / hiero_solo_lease fact."""
    namespace = lease.get("namespace")
    if not namespace:
        raise LeaseError("lease: the namespace is required")
    holder = parse_holder(lease.get("holder"))
    if holder is None:
        raise LeaseError("lease: the holder is required (the holder from the hiero_solo_lease fact)")
    return str(namespace), str(lease.get("name") or namespace), holder


# --------------------------------------------------------------------------------------------
# The real API
# --------------------------------------------------------------------------------------------


class KubeLeaseApi:
    """LeaseApi over the typed kubernetes client: dicts in, dicts out.

    Bodies are sent as plain dicts, so the MicroTime fields travel as the strings we format (a typed
    V1Lease would need datetime objects); replies are turned back into dicts with the client's own
    sanitize_for_serialization (camelCase keys, datetimes as ISO strings, which parse_time reads).
    """

    def __init__(self, clients: Any) -> None:
        self._coordination = clients.coordination
        self._core = clients.core
        self._serialize = clients.api_client.sanitize_for_serialization

    def _call(
        self,
        action: str,
        kind: str,
        namespace: str | None,
        name: str,
        call: Callable[[], Any],
        outcomes: Mapping[int, Callable[[Exception], Any]] | None = None,
    ) -> Any:
        """Run one API call; map the HTTP statuses in `outcomes`, wrap every other failure in a ClusterError."""
        try:
            return call()
        except (ApiException, Urllib3HTTPError, OSError) as exc:
            handler = (outcomes or {}).get(getattr(exc, "status", None) if isinstance(exc, ApiException) else None)
            if handler is not None:
                return handler(exc)
            raise cluster_error(exc, action, kind, namespace, name) from exc

    @staticmethod
    def _conflict(exc: Exception) -> Any:
        raise Conflict(str(getattr(exc, "reason", exc))) from exc

    def read(self, namespace: str, name: str) -> dict | None:
        found = self._call(
            "read",
            "Lease",
            namespace,
            name,
            lambda: self._coordination.read_namespaced_lease(name, namespace),
            {404: lambda exc: None},
        )
        return None if found is None else self._serialize(found)

    def create(self, namespace: str, body: dict) -> dict:
        name = body["metadata"]["name"]
        # 409 AlreadyExists: another acquirer created it first; re-read and decide again.
        return self._serialize(
            self._call(
                "create",
                "Lease",
                namespace,
                name,
                lambda: self._coordination.create_namespaced_lease(namespace, body),
                {409: self._conflict},
            )
        )

    def replace(self, namespace: str, name: str, body: dict) -> dict:
        # 409: stale resourceVersion. 404: deleted since we read it. Either way the record we decided on
        # is gone: re-read and decide again.
        return self._serialize(
            self._call(
                "replace",
                "Lease",
                namespace,
                name,
                lambda: self._coordination.replace_namespaced_lease(name, namespace, body),
                {404: self._conflict, 409: self._conflict},
            )
        )

    def delete(self, namespace: str, name: str, resource_version: str | None) -> bool:
        preconditions = {"resourceVersion": resource_version} if resource_version else None
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "preconditions": preconditions}
        return self._call(
            "delete",
            "Lease",
            namespace,
            name,
            lambda: self._coordination.delete_namespaced_lease(name, namespace, body=options) is not None,
            {404: lambda exc: False, 409: self._conflict},
        )

    def ensure_namespace(self, name: str, labels: Mapping[str, str]) -> bool:
        if self._call("read", "Namespace", None, name, lambda: self._core.read_namespace(name), {404: lambda e: None}):
            return False
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}
        # 409: created by someone else meanwhile, which is just as good.
        return self._call(
            "create",
            "Namespace",
            None,
            name,
            lambda: self._core.create_namespace(body) is not None,
            {409: lambda exc: False},
        )


def ensure_lease_held(clients: Any, lease: Mapping) -> None:
    """Fencing for step modules: raise LeaseLost unless `lease` (name, namespace, holder) is still ours.

    Call it before every cluster write and between long waits.
    """
    check_lease_held(KubeLeaseApi(clients), lease)


# --------------------------------------------------------------------------------------------
# step_lease: fencing, or a Lease of the module's own
# --------------------------------------------------------------------------------------------


class _InterruptibleClock:
    """A clock whose sleep ends as soon as the owner asks the renewal thread to stop."""

    def __init__(self, clock: Clock, stop_event: threading.Event) -> None:
        self._clock, self._stop_event = clock, stop_event

    def wall(self) -> datetime:
        return self._clock.wall()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self._stop_event.wait(max(0.0, seconds))  # real time, whatever the wrapped clock


class _RenewalThread(threading.Thread):
    """Renews a module's own Lease in the background while the module works."""

    def __init__(
        self,
        api: LeaseApi,
        namespace: str,
        name: str,
        holder: Holder,
        duration: int,
        clock: Clock,
        prober: ProcessProber,
    ) -> None:
        super().__init__(name=f"lease-keeper-{namespace}", daemon=True)
        self._args = (api, namespace, name, holder)
        self._duration, self._clock, self._prober = duration, clock, prober
        self._stop_event = threading.Event()
        self.result: KeeperResult | None = None

    def run(self) -> None:
        clock = _InterruptibleClock(self._clock, self._stop_event)
        self.result = keep(
            *self._args, duration=self._duration, clock=clock, prober=self._prober, stop=self._stop_event.is_set
        )

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


class StepLease:
    """Handed to a step module by step_lease(); call .check() before writes and between long waits."""

    def __init__(
        self,
        api: LeaseApi,
        namespace: str,
        name: str,
        holder: Holder,
        *,
        own: bool,
        active: bool,
        renewal: _RenewalThread | None = None,
    ) -> None:
        self._api = api
        self.namespace, self.name, self.holder = namespace, name, holder
        self.own, self.active = own, active
        self._renewal = renewal

    @property
    def lease(self) -> dict:
        return {"name": self.name, "namespace": self.namespace, "holder": self.holder.to_json()}

    def check(self) -> None:
        if not self.active:
            return
        if self._renewal is not None and self._renewal.result is not None and self._renewal.result.lost:
            raise LeaseLost(self._renewal.result.reason)
        check_held(self._api.read(self.namespace, self.name), self.namespace, self.name, self.holder)


@contextlib.contextmanager
def step_lease(
    module: Any,
    namespace: str | None = None,
    *,
    duration: int = DEFAULT_DURATION,
    wait_timeout: float | None = None,
    api: LeaseApi | None = None,
    clock: Clock | None = None,
    prober: ProcessProber | None = None,
) -> Iterator[StepLease]:
    """Lease discipline for a step module.

    - `lease` option set: fence. Verify at entry that it is still held by the given holder (LeaseLost
      otherwise, before the module writes anything); the module calls .check() again before writes
      and between long waits. It never takes a Lease of its own in this mode.
    - no `lease` option: behave like a standalone solo sub-command. Acquire the namespace's Lease
      for this module process (fresh run_id), renew it in a background thread, and release it on
      exit, also when the body raises.
    - check mode: nothing is written, so there is nothing to protect and nothing to take; the guard
      is inert (a check run must not fail because the play's Lease was only pretended).
    """
    params = module.params
    lease_option = params.get("lease")
    clock = clock or SystemClock()
    prober = prober or LocalProcessProber()
    if api is None:
        api = KubeLeaseApi(module.clients())
    if lease_option:
        lease_namespace, lease_name, holder = lease_ref(lease_option)
        guard = StepLease(api, lease_namespace, lease_name, holder, own=False, active=not module.check_mode)
        guard.check()
        yield guard
        return
    lease_namespace = namespace or params.get("namespace")
    if not lease_namespace:
        raise LeaseError("a namespace is needed to take this module's own Lease (or pass the lease option)")
    me = local_holder(os.getpid())
    if module.check_mode:
        yield StepLease(api, lease_namespace, lease_namespace, me, own=True, active=False)
        return
    if wait_timeout is None:
        # Long enough to watch an abandoned Lease expire (one duration) and then some.
        wait_timeout = 2 * duration
    acquire(
        api,
        lease_namespace,
        lease_namespace,
        me,
        duration=duration,
        wait_timeout=wait_timeout,
        clock=clock,
        prober=prober,
    )
    renewal = _RenewalThread(api, lease_namespace, lease_namespace, me, duration, clock, prober)
    renewal.start()
    guard = StepLease(api, lease_namespace, lease_namespace, me, own=True, active=True, renewal=renewal)
    try:
        yield guard
    finally:
        renewal.stop()
        try:
            release(api, lease_namespace, lease_namespace, me)
        except Exception as exc:  # never hide the body's own exception; expiry covers us
            module.warn(f"could not release the Lease {lease_namespace}/{lease_namespace}: {exc}")


# --------------------------------------------------------------------------------------------
# The `lease` module's states (plugins/modules/lease.py stays a thin shell around this)
# --------------------------------------------------------------------------------------------

# RFC 1123 label, as Kubernetes requires for namespace and Lease names.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

LEASE_MODULE_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "acquired", "choices": ["acquired", "held", "released", "info"]},
    "namespace": {"type": "str", "required": True},
    "name": {"type": "str"},
    "duration": {"type": "int", "default": DEFAULT_DURATION},
    "wait_timeout": {"type": "int", "default": DEFAULT_WAIT_TIMEOUT},
    "run_id": {"type": "str"},
    "holder": {"type": "str"},
    # Injected by plugins/action/lease.py: the ansible-playbook PID. Internal, hence undocumented.
    "_controller_pid": {"type": "int"},
}


def _validated(params: Mapping[str, Any]) -> tuple[str, str]:
    namespace = params["namespace"]
    name = params.get("name") or namespace
    for field_name, value in (("namespace", namespace), ("name", name)):
        if len(value) > 63 or not _DNS_LABEL.match(value):
            raise InputError(
                field_name, f"expected a lowercase RFC 1123 label (a-z, 0-9, '-'; at most 63), got {value!r}"
            )
    if params.get("duration") is not None and params["duration"] < 1:
        raise InputError("duration", f"expected a whole number of seconds >= 1, got {params['duration']}")
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        raise InputError("wait_timeout", f"expected a number of seconds >= 0, got {params['wait_timeout']}")
    if params.get("state") in ("held", "released") and not parse_holder(params.get("holder")):
        raise InputError("holder", f"required for state={params['state']}: the holder from the hiero_solo_lease fact")
    return namespace, name


def run_lease_state(
    params: Mapping[str, Any],
    api: LeaseApi,
    *,
    check_mode: bool = False,
    warn: Callable[[str], None] | None = None,
    clock: Clock | None = None,
    prober: ProcessProber | None = None,
) -> dict:
    """Carry out one `lease` task and return its result dict (raises HieroError subclasses)."""
    namespace, name = _validated(params)
    state = params.get("state") or "acquired"
    duration = int(params.get("duration") or DEFAULT_DURATION)
    controller_pid = params.get("_controller_pid")
    if state == "acquired":
        # The holder is the ansible-playbook process (injected by the action plugin), so the same-host
        # dead-PID takeover works after the playbook dies; never this short-lived module process.
        me = local_holder(controller_pid or os.getppid(), params.get("run_id"))
        wait_timeout = params.get("wait_timeout")
        outcome = acquire(
            api,
            namespace,
            name,
            me,
            duration=duration,
            wait_timeout=DEFAULT_WAIT_TIMEOUT if wait_timeout is None else wait_timeout,
            clock=clock,
            prober=prober,
            check_mode=check_mode,
            start_allowance=KEEPER_START_ALLOWANCE,
        )
        if outcome.action == "would_wait" and warn is not None:
            warn(f"check mode: the Lease {namespace}/{name} is {outcome.reason}; a real run would wait for it")
        return {
            "changed": outcome.changed,
            "action": outcome.action,
            "msg": outcome.reason,
            "waited": round(outcome.waited, 3),
            "namespace_created": outcome.namespace_created,
            "lease": lease_summary(outcome.lease),
            "ansible_facts": {"hiero_solo_lease": {"name": name, "namespace": namespace, "holder": outcome.holder}},
        }
    if state == "info":
        record = api.read(namespace, name)
        mine = parse_holder(params.get("holder"))
        current = None if record is None else parse_holder(spec_of(record).get("holderIdentity"))
        result = {"changed": False, "lease": lease_summary(record)}
        if mine is not None:
            result["held"] = same_holder(current, mine)
        return result
    holder = parse_holder(params.get("holder"))
    assert holder is not None  # _validated
    if state == "released":
        released = release(api, namespace, name, holder, check_mode=check_mode)
        return {
            "changed": released.changed,
            "released": released.released,
            "msg": released.reason,
            "lease": lease_summary(released.lease),
        }
    # state == "held": the keeper
    if check_mode:
        record = api.read(namespace, name)
        try:
            check_held(record, namespace, name, holder)
        except LeaseLost as exc:
            return {
                "changed": False,
                "lost": True,
                "controller_gone": False,
                "msg": exc.msg,
                "renewals": 0,
                "lease": lease_summary(record),
            }
        return {
            "changed": False,
            "lost": False,
            "controller_gone": False,
            "msg": "check mode: held by us; a real run would keep renewing it",
            "renewals": 0,
            "lease": lease_summary(record),
        }
    kept = keep(
        api, namespace, name, holder, duration=duration, controller_pid=controller_pid, clock=clock, prober=prober
    )
    return {
        "changed": False,
        "lost": kept.lost,
        "controller_gone": kept.controller_gone,
        "msg": kept.reason,
        "renewals": kept.renewals,
        "errors": kept.errors,
        "last_error": kept.last_error,
        "lease": lease_summary(kept.lease),
    }
