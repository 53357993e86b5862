# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""What the component steps share: the mirror node, explorer and relay steps.

Input checks and budgets, chart sources and release convergence (install or upgrade only on drift, uninstall,
helm's cluster-scoped leftovers), small API helpers that turn failures into errors naming the object, the solo
remote config's component records, and ``plan_then_apply``: plan with no writes, then apply under the Lease.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from ansible_collections.hiero.solo.plugins.module_utils import _local_config, _remote_config
from ansible_collections.hiero.solo.plugins.module_utils._client import (
    ApiException,
    Urllib3HTTPError,
    cluster_error,
    is_already_exists,
    is_not_found,
)
from ansible_collections.hiero.solo.plugins.module_utils._config import (
    CHARTS,
    COMPONENTS,
    default_chart_sources,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import HelmError, HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._helm import ChartSource, chart_source_for, values_file
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    lease_fence,
    run_step,
    write_guard,
)
from ansible_collections.hiero.solo.plugins.module_utils._waiter import wait_for, watched

HELM_RETRY_DELAY_S = 15  # solo's MIRROR_NODE_CHART_UPGRADE_RETRY_DELAY_SECS
INGRESS_CONTROLLER_PREFIX = "haproxy-ingress.github.io/controller/"
INGRESS_CONTROLLER_VALUES: dict[str, Any] = {
    # solo's resources/ingress-controller-values.yaml: keep haproxy under small file-descriptor limits.
    "controller": {
        "config": {
            "path-type-order": "exact,regex,prefix,begin",
            "max-connections": "256",
            "config-global": "no strict-limits\n",
        }
    }
}
INGRESS_CONTROLLER_POD_NAME = "haproxy-ingress"  # app.kubernetes.io/name of the controller pods
DEFAULT_OPERATOR_NUMBER = 2  # solo's DEFAULT_OPERATOR_ID_NUMBER (0.0.2)
FIRST_NODE_ACCOUNT_NUMBER = 3  # solo's DEFAULT_START_ID_NUMBER: node<n> has account 0.0.(2 + n)
# solo's built-in operator key (constants.OPERATOR_KEY, the genesis key of a solo network); used when no
# account-key Secret for the operator exists, as solo does. It is a well-known development key.
DEFAULT_OPERATOR_KEY = (
    "302e020100300506032b65700422042091132178e72057a1d7528025956fe39b0b847f200ab59b2fdd367017f3087137"
)
ACCOUNT_ID_LABEL = "solo.hedera.com/account-id"
HAPROXY_SERVICE_SELECTOR = "solo.hedera.com/type=haproxy-svc"
NODE_NAME_LABEL = "solo.hedera.com/node-name"
GRPC_PORT = 50211  # the consensus node's plain gRPC port (solo's constants.GRPC_PORT)
_ENTITY_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


# ---------------------------------------------------------------------------------------------------------------------
# Small pure helpers


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into a copy of ``base``: mappings merge key by key, anything else is replaced (helm's
    rule for several values files)."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def entity_id(shard: int, realm: int, number: int) -> str:
    return f"{shard}.{realm}.{number}"


def check_entity_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _ENTITY_RE.match(value.strip()):
        raise InputError(field, f"expected an account id such as 0.0.2, got {value!r}")
    return value.strip()


def check_non_negative(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(field, f"expected an integer >= 0, got {value!r}")
    return value


def check_timeout(params: Mapping[str, Any]) -> int | None:
    timeout = params.get("wait_timeout")
    if timeout is not None and timeout < 0:
        raise InputError("wait_timeout", f"expected a number of seconds >= 0, got {timeout}")
    return timeout


def budget(params: Mapping[str, Any], default_s: float) -> float:
    """A wait's budget: ``wait_timeout`` when given, else solo's own for that wait."""
    timeout = params.get("wait_timeout")
    return default_s if timeout is None else float(timeout)


def node_id_of(alias: str) -> int:
    """``node1`` → 0 (solo's nodeIdFromNodeAlias)."""
    return _remote_config.component_id_for_alias(alias) - 1


def node_account_id(alias: str, shard: int, realm: int) -> str:
    return entity_id(shard, realm, node_id_of(alias) + FIRST_NODE_ACCOUNT_NUMBER)


def check_node_aliases(value: Any, field: str = "node_aliases") -> list[str]:
    if not isinstance(value, list) or not value:
        raise InputError(field, f"expected a non-empty list of node aliases such as [node1, node2], got {value!r}")
    aliases: list[str] = []
    for alias in value:
        if not isinstance(alias, str) or not re.fullmatch(r"node[1-9][0-9]*", alias):
            raise InputError(field, f"expected node aliases such as node1, got {alias!r}")
        if alias in aliases:
            raise InputError(field, f"{alias!r} is listed twice")
        aliases.append(alias)
    return aliases


def check_values_files(value: Any, field: str = "values_files") -> list[str]:
    """Extra values files, merged last (solo's ``--values-file``); they must exist now, not fail halfway."""
    files: list[str] = []
    for path in value or []:
        if not isinstance(path, str) or not path.strip():
            raise InputError(field, f"expected paths of YAML files, got {path!r}")
        path = os.path.abspath(os.path.expanduser(path.strip()))
        if not os.path.isfile(path):
            raise InputError(field, f"values file {path} does not exist")
        files.append(path)
    return files


def load_values_files(paths: Sequence[str], field: str = "values_files") -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                document = _local_config.yaml_load(handle.read(), path)
        except OSError as exc:
            raise InputError(field, f"cannot read {path}: {exc}") from exc
        except HieroError as exc:
            raise InputError(field, exc.msg) from exc
        if document is None:
            continue
        if not isinstance(document, Mapping):
            raise InputError(field, f"{path}: expected a mapping of chart values, got {type(document).__name__}")
        merged = deep_merge(merged, document)
    return merged


def chart_sources_option(params: Mapping[str, Any]) -> Mapping[str, Any]:
    option = params.get("chart_sources") or {}
    if not isinstance(option, Mapping):
        raise InputError("chart_sources", f"expected a mapping of component to source, got {type(option).__name__}")
    return option


def chart_sources(params: Mapping[str, Any], components: Mapping[str, str | None]) -> dict[str, ChartSource]:
    """The charts of ``components`` (name → version for the default source, None: upstream's default version):
    ``chart_sources.<name>`` over upstream's location. Other entries of ``chart_sources`` are ignored, so the
    whole ``chart_sources`` of the config fact can be passed."""
    versions = {name: spec.default for name, spec in COMPONENTS.items()}
    for name, version in components.items():
        if version is not None:
            versions[CHARTS[name].version_of] = version
    defaults = default_chart_sources(versions, os.environ)
    option = chart_sources_option(params)
    return {name: chart_source_for(option, name, defaults[name]) for name in components}


def expected_chart(source: ChartSource) -> str | None:
    """``<chart name>-<version>`` as ``helm list`` shows it, or None when it cannot be known in advance."""
    if source.kind == "repo":
        name = source.chart
    elif source.kind == "oci":
        name = source.chart.rstrip("/").rsplit("/", 1)[-1]
    else:
        chart_file = os.path.join(source.chart, "Chart.yaml")
        if not os.path.isfile(chart_file):
            return None  # a packaged .tgz: its name and version are inside the archive
        try:
            with open(chart_file, encoding="utf-8") as handle:
                meta = _local_config.yaml_load(handle.read(), chart_file) or {}
        except (OSError, HieroError):
            return None
        name, version = meta.get("name"), meta.get("version")
        return f"{name}-{version}" if name and version else None
    return f"{name}-{source.version}" if source.version else None


def values_digest(values: Mapping[str, Any]) -> str:
    """A short fingerprint of chart values (they may hold passwords, so they are never returned themselves)."""
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def secret_strings(values: Any) -> set[str]:
    """Every string of ``values`` whose key names a secret (passwords, keys), to hide from the module output."""
    found: set[str] = set()

    def walk(node: Any, key: str) -> None:
        if isinstance(node, Mapping):
            for child_key, child in node.items():
                walk(child, str(child_key))
        elif isinstance(node, list):
            for item in node:
                walk(item, key)
        elif isinstance(node, str) and node and re.search(r"(?i)(password|private_?key|_KEY(_|$)|key_main)", key):
            found.add(node)

    walk(values, "")
    return found


# ---------------------------------------------------------------------------------------------------------------------
# Kubernetes calls


def api_call(action: str, kind: str, namespace: str | None, name: str | None, call: Callable[[], Any]) -> Any:
    """Run one API call; a failure becomes a ClusterError naming the action and the object."""
    try:
        return call()
    except (ApiException, Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, action, kind, namespace, name) from exc


def read_or_none(kind: str, namespace: str | None, name: str, call: Callable[[], Any]) -> Any:
    """The object, or None when it (or its namespace) does not exist."""
    try:
        return call()
    except ApiException as exc:
        if is_not_found(exc):
            return None
        raise cluster_error(exc, "read", kind, namespace, name) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "read", kind, namespace, name) from exc


def delete_or_absent(kind: str, namespace: str | None, name: str, call: Callable[[], Any]) -> bool:
    """Delete; False when there was nothing to delete.

    Callers pass ``_preload_content=False``: a DELETE answers with the object or with a Status depending on the
    kind and its finalizers, and only the outcome matters here, not the body.
    """
    try:
        call()
    except ApiException as exc:
        if is_not_found(exc):
            return False
        raise cluster_error(exc, "delete", kind, namespace, name) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "delete", kind, namespace, name) from exc
    return True


