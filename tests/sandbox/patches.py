"""PATCH bodies of the Kubernetes API: JSON patch, merge patch, strategic merge patch and apply.

Strategic merge follows k8s.io/apimachinery/pkg/util/strategicpatch for the built-in fields the
project's clients touch: lists of objects are merged by their ``patchMergeKey`` (containers by
name, volumeMounts by mountPath, ...), ``metadata.finalizers`` is merged as a set, every other list
is replaced. Without the merge keys a helm 3 upgrade would drop a Deployment's container image.
Server-side apply (helm 4, ``kubectl apply --server-side``) is approximated as a strategic merge of
the applied object: there is no managedFields ownership, so fields an applier drops are kept.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = frozenset({JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH})

_DIRECTIVE = "$patch"
_RETAIN_KEYS = "$retainKeys"
_SET_ORDER = "$setElementOrder/"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"

# patchMergeKey of list fields in the built-in types (k8s.io/api); "ports" depends on its parent.
_MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "imagePullSecrets": "name",
    "resourceClaims": "name",
    "schedulingGates": "name",
    "secrets": "name",  # ServiceAccount.secrets
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "conditions": "type",
    "hostAliases": "ip",
    "ownerReferences": "uid",
    "topologySpreadConstraints": "topologyKey",
}
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
# Lists of scalars with patchStrategy=merge: merged as an ordered set instead of replaced.
_SET_LISTS: frozenset[tuple[str, ...]] = frozenset({("metadata", "finalizers")})
_NO_IDENTITY = object()


class PatchError(ValueError):
    """The patch cannot be applied (the server answers 422 Invalid or 400 BadRequest)."""


class UnsupportedPatchType(PatchError):
    """The Content-Type names no patch format this module knows (the server answers 415)."""


def apply_patch(current: dict, patch: dict | list, patch_type: str, kind: str | None = None) -> dict:
    """Return ``current`` with ``patch`` applied; neither argument is modified.

    ``patch_type`` is the request's Content-Type (parameters such as charset are ignored); ``kind``
    picks kind-specific merge keys (a Service's ports merge by ``port``).
    """
    media_type = patch_type.split(";", 1)[0].strip().lower()
    if media_type == JSON_PATCH:
        result = _json_patch(current, copy.deepcopy(patch))
    elif media_type == MERGE_PATCH:
        result = _merge_patch(copy.deepcopy(current), copy.deepcopy(patch))
    elif media_type in (STRATEGIC_MERGE_PATCH, APPLY_PATCH):
        if not isinstance(patch, dict):
            raise PatchError(f"a {media_type} body must be a JSON object, not {type(patch).__name__}")
        context = _Context(kind=kind, apply=media_type == APPLY_PATCH)
        result = _merge_map(copy.deepcopy(current), copy.deepcopy(patch), (), context)
    else:
        raise UnsupportedPatchType(
            f"unsupported patch type {patch_type!r}; use one of {', '.join(sorted(PATCH_TYPES))}"
        )
    if not isinstance(result, dict):
        raise PatchError("the patched object is not a JSON object")
    return result


# --- RFC 6902 and RFC 7386 --------------------------------------------------------------------------


def _json_patch(current: dict, patch: Any) -> Any:
    if not isinstance(patch, list):
        raise PatchError("a JSON patch must be a list of operations")
    try:
        return jsonpatch.apply_patch(current, patch, in_place=False)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise PatchError(f"the JSON patch failed: {exc}") from exc
    except (TypeError, KeyError, AttributeError) as exc:
        # jsonpatch lets these escape for operations that are not objects or lack fields.
        raise PatchError(f"malformed JSON patch: {exc}") from exc


def _merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result


# --- strategic merge ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    kind: str | None
    apply: bool


def _merge_key(path: tuple[str, ...], ctx: _Context) -> str | None:
    name = path[-1]
    if name == "ports":
        # Container ports merge by containerPort, a Service's spec.ports by port.
        if len(path) >= 2 and path[-2] in _CONTAINER_LISTS:
            return "containerPort"
        if ctx.kind in (None, "Service") and path == ("spec", "ports"):
            return "port"
        return None
    return _MERGE_KEYS.get(name)


def _merge_map(original: dict, patch: dict, path: tuple[str, ...], ctx: _Context) -> dict:
    directive = patch.pop(_DIRECTIVE, None)
    if directive == "replace":
        return _strip(patch, path, ctx)
    if directive == "delete":
        return {}
    if directive not in (None, "merge"):
        raise PatchError(f"unknown $patch directive {directive!r} at {_where(path)}")

    retain = patch.pop(_RETAIN_KEYS, None)
    if retain is not None:
        if not isinstance(retain, list) or not all(isinstance(key, str) for key in retain):
            raise PatchError(f"$retainKeys at {_where(path)} must be a list of field names")
        original = {key: value for key, value in original.items() if key in retain}

    orders: dict[str, list] = {}
    for key in [key for key in patch if key.startswith((_SET_ORDER, _DELETE_PRIMITIVE))]:
        value = patch.pop(key)
        if not isinstance(value, list):
            raise PatchError(f"{key} at {_where(path)} must be a list")
        if key.startswith(_SET_ORDER):
            orders[key[len(_SET_ORDER) :]] = value
        else:
            field = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(original.get(field), list):
                original[field] = [item for item in original[field] if item not in value]

    for key, value in patch.items():
        child = (*path, key)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            if value.get(_DIRECTIVE) == "delete":
                original.pop(key, None)
                continue
            base = original.get(key)
            original[key] = _merge_map(base if isinstance(base, dict) else {}, value, child, ctx)
        elif isinstance(value, list):
            base = original.get(key)
            original[key] = _merge_list(base if isinstance(base, list) else [], value, child, ctx)
        else:
            original[key] = value

    for field, order in orders.items():
        if isinstance(original.get(field), list):
            original[field] = _reorder(original[field], order, _merge_key((*path, field), ctx))
    return original


def _merge_list(original: list, patch: list, path: tuple[str, ...], ctx: _Context) -> list:
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" for item in patch):
        kept = [item for item in patch if not (isinstance(item, dict) and item.get(_DIRECTIVE) == "replace")]
        return _strip(kept, path, ctx)

    merge_key = _merge_key(path, ctx)
    if merge_key is not None and ctx.apply and not all(isinstance(i, dict) and merge_key in i for i in patch):
        # Server-side apply of a list our table does not describe (a custom resource's, say) treats it
        # as atomic, where a strategic merge patch would be refused.
        merge_key = None
    if merge_key is None:
        if path in _SET_LISTS:
            return original + [item for item in patch if item not in original]
        # Lists without a merge key are atomic: the patch replaces them.
        return _strip(patch, path, ctx)

    merged = list(original)
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"{_where(path)} merges by {merge_key!r}, so its patch items must be objects")
        if merge_key not in item:
            raise PatchError(f"an item of {_where(path)} lacks its merge key {merge_key!r}")
        position = next(
            (i for i, old in enumerate(merged) if isinstance(old, dict) and old.get(merge_key) == item[merge_key]),
            None,
        )
        if item.get(_DIRECTIVE) == "delete":
            if position is not None:
                del merged[position]
            continue
        if position is None:
            merged.append(_merge_map({}, item, path, ctx))
        else:
            merged[position] = _merge_map(merged[position], item, path, ctx)
    return merged


def _reorder(items: list, order: list, merge_key: str | None) -> list:
    """Put the items named by $setElementOrder first, in its order; the others keep theirs, after them.

    Kubernetes interleaves server-only items by their old position; putting them last is close enough
    for a sandbox, and the items themselves are the same.
    """

    def identity(item: Any) -> Any:
        key = item.get(merge_key) if merge_key and isinstance(item, dict) else item
        return key if isinstance(key, str | int | float | bool) else _NO_IDENTITY

    rank: dict[Any, int] = {}
    for index, entry in enumerate(order):
        rank.setdefault(identity(entry), index)
    rank.pop(_NO_IDENTITY, None)
    ranked = sorted((item for item in items if identity(item) in rank), key=lambda item: rank[identity(item)])
    return ranked + [item for item in items if identity(item) not in rank]


def _strip(value: Any, path: tuple[str, ...], ctx: _Context) -> Any:
    """A patch value with no original to merge into: drop directives and nulls, keep the rest."""
    if isinstance(value, dict):
        return _merge_map({}, value, path, ctx)
    if isinstance(value, list):
        result = []
        for item in value:
            if isinstance(item, dict):
                if item.get(_DIRECTIVE) == "delete":
                    continue
                item = _merge_map({}, item, path, ctx)
            result.append(item)
        return result
    return value


def _where(path: tuple[str, ...]) -> str:
    return ".".join(path) or "the object root"
