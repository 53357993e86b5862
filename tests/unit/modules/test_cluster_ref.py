"""The cluster_ref step: which context it records, how it reports an unreachable cluster, and its plans."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import MaxRetryError, NewConnectionError

from ansible_collections.hiero.solo.plugins.module_utils import _local_config
from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    HELM_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps import cluster_ref as step

SPEC = argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, HELM_ARG_SPEC, step.CLUSTER_REF_ARG_SPEC)


class FakeModule:
    def __init__(self, clients=None, helm=None, check_mode=False, **params):
        self.params = {name: spec.get("default") for name, spec in SPEC.items()}
        self.params.update(params)
        self.check_mode = check_mode
        self.diff_mode = True
        self._clients = clients
        self._helm = helm
        self.warnings: list[str] = []

    def clients(self):
        if self._clients is None:
            self._clients = get_clients(self.params, env={})
        return self._clients

    def helm(self):
        return self._helm

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


def kubeconfig(tmp_path, current="ctx-a"):
    path = tmp_path / "kubeconfig"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
        "contexts": [{"name": n, "context": {"cluster": "c", "user": "u"}} for n in ("ctx-a", "ctx-b")],
        "users": [{"name": "u", "user": {}}],
    }
    if current:
        doc["current-context"] = current
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_the_current_context_is_read_from_a_file_or_a_dict(tmp_path):
    assert step.current_context({"kubeconfig": kubeconfig(tmp_path)}) == "ctx-a"
    assert step.current_context({"kubeconfig": {"current-context": "x"}}) == "x"
    assert step.current_context({"host": "https://api:6443"}) is None
    assert step.current_context({"kubeconfig": str(tmp_path / "missing")}) is None


def test_an_unknown_context_is_an_input_error_naming_context_before_any_write(tmp_path):
    module = FakeModule(
        cluster_ref="one-shot", kubeconfig=kubeconfig(tmp_path), context="nope", solo_home=str(tmp_path)
    )
    with pytest.raises(InputError) as info:
        step.run(module)
    assert info.value.field == "context" and "ctx-a, ctx-b" in info.value.msg
    assert not (tmp_path / "local-config.yaml").exists()


def test_a_kubeconfig_without_current_context_needs_the_context_option(tmp_path):
    module = FakeModule(cluster_ref="one-shot", kubeconfig=kubeconfig(tmp_path, current=None), solo_home=str(tmp_path))
    with pytest.raises(InputError) as info:
        step.run(module)
    assert info.value.field == "context"


class Namespaces:
    def __init__(self, error=None):
        self.error = error

    def list_namespace(self, **kwargs):
        if self.error:
            raise self.error
        return SimpleNamespace(items=[])


def fake_clients(core):
    return SimpleNamespace(core=core, configuration=SimpleNamespace(host="https://api.example:6443"))


def test_an_unreachable_api_server_is_named_in_the_error():
    refused = MaxRetryError(None, "/api/v1/namespaces", NewConnectionError(None, "Connection refused"))
    with pytest.raises(HieroError) as info:
        step.check_reachable(fake_clients(Namespaces(refused)), "one-shot", "kind-x", print)
    assert "https://api.example:6443" in info.value.msg and "not reachable" in info.value.msg
    assert info.value.result["server"] == "https://api.example:6443"


def test_rejected_credentials_are_an_error_but_a_forbidden_list_is_a_warning():
    body = json.dumps({"kind": "Status", "reason": "Unauthorized", "message": "Unauthorized", "code": 401})
    unauthorized = ApiException(status=401, reason="Unauthorized")
    unauthorized.body = body
    with pytest.raises(HieroError) as info:
        step.check_reachable(fake_clients(Namespaces(unauthorized)), "one-shot", "kind-x", print)
    assert "https://api.example:6443" in info.value.msg and "401" in info.value.msg
    warnings = []
    forbidden = ApiException(status=403, reason="Forbidden")
    assert (
        step.check_reachable(fake_clients(Namespaces(forbidden)), "r", "c", warnings.append)
        == "https://api.example:6443"
    )
    assert len(warnings) == 1


def test_connect_records_the_context_and_a_rerun_changes_nothing(tmp_path):
    params = {"cluster_ref": "one-shot", "kubeconfig": kubeconfig(tmp_path), "solo_home": str(tmp_path)}
    module = FakeModule(fake_clients(Namespaces()), **params)
    result = step.run(module)
    assert result["changed"] is True and result["context"] == "ctx-a"
    assert result["ansible_facts"]["hiero_solo_cluster_ref"]["server"] == "https://api.example:6443"
    assert _local_config.read(str(tmp_path))["clusterRefs"] == {"one-shot": "ctx-a"}
    assert "one-shot: ctx-a" in result["diff"]["after"]
    assert step.run(FakeModule(fake_clients(Namespaces()), **params))["changed"] is False

    moved = step.run(FakeModule(fake_clients(Namespaces()), context="ctx-b", **params))
    assert moved["changed"] is True and _local_config.read(str(tmp_path))["clusterRefs"] == {"one-shot": "ctx-b"}


def test_check_mode_connect_writes_nothing(tmp_path):
    module = FakeModule(
        fake_clients(Namespaces()),
        check_mode=True,
        cluster_ref="one-shot",
        kubeconfig=kubeconfig(tmp_path),
        solo_home=str(tmp_path),
    )
    assert step.run(module)["changed"] is True
    assert not (tmp_path / "local-config.yaml").exists()


def test_disconnect_removes_only_its_entry(tmp_path):
    _local_config.mutate(str(tmp_path), lambda doc: doc["clusterRefs"].update({"one-shot": "a", "other": "b"}))
    result = step.run(FakeModule(state="disconnected", cluster_ref="one-shot", solo_home=str(tmp_path)))
    assert result["changed"] is True and result["context"] == "a"
    assert _local_config.read(str(tmp_path))["clusterRefs"] == {"other": "b"}
    assert (
        step.run(FakeModule(state="disconnected", cluster_ref="one-shot", solo_home=str(tmp_path)))["changed"] is False
    )


# ------------------------------------------------------------------------------------------- setup and reset


class Rbac:
    def __init__(self, exists):
        self.exists = exists

    def read_cluster_role(self, name):
        if not self.exists:
            raise ApiException(status=404, reason="Not Found")
        return {"metadata": {"name": name}}


class Core:
    def __init__(self, operator_pods=(), remote_configs=()):
        self.operator_pods = list(operator_pods)
        self.remote_configs = list(remote_configs)
        self.selectors: list[str] = []

    def list_pod_for_all_namespaces(self, label_selector):
        self.selectors.append(label_selector)
        return SimpleNamespace(items=self.operator_pods)

    def list_config_map_for_all_namespaces(self, label_selector):
        items = [
            SimpleNamespace(metadata=SimpleNamespace(namespace=ns, name="solo-remote-config"))
            for ns in self.remote_configs
        ]
        return SimpleNamespace(items=items)


class Helm:
    def __init__(self, release=None):
        self.release = release
        self.calls: list[tuple] = []

    def status(self, release, namespace):
        self.calls.append(("status", release, namespace))
        return self.release


def cluster(rbac_exists, core, context="kind-x"):
    return SimpleNamespace(
        rbac=Rbac(rbac_exists),
        core=core,
        api_client=SimpleNamespace(sanitize_for_serialization=lambda obj: obj),
        configuration=SimpleNamespace(host="https://api"),
    )


def connected_home(tmp_path):
    _local_config.mutate(str(tmp_path), lambda doc: _local_config.set_cluster_ref(doc, "one-shot", "kind-x") and None)
    return str(tmp_path)


def test_setup_plans_the_cluster_role_and_the_operator_release_in_check_mode(tmp_path):
    helm = Helm()
    module = FakeModule(
        cluster(False, Core()),
        helm,
        check_mode=True,
        state="setup",
        cluster_ref="one-shot",
        solo_home=connected_home(tmp_path),
        chart_sources={"minio_operator": {"path": "/charts/operator"}, "relay": {"version": "1.0.0"}},
    )
    result = step.run(module)
    assert result["changed"] is True
    assert result["actions"] == [
        "create ClusterRole pod-monitor-role",
        "install release solo-setup/operator (/charts/operator)",
    ]
    assert module.params["context"] == "kind-x"  # the cluster ref's context, as solo switches to it
    assert helm.calls == [("status", "operator", "solo-setup")]
    assert module._clients.core.selectors == ["app.kubernetes.io/name=operator,operator=leader"]


def test_setup_uses_a_running_operator_of_any_release_and_changes_nothing(tmp_path):
    pod = SimpleNamespace(
        metadata=SimpleNamespace(
            namespace="minio", labels={"app.kubernetes.io/instance": "my-operator", "app.kubernetes.io/version": "v7"}
        )
    )
    helm = Helm()
    module = FakeModule(
        cluster(True, Core([pod])), helm, state="setup", cluster_ref="one-shot", solo_home=connected_home(tmp_path)
    )
    result = step.run(module)
    assert result["changed"] is False and result["actions"] == []
    assert result["minio_operator"] == {
        "release": "my-operator",
        "namespace": "minio",
        "version": "v7",
        "found_by": "pod",
    }
    assert helm.calls == []  # found by its pod; no Lease was needed either
    assert "my-operator" in module.warnings[0]


def test_setup_needs_a_connected_cluster_ref_or_a_context(tmp_path):
    with pytest.raises(InputError) as info:
        step.run(FakeModule(state="setup", cluster_ref="one-shot", solo_home=str(tmp_path)))
    assert info.value.field == "cluster_ref" and "not connected" in info.value.msg


def test_a_bad_minio_chart_source_fails_before_anything_else(tmp_path):
    module = FakeModule(
        state="setup", cluster_ref="one-shot", solo_home=str(tmp_path), chart_sources={"minio_operator": {"oci": "x"}}
    )
    with pytest.raises(InputError) as info:
        step.run(module)
    assert info.value.field == "chart_sources.minio_operator.oci"


def test_reset_leaves_a_cluster_shared_with_other_deployments_alone_unless_forced(tmp_path):
    home = connected_home(tmp_path)
    module = FakeModule(
        cluster(True, Core(remote_configs=["other"])), Helm(), state="reset", cluster_ref="one-shot", solo_home=home
    )
    result = step.run(module)
    assert result["changed"] is False and result["shared_with"] == ["other/solo-remote-config"]
    assert "force=true" in module.warnings[0]

    forced = FakeModule(
        cluster(True, Core(remote_configs=["other"])),
        Helm({"chart": {"metadata": {"version": "7.1.1"}}}),
        check_mode=True,
        state="reset",
        cluster_ref="one-shot",
        solo_home=home,
        force=True,
    )
    result = step.run(forced)
    assert result["changed"] is True
    assert result["actions"] == ["uninstall release solo-setup/operator", "delete ClusterRole pod-monitor-role"]


def test_wait_for_is_refused_for_the_local_only_states(tmp_path):
    with pytest.raises(InputError) as info:
        step.run(FakeModule(cluster_ref="one-shot", run_id="r", wait_for=["x"], solo_home=str(tmp_path)))
    assert info.value.field == "wait_for"


def test_a_failed_operator_release_is_installed_again(tmp_path):
    helm = Helm({"info": {"status": "failed"}, "chart": {"metadata": {"version": "7.1.1"}}})
    module = FakeModule(
        cluster(True, Core()),
        helm,
        check_mode=True,
        state="setup",
        cluster_ref="one-shot",
        solo_home=connected_home(tmp_path),
    )
    result = step.run(module)
    assert result["changed"] is True
    assert result["actions"] == [
        "install release solo-setup/operator (operator from https://operator.min.io/ version 7.1.1)"
    ]
