"""The consensus_node step's rules: the genesis network file, admin keys, the platform status metric, the ACTIVE
wait, and a corrupt build refused before the cluster is contacted."""

from __future__ import annotations

import base64
import hashlib
import json
from types import SimpleNamespace

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ansible_collections.hiero.solo.plugins.module_utils import _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._download import ChecksumMismatch
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError, WaitTimeout
from ansible_collections.hiero.solo.plugins.module_utils._steps import consensus_node as step

NS = "one-shot"
SPEC = argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, step.CONSENSUS_NODE_ARG_SPEC)


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = {name: spec.get("default") for name, spec in SPEC.items()}
        self.params.update(params)
        self.check_mode = check_mode
        self.diff_mode = False
        self.warnings: list[str] = []
        self.ansible_module = SimpleNamespace(no_log_values=set())

    def clients(self):
        raise AssertionError("the cluster must not be contacted")

    def warn(self, msg):
        self.warnings.append(msg)


def _cert_pem(alias: str) -> str:
    # An EC certificate is enough here (the file only carries its DER) and takes no time to make.
    from datetime import datetime, timedelta, timezone

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, f"s-{alias}")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


@pytest.fixture(scope="module")
def certs():
    return {alias: _cert_pem(alias) for alias in ("node1", "node2")}


def _genesis(certs, section=None, doc=None):
    aliases = ["node1", "node2"]
    return json.loads(
        step.genesis_network(
            aliases,
            doc=doc or _remote_config.new_document("one-shot", NS, "one-shot", node_aliases=aliases),
            namespace=NS,
            realm=0,
            shard=0,
            gossip_certs=certs,
            admin_keys={"node1": b"\x01" * 32, "node2": b"\x02" * 32},
            section=section or {},
        )
    )


def test_the_genesis_network_lists_every_node_as_solo_does(certs):
    genesis = _genesis(certs)
    first = genesis["nodeMetadata"][0]
    node, roster = first["node"], first["rosterEntry"]
    assert node["nodeId"] == 0 and roster["nodeId"] == 0
    assert node["accountId"] == {"realmNum": "0", "shardNum": "0", "accountNum": "3"}
    assert node["description"] == "node1"
    address = "network-node1-svc.one-shot.svc.cluster.local"
    assert node["gossipEndpoint"] == [{"domainName": address, "port": 50111}] == roster["gossipEndpoint"]
    assert node["serviceEndpoint"] == [{"domainName": address, "port": 50211}, {"domainName": address, "port": 50212}]
    der = x509.load_pem_x509_certificate(certs["node1"].encode()).public_bytes(serialization.Encoding.DER)
    assert base64.b64decode(node["gossipCaCertificate"]) == der == base64.b64decode(roster["gossipCaCertificate"])
    assert (node["weight"], roster["weight"], node["deleted"], node["grpcCertificateHash"]) == (500, 500, False, "")
    assert node["adminKey"] == {"ed25519": base64.b64encode(b"\x01" * 32).decode()}
    assert genesis["nodeMetadata"][1]["node"]["accountId"]["accountNum"] == "4"


def test_domain_names_and_ports_come_from_the_section(certs):
    genesis = _genesis(
        certs,
        {
            "domain_names": "node2=node2.example.com",
            "service_endpoint_port": "node2=40211",
            "gossip_endpoint_port": 40111,
        },
    )
    second = genesis["nodeMetadata"][1]["node"]
    assert second["serviceEndpoint"] == [
        {"domainName": "node2.example.com", "port": 40211},
        {"domainName": "node2.example.com", "port": 40212},
    ]
    assert second["gossipEndpoint"][0]["port"] == 40111


def test_ipv4_endpoints_are_base64_bytes():
    assert step._endpoint("10.0.0.1", 50211) == {
        "port": 50211,
        "ipAddressV4": base64.b64encode(bytes([10, 0, 0, 1])).decode(),
    }


def test_the_genesis_file_is_deterministic_so_pods_can_be_compared(certs):
    assert _genesis(certs) == _genesis(certs)


