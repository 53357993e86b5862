# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The fact store: validate one-shot's inputs and expand them into one parameter block per step.

Everything here is pure (no cluster, no writes): ``build_config`` takes the module parameters, the environment
and a file reader, and returns the ``hiero_solo_config`` fact, or raises ``InputError`` naming the bad field.
Upstream facts used here (defaults, flag names, release names) are from solo 0.87.1; see solo-spec §1.6-1.9, §3.0.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError
from ansible_collections.hiero.solo.plugins.module_utils._helm import ChartSource, parse_chart_sources

# Upstream puts no cap on --num-consensus-nodes. One-shot builds a single-cluster development network; each
# consensus node wants several GiB of memory (solo's preflight already warns below 12 GiB for one node), the
# port-forward layout (35211+id, 30212+i) and the "relay always talks to node1" shortcut are designed for a
# handful of nodes. Ten keeps every plausible one-shot network and rejects typos such as 100.
MAX_CONSENSUS_NODES = 10

DEFAULT_DEPLOYMENT = "one-shot"
DEFAULT_CLUSTER_REF = "one-shot"
SETUP_NAMESPACE = "solo-setup"
CERT_MANAGER_NAMESPACE = "cert-manager"
COMPONENT_ID = 1  # one-shot deploys one of each component, so every release carries id 1 (mirror-1, relay-1, ...)
DEFAULT_PLATFORM_BUILD_URL = "https://builds.hedera.com/node/software/{release_prefix}/build-{release_tag}.zip"

# The module's argument spec lives here, next to the code that applies it, so that build_config() called without
# Ansible uses the same defaults. plugins/modules/config.py documents it.
CONFIG_ARG_SPEC: dict[str, dict[str, Any]] = {
    "deployment": {"type": "str", "default": DEFAULT_DEPLOYMENT},
    "namespace": {"type": "str"},
    "cluster_ref": {"type": "str", "default": DEFAULT_CLUSTER_REF},
    "kube_context": {"type": "str"},
    "num_consensus_nodes": {"type": "int", "default": 1},
    "consensus_node_version": {"type": "str", "aliases": ["release_tag"]},
    "solo_chart_version": {"type": "str"},
    "mirror_node_version": {"type": "str"},
    "explorer_version": {"type": "str"},
    "relay_version": {"type": "str", "aliases": ["relay_release"]},
    "block_node_version": {"type": "str"},
    "minio_operator_version": {"type": "str"},
    "ingress_controller_version": {"type": "str"},
    "solo_config_file": {"type": "path"},
    "deploy_mirror_node": {"type": "bool"},
    "deploy_explorer": {"type": "bool"},
    "deploy_relay": {"type": "bool"},
    "deploy_block_node": {"type": "bool"},
    "pinger": {"type": "bool"},
    "toggles": {"type": "dict"},
    "values_file": {"type": "path"},
    "chart_sources": {"type": "dict"},
    "platform_build_url": {"type": "str", "default": DEFAULT_PLATFORM_BUILD_URL},
    "solo_home": {"type": "path"},
    "output_dir": {"type": "path"},
    "run_id": {"type": "str"},
    "parallel": {"type": "bool", "default": True},
}

TOGGLES = ("deploy_mirror_node", "deploy_explorer", "deploy_relay", "deploy_block_node", "pinger")

# ---------------------------------------------------------------------------------------------------------------
# Versions


@dataclass(frozen=True)
class _Component:
    option: str  # module option giving it explicitly
    env: str  # environment variable that changes upstream's default (version.ts)
    default: str
    prefixed: bool  # how upstream normalises it: "v0.75.1" (release tags) or "0.66.0" (chart versions)
    solo_config_keys: tuple[str, ...] = ()  # keys read from solo.config.yaml / solo.config.json


COMPONENTS: dict[str, _Component] = {
    "consensus_node": _Component(
        "consensus_node_version",
        "CONSENSUS_NODE_VERSION",
        "v0.75.1",
        True,
        ("consensusNodeVersion", "consensus-node-version"),
    ),
    "solo_chart": _Component("solo_chart_version", "SOLO_CHART_VERSION", "0.66.0", False),
    "mirror_node": _Component(
        "mirror_node_version", "MIRROR_NODE_VERSION", "v0.160.0", True, ("mirrorNodeVersion", "mirror-node-version")
    ),
    "explorer": _Component(
        "explorer_version", "EXPLORER_VERSION", "26.2.0", False, ("explorerVersion", "explorer-version")
    ),
    "relay": _Component("relay_version", "RELAY_VERSION", "0.78.1", False, ("relayVersion", "relay-version")),
    "block_node": _Component(
        "block_node_version", "BLOCK_NODE_VERSION", "0.39.0", False, ("blockNodeVersion", "block-node-version")
    ),
    "minio_operator": _Component("minio_operator_version", "MINIO_OPERATOR_VERSION", "7.1.1", False),
    "ingress_controller": _Component("ingress_controller_version", "INGRESS_CONTROLLER_VERSION", "0.14.5", False),
}

# solo's SemanticVersion pattern: optional "v", 1 to 3 numeric parts, pre-release and build only after 3 parts.
_VERSION_RE = re.compile(
    r"^v?(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)(?:\.(0|[1-9][0-9]*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?)?)?$"
)


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str | None = None
    build: str | None = None

    def text(self, prefixed: bool) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            core += f"-{self.pre}"
        if self.build:
            core += f"+{self.build}"
        return f"v{core}" if prefixed else core

    def at_least(self, major: int, minor: int, patch: int) -> bool:
        """Like solo's ``>= vX.Y.Z-0``: pre-releases of X.Y.Z itself count as reaching it."""
        return (self.major, self.minor, self.patch) >= (major, minor, patch)


def _placeholder_hint(value: Any) -> str:
    if isinstance(value, str) and "${" in value:
        return " (placeholders such as ${...} are not expanded; substitute them before the run)"
    if isinstance(value, float):
        return " (YAML read it as a number; quote versions, e.g. '0.78.1')"
    return ""


def parse_version(field: str, value: Any, where: str = "") -> Version:
    """Parse a version as solo does (``v`` optional, ``0.75`` means ``0.75.0``); raise InputError naming ``field``.

    ``where`` locates the value inside the field (e.g. a values-file section and key) in the message.
    """
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    match = _VERSION_RE.match(text) if text else None
    if not match:
        raise InputError(
            field,
            (f"{where}: " if where else "")
            + f"expected a version like v0.75.1 or 0.75.1 (semantic version, optional leading 'v'), got {value!r}"
            + _placeholder_hint(value),
        )
    major, minor, patch, pre, build = match.groups()
    return Version(int(major), int(minor or 0), int(patch or 0), pre, build)


