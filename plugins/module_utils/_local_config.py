# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""solo's local config, ``$SOLO_HOME/local-config.yaml`` (schema 2), and the YAML dialect solo writes.

Facts from hiero-ledger/solo (solo-spec §4.4): home is ``$SOLO_HOME`` or ``~/.solo``; the document is

    schemaVersion: 2
    versions: {cli, chart, consensusNode, mirrorNodeChart, explorerChart, jsonRpcRelayChart, blockNodeChart}
    userIdentity: {name, hostname}
    deployments: [{name, namespace, clusters: [<cluster ref>], realm: 0, shard: 0}]
    clusterRefs: {<cluster ref>: <kube context>}

dumped with sorted keys. A copy at the legacy location ``$SOLO_HOME/cache/local-config.yaml`` is moved to the
current one when no current file exists, and deleted when one does; schema 0 and 1 files are migrated.

Unlike solo (hazard H2: whole-file rewrites, no lock) every change here is read-modify-write under an exclusive
``fcntl`` lock on a sibling lock file, written to a temporary file in the same directory, fsynced and renamed over
the old one. Fields this code does not know (written by a newer solo) are kept.
"""

from __future__ import annotations

import copy
import fcntl
import os
import re
import socket
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError

SCHEMA_VERSION = 2
FILE_NAME = "local-config.yaml"
LOCK_FILE_NAME = f".{FILE_NAME}.lock"
LEGACY_SUBDIR = "cache"
# solo writes the file with Node's default mode, i.e. 0644 under the usual umask; nothing in it is secret.
DEFAULT_FILE_MODE = 0o644
ZERO_VERSION = "0.0.0"
VERSION_FIELDS = (
    "cli",
    "chart",
    "consensusNode",
    "mirrorNodeChart",
    "explorerChart",
    "jsonRpcRelayChart",
    "blockNodeChart",
)
# Defaults of solo 0.87.1 (version.ts), used only when migrating a schema 0 file, as solo's v1 migration does.
SOLO_CLI_VERSION = "0.87.1"
_V1_MIGRATION_VERSIONS = {
    "chart": "0.66.0",
    "consensusNode": "0.75.1",
    "mirrorNodeChart": "0.160.0",
    "explorerChart": "26.2.0",
    "jsonRpcRelayChart": "0.78.1",
    "blockNodeChart": ZERO_VERSION,
}


# ---------------------------------------------------------------------------------------------------------------
# The YAML dialect: solo reads and writes YAML 1.2 (core schema) with the `yaml` npm package; PyYAML speaks 1.1.
# These loader/dumper classes resolve plain scalars the 1.2 way, so `on`, `yes`, `0012`, `2026-01-01` and ISO
# timestamps stay strings, and strings 1.2 would read as something else are quoted when written.
# ---------------------------------------------------------------------------------------------------------------

_CORE_RESOLVERS: list[tuple[str, re.Pattern[str], str]] = [
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), "~nN"),
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), "tTfF"),
    ("tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        "-+.0123456789",
    ),
]


def _core_resolvers() -> dict[str | None, list[tuple[str, re.Pattern[str]]]]:
    table: dict[str | None, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, pattern, first in _CORE_RESOLVERS:
        for char in first:
            table.setdefault(char, []).append((tag, pattern))
    table.setdefault(None, []).append(("tag:yaml.org,2002:null", _CORE_RESOLVERS[0][1]))  # the empty scalar
    return table


class SoloYamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core scalar resolution."""

    yaml_implicit_resolvers = _core_resolvers()


def _construct_core_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    return sign * int(digits, 10)  # 1.2: a leading zero is decimal, not octal


def _construct_core_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node)).lower()  # type: ignore[arg-type]
    if text.lstrip("+-") == ".inf":
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


SoloYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_core_int)
SoloYamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_core_float)


class SoloYamlDumper(yaml.SafeDumper):
    """SafeDumper that quotes by the 1.2 core rules and indents sequences under their key, as solo's YAML does."""

    yaml_implicit_resolvers = _core_resolvers()

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def yaml_load(text: str, source: str) -> Any:
    """Parse solo YAML; ``source`` names the file or ConfigMap key in the error."""
    try:
        return yaml.load(text, Loader=SoloYamlLoader)  # a SafeLoader subclass: builds no arbitrary objects
    except yaml.YAMLError as exc:
        raise HieroError(f"{source}: not valid YAML: {exc}") from exc


