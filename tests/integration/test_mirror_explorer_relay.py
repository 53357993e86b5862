"""Issue 6 items 1-2 acceptance: mirror node, explorer and relay through ansible-playbook against the sandbox.

One deployment with two consensus nodes, started by the consensus chain (playbooks/consensus_deploy.yml), then
mirror -> explorer || relay as async jobs of the same run (playbooks/mer_deploy.yml). The assertions read what the
stand-in charts rendered from the values the modules passed (tests/charts/README.md): the importer's address book
carries every node's gossip key, the relay's HEDERA_NETWORK every node (hazard H5), the remote config the
components solo records. A second run of those steps (playbooks/mer_steps.yml) changes nothing; check mode writes
nothing. Then explorer || relay absent -> mirror absent (playbooks/mer_destroy.yml), with the kubeconfig's current
context on another cluster (hazard H8), leaves nothing of them behind: objects, releases, remote config entries.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from ansible_collections.hiero.solo.plugins.modules import explorer as explorer_module
from ansible_collections.hiero.solo.plugins.modules import mirror_node as mirror_node_module
from ansible_collections.hiero.solo.plugins.modules import relay as relay_module
from tests.charts.sources import local_chart_sources
from tests.integration._ansible import run_playbook
from tests.sandbox import platform_build
from tests.sandbox.workloads import mirror_behaviour

pytestmark = pytest.mark.timeout(400)

NODES = 2
ALIASES = [f"node{i}" for i in range(1, NODES + 1)]
RELEASE_TAG = "v0.75.1"
# Kinds left out of object inventories: events, Leases (the run's lock) and the endpoints the controllers keep.
NOISE_KINDS = {"events", "leases", "endpoints", "endpointslices"}
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")
RELEASES = ("mirror-1", "solo-shared-resources", "haproxy-ingress-1", "hiero-explorer-1", "relay-1")
MIRROR_INGRESS_CLASS = "mirror-ingress-class"
MODULES = {"mirror_node": mirror_node_module, "explorer": explorer_module, "relay": relay_module}


@pytest.fixture(scope="module")
def sandbox(workload_sandbox):
    """The workload sandbox, with the shared postgres container's psql and DB init scripted."""

    def register() -> None:
        registry = workload_sandbox.state.workloads.behaviours
        if not any(entry.handler is mirror_behaviour.psql for entry in registry.commands):
            mirror_behaviour.register(registry)

    workload_sandbox.call(register)
    return workload_sandbox


@pytest.fixture(scope="module")
def clients(sandbox):
    return get_clients({"kubeconfig": str(sandbox.kubeconfig)})


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mer")


@pytest.fixture(scope="module")
def deployment(sandbox, work) -> dict:
    """Variables of one deployment: its name, solo home, stand-in charts, platform build, DB init script."""
    name = f"mer-{uuid.uuid4().hex[:6]}"
    build = platform_build.write_platform_build(work / "builds", RELEASE_TAG)
    init_script = work / "init.sh"
    init_script.write_text(
        "#!/bin/bash\n# stand-in for hiero-mirror-node importer/src/main/resources/db/scripts/init.sh\n"
    )
    variables = {
        "deployment": name,
        "num_consensus_nodes": NODES,
        "solo_home": str(work / "solo"),
        "chart_sources": local_chart_sources(),
        "db_init_script": str(init_script),
        "install_retry_delay": 1,
        "platform_build_url": str(build.zip_path),
    }
    return variables


def deploy(sandbox, work: Path, variables: dict, tag: str, playbook: str = "mer_deploy.yml"):
    result = work / f"mer-{tag}.json"
    run = run_playbook(
        sandbox.kubeconfig, work / tag, playbook, {**variables, "mer_result_file": str(result)}, timeout=300
    )
    assert run.rc == 0, run.output[-6000:]
    return run, json.loads(result.read_text())


def jobs(result: dict) -> dict[str, dict]:
    """The joined async results by module fact name."""
    found = {}
    for job in result["jobs"]["results"]:
        facts = job.get("ansible_facts") or {}
        for name in ("hiero_solo_mirror_node", "hiero_solo_explorer", "hiero_solo_relay"):
            if name in facts:
                found[name] = job
    assert set(found) == {"hiero_solo_mirror_node", "hiero_solo_explorer", "hiero_solo_relay"}, result
    return found


