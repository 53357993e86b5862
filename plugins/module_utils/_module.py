# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""``HieroModule``: the one AnsibleModule wrapper every hiero.solo module uses.

It owns what each module would otherwise repeat: the kubernetes dependency check, hiding secrets of a dict
kubeconfig, lazily built clients and helm runner, timings in the result, and turning exceptions into ``fail_json``
once, at the edge.
"""

from __future__ import annotations

import contextlib
import re
import traceback
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any, NoReturn

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.hiero.solo.plugins.module_utils._client import Clients, get_clients, resolve_auth
from ansible_collections.hiero.solo.plugins.module_utils._errors import DependencyMissing, HieroError
from ansible_collections.hiero.solo.plugins.module_utils._helm import Helm, find_helm, module_runner
from ansible_collections.hiero.solo.plugins.module_utils._watchdog import RunGone, guard_run

try:
    import kubernetes

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR: str | None = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

MIN_KUBERNETES_VERSION = (24, 2, 0)

# Keys of a kubeconfig whose string values are credentials (users[].user, auth-provider config).
_KUBECONFIG_SECRET_KEYS = frozenset(
    {"token", "password", "client-key-data", "id-token", "refresh-token", "access-token", "client-secret", "secret"}
)


def kubeconfig_secrets(kubeconfig: Any) -> set[str]:
    """Credential strings found in a kubeconfig dict, including exec plugin environment values."""
    found: set[str] = set()

    def walk(node: Any, parent_key: str | None) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in _KUBECONFIG_SECRET_KEYS and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value, key)
        elif isinstance(node, list):
            for item in node:
                if parent_key == "env" and isinstance(item, Mapping) and isinstance(item.get("value"), str):
                    found.add(item["value"])
                walk(item, parent_key)

    walk(kubeconfig, None)
    return {value for value in found if value}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class HieroModule:
    """Wraps ``AnsibleModule`` by composition; modules use only what is exposed here."""

    def __init__(
        self,
        argument_spec: dict[str, Any],
        supports_check_mode: bool = True,
        requires_kubernetes: bool = True,
        **kwargs: Any,
    ) -> None:
        self.started = _now()
        self._module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=supports_check_mode, **kwargs)
        self._clients: Clients | None = None
        self._helm: Helm | None = None
        kubeconfig = self._module.params.get("kubeconfig")
        if isinstance(kubeconfig, Mapping):
            # Before anything can fail or print: a dict kubeconfig may carry tokens and keys (kubernetes.core #782).
            self._module.no_log_values.update(kubeconfig_secrets(kubeconfig))
        if requires_kubernetes:
            self._require_kubernetes()
        # A step of a playbook run stops when that run is gone (see _watchdog); planning never needs to.
        self._watchdog = None if self.check_mode else guard_run(self._module.params.get("lease"))

    def _require_kubernetes(self) -> None:
        wanted = ".".join(str(part) for part in MIN_KUBERNETES_VERSION)
        if not HAS_KUBERNETES:
            self._module.fail_json(
                msg=missing_required_lib(f"kubernetes>={wanted}", reason="to talk to the Kubernetes API"),
                exception=KUBERNETES_IMPORT_ERROR,
            )
        found = getattr(kubernetes, "__version__", "0")
        if _version_tuple(found) < MIN_KUBERNETES_VERSION:
            self._module.fail_json(
                msg=missing_required_lib(f"kubernetes>={wanted}", reason="to talk to the Kubernetes API")
                + f" Found kubernetes {found}."
            )

    # -- what modules read -------------------------------------------------------------------------------------------

    @property
    def params(self) -> dict[str, Any]:
        return self._module.params

    @property
    def check_mode(self) -> bool:
        return bool(self._module.check_mode)

    @property
    def diff_mode(self) -> bool:
        return bool(self._module._diff)

    @property
    def ansible_module(self) -> AnsibleModule:
        """The wrapped AnsibleModule, for the rare call not exposed here."""
        return self._module

    def clients(self) -> Clients:
        """Kubernetes API clients built from the auth options, once."""
        if self._clients is None:
            self._clients = get_clients(self.params)
        return self._clients

    def helm(self) -> Helm:
        """A helm runner for ``helm_binary`` and the auth options, once; commands run via ``run_command``."""
        if self._helm is None:
            binary = find_helm(self.params.get("helm_binary"))
            self._helm = Helm(binary, resolve_auth(self.params), run=module_runner(self._module))
        return self._helm

    def run_command(self, args: list[str], **kwargs: Any) -> tuple[int, str, str]:
        return self._module.run_command(args, **kwargs)

    def warn(self, msg: str) -> None:
        self._module.warn(msg)

    # -- how modules end ---------------------------------------------------------------------------------------------

    def _finish(self, result: dict[str, Any]) -> dict[str, Any]:
        if self._watchdog is not None:
            self._watchdog.stop()
        if self._helm is not None:
            for warning in self._helm.warnings:
                self._module.warn(warning)
            self._helm.warnings.clear()
        result.setdefault("started", self.started)
        result.setdefault("finished", _now())
        return result

    def exit_json(self, **kwargs: Any) -> NoReturn:
        self._module.exit_json(**self._finish(kwargs))

    def fail_json(self, **kwargs: Any) -> NoReturn:
        kwargs.setdefault("msg", "failed")
        self._module.fail_json(**self._finish(kwargs))

    def fail_from_exception(self, exc: BaseException) -> NoReturn:
        """Report ``exc`` with its message and partial result; anything unexpected also gets its type named."""
        if isinstance(exc, DependencyMissing) and exc.python_library:
            msg = missing_required_lib(exc.library, reason=exc.reason or None)
            result = dict(exc.result)
        elif isinstance(exc, (HieroError, RunGone)):
            msg, result = exc.msg, dict(exc.result)
        else:
            msg, result = f"{type(exc).__name__}: {exc}", {}
        for reserved in ("msg", "failed"):
            result.pop(reserved, None)
        result.setdefault("changed", False)
        # A string traceback works on every supported ansible-core; shown with -vvv only.
        result.setdefault("exception", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
        self.fail_json(msg=msg, **result)

    def execute(
        self,
        step: Callable[[HieroModule], dict[str, Any]],
        on_failure: Callable[[HieroModule, BaseException], None] | None = None,
    ) -> NoReturn:
        """Run ``step(self)`` and exit with its result, or fail with the exception it raised.

        ``on_failure(self, exc)`` runs first on a failure (e.g. recording it in the run-state); its own errors are
        ignored, so they never hide the failure being reported.
        """
        try:
            result = step(self)
        except (Exception, RunGone) as exc:  # the one place where every failure becomes fail_json
            if on_failure is not None:
                with contextlib.suppress(Exception):
                    on_failure(self, exc)
            self.fail_from_exception(exc)
        self.exit_json(**result)
