# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Per-run step status in a ConfigMap of the deployment namespace: solo's in-process event bus made durable.

One ConfigMap, ``hiero-solo-run-state``, holds one data key per step (a small JSON document: status, started,
finished, error, run_id, attempt) and a ``run`` key naming the run that owns the map. One key per step keeps a
compare-and-swap conflict cheap: the loser re-reads and re-applies only its own key. ``kubectl get cm
hiero-solo-run-state -o yaml`` shows the progress of a run.

Scoping by ``run_id``: ``register`` of a run replaces whatever an older run left; afterwards a module carrying an
older ``run_id`` fails with a message saying its run is stale, and waiters ignore step entries of other runs.
The first module of a new run in an existing namespace must therefore be the one that registers (``deployment``).

Status life cycle: ``pending`` or ``skipped`` (registered) → ``running`` → ``done`` | ``failed``. Waiters are
released by ``done`` and ``skipped`` (solo's skipAndNotify) and fail at once with "blocked by <step>: <error>"
when a prerequisite failed; a waiter that fails is itself marked failed, so the cause travels down the chain.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._client import (
    ApiException,
    Urllib3HTTPError,
    cluster_error,
    is_not_found,
)
from ansible_collections.hiero.solo.plugins.module_utils._configmap import (
    configmap_parts,
    mutate_configmap,
    read_configmap,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError, WaitTimeout

CONFIGMAP_NAME = "hiero-solo-run-state"
RUN_KEY = "run"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "hiero.solo"
RUN_ID_LABEL = "hiero.solo/run-id"

PENDING, RUNNING, DONE, SKIPPED, FAILED = "pending", "running", "done", "skipped", "failed"
REGISTER_STATUSES = (PENDING, SKIPPED)
MARK_STATUSES = (RUNNING, DONE, SKIPPED, FAILED)
RELEASING = frozenset({DONE, SKIPPED})
FINISHED = frozenset({DONE, SKIPPED, FAILED})

# A watch round lasts at most this long, so the fence (lease check) runs at least this often.
WATCH_ROUND_S = 5
# Client-side read timeout on top of the server's timeoutSeconds, in case a server does not end the watch itself.
WATCH_GRACE_S = 5
# Bounded so a broken server cannot spin us forever; under heavy contention every attempt still makes progress
# for someone, so this is only reached when something is badly wrong.
MAX_WRITE_ATTEMPTS = 60
# Error texts can be whole helm outputs; the ConfigMap must stay far below its 1 MiB limit.
MAX_ERROR_CHARS = 4000

# Label values (run_id goes into a label) and ConfigMap data keys (step names are keys).
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_DATA_KEY = re.compile(r"^[-._A-Za-z0-9]{1,253}$")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with milliseconds, e.g. ``2025-01-31T09:05:01.042Z``."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class StepState:
    status: str
    run_id: str | None = None
    started: str | None = None
    finished: str | None = None
    error: str | None = None
    attempt: int = 0

    def to_json(self) -> str:
        return json.dumps(
            {
                "status": self.status,
                "started": self.started,
                "finished": self.finished,
                "error": self.error,
                "run_id": self.run_id,
                "attempt": self.attempt,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: Any) -> StepState:
        # A hand-edited or truncated entry must not crash a waiter: it shows up as an "invalid" status instead.
        try:
            doc = json.loads(text)
        except (TypeError, ValueError):
            return cls(status="invalid", error=f"unparsable entry: {str(text)[:80]!r}")
        if not isinstance(doc, dict) or not isinstance(doc.get("status"), str):
            return cls(status="invalid", error=f"unparsable entry: {str(text)[:80]!r}")
        attempt = doc.get("attempt")
        return cls(
            status=doc["status"],
            run_id=doc.get("run_id") if isinstance(doc.get("run_id"), str) else None,
            started=doc.get("started") if isinstance(doc.get("started"), str) else None,
            finished=doc.get("finished") if isinstance(doc.get("finished"), str) else None,
            error=doc.get("error") if isinstance(doc.get("error"), str) else None,
            attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else 0,
        )


@dataclass
class RunState:
    """What the ConfigMap says. ``run_id`` is None when there is no run-state ConfigMap (yet)."""

    run_id: str | None
    steps: dict[str, StepState] = field(default_factory=dict)
    created: str | None = None
    resource_version: str | None = None


# ---------------------------------------------------------------------------------------------- validation


def check_run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not _LABEL_VALUE.match(run_id):
        raise InputError(
            "run_id",
            "expected 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit "
            f"(it is stored as a label value), got {run_id!r}",
        )
    return run_id


def check_step_name(step: Any, field_name: str = "step") -> str:
    if not isinstance(step, str) or not _DATA_KEY.match(step):
        raise InputError(
            field_name, f"expected a step name of letters, digits, '-', '_' or '.' (a ConfigMap key), got {step!r}"
        )
    if step == RUN_KEY:
        raise InputError(field_name, f"{RUN_KEY!r} is reserved for the run record and cannot name a step")
    return step


# ------------------------------------------------------------------------------ pure transformations of data


def state_from_data(data: Mapping[str, str] | None, resource_version: str | None = None) -> RunState:
    if data is None:
        return RunState(run_id=None, resource_version=resource_version)
    run_id, created = None, None
    try:
        run = json.loads(data.get(RUN_KEY) or "null")
    except ValueError:
        run = None
    if isinstance(run, dict):
        run_id = run.get("run_id") if isinstance(run.get("run_id"), str) else None
        created = run.get("created") if isinstance(run.get("created"), str) else None
    steps = {key: StepState.from_json(value) for key, value in data.items() if key != RUN_KEY}
    return RunState(run_id=run_id, steps=steps, created=created, resource_version=resource_version)


def _run_record(run_id: str, now: datetime) -> str:
    return json.dumps({"run_id": run_id, "created": format_time(now)}, sort_keys=True)


def _stale_message(namespace: str, current: str, run_id: str) -> str:
    return (
        f"run-state ConfigMap {namespace}/{CONFIGMAP_NAME} belongs to run {current}, not to this task's run "
        f"{run_id}: this run_id is stale (a newer run registered its steps), or this run has not registered "
        "its steps yet (hiero.solo.deployment state=present with run_id does that first)"
    )


def registered(data: Mapping[str, str] | None, run_id: str, steps: Mapping[str, str], now: datetime) -> dict:
    """The data after registering ``steps`` for ``run_id``.

    A different (older) run's entries are dropped. Within the same run, entries that already started keep their
    state (re-registering is idempotent); pending/skipped entries take the newly registered status.
    """
    fresh = data is None or state_from_data(data).run_id != run_id
    new = {RUN_KEY: _run_record(run_id, now)} if fresh else dict(data)
    for step, status in steps.items():
        existing = StepState.from_json(new[step]) if step in new else None
        if existing is not None and existing.run_id == run_id and existing.status not in REGISTER_STATUSES:
            continue
        new[step] = StepState(status=status, run_id=run_id).to_json()
    return new


def marked(
    data: Mapping[str, str] | None,
    namespace: str,
    run_id: str,
    step: str,
    status: str,
    error: str | None,
    now: datetime,
) -> dict:
    """The data after ``step`` of ``run_id`` moved to ``status``; raises HieroError when the run is stale."""
    if data is None:
        # Nothing registered in this namespace: a standalone module may still report; it starts the record.
        new: dict[str, str] = {RUN_KEY: _run_record(run_id, now)}
    else:
        current = state_from_data(data)
        if current.run_id != run_id:
            raise HieroError(_stale_message(namespace, str(current.run_id), run_id), step=step, run_id=run_id)
        new = dict(data)
    previous = StepState.from_json(new[step]) if step in new else None
    if previous is not None and previous.run_id != run_id:
        previous = None
    stamp = format_time(now)
    attempt = previous.attempt if previous else 0
    started = previous.started if previous else None
    if status == RUNNING:
        attempt, started, finished = attempt + 1, stamp, None
    else:
        finished = stamp
    text = None
    if status == FAILED:
        text = (error or "failed")[:MAX_ERROR_CHARS]
    new[step] = StepState(
        status=status, run_id=run_id, started=started, finished=finished, error=text, attempt=attempt
    ).to_json()
    return new


def assess(state: RunState, namespace: str, run_id: str, steps: Iterable[str]) -> list[tuple[str, str]]:
    """What ``steps`` still wait for, as (step, description) pairs; [] when all are done or skipped.

    Raises HieroError "blocked by <step>: <error>" when one of them failed (the earliest failure when several
    did) and a stale-run HieroError when the map belongs to another run.
    """
    if state.run_id is None:
        return [(step, "no run-state yet") for step in steps]
    if state.run_id != run_id:
        raise HieroError(_stale_message(namespace, state.run_id, run_id), run_id=run_id)
    waiting: list[tuple[str, str]] = []
    failures: list[tuple[str, StepState]] = []
    for step in steps:
        entry = state.steps.get(step)
        if entry is None or entry.run_id != run_id:
            waiting.append((step, "not registered in this run"))
        elif entry.status == FAILED:
            failures.append((step, entry))
        elif entry.status not in RELEASING:
            waiting.append((step, entry.status))
    if failures:
        # Sorting is stable, so steps without a finish time keep the caller's order after the timed ones.
        failures.sort(key=lambda item: parse_time(item[1].finished) or datetime.max.replace(tzinfo=timezone.utc))
        step, entry = failures[0]
        raise HieroError(f"blocked by {step}: {entry.error or 'failed'}", blocked_by=step)
    return waiting


def describe_waiting(waiting: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{step} ({status})" for step, status in waiting)


# ---------------------------------------------------------------------------------------------- cluster I/O


def _namespace_missing(namespace: str) -> HieroError:
    return HieroError(
        f"namespace {namespace} does not exist: the run-state ConfigMap {CONFIGMAP_NAME} lives in the deployment "
        "namespace; create it first (hiero.solo.deployment state=present)",
        namespace=namespace,
    )


def _check_namespace(core_api: Any, namespace: str) -> None:
    """Raise a clear error when the namespace is gone; unknown (e.g. 403 on namespaces) counts as present."""
    try:
        core_api.read_namespace(namespace)
    except ApiException as exc:
        if is_not_found(exc):
            raise _namespace_missing(namespace) from exc
    except Urllib3HTTPError as exc:
        raise cluster_error(exc, "read", "Namespace", None, namespace) from exc


def _labels_for(data: Mapping[str, str], existing: Mapping[str, str] | None) -> dict[str, str]:
    labels = dict(existing or {})
    labels[MANAGED_BY_LABEL] = MANAGED_BY
    run_id = state_from_data(data).run_id
    if run_id:
        labels[RUN_ID_LABEL] = run_id
    return labels


def _write(core_api: Any, namespace: str, change: Callable[[dict | None], dict]) -> tuple[dict, bool]:
    """Compare-and-swap ``change`` into the run-state ConfigMap: (data written or found unchanged, changed).

    ``change`` must be pure: it runs again after every conflict.
    """
    data, changed = mutate_configmap(
        core_api,
        namespace,
        CONFIGMAP_NAME,
        change,
        labels=_labels_for,
        retries=MAX_WRITE_ATTEMPTS - 1,
        on_missing_namespace=_namespace_missing,
    )
    return data or {}, changed  # never None: ``registered`` and ``marked`` always return data


# ----------------------------------------------------------------------------------------------- public API


def register(
    core_api: Any, namespace: str, run_id: str, steps: Mapping[str, str], clock: Callable[[], datetime] = utc_now
) -> bool:
    """Record ``steps`` (step → "pending" | "skipped") for ``run_id``; returns whether the ConfigMap changed.

    A new run_id replaces the previous run's entries. Idempotent within a run (see ``registered``).
    """
    check_run_id(run_id)
    for step, status in steps.items():
        check_step_name(step, "steps")
        if status not in REGISTER_STATUSES:
            raise InputError("steps", f"{step}: expected one of {', '.join(REGISTER_STATUSES)}, got {status!r}")
    now = clock()
    _data, changed = _write(core_api, namespace, lambda data: registered(data, run_id, steps, now))
    return changed


def mark(
    core_api: Any,
    namespace: str,
    run_id: str,
    step: str,
    status: str,
    error: str | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> StepState:
    """Move ``step`` to ``status``: running sets ``started`` (and counts an attempt); done/skipped/failed set
    ``finished``; failed stores ``error``. Raises HieroError when another run owns the map (stale run_id).
    """
    check_run_id(run_id)
    check_step_name(step)
    if status not in MARK_STATUSES:
        raise InputError("status", f"expected one of {', '.join(MARK_STATUSES)}, got {status!r}")
    now = clock()
    data, _changed = _write(core_api, namespace, lambda data: marked(data, namespace, run_id, step, status, error, now))
    return StepState.from_json(data[step])


def read(core_api: Any, namespace: str) -> RunState:
    current = read_configmap(core_api, namespace, CONFIGMAP_NAME)
    if current is None:
        _check_namespace(core_api, namespace)  # a missing namespace is an error, not an empty run-state
    data, resource_version = configmap_parts(current)
    return state_from_data(data, resource_version)


def _list_state(core_api: Any, namespace: str) -> tuple[RunState, str | None]:
    """The state plus the list's resourceVersion: the point a watch starts from, whether or not the map exists."""
    try:
        listing = core_api.list_namespaced_config_map(namespace, field_selector=f"metadata.name={CONFIGMAP_NAME}")
    except (ApiException, Urllib3HTTPError) as exc:
        raise cluster_error(exc, "list", "ConfigMap", namespace, CONFIGMAP_NAME) from exc
    items = listing.items or []
    data, resource_version = configmap_parts(items[0]) if items else (None, None)
    return state_from_data(data, resource_version), listing.metadata.resource_version


def _default_watch() -> Any:
    from kubernetes.watch import Watch  # imported late: kubernetes is checked at the module edge

    return Watch()


def _watch_round(
    core_api: Any,
    namespace: str,
    run_id: str,
    steps: list[str],
    since: str | None,
    seconds: int,
    watch_factory: Callable[[], Any],
) -> bool:
    """Watch the ConfigMap from ``since`` for up to ``seconds``; True as soon as ``steps`` are all released."""
    watch = watch_factory()
    kwargs: dict[str, Any] = {
        "field_selector": f"metadata.name={CONFIGMAP_NAME}",
        "timeout_seconds": seconds,
        "_request_timeout": seconds + WATCH_GRACE_S,
    }
    if since:
        kwargs["resource_version"] = since
    stream = watch.stream(core_api.list_namespaced_config_map, namespace, **kwargs)
    try:
        for event in stream:
            kind = event.get("type") if isinstance(event, Mapping) else None
            if kind == "DELETED":
                state = RunState(run_id=None)
            elif kind in ("ADDED", "MODIFIED"):
                data, resource_version = configmap_parts(event.get("object"))
                state = state_from_data(data, resource_version)
            else:
                continue  # BOOKMARK and anything newer carry no step data
            if not assess(state, namespace, run_id, steps):
                return True
    except ApiException as exc:
        if exc.status == 410:
            return False  # our resourceVersion was compacted away: the caller re-lists
        raise cluster_error(exc, "watch", "ConfigMap", namespace, CONFIGMAP_NAME) from exc
    except Urllib3HTTPError:
        return False  # read timeout or dropped connection: the caller re-lists and watches again
    finally:
        # Closing the generator closes the HTTP response; Watch.stop() would also shut the pooled socket down.
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return False


def wait_for(
    core_api: Any,
    namespace: str,
    run_id: str,
    steps: Iterable[str],
    timeout_s: float,
    clock: Callable[[], float] = time.monotonic,
    fence: Callable[[], Any] | None = None,
    watch_factory: Callable[[], Any] = _default_watch,
) -> None:
    """Return once every step in ``steps`` is done or skipped in ``run_id``.

    Watches the ConfigMap (rounds of at most WATCH_ROUND_S seconds, re-listing between rounds, calling ``fence``
    before each round so a lost lease stops the wait). Raises HieroError "blocked by <step>: <error>" as soon as
    one of them failed, and WaitTimeout naming the steps still waited for, with their statuses, when
    ``timeout_s`` (seconds of ``clock``, a monotonic clock) runs out.
    """
    check_run_id(run_id)
    wanted = list(dict.fromkeys(check_step_name(step, "wait_for") for step in steps))
    if not wanted:
        return
    deadline = clock() + timeout_s
    first = True
    while True:
        if fence is not None:
            fence()
        state, list_version = _list_state(core_api, namespace)
        if first and state.run_id is None:
            _check_namespace(core_api, namespace)  # a list in a missing namespace is just empty
        first = False
        waiting = assess(state, namespace, run_id, wanted)
        if not waiting:
            return
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(
                f"timed out after {timeout_s:g} s waiting for {describe_waiting(waiting)} "
                f"in run-state ConfigMap {namespace}/{CONFIGMAP_NAME} (run {run_id})",
                waiting={step: status for step, status in waiting},
            )
        seconds = max(1, math.ceil(min(remaining, WATCH_ROUND_S)))
        if _watch_round(core_api, namespace, run_id, wanted, list_version, seconds, watch_factory):
            return


# step_run's ``wait_for`` argument shadows the function inside it.
_wait_steps = wait_for


def _failure_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


@contextlib.contextmanager
def step_run(
    core_api: Any,
    namespace: str,
    run_id: str | None,
    step: str,
    wait_for: Iterable[str] = (),
    timeout_s: float = 600,
    fence: Callable[[], Any] | None = None,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], datetime] = utc_now,
    watch_factory: Callable[[], Any] = _default_watch,
) -> Iterator[None]:
    """For a step module: wait for its prerequisites, mark it running, run the body, mark it done.

    A failure of the wait or of the body marks the step failed with the error's message (so its own waiters are
    released at once with that cause) and re-raises. With ``run_id`` None it does nothing: modules stay usable
    without a run. In check mode, pass ``run_id=None``: planning writes nothing.
    """
    if run_id is None:
        yield
        return
    prerequisites = list(wait_for)
    try:
        _wait_steps(
            core_api, namespace, run_id, prerequisites, timeout_s, clock=clock, fence=fence, watch_factory=watch_factory
        )
        mark(core_api, namespace, run_id, step, RUNNING, clock=wall_clock)
    except BaseException as exc:
        _mark_failed_quietly(core_api, namespace, run_id, step, exc, wall_clock)
        raise
    try:
        yield
    except BaseException as exc:
        _mark_failed_quietly(core_api, namespace, run_id, step, exc, wall_clock)
        raise
    mark(core_api, namespace, run_id, step, DONE, clock=wall_clock)


def _mark_failed_quietly(
    core_api: Any, namespace: str, run_id: str, step: str, exc: BaseException, wall_clock: Callable[[], datetime]
) -> None:
    # The original error is what the user needs; a failure to record it (stale run, API down, a run_id or step
    # name too bad to store) must not hide it. Input errors are recorded too, so waiters fail at once with
    # "blocked by" instead of waiting out their timeout.
    with contextlib.suppress(Exception):
        mark(core_api, namespace, run_id, step, FAILED, error=_failure_text(exc), clock=wall_clock)


# ------------------------------------------------------------------------------------------------ timeline


def timeline(state: RunState, width: int = 60, now: datetime | None = None) -> str:
    """A text Gantt of the run: one row per step, bars scaled to the run's span, so overlap is visible.

    Bars: ``#`` done, ``X`` failed, ``>`` still running (drawn up to ``now``, default the latest time recorded).
    Steps that never started (pending, skipped) get a row without a bar. Pure: no clock unless given ``now``.
    """
    rows: list[tuple[str, StepState, datetime | None, datetime | None]] = []
    for step, entry in state.steps.items():
        if state.run_id is not None and entry.run_id not in (None, state.run_id):
            continue
        rows.append((step, entry, parse_time(entry.started), parse_time(entry.finished)))
    moments = [moment for _s, _e, start, end in rows for moment in (start, end) if moment is not None]
    latest = max([*moments, now] if now else moments, default=None)
    timed = [(s, e, start, end or latest) for s, e, start, end in rows if start is not None]
    t0 = min((start for _s, _e, start, _end in timed), default=None)
    span = (latest - t0).total_seconds() if t0 is not None and latest is not None else 0.0

    label_width = max([len(step) for step, *_ in rows] + [4])
    header = f"run {state.run_id or '-'}"
    if t0 is not None and latest is not None:
        header += f"  {format_time(t0)} .. {format_time(latest)}  ({span:.1f} s)"
    scale = f"{'0 s':<{width // 2}}{f'{span:.1f} s':>{width - width // 2}}"
    lines = [header, f"{'step':<{label_width}} |{scale}|  duration  status"]

    def order(row: tuple[str, StepState, datetime | None, datetime | None]) -> tuple:
        step, _entry, start, _end = row
        return (start is None, start or datetime.min.replace(tzinfo=timezone.utc), step)

    for step, entry, start, end in sorted(rows, key=order):
        if start is None:
            bar = " " * width
            duration = ""
        else:
            stop = end or latest or start
            first = _column(start, t0, span, width)
            last = max(first + 1, _column(stop, t0, span, width, ceil=True))
            char = {DONE: "#", FAILED: "X"}.get(entry.status, ">")
            bar = " " * first + char * (last - first) + " " * (width - last)
            duration = f"{(stop - start).total_seconds():.1f} s"
        status = entry.status + (f": {entry.error.splitlines()[0][:60]}" if entry.error else "")
        lines.append(f"{step:<{label_width}} |{bar}|  {duration:>8}  {status}")
    return "\n".join(lines) + "\n"


def _column(moment: datetime, t0: datetime | None, span: float, width: int, ceil: bool = False) -> int:
    if t0 is None or span <= 0:
        return 0
    position = (moment - t0).total_seconds() / span * width
    column = math.ceil(position) if ceil else math.floor(position)
    return min(width if ceil else width - 1, max(0, column))
