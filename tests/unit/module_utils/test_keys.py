"""Consensus-node keys: certificates as solo makes them (solo-spec §5), files, Secret data, no secrets in repr."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import stat
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID, SignatureAlgorithmOID

from ansible_collections.hiero.solo.plugins.module_utils import _keys as keys
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError

NOW = datetime(2026, 8, 21, 10, 11, 12, 345678, tzinfo=timezone.utc)
NOT_BEFORE = datetime(2026, 8, 21, 10, 11, 12, tzinfo=timezone.utc)
NOT_AFTER = datetime(2126, 8, 21, 10, 11, 12, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def node1() -> keys.NodeKeys:
    # RSA-4096 generation is slow: once per module.
    return keys.generate_node_keys("node1", now=NOW)


def cert_of(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def extensions_of(cert: x509.Certificate) -> list[tuple[x509.ObjectIdentifier, bool, object]]:
    return [(ext.oid, ext.critical, ext.value) for ext in cert.extensions]


def assert_self_signed_sha384(cert: x509.Certificate, key_size: int, common_name: str) -> None:
    assert cert.version == x509.Version.v3
    assert cert.serial_number == 1
    assert cert.signature_algorithm_oid == SignatureAlgorithmOID.RSA_WITH_SHA384
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA384)
    public_key = cert.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    assert public_key.key_size == key_size
    assert public_key.public_numbers().e == 65537
    assert cert.subject == cert.issuer
    assert cert.subject.rfc4514_string() == f"CN={common_name}"
    (attribute,) = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert attribute._type == _ASN1Type.PrintableString  # solo's x509 library writes a PrintableString
    public_key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA384())
    assert cert.not_valid_before_utc == NOT_BEFORE
    assert cert.not_valid_after_utc == NOT_AFTER


def assert_private_key_matches(key_pem: str, cert: x509.Certificate) -> None:
    assert key_pem.startswith("-----BEGIN PRIVATE KEY-----\n")  # PKCS#8, unencrypted
    assert key_pem.endswith("-----END PRIVATE KEY-----")  # solo writes no final newline here
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    assert key.public_key().public_bytes(der, spki) == cert.public_key().public_bytes(der, spki)


def test_gossip_certificate_is_solos(node1: keys.NodeKeys) -> None:
    cert = cert_of(node1.gossip_cert_pem)
    assert_self_signed_sha384(cert, 3072, "s-node1")
    assert extensions_of(cert) == [
        (ExtensionOID.BASIC_CONSTRAINTS, True, x509.BasicConstraints(ca=True, path_length=1)),
        (
            ExtensionOID.EXTENDED_KEY_USAGE,
            True,
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        ),
        (
            ExtensionOID.KEY_USAGE,
            True,
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
        ),
        (ExtensionOID.SUBJECT_KEY_IDENTIFIER, False, x509.SubjectKeyIdentifier.from_public_key(cert.public_key())),
    ]
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert key_usage.key_cert_sign and key_usage.crl_sign and not key_usage.digital_signature
    assert_private_key_matches(node1.gossip_private_key_pem, cert)


def test_tls_certificate_is_solos(node1: keys.NodeKeys) -> None:
    cert = cert_of(node1.tls_cert_pem)
    assert_self_signed_sha384(cert, 4096, "node1")
    key_id = x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    assert extensions_of(cert) == [
        (ExtensionOID.BASIC_CONSTRAINTS, True, x509.BasicConstraints(ca=False, path_length=None)),
        (
            ExtensionOID.KEY_USAGE,
            True,
            x509.KeyUsage(True, False, True, True, False, False, False, False, False),
        ),
        (
            ExtensionOID.EXTENDED_KEY_USAGE,
            True,
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
        ),
        (ExtensionOID.SUBJECT_KEY_IDENTIFIER, False, key_id),
        (ExtensionOID.AUTHORITY_KEY_IDENTIFIER, False, x509.AuthorityKeyIdentifier(key_id.digest, None, None)),
    ]
    key_usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert key_usage.digital_signature and key_usage.key_encipherment and key_usage.data_encipherment
    assert not key_usage.key_cert_sign
    assert_private_key_matches(node1.tls_private_key_pem, cert)


def test_certificate_pem_layout(node1: keys.NodeKeys) -> None:
    for pem in (node1.gossip_cert_pem, node1.tls_cert_pem):
        assert pem.startswith("-----BEGIN CERTIFICATE-----\n")
        assert pem.endswith("-----END CERTIFICATE-----\n") and not pem.endswith("\n\n")
        assert pem.count("BEGIN CERTIFICATE") == 1


def test_validity_end_follows_javascript_leap_day_rollover() -> None:
    assert keys._add_years(datetime(2000, 2, 29, 1, 2, 3, tzinfo=timezone.utc), 100) == datetime(
        2100, 3, 1, 1, 2, 3, tzinfo=timezone.utc
    )
    assert keys._add_years(datetime(2024, 2, 29, tzinfo=timezone.utc), 100) == datetime(
        2124, 2, 29, tzinfo=timezone.utc
    )


def test_file_and_secret_names() -> None:
    assert keys.key_file_names("node1") == (
        "s-private-node1.pem",
        "s-public-node1.pem",
        "hedera-node1.key",
        "hedera-node1.crt",
    )
    assert keys.gossip_secret_name("node2") == "network-node2-keys-secrets"
    assert keys.gossip_secret_labels("node2") == {"solo.hedera.com/node-name": "node2"}
    assert keys.TLS_SECRET_NAME == "network-node-hapi-app-secrets"


def test_default_keys_dir_follows_solos_environment() -> None:
    assert keys.default_keys_dir({"SOLO_HOME": "/h"}) == "/h/cache/keys"
    assert keys.default_keys_dir({"SOLO_HOME": "/h", "SOLO_CACHE_DIR": "/c"}) == "/c/keys"
    assert keys.default_keys_dir({}) == os.path.expanduser("~/.solo/cache/keys")


@pytest.mark.parametrize("alias", ["", "Node1", "node_1", "-node1", "node1-", None, 1])
def test_bad_alias_is_rejected_before_any_work(alias: object) -> None:
    with pytest.raises(InputError, match=r"^alias: "):
        keys.generate_node_keys(alias)  # type: ignore[arg-type]


def mode(path: os.PathLike | str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_keys_modes_and_contents(tmp_path, node1: keys.NodeKeys) -> None:
    keys_dir = tmp_path / "cache" / "keys"
    old_umask = os.umask(0o022)  # a typical umask would leave 0755/0644 if the code did not set modes itself
    try:
        assert keys.write_keys(str(keys_dir), node1) is True
    finally:
        os.umask(old_umask)
    assert mode(keys_dir) == 0o700
    assert sorted(os.listdir(keys_dir)) == sorted(keys.key_file_names("node1"))  # no temporary files left behind
    for name, content in node1.files().items():
        assert mode(keys_dir / name) == 0o600
        assert (keys_dir / name).read_text() == content


def test_write_keys_leaves_identical_files_untouched(tmp_path, node1: keys.NodeKeys) -> None:
    keys_dir = tmp_path / "keys"
    keys.write_keys(str(keys_dir), node1)
    before = {name: os.stat(keys_dir / name) for name in node1.files()}
    assert keys.write_keys(str(keys_dir), node1) is False
    for name, st in before.items():
        after = os.stat(keys_dir / name)
        assert (after.st_ino, after.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)


def test_write_keys_repairs_modes_and_replaces_different_content(tmp_path, node1: keys.NodeKeys) -> None:
    keys_dir = tmp_path / "keys"
    keys.write_keys(str(keys_dir), node1)
    os.chmod(keys_dir, 0o755)
    os.chmod(keys_dir / "hedera-node1.key", 0o644)
    assert keys.write_keys(str(keys_dir), node1) is True
    assert mode(keys_dir) == 0o700 and mode(keys_dir / "hedera-node1.key") == 0o600

    (keys_dir / "s-public-node1.pem").write_text("stale")
    assert keys.write_keys(str(keys_dir), node1) is True
    assert (keys_dir / "s-public-node1.pem").read_text() == node1.gossip_cert_pem
    assert mode(keys_dir / "s-public-node1.pem") == 0o600


def test_load_keys_round_trip_and_missing(tmp_path, node1: keys.NodeKeys) -> None:
    keys_dir = tmp_path / "keys"
    assert keys.load_keys(str(keys_dir), "node1") is None
    keys.write_keys(str(keys_dir), node1)
    assert keys.load_keys(str(keys_dir), "node1") == node1
    assert keys.load_keys(str(keys_dir), "node2") is None
    (keys_dir / "hedera-node1.crt").unlink()
    assert keys.load_keys(str(keys_dir), "node1") is None


def test_load_keys_rejects_corrupt_or_mismatched_files(tmp_path, node1: keys.NodeKeys) -> None:
    keys_dir = tmp_path / "keys"
    keys.write_keys(str(keys_dir), node1)
    (keys_dir / "hedera-node1.crt").write_text("not a certificate")
    with pytest.raises(HieroError, match=r"hedera-node1\.crt: not a PEM certificate"):
        keys.load_keys(str(keys_dir), "node1")

    keys.write_keys(str(keys_dir), node1)
    # The gossip private key swapped for the TLS one: both parse, but they do not belong together.
    (keys_dir / "s-private-node1.pem").write_text(node1.tls_private_key_pem)
    with pytest.raises(
        HieroError, match=r"s-private-node1\.pem does not belong to the certificate in .*s-public-node1"
    ):
        keys.load_keys(str(keys_dir), "node1")


def test_secret_data_round_trip(node1: keys.NodeKeys) -> None:
    data = keys.secret_data_for(node1)
    assert set(data) == {"s-private-node1.pem", "s-public-node1.pem", "hedera-node1.key", "hedera-node1.crt"}
    for name, content in node1.files().items():
        assert base64.b64decode(data[name]).decode() == content  # base64 of the file, as solo stores it
    assert keys.keys_from_secret_data(data) == node1
    assert keys.keys_from_secret_data(data, "node1") == node1
    assert keys.keys_from_secret_data({}) is None
    assert keys.keys_from_secret_data(None) is None
    partial = {k: v for k, v in data.items() if k != "hedera-node1.key"}
    assert keys.keys_from_secret_data(partial) is None


def test_secret_data_errors_name_the_entry(node1: keys.NodeKeys) -> None:
    data = keys.secret_data_for(node1)
    with pytest.raises(HieroError, match=r"Secret data entry hedera-node1\.crt: not base64"):
        keys.keys_from_secret_data({**data, "hedera-node1.crt": "***"})
    wrong = base64.b64encode(node1.tls_private_key_pem.encode()).decode()
    with pytest.raises(HieroError, match=r"s-private-node1\.pem does not belong"):
        keys.keys_from_secret_data({**data, "s-private-node1.pem": wrong})
    with pytest.raises(HieroError, match="several nodes"):
        keys.keys_from_secret_data({**data, "s-private-node2.pem": data["s-private-node1.pem"]})


def test_secrets_are_spread_as_solo_does(node1: keys.NodeKeys) -> None:
    # A second node with the same PEMs is enough to check how entries are spread over the Secrets.
    node2 = dataclasses.replace(node1, alias="node2")
    secrets = keys.secrets_for([node1, node2])
    assert set(secrets) == {"network-node1-keys-secrets", "network-node2-keys-secrets", "network-node-hapi-app-secrets"}
    gossip1 = secrets["network-node1-keys-secrets"]
    assert gossip1["labels"] == {"solo.hedera.com/node-name": "node1"}
    assert set(gossip1["data"]) == {"s-private-node1.pem", "s-public-node1.pem", "s-public-node2.pem"}
    assert set(secrets["network-node2-keys-secrets"]["data"]) == {
        "s-private-node2.pem",
        "s-public-node1.pem",
        "s-public-node2.pem",
    }
    tls = secrets["network-node-hapi-app-secrets"]["data"]
    assert set(tls) == {"hedera-node1.key", "hedera-node1.crt", "hedera-node2.key", "hedera-node2.crt"}
    # Reading back: a node's gossip Secret merged with the shared TLS Secret gives its keys.
    assert keys.keys_from_secret_data({**gossip1["data"], **tls}) == node1
    assert keys.keys_from_secret_data({**secrets["network-node2-keys-secrets"]["data"], **tls}) == node2


def test_keys_made_by_solo_load_despite_their_tls_basic_constraints(node1: keys.NodeKeys) -> None:
    # solo's x509 library writes the TLS BasicConstraints as CA:FALSE with pathlen 0 (DER 30 03 02 01 00), which
    # cryptography refuses to parse as an extension. Loading and summarising must not depend on reading it.
    tls_key = serialization.load_pem_private_key(node1.tls_private_key_pem.encode(), password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "node1")])
    solo_cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(tls_key.public_key())
        .serial_number(1)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.UnrecognizedExtension(ExtensionOID.BASIC_CONSTRAINTS, b"\x30\x03\x02\x01\x00"), True)
        .sign(tls_key, hashes.SHA384())
    )
    solo_pem = solo_cert.public_bytes(serialization.Encoding.PEM).decode()
    with pytest.raises(ValueError):
        _ = x509.load_pem_x509_certificate(solo_pem.encode()).extensions  # the incompatibility is real
    solo_keys = dataclasses.replace(node1, tls_cert_pem=solo_pem)
    assert keys.keys_from_secret_data(keys.secret_data_for(solo_keys)) == solo_keys
    assert keys.public_summary(solo_keys)["tls"]["subject"] == "CN=node1"


def test_public_summary_has_no_private_material(node1: keys.NodeKeys) -> None:
    summary = keys.public_summary(node1)
    text = json.dumps(summary)
    assert "PRIVATE" not in text
    assert summary["alias"] == "node1"
    gossip, tls = summary["gossip"], summary["tls"]
    assert (gossip["subject"], gossip["key_size"], gossip["file"]) == ("CN=s-node1", 3072, "s-public-node1.pem")
    assert (tls["subject"], tls["key_size"], tls["file"]) == ("CN=node1", 4096, "hedera-node1.crt")
    assert gossip["not_before"] == "2026-08-21T10:11:12Z" and gossip["not_after"] == "2126-08-21T10:11:12Z"
    assert gossip["serial_number"] == 1
    fingerprint = cert_of(node1.gossip_cert_pem).fingerprint(hashes.SHA256()).hex(":").upper()
    assert gossip["sha256_fingerprint"] == fingerprint
    assert gossip["public_key_pem"].startswith("-----BEGIN PUBLIC KEY-----")


def test_repr_and_str_hide_private_keys(node1: keys.NodeKeys) -> None:
    # A line from the middle of each private key: any leak of the PEM body would contain it.
    secrets = [pem.splitlines()[5] for pem in (node1.gossip_private_key_pem, node1.tls_private_key_pem)]
    for text in (repr(node1), str(node1), f"{node1}", repr([node1]), repr({"k": node1})):
        assert "PRIVATE" not in text
        assert "node1" in text
        for secret in secrets:
            assert secret not in text
