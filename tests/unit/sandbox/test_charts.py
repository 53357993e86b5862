"""Stand-in charts (tests/charts) rendered by the real helm, and the sandbox platform build zip.

The charts are rendered with the values solo passes (solo-spec §3.6-§3.12) for 1 and 3 consensus nodes, and the
assertions are on the rendered objects: the names and labels solo and our modules look up (solo-spec §3.15).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.hiero.solo.plugins.module_utils import _config
from ansible_collections.hiero.solo.plugins.module_utils._errors import DependencyMissing
from ansible_collections.hiero.solo.plugins.module_utils._helm import find_helm
from tests.charts.sources import CHARTS_DIR, local_chart_sources
from tests.sandbox import platform_build

NAMESPACE = "solo-e2e"
# The charts this suite covers (minio-operator is another stand-in, tested with it).
OURS = {
    "solo_deployment": "solo-deployment",
    "solo_shared_resources": "solo-shared-resources",
    "mirror_node": "hedera-mirror",
    "ingress_controller": "haproxy-ingress",
    "explorer": "hiero-explorer",
    "relay": "hedera-json-rpc",
    "block_node": "block-node-server",
}

try:
    HELM = find_helm()
except DependencyMissing:  # pragma: no cover - `make setup` installs helm into the venv
    HELM = None

needs_helm = pytest.mark.skipif(HELM is None, reason="helm is not installed (make setup puts it in the venv)")


def aliases(count: int) -> list[str]:
    return [f"node{index}" for index in range(1, count + 1)]


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM is not None
    return subprocess.run([HELM, *args], capture_output=True, text=True, check=False, timeout=60)


def render(chart: str, release: str, values: dict[str, Any], tmp_path: Path, *extra: str) -> list[dict[str, Any]]:
    """``helm template`` with ``values`` as a values file (JSON, as our helm runner writes them)."""
    values_path = tmp_path / f"{release}-values.json"
    values_path.write_text(json.dumps(values), encoding="utf-8")
    proc = helm(
        "template", release, str(CHARTS_DIR / chart), "--namespace", NAMESPACE, "--values", str(values_path), *extra
    )
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"]["labels"]


def containers(workload: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in workload["spec"]["template"]["spec"]["containers"]}


def container_ports(container: dict[str, Any]) -> set[int]:
    return {port["containerPort"] for port in container.get("ports", [])}


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {item["name"]: item.get("value") for item in container.get("env", [])}


def secret_data(secret: dict[str, Any]) -> dict[str, str]:
    """A rendered Secret's content as text, whether the chart used data or stringData."""
    out = {key: base64.b64decode(value).decode(errors="replace") for key, value in (secret.get("data") or {}).items()}
    out.update(secret.get("stringData") or {})
    return out


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


# ---------------------------------------------------------------------------------------------------------------------
# Values as solo builds them (solo-spec §3.7, §3.10-§3.12; resources/*.yaml)


def account_id(alias: str) -> str:
    return f"0.0.{2 + int(alias.removeprefix('node'))}"


def solo_deployment_values(nodes: list[str], *, minio: bool = True, pvcs: bool = False) -> dict[str, Any]:
    values: dict[str, Any] = {
        "defaults": {
            "root": {"extraEnv": [{"name": "JAVA_HEAP_MAX", "value": "6g"}]},
            "haproxy": {"maxconn": 1024, "timeouts": {"tunnel": "5m"}},
            "volumeClaims": {"enabled": pvcs},
        },
        "minio-server": {
            "tenant": {
                "pools": [
                    {
                        "servers": 1,
                        "name": "pool-1",
                        "storageClassName": "standard",
                        "volumesPerServer": 1,
                        "size": "10Gi",
                    }
                ]
            }
        },
        "hedera": {
            "nodes": [
                {"name": alias, "nodeId": index, "accountId": account_id(alias)} for index, alias in enumerate(nodes)
            ]
        },
        "cloud": {"minio": {"enabled": minio}, "generateNewSecrets": minio},
        "telemetry": {"prometheus": {"svcMonitor": {"enabled": False}}},
        "crds": {"serviceMonitor": {"enabled": False}, "podLog": {"enabled": False}},
    }
    if not minio:
        values["defaults"]["sidecars"] = {
            name: {"enabled": False} for name in ("recordStreamUploader", "eventStreamUploader", "blockstreamUploader")
        }
    return values


def gossip_key_hex(alias: str) -> str:
    """Stands in for the hex DER of the node's gossip public key (the charts only carry it)."""
    return hashlib.sha384(f"s-public-{alias}".encode()).hexdigest()


