# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``cluster_ref`` step: solo's ``cluster-ref config connect | setup | reset | disconnect``.

Facts from hiero-ledger/solo (solo-spec §3.1, §3.4, §3.14; ``src/commands/cluster/tasks.ts``):

- connect: checks that the context answers ``list namespaces``, then records ``clusterRefs[<ref>] = <context>`` in
  the local config. No cluster writes.
- setup: the ClusterRole ``pod-monitor-role`` (label ``solo.hedera.com/type=cluster-role``) unless it exists, and
  the MinIO operator (release ``operator`` of the ``operator`` chart, namespace ``solo-setup``,
  ``operator.replicaCount=1``) unless a MinIO operator is already running anywhere in the cluster, which solo
  detects by a pod labelled ``app.kubernetes.io/name=operator,operator=leader``.
- reset: uninstalls that MinIO operator release and deletes the ClusterRole; without ``--force`` it does nothing
  while any namespace still holds a solo remote config (the cluster is shared with another deployment).
- disconnect: removes the local config entry.

Beyond solo: setup also recognises its own ``operator`` release through ``helm status`` (the leader label is set
by the running operator, so right after an install, or on a cluster whose operator pods never became leader, the
pod search alone would install a second copy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _local_config
from ansible_collections.hiero.solo.plugins.module_utils._client import (
    ApiException,
    ConfigException,
    Urllib3HTTPError,
    YAMLError,
    cluster_error,
    default_kubeconfig,
    is_already_exists,
    is_not_found,
    resolve_auth,
)
from ansible_collections.hiero.solo.plugins.module_utils._config import CHARTS, COMPONENTS, SETUP_NAMESPACE
from ansible_collections.hiero.solo.plugins.module_utils._errors import HelmError, HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._helm import ChartSource, chart_source_for, values_file
from ansible_collections.hiero.solo.plugins.module_utils._remote_config import LABEL_SELECTOR as REMOTE_CONFIG_SELECTOR
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

STATES = ("connected", "setup", "reset", "disconnected")

CLUSTER_REF_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "connected", "choices": list(STATES)},
    "cluster_ref": {"type": "str", "required": True},
    "namespace": {"type": "str"},
    "setup_namespace": {"type": "str", "default": SETUP_NAMESPACE},
    "minio": {"type": "bool", "default": True},
    "force": {"type": "bool", "default": False},
    "solo_home": {"type": "path"},
}

# Run-state step names; `connected` and `disconnected` only touch the local config (see run()).
STEP_NAMES = {"setup": "cluster_setup", "reset": "cluster_reset"}
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(lambda params: STEP_NAMES.get(params.get("state")))


POD_MONITOR_ROLE = "pod-monitor-role"
CLUSTER_ROLE_LABELS = {"solo.hedera.com/type": "cluster-role"}
POD_MONITOR_RULES: list[dict[str, list[str]]] = [
    {
        "apiGroups": [""],
        "resources": ["pods", "services", "clusterroles", "pods/log", "secrets"],
        "verbs": ["get", "list"],
    },
    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
]

MINIO_COMPONENT = "minio_operator"
MINIO_RELEASE = "operator"  # constants.MINIO_OPERATOR_RELEASE_NAME
MINIO_POD_SELECTOR = "app.kubernetes.io/name=operator,operator=leader"
MINIO_VALUES = {"operator": {"replicaCount": 1}}

# Seconds for the reachability probe of `connected`: a live API server answers list-namespaces in milliseconds.
REACH_TIMEOUT = (5, 15)


def default_minio_source() -> ChartSource:
    chart = CHARTS[MINIO_COMPONENT]
    return ChartSource(chart.kind, chart.chart, repo=chart.repo, version=COMPONENTS[MINIO_COMPONENT].default)


# ---------------------------------------------------------------------------------------------------------------
# connected / disconnected


def current_context(auth: Mapping[str, Any]) -> str | None:
    """The current context of the kubeconfig the auth options select (None when there is none)."""
    kubeconfig = auth.get("kubeconfig")
    if isinstance(kubeconfig, Mapping):
        return kubeconfig.get("current-context") or None
    if not kubeconfig:
        if auth.get("host"):
            return None  # host alone reads no kubeconfig at all
        kubeconfig = default_kubeconfig()
    try:
        import kubernetes.config

        _contexts, active = kubernetes.config.list_kube_config_contexts(config_file=kubeconfig)
    except (ConfigException, YAMLError, OSError, ValueError, TypeError, KeyError):
        return None  # building the client reports an unreadable kubeconfig with the right message
    return (active or {}).get("name") or None


