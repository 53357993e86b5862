# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Kubernetes clients built from the auth options, usable with or without an AnsibleModule.

Typed APIs only (no dynamic client): its discovery cache file is not safe when parallel async jobs share /tmp.
Every client gets its own ``Configuration``; nothing here touches kubernetes' process-wide default configuration.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._args import AUTH_ARG_SPEC, AUTH_ENV
from ansible_collections.hiero.solo.plugins.module_utils._errors import (
    ClusterError,
    DependencyMissing,
    HieroError,
    InputError,
)

try:
    import kubernetes
    import kubernetes.client
    import kubernetes.config
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException
    from yaml import YAMLError

    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR: str | None = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # type: ignore[no-redef]
        """Stand-in so isinstance checks work when kubernetes is missing (reported at the module edge)."""

        status: int | None = None
        reason: str | None = None
        body: Any = None

    class ConfigException(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses work when kubernetes is missing."""

    class YAMLError(Exception):  # type: ignore[no-redef]
        """Stand-in so except clauses work when PyYAML (a kubernetes dependency) is missing."""


try:
    import urllib3
    from urllib3.exceptions import HTTPError as Urllib3HTTPError
    from urllib3.exceptions import MaxRetryError
except ImportError:  # urllib3 comes with kubernetes; a missing one is reported with it
    urllib3 = None  # type: ignore[assignment]

    class Urllib3HTTPError(Exception):  # type: ignore[no-redef]
        """Stand-in when urllib3 is missing."""

    class MaxRetryError(Urllib3HTTPError):  # type: ignore[no-redef]
        """Stand-in when urllib3 is missing."""

        reason: Any = None


AUTH_OPTIONS: tuple[str, ...] = tuple(AUTH_ENV)

_TRUE = frozenset({"1", "true", "yes", "on", "y", "t"})
_FALSE = frozenset({"0", "false", "no", "off", "n", "f"})


def _parse_bool(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(source, f"expected a boolean (true/false, yes/no, 1/0), got {value!r}")


def _given(value: Any) -> bool:
    # An empty string (e.g. a templated default) counts as "not set", as in kubernetes.core.
    return value is not None and value != ""


def resolve_auth(params: Mapping[str, Any], env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """Return every auth option resolved: module params first, then the K8S_AUTH_* environment, else None.

    ``validate_certs`` becomes a bool, ``kubeconfig`` a dict or an expanded path string, ``host`` loses any
    trailing slash.
    """
    auth: dict[str, Any] = {}
    for option, env_names in AUTH_ENV.items():
        source = option
        value = params.get(option)
        if not _given(value):
            for alias in AUTH_ARG_SPEC[option].get("aliases", []):
                if _given(params.get(alias)):
                    value, source = params[alias], alias
                    break
        if not _given(value):
            value = None
            for name in env_names:
                if _given(env.get(name)):
                    value, source = env[name], name
                    break
        if value is not None and option == "validate_certs":
            value = _parse_bool(value, source)
        auth[option] = value

    kubeconfig = auth["kubeconfig"]
    if isinstance(kubeconfig, str):
        auth["kubeconfig"] = os.path.expanduser(kubeconfig)
    elif kubeconfig is not None and not isinstance(kubeconfig, Mapping):
        raise InputError("kubeconfig", f"expected a file path or a kubeconfig dict, got {type(kubeconfig).__name__}")
    if auth["host"]:
        auth["host"] = str(auth["host"]).rstrip("/")
    for option in ("ca_cert", "client_cert", "client_key"):
        if auth[option]:
            auth[option] = os.path.expanduser(str(auth[option]))
    return auth


def default_kubeconfig(env: Mapping[str, str] = os.environ) -> str:
    """The kubeconfig that kubectl and helm use when none is given: $KUBECONFIG, else ~/.kube/config."""
    return env.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")


def _require_kubernetes() -> None:
    if not HAS_KUBERNETES:
        raise DependencyMissing("kubernetes", "to talk to the Kubernetes API", exception=KUBERNETES_IMPORT_ERROR)


def _context_names(contexts: Any) -> list[str]:
    return [c.get("name") for c in contexts or [] if isinstance(c, Mapping) and c.get("name")]


def _check_context(context: str | None, names: list[str], where: str) -> None:
    if context and context not in names:
        available = ", ".join(names) or "none"
        raise InputError("context", f"context {context!r} not found in {where}; available: {available}")


def _load_kubeconfig_file(path_spec: str, context: str | None, cfg: Any) -> None:
    paths = [os.path.expanduser(p) for p in path_spec.split(os.pathsep) if p]
    missing = [p for p in paths if not os.path.isfile(p)]
    if not paths or missing:
        raise InputError("kubeconfig", f"file not found: {', '.join(missing) or repr(path_spec)}")
    where = f"kubeconfig {path_spec}"
    try:
        contexts, _active = kubernetes.config.list_kube_config_contexts(config_file=path_spec)
        _check_context(context, _context_names(contexts), where)
        kubernetes.config.load_kube_config(
            config_file=path_spec, context=context, client_configuration=cfg, persist_config=False
        )
    except HieroError:
        raise
    except (ConfigException, YAMLError, OSError, ValueError, TypeError, KeyError) as exc:
        # a malformed file shows up as Type/KeyError inside the loader
        raise HieroError(f"cannot load {where}: {exc}") from exc


def _load_kubeconfig_dict(kubeconfig: Mapping[str, Any], context: str | None, cfg: Any) -> None:
    _check_context(context, _context_names(kubeconfig.get("contexts")), "the kubeconfig dict")
    try:
        kubernetes.config.load_kube_config_from_dict(
            config_dict=json.loads(json.dumps(dict(kubeconfig))),  # a plain, private copy
            context=context,
            client_configuration=cfg,
            persist_config=False,
        )
    except (ConfigException, ValueError, TypeError, KeyError) as exc:
        raise HieroError(f"cannot load the kubeconfig dict: {exc}") from exc


def _check_file(option: str, path: str | None) -> None:
    if path and not os.path.isfile(path):
        raise InputError(option, f"file not found: {path}")


def build_configuration(auth: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Any:
    """Build a ``kubernetes.client.Configuration`` from resolved auth options (see ``resolve_auth``).

    Sources, first match wins: a kubeconfig (dict or file) and/or context; else ``host`` alone (no file is read,
    so the credentials of the default kubeconfig are never sent to another server); else the default kubeconfig
    ($KUBECONFIG or ~/.kube/config, as kubectl and helm); else the in-cluster service account. Explicit
    ``host``/``api_key``/``validate_certs``/``ca_cert``/``client_cert``/``client_key`` then override.
    """
    _require_kubernetes()
    env = os.environ if env is None else env
    cfg = kubernetes.client.Configuration()
    kubeconfig, context, host = auth.get("kubeconfig"), auth.get("context"), auth.get("host")

    if isinstance(kubeconfig, Mapping):
        _load_kubeconfig_dict(kubeconfig, context, cfg)
    elif kubeconfig:
        _load_kubeconfig_file(kubeconfig, context, cfg)
    elif context:
        _load_kubeconfig_file(default_kubeconfig(env), context, cfg)
    elif host:
        pass
    else:
        default = default_kubeconfig(env)
        if any(os.path.isfile(os.path.expanduser(p)) for p in default.split(os.pathsep) if p):
            _load_kubeconfig_file(default, None, cfg)
        elif env.get("KUBERNETES_SERVICE_HOST"):
            try:
                kubernetes.config.load_incluster_config(client_configuration=cfg)
            except ConfigException as exc:
                raise HieroError(f"cannot use the in-cluster service account: {exc}") from exc
        else:
            raise HieroError(
                f"no Kubernetes credentials: {default} does not exist and this is not a pod; "
                "set kubeconfig (or K8S_AUTH_KUBECONFIG), or host with api_key or client_cert/client_key"
            )

    _apply_overrides(cfg, auth)
    return cfg


def _apply_overrides(cfg: Any, auth: Mapping[str, Any]) -> None:
    host = auth.get("host")
    if host:
        if not str(host).startswith(("http://", "https://")):
            raise InputError("host", f"expected a URL such as https://api.example.com:6443, got {host!r}")
        cfg.host = host
    if auth.get("api_key"):
        cfg.api_key = {"authorization": f"Bearer {auth['api_key']}"}
        cfg.api_key_prefix = {}
        # A kubeconfig exec/auth-provider hook would otherwise put its own token back on the next request.
        cfg.refresh_api_key_hook = None
    for option, attribute in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"), ("client_key", "key_file")):
        if auth.get(option):
            _check_file(option, auth[option])
            setattr(cfg, attribute, auth[option])
    if auth.get("validate_certs") is not None:
        cfg.verify_ssl = bool(auth["validate_certs"])
        if not cfg.verify_ssl and urllib3 is not None:
            # The user asked for no verification; a warning on every request would only bury real output.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)


# attribute name -> kubernetes.client API class
CLIENT_APIS: dict[str, str] = {
    "core": "CoreV1Api",
    "apps": "AppsV1Api",
    "batch": "BatchV1Api",
    "coordination": "CoordinationV1Api",
    "networking": "NetworkingV1Api",
    "rbac": "RbacAuthorizationV1Api",
    "policy": "PolicyV1Api",
    "custom": "CustomObjectsApi",
}


class Clients:
    """The typed API objects a module needs, all sharing one ``ApiClient`` (one connection pool).

    ``core``, ``apps``, ``batch``, ``coordination``, ``networking``, ``rbac``, ``policy`` and ``custom`` are built on
    first use: loading an API class costs up to seconds (CoreV1Api alone imports hundreds of models), which every
    module process would otherwise pay for APIs it never calls. Tests may pass any of them explicitly.
    """

    def __init__(self, api_client: Any, **apis: Any) -> None:
        unknown = sorted(set(apis) - set(CLIENT_APIS))
        if unknown:
            raise TypeError(f"unknown API(s) {', '.join(unknown)}; expected some of {', '.join(CLIENT_APIS)}")
        self.api_client = api_client
        for name, api in apis.items():
            if api is not None:
                setattr(self, name, api)

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes not set yet: build the API object once.
        if name in CLIENT_APIS:
            api = getattr(kubernetes.client, CLIENT_APIS[name])(self.api_client)
            setattr(self, name, api)
            return api
        raise AttributeError(name)

    @classmethod
    def from_api_client(cls, api_client: Any) -> Clients:
        return cls(api_client)

    @property
    def configuration(self) -> Any:
        return self.api_client.configuration


def get_clients(params: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Clients:
    """Resolve auth from ``params`` (+ environment), build a configuration and the typed API clients."""
    env = os.environ if env is None else env
    cfg = build_configuration(resolve_auth(params, env), env)
    return Clients.from_api_client(kubernetes.client.ApiClient(configuration=cfg))


def _status_body(exc: BaseException) -> dict[str, Any]:
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _api_status(exc: BaseException) -> int | None:
    return exc.status if isinstance(exc, ApiException) else None


def status_reason(exc: BaseException) -> str | None:
    """The machine-readable reason of a failed API call (``NotFound``, ``AlreadyExists``, ``Conflict``, ...)."""
    if not isinstance(exc, ApiException):
        return None
    return _status_body(exc).get("reason") or None


def is_not_found(exc: BaseException) -> bool:
    return _api_status(exc) == 404


def is_already_exists(exc: BaseException) -> bool:
    return _api_status(exc) == 409 and status_reason(exc) == "AlreadyExists"


def is_conflict(exc: BaseException) -> bool:
    """A 409 from a stale ``resourceVersion`` (re-read and retry), as opposed to AlreadyExists on create."""
    return _api_status(exc) == 409 and status_reason(exc) != "AlreadyExists"


def _describe_target(kind: str, namespace: str | None, name: str | None) -> str:
    if namespace and name:
        return f"{kind} {namespace}/{name}"
    if name:
        return f"{kind} {name}"
    if namespace:
        return f"{kind} in namespace {namespace}"
    return kind


def cluster_error(exc: BaseException, action: str, kind: str, namespace: str | None, name: str | None) -> ClusterError:
    """Turn a failed API call into a ClusterError naming the action, the object and the API's reason.

    Example: ``cannot create Lease one-shot/one-shot: 403 Forbidden: leases.coordination.k8s.io is forbidden: ...``
    """
    target = _describe_target(kind, namespace, name)
    status: int | None = None
    reason: str | None = None
    if isinstance(exc, ApiException):
        body = _status_body(exc)
        status = exc.status
        reason = body.get("reason") or exc.reason
        message = body.get("message") or ""
        detail = " ".join(str(part) for part in (status, reason) if part)
        if message:
            detail = f"{detail}: {message}" if detail else message
    elif isinstance(exc, MaxRetryError):
        detail = f"cannot reach the Kubernetes API server: {exc.reason or exc}"
    elif isinstance(exc, (Urllib3HTTPError, OSError)):
        detail = f"cannot reach the Kubernetes API server: {exc}"
    else:
        detail = f"{type(exc).__name__}: {exc}"
    error = ClusterError(f"cannot {action} {target}: {detail}")
    error.status = status
    error.reason = reason
    return error