def address_book_b64(nodes: list[str]) -> str:
    from hiero_sdk_python.hapi.services import basic_types_pb2

    book = basic_types_pb2.NodeAddressBook()
    for index, alias in enumerate(nodes):
        entry = book.nodeAddress.add()
        entry.nodeId = index
        entry.nodeAccountId.accountNum = 2 + int(alias.removeprefix("node"))
        entry.RSA_PubKey = gossip_key_hex(alias)
        endpoint = entry.serviceEndpoint.add()
        endpoint.domain_name = f"network-{alias}-svc.{NAMESPACE}.svc.cluster.local"
        endpoint.port = 50211
    return base64.b64encode(book.SerializeToString()).decode()


def mirror_values(nodes: list[str], *, pinger: bool = True) -> dict[str, Any]:
    values: dict[str, Any] = {
        "labels": {"solo.hiero.com/testName": ""},
        "graphql": {"enabled": False},
        "rosetta": {"enabled": False},
        "stackgres": {"enabled": False},
        "postgresql": {"enabled": False},
        "redis": {"enabled": False, "host": "solo-shared-resources-redis", "port": "6379", "auth": {"password": "pw"}},
        "db": {"name": "mirror_node", "host": f"solo-shared-resources-postgres.{NAMESPACE}.svc.cluster.local"},
        "importer": {
            "addressBook": address_book_b64(nodes),
            "envFrom": [
                {"secretRef": {"name": "mirror-passwords"}},
                {"secretRef": {"name": "{{ .Release.Name }}-redis"}},
                {"secretRef": {"name": "uploader-mirror-secrets"}},
            ],
            "config": {
                "hiero": {"mirror": {"importer": {"network": "other", "downloader": {"bucketName": "solo-streams"}}}}
            },
            "image": {"tag": "0.160.0"},
        },
        "monitor": {"enabled": False},
        "pinger": {
            "enabled": pinger,
            "env": {
                "HIERO_MIRROR_PINGER_OPERATOR_ID": "0.0.2",
                "HIERO_MIRROR_PINGER_TO_ACCOUNT_ID": "0.0.98",
                "HIERO_MIRROR_PINGER_OPERATOR_KEY": "302e020100300506032b657004220420deadbeef",
                "HIERO_MIRROR_PINGER_NETWORK": "other",
            },
        },
    }
    for module in ("monitor", "rest", "grpc", "importer", "restjava", "graphql", "rosetta", "web3"):
        config = values.setdefault(module, {}).setdefault("config", {})
        config.setdefault("hiero", {}).setdefault("mirror", {})["common"] = {"realm": 0, "shard": 0}
    return values


def relay_network(nodes: list[str]) -> str:
    """HEDERA_NETWORK with every consensus node (upstream passes only node1: hazard H5)."""
    return json.dumps(
        {f"network-{alias}-svc.{NAMESPACE}.svc.cluster.local:50211": account_id(alias) for alias in nodes}
    )


# ---------------------------------------------------------------------------------------------------------------------
# Packaging: names, versions and the chart_sources option


def test_local_chart_sources_cover_every_stand_in() -> None:
    sources = local_chart_sources()
    for component, directory in OURS.items():
        assert sources[component] == {"path": str(CHARTS_DIR / directory)}
    assert set(sources) <= set(_config.CHARTS)
    assert "solo_cert_manager" not in sources  # no stand-in: keeps upstream's source


def test_local_chart_sources_with_another_root(tmp_path: Path) -> None:
    (tmp_path / "hedera-mirror").mkdir()
    (tmp_path / "hedera-mirror" / "Chart.yaml").write_text("name: hedera-mirror\n", encoding="utf-8")
    (tmp_path / "solo-deployment").mkdir()  # no Chart.yaml: not a chart
    assert local_chart_sources(tmp_path) == {"mirror_node": {"path": str(tmp_path.resolve() / "hedera-mirror")}}


def test_chart_sources_option_resolves_to_the_stand_ins() -> None:
    versions = {name: component.default for name, component in _config.COMPONENTS.items()}
    resolved = _config.resolve_chart_sources(local_chart_sources(), versions, {}, os.path.exists)
    for component, directory in OURS.items():
        source = resolved[component]
        assert (source.kind, source.chart, source.version) == ("path", str(CHARTS_DIR / directory), None)
        assert "--version" not in source.args()
    assert resolved["solo_cert_manager"].kind == "oci"