def check_reachable(clients: Any, cluster_ref: str, context: str, warn: Any) -> str:
    """solo's connect test (``list namespaces`` on the context); returns the server URL."""
    server = clients.configuration.host
    where = f"cluster_ref {cluster_ref}: the Kubernetes API server {server} (context {context})"
    try:
        clients.core.list_namespace(limit=1, _request_timeout=REACH_TIMEOUT)
    except ApiException as exc:
        if exc.status == 403:
            warn(f"{where} does not let these credentials list namespaces; later steps may fail for the same reason")
            return server
        detail = cluster_error(exc, "list", "Namespace", None, None).msg
        raise HieroError(f"{where} refused the connection test: {detail}", server=server, context=context) from exc
    except (Urllib3HTTPError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise HieroError(f"{where} is not reachable: {reason}", server=server, context=context) from exc
    return server


def connect(module: Any, cluster_ref: str, home: str) -> dict[str, Any]:
    auth = resolve_auth(module.params)
    context = auth.get("context") or current_context(auth)
    if not context:
        try:
            module.clients()
        except InputError:
            raise  # e.g. the kubeconfig file does not exist: that is the problem to report
        except HieroError:
            pass  # a kubeconfig without current-context cannot be loaded without a context: say so below
        raise InputError(
            "context", "not set, and no current context could be read from the kubeconfig: name the context to connect"
        )
    module.params["context"] = context
    clients = module.clients()  # InputError naming `context` when the kubeconfig has no such context
    server = check_reachable(clients, cluster_ref, context, module.warn)

    before = _local_config.read(home)
    previous = ((before or {}).get("clusterRefs") or {}).get(cluster_ref)
    changed = previous != context
    if changed:
        if previous:
            module.warn(f"cluster_ref {cluster_ref} pointed at context {previous}; it now points at {context}")
        with write_guard(module, None, cluster_writes=False) as guard:
            guard.check()
            _doc, changed = _local_config.mutate(
                home,
                lambda doc: _in_place(_local_config.set_cluster_ref(doc, cluster_ref, context)),
                check_mode=module.check_mode,
            )
    fact = {"cluster_ref": cluster_ref, "state": "connected", "context": context, "server": server}
    result: dict[str, Any] = {
        "changed": changed,
        "cluster_ref": cluster_ref,
        "context": context,
        "server": server,
        "local_config": _local_config.config_path(home),
        "ansible_facts": {"hiero_solo_cluster_ref": fact},
    }
    if module.diff_mode:
        result["diff"] = _refs_diff(home, cluster_ref, previous, context)
    return result


def disconnect(module: Any, cluster_ref: str, home: str) -> dict[str, Any]:
    before = _local_config.read(home)
    previous = ((before or {}).get("clusterRefs") or {}).get(cluster_ref)
    changed = previous is not None
    if changed:
        with write_guard(module, None, cluster_writes=False) as guard:
            guard.check()
            _doc, changed = _local_config.mutate(
                home,
                lambda doc: _in_place(_local_config.remove_cluster_ref(doc, cluster_ref)),
                check_mode=module.check_mode,
            )
    result: dict[str, Any] = {
        "changed": changed,
        "cluster_ref": cluster_ref,
        "context": previous,
        "local_config": _local_config.config_path(home),
        "ansible_facts": {"hiero_solo_cluster_ref": {"cluster_ref": cluster_ref, "state": "disconnected"}},
    }
    if module.diff_mode:
        result["diff"] = _refs_diff(home, cluster_ref, previous, None)
    return result


def _in_place(_changed: bool) -> None:
    """For local-config mutators: the helpers change the document in place; mutate() wants None back."""
    return None


def _refs_diff(home: str, cluster_ref: str, before: str | None, after: str | None) -> dict[str, Any]:
    path = _local_config.config_path(home)
    return diff_of(
        {"clusterRefs": {cluster_ref: before}} if before else {},
        {"clusterRefs": {cluster_ref: after}} if after else {},
        f"{path} (before)",
        f"{path} (after)",
    )


# ---------------------------------------------------------------------------------------------------------------
# setup / reset


def minio_source(params: Mapping[str, Any]) -> ChartSource:
    """The MinIO operator chart: ``chart_sources.minio_operator`` over upstream's (other components are ignored:
    the whole chart_sources of the config fact may be passed)."""
    option = params.get("chart_sources") or {}
    if not isinstance(option, Mapping):
        raise InputError("chart_sources", f"expected a mapping of component to source, got {type(option).__name__}")
    return chart_source_for(option, MINIO_COMPONENT, default_minio_source())


def read_cluster_role(clients: Any) -> dict[str, Any] | None:
    try:
        role = clients.rbac.read_cluster_role(POD_MONITOR_ROLE)
    except ApiException as exc:
        if is_not_found(exc):
            return None
        raise cluster_error(exc, "read", "ClusterRole", None, POD_MONITOR_ROLE) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "read", "ClusterRole", None, POD_MONITOR_ROLE) from exc
    return clients.api_client.sanitize_for_serialization(role)


