"""Workloads in the sandbox: controllers, kubelet, duration model, exec and port-forward, through real clients.

One sandbox with a fast duration model serves the module; every delay below comes from MODEL, and
the tests measure them. Each test works in its own namespace.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import portforward, stream

from ansible_collections.hiero.solo.plugins.module_utils import _waiter
from tests.sandbox import SandboxServer, SandboxState
from tests.sandbox.workloads import enable_workloads

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "tests" / "charts" / "contract-demo"
HELM = REPO_ROOT / ".venv" / "bin" / "helm"
KUBECTL = "/usr/bin/kubectl"
SCALE = 0.05
MODEL = {
    "time_scale": SCALE,
    "pvc_bind": 2,
    "defaults": {
        "schedule": 0.5,
        "running": 4,
        "ready": 4,
        "complete": 6,
        "terminate": 4,
        "platform_active_after": 20,
    },
    "rules": [
        {"selector": "sandbox-test/outcome=fail", "exit_code": 1},
        {"selector": "sandbox-test/stop=slow", "terminate": 20},
    ],
}
START_TO_READY_S = (0.5 + 4 + 4) * SCALE  # schedule + running + ready
PLATFORM_ACTIVE_S = 20 * SCALE
NODE_LABELS = {"solo.hedera.com/type": "network-node", "solo.hedera.com/node-name": "node1"}
HAPI = "/opt/hgcapp/services-hedera/HapiApp2.0"
STATUS_COMMAND = r"curl -s http://localhost:9999/metrics | grep platform_PlatformStatus | grep -v \#"
TAG = "v0.66.0"


# --- fixtures and helpers ----------------------------------------------------------------------------------


def start_server(tmp_path: Path, model: dict) -> SandboxServer:
    state = SandboxState()
    enable_workloads(state, model)
    return SandboxServer(state=state).start(kubeconfig=tmp_path / "kubeconfig")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    started = start_server(tmp_path_factory.mktemp("workloads"), MODEL)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def api(server: SandboxServer) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(server.kubeconfig))


@pytest.fixture(scope="module")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture(scope="module")
def batch(api: client.ApiClient) -> client.BatchV1Api:
    return client.BatchV1Api(api)


@pytest.fixture()
def namespace(core: client.CoreV1Api) -> str:
    name = f"w-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    return name


def wait_until(check: Callable[[], object], timeout: float = 10.0, interval: float = 0.02) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def as_dict(api: client.ApiClient, obj: object) -> dict:
    return api.sanitize_for_serialization(obj)


def deployment(name: str, replicas: int, image: str = "registry.invalid/web:1") -> dict:
    labels = {"app": name}
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


def node_pod(name: str = "network-node1-0") -> dict:
    return {
        "metadata": {"name": name, "labels": NODE_LABELS},
        "spec": {
            "containers": [
                {"name": "root-container", "image": "ghcr.io/hashgraph/solo-containers/ubi8-init-java21:0.38.0"},
                {"name": "record-stream-uploader", "image": "gcr.io/hedera-registry/uploader-mirror:1.3.0"},
            ]
        },
    }


def run_pod(core: client.CoreV1Api, namespace: str, body: dict) -> str:
    core.create_namespaced_pod(namespace, body)
    name = body["metadata"]["name"]
    wait_until(lambda: core.read_namespaced_pod(name, namespace).status.phase == "Running")
    return name


def execute(
    core: client.CoreV1Api,
    namespace: str,
    pod: str,
    command: list[str],
    *,
    container: str = "root-container",
    stdin: bytes | None = None,
) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a command, over the Python client's websocket stream."""
    response = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=command,
        container=container,
        stdin=stdin is not None,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
    )
    if stdin is not None:
        response.write_stdin(stdin)
    response.run_forever(timeout=20)
    return response.returncode, response.read_stdout(), response.read_stderr()


def platform_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (
            ("VERSION", b"VERSION=0.66.0\n"),
            ("immediate.sh", b"#!/usr/bin/env bash\nexit 0\n"),
            ("during-freeze.sh", b"#!/usr/bin/env bash\nexit 0\n"),
            ("data/apps/HederaNode.jar", b"PK-apps"),
            ("data/lib/swirlds-platform-core.jar", b"PK-lib"),
        ):
            archive.writestr(name, data)
    return buffer.getvalue()


