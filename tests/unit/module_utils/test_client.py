"""Auth resolution and client configuration (plugins/module_utils/_client.py), with real kubernetes Configurations."""

from __future__ import annotations

import json
import os

import kubernetes.client
import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError

from ansible_collections.hiero.solo.plugins.module_utils._args import AUTH_ENV
from ansible_collections.hiero.solo.plugins.module_utils._client import (
    Clients,
    build_configuration,
    cluster_error,
    get_clients,
    is_already_exists,
    is_conflict,
    is_not_found,
    resolve_auth,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import ClusterError, HieroError, InputError

NO_ENV: dict[str, str] = {}


def kubeconfig_dict(current="alpha"):
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [
            {"name": "alpha", "cluster": {"server": "https://alpha.example:6443"}},
            {"name": "beta", "cluster": {"server": "https://beta.example:6443", "insecure-skip-tls-verify": True}},
        ],
        "users": [
            {"name": "alpha-user", "user": {"token": "alpha-token"}},
            {"name": "beta-user", "user": {"token": "beta-token"}},
        ],
        "contexts": [
            {"name": "alpha", "context": {"cluster": "alpha", "user": "alpha-user"}},
            {"name": "beta", "context": {"cluster": "beta", "user": "beta-user"}},
        ],
    }


@pytest.fixture
def kubeconfig_file(tmp_path):
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig_dict()))
    return str(path)


def bearer(cfg) -> str | None:
    return cfg.auth_settings().get("BearerToken", {}).get("value")


# --- resolve_auth ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "env", "expected"),
    [
        pytest.param({}, {"K8S_AUTH_HOST": "https://env:6443/"}, {"host": "https://env:6443"}, id="env-host"),
        pytest.param({}, {"K8S_AUTH_VALIDATE_CERTS": "false"}, {"validate_certs": False}, id="env-false"),
        pytest.param({}, {"K8S_AUTH_VALIDATE_CERTS": "no"}, {"validate_certs": False}, id="env-no"),
        pytest.param({}, {"K8S_AUTH_VALIDATE_CERTS": "0"}, {"validate_certs": False}, id="env-0"),
        pytest.param({}, {"K8S_AUTH_VALIDATE_CERTS": "False"}, {"validate_certs": False}, id="env-False"),
        pytest.param({}, {"K8S_AUTH_VALIDATE_CERTS": "yes"}, {"validate_certs": True}, id="env-yes"),
        pytest.param({}, {"K8S_AUTH_VERIFY_SSL": "0"}, {"validate_certs": False}, id="env-verify-ssl-alias"),
        pytest.param(
            {"validate_certs": True}, {"K8S_AUTH_VALIDATE_CERTS": "false"}, {"validate_certs": True}, id="param-wins"
        ),
        pytest.param({"verify_ssl": False}, {}, {"validate_certs": False}, id="param-alias"),
        pytest.param(
            {"host": "https://param:6443", "api_key": "p"},
            {"K8S_AUTH_HOST": "https://env:6443", "K8S_AUTH_API_KEY": "e"},
            {"host": "https://param:6443", "api_key": "p"},
            id="params-win-over-env",
        ),
        pytest.param({"context": ""}, {"K8S_AUTH_CONTEXT": "kind-x"}, {"context": "kind-x"}, id="empty-param-unset"),
        pytest.param({}, {"K8S_AUTH_KUBECONFIG": "~/kc"}, {"kubeconfig": os.path.expanduser("~/kc")}, id="env-kc"),
        pytest.param({}, {"K8S_AUTH_CERT_FILE": "/c.pem", "K8S_AUTH_KEY_FILE": "/k.pem"}, {}, id="cert-env-aliases"),
        pytest.param({}, {}, dict.fromkeys(AUTH_ENV), id="nothing"),
    ],
)
def test_resolve_auth(params, env, expected):
    auth = resolve_auth(params, env)
    assert set(auth) == set(AUTH_ENV)
    for option, value in expected.items():
        assert auth[option] == value, option
    if "K8S_AUTH_CERT_FILE" in env:
        assert (auth["client_cert"], auth["client_key"]) == ("/c.pem", "/k.pem")


def test_resolve_auth_rejects_a_non_boolean_env_value_naming_the_variable():
    with pytest.raises(InputError) as err:
        resolve_auth({}, {"K8S_AUTH_VALIDATE_CERTS": "maybe"})
    assert str(err.value).startswith("K8S_AUTH_VALIDATE_CERTS: expected a boolean")


def test_resolve_auth_keeps_a_dict_kubeconfig_and_rejects_other_types():
    config = kubeconfig_dict()
    assert resolve_auth({"kubeconfig": config}, NO_ENV)["kubeconfig"] == config
    with pytest.raises(InputError, match=r"^kubeconfig: expected a file path or a kubeconfig dict, got list"):
        resolve_auth({"kubeconfig": ["a", "b"]}, NO_ENV)


# --- build_configuration ---------------------------------------------------------------------------------------------