@pytest.mark.parametrize("component", sorted(local_chart_sources()))
def test_chart_name_and_version_are_upstream_defaults(component: str) -> None:
    chart_yaml = Path(local_chart_sources()[component]["path"]) / "Chart.yaml"
    chart = yaml.safe_load(chart_yaml.read_text(encoding="utf-8"))
    upstream = _config.CHARTS[component]
    expected_name = upstream.chart if upstream.kind == "repo" else upstream.chart.rsplit("/", 1)[-1]
    assert chart["name"] == expected_name
    default = _config.COMPONENTS[upstream.version_of].default
    assert chart["version"] == _config.normalize_version(component, default, prefixed=False)


@needs_helm
def test_helm_lint_every_chart() -> None:
    proc = helm("lint", "--strict", *(str(CHARTS_DIR / directory) for directory in OURS.values()))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(OURS)} chart(s) linted, 0 chart(s) failed" in proc.stdout


@needs_helm
def test_helm_ignores_version_for_a_local_chart(tmp_path: Path) -> None:
    # Why _helm refuses chart_sources.<c>.version with path: helm would silently render Chart.yaml's version.
    objects = render(
        "block-node-server", "block-node-1", {"nameOverride": "block-node-1"}, tmp_path, "--version", "9.9.9"
    )
    labels = by_kind(objects, "StatefulSet")["block-node-1"]["metadata"]["labels"]
    assert labels["helm.sh/chart"] == "block-node-server-0.39.0"


# ---------------------------------------------------------------------------------------------------------------------
# solo-deployment


@needs_helm
@pytest.mark.parametrize("count", [1, 3])
def test_solo_deployment_renders_every_node(count: int, tmp_path: Path) -> None:
    nodes = aliases(count)
    objects = render("solo-deployment", "solo-deployment", solo_deployment_values(nodes), tmp_path)
    statefulsets = by_kind(objects, "StatefulSet")
    deployments = by_kind(objects, "Deployment")
    services = by_kind(objects, "Service")
    configmaps = by_kind(objects, "ConfigMap")

    assert set(statefulsets) == {f"network-{alias}" for alias in nodes} | {"minio-pool-1"}
    assert set(deployments) == {f"{kind}-{alias}" for alias in nodes for kind in ("haproxy", "envoy-proxy")}
    for index, alias in enumerate(nodes):
        node = statefulsets[f"network-{alias}"]
        assert node["spec"]["serviceName"] == f"network-{alias}"
        labels = pod_labels(node)
        assert matches({"solo.hedera.com/type": "network-node", "solo.hedera.com/node-name": alias}, labels)
        assert labels["app"] == f"network-{alias}"
        assert labels["solo.hedera.com/node-id"] == str(index)
        assert labels["solo.hedera.com/account-id"] == account_id(alias)
        assert matches(node["spec"]["selector"]["matchLabels"], labels)
        root = containers(node)["root-container"]
        assert {50211, 50212, 9999} <= container_ports(root)
        assert env_of(root)["CONSENSUS_NODE_ALIAS"] == alias
        assert env_of(root)["JAVA_HEAP_MAX"] == "6g"  # solo-values.yaml extraEnv reaches the node
        assert {"record-stream-uploader", "event-stream-uploader", "blockstream-uploader"} <= set(containers(node))

        haproxy = deployments[f"haproxy-{alias}"]
        assert matches(
            {"solo.hedera.com/type": "haproxy", "app": f"haproxy-{alias}", "solo.hedera.com/node-id": str(index)},
            pod_labels(haproxy),
        )
        assert 50211 in container_ports(next(iter(containers(haproxy).values())))
        envoy = deployments[f"envoy-proxy-{alias}"]
        assert matches({"solo.hedera.com/type": "envoy-proxy", "solo.hedera.com/node-name": alias}, pod_labels(envoy))

        assert services[f"network-{alias}"]["spec"]["clusterIP"] == "None"
        assert services[f"network-{alias}-svc"]["spec"]["selector"] == {"app": f"network-{alias}"}
        assert services[f"haproxy-{alias}-svc"]["spec"]["selector"] == {"app": f"haproxy-{alias}"}
        assert 50211 in {port["port"] for port in services[f"haproxy-{alias}-svc"]["spec"]["ports"]}
        assert f"envoy-proxy-{alias}-svc" in services
        assert (
            f"network-{alias}-svc.{NAMESPACE}.svc.cluster.local:50211"
            in configmaps[f"haproxy-cm-{alias}"]["data"]["haproxy.cfg"]
        )
        assert f"envoy-proxy-cm-{alias}" in configmaps
        assert f"network-node-pdb-{alias}" in by_kind(objects, "PodDisruptionBudget")

    minio = statefulsets["minio-pool-1"]
    assert matches({"v1.min.io/tenant": "minio", "v1.min.io/pool": "pool-1"}, pod_labels(minio))
    assert [t["metadata"]["name"] for t in minio["spec"]["volumeClaimTemplates"]] == ["data0"]
    secrets = by_kind(objects, "Secret")
    assert {"minio-secrets", "uploader-mirror-secrets", "haproxy-secrets"} <= set(secrets)
    assert "MINIO_ROOT_USER=" in secret_data(secrets["minio-secrets"])["config.env"]
    uploader = secret_data(secrets["uploader-mirror-secrets"])
    assert uploader["HEDERA_MIRROR_IMPORTER_DOWNLOADER_SOURCES_0_URI"] == "http://minio-hl:9000"


