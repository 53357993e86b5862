"""Shared argument specs (plugins/module_utils/_args.py) and their doc fragments, which must not drift apart."""

from __future__ import annotations

import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.hiero.solo.plugins.doc_fragments import attributes as attributes_fragment
from ansible_collections.hiero.solo.plugins.doc_fragments import auth as auth_fragment
from ansible_collections.hiero.solo.plugins.doc_fragments import helm as helm_fragment
from ansible_collections.hiero.solo.plugins.doc_fragments import lease as lease_fragment
from ansible_collections.hiero.solo.plugins.doc_fragments import run as run_fragment
from ansible_collections.hiero.solo.plugins.doc_fragments import wait as wait_fragment
from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    AUTH_ENV,
    HELM_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)


def test_argspec_merges_deep_copies_later_wins():
    spec = argspec(AUTH_ARG_SPEC, WAIT_ARG_SPEC, wait_timeout={"type": "int", "default": 900}, name={"type": "str"})
    assert set(spec) == set(AUTH_ARG_SPEC) | {"wait_timeout", "name"}
    assert spec["wait_timeout"] == {"type": "int", "default": 900}
    spec["validate_certs"]["aliases"].append("mutated")
    spec["host"]["type"] = "int"
    assert AUTH_ARG_SPEC["validate_certs"]["aliases"] == ["verify_ssl"]
    assert AUTH_ARG_SPEC["host"]["type"] == "str"
    assert WAIT_ARG_SPEC["wait_timeout"] == {"type": "int"}


def test_every_auth_option_falls_back_to_k8s_auth_env_first():
    assert set(AUTH_ENV) == set(AUTH_ARG_SPEC)
    for option, spec in AUTH_ARG_SPEC.items():
        _fallback, (names,) = spec["fallback"][0], spec["fallback"][1:]
        assert names[0] == f"K8S_AUTH_{option.upper()}"
        assert tuple(names) == AUTH_ENV[option]


@pytest.mark.parametrize(
    ("env", "params", "expected"),
    [
        ({"K8S_AUTH_VALIDATE_CERTS": "no"}, {}, {"validate_certs": False}),
        ({"K8S_AUTH_VERIFY_SSL": "false"}, {}, {"validate_certs": False}),
        ({"K8S_AUTH_VALIDATE_CERTS": "0", "K8S_AUTH_HOST": "https://k:6443"}, {"validate_certs": True}, {}),
        ({"K8S_AUTH_HOST": "https://env:6443"}, {"host": "https://param:6443"}, {"host": "https://param:6443"}),
        ({"K8S_AUTH_API_KEY": "tok"}, {"verify_ssl": False}, {"api_key": "tok", "validate_certs": False}),
        ({"K8S_AUTH_SSL_CA_CERT": "/etc/ca.pem"}, {}, {"ca_cert": "/etc/ca.pem"}),
    ],
)
def test_ansible_applies_the_env_fallbacks(monkeypatch, env, params, expected):
    for name in {n for names in AUTH_ENV.values() for n in names}:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = ArgumentSpecValidator(argspec(AUTH_ARG_SPEC)).validate(params)
    assert not result.error_messages, result.error_messages
    for option, value in expected.items():
        assert result.validated_parameters[option] == value
    if "api_key" in expected:
        assert expected["api_key"] in result._no_log_values


def test_lease_suboptions_are_required_only_when_lease_is_given():
    validator = ArgumentSpecValidator(argspec(LEASE_ARG_SPEC, RUN_ARG_SPEC))
    assert not validator.validate({}).error_messages
    result = validator.validate({"lease": {"name": "one-shot", "namespace": "one-shot"}})
    assert "holder" in " ".join(result.error_messages)
    ok = validator.validate({"lease": {"name": "a", "namespace": "b", "holder": "c"}, "wait_for": ["keys"]})
    assert not ok.error_messages
    assert ok.validated_parameters["wait_for"] == ["keys"]


# --- doc fragments ---------------------------------------------------------------------------------------------------

FRAGMENTS = [
    (auth_fragment, AUTH_ARG_SPEC),
    (lease_fragment, LEASE_ARG_SPEC),
    (run_fragment, RUN_ARG_SPEC),
    (wait_fragment, WAIT_ARG_SPEC),
    (helm_fragment, HELM_ARG_SPEC),
]


def _assert_option_documented(name, spec, doc):
    assert doc.get("type", "str") == spec.get("type", "str"), name
    assert doc.get("default") == spec.get("default"), name
    assert doc.get("aliases", []) == spec.get("aliases", []), name
    assert doc.get("choices") == spec.get("choices"), name
    assert doc.get("elements") == spec.get("elements"), name
    assert bool(doc.get("required", False)) == bool(spec.get("required", False)), name
    description = " ".join(doc["description"] if isinstance(doc["description"], list) else [doc["description"]])
    assert description.strip(), name
    for env_name in (spec.get("fallback") or (None, []))[1]:
        assert f"E({env_name})" in description, f"{name} does not document {env_name}"
    if "options" in spec:
        assert set(doc["suboptions"]) == set(spec["options"]), name
        for sub, sub_spec in spec["options"].items():
            _assert_option_documented(f"{name}.{sub}", sub_spec, doc["suboptions"][sub])


@pytest.mark.parametrize(("fragment", "spec"), FRAGMENTS, ids=lambda x: getattr(x, "__name__", "spec"))
def test_doc_fragment_matches_arg_spec(fragment, spec):
    documented = yaml.safe_load(fragment.ModuleDocFragment.DOCUMENTATION)["options"]
    assert set(documented) == set(spec)
    for name, option_spec in spec.items():
        _assert_option_documented(name, option_spec, documented[name])


def test_attributes_fragment_declares_action_group_membership():
    base = yaml.safe_load(attributes_fragment.ModuleDocFragment.DOCUMENTATION)
    assert set(base["attributes"]) == {"check_mode", "diff_mode"}
    group = yaml.safe_load(attributes_fragment.ModuleDocFragment.ACTION_GROUP)["attributes"]["action_group"]
    assert group["membership"] == ["hiero.solo.all"]
    assert group["support"] == "full"
    assert re.search(r"group/hiero\.solo\.all", group["description"])
    info = yaml.safe_load(attributes_fragment.ModuleDocFragment.INFO_MODULE)["attributes"]
    assert info["check_mode"]["support"] == "full"