@pytest.fixture(scope="module")
def first_run(sandbox, work, deployment):
    return deploy(sandbox, work, deployment, "first")


# --------------------------------------------------------------------------------------------- deploy


def test_first_run_deploys_everything_and_records_the_components(first_run, clients, deployment):
    _run, result = first_run
    results = jobs(result)
    for job in results.values():
        assert job["changed"] is True and job["actions"], job
    mirror = results["hiero_solo_mirror_node"]["ansible_facts"]["hiero_solo_mirror_node"]
    assert mirror["releases"] == {
        "mirror_node": "mirror-1",
        "solo_shared_resources": "solo-shared-resources",
        "ingress_controller": "haproxy-ingress-1",
    }
    assert [node["alias"] for node in mirror["address_book"]["nodes"]] == ALIASES
    assert {"importer", "grpc", "rest", "restjava", "web3"} <= set(mirror["pods_ready"])
    relay = results["hiero_solo_relay"]["ansible_facts"]["hiero_solo_relay"]
    assert relay["node_aliases"] == ALIASES
    assert sorted(relay["network"].values()) == ["0.0.3", "0.0.4"]

    namespace = deployment["deployment"]
    doc, _rv = _remote_config.load(clients.core, namespace)

    def phases(kind: str) -> list[tuple[int, str]]:
        return [(c["metadata"]["id"], c["metadata"]["phase"]) for c in _remote_config.components(doc, kind)]

    assert phases("mirrorNodes") == [(1, "deployed")]
    assert phases("explorers") == [(1, "deployed")]
    assert phases("relayNodes") == [(1, "deployed")]
    assert phases("postgres") == [(1, "deployed")] and phases("redis") == [(1, "deployed")]
    assert _remote_config.get_component(doc, "relayNodes", 1)["consensusNodeIds"] == [0, 1]
    assert doc["versions"]["mirrorNodeChart"] == "0.160.0"
    assert doc["versions"]["explorerChart"] == "26.2.0"
    assert doc["versions"]["jsonRpcRelayChart"] == "0.78.1"

    # the run-state shows the ordering: explorer and relay started after the mirror node was done
    state = clients.core.read_namespaced_config_map("hiero-solo-run-state", namespace).data
    steps = {step: json.loads(text) for step, text in state.items() if step != "run"}
    for step in ("mirror_node", "explorer", "relay", "pinger"):
        assert steps[step]["status"] == "done", steps
    assert steps["explorer"]["started"] >= steps["mirror_node"]["finished"]
    assert steps["relay"]["started"] >= steps["mirror_node"]["finished"]
    assert steps["pinger"]["started"] >= steps["consensus_node_started"]["finished"]


def _secret_text(clients, namespace: str, name: str, key: str) -> bytes:
    return base64.b64decode(clients.core.read_namespaced_secret(name, namespace).data[key])


def test_address_book_carries_every_node_and_its_gossip_key(first_run, clients, deployment):
    basic_types = pytest.importorskip("hiero_sdk_python.hapi.services.basic_types_pb2")
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    namespace = deployment["deployment"]
    # the stand-in renders importer.addressBook into the importer's Secret (data = the base64 the module passed)
    book = basic_types.NodeAddressBook.FromString(
        _secret_text(clients, namespace, "mirror-1-importer", "addressbook.bin")
    )
    assert [address.description for address in book.nodeAddress] == ALIASES
    for address, alias in zip(book.nodeAddress, ALIASES, strict=True):
        # the gossip certificate the consensus network runs with (its own Secret)
        pem = _secret_text(clients, namespace, f"network-{alias}-keys-secrets", f"s-public-{alias}.pem")
        spki = x509.load_pem_x509_certificate(pem).public_key()
        der = spki.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        assert address.RSA_PubKey == der.hex(), alias
        assert address.nodeAccountId.accountNum == 3 + int(alias[4:]) - 1
        assert address.serviceEndpoint[0].domain_name == f"network-{alias}-svc.{namespace}.svc.cluster.local"
        assert address.serviceEndpoint[0].port == 50211


