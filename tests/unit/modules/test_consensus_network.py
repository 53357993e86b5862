"""The consensus_network step's rules: the release values solo sets, the remote config it converges to, the install
retries, and what counts as already deployed."""

from __future__ import annotations

import copy
import json
from types import SimpleNamespace

import pytest

from ansible_collections.hiero.solo.plugins.module_utils import _keys, _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    HELM_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HelmError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._helm import ChartSource
from ansible_collections.hiero.solo.plugins.module_utils._steps import _workloads as wl
from ansible_collections.hiero.solo.plugins.module_utils._steps import consensus_network as step
from tests.unit.module_utils.fakes import RemoteConfigApi, status_error

NS = "one-shot"


def _doc(aliases=("node1",)):
    return _remote_config.new_document("one-shot", NS, "one-shot", node_aliases=list(aliases))


def _values(aliases=("node1",), minio=True, section=None, doc=None, tss=False, **kw):
    return step.desired_values(
        list(aliases),
        namespace=NS,
        realm=kw.pop("realm", 0),
        shard=kw.pop("shard", 0),
        minio=minio,
        section=section or {},
        doc=doc or _doc(aliases),
        tss=tss,
        **kw,
    )


# ---------------------------------------------------------------------------------------------------------------
# values


def test_values_carry_the_node_list_solo_sets():
    values = _values(("node1", "node2", "node3"), realm=2, shard=1)
    assert values["hedera"]["nodes"] == [
        {"name": "node1", "nodeId": 0, "accountId": "1.2.3"},
        {"name": "node2", "nodeId": 1, "accountId": "1.2.4"},
        {"name": "node3", "nodeId": 2, "accountId": "1.2.5"},
    ]
    assert values["cloud"] == {"minio": {"enabled": True}, "generateNewSecrets": True}
    assert values["defaults"]["volumeClaims"] == {"enabled": False}
    assert values["crds"] == {"serviceMonitor": {"enabled": False}, "podLog": {"enabled": False}}
    assert values["defaults"]["haproxy"]["maxconn"] == 1024, "solo-values.yaml is the base"


def test_without_minio_the_uploaders_are_off():
    values = _values(minio=False)
    assert values["cloud"] == {"minio": {"enabled": False}, "generateNewSecrets": False}
    sidecars = values["defaults"]["sidecars"]
    assert {name: entry["enabled"] for name, entry in sidecars.items()} == {
        "recordStreamUploader": False,
        "eventStreamUploader": False,
        "blockstreamUploader": False,
    }


def test_section_flags_become_set_values():
    section = {
        "pvcs": True,
        "load_balancer": True,
        "haproxy_ips": "node2=10.0.0.2",
        "network_node_ips": "node1=10.1.0.1",
    }
    values = _values(("node1", "node2"), section=section)
    assert values["defaults"]["volumeClaims"]["enabled"] is True
    assert values["defaults"]["haproxy"]["service"] == {"type": "LoadBalancer"}
    assert values["hedera"]["nodes"][1]["haproxyStaticIP"] == "10.0.0.2"
    assert values["hedera"]["nodes"][0]["networkNodeStaticIP"] == "10.1.0.1"


def test_a_static_ip_for_an_unknown_node_is_refused():
    with pytest.raises(InputError, match=r"params.haproxy_ips: 'node9' is not one of the nodes node1"):
        _values(section={"haproxy_ips": "node9=1.2.3.4"})


def test_user_values_files_sit_between_the_profile_and_the_set_flags():
    user = {
        "hedera": {"nodes": [{"name": "x", "nodeId": 0, "accountId": "0.0.3", "root": {"resources": {}}}]},
        "cloud": {"minio": {"enabled": False}},
    }
    values = _values(user_values=[user])
    assert values["hedera"]["nodes"][0]["name"] == "node1", "--set hedera.nodes[0].name wins over the file"
    assert values["hedera"]["nodes"][0]["root"] == {"resources": {}}, "the file's node entry is kept"
    assert values["cloud"]["minio"]["enabled"] is True, "solo's --set wins"


def test_nodes_with_a_block_node_get_their_block_nodes_json():
    doc = _doc(("node1", "node2"))
    _remote_config.add_component(doc, "blockNodes", _remote_config.new_component("blockNodes", 1, NS, "one-shot"))
    _remote_config.update_component(doc, "consensusNodes", 1, blockNodeMap=[[1, 1]])
    values = _values(("node1", "node2"), doc=doc, tss=True)
    nodes = values["hedera"]["nodes"]
    assert "blockNodesJson" not in nodes[1]
    assert json.loads(nodes[0]["blockNodesJson"]) == {
        "nodes": [
            {
                "address": "block-node-1.one-shot.svc.cluster.local",
                "streamingPort": 40840,
                "servicePort": 40840,
                "priority": 1,
                "messageSizeSoftLimitBytes": 4194304,
                "messageSizeHardLimitBytes": 37748736,
            }
        ]
    }