@needs_helm
def test_solo_deployment_volume_claims(tmp_path: Path) -> None:
    with_pvcs = render("solo-deployment", "solo-deployment", solo_deployment_values(["node1"], pvcs=True), tmp_path)
    node = by_kind(with_pvcs, "StatefulSet")["network-node1"]
    templates = {t["metadata"]["name"] for t in node["spec"]["volumeClaimTemplates"]}
    assert {"hgcapp-data-saved-pvc", "hgcapp-event-streams-pvc", "hgcapp-state-pvc"} <= templates
    volumes = {v["name"]: v for v in node["spec"]["template"]["spec"]["volumes"]}
    assert volumes["hgcapp-data-saved"]["persistentVolumeClaim"]["claimName"] == "hgcapp-data-saved-pvc-network-node1-0"

    without = render("solo-deployment", "solo-deployment", solo_deployment_values(["node1"]), tmp_path)
    node = by_kind(without, "StatefulSet")["network-node1"]
    assert "volumeClaimTemplates" not in node["spec"]
    volumes = {v["name"]: v for v in node["spec"]["template"]["spec"]["volumes"]}
    assert volumes["hgcapp-data-saved"] == {"name": "hgcapp-data-saved", "emptyDir": {}}


@needs_helm
def test_solo_deployment_without_minio(tmp_path: Path) -> None:
    objects = render("solo-deployment", "solo-deployment", solo_deployment_values(aliases(3), minio=False), tmp_path)
    assert not [obj for obj in objects if "v1.min.io/tenant" in obj["metadata"].get("labels", {})]
    assert set(by_kind(objects, "StatefulSet")) == {"network-node1", "network-node2", "network-node3"}
    assert set(by_kind(objects, "Secret")) == {"haproxy-secrets"}
    for node in by_kind(objects, "StatefulSet").values():
        assert set(containers(node)) == {"root-container"}


@needs_helm
def test_solo_deployment_block_nodes_json_and_config_maps(tmp_path: Path) -> None:
    values = solo_deployment_values(aliases(2))
    values["hedera"]["nodes"][1]["blockNodesJson"] = '{"nodes": [{"address": "block-node-1", "port": 40840}]}'
    values["hedera"]["configMaps"] = {"genesisThrottlesJson": '{"buckets": []}'}
    configmaps = by_kind(render("solo-deployment", "solo-deployment", values, tmp_path), "ConfigMap")
    assert "network-node1-data-config-cm" not in configmaps
    assert (
        json.loads(configmaps["network-node2-data-config-cm"]["data"]["block-nodes.json"])["nodes"][0]["port"] == 40840
    )
    assert configmaps["network-node-data-config-cm"]["data"] == {"genesis-throttles.json": '{"buckets": []}'}


@needs_helm
def test_solo_deployment_rejects_a_node_without_identity(tmp_path: Path) -> None:
    values_path = tmp_path / "values.json"
    values_path.write_text(json.dumps({"hedera": {"nodes": [{"name": "node1"}]}}), encoding="utf-8")
    proc = helm("template", "solo-deployment", str(CHARTS_DIR / "solo-deployment"), "--values", str(values_path))
    assert proc.returncode != 0
    assert "node1 needs a nodeId" in proc.stderr


@needs_helm
@pytest.mark.parametrize("count", [1, 3])
def test_consensus_network_module_values_render(count: int, tmp_path: Path) -> None:
    """The values the consensus_network step builds install into the stand-in as they would into the real chart."""
    step = pytest.importorskip("ansible_collections.hiero.solo.plugins.module_utils._steps.consensus_network")
    nodes = aliases(count)
    values = step.desired_values(
        nodes, namespace=NAMESPACE, realm=0, shard=0, minio=True, section={"pvcs": True}, doc={}, tss=True
    )
    objects = render("solo-deployment", "solo-deployment", values, tmp_path)
    statefulsets = by_kind(objects, "StatefulSet")
    for alias in nodes:
        labels = pod_labels(statefulsets[f"network-{alias}"])
        assert labels["solo.hedera.com/account-id"] == account_id(alias)
        assert "volumeClaimTemplates" in statefulsets[f"network-{alias}"]["spec"]
    assert "minio-pool-1" in statefulsets
    assert len(by_kind(objects, "Deployment")) == 2 * count