def upload_tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def platform_status(core: client.CoreV1Api, namespace: str, pod: str) -> tuple[int, str]:
    code, out, _ = execute(core, namespace, pod, ["bash", "-c", STATUS_COMMAND])
    return code, out.strip()


# --- controllers and kubelet ---------------------------------------------------------------------------------


def test_deployment_becomes_ready_after_the_model_delay(
    api: client.ApiClient, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str
) -> None:
    started = time.monotonic()
    apps.create_namespaced_deployment(namespace, deployment("web", 2))
    first = as_dict(api, apps.read_namespaced_deployment("web", namespace))
    assert not _waiter.deployment_ready(first)
    list_fn, watch_fn = _waiter.watched(apps.list_namespaced_deployment, namespace, field_selector="metadata.name=web")
    ready = _waiter.wait_for(list_fn, _waiter.deployment_ready, "deployment web", 10, watch_fn=watch_fn)
    elapsed = time.monotonic() - started
    assert START_TO_READY_S <= elapsed < START_TO_READY_S + 3, elapsed
    status = ready[0]["status"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"], status["updatedReplicas"]) == (
        2,
        2,
        2,
        2,
    )
    assert status["observedGeneration"] == ready[0]["metadata"]["generation"]
    conditions = {c["type"]: c["reason"] for c in status["conditions"]}
    assert conditions == {"Available": "MinimumReplicasAvailable", "Progressing": "NewReplicaSetAvailable"}

    (replica_set,) = apps.list_namespaced_replica_set(namespace).items
    pod_hash = replica_set.metadata.labels["pod-template-hash"]
    assert replica_set.metadata.name == f"web-{pod_hash}"
    assert replica_set.metadata.owner_references[0].kind == "Deployment"
    assert replica_set.metadata.annotations["deployment.kubernetes.io/revision"] == "1"
    pods = core.list_namespaced_pod(namespace, label_selector="app=web").items
    assert len(pods) == 2
    for pod in pods:
        assert pod.metadata.name.startswith(f"web-{pod_hash}-")
        assert pod.metadata.owner_references[0].uid == replica_set.metadata.uid
        assert pod.spec.node_name == "sandbox-node"
        assert pod.status.pod_ip.startswith("10.244.") and pod.status.host_ip == "172.18.0.2"
        assert _waiter.pod_ready(as_dict(api, pod))
        assert [c.ready for c in pod.status.container_statuses] == [True]
    assert len({pod.status.pod_ip for pod in pods}) == 2


def test_scaling_and_template_changes_roll_the_pods(
    api: client.ApiClient, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str
) -> None:
    apps.create_namespaced_deployment(namespace, deployment("roll", 1))

    def rolled_out(replicas: int) -> dict | None:
        current = as_dict(api, apps.read_namespaced_deployment("roll", namespace))
        return current if _waiter.deployment_ready(current) and current["status"]["replicas"] == replicas else None

    wait_until(lambda: rolled_out(1))
    apps.patch_namespaced_deployment_scale("roll", namespace, {"spec": {"replicas": 3}})
    wait_until(lambda: rolled_out(3))
    assert len(core.list_namespaced_pod(namespace).items) == 3

    old_pods = {p.metadata.name for p in core.list_namespaced_pod(namespace).items}
    new_template = {
        "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "registry.invalid/web:2"}]}}}
    }
    apps.patch_namespaced_deployment("roll", namespace, new_template)
    rolled = wait_until(lambda: rolled_out(3), timeout=15)
    assert rolled["status"]["updatedReplicas"] == 3
    wait_until(lambda: not old_pods & {p.metadata.name for p in core.list_namespaced_pod(namespace).items}, timeout=5)
    pods = core.list_namespaced_pod(namespace).items
    assert len(pods) == 3 and {p.spec.containers[0].image for p in pods} == {"registry.invalid/web:2"}
    sets = {
        rs.metadata.annotations["deployment.kubernetes.io/revision"]: rs
        for rs in apps.list_namespaced_replica_set(namespace).items
    }
    assert (sets["1"].spec.replicas, sets["2"].spec.replicas) == (0, 3)
    assert {p.metadata.labels["pod-template-hash"] for p in pods} == {sets["2"].metadata.labels["pod-template-hash"]}

    apps.patch_namespaced_deployment_scale("roll", namespace, {"spec": {"replicas": 1}})
    wait_until(lambda: rolled_out(1) and len(core.list_namespaced_pod(namespace).items) == 1, timeout=5)