def test_tss_needs_the_flag_and_a_recent_consensus_node():
    assert step.tss_enabled(True, "v0.75.1")
    assert not step.tss_enabled(True, "v0.73.0")
    assert not step.tss_enabled(False, "v0.75.1")


def test_merge_and_set_follow_helm():
    merged = wl.merge_values({"a": {"b": 1, "c": [1, 2]}, "d": 1}, {"a": {"c": [3]}, "d": None})
    assert merged == {"a": {"b": 1, "c": [3]}}
    values = wl.set_value({}, "x.list[2].name", "n")
    assert values == {"x": {"list": [None, None, {"name": "n"}]}}


# ---------------------------------------------------------------------------------------------------------------
# remote config


def _after(doc, aliases=("node1",), reset=False, tag="v0.75.1"):
    return step.desired_document(
        copy.deepcopy(doc),
        namespace=NS,
        aliases=list(aliases),
        release_tag=tag,
        chart_version="0.66.0",
        tss=True,
        reset_phases=reset,
    )


def test_the_deploy_adds_one_haproxy_and_one_envoy_per_node_and_the_versions():
    doc = _after(_doc(("node1", "node2")), ("node1", "node2"))
    state = doc["state"]
    for kind in ("haProxies", "envoyProxies"):
        assert [c["metadata"] for c in state[kind]] == [
            {"id": 1, "namespace": NS, "cluster": "one-shot", "phase": "deployed"},
            {"id": 2, "namespace": NS, "cluster": "one-shot", "phase": "deployed"},
        ]
        assert state["componentIds"][kind] == 3
    assert doc["versions"]["consensusNode"] == "0.75.1"
    assert doc["versions"]["chart"] == "0.66.0"
    assert state["tssEnabled"] is True
    assert doc["history"]["lastExecutedCommand"] == "consensus network deploy"


def test_the_remote_config_is_a_fixed_point():
    once = _after(_doc())
    assert _after(once) == once, "a re-run must not change (or re-stamp) the document"


def test_a_reinstall_sends_configured_nodes_back_to_requested():
    doc = _after(_doc())
    _remote_config.set_phase(doc, "consensusNodes", 1, "started")
    assert _after(doc, reset=False)["state"]["consensusNodes"][0]["metadata"]["phase"] == "started"
    assert _after(doc, reset=True)["state"]["consensusNodes"][0]["metadata"]["phase"] == "requested"


# ---------------------------------------------------------------------------------------------------------------
# helm


SOURCE = ChartSource("oci", "oci://ghcr.io/hashgraph/solo-charts/solo-deployment", version="0.66.0")


def _status(state="deployed", version="0.66.0"):
    return {
        "name": "solo-deployment",
        "info": {"status": state},
        "chart": {"metadata": {"version": version}},
        "version": 1,
    }


def test_only_a_deployed_release_with_the_same_values_and_chart_counts_as_done():
    values = {"a": 1}
    assert step.release_matches(_status(), {"a": 1}, values, SOURCE)
    assert not step.release_matches(_status(), {"a": 2}, values, SOURCE)
    assert not step.release_matches(_status(state="failed"), {"a": 1}, values, SOURCE)
    assert not step.release_matches(_status(version="0.65.0"), {"a": 1}, values, SOURCE)
    assert not step.release_matches(None, None, values, SOURCE)


class FlakyHelm:
    def __init__(self, failures: int):
        self.failures = failures
        self.calls: list[str] = []

    def upgrade_install(self, release, source, namespace, values_files=()):
        self.calls.append("install")
        with open(values_files[0]) as handle:
            assert json.load(handle) == {"a": 1}
        if self.failures:
            self.failures -= 1
            raise HelmError(
                "helm upgrade --install failed (exit 1): Error: timed out waiting for the condition",
                rc=1,
                stderr="boom",
            )
        return _status()

    def uninstall(self, release, namespace, wait=False):
        self.calls.append("uninstall")
        return True