def namespace_exists(core: Any, namespace: str) -> bool:
    return read_or_none("Namespace", None, namespace, lambda: core.read_namespace(namespace)) is not None


def secret_data(core: Any, namespace: str, name: str) -> dict[str, str] | None:
    """A Secret's data decoded to text, or None when it does not exist."""
    secret = read_or_none("Secret", namespace, name, lambda: core.read_namespaced_secret(name, namespace))
    if secret is None:
        return None
    decoded: dict[str, str] = {}
    for key, value in (secret.data or {}).items():
        try:
            decoded[key] = base64.b64decode(value or "").decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise HieroError(f"Secret {namespace}/{name} key {key}: not base64 of text ({exc})") from exc
    return decoded


def operator_key_for(core: Any, namespace: str, operator_id: str) -> str:
    """solo's rule: the private key of Secret labelled ``solo.hedera.com/account-id=<operator>``, else its built-in
    operator key."""
    secrets = api_call(
        "list",
        "Secret",
        namespace,
        None,
        lambda: core.list_namespaced_secret(namespace, label_selector=f"{ACCOUNT_ID_LABEL}={operator_id}"),
    )
    for secret in sorted(secrets.items or [], key=lambda item: item.metadata.name):
        encoded = (secret.data or {}).get("privateKey")
        if encoded:
            try:
                return base64.b64decode(encoded).decode("utf-8").strip()
            except (binascii.Error, UnicodeDecodeError) as exc:
                where = f"Secret {namespace}/{secret.metadata.name}"
                raise HieroError(f"{where} key privateKey: not base64 of text ({exc})") from exc
    return DEFAULT_OPERATOR_KEY


