"""Issue 4 acceptance: phase A of a deploy through ansible-playbook against the sandbox.

config → Lease → cluster_ref connected → deployment present → cluster_ref setup → keys, run twice: the second run
changes nothing, and what the first wrote is what solo writes (remote config, solo-spec §4.2; local config, §4.4).
Bad input of every kind fails before the cluster is touched, naming the field.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import stat
import uuid
from pathlib import Path

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from tests.integration._ansible import ROOT, ansible_env, run_playbook

MINIO_CHART = ROOT / "tests" / "charts" / "minio-operator"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")

pytestmark = pytest.mark.timeout(240)


@pytest.fixture
def clients(sandbox):
    return get_clients({"kubeconfig": str(sandbox.kubeconfig)})


def client_objects(sandbox) -> set[tuple[str, str, str | None, str]]:
    """Every object an API client created (controller-made objects carry ownerReferences; events are noise)."""

    def collect() -> set[tuple[str, str, str | None, str]]:
        found = set()
        for rt in sandbox.state.registry.storage_types():
            if rt.plural == "events":
                continue
            items, _rv = sandbox.state.store.list(rt)
            for obj in items:
                meta = obj["metadata"]
                if not meta.get("ownerReferences"):
                    found.add((rt.group, rt.plural, meta.get("namespace"), meta["name"]))
        return found

    return sandbox.call(collect)


def write_requests(stats: dict) -> dict[str, int]:
    return {key: count for key, count in stats["requests"].items() if key.split(" ", 1)[0] in WRITE_VERBS}


def read_cluster_role(clients):
    try:
        return clients.rbac.read_cluster_role("pod-monitor-role")
    except Exception as exc:  # the sandbox answers 404 like any API server
        if getattr(exc, "status", None) == 404:
            return None
        raise


def helm_release(clients, namespace: str, name: str) -> dict | None:
    """The latest helm release record (helm's own Secret storage, label owner=helm)."""
    secrets = clients.core.list_namespaced_secret(namespace, label_selector=f"owner=helm,name={name}").items
    if not secrets:
        return None
    return max(secrets, key=lambda s: int(s.metadata.labels["version"])).metadata.labels


# --------------------------------------------------------------------------------------------- the happy path


def test_phase_a_twice_changes_nothing_the_second_time_and_writes_what_solo_writes(sandbox, clients, tmp_path):
    deployment = f"i4-{uuid.uuid4().hex[:6]}"
    solo_home = tmp_path / "solo"
    work = tmp_path / "work"
    env = ansible_env(sandbox.kubeconfig, work, SOLO_HOME=str(solo_home))
    extra = {"deployment": deployment, "solo_home": str(solo_home), "minio_chart": str(MINIO_CHART)}
    role_before = read_cluster_role(clients)
    operator_before = helm_release(clients, "solo-setup", "operator")

    first = run_playbook(sandbox.kubeconfig, work, "issue4_deploy.yml", extra, env=env)
    assert first.rc == 0, first.output
    one = first.result()
    assert one["connected"]["changed"] is True
    assert one["connected"]["context"] == "sandbox" and one["connected"]["server"] == sandbox.url
    assert one["deployment"]["changed"] is True
    assert one["deployment"]["changes"] == {"namespace": False, "remote_config": True, "local_config": True}
    # the cluster-wide pieces are shared by every deployment: created by this run unless an earlier test made them
    assert one["setup"]["changed"] is (role_before is None or operator_before is None)
    assert one["keys"]["changed"] is True
    assert one["keys"]["sources"] == {
        alias: {"gossip": "generated", "tls": "generated"} for alias in ("node1", "node2")
    }
    # the run's own lock: taken fresh and given back by every run (the playbook does not count it as a change)
    assert one["lease"]["action"] == "created" and one["released"]["released"] is True

    keys_dir = solo_home / "cache" / "keys"
    key_files = sorted(keys_dir.iterdir())
    stamps_before = {path.name: (path.stat().st_mtime_ns, path.read_bytes()) for path in key_files}

    second = run_playbook(sandbox.kubeconfig, work, "issue4_deploy.yml", extra, env=env)
    assert second.rc == 0, second.output
    recap = second.recap()
    assert recap["changed"] == 0 and recap["failed"] == 0, second.output
    two = second.result()
    assert two["lease"]["action"] == "created" and two["released"]["released"] is True
    for step in ("config", "connected", "deployment", "setup", "keys"):
        assert two[step]["changed"] is False, (step, two[step])
    assert two["deployment"]["changes"] == {"namespace": False, "remote_config": False, "local_config": False}
    assert two["setup"]["actions"] == []
    assert two["keys"]["sources"] == {alias: {"gossip": "files", "tls": "files"} for alias in ("node1", "node2")}
    assert {path.name: (path.stat().st_mtime_ns, path.read_bytes()) for path in keys_dir.iterdir()} == stamps_before
    print(f"\n[issue4] phase A: first run {first.seconds:.1f}s, converged re-run {second.seconds:.1f}s")

    # -- the namespace, as solo creates it, and no Lease left behind
    namespace = clients.core.read_namespace(deployment)
    assert namespace.metadata.labels["app.kubernetes.io/created-by"] == "solo"
    assert clients.coordination.list_namespaced_lease(deployment).items == []

    # -- the remote config: solo-spec §4.1/§4.2
    config_map = clients.core.read_namespaced_config_map("solo-remote-config", deployment)
    assert config_map.metadata.labels["solo.hedera.com/type"] == "remote-config"
    assert list(config_map.data) == ["remote-config-data"]
    text = config_map.data["remote-config-data"]
    doc = yaml.safe_load(text)
    assert list(doc) == sorted(doc), "keys are written sorted, as solo's yaml.stringify(sortMapEntries)"
    assert list(doc["state"]) == sorted(doc["state"])
    assert doc["schemaVersion"] == 8
    assert set(doc["metadata"]) == {"lastUpdatedAt", "lastUpdatedBy"}
    assert set(doc["metadata"]["lastUpdatedBy"]) == {"name", "hostname"}
    assert doc["versions"] == {
        "cli": "0.87.1",
        "chart": "0.0.0",
        "consensusNode": "0.0.0",
        "mirrorNodeChart": "0.0.0",
        "explorerChart": "0.0.0",
        "jsonRpcRelayChart": "0.0.0",
        "blockNodeChart": "0.0.0",
    }
    assert doc["clusters"] == [
        {
            "name": "one-shot",
            "namespace": deployment,
            "deployment": deployment,
            "dnsBaseDomain": "cluster.local",
            "dnsConsensusNodePattern": "network-{nodeAlias}-svc.{namespace}.svc",
        }
    ]
    state = doc["state"]
    assert state["ledgerPhase"] == "uninitialized"
    assert state["componentIds"] == {
        "consensusNodes": 3,  # N + 1
        "blockNodes": 1,  # one-shot registers without bumping the counters
        "mirrorNodes": 1,
        "relayNodes": 1,
        "haProxies": 1,
        "envoyProxies": 1,
        "explorers": 1,
        "postgres": 1,
        "redis": 1,
    }
    meta = {"namespace": deployment, "cluster": "one-shot", "phase": "requested"}
    assert state["consensusNodes"] == [
        {"metadata": {"id": 1, **meta}, "blockNodeMap": [], "externalBlockNodeMap": []},
        {"metadata": {"id": 2, **meta}, "blockNodeMap": [], "externalBlockNodeMap": []},
    ]
    assert state["mirrorNodes"] == [{"metadata": {"id": 1, **meta}}]
    assert state["explorers"] == [{"metadata": {"id": 1, **meta}}]
    assert state["relayNodes"] == [{"metadata": {"id": 1, **meta}, "consensusNodeIds": [0, 1]}]
    for kind in ("blockNodes", "haProxies", "envoyProxies", "postgres", "redis", "externalBlockNodes"):
        assert state[kind] == [], kind  # the block node toggle is off by default
    assert doc["history"] == {
        "commands": ["deployment cluster attach"],
        "lastExecutedCommand": "deployment cluster attach",
    }

    # -- the local config: solo-spec §4.4
    local = yaml.safe_load((solo_home / "local-config.yaml").read_text())
    assert local["schemaVersion"] == 2
    assert set(local["versions"]) == {
        "cli",
        "chart",
        "consensusNode",
        "mirrorNodeChart",
        "explorerChart",
        "jsonRpcRelayChart",
        "blockNodeChart",
    }
    assert set(local["userIdentity"]) == {"name", "hostname"}
    assert local["deployments"] == [
        {"name": deployment, "namespace": deployment, "clusters": ["one-shot"], "realm": 0, "shard": 0}
    ]
    assert local["clusterRefs"] == {"one-shot": "sandbox"}

    # -- cluster setup: the ClusterRole and the MinIO operator release as solo makes them
    role = clients.rbac.read_cluster_role("pod-monitor-role")
    assert role.metadata.labels["solo.hedera.com/type"] == "cluster-role"
    rules = sorted((tuple(r.resources), tuple(r.verbs)) for r in role.rules)
    assert rules == [
        (("pods", "services", "clusterroles", "pods/log", "secrets"), ("get", "list")),
        (("pods/exec",), ("create",)),
    ]
    assert helm_release(clients, "solo-setup", "operator")["status"] == "deployed"
    if operator_before is None:
        operator = clients.apps.read_namespaced_deployment("minio-operator", "solo-setup")
        assert operator.spec.replicas == 1  # solo's operator.replicaCount=1
        assert operator.metadata.labels["app.kubernetes.io/instance"] == "operator"

    # -- keys: 0700 directory, 0600 files, solo's names
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    assert sorted(p.name for p in key_files) == sorted(
        f"{prefix}{alias}{suffix}"
        for alias in ("node1", "node2")
        for prefix, suffix in (("s-private-", ".pem"), ("s-public-", ".pem"), ("hedera-", ".key"), ("hedera-", ".crt"))
    )
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in key_files)
    summary = two["keys"]["ansible_facts"]["hiero_solo_keys"]["nodes"][0]
    assert summary["gossip"]["subject"] == "CN=s-node1" and summary["tls"]["subject"] == "CN=node1"
    assert "PRIVATE KEY" not in json.dumps(one) + json.dumps(two), "private keys must never be returned"

    # -- run-state: phase A done, disabled steps skipped, the rest pending
    run_state = clients.core.read_namespaced_config_map("hiero-solo-run-state", deployment).data
    statuses = {step: json.loads(entry)["status"] for step, entry in run_state.items() if step != "run"}
    run_id = two["config"]["ansible_facts"]["hiero_solo_config"]["run_id"]
    assert json.loads(run_state["run"])["run_id"] == run_id
    assert {step: statuses[step] for step in ("cluster_ref", "deployment", "cluster_setup", "keys")} == dict.fromkeys(
        ("cluster_ref", "deployment", "cluster_setup", "keys"), "done"
    )
    assert statuses["block_node"] == "skipped" and statuses["pinger"] == "skipped"
    assert statuses["consensus_network"] == "pending" and statuses["mirror_node"] == "pending"


