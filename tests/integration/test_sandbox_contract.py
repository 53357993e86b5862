"""Contract of the sandbox API server: what the official client, kubectl and helm observe from it.

Every case drives the server the way the collection's code will (HTTP through the real clients)
and asserts an outcome a real API server would show.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from tests.sandbox import SandboxServer, SandboxState, Store

REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "tests" / "charts" / "contract-demo"
HELM = REPO_ROOT / ".venv" / "bin" / "helm"
SANDBOX_SCRIPT = REPO_ROOT / "scripts" / "sandbox"
# /usr/bin/kubectl is gcloud's dispatcher (it runs the kubectl matching the server's minor version);
# kubectl.1.32 is that release pinned; .venv/bin/kubectl is 1.34 when `make setup` installed it.
KUBECTLS = [
    path
    for path in ("/usr/bin/kubectl", "/usr/lib/google-cloud-sdk/bin/kubectl.1.32", str(REPO_ROOT / ".venv/bin/kubectl"))
    if os.access(path, os.X_OK)
]
DEPLOYMENT_LABELS = {"app": "web"}


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(sandbox: SandboxServer) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(sandbox.kubeconfig))


@pytest.fixture(scope="module")
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api)


@pytest.fixture()
def namespace(core: client.CoreV1Api) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace({"metadata": {"name": name}})
    yield name
    try:
        core.delete_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture(scope="module")
def tool_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """kubectl/helm environment with caches and config in a temp dir, independent of HOME."""
    base = tmp_path_factory.mktemp("tools")
    env = dict(os.environ)
    env.update(
        HOME=str(base / "home"),
        KUBECACHEDIR=str(base / "kubecache"),
        HELM_CACHE_HOME=str(base / "helm-cache"),
        HELM_CONFIG_HOME=str(base / "helm-config"),
        HELM_DATA_HOME=str(base / "helm-data"),
    )
    env.pop("KUBECONFIG", None)
    return env


def kubectl(
    binary: str, sandbox: SandboxServer, env: dict[str, str], *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    command = [binary, "--kubeconfig", str(sandbox.kubeconfig), "--cache-dir", env["KUBECACHEDIR"], *args]
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, env=env, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def helm(sandbox: SandboxServer, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(HELM), "--kubeconfig", str(sandbox.kubeconfig), *args]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def deployment(name: str, image: str = "registry.invalid/web:1", **spec_extra) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": DEPLOYMENT_LABELS},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": DEPLOYMENT_LABELS},
            "template": {
                "metadata": {"labels": DEPLOYMENT_LABELS},
                "spec": {"containers": [{"name": "web", "image": image, "env": [{"name": "A", "value": "1"}]}]},
            },
            **spec_extra,
        },
    }


def current_rv(core: client.CoreV1Api) -> int:
    return int(core.list_namespace().metadata.resource_version)


def raw_request(
    sandbox: SandboxServer, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        sandbox.url + path,
        data=body,
        method=method,
        headers={"Content-Type": content_type, "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


# --- discovery -------------------------------------------------------------------------------------------


def test_discovery_lists_groups_resources_and_subresources(api: client.ApiClient) -> None:
    groups = {group.name: group for group in client.ApisApi(api).get_api_versions().groups}
    for name in (
        "apps",
        "batch",
        "coordination.k8s.io",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "policy",
        "storage.k8s.io",
        "apiextensions.k8s.io",
    ):
        assert groups[name].preferred_version.group_version == f"{name}/v1"
    core_resources = {r.name: r for r in client.CoreV1Api(api).get_api_resources().resources}
    for name in (
        "pods",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "namespaces",
        "serviceaccounts",
        "persistentvolumeclaims",
        "persistentvolumes",
        "events",
        "nodes",
        "pods/status",
        "pods/exec",
        "pods/portforward",
        "pods/log",
    ):
        assert name in core_resources, name
    assert core_resources["namespaces"].namespaced is False
    assert core_resources["pods"].short_names == ["po"]
    assert core_resources["pods/exec"].kind == "PodExecOptions"
    apps_resources = {r.name: r for r in client.AppsV1Api(api).get_api_resources().resources}
    assert {"deployments/status", "statefulsets/status", "replicasets", "daemonsets"} <= set(apps_resources)
    assert "watch" in apps_resources["deployments"].verbs
    leases = {r.name: r for r in client.CoordinationV1Api(api).get_api_resources().resources}["leases"]
    assert (leases.kind, leases.namespaced) == ("Lease", True)
    assert "jobs/status" in {r.name for r in client.BatchV1Api(api).get_api_resources().resources}


def test_openapi_v3_advertises_field_validation(sandbox: SandboxServer) -> None:
    status, index = raw_request(sandbox, "GET", "/openapi/v3")
    assert status == 200
    status, doc = raw_request(sandbox, "GET", index["paths"]["apis/apps/v1"]["serverRelativeURL"])
    assert status == 200
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert any(p["name"] == "fieldValidation" and p["in"] == "query" for p in patch["parameters"])


def test_initial_namespaces_are_active(core: client.CoreV1Api) -> None:
    phases = {ns.metadata.name: ns.status.phase for ns in core.list_namespace().items}
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        assert phases[name] == "Active"


# --- CRUD, resourceVersion, conflicts ------------------------------------------------------------------


def test_create_get_list_with_label_selectors(core: client.CoreV1Api, namespace: str) -> None:
    for name, tier in (("a", "front"), ("b", "back"), ("c", "front")):
        core.create_namespaced_config_map(
            namespace, {"metadata": {"name": name, "labels": {"tier": tier}}, "data": {"k": name}}
        )
    got = core.read_namespaced_config_map("b", namespace)
    assert got.data == {"k": "b"}
    assert got.metadata.uid and got.metadata.creation_timestamp and int(got.metadata.resource_version) > 0
    listed = core.list_namespaced_config_map(namespace, label_selector="tier=front")
    assert [cm.metadata.name for cm in listed.items] == ["a", "c"]
    assert int(listed.metadata.resource_version) >= int(got.metadata.resource_version)
    assert [
        cm.metadata.name for cm in core.list_namespaced_config_map(namespace, label_selector="tier notin (front)").items
    ] == ["b"]
    assert [
        cm.metadata.name
        for cm in core.list_namespaced_config_map(namespace, label_selector="tier in (front,back),!missing").items
    ] == ["a", "b", "c"]


def test_list_response_shape(sandbox: SandboxServer, namespace: str, core: client.CoreV1Api) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "z"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "y"}})
    status, body = raw_request(sandbox, "GET", f"/api/v1/namespaces/{namespace}/configmaps")
    assert status == 200
    assert (body["kind"], body["apiVersion"]) == ("ConfigMapList", "v1")
    assert body["metadata"]["resourceVersion"].isdigit()
    assert [item["metadata"]["name"] for item in body["items"]] == ["y", "z"]


def test_duplicate_create_is_409_already_exists(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "dup"}})
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map(namespace, {"metadata": {"name": "dup"}})
    status = json.loads(caught.value.body)
    assert caught.value.status == 409
    assert (status["kind"], status["status"], status["reason"]) == ("Status", "Failure", "AlreadyExists")
    assert status["details"] == {"name": "dup", "group": "", "kind": "configmaps"}


def test_missing_objects_and_namespaces_are_404(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("nope", namespace)
    assert caught.value.status == 404 and json.loads(caught.value.body)["reason"] == "NotFound"
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map("no-such-namespace", {"metadata": {"name": "x"}})
    assert caught.value.status == 404
    assert json.loads(caught.value.body)["details"] == {"name": "no-such-namespace", "group": "", "kind": "namespaces"}


def test_replace_with_stale_resource_version_is_409_conflict(core: client.CoreV1Api, namespace: str) -> None:
    first = core.create_namespaced_config_map(namespace, {"metadata": {"name": "cas"}, "data": {"v": "1"}})
    stale_rv = first.metadata.resource_version
    core.replace_namespaced_config_map(
        "cas", namespace, {"metadata": {"name": "cas", "resourceVersion": stale_rv}, "data": {"v": "2"}}
    )
    with pytest.raises(ApiException) as caught:
        core.replace_namespaced_config_map(
            "cas", namespace, {"metadata": {"name": "cas", "resourceVersion": stale_rv}, "data": {"v": "3"}}
        )
    assert caught.value.status == 409 and json.loads(caught.value.body)["reason"] == "Conflict"
    assert core.read_namespaced_config_map("cas", namespace).data == {"v": "2"}


def test_lease_compare_and_swap_second_writer_loses(
    api: client.ApiClient, namespace: str, sandbox: SandboxServer
) -> None:
    leases = client.CoordinationV1Api(api)
    before = sandbox.stats()["lease_writes"]
    lease = leases.create_namespaced_lease(
        namespace, {"metadata": {"name": "lock"}, "spec": {"holderIdentity": "nobody"}}
    )
    seen_rv = lease.metadata.resource_version
    # Both writers read the same version; the first replace wins, the second must lose.
    winner = {"metadata": {"name": "lock", "resourceVersion": seen_rv}, "spec": {"holderIdentity": "writer-a"}}
    loser = {"metadata": {"name": "lock", "resourceVersion": seen_rv}, "spec": {"holderIdentity": "writer-b"}}
    leases.replace_namespaced_lease("lock", namespace, winner)
    with pytest.raises(ApiException) as caught:
        leases.replace_namespaced_lease("lock", namespace, loser)
    assert caught.value.status == 409
    assert leases.read_namespaced_lease("lock", namespace).spec.holder_identity == "writer-a"
    assert sandbox.stats()["lease_writes"] - before == 3


def test_noop_write_keeps_resource_version(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_config_map(namespace, {"metadata": {"name": "same"}, "data": {"k": "v"}})
    rv_before = current_rv(core)
    replaced = core.replace_namespaced_config_map("same", namespace, {"metadata": {"name": "same"}, "data": {"k": "v"}})
    patched = core.patch_namespaced_config_map("same", namespace, {"data": {"k": "v"}})
    assert replaced.metadata.resource_version == patched.metadata.resource_version == created.metadata.resource_version
    assert current_rv(core) == rv_before
    changed = core.patch_namespaced_config_map("same", namespace, {"data": {"k": "w"}})
    assert int(changed.metadata.resource_version) == rv_before + 1


def test_generation_counts_spec_changes_only(apps: client.AppsV1Api, namespace: str) -> None:
    created = apps.create_namespaced_deployment(namespace, deployment("gen"))
    assert created.metadata.generation == 1
    relabeled = apps.patch_namespaced_deployment("gen", namespace, {"metadata": {"labels": {"extra": "yes"}}})
    assert relabeled.metadata.generation == 1
    rescaled = apps.patch_namespaced_deployment("gen", namespace, {"spec": {"replicas": 3}})
    assert rescaled.metadata.generation == 2


# --- watch ------------------------------------------------------------------------------------------------


def test_watch_delivers_events_and_resumes_without_replay(core: client.CoreV1Api, namespace: str) -> None:
    start_rv = str(current_rv(core))
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "w"}, "data": {"n": "1"}})
    modified = core.patch_namespaced_config_map("w", namespace, {"data": {"n": "2"}})
    core.delete_namespaced_config_map("w", namespace)

    def collect(resource_version: str | None, count: int, on_first=None) -> list[tuple[str, str, dict | None]]:
        stream = watch.Watch()
        seen = []
        for event in stream.stream(
            core.list_namespaced_config_map, namespace, resource_version=resource_version, timeout_seconds=5
        ):
            seen.append((event["type"], event["object"].metadata.name, event["object"].data))
            if len(seen) == 1 and on_first:
                on_first()  # the watch is established: what happens now must arrive as a live event
            if len(seen) == count:
                stream.stop()
        return seen

    assert collect(start_rv, 3) == [
        ("ADDED", "w", {"n": "1"}),
        ("MODIFIED", "w", {"n": "2"}),
        ("DELETED", "w", {"n": "2"}),
    ]
    assert collect(modified.metadata.resource_version, 1) == [("DELETED", "w", {"n": "2"})]

    # Without a resourceVersion: synthetic ADDED for what exists, then live events.
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "exists"}})
    create_later = lambda: core.create_namespaced_config_map(namespace, {"metadata": {"name": "later"}})  # noqa: E731
    assert [(kind, name) for kind, name, _ in collect(None, 2, create_later)] == [
        ("ADDED", "exists"),
        ("ADDED", "later"),
    ]


def test_watch_ends_at_timeout_seconds(core: client.CoreV1Api, namespace: str) -> None:
    started = time.monotonic()
    events = list(
        watch.Watch().stream(
            core.list_namespaced_config_map, namespace, resource_version=str(current_rv(core)), timeout_seconds=1
        )
    )
    assert events == []
    assert 0.9 <= time.monotonic() - started < 4


def test_watch_from_compacted_resource_version_is_410_expired(tmp_path: Path) -> None:
    small = SandboxServer(state=SandboxState(store=Store(history=3))).start(kubeconfig=tmp_path / "kubeconfig")
    try:
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(tmp_path / "kubeconfig")))
        for index in range(5):
            core.create_namespaced_config_map("default", {"metadata": {"name": f"c{index}"}})
        with pytest.raises(ApiException) as caught:
            list(
                watch.Watch().stream(
                    core.list_namespaced_config_map, "default", resource_version="2", timeout_seconds=2
                )
            )
        assert caught.value.status == 410
    finally:
        small.stop()


def test_watch_with_label_selector_sees_objects_leave_and_enter(core: client.CoreV1Api, namespace: str) -> None:
    start_rv = str(current_rv(core))
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "m", "labels": {"sel": "yes"}}})
    core.patch_namespaced_config_map("m", namespace, {"metadata": {"labels": {"sel": "no"}}})
    core.patch_namespaced_config_map("m", namespace, {"metadata": {"labels": {"sel": "yes"}}})
    stream = watch.Watch()
    seen = []
    for event in stream.stream(
        core.list_namespaced_config_map,
        namespace,
        resource_version=start_rv,
        label_selector="sel=yes",
        timeout_seconds=5,
    ):
        seen.append(event["type"])
        if len(seen) == 3:
            stream.stop()
    assert seen == ["ADDED", "DELETED", "ADDED"]


# --- patches ----------------------------------------------------------------------------------------------


def test_strategic_merge_keeps_container_image(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("smp", image="registry.invalid/web:7"))
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "2"}]}]}}}}
    patched = apps.patch_namespaced_deployment("smp", namespace, patch)  # dict body: strategic merge
    container = patched.spec.template.spec.containers[0]
    assert container.image == "registry.invalid/web:7"
    assert [(env.name, env.value) for env in container.env] == [("A", "1"), ("B", "2")]  # merged by name


def test_merge_and_json_patches(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "p"}, "data": {"a": "1", "b": "2"}})
    merged = core.patch_namespaced_config_map(
        "p", namespace, {"data": {"a": None, "c": "3"}}, _content_type="application/merge-patch+json"
    )
    assert merged.data == {"b": "2", "c": "3"}
    json_patched = core.patch_namespaced_config_map(
        "p", namespace, [{"op": "replace", "path": "/data/b", "value": "9"}]
    )
    assert json_patched.data == {"b": "9", "c": "3"}
    with pytest.raises(ApiException) as caught:
        core.patch_namespaced_config_map("p", namespace, {"metadata": {"resourceVersion": "1"}, "data": {"d": "4"}})
    assert caught.value.status == 409


def test_server_side_apply_creates_then_updates(core: client.CoreV1Api, namespace: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"k": "1"}}
    created = core.patch_namespaced_config_map(
        "ssa", namespace, body, field_manager="contract", force=True, _content_type="application/apply-patch+yaml"
    )
    assert created.data == {"k": "1"}
    body["data"]["k"] = "2"
    updated = core.patch_namespaced_config_map(
        "ssa", namespace, body, field_manager="contract", _content_type="application/apply-patch+yaml"
    )
    assert updated.data == {"k": "2"} and updated.metadata.uid == created.metadata.uid


# --- kubectl and helm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("binary", KUBECTLS)
def test_kubectl_apply_twice_reports_unchanged(
    binary: str, sandbox: SandboxServer, tool_env: dict[str, str], namespace: str, apps: client.AppsV1Api
) -> None:
    manifest = yaml.safe_dump(deployment("applied"))
    first = kubectl(binary, sandbox, tool_env, "apply", "-n", namespace, "-f", "-", stdin=manifest)
    assert "deployment.apps/applied created" in first.stdout
    second = kubectl(binary, sandbox, tool_env, "apply", "-n", namespace, "-f", "-", stdin=manifest)
    assert "deployment.apps/applied unchanged" in second.stdout
    changed = manifest.replace("registry.invalid/web:1", "registry.invalid/web:2")
    third = kubectl(binary, sandbox, tool_env, "apply", "-n", namespace, "-f", "-", stdin=changed)
    assert "deployment.apps/applied configured" in third.stdout
    live = apps.read_namespaced_deployment("applied", namespace)
    assert live.spec.template.spec.containers[0].image == "registry.invalid/web:2"
    assert live.metadata.generation == 2


@pytest.mark.parametrize("binary", KUBECTLS)
def test_kubectl_create_secret_generic_sends_protobuf(
    binary: str, sandbox: SandboxServer, tool_env: dict[str, str], namespace: str, core: client.CoreV1Api
) -> None:
    sandbox.reset_stats()
    kubectl(
        binary,
        sandbox,
        tool_env,
        "create",
        "secret",
        "generic",
        "creds",
        "-n",
        namespace,
        "--from-literal=user=admin",
        "--from-literal=pass=p@ss w0rd",
    )
    secret = core.read_namespaced_secret("creds", namespace)
    assert {key: base64.b64decode(value).decode() for key, value in secret.data.items()} == {
        "user": "admin",
        "pass": "p@ss w0rd",
    }
    assert secret.type == "Opaque"
    assert sandbox.stats()["requests"].get("create secrets") == 1
    listed = kubectl(binary, sandbox, tool_env, "get", "secrets", "-n", namespace, "-o", "name")
    assert listed.stdout.split() == ["secret/creds"]


def test_kubectl_watch_prints_events(
    sandbox: SandboxServer, tool_env: dict[str, str], namespace: str, core: client.CoreV1Api
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "seen"}})
    command = [
        KUBECTLS[0],
        "--kubeconfig",
        str(sandbox.kubeconfig),
        "--cache-dir",
        tool_env["KUBECACHEDIR"],
        "get",
        "configmaps",
        "-n",
        namespace,
        "--watch",
        "--output-watch-events",
    ]
    lines: list[str] = []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=tool_env) as proc:
        try:
            lines.append(proc.stdout.readline())  # the header: the list is done, the watch is open
            lines.append(proc.stdout.readline())
            core.patch_namespaced_config_map("seen", namespace, {"data": {"x": "y"}})
            core.delete_namespaced_config_map("seen", namespace)
            lines.append(proc.stdout.readline())
            lines.append(proc.stdout.readline())
        finally:
            proc.kill()
            proc.communicate()
    kinds = [line.split()[0] for line in lines[1:]]
    assert kinds == ["ADDED", "MODIFIED", "DELETED"], lines


def test_helm_install_upgrade_rollback_uninstall(
    sandbox: SandboxServer, tool_env: dict[str, str], core: client.CoreV1Api, apps: client.AppsV1Api
) -> None:
    release, namespace = "demo", f"helm-{uuid.uuid4().hex[:8]}"

    def greeting_in_config_and_env() -> tuple[str, str]:
        data = core.read_namespaced_config_map(f"{release}-config", namespace).data["greeting"]
        container = apps.read_namespaced_deployment(release, namespace).spec.template.spec.containers[0]
        return data, {env.name: env.value for env in container.env}["GREETING"]

    helm(sandbox, tool_env, "upgrade", "--install", release, str(CHART), "-n", namespace, "--create-namespace")
    assert greeting_in_config_and_env() == ("hello", "hello")
    secret = core.read_namespaced_secret(f"{release}-secret", namespace)
    assert base64.b64decode(secret.data["password"]).decode() == "s3cret"
    assert core.read_namespaced_service(release, namespace).spec.ports[0].port == 8080

    helm(sandbox, tool_env, "upgrade", release, str(CHART), "-n", namespace, "--set", "greeting=bye")
    assert greeting_in_config_and_env() == ("bye", "bye")
    image = apps.read_namespaced_deployment(release, namespace).spec.template.spec.containers[0].image
    assert image == "registry.invalid/contract-demo:1.0.0"  # the 3-way strategic merge kept it

    helm(sandbox, tool_env, "rollback", release, "1", "-n", namespace)
    assert greeting_in_config_and_env() == ("hello", "hello")
    history = json.loads(helm(sandbox, tool_env, "history", release, "-n", namespace, "-o", "json").stdout)
    assert [entry["status"] for entry in history] == ["superseded", "superseded", "deployed"]

    helm(sandbox, tool_env, "uninstall", release, "-n", namespace)
    assert core.list_namespaced_config_map(namespace).items == []
    assert core.list_namespaced_secret(namespace).items == []  # release records included
    assert core.list_namespaced_service(namespace).items == []
    assert apps.list_namespaced_deployment(namespace).items == []
    core.delete_namespace(namespace)


# --- deletion, dry run, finalizers, names, status, selectors -------------------------------------------------


def test_deleting_a_namespace_removes_its_objects(
    sandbox: SandboxServer, core: client.CoreV1Api, apps: client.AppsV1Api
) -> None:
    doomed = f"doomed-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": doomed}})
    core.create_namespaced_config_map(doomed, {"metadata": {"name": "cm"}})
    core.create_namespaced_secret(doomed, {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    apps.create_namespaced_deployment(doomed, deployment("d"))
    start_rv = str(current_rv(core))
    status, answer = raw_request(sandbox, "DELETE", f"/api/v1/namespaces/{doomed}")
    assert (status, answer["kind"], answer["status"]["phase"]) == (200, "Namespace", "Terminating")
    with pytest.raises(ApiException) as caught:
        core.read_namespace(doomed)
    assert caught.value.status == 404
    assert [cm.metadata.namespace for cm in core.list_config_map_for_all_namespaces().items].count(doomed) == 0
    assert all(d.metadata.namespace != doomed for d in apps.list_deployment_for_all_namespaces().items)
    stream = watch.Watch()
    seen = []
    for event in stream.stream(
        core.list_namespace, resource_version=start_rv, field_selector=f"metadata.name={doomed}", timeout_seconds=5
    ):
        seen.append((event["type"], event["object"].status.phase))
        if len(seen) == 2:
            stream.stop()
    assert seen == [("MODIFIED", "Terminating"), ("DELETED", "Terminating")]


def test_dry_run_stores_nothing(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "real"}, "data": {"k": "v"}})
    rv_before = current_rv(core)
    dry = core.create_namespaced_config_map(namespace, {"metadata": {"name": "ghost"}}, dry_run="All")
    assert dry.metadata.name == "ghost"
    replaced = core.replace_namespaced_config_map(
        "real", namespace, {"metadata": {"name": "real"}, "data": {"k": "x"}}, dry_run="All"
    )
    assert replaced.data == {"k": "x"}
    core.patch_namespaced_config_map("real", namespace, {"data": {"k": "y"}}, dry_run="All")
    core.delete_namespaced_config_map("real", namespace, dry_run="All")
    assert current_rv(core) == rv_before
    assert [cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items] == ["real"]
    assert core.read_namespaced_config_map("real", namespace).data == {"k": "v"}


def test_finalizers_delay_deletion(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("held", namespace)
    held = core.read_namespaced_config_map("held", namespace)
    assert held.metadata.deletion_timestamp is not None
    with pytest.raises(ApiException) as caught:  # no new finalizers once deletion started
        core.patch_namespaced_config_map("held", namespace, {"metadata": {"finalizers": ["example.com/other"]}})
    assert caught.value.status == 422
    core.patch_namespaced_config_map("held", namespace, [{"op": "remove", "path": "/metadata/finalizers"}])
    with pytest.raises(ApiException) as caught:
        core.read_namespaced_config_map("held", namespace)
    assert caught.value.status == 404


def test_namespace_with_finalized_object_terminates_after_it(core: client.CoreV1Api) -> None:
    name = f"slow-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}})
    core.delete_namespace(name)
    assert core.read_namespace(name).status.phase == "Terminating"
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_config_map(name, {"metadata": {"name": "new"}})
    assert caught.value.status == 403
    core.patch_namespaced_config_map(
        "held", name, {"metadata": {"finalizers": None}}, _content_type="application/merge-patch+json"
    )
    with pytest.raises(ApiException) as caught:
        core.read_namespace(name)
    assert caught.value.status == 404


def test_generate_name(core: client.CoreV1Api, namespace: str) -> None:
    first = core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "job-"}})
    second = core.create_namespaced_config_map(namespace, {"metadata": {"generateName": "job-"}})
    for made in (first, second):
        assert made.metadata.name.startswith("job-") and len(made.metadata.name) == len("job-") + 5
    assert first.metadata.name != second.metadata.name
    assert len(core.list_namespaced_config_map(namespace).items) == 2


def test_status_subresource_is_isolated(api: client.ApiClient, apps: client.AppsV1Api, namespace: str) -> None:
    body = deployment("st")
    body["status"] = {"replicas": 99}
    created = apps.create_namespaced_deployment(namespace, body)
    assert not (created.status and created.status.replicas)  # status is the server's on create
    with_status = apps.patch_namespaced_deployment_status(
        "st", namespace, {"status": {"replicas": 1, "readyReplicas": 1}, "spec": {"replicas": 5}}
    )
    assert with_status.status.ready_replicas == 1 and with_status.spec.replicas == 1
    current = api.sanitize_for_serialization(apps.read_namespaced_deployment("st", namespace))
    replaced_body = {
        "metadata": {"name": "st", "labels": DEPLOYMENT_LABELS},
        "spec": current["spec"],
        "status": {"replicas": 0, "readyReplicas": 0},
    }
    replaced_body["spec"]["replicas"] = 2
    replaced = apps.replace_namespaced_deployment("st", namespace, replaced_body)
    assert replaced.spec.replicas == 2 and replaced.status.ready_replicas == 1
    via_put = api.sanitize_for_serialization(apps.read_namespaced_deployment_status("st", namespace))
    via_put["status"]["readyReplicas"] = 0
    via_put["spec"]["replicas"] = 7
    after = apps.replace_namespaced_deployment_status("st", namespace, via_put)
    assert after.status.ready_replicas == 0 and after.spec.replicas == 2


def test_scale_subresource(apps: client.AppsV1Api, namespace: str) -> None:
    apps.create_namespaced_deployment(namespace, deployment("sc"))
    scale = apps.patch_namespaced_deployment_scale("sc", namespace, {"spec": {"replicas": 4}})
    assert scale.spec.replicas == 4 and scale.status.selector == "app=web"
    assert apps.read_namespaced_deployment("sc", namespace).spec.replicas == 4


def test_field_selector(core: client.CoreV1Api, namespace: str) -> None:
    core.create_namespaced_secret(
        namespace, {"metadata": {"name": "tls"}, "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}}
    )
    core.create_namespaced_secret(namespace, {"metadata": {"name": "plain"}, "stringData": {"a": "b"}})
    by_type = core.list_namespaced_secret(namespace, field_selector="type=kubernetes.io/tls")
    assert [s.metadata.name for s in by_type.items] == ["tls"]
    by_name = core.list_namespaced_secret(namespace, field_selector="metadata.name!=tls")
    assert [s.metadata.name for s in by_name.items] == ["plain"]
    across = core.list_secret_for_all_namespaces(field_selector=f"metadata.namespace={namespace},metadata.name=plain")
    assert [(s.metadata.namespace, s.metadata.name) for s in across.items] == [(namespace, "plain")]


def test_bad_label_selector_is_400(core: client.CoreV1Api, namespace: str) -> None:
    with pytest.raises(ApiException) as caught:
        core.list_namespaced_config_map(namespace, label_selector="a in (b")
    assert caught.value.status == 400
    assert json.loads(caught.value.body)["reason"] == "BadRequest"


def test_secret_string_data_is_folded_into_data(core: client.CoreV1Api, namespace: str) -> None:
    created = core.create_namespaced_secret(
        namespace, {"metadata": {"name": "sd"}, "data": {"a": "YQ=="}, "stringData": {"b": "bee"}}
    )
    assert created.data == {"a": "YQ==", "b": base64.b64encode(b"bee").decode()}
    assert created.string_data is None


def test_delete_collection_and_owner_garbage_collection(core: client.CoreV1Api, namespace: str) -> None:
    owner = core.create_namespaced_config_map(namespace, {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "child", "ownerReferences": [ref]}})
    for name in ("x1", "x2"):
        core.create_namespaced_config_map(namespace, {"metadata": {"name": name, "labels": {"batch": "x"}}})
    core.delete_collection_namespaced_config_map(namespace, label_selector="batch=x")
    assert [cm.metadata.name for cm in core.list_namespaced_config_map(namespace).items] == ["child", "owner"]
    core.delete_namespaced_config_map("owner", namespace)
    assert core.list_namespaced_config_map(namespace).items == []


def test_custom_resource_definition_serves_a_new_resource(
    api: client.ApiClient, sandbox: SandboxServer, tool_env: dict[str, str], namespace: str
) -> None:
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
                }
            ],
        },
    }
    extensions = client.ApiextensionsV1Api(api)
    created = extensions.create_custom_resource_definition(crd)
    assert {c.type: c.status for c in created.status.conditions}["Established"] == "True"
    custom = client.CustomObjectsApi(api)
    try:
        body = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}}
        custom.create_namespaced_custom_object("example.com", "v1", namespace, "widgets", body)
        shown = kubectl(KUBECTLS[0], sandbox, tool_env, "get", "wg", "-n", namespace, "-o", "jsonpath={.items[0].spec}")
        assert json.loads(shown.stdout) == {"size": 3}
    finally:
        extensions.delete_custom_resource_definition("widgets.example.com")
    with pytest.raises(ApiException) as caught:
        custom.list_namespaced_custom_object("example.com", "v1", namespace, "widgets")
    assert caught.value.status == 404


def test_unreadable_bodies_and_unserved_verbs(sandbox: SandboxServer, namespace: str) -> None:
    # A Kubernetes protobuf envelope (k8s\0 + runtime.Unknown) naming a kind the decoder lacks.
    type_meta = b"\x0a\x02v1" + b"\x12\x03Pod"
    envelope = b"k8s\x00" + b"\x0a" + bytes([len(type_meta)]) + type_meta + b"\x12\x00"
    status, body = raw_request(
        sandbox, "POST", f"/api/v1/namespaces/{namespace}/pods", envelope, "application/vnd.kubernetes.protobuf"
    )
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")
    status, body = raw_request(sandbox, "POST", f"/api/v1/namespaces/{namespace}/configmaps", b"<x/>", "text/xml")
    assert (status, body["reason"]) == (415, "UnsupportedMediaType")
    status, body = raw_request(sandbox, "PUT", "/api/v1/namespaces", b"{}")
    assert (status, body["reason"]) == (405, "MethodNotAllowed")
    status, body = raw_request(sandbox, "DELETE", "/api/v1/namespaces")  # namespaces have no deletecollection
    assert (status, body["reason"]) == (405, "MethodNotAllowed")
    status, body = raw_request(sandbox, "GET", f"/api/v1/namespaces/{namespace}")
    assert (status, body["status"]["phase"]) == (200, "Active")


def test_stats_count_requests_and_reset(sandbox: SandboxServer, core: client.CoreV1Api, namespace: str) -> None:
    sandbox.reset_stats()
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "counted"}})
    core.read_namespaced_config_map("counted", namespace)
    core.read_namespaced_config_map("counted", namespace)
    status, stats = raw_request(sandbox, "GET", "/_sandbox/stats")
    assert status == 200
    assert stats["requests"]["create configmaps"] == 1 and stats["requests"]["get configmaps"] == 2
    status, stats = raw_request(sandbox, "POST", "/_sandbox/stats/reset", b"")
    assert status == 200 and stats["total_requests"] == 0 and stats["lease_writes"] == 0


def _read_watch_lines(url: str, count: int) -> list[dict]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        return [json.loads(response.readline()) for _ in range(count)]


def test_legacy_watch_path_and_initial_events_bookmark(
    sandbox: SandboxServer, core: client.CoreV1Api, namespace: str
) -> None:
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "one"}})
    core.create_namespaced_config_map(namespace, {"metadata": {"name": "two"}})
    legacy = _read_watch_lines(f"{sandbox.url}/api/v1/watch/namespaces/{namespace}/configmaps/two?timeoutSeconds=1", 1)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in legacy] == [("ADDED", "two")]
    query = "watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&timeoutSeconds=1"
    events = _read_watch_lines(f"{sandbox.url}/api/v1/namespaces/{namespace}/configmaps?{query}", 3)
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[2]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(events[2]["object"]["metadata"]["resourceVersion"]) >= int(
        events[1]["object"]["metadata"]["resourceVersion"]
    )


def test_extension_points_subresource_route_and_subscription(tmp_path: Path) -> None:
    """What later issues build on: extra subresource handlers, extra routes, store subscriptions."""
    from aiohttp import web

    state = SandboxState()
    seen_by_listener: list[tuple[str, str]] = []
    state.store.add_listener(lambda event: seen_by_listener.append((event.type, event.name)))

    async def pod_log(request: web.Request, target) -> web.Response:
        return web.Response(text=f"log of {target.namespace}/{target.name}")

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="extra route")

    state.extensions.register_subresource("", "pods", "log", pod_log)
    state.extensions.add_app_hook(lambda app: app.router.add_get("/_sandbox/hello", hello))
    server = SandboxServer(state=state).start(kubeconfig=tmp_path / "kubeconfig")
    try:
        subscription = server.call(state.store.subscribe)
        core = client.CoreV1Api(config.new_client_from_config(config_file=str(tmp_path / "kubeconfig")))
        pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}
        core.create_namespaced_pod("default", pod)
        assert core.read_namespaced_pod_log("p", "default") == "log of default/p"
        import urllib.request

        with urllib.request.urlopen(server.url + "/_sandbox/hello", timeout=5) as response:
            assert response.read() == b"extra route"
        event = server.call(subscription.get, 5)
        assert (event.type, event.name, event.obj["status"]["phase"]) == ("ADDED", "p", "Pending")
        assert seen_by_listener == [("ADDED", "p")]
        assert server.stats()["requests"]["get pods/log"] == 1
    finally:
        server.stop()


# --- scripts/sandbox --------------------------------------------------------------------------------------------


def _processes_with(fragment: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if fragment in cmdline:
            pids.append(int(entry.name))
    return pids


def _pid_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_sandbox_script_up_down(tmp_path: Path, tool_env: dict[str, str]) -> None:
    state_dir = tmp_path / "state"
    env = {**tool_env, "HIERO_SANDBOX_DIR": str(state_dir)}
    kubeconfig = state_dir / "kubeconfig"

    def script(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(SANDBOX_SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60)

    try:
        up = script("up")
        assert up.returncode == 0, up.stderr
        assert up.stdout.splitlines() == [str(kubeconfig), f"export KUBECONFIG={kubeconfig}"]
        pid = int((state_dir / "pid").read_text())
        assert _pid_running(pid)
        namespaces = subprocess.run(
            [
                KUBECTLS[0],
                "--kubeconfig",
                str(kubeconfig),
                "--cache-dir",
                str(tmp_path / "cache"),
                "get",
                "ns",
                "-o",
                "name",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert namespaces.returncode == 0, namespaces.stderr
        assert set(namespaces.stdout.split()) >= {
            "namespace/default",
            "namespace/kube-system",
            "namespace/kube-public",
            "namespace/kube-node-lease",
        }
        again = script("up")
        assert again.returncode == 0 and again.stdout == up.stdout
        assert int((state_dir / "pid").read_text()) == pid
        assert script("status").returncode == 0
        assert (state_dir / "server.log").exists()
    finally:
        down = script("down")
    assert down.returncode == 0, down.stderr
    assert not (state_dir / "pid").exists()
    assert not _pid_running(pid)
    assert _processes_with(f"--kubeconfig {kubeconfig}") == []
    assert script("status").returncode == 1
    assert script("down").returncode == 0  # nothing running is fine


def test_sandbox_script_help_for_unknown_command() -> None:
    result = subprocess.run([str(SANDBOX_SCRIPT), "sideways"], capture_output=True, text=True, timeout=10)
    assert result.returncode == 2 and "usage" in result.stderr