# ---------------------------------------------------------------------------------------------------------------------
# Mirror node: shared resources, prime install, full install, ingress controller


@needs_helm
def test_shared_resources(tmp_path: Path) -> None:
    values = {
        "postgresql": {"enabled": True},
        "redis": {
            "enabled": True,
            "image": {"registry": "gcr.io", "repository": "mirrornode/redis", "tag": "8.2.2"},
            "sentinel": {"masterSet": "mirror"},
        },
    }
    objects = render("solo-shared-resources", "solo-shared-resources", values, tmp_path)
    statefulsets = by_kind(objects, "StatefulSet")
    postgres = statefulsets["solo-shared-resources-postgres"]
    assert matches(
        {"app.kubernetes.io/name": "postgres", "app.kubernetes.io/instance": "solo-shared-resources"},
        pod_labels(postgres),
    )
    assert "postgresql" in containers(postgres)  # solo execs the DB init script in this container
    redis = statefulsets["solo-shared-resources-redis-node"]
    assert containers(redis)["redis"]["image"] == "gcr.io/mirrornode/redis:8.2.2"
    assert "solo-shared-resources-postgres" in by_kind(objects, "Service")

    secrets = by_kind(objects, "Secret")
    for name in ("solo-shared-resources-passwords", "solo-shared-resources-redis"):
        assert secrets[name]["metadata"]["labels"]["app.kubernetes.io/instance"] == "solo-shared-resources"
    assert len(secret_data(secrets["solo-shared-resources-passwords"])["password"]) == 40
    redis_secret = secret_data(secrets["solo-shared-resources-redis"])
    assert redis_secret["SPRING_DATA_REDIS_HOST"] == "solo-shared-resources-redis"
    assert redis_secret["SPRING_DATA_REDIS_PORT"] == "6379"
    assert redis_secret["SPRING_DATA_REDIS_SENTINEL_MASTER"] == "mirror"


@needs_helm
def test_mirror_prime_install_creates_only_the_secrets(tmp_path: Path) -> None:
    disabled = ("importer", "grpc", "rest", "restjava", "web3", "rosetta", "graphql", "monitor")
    values = {name: {"enabled": False} for name in disabled}
    values |= {
        "stackgres": {"enabled": False},
        "postgresql": {"enabled": False},
        "redis": {"enabled": False},
        "db": {"host": f"solo-shared-resources-postgres.{NAMESPACE}.svc.cluster.local", "name": "mirror_node"},
    }
    objects = render("hedera-mirror", "mirror-1", values, tmp_path)
    assert {obj["kind"] for obj in objects} == {"Secret"}
    secrets = by_kind(objects, "Secret")
    assert set(secrets) == {"mirror-passwords", "mirror-1-redis", "mirror-1-redis-rest"}
    passwords = secret_data(secrets["mirror-passwords"])
    assert passwords["HIERO_MIRROR_IMPORTER_DB_NAME"] == "mirror_node"
    assert passwords["HIERO_MIRROR_IMPORTER_DB_OWNER"] == "mirror_node"
    assert passwords["HIERO_MIRROR_REST_DB_HOST"] == f"solo-shared-resources-postgres.{NAMESPACE}.svc.cluster.local"
    assert len(passwords["HIERO_MIRROR_IMPORTER_DB_OWNERPASSWORD"]) == 40
    assert "SPRING_DATA_REDIS_SENTINEL_NODES" not in secret_data(secrets["mirror-1-redis"])


