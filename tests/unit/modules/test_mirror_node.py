"""The mirror node step's pure parts: address book, values, release drift, remote config changes, DB init input."""

from __future__ import annotations

import base64
import copy
import subprocess
from types import SimpleNamespace

import pytest

from ansible_collections.hiero.solo.plugins.module_utils import _keys
from ansible_collections.hiero.solo.plugins.module_utils import _remote_config as rc
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._helm import ChartSource
from ansible_collections.hiero.solo.plugins.module_utils._steps import _component as comp
from ansible_collections.hiero.solo.plugins.module_utils._steps import mirror_node as mn

NS = "one-shot"


@pytest.fixture(scope="module")
def certs() -> dict[str, str]:
    """Real gossip certificates of three nodes, made as the keys step makes them."""
    return {alias: _keys.generate_node_keys(alias).gossip_cert_pem for alias in ("node1", "node2", "node3")}


def remote_doc(aliases=("node1", "node2", "node3"), **state) -> dict:
    doc = rc.new_document("one-shot", NS, "one-shot", node_aliases=list(aliases))
    doc["state"].update(state)
    return doc


# --------------------------------------------------------------------------------------------- address book


def test_address_book_lists_every_node_with_its_gossip_key_and_decodes_with_the_sdk_protobufs(certs):
    basic_types = pytest.importorskip("hiero_sdk_python.hapi.services.basic_types_pb2")
    doc = remote_doc()
    entries = [
        mn.node_address_entry(
            alias,
            0,
            0,
            mn.node_fqdn(doc, alias, NS, "one-shot"),
            comp.GRPC_PORT,
            mn.gossip_public_key_hex(certs[alias], alias),
        )
        for alias in ("node1", "node2", "node3")
    ]
    book = basic_types.NodeAddressBook.FromString(mn.encode_address_book(entries))

    assert [a.description for a in book.nodeAddress] == ["node1", "node2", "node3"]
    assert [a.nodeId for a in book.nodeAddress] == [0, 1, 2]
    assert [a.nodeAccountId.accountNum for a in book.nodeAddress] == [3, 4, 5]
    assert [a.serviceEndpoint[0].domain_name for a in book.nodeAddress] == [
        f"network-node{i}-svc.{NS}.svc.cluster.local" for i in (1, 2, 3)
    ]
    assert {a.serviceEndpoint[0].port for a in book.nodeAddress} == {50211}
    for address, alias in zip(book.nodeAddress, ("node1", "node2", "node3"), strict=True):
        # RSA_PubKey is the hex of the certificate's DER SubjectPublicKeyInfo, as solo writes it
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        spki = (
            x509.load_pem_x509_certificate(certs[alias].encode())
            .public_key()
            .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
        assert address.RSA_PubKey == spki.hex()


def test_address_book_writes_zero_shard_and_realm_explicitly_like_protobuf_js():
    entry = mn.node_address_entry("node1", 0, 0, "h", 50211, "ab")
    encoded = mn.encode_address_book([entry])
    # AccountID {shardNum: 0, realmNum: 0, accountNum: 3} = 08 00 10 00 18 03
    assert bytes.fromhex("080010001803") in encoded
    # nodeId 0 is written too (field 5, varint)
    assert bytes.fromhex("2800") in encoded


def test_address_book_uses_realm_and_shard_for_the_node_accounts():
    entry = mn.node_address_entry("node2", 1, 2, "h", 50211, "ab")
    assert entry["account_id"] == "1.2.4"


def test_gossip_certificate_comes_from_the_keys_dir_first(tmp_path, certs):
    (tmp_path / "s-public-node1.pem").write_text(certs["node1"])
    core = SimpleNamespace(list_namespaced_secret=lambda *a, **k: pytest.fail("Secrets must not be read"))
    pem, where = mn.gossip_certificate(core, NS, str(tmp_path), "node1")
    assert pem == certs["node1"] and where == str(tmp_path / "s-public-node1.pem")


def _secret(name: str, data: dict[str, str]):
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    return SimpleNamespace(metadata=SimpleNamespace(name=name), data=encoded)


def test_gossip_certificate_falls_back_to_any_node_secret_public_part(tmp_path, certs):
    # node2's own Secret does not exist yet; node1's Secret carries every node's certificate.
    secrets = [
        _secret(
            "network-node1-keys-secrets", {"s-public-node1.pem": certs["node1"], "s-public-node2.pem": certs["node2"]}
        )
    ]
    core = SimpleNamespace(list_namespaced_secret=lambda *a, **k: SimpleNamespace(items=secrets))
    pem, where = mn.gossip_certificate(core, NS, str(tmp_path), "node2")
    assert pem == certs["node2"]
    assert where == f"Secret {NS}/network-node1-keys-secrets"


def test_a_node_without_any_certificate_fails_naming_it_and_the_keys_step(tmp_path):
    core = SimpleNamespace(list_namespaced_secret=lambda *a, **k: SimpleNamespace(items=[]))
    with pytest.raises(HieroError, match=r"no gossip certificate for node3: .*s-public-node3.pem.*hiero.solo.keys"):
        mn.gossip_certificate(core, NS, str(tmp_path), "node3")


def test_node_fqdn_follows_the_remote_config_pattern():
    doc = remote_doc()
    doc["clusters"][0]["dnsConsensusNodePattern"] = "{nodeAlias}-{nodeId}.{namespace}.{cluster}"
    doc["clusters"][0]["dnsBaseDomain"] = "example.org"
    assert mn.node_fqdn(doc, "node2", NS, "one-shot") == "node2-1.one-shot.one-shot.example.org"


# --------------------------------------------------------------------------------------------- values


REDIS = {"password": "redis-secret", "host": "solo-shared-resources-redis", "port": "6379"}


def values(**overrides):
    arguments = dict(
        namespace=NS,
        version="v0.160.0",
        realm=0,
        shard=0,
        address_book_b64="Ym9vaw==",
        redis=REDIS,
        pinger=None,
        block_nodes={},
        domain_name=None,
        extra={},
    )
    arguments.update(overrides)
    return mn.mirror_values(**arguments)


def test_mirror_values_carry_solo_settings():
    v = values()
    assert v["importer"]["addressBook"] == "Ym9vaw=="
    assert v["db"] == {"name": "mirror_node", "host": f"solo-shared-resources-postgres.{NS}.svc.cluster.local"}
    assert v["redis"] == {"enabled": False, "auth": {"password": "redis-secret"}, "host": REDIS["host"], "port": "6379"}
    assert v["postgresql"]["enabled"] is False and v["stackgres"] == {"enabled": False}
    assert {v[m]["image"]["tag"] for m in mn.IMAGE_TAG_MODULES} == {"0.160.0"}
    for module in mn.MIRROR_MODULES:
        assert v[module]["config"]["hiero"]["mirror"]["common"] == {"realm": 0, "shard": 0}
    assert v["importer"]["config"]["spring"]["datasource"]["hikari"] == {"minimumIdle": 8, "maximumPoolSize": 12}
    assert v["pinger"]["enabled"] is False and v["monitor"]["enabled"] is False
    assert v["graphql"]["enabled"] is False and v["rosetta"]["enabled"] is False


def test_pinger_values_name_the_operator_and_keep_the_switch_given():
    pinger = {"operator_id": "0.0.2", "operator_key": "k3y", "recipient": "0.0.98", "enabled": False}
    v = values(pinger=pinger)
    assert v["pinger"]["enabled"] is False
    assert v["pinger"]["env"] == {
        "HIERO_MIRROR_PINGER_OPERATOR_ID": "0.0.2",
        "HIERO_MIRROR_PINGER_TO_ACCOUNT_ID": "0.0.98",
        "HIERO_MIRROR_PINGER_OPERATOR_KEY": "k3y",
    }
    operator = v["monitor"]["config"]["hiero"]["mirror"]["monitor"]["operator"]
    assert operator == {"accountId": "0.0.2", "privateKey": "k3y"}
    enabled = values(pinger={**pinger, "enabled": True})
    # the pinger switch is the only difference: the lightweight values change solo's enablePinger makes
    differences = [key for key in enabled if enabled[key] != v[key]]
    assert differences == ["pinger"]
    assert {k: x for k, x in enabled["pinger"].items() if k != "enabled"} == {
        k: x for k, x in v["pinger"].items() if k != "enabled"
    }


def test_values_files_cannot_override_what_solo_sets_but_add_to_it():
    v = values(
        extra={"importer": {"addressBook": "other", "replicas": 2}, "rest": {"resources": {"limits": {"cpu": 1}}}}
    )
    assert v["importer"]["addressBook"] == "Ym9vaw=="  # computed (--set) wins over files
    assert v["importer"]["replicas"] == 2
    assert v["rest"]["resources"]["limits"]["cpu"] == 1


def test_secret_strings_finds_passwords_and_keys_in_values():
    pinger = {"operator_id": "0.0.2", "operator_key": "k3y", "recipient": "0.0.98", "enabled": True}
    found = comp.secret_strings(values(pinger=pinger))
    assert {"redis-secret", "k3y"} <= found
    assert "0.0.2" not in found and "6379" not in found


def test_block_node_values_only_with_block_nodes_and_tss():
    doc = remote_doc(tssEnabled=True)
    assert mn.block_node_values(doc, "one-shot", "v0.160.0", force=False) == {}
    block = rc.new_component("blockNodes", 1, NS, "one-shot", phase="deployed")
    rc.add_component(doc, "blockNodes", block)
    rc.set_version(doc, "consensusNodes", "v0.75.1")
    settings = mn.block_node_values(doc, "one-shot", "v0.160.0", force=False)
    importer = settings["importer"]["config"]["hiero"]["mirror"]["importer"]
    assert importer["block"]["nodes"] == [
        {"endpoints": [{"host": f"block-node-1.{NS}.svc.cluster.local", "port": 40840}]}
    ]
    assert importer["downloader"] == {"balance": {"enabled": False}, "record": {"enabled": False}}
    assert settings["importer"]["env"]["SPRING_PROFILES_ACTIVE"] == "blocknode"
    # older consensus nodes keep pulling record files unless forced
    rc.set_version(doc, "consensusNodes", "v0.73.0")
    assert mn.block_node_values(doc, "one-shot", "v0.160.0", force=False) == {}
    assert mn.block_node_values(doc, "one-shot", "v0.160.0", force=True)
    # before mirror 0.157 the importer takes block nodes from environment variables
    old = mn.block_node_values(doc, "one-shot", "v0.156.0", force=True)
    assert old["importer"]["env"]["HIERO_MIRROR_IMPORTER_BLOCK_NODES_0_HOST"] == f"block-node-1.{NS}.svc.cluster.local"


def test_prime_values_disable_every_application_and_redis():
    prime = mn.prime_values(NS)
    for module in ("importer", "grpc", "rest", "restjava", "web3", "rosetta", "graphql", "monitor"):
        assert prime[module] == {"enabled": False}
    assert prime["redis"] == {"enabled": False}


def test_ingress_controller_values_name_the_mirror_class():
    v = mn.ingress_controller_values(NS)
    assert v["fullnameOverride"] == f"mirror-ingress-controller-{NS}"
    assert v["controller"]["ingressClass"] == "mirror-ingress-class"
    assert v["controller"]["extraArgs"] == {"controller-class": "mirror-ingress-controller"}
    assert v["controller"]["config"]["max-connections"] == "256"


def _ingress(name, class_name=None, tls=None, annotations=None):
    return SimpleNamespace(
        metadata=SimpleNamespace(name=name, annotations=annotations),
        spec=SimpleNamespace(ingress_class_name=class_name, tls=tls),
    )


def test_mirror_ingress_patch_sets_class_tls_and_path_type_once():
    patch = mn.mirror_ingress_patch(_ingress("mirror-1-rest"), "localhost")
    assert patch == {
        "metadata": {"annotations": {"haproxy-ingress.github.io/path-type": "prefix"}},
        "spec": {
            "ingressClassName": "mirror-ingress-class",
            "tls": [{"hosts": ["localhost"], "secretName": "ca-secret-mirror-node"}],
        },
    }
    assert mn.mirror_ingress_patch(_ingress("mirror-1-web3"), "localhost")["metadata"]["annotations"] == {
        "haproxy-ingress.github.io/path-type": "regex"
    }
    done = _ingress(
        "mirror-1-rest",
        "mirror-ingress-class",
        [SimpleNamespace(hosts=["localhost"], secret_name="ca-secret-mirror-node")],
        {"haproxy-ingress.github.io/path-type": "prefix"},
    )
    assert mn.mirror_ingress_patch(done, "localhost") is None


# --------------------------------------------------------------------------------------------- releases


SOURCE = ChartSource("repo", "hedera-mirror", repo="https://example.org/charts", version="0.160.0")


def test_release_drift_reasons():
    wanted = {"a": 1}
    record = {"name": "mirror-1", "status": "deployed", "chart": "hedera-mirror-0.160.0"}
    assert comp.release_drift(None, None, SOURCE, wanted) == "not installed"
    assert comp.release_drift({**record, "status": "failed"}, wanted, SOURCE, wanted) == "status failed"
    assert comp.release_drift({**record, "chart": "hedera-mirror-0.159.0"}, wanted, SOURCE, wanted).startswith("chart")
    assert comp.release_drift(record, {"a": 2}, SOURCE, wanted) == "values differ"
    assert comp.release_drift(record, wanted, SOURCE, wanted) is None


def test_expected_chart_of_each_source_kind(tmp_path):
    assert comp.expected_chart(SOURCE) == "hedera-mirror-0.160.0"
    assert comp.expected_chart(
        ChartSource("oci", "oci://ghcr.io/x/charts/solo-shared-resources", version="0.66.0")
    ) == ("solo-shared-resources-0.66.0")
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: stand-in\nversion: 1.2.3\n")
    assert comp.expected_chart(ChartSource("path", str(tmp_path))) == "stand-in-1.2.3"
    assert comp.expected_chart(ChartSource("path", str(tmp_path / "chart.tgz"))) is None


def test_chart_sources_take_the_option_over_upstream(tmp_path):
    sources = comp.chart_sources(
        {"chart_sources": {"mirror_node": {"path": str(tmp_path)}, "relay": {"version": "9.9.9"}}},
        {"mirror_node": "0.161.0", "ingress_controller": None},
    )
    assert sources["mirror_node"] == ChartSource("path", str(tmp_path))
    assert sources["ingress_controller"].version == "0.14.5"
    assert "relay" not in sources
    upstream = comp.chart_sources({}, {"mirror_node": "0.161.0"})["mirror_node"]
    assert (upstream.chart, upstream.version) == ("hedera-mirror", "0.161.0")
    with pytest.raises(InputError, match="chart_sources"):
        comp.chart_sources({"chart_sources": ["no"]}, {"mirror_node": None})


# --------------------------------------------------------------------------------------------- remote config


def test_deployed_component_updates_a_preregistered_component_and_its_version():
    doc = remote_doc()
    rc.add_component(doc, "mirrorNodes", rc.new_component("mirrorNodes", 1, NS, "one-shot"), increment_id=False)
    after = comp.deployed_component(copy.deepcopy(doc), "mirrorNodes", 1, NS, "one-shot", version="v0.160.0")
    assert rc.get_component(after, "mirrorNodes", 1)["metadata"]["phase"] == "deployed"
    assert after["versions"]["mirrorNodeChart"] == "0.160.0"
    assert after["state"]["componentIds"]["mirrorNodes"] == 1  # pre-registered with skipIncrement: left alone
    assert comp.deployed_component(copy.deepcopy(after), "mirrorNodes", 1, NS, "one-shot", version="v0.160.0") == after


def test_deployed_component_adds_a_missing_one_and_bumps_the_counter():
    doc = remote_doc()
    after = comp.deployed_component(copy.deepcopy(doc), "postgres", 1, NS, "one-shot")
    assert rc.get_component(after, "postgres", 1)["metadata"] == {
        "id": 1,
        "namespace": NS,
        "cluster": "one-shot",
        "phase": "deployed",
    }
    assert after["state"]["componentIds"]["postgres"] == 2
    relay = comp.deployed_component(copy.deepcopy(doc), "relayNodes", 1, NS, "one-shot", consensusNodeIds=[0, 1, 2])
    assert rc.get_component(relay, "relayNodes", 1)["consensusNodeIds"] == [0, 1, 2]


def test_without_components_removes_only_what_is_named():
    doc = remote_doc()
    for kind in ("mirrorNodes", "postgres", "redis", "explorers"):
        rc.add_component(doc, kind, rc.new_component(kind, 1, NS, "one-shot", phase="deployed"))
    after = comp.without_components(copy.deepcopy(doc), {"mirrorNodes": [1], "postgres": None, "redis": None})
    assert comp.component_ids(after, "mirrorNodes") == [] and comp.component_ids(after, "postgres") == []
    assert comp.component_ids(after, "explorers") == [1]
    assert len(rc.components(after, "consensusNodes")) == 3


def test_component_id_is_the_registered_one_else_the_next():
    doc = remote_doc()
    assert comp.component_id_for(doc, "mirrorNodes") == 1
    rc.add_component(doc, "mirrorNodes", rc.new_component("mirrorNodes", 4, NS, "one-shot"), increment_id=False)
    assert comp.component_id_for(doc, "mirrorNodes") == 4
    assert comp.component_id_for(None, "relayNodes") == 1


# --------------------------------------------------------------------------------------------- database init


PASSWORDS = {
    "HIERO_MIRROR_IMPORTER_DB_NAME": "mirror_node",
    "HIERO_MIRROR_IMPORTER_DB_OWNER": "mirror_node",
    "HIERO_MIRROR_IMPORTER_DB_OWNERPASSWORD": "own'er",
    "HIERO_MIRROR_IMPORTER_DB_RESTUSERNAME": "mirror_rest",
    "HIERO_MIRROR_IMPORTER_DB_PASSWORD": "imp",
    "HIERO_MIRROR_REST_DB_PASSWORD": "rest",
    "HIERO_MIRROR_GRPC_DB_PASSWORD": "grpc",
    "HIERO_MIRROR_WEB3_DB_PASSWORD": "web3",
    "HIERO_MIRROR_RESTJAVA_DB_PASSWORD": "rj",
    "HIERO_MIRROR_GRAPHQL_DB_PASSWORD": "gql",
    "HIERO_MIRROR_ROSETTA_DB_PASSWORD": "ros",
}


def test_init_environment_is_a_shell_env_file_bash_reads_back_exactly(tmp_path):
    env_file = tmp_path / "init.env"
    env_file.write_text(mn.init_environment("super:pw$x", PASSWORDS))
    shown = subprocess.run(
        [
            "bash",
            "-c",
            f'set -a; . "{env_file}"; set +a; printf "%s|%s|%s|%s" "$SUPERUSER_PASSWORD" '
            '"$OWNER_PASSWORD" "$REST_USERNAME" "$DB_NAME"',
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == "super:pw$x|own'er|mirror_rest|mirror_node"


def test_init_environment_refuses_a_secret_without_the_owner():
    with pytest.raises(HieroError, match="MIRROR_IMPORTER_DB_OWNER"):
        mn.init_environment("pw", {"HIERO_MIRROR_IMPORTER_DB_NAME": "mirror_node"})


def test_init_wrapper_is_valid_bash_and_reads_its_secrets_from_the_env_file(tmp_path):
    wrapper = tmp_path / "run-init.sh"
    wrapper.write_text(mn.INIT_WRAPPER_TEXT)
    subprocess.run(["bash", "-n", str(wrapper)], check=True)
    assert "PASSWORD=" not in mn.INIT_WRAPPER_TEXT.replace("PGPASSWORD", "")
    assert "solo-initialized" in mn.INIT_WRAPPER_TEXT


def test_init_script_location_defaults_to_the_release_on_github():
    assert mn.init_script_location(None, "0.160.0") == (
        "https://raw.githubusercontent.com/hiero-ledger/hiero-mirror-node/refs/tags/v0.160.0"
        "/importer/src/main/resources/db/scripts/init.sh"
    )
    assert mn.init_script_location("/x/init.sh", "v0.160.0") == "/x/init.sh"


# --------------------------------------------------------------------------------------------- inputs


def test_input_checks_name_the_field():
    with pytest.raises(InputError, match=r"^node_aliases: .*'n1'"):
        comp.check_node_aliases(["n1"])
    with pytest.raises(InputError, match=r"^node_aliases: 'node1' is listed twice"):
        comp.check_node_aliases(["node1", "node1"])
    with pytest.raises(InputError, match=r"^operator_id: expected an account id"):
        comp.check_entity_id("operator_id", "2")
    with pytest.raises(InputError, match=r"^values_files: values file .* does not exist"):
        comp.check_values_files(["/nonexistent/values.yaml"])


def test_deep_merge_merges_maps_and_replaces_everything_else():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert comp.deep_merge(base, {"a": {"c": [3]}, "e": {"f": 1}}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": {"f": 1}}
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}
