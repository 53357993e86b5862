"""The sandbox Kubernetes API over HTTP (aiohttp): discovery, OpenAPI stub, CRUD, patch, watch.

Requests are JSON, YAML (apply patches) or Kubernetes protobuf (client-go's typed clients);
answers are always JSON. Errors are canonical ``Status`` objects. ``make_app(state)`` builds the
application; extensions registered on ``state.extensions`` add subresources and routes.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable

import yaml
from aiohttp import web

from . import errors, openapi
from .errors import ApiError
from .patches import APPLY_PATCH, PATCH_TYPES, PatchError, UnsupportedPatchType, apply_patch
from .protobuf import ProtobufError, UnsupportedKind, decode, is_protobuf
from .resources import Registry, ResourceType
from .state import ResourceRequest, SandboxState
from .store import ADDED, DELETED, MODIFIED, Event, ObjectFilter, compile_filter

log = logging.getLogger(__name__)

STATE_KEY = web.AppKey("sandbox_state", SandboxState)
MAX_BODY = 64 * 1024 * 1024  # helm release Secrets carry whole charts
DEFAULT_WATCH_SECONDS = 1800.0  # the API server's --min-request-timeout


def make_app(state: SandboxState | None = None) -> web.Application:
    """The API server application for ``state`` (a fresh sandbox when None)."""
    state = state or SandboxState()
    app = web.Application(client_max_size=MAX_BODY, middlewares=[_status_errors])
    app[STATE_KEY] = state
    add = app.router.add_route
    discovery = {
        "/version": _version,
        "/api": _core_versions,
        "/apis": _group_list,
        "/apis/{group}": _group,
        "/api/{version}": _resource_list,
        "/apis/{group}/{version}": _resource_list,
    }
    for path, handler in discovery.items():
        add("GET", path, handler)
        add("GET", path + "/", handler)  # the Python client's discovery APIs ask with a trailing slash
    for path in ("/healthz", "/livez", "/readyz"):
        add("GET", path, _healthz)
    add("GET", "/openapi/v3", _openapi_index)
    add("GET", "/openapi/v3/api/{version}", _openapi_document)
    add("GET", "/openapi/v3/apis/{group}/{version}", _openapi_document)
    add("GET", "/_sandbox/stats", _stats)
    add("POST", "/_sandbox/stats/reset", _stats_reset)
    for hook in state.extensions.app_hooks:
        hook(app)
    add("*", "/api/{version}/{tail:.+}", _resource)
    add("*", "/apis/{group}/{version}/{tail:.+}", _resource)
    app.on_shutdown.append(_end_watches)
    return app


def sandbox_state(request: web.Request) -> SandboxState:
    return request.app[STATE_KEY]


def json_response(body: object, status: int = 200) -> web.Response:
    return web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(), status=status, content_type="application/json"
    )


@web.middleware
async def _status_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_response(exc.status(), exc.code)
    except web.HTTPNotFound:
        return json_response(errors.no_such_resource().status(), 404)
    except web.HTTPMethodNotAllowed:
        return json_response(errors.method_not_allowed().status(), 405)
    except web.HTTPException:
        raise
    except Exception as exc:  # answer like an API server, keep serving
        log.exception("internal error on %s %s", request.method, request.path_qs)
        return json_response(ApiError(500, "InternalError", f"internal error: {exc}").status(), 500)


async def _end_watches(app: web.Application) -> None:
    app[STATE_KEY].store.close()


# --- discovery and OpenAPI ---------------------------------------------------------------------------


async def _version(request: web.Request) -> web.Response:
    sandbox_state(request).stats.record("get", None)
    return json_response(sandbox_state(request).version)


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _core_versions(request: web.Request) -> web.Response:
    sandbox_state(request).stats.record("get", None)
    host = request.host or "127.0.0.1"
    return json_response(
        {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }
    )


def _group_entry(registry: Registry, group: str) -> dict:
    versions = [{"groupVersion": f"{group}/{version}", "version": version} for version in registry.versions(group)]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


async def _group_list(request: web.Request) -> web.Response:
    state = sandbox_state(request)
    state.stats.record("get", None)
    groups = [_group_entry(state.registry, group) for group in state.registry.groups()]
    return json_response({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})


async def _group(request: web.Request) -> web.Response:
    state = sandbox_state(request)
    state.stats.record("get", None)
    group = request.match_info["group"]
    if group not in state.registry.groups():
        raise errors.no_such_resource()
    return json_response({"kind": "APIGroup", "apiVersion": "v1", **_group_entry(state.registry, group)})


async def _resource_list(request: web.Request) -> web.Response:
    state = sandbox_state(request)
    state.stats.record("get", None)
    group, version = request.match_info.get("group", ""), request.match_info["version"]
    types = state.registry.in_group_version(group, version)
    if not types:
        raise errors.no_such_resource()
    resources = [entry for rt in types for entry in rt.discovery_entries()]
    return json_response(
        {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version,
            "resources": resources,
        }
    )


async def _openapi_index(request: web.Request) -> web.Response:
    sandbox_state(request).stats.record("get", None)
    return json_response(openapi.index(sandbox_state(request).registry))


async def _openapi_document(request: web.Request) -> web.Response:
    state = sandbox_state(request)
    state.stats.record("get", None)
    doc = openapi.document(state.registry, request.match_info.get("group", ""), request.match_info["version"])
    if doc is None:
        raise errors.no_such_resource()
    return json_response(doc)


# --- sandbox extras -----------------------------------------------------------------------------------


async def _stats(request: web.Request) -> web.Response:
    return json_response(sandbox_state(request).stats.snapshot())


async def _stats_reset(request: web.Request) -> web.Response:
    sandbox_state(request).stats.reset()
    return json_response(sandbox_state(request).stats.snapshot())


# --- resources ------------------------------------------------------------------------------------------


def parse_resource_path(registry: Registry, group: str, version: str, tail: str) -> ResourceRequest:
    """``[watch/][namespaces/<ns>/]<plural>[/<name>[/<subresource>]]`` → what it addresses (404 if nothing)."""
    parts = tail.strip("/").split("/")
    watch = parts[0] == "watch"
    if watch:
        parts = parts[1:]
    namespace = None
    if len(parts) >= 3 and parts[0] == "namespaces":
        inner = registry.lookup(group, version, parts[2])
        if inner is not None and inner.namespaced:
            namespace, parts = parts[1], parts[2:]
    if not parts or not parts[0] or len(parts) > 3 or any(not part for part in parts):
        raise errors.no_such_resource()
    rt = registry.lookup(group, version, parts[0])
    if rt is None or (rt.namespaced and namespace is None and len(parts) > 1):
        raise errors.no_such_resource()
    name = parts[1] if len(parts) > 1 else None
    subresource = parts[2] if len(parts) > 2 else None
    if subresource is not None and rt.subresource(subresource) is None:
        raise errors.no_such_resource()
    return ResourceRequest(rt, namespace, name, subresource, watch)


async def _resource(request: web.Request) -> web.StreamResponse:
    state = sandbox_state(request)
    info = request.match_info
    target = parse_resource_path(state.registry, info.get("group", ""), info["version"], info["tail"])
    rt, method = target.resource, request.method
    if target.subresource is not None:
        handler = state.extensions.handler_for(rt, target.subresource)
        if handler is not None:
            state.stats.record(_VERBS.get(method, method.lower()), rt, target.subresource)
            return await handler(request, target)
        if target.subresource == "status":
            return await _status_subresource(request, state, target)
        if target.subresource == "scale":
            return await _scale_subresource(request, state, target)
        raise errors.no_such_resource()
    if target.name is None:
        return await _collection(request, state, target)
    return await _named(request, state, target)


# Kinds whose DELETE answers with the object rather than a Status (ReturnDeletedObject in their registry).
_RETURNS_DELETED = frozenset(
    {("", "pods"), ("", "services"), ("", "serviceaccounts"), ("storage.k8s.io", "storageclasses")}
)
_VERBS = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "POST": "create"}


def _admit(state: SandboxState, verb: str, rt: ResourceType, subresource: str | None = None) -> None:
    """Count the request, then refuse verbs the resource does not serve (e.g. deletecollection of namespaces)."""
    state.stats.record(verb, rt, subresource)
    sub = rt.subresource(subresource) if subresource else None
    if verb not in (sub.verbs if sub else rt.verbs):
        raise errors.method_not_allowed()


def _as_list(value: object) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _query_true(request: web.Request, key: str) -> bool:
    return request.query.get(key, "").lower() in ("true", "1")


def _dry_run(request: web.Request, body_values: Iterable[str] = ()) -> bool:
    values = [*request.query.getall("dryRun", []), *body_values]
    for value in values:
        if value != "All":
            raise errors.bad_request(f'Invalid dry run value: {value!r} (only "All" is supported)')
    return bool(values)


async def _collection(request: web.Request, state: SandboxState, target: ResourceRequest) -> web.StreamResponse:
    rt, method = target.resource, request.method
    if method == "GET":
        if target.watch or _query_true(request, "watch"):
            _admit(state, "watch", rt)
            return await _watch(request, state, target)
        _admit(state, "list", rt)
        items, rv = state.store.list(
            rt, target.namespace, request.query.get("labelSelector"), request.query.get("fieldSelector")
        )
        return json_response(_list_body(rt, items, rv))
    if method == "POST":
        _admit(state, "create", rt)
        if rt.namespaced and target.namespace is None:
            raise errors.method_not_allowed()
        body = await read_object(request)
        created = state.store.create(rt, target.namespace, body, dry_run=_dry_run(request))
        return json_response(created, 201)
    if method == "DELETE":
        _admit(state, "deletecollection", rt)
        if rt.namespaced and target.namespace is None:
            raise errors.method_not_allowed()
        options = await _delete_options(request)
        deleted = state.store.delete_collection(
            rt,
            target.namespace,
            request.query.get("labelSelector"),
            request.query.get("fieldSelector"),
            dry_run=_dry_run(request, _as_list(options.get("dryRun"))),
            grace_period_seconds=_grace_period(request, options),
        )
        return json_response(_list_body(rt, deleted, state.store.resource_version))
    raise errors.method_not_allowed()


async def _named(request: web.Request, state: SandboxState, target: ResourceRequest) -> web.StreamResponse:
    rt, method, store = target.resource, request.method, state.store
    if method == "GET" and (target.watch or _query_true(request, "watch")):
        _admit(state, "watch", rt)
        return await _watch(request, state, target)
    _admit(state, _VERBS.get(method, method.lower()), rt)
    if method == "GET":
        return json_response(store.get(rt, target.namespace, target.name))
    if method == "PUT":
        body = await read_object(request)
        return json_response(store.update(rt, target.namespace, target.name, body, dry_run=_dry_run(request)))
    if method == "PATCH":
        return await _patch(request, state, target)
    if method == "DELETE":
        options = await _delete_options(request)
        propagation = request.query.get("propagationPolicy") or options.get("propagationPolicy")
        obj, gone = store.delete(
            rt,
            target.namespace,
            target.name,
            dry_run=_dry_run(request, _as_list(options.get("dryRun"))),
            preconditions=options.get("preconditions"),
            propagation=propagation,
            grace_period_seconds=_grace_period(request, options),
        )
        if not gone or rt.key == state.store.namespace_type.key or rt.key in _RETURNS_DELETED or rt.custom:
            # A namespace answers with itself, Terminating; these kinds answer with the deleted object
            # (their stores set ReturnDeletedObject), which is the type the clients decode.
            return json_response(obj)
        return json_response(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": target.name, "group": rt.group, "kind": rt.plural, "uid": obj["metadata"]["uid"]},
            }
        )
    raise errors.method_not_allowed()


async def _patch(request: web.Request, state: SandboxState, target: ResourceRequest) -> web.Response:
    patch_type = request.headers.get("Content-Type", "")
    patch = await read_patch(request)
    existed = state.store.find(target.resource, target.namespace, target.name) is not None
    result = state.store.patch(
        target.resource,
        target.namespace,
        target.name,
        patch,
        patch_type,
        dry_run=_dry_run(request),
        subresource=target.subresource,
        field_manager=request.query.get("fieldManager"),
        force=_query_true(request, "force"),
    )
    return json_response(result, 200 if existed else 201)


async def _status_subresource(request: web.Request, state: SandboxState, target: ResourceRequest) -> web.StreamResponse:
    rt, method = target.resource, request.method
    _admit(state, _VERBS.get(method, method.lower()), rt, "status")
    if method == "GET":
        return json_response(state.store.get(rt, target.namespace, target.name))
    if method == "PUT":
        body = await read_object(request)
        return json_response(
            state.store.update(rt, target.namespace, target.name, body, dry_run=_dry_run(request), subresource="status")
        )
    if method == "PATCH":
        return await _patch(request, state, target)
    raise errors.method_not_allowed()


# --- scale (autoscaling/v1 Scale over spec.replicas) ---------------------------------------------------


def _selector_text(obj: dict) -> str:
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def to_scale(obj: dict) -> dict:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": _selector_text(obj)},
    }


async def _scale_subresource(request: web.Request, state: SandboxState, target: ResourceRequest) -> web.Response:
    rt, method, store = target.resource, request.method, state.store
    _admit(state, _VERBS.get(method, method.lower()), rt, "scale")
    current = store.get(rt, target.namespace, target.name)
    if method == "GET":
        return json_response(to_scale(current))
    if method == "PUT":
        scale = await read_object(request)
    elif method == "PATCH":
        patch_type = request.headers.get("Content-Type", "")
        patch = await read_patch(request)
        try:
            scale = apply_patch(to_scale(current), patch, patch_type, "Scale")
        except UnsupportedPatchType as exc:
            raise errors.unsupported_media_type(str(exc)) from None
        except PatchError as exc:
            raise ApiError(422, "Invalid", str(exc)) from None
    else:
        raise errors.method_not_allowed()
    if not isinstance(scale, dict):
        raise errors.bad_request("the body of the request must be a Scale object")
    replicas = (scale.get("spec") or {}).get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise errors.invalid(
            "Scale",
            target.name or "",
            "spec.replicas",
            f"Invalid value: {replicas!r}: must be greater than or equal to 0",
            group="autoscaling",
        )
    wanted_rv = (scale.get("metadata") or {}).get("resourceVersion")
    if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
        raise errors.conflict(rt.plural, target.name or "", rt.group)
    current.setdefault("spec", {})["replicas"] = replicas
    updated = store.update(rt, target.namespace, target.name, current, dry_run=_dry_run(request))
    return json_response(to_scale(updated))


# --- bodies -----------------------------------------------------------------------------------------


def _media_type(request: web.Request) -> str:
    return request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()


def _parse_json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.bad_request(f"the body of the request is not valid JSON: {exc}") from None


def _parse_yaml(raw: bytes) -> object:
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"the body of the request is not valid YAML: {exc}") from None


async def read_object(request: web.Request) -> object:
    """A create/update body: JSON, YAML or Kubernetes protobuf (415 for anything else)."""
    raw = await request.read()
    content_type = request.headers.get("Content-Type", "")
    if is_protobuf(content_type):
        try:
            return decode(raw)
        except UnsupportedKind as exc:
            raise errors.unsupported_media_type(str(exc)) from None
        except ProtobufError as exc:
            raise errors.bad_request(f"the protobuf body could not be decoded: {exc}") from None
    media_type = _media_type(request)
    if media_type in ("", "application/json", "*/*"):
        return _parse_json(raw)
    if media_type in ("application/yaml", "application/x-yaml", "text/yaml"):
        return _parse_yaml(raw)
    raise errors.unsupported_media_type(
        f"the body of the request was in an unknown format ({media_type}) - accepted media types include: "
        "application/json, application/yaml, application/vnd.kubernetes.protobuf"
    )


async def read_patch(request: web.Request) -> object:
    raw = await request.read()
    media_type = _media_type(request)
    if media_type not in PATCH_TYPES:
        raise errors.unsupported_media_type(
            f"the body of the request was in an unknown format ({media_type or 'no Content-Type'}) - accepted media "
            f"types include: {', '.join(sorted(PATCH_TYPES))}"
        )
    return _parse_yaml(raw) if media_type == APPLY_PATCH else _parse_json(raw)


async def _delete_options(request: web.Request) -> dict:
    """DeleteOptions from the body; a body this server cannot read (protobuf) counts as none."""
    raw = await request.read()
    if not raw.strip():
        return {}
    if is_protobuf(request.headers.get("Content-Type")):
        return {}  # client-go's typed clients send empty protobuf DeleteOptions; nothing in them matters here
    options = _parse_json(raw)
    if not isinstance(options, dict):
        raise errors.bad_request("the body of a DELETE must be DeleteOptions")
    return options


def _grace_period(request: web.Request, options: dict) -> int | None:
    """DeleteOptions.gracePeriodSeconds from the query or the body (None: the object's default)."""
    value = request.query.get("gracePeriodSeconds", options.get("gracePeriodSeconds"))
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.bad_request(f"invalid gracePeriodSeconds {value!r}") from None


def _list_body(rt: ResourceType, items: list[dict], rv: int) -> dict:
    return {
        "kind": rt.list_kind,
        "apiVersion": rt.api_version,
        "metadata": {"resourceVersion": str(rv)},
        "items": items,
    }


# --- watch -------------------------------------------------------------------------------------------


def _watch_line(event_type: str, obj: dict) -> bytes:
    return (json.dumps({"type": event_type, "object": obj}, separators=(",", ":")) + "\n").encode()


def translate_event(
    event: Event, rt: ResourceType, namespace: str | None, selected: ObjectFilter
) -> tuple[str, dict] | None:
    """What a watcher of ``rt`` in ``namespace`` with a selector sees of a store event, if anything.

    An object that starts or stops matching the selector is seen as ADDED or DELETED, as from the
    real API server.
    """
    if event.resource.key != rt.key:
        return None
    if rt.namespaced and namespace is not None and event.namespace != namespace:
        return None
    now = selected(event.obj)
    if event.type == MODIFIED:
        before = event.old is not None and selected(event.old)
        if now and before:
            event_type = MODIFIED
        elif now:
            event_type = ADDED
        elif before:
            event_type = DELETED
        else:
            return None
    elif not now:
        return None
    else:
        event_type = event.type
    obj = event.obj if event.obj.get("apiVersion") == rt.api_version else {**event.obj, "apiVersion": rt.api_version}
    return event_type, obj


async def _watch(request: web.Request, state: SandboxState, target: ResourceRequest) -> web.StreamResponse:
    rt, store, query = target.resource, state.store, request.query
    field_selector = query.get("fieldSelector") or ""
    if target.name is not None:
        field_selector = ",".join(filter(None, [field_selector, f"metadata.name={target.name}"]))
    selected = compile_filter(query.get("labelSelector"), field_selector or None)
    try:
        timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_SECONDS)
    except ValueError:
        raise errors.bad_request(f"invalid timeoutSeconds {query.get('timeoutSeconds')!r}") from None
    rv_text = query.get("resourceVersion") or ""
    send_initial = query.get("sendInitialEvents", "").lower() == "true"
    if rv_text not in ("", "0") and not rv_text.isdigit():
        raise errors.bad_request(f"invalid resourceVersion {rv_text!r}")

    # Subscribe and take the backlog in one synchronous step, so no event is lost or doubled.
    subscription = store.subscribe(copies=False)
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    try:
        lines: list[bytes] = []
        failure: ApiError | None = None
        if send_initial or rv_text in ("", "0"):
            items, _ = store.list(rt, target.namespace)
            lines.extend(_watch_line(ADDED, obj) for obj in items if selected(obj))
            last_rv = store.resource_version
            if send_initial and _query_true(request, "allowWatchBookmarks"):
                bookmark = {
                    "kind": rt.kind,
                    "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(last_rv), "annotations": {"k8s.io/initial-events-end": "true"}},
                }
                lines.append(_watch_line("BOOKMARK", bookmark))
        else:
            last_rv = int(rv_text)
            try:
                backlog = store.events_since(last_rv)
            except ApiError as exc:
                backlog, failure = [], exc
            for event in backlog:
                seen = translate_event(event, rt, target.namespace, selected)
                if seen is not None:
                    lines.append(_watch_line(*seen))
                last_rv = event.rv

        response.enable_chunked_encoding()
        await response.prepare(request)
        if failure is not None:
            # As the API server does: the watch starts, then reports 410 Expired as an ERROR event.
            await response.write(_watch_line("ERROR", failure.status()))
            return response
        if lines:
            await response.write(b"".join(lines))
        await _stream_events(response, subscription, target, selected, last_rv, timeout)
        return response
    except ConnectionError:
        return response  # the client went away; nothing more to say
    finally:
        subscription.close()


async def _stream_events(
    response: web.StreamResponse,
    subscription,
    target: ResourceRequest,
    selected: ObjectFilter,
    last_rv: int,
    timeout: float,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            return
        try:
            event = await subscription.get(remaining)
        except asyncio.TimeoutError:  # a distinct class from TimeoutError on Python 3.10
            return
        if event is None:
            return  # the server is shutting down
        if event.rv <= last_rv:
            continue
        seen = translate_event(event, target.resource, target.namespace, selected)
        if seen is not None:
            await response.write(_watch_line(*seen))