def test_deleting_an_owner_removes_its_pods_after_their_grace(
    core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str
) -> None:
    body = deployment("gone", 2)
    body["spec"]["template"]["metadata"]["labels"]["sandbox-test/stop"] = "slow"  # terminate: 20 s nominal
    apps.create_namespaced_deployment(namespace, body)
    wait_until(lambda: (apps.read_namespaced_deployment("gone", namespace).status.ready_replicas or 0) == 2)
    started = time.monotonic()
    apps.delete_namespaced_deployment("gone", namespace)
    assert apps.list_namespaced_replica_set(namespace).items == []
    terminating = core.list_namespaced_pod(namespace).items
    assert len(terminating) == 2 and all(p.metadata.deletion_timestamp for p in terminating)
    assert {p.metadata.deletion_grace_period_seconds for p in terminating} == {30}
    wait_until(lambda: core.list_namespaced_pod(namespace).items == [], timeout=5)
    assert time.monotonic() - started >= 20 * SCALE  # the model's terminate delay for these pods

    run_pod(core, namespace, {"metadata": {"name": "forced"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    core.delete_namespaced_pod("forced", namespace, grace_period_seconds=0)
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_pod("forced", namespace)
    assert caught.value.status == 404


def test_statefulset_pods_in_order_with_bound_claims(
    api: client.ApiClient, core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str
) -> None:
    labels = {"app": "db"}
    body = {
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 2,
            "serviceName": "db",
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "db", "image": "postgres"}]}},
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
                }
            ],
        },
    }
    start_rv = core.list_namespaced_pod(namespace).metadata.resource_version
    apps.create_namespaced_stateful_set(namespace, body)
    list_fn, watch_fn = _waiter.watched(apps.list_namespaced_stateful_set, namespace)
    _waiter.wait_for(list_fn, _waiter.statefulset_ready, "statefulset db", 10, watch_fn=watch_fn)

    events = []
    for event in watch.Watch().stream(
        core.list_namespaced_pod, namespace, resource_version=start_rv, timeout_seconds=1
    ):
        events.append((event["type"], event["object"].metadata.name, _waiter.pod_ready(as_dict(api, event["object"]))))
    added = [name for kind, name, _ in events if kind == "ADDED"]
    assert added == ["db-0", "db-1"]
    db0_ready_at = next(i for i, (_, name, ready) in enumerate(events) if name == "db-0" and ready)
    assert db0_ready_at < events.index(("ADDED", "db-1", False))  # OrderedReady: db-1 waits for db-0

    for ordinal in (0, 1):
        pod = core.read_namespaced_pod(f"db-{ordinal}", namespace)
        assert pod.spec.hostname == f"db-{ordinal}" and pod.spec.subdomain == "db"
        assert pod.metadata.labels["apps.kubernetes.io/pod-index"] == str(ordinal)
        claim = next(v for v in pod.spec.volumes if v.name == "data").persistent_volume_claim.claim_name
        assert claim == f"data-db-{ordinal}"
        pvc = core.read_namespaced_persistent_volume_claim(claim, namespace)
        assert pvc.status.phase == "Bound" and _waiter.pvc_bound(as_dict(api, pvc))
        volume = core.read_persistent_volume(pvc.spec.volume_name)
        assert volume.spec.claim_ref.name == claim and volume.status.phase == "Bound"
    status = apps.read_namespaced_stateful_set("db", namespace).status
    assert status.current_revision == status.update_revision and status.ready_replicas == 2
    before = {p.metadata.name: p.metadata.uid for p in core.list_namespaced_pod(namespace).items}

    image = {"spec": {"template": {"spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}}}
    apps.patch_namespaced_stateful_set("db", namespace, image)
    updating = as_dict(api, apps.read_namespaced_stateful_set("db", namespace))
    assert updating["status"]["updateRevision"] != status.update_revision
    assert not _waiter.statefulset_ready(updating)
    _waiter.wait_for(list_fn, _waiter.statefulset_ready, "statefulset db", 10, watch_fn=watch_fn)
    after = {p.metadata.name: p for p in core.list_namespaced_pod(namespace).items}
    assert sorted(after) == ["db-0", "db-1"] and all(after[n].metadata.uid != before[n] for n in after)
    assert {p.spec.containers[0].image for p in after.values()} == {"postgres:17"}
    assert [c.metadata.name for c in core.list_namespaced_persistent_volume_claim(namespace).items] == [
        "data-db-0",
        "data-db-1",
    ]  # the replaced pods mount the same claims

    apps.delete_namespaced_stateful_set("db", namespace)
    wait_until(lambda: core.list_namespaced_pod(namespace).items == [], timeout=5)
    claims = [c.metadata.name for c in core.list_namespaced_persistent_volume_claim(namespace).items]
    assert claims == ["data-db-0", "data-db-1"]  # retained, as with the default retention policy


def test_daemonset_runs_one_pod_on_the_node(core: client.CoreV1Api, apps: client.AppsV1Api, namespace: str) -> None:
    labels = {"app": "agent"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "agent", "image": "fluent-bit"}]}}
    apps.create_namespaced_daemon_set(
        namespace, {"metadata": {"name": "agent"}, "spec": {"selector": {"matchLabels": labels}, "template": template}}
    )
    wait_until(lambda: apps.read_namespaced_daemon_set("agent", namespace).status.number_ready == 1)
    status = apps.read_namespaced_daemon_set("agent", namespace).status
    assert (status.desired_number_scheduled, status.updated_number_scheduled, status.number_available) == (1, 1, 1)
    (pod,) = core.list_namespaced_pod(namespace).items
    assert pod.spec.node_name == "sandbox-node" and pod.metadata.owner_references[0].kind == "DaemonSet"