# --------------------------------------------------------------------------------------------- bad input


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kubeconfig_for(path: Path, server: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "gone", "cluster": {"server": server}}],
                "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "gone"}}],
                "current-context": "gone",
                "users": [{"name": "gone", "user": {}}],
            }
        )
    )
    return path


def test_bad_input_fails_naming_the_field_and_creates_nothing(sandbox, tmp_path):
    solo_home = tmp_path / "solo"  # empty: no cluster ref is connected
    keys_dir = tmp_path / "keys"
    files = tmp_path / "files"
    files.mkdir()
    (files / "malformed.yaml").write_text("network:\n  --release-tag: [unclosed\n")
    (files / "unknown-section.yaml").write_text("warpDrive:\n  --speed: 9\n")
    (files / "unknown-key.yaml").write_text("network:\n  --no-such-flag: 1\n")
    unreachable_server = f"http://127.0.0.1:{_closed_port()}"
    unreachable = _kubeconfig_for(tmp_path / "unreachable.kubeconfig", unreachable_server)
    home = {"solo_home": str(solo_home)}

    # (module, arguments, field the message must start with, other words it must contain)
    cases: list[tuple[str, dict, str, tuple[str, ...]]] = [
        ("config", {"deployment": "Bad_Name"}, "deployment", ("Bad_Name",)),
        ("config", {"consensus_node_version": "v0.x"}, "consensus_node_version", ("v0.x",)),
        ("config", {"num_consensus_nodes": 0}, "num_consensus_nodes", ("got 0",)),
        ("config", {"values_file": str(files / "missing.yaml")}, "values_file", ("does not exist",)),
        ("config", {"values_file": str(files / "malformed.yaml")}, "values_file", ("not valid YAML",)),
        ("config", {"values_file": str(files / "unknown-section.yaml")}, "values_file", ("warpDrive", "allowed")),
        ("config", {"values_file": str(files / "unknown-key.yaml")}, "values_file", ("--no-such-flag", "allowed")),
        ("config", {"toggles": {"deploy_everything": True}}, "toggles", ("deploy_everything", "deploy_relay")),
        (
            "config",
            {"chart_sources": {"minio_operator": {"path": str(files / "no-chart")}}},
            "chart_sources.minio_operator.path",
            (),
        ),
        ("config", {"run_id": "bad id!"}, "run_id", ()),
        ("cluster_ref", {"cluster_ref": "one-shot", "context": "no-such-context", **home}, "context", ("sandbox",)),
        (
            "cluster_ref",
            {"cluster_ref": "one-shot", "kubeconfig": str(unreachable), **home},
            "cluster_ref",
            (
                unreachable_server,
                "not reachable",
            ),
        ),
        (
            "deployment",
            {"deployment": "d", "cluster_ref": "one-shot", "components": {"warp_drive": True}, **home},
            "components.warp_drive",
            ("explorer",),
        ),
        ("deployment", {"deployment": "d", "cluster_ref": "one-shot", **home}, "cluster_ref", ("not connected",)),
        ("keys", {"node_aliases": ["Node 1"], "keys_dir": str(keys_dir), **home}, "node_aliases", ("Node 1",)),
    ]
    by_module: dict[str, list[dict]] = {"config": [], "cluster_ref": [], "deployment": [], "keys": []}
    for module, args, _field, _words in cases:
        by_module[module].append(args)
    extra = {f"{module}_cases": args for module, args in by_module.items()}

    before = client_objects(sandbox)
    sandbox.reset_stats()
    run = run_playbook(sandbox.kubeconfig, tmp_path / "work", "issue4_bad_input.yml", extra)
    stats = sandbox.stats()
    after = client_objects(sandbox)
    assert run.rc == 0, run.output  # every failure was expected (ignore_errors)
    recorded = run.result()

    assert len(cases) >= 15
    index = dict.fromkeys(by_module, 0)
    problems = []
    for module, args, field, words in cases:
        result = recorded[module][index[module]]
        index[module] += 1
        msg = result.get("msg", "")
        if not result.get("failed"):
            problems.append(f"{module} {args}: did not fail")
        elif not msg.startswith(f"{field}:") and not (field == "cluster_ref" and msg.startswith("cluster_ref ")):
            problems.append(f"{module} {args}: message does not name {field}: {msg}")
        elif not all(word in msg for word in words):
            problems.append(f"{module} {args}: message lacks {words}: {msg}")
    assert not problems, "\n".join(problems)

    assert write_requests(stats) == {}, "a failing task wrote to the cluster"
    assert after == before, f"objects appeared: {sorted(after - before)}; vanished: {sorted(before - after)}"
    assert not (solo_home / "local-config.yaml").exists()
    assert not keys_dir.exists()