def test_mirror_values_reach_the_components(first_run, clients, deployment):
    namespace = deployment["deployment"]
    importer = clients.apps.read_namespaced_deployment("mirror-1-importer", namespace)
    env = {item.name: item.value for item in importer.spec.template.spec.containers[0].env or []}
    assert env["HIERO_MIRROR_IMPORTER_INITIALADDRESSBOOK"] == "/usr/etc/hiero/addressbook.bin"
    assert importer.spec.template.spec.containers[0].image.endswith(":0.160.0")
    import yaml

    application = yaml.safe_load(_secret_text(clients, namespace, "mirror-1-importer", "application.yaml"))
    assert application["hiero"]["mirror"]["common"] == {"realm": 0, "shard": 0}
    assert application["hiero"]["mirror"]["importer"]["network"] == "other"
    # the pinger was enabled after the nodes started, pointed at the operator
    pinger = clients.apps.read_namespaced_deployment("mirror-1-pinger", namespace)
    pinger_env = {item.name: item.value for item in pinger.spec.template.spec.containers[0].env or []}
    assert pinger_env["HIERO_MIRROR_PINGER_OPERATOR_ID"] == "0.0.2"
    assert pinger_env["HIERO_MIRROR_PINGER_TO_ACCOUNT_ID"] == "0.0.98"
    # shared postgres/redis, and the mirror ingress class on the mirror's Ingresses
    passwords = clients.core.read_namespaced_secret("mirror-passwords", namespace).data
    assert base64.b64decode(passwords["HIERO_MIRROR_IMPORTER_DB_HOST"]).decode() == (
        f"solo-shared-resources-postgres.{namespace}.svc.cluster.local"
    )
    ingresses = clients.networking.list_namespaced_ingress(
        namespace, label_selector="app.kubernetes.io/instance=mirror-1"
    )
    assert ingresses.items and {i.spec.ingress_class_name for i in ingresses.items} == {"mirror-ingress-class"}
    assert clients.networking.read_ingress_class("mirror-ingress-class").spec.controller == (
        "haproxy-ingress.github.io/controller/mirror-ingress-controller"
    )


def test_relay_values_point_at_every_consensus_node(first_run, clients, deployment):
    namespace = deployment["deployment"]
    services = clients.core.list_namespaced_service(namespace, label_selector="solo.hedera.com/type=haproxy-svc").items
    expected = {}
    for service in services:
        alias = service.metadata.labels["solo.hedera.com/node-name"]
        port = next(p.port for p in service.spec.ports if p.name == "non-tls-grpc-client-port")
        expected[f"{service.spec.cluster_ip}:{port}"] = f"0.0.{3 + int(alias[4:]) - 1}"
    assert len(expected) == NODES
    for name in ("relay-1", "relay-1-ws"):
        config = clients.core.read_namespaced_config_map(name, namespace).data
        assert json.loads(config["HEDERA_NETWORK"]) == expected, name
        assert (
            config["MIRROR_NODE_URL"] == f"http://mirror-ingress-controller-{namespace}.{namespace}.svc.cluster.local"
        )
    relay_config = clients.core.read_namespaced_config_map("relay-1", namespace).data
    assert relay_config["MIRROR_NODE_URL_WEB3"] == f"http://mirror-1-web3.{namespace}.svc.cluster.local"
    assert relay_config["CHAIN_ID"] == "298"


def test_explorer_is_proxied_to_the_mirror_and_served_by_its_ingress_controller(first_run, clients, deployment):
    namespace = deployment["deployment"]
    ingress_release = f"explorer-haproxy-ingress-1-{namespace}"
    nginx = clients.core.read_namespaced_config_map(f"hiero-explorer-1-{namespace}-config", namespace).data
    assert f"http://mirror-1-rest.{namespace}.svc.cluster.local" in json.dumps(nginx)
    ingress = clients.networking.read_namespaced_ingress(f"hiero-explorer-1-{namespace}", namespace)
    assert ingress.metadata.annotations["haproxy-ingress.github.io/backend-protocol"] == "h1"
    assert clients.networking.read_ingress_class(ingress_release).spec.controller == (
        f"haproxy-ingress.github.io/controller/{ingress_release}"
    )