def test_jobs_complete_or_fail_by_the_model(api: client.ApiClient, batch: client.BatchV1Api, namespace: str) -> None:
    def job(name: str, labels: dict[str, str]) -> dict:
        template = {
            "metadata": {"labels": labels},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "j", "image": "busybox"}]},
        }
        return {"metadata": {"name": name}, "spec": {"backoffLimit": 0, "template": template}}

    started = time.monotonic()
    batch.create_namespaced_job(namespace, job("ok", {"purpose": "ok"}))
    batch.create_namespaced_job(namespace, job("bad", {"sandbox-test/outcome": "fail"}))
    list_fn, watch_fn = _waiter.watched(batch.list_namespaced_job, namespace, field_selector="metadata.name=ok")
    (done,) = _waiter.wait_for(list_fn, _waiter.job_complete, "job ok", 10, watch_fn=watch_fn)
    assert time.monotonic() - started >= (0.5 + 4 + 6) * SCALE  # schedule + running + complete
    assert done["status"]["succeeded"] == 1 and done["status"].get("completionTime")
    failed = wait_until(lambda: _waiter.job_failed(as_dict(api, batch.read_namespaced_job("bad", namespace))))
    assert failed
    bad = batch.read_namespaced_job("bad", namespace)
    assert bad.status.failed == 1 and not _waiter.job_complete(as_dict(api, bad))
    assert "BackoffLimitExceeded" in _waiter.summarize(as_dict(api, bad))


