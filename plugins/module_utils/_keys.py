# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Consensus-node keys as solo makes them: the gossip signing key and the gRPC TLS key of each node alias.

Facts from hiero-ledger/solo ``src/core/key-manager.ts`` and ``src/core/platform-installer.ts`` (solo-spec §5):

- gossip: RSA-3072, e=65537, self-signed, SHA-384 with PKCS#1 v1.5, serial 1, subject and issuer ``CN=s-<alias>``,
  valid from now for 100 years; BasicConstraints CA:TRUE pathlen:1, ExtendedKeyUsage serverAuth+clientAuth and
  KeyUsage keyCertSign+cRLSign, all three critical; SubjectKeyIdentifier. Files ``s-private-<alias>.pem`` (PKCS#8)
  and ``s-public-<alias>.pem`` (the certificate).
- TLS: RSA-4096, same signature, serial and validity, subject ``CN=<alias>``; BasicConstraints CA:FALSE, KeyUsage
  digitalSignature+keyEncipherment+dataEncipherment and ExtendedKeyUsage serverAuth+clientAuth, all critical;
  SubjectKeyIdentifier and AuthorityKeyIdentifier (key id only). Files ``hedera-<alias>.key`` / ``hedera-<alias>.crt``.
- Secrets: ``network-<alias>-keys-secrets`` (label ``solo.hedera.com/node-name=<alias>``) holds the node's own
  gossip private key and every node's gossip certificate; ``network-node-hapi-app-secrets`` holds every node's TLS
  key and certificate. Values are the base64 of the file contents, keyed by file name.

One deliberate difference: solo's x509 library encodes the TLS BasicConstraints as CA:FALSE *with* pathlen:0, which
RFC 5280 forbids and which ``cryptography`` refuses to parse. We write plain CA:FALSE (what the spec states), and we
never read extensions when loading keys, so certificates made by solo load fine.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._errors import DependencyMissing, HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._local_config import solo_cache_dir

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
except ImportError:  # reported when a key operation is attempted
    HAS_CRYPTOGRAPHY = False

try:  # private in cryptography; without it the CN is written as a UTF8String, which parses the same everywhere
    from cryptography.x509.name import _ASN1Type

    PRINTABLE_STRING: Any = _ASN1Type.PrintableString
except ImportError:
    PRINTABLE_STRING = None

GOSSIP_KEY_SIZE = 3072
TLS_KEY_SIZE = 4096
PUBLIC_EXPONENT = 65537
CERTIFICATE_VALIDITY_YEARS = 100
SERIAL_NUMBER = 1
SIGNING_KEY_PREFIX = "s"  # solo's constants.SIGNING_KEY_PREFIX

TLS_SECRET_NAME = "network-node-hapi-app-secrets"
NODE_NAME_LABEL = "solo.hedera.com/node-name"
KEYS_DIR_MODE = 0o700
KEY_FILE_MODE = 0o600

_ALIAS_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Characters allowed in an ASN.1 PrintableString; solo's library writes the CN as one.
_PRINTABLE_RE = re.compile(r"^[A-Za-z0-9 '()+,\-./:=?]*$")


def gossip_private_key_file(alias: str) -> str:
    return f"{SIGNING_KEY_PREFIX}-private-{alias}.pem"


def gossip_cert_file(alias: str) -> str:
    return f"{SIGNING_KEY_PREFIX}-public-{alias}.pem"


def tls_private_key_file(alias: str) -> str:
    return f"hedera-{alias}.key"


def tls_cert_file(alias: str) -> str:
    return f"hedera-{alias}.crt"


def gossip_secret_name(alias: str) -> str:
    return f"network-{alias}-keys-secrets"


def gossip_secret_labels(alias: str) -> dict[str, str]:
    return {NODE_NAME_LABEL: alias}


def default_keys_dir(env: Mapping[str, str] | None = None) -> str:
    """Where ``solo keys consensus generate`` puts the files: ``<cache dir>/keys``."""
    return os.path.join(solo_cache_dir(env), "keys")


def key_file_names(alias: str) -> tuple[str, str, str, str]:
    """The four file names of one node, in the order of ``NodeKeys`` fields."""
    return (gossip_private_key_file(alias), gossip_cert_file(alias), tls_private_key_file(alias), tls_cert_file(alias))


@dataclass(frozen=True, repr=False)
class NodeKeys:
    """The PEM texts of one node's keys and certificates (exactly the contents of solo's four files)."""

    alias: str
    gossip_private_key_pem: str
    gossip_cert_pem: str
    tls_private_key_pem: str
    tls_cert_pem: str

    def __repr__(self) -> str:
        # Never show private keys: this object ends up in tracebacks and debug output.
        return (
            f"NodeKeys(alias={self.alias!r}, gossip_cert_sha256={_pem_fingerprint(self.gossip_cert_pem)!r}, "
            f"tls_cert_sha256={_pem_fingerprint(self.tls_cert_pem)!r})"
        )

    __str__ = __repr__

    def files(self) -> dict[str, str]:
        """File name → content, as solo lays them out in its keys directory."""
        names = key_file_names(self.alias)
        contents = (self.gossip_private_key_pem, self.gossip_cert_pem, self.tls_private_key_pem, self.tls_cert_pem)
        return dict(zip(names, contents, strict=True))


def _require_cryptography() -> None:
    if not HAS_CRYPTOGRAPHY:
        raise DependencyMissing("cryptography", "to generate and read consensus node keys")


def _pem_fingerprint(pem: str) -> str:
    """SHA-256 of the DER inside a PEM certificate, without parsing it (works even when cryptography is missing)."""
    body = "".join(line for line in pem.strip().splitlines() if line and not line.startswith("-----"))
    try:
        der = base64.b64decode(body, validate=False)
    except (binascii.Error, ValueError):
        return "invalid"
    return hashlib.sha256(der).hexdigest()


def check_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
        raise InputError("alias", f"expected a node alias such as node1 (lowercase letters, digits, -), got {alias!r}")
    return alias


def _add_years(moment: datetime, years: int) -> datetime:
    # JavaScript's Date.setFullYear rolls 29 February into 1 March when the target year is not a leap year.
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, month=3, day=1)


