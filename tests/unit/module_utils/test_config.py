"""The fact store (hiero.solo.config): every validation, default, precedence and translation rule."""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils._config import (
    MAX_CONSENSUS_NODES,
    SECTIONS,
    STEPS_ORDER,
    build_config,
    explorer_ingress_release_name,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError

HOME = "/home/tester"
BASE_ENV = {"HOME": HOME}

# Shaped like upstream's examples/one-shot-falcon/falcon-values.yaml (solo 0.87.1), with its ${...} placeholders
# substituted as its Taskfile does, and the older example's different setup tag (v0.71.0) kept on purpose.
FALCON_VALUES = """\
# One-Shot Falcon Deployment Configuration
network:
  --api-permission-properties: ""
  --app: ""
  --application-env: ""
  --application-properties: ""
  --bootstrap-properties: ""
  --genesis-throttles-file: ""
  --cache-dir: ""
  --chain-id: ""
  --chart-dir: ""
  --solo-chart-version: ""
  --debug-node-alias: ""
  --load-balancer: false
  --log4j2-xml: ""
  --pvcs: false
  --quiet-mode: false
  --release-tag: "v0.65.0"
  --settings-txt: ""
  --values-file: ""
  --grpc-tls-certificate-path: ""
  --grpc-web-tls-certificate-path: ""
  --grpc-tls-key-path: ""
  --grpc-web-tls-key-path: ""
  --haproxy-ips: ""
  --envoy-ips: ""
  --storage-type: ""
  --gcs-write-access-key: ""
  --gcs-write-secrets: ""
  --gcs-endpoint: ""
  --gcs-bucket: ""
  --gcs-bucket-prefix: ""
  --aws-write-access-key: ""
  --aws-write-secrets: ""
  --aws-endpoint: ""
  --aws-bucket: ""
  --aws-bucket-region: ""
  --aws-bucket-prefix: ""
  --backup-bucket: ""
  --backup-write-access-key: ""
  --backup-write-secrets: ""
  --backup-endpoint: ""
  --backup-region: ""
  --backup-provider: ""
  --domain-names: ""
  --service-monitor: false
  --pod-log: false

setup:
  --cache-dir: ""
  --release-tag: "v0.71.0"
  --app: ""
  --app-config: ""
  --quiet-mode: false
  --dev: false
  --local-build-path: ""
  --admin-public-keys: ""
  --domain-names: ""

consensusNode:
  --app: ""
  --quiet-mode: false
  --debug-node-alias: ""
  --state-file: ""
  --stake-amounts: ""
  --force-port-forward: true
  --external-address: ""

mirrorNode:
  --cache-dir: ""
  --chart-dir: ""
  --mirror-node-version: ""
  --values-file: ""
  --enable-ingress: true
  --ingress-controller-value-file: ""
  --mirror-static-ip: ""
  --domain-name: ""
  --force-port-forward: true
  --external-address: ""
  --quiet-mode: false
  --pinger: true
  --operator-id: ""
  --operator-key: ""
  --use-external-database: false
  --external-database-host: ""
  --external-database-owner-username: ""
  --external-database-owner-password: ""
  --external-database-readonly-username: ""
  --external-database-readonly-password: ""
  --storage-type: ""
  --storage-read-access-key: ""
  --storage-read-secrets: ""
  --storage-endpoint: ""
  --storage-bucket: ""
  --storage-bucket-prefix: ""
  --storage-bucket-region: ""

relayNode:
  --cache-dir: ""
  --chart-dir: ""
  --relay-release: ""
  --values-file: ""
  --node-aliases: ""
  --replica-count: 1
  --chain-id: ""
  --domain-name: ""
  --operator-id: ""
  --operator-key: ""
  --force-port-forward: true
  --external-address: ""
  --quiet-mode: false
  --mirror-node-id: null
  --mirror-namespace: ""

blockNode:
  --chart-dir: ""
  --block-node-chart-version: ""
  --release-tag: "0.65.0"
  --image-tag: ""
  --values-file: ""
  --enable-ingress: false
  --domain-name: ""
  --dev: false
  --quiet-mode: false

explorerNode:
  --cache-dir: ""
  --chart-dir: ""
  --solo-chart-version: ""
  --explorer-version: ""
  --values-file: ""
  --enable-ingress: true
  --ingress-controller-value-file: ""
  --domain-name: ""
  --enable-explorer-tls: false
  --explorer-tls-host-name: "explorer.solo.local"
  --tls-cluster-issuer-type: "self-signed"
  --explorer-static-ip: ""
  --cluster-setup-namespace: ""
  --force-port-forward: true
  --external-address: ""
  --quiet-mode: false
  --mirror-node-id: null
  --mirror-namespace: ""
"""


class Files:
    """The controller's files as build_config reaches them: a dict of path -> text, nothing else exists."""

    def __init__(self, files: dict[str, str] | None = None):
        self.files = dict(files or {})
        self.read: list[str] = []

    def read_file(self, path: str) -> str:
        self.read.append(path)
        if path not in self.files:
            raise FileNotFoundError(path)
        return self.files[path]

    def exists(self, path: str) -> bool:
        return path in self.files


def plan(params: dict[str, Any] | None = None, env: dict[str, str] | None = None, files: Files | None = None) -> dict:
    files = files or Files()
    return build_config(
        params or {},
        env={**BASE_ENV, **(env or {})},
        read_file=files.read_file,
        path_exists=files.exists,
        cwd="/work/play",
        new_run_id=lambda: "run-1",
    )


def falcon(text: str = FALCON_VALUES, **params: Any) -> dict:
    return plan({"values_file": "/work/play/falcon.yaml", **params}, files=Files({"/work/play/falcon.yaml": text}))


def edited(**sections: dict[str, Any]) -> str:
    """FALCON_VALUES with some keys of some sections replaced."""
    document = yaml.safe_load(FALCON_VALUES)
    for section, entries in sections.items():
        document.setdefault(section, {}).update(entries)
    return yaml.safe_dump(document)


# ---------------------------------------------------------------------------------------------------------------
# Defaults


def test_defaults_are_upstreams_single_deploy():
    config = plan()
    assert (config["deployment"], config["namespace"], config["cluster_ref"]) == ("one-shot",) * 3
    assert config["context"] is None
    assert config["num_consensus_nodes"] == 1
    assert config["node_aliases"] == ["node1"]
    assert config["run_id"] == "run-1"
    assert config["parallel"] is True
    assert config["solo_home"] == f"{HOME}/.solo"
    assert config["cache_dir"] == f"{HOME}/.solo/cache"
    assert config["output_dir"] == f"{HOME}/.solo/one-shot-one-shot"
    assert config["values_file"] is None
    assert config["solo_config_file"] is None
    assert config["versions"] == {
        "consensus_node": "v0.75.1",
        "solo_chart": "0.66.0",
        "mirror_node": "v0.160.0",
        "explorer": "26.2.0",
        "relay": "0.78.1",
        "block_node": "0.39.0",
        "minio_operator": "7.1.1",
        "ingress_controller": "0.14.5",
    }
    assert set(config["version_sources"].values()) == {"default"}
    assert config["toggles"] == {
        "deploy_mirror_node": True,
        "deploy_explorer": True,
        "deploy_relay": True,
        "deploy_block_node": False,
        "pinger": False,  # single deploy: --pinger defaults to false
    }


def test_namespace_defaults_to_the_deployment_and_output_dir_follows_it():
    config = plan({"deployment": "falcon"})
    assert config["namespace"] == "falcon"
    assert config["output_dir"] == f"{HOME}/.solo/one-shot-falcon"
    assert config["steps"]["deployment"]["namespace"] == "falcon"
    assert plan({"deployment": "falcon", "namespace": "other"})["namespace"] == "other"


def test_solo_home_and_cache_come_from_the_environment_or_the_option():
    config = plan(env={"SOLO_HOME": "/srv/solo", "SOLO_CACHE_DIR": "/var/cache/solo"})
    assert config["solo_home"] == "/srv/solo"
    assert config["cache_dir"] == "/var/cache/solo"
    assert config["output_dir"] == "/srv/solo/one-shot-one-shot"
    assert config["steps"]["keys"]["keys_dir"] == "/var/cache/solo/keys"
    config = plan({"solo_home": "~/elsewhere", "output_dir": "out"}, env={"SOLO_HOME": "/srv/solo"})
    assert config["solo_home"] == f"{HOME}/elsewhere"
    assert config["cache_dir"] == f"{HOME}/elsewhere/cache"
    assert config["output_dir"] == "/work/play/out"  # relative paths start at the working directory


def test_run_id_is_kept_when_given_and_a_fresh_uuid_otherwise():
    assert plan({"run_id": "4711"})["run_id"] == "4711"
    assert plan({"run_id": 4711})["run_id"] == "4711"  # AWX's awx_job_id is an integer
    first = build_config({}, env=BASE_ENV, cwd="/nonexistent", path_exists=lambda _p: False)["run_id"]
    second = build_config({}, env=BASE_ENV, cwd="/nonexistent", path_exists=lambda _p: False)["run_id"]
    assert uuid.UUID(first).version == 4
    assert first != second


def test_node_aliases_follow_the_node_count():
    config = plan({"num_consensus_nodes": 3})
    assert config["node_aliases"] == ["node1", "node2", "node3"]
    assert config["steps"]["keys"]["node_aliases"] == ["node1", "node2", "node3"]
    # hazard H5: the relay talks to every consensus node, not only node1
    assert config["steps"]["relay"]["params"]["node_aliases"] == ["node1", "node2", "node3"]
    assert config["steps"]["deployment"]["num_consensus_nodes"] == 3
    assert len(plan({"num_consensus_nodes": MAX_CONSENSUS_NODES})["node_aliases"]) == MAX_CONSENSUS_NODES


# ---------------------------------------------------------------------------------------------------------------
# Versions: v prefix and precedence


@pytest.mark.parametrize(
    ("option", "component", "given", "expected"),
    [
        ("consensus_node_version", "consensus_node", "0.75.2", "v0.75.2"),
        ("consensus_node_version", "consensus_node", "v0.76.0-rc.1", "v0.76.0-rc.1"),
        ("consensus_node_version", "consensus_node", " v0.75 ", "v0.75.0"),
        ("solo_chart_version", "solo_chart", "v0.67.0", "0.67.0"),
        ("mirror_node_version", "mirror_node", "0.161.0", "v0.161.0"),
        ("explorer_version", "explorer", "v26.3.0", "26.3.0"),
        ("relay_version", "relay", "v0.79.0", "0.79.0"),
        ("block_node_version", "block_node", "v0.40.0+build.7", "0.40.0+build.7"),
        ("minio_operator_version", "minio_operator", "v7.1.2", "7.1.2"),
        ("ingress_controller_version", "ingress_controller", "0.15.0", "0.15.0"),
    ],
)
def test_versions_take_the_v_prefix_each_component_expects(option, component, given, expected):
    config = plan({option: given})
    assert config["versions"][component] == expected
    assert config["version_sources"][component] == "option"


def test_chart_versions_never_carry_a_v():
    config = plan({"mirror_node_version": "v0.161.0"})
    assert config["chart_sources"]["mirror_node"]["version"] == "0.161.0"
    assert config["steps"]["mirror_node"]["version"] == "v0.161.0"
    assert config["steps"]["mirror_node"]["releases"]["mirror_node"]["chart_source"]["version"] == "0.161.0"


def test_environment_changes_the_default():
    config = plan(env={"MIRROR_NODE_VERSION": "0.170.0", "SOLO_CHART_VERSION": "v0.70.0"})
    assert config["versions"]["mirror_node"] == "v0.170.0"
    assert config["versions"]["solo_chart"] == "0.70.0"
    assert config["version_sources"]["mirror_node"] == "environment"


VERSION_KEYS = [
    # (section, token, value in file, option, component, normalised from file)
    ("network", "--consensus-node-version", "0.70.0", "consensus_node_version", "consensus_node", "v0.70.0"),
    ("network", "--release-tag", "v0.70.0", "consensus_node_version", "consensus_node", "v0.70.0"),
    ("network", "--solo-chart-version", "v0.65.0", "solo_chart_version", "solo_chart", "0.65.0"),
    ("mirrorNode", "--mirror-node-version", "0.150.0", "mirror_node_version", "mirror_node", "v0.150.0"),
    ("explorerNode", "--explorer-version", "v25.1.0", "explorer_version", "explorer", "25.1.0"),
    ("relayNode", "--relay-version", "0.70.0", "relay_version", "relay", "0.70.0"),
    ("relayNode", "--relay-release", "v0.70.0", "relay_version", "relay", "0.70.0"),
    ("blockNode", "--block-node-version", "0.30.0", "block_node_version", "block_node", "0.30.0"),
    ("blockNode", "--chart-version", "0.30.0", "block_node_version", "block_node", "0.30.0"),
    ("blockNode", "--block-node-chart-version", "v0.30.0", "block_node_version", "block_node", "0.30.0"),
]


@pytest.mark.parametrize(("section", "token", "value", "option", "component", "normalised"), VERSION_KEYS)
def test_values_file_version_beats_the_default(section, token, value, option, component, normalised):
    document = {section: {token: value}}
    config = falcon(yaml.safe_dump(document))
    assert config["versions"][component] == normalised
    assert config["version_sources"][component] == "values_file"


@pytest.mark.parametrize(("section", "token", "value", "option", "component", "normalised"), VERSION_KEYS)
def test_explicit_option_beats_the_values_file(section, token, value, option, component, normalised):
    config = falcon(yaml.safe_dump({section: {token: value}}), **{option: "9.9.9"})
    assert config["versions"][component] in ("9.9.9", "v9.9.9")
    assert config["version_sources"][component] == "option"


def test_values_file_beats_the_environment():
    assert plan(env={"MIRROR_NODE_VERSION": "0.170.0"})["versions"]["mirror_node"] == "v0.170.0"
    files = Files({"/v.yaml": yaml.safe_dump({"mirrorNode": {"--mirror-node-version": "0.150.0"}})})
    config = plan({"values_file": "/v.yaml"}, env={"MIRROR_NODE_VERSION": "0.170.0"}, files=files)
    assert config["versions"]["mirror_node"] == "v0.150.0"


def test_solo_config_file_is_found_upwards_and_sits_between_option_and_values_file():
    files = Files(
        {
            "/work/solo.config.yaml": "consensusNodeVersion: 0.74.0\nmirror-node-version: v0.155.0\n",
            "/work/play/v.yaml": yaml.safe_dump(
                {"network": {"--release-tag": "v0.70.0"}, "mirrorNode": {"--mirror-node-version": "0.150.0"}}
            ),
        }
    )
    config = plan({"values_file": "v.yaml", "mirror_node_version": "0.161.0"}, files=files)
    assert config["solo_config_file"] == "/work/solo.config.yaml"
    assert config["versions"]["consensus_node"] == "v0.74.0"  # solo.config.yaml over the values file
    assert config["version_sources"]["consensus_node"] == "solo_config_file"
    assert config["versions"]["mirror_node"] == "v0.161.0"  # the option over solo.config.yaml
    assert config["values_file"] == "/work/play/v.yaml"


def test_solo_config_yaml_is_preferred_to_json_and_json_is_read():
    both = Files({"/work/play/solo.config.yaml": "relayVersion: 0.71.0\n", "/work/play/solo.config.json": "{}"})
    assert plan(files=both)["versions"]["relay"] == "0.71.0"
    json_only = Files({"/work/play/solo.config.json": json.dumps({"relay-version": "v0.72.0"})})
    config = plan(files=json_only)
    assert config["versions"]["relay"] == "0.72.0"
    assert config["solo_config_file"] == "/work/play/solo.config.json"


def test_explicit_solo_config_file_is_read_instead_of_searching():
    files = Files({"/etc/solo.yaml": "explorerVersion: 25.0.0\n", "/work/play/solo.config.yaml": "x: 1\n"})
    config = plan({"solo_config_file": "/etc/solo.yaml"}, files=files)
    assert config["versions"]["explorer"] == "25.0.0"
    assert files.read == ["/etc/solo.yaml"]


def test_setup_section_tag_is_the_platform_build_unless_the_option_is_given():
    config = falcon()
    assert config["versions"]["consensus_node"] == "v0.65.0"  # from network
    assert config["steps"]["consensus_network"]["release_tag"] == "v0.65.0"
    assert config["steps"]["consensus_node_configured"]["release_tag"] == "v0.71.0"  # from setup
    assert config["steps"]["platform_download"]["build_url"].endswith("/v0.71/build-v0.71.0.zip")
    explicit = falcon(consensus_node_version="v0.75.1")
    assert explicit["steps"]["consensus_node_configured"]["release_tag"] == "v0.75.1"
    assert explicit["steps"]["consensus_network"]["release_tag"] == "v0.75.1"


def test_block_node_section_release_tag_is_the_consensus_version_it_pairs_with():
    config = falcon()
    assert config["steps"]["block_node"]["consensus_node_version"] == "v0.65.0"
    assert config["versions"]["block_node"] == "0.39.0"  # not the block node's own version
    assert "release_tag" not in config["steps"]["block_node"]["params"]


def test_legacy_and_canonical_keys_must_agree():
    text = yaml.safe_dump({"relayNode": {"--relay-release": "0.70.0", "--relay-version": "0.71.0"}})
    with pytest.raises(InputError) as caught:
        falcon(text)
    assert caught.value.field == "values_file"
    assert "'--relay-version'" in str(caught.value) and "'--relay-release'" in str(caught.value)
    same = yaml.safe_dump({"relayNode": {"--relay-release": "0.70.0", "--relay-version": "v0.70.0"}})
    assert falcon(same)["versions"]["relay"] == "0.70.0"


# ---------------------------------------------------------------------------------------------------------------
# Toggles


@pytest.mark.parametrize(
    ("toggle", "skipped", "waiters"),
    [
        ("deploy_mirror_node", ["mirror_node", "pinger"], ["explorer", "relay", "pinger"]),
        ("deploy_explorer", ["explorer"], []),
        ("deploy_relay", ["relay"], []),
        ("deploy_block_node", ["block_node"], ["consensus_network"]),
        ("pinger", ["pinger"], []),
    ],
)
def test_a_toggle_skips_its_steps_and_waiters_still_list_them(toggle, skipped, waiters):
    # Every step on to begin with (the pinger is off by default without a values file).
    on = plan({"pinger": True, toggle: True})
    off = plan({"pinger": True, toggle: False})
    for step in skipped:
        assert on["steps"][step]["enabled"] is True
        assert off["steps"][step]["enabled"] is False
        assert on["steps"]["deployment"]["register_steps"][step] == "pending"
        assert off["steps"]["deployment"]["register_steps"][step] == "skipped"
    for waiter in waiters:
        assert skipped[0] in off["steps"][waiter]["wait_for"]
    # Nothing else changes state.
    others = set(STEPS_ORDER) - set(skipped)
    assert all(off["steps"][step]["enabled"] == on["steps"][step]["enabled"] for step in others)
    assert off["toggles"][toggle] is False


def test_toggles_decide_which_components_are_registered():
    components = plan({"deploy_relay": False, "deploy_block_node": True})["steps"]["deployment"]["components"]
    assert components == {"block_node": True, "mirror_node": True, "explorer": True, "relay": False}


def test_toggles_dict_is_the_same_as_the_options():
    by_dict = plan({"toggles": {"deploy_relay": False, "pinger": "true"}})
    assert by_dict["toggles"]["deploy_relay"] is False
    assert by_dict["toggles"]["pinger"] is True
    assert by_dict["steps"]["relay"]["enabled"] is False
    assert plan({"toggles": {"deploy_relay": False}, "deploy_relay": False})["toggles"]["deploy_relay"] is False


def test_block_node_default_follows_solos_environment_switch():
    assert plan(env={"ONE_SHOT_WITH_BLOCK_NODE": "true"})["toggles"]["deploy_block_node"] is True
    assert plan(env={"ONE_SHOT_WITH_BLOCK_NODE": "false"})["toggles"]["deploy_block_node"] is False
    assert (
        plan({"deploy_block_node": False}, env={"ONE_SHOT_WITH_BLOCK_NODE": "true"})["steps"]["block_node"]["enabled"]
        is False
    )


def test_block_node_brings_tss_overlay_integration_and_rsa_bootstrap():
    config = plan({"deploy_block_node": True})
    steps = config["steps"]
    assert steps["consensus_network"]["params"]["tss"] is True
    assert steps["block_node"]["params"]["block_node_tss_overlay"] is True
    assert steps["mirror_node"]["params"]["force_block_node_integration"] is True
    assert steps["block_node"]["rsa_bootstrap"] is True  # CN v0.75.1 >= v0.74, stream mode BLOCKS
    assert steps["cluster_setup"]["minio"] is False
    older = plan({"deploy_block_node": True, "consensus_node_version": "v0.73.0"})["steps"]
    assert older["block_node"]["rsa_bootstrap"] is False
    assert older["cluster_setup"]["minio"] is True
    records = plan({"deploy_block_node": True}, env={"BLOCK_STREAM_STREAM_MODE": "RECORDS"})["steps"]
    assert records["cluster_setup"]["minio"] is True
    without = plan()["steps"]
    assert "tss" not in without["consensus_network"]["params"]
    assert "force_block_node_integration" not in without["mirror_node"]["params"]
    assert without["cluster_setup"]["minio"] is True


def test_pinger_default_is_on_for_falcon_and_follows_the_mirror_section():
    assert plan()["toggles"]["pinger"] is False
    assert falcon()["toggles"]["pinger"] is True
    assert falcon(yaml.safe_dump({"network": {}}))["toggles"]["pinger"] is True
    quiet = edited(mirrorNode={"--pinger": False})
    assert falcon(quiet)["toggles"]["pinger"] is False
    assert falcon(quiet, pinger=True)["toggles"]["pinger"] is True
    assert "pinger" not in falcon()["steps"]["mirror_node"]["params"]


def test_pinger_needs_the_mirror_node():
    config = plan({"pinger": True, "deploy_mirror_node": False})
    assert config["toggles"]["pinger"] is True
    assert config["steps"]["pinger"]["enabled"] is False


def test_explorer_without_mirror_node_warns():
    warnings: list[str] = []
    build_config(
        {"deploy_mirror_node": False},
        env=BASE_ENV,
        cwd="/nonexistent",
        path_exists=lambda _p: False,
        warn=warnings.append,
    )
    assert any(w.startswith("deploy_explorer is true but deploy_mirror_node is false") for w in warnings)
    assert any(w.startswith("deploy_relay is true") for w in warnings)


# ---------------------------------------------------------------------------------------------------------------
# The falcon values file


def test_falcon_file_translates_to_per_step_parameters():
    config = falcon()
    steps = config["steps"]
    assert config["values_file"] == "/work/play/falcon.yaml"
    # Empty strings and nulls are skipped, false is kept, CLI tokens become option names.
    assert steps["consensus_network"]["params"] == {
        "load_balancer": False,
        "pvcs": False,
        "service_monitor": False,
        "pod_log": False,
    }
    assert steps["consensus_node_configured"]["params"] == {"debug": False}  # --dev is solo's alias of --debug
    assert steps["consensus_node_started"]["params"] == {"force_port_forward": True}
    assert steps["mirror_node"]["params"] == {
        "enable_ingress": True,
        "parallel_deploy": True,
        "force_port_forward": True,
        "use_external_database": False,
    }
    assert steps["relay"]["params"] == {
        "node_aliases": ["node1"],
        "mirror_node_id": 1,
        "mirror_namespace": "one-shot",
        "replica_count": 1,
        "force_port_forward": True,
    }
    assert steps["block_node"]["params"] == {"block_node_tss_overlay": True, "enable_ingress": False, "debug": False}
    assert steps["explorer"]["params"] == {
        "mirror_node_id": 1,
        "mirror_namespace": "one-shot",
        "enable_ingress": True,
        "enable_explorer_tls": False,
        "explorer_tls_host_name": "explorer.solo.local",
        "tls_cluster_issuer_type": "self-signed",
        "force_port_forward": True,
    }
    # Sections without their own step get no params; no step keeps a version key among its params.
    assert steps["accounts"]["params"] == {}
    for step in steps.values():
        assert not {"release_tag", "consensus_node_version", "quiet_mode", "deployment"} & set(step["params"])


def test_section_values_are_typed_as_solos_flags():
    text = edited(
        network={"--pvcs": "true", "--chain-id": 298, "--node-aliases": "node1,node2"},
        relayNode={"--replica-count": "2", "--node-aliases": "node2"},
        mirrorNode={"--force": True},
    )
    steps = falcon(text, num_consensus_nodes=2)["steps"]
    assert steps["consensus_network"]["params"]["pvcs"] is True
    assert steps["consensus_network"]["params"]["chain_id"] == "298"
    assert steps["consensus_network"]["params"]["node_aliases"] == ["node1", "node2"]
    assert steps["relay"]["params"]["replica_count"] == 2
    assert steps["relay"]["params"]["node_aliases"] == ["node2"]
    assert steps["mirror_node"]["params"]["force_block_node_integration"] is True


def test_section_values_win_over_computed_ones_like_solo():
    text = edited(mirrorNode={"--enable-ingress": False, "--parallel-deploy": False}, relayNode={"--mirror-node-id": 2})
    steps = falcon(text)["steps"]
    assert steps["mirror_node"]["params"]["enable_ingress"] is False
    assert steps["mirror_node"]["params"]["parallel_deploy"] is False
    assert steps["relay"]["params"]["mirror_node_id"] == 2


def test_empty_or_sectionless_values_files_are_fine():
    assert falcon("")["steps"]["consensus_network"]["params"] == {}
    assert falcon("network:\n")["steps"]["consensus_network"]["params"] == {}


def test_small_memory_settings_only_without_values_file():
    assert plan()["steps"]["consensus_network"]["small_memory"] == {
        "enabled": True,
        "settings_file": "settings-single.txt",
        "state_on_disk": True,
    }
    multi = plan({"num_consensus_nodes": 2, "consensus_node_version": "v0.72.0"})
    assert multi["steps"]["consensus_network"]["small_memory"] == {
        "enabled": True,
        "settings_file": "settings-multinode.txt",
        "state_on_disk": False,
    }
    assert plan({"consensus_node_version": "v0.71.9"})["steps"]["consensus_network"]["small_memory"]["enabled"] is False
    assert falcon()["steps"]["consensus_network"]["small_memory"]["enabled"] is False


def test_every_section_allows_only_real_cli_tokens():
    for section, keys in SECTIONS.items():
        for token in keys:
            assert re.fullmatch(r"--[a-z0-9]+(-[a-z0-9]+)*", token), (section, token)
        assert "--namespace" not in keys and "--cluster-ref" not in keys, section


# ---------------------------------------------------------------------------------------------------------------
# Charts, releases, platform build


def test_default_releases_and_charts_are_upstreams():
    steps = plan()["steps"]
    mirror = steps["mirror_node"]["releases"]
    assert mirror["mirror_node"] == {
        "release_name": "mirror-1",
        "namespace": "one-shot",
        "chart_source": {
            "chart": "hedera-mirror",
            "repo": "https://hiero-ledger.github.io/hiero-mirror-node/charts",
            "version": "0.160.0",
        },
    }
    assert mirror["solo_shared_resources"]["release_name"] == "solo-shared-resources"
    assert mirror["ingress_controller"]["release_name"] == "haproxy-ingress-1"
    assert steps["consensus_network"]["releases"]["solo_deployment"]["chart_source"] == {
        "oci": "oci://ghcr.io/hashgraph/solo-charts/solo-deployment",
        "version": "0.66.0",
    }
    assert steps["explorer"]["releases"]["explorer"]["release_name"] == "hiero-explorer-1"
    assert steps["explorer"]["releases"]["ingress_controller"]["release_name"] == (
        "explorer-haproxy-ingress-1-one-shot"
    )
    assert "solo_cert_manager" not in steps["explorer"]["releases"]
    assert steps["relay"]["releases"]["relay"]["release_name"] == "relay-1"
    assert steps["block_node"]["releases"]["block_node"]["chart_source"] == {
        "oci": "oci://ghcr.io/hiero-ledger/hiero-block-node/block-node-server",
        "version": "0.39.0",
    }
    assert steps["cluster_setup"]["releases"]["minio_operator"] == {
        "release_name": "operator",
        "namespace": "solo-setup",
        "chart_source": {"chart": "operator", "repo": "https://operator.min.io/", "version": "7.1.1"},
    }


def test_explorer_ingress_release_name_is_shortened_like_solo():
    long_namespace = "a" * 40
    name = explorer_ingress_release_name(long_namespace)
    assert len(name) <= 53
    assert name.startswith("explorer-haproxy-ingress-1-aaaa")
    assert re.fullmatch(r"explorer-haproxy-ingress-1-a+-[0-9a-f]{8}", name)
    assert explorer_ingress_release_name("short") == "explorer-haproxy-ingress-1-short"


def test_explorer_tls_adds_the_cert_manager_release():
    text = edited(explorerNode={"--enable-explorer-tls": True, "--solo-chart-version": "0.65.1"})
    releases = falcon(text)["steps"]["explorer"]["releases"]
    assert releases["solo_cert_manager"]["namespace"] == "cert-manager"
    assert releases["solo_cert_manager"]["chart_source"]["version"] == "0.65.1"


def test_chart_sources_override_location_and_version():
    config = plan(
        {
            "chart_sources": {
                "solo_deployment": {"oci": "oci://registry.example.com/solo-charts/solo-deployment"},
                "mirror_node": {"repo": "https://charts.example.com/mirror", "chart": "hedera-mirror"},
                "relay": {"version": "v0.79.1"},
            }
        }
    )
    assert config["chart_sources"]["solo_deployment"] == {
        "oci": "oci://registry.example.com/solo-charts/solo-deployment",
        "version": "0.66.0",  # no version given: the resolved solo chart version
    }
    assert config["chart_sources"]["mirror_node"]["repo"] == "https://charts.example.com/mirror"
    assert config["chart_sources"]["relay"]["version"] == "0.79.1"
    assert config["steps"]["relay"]["releases"]["relay"]["chart_source"]["version"] == "0.79.1"


def test_local_chart_paths_must_exist():
    files = Files({"/charts/relay": ""})
    config = plan({"chart_sources": {"relay": {"path": "/charts/relay"}}}, files=files)
    assert config["chart_sources"]["relay"] == {"path": "/charts/relay"}
    with pytest.raises(InputError) as caught:
        plan({"chart_sources": {"explorer": {"path": "/charts/explorer"}}}, files=files)
    assert caught.value.field == "chart_sources.explorer.path"
    assert "/charts/explorer does not exist" in str(caught.value)


def test_chart_urls_follow_solos_environment_overrides():
    env = {
        "MIRROR_NODE_CHART_URL": "https://mirror.example.com/charts",
        "EXPLORER_CHART_URL": "oci://registry.example.com/explorer",
        "BLOCK_NODE_CHART_URL": "oci://registry.example.com/bn",
    }
    sources = plan(env=env)["chart_sources"]
    assert sources["mirror_node"]["repo"] == "https://mirror.example.com/charts"
    assert sources["explorer"]["oci"] == "oci://registry.example.com/explorer"
    assert sources["block_node"]["oci"] == "oci://registry.example.com/bn/block-node-server"


def test_mirror_section_solo_chart_version_applies_to_its_shared_resources_only():
    text = edited(mirrorNode={"--solo-chart-version": "0.64.0"})
    config = falcon(text)
    assert config["steps"]["mirror_node"]["releases"]["solo_shared_resources"]["chart_source"]["version"] == "0.64.0"
    assert config["steps"]["consensus_network"]["releases"]["solo_deployment"]["chart_source"]["version"] == "0.66.0"
    explicit = falcon(text, solo_chart_version="0.66.1")
    shared = explicit["steps"]["mirror_node"]["releases"]["solo_shared_resources"]
    assert shared["chart_source"]["version"] == "0.66.1"


def test_platform_build_defaults_to_hedera_builds():
    download = plan()["steps"]["platform_download"]
    assert download["source"] == "url"
    assert download["build_url"] == "https://builds.hedera.com/node/software/v0.75/build-v0.75.1.zip"
    assert download["checksum_url"] == "https://builds.hedera.com/node/software/v0.75/build-v0.75.1.sha384"
    assert download["release_tag"] == "v0.75.1"
    assert download["checksum_algorithm"] == "sha384"
    assert download["download_dir"] == f"{HOME}/.solo/cache/v0.75/staging/v0.75.1/build"
    assert download["wait_for"] == []
    configured = plan()["steps"]["consensus_node_configured"]
    assert configured["build_path"] == f"{download['download_dir']}/build-v0.75.1.zip"


def test_platform_build_from_a_local_path_or_another_url():
    files = Files({"/builds/build-v0.75.1.zip": "", "/builds/build-v0.75.1.sha384": ""})
    config = plan({"platform_build_url": "/builds/build-{release_tag}.zip"}, files=files)
    download = config["steps"]["platform_download"]
    assert download["source"] == "path"
    assert download["build_path"] == "/builds/build-v0.75.1.zip"
    assert download["checksum_url"] == "file:///builds/build-v0.75.1.sha384"
    assert config["steps"]["consensus_node_configured"]["build_path"] == "/builds/build-v0.75.1.zip"
    mirror = plan({"platform_build_url": "http://127.0.0.1:8080/{release_prefix}/b-{release_tag}.zip"})
    assert mirror["steps"]["platform_download"]["build_url"] == "http://127.0.0.1:8080/v0.75/b-v0.75.1.zip"


# ---------------------------------------------------------------------------------------------------------------
# Steps and DAG


def test_wait_for_lists_are_architecture_section_6():
    steps = plan()["steps"]
    assert steps["cluster_ref"]["wait_for"] == []
    assert steps["deployment"]["wait_for"] == ["cluster_ref"]
    assert set(steps["consensus_network"]["wait_for"]) >= {"cluster_setup", "block_node"}
    assert steps["consensus_node_configured"]["wait_for"] == ["consensus_network", "platform_download"]
    assert steps["consensus_node_started"]["wait_for"] == ["consensus_node_configured"]
    assert "keys" in steps["mirror_node"]["wait_for"]
    assert steps["explorer"]["wait_for"] == ["mirror_node"]
    assert sorted(steps["relay"]["wait_for"]) == ["consensus_node_started", "mirror_node"]
    assert steps["accounts"]["wait_for"] == ["consensus_node_started"]
    assert sorted(steps["pinger"]["wait_for"]) == ["consensus_node_started", "mirror_node"]


def test_steps_order_respects_the_dag_and_covers_every_step():
    config = plan()
    order = config["steps_order"]
    assert sorted(order) == sorted(config["steps"]) == sorted(config["steps"]["deployment"]["register_steps"])
    position = {step: index for index, step in enumerate(order)}
    assert config["dag"], "no edges"
    for producer, consumer in config["dag"]:
        assert position[producer] < position[consumer], (producer, consumer)
    edges = {(producer, step) for step, block in config["steps"].items() for producer in block["wait_for"]}
    assert edges == {tuple(edge) for edge in config["dag"]}


def test_the_fact_is_plain_data():
    config = falcon()
    assert json.loads(json.dumps(config)) == config


# ---------------------------------------------------------------------------------------------------------------
# Bad input: each fails with an InputError whose message starts with the field


def _values(text: str) -> dict[str, Any]:
    return {"params": {"values_file": "/v.yaml"}, "files": {"/v.yaml": text}}


BAD_INPUTS = [
    ("uppercase deployment", {"params": {"deployment": "One-Shot"}}, "deployment", "RFC 1123 label"),
    ("underscore deployment", {"params": {"deployment": "one_shot"}}, "deployment", "'one_shot'"),
    ("namespace too long", {"params": {"namespace": "n" * 64}}, "namespace", "at most 63 characters"),
    ("cluster_ref starts with -", {"params": {"cluster_ref": "-kind"}}, "cluster_ref", "RFC 1123"),
    ("empty kube_context", {"params": {"kube_context": " "}}, "kube_context", "non-empty"),
    (
        "zero nodes",
        {"params": {"num_consensus_nodes": 0}},
        "num_consensus_nodes",
        f"expected an integer from 1 to {MAX_CONSENSUS_NODES}, got 0",
    ),
    ("too many nodes", {"params": {"num_consensus_nodes": 11}}, "num_consensus_nodes", "got 11"),
    ("node count as bool", {"params": {"num_consensus_nodes": True}}, "num_consensus_nodes", "got True"),
    ("node count as text", {"params": {"num_consensus_nodes": "3"}}, "num_consensus_nodes", "got '3'"),
    ("word as version", {"params": {"consensus_node_version": "latest"}}, "consensus_node_version", "'latest'"),
    ("four-part version", {"params": {"mirror_node_version": "v1.2.3.4"}}, "mirror_node_version", "semantic"),
    ("leading zero version", {"params": {"relay_version": "01.2.3"}}, "relay_version", "'01.2.3'"),
    ("float version", {"params": {"explorer_version": 26.2}}, "explorer_version", "quote versions"),
    ("bad env version", {"env": {"MIRROR_NODE_VERSION": "next"}}, "environment MIRROR_NODE_VERSION", "'next'"),
    ("missing values file", {"params": {"values_file": "/nope.yaml"}}, "values_file", "/nope.yaml does not exist"),
    ("malformed values file", _values("network: [unclosed\n"), "values_file", "is not valid YAML"),
    ("duplicate key", _values("network:\n  --pvcs: true\n  --pvcs: false\n"), "values_file", "duplicate key"),
    ("values file is a list", _values("- network\n"), "values_file", "expected a mapping of sections"),
    (
        "unknown section",
        _values("mirror:\n  --pinger: true\n"),
        "values_file",
        "section 'mirror' is unknown; allowed: blockNode, consensusNode, explorerNode, mirrorNode, network, "
        "relayNode, setup",
    ),
    (
        "unknown key",
        _values("mirrorNode:\n  --foo: 1\n"),
        "values_file",
        "section 'mirrorNode' key '--foo' is unknown; allowed: --cache-dir, --chart-dir,",
    ),
    ("key without dashes", _values("network:\n  pvcs: true\n"), "values_file", "key 'pvcs' is unknown"),
    ("section not a mapping", _values("network: [--pvcs]\n"), "values_file", "section 'network' must map"),
    ("non-boolean flag", _values("network:\n  --pvcs: maybe\n"), "values_file", "expected a boolean"),
    ("non-integer flag", _values("relayNode:\n  --replica-count: two\n"), "values_file", "expected an integer"),
    ("nested value", _values("network:\n  --app: {a: 1}\n"), "values_file", "expected a single value"),
    (
        "bad version in file",
        _values("network:\n  --release-tag: main\n"),
        "values_file",
        "section 'network' key '--release-tag': expected a version like v0.75.1",
    ),
    (
        "unexpanded placeholder",
        _values('network:\n  --release-tag: "${SOLO_RELEASE_TAG}"\n'),
        "values_file",
        "placeholders such as ${...} are not expanded",
    ),
    ("secret in file", _values('mirrorNode:\n  --operator-key: "302e"\n'), "values_file", "holds a secret"),
    (
        "node alias out of range",
        _values("consensusNode:\n  --node-aliases: node1,node2\n"),
        "values_file",
        "node alias 'node2' is not one of this deployment's nodes (node1)",
    ),
    ("unknown toggle", {"params": {"toggles": {"deploy_foo": True}}}, "toggles", "toggle 'deploy_foo' is unknown"),
    ("toggles not a mapping", {"params": {"toggles": ["pinger"]}}, "toggles", "expected a mapping"),
    ("toggle in dict not boolean", {"params": {"toggles": {"pinger": "yes"}}}, "toggles.pinger", "'yes'"),
    ("toggle option not boolean", {"params": {"deploy_relay": "no"}}, "deploy_relay", "expected a boolean"),
    (
        "toggle given twice differently",
        {"params": {"deploy_relay": True, "toggles": {"deploy_relay": False}}},
        "deploy_relay",
        "give it once",
    ),
    ("parallel not boolean", {"params": {"parallel": "yes"}}, "parallel", "expected a boolean"),
    ("run id with a space", {"params": {"run_id": "my run"}}, "run_id", "'my run'"),
    ("run id too long", {"params": {"run_id": "r" * 64}}, "run_id", "1 to 63"),
    (
        "unknown placeholder in build URL",
        {"params": {"platform_build_url": "https://b.example/{tag}.zip"}},
        "platform_build_url",
        "placeholder {tag} is unknown",
    ),
    (
        "build URL not a zip",
        {"params": {"platform_build_url": "https://b.example/{release_tag}.tgz"}},
        "platform_build_url",
        "ending in .zip",
    ),
    (
        "build URL with another scheme",
        {"params": {"platform_build_url": "ftp://b.example/{release_tag}.zip"}},
        "platform_build_url",
        "http(s)://",
    ),
    (
        "missing local build",
        {"params": {"platform_build_url": "/builds/build-{release_tag}.zip"}},
        "platform_build_url",
        "/builds/build-v0.75.1.zip does not exist",
    ),
    ("unknown chart component", {"params": {"chart_sources": {"foo": {}}}}, "chart_sources.foo", "unknown"),
    (
        "bad chart version",
        {"params": {"chart_sources": {"relay": {"version": "newest"}}}},
        "chart_sources.relay.version",
        "'newest'",
    ),
    (
        "chart repo not http",
        {"params": {"chart_sources": {"relay": {"repo": "ftp://x", "chart": "relay"}}}},
        "chart_sources.relay.repo",
        "http(s) URL",
    ),
    (
        "bad chart URL in the environment",
        {"env": {"MIRROR_NODE_CHART_URL": "charts.example.com"}},
        "environment MIRROR_NODE_CHART_URL",
        "expected a http:// or https:// URL",
    ),
    ("unknown option", {"params": {"bogus": 1}}, "bogus", "unknown option; allowed:"),
    (
        "malformed solo config file",
        {"params": {"solo_config_file": "/s.yaml"}, "files": {"/s.yaml": "a: [b\n"}},
        "solo_config_file",
        "is not valid YAML",
    ),
    (
        "bad version in solo config file",
        {"files": {"/work/play/solo.config.yaml": "relayVersion: x.y\n"}},
        "solo_config_file",
        "key 'relayVersion'",
    ),
]


@pytest.mark.parametrize(
    ("case", "field", "fragment"), [(c[1], c[2], c[3]) for c in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_fails_naming_the_field(case, field, fragment):
    files = Files(case.get("files"))
    with pytest.raises(InputError) as caught:
        plan(case.get("params"), env=case.get("env"), files=files)
    message = str(caught.value)
    assert caught.value.field == field
    assert message.startswith(f"{field}:"), message
    assert fragment in message, message


def test_unknown_key_message_lists_every_allowed_key():
    with pytest.raises(InputError) as caught:
        falcon("explorerNode:\n  --nope: 1\n")
    allowed = str(caught.value).split("allowed: ", 1)[1].split(", ")
    assert allowed == sorted(SECTIONS["explorerNode"])
    assert "--explorer-version" in allowed


def test_bad_input_table_is_big_enough():
    assert len(BAD_INPUTS) >= 15


def test_real_files_are_read_from_disk(tmp_path: Path):
    values = tmp_path / "falcon.yaml"
    values.write_text(FALCON_VALUES, encoding="utf-8")
    # The setup section's tag (v0.71.0) names the platform build.
    (tmp_path / "build-v0.71.0.zip").write_bytes(b"zip")
    (tmp_path / "build-v0.71.0.sha384").write_text("sum", encoding="utf-8")
    config = build_config(
        {"values_file": "falcon.yaml", "platform_build_url": "./build-{release_tag}.zip", "run_id": "x"},
        env=BASE_ENV,
        cwd=str(tmp_path),
    )
    assert config["values_file"] == str(values)
    assert config["versions"]["consensus_node"] == "v0.65.0"
    assert config["steps"]["platform_download"]["build_path"] == os.path.join(tmp_path, "build-v0.71.0.zip")
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(InputError, match=r"^values_file: values file .*dir.yaml is a directory"):
        build_config({"values_file": str(tmp_path / "dir.yaml")}, env=BASE_ENV, cwd=str(tmp_path))
