"""Issue 5 acceptance: consensus_network present -> consensus_node configured -> started through ansible-playbook
against the workload sandbox, after the steps of issue 4, for 1 node (with a block node) and 3 nodes (with MinIO);
the same play again changes nothing; block_node and consensus_network absent leave nothing behind. On the 1-node
deployment: a corrupt build fails before any pod is touched, and once the duration model keeps the node at
STARTING_UP, consensus_node started fails after its timeout, naming the pod and the last status seen.

What is asserted is what the sandbox holds (Secrets, releases, pods and their files, remote config, run-state),
read with the official client and kubectl, not only what the tasks return. The platform build is served over HTTP
(upstream's builds URL layout) from a directory written by tests/sandbox/platform_build.py.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from tests.charts.sources import local_chart_sources
from tests.integration._ansible import BIN, ansible_env, run_playbook
from tests.sandbox.platform_build import build_zip, write_platform_build

pytestmark = pytest.mark.timeout(300)

TAG = "v0.75.1"
HAPI = "/opt/hgcapp/services-hedera/HapiApp2.0"
KUBECTL = "/usr/bin/kubectl"

# The default model's shape, faster: a consensus pod starts in ~0.3 s and is ACTIVE ~0.5 s after its start.
MODEL = {
    "time_scale": 0.01,
    "pvc_bind": 2,
    "defaults": {"schedule": 0.5, "running": 5, "ready": 3, "terminate": 2},
    "rules": [
        {"selector": "solo.hedera.com/type=network-node", "running": 30, "ready": 5, "platform_active_after": 50},
        {"selector": "v1.min.io/tenant=minio", "running": 15, "ready": 10},
    ],
}


NEVER_ACTIVE_RULE = {"selector": "solo.hedera.com/type=network-node", "platform_never_active": True}
BLOCK_NODE_SELECTOR = "app.kubernetes.io/instance=block-node-1"


def _block_node_health(container, method, path, body):
    return (200, "OK") if path.split("?", 1)[0] == "/healthz/readyz" else (404, "Not Found\n")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A workload sandbox of our own, with a fast duration model and a block node health endpoint."""
    from tests.sandbox.fixture import _start

    server = _start(tmp_path_factory.mktemp("consensus-sandbox") / "kubeconfig", workloads=True, model=MODEL)
    # The block node's health endpoint (port 40983 from 0.39), which the sandbox does not script by itself.
    server.state.workloads.behaviours.add_http(BLOCK_NODE_SELECTOR, "block-node-server", 40983, _block_node_health)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """upstream's builds URL layout over HTTP: <url>/node/software/v0.75/build-v0.75.1.zip and .sha384."""
    root = tmp_path_factory.mktemp("builds")
    build = write_platform_build(root, TAG, builds_layout=True)
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/node/software/{{release_prefix}}/build-{{release_tag}}.zip"
    try:
        yield {"url": url, "sha384": build.sha384}
    finally:
        httpd.shutdown()
        httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def clients(cluster):
    return get_clients({"kubeconfig": str(cluster.kubeconfig)})


def _extra(deployment: str, nodes: int, solo_home: Path, builds: dict, **more) -> dict:
    return {
        "deployment": deployment,
        "num_consensus_nodes": nodes,
        "solo_home": str(solo_home),
        "chart_sources": local_chart_sources(),
        "platform_build_url": builds["url"],
        "install_retry_delay": 1,
        **more,
    }