def _common_name(value: str) -> x509.Name:
    if PRINTABLE_STRING is not None and _PRINTABLE_RE.match(value):
        attribute = x509.NameAttribute(NameOID.COMMON_NAME, value, _type=PRINTABLE_STRING)
    else:
        attribute = x509.NameAttribute(NameOID.COMMON_NAME, value)
    return x509.Name([attribute])


def _self_signed(key: Any, common_name: str, now: datetime, extensions: list[tuple[Any, bool]]) -> Any:
    name = _common_name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(SERIAL_NUMBER)
        .not_valid_before(now)
        .not_valid_after(_add_years(now, CERTIFICATE_VALIDITY_YEARS))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(key, hashes.SHA384())


def _private_pem(key: Any) -> str:
    text = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    # solo's PEM encoder writes no newline after the END line of a private key.
    return text.rstrip("\n")


def _cert_pem(cert: Any) -> str:
    # solo appends "\n" to each certificate of the chain; a self-signed chain is the certificate alone.
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii").rstrip("\n") + "\n"


def _gossip_extensions(key: Any) -> list[tuple[Any, bool]]:
    return [
        (x509.BasicConstraints(ca=True, path_length=1), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), True),
        (
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        ),
        (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
    ]


def _tls_extensions(key: Any) -> list[tuple[Any, bool]]:
    key_id = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    return [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=True,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        ),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), True),
        (key_id, False),
        (x509.AuthorityKeyIdentifier(key_id.digest, None, None), False),
    ]


def generate_node_keys(alias: str, now: datetime | None = None) -> NodeKeys:
    """Generate a node's gossip and TLS keys with self-signed certificates, as ``solo keys consensus generate``.

    ``now`` (timezone-aware; default: the current time) is the start of validity; it is truncated to whole
    seconds because certificates carry no fractions.
    """
    _require_cryptography()
    check_alias(alias)
    moment = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)

    gossip_key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=GOSSIP_KEY_SIZE)
    gossip_cert = _self_signed(gossip_key, f"{SIGNING_KEY_PREFIX}-{alias}", moment, _gossip_extensions(gossip_key))
    tls_key = rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=TLS_KEY_SIZE)
    tls_cert = _self_signed(tls_key, alias, moment, _tls_extensions(tls_key))
    return NodeKeys(
        alias=alias,
        gossip_private_key_pem=_private_pem(gossip_key),
        gossip_cert_pem=_cert_pem(gossip_cert),
        tls_private_key_pem=_private_pem(tls_key),
        tls_cert_pem=_cert_pem(tls_cert),
    )


