# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``keys`` step: solo's ``keys consensus generate --gossip-keys --tls-keys`` (solo-spec §3.5, §5).

Per node alias, the gossip pair (``s-private-<alias>.pem``, ``s-public-<alias>.pem``) and the TLS pair
(``hedera-<alias>.key``, ``hedera-<alias>.crt``) end up in the keys directory (0700, files 0600). Each pair is taken
from the first place that has it, and only generated when none has:

1. the deployment's Secrets (``network-<alias>-keys-secrets`` holds the gossip pair, ``network-node-hapi-app-secrets``
   the TLS pair): the network already runs with these keys, so they are never replaced;
2. the keys directory (a previous run);
3. newly generated, as solo does.

Unlike solo, which backs up and regenerates every key on each run, a re-run therefore changes nothing. When a file
on disk differs from the Secret's copy, the file is moved into a backup directory (solo's ``unused-gossip-pem-<date>``
/ ``unused-tls-<date>`` naming) before the Secret's key is written. Results carry certificates and public keys only.
"""

from __future__ import annotations

import base64
import binascii
import os
import shutil
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _keys, _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._client import ApiException, Urllib3HTTPError, cluster_error
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    check_label,
    check_run_options,
    diff_of,
    record_failure,
    run_step,
    solo_home,
    use_cluster_ref_context,
    write_guard,
)

KEYS_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present"]},
    "node_aliases": {"type": "list", "elements": "str"},
    "namespace": {"type": "str"},
    "cluster_ref": {"type": "str"},
    "keys_dir": {"type": "path"},
    "solo_home": {"type": "path"},
}

STEP = "keys"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(STEP)

GOSSIP, TLS = "gossip", "tls"
# Where a pair came from, as reported in the result.
FROM_SECRET, FROM_FILES, GENERATED = "secret", "files", "generated"
BACKUP_PREFIX = {GOSSIP: "unused-gossip-pem", TLS: "unused-tls"}


def pair_files(kind: str, alias: str) -> tuple[str, str]:
    """(private key file, certificate file) of one pair."""
    if kind == GOSSIP:
        return _keys.gossip_private_key_file(alias), _keys.gossip_cert_file(alias)
    return _keys.tls_private_key_file(alias), _keys.tls_cert_file(alias)


def pair_secret(kind: str, alias: str) -> str:
    return _keys.gossip_secret_name(alias) if kind == GOSSIP else _keys.TLS_SECRET_NAME


def check_aliases(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InputError("node_aliases", f"expected a non-empty list of node aliases such as [node1], got {value!r}")
    aliases: list[str] = []
    for alias in value:
        try:
            _keys.check_alias(alias)
        except InputError as exc:
            raise InputError("node_aliases", exc.msg.split(": ", 1)[1]) from exc
        if alias in aliases:
            raise InputError("node_aliases", f"{alias!r} is listed twice")
        aliases.append(alias)
    return aliases


# ---------------------------------------------------------------------------------------------------------------
# Reading what exists


def read_secret_data(core: Any, namespace: str | None, name: str) -> dict[str, str] | None:
    """The data of a Secret, or None when it (or the namespace) does not exist."""
    if not namespace:
        return None
    try:
        secret = core.read_namespaced_secret(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise cluster_error(exc, "read", "Secret", namespace, name) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "read", "Secret", namespace, name) from exc
    return dict(secret.data or {})


def _decode(data: Mapping[str, str], key: str, where: str) -> str:
    try:
        return base64.b64decode(str(data[key]), validate=True).decode("ascii")
    except (binascii.Error, ValueError) as exc:
        raise HieroError(f"{where} entry {key}: not base64 of a PEM file ({exc})") from exc


def pair_from_secret(
    kind: str, alias: str, data: Mapping[str, str] | None, namespace: str | None
) -> tuple[str, str] | None:
    if not data:
        return None
    key_name, cert_name = pair_files(kind, alias)
    if not data.get(key_name) or not data.get(cert_name):
        return None
    where = f"Secret {namespace}/{pair_secret(kind, alias)}"
    return _decode(data, key_name, where), _decode(data, cert_name, where)


def read_file(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise HieroError(f"cannot read {path}: {exc}") from exc


def pair_from_files(kind: str, alias: str, keys_dir: str) -> tuple[str, str] | None:
    contents = [read_file(os.path.join(keys_dir, name)) for name in pair_files(kind, alias)]
    if contents[0] is None or contents[1] is None:
        return None
    return contents[0], contents[1]


def node_aliases_from_remote_config(core: Any, namespace: str | None) -> list[str]:
    if not namespace:
        raise InputError("node_aliases", "required without namespace (solo reads them from the remote config)")
    doc, _rv = _remote_config.load(core, namespace)
    if doc is None:
        raise InputError(
            "node_aliases", f"required: namespace {namespace} has no remote config to read the consensus nodes from"
        )
    ids = sorted((c.get("metadata") or {}).get("id") for c in _remote_config.components(doc, "consensusNodes"))
    if not ids:
        raise InputError("node_aliases", f"required: the remote config in {namespace} lists no consensus nodes")
    return [_remote_config.alias_for_component_id(component_id) for component_id in ids]


# ---------------------------------------------------------------------------------------------------------------
# Planning


def plan_node(
    alias: str,
    keys_dir: str,
    gossip_secret: Mapping[str, str] | None,
    tls_secret: Mapping[str, str] | None,
    namespace: str | None,
) -> dict[str, Any]:
    """Where each pair of ``alias`` comes from: {kind: (source, (key_pem, cert_pem) or None)}; None = generate."""
    plan: dict[str, Any] = {}
    for kind, secret in ((GOSSIP, gossip_secret), (TLS, tls_secret)):
        from_secret = pair_from_secret(kind, alias, secret, namespace)
        if from_secret is not None:
            plan[kind] = (FROM_SECRET, from_secret)
            continue
        from_files = pair_from_files(kind, alias, keys_dir)
        plan[kind] = (FROM_FILES, from_files) if from_files is not None else (GENERATED, None)
    return plan


def files_to_back_up(kind: str, alias: str, keys_dir: str, pair: tuple[str, str]) -> list[str]:
    """Files of the pair that exist on disk with content other than what will be written."""
    stale = []
    for name, content in zip(pair_files(kind, alias), pair, strict=True):
        current = read_file(os.path.join(keys_dir, name))
        if current is not None and current != content:
            stale.append(name)
    return stale


def back_up(keys_dir: str, kind: str, names: list[str], stamp: str) -> str:
    """Move ``names`` into ``<keys_dir>/<unused-...>-<stamp>/`` (0700) and return that directory."""
    target = os.path.join(keys_dir, f"{BACKUP_PREFIX[kind]}-{stamp}")
    try:
        os.makedirs(target, mode=_keys.KEYS_DIR_MODE, exist_ok=True)
        os.chmod(target, _keys.KEYS_DIR_MODE)
        for name in names:
            shutil.move(os.path.join(keys_dir, name), os.path.join(target, name))
    except OSError as exc:
        raise HieroError(f"cannot back up {', '.join(names)} from {keys_dir} to {target}: {exc}") from exc
    return target


def _backup_stamp(now: datetime | None = None) -> str:
    # solo names backups after the date; seconds keep two runs on the same day apart.
    return (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H-%M-%SZ")


# ---------------------------------------------------------------------------------------------------------------
# The step


def present(module: Any) -> dict[str, Any]:
    params = module.params
    aliases = check_aliases(params["node_aliases"]) if params.get("node_aliases") is not None else None
    namespace = check_label("namespace", params["namespace"]) if params.get("namespace") is not None else None
    cluster_ref = check_label("cluster_ref", params["cluster_ref"]) if params.get("cluster_ref") is not None else None
    check_run_options(params)
    home = solo_home(params)
    keys_dir = params.get("keys_dir") or _keys.default_keys_dir({**os.environ, "SOLO_HOME": home})
    keys_dir = os.path.abspath(os.path.expanduser(keys_dir))
    core = None
    if namespace is not None:  # the cluster is read only for the deployment's Secrets (and the run-state)
        use_cluster_ref_context(module, cluster_ref, home)
        core = module.clients().core

    with run_step(module, namespace, STEP):
        if aliases is None:
            aliases = node_aliases_from_remote_config(core, namespace)
        tls_secret = read_secret_data(core, namespace, _keys.TLS_SECRET_NAME)
        plans = {
            alias: plan_node(
                alias,
                keys_dir,
                read_secret_data(core, namespace, _keys.gossip_secret_name(alias)),
                tls_secret,
                namespace,
            )
            for alias in aliases
        }
        sources = {alias: {kind: source for kind, (source, _pair) in plan.items()} for alias, plan in plans.items()}
        to_generate = [alias for alias, plan in plans.items() if any(pair is None for _s, pair in plan.values())]
        if module.check_mode and to_generate:
            # Planning only: generating RSA keys that are thrown away would cost seconds per node.
            nodes = []
            written: dict[str, list[str]] | None = {
                "before": [],
                "after": [f"{name} (new)" for alias in to_generate for name in _keys.key_file_names(alias)],
            }
            for alias in aliases:
                if alias not in to_generate:
                    nodes.append(_node_from_plan(module, alias, plans[alias], keys_dir, namespace))
            planned = _files_differ(keys_dir, nodes)
            if planned:
                written["before"] += planned["before"]
                written["after"] += planned["after"]
        else:
            nodes = [_node_from_plan(module, alias, plans[alias], keys_dir, namespace) for alias in aliases]
            written = _files_differ(keys_dir, nodes)
        backups: list[str] = []
        if written and not module.check_mode:
            with write_guard(module, namespace, cluster_writes=False) as guard:
                guard.check()
                stamp = _backup_stamp()
                for node in nodes:
                    backups += _back_up_stale(module, node, sources[node.alias], keys_dir, namespace, stamp)
                    _keys.write_keys(keys_dir, node)

    summaries = []
    for node in nodes:
        summary = _keys.public_summary(node)
        summary["sources"] = sources[node.alias]
        summaries.append(summary)
    fact = {
        "keys_dir": keys_dir,
        "node_aliases": list(aliases),
        "nodes": summaries,
        "files": sorted(name for alias in aliases for name in _keys.key_file_names(alias)),
    }
    result: dict[str, Any] = {
        "changed": bool(written),
        "keys_dir": keys_dir,
        "written": written or {"before": [], "after": []},
        "sources": sources,
        "backups": sorted(set(backups)),
        "nodes": summaries,
        "ansible_facts": {"hiero_solo_keys": fact},
    }
    if module.diff_mode:
        listing = written or {"before": [], "after": []}
        result["diff"] = diff_of(
            "".join(f"{name}\n" for name in listing["before"]),
            "".join(f"{name}\n" for name in listing["after"]),
            f"{keys_dir} (before)",
            f"{keys_dir} (after)",
        )
    return result


def _node_from_plan(
    module: Any, alias: str, plan: Mapping[str, Any], keys_dir: str, namespace: str | None
) -> _keys.NodeKeys:
    """The node's keys: found pairs as they are, missing pairs newly generated; checked pair by pair."""
    pairs = {kind: pair for kind, (_source, pair) in plan.items()}
    if any(pair is None for pair in pairs.values()):
        fresh = _keys.generate_node_keys(alias)
        generated = {
            GOSSIP: (fresh.gossip_private_key_pem, fresh.gossip_cert_pem),
            TLS: (fresh.tls_private_key_pem, fresh.tls_cert_pem),
        }
        pairs = {kind: pair if pair is not None else generated[kind] for kind, pair in pairs.items()}
    # Private keys never leave the module; should one end up in a message anyway, Ansible masks it.
    module.ansible_module.no_log_values.update({pairs[GOSSIP][0], pairs[TLS][0]})
    node = _keys.NodeKeys(alias, *pairs[GOSSIP], *pairs[TLS])
    _check_pairs(node, {kind: _where(source, kind, alias, namespace, keys_dir) for kind, (source, _p) in plan.items()})
    return node


