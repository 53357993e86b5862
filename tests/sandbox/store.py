"""The sandbox's object store: Kubernetes write semantics over plain dicts, plus an event stream.

One global integer resourceVersion is bumped on every write (a no-op write bumps nothing); each
write is logged as a watch event (ADDED/MODIFIED/DELETED) and handed to subscribers, which is how
watches, and later controllers and the kubelet, learn about changes. Deletion honours finalizers
(deletionTimestamp first, removal when they are emptied), ownerReferences (dependents are
garbage-collected) and namespaces (deleting one removes everything in it).

Everything here is synchronous and must run on the thread of the server's event loop. Stored
dicts are never changed in place: each write stores a new dict, so events can carry snapshots.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
import random
import re
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from . import errors
from .patches import APPLY_PATCH, STRATEGIC_MERGE_PATCH, PatchError, UnsupportedPatchType, apply_patch
from .resources import Registry, ResourceType
from .selectors import SelectorError, matches
from .strategies import Strategies, crd_resource_types

ADDED, MODIFIED, DELETED = "ADDED", "MODIFIED", "DELETED"
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# Identity and server-owned fields a client's update cannot change.
_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")
_GENERATE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")

log = logging.getLogger(__name__)

ObjectFilter = Callable[[dict], bool]


@dataclass(frozen=True)
class Event:
    """One change. ``obj`` is the object after it (for DELETED: its last state), ``old`` before it."""

    type: str
    resource: ResourceType
    obj: dict
    old: dict | None
    rv: int

    @property
    def namespace(self) -> str:
        return self.obj["metadata"].get("namespace", "")

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]

    def copied(self) -> Event:
        return replace(self, obj=copy.deepcopy(self.obj), old=copy.deepcopy(self.old))


class Subscription:
    """A queue of every store event from the moment of subscribing; ``None`` means the store closed."""

    def __init__(self, store: Store, copies: bool) -> None:
        self._store = store
        self._copies = copies
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def deliver(self, event: Event | None) -> None:
        self.queue.put_nowait(event.copied() if event is not None and self._copies else event)

    async def get(self, timeout: float | None = None) -> Event | None:
        """Next event; raises TimeoutError after ``timeout`` seconds without one."""
        return await asyncio.wait_for(self.queue.get(), timeout)

    def close(self) -> None:
        self._store._subscriptions.discard(self)


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def compile_filter(label_selector: str | None, field_selector: str | None) -> ObjectFilter:
    """Validate both selectors now (400 BadRequest if malformed) and return an object predicate."""
    try:
        matches({}, label_selector, None)
        matches({}, None, field_selector)
    except SelectorError as exc:
        raise errors.bad_request(str(exc)) from None
    if not label_selector and not field_selector:
        return lambda obj: True
    return lambda obj: matches(obj, label_selector, field_selector)


class Store:
    def __init__(
        self, registry: Registry | None = None, *, history: int = 10000, clock: Callable[[], str] = utc_now
    ) -> None:
        self.registry = registry or Registry.builtin()
        self.strategies = Strategies()
        self._clock = clock
        self._objects: dict[tuple[str, str], dict[tuple[str, str], dict]] = {}
        self._rv = 0
        self._history = history
        self._log: deque[Event] = deque()
        self._compacted = 0  # every event with rv > _compacted is still in _log
        self._subscriptions: set[Subscription] = set()
        self._listeners: list[Callable[[Event], None]] = []
        self._pending: deque[Event] = deque()
        self._dispatching = False
        self.namespace_type = self._builtin("", "v1", "namespaces")
        self.crd_type = self._builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        for name in INITIAL_NAMESPACES:
            self.create(self.namespace_type, None, {"metadata": {"name": name}})

    def _builtin(self, group: str, version: str, plural: str) -> ResourceType:
        rt = self.registry.lookup(group, version, plural)
        assert rt is not None, f"the registry lacks {plural}"
        return rt

    # --- reads -------------------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        return self._rv

    def get(self, rt: ResourceType, namespace: str | None, name: str) -> dict:
        return self._out(rt, self._stored(rt, namespace, name))

    def find(self, rt: ResourceType, namespace: str | None, name: str) -> dict | None:
        obj = self._bucket(rt).get((self._ns(rt, namespace), name))
        return None if obj is None else self._out(rt, obj)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[dict], int]:
        """Matching objects sorted by namespace/name (all namespaces when ``namespace`` is None), and the rv."""
        selected = compile_filter(label_selector, field_selector)
        return [self._out(rt, obj) for obj in self._select(rt, namespace) if selected(obj)], self._rv

    def _select(self, rt: ResourceType, namespace: str | None) -> list[dict]:
        bucket = self._bucket(rt)
        keys = sorted(key for key in bucket if namespace is None or not rt.namespaced or key[0] == namespace)
        return [bucket[key] for key in keys]

    def events_since(self, rv: int) -> list[Event]:
        """Logged events after ``rv``, oldest first; 410 Expired when they have been compacted away."""
        if rv < self._compacted:
            raise errors.expired(rv, self._compacted + 1)
        newer: list[Event] = []
        for event in reversed(self._log):
            if event.rv <= rv:
                break
            newer.append(event)
        newer.reverse()
        return newer

    # --- subscriptions ---------------------------------------------------------------------------------

    def subscribe(self, copies: bool = True) -> Subscription:
        """Queue of all events from now on. With ``copies=False`` the events are shared read-only snapshots."""
        subscription = Subscription(self, copies)
        self._subscriptions.add(subscription)
        return subscription

    def add_listener(self, callback: Callable[[Event], None]) -> None:
        """Call ``callback(event)`` synchronously after every change, in rv order (it may write to the store)."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Event], None]) -> None:
        self._listeners.remove(callback)

    def close(self) -> None:
        """End all subscriptions (open watches finish)."""
        for subscription in list(self._subscriptions):
            subscription.deliver(None)
        self._subscriptions.clear()

    # --- writes ----------------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str | None, body: dict, *, dry_run: bool = False) -> dict:
        obj = copy.deepcopy(body)
        self._check_body(rt, obj, namespace, None)
        meta = obj["metadata"]
        if meta.pop("resourceVersion", None):
            raise errors.bad_request("resourceVersion should not be set on objects to be created")
        bucket = self._bucket(rt)
        ns = self._ns(rt, namespace)
        if not meta.get("name"):
            generate = meta.get("generateName")
            if not generate:
                raise errors.invalid(
                    rt.kind, "", "metadata.name", "Required value: name or generateName is required", group=rt.group
                )
            meta["name"] = self._generate_name(bucket, ns, generate)
        name = meta["name"]
        self._validate_name(rt, name)
        if rt.namespaced:
            self._require_active_namespace(rt, ns, name)
        if (ns, name) in bucket:
            raise errors.already_exists(rt.plural, name, rt.group)
        now = self._clock()
        for field in _SERVER_META:
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now
        if rt.tracks_generation:
            meta["generation"] = 1
        self.strategies.prepare_create(rt, obj, now)
        if dry_run:
            return self._out(rt, obj)
        return self._out(rt, self._commit(rt, ADDED, obj, None))

    def update(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        body: dict,
        *,
        dry_run: bool = False,
        subresource: str | None = None,
    ) -> dict:
        """PUT: replace the object (or only its status with ``subresource="status"``)."""
        obj = copy.deepcopy(body)
        self._check_body(rt, obj, namespace, name)
        current = self._stored(rt, namespace, name)
        wanted_rv = obj["metadata"].get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, name, rt.group)
        return self._update_from(rt, current, obj, subresource, dry_run)

    def patch(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        patch: dict | list,
        patch_type: str,
        *,
        dry_run: bool = False,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
    ) -> dict:
        """PATCH with a JSON, merge, strategic-merge or apply patch (apply creates a missing object)."""
        media_type = patch_type.split(";", 1)[0].strip().lower()
        if media_type == APPLY_PATCH and not field_manager:
            raise errors.ApiError(
                422,
                "Invalid",
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
            )
        if media_type == STRATEGIC_MERGE_PATCH and rt.custom:
            raise errors.unsupported_media_type(
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
            )
        ns = self._ns(rt, namespace)
        current = self._bucket(rt).get((ns, name))
        if current is None:
            if media_type == APPLY_PATCH and subresource is None and isinstance(patch, dict):
                body = copy.deepcopy(patch)
                self._check_body(rt, body, namespace, name)
                return self.create(rt, namespace, body, dry_run=dry_run)
            raise errors.not_found(rt.plural, name, rt.group)
        try:
            patched = apply_patch(self._out(rt, current), patch, media_type, rt.kind)
        except UnsupportedPatchType as exc:
            raise errors.unsupported_media_type(str(exc)) from None
        except PatchError as exc:
            raise errors.ApiError(422, "Invalid", str(exc), name=name, group=rt.group, kind=rt.kind) from None
        self._check_body(rt, patched, namespace, name)
        wanted_rv = patched["metadata"].get("resourceVersion")
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, name, rt.group)
        return self._update_from(rt, current, patched, subresource, dry_run)

    def delete(
        self,
        rt: ResourceType,
        namespace: str | None,
        name: str,
        *,
        dry_run: bool = False,
        preconditions: dict | None = None,
        propagation: str | None = None,
        grace_period_seconds: int | None = None,
    ) -> tuple[dict, bool]:
        """DELETE: returns the object and whether it is gone (False while finalizers or a grace period hold it).

        ``grace_period_seconds`` is DeleteOptions.gracePeriodSeconds (None: the kind's default); only kinds
        with graceful deletion (pods on a node) use it, see ``Strategies.deletion_grace``.
        """
        current = self._stored(rt, namespace, name)
        self._check_preconditions(rt, current, preconditions or {})
        if rt.key == self.namespace_type.key:
            return self._delete_namespace(current, dry_run)
        return self._delete_object(rt, current, dry_run, propagation, grace_period_seconds)

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        *,
        dry_run: bool = False,
        grace_period_seconds: int | None = None,
    ) -> list[dict]:
        selected = compile_filter(label_selector, field_selector)
        deleted = []
        for obj in self._select(rt, namespace):
            if not selected(obj):
                continue
            meta = obj["metadata"]
            if self._bucket(rt).get((meta.get("namespace", ""), meta["name"])) is not obj:
                continue  # already removed by garbage collection of an earlier one
            if rt.key == self.namespace_type.key:
                deleted.append(self._delete_namespace(obj, dry_run)[0])
            else:
                deleted.append(self._delete_object(rt, obj, dry_run, None, grace_period_seconds)[0])
        return deleted

    # --- write internals -------------------------------------------------------------------------------

    def _update_from(self, rt: ResourceType, current: dict, body: dict, subresource: str | None, dry_run: bool) -> dict:
        if subresource == "status":
            # Status writes change status only (metadata and spec stay as stored).
            new = copy.deepcopy(current)
            if "status" in body:
                new["status"] = body["status"]
            else:
                new.pop("status", None)
        else:
            new = body
            meta, old_meta = new["metadata"], current["metadata"]
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if old_meta.get("deletionTimestamp") and added:
                raise errors.invalid(
                    rt.kind,
                    old_meta["name"],
                    "metadata.finalizers",
                    "Forbidden: no new finalizers can be added if the object is being deleted",
                    group=rt.group,
                )
            for field in _SERVER_META:
                meta.pop(field, None)
                if field in old_meta:
                    meta[field] = old_meta[field]
            if rt.has_status:
                if "status" in current:
                    new["status"] = copy.deepcopy(current["status"])
                else:
                    new.pop("status", None)
            self.strategies.prepare_update(rt, current, new)
            if rt.tracks_generation and _spec_part(new) != _spec_part(current):
                meta["generation"] = int(old_meta.get("generation", 0)) + 1
        new["apiVersion"] = current["apiVersion"]
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if new == current:
            return self._out(rt, current)  # a no-op write keeps the resourceVersion
        meta = new["metadata"]
        # The last finalizer gone: the object goes, unless a grace period still holds it (a terminating pod
        # waits for its kubelet's final delete).
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not meta.get("deletionGracePeriodSeconds")
            and rt.key != self.namespace_type.key
        ):
            if dry_run:
                return self._out(rt, new)
            return self._out(rt, self._remove(rt, new, None))
        if dry_run:
            return self._out(rt, new)
        stored = self._commit(rt, MODIFIED, new, current)
        if rt.key == self.namespace_type.key and meta.get("deletionTimestamp"):
            self._finish_namespace(meta["name"])
        return self._out(rt, stored)

    def _delete_object(
        self, rt: ResourceType, current: dict, dry_run: bool, propagation: str | None, grace: int | None = None
    ) -> tuple[dict, bool]:
        meta = current["metadata"]
        grace_s = self.strategies.deletion_grace(rt, current, grace)
        if meta.get("finalizers") or grace_s > 0:
            if meta.get("deletionTimestamp"):
                held = meta.get("deletionGracePeriodSeconds") or 0
                if grace_s == 0 and not meta.get("finalizers"):
                    pass  # the grace period is cut to nothing: remove it below
                elif grace_s < held:  # a shorter grace period shortens the wait, as on the API server
                    return self._mark_deleted(rt, current, grace_s, dry_run), False
                else:
                    return self._out(rt, current), False
            else:
                return self._mark_deleted(rt, current, grace_s, dry_run), False
        if dry_run:
            return self._out(rt, current), True
        return self._out(rt, self._remove(rt, copy.deepcopy(current), propagation)), True

    def _mark_deleted(self, rt: ResourceType, current: dict, grace: int, dry_run: bool) -> dict:
        """Deletion requested: deletionTimestamp (now + grace) and the grace period; the object stays for now."""
        marked = copy.deepcopy(current)
        now = self._clock()
        marked["metadata"]["deletionTimestamp"] = _plus_seconds(now, grace) if grace else now
        marked["metadata"]["deletionGracePeriodSeconds"] = grace
        if dry_run:
            return self._out(rt, marked)
        return self._out(rt, self._commit(rt, MODIFIED, marked, current))

    def _remove(self, rt: ResourceType, obj: dict, propagation: str | None) -> dict:
        """Drop the object for good, then collect its dependents and finish its namespace."""
        old = self._bucket(rt)[(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])]
        final = self._commit(rt, DELETED, obj, old)
        if propagation != "Orphan":
            self._collect_dependents(rt, final)
        namespace = final["metadata"].get("namespace")
        if namespace:
            self._finish_namespace(namespace)
        return final

    def _collect_dependents(self, owner_rt: ResourceType, owner: dict) -> None:
        """Garbage-collect objects whose ownerReferences name the removed owner (background propagation)."""
        uid = owner["metadata"]["uid"]
        namespace = owner["metadata"].get("namespace")
        for rt in self.registry.storage_types():
            if not rt.namespaced and owner_rt.namespaced:
                continue  # a namespaced owner cannot own cluster-scoped objects
            for obj in self._select(rt, namespace if owner_rt.namespaced else None):
                refs = obj["metadata"].get("ownerReferences") or ()
                if any(ref.get("uid") == uid for ref in refs if isinstance(ref, dict)):
                    meta = obj["metadata"]
                    if self._bucket(rt).get((meta.get("namespace", ""), meta["name"])) is obj:
                        self._delete_object(rt, obj, False, None)

    def _delete_namespace(self, current: dict, dry_run: bool) -> tuple[dict, bool]:
        rt = self.namespace_type
        name = current["metadata"]["name"]
        terminating = current
        if not current["metadata"].get("deletionTimestamp"):
            terminating = copy.deepcopy(current)
            terminating["metadata"]["deletionTimestamp"] = self._clock()
            terminating["metadata"]["deletionGracePeriodSeconds"] = 0
            terminating["status"] = {**(current.get("status") or {}), "phase": "Terminating"}
            if dry_run:
                return self._out(rt, terminating), False
            terminating = self._commit(rt, MODIFIED, terminating, current)
        elif dry_run:
            return self._out(rt, current), False
        response = self._out(rt, terminating)
        for content_rt in self.registry.storage_types():
            if not content_rt.namespaced:
                continue
            for obj in self._select(content_rt, name):
                meta = obj["metadata"]
                if self._bucket(content_rt).get((name, meta["name"])) is obj:
                    self._delete_object(content_rt, obj, False, None)
        gone = self._finish_namespace(name)
        return response, gone

    def _finish_namespace(self, name: str) -> bool:
        """Remove a Terminating namespace once nothing is left in it; True if it is gone."""
        namespace = self._bucket(self.namespace_type).get(("", name))
        if namespace is None:
            return True
        meta = namespace["metadata"]
        if not meta.get("deletionTimestamp") or meta.get("finalizers"):
            return False
        for rt in self.registry.storage_types():
            if rt.namespaced and any(key[0] == name for key in self._bucket(rt)):
                return False
        self._remove(self.namespace_type, copy.deepcopy(namespace), None)
        return True

    def _commit(self, rt: ResourceType, event_type: str, obj: dict, old: dict | None) -> dict:
        self._rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        key = (meta.get("namespace", ""), meta["name"])
        if event_type == DELETED:
            self._bucket(rt).pop(key, None)
        else:
            self._bucket(rt)[key] = obj
        event = Event(event_type, rt, obj, old, self._rv)
        self._log.append(event)
        while len(self._log) > self._history:
            self._compacted = self._log.popleft().rv
        is_crd = rt.key == self.crd_type.key
        if is_crd and event_type != DELETED:
            self._sync_crd(event)  # served before anyone hears of it, so a listener can create objects of it
        self._emit(event)
        if is_crd and event_type == DELETED:
            self._sync_crd(event)  # its objects go after it, in rv order
        return obj

    def _emit(self, event: Event) -> None:
        for subscription in list(self._subscriptions):
            subscription.deliver(event)
        self._pending.append(event)
        if self._dispatching:
            return  # a listener wrote; its event is dispatched after the current one, in order
        self._dispatching = True
        try:
            while self._pending:
                pending = self._pending.popleft()
                for callback in list(self._listeners):
                    try:
                        callback(pending.copied())
                    except Exception:  # a faulty listener must not break the write that triggered it
                        log.exception("store listener %r failed on %s %s", callback, pending.type, pending.name)
        finally:
            self._dispatching = False

    def _sync_crd(self, event: Event) -> None:
        """A CustomResourceDefinition (un)registers the resource types it serves."""
        name = event.obj["metadata"]["name"]
        gone = self.registry.unregister_crd(name)
        if event.type != DELETED:
            self.registry.register(crd_resource_types(event.obj))
            return
        for rt in gone:
            for obj in self._select(rt, None):
                meta = obj["metadata"]
                if self._bucket(rt).get((meta.get("namespace", ""), meta["name"])) is obj:
                    self._commit(rt, DELETED, copy.deepcopy(obj), obj)

    # --- helpers -----------------------------------------------------------------------------------------

    def _bucket(self, rt: ResourceType) -> dict[tuple[str, str], dict]:
        return self._objects.setdefault(rt.key, {})

    @staticmethod
    def _ns(rt: ResourceType, namespace: str | None) -> str:
        return (namespace or "") if rt.namespaced else ""

    def _stored(self, rt: ResourceType, namespace: str | None, name: str) -> dict:
        obj = self._bucket(rt).get((self._ns(rt, namespace), name))
        if obj is None:
            raise errors.not_found(rt.plural, name, rt.group)
        return obj

    @staticmethod
    def _out(rt: ResourceType, obj: dict) -> dict:
        out = copy.deepcopy(obj)
        out["apiVersion"] = rt.api_version  # one stored object serves every version of a CRD
        return out

    def _require_active_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        if not namespace:
            raise errors.bad_request(f"a namespace is required to create {rt.plural}")
        ns_obj = self._bucket(self.namespace_type).get(("", namespace))
        if ns_obj is None:
            raise errors.not_found("namespaces", namespace)
        if ns_obj["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                rt.plural,
                name,
                f"unable to create new content in namespace {namespace} because it is being terminated",
                rt.group,
            )

    def _check_body(self, rt: ResourceType, obj: object, namespace: str | None, url_name: str | None) -> None:
        """Reject a body that does not fit the URL; fill in kind, apiVersion and namespace."""
        if not isinstance(obj, dict):
            raise errors.bad_request(f"the body of the request must be a {rt.kind} object")
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if api_version and api_version != rt.api_version and not (rt.custom and api_version.startswith(rt.group + "/")):
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({rt.api_version})"
            )
        if kind and kind != rt.kind:
            raise errors.bad_request(f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})")
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if url_name is not None:
            if meta.get("name") and meta["name"] != url_name:
                raise errors.bad_request(
                    f"the name of the object ({meta['name']}) does not match the name on the URL ({url_name})"
                )
            meta["name"] = url_name
        for field in ("labels", "annotations"):
            value = meta.get(field)
            if value is None:
                meta.pop(field, None)
            elif not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise errors.bad_request(f"metadata.{field} must be a map of string keys to string values")

    @staticmethod
    def _validate_name(rt: ResourceType, name: str) -> None:
        if not isinstance(name, str):
            raise errors.bad_request("metadata.name must be a string")
        if rt.name_rule == "label":
            ok, rule = len(name) <= 63 and _LABEL.fullmatch(name) is not None, "a lowercase RFC 1123 label"
        elif rt.name_rule == "path":
            ok, rule = name not in (".", "..") and "/" not in name and "%" not in name, "a valid path segment name"
        else:
            ok, rule = len(name) <= 253 and _SUBDOMAIN.fullmatch(name) is not None, "a lowercase RFC 1123 subdomain"
        if not ok:
            raise errors.invalid(
                rt.kind,
                name,
                "metadata.name",
                f'Invalid value: "{name}": must be {rule} (lower '
                "case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric)",
                group=rt.group,
            )

    @staticmethod
    def _generate_name(bucket: dict, namespace: str, prefix: str) -> str:
        for _ in range(100):
            name = prefix + "".join(random.choices(_GENERATE_ALPHABET, k=5))
            if (namespace, name) not in bucket:
                return name
        raise errors.ApiError(500, "InternalError", f"could not generate a unique name from {prefix!r}")

    @staticmethod
    def _check_preconditions(rt: ResourceType, current: dict, preconditions: dict) -> None:
        meta = current["metadata"]
        for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
            wanted = preconditions.get(field)
            if wanted and wanted != meta.get(field):
                raise errors.ApiError(
                    409,
                    "Conflict",
                    f"Precondition failed: {label} in precondition: {wanted}, "
                    f"{label} in object meta: {meta.get(field)}",
                    name=meta["name"],
                    group=rt.group,
                    kind=rt.plural,
                )


def _plus_seconds(timestamp: str, seconds: int) -> str:
    try:
        moment = dt.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return timestamp  # an injected clock with another format: no arithmetic on it
    return (moment + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _spec_part(obj: dict) -> dict:
    """What a generation counts: everything but metadata, status and type fields."""
    return {key: value for key, value in obj.items() if key not in ("metadata", "status", "apiVersion", "kind")}