def _load_cert(pem: str, where: str) -> Any:
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise HieroError(f"{where}: not a PEM certificate ({exc})") from exc


def _load_private_key(pem: str, where: str) -> Any:
    try:
        # The full RSA consistency check costs ~0.5 s per 4096-bit key; these keys come from our own 0700
        # directory or the deployment's Secrets, and the comparison with the certificate follows anyway.
        return serialization.load_pem_private_key(
            pem.encode("ascii"), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise HieroError(f"{where}: not an unencrypted PEM private key ({exc})") from exc


def _public_der(public_key: Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_node_keys(node_keys: NodeKeys, source: str = "") -> None:
    """Raise HieroError unless every PEM parses and each private key belongs to its certificate.

    Extensions are not read: solo's TLS certificates carry an encoding that ``cryptography`` rejects.
    ``source`` (e.g. a directory or Secret name) prefixes the file names in messages.
    """
    _require_cryptography()
    prefix = f"{source}/" if source else ""
    pairs = (
        (gossip_private_key_file, gossip_cert_file, node_keys.gossip_private_key_pem, node_keys.gossip_cert_pem),
        (tls_private_key_file, tls_cert_file, node_keys.tls_private_key_pem, node_keys.tls_cert_pem),
    )
    for key_name, cert_name, key_pem, cert_pem in pairs:
        key_where = prefix + key_name(node_keys.alias)
        cert_where = prefix + cert_name(node_keys.alias)
        key = _load_private_key(key_pem, key_where)
        cert = _load_cert(cert_pem, cert_where)
        if _public_der(key.public_key()) != _public_der(cert.public_key()):
            raise HieroError(f"{key_where} does not belong to the certificate in {cert_where}")


def _write_if_different(directory: str, name: str, content: str) -> bool:
    path = os.path.join(directory, name)
    data = content.encode("ascii")
    try:
        with open(path, "rb") as existing:
            same = existing.read() == data
    except FileNotFoundError:
        same = False
    if same:
        if os.stat(path).st_mode & 0o777 != KEY_FILE_MODE:
            os.chmod(path, KEY_FILE_MODE)
            return True
        return False
    # mkstemp creates the file 0600, so the key is never readable by others, not even for a moment.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, KEY_FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return True


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename itself is still atomic
    finally:
        os.close(fd)


def ensure_keys_dir(keys_dir: str) -> bool:
    """Create ``keys_dir`` (and parents) with mode 0700 for the last part; returns whether anything changed."""
    changed = False
    if not os.path.isdir(keys_dir):
        os.makedirs(keys_dir, mode=KEYS_DIR_MODE, exist_ok=True)
        changed = True
    if os.stat(keys_dir).st_mode & 0o777 != KEYS_DIR_MODE:
        # makedirs honours the umask and an existing directory keeps its mode: set it explicitly.
        os.chmod(keys_dir, KEYS_DIR_MODE)
        changed = True
    return changed


def write_keys(keys_dir: str, node_keys: NodeKeys) -> bool:
    """Write the node's four files into ``keys_dir`` (0700) with mode 0600, each atomically.

    A file whose content is already identical is left alone. Returns whether anything on disk changed.
    """
    check_alias(node_keys.alias)
    try:
        changed = ensure_keys_dir(keys_dir)
        for name, content in node_keys.files().items():
            changed = _write_if_different(keys_dir, name, content) or changed
    except OSError as exc:
        raise HieroError(f"cannot write the keys of {node_keys.alias} to {keys_dir}: {exc}") from exc
    if changed:
        _fsync_dir(keys_dir)
    return changed


def load_keys(keys_dir: str, alias: str) -> NodeKeys | None:
    """The node's keys from ``keys_dir``; None when any of the four files is missing.

    Raises HieroError when the files exist but do not hold a matching key and certificate.
    """
    check_alias(alias)
    contents: list[str] = []
    for name in key_file_names(alias):
        path = os.path.join(keys_dir, name)
        try:
            with open(path, encoding="ascii") as handle:
                contents.append(handle.read())
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise HieroError(f"cannot read {path}: {exc}") from exc
    node_keys = NodeKeys(alias, *contents)
    check_node_keys(node_keys, keys_dir)
    return node_keys


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def secret_data_for(node_keys: NodeKeys) -> dict[str, str]:
    """The Secret data entries this node contributes (file name → base64 of the file), all four files.

    See ``secrets_for`` for how solo spreads them over its Secrets.
    """
    return {name: _b64(content) for name, content in node_keys.files().items()}


def gossip_secret_data(node_keys: NodeKeys, all_node_keys: Iterable[NodeKeys]) -> dict[str, str]:
    """Data of ``network-<alias>-keys-secrets``: this node's gossip private key and every node's certificate."""
    data = {gossip_private_key_file(node_keys.alias): _b64(node_keys.gossip_private_key_pem)}
    for other in all_node_keys:
        data[gossip_cert_file(other.alias)] = _b64(other.gossip_cert_pem)
    data.setdefault(gossip_cert_file(node_keys.alias), _b64(node_keys.gossip_cert_pem))
    return data


def tls_secret_data(all_node_keys: Iterable[NodeKeys]) -> dict[str, str]:
    """Data of ``network-node-hapi-app-secrets``: every node's TLS key and certificate."""
    data: dict[str, str] = {}
    for node_keys in all_node_keys:
        data[tls_private_key_file(node_keys.alias)] = _b64(node_keys.tls_private_key_pem)
        data[tls_cert_file(node_keys.alias)] = _b64(node_keys.tls_cert_pem)
    return data


def secrets_for(all_node_keys: Iterable[NodeKeys]) -> dict[str, dict[str, Any]]:
    """Every Secret solo creates for these nodes: name → {"labels": ..., "data": ...} (Opaque Secrets)."""
    nodes = list(all_node_keys)
    secrets: dict[str, dict[str, Any]] = {}
    for node_keys in nodes:
        secrets[gossip_secret_name(node_keys.alias)] = {
            "labels": gossip_secret_labels(node_keys.alias),
            "data": gossip_secret_data(node_keys, nodes),
        }
    secrets[TLS_SECRET_NAME] = {"labels": {}, "data": tls_secret_data(nodes)}
    return secrets


def _aliases_with_private_gossip_key(data: Mapping[str, Any]) -> list[str]:
    pattern = re.compile(rf"^{SIGNING_KEY_PREFIX}-private-(.+)\.pem$")
    return sorted(match.group(1) for match in (pattern.match(str(key)) for key in data) if match)


def keys_from_secret_data(data: Mapping[str, Any] | None, alias: str | None = None) -> NodeKeys | None:
    """A node's keys from Secret data (base64 values keyed by file name), e.g. the gossip Secret's data merged
    with ``network-node-hapi-app-secrets``' data. None when any of the four entries is missing.

    Without ``alias`` it is taken from the one ``s-private-<alias>.pem`` entry (a gossip Secret holds exactly one).
    Raises HieroError when an entry is not base64 of a PEM, or a key does not match its certificate.
    """
    if not data:
        return None
    if alias is None:
        aliases = _aliases_with_private_gossip_key(data)
        if len(aliases) != 1:
            if not aliases:
                return None
            raise HieroError(f"Secret data holds gossip private keys of several nodes ({', '.join(aliases)})")
        alias = aliases[0]
    check_alias(alias)
    contents: list[str] = []
    for name in key_file_names(alias):
        encoded = data.get(name)
        if not encoded:
            return None
        try:
            contents.append(base64.b64decode(str(encoded), validate=True).decode("ascii"))
        except (binascii.Error, ValueError) as exc:
            raise HieroError(f"Secret data entry {name}: not base64 of a PEM file ({exc})") from exc
    node_keys = NodeKeys(alias, *contents)
    check_node_keys(node_keys, "Secret data")
    return node_keys


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _cert_summary(cert_pem: str, where: str) -> dict[str, Any]:
    cert = _load_cert(cert_pem, where)
    public_key = cert.public_key()
    return {
        "file": where,
        "subject": cert.subject.rfc4514_string(),
        "serial_number": cert.serial_number,
        "not_before": _iso(cert.not_valid_before_utc),
        "not_after": _iso(cert.not_valid_after_utc),
        "key_size": getattr(public_key, "key_size", None),
        "sha256_fingerprint": cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        "public_key_pem": public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii"),
    }


def public_summary(node_keys: NodeKeys) -> dict[str, Any]:
    """Facts safe to return from a module: certificate subjects, validity, fingerprints and public keys only."""
    _require_cryptography()
    return {
        "alias": node_keys.alias,
        "gossip": _cert_summary(node_keys.gossip_cert_pem, gossip_cert_file(node_keys.alias)),
        "tls": _cert_summary(node_keys.tls_cert_pem, tls_cert_file(node_keys.alias)),
    }