def normalize_version(field: str, value: Any, prefixed: bool, where: str = "") -> str:
    return parse_version(field, value, where).text(prefixed)


def release_prefix(release_tag: str) -> str:
    """``v0.75.1`` -> ``v0.75``: the directory of builds.hedera.com and of solo's staging cache."""
    version = parse_version("release_tag", release_tag)
    return f"v{version.major}.{version.minor}"


# ---------------------------------------------------------------------------------------------------------------
# The falcon values file: sections whose keys are solo CLI option tokens.


@dataclass(frozen=True)
class _Key:
    kind: str  # str | bool | int | node_aliases | node_alias | version | ignored | secret
    param: str  # the module option name it becomes ("" for ignored keys)
    prefixed: bool = False  # for versions


def _param_name(token: str) -> str:
    return token.replace("-", "_")


def _section(
    strings: str = "",
    bools: str = "",
    ints: str = "",
    node_aliases: str = "",
    node_alias: str = "",
    versions: Mapping[str, bool] | None = None,
    secrets: str = "",
    ignored: str = "",
    renamed: Mapping[str, str] | None = None,
    param_names: Mapping[str, str] | None = None,
) -> dict[str, _Key]:
    """Build one section's key table from space-separated token lists (tokens without the leading ``--``).

    A token becomes the option name with dashes as underscores (``--release-tag`` -> ``release_tag``) unless
    ``param_names`` says otherwise.
    """
    keys: dict[str, _Key] = {}
    for kind, tokens in (
        ("str", strings),
        ("bool", bools),
        ("int", ints),
        ("node_aliases", node_aliases),
        ("node_alias", node_alias),
        ("secret", secrets),
    ):
        for token in tokens.split():
            keys[f"--{token}"] = _Key(kind, (param_names or {}).get(token) or _param_name(token))
    for token, prefixed in (versions or {}).items():
        keys[f"--{token}"] = _Key("version", _param_name(token), prefixed)
    for token in ignored.split():
        keys[f"--{token}"] = _Key("ignored", "")
    # Legacy or misspelt tokens that upstream's flags or its example file still use: same meaning, canonical name.
    for legacy, canonical in (renamed or {}).items():
        keys[f"--{legacy}"] = keys[f"--{canonical}"]
    return keys


# --quiet-mode has no meaning without prompts; --deployment is always taken from the module option (solo's
# appendConfigToArgv drops it too). Both appear in upstream's example file, so they are accepted and ignored.
_IGNORED = "quiet-mode deployment"
_STORAGE_WRITE = (
    "storage-type gcs-write-access-key gcs-endpoint gcs-bucket gcs-bucket-prefix aws-write-access-key aws-endpoint "
    "aws-bucket aws-bucket-region aws-bucket-prefix backup-bucket backup-write-access-key backup-endpoint "
    "backup-region backup-provider"
)

# Keys per section = the flag lists of the sub-command each section feeds (network.deploy, node.setup, node.start,
# mirror.deploy, relay.deploy, block.add, explorer.deploy), without the deployment-scoping flags that solo's falcon
# prepare leaves out (cluster-ref, namespace, context): those come from the module options only.
SECTIONS: dict[str, dict[str, _Key]] = {
    "network": _section(
        strings="api-permission-properties app application-env application-properties bootstrap-properties "
        "genesis-throttles-file cache-dir chain-id chart-dir log4j2-xml settings-txt values-file grpc-tls-cert "
        "grpc-web-tls-cert grpc-tls-key grpc-web-tls-key haproxy-ips envoy-ips network-node-ips domain-names "
        "gossip-endpoint-port service-endpoint-port cluster-setup-namespace jfr-config wraps-key-path "
        + _STORAGE_WRITE,
        bools="load-balancer pvcs service-monitor pod-log enable-monitoring-support wraps tss",
        ints="block-node-message-size-soft-limit-bytes block-node-message-size-hard-limit-bytes",
        node_aliases="node-aliases",
        node_alias="debug-node-alias",
        versions={"consensus-node-version": True, "solo-chart-version": False},
        secrets="gcs-write-secrets aws-write-secrets backup-write-secrets",
        ignored=_IGNORED,
        renamed={
            "release-tag": "consensus-node-version",
            "grpc-tls-certificate-path": "grpc-tls-cert",
            "grpc-web-tls-certificate-path": "grpc-web-tls-cert",
            "grpc-tls-key-path": "grpc-tls-key",
            "grpc-web-tls-key-path": "grpc-web-tls-key",
        },
    ),
    "setup": _section(
        strings="cache-dir app app-config local-build-path admin-public-keys domain-names gossip-endpoint-port "
        "service-endpoint-port",
        bools="debug",
        node_aliases="node-aliases",
        versions={"consensus-node-version": True},
        ignored=_IGNORED,
        renamed={"release-tag": "consensus-node-version", "dev": "debug"},
    ),
    "consensusNode": _section(
        strings="app state-file stake-amounts external-address wraps-key-path grpc-web-endpoints",
        bools="force-port-forward skip-grpc-web-endpoint",
        node_aliases="node-aliases",
        node_alias="debug-node-alias",
        ignored=_IGNORED,
    ),
    "mirrorNode": _section(
        strings="cache-dir chart-dir mirror-node-chart-dir ingress-controller-value-file mirror-static-ip values-file "
        "component-image operator-id storage-type storage-read-access-key storage-endpoint storage-bucket "
        "storage-bucket-prefix storage-bucket-region external-database-host external-database-owner-username "
        "external-database-read-username domain-name external-address",
        bools="enable-ingress pinger use-external-database force-port-forward force parallel-deploy",
        versions={"mirror-node-version": True, "solo-chart-version": False},
        secrets="operator-key storage-read-secrets external-database-owner-password external-database-read-password",
        ignored=_IGNORED,
        renamed={
            "external-database-readonly-username": "external-database-read-username",
            "external-database-readonly-password": "external-database-read-password",
        },
        # solo names the --force-block-node-integration flag plain `force`; say what it forces.
        param_names={"force": "force_block_node_integration"},
    ),
    "relayNode": _section(
        strings="chain-id chart-dir relay-chart-dir operator-id component-image values-file domain-name "
        "external-address cache-dir mirror-namespace",
        bools="load-balancer force-port-forward debug",
        ints="replica-count mirror-node-id",
        node_aliases="node-aliases",
        versions={"relay-version": False},
        secrets="operator-key",
        ignored=_IGNORED,
        renamed={"relay-release": "relay-version", "dev": "debug"},
    ),
    "blockNode": _section(
        strings="block-node-chart-dir chart-dir cache-dir domain-name values-file image-tag component-image "
        "priority-mapping",
        bools="block-node-tss-overlay debug enable-ingress",
        ints="block-node-message-size-soft-limit-bytes block-node-message-size-hard-limit-bytes",
        # In this section --release-tag / --consensus-node-version is the consensus node version the block node
        # must be compatible with, not the block node's own version (deploy-argv-builders.ts:108-126).
        versions={"block-node-version": False, "consensus-node-version": True},
        ignored=_IGNORED,
        renamed={
            "chart-version": "block-node-version",
            "block-node-chart-version": "block-node-version",
            "release-tag": "consensus-node-version",
            "dev": "debug",
        },
    ),
    "explorerNode": _section(
        strings="cache-dir chart-dir explorer-chart-dir ingress-controller-value-file explorer-tls-host-name "
        "explorer-static-ip component-image tls-cluster-issuer-type values-file cluster-setup-namespace "
        "domain-name external-address mirror-namespace",
        bools="enable-ingress enable-explorer-tls load-balancer force-port-forward",
        ints="mirror-node-id",
        versions={"explorer-version": False, "solo-chart-version": False},
        ignored=_IGNORED,
    ),
}