def find_minio_operator(module: Any, setup_namespace: str) -> dict[str, Any] | None:
    """The MinIO operator already in the cluster: {release, namespace, version, found_by}, or None."""
    clients = module.clients()
    try:
        pods = clients.core.list_pod_for_all_namespaces(label_selector=MINIO_POD_SELECTOR)
    except (ApiException, Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "list", "Pod", None, None) from exc
    for pod in pods.items or []:
        labels = pod.metadata.labels or {}
        release = labels.get("app.kubernetes.io/instance")
        if release:
            return {
                "release": release,
                "namespace": pod.metadata.namespace,
                "version": labels.get("app.kubernetes.io/version"),
                "found_by": "pod",
            }
    status = module.helm().status(MINIO_RELEASE, setup_namespace)
    # A release left failed or pending by an interrupted install is not an operator: install it again.
    if status is not None and (status.get("info") or {}).get("status", "deployed") == "deployed":
        return {
            "release": MINIO_RELEASE,
            "namespace": setup_namespace,
            "version": (status.get("chart") or {}).get("metadata", {}).get("version"),
            "found_by": "helm",
        }
    return None


def plan_cluster(module: Any, setup_namespace: str, minio: bool) -> dict[str, Any]:
    return {
        "cluster_role": read_cluster_role(module.clients()) is not None,
        "minio_operator": find_minio_operator(module, setup_namespace) if minio else None,
    }


def create_cluster_role(clients: Any) -> bool:
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": POD_MONITOR_ROLE, "labels": dict(CLUSTER_ROLE_LABELS)},
        "rules": [dict(rule) for rule in POD_MONITOR_RULES],
    }
    try:
        clients.rbac.create_cluster_role(body)
    except ApiException as exc:
        if is_already_exists(exc):
            return False  # created meanwhile by someone else: just as good, as solo skips an existing one
        raise cluster_error(exc, "create", "ClusterRole", None, POD_MONITOR_ROLE) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "create", "ClusterRole", None, POD_MONITOR_ROLE) from exc
    return True


def delete_cluster_role(clients: Any) -> bool:
    try:
        clients.rbac.delete_cluster_role(POD_MONITOR_ROLE)
    except ApiException as exc:
        if is_not_found(exc):
            return False
        raise cluster_error(exc, "delete", "ClusterRole", None, POD_MONITOR_ROLE) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "delete", "ClusterRole", None, POD_MONITOR_ROLE) from exc
    return True


def install_minio_operator(module: Any, source: ChartSource, setup_namespace: str) -> dict[str, Any]:
    helm = module.helm()
    with values_file(MINIO_VALUES) as path:
        try:
            return helm.upgrade_install(
                MINIO_RELEASE, source, setup_namespace, values_files=[path], create_namespace=True
            )
        except HelmError:
            # As solo: a failed install leaves no half-made release behind for the next run to trip over.
            try:
                helm.uninstall(MINIO_RELEASE, setup_namespace)
            except HieroError as cleanup:
                module.warn(f"could not remove the failed release {setup_namespace}/{MINIO_RELEASE}: {cleanup}")
            raise


def _cluster_context(module: Any, cluster_ref: str, home: str) -> str | None:
    context = use_cluster_ref_context(module, cluster_ref, home)
    if context is None:
        raise InputError(
            "cluster_ref",
            f"cluster reference {cluster_ref!r} is not connected (not in {_local_config.config_path(home)}): "
            "run hiero.solo.cluster_ref with state=connected first, or set context",
        )
    return context


def _setup_summary(plan: Mapping[str, Any]) -> dict[str, Any]:
    operator = plan.get("minio_operator")
    return {
        "cluster_role": {"name": POD_MONITOR_ROLE, "present": bool(plan.get("cluster_role"))},
        "minio_operator": dict(operator) if operator else None,
    }


def setup(module: Any, cluster_ref: str, home: str) -> dict[str, Any]:
    params = module.params
    setup_namespace = params["setup_namespace"]
    minio = bool(params["minio"])
    source = minio_source(params) if minio else None
    context = _cluster_context(module, cluster_ref, home)
    actions: list[str] = []
    with run_step(module, params.get("namespace"), STEP_NAMES["setup"]):
        before = plan_cluster(module, setup_namespace, minio)
        needed = not before["cluster_role"] or (minio and before["minio_operator"] is None)
        after = before
        if needed:
            with write_guard(module, params.get("namespace") or setup_namespace, cluster_writes=True) as guard:
                current = plan_cluster(module, setup_namespace, minio) if guard.own else before
                after = dict(current)
                if not current["cluster_role"]:
                    actions.append(f"create ClusterRole {POD_MONITOR_ROLE}")
                    if not module.check_mode:
                        guard.check()
                        create_cluster_role(module.clients())
                    after["cluster_role"] = True
                if minio and current["minio_operator"] is None:
                    assert source is not None
                    actions.append(f"install release {setup_namespace}/{MINIO_RELEASE} ({source.describe()})")
                    if not module.check_mode:
                        guard.check()
                        install_minio_operator(module, source, setup_namespace)
                    after["minio_operator"] = {
                        "release": MINIO_RELEASE,
                        "namespace": setup_namespace,
                        "version": source.version,
                        "found_by": "installed",
                    }
        elif minio and before["minio_operator"]["release"] != MINIO_RELEASE:
            found = before["minio_operator"]
            module.warn(
                f"a MinIO operator is already installed as release {found['namespace']}/{found['release']}; "
                "it is used as it is, as solo does"
            )
    result = _cluster_result(cluster_ref, "setup", context, bool(actions), actions, after)
    if module.diff_mode:
        result["diff"] = diff_of(_setup_summary(before), _setup_summary(after), "cluster (before)", "cluster (after)")
    return result


