# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The exceptions raised inside the collection and turned into ``fail_json`` once, at the module edge.

Every error carries a message meant for the person running the playbook (it names the field, resource,
command or step involved) and ``result``: the partial result that ``fail_json`` reports next to it.
"""

from __future__ import annotations

from typing import Any


class HieroError(Exception):
    """Base of every error the collection raises on purpose."""

    def __init__(self, msg: str, **result: Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.result = result

    def __str__(self) -> str:
        return self.msg


class InputError(HieroError):
    """A user input is invalid; raised before the first cluster write.

    The message always starts with the field, e.g. ``num_consensus_nodes: expected an integer from 1 to 10, got 0``.
    """

    def __init__(self, field: str, msg: str, **result: Any) -> None:
        # Callers may pass either the bare reason or an already prefixed message; never prefix twice.
        full = msg if msg.startswith(f"{field}:") else f"{field}: {msg}"
        super().__init__(full, **result)
        self.field = field


class ClusterError(HieroError):
    """A Kubernetes API call failed; the message names kind, namespace/name and the reason.

    ``status`` (HTTP status code) and ``reason`` (the Status reason, e.g. ``Forbidden``) are set when known.
    """

    status: int | None = None
    reason: str | None = None


class HelmError(HieroError):
    """A helm command failed; carries the argv, exit code and output."""

    def __init__(
        self,
        msg: str,
        argv: list[str] | None = None,
        rc: int | None = None,
        stdout: str = "",
        stderr: str = "",
        **result: Any,
    ) -> None:
        if argv is not None:
            result.setdefault("command", list(argv))
        if rc is not None:
            result.setdefault("rc", rc)
        if stdout:
            result.setdefault("stdout", stdout)
        if stderr:
            result.setdefault("stderr", stderr)
        super().__init__(msg, **result)
        self.argv = list(argv) if argv is not None else None
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr


class WaitTimeout(HieroError):
    """A wait ran out of time; the message names what was awaited and the last state seen."""


class LeaseError(HieroError):
    """A problem with the deployment Lease."""


class LeaseBusy(LeaseError):
    """The Lease is held by someone else and did not become free in time."""


class LeaseLost(LeaseError):
    """The Lease we were fencing on is no longer ours."""


class DependencyMissing(HieroError):
    """A required library or program is not available.

    ``python_library`` says whether ``library`` is a Python import (the module edge then reports it with
    Ansible's ``missing_required_lib`` wording, which names the interpreter) or a program such as helm.
    """

    def __init__(self, library: str, reason: str = "", *, python_library: bool = True, **result: Any) -> None:
        what = f"the Python library {library}" if python_library else library
        msg = f"{what} is required but was not found"
        if reason:
            msg = f"{msg}: {reason}"
        super().__init__(msg, **result)
        self.library = library
        self.reason = reason
        self.python_library = python_library
