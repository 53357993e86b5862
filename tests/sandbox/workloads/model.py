"""The duration model: how long the sandbox's pods take to start, become ready, finish and go away.

Read from ``tests/sandbox/model.yaml`` (the fields are documented there), another file
(``--model PATH``, ``HIERO_SANDBOX_MODEL``) or a dict. Every delay is nominal seconds multiplied by
``time_scale``. A pod gets the first rule that matches it; fields a rule leaves out come from
``defaults``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from ..selectors import SelectorError, parse_label_selector

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "model.yaml"
MODEL_ENV = "HIERO_SANDBOX_MODEL"


class ModelError(ValueError):
    pass


@dataclass(frozen=True)
class PodTiming:
    """What one pod does, in nominal seconds (``scaled`` gives real seconds)."""

    schedule: float = 0.0  # created -> scheduled on the node (PodScheduled)
    running: float = 1.0  # scheduled -> phase Running, containers started
    ready: float = 1.0  # Running -> condition Ready
    complete: float = 1.0  # Running -> Succeeded/Failed, for pods whose restartPolicy is not Always
    terminate: float = 0.5  # deletion requested -> pod gone (never longer than its grace period)
    exit_code: int = 0  # exit code of containers that complete; not 0 makes the pod Failed
    never_ready: bool = False  # stays Running with Ready=False
    platform_active_after: float = 5.0  # consensus node: lifecycle start -> platform_PlatformStatus 2 (ACTIVE)
    platform_never_active: bool = False  # consensus node: stays at 1 (STARTING_UP) once started
    time_scale: float = 1.0

    def scaled(self, seconds: float) -> float:
        return max(0.0, seconds * self.time_scale)


_DELAYS = {"schedule", "running", "ready", "complete", "terminate", "platform_active_after"}
_SWITCHES = {"never_ready", "platform_never_active"}
_RULE_KEYS = {f.name for f in fields(PodTiming)} - {"time_scale"}
_MATCH_KEYS = {"selector", "image", "namespace", "name"}


@dataclass(frozen=True)
class Rule:
    selector: str | None
    image: str | None
    namespace: str | None
    name: str | None
    values: Mapping[str, Any]

    def matches(self, pod: dict) -> bool:
        meta = pod.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        if self.name is not None and not fnmatch.fnmatchcase(meta.get("name", ""), self.name):
            return False
        if self.image is not None:
            containers = [*((pod.get("spec") or {}).get("containers") or [])]
            if not any(fnmatch.fnmatchcase(c.get("image", ""), self.image) for c in containers if isinstance(c, dict)):
                return False
        if self.selector is not None:
            return parse_label_selector(self.selector)(meta.get("labels") or {})
        return True


@dataclass(frozen=True)
class DurationModel:
    time_scale: float = 1.0
    pvc_bind: float = 0.0  # PVC created -> Bound (nominal seconds)
    defaults: PodTiming = field(default_factory=PodTiming)
    rules: tuple[Rule, ...] = ()
    source: str = "built-in defaults"

    def timing(self, pod: dict) -> PodTiming:
        """The pod's timing: the first matching rule over the defaults, with this model's time scale."""
        base = replace(self.defaults, time_scale=self.time_scale)
        for rule in self.rules:
            if rule.matches(pod):
                return replace(base, **rule.values)
        return base

    def scaled(self, seconds: float) -> float:
        return max(0.0, seconds * self.time_scale)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ModelError(f"{where} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _rule_values(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _MATCH_KEYS:
            continue
        if key not in _RULE_KEYS:
            raise ModelError(f"{where}: unknown field {key!r} (known: {', '.join(sorted(_RULE_KEYS | _MATCH_KEYS))})")
        if key in _DELAYS:
            values[key] = _number(value, f"{where}.{key}")
        elif key in _SWITCHES:
            if not isinstance(value, bool):
                raise ModelError(f"{where}.{key} must be true or false, not {value!r}")
            values[key] = value
        elif key == "exit_code":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
                raise ModelError(f"{where}.exit_code must be an integer 0..255, not {value!r}")
            values[key] = value
    return values


def model_from_dict(raw: Mapping[str, Any] | None, source: str = "dict") -> DurationModel:
    raw = dict(raw or {})
    # `bench` holds figures for bench/run.py (not pod delays); the sandbox ignores it.
    unknown = set(raw) - {"time_scale", "pvc_bind", "defaults", "rules", "bench"}
    if unknown:
        raise ModelError(f"{source}: unknown top-level field(s) {sorted(unknown)}")
    time_scale = _number(raw.get("time_scale", 1.0), "time_scale")
    pvc_bind = _number(raw.get("pvc_bind", 0.0), "pvc_bind")
    defaults = PodTiming(**_rule_values(raw.get("defaults") or {}, "defaults"))
    rules = []
    for index, item in enumerate(raw.get("rules") or []):
        where = f"rules[{index}]"
        if not isinstance(item, Mapping):
            raise ModelError(f"{where} must be a mapping")
        selector = item.get("selector")
        if selector is not None:
            try:
                parse_label_selector(str(selector))
            except SelectorError as exc:
                raise ModelError(f"{where}.selector: {exc}") from None
        rules.append(
            Rule(
                selector=None if selector is None else str(selector),
                image=item.get("image"),
                namespace=item.get("namespace"),
                name=item.get("name"),
                values=_rule_values(item, where),
            )
        )
    return DurationModel(time_scale, pvc_bind, defaults, tuple(rules), source)


def load_model(model: DurationModel | Mapping[str, Any] | str | os.PathLike | None = None) -> DurationModel:
    """A model from a DurationModel, a dict, a YAML file path, or (None) $HIERO_SANDBOX_MODEL / model.yaml."""
    if isinstance(model, DurationModel):
        return model
    if isinstance(model, Mapping):
        return model_from_dict(model)
    path = Path(model) if model is not None else Path(os.environ.get(MODEL_ENV) or DEFAULT_MODEL_PATH)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ModelError(f"cannot read the duration model {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ModelError(f"the duration model {path} is not valid YAML: {exc}") from None
    if raw is not None and not isinstance(raw, Mapping):
        raise ModelError(f"the duration model {path} must be a mapping")
    return model_from_dict(raw, str(path))
