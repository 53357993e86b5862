# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Run the real helm binary: argv lists only (never a shell string), one pure builder per command.

The builders (``upgrade_install``, ``status``, ``get_values``, ``uninstall``, ``list_releases``) return the argv after
the binary. ``Helm`` adds the binary, the Kubernetes access options, runs the command through an injectable
``run(argv, env_update) -> (rc, stdout, stderr)`` and parses helm's JSON output.

Kubernetes access mirrors ``_client.build_configuration`` so helm and the Python client reach the same cluster as
the same user: a dict kubeconfig, or ``host`` without any kubeconfig, is written to a private (0600) temporary
kubeconfig that is removed after the command; the bearer token is passed in the environment (HELM_KUBETOKEN), not
on the command line, where any local user could read it and where it would end up in error messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from ansible_collections.hiero.solo.plugins.module_utils._errors import (
    DependencyMissing,
    HelmError,
    HieroError,
    InputError,
)

Runner = Callable[[list[str], dict[str, str]], tuple[int, str, str]]

MIN_HELM_VERSION = (3, 8, 0)  # OCI registries are generally available from 3.8
INSECURE_FLAG_VERSION = (3, 10, 0)  # --kube-insecure-skip-tls-verify
STDERR_TAIL_LINES = 20


# ---------------------------------------------------------------------------------------------------------------------
# Finding and probing the binary


def default_search_path(env: Mapping[str, str] = os.environ) -> str:
    """$PATH, then the directory of the running Python (where ``make setup`` puts helm in the venv)."""
    parts = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p]
    interpreter_dir = os.path.dirname(sys.executable)
    if interpreter_dir and interpreter_dir not in parts:
        parts.append(interpreter_dir)
    return os.pathsep.join(parts)


def find_helm(binary: str | None = None, search_path: str | None = None) -> str:
    """Return the helm executable to use: ``binary`` (a path or a command name) if given, else ``helm`` on the path."""
    path = default_search_path() if search_path is None else search_path
    if binary:
        if os.sep in binary or binary.startswith("~"):
            candidate = os.path.expanduser(binary)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return os.path.abspath(candidate)
            raise InputError("helm_binary", f"{binary} is not an executable file")
        found = shutil.which(binary, path=path)
        if found:
            return found
        raise InputError("helm_binary", f"{binary!r} was not found in {path}")
    found = shutil.which("helm", path=path)
    if found:
        return found
    raise DependencyMissing(
        "helm",
        f"no helm executable in {path}; install helm {'.'.join(map(str, MIN_HELM_VERSION))} or later "
        "or set helm_binary to its path",
        python_library=False,
    )


_VERSION_RE = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def parse_helm_version(text: str) -> tuple[int, int, int]:
    """Parse ``helm version --short`` output (``v3.14.2+gc309b6f``) into a tuple."""
    match = _VERSION_RE.search(text or "")
    if not match:
        raise HieroError(f"cannot read the helm version from {text.strip()!r}")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def format_version(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)


def helm_version(binary: str, run: Runner) -> tuple[int, int, int]:
    """Probe ``binary`` and return its version; raise HieroError unless it is helm 3.8+ (helm 4+ is accepted)."""
    argv = [binary, "version", "--short"]
    rc, out, err = run(argv, {})
    if rc != 0:
        raise _helm_failure("helm version", argv, rc, out, err)
    version = parse_helm_version(out)
    if version < MIN_HELM_VERSION:
        raise HieroError(
            f"helm {format_version(version)} at {binary} is too old: helm {format_version(MIN_HELM_VERSION)} or "
            "later is required (set helm_binary to pick another one)"
        )
    return version


def version_warning(version: Sequence[int]) -> str | None:
    if version[0] >= 4:
        return f"helm {format_version(version)} is newer than the helm 3 this collection is tested with"
    return None


