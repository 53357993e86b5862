"""HieroModule (plugins/module_utils/_module.py) running a tiny module through the real AnsibleModule, with
ansible-core's patch_module_args; results are read back from the JSON the module prints."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import datetime

import kubernetes
import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hiero.solo.plugins.module_utils import _module
from ansible_collections.hiero.solo.plugins.module_utils._args import AUTH_ARG_SPEC, HELM_ARG_SPEC, argspec
from ansible_collections.hiero.solo.plugins.module_utils._errors import DependencyMissing, InputError
from ansible_collections.hiero.solo.plugins.module_utils._module import HieroModule, kubeconfig_secrets

SPEC = argspec(AUTH_ARG_SPEC, HELM_ARG_SPEC, name={"type": "str", "default": "one-shot"})
SECRET = "s3cr3t-bearer-token-value"


def kubeconfig_with_secrets():
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:18080"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "users": [
            {"name": "u", "user": {"token": SECRET, "client-key-data": "S0VZLURBVEE="}},
            {"name": "oidc", "user": {"auth-provider": {"name": "oidc", "config": {"refresh-token": "refresh-me"}}}},
            {
                "name": "aws",
                "user": {"exec": {"command": "aws", "env": [{"name": "AWS_SECRET_ACCESS_KEY", "value": "aws-key"}]}},
            },
        ],
    }


def run_module(capsys, args, step, module_class=HieroModule, **module_kwargs):
    """Run `step` as the body of a module; return (exit code, parsed result)."""
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        module = module_class(argument_spec=SPEC, **module_kwargs)
        module.execute(step)
    output = capsys.readouterr().out
    return exit_info.value.code, json.loads(output.strip().splitlines()[-1])


def test_exit_path_reports_result_and_timings(capsys):
    code, result = run_module(
        capsys, {"name": "n1"}, lambda m: {"changed": True, "hiero_solo_x": {"n": m.params["name"]}}
    )
    assert code == 0
    assert result["changed"] is True
    assert result["hiero_solo_x"] == {"n": "n1"}
    started, finished = (datetime.fromisoformat(result[k]) for k in ("started", "finished"))
    assert started <= finished
    assert "failed" not in result


def test_check_and_diff_mode_are_visible(capsys):
    _code, result = run_module(
        capsys,
        {"_ansible_check_mode": True, "_ansible_diff": True},
        lambda m: {"changed": False, "modes": [m.check_mode, m.diff_mode]},
    )
    assert result["modes"] == [True, True]


def test_hiero_error_becomes_fail_json_with_partial_result(capsys):
    def step(module):
        raise InputError("name", "expected an RFC 1123 label, got 'A_B'", hiero_solo_x={"planned": 1}, changed=True)

    code, result = run_module(capsys, {}, step)
    assert code == 1
    assert result["failed"] is True
    assert result["msg"] == "name: expected an RFC 1123 label, got 'A_B'"
    assert result["hiero_solo_x"] == {"planned": 1}
    assert result["changed"] is True


def test_unexpected_exception_names_its_type(capsys):
    def step(module):
        raise ValueError("boom")

    code, result = run_module(capsys, {}, step)
    assert code == 1
    assert result["msg"] == "ValueError: boom"
    assert result["changed"] is False


def test_missing_python_library_uses_ansible_wording(capsys):
    def step(module):
        raise DependencyMissing("hiero-sdk-python", "to create accounts")

    _code, result = run_module(capsys, {}, step)
    assert result["msg"].startswith("Failed to import the required Python library (hiero-sdk-python) on ")
    assert "This is required to create accounts." in result["msg"]


def test_missing_helm_is_reported_as_is(capsys, tmp_path):
    _code, result = run_module(capsys, {"helm_binary": str(tmp_path / "no-helm")}, lambda m: m.helm() and {})
    assert result["msg"] == f"helm_binary: {tmp_path / 'no-helm'} is not an executable file"


def test_dict_kubeconfig_secrets_never_reach_the_output(capsys):
    def step(module):
        return {"changed": False, "echo": f"token={SECRET}", "key": "aws-key"}

    _code, result = run_module(capsys, {"kubeconfig": kubeconfig_with_secrets()}, step)
    text = json.dumps(result)
    for secret in (SECRET, "S0VZLURBVEE=", "refresh-me", "aws-key"):
        assert secret not in text
    assert result["echo"] == "token=********"
    masked = result["invocation"]["module_args"]["kubeconfig"]["users"][0]["user"]["token"]
    assert masked in ("********", "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER")


def test_kubeconfig_secrets_are_credentials_only():
    assert kubeconfig_secrets(kubeconfig_with_secrets()) == {SECRET, "S0VZLURBVEE=", "refresh-me", "aws-key"}
    assert kubeconfig_secrets({"users": [{"user": {"token": ""}}], "clusters": [{"cluster": {"server": "x"}}]}) == set()


def test_clients_are_built_once_from_the_auth_options(capsys):
    def step(module):
        first, second = module.clients(), module.clients()
        return {"same": first is second, "host": first.core.api_client.configuration.host}

    _code, result = run_module(capsys, {"host": "http://127.0.0.1:18080", "api_key": "long-test-token"}, step)
    assert (result["same"], result["host"]) == (True, "http://127.0.0.1:18080")


def test_helm_runs_through_run_command_and_its_warnings_reach_the_result(capsys, tmp_path):
    helm = tmp_path / "helm"
    helm.write_text("#!/bin/sh\necho v4.1.0+gabcdef\n")
    helm.chmod(0o755)

    def step(module):
        return {"version": list(module.helm().version)}

    _code, result = run_module(capsys, {"helm_binary": str(helm)}, step)
    assert result["version"] == [4, 1, 0]
    # ansible-core 2.19 returns warnings as WarningSummary objects; older cores as plain strings
    warnings = [w if isinstance(w, str) else w["event"]["msg"] for w in result["warnings"]]
    assert warnings == ["helm 4.1.0 is newer than the helm 3 this collection is tested with"]


def load_module_without_kubernetes(monkeypatch):
    """A fresh copy of _module imported while `import kubernetes` fails, as on a controller without it."""
    monkeypatch.setitem(sys.modules, "kubernetes", None)
    spec = importlib.util.spec_from_file_location("hiero_module_without_kubernetes", _module.__file__)
    copy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(copy)
    return copy


def test_missing_kubernetes_library_fails_with_missing_required_lib(capsys, monkeypatch):
    copy = load_module_without_kubernetes(monkeypatch)
    assert copy.HAS_KUBERNETES is False
    code, result = run_module(capsys, {}, lambda m: {"ran": True}, module_class=copy.HieroModule)
    assert code == 1
    assert result["msg"].startswith("Failed to import the required Python library (kubernetes>=24.2.0) on ")
    assert "This is required to talk to the Kubernetes API." in result["msg"]
    assert "ran" not in result


def test_modules_that_do_not_need_kubernetes_still_run_without_it(capsys, monkeypatch):
    copy = load_module_without_kubernetes(monkeypatch)
    code, result = run_module(
        capsys, {}, lambda m: {"ran": True}, module_class=copy.HieroModule, requires_kubernetes=False
    )
    assert (code, result["ran"]) == (0, True)


def test_too_old_kubernetes_library_is_refused(capsys, monkeypatch):
    monkeypatch.setattr(kubernetes, "__version__", "12.0.1")
    code, result = run_module(capsys, {}, lambda m: {"ran": True})
    assert code == 1
    assert result["msg"].endswith("Found kubernetes 12.0.1.")