def _back_up_stale(
    module: Any, node: _keys.NodeKeys, sources: Mapping[str, str], keys_dir: str, namespace: str | None, stamp: str
) -> list[str]:
    """Move aside files that a pair taken from a Secret is about to replace (never lose a private key)."""
    targets = []
    for kind in (GOSSIP, TLS):
        if sources[kind] != FROM_SECRET:
            continue
        stale = files_to_back_up(kind, node.alias, keys_dir, _pair_of(node, kind))
        if stale:
            target = back_up(keys_dir, kind, stale, stamp)
            targets.append(target)
            module.warn(
                f"{', '.join(stale)} in {keys_dir} differed from Secret {namespace}/{pair_secret(kind, node.alias)}, "
                f"which the network uses; moved to {target}"
            )
    return targets


def _pair_of(node: _keys.NodeKeys, kind: str) -> tuple[str, str]:
    if kind == GOSSIP:
        return node.gossip_private_key_pem, node.gossip_cert_pem
    return node.tls_private_key_pem, node.tls_cert_pem


def _where(source: str, kind: str, alias: str, namespace: str | None, keys_dir: str) -> str:
    if source == FROM_SECRET:
        return f"Secret {namespace}/{pair_secret(kind, alias)}"
    if source == FROM_FILES:
        return keys_dir
    return "generated keys"