def list_names(call: Callable[[], Any]) -> list[str]:
    return sorted(item.metadata.name for item in (call().items or []))


def delete_pvcs(core: Any, namespace: str, selector: str, dry: bool) -> list[str]:
    """Delete (or, when ``dry``, list) the PersistentVolumeClaims matching ``selector``."""
    names = api_call(
        "list",
        "PersistentVolumeClaim",
        namespace,
        None,
        lambda: list_names(lambda: core.list_namespaced_persistent_volume_claim(namespace, label_selector=selector)),
    )
    deleted = []
    for name in names:
        if dry or delete_or_absent(
            "PersistentVolumeClaim",
            namespace,
            name,
            lambda name=name: core.delete_namespaced_persistent_volume_claim(name, namespace, _preload_content=False),
        ):
            deleted.append(name)
    return deleted


def ingress_class_exists(networking: Any, name: str) -> bool:
    return read_or_none("IngressClass", None, name, lambda: networking.read_ingress_class(name)) is not None


def create_ingress_class(networking: Any, name: str, controller: str) -> bool:
    """Create the IngressClass solo creates for an ingress controller; False when it exists."""
    body = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": name},
        "spec": {"controller": controller},
    }
    try:
        networking.create_ingress_class(body)
    except ApiException as exc:
        if is_already_exists(exc):
            return False
        raise cluster_error(exc, "create", "IngressClass", None, name) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "create", "IngressClass", None, name) from exc
    return True