# Which section feeds which step, and which of a section's versions is the component's (global) version. Other
# version keys of a section only concern that step (e.g. the consensus version a block node must match).
SECTION_STEP = {
    "network": "consensus_network",
    "setup": "consensus_node_configured",
    "consensusNode": "consensus_node_started",
    "mirrorNode": "mirror_node",
    "relayNode": "relay",
    "blockNode": "block_node",
    "explorerNode": "explorer",
}
SECTION_VERSIONS = {
    ("network", "consensus_node_version"): "consensus_node",
    ("network", "solo_chart_version"): "solo_chart",
    ("mirrorNode", "mirror_node_version"): "mirror_node",
    ("explorerNode", "explorer_version"): "explorer",
    ("relayNode", "relay_version"): "relay",
    ("blockNode", "block_node_version"): "block_node",
}


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, as solo's YAML parser does, instead of keeping the last silently."""


def _construct_unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: set = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping)


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _load_yaml_file(field: str, path: str, read_file: Callable[[str], str], what: str) -> Any:
    try:
        text = read_file(path)
    except FileNotFoundError:
        raise InputError(field, f"{what} {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(field, f"{what} {path} is a directory, expected a YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(field, f"cannot read {what} {path}: {exc}") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise InputError(field, f"{what} {path} is not valid YAML: {' '.join(str(exc).split())}") from None


@dataclass
class _Section:
    params: dict[str, Any]
    versions: dict[str, str]  # param name -> normalised version


def _allowed(keys: Mapping[str, Any]) -> str:
    return ", ".join(sorted(keys))


def _section_value(where: str, key: _Key, value: Any, num_nodes: int) -> Any:
    """Check and convert one values-file entry to the type solo's flag has."""
    field = "values_file"
    if isinstance(value, (dict, list)):
        raise InputError(field, f"{where}: expected a single value, got a {type(value).__name__}")
    if isinstance(value, str) and "${" in value:
        raise InputError(field, f"{where}: {value!r} contains a placeholder" + _placeholder_hint(value))
    if key.kind == "bool":
        if isinstance(value, bool):
            return value
        # solo stringifies values into argv, so "true"/"false" strings mean the same as booleans there.
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InputError(field, f"{where}: expected a boolean (true or false), got {value!r}")
    if key.kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]+\s*", value):
            return int(value)
        raise InputError(field, f"{where}: expected an integer, got {value!r}")
    if isinstance(value, bool):
        raise InputError(field, f"{where}: expected a string, got the boolean {value!r}")
    if key.kind == "version":
        return normalize_version(field, value, key.prefixed, where)
    text = str(value)
    if key.kind == "node_aliases":
        return _node_aliases(field, where, text, num_nodes)
    if key.kind == "node_alias":
        return _node_aliases(field, where, text, num_nodes, single=True)[0]
    return text


def _node_aliases(field: str, where: str, text: str, num_nodes: int, single: bool = False) -> list[str]:
    aliases = [part.strip() for part in text.split(",")]
    allowed = [f"node{i}" for i in range(1, num_nodes + 1)]
    if single and len(aliases) != 1:
        raise InputError(field, f"{where}: expected one node alias ({', '.join(allowed)}), got {text!r}")
    for alias in aliases:
        if alias not in allowed:
            raise InputError(
                field, f"{where}: node alias {alias!r} is not one of this deployment's nodes ({', '.join(allowed)})"
            )
    return aliases


def parse_values_file(document: Any, num_nodes: int) -> dict[str, _Section]:
    """Validate a parsed falcon values file and translate each section to module option names."""
    field = "values_file"
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise InputError(
            field,
            f"expected a mapping of sections ({_allowed(SECTIONS)}), got a {type(document).__name__}",
        )
    sections: dict[str, _Section] = {}
    for name, entries in document.items():
        if name not in SECTIONS:
            raise InputError(field, f"section {name!r} is unknown; allowed: {_allowed(SECTIONS)}")
        if entries is None:
            entries = {}
        if not isinstance(entries, dict):
            raise InputError(field, f"section {name!r} must map CLI options to values, got a {type(entries).__name__}")
        keys = SECTIONS[name]
        params: dict[str, Any] = {}
        versions: dict[str, str] = {}
        origin: dict[str, str] = {}
        for token, value in entries.items():
            key = keys.get(token) if isinstance(token, str) else None
            if key is None:
                raise InputError(field, f"section {name!r} key {token!r} is unknown; allowed: {_allowed(keys)}")
            where = f"section {name!r} key {token!r}"
            # solo skips undefined, null and empty values (appendConfigToArgv); false and 0 are passed on.
            if value is None or value == "" or key.kind == "ignored":
                continue
            if key.kind == "secret":
                raise InputError(
                    field,
                    f"{where} holds a secret; secrets are not accepted in the values file because "
                    "hiero_solo_config is a fact (facts are logged and cached). Pass it to the step from a "
                    "no_log variable instead",
                )
            converted = _section_value(where, key, value, num_nodes)
            target = versions if key.kind == "version" else params
            if key.param in target and target[key.param] != converted:
                raise InputError(
                    field,
                    f"{where} ({converted!r}) contradicts key {origin[key.param]!r} ({target[key.param]!r}) "
                    "of the same section",
                )
            target[key.param] = converted
            origin[key.param] = token
        sections[name] = _Section(params, versions)
    return sections