def test_kubeconfig_file_uses_its_current_context(kubeconfig_file):
    cfg = build_configuration(resolve_auth({"kubeconfig": kubeconfig_file}, NO_ENV), NO_ENV)
    assert isinstance(cfg, kubernetes.client.Configuration)
    assert cfg.host == "https://alpha.example:6443"
    assert bearer(cfg) == "Bearer alpha-token"
    assert cfg.verify_ssl is True


def test_context_selects_another_cluster_and_user(kubeconfig_file):
    cfg = build_configuration(resolve_auth({"kubeconfig": kubeconfig_file, "context": "beta"}, NO_ENV), NO_ENV)
    assert cfg.host == "https://beta.example:6443"
    assert bearer(cfg) == "Bearer beta-token"
    assert cfg.verify_ssl is False


def test_dict_kubeconfig_with_context():
    config = kubeconfig_dict()
    cfg = build_configuration(resolve_auth({"kubeconfig": config, "context": "beta"}, NO_ENV), NO_ENV)
    assert (cfg.host, bearer(cfg), cfg.verify_ssl) == ("https://beta.example:6443", "Bearer beta-token", False)
    assert config == kubeconfig_dict(), "the caller's dict must not be modified"


def test_context_from_env_with_the_default_kubeconfig(kubeconfig_file):
    env = {"KUBECONFIG": kubeconfig_file, "K8S_AUTH_CONTEXT": "beta"}
    cfg = build_configuration(resolve_auth({}, env), env)
    assert cfg.host == "https://beta.example:6443"


@pytest.mark.parametrize("where", ["file", "dict"])
def test_unknown_context_is_an_input_error_listing_the_known_ones(kubeconfig_file, where):
    kubeconfig = kubeconfig_file if where == "file" else kubeconfig_dict()
    with pytest.raises(InputError) as err:
        build_configuration(resolve_auth({"kubeconfig": kubeconfig, "context": "gamma"}, NO_ENV), NO_ENV)
    assert str(err.value).startswith("context: context 'gamma' not found in ")
    assert str(err.value).endswith("available: alpha, beta")


def test_missing_kubeconfig_file_names_the_path(tmp_path):
    missing = str(tmp_path / "nope" / "config")
    with pytest.raises(HieroError) as err:
        build_configuration(resolve_auth({"kubeconfig": missing}, NO_ENV), NO_ENV)
    assert missing in str(err.value)
    assert str(err.value).startswith("kubeconfig: file not found")


def test_unreadable_kubeconfig_is_reported_with_its_path(tmp_path):
    path = tmp_path / "broken"
    path.write_text("clusters: [\n")
    with pytest.raises(HieroError, match=f"cannot load kubeconfig {path}"):
        build_configuration(resolve_auth({"kubeconfig": str(path)}, NO_ENV), NO_ENV)


def test_host_and_api_key_without_kubeconfig_never_read_the_default_one(kubeconfig_file):
    # The default kubeconfig exists and holds another cluster's token; it must not be mixed in.
    env = {"KUBECONFIG": kubeconfig_file}
    cfg = build_configuration(resolve_auth({"host": "https://other:6443", "api_key": "mine"}, env), env)
    assert cfg.host == "https://other:6443"
    assert bearer(cfg) == "Bearer mine"
    cfg = build_configuration(resolve_auth({"host": "http://127.0.0.1:18080"}, env), env)
    assert cfg.host == "http://127.0.0.1:18080"
    assert bearer(cfg) is None


