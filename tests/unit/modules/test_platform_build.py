"""The platform_build step: URL templates, the default cache location, and a local build verified in place."""

from __future__ import annotations

import hashlib
from types import SimpleNamespace

import pytest

from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps import platform_build as step

SPEC = argspec(AUTH_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, step.PLATFORM_BUILD_ARG_SPEC)


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = {name: spec.get("default") for name, spec in SPEC.items()}
        self.params.update(params)
        self.check_mode = check_mode
        self.ansible_module = SimpleNamespace(no_log_values=set())

    def clients(self):
        raise AssertionError("no run_id: the cluster must not be contacted")


def test_the_url_template_takes_the_release_prefix_and_tag():
    url = step.render("https://builds.hedera.com/node/software/{release_prefix}/build-{release_tag}.zip", "v0.75.1")
    assert url == "https://builds.hedera.com/node/software/v0.75/build-v0.75.1.zip"


def test_a_local_build_is_verified_and_reported_unchanged(tmp_path):
    data = b"PK\x03\x04 build"
    (tmp_path / "build-v0.75.1.zip").write_bytes(data)
    (tmp_path / "build-v0.75.1.sha384").write_text(f"{hashlib.sha384(data).hexdigest()}  build-v0.75.1.zip\n")
    result = step.run(FakeModule(release_tag="0.75.1", build_url=str(tmp_path / "build-{release_tag}.zip")))
    assert result["changed"] is False
    assert result["build_path"] == str(tmp_path / "build-v0.75.1.zip")
    assert result["ansible_facts"]["hiero_solo_platform_build"]["sha384"] == hashlib.sha384(data).hexdigest()


def test_check_mode_plans_the_download_into_solos_cache(tmp_path):
    result = step.run(FakeModule(check_mode=True, release_tag="v0.75.1", solo_home=str(tmp_path)))
    assert result["changed"] is True and result["downloaded"] is True
    assert result["build_path"] == str(
        tmp_path / "cache" / "v0.75" / "staging" / "v0.75.1" / "build" / "build-v0.75.1.zip"
    )
    assert not (tmp_path / "cache").exists()


def test_run_id_needs_the_namespace():
    with pytest.raises(InputError, match="namespace"):
        step.run(FakeModule(release_tag="v0.75.1", run_id="r1"))