def test_second_run_changes_nothing(first_run, sandbox, work, deployment):
    # The mirror node, explorer and relay steps again, in the same run (the consensus network's second run is
    # covered by its own test): nothing to change.
    run_id = first_run[1]["config"]["ansible_facts"]["hiero_solo_config"]["run_id"]
    run, result = deploy(sandbox, work, {**deployment, "run_id": run_id}, "second", "mer_steps.yml")
    for name, job in jobs(result).items():
        assert job["changed"] is False and job["actions"] == [], (name, job["actions"])
    assert run.recap()["changed"] == 0, run.output[-4000:]


# --------------------------------------------------------------------------------------------- absent


def stored_objects(sandbox) -> list[tuple[str, str | None, dict]]:
    """(plural, namespace, object) of everything in the sandbox's store but events and Leases."""

    def collect() -> list[tuple[str, str | None, dict]]:
        found = []
        for rt in sandbox.state.registry.storage_types():
            if rt.plural in NOISE_KINDS:
                continue
            items, _rv = sandbox.state.store.list(rt)
            found += [(rt.plural, obj["metadata"].get("namespace"), obj) for obj in items]
        return found

    return sandbox.call(collect)


def component_objects(sandbox, namespace: str) -> set[tuple[str, str]]:
    """What the mirror node, explorer and relay (and their releases) made: objects of their releases (by name or
    instance label), helm's records of those releases, the Secrets and leader-election records around them, the
    claims of their StatefulSets and the volumes bound to those claims, and their IngressClasses."""
    releases = set(RELEASES) | {f"explorer-haproxy-ingress-1-{namespace}"}
    prefixes = (
        *releases,
        f"mirror-ingress-controller-{namespace}",
        "ca-secret-mirror-node",
        "mirror-passwords",
        "ingress-controller-leader-",
        "data-solo-shared-resources-",
        "redis-data-solo-shared-resources-",
    )
    found = set()
    for plural, ns, obj in stored_objects(sandbox):
        meta = obj["metadata"]
        name = meta["name"]
        labels = meta.get("labels") or {}
        if ns == namespace:
            helm_record = plural == "secrets" and labels.get("owner") == "helm" and labels.get("name") in releases
            if helm_record or labels.get("app.kubernetes.io/instance") in releases or name.startswith(prefixes):
                found.add((plural, name))
        elif ns is None:
            claim = (obj.get("spec") or {}).get("claimRef") or {}
            if (
                plural == "persistentvolumes"
                and claim.get("namespace") == namespace
                and str(claim.get("name", "")).startswith(prefixes)
            ):
                found.add((plural, name))
            if plural == "ingressclasses" and name in (MIRROR_INGRESS_CLASS, f"explorer-haproxy-ingress-1-{namespace}"):
                found.add((plural, name))
            if (
                plural in ("clusterroles", "clusterrolebindings")
                and labels.get("app.kubernetes.io/instance") in releases
            ):
                found.add((plural, name))
    return found


def call_module(module, args: dict, capsys) -> dict:
    """Run a module's real main() in this process (as Ansible would, minus the wrapper) and return its result."""
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_check_mode_plans_the_removal_and_writes_nothing(first_run, sandbox, work, deployment, capsys, monkeypatch):
    namespace = deployment["deployment"]
    monkeypatch.setenv("HELM_CACHE_HOME", str(work / "helm-cache"))
    monkeypatch.setenv("HELM_CONFIG_HOME", str(work / "helm-config"))
    args = {
        "state": "absent",
        "namespace": namespace,
        "kubeconfig": str(sandbox.kubeconfig),
        "solo_home": deployment["solo_home"],
        "_ansible_check_mode": True,
    }
    sandbox.reset_stats()
    planned = {name: call_module(module, args, capsys) for name, module in MODULES.items()}
    requests = sandbox.stats()["requests"]
    assert {key: n for key, n in requests.items() if key.split(" ", 1)[0] in WRITE_VERBS} == {}, requests
    for name, result in planned.items():
        assert result["changed"] is True and not result.get("failed"), (name, result)
    assert f"uninstall release {namespace}/mirror-1" in planned["mirror_node"]["actions"]
    assert f"uninstall release {namespace}/solo-shared-resources" in planned["mirror_node"]["actions"]
    assert f"delete IngressClass {MIRROR_INGRESS_CLASS}" in planned["mirror_node"]["actions"]
    assert f"uninstall release {namespace}/explorer-haproxy-ingress-1-{namespace}" in planned["explorer"]["actions"]
    assert planned["relay"]["actions"][0] == f"uninstall release {namespace}/relay-1"


