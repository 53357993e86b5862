"""The keys step: where each key pair comes from, that nothing is regenerated, and what it returns."""

from __future__ import annotations

import json
import os
import stat
from types import SimpleNamespace

import pytest
from kubernetes.client.exceptions import ApiException

from ansible_collections.hiero.solo.plugins.module_utils import _keys
from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps import keys as step

SPEC = argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, step.KEYS_ARG_SPEC)


class FakeModule:
    def __init__(self, core=None, check_mode=False, **params):
        self.params = {name: spec.get("default") for name, spec in SPEC.items()}
        self.params.update(params)
        self.check_mode = check_mode
        self.diff_mode = True
        self._core = core
        self.warnings: list[str] = []
        self.ansible_module = SimpleNamespace(no_log_values=set())

    def clients(self):
        if self._core is None:
            raise AssertionError("the cluster must not be contacted")
        return SimpleNamespace(core=self._core)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


class SecretsCore:
    """Reads Secrets from a dict; any other call fails the test (the step must not write to the cluster)."""

    def __init__(self, secrets: dict[str, dict[str, str]]):
        self.secrets = secrets
        self.reads: list[str] = []

    def read_namespaced_secret(self, name, namespace):
        self.reads.append(name)
        if name not in self.secrets:
            raise ApiException(status=404, reason="Not Found")
        return SimpleNamespace(data=dict(self.secrets[name]))


@pytest.fixture(scope="module")
def node1() -> _keys.NodeKeys:
    return _keys.generate_node_keys("node1")


@pytest.fixture(scope="module")
def other_node1() -> _keys.NodeKeys:
    return _keys.generate_node_keys("node1")


def test_generates_missing_keys_into_a_private_directory_and_returns_public_facts_only(tmp_path):
    keys_dir = tmp_path / "cache" / "keys"
    module = FakeModule(node_aliases=["node1"], keys_dir=str(keys_dir))
    result = step.run(module)
    assert result["changed"] is True
    assert result["sources"] == {"node1": {"gossip": "generated", "tls": "generated"}}
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    names = sorted(os.listdir(keys_dir))
    assert names == sorted(_keys.key_file_names("node1"))
    assert all(stat.S_IMODE((keys_dir / n).stat().st_mode) == 0o600 for n in names)
    text = json.dumps(result)
    assert "PRIVATE KEY" not in text
    private = (keys_dir / "s-private-node1.pem").read_text()
    assert private in module.ansible_module.no_log_values  # masked should it ever reach a message
    node = result["nodes"][0]
    assert node["gossip"]["subject"] == "CN=s-node1" and node["gossip"]["key_size"] == 3072
    assert node["tls"]["subject"] == "CN=node1" and node["tls"]["key_size"] == 4096

    again = step.run(FakeModule(node_aliases=["node1"], keys_dir=str(keys_dir)))
    assert again["changed"] is False
    assert again["sources"] == {"node1": {"gossip": "files", "tls": "files"}}
    assert (keys_dir / "s-private-node1.pem").read_text() == private


def test_check_mode_generates_nothing_and_writes_nothing(tmp_path, monkeypatch):
    def refuse(alias, now=None):
        raise AssertionError("check mode must not generate keys")

    monkeypatch.setattr(_keys, "generate_node_keys", refuse)
    keys_dir = tmp_path / "keys"
    result = step.run(FakeModule(check_mode=True, node_aliases=["node1", "node2"], keys_dir=str(keys_dir)))
    assert result["changed"] is True
    assert len(result["written"]["after"]) == 8
    assert not keys_dir.exists()