def test_admin_keys_round_trip_through_solos_secret_format():
    data, raw = step.new_admin_key()
    private_hex = base64.b64decode(data["privateKey"]).decode()
    assert private_hex.startswith("302e020100300506032b657004220420"), "PKCS#8 DER hex, as the SDK's toString()"
    assert step.admin_public_key(data, "Secret x") == raw
    assert step.admin_public_key({}, "Secret x") is None
    with pytest.raises(HieroError, match="Secret x: publicKey is not"):
        step.admin_public_key({"publicKey": base64.b64encode(b"zz").decode()}, "Secret x")


METRICS = """# HELP platform_PlatformStatus status
# TYPE platform_PlatformStatus gauge
platform_PlatformStatusOther 9
platform_PlatformStatus{node="0"} 2.0
"""


def test_the_platform_status_comes_from_the_metric_line():
    assert step.platform_status(METRICS) == 2
    assert step.platform_status("platform_PlatformStatus 1\n") == 1
    assert step.platform_status("# nothing yet\n") is None
    assert step.status_name(1) == "STARTING_UP (1)"
    assert step.status_name(None) == "no platform_PlatformStatus metric yet"


class Clock:
    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_a_node_that_never_gets_active_fails_naming_the_pod_and_the_last_status(monkeypatch):
    clock = Clock()
    reads = []

    def read_status(core, namespace, alias):
        reads.append(alias)
        return 1, step.status_name(1)

    monkeypatch.setattr(step, "read_status", read_status)
    with pytest.raises(WaitTimeout) as caught:
        step.wait_active(None, NS, "node2", 5, None, sleep=clock.sleep, clock=clock.monotonic)
    msg = str(caught.value)
    assert "pod one-shot/network-node2-0" in msg and "last status seen: STARTING_UP (1)" in msg
    assert caught.value.result["last_status"] == "STARTING_UP (1)"
    assert len(reads) == 6, "polled once a second until the timeout"


def test_a_catastrophic_failure_ends_the_wait_at_once(monkeypatch):
    monkeypatch.setattr(step, "read_status", lambda core, ns, alias: (11, step.status_name(11)))
    with pytest.raises(HieroError, match="CATASTROPHIC_FAILURE"):
        step.wait_active(None, NS, "node1", 300, None, sleep=lambda s: pytest.fail("must not wait"))


def test_phases_move_and_the_ledger_is_initialized():
    doc = _remote_config.new_document("one-shot", NS, "one-shot", node_aliases=["node1", "node2"])
    after = step.set_phases(
        doc,
        namespace=NS,
        aliases=["node1", "node2"],
        phase="started",
        command="consensus node start",
        ledger_phase="initialized",
    )
    assert [c["metadata"]["phase"] for c in after["state"]["consensusNodes"]] == ["started", "started"]
    assert after["state"]["ledgerPhase"] == "initialized"
    again = step.set_phases(
        after, namespace=NS, aliases=["node1", "node2"], phase="started", command="x", ledger_phase="initialized"
    )
    assert again == after


def test_a_corrupt_build_is_refused_before_the_cluster_is_contacted(tmp_path):
    build = tmp_path / "build-v0.75.1.zip"
    build.write_bytes(b"PK corrupted")
    checksum = tmp_path / "build-v0.75.1.sha384"
    good = hashlib.sha384(b"PK original").hexdigest()
    checksum.write_text(f"{good}  build-v0.75.1.zip\n")
    module = FakeModule(namespace=NS, node_aliases=["node1"], release_tag="v0.75.1", build_path=str(build))
    with pytest.raises(ChecksumMismatch) as caught:
        step.run(module)
    msg = str(caught.value)
    assert str(build) in msg and good in msg and hashlib.sha384(b"PK corrupted").hexdigest() in msg


def test_configured_needs_a_version_and_a_build():
    with pytest.raises(InputError, match="release_tag"):
        step.run(FakeModule(namespace=NS, node_aliases=["node1"], build_path="/x.zip"))
    with pytest.raises(InputError, match="build_path"):
        step.run(FakeModule(namespace=NS, node_aliases=["node1"], release_tag="v0.75.1"))


def test_the_extract_script_checks_the_checksum_before_unpacking():
    script = step.EXTRACT_PLATFORM_SH
    assert script.startswith("#!/bin/bash")
    assert script.index('sha384sum -c "${CHECKSUM}"') < script.index("unzip")