def yaml_dump(document: Any) -> str:
    """Dump with sorted keys, block style, no line folding (solo: ``yaml.stringify(obj, {sortMapEntries: true})``)."""
    return yaml.dump(
        document,
        Dumper=SoloYamlDumper,
        sort_keys=True,
        default_flow_style=False,
        allow_unicode=True,
        width=1_000_000,
    )


# ---------------------------------------------------------------------------------------------------------------
# Identity and paths
# ---------------------------------------------------------------------------------------------------------------


def current_username() -> str:
    # solo uses os.userInfo().username: the passwd entry of the uid, not $USER.
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        import getpass

        return getpass.getuser()


def user_identity() -> dict[str, str]:
    """``{name, hostname}`` as solo's UserIdentitySchema records the person running it."""
    return {"name": current_username(), "hostname": socket.gethostname()}


def solo_home(env: Mapping[str, str] | None = None) -> str:
    """``$SOLO_HOME`` or ``~/.solo``."""
    env = os.environ if env is None else env
    return os.path.expanduser(env.get("SOLO_HOME") or "~/.solo")


def solo_cache_dir(env: Mapping[str, str] | None = None) -> str:
    """``$SOLO_CACHE_DIR`` or ``<solo home>/cache`` (solo's constants.SOLO_CACHE_DIR)."""
    env = os.environ if env is None else env
    return os.path.expanduser(env.get("SOLO_CACHE_DIR") or os.path.join(solo_home(env), LEGACY_SUBDIR))


def config_path(home: str) -> str:
    return os.path.join(home, FILE_NAME)


def legacy_config_path(home: str) -> str:
    return os.path.join(home, LEGACY_SUBDIR, FILE_NAME)


# ---------------------------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------------------------


def normalize_version(value: Any) -> str:
    """A version as solo's SemanticVersion.toString() writes it: without a leading ``v``."""
    text = str(value).strip()
    return text[1:] if text[:1] in ("v", "V") and text[1:2].isdigit() else text