def test_explicit_options_override_the_kubeconfig(kubeconfig_file, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    params = {"kubeconfig": kubeconfig_file, "api_key": "override", "validate_certs": False, "ca_cert": str(ca)}
    cfg = build_configuration(resolve_auth(params, NO_ENV), NO_ENV)
    assert cfg.host == "https://alpha.example:6443"
    assert bearer(cfg) == "Bearer override"
    assert cfg.verify_ssl is False
    assert cfg.ssl_ca_cert == str(ca)


def test_client_cert_and_key_paths(tmp_path):
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_text("c")
    key.write_text("k")
    params = {"host": "https://api:6443", "client_cert": str(cert), "client_key": str(key)}
    cfg = build_configuration(resolve_auth(params, NO_ENV), NO_ENV)
    assert (cfg.cert_file, cfg.key_file) == (str(cert), str(key))


@pytest.mark.parametrize("option", ["ca_cert", "client_cert", "client_key"])
def test_missing_certificate_files_name_the_option(tmp_path, option):
    with pytest.raises(InputError, match=rf"^{option}: file not found: .*missing\.pem"):
        build_configuration(
            resolve_auth({"host": "https://api:6443", option: str(tmp_path / "missing.pem")}, NO_ENV), NO_ENV
        )


def test_host_must_be_a_url():
    with pytest.raises(InputError, match=r"^host: expected a URL"):
        build_configuration(resolve_auth({"host": "127.0.0.1:6443"}, NO_ENV), NO_ENV)


def test_no_credentials_at_all_names_the_default_path(tmp_path):
    env = {"KUBECONFIG": str(tmp_path / "absent")}
    with pytest.raises(HieroError) as err:
        build_configuration(resolve_auth({}, env), env)
    assert f"no Kubernetes credentials: {tmp_path / 'absent'} does not exist" in str(err.value)


def test_default_kubeconfig_is_used_when_nothing_is_given(kubeconfig_file):
    env = {"KUBECONFIG": kubeconfig_file}
    cfg = build_configuration(resolve_auth({}, env), env)
    assert (cfg.host, bearer(cfg)) == ("https://alpha.example:6443", "Bearer alpha-token")


def test_configurations_are_independent(kubeconfig_file):
    default_before = kubernetes.client.Configuration.get_default_copy().host
    first = build_configuration(resolve_auth({"kubeconfig": kubeconfig_file}, NO_ENV), NO_ENV)
    second = build_configuration(resolve_auth({"host": "https://x:1", "api_key": "t"}, NO_ENV), NO_ENV)
    assert first.host != second.host
    assert kubernetes.client.Configuration.get_default_copy().host == default_before


def test_get_clients_shares_one_api_client():
    clients = get_clients({"host": "http://127.0.0.1:18080", "api_key": "t"}, NO_ENV)
    assert isinstance(clients, Clients)
    assert isinstance(clients.core, kubernetes.client.CoreV1Api)
    assert isinstance(clients.coordination, kubernetes.client.CoordinationV1Api)
    assert isinstance(clients.custom, kubernetes.client.CustomObjectsApi)
    for api in (clients.core, clients.apps, clients.batch, clients.networking, clients.rbac, clients.policy):
        assert api.api_client is clients.api_client
    assert clients.configuration.host == "http://127.0.0.1:18080"
    assert clients.core is clients.core, "built once"


def test_clients_take_explicit_api_objects():
    fake_core = object()
    clients = Clients(api_client=None, core=fake_core)
    assert clients.core is fake_core
    with pytest.raises(TypeError, match="unknown API"):
        Clients(api_client=None, storage=object())
    with pytest.raises(AttributeError):
        _ = clients.not_an_api


# --- API error helpers -----------------------------------------------------------------------------------------------


def api_exception(status, reason, body=None):
    exc = ApiException(status=status, reason=reason)
    exc.body = json.dumps(body) if isinstance(body, dict) else body
    return exc


CONFLICT = api_exception(
    409,
    "Conflict",
    {"kind": "Status", "reason": "Conflict", "message": "the object has been modified", "code": 409},
)
EXISTS = api_exception(
    409, "Conflict", {"kind": "Status", "reason": "AlreadyExists", "message": 'leases "x" already exists'}
)
MISSING = api_exception(404, "Not Found", {"kind": "Status", "reason": "NotFound", "message": 'leases "x" not found'})


@pytest.mark.parametrize(
    ("exc", "not_found", "conflict", "exists"),
    [
        (MISSING, True, False, False),
        (CONFLICT, False, True, False),
        (EXISTS, False, False, True),
        (api_exception(409, "Conflict", b"not json"), False, True, False),
        (api_exception(500, "Internal Server Error"), False, False, False),
        (ValueError("404"), False, False, False),
    ],
)
def test_api_error_predicates(exc, not_found, conflict, exists):
    assert (is_not_found(exc), is_conflict(exc), is_already_exists(exc)) == (not_found, conflict, exists)


def test_cluster_error_names_action_object_and_reason():
    forbidden = api_exception(
        403,
        "Forbidden",
        {"reason": "Forbidden", "message": 'leases.coordination.k8s.io "one-shot" is forbidden: User "x" cannot'},
    )
    error = cluster_error(forbidden, "create", "Lease", "one-shot", "one-shot")
    assert isinstance(error, ClusterError)
    assert str(error) == (
        'cannot create Lease one-shot/one-shot: 403 Forbidden: leases.coordination.k8s.io "one-shot" is forbidden: '
        'User "x" cannot'
    )
    assert (error.status, error.reason) == (403, "Forbidden")
    assert str(cluster_error(MISSING, "read", "Namespace", None, "one-shot")).startswith(
        "cannot read Namespace one-shot: 404 NotFound"
    )
    assert str(cluster_error(api_exception(500, "Boom"), "list", "Pod", "ns", None)) == (
        "cannot list Pod in namespace ns: 500 Boom"
    )


def test_cluster_error_for_an_unreachable_server():
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")
    error = cluster_error(MaxRetryError(None, "/api/v1/namespaces", reason), "get", "Namespace", None, "x")
    assert str(error).startswith("cannot get Namespace x: cannot reach the Kubernetes API server: ")
    assert "Connection refused" in str(error)
    assert error.status is None
    assert str(cluster_error(RuntimeError("odd"), "patch", "Secret", "a", "b")) == (
        "cannot patch Secret a/b: RuntimeError: odd"
    )