def _remote_configs_elsewhere(clients: Any) -> list[str]:
    try:
        found = clients.core.list_config_map_for_all_namespaces(label_selector=REMOTE_CONFIG_SELECTOR)
    except (ApiException, Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "list", "ConfigMap", None, None) from exc
    return sorted(f"{cm.metadata.namespace}/{cm.metadata.name}" for cm in found.items or [])


def reset(module: Any, cluster_ref: str, home: str) -> dict[str, Any]:
    params = module.params
    setup_namespace = params["setup_namespace"]
    context = _cluster_context(module, cluster_ref, home)
    actions: list[str] = []
    with run_step(module, params.get("namespace"), STEP_NAMES["reset"]):
        before = plan_cluster(module, setup_namespace, minio=True)
        after = before
        needed = before["cluster_role"] or before["minio_operator"] is not None
        shared = _remote_configs_elsewhere(module.clients()) if needed and not params["force"] else []
        if shared:
            # solo's reset without --force: the cluster-wide pieces still serve other deployments.
            module.warn(
                "cluster reset skipped: solo remote configs still exist in "
                f"{', '.join(shared)}, so the cluster is shared; set force=true to reset anyway"
            )
            needed = False
        if needed:
            with write_guard(module, params.get("namespace") or setup_namespace, cluster_writes=True) as guard:
                current = plan_cluster(module, setup_namespace, minio=True) if guard.own else before
                operator = current["minio_operator"]
                if operator is not None:
                    actions.append(f"uninstall release {operator['namespace']}/{operator['release']}")
                    if not module.check_mode:
                        guard.check()
                        module.helm().uninstall(operator["release"], operator["namespace"])
                if current["cluster_role"]:
                    actions.append(f"delete ClusterRole {POD_MONITOR_ROLE}")
                    if not module.check_mode:
                        guard.check()
                        delete_cluster_role(module.clients())
                after = {"cluster_role": False, "minio_operator": None}
    result = _cluster_result(cluster_ref, "reset", context, bool(actions), actions, after)
    if shared:
        result["shared_with"] = shared
    if module.diff_mode:
        result["diff"] = diff_of(_setup_summary(before), _setup_summary(after), "cluster (before)", "cluster (after)")
    return result


def _cluster_result(
    cluster_ref: str, state: str, context: str | None, changed: bool, actions: list[str], plan: Mapping[str, Any]
) -> dict[str, Any]:
    summary = _setup_summary(plan)
    fact = {"cluster_ref": cluster_ref, "state": state, "context": context, **summary}
    return {
        "changed": changed,
        "cluster_ref": cluster_ref,
        "context": context,
        "actions": actions,
        **summary,
        "ansible_facts": {"hiero_solo_cluster_ref": fact},
    }


# ---------------------------------------------------------------------------------------------------------------
# The module


def run(module: Any) -> dict[str, Any]:
    """Carry out one ``cluster_ref`` task. Every input is checked before anything is read or written."""
    params = module.params
    cluster_ref = check_label("cluster_ref", params["cluster_ref"])
    if params.get("namespace") is not None:
        check_label("namespace", params["namespace"])
    check_label("setup_namespace", params["setup_namespace"])
    check_run_options(params)
    state = params["state"]
    if state in ("connected", "disconnected") and params.get("wait_for"):
        # These precede (or follow) the deployment's run-state; there is nothing to wait in.
        raise InputError("wait_for", f"not used with state={state}, which only changes the local config")
    if state == "setup" and params["minio"]:
        minio_source(params)  # a bad chart source fails now, before the ClusterRole is created
    home = solo_home(params)
    if state == "connected":
        return connect(module, cluster_ref, home)
    if state == "disconnected":
        return disconnect(module, cluster_ref, home)
    if state == "setup":
        return setup(module, cluster_ref, home)
    return reset(module, cluster_ref, home)
