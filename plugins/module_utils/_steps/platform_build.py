# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``platform_build`` step (run-state name ``platform_download``): the first half of solo's ``consensus node
setup``, the client-side download of the platform build, as a step of its own.

It needs nothing from the cluster, so a play starts it at once (``async``) and ``consensus_node state=configured``
only uploads what it left in the cache (solo-spec §3.8: ``build-<tag>.zip`` and ``.sha384`` from
``https://builds.hedera.com/node/software/<vMAJ.MIN>/``, cached under ``~/.solo/cache/<vMAJ.MIN>/staging/<tag>/build``).
With ``run_id`` and ``namespace`` it reports in the run-state like every step.
"""

from __future__ import annotations

import os
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils._config import (
    DEFAULT_PLATFORM_BUILD_URL,
    parse_version,
    release_prefix,
)
from ansible_collections.hiero.solo.plugins.module_utils._download import fetch_platform_build
from ansible_collections.hiero.solo.plugins.module_utils._errors import InputError
from ansible_collections.hiero.solo.plugins.module_utils._local_config import solo_cache_dir
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    check_label,
    check_run_options,
    record_failure,
    run_step,
)

STEP = "platform_download"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(STEP)


PLATFORM_BUILD_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present"]},
    "release_tag": {"type": "str", "required": True, "aliases": ["consensus_node_version"]},
    "build_url": {"type": "str"},
    "checksum_url": {"type": "str"},
    "download_dir": {"type": "path"},
    "timeout": {"type": "int", "default": 600},
    "namespace": {"type": "str"},
    "solo_home": {"type": "path"},
}


def render(template: str, tag: str) -> str:
    """``{release_tag}`` and ``{release_prefix}`` filled in (the config module's build URL placeholders)."""
    return template.replace("{release_tag}", tag).replace("{release_prefix}", release_prefix(tag))


def run(module: Any) -> dict[str, Any]:
    params = module.params
    tag = parse_version("release_tag", params["release_tag"]).text(prefixed=True)
    namespace = check_label("namespace", params["namespace"]) if params.get("namespace") else None
    check_run_options(params)
    if params.get("run_id") and not namespace:
        raise InputError("namespace", "required with run_id: the run-state lives in the deployment namespace")
    if params["timeout"] < 1:
        raise InputError("timeout", f"expected seconds >= 1, got {params['timeout']}")
    build_url = render(params.get("build_url") or DEFAULT_PLATFORM_BUILD_URL, tag)
    checksum_url = render(params["checksum_url"], tag) if params.get("checksum_url") else None
    download_dir = params.get("download_dir")
    if not download_dir:
        env = dict(os.environ, SOLO_HOME=params["solo_home"]) if params.get("solo_home") else None
        download_dir = os.path.join(solo_cache_dir(env), release_prefix(tag), "staging", tag, "build")
    with run_step(module, namespace, STEP):
        build = fetch_platform_build(
            build_url, checksum_url, download_dir, timeout_s=params["timeout"], check_mode=module.check_mode
        )
    fact = {"release_tag": tag, "build_url": build_url, **build.to_dict()}
    return {
        "changed": build.downloaded,
        "release_tag": tag,
        **build.to_dict(),
        "ansible_facts": {"hiero_solo_platform_build": fact},
    }