def _install(helm, attempts=3):
    sleeps, checks, warnings = [], [], []
    result = step.install_with_retries(
        helm,
        SOURCE,
        NS,
        {"a": 1},
        attempts=attempts,
        delay_s=15,
        check=lambda: checks.append(1),
        warn=warnings.append,
        sleep=sleeps.append,
    )
    return result, sleeps, checks, warnings


def test_install_retries_as_solo_three_times_fifteen_seconds_apart_uninstalling_between():
    helm = FlakyHelm(failures=2)
    result, sleeps, checks, warnings = _install(helm)
    assert result["info"]["status"] == "deployed"
    assert helm.calls == ["install", "uninstall", "install", "uninstall", "install"]
    assert sleeps == [15, 15]
    assert len(checks) == 3, "the lease is checked before every attempt"
    assert len(warnings) == 2


def test_install_gives_up_naming_the_release_and_helms_error():
    with pytest.raises(HelmError) as caught:
        _install(FlakyHelm(failures=5))
    assert "release one-shot/solo-deployment" in caught.value.msg
    assert "after 3 attempt(s)" in caught.value.msg
    assert "timed out waiting for the condition" in caught.value.msg
    assert caught.value.stderr == "boom"


def test_aliases_are_checked():
    assert step.check_aliases(["node1", "node2"]) == ["node1", "node2"]
    with pytest.raises(InputError, match="node_aliases"):
        step.check_aliases([])
    with pytest.raises(InputError, match="listed twice"):
        step.check_aliases(["node1", "node1"])


# ---------------------------------------------------------------------------------------------------------------
# check mode: the plan, and nothing written


class _SecretsApi(RemoteConfigApi):
    """The ConfigMap fake plus a Secrets surface with no Secrets (a fresh deployment)."""

    def read_namespaced_secret(self, name, namespace, **_kw):
        self._count("read_secret")
        raise status_error(404, "NotFound", f'secrets "{name}" not found')

    def create_namespaced_secret(self, *args, **kwargs):
        raise AssertionError("check mode must not write")

    replace_namespaced_secret = create_namespaced_secret


class _PlanOnlyHelm:
    def __init__(self):
        self.calls: list[str] = []

    def status(self, release, namespace):
        self.calls.append(f"status {release}")
        return None

    def get_values(self, release, namespace, all_values=False):
        raise AssertionError("no release, no values to read")

    def upgrade_install(self, *args, **kwargs):
        raise AssertionError("check mode must not install")


SPEC = argspec(
    AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, HELM_ARG_SPEC, step.CONSENSUS_NETWORK_ARG_SPEC
)


class _Module:
    def __init__(self, core, helm, **params):
        self.params = {name: spec.get("default") for name, spec in SPEC.items()}
        self.params.update(params)
        self.check_mode, self.diff_mode = True, True
        self._core, self._helm = core, helm
        self.warnings: list[str] = []

    def clients(self):
        return SimpleNamespace(core=self._core)

    def helm(self):
        return self._helm

    def warn(self, msg):
        self.warnings.append(msg)


def test_check_mode_plans_secrets_release_and_remote_config_and_writes_nothing(tmp_path):
    keys_dir = tmp_path / "keys"
    _keys.write_keys(str(keys_dir), _keys.generate_node_keys("node1"))
    api = _SecretsApi()
    api.seed(NS, _remote_config.dumps(_doc()))
    helm = _PlanOnlyHelm()
    module = _Module(
        api,
        helm,
        namespace=NS,
        node_aliases=["node1"],
        release_tag="v0.75.1",
        keys_dir=str(keys_dir),
        params={"pvcs": True, "jfr_config": "x"},
        run_id="run-1",
    )
    result = step.run(module)
    assert result["changed"] is True
    assert result["actions"] == [
        "write Secret one-shot/network-node1-keys-secrets",
        "write Secret one-shot/network-node-hapi-app-secrets",
        "install release one-shot/solo-deployment (oci://ghcr.io/hashgraph/solo-charts/solo-deployment version 0.66.0)",
        "update remote config one-shot/solo-remote-config",
    ]
    assert api.writes == [] and helm.calls == ["status solo-deployment"]
    assert module.warnings == ["params: not applied by hiero.solo.consensus_network: jfr_config"]
    values_diff, doc_diff = result["diff"]
    assert '"enabled": true' in values_diff["after"] or "enabled: true" in values_diff["after"]
    assert "haProxies" in doc_diff["after"]
    fact = result["ansible_facts"]["hiero_solo_consensus_network"]
    assert fact["secrets"] == ["network-node-hapi-app-secrets", "network-node1-keys-secrets"]
    assert "PRIVATE KEY" not in str(result), "no key material in the result"