# ---------------------------------------------------------------------------------------------------------------
# Charts


@dataclass(frozen=True)
class _Chart:
    kind: str  # repo | oci, as _helm.ChartSource
    chart: str  # chart name in the repo, or the oci:// reference
    repo: str | None
    version_of: str  # component whose version is the chart version
    env: str | None = None  # upstream's *_CHART_URL override of the repo URL (repo) or of the reference (oci)


_SOLO_CHARTS = "oci://ghcr.io/hashgraph/solo-charts"
# Upstream's charts (solo-spec §3.0, constants.ts). Component names are the keys of the chart_sources option.
CHARTS: dict[str, _Chart] = {
    "solo_deployment": _Chart("oci", f"{_SOLO_CHARTS}/solo-deployment", None, "solo_chart"),
    "solo_shared_resources": _Chart("oci", f"{_SOLO_CHARTS}/solo-shared-resources", None, "solo_chart"),
    "solo_cert_manager": _Chart("oci", f"{_SOLO_CHARTS}/solo-cert-manager", None, "solo_chart"),
    "mirror_node": _Chart(
        "repo",
        "hedera-mirror",
        "https://hiero-ledger.github.io/hiero-mirror-node/charts",
        "mirror_node",
        "MIRROR_NODE_CHART_URL",
    ),
    "ingress_controller": _Chart(
        "repo",
        "haproxy-ingress",
        "https://haproxy-ingress.github.io/charts",
        "ingress_controller",
        "INGRESS_CONTROLLER_CHART_URL",
    ),
    "explorer": _Chart(
        "oci",
        "oci://ghcr.io/hiero-ledger/hiero-mirror-node-explorer/hiero-explorer-chart",
        None,
        "explorer",
        "EXPLORER_CHART_URL",
    ),
    "relay": _Chart(
        "repo",
        "hedera-json-rpc",
        "https://hiero-ledger.github.io/hiero-json-rpc-relay/charts",
        "relay",
        "JSON_RPC_RELAY_CHART_URL",
    ),
    "block_node": _Chart("oci", "oci://ghcr.io/hiero-ledger/hiero-block-node/block-node-server", None, "block_node"),
    "minio_operator": _Chart(
        "repo", "operator", "https://operator.min.io/", "minio_operator", "MINIO_OPERATOR_CHART_URL"
    ),
}


def _env_url(variable: str, value: str, schemes: tuple[str, ...]) -> str:
    value = value.strip()
    if not re.match(rf"^({'|'.join(schemes)})://[^\s/?#]+\S*$", value, re.IGNORECASE):
        raise InputError(
            f"environment {variable}", f"expected a {' or '.join(s + '://' for s in schemes)} URL, got {value!r}"
        )
    return value


def default_chart_sources(versions: Mapping[str, str], env: Mapping[str, str]) -> dict[str, ChartSource]:
    """Upstream's chart per component, with the resolved versions and solo's environment overrides."""
    defaults: dict[str, ChartSource] = {}
    for name, chart in CHARTS.items():
        location = chart.chart
        repo = chart.repo
        if chart.env and env.get(chart.env):
            if chart.kind == "repo":
                repo = _env_url(chart.env, env[chart.env], ("http", "https"))
            else:
                location = _env_url(chart.env, env[chart.env], ("oci",))
        if name == "block_node" and (env.get("BLOCK_NODE_CHART_URL") or env.get("BLOCK_NODE_CHART")):
            # Upstream splits the block node chart into a base URL and a chart name, each overridable.
            base = env.get("BLOCK_NODE_CHART_URL") or "oci://ghcr.io/hiero-ledger/hiero-block-node"
            base = _env_url("BLOCK_NODE_CHART_URL", base, ("oci",))
            location = f"{base.rstrip('/')}/{env.get('BLOCK_NODE_CHART') or 'block-node-server'}"
        # Chart versions never carry the "v" that some release tags do (mirror v0.160.0 -> chart 0.160.0).
        version = normalize_version(chart.version_of, versions[chart.version_of], prefixed=False)
        defaults[name] = ChartSource(chart.kind, location, repo=repo, version=version)
    return defaults


def resolve_chart_sources(
    given: Any, versions: Mapping[str, str], env: Mapping[str, str], path_exists: Callable[[str], bool]
) -> dict[str, ChartSource]:
    """Every component's chart: the user's chart_sources entry (format of _helm.parse_chart_source) over upstream's.

    On top of the helm runner's checks: versions must be versions (normalised without "v", as OCI tags and chart
    versions are), and a local chart must exist now rather than fail halfway through the run.
    """
    sources = parse_chart_sources(given, default_chart_sources(versions, env))
    for name, source in sources.items():
        field = f"chart_sources.{name}"
        if source.version is not None:
            version = normalize_version(f"{field}.version", source.version, prefixed=False)
            sources[name] = source = dataclasses.replace(source, version=version)
        if source.kind == "path" and not path_exists(source.chart):
            raise InputError(f"{field}.path", f"local chart {source.chart} does not exist")
    return sources


# ---------------------------------------------------------------------------------------------------------------
# Steps and their ordering (ARCHITECTURE §6)

# Direct prerequisites of each step. A disabled producer stays listed: it is recorded as skipped, which releases
# its waiters (solo's skipAndNotify).
WAIT_FOR: dict[str, tuple[str, ...]] = {
    "cluster_ref": (),
    "deployment": ("cluster_ref",),
    "keys": ("deployment",),
    "cluster_setup": ("deployment",),
    # The RSA bootstrap values of the block node are built from the gossip certificates.
    "block_node": ("deployment", "keys"),
    # Upstream: consensus deploy waits BlockNodeDeployed (empty block-nodes.json race, #4647).
    "consensus_network": ("cluster_setup", "keys", "block_node"),
    "platform_download": (),
    "consensus_node_configured": ("consensus_network", "platform_download"),
    "consensus_node_started": ("consensus_node_configured",),
    # The importer address book is built from the gossip keys made in phase A (upstream hazard H7).
    "mirror_node": ("deployment", "keys"),
    "explorer": ("mirror_node",),
    "relay": ("mirror_node", "consensus_node_started"),
    "accounts": ("consensus_node_started",),
    "pinger": ("mirror_node", "consensus_node_started"),
}

