# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""What the step modules of phase A share: input checks, the cluster reference's context, write guards, run-state.

A step plans from what it reads, then writes only what differs. Writes happen inside ``write_guard``: with the
``lease`` option every write is fenced on the play's Lease; without it a step that writes to the cluster takes the
namespace's Lease for itself (as a standalone solo command does), and a step that writes only local files takes
none (solo's local-only commands take none either). A step with nothing to write takes no Lease at all, so a
converged re-run costs only reads.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _local_config, _run_state
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError
from ansible_collections.hiero.solo.plugins.module_utils._lease import ensure_lease_held, step_lease

# Budget of a wait_for wait when wait_timeout is not set (solo's event-bus waits are 5 to 10 minutes).
DEFAULT_RUN_WAIT_S = 600

_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_label(field: str, value: Any) -> str:
    """An RFC 1123 label (namespace, deployment, cluster ref names), or InputError naming ``field``."""
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_RE.match(value):
        raise InputError(
            field,
            "expected an RFC 1123 label (lowercase letters, digits and '-', starting and ending with a letter "
            f"or digit, at most 63 characters), got {value!r}",
        )
    return value


def check_run_options(params: Mapping[str, Any]) -> None:
    """Validate ``run_id`` and ``wait_for`` before anything is written."""
    run_id = params.get("run_id")
    if run_id is not None:
        _run_state.check_run_id(run_id)
    for step in params.get("wait_for") or []:
        _run_state.check_step_name(step, "wait_for")
    if params.get("wait_for") and run_id is None:
        raise InputError("wait_for", "needs run_id: the steps waited for are looked up in the run-state of that run")
    timeout = params.get("wait_timeout")
    if timeout is not None and timeout < 0:
        raise InputError("wait_timeout", f"expected a number of seconds >= 0, got {timeout}")


def solo_home(params: Mapping[str, Any]) -> str:
    """The ``solo_home`` option, else $SOLO_HOME, else ~/.solo (solo's rule)."""
    return params.get("solo_home") or _local_config.solo_home()


def use_cluster_ref_context(module: Any, cluster_ref: str | None, home: str) -> str | None:
    """Point the module's clients at the cluster reference's context, as solo resolves a cluster ref.

    An explicit ``context`` option wins. Must run before the module's first ``clients()``/``helm()`` call.
    Returns the context in use (None: the kubeconfig's current context).
    """
    if module.params.get("context"):
        return module.params["context"]
    if cluster_ref:
        doc = _local_config.read(home)
        context = ((doc or {}).get("clusterRefs") or {}).get(cluster_ref)
        if context:
            module.params["context"] = context
            return context
    return None


class _NoGuard:
    """The guard of a write that needs no fencing (local files, no lease option)."""

    own = False

    def check(self) -> None:
        return None


@contextlib.contextmanager
def write_guard(module: Any, namespace: str | None, *, cluster_writes: bool) -> Iterator[Any]:
    """Lease discipline around a batch of writes; yields an object whose ``check()`` runs before each write.

    - ``lease`` option set: fence on it (checked on entry and by every ``check()``), never take a Lease.
    - no ``lease`` option and ``cluster_writes``: take and renew ``namespace``'s Lease for the duration.
    - otherwise (local writes only, or check mode): nothing to fence.
    """
    if module.check_mode:
        yield _NoGuard()
        return
    if module.params.get("lease") or cluster_writes:
        with step_lease(module, namespace) as guard:
            yield guard
        return
    yield _NoGuard()


def lease_fence(module: Any) -> Any:
    """A fence for run-state waits: checks the ``lease`` option's Lease, or None without one."""
    lease = module.params.get("lease")
    if not lease or module.check_mode:
        return None
    return lambda: ensure_lease_held(module.clients(), lease)


@contextlib.contextmanager
def run_step(module: Any, namespace: str | None, step: str) -> Iterator[None]:
    """Wait for ``wait_for`` and record ``step`` running → done/failed in the run-state of ``run_id``.

    Nothing is recorded without ``run_id`` or in check mode (planning writes nothing).
    """
    params = module.params
    run_id = None if module.check_mode else params.get("run_id")
    if run_id is None:
        yield
        return
    if not namespace:
        raise InputError("namespace", "required with run_id: the run-state lives in the deployment namespace")
    timeout = params.get("wait_timeout")
    with _run_state.step_run(
        module.clients().core,
        namespace,
        run_id,
        step,
        wait_for=params.get("wait_for") or [],
        timeout_s=DEFAULT_RUN_WAIT_S if timeout is None else timeout,
        fence=lease_fence(module),
    ):
        yield


def record_failure(step: str | Callable[[Mapping[str, Any]], str | None]) -> Callable[[Any, BaseException], None]:
    """``HieroModule.execute(on_failure=...)``: record a failure that happened before ``run_step`` was entered.

    ``run_step`` records what fails inside it; a step that fails earlier (reading its inputs, the remote config,
    the cluster reference) would leave its entry ``pending``, and whoever waits for it would wait out its whole
    timeout instead of failing at once with "blocked by <step>: <cause>". ``step`` is the run-state step name, or a
    function of the parameters giving it (None: nothing to record). Only a ``pending`` entry of this run is changed.
    """

    def on_failure(module: Any, exc: BaseException) -> None:
        params = module.params
        name = step(params) if callable(step) else step
        run_id, namespace = params.get("run_id"), params.get("namespace")
        if module.check_mode or not name or not run_id or not namespace:
            return
        core = module.clients().core
        state = _run_state.read(core, namespace)
        entry = state.steps.get(name)
        if state.run_id != run_id or entry is None or entry.status != _run_state.PENDING:
            return
        _run_state.mark(core, namespace, run_id, name, _run_state.FAILED, error=getattr(exc, "msg", None) or str(exc))

    return on_failure


def diff_of(before: Any, after: Any, before_header: str = "", after_header: str = "") -> dict[str, Any]:
    """An Ansible ``diff`` entry; mappings are shown as YAML text, as solo writes its configs."""

    def text(value: Any) -> str:
        if isinstance(value, str):
            return value
        return _local_config.yaml_dump(value) if value not in (None, {}) else ""

    entry: dict[str, Any] = {"before": text(before), "after": text(after)}
    if before_header:
        entry["before_header"] = before_header
    if after_header:
        entry["after_header"] = after_header
    return entry