def test_keys_in_the_secrets_win_and_a_differing_file_is_backed_up_not_lost(tmp_path, node1, other_node1):
    keys_dir = tmp_path / "keys"
    step.run(FakeModule(node_aliases=["node1"], keys_dir=str(keys_dir)))  # generated on disk first
    disk_before = {name: (keys_dir / name).read_text() for name in _keys.key_file_names("node1")}
    core = SecretsCore({name: s["data"] for name, s in _keys.secrets_for([node1]).items()})
    module = FakeModule(core, node_aliases=["node1"], keys_dir=str(keys_dir), namespace="one-shot")
    result = step.run(module)
    assert result["changed"] is True
    assert result["sources"] == {"node1": {"gossip": "secret", "tls": "secret"}}
    for name, content in node1.files().items():
        assert (keys_dir / name).read_text() == content
    backups = sorted(result["backups"])
    assert [os.path.basename(b).split("-20")[0] for b in backups] == ["unused-gossip-pem", "unused-tls"]
    kept = {name: (keys_dir / b / name).read_text() for b in backups for name in os.listdir(keys_dir / b)}
    assert kept == disk_before
    assert all(stat.S_IMODE((keys_dir / b).stat().st_mode) == 0o700 for b in backups)
    assert len(module.warnings) == 2
    assert set(core.reads) == {"network-node1-keys-secrets", "network-node-hapi-app-secrets"}


def test_a_pair_is_taken_whole_from_one_place(tmp_path, node1, other_node1):
    """Gossip from the Secret, TLS from disk (the TLS Secret is gone): each pair stays consistent."""
    keys_dir = tmp_path / "keys"
    _keys.write_keys(str(keys_dir), other_node1)
    gossip_only = {"network-node1-keys-secrets": _keys.secrets_for([node1])["network-node1-keys-secrets"]["data"]}
    result = step.run(
        FakeModule(SecretsCore(gossip_only), node_aliases=["node1"], keys_dir=str(keys_dir), namespace="ns")
    )
    assert result["sources"] == {"node1": {"gossip": "secret", "tls": "files"}}
    assert (keys_dir / "s-private-node1.pem").read_text() == node1.gossip_private_key_pem
    assert (keys_dir / "hedera-node1.key").read_text() == other_node1.tls_private_key_pem


def test_a_secret_whose_key_does_not_match_its_certificate_is_refused_naming_it(tmp_path, node1, other_node1):
    data = _keys.secrets_for([node1])["network-node1-keys-secrets"]["data"]
    data["s-public-node1.pem"] = _keys.secrets_for([other_node1])["network-node1-keys-secrets"]["data"][
        "s-public-node1.pem"
    ]
    keys_dir = tmp_path / "keys"
    module = FakeModule(
        SecretsCore({"network-node1-keys-secrets": data}),
        node_aliases=["node1"],
        keys_dir=str(keys_dir),
        namespace="ns",
    )
    with pytest.raises(HieroError) as info:
        step.run(module)
    assert info.value.msg.startswith("Secret ns/network-node1-keys-secrets: ")
    assert not keys_dir.exists()


def test_aliases_default_to_the_remote_configs_consensus_nodes(tmp_path, monkeypatch):
    from ansible_collections.hiero.solo.plugins.module_utils import _remote_config

    doc = _remote_config.new_document("d", "ns", "ref", node_aliases=["node1", "node3"])

    class Core(SecretsCore):
        def read_namespaced_config_map(self, name, namespace):
            return SimpleNamespace(
                data={_remote_config.DATA_KEY: _remote_config.dumps(doc)},
                metadata=SimpleNamespace(resource_version="1"),
            )

    monkeypatch.setattr(_keys, "generate_node_keys", lambda alias, now=None: pytest.fail("check mode generated"))
    result = step.run(FakeModule(Core({}), check_mode=True, keys_dir=str(tmp_path / "k"), namespace="ns"))
    assert result["ansible_facts"]["hiero_solo_keys"]["node_aliases"] == ["node1", "node3"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"node_aliases": []}, "node_aliases"),
        ({"node_aliases": ["node1", "node1"]}, "node_aliases"),
        ({"node_aliases": ["Node 1"]}, "node_aliases"),
        ({"node_aliases": ["node1"], "namespace": "Bad_NS"}, "namespace"),
        ({"node_aliases": ["node1"], "run_id": "r1"}, "namespace"),  # the run-state lives in the namespace
        ({"node_aliases": ["node1"], "wait_for": ["deployment"]}, "wait_for"),
        ({}, "node_aliases"),  # neither aliases nor a namespace to read them from
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(tmp_path, params, field):
    keys_dir = tmp_path / "keys"
    with pytest.raises(InputError) as info:
        step.run(FakeModule(keys_dir=str(keys_dir), **params))
    assert info.value.field == field
    assert not keys_dir.exists()