# Upstream's order with --no-parallel-deploy (phases 8 and 10 of the orchestrator), with the platform download
# placed just before the step that uploads it. A topological order of WAIT_FOR.
STEPS_ORDER: tuple[str, ...] = (
    "cluster_ref",
    "deployment",
    "cluster_setup",
    "keys",
    "block_node",
    "consensus_network",
    "platform_download",
    "consensus_node_configured",
    "consensus_node_started",
    "accounts",
    "mirror_node",
    "pinger",
    "explorer",
    "relay",
)


def dag_edges() -> list[list[str]]:
    return [[producer, step] for step in STEPS_ORDER for producer in WAIT_FOR[step]]


# ---------------------------------------------------------------------------------------------------------------
# Small validators

_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RUN_ID_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def _label(field: str, value: Any) -> str:
    if not isinstance(value, str) or len(value) > 63 or not _LABEL_RE.match(value):
        raise InputError(
            field,
            "expected an RFC 1123 label (lowercase letters, digits and '-', starting and ending with a letter "
            f"or digit, at most 63 characters), got {value!r}",
        )
    return value


def _strict_bool(field: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise InputError(field, f"expected a boolean (true or false), got {value!r}")


def _toggle_value(field: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InputError(field, f"expected a boolean (true or false), got {value!r}")


def _node_count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONSENSUS_NODES:
        raise InputError("num_consensus_nodes", f"expected an integer from 1 to {MAX_CONSENSUS_NODES}, got {value!r}")
    return value


def _optional_text(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, f"expected a non-empty string, got {value!r}")
    return value


def _local_path(path: str, cwd: str, env: Mapping[str, str]) -> str:
    """An absolute, normalised path: ``file://`` dropped, ``~`` from the given environment, relative to ``cwd``."""
    if path.startswith("file://"):
        path = path[len("file://") :]
    if path == "~" or path.startswith("~/"):
        path = os.path.join(env.get("HOME") or os.path.expanduser("~"), path[2:])
    return os.path.normpath(os.path.join(cwd, path))


def _absolute(field: str, value: Any, cwd: str, env: Mapping[str, str]) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(field, f"expected a path, got {value!r}")
    if "\0" in value:
        raise InputError(field, "a path cannot contain NUL characters")
    return _local_path(value, cwd, env)


def _safe_name(name: str) -> str:
    """solo's user-input ``safe()``: what the output directory name is made of."""
    return re.sub(r"[^0-9A-Za-z._-]", "_", name)


def explorer_ingress_release_name(namespace: str, component_id: int = COMPONENT_ID) -> str:
    """``explorer-haproxy-ingress-<id>-<ns>``, shortened with a hash to Helm's 53 characters (explorer.ts:674)."""
    limit = 53
    base = f"explorer-haproxy-ingress-{component_id}-{namespace}"
    if len(base) <= limit:
        return base
    digest = hashlib.sha256(namespace.encode()).hexdigest()[:8]
    prefix = f"explorer-haproxy-ingress-{component_id}"
    room = limit - len(prefix) - 1 - len(digest) - 1
    if room <= 0:
        return f"{prefix}-{digest}"
    return f"{prefix}-{namespace[:room]}-{digest}"


# ---------------------------------------------------------------------------------------------------------------
# Layers of input


def _options(params: Mapping[str, Any]) -> dict[str, Any]:
    """Apply the argument spec's defaults and refuse options it does not know (for callers other than Ansible)."""
    if not isinstance(params, Mapping):
        raise InputError("params", f"expected a mapping of options, got {type(params).__name__}")
    unknown = sorted(set(params) - set(CONFIG_ARG_SPEC))
    if unknown:
        raise InputError(unknown[0], f"unknown option; allowed: {_allowed(CONFIG_ARG_SPEC)}")
    options = {name: spec.get("default") for name, spec in CONFIG_ARG_SPEC.items()}
    options.update({name: value for name, value in params.items() if value is not None})
    return options


def _find_solo_config(cwd: str, path_exists: Callable[[str], bool]) -> str | None:
    """solo looks for solo.config.yaml, then solo.config.json, in the working directory and each parent."""
    current = cwd
    while True:
        for name in ("solo.config.yaml", "solo.config.json"):
            candidate = os.path.join(current, name)
            if path_exists(candidate):
                return candidate
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def _solo_config_versions(
    option: Any, read_file: Callable[[str], str], path_exists: Callable[[str], bool], cwd: str, env: Mapping[str, str]
) -> tuple[str | None, dict[str, Version]]:
    field = "solo_config_file"
    path = _absolute(field, option, cwd, env) if option is not None else _find_solo_config(cwd, path_exists)
    if path is None:
        return None, {}
    document = _load_yaml_file(field, path, read_file, "solo config file")  # JSON is YAML too
    if document is None:
        return path, {}
    if not isinstance(document, dict):
        raise InputError(field, f"{path}: expected a mapping, got a {type(document).__name__}")
    found: dict[str, Version] = {}
    for component, spec in COMPONENTS.items():
        for key in spec.solo_config_keys:
            value = document.get(key)
            if value not in (None, ""):
                found[component] = parse_version(field, value, f"{path}: key {key!r}")
                break
    return path, found


def _resolve_versions(
    options: Mapping[str, Any],
    solo_config: Mapping[str, Version],
    sections: Mapping[str, _Section],
    env: Mapping[str, str],
) -> tuple[dict[str, str], dict[str, str]]:
    """Per component, the first of: option, solo.config file, values-file section, environment, upstream default.

    Upstream lets the values file override even an explicit CLI flag (reconcileEffectiveVersions); here an
    explicit module option is the user's most direct statement and wins (ARCHITECTURE §4).
    """
    from_sections: dict[str, str] = {}
    for (section, param), component in SECTION_VERSIONS.items():
        if section in sections and param in sections[section].versions:
            from_sections[component] = sections[section].versions[param]
    versions: dict[str, str] = {}
    sources: dict[str, str] = {}
    for component, spec in COMPONENTS.items():
        layers = (
            ("option", options.get(spec.option), spec.option),
            ("solo_config_file", solo_config.get(component), "solo_config_file"),
            ("values_file", from_sections.get(component), "values_file"),
            ("environment", env.get(spec.env) or None, f"environment {spec.env}"),
            ("default", spec.default, spec.option),
        )
        for source, value, field in layers:
            if value is None or value == "":
                continue
            version = value if isinstance(value, Version) else parse_version(field, value)
            versions[component] = version.text(spec.prefixed)
            sources[component] = source
            break
    return versions, sources


def _resolve_toggles(
    options: Mapping[str, Any], sections: Mapping[str, _Section], env: Mapping[str, str], falcon: bool
) -> dict[str, bool]:
    given = options.get("toggles")
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise InputError("toggles", f"expected a mapping of toggle name to boolean, got {given!r}")
    for name in given:
        if name not in TOGGLES:
            raise InputError("toggles", f"toggle {name!r} is unknown; allowed: {', '.join(TOGGLES)}")
    toggles: dict[str, bool] = {}
    for name in TOGGLES:
        option = _strict_bool(name, options.get(name))
        in_dict = _toggle_value(f"toggles.{name}", given[name]) if given.get(name) is not None else None
        if option is not None and in_dict is not None and option != in_dict:
            raise InputError(name, f"is {option} but toggles.{name} is {in_dict}; give it once")
        explicit = option if option is not None else in_dict
        toggles[name] = explicit if explicit is not None else _toggle_default(name, sections, env, falcon)
    return toggles


def _toggle_default(name: str, sections: Mapping[str, _Section], env: Mapping[str, str], falcon: bool) -> bool:
    if name == "deploy_block_node":
        # Upstream has no flag: the block node is deployed only with ONE_SHOT_WITH_BLOCK_NODE=true.
        return (env.get("ONE_SHOT_WITH_BLOCK_NODE") or "false").strip().lower() == "true"
    if name == "pinger":
        mirror = sections.get("mirrorNode")
        if mirror is not None and "pinger" in mirror.params:
            return mirror.params["pinger"]
        # Upstream: `single deploy` has --pinger default false; `falcon deploy` has no such flag, so it is on.
        return falcon
    return True


def _platform_build(
    template: Any, release_tag: str, cwd: str, env: Mapping[str, str], path_exists: Callable[[str], bool]
) -> dict[str, Any]:
    field = "platform_build_url"
    if not isinstance(template, str) or not template.strip():
        raise InputError(field, f"expected a URL or path template, got {template!r}")
    values = {"release_tag": release_tag, "release_prefix": release_prefix(release_tag)}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            raise InputError(
                field, f"placeholder {{{name}}} is unknown; allowed: {', '.join(f'{{{p}}}' for p in values)}"
            )
        return values[name]

    rendered = re.sub(r"\{([^{}]*)\}", substitute, template.strip())
    if not rendered.endswith(".zip"):
        raise InputError(field, f"expected the build zip (ending in .zip), got {rendered!r}")
    checksum = rendered[: -len(".zip")] + ".sha384"
    if re.match(r"^https?://", rendered, re.IGNORECASE):
        if not re.match(r"^https?://[^\s/?#]+/\S*$", rendered, re.IGNORECASE):
            raise InputError(field, f"{rendered!r} is not a valid URL")
        return {
            "source": "url",
            "build_url": rendered,
            "checksum_url": checksum,
            "build_path": None,
            "checksum_path": None,
        }
    if "://" in rendered and not rendered.startswith("file://"):
        raise InputError(field, f"expected an http(s):// or file:// URL or a local path, got {rendered!r}")
    build_path = _local_path(rendered, cwd, env)
    checksum_path = build_path[: -len(".zip")] + ".sha384"
    for path in (build_path, checksum_path):
        if not path_exists(path):
            raise InputError(field, f"local platform build file {path} does not exist")
    return {
        "source": "path",
        "build_url": f"file://{build_path}",
        "checksum_url": f"file://{checksum_path}",
        "build_path": build_path,
        "checksum_path": checksum_path,
    }


# ---------------------------------------------------------------------------------------------------------------
# The fact


def build_config(
    params: Mapping[str, Any],
    env: Mapping[str, str] = os.environ,
    read_file: Callable[[str], str] = _read_text,
    *,
    path_exists: Callable[[str], bool] = os.path.exists,
    cwd: str | None = None,
    new_run_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    warn: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Validate every input and return the ``hiero_solo_config`` fact (see the config module's RETURN).

    ``read_file`` and ``path_exists`` reach the controller's files (values file, solo.config.yaml, local charts
    and builds); ``cwd`` is where relative paths start and where solo.config.yaml is searched for.
    """
    cwd = cwd or os.getcwd()
    options = _options(params)

    deployment = _label("deployment", options["deployment"])
    namespace = _label("namespace", options["namespace"] if options["namespace"] is not None else deployment)
    cluster_ref = _label("cluster_ref", options["cluster_ref"])
    context = _optional_text("kube_context", options["kube_context"])
    num_nodes = _node_count(options["num_consensus_nodes"])
    node_aliases = [f"node{i}" for i in range(1, num_nodes + 1)]
    parallel = _strict_bool("parallel", options["parallel"])

    run_id = options["run_id"]
    if run_id is None:
        run_id = new_run_id()
    elif isinstance(run_id, int) and not isinstance(run_id, bool):
        run_id = str(run_id)  # AWX's awx_job_id is an integer
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise InputError(
            "run_id",
            "expected 1 to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit "
            f"(e.g. the AWX job id or a UUID), got {run_id!r}",
        )

    home = env.get("HOME") or os.path.expanduser("~")
    solo_home = options["solo_home"] or env.get("SOLO_HOME") or os.path.join(home, ".solo")
    solo_home = _absolute("solo_home", solo_home, cwd, env)
    cache_dir = env.get("SOLO_CACHE_DIR") or os.path.join(solo_home, "cache")
    cache_dir = _absolute("environment SOLO_CACHE_DIR", cache_dir, cwd, env)
    output_dir = options["output_dir"] or os.path.join(solo_home, f"one-shot-{_safe_name(deployment)}")
    output_dir = _absolute("output_dir", output_dir, cwd, env)

    values_file = None
    sections: dict[str, _Section] = {}
    if options["values_file"] is not None:
        values_file = _absolute("values_file", options["values_file"], cwd, env)
        document = _load_yaml_file("values_file", values_file, read_file, "values file")
        sections = parse_values_file(document, num_nodes)

    solo_config_file, solo_config = _solo_config_versions(options["solo_config_file"], read_file, path_exists, cwd, env)
    versions, version_sources = _resolve_versions(options, solo_config, sections, env)
    toggles = _resolve_toggles(options, sections, env, falcon=values_file is not None)
    chart_sources = resolve_chart_sources(options["chart_sources"], versions, env, path_exists)

    # The setup section may name its own platform tag (upstream passes it to `consensus node setup`); an explicit
    # consensus_node_version option still wins over it.
    setup = sections.get("setup")
    platform_tag = versions["consensus_node"]
    if version_sources["consensus_node"] != "option" and setup and "consensus_node_version" in setup.versions:
        platform_tag = setup.versions["consensus_node_version"]
    platform = _platform_build(options["platform_build_url"], platform_tag, cwd, env, path_exists)
    staging_dir = os.path.join(cache_dir, release_prefix(platform_tag), "staging", platform_tag)
    platform.update(
        release_tag=platform_tag,
        release_prefix=release_prefix(platform_tag),
        checksum_algorithm="sha384",
        staging_dir=staging_dir,
        download_dir=os.path.join(staging_dir, "build"),
    )

    if warn:
        if toggles["deploy_explorer"] and not toggles["deploy_mirror_node"]:
            warn("deploy_explorer is true but deploy_mirror_node is false: the explorer will have no mirror node")
        if toggles["deploy_relay"] and not toggles["deploy_mirror_node"]:
            warn("deploy_relay is true but deploy_mirror_node is false: the relay will have no mirror node")

    settings = _Settings(
        deployment=deployment,
        namespace=namespace,
        cluster_ref=cluster_ref,
        context=context,
        node_aliases=node_aliases,
        versions=versions,
        version_sources=version_sources,
        toggles=toggles,
        chart_sources=chart_sources,
        sections=sections,
        platform=platform,
        cache_dir=cache_dir,
        solo_home=solo_home,
        parallel=bool(parallel),
        values_file=values_file,
        env=env,
        explicit_chart_versions=frozenset(
            name for name, entry in (options["chart_sources"] or {}).items() if (entry or {}).get("version")
        ),
    )
    return {
        "deployment": deployment,
        "namespace": namespace,
        "cluster_ref": cluster_ref,
        "context": context,
        "num_consensus_nodes": num_nodes,
        "node_aliases": node_aliases,
        "run_id": run_id,
        "parallel": bool(parallel),
        "solo_home": solo_home,
        "cache_dir": cache_dir,
        "output_dir": output_dir,
        "values_file": values_file,
        "solo_config_file": solo_config_file,
        "versions": versions,
        "version_sources": version_sources,
        "toggles": toggles,
        "chart_sources": {name: source.to_dict() for name, source in chart_sources.items()},
        "steps": _steps(settings),
        "steps_order": list(STEPS_ORDER),
        "dag": dag_edges(),
    }


@dataclass
class _Settings:
    deployment: str
    namespace: str
    cluster_ref: str
    context: str | None
    node_aliases: list[str]
    versions: dict[str, str]
    version_sources: dict[str, str]
    toggles: dict[str, bool]
    chart_sources: dict[str, ChartSource]
    sections: dict[str, _Section]
    platform: dict[str, Any]
    cache_dir: str
    solo_home: str
    parallel: bool
    values_file: str | None
    env: Mapping[str, str]
    explicit_chart_versions: frozenset[str]

    def section(self, step: str) -> _Section:
        for name, target in SECTION_STEP.items():
            if target == step and name in self.sections:
                return self.sections[name]
        return _Section({}, {})

    def step_version(self, step: str, param: str, component: str) -> str:
        """A version a section sets for its own step only; an explicit module option for the component wins."""
        own = self.section(step).versions.get(param)
        if own is None or self.version_sources[component] == "option":
            return self.versions[component]
        return own

    def release(
        self, component: str, name: str, namespace: str | None = None, chart_version: str | None = None
    ) -> dict[str, Any]:
        """A release's name, namespace and chart coordinates; ``chart_version`` is a step's own version, which
        a chart_version given in chart_sources still overrides."""
        source = self.chart_sources[component]
        if chart_version and source.kind != "path" and component not in self.explicit_chart_versions:
            source = dataclasses.replace(source, version=chart_version)
        return {"release_name": name, "namespace": namespace or self.namespace, "chart_source": source.to_dict()}


def _stream_mode(env: Mapping[str, str]) -> str:
    # solo's argv builders treat an unset BLOCK_STREAM_STREAM_MODE as BLOCKS.
    return (env.get("BLOCK_STREAM_STREAM_MODE") or "BLOCKS").strip().upper()


def _steps(s: _Settings) -> dict[str, dict[str, Any]]:
    ns = s.namespace
    toggles = s.toggles
    cn_version = parse_version("consensus_node_version", s.versions["consensus_node"])
    with_block_node = toggles["deploy_block_node"]
    # TSS-era consensus nodes streaming blocks need the block node seeded with RSA keys and no MinIO upload
    # (deploy-argv-builders.ts:66-74, helpers.ts requiresRsaBootstrap).
    rsa_bootstrap = with_block_node and cn_version.at_least(0, 74, 0) and _stream_mode(s.env) in ("BLOCKS", "BOTH")
    keys_dir = os.path.join(s.cache_dir, "keys")
    enabled = {
        "block_node": with_block_node,
        "mirror_node": toggles["deploy_mirror_node"],
        "explorer": toggles["deploy_explorer"],
        "relay": toggles["deploy_relay"],
        "pinger": toggles["deploy_mirror_node"] and toggles["pinger"],
    }

    def block(step: str, params: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return {
            "enabled": enabled.get(step, True),
            "wait_for": list(WAIT_FOR[step]),
            **fields,
            "params": params if params is not None else {},
        }

    def section_params(step: str, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
        # Like solo, computed values come first and the section's own keys win (appendConfigToArgv).
        return {**(defaults or {}), **s.section(step).params}

    solo_chart = s.versions["solo_chart"]
    network_params = section_params("consensus_network")
    if with_block_node:
        network_params["tss"] = True  # solo pushes --tss after the section when the block node is on
    # Small-memory settings apply only without a values file and for CN >= v0.72.0 (solo-spec §1.8).
    small_memory = s.values_file is None and cn_version.at_least(0, 72, 0)
    mirror_solo_chart = s.step_version("mirror_node", "solo_chart_version", "solo_chart")
    explorer_solo_chart = s.step_version("explorer", "solo_chart_version", "solo_chart")
    explorer_params = section_params(
        "explorer", {"mirror_node_id": COMPONENT_ID, "mirror_namespace": ns, "enable_ingress": True}
    )
    explorer_releases = {
        "explorer": s.release("explorer", f"hiero-explorer-{COMPONENT_ID}"),
        "ingress_controller": s.release("ingress_controller", explorer_ingress_release_name(ns)),
    }
    if explorer_params.get("enable_explorer_tls"):
        explorer_releases["solo_cert_manager"] = s.release(
            "solo_cert_manager", "solo-cert-manager", CERT_MANAGER_NAMESPACE, _chart_version(explorer_solo_chart)
        )
    platform = dict(s.platform)
    platform_tag = platform["release_tag"]

    steps = {
        "cluster_ref": block("cluster_ref", cluster_ref=s.cluster_ref, context=s.context),
        "deployment": block(
            "deployment",
            deployment=s.deployment,
            namespace=ns,
            cluster_ref=s.cluster_ref,
            num_consensus_nodes=len(s.node_aliases),
            node_aliases=s.node_aliases,
            realm=0,
            shard=0,
            # Components registered in the remote config as `requested` (the orchestrator's phase 9).
            components={
                "block_node": enabled["block_node"],
                "mirror_node": enabled["mirror_node"],
                "explorer": enabled["explorer"],
                "relay": enabled["relay"],
            },
            # Run-state entries written before the fan-out, so that nothing waits on a step that will not run.
            register_steps={step: ("pending" if enabled.get(step, True) else "skipped") for step in STEPS_ORDER},
        ),
        "keys": block("keys", node_aliases=s.node_aliases, keys_dir=keys_dir, gossip_keys=True, tls_keys=True),
        "cluster_setup": block(
            "cluster_setup",
            cluster_ref=s.cluster_ref,
            setup_namespace=SETUP_NAMESPACE,
            cluster_role="pod-monitor-role",
            minio=not rsa_bootstrap,
            releases={"minio_operator": s.release("minio_operator", "operator", SETUP_NAMESPACE)},
        ),
        "block_node": block(
            "block_node",
            section_params("block_node", {"block_node_tss_overlay": True}),
            namespace=ns,
            version=s.versions["block_node"],
            # The consensus version the block node must work with: its section may name one, else the network's.
            consensus_node_version=s.step_version("block_node", "consensus_node_version", "consensus_node"),
            rsa_bootstrap=rsa_bootstrap,
            keys_dir=keys_dir,
            releases={"block_node": s.release("block_node", f"block-node-{COMPONENT_ID}")},
        ),
        "consensus_network": block(
            "consensus_network",
            network_params,
            namespace=ns,
            node_aliases=s.node_aliases,
            release_tag=s.versions["consensus_node"],
            solo_chart_version=solo_chart,
            keys_dir=keys_dir,
            small_memory={
                "enabled": small_memory,
                "settings_file": "settings-multinode.txt" if len(s.node_aliases) > 1 else "settings-single.txt",
                "state_on_disk": small_memory and cn_version.at_least(0, 73, 0),
            },
            releases={"solo_deployment": s.release("solo_deployment", "solo-deployment")},
        ),
        "platform_download": block("platform_download", **platform),
        "consensus_node_configured": block(
            "consensus_node_configured",
            section_params("consensus_node_configured"),
            namespace=ns,
            node_aliases=s.node_aliases,
            release_tag=platform["release_tag"],
            # Where platform_download leaves the build (or the local build itself): this step only uploads it.
            build_path=platform["build_path"] or os.path.join(platform["download_dir"], f"build-{platform_tag}.zip"),
            checksum_path=platform.get("checksum_path")
            or os.path.join(platform["download_dir"], f"build-{platform_tag}.sha384"),
        ),
        "consensus_node_started": block(
            "consensus_node_started",
            section_params("consensus_node_started"),
            namespace=ns,
            node_aliases=s.node_aliases,
        ),
        "mirror_node": block(
            "mirror_node",
            _mirror_params(s),
            namespace=ns,
            version=s.versions["mirror_node"],
            solo_chart_version=mirror_solo_chart,
            releases={
                "mirror_node": s.release("mirror_node", f"mirror-{COMPONENT_ID}"),
                "solo_shared_resources": s.release(
                    "solo_shared_resources", "solo-shared-resources", None, _chart_version(mirror_solo_chart)
                ),
                "ingress_controller": s.release("ingress_controller", f"haproxy-ingress-{COMPONENT_ID}"),
            },
        ),
        "explorer": block(
            "explorer",
            explorer_params,
            namespace=ns,
            version=s.versions["explorer"],
            solo_chart_version=explorer_solo_chart,
            releases=explorer_releases,
        ),
        "relay": block(
            "relay",
            # Upstream always points the relay at node1 (hazard H5); we point it at every node unless the
            # values file's relayNode section names others.
            section_params(
                "relay", {"node_aliases": list(s.node_aliases), "mirror_node_id": COMPONENT_ID, "mirror_namespace": ns}
            ),
            namespace=ns,
            version=s.versions["relay"],
            releases={"relay": s.release("relay", f"relay-{COMPONENT_ID}")},
        ),
        "accounts": block("accounts", namespace=ns, node_aliases=s.node_aliases),
        "pinger": block(
            "pinger",
            namespace=ns,
            releases={"mirror_node": s.release("mirror_node", f"mirror-{COMPONENT_ID}")},
        ),
    }
    return steps


def _chart_version(version: str) -> str:
    return normalize_version("solo_chart_version", version, prefixed=False)


def _mirror_params(s: _Settings) -> dict[str, Any]:
    defaults: dict[str, Any] = {"enable_ingress": True, "parallel_deploy": s.parallel}
    if s.toggles["deploy_block_node"]:
        defaults["force_block_node_integration"] = True
    params = {**defaults, **s.section("mirror_node").params}
    # The pinger is its own step (enabled after the nodes start, upstream #4749); the section's --pinger only
    # feeds that toggle.
    params.pop("pinger", None)
    return params