def delete_leader_election(clients: Any, namespace: str, name: str, dry: bool) -> list[str]:
    """Remove an ingress controller's leader-election record: a ConfigMap (older controllers) and/or a Lease."""
    removed = []
    checks = (
        ("ConfigMap", clients.core.read_namespaced_config_map, clients.core.delete_namespaced_config_map),
        ("Lease", clients.coordination.read_namespaced_lease, clients.coordination.delete_namespaced_lease),
    )
    for kind, read, delete in checks:
        if dry:
            if read_or_none(kind, namespace, name, lambda read=read: read(name, namespace)) is not None:
                removed.append(f"{kind} {namespace}/{name}")
        elif delete_or_absent(
            kind, namespace, name, lambda delete=delete: delete(name, namespace, _preload_content=False)
        ):
            removed.append(f"{kind} {namespace}/{name}")
    return removed


# Cluster-scoped kinds charts such as haproxy-ingress create, with their list and delete calls.
_RELEASE_CLUSTER_KINDS = (
    ("ClusterRoleBinding", "rbac", "list_cluster_role_binding", "delete_cluster_role_binding"),
    ("ClusterRole", "rbac", "list_cluster_role", "delete_cluster_role"),
)


def delete_release_cluster_objects(
    clients: Any, guard: Any | None, namespace: str, releases: Iterable[str], actions: list[str]
) -> None:
    """Delete what helm made cluster-wide for ``releases`` of ``namespace``; ``guard`` None only plans.

    ``helm uninstall`` removes these with the release; when the namespace, and with it the release record, is gone
    first (``kubectl delete ns``), nothing else would. Helm marks every object it creates with the annotations
    ``meta.helm.sh/release-name`` and ``meta.helm.sh/release-namespace``; those are what is matched, never names.
    """
    wanted = set(releases)
    for kind, api, lister, deleter in _RELEASE_CLUSTER_KINDS:
        group = getattr(clients, api)
        delete = getattr(group, deleter)
        found = api_call("list", kind, None, None, getattr(group, lister))
        for obj in found.items or []:
            annotations = obj.metadata.annotations or {}
            release = annotations.get("meta.helm.sh/release-name")
            if annotations.get("meta.helm.sh/release-namespace") != namespace or release not in wanted:
                continue
            name = obj.metadata.name
            actions.append(f"delete {kind} {name} (left by release {namespace}/{release})")
            if guard is not None:
                guard.check()
                delete_or_absent(kind, None, name, lambda d=delete, n=name: d(n, _preload_content=False))


def patch_ingresses(
    networking: Any, namespace: str, selector: str, desired: Callable[[Any], dict[str, Any] | None], dry: bool
) -> list[str]:
    """Merge-patch each Ingress matching ``selector`` with ``desired(ingress)`` (None: already as wanted)."""
    ingresses = api_call(
        "list",
        "Ingress",
        namespace,
        None,
        lambda: networking.list_namespaced_ingress(namespace, label_selector=selector),
    )
    patched = []
    for ingress in sorted(ingresses.items or [], key=lambda item: item.metadata.name):
        patch = desired(ingress)
        if patch is None:
            continue
        name = ingress.metadata.name
        if not dry:
            api_call(
                "patch",
                "Ingress",
                namespace,
                name,
                lambda name=name, patch=patch: networking.patch_namespaced_ingress(name, namespace, patch),
            )
        patched.append(name)
    return patched