def _check_pairs(node: _keys.NodeKeys, where: Mapping[str, str]) -> None:
    """Each private key must belong to its certificate; the message names where the pair was read from."""
    try:
        _keys.check_node_keys(node)
    except HieroError as exc:
        culprit = next(
            (kind for kind in (GOSSIP, TLS) if any(n in exc.msg for n in pair_files(kind, node.alias))), None
        )
        origin = where.get(culprit or GOSSIP, "")
        raise HieroError(f"{origin}: {exc.msg}", alias=node.alias) from exc


def _files_differ(keys_dir: str, nodes: list[_keys.NodeKeys]) -> dict[str, list[str]] | None:
    """What a write would change in ``keys_dir``: {before, after} file listings with their state, or None."""
    before: list[str] = []
    after: list[str] = []
    differs = False
    if os.path.isdir(keys_dir) and os.stat(keys_dir).st_mode & 0o777 != _keys.KEYS_DIR_MODE:
        differs = True
    for node in nodes:
        for name, content in node.files().items():
            path = os.path.join(keys_dir, name)
            current = read_file(path)
            if current is None:
                after.append(f"{name} (new)")
                differs = True
            elif current != content:
                before.append(f"{name}")
                after.append(f"{name} (replaced)")
                differs = True
            elif os.stat(path).st_mode & 0o777 != _keys.KEY_FILE_MODE:
                before.append(f"{name} (mode {os.stat(path).st_mode & 0o777:o})")
                after.append(f"{name} (mode {_keys.KEY_FILE_MODE:o})")
                differs = True
    if not os.path.isdir(keys_dir):
        differs = True
    return {"before": before, "after": after} if differs else None


def run(module: Any) -> dict[str, Any]:
    return present(module)