@needs_helm
@pytest.mark.parametrize("count", [1, 3])
def test_mirror_carries_every_node_in_the_address_book(count: int, tmp_path: Path) -> None:
    from hiero_sdk_python.hapi.services import basic_types_pb2

    nodes = aliases(count)
    objects = render("hedera-mirror", "mirror-1", mirror_values(nodes), tmp_path)
    deployments = by_kind(objects, "Deployment")
    assert set(deployments) == {f"mirror-1-{c}" for c in ("importer", "grpc", "rest", "restjava", "web3", "pinger")}
    for name, deployment in deployments.items():
        component = name.removeprefix("mirror-1-")
        selector = {
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/name": component,
            "app.kubernetes.io/instance": "mirror-1",
        }
        assert matches(selector, pod_labels(deployment))
        assert deployment["spec"]["selector"]["matchLabels"] == selector

    importer = containers(deployments["mirror-1-importer"])["importer"]
    assert importer["image"] == "ghcr.io/hiero-ledger/hiero-mirror-node/importer:0.160.0"
    assert env_of(importer)["HIERO_MIRROR_IMPORTER_INITIALADDRESSBOOK"] == "/usr/etc/hiero/addressbook.bin"
    assert {"secretRef": {"name": "mirror-1-redis"}} in importer["envFrom"]  # templated names are resolved

    secrets = by_kind(objects, "Secret")
    raw = base64.b64decode(secrets["mirror-1-importer"]["data"]["addressbook.bin"])
    book = basic_types_pb2.NodeAddressBook.FromString(raw)
    assert [(entry.nodeId, entry.nodeAccountId.accountNum, entry.RSA_PubKey) for entry in book.nodeAddress] == [
        (index, 2 + int(alias.removeprefix("node")), gossip_key_hex(alias)) for index, alias in enumerate(nodes)
    ]
    config = yaml.safe_load(secret_data(secrets["mirror-1-importer"])["application.yaml"])
    assert config["hiero"]["mirror"]["importer"]["downloader"]["bucketName"] == "solo-streams"
    assert config["hiero"]["mirror"]["common"] == {"realm": 0, "shard": 0}

    pinger = env_of(containers(deployments["mirror-1-pinger"])["pinger"])
    assert pinger["HIERO_MIRROR_PINGER_OPERATOR_ID"] == "0.0.2"
    assert pinger["HIERO_MIRROR_PINGER_TO_ACCOUNT_ID"] == "0.0.98"

    ingresses = by_kind(objects, "Ingress")
    assert set(ingresses) == {"mirror-1-grpc", "mirror-1-rest", "mirror-1-restjava", "mirror-1-web3"}
    services = by_kind(objects, "Service")
    assert services["mirror-1-rest"]["spec"]["ports"][0]["port"] == 80
    assert services["mirror-1-grpc"]["spec"]["ports"][0]["port"] == 5600


@needs_helm
def test_mirror_pinger_off(tmp_path: Path) -> None:
    objects = render("hedera-mirror", "mirror-1", mirror_values(["node1"], pinger=False), tmp_path)
    deployments = by_kind(objects, "Deployment")
    assert "mirror-1-pinger" not in deployments
    assert "mirror-1-monitor" not in deployments


@needs_helm
def test_mirror_ingress_controller(tmp_path: Path) -> None:
    fullname = f"mirror-ingress-controller-{NAMESPACE}"
    values = {
        "controller": {
            "config": {"max-connections": "256", "ssl-redirect": "false"},
            "ingressClass": "mirror-ingress-class",
            "extraArgs": {"controller-class": "mirror-ingress-controller"},
            "service": {
                "type": "NodePort",
                "httpPorts": [{"port": 80, "targetPort": 80, "nodePort": 30003}],
                "httpsPorts": [{"port": 443, "targetPort": 443, "nodePort": 30004}],
            },
        },
        "fullnameOverride": fullname,
    }
    objects = render("haproxy-ingress", "haproxy-ingress-1", values, tmp_path)
    deployment = by_kind(objects, "Deployment")[fullname]
    assert matches(
        {"app.kubernetes.io/name": "haproxy-ingress", "app.kubernetes.io/instance": "haproxy-ingress-1"},
        pod_labels(deployment),
    )
    args = containers(deployment)["haproxy-ingress"]["args"]
    assert "--ingress-class=mirror-ingress-class" in args
    assert "--controller-class=mirror-ingress-controller" in args
    service = by_kind(objects, "Service")[fullname]
    assert service["spec"]["type"] == "NodePort"
    assert [port.get("nodePort") for port in service["spec"]["ports"]] == [30003, 30004]
    assert by_kind(objects, "ConfigMap")[fullname]["data"]["ssl-redirect"] == "false"
    assert not by_kind(objects, "IngressClass")  # solo creates mirror-ingress-class itself

    values["controller"]["ingressClassResource"] = {"enabled": True}
    ingress_class = by_kind(render("haproxy-ingress", "haproxy-ingress-1", values, tmp_path), "IngressClass")
    assert ingress_class["mirror-ingress-class"]["spec"]["controller"] == (
        "haproxy-ingress.github.io/controller/mirror-ingress-controller"
    )


# ---------------------------------------------------------------------------------------------------------------------
# Explorer, relay, block node


