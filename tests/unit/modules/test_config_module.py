"""hiero.solo.config through its real main(): AnsibleModule parses the arguments, the module prints its JSON result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hiero.solo.plugins.module_utils._config import COMPONENTS
from ansible_collections.hiero.solo.plugins.modules import config as config_module

FALCON = """\
network:
  --release-tag: "v0.74.2"
  --pvcs: false
  --quiet-mode: false
setup:
  --release-tag: ""
mirrorNode:
  --mirror-node-version: "0.158.0"
  --pinger: true
relayNode:
  --replica-count: 1
"""


@pytest.fixture(autouse=True)
def controller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A controller whose home, working directory and environment hold nothing unexpected."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("SOLO_HOME", "SOLO_CACHE_DIR", "ONE_SHOT_WITH_BLOCK_NODE", "BLOCK_STREAM_STREAM_MODE"):
        monkeypatch.delenv(name, raising=False)
    for component in COMPONENTS.values():
        monkeypatch.delenv(component.env, raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture, args: dict) -> tuple[int, dict]:
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        config_module.main()
    output = capsys.readouterr().out
    return exit_info.value.code, json.loads(output.strip().splitlines()[-1])


def test_returns_the_fact_for_a_falcon_deployment(capsys, controller: Path):
    (controller / "falcon.yaml").write_text(FALCON, encoding="utf-8")
    code, result = run(
        capsys,
        {
            "deployment": "falcon",
            "num_consensus_nodes": 3,
            "values_file": "falcon.yaml",
            "deploy_explorer": False,
            "relay_release": "v0.79.0",  # alias of relay_version
            "run_id": 4711,
        },
    )
    assert code == 0, result
    assert result["changed"] is False
    fact = result["ansible_facts"]["hiero_solo_config"]
    assert fact["namespace"] == "falcon"
    assert fact["node_aliases"] == ["node1", "node2", "node3"]
    assert fact["run_id"] == "4711"
    assert fact["values_file"] == str(controller / "falcon.yaml")
    assert fact["output_dir"] == str(controller / "home" / ".solo" / "one-shot-falcon")
    assert fact["versions"]["consensus_node"] == "v0.74.2"
    assert fact["versions"]["mirror_node"] == "v0.158.0"
    assert fact["versions"]["relay"] == "0.79.0"
    assert fact["version_sources"]["relay"] == "option"
    assert fact["toggles"]["pinger"] is True
    assert fact["steps"]["explorer"]["enabled"] is False
    assert fact["steps"]["deployment"]["register_steps"]["explorer"] == "skipped"
    assert fact["steps"]["consensus_network"]["params"] == {"pvcs": False}
    assert fact["steps"]["relay"]["params"]["replica_count"] == 1
    assert fact["steps_order"][0] == "cluster_ref"


def test_check_mode_returns_the_same_fact(capsys):
    _code, normal = run(capsys, {"run_id": "same"})
    code, checked = run(capsys, {"run_id": "same", "_ansible_check_mode": True})
    assert code == 0
    assert checked["changed"] is False
    assert checked["ansible_facts"] == normal["ansible_facts"]


def test_bad_input_fails_with_the_field_in_the_message(capsys):
    code, result = run(capsys, {"num_consensus_nodes": 0})
    assert code == 1
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"] == "num_consensus_nodes: expected an integer from 1 to 10, got 0"
    assert "ansible_facts" not in result


def test_unknown_values_file_section_fails_listing_the_allowed_ones(capsys, controller: Path):
    (controller / "v.yaml").write_text("mirror:\n  --pinger: true\n", encoding="utf-8")
    code, result = run(capsys, {"values_file": str(controller / "v.yaml")})
    assert code == 1
    assert result["msg"].startswith("values_file: section 'mirror' is unknown; allowed: blockNode, consensusNode,")


def test_unknown_option_is_refused_by_the_argument_spec(capsys):
    code, result = run(capsys, {"deploy_foo": True})
    assert code == 1
    assert "deploy_foo" in result["msg"]


def test_takes_no_connection_options():
    spec = config_module.CONFIG_ARG_SPEC
    assert not {"kubeconfig", "context", "host", "api_key", "lease", "wait_for"} & set(spec)
