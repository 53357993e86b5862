"""Collection-level contracts: metadata, action group membership, and docs that match the code."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

ROOT = Path(__file__).resolve().parents[2]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if not p.stem.startswith("_"))
AUTH_OPTIONS = {"kubeconfig", "context", "host", "api_key"}


class _ArgSpecCaptured(BaseException):
    """Raised instead of building the AnsibleModule, carrying the keyword arguments it got."""

    def __init__(self, kwargs: dict):
        super().__init__("captured")
        self.kwargs = kwargs


def argument_spec_of(module_name: str) -> dict:
    """The argument spec a module really passes to AnsibleModule (not a copy kept for tests)."""
    module = importlib.import_module(f"ansible_collections.hiero.solo.plugins.modules.{module_name}")

    def capture(self, *args, **kwargs):
        raise _ArgSpecCaptured(kwargs)

    original = basic.AnsibleModule.__init__
    basic.AnsibleModule.__init__ = capture
    try:
        with patch_module_args({}):
            module.main()
    except _ArgSpecCaptured as captured:
        return captured.kwargs["argument_spec"]
    finally:
        basic.AnsibleModule.__init__ = original
    raise AssertionError(f"{module_name}.main() did not build an AnsibleModule")


@pytest.fixture(scope="module")
def docs() -> dict:
    if not MODULES:
        return {}
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"))
    out = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-doc"), "-j", *[f"hiero.solo.{m}" for m in MODULES]],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)


def test_galaxy_metadata_names_the_collection():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert (galaxy["namespace"], galaxy["name"]) == ("hiero", "solo")
    assert galaxy["license"] == ["Apache-2.0"]
    assert "kubernetes.core" in galaxy["dependencies"]


def test_checkout_is_importable_as_hiero_solo():
    link = ROOT / "collections" / "ansible_collections" / "hiero" / "solo"
    assert link.resolve() == ROOT


def test_action_group_lists_exactly_the_cluster_modules():
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    group = set(runtime["action_groups"]["all"])
    missing_files = sorted(m for m in group if m not in MODULES)
    assert not missing_files, f"action group 'all' names modules that do not exist: {missing_files}"
    talking_to_cluster = {m for m in MODULES if AUTH_OPTIONS & set(argument_spec_of(m))}
    assert talking_to_cluster - group == set(), "modules with auth options missing from group 'all'"


def _compare(path: str, spec: dict, doc: dict, problems: list[str]) -> None:
    documented = set(doc)
    coded = {name for name in spec if not name.startswith("_")}
    for name in sorted(coded - documented):
        problems.append(f"{path}{name}: in the argument spec but not documented")
    for name in sorted(documented - coded):
        problems.append(f"{path}{name}: documented but not in the argument spec")
    for name in sorted(coded & documented):
        s, d = spec[name], doc[name]
        for key, default in (("type", "str"), ("default", None), ("choices", None), ("required", False)):
            if s.get(key, default) != d.get(key, default):
                problems.append(f"{path}{name}.{key}: code {s.get(key, default)!r} != docs {d.get(key, default)!r}")
        if sorted(s.get("aliases") or []) != sorted(d.get("aliases") or []):
            problems.append(f"{path}{name}.aliases: code {s.get('aliases')} != docs {d.get('aliases')}")
        if s.get("type") == "list" and s.get("elements") != d.get("elements"):
            problems.append(f"{path}{name}.elements: code {s.get('elements')} != docs {d.get('elements')}")
        if s.get("options") or d.get("suboptions"):
            _compare(f"{path}{name}.", s.get("options") or {}, d.get("suboptions") or {}, problems)


@pytest.mark.parametrize("module_name", MODULES)
def test_documentation_agrees_with_argument_spec(module_name, docs):
    doc = docs[f"hiero.solo.{module_name}"]["doc"]
    problems: list[str] = []
    _compare("", argument_spec_of(module_name), doc.get("options") or {}, problems)
    assert not problems, "\n".join(problems)


def _bad_descriptions(path: str, options: dict) -> list[str]:
    """Descriptions ansible-doc cannot render (e.g. a list item 'a: b' that YAML turned into a mapping)."""
    bad = []
    for name, option in (options or {}).items():
        description = option.get("description")
        items = description if isinstance(description, list) else [description]
        if not all(isinstance(item, str) for item in items):
            bad.append(f"{path}{name}: description must be a string or a list of strings, got {description!r}")
        bad += _bad_descriptions(f"{path}{name}.", option.get("suboptions"))
    return bad


@pytest.mark.parametrize("module_name", MODULES)
def test_documentation_is_complete(module_name, docs):
    entry = docs[f"hiero.solo.{module_name}"]
    assert entry["doc"].get("short_description")
    assert entry["doc"].get("attributes", {}).get("check_mode"), "attributes.check_mode must be declared"
    assert entry.get("examples", "").strip(), "EXAMPLES missing"
    assert isinstance(yaml.safe_load(entry["examples"]), list), "EXAMPLES must be a YAML list of tasks"
    assert entry.get("return") is not None, "RETURN missing"
    bad = _bad_descriptions("", entry["doc"].get("options")) + _bad_descriptions("RETURN.", entry.get("return"))
    assert not bad, "\n".join(bad)
