"""The helm runner (plugins/module_utils/_helm.py): argv tables, chart sources, binary lookup, and Helm with a fake
runner. One test renders values through the real helm binary when it is installed."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils import _helm
from ansible_collections.hiero.solo.plugins.module_utils._errors import (
    DependencyMissing,
    HelmError,
    HieroError,
    InputError,
)
from ansible_collections.hiero.solo.plugins.module_utils._helm import (
    ChartSource,
    Helm,
    chart_source_for,
    find_helm,
    get_values,
    helm_version,
    kube_access,
    kube_args,
    kube_env,
    list_releases,
    module_runner,
    parse_chart_source,
    parse_chart_sources,
    status,
    subprocess_runner,
    uninstall,
    upgrade_install,
)

MIRROR = ChartSource(
    "repo", "hedera-mirror", repo="https://hiero-ledger.github.io/hiero-mirror-node/charts", version="v0.160.0"
)
SOLO = ChartSource("oci", "oci://ghcr.io/hashgraph/solo-charts/solo-deployment", version="0.66.0")
LOCAL = ChartSource("path", "/charts/relay-0.78.1.tgz")

# --- argv builders: one table -----------------------------------------------------------------------------------------

ARGV_CASES = [
    pytest.param(
        lambda: upgrade_install("mirror-1", MIRROR, "one-shot"),
        [
            "upgrade",
            "--install",
            "mirror-1",
            "hedera-mirror",
            "--repo",
            MIRROR.repo,
            "--version",
            "v0.160.0",
            "--namespace",
            "one-shot",
            "--reset-values",
            "--output",
            "json",
        ],
        id="repo-url",
    ),
    pytest.param(
        lambda: upgrade_install(
            "solo-deployment",
            SOLO,
            "one-shot",
            values_files=["/tmp/a b.yaml", "/tmp/c.yaml"],
            create_namespace=True,
            wait=True,
            timeout_s=300,
            atomic=True,
        ),
        [
            "upgrade",
            "--install",
            "solo-deployment",
            "oci://ghcr.io/hashgraph/solo-charts/solo-deployment",
            "--version",
            "0.66.0",
            "--namespace",
            "one-shot",
            "--reset-values",
            "--create-namespace",
            "--values",
            "/tmp/a b.yaml",
            "--values",
            "/tmp/c.yaml",
            "--wait",
            "--atomic",
            "--timeout",
            "300s",
            "--output",
            "json",
        ],
        id="oci-wait-timeout-values",
    ),
    pytest.param(
        lambda: upgrade_install("relay-1", LOCAL, "ns", timeout_s=90.7),
        [
            "upgrade",
            "--install",
            "relay-1",
            "/charts/relay-0.78.1.tgz",
            "--namespace",
            "ns",
            "--reset-values",
            "--timeout",
            "90s",
            "--output",
            "json",
        ],
        id="local-tgz",
    ),
    pytest.param(
        lambda: upgrade_install(
            "r",
            LOCAL,
            "ns",
            set_values={"greeting": 'he said "hi" it\'s  fine', "a.b[0].c": "x y"},
        ),
        [
            "upgrade",
            "--install",
            "r",
            "/charts/relay-0.78.1.tgz",
            "--namespace",
            "ns",
            "--reset-values",
            "--set-string",
            'greeting=he said "hi" it\'s  fine',
            "--set-string",
            "a.b[0].c=x y",
            "--output",
            "json",
        ],
        id="values-with-spaces-and-quotes-untouched",
    ),
    pytest.param(
        lambda: upgrade_install("r", LOCAL, "ns", set_values={"list": "a,b", "path": "C:\\x", "brace": "{1}"}),
        [
            "upgrade",
            "--install",
            "r",
            "/charts/relay-0.78.1.tgz",
            "--namespace",
            "ns",
            "--reset-values",
            "--set-string",
            "list=a\\,b",
            "--set-string",
            "path=C:\\\\x",
            "--set-string",
            "brace=\\{1}",
            "--output",
            "json",
        ],
        id="values-escaped-for-helm-parser",
    ),
    pytest.param(
        lambda: upgrade_install(
            "r",
            LOCAL,
            "ns",
            kube={
                "kubeconfig": "/k/config",
                "context": "kind-solo",
                "host": "https://api:6443",
                "ca_cert": "/k/ca.pem",
                "api_key": "SECRET",
            },
        ),
        [
            "upgrade",
            "--install",
            "r",
            "/charts/relay-0.78.1.tgz",
            "--namespace",
            "ns",
            "--reset-values",
            "--output",
            "json",
            "--kubeconfig",
            "/k/config",
            "--kube-context",
            "kind-solo",
            "--kube-apiserver",
            "https://api:6443",
            "--kube-ca-file",
            "/k/ca.pem",
        ],
        id="kube-auth-options-token-not-in-argv",
    ),
    pytest.param(
        lambda: status("mirror-1", "one-shot", kube={"validate_certs": False, "ca_cert": "/ca.pem"}),
        ["status", "mirror-1", "--namespace", "one-shot", "--output", "json", "--kube-insecure-skip-tls-verify"],
        id="status-insecure-drops-ca",
    ),
    pytest.param(
        lambda: get_values("mirror-1", "one-shot"),
        ["get", "values", "mirror-1", "--namespace", "one-shot", "--output", "json"],
        id="get-values",
    ),
    pytest.param(
        lambda: get_values("mirror-1", "one-shot", all_values=True, kube={"context": "c"}),
        ["get", "values", "mirror-1", "--namespace", "one-shot", "--all", "--output", "json", "--kube-context", "c"],
        id="get-values-all",
    ),
    pytest.param(
        lambda: uninstall("mirror-1", "one-shot"),
        ["uninstall", "mirror-1", "--namespace", "one-shot"],
        id="uninstall",
    ),
    pytest.param(
        lambda: uninstall("mirror-1", "one-shot", wait=True, timeout_s=120),
        ["uninstall", "mirror-1", "--namespace", "one-shot", "--wait", "--timeout", "120s"],
        id="uninstall-wait",
    ),
    pytest.param(
        lambda: list_releases("one-shot"),
        ["list", "--namespace", "one-shot", "--all", "--output", "json"],
        id="list-namespace",
    ),
    pytest.param(
        lambda: list_releases(filter="^mirror-[0-9]+$"),
        ["list", "--all-namespaces", "--all", "--filter", "^mirror-[0-9]+$", "--output", "json"],
        id="list-all-namespaces-filter",
    ),
    pytest.param(
        lambda: list_releases("ns", kube={"kubeconfig": "/a:/b"}),
        ["list", "--namespace", "ns", "--all", "--output", "json"],
        id="kubeconfig-list-goes-to-env",
    ),
]


@pytest.mark.parametrize(("build", "expected"), ARGV_CASES)
def test_argv(build, expected):
    assert build() == expected


@pytest.mark.parametrize(
    ("kube", "expected"),
    [
        ({}, {}),
        ({"api_key": "tok"}, {"HELM_KUBETOKEN": "tok"}),
        ({"kubeconfig": "/a:/b"}, {"KUBECONFIG": "/a:/b"}),
        ({"kubeconfig": "/a", "context": "c"}, {}),
    ],
)
def test_kube_env(kube, expected):
    assert kube_env(kube) == expected


def test_builders_refuse_structured_set_values_and_bad_keys():
    with pytest.raises(TypeError, match="values file"):
        upgrade_install("r", LOCAL, "ns", set_values={"replicas": 3})
    with pytest.raises(ValueError, match="invalid helm value key"):
        upgrade_install("r", LOCAL, "ns", set_values={"a=b": "x"})
    with pytest.raises(TypeError, match="kube_access"):
        kube_args({"kubeconfig": {"clusters": []}})


# --- kube_access: temporary kubeconfig files --------------------------------------------------------------------------


def test_dict_kubeconfig_is_written_0600_and_removed():
    config = {"apiVersion": "v1", "users": [{"name": "u", "user": {"token": "t"}}]}
    with kube_access({"kubeconfig": config, "context": "c", "api_key": "tok"}) as (options, env):
        path = options["kubeconfig"]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert json.loads(Path(path).read_text()) == config
        assert kube_args(options) == ["--kubeconfig", path, "--kube-context", "c"]
        assert env == {"HELM_KUBETOKEN": "tok"}
    assert not os.path.exists(path)


def test_temporary_kubeconfig_is_removed_when_the_command_fails():
    with pytest.raises(RuntimeError), kube_access({"kubeconfig": {"apiVersion": "v1"}}) as (options, _env):
        path = options["kubeconfig"]
        raise RuntimeError("helm blew up")
    assert not os.path.exists(path)


def test_host_without_kubeconfig_gets_a_kubeconfig_of_its_own():
    kube = {
        "host": "https://api:6443",
        "api_key": "tok",
        "validate_certs": False,
        "ca_cert": "/ca.pem",
        "client_cert": "/c.pem",
        "client_key": "/k.pem",
    }
    with kube_access(kube) as (options, env):
        path = options["kubeconfig"]
        written = json.loads(Path(path).read_text())
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert kube_args(options) == ["--kubeconfig", path]
        assert env == {}, "the token is in the private file, not in the environment"
    assert written["clusters"][0]["cluster"] == {"server": "https://api:6443", "insecure-skip-tls-verify": True}
    assert written["users"][0]["user"] == {"token": "tok", "client-certificate": "/c.pem", "client-key": "/k.pem"}
    assert written["current-context"] == written["contexts"][0]["name"]
    assert not os.path.exists(path)


def test_client_cert_cannot_override_a_kubeconfig_for_helm():
    with (
        pytest.raises(InputError, match=r"^client_cert: helm cannot override"),
        kube_access({"kubeconfig": "/k", "client_cert": "/c.pem"}),
    ):
        pass


# --- chart sources ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "default", "expected"),
    [
        pytest.param(
            {"repo": "https://mirror.local/charts", "chart": "hedera-mirror", "version": "v0.161.0"},
            None,
            ChartSource("repo", "hedera-mirror", repo="https://mirror.local/charts", version="v0.161.0"),
            id="repo",
        ),
        pytest.param(
            {"oci": "oci://registry.local/solo/solo-deployment"},
            SOLO,
            ChartSource("oci", "oci://registry.local/solo/solo-deployment", version="0.66.0"),
            id="oci-keeps-default-version",
        ),
        pytest.param({"path": "/srv/charts/mirror"}, MIRROR, ChartSource("path", "/srv/charts/mirror"), id="path"),
        pytest.param(
            {"version": "v0.170.0"},
            MIRROR,
            ChartSource("repo", "hedera-mirror", repo=MIRROR.repo, version="v0.170.0"),
            id="version-only",
        ),
        pytest.param({}, MIRROR, MIRROR, id="empty-keeps-default"),
        pytest.param(
            {"repo": "http://10.0.0.1:8080/", "chart": "x", "version": None},
            None,
            ChartSource("repo", "x", repo="http://10.0.0.1:8080/"),
            id="plain-http-no-version",
        ),
    ],
)
def test_parse_chart_source(value, default, expected):
    assert parse_chart_source("mirror", value, default) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"repo": "ftp://mirror/charts", "chart": "x"}, "chart_sources.mirror.repo: expected an http(s) URL"),
        ({"repo": "mirror.local/charts", "chart": "x"}, "chart_sources.mirror.repo: expected an http(s) URL"),
        ({"repo": "https://mirror.local/charts"}, "chart_sources.mirror.chart: required with repo"),
        ({"repo": "https://m/c", "chart": "org/x"}, "chart_sources.mirror.chart: expected a chart name"),
        ({"oci": "ghcr.io/org/chart"}, "chart_sources.mirror.oci: expected a reference such as oci://"),
        ({"oci": "oci://ghcr.io"}, "chart_sources.mirror.oci: expected a reference"),
        ({"path": "charts/mirror"}, "chart_sources.mirror.path: expected an absolute path"),
        ({"path": "/c/mirror.tgz", "version": "1.0.0"}, "chart_sources.mirror.version: not used with path"),
        ({"repo": "https://m/c", "chart": "x", "oci": "oci://a/b"}, "chart_sources.mirror: give only one of"),
        ({"oci": "oci://a/b", "chart": "x"}, "chart_sources.mirror.chart: only used together with repo"),
        ({"version": 1.1}, "chart_sources.mirror.version: expected a string, got float (quote versions"),
        ({"url": "https://m"}, "chart_sources.mirror.url: unknown key; expected one of: repo, chart, oci, path"),
        ("https://m/c", "chart_sources.mirror: expected a mapping"),
    ],
)
def test_bad_chart_sources_name_the_field(value, message):
    with pytest.raises(InputError) as err:
        parse_chart_source("mirror", value, MIRROR)
    assert str(err.value).startswith(message)


def test_version_only_needs_a_default_location():
    with pytest.raises(InputError, match=r"^chart_sources.relay: expected repo and chart, oci, or path"):
        parse_chart_source("relay", {"version": "1"}, None)
    with pytest.raises(InputError, match=r"^chart_sources.relay.version: not used with a local chart path"):
        parse_chart_source("relay", {"version": "1"}, LOCAL)


def test_parse_chart_sources_checks_components():
    defaults = {"mirror": MIRROR, "solo": SOLO}
    sources = parse_chart_sources({"solo": {"version": "0.67.0"}}, defaults)
    assert sources == {"mirror": MIRROR, "solo": ChartSource("oci", SOLO.chart, version="0.67.0")}
    assert parse_chart_sources(None, defaults) == defaults
    with pytest.raises(InputError, match=r"^chart_sources.explorer: unknown component; expected one of: mirror, solo"):
        parse_chart_sources({"explorer": {"version": "1"}}, defaults)
    assert chart_source_for({"solo": {"path": "/x"}}, "mirror", MIRROR) == MIRROR


def test_chart_source_reports():
    assert MIRROR.to_dict() == {"chart": "hedera-mirror", "repo": MIRROR.repo, "version": "v0.160.0"}
    assert SOLO.to_dict() == {"oci": SOLO.chart, "version": "0.66.0"}
    assert LOCAL.describe() == "/charts/relay-0.78.1.tgz"
    assert MIRROR.describe() == f"hedera-mirror from {MIRROR.repo} version v0.160.0"


# --- finding and probing the binary -----------------------------------------------------------------------------------


def executable(path: Path, text: str = "#!/bin/sh\necho v3.14.2+gabc\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_find_helm_explicit_path_and_name(tmp_path):
    helm = executable(tmp_path / "bin" / "helm3")
    assert find_helm(str(helm), search_path="") == str(helm)
    assert find_helm("helm3", search_path=str(tmp_path / "bin")) == str(helm)
    (tmp_path / "plain").write_text("not executable")
    with pytest.raises(InputError, match=r"^helm_binary: .*plain is not an executable file"):
        find_helm(str(tmp_path / "plain"))
    with pytest.raises(InputError, match=r"^helm_binary: 'helm9' was not found in "):
        find_helm("helm9", search_path=str(tmp_path / "bin"))


def test_find_helm_looks_next_to_the_python_interpreter(tmp_path, monkeypatch):
    venv_helm = executable(tmp_path / "venv" / "bin" / "helm")
    monkeypatch.setattr(sys, "executable", str(tmp_path / "venv" / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert find_helm() == str(venv_helm)
    path_helm = executable(tmp_path / "empty" / "helm")
    assert find_helm() == str(path_helm), "PATH comes first"


def test_find_helm_missing_names_helm_binary(tmp_path):
    with pytest.raises(DependencyMissing) as err:
        find_helm(search_path=str(tmp_path))
    assert "helm_binary" in str(err.value)
    assert str(err.value).startswith("helm is required but was not found: no helm executable in ")
    assert err.value.python_library is False


def fixed_runner(rc, out, err=""):
    calls = []

    def run(argv, env):
        calls.append((argv, env))
        return rc, out, err

    run.calls = calls
    return run


@pytest.mark.parametrize(
    ("out", "expected"),
    [("v3.14.2+gc309b6f\n", (3, 14, 2)), ("v3.8.0", (3, 8, 0)), ("v4.0.1+g1", (4, 0, 1))],
)
def test_helm_version(out, expected):
    run = fixed_runner(0, out)
    assert helm_version("/bin/helm", run) == expected
    assert run.calls == [(["/bin/helm", "version", "--short"], {})]


@pytest.mark.parametrize(
    ("rc", "out", "error", "message"),
    [
        (0, "v3.7.2+g663a896", HieroError, "helm 3.7.2 at /bin/helm is too old: helm 3.8.0 or later is required"),
        (0, "Client: v2.17.0+ga690bad", HieroError, "helm 2.17.0 at /bin/helm is too old"),
        (0, "garbage", HieroError, "cannot read the helm version from 'garbage'"),
        (127, "", HelmError, "helm version failed (exit 127): no output"),
    ],
)
def test_helm_version_rejects(rc, out, error, message):
    with pytest.raises(error) as err:
        helm_version("/bin/helm", fixed_runner(rc, out))
    assert str(err.value).startswith(message)


# --- Helm with a scripted runner --------------------------------------------------------------------------------------


class ScriptedHelm:
    """A stand-in for the helm process: answers `version`, then the scripted (rc, out, err) per command."""

    def __init__(self, *answers, version="v3.14.2+gabc", inspect=None):
        self.answers = list(answers)
        self.version = version
        self.calls = []
        self.inspect = inspect

    def __call__(self, argv, env):
        if argv[1:] == ["version", "--short"]:
            return 0, self.version, ""
        self.calls.append((argv, dict(env)))
        if self.inspect:
            self.inspect(argv, env)
        return self.answers.pop(0)


RELEASE = {"name": "mirror-1", "namespace": "one-shot", "version": 2, "info": {"status": "deployed"}}


def test_upgrade_install_runs_argv_and_parses_the_release():
    run = ScriptedHelm((0, json.dumps(RELEASE), ""))
    helm = Helm("/bin/helm", {"api_key": "SECRET", "context": "kind-solo"}, run=run, env={"HELM_CACHE_HOME": "/c"})
    release = helm.upgrade_install("mirror-1", MIRROR, "one-shot", values_files=["/v.yaml"], wait=True, timeout_s=60)
    assert release == RELEASE
    [(argv, env)] = run.calls
    assert argv == [
        "/bin/helm",
        *upgrade_install(
            "mirror-1",
            MIRROR,
            "one-shot",
            values_files=["/v.yaml"],
            wait=True,
            timeout_s=60,
            kube={"context": "kind-solo"},
        ),
    ]
    assert "SECRET" not in " ".join(argv)
    assert env == {"HELM_CACHE_HOME": "/c", "HELM_KUBETOKEN": "SECRET"}
    assert helm.warnings == []


def test_dict_kubeconfig_exists_only_while_helm_runs():
    seen = {}

    def inspect(argv, env):
        path = argv[argv.index("--kubeconfig") + 1]
        seen["path"] = path
        seen["mode"] = stat.S_IMODE(os.stat(path).st_mode)
        seen["content"] = json.loads(Path(path).read_text())

    config = {"apiVersion": "v1", "clusters": [{"name": "c", "cluster": {"server": "https://k:6443"}}]}
    helm = Helm("/bin/helm", {"kubeconfig": config}, run=ScriptedHelm((0, json.dumps(RELEASE), ""), inspect=inspect))
    assert helm.status("mirror-1", "one-shot") == RELEASE
    assert seen["mode"] == 0o600
    assert seen["content"] == config
    assert not os.path.exists(seen["path"])


def test_status_of_a_missing_release_is_none():
    run = ScriptedHelm((1, "", "Error: release: not found\n"))
    assert Helm("/bin/helm", run=run).status("mirror-1", "one-shot") is None


def test_failure_message_has_the_last_20_lines_of_stderr():
    stderr = "\n".join(f"line {n}" for n in range(1, 31))
    run = ScriptedHelm((1, "", stderr))
    with pytest.raises(HelmError) as err:
        Helm("/bin/helm", run=run).upgrade_install("mirror-1", MIRROR, "one-shot")
    message = str(err.value)
    assert message.startswith(
        f"helm upgrade --install mirror-1 ({MIRROR.describe()}) in namespace one-shot failed (exit 1): line 11\n"
    )
    assert message.endswith("line 30")
    assert "line 10\n" not in message
    assert err.value.rc == 1
    assert err.value.argv[:4] == ["/bin/helm", "upgrade", "--install", "mirror-1"]
    assert err.value.stderr == stderr
    assert err.value.result["command"] == err.value.argv


def test_get_values_uninstall_and_list():
    run = ScriptedHelm(
        (0, "null\n", ""),
        (0, json.dumps({"replicas": 2}), ""),
        (1, "", "Error: release: not found"),
        (1, "", "Error: uninstall: Release not loaded: mirror-1: release: not found"),
        (0, "", ""),
        (0, json.dumps([{"name": "mirror-1", "revision": "3", "status": "failed"}]), ""),
    )
    helm = Helm("/bin/helm", run=run)
    assert helm.get_values("mirror-1", "one-shot") == {}
    assert helm.get_values("mirror-1", "one-shot", all_values=True) == {"replicas": 2}
    assert helm.get_values("gone", "one-shot") is None
    assert helm.uninstall("mirror-1", "one-shot") is False
    assert helm.uninstall("mirror-1", "one-shot", wait=True, timeout_s=30) is True
    assert helm.list_releases("one-shot") == [{"name": "mirror-1", "revision": "3", "status": "failed"}]
    assert [argv[1:3] for argv, _ in run.calls] == [
        ["get", "values"],
        ["get", "values"],
        ["get", "values"],
        ["uninstall", "mirror-1"],
        ["uninstall", "mirror-1"],
        ["list", "--namespace"],
    ]


def test_output_that_is_not_json_is_a_helm_error():
    with pytest.raises(HelmError, match="printed output that is not JSON"):
        Helm("/bin/helm", run=ScriptedHelm((0, "NAME: mirror-1", ""))).status("mirror-1", "ns")


def test_insecure_override_of_a_kubeconfig_needs_helm_3_10():
    kube = {"kubeconfig": "/k", "validate_certs": False}
    old = Helm("/bin/helm", kube, run=ScriptedHelm(version="v3.9.4"))
    with pytest.raises(InputError, match=r"^validate_certs: false together with a kubeconfig needs helm 3.10.0"):
        old.status("r", "ns")
    run = ScriptedHelm((0, "{}", ""), version="v3.10.0")
    Helm("/bin/helm", kube, run=run).status("r", "ns")
    assert "--kube-insecure-skip-tls-verify" in run.calls[0][0]


def test_helm_4_works_with_a_warning():
    run = ScriptedHelm((0, "[]", ""), version="v4.0.0+g1")
    helm = Helm("/bin/helm", run=run)
    assert helm.list_releases() == []
    assert helm.version == (4, 0, 0)
    assert helm.warnings == ["helm 4.0.0 is newer than the helm 3 this collection is tested with"]


def test_unsupported_helm_fails_before_any_command():
    run = ScriptedHelm(version="v3.5.0")
    with pytest.raises(HieroError, match="too old"):
        Helm("/bin/helm", run=run).status("r", "ns")
    assert run.calls == []


# --- runners ----------------------------------------------------------------------------------------------------------


def test_subprocess_runner_passes_argv_verbatim_and_env():
    code = "import json, os, sys; print(json.dumps([sys.argv[1:], os.environ['HELM_X']]))"
    rc, out, _err = subprocess_runner([sys.executable, "-c", code, "a b", "$HOME", "'q'"], {"HELM_X": "y z"})
    assert rc == 0
    assert json.loads(out) == [["a b", "$HOME", "'q'"], "y z"]


def test_module_runner_uses_run_command_with_environ_update():
    class Module:
        def run_command(self, argv, environ_update=None):
            self.seen = (argv, environ_update)
            return 0, "out", "err"

    module = Module()
    assert module_runner(module)(["helm", "list"], {"HELM_KUBETOKEN": "t"}) == (0, "out", "err")
    assert module.seen == (["helm", "list"], {"HELM_KUBETOKEN": "t"})


# --- the real binary --------------------------------------------------------------------------------------------------


def _real_helm():
    try:
        return find_helm()
    except HieroError:
        return None


@pytest.mark.skipif(_real_helm() is None, reason="helm is not installed")
def test_real_helm_receives_set_values_exactly(tmp_path):
    """helm template needs no cluster: render the values we pass and compare them with what we meant."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: probe\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  values: {{ .Values | toJson | quote }}\n"
    )
    meant = {"quoted": 'he said "hi", it\'s = fine', "slashes": "C:\\dir\\", "brace": "{1,2}", "empty": ""}
    with _helm.values_file({"fromfile": {"n": 1}}) as values_path:
        argv = [_real_helm(), "template", "probe", str(chart), "--values", values_path, *_helm.set_string_args(meant)]
        rc, out, err = subprocess_runner(argv, {"HELM_CACHE_HOME": str(tmp_path / "cache")})
    assert rc == 0, err
    rendered = json.loads(yaml.safe_load(out)["data"]["values"])
    assert rendered == {**meant, "fromfile": {"n": 1}}