def subprocess_runner(argv: list[str], env_update: dict[str, str]) -> tuple[int, str, str]:
    """The default runner: no shell, the current environment plus ``env_update``."""
    env = dict(os.environ)
    env.update(env_update)
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def module_runner(module: Any) -> Runner:
    """Adapt ``AnsibleModule.run_command`` (or anything with that signature) to a Runner."""

    # Exceptions raised while helm runs (RunGone from the SIGTERM handler) must reach the module's own handling,
    # not become run_command's generic "Error executing command." (handle_exceptions exists since ansible-core 2.16).
    extra = (
        {"handle_exceptions": False} if "handle_exceptions" in inspect.signature(module.run_command).parameters else {}
    )

    def run(argv: list[str], env_update: dict[str, str]) -> tuple[int, str, str]:
        return module.run_command(argv, environ_update=env_update, **extra)

    return run


# ---------------------------------------------------------------------------------------------------------------------
# Chart sources (the user option chart_sources.<component>)

_LOCATION_KEYS = ("repo", "oci", "path")
_SOURCE_KEYS = ("repo", "chart", "oci", "path", "version")


@dataclasses.dataclass(frozen=True)
class ChartSource:
    """Where a chart comes from: ``kind`` is ``repo`` (``chart`` + ``repo`` URL), ``oci`` or ``path``."""

    kind: str
    chart: str  # chart name (repo), oci:// reference (oci) or local directory / .tgz (path)
    repo: str | None = None
    version: str | None = None

    def args(self) -> list[str]:
        """The chart reference as helm install/upgrade takes it."""
        argv = [self.chart]
        if self.repo:
            argv += ["--repo", self.repo]
        if self.version:
            argv += ["--version", self.version]
        return argv

    def to_dict(self) -> dict[str, str]:
        key = {"repo": "chart", "oci": "oci", "path": "path"}[self.kind]
        out = {key: self.chart}
        if self.repo:
            out["repo"] = self.repo
        if self.version:
            out["version"] = self.version
        return out

    def describe(self) -> str:
        where = f"{self.chart} from {self.repo}" if self.repo else self.chart
        return f"{where} version {self.version}" if self.version else where