def test_helm_upgrade_install_wait_succeeds(
    server: SandboxServer, apps: client.AppsV1Api, tmp_path: Path, namespace: str
) -> None:
    env = dict(
        os.environ, HOME=str(tmp_path), HELM_CACHE_HOME=str(tmp_path / "c"), HELM_CONFIG_HOME=str(tmp_path / "g")
    )
    env.pop("KUBECONFIG", None)
    command = [str(HELM), "--kubeconfig", str(server.kubeconfig), "upgrade", "--install", "demo", str(CHART)]
    result = subprocess.run(
        [*command, "-n", namespace, "--wait", "--timeout", "60s", "--set", "replicas=2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    status = apps.read_namespaced_deployment("demo", namespace).status
    assert (status.ready_replicas, status.available_replicas) == (2, 2)


# --- exec ----------------------------------------------------------------------------------------------------------


def test_exec_runs_shell_commands_like_a_container(core: client.CoreV1Api, namespace: str) -> None:
    pod = run_pod(core, namespace, node_pod())
    text = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=["echo", "hello", "sandbox"],
        container="root-container",
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    assert text == "hello sandbox\n"
    assert execute(core, namespace, pod, ["sh", "-c", "nosuchcmd --version"]) == (127, "", "sh: nosuchcmd: not found\n")
    code, out, err = execute(
        core, namespace, pod, ["sh", "-c", "mkdir -p /tmp/a/b && echo hi > /tmp/a/b/f; cat /tmp/a/b/f; false || exit 3"]
    )
    assert (code, out, err) == (3, "hi\n", "")
    code, out, _ = execute(
        core, namespace, pod, ["sh", "-c", "test -d /tmp/a && test -f /tmp/a/b/f && ! test -e /nope && echo yes"]
    )
    assert (code, out) == (0, "yes\n")
    # A missing binary is a runtime failure (InternalError on the status channel), not an exit code.
    response = stream(
        core.connect_get_namespaced_pod_exec,
        pod,
        namespace,
        command=["nosuchcmd"],
        container="root-container",
        stdin=False,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
    )
    response.run_forever(timeout=10)
    status = yaml.safe_load(response.read_channel(3))
    assert (status["status"], status["reason"]) == ("Failure", "InternalError")
    assert 'exec: "nosuchcmd": executable file not found in $PATH' in status["message"]
    other = execute(core, namespace, pod, ["cat", "/etc/hostname"], container="record-stream-uploader")
    assert other == (0, "network-node1-0\n", "")


def test_exec_errors_before_the_stream(core: client.CoreV1Api, namespace: str) -> None:
    pod = run_pod(core, namespace, node_pod())
    for container, fragment in ((None, "a container name must be specified"), ("nope", "not valid for pod")):
        with pytest.raises(ApiException) as caught:
            stream(
                core.connect_get_namespaced_pod_exec,
                pod,
                namespace,
                command=["true"],
                container=container,
                stdin=False,
                stdout=True,
                stderr=True,
                tty=False,
            )
        assert "Handshake status 400" in str(caught.value) and fragment in str(caught.value)
    with pytest.raises(ApiException) as caught:
        stream(core.connect_get_namespaced_pod_exec, "missing", namespace, command=["true"], stdout=True)
    assert "Handshake status 404" in str(caught.value) and 'pods \\"missing\\" not found' in str(caught.value)


def test_platform_upload_extract_start_and_metrics(core: client.CoreV1Api, namespace: str) -> None:
    pod = run_pod(core, namespace, node_pod())
    code, _, err = execute(core, namespace, pod, ["bash", "-c", STATUS_COMMAND])
    assert code == 1  # curl: nothing listens on 9999 yet
    code, _, err = execute(core, namespace, pod, ["curl", "-sS", "http://localhost:9999/metrics"])
    assert code == 7 and "Failed to connect to localhost port 9999" in err
    code, _, err = execute(core, namespace, pod, ["/command/network-node-lifecycle", "start-and-enable-autostart"])
    assert code == 1 and "no application jars" in err

    build = platform_zip()
    checksum = f"{hashlib.sha384(build).hexdigest()}  build-{TAG}.zip\n".encode()
    script = b"#!/bin/bash\n# stand-in for solo's resources/extract-platform.sh\n"
    archive = upload_tar({f"build-{TAG}.zip": build, f"build-{TAG}.sha384": checksum, "extract-platform.sh": script})
    assert execute(core, namespace, pod, ["tar", "xf", "-", "-C", "/home/hedera"], stdin=archive)[0] == 0
    prepare = "sync && chmod +x /home/hedera/extract-platform.sh && chown root:root /home/hedera/extract-platform.sh"
    code, out, err = execute(
        core, namespace, pod, ["bash", "-c", f"{prepare} && /home/hedera/extract-platform.sh {TAG}"]
    )
    assert code == 0, out + err
    assert f"build-{TAG}.zip: OK" in out and "end: extract-platform.sh" in out
    code, out, _ = execute(core, namespace, pod, ["ls", f"{HAPI}/data/apps", f"{HAPI}/data/lib"])
    assert out.split() == [f"{HAPI}/data/apps:", "HederaNode.jar", f"{HAPI}/data/lib:", "swirlds-platform-core.jar"]
    code, out, _ = execute(core, namespace, pod, ["sha384sum", f"{HAPI}/data/apps/HederaNode.jar"])
    assert out.split()[0] == hashlib.sha384(b"PK-apps").hexdigest()
    assert execute(core, namespace, pod, ["cat", f"{HAPI}/VERSION"])[1] == "VERSION=0.66.0\n"

    code, out, _ = execute(core, namespace, pod, ["/command/network-node-lifecycle", "start-and-enable-autostart"])
    started = time.monotonic()
    assert code == 0
    assert platform_status(core, namespace, pod) == (0, 'platform_PlatformStatus{node="0",} 1.0')
    wait_until(lambda: platform_status(core, namespace, pod)[1].endswith(" 2.0"), timeout=10, interval=0.05)
    elapsed = time.monotonic() - started
    assert PLATFORM_ACTIVE_S * 0.9 <= elapsed < PLATFORM_ACTIVE_S + 2, elapsed
    code, out, _ = execute(
        core,
        namespace,
        pod,
        [
            "bash",
            "-c",
            "ps -ef | grep -q '[c]om.hedera.node.app.ServicesMain' && true < /dev/tcp/127.0.0.1/50211 && echo up",
        ],
    )
    assert (code, out) == (0, "up\n")


def test_corrupted_platform_zip_fails_the_checksum(core: client.CoreV1Api, namespace: str) -> None:
    pod = run_pod(core, namespace, node_pod())
    build = platform_zip()
    checksum = f"{hashlib.sha384(build).hexdigest()}  build-{TAG}.zip\n".encode()
    archive = upload_tar(
        {
            f"build-{TAG}.zip": build[:-7] + b"garbage",
            f"build-{TAG}.sha384": checksum,
            "extract-platform.sh": b"#!/bin/bash\n",
        }
    )
    execute(core, namespace, pod, ["tar", "-xf", "-", "-C", "/home/hedera"], stdin=archive)
    code, out, _ = execute(
        core,
        namespace,
        pod,
        ["bash", "-c", f"chmod +x /home/hedera/extract-platform.sh; /home/hedera/extract-platform.sh {TAG}"],
    )
    assert code == 1
    assert f"build-{TAG}.zip: FAILED" in out and "does not match. Aborting." in out
    assert execute(core, namespace, pod, ["ls", f"{HAPI}/data/apps"])[1] == ""


def test_a_node_that_never_becomes_active(start_sandbox: Callable[..., SandboxServer]) -> None:
    never = {
        **MODEL,
        "defaults": {**MODEL["defaults"], "platform_active_after": 2},
        "rules": [{"selector": "solo.hedera.com/type=network-node", "platform_never_active": True}],
    }
    other = start_sandbox(never)
    core = client.CoreV1Api(config.new_client_from_config(config_file=str(other.kubeconfig)))
    pod = run_pod(core, "default", node_pod())
    archive = upload_tar({f"{HAPI}/data/apps/HederaNode.jar": b"jar"})
    execute(core, "default", pod, ["tar", "xf", "-", "-C", "/"], stdin=archive)
    assert execute(core, "default", pod, ["/command/network-node-lifecycle", "start-and-enable-autostart"])[0] == 0
    time.sleep(2 * SCALE * 3)  # three times the delay after which a normal node is ACTIVE
    assert platform_status(core, "default", pod) == (0, 'platform_PlatformStatus{node="0",} 1.0')


def test_kubectl_exec_over_websockets(
    server: SandboxServer, core: client.CoreV1Api, tmp_path: Path, namespace: str
) -> None:
    if not os.access(KUBECTL, os.X_OK):
        pytest.skip("kubectl is not installed")
    pod = run_pod(core, namespace, node_pod())
    env = dict(os.environ, HOME=str(tmp_path))
    base = [KUBECTL, "--kubeconfig", str(server.kubeconfig), "--cache-dir", str(tmp_path / "cache"), "-n", namespace]
    result = subprocess.run(
        [*base, "exec", pod, "-c", "root-container", "--", "sh", "-c", "echo out; echo err >&2; exit 4"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (4, "out\n") and "err\n" in result.stderr
    result = subprocess.run(
        [*base, "exec", "-i", pod, "-c", "root-container", "--", "sh", "-c", "cat > /tmp/in; wc -c /tmp/in"],
        input="twelve bytes",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (0, "12 /tmp/in\n")


# --- port-forward --------------------------------------------------------------------------------------------------


async def _upper_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(4096):
        writer.write(data.upper())
        await writer.drain()
    writer.close()


def test_portforward_reaches_registered_backends(server: SandboxServer, core: client.CoreV1Api, namespace: str) -> None:
    pod = run_pod(
        core,
        namespace,
        {
            "metadata": {"name": "haproxy", "labels": {"app": "haproxy-node1"}},
            "spec": {"containers": [{"name": "haproxy", "image": "haproxy"}]},
        },
    )

    async def listen() -> tuple[asyncio.base_events.Server, int]:
        echo = await asyncio.start_server(_upper_echo, "127.0.0.1", 0)
        return echo, echo.sockets[0].getsockname()[1]

    echo, echo_port = server.call(listen)
    seen_pods: list[str] = []

    async def connect(target: dict):
        seen_pods.append(target["metadata"]["name"])
        return await asyncio.open_connection("127.0.0.1", echo_port)

    backends = server.state.port_backends
    registered = [
        backends.register({"app": "haproxy-node1"}, 50211, connect, namespace=namespace),
        backends.register({"app": "haproxy-node1"}, 8080, ("127.0.0.1", echo_port)),
    ]
    try:
        forward = portforward(core.connect_get_namespaced_pod_portforward, pod, namespace, ports="50211,8080,9090")
        for port, payload in ((50211, b"grpc bytes"), (8080, b"\x00\x01binary\xff")):
            sock = forward.socket(port)
            sock.sendall(payload)
            received = b""
            while len(received) < len(payload):
                received += sock.recv(4096)
            assert received == payload.upper()
        assert seen_pods == [pod]
        assert forward.socket(9090).recv(10) == b""  # nothing listens: the stream for this port ends
        error = wait_until(lambda: forward.error(9090))
        assert error.startswith("error forwarding port 9090 to pod") and "connection refused" in error
        assert forward.error(50211) is None
        forward.close()
    finally:
        for backend in registered:
            backends.unregister(backend)
        server.call(echo.close)


def test_stats_count_exec_and_portforward(server: SandboxServer) -> None:
    requests = server.stats()["requests"]
    assert requests.get("get pods/exec", 0) > 0 and requests.get("get pods/portforward", 0) > 0


def test_the_cli_server_takes_its_model_from_a_file(tmp_path: Path) -> None:
    model = tmp_path / "model.yaml"
    model.write_text(json.dumps({"time_scale": 0.01, "defaults": {"running": 5, "never_ready": True}}))
    kubeconfig = tmp_path / "kubeconfig"
    python = str(REPO_ROOT / ".venv" / "bin" / "python")
    env = {**os.environ, "HIERO_SANDBOX_MODEL": str(model)}
    command = [python, "-m", "tests.sandbox", "serve", "--port", "0", "--kubeconfig", str(kubeconfig)]
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(kubeconfig.exists, timeout=20)
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(kubeconfig)))
        pod = run_pod(
            core, "default", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
        )
        time.sleep(0.3)
        assert not _waiter.pod_ready(
            core.api_client.sanitize_for_serialization(core.read_namespaced_pod(pod, "default"))
        )
    finally:
        process.terminate()
        _, log = process.communicate(timeout=20)
    assert f"duration model {model}" in log

    broken = tmp_path / "broken.yaml"
    broken.write_text("time_scale: -1\n")
    result = subprocess.run(
        [*command, "--model", str(broken)], capture_output=True, text=True, cwd=REPO_ROOT, timeout=30
    )
    assert result.returncode == 2 and "time_scale must be a number of seconds >= 0" in result.stderr