def new_document(identity: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The empty schema-2 document solo writes when no local config exists (LocalConfigSchema.EMPTY)."""
    return {
        "schemaVersion": SCHEMA_VERSION,
        "versions": dict.fromkeys(VERSION_FIELDS, ZERO_VERSION),
        "userIdentity": dict(identity or user_identity()),
        "deployments": [],
        "clusterRefs": {},
    }


def _migrate_v0_to_v1(doc: dict[str, Any]) -> dict[str, Any]:
    doc.pop("userEmailAddress", None)
    versions = {"cli": normalize_version(doc.pop("soloVersion", None) or SOLO_CLI_VERSION)}
    versions.update(_V1_MIGRATION_VERSIONS)
    doc["versions"] = versions
    deployments = doc.get("deployments") or {}
    if isinstance(deployments, Mapping):
        doc["deployments"] = [{**(entry or {}), "name": name} for name, entry in deployments.items()]
    doc["userIdentity"] = user_identity()
    doc["schemaVersion"] = 1
    return doc


def _migrate_v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    deployments = doc.get("deployments") or []
    if isinstance(deployments, Mapping):
        deployments = list(deployments.values())
    for entry in deployments:
        if isinstance(entry, dict):
            entry.setdefault("realm", 0)
            entry.setdefault("shard", 0)
            for key in ("realm", "shard"):
                if entry[key] is None:
                    entry[key] = 0
    doc["deployments"] = deployments
    doc["schemaVersion"] = 2
    return doc


def migrate(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Bring a schema 0 or 1 document to schema 2 as solo's migrations do (a copy; the input is not changed)."""
    migrated = copy.deepcopy(dict(doc))
    version = migrated.get("schemaVersion") or 0
    if not isinstance(version, int) or isinstance(version, bool):
        raise HieroError(f"local config field schemaVersion: expected an integer, got {version!r}")
    if version == 0:
        migrated = _migrate_v0_to_v1(migrated)
        version = 1
    if version == 1:
        migrated = _migrate_v1_to_v2(migrated)
    return migrated


def validate(doc: Any, source: str = "local config") -> None:
    """Raise HieroError naming the field unless ``doc`` is a usable schema-2 local config."""
    if not isinstance(doc, Mapping):
        raise HieroError(f"{source}: expected a mapping, got {type(doc).__name__}")
    version = doc.get("schemaVersion")
    if version != SCHEMA_VERSION:
        newer = isinstance(version, int) and version > SCHEMA_VERSION
        hint = " (written by a newer solo)" if newer else ""
        raise HieroError(f"{source} field schemaVersion: expected {SCHEMA_VERSION}, got {version!r}{hint}")
    cluster_refs = doc.get("clusterRefs")
    if not isinstance(cluster_refs, Mapping):
        raise HieroError(f"{source} field clusterRefs: expected a mapping of cluster ref to context")
    for ref, context in cluster_refs.items():
        if not isinstance(ref, str) or not isinstance(context, str):
            raise HieroError(f"{source} field clusterRefs.{ref}: expected a context name, got {context!r}")
    deployments = doc.get("deployments")
    if not isinstance(deployments, list):
        raise HieroError(f"{source} field deployments: expected a list")
    for index, entry in enumerate(deployments):
        where = f"{source} field deployments[{index}]"
        if not isinstance(entry, Mapping):
            raise HieroError(f"{where}: expected a mapping")
        for key in ("name", "namespace"):
            if not isinstance(entry.get(key), str) or not entry.get(key):
                raise HieroError(f"{where}.{key}: expected a non-empty string, got {entry.get(key)!r}")
        clusters = entry.get("clusters")
        if not isinstance(clusters, list) or not all(isinstance(c, str) for c in clusters):
            raise HieroError(f"{where}.clusters: expected a list of cluster refs, got {clusters!r}")
        for key in ("realm", "shard"):
            value = entry.get(key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise HieroError(f"{where}.{key}: expected a non-negative integer, got {value!r}")
    for key in ("versions", "userIdentity"):
        if key in doc and not isinstance(doc[key], Mapping):
            raise HieroError(f"{source} field {key}: expected a mapping")


def _read_file(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HieroError(f"cannot read {path}: {exc}") from exc
    doc = yaml_load(text, path)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise HieroError(f"{path}: expected a mapping at the top, got {type(doc).__name__}")
    # solo refuses a file without these two keys (an interrupted write or a bad manual edit), so do we.
    missing = [key for key in ("clusterRefs", "deployments") if key not in doc]
    if missing:
        raise HieroError(f"{path}: incomplete local config, missing {', '.join(missing)}")
    return doc


def _load(home: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None, bool]:
    """(document as stored, document migrated to schema 2, whether a legacy file is in play)."""
    stored = _read_file(config_path(home))
    legacy_present = os.path.exists(legacy_config_path(home))
    if stored is None and legacy_present:
        stored = _read_file(legacy_config_path(home))
    if stored is None:
        return None, None, legacy_present
    migrated = migrate(stored)
    validate(migrated, config_path(home))
    return stored, migrated, legacy_present


def read(home: str) -> dict[str, Any] | None:
    """The local config of ``home`` as a schema-2 document, or None when there is none.

    Reads the legacy ``cache/local-config.yaml`` when the current file is missing and migrates old schemas in
    memory; nothing is written (``mutate`` writes the migrated result).
    """
    _stored, migrated, _legacy = _load(home)
    return migrated


def _target_mode(path: str) -> int:
    try:
        mode = os.stat(path).st_mode & 0o777
    except FileNotFoundError:
        return DEFAULT_FILE_MODE
    return mode & ~0o002  # keep the owner's choice, but never world-writable


def _atomic_write(path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    mode = _target_mode(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # not every filesystem can fsync a directory; the rename is atomic regardless
    finally:
        os.close(dir_fd)


class _ExclusiveLock:
    """An exclusive ``flock`` on a lock file next to the config; released when the process dies, too."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> _ExclusiveLock:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(self.fd)
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            os.close(self.fd)


def mutate(
    home: str, fn: Callable[[dict[str, Any]], dict[str, Any] | None], *, check_mode: bool = False
) -> tuple[dict[str, Any], bool]:
    """Read the local config under an exclusive lock, apply ``fn`` and write the result atomically.

    ``fn`` gets a private copy of the schema-2 document (a fresh empty one when none exists) and returns the new
    document, or None after changing it in place. The file is written only when the result differs from what is
    stored (a legacy file or an old schema counts as a difference: it is written in the current place and schema,
    and the legacy copy removed). With ``check_mode`` nothing is written. Returns (document, changed).
    """
    try:
        os.makedirs(home, exist_ok=True)
        lock = _ExclusiveLock(os.path.join(home, LOCK_FILE_NAME))
    except OSError as exc:
        raise HieroError(f"cannot create {home}: {exc}") from exc
    path = config_path(home)
    with lock:
        stored, migrated, legacy_present = _load(home)
        start = migrated if migrated is not None else new_document()
        work = copy.deepcopy(start)
        result = fn(work)
        doc = work if result is None else result
        validate(doc, "local config")
        # Nothing to write when fn changed nothing and the file is already current (or absent and still empty).
        if doc == start and not legacy_present and (stored is None or stored == migrated):
            return doc, False
        if check_mode:
            return doc, True
        try:
            _atomic_write(path, yaml_dump(doc))
            if legacy_present:
                os.unlink(legacy_config_path(home))
        except OSError as exc:
            raise HieroError(f"cannot write {path}: {exc}") from exc
    return doc, True


# ---------------------------------------------------------------------------------------------------------------
# Helpers for the entries solo writes (`cluster-ref config connect`, `deployment config create`, `cluster attach`)
# Each returns whether it changed the document.
# ---------------------------------------------------------------------------------------------------------------


def set_cluster_ref(doc: dict[str, Any], cluster_ref: str, context: str) -> bool:
    refs = doc.setdefault("clusterRefs", {})
    if refs.get(cluster_ref) == context:
        return False
    refs[cluster_ref] = context
    return True


def remove_cluster_ref(doc: dict[str, Any], cluster_ref: str) -> bool:
    refs = doc.setdefault("clusterRefs", {})
    if cluster_ref not in refs:
        return False
    del refs[cluster_ref]
    return True


def get_deployment(doc: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    for entry in doc.get("deployments") or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            return entry
    return None


def set_deployment(doc: dict[str, Any], name: str, namespace: str, *, realm: int = 0, shard: int = 0) -> bool:
    """Add ``{name, namespace, clusters: [], realm, shard}`` or bring an existing entry's fields to these values
    (its clusters and any unknown fields are kept)."""
    entry = get_deployment(doc, name)
    if entry is None:
        doc.setdefault("deployments", []).append(
            {"name": name, "namespace": namespace, "clusters": [], "realm": realm, "shard": shard}
        )
        return True
    wanted = {"namespace": namespace, "realm": realm, "shard": shard}
    changed = any(entry.get(key) != value for key, value in wanted.items()) or "clusters" not in entry
    entry.update(wanted)
    entry.setdefault("clusters", [])
    return changed


def remove_deployment(doc: dict[str, Any], name: str) -> bool:
    deployments = doc.setdefault("deployments", [])
    kept = [entry for entry in deployments if not (isinstance(entry, dict) and entry.get("name") == name)]
    if len(kept) == len(deployments):
        return False
    doc["deployments"] = kept
    return True


def attach_cluster(doc: dict[str, Any], deployment: str, cluster_ref: str) -> bool:
    entry = get_deployment(doc, deployment)
    if entry is None:
        raise HieroError(f"deployment {deployment!r} is not in the local config")
    clusters = entry.setdefault("clusters", [])
    if cluster_ref in clusters:
        return False
    clusters.append(cluster_ref)
    return True


def detach_cluster(doc: dict[str, Any], deployment: str, cluster_ref: str) -> bool:
    entry = get_deployment(doc, deployment)
    if entry is None or cluster_ref not in entry.get("clusters", []):
        return False
    entry["clusters"] = [ref for ref in entry["clusters"] if ref != cluster_ref]
    return True