@needs_helm
def test_explorer(tmp_path: Path) -> None:
    ingress_release = _config.explorer_ingress_release_name(NAMESPACE)
    values = {
        "ingress": {
            "enabled": True,
            "hosts": [{"host": "explorer.solo.local", "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": [
                {"secretName": "ca-secret-hiero-explorer", "hosts": ['{{ index .Values.ingress.hosts 0 "host" }}']}
            ],
        },
        "ingressClassName": ingress_release,
        "fullnameOverride": f"hiero-explorer-1-{NAMESPACE}",
        "proxyPass": {"/api": f"http://mirror-1-rest.{NAMESPACE}.svc.cluster.local"},
    }
    objects = render("hiero-explorer", "hiero-explorer-1", values, tmp_path)
    fullname = f"hiero-explorer-1-{NAMESPACE}"
    deployment = by_kind(objects, "Deployment")[fullname]
    assert pod_labels(deployment)["app.kubernetes.io/instance"] == "hiero-explorer-1"
    assert 8080 in container_ports(containers(deployment)["hiero-explorer"])
    nginx = by_kind(objects, "ConfigMap")[f"{fullname}-config"]["data"]["nginx.conf"]
    assert f"proxy_pass http://mirror-1-rest.{NAMESPACE}.svc.cluster.local;" in nginx
    ingress = by_kind(objects, "Ingress")[fullname]
    assert ingress["spec"]["ingressClassName"] == ingress_release
    assert ingress["spec"]["tls"][0]["hosts"] == ["explorer.solo.local"]


@needs_helm
@pytest.mark.parametrize("count", [1, 3])
def test_relay_points_at_every_node(count: int, tmp_path: Path) -> None:
    nodes = aliases(count)
    network = relay_network(nodes)
    config = {
        "MIRROR_NODE_URL": f"http://mirror-ingress-controller-{NAMESPACE}.{NAMESPACE}.svc.cluster.local",
        "MIRROR_NODE_URL_WEB3": f"http://mirror-1-web3.{NAMESPACE}.svc.cluster.local",
        "CHAIN_ID": 298,
        "HEDERA_NETWORK": network,
        "OPERATOR_ID_MAIN": "0.0.2",
        "OPERATOR_KEY_MAIN": "302e020100300506032b657004220420deadbeef",
    }
    values = {"nameOverride": "relay-1", "relay": {"config": config}, "ws": {"enabled": True, "config": config}}
    objects = render("hedera-json-rpc", "relay-1", values, tmp_path)
    deployments = by_kind(objects, "Deployment")
    assert set(deployments) == {"relay-1", "relay-1-ws"}
    assert matches(
        {"app.kubernetes.io/instance": "relay-1", "app.kubernetes.io/name": "relay"}, pod_labels(deployments["relay-1"])
    )
    assert not matches({"app.kubernetes.io/name": "relay"}, pod_labels(deployments["relay-1-ws"]))
    configmaps = by_kind(objects, "ConfigMap")
    for name in ("relay-1", "relay-1-ws"):
        data = configmaps[name]["data"]
        assert json.loads(data["HEDERA_NETWORK"]) == {
            f"network-{alias}-svc.{NAMESPACE}.svc.cluster.local:50211": account_id(alias) for alias in nodes
        }
        assert data["CHAIN_ID"] == "298"
        assert "OPERATOR_KEY_MAIN" not in data  # credentials go to the Secret only
        assert secret_data(by_kind(objects, "Secret")[name])["OPERATOR_ID_MAIN"] == "0.0.2"
    relay_container = containers(deployments["relay-1"])["relay"]
    assert {"configMapRef": {"name": "relay-1"}} in relay_container["envFrom"]
    assert 7546 in container_ports(relay_container)
    assert by_kind(objects, "Service")["relay-1"]["spec"]["ports"][0]["port"] == 7546


@needs_helm
def test_block_node(tmp_path: Path) -> None:
    values = {
        "nameOverride": "block-node-1",
        "image": {"repository": "ghcr.io/hiero-ledger/hiero-block-node-solo-dev"},
        "blockNode": {
            "config": {"MESSAGING_BLOCK_ITEM_QUEUE_SIZE": "128"},
            "persistence": {"archive": {"size": "1Gi"}, "live": {"size": "1Gi"}, "logging": {"size": "1Gi"}},
            "backfill": {"sources": [{"address": f"block-node-2.{NAMESPACE}.svc.cluster.local", "port": 40840}]},
        },
    }
    objects = render("block-node-server", "block-node-1", values, tmp_path)
    statefulset = by_kind(objects, "StatefulSet")["block-node-1"]
    assert pod_labels(statefulset)["app.kubernetes.io/instance"] == "block-node-1"
    server = containers(statefulset)["block-node-server"]
    assert {40840, 40983} <= container_ports(server)
    assert server["image"] == "ghcr.io/hiero-ledger/hiero-block-node-solo-dev:0.39.0"
    claims = {t["metadata"]["name"]: t for t in statefulset["spec"]["volumeClaimTemplates"]}
    assert set(claims) == {"live-storage", "archive-storage", "logging-storage", "application-state-storage"}
    assert claims["archive-storage"]["spec"]["resources"]["requests"]["storage"] == "1Gi"
    configmaps = by_kind(objects, "ConfigMap")
    assert configmaps["block-node-1-config"]["data"]["MESSAGING_BLOCK_ITEM_QUEUE_SIZE"] == "128"
    sources = json.loads(configmaps["block-node-1-block-node-sources"]["data"]["block-node-sources.json"])
    assert sources["nodes"][0]["port"] == 40840
    assert by_kind(objects, "Service")["block-node-1"]["spec"]["ports"][0]["port"] == 40840


# ---------------------------------------------------------------------------------------------------------------------
# Platform build zip


def test_platform_build_is_deterministic_and_verifies(tmp_path: Path) -> None:
    first = platform_build.write_platform_build(tmp_path / "a", "v0.75.1")
    second = platform_build.write_platform_build(tmp_path / "b", "v0.75.1")
    data = first.zip_path.read_bytes()
    assert data == second.zip_path.read_bytes()
    assert first.zip_path.name == "build-v0.75.1.zip"
    assert first.checksum_path.name == "build-v0.75.1.sha384"
    text = first.checksum_path.read_text(encoding="ascii")
    assert text == f"{hashlib.sha384(data).hexdigest()}  build-v0.75.1.zip\n"
    assert platform_build.parse_checksum(text) == (hashlib.sha384(data).hexdigest(), "build-v0.75.1.zip")
    assert first.sha384 == hashlib.sha384(data).hexdigest()
    assert platform_build.build_zip("v0.75.2") != data


def test_platform_build_checksum_changes_with_any_byte() -> None:
    data = bytearray(platform_build.build_zip("v0.75.1"))
    digest = hashlib.sha384(data).hexdigest()
    for offset in (0, len(data) // 2, len(data) - 1):
        corrupted = bytearray(data)
        corrupted[offset] ^= 0x01
        assert hashlib.sha384(corrupted).hexdigest() != digest


def test_platform_build_layout() -> None:
    with zipfile.ZipFile(BytesIO(platform_build.build_zip("v0.75.1"))) as archive:
        names = archive.namelist()
        assert {"VERSION", "immediate.sh", "during-freeze.sh", "data/apps/HederaNode.jar"} <= set(names)
        libs = [name for name in names if name.startswith("data/lib/")]
        assert libs and all(name.endswith("-0.75.1.jar") for name in libs)
        assert archive.read("VERSION").decode().startswith("VERSION=0.75.1\n")
        for jar in [name for name in names if name.endswith(".jar")]:
            with zipfile.ZipFile(BytesIO(archive.read(jar))) as inner:
                assert "Implementation-Version: 0.75.1" in inner.read("META-INF/MANIFEST.MF").decode()


def test_platform_build_url_layout(tmp_path: Path) -> None:
    build = platform_build.write_platform_build(tmp_path, "v0.75.1", builds_layout=True)
    assert build.zip_path == tmp_path / platform_build.builds_path("v0.75.1")
    assert platform_build.builds_path("v0.75.1") == "node/software/v0.75/build-v0.75.1.zip"
    # the same pattern as the collection's default build URL
    assert _config.DEFAULT_PLATFORM_BUILD_URL.format(release_prefix="v0.75", release_tag="v0.75.1").endswith(
        platform_build.builds_path("v0.75.1")
    )
    with pytest.raises(ValueError, match="release tag"):
        platform_build.write_platform_build(tmp_path, "0.75.1")


@pytest.mark.skipif(shutil.which("sha384sum") is None, reason="coreutils sha384sum not installed")
def test_platform_build_checksum_file_passes_sha384sum(tmp_path: Path) -> None:
    """The node's extract-platform.sh runs `sha384sum -c build-<tag>.sha384` next to the zip."""
    build = platform_build.write_platform_build(tmp_path, "v0.75.1")
    ok = subprocess.run(["sha384sum", "-c", build.checksum_path.name], cwd=tmp_path, capture_output=True, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    data = bytearray(build.zip_path.read_bytes())
    data[100] ^= 0xFF
    build.zip_path.write_bytes(bytes(data))
    bad = subprocess.run(["sha384sum", "-c", build.checksum_path.name], cwd=tmp_path, capture_output=True, check=False)
    assert bad.returncode != 0