def kubectl(cluster, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [KUBECTL, "--kubeconfig", str(cluster.kubeconfig), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def in_pod(cluster, namespace: str, pod: str, *command: str) -> str:
    """A command in the pod's root container through kubectl (an independent client)."""
    done = kubectl(cluster, "exec", "-n", namespace, pod, "-c", "root-container", "--", *command)
    assert done.returncode == 0, (command, done.stdout, done.stderr)
    return done.stdout


def secret_data(clients, namespace: str, name: str) -> dict[str, str]:
    return dict(clients.core.read_namespaced_secret(name, namespace).data or {})


def remote_config(clients, namespace: str) -> dict:
    cm = clients.core.read_namespaced_config_map("solo-remote-config", namespace)
    return yaml.safe_load(cm.data["remote-config-data"])


def run_state(clients, namespace: str) -> dict[str, dict]:
    cm = clients.core.read_namespaced_config_map("hiero-solo-run-state", namespace)
    return {key: json.loads(value) for key, value in cm.data.items() if key != "run"}


def helm_releases(clients, namespace: str) -> dict[str, str]:
    """name -> status of the latest revision, from helm's own release Secrets."""
    latest: dict[str, tuple[int, str]] = {}
    for secret in clients.core.list_namespaced_secret(namespace, label_selector="owner=helm").items:
        labels = secret.metadata.labels
        version = int(labels["version"])
        if labels["name"] not in latest or latest[labels["name"]][0] < version:
            latest[labels["name"]] = (version, labels["status"])
    return {name: status for name, (_v, status) in latest.items()}


def exec_requests(cluster) -> int:
    return sum(count for key, count in cluster.stats()["requests"].items() if "pods/exec" in key)


def namespace_exists(clients, namespace: str) -> bool:
    try:
        clients.core.read_namespace(namespace)
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            return False
        raise
    return True


# ----------------------------------------------------------------------------------------------- the happy path


def check_deployed(
    cluster,
    clients,
    namespace: str,
    aliases: list[str],
    solo_home: Path,
    builds: dict,
    *,
    in_pods: bool = True,
    with_block_node: bool = False,
) -> None:
    keys_dir = solo_home / "cache" / "keys"

    def file_b64(name: str) -> str:
        return base64.b64encode((keys_dir / name).read_bytes()).decode()

    # key Secrets, from the keys the keys step wrote
    for alias in aliases:
        secret = clients.core.read_namespaced_secret(f"network-{alias}-keys-secrets", namespace)
        assert secret.metadata.labels["solo.hedera.com/node-name"] == alias
        assert secret.type == "Opaque"
        expected = {f"s-private-{alias}.pem": file_b64(f"s-private-{alias}.pem")}
        expected |= {f"s-public-{other}.pem": file_b64(f"s-public-{other}.pem") for other in aliases}
        assert secret.data == expected
    tls = secret_data(clients, namespace, "network-node-hapi-app-secrets")
    assert tls == {name: file_b64(name) for alias in aliases for name in (f"hedera-{alias}.key", f"hedera-{alias}.crt")}

    # the release and its workloads
    assert helm_releases(clients, namespace)["solo-deployment"] == "deployed"
    pods = {pod.metadata.name: pod for pod in clients.core.list_namespaced_pod(namespace).items}
    for alias in aliases:
        assert pods[f"network-{alias}-0"].status.phase == "Running"
    for kind in ("haproxy", "envoy-proxy"):
        running = [p for p in pods.values() if p.metadata.labels.get("solo.hedera.com/type") == kind]
        assert sorted(p.metadata.labels["solo.hedera.com/node-name"] for p in running) == aliases, kind
        assert all(p.status.phase == "Running" for p in running)
    minio = any(p.metadata.labels.get("v1.min.io/tenant") == "minio" for p in pods.values())
    assert minio is not with_block_node, "a TSS block node streaming blocks replaces MinIO (solo's rule)"

    # what the nodes hold: the build, the extracted platform, the genesis file for every node, ACTIVE
    for alias in aliases if in_pods else ():
        pod = f"network-{alias}-0"
        # one exec per node (each costs a kubectl process); the parts are split on a marker line
        script = "; echo @@; ".join(
            [
                f"sha384sum /home/hedera/build-{TAG}.zip",
                f"ls {HAPI}/data/apps",
                f"cat {HAPI}/VERSION",
                f"cat {HAPI}/data/config/genesis-network.json",
                f"cat {HAPI}/data/config/.archive/genesis-network.json",
                f"ls -l {HAPI}/data/config",
                "curl -s http://localhost:9999/metrics",
            ]
        )
        parts = in_pod(cluster, namespace, pod, "sh", "-c", script).split("@@\n")
        sums, apps, version, genesis, archived, listing, metrics = parts
        assert sums.split()[0] == builds["sha384"]
        assert "HederaNode.jar" in apps
        assert version.startswith("VERSION=0.75.1")
        genesis = json.loads(genesis)
        assert [entry["node"]["description"] for entry in genesis["nodeMetadata"]] == aliases
        assert json.loads(archived) == genesis
        assert "hedera hedera" in listing and "genesis-network.json" in listing
        assert 'platform_PlatformStatus{node="' in metrics and "} 2.0" in metrics
    for alias in aliases:
        admin = clients.core.read_namespaced_secret(f"account-key-0.0.{2 + int(alias[4:])}", namespace)
        assert set(admin.data) == {"privateKey", "publicKey"}
        assert admin.metadata.labels["solo.hedera.com/account-id"] == f"0.0.{2 + int(alias[4:])}"

    # solo's remote config: phases, proxies, versions, ledger
    doc = remote_config(clients, namespace)
    state = doc["state"]
    assert [node["metadata"]["phase"] for node in state["consensusNodes"]] == ["started"] * len(aliases)
    assert state["ledgerPhase"] == "initialized"
    for kind in ("haProxies", "envoyProxies"):
        assert [c["metadata"]["phase"] for c in state[kind]] == ["deployed"] * len(aliases), kind
    assert doc["versions"]["consensusNode"] == "0.75.1"
    if with_block_node:
        check_block_node(cluster, clients, namespace, aliases, doc)

    # the run's steps as recorded in the run-state
    steps = run_state(clients, namespace)
    for step in ("platform_download", "consensus_network", "consensus_node_configured", "consensus_node_started"):
        assert steps[step]["status"] == "done", (step, steps[step])


def destroy_and_check(cluster, clients, work, env, namespace: str, with_block_node: bool = False) -> None:
    """block_node absent, then consensus_network absent twice: the first removes everything, the second finds
    nothing to do."""
    destroyed = run_playbook(
        cluster.kubeconfig, work, "consensus_destroy.yml", {"target_namespace": namespace}, env=env
    )
    assert destroyed.rc == 0, destroyed.output
    result = destroyed.result()
    assert result["block_node"]["changed"] is with_block_node, result["block_node"]
    assert result["destroyed"]["changed"] is True
    assert result["destroyed_again"]["changed"] is False, "destroy converges when everything is gone"
    assert not namespace_exists(clients, namespace)
    for lister in (
        clients.core.list_persistent_volume_claim_for_all_namespaces,
        clients.core.list_secret_for_all_namespaces,
        clients.core.list_config_map_for_all_namespaces,
        clients.core.list_pod_for_all_namespaces,
    ):
        assert [o.metadata.name for o in lister().items if o.metadata.namespace == namespace] == [], lister
    helm_list = subprocess.run(
        [str(BIN / "helm"), "list", "-a", "-n", namespace, "-o", "json", "--kubeconfig", str(cluster.kubeconfig)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert helm_list.returncode == 0 and json.loads(helm_list.stdout or "[]") == [], helm_list.stderr


def corrupt_build_is_refused(cluster, clients, work, env, builds, namespace: str, tmp_path: Path) -> None:
    """consensus_node configured with a corrupt zip fails naming the file and both checksums; no pod is touched."""
    corrupt = tmp_path / "corrupt" / f"build-{TAG}.zip"
    corrupt.parent.mkdir()
    corrupt.write_bytes(build_zip(TAG)[:-10] + b"0123456789")
    (corrupt.parent / f"build-{TAG}.sha384").write_text(f"{builds['sha384']}  build-{TAG}.zip\n")
    pod_sum_before = in_pod(cluster, namespace, "network-node1-0", "sha384sum", f"/home/hedera/build-{TAG}.zip")
    execs_before = exec_requests(cluster)
    failed = run_playbook(
        cluster.kubeconfig,
        work,
        "consensus_node_step.yml",
        {
            "node_state": "configured",
            "target_namespace": namespace,
            "node_aliases": ["node1"],
            "release_tag": TAG,
            "build_path": str(corrupt),
        },
        env=env,
    )
    assert failed.rc != 0
    step = failed.result()["step"]
    assert step["failed"] is True
    actual = hashlib.sha384(corrupt.read_bytes()).hexdigest()
    assert str(corrupt) in step["msg"] and builds["sha384"] in step["msg"] and actual in step["msg"], step["msg"]
    assert exec_requests(cluster) == execs_before, "no command ran in any pod"
    assert in_pod(cluster, namespace, "network-node1-0", "sha384sum", f"/home/hedera/build-{TAG}.zip") == pod_sum_before


def check_block_node(cluster, clients, namespace: str, aliases: list[str], doc: dict) -> None:
    """The block node release, its pod, the RSA roster seed, and where the remote config records it."""
    assert helm_releases(clients, namespace)["block-node-1"] == "deployed"
    pods = clients.core.list_namespaced_pod(namespace, label_selector=BLOCK_NODE_SELECTOR).items
    assert [p.status.phase for p in pods] == ["Running"]
    statefulset = clients.apps.read_namespaced_stateful_set("block-node-1", namespace)
    init = statefulset.spec.template.spec.init_containers
    assert [c.name for c in init] == ["init-storage-dirs"] and "rsa-bootstrap-roster.json" in init[0].command[2]
    blocks = doc["state"]["blockNodes"]
    assert [(b["metadata"]["id"], b["metadata"]["phase"]) for b in blocks] == [(1, "deployed")]
    assert doc["versions"]["blockNodeChart"] == "0.39.0"
    assert [node["blockNodeMap"] for node in doc["state"]["consensusNodes"]] == [[[1, 1]]] * len(aliases)
    assert doc["state"]["tssEnabled"] is True
    # the consensus nodes are told where the block node is (the chart's blockNodesJson value)
    helm = [str(BIN / "helm"), "--kubeconfig", str(cluster.kubeconfig)]
    done = subprocess.run(
        [*helm, "get", "values", "solo-deployment", "-n", namespace, "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout)
    assert values["cloud"]["minio"]["enabled"] is False
    for node in values["hedera"]["nodes"]:
        entries = json.loads(node["blockNodesJson"])["nodes"]
        assert [(e["address"], e["streamingPort"], e["priority"]) for e in entries] == [
            (f"block-node-1.{namespace}.svc.cluster.local", 40840, 1)
        ]


def never_active_start_fails(cluster, clients, work, env, namespace: str, run_id: str) -> None:
    """The duration model now keeps this namespace's nodes at STARTING_UP: consensus_node started restarts the
    node, then fails after its timeout naming the pod and the last status seen; check mode only plans."""
    never = {**MODEL, "rules": [{**NEVER_ACTIVE_RULE, "namespace": namespace}, *MODEL["rules"]]}
    cluster.call(cluster.state.workloads.set_model, never)
    try:
        step_vars = {"node_state": "started", "target_namespace": namespace, "node_aliases": ["node1"]}
        step_vars |= {"release_tag": TAG, "run_id": run_id}
        planned = run_playbook(
            cluster.kubeconfig, work, "consensus_node_step.yml", {**step_vars, "plan_only": True}, env=env
        )
        assert planned.rc == 0, planned.output
        plan = planned.result()["step"]
        assert plan["changed"] is True
        assert plan["actions"] == [f"start consensus node node1 (pod {namespace}/network-node1-0, was STARTING_UP (1))"]
        assert run_state(clients, namespace)["consensus_node_started"]["status"] == "done", "check mode records nothing"

        failed = run_playbook(
            cluster.kubeconfig, work, "consensus_node_step.yml", {**step_vars, "wait_timeout": 3}, env=env
        )
        assert failed.rc != 0, failed.output
        step = failed.result()["step"]
        assert step["failed"] is True
        assert f"pod {namespace}/network-node1-0" in step["msg"], step["msg"]
        assert "to become ACTIVE; last status seen: STARTING_UP (1)" in step["msg"], step["msg"]
        assert "timed out after 3s" in step["msg"]
        entry = run_state(clients, namespace)["consensus_node_started"]
        assert entry["status"] == "failed" and "STARTING_UP" in entry["error"], (entry, step.get("invocation"))
        metrics = in_pod(cluster, namespace, "network-node1-0", "curl", "-s", "http://localhost:9999/metrics")
        assert "} 1.0" in metrics, "the node really is still starting"
        assert "running" in in_pod(cluster, namespace, "network-node1-0", "/command/network-node-lifecycle", "status")
    finally:
        cluster.call(cluster.state.workloads.set_model, MODEL)


@pytest.mark.parametrize("nodes", [1, 3])
def test_deploy_converge_destroy(cluster, clients, builds, tmp_path, nodes):
    deployment = f"cn{nodes}-{uuid.uuid4().hex[:6]}"
    aliases = [f"node{i}" for i in range(1, nodes + 1)]
    solo_home = tmp_path / "solo"
    work = tmp_path / "work"
    env = ansible_env(cluster.kubeconfig, work, SOLO_HOME=str(solo_home))
    # The 1-node deployment also has a block node (which, as in solo, turns MinIO off); the 3-node one has MinIO.
    with_block_node = nodes == 1
    extra = _extra(deployment, nodes, solo_home, builds, deploy_block_node=with_block_node)

    first = run_playbook(cluster.kubeconfig, work, "consensus_deploy.yml", extra, env=env, timeout=240)
    assert first.rc == 0, first.output
    one = first.result()
    assert one["download"]["downloaded"] is True and one["download"]["sha384"] == builds["sha384"]
    assert one["network"]["changed"] is True
    assert any(a.startswith("install release") for a in one["network"]["actions"])
    assert one["configured"]["configured_nodes"] == aliases
    assert one["started"]["statuses"] == dict.fromkeys(aliases, "ACTIVE (2)")
    check_deployed(cluster, clients, deployment, aliases, solo_home, builds, with_block_node=with_block_node)
    if with_block_node:
        assert one["block_node"]["changed"] is True
    releases_before = helm_releases(clients, deployment)
    pods_before = sorted(pod.metadata.uid for pod in clients.core.list_namespaced_pod(deployment).items)

    second = run_playbook(cluster.kubeconfig, work, "consensus_deploy.yml", extra, env=env, timeout=240)
    assert second.rc == 0, second.output
    recap = second.recap()
    assert recap["changed"] == 0 and recap["failed"] == 0, second.output
    two = second.result()
    assert two["download"]["downloaded"] is False, "the verified cached build is reused"
    for step in ("network", "configured", "started", *(("block_node",) if with_block_node else ())):
        assert two[step]["changed"] is False and two[step]["actions"] == [], (step, two[step])
    assert helm_releases(clients, deployment) == releases_before
    assert sorted(pod.metadata.uid for pod in clients.core.list_namespaced_pod(deployment).items) == pods_before
    # the same pods, untouched by the re-run: their files were checked above
    check_deployed(
        cluster, clients, deployment, aliases, solo_home, builds, in_pods=False, with_block_node=with_block_node
    )
    print(f"\n[issue5] {nodes} node(s): deploy {first.seconds:.1f}s, converged re-run {second.seconds:.1f}s")

    if nodes == 1:  # one deployment is enough to show the failures, and every playbook run costs seconds
        corrupt_build_is_refused(cluster, clients, work, env, builds, deployment, tmp_path)
        assert remote_config(clients, deployment)["state"]["consensusNodes"][0]["metadata"]["phase"] == "started"
        run_id = two["config"]["ansible_facts"]["hiero_solo_config"]["run_id"]
        never_active_start_fails(cluster, clients, work, env, deployment, run_id)

    destroy_and_check(cluster, clients, work, env, deployment, with_block_node)