def kubeconfig_pointing_elsewhere(sandbox, path: Path) -> tuple[Path, str]:
    """The sandbox's kubeconfig whose current context is another, unreachable cluster (hazard H8: a step that
    ignores the deployment's cluster reference talks to the wrong cluster). Returns it and the sandbox's context."""
    config = yaml.safe_load(Path(sandbox.kubeconfig).read_text())
    sandbox_context = config["current-context"]
    config["clusters"].append({"name": "elsewhere", "cluster": {"server": "http://127.0.0.1:9"}})
    config["contexts"].append(
        {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": config["users"][0]["name"]}}
    )
    config["current-context"] = "elsewhere"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path, sandbox_context


def test_absent_leaves_nothing_of_the_components_behind(
    first_run, sandbox, clients, work, deployment, capsys, monkeypatch
):
    namespace = deployment["deployment"]
    # A running haproxy controller records its leader election; the sandbox runs none, so make the record.
    leader = f"ingress-controller-leader-{MIRROR_INGRESS_CLASS}"
    clients.core.create_namespaced_config_map(namespace, {"metadata": {"name": leader}, "data": {}})
    before = component_objects(sandbox, namespace)
    for expected in (
        ("deployments", "mirror-1-importer"),
        ("statefulsets", "solo-shared-resources-postgres"),
        ("deployments", f"hiero-explorer-1-{namespace}"),
        ("deployments", "relay-1"),
        ("ingressclasses", MIRROR_INGRESS_CLASS),
        ("secrets", "sh.helm.release.v1.relay-1.v1"),
        ("configmaps", leader),
    ):
        assert expected in before, (expected, sorted(before))
    untouched = {(plural, ns, obj["metadata"]["name"]) for plural, ns, obj in stored_objects(sandbox)}

    # The current context is another cluster: every call must go to the cluster reference's (hazard H8).
    kubeconfig, context = kubeconfig_pointing_elsewhere(sandbox, work / "kubeconfig-elsewhere")
    variables = {
        "deployment_namespace": namespace,
        "cluster_ref": "one-shot",
        "solo_home": deployment["solo_home"],
        "kube_context": context,
    }
    result_file = work / "destroy.json"
    run = run_playbook(kubeconfig, work / "destroy", "mer_destroy.yml", {**variables, "result_file": str(result_file)})
    assert run.rc == 0, run.output[-6000:]
    result = json.loads(result_file.read_text())
    assert result["mirror"]["changed"] is True
    assert all(job["changed"] for job in result["jobs"]["results"])

    assert component_objects(sandbox, namespace) == set()
    # ... and nothing else went: the consensus network is as it was (pods may have been replaced, not removed)
    now = {(plural, ns, obj["metadata"]["name"]) for plural, ns, obj in stored_objects(sandbox)}
    ours = {(plural, name) for plural, name in before}
    gone = {
        item for item in untouched - now if (item[0], item[2]) not in ours and item[0] not in ("pods", "replicasets")
    }
    assert gone == set(), gone
    doc, _rv = _remote_config.load(clients.core, namespace)
    for kind in ("mirrorNodes", "explorers", "relayNodes", "postgres", "redis"):
        assert _remote_config.components(doc, kind) == [], kind
    assert len(_remote_config.components(doc, "consensusNodes")) == NODES

    # Again: nothing left to do (the modules' own run, in this process, with the same kubeconfig and no Lease option).
    monkeypatch.setenv("HELM_CACHE_HOME", str(work / "helm-cache"))
    monkeypatch.setenv("HELM_CONFIG_HOME", str(work / "helm-config"))
    args = {
        "state": "absent",
        "namespace": namespace,
        "cluster_ref": "one-shot",
        "kubeconfig": str(kubeconfig),
        "solo_home": deployment["solo_home"],
    }
    for name, module in MODULES.items():
        result = call_module(module, args, capsys)
        assert result["changed"] is False and result["actions"] == [], (name, result)