def wait_pods_gone(core: Any, namespace: str, selector: str, what: str, timeout_s: float, heartbeat: Any) -> None:
    """Wait until no pod matches ``selector`` (an uninstalled release's pods have terminated)."""
    list_fn, watch_fn = watched(core.list_namespaced_pod, namespace, label_selector=selector)
    wait_for(
        list_fn,
        lambda _pod: False,
        f"the pods of {what} ({selector}) in namespace {namespace} to be gone",
        timeout_s,
        watch_fn=watch_fn,
        min_count=0,
        heartbeat=heartbeat,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Releases


def release_record(helm: Any, name: str, namespace: str) -> dict[str, Any] | None:
    """``helm list`` entry of one release (name, status, chart, revision), or None."""
    for record in helm.list_releases(namespace, filter=f"^{re.escape(name)}$"):
        if record.get("name") == name:
            return record
    return None


def release_drift(
    record: Mapping[str, Any] | None, current_values: Mapping[str, Any] | None, source: ChartSource, values: Any
) -> str | None:
    """Why the release must be installed or upgraded to get ``values`` from ``source``; None when it already has."""
    if record is None:
        return "not installed"
    status = record.get("status")
    if status != "deployed":
        return f"status {status}"
    chart = expected_chart(source)
    if chart is not None and record.get("chart") != chart:
        return f"chart {record.get('chart')} (wanted {chart})"
    if (current_values or {}) != values:
        return "values differ"
    return None


def install_release(
    module: Any,
    guard: Any,
    name: str,
    namespace: str,
    source: ChartSource,
    values: Mapping[str, Any],
    *,
    attempts: int = 1,
    uninstall_between: bool = False,
    what: str = "",
) -> dict[str, Any]:
    """``helm upgrade --install`` with exactly ``values``; retried ``attempts`` times 15 s apart (solo retries the
    mirror chart 3 times), uninstalling a failed first install between attempts as solo does."""
    helm = module.helm()
    module.ansible_module.no_log_values.update(secret_strings(values))
    last: HelmError | None = None
    for attempt in range(1, attempts + 1):
        guard.check()
        try:
            with values_file(values) as path:
                return helm.upgrade_install(name, source, namespace, values_files=[path])
        except HelmError as exc:
            last = exc
            if attempt == attempts:
                break
            module.warn(f"{exc.msg}; attempt {attempt} of {attempts}, retrying in {HELM_RETRY_DELAY_S}s")
            time.sleep(HELM_RETRY_DELAY_S)
            if uninstall_between:
                with contextlib.suppress(HelmError):
                    helm.uninstall(name, namespace)
    assert last is not None
    prefix = f"{what}: " if what else ""
    raise HelmError(
        f"{prefix}{last.msg}", argv=last.argv, rc=last.rc, stdout=last.stdout, stderr=last.stderr, release=name
    )


def converge_release(
    module: Any,
    guard: Any | None,
    name: str,
    namespace: str,
    source: ChartSource,
    values: Mapping[str, Any],
    actions: list[str],
    *,
    attempts: int = 1,
    uninstall_between: bool = False,
    what: str = "",
    before_change: Callable[[], None] | None = None,
) -> bool:
    """Install or upgrade the release when it differs from ``values``/``source``; ``guard`` None only plans.

    ``before_change`` runs right before a change (e.g. deleting a Secret the chart must re-create).
    """
    helm = module.helm()
    module.ansible_module.no_log_values.update(secret_strings(values))
    record = release_record(helm, name, namespace)
    current = helm.get_values(name, namespace) if record is not None else None
    reason = release_drift(record, current, source, values)
    if reason is None:
        return False
    verb = "install" if record is None else "upgrade"
    actions.append(f"{verb} release {namespace}/{name} ({source.describe()}): {reason}")
    if guard is None:
        return True
    if before_change is not None:
        before_change()
    uninstall = uninstall_between and record is None
    install_release(
        module, guard, name, namespace, source, values, attempts=attempts, uninstall_between=uninstall, what=what
    )
    return True


def uninstall_release(module: Any, guard: Any | None, name: str, namespace: str, actions: list[str]) -> bool:
    helm = module.helm()
    if release_record(helm, name, namespace) is None:
        return False
    actions.append(f"uninstall release {namespace}/{name}")
    if guard is not None:
        guard.check()
        helm.uninstall(name, namespace)
    return True


# ---------------------------------------------------------------------------------------------------------------------
# Remote config components


def load_remote_config(core: Any, namespace: str, *, required: bool = True) -> dict[str, Any] | None:
    doc, _rv = _remote_config.load(core, namespace)
    if doc is None and required:
        raise HieroError(
            f"namespace {namespace} has no solo remote config (ConfigMap {_remote_config.CONFIGMAP_NAME}): "
            "create the deployment first (hiero.solo.deployment state=present)"
        )
    if doc is not None:
        _remote_config.validate(doc)
    return doc


def consensus_aliases(doc: Mapping[str, Any]) -> list[str]:
    """Every consensus node of the deployment, in id order."""
    ids = sorted((c.get("metadata") or {}).get("id") for c in _remote_config.components(doc, "consensusNodes"))
    return [_remote_config.alias_for_component_id(component_id) for component_id in ids]


def component_ids(doc: Mapping[str, Any] | None, kind: str) -> list[int]:
    if doc is None:
        return []
    return sorted((c.get("metadata") or {}).get("id") for c in _remote_config.components(doc, kind))


def component_id_for(doc: Mapping[str, Any] | None, kind: str) -> int:
    """The id of this kind's component: the registered one (one-shot pre-registers it), else the next free one."""
    ids = component_ids(doc, kind)
    if ids:
        return ids[0]
    return _remote_config.next_id(doc or {}, kind)


def default_cluster_ref(doc: Mapping[str, Any], kind: str, component_id: int, given: str | None) -> str:
    if given:
        return given
    component = _remote_config.get_component(doc, kind, component_id)
    if component is not None and (component.get("metadata") or {}).get("cluster"):
        return component["metadata"]["cluster"]
    clusters = [c.get("name") for c in doc.get("clusters") or [] if isinstance(c, Mapping) and c.get("name")]
    if not clusters:
        raise InputError("cluster_ref", "required: the remote config names no cluster")
    return clusters[0]


def deployed_component(
    doc: dict[str, Any] | None,
    kind: str,
    component_id: int,
    namespace: str,
    cluster_ref: str,
    *,
    version: str | None = None,
    **fields: Any,
) -> dict[str, Any] | None:
    """The remote config with the component in phase ``deployed`` (added when missing, as solo's standalone add
    does) and its version recorded; a pure function of ``doc`` (re-applied after a write conflict)."""
    if doc is None:
        raise HieroError(f"the remote config in namespace {namespace} disappeared")
    component = _remote_config.get_component(doc, kind, component_id)
    if component is None:
        new = _remote_config.new_component(kind, component_id, namespace, cluster_ref, phase="deployed")
        new.update(copy.deepcopy(fields))
        _remote_config.add_component(doc, kind, new, increment_id=True)
        ids = doc["state"].setdefault("componentIds", {})
        ids[kind] = max(_remote_config.next_id(doc, kind), component_id + 1)
    else:
        if not _remote_config.phase_at_least((component.get("metadata") or {}).get("phase"), "deployed"):
            _remote_config.set_phase(doc, kind, component_id, "deployed")
        if fields:
            _remote_config.update_component(doc, kind, component_id, **fields)
    if version is not None:
        _remote_config.set_version(doc, kind, version)
    return doc


def record_deployed(
    core: Any,
    guard: Any | None,
    namespace: str,
    kind: str,
    component_id: int,
    cluster_ref: str,
    actions: list[str],
    *,
    version: str | None = None,
    **fields: Any,
) -> bool:
    doc = load_remote_config(core, namespace)
    planned = deployed_component(
        copy.deepcopy(doc), kind, component_id, namespace, cluster_ref, version=version, **fields
    )
    if planned == doc:
        return False
    actions.append(f"record {kind} {component_id} as deployed in the remote config")
    if guard is None:
        return True
    guard.check()
    _doc, changed = _remote_config.mutate(
        core,
        namespace,
        lambda current: deployed_component(
            current, kind, component_id, namespace, cluster_ref, version=version, **fields
        ),
    )
    return changed


def without_components(doc: dict[str, Any] | None, kinds: Mapping[str, Sequence[int] | None]) -> dict[str, Any] | None:
    """The remote config without the given components (kind → ids; None: every component of that kind)."""
    if doc is None:
        return None
    for kind, ids in kinds.items():
        for component_id in component_ids(doc, kind):
            if ids is None or component_id in ids:
                _remote_config.remove_component(doc, kind, component_id)
    return doc


def remove_components(
    core: Any, guard: Any | None, namespace: str, kinds: Mapping[str, Sequence[int] | None], actions: list[str]
) -> bool:
    doc = load_remote_config(core, namespace, required=False)
    if doc is None:
        return False
    planned = without_components(copy.deepcopy(doc), kinds)
    if planned == doc:
        return False
    gone = [f"{kind} {i}" for kind in kinds for i in component_ids(doc, kind) if i not in component_ids(planned, kind)]
    actions.append(f"remove {', '.join(gone)} from the remote config")
    if guard is None:
        return True
    guard.check()
    _doc, changed = _remote_config.mutate(core, namespace, lambda current: without_components(current, kinds))
    return changed


# ---------------------------------------------------------------------------------------------------------------------
# Guards and run-state


class FenceOnly:
    """The guard of a run with nothing to write: only the ``lease`` option, when given, is checked."""

    own = False

    def __init__(self, module: Any) -> None:
        self._fence = lease_fence(module)

    def check(self) -> None:
        if self._fence is not None:
            self._fence()


@contextlib.contextmanager
def guard_for(module: Any, namespace: str, writes: bool) -> Iterator[Any]:
    """``write_guard`` when there is something to write (own Lease or fencing), else fencing only: a converged
    re-run takes no Lease."""
    if writes:
        with write_guard(module, namespace, cluster_writes=True) as guard:
            yield guard
    else:
        yield FenceOnly(module)


T = TypeVar("T")


def plan_then_apply(
    module: Any, namespace: str, converge: Callable[[Any | None, list[str]], T], *, apply_unplanned: bool = True
) -> tuple[T, list[str]]:
    """Run ``converge(guard, actions)`` once with no guard to plan; in check mode the plan is the answer, else it
    runs again under the write guard and reports what it did. ``apply_unplanned`` False skips that second pass
    when nothing was planned."""
    planned: list[str] = []
    result = converge(None, planned)
    if module.check_mode or not (planned or apply_unplanned):
        return result, planned
    actions: list[str] = []
    with guard_for(module, namespace, bool(planned)) as guard:
        result = converge(guard, actions)
    return result, actions


def step_result(
    module: Any,
    fact_name: str,
    fact: dict[str, Any],
    actions: list[str],
    **extra: Any,
) -> dict[str, Any]:
    result: dict[str, Any] = {"changed": bool(actions), "actions": actions, **extra, "ansible_facts": {fact_name: fact}}
    if module.diff_mode:
        result["diff"] = {
            "before": "",
            "after": "".join(f"{line}\n" for line in actions),
            "after_header": "changes",
        }
    return result


def remove_step(
    module: Any,
    core: Any,
    namespace: str,
    step: str,
    remove: Callable[[Any | None, list[str]], list[int]],
    fact_name: str,
) -> dict[str, Any]:
    """``state: absent`` of a component step: ``remove(guard, actions)`` planned, then applied only when there is
    something to remove; recorded as ``step`` in the run-state only while the namespace (which holds it) exists."""
    run_namespace = namespace if namespace_exists(core, namespace) else None
    with run_step(module, run_namespace, step) if run_namespace else contextlib.nullcontext():
        ids, actions = plan_then_apply(module, namespace, remove, apply_unplanned=False)
    fact = {"state": "absent", "namespace": namespace, "component_ids": list(ids)}
    return step_result(module, fact_name, fact, actions)