def test_keys_already_in_the_deployments_secrets_are_reused_not_regenerated(sandbox, clients, tmp_path):
    """A network that runs keeps its keys: the Secrets' keys land on disk; nothing is generated."""
    from ansible_collections.hiero.solo.plugins.module_utils import _keys

    namespace = f"i4-keys-{uuid.uuid4().hex[:6]}"
    node = _keys.generate_node_keys("node1")
    clients.core.create_namespace({"metadata": {"name": namespace}})
    for name, secret in _keys.secrets_for([node]).items():
        body = {"metadata": {"name": name, "labels": secret["labels"]}, "type": "Opaque", "data": secret["data"]}
        clients.core.create_namespaced_secret(namespace, body)
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir(mode=0o700)
    # a stale gossip key from an earlier deployment: it must be kept aside, not silently lost
    (keys_dir / "s-private-node1.pem").write_text("stale")
    os.chmod(keys_dir / "s-private-node1.pem", 0o600)

    run = run_playbook(
        sandbox.kubeconfig,
        tmp_path / "work",
        "issue4_keys.yml",
        {"keys_namespace": namespace, "keys_dir": str(keys_dir), "node_aliases": ["node1"]},
    )
    assert run.rc == 0, run.output
    result = run.result()["keys"]
    assert result["changed"] is True
    assert result["sources"] == {"node1": {"gossip": "secret", "tls": "secret"}}
    for name, content in node.files().items():
        assert (keys_dir / name).read_text() == content, name
    backups = [Path(p) for p in result["backups"]]
    assert len(backups) == 1 and backups[0].name.startswith("unused-gossip-pem-")
    assert (backups[0] / "s-private-node1.pem").read_text() == "stale"
    # the Secret is untouched: the module only reads the cluster
    secret = clients.core.read_namespaced_secret("network-node1-keys-secrets", namespace)
    assert base64.b64decode(secret.data["s-private-node1.pem"]).decode() == node.gossip_private_key_pem
    assert "PRIVATE KEY" not in json.dumps(result)