def _check_http_url(field: str, url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InputError(field, f"expected an http(s) URL, got {url!r}")


def parse_chart_source(component: str, value: Any, default: ChartSource | None = None) -> ChartSource:
    """Validate one ``chart_sources.<component>`` entry.

    Accepted shapes: ``{repo: URL, chart: name, version}``, ``{oci: oci://host/path/chart, version}``,
    ``{path: /dir or /file.tgz}``, or just ``{version}`` to keep the default location with another version.
    A new repo/oci location without a version keeps the default's version (mirrors usually carry the same charts).
    """
    field = f"chart_sources.{component}"
    if not isinstance(value, Mapping):
        raise InputError(field, f"expected a mapping with repo and chart, oci, or path; got {type(value).__name__}")
    unknown = sorted(str(key) for key in value if key not in _SOURCE_KEYS)
    if unknown:
        raise InputError(f"{field}.{unknown[0]}", f"unknown key; expected one of: {', '.join(_SOURCE_KEYS)}")
    given: dict[str, str] = {}
    for key, item in value.items():
        if item is None or item == "":
            continue
        if not isinstance(item, str):
            hint = " (quote versions in YAML, e.g. '1.10')" if key == "version" else ""
            raise InputError(f"{field}.{key}", f"expected a string, got {type(item).__name__}{hint}")
        given[key] = item.strip()

    locations = [key for key in _LOCATION_KEYS if key in given]
    if len(locations) > 1:
        raise InputError(field, f"give only one of repo, oci or path; got {' and '.join(locations)}")
    if "chart" in given and locations != ["repo"]:
        raise InputError(f"{field}.chart", "only used together with repo (the chart's name in that repository)")
    version = given.get("version")

    if not locations:
        if default is None:
            raise InputError(field, "expected repo and chart, oci, or path")
        if version is None:
            return default
        if default.kind == "path":
            raise InputError(f"{field}.version", "not used with a local chart path (its version is in Chart.yaml)")
        return dataclasses.replace(default, version=version)

    inherited = default.version if default is not None and default.kind != "path" else None
    kind = locations[0]
    if kind == "repo":
        _check_http_url(f"{field}.repo", given["repo"])
        chart = given.get("chart")
        if not chart:
            raise InputError(f"{field}.chart", "required with repo: the chart's name in that repository")
        if "/" in chart or any(ch.isspace() for ch in chart):
            raise InputError(f"{field}.chart", f"expected a chart name such as hedera-mirror, got {chart!r}")
        return ChartSource("repo", chart, repo=given["repo"], version=version or inherited)
    if kind == "oci":
        ref = given["oci"]
        parsed = urlparse(ref)
        if parsed.scheme != "oci" or not parsed.netloc or parsed.path.strip("/") == "":
            raise InputError(f"{field}.oci", f"expected a reference such as oci://ghcr.io/org/charts/name, got {ref!r}")
        return ChartSource("oci", ref, version=version or inherited)
    path = os.path.expanduser(given["path"])
    if not os.path.isabs(path):
        raise InputError(f"{field}.path", f"expected an absolute path to a chart directory or .tgz, got {path!r}")
    if version:
        raise InputError(f"{field}.version", "not used with path (a local chart's version is in its Chart.yaml)")
    return ChartSource("path", path)


def chart_source_for(option: Mapping[str, Any] | None, component: str, default: ChartSource) -> ChartSource:
    """The source of one component: the user's ``chart_sources.<component>`` over ``default``."""
    if not option or option.get(component) is None:
        return default
    return parse_chart_source(component, option[component], default)


def parse_chart_sources(option: Any, defaults: Mapping[str, ChartSource]) -> dict[str, ChartSource]:
    """Validate the whole ``chart_sources`` option against the known components; return every component's source."""
    if option is None:
        option = {}
    if not isinstance(option, Mapping):
        raise InputError("chart_sources", f"expected a mapping of component to source, got {type(option).__name__}")
    unknown = sorted(str(name) for name in option if name not in defaults)
    if unknown:
        raise InputError(f"chart_sources.{unknown[0]}", f"unknown component; expected one of: {', '.join(defaults)}")
    return {name: chart_source_for(option, name, default) for name, default in defaults.items()}


# ---------------------------------------------------------------------------------------------------------------------
# Pure argv builders (everything after the binary)


def kube_args(kube: Mapping[str, Any] | None) -> list[str]:
    """Kubernetes access flags; ``kube`` is resolved auth (see ``_client.resolve_auth``) with a path kubeconfig.

    The token is not a flag: see ``kube_env``. A dict kubeconfig must be written to a file first (``kube_access``).
    """
    kube = kube or {}
    kubeconfig = kube.get("kubeconfig")
    if kubeconfig is not None and not isinstance(kubeconfig, str):
        raise TypeError("kube_args needs a kubeconfig path; write a dict kubeconfig with kube_access() first")
    args: list[str] = []
    if kubeconfig and os.pathsep not in kubeconfig:
        args += ["--kubeconfig", kubeconfig]
    if kube.get("context"):
        args += ["--kube-context", kube["context"]]
    if kube.get("host"):
        args += ["--kube-apiserver", kube["host"]]
    if kube.get("validate_certs") is False:
        # client-go refuses a CA file together with the insecure flag
        args.append("--kube-insecure-skip-tls-verify")
    elif kube.get("ca_cert"):
        args += ["--kube-ca-file", kube["ca_cert"]]
    return args


def kube_env(kube: Mapping[str, Any] | None) -> dict[str, str]:
    """Environment for helm: the bearer token, and a ':'-separated kubeconfig list (--kubeconfig takes one file)."""
    kube = kube or {}
    env: dict[str, str] = {}
    if kube.get("api_key"):
        env["HELM_KUBETOKEN"] = str(kube["api_key"])
    kubeconfig = kube.get("kubeconfig")
    if isinstance(kubeconfig, str) and os.pathsep in kubeconfig:
        env["KUBECONFIG"] = kubeconfig
    return env


def _escape_set_value(value: str) -> str:
    # helm's --set parser ends a value at ',' and treats '\' as an escape; a leading '{' would start a list.
    escaped = value.replace("\\", "\\\\").replace(",", "\\,")
    return "\\" + escaped if escaped.startswith("{") else escaped


def set_string_args(set_values: Mapping[str, str] | None) -> list[str]:
    """``--set-string key=value`` pairs; values pass through as single argv items (spaces, quotes untouched).

    Structured values belong in a values file (see ``values_file``).
    """
    args: list[str] = []
    for key, value in (set_values or {}).items():
        if not isinstance(value, str):
            raise TypeError(f"set_values[{key!r}] must be a string; put structured values in a values file")
        if not key or any(ch in key for ch in "=,") or any(ch.isspace() for ch in key):
            raise ValueError(f"invalid helm value key {key!r}")
        args += ["--set-string", f"{key}={_escape_set_value(value)}"]
    return args


def _timeout_args(timeout_s: int | float | None) -> list[str]:
    if timeout_s is None:
        return []
    return ["--timeout", f"{int(timeout_s)}s"]


def upgrade_install(
    release: str,
    source: ChartSource,
    namespace: str,
    *,
    values_files: Sequence[str] = (),
    set_values: Mapping[str, str] | None = None,
    create_namespace: bool = False,
    wait: bool = False,
    timeout_s: int | float | None = None,
    atomic: bool = False,
    kube: Mapping[str, Any] | None = None,
) -> list[str]:
    """``helm upgrade --install``: the release ends up with exactly these values (``--reset-values``), since helm
    would otherwise reuse the previous release's values when none are given."""
    argv = ["upgrade", "--install", release, *source.args(), "--namespace", namespace, "--reset-values"]
    if create_namespace:
        argv.append("--create-namespace")
    for path in values_files:
        argv += ["--values", path]
    argv += set_string_args(set_values)
    if wait:
        argv.append("--wait")
    if atomic:
        argv.append("--atomic")
    argv += _timeout_args(timeout_s)
    argv += ["--output", "json"]
    return argv + kube_args(kube)


def status(release: str, namespace: str, *, kube: Mapping[str, Any] | None = None) -> list[str]:
    return ["status", release, "--namespace", namespace, "--output", "json", *kube_args(kube)]


def get_values(
    release: str, namespace: str, *, all_values: bool = False, kube: Mapping[str, Any] | None = None
) -> list[str]:
    argv = ["get", "values", release, "--namespace", namespace]
    if all_values:
        argv.append("--all")
    return [*argv, "--output", "json", *kube_args(kube)]


def uninstall(
    release: str,
    namespace: str,
    *,
    wait: bool = False,
    timeout_s: int | float | None = None,
    kube: Mapping[str, Any] | None = None,
) -> list[str]:
    argv = ["uninstall", release, "--namespace", namespace]
    if wait:
        argv.append("--wait")
    return argv + _timeout_args(timeout_s) + kube_args(kube)


def rollback(release: str, namespace: str, *, kube: Mapping[str, Any] | None = None) -> list[str]:
    """``helm rollback`` to the previous revision."""
    return ["rollback", release, "--namespace", namespace, *kube_args(kube)]


def list_releases(
    namespace: str | None = None, *, filter: str | None = None, kube: Mapping[str, Any] | None = None
) -> list[str]:
    """``helm list`` of releases in every state (``--all``) in ``namespace``, or in all namespaces when None."""
    argv = ["list"]
    argv += ["--namespace", namespace] if namespace else ["--all-namespaces"]
    argv.append("--all")
    if filter:
        argv += ["--filter", filter]
    return [*argv, "--output", "json", *kube_args(kube)]


# ---------------------------------------------------------------------------------------------------------------------
# Temporary files helm reads


@contextlib.contextmanager
def private_file(content: str, prefix: str, suffix: str = ".json") -> Iterator[str]:
    """Write ``content`` to a new file readable only by us (0600); remove it on exit."""
    fd, path = tempfile.mkstemp(prefix=prefix, suffix=suffix)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def values_file(values: Mapping[str, Any]) -> Iterator[str]:
    """A temporary values file (JSON is YAML) for ``values_files``; private because values may hold secrets."""
    with private_file(json.dumps(values, indent=1, sort_keys=True), prefix="hiero-solo-values-") as path:
        yield path


def host_kubeconfig(kube: Mapping[str, Any]) -> dict[str, Any]:
    """A kubeconfig for ``host`` alone: the same server and credentials the Python client uses for it."""
    cluster: dict[str, Any] = {"server": kube["host"]}
    if kube.get("validate_certs") is False:
        cluster["insecure-skip-tls-verify"] = True
    elif kube.get("ca_cert"):
        cluster["certificate-authority"] = kube["ca_cert"]
    user: dict[str, Any] = {}
    if kube.get("api_key"):
        user["token"] = kube["api_key"]
    if kube.get("client_cert"):
        user["client-certificate"] = kube["client_cert"]
    if kube.get("client_key"):
        user["client-key"] = kube["client_key"]
    name = "hiero-solo"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


@contextlib.contextmanager
def kube_access(kube: Mapping[str, Any] | None) -> Iterator[tuple[dict[str, Any], dict[str, str]]]:
    """Yield ``(options for kube_args, env for helm)``, with any kubeconfig that must exist as a file written to
    a private temporary file for the duration of the block."""
    options = dict(kube or {})
    kubeconfig = options.get("kubeconfig")
    content: Mapping[str, Any] | None = None
    if isinstance(kubeconfig, Mapping):
        content = kubeconfig
    elif not kubeconfig and not options.get("context") and options.get("host"):
        # No kubeconfig named: never let helm fall back to ~/.kube/config and send its credentials to `host`.
        content = host_kubeconfig(options)
        options = {}
    if options and (options.get("client_cert") or options.get("client_key")):
        field = "client_cert" if options.get("client_cert") else "client_key"
        raise InputError(
            field, "helm cannot override the client certificate of a kubeconfig; put it in the kubeconfig, or use host"
        )
    env = kube_env(options)
    if content is None:
        yield options, env
        return
    with private_file(json.dumps(content), prefix="hiero-solo-kubeconfig-") as path:
        options["kubeconfig"] = path
        yield options, env


# ---------------------------------------------------------------------------------------------------------------------
# Running helm


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    kept = [line for line in (text or "").splitlines() if line.strip()]
    return "\n".join(kept[-lines:])


def _helm_failure(what: str, argv: list[str], rc: int, out: str, err: str) -> HelmError:
    detail = _tail(err) or _tail(out) or "no output"
    return HelmError(f"{what} failed (exit {rc}): {detail}", argv=argv, rc=rc, stdout=out, stderr=err)


def _release_not_found(err: str) -> bool:
    return "release: not found" in (err or "")


def _operation_in_progress(err: str) -> bool:
    """helm refuses to touch a release whose last operation never finished (status pending-*)."""
    return "another operation (install/upgrade/rollback) is in progress" in (err or "")


class Helm:
    """helm commands against one cluster; ``kube`` is resolved auth (``_client.resolve_auth``)."""

    def __init__(
        self,
        binary: str,
        kube: Mapping[str, Any] | None = None,
        run: Runner | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.binary = binary
        self.kube = dict(kube or {})
        self._run = run or subprocess_runner
        self._env = dict(env or {})  # e.g. HELM_CACHE_HOME / HELM_CONFIG_HOME / HELM_DATA_HOME
        self._version: tuple[int, int, int] | None = None
        self.warnings: list[str] = []

    @property
    def version(self) -> tuple[int, int, int]:
        """The binary's version, probed once; raises HieroError when it is not supported."""
        if self._version is None:
            self._version = helm_version(self.binary, self._run)
            warning = version_warning(self._version)
            if warning:
                self.warnings.append(warning)
        return self._version

    def _execute(self, build: Callable[[Mapping[str, Any]], list[str]]) -> tuple[list[str], int, str, str]:
        version = self.version
        with kube_access(self.kube) as (options, env):
            if options.get("validate_certs") is False and version < INSECURE_FLAG_VERSION:
                raise InputError(
                    "validate_certs",
                    f"false together with a kubeconfig needs helm {format_version(INSECURE_FLAG_VERSION)} or later "
                    f"(found {format_version(version)}); use host without kubeconfig, or a newer helm",
                )
            argv = [self.binary, *build(options)]
            rc, out, err = self._run(argv, {**self._env, **env})
        return argv, rc, out, err

    def _json(self, what: str, argv: list[str], out: str) -> Any:
        try:
            return json.loads(out) if out.strip() else None
        except ValueError as exc:
            raise HelmError(f"{what} printed output that is not JSON: {exc}", argv=argv, stdout=out) from exc

    def upgrade_install(
        self,
        release: str,
        source: ChartSource,
        namespace: str,
        *,
        values_files: Sequence[str] = (),
        set_values: Mapping[str, str] | None = None,
        create_namespace: bool = False,
        wait: bool = False,
        timeout_s: int | float | None = None,
        atomic: bool = False,
    ) -> dict[str, Any]:
        """Install or upgrade ``release``; return helm's release record (name, version, info.status, ...).

        A release left ``pending-*`` by a helm that was killed mid-operation (an interrupted run) blocks every later
        operation. Callers run under the deployment's Lease, so no other operation can be in progress: such a
        release is recovered (pending-install: uninstalled; pending-upgrade / pending-rollback: rolled back to the
        previous revision) and the install is tried once more, with a warning saying so.
        """
        what = f"helm upgrade --install {release} ({source.describe()}) in namespace {namespace}"

        def attempt() -> tuple[list[str], int, str, str]:
            return self._execute(
                lambda kube: upgrade_install(
                    release,
                    source,
                    namespace,
                    values_files=values_files,
                    set_values=set_values,
                    create_namespace=create_namespace,
                    wait=wait,
                    timeout_s=timeout_s,
                    atomic=atomic,
                    kube=kube,
                ),
            )

        argv, rc, out, err = attempt()
        if rc != 0 and _operation_in_progress(err) and self.recover_pending(release, namespace):
            argv, rc, out, err = attempt()
        if rc != 0:
            raise _helm_failure(what, argv, rc, out, err)
        return self._json(what, argv, out) or {}

    def recover_pending(self, release: str, namespace: str) -> bool:
        """Undo an interrupted operation of ``release`` (status pending-*); False when it is not pending."""
        record = self.status(release, namespace)
        state = str(((record or {}).get("info") or {}).get("status") or "")
        if not state.startswith("pending-"):
            return False
        if state == "pending-install":
            self.uninstall(release, namespace)
            undo = "uninstalled it"
        else:
            what = f"helm rollback {release} in namespace {namespace}"
            argv, rc, out, err = self._execute(lambda kube: rollback(release, namespace, kube=kube))
            if rc != 0:
                raise _helm_failure(what, argv, rc, out, err)
            undo = "rolled it back to its previous revision"
        self.warnings.append(f"release {namespace}/{release} was left {state} by an interrupted run; {undo}")
        return True

    def status(self, release: str, namespace: str) -> dict[str, Any] | None:
        """The release record, or None when there is no such release."""
        what = f"helm status {release} in namespace {namespace}"
        argv, rc, out, err = self._execute(lambda kube: status(release, namespace, kube=kube))
        if rc != 0:
            if _release_not_found(err):
                return None
            raise _helm_failure(what, argv, rc, out, err)
        return self._json(what, argv, out) or {}

    def get_values(self, release: str, namespace: str, all_values: bool = False) -> dict[str, Any] | None:
        """The release's user-supplied values (all computed values with ``all_values``), or None without release."""
        what = f"helm get values {release} in namespace {namespace}"
        argv, rc, out, err = self._execute(
            lambda kube: get_values(release, namespace, all_values=all_values, kube=kube)
        )
        if rc != 0:
            if _release_not_found(err):
                return None
            raise _helm_failure(what, argv, rc, out, err)
        return self._json(what, argv, out) or {}  # helm prints `null` when no values were given

    def uninstall(self, release: str, namespace: str, wait: bool = False, timeout_s: int | float | None = None) -> bool:
        """Uninstall ``release``; False when it did not exist (nothing to do)."""
        what = f"helm uninstall {release} in namespace {namespace}"
        argv, rc, out, err = self._execute(
            lambda kube: uninstall(release, namespace, wait=wait, timeout_s=timeout_s, kube=kube)
        )
        if rc != 0:
            if _release_not_found(err):
                return False
            raise _helm_failure(what, argv, rc, out, err)
        return True

    def list_releases(self, namespace: str | None = None, filter: str | None = None) -> list[dict[str, Any]]:
        where = f"in namespace {namespace}" if namespace else "in all namespaces"
        what = f"helm list {where}"
        argv, rc, out, err = self._execute(lambda kube: list_releases(namespace, filter=filter, kube=kube))
        if rc != 0:
            raise _helm_failure(what, argv, rc, out, err)
        return self._json(what, argv, out) or []
