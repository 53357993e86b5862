#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.platform_build: fetch and verify the consensus node platform build."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: platform_build
short_description: Fetch and verify the consensus node platform build (the download half of solo's node setup)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Makes a verified copy of C(build-<tag>.zip) and its C(build-<tag>.sha384) available on the controller, for
    M(hiero.solo.consensus_node) O(hiero.solo.consensus_node#module:state=configured) to upload. It needs nothing
    from the cluster, so a play can start it with C(async) as the run begins.
  - By default it downloads from upstream's builds URL
    C(https://builds.hedera.com/node/software/<vMAJ.MIN>/build-<tag>.zip) into solo's cache
    C(<solo_home>/cache/<vMAJ.MIN>/staging/<tag>/build). O(build_url) may name any http(s) URL, a C(file://) URL
    or a local path instead; C({release_tag}) and C({release_prefix}) in it are filled in.
  - A remote build is downloaded under a file lock (parallel runs download once), hashed as it arrives and moved
    into the cache only when its SHA-384 matches the checksum file, so the cache never holds a partial or corrupt
    file. A cached build that verifies is reused (C(changed=false)). A local build is verified where it is.
  - A corrupt build fails naming the file and both checksums.
extends_documentation_fragment:
  - hiero.solo.attributes
  - hiero.solo.attributes.ACTION_GROUP
  - hiero.solo.auth
  - hiero.solo.run
  - hiero.solo.wait
attributes:
  check_mode:
    support: full
    details:
      - Reports whether the build would be downloaded; fetches and writes nothing.
  diff_mode:
    support: none
options:
  state:
    description:
      - V(present) makes the verified build available.
    type: str
    default: present
    choices: [present]
  release_tag:
    description:
      - The consensus node version, for example V(v0.75.1).
    type: str
    required: true
    aliases: [consensus_node_version]
  build_url:
    description:
      - Where the build zip is, C(hiero_solo_config.steps.platform_download.build_url). An http(s) URL, a
        C(file://) URL or a local path, ending in C(.zip). Default upstream's builds URL.
    type: str
  checksum_url:
    description:
      - Where its SHA-384 file is. Default O(build_url) with C(.zip) replaced by C(.sha384).
    type: str
  download_dir:
    description:
      - Cache directory for downloaded builds, C(hiero_solo_config.steps.platform_download.download_dir).
    type: path
  timeout:
    description:
      - Seconds without progress after which a download fails.
    type: int
    default: 600
  namespace:
    description:
      - The deployment namespace, needed only with O(run_id) (the run-state lives there).
    type: str
  solo_home:
    description:
      - solo's home directory, for the default O(download_dir). Default E(SOLO_HOME), else C(~/.solo).
    type: path
notes:
  - The run-state name of this step is C(platform_download).
  - The auth options are used only with O(run_id), to record the step in the run-state.
seealso:
  - module: hiero.solo.consensus_node
"""

EXAMPLES = r"""
- name: Fetch the platform build in the background as the run begins
  hiero.solo.platform_build:
    release_tag: "{{ hiero_solo_config.steps.platform_download.release_tag }}"
    build_url: "{{ hiero_solo_config.steps.platform_download.build_url }}"
    checksum_url: "{{ hiero_solo_config.steps.platform_download.checksum_url }}"
    download_dir: "{{ hiero_solo_config.steps.platform_download.download_dir }}"
    namespace: "{{ hiero_solo_config.namespace }}"
    run_id: "{{ hiero_solo_config.run_id }}"
  async: 1800
  poll: 0
  register: platform_job

- name: Use a build on local disk
  hiero.solo.platform_build:
    release_tag: v0.75.1
    build_url: /srv/builds/build-v0.75.1.zip
"""

RETURN = r"""
build_path:
  description: The verified build zip on the controller.
  returned: success
  type: str
  sample: /home/user/.solo/cache/v0.75/staging/v0.75.1/build/build-v0.75.1.zip
checksum_path:
  description: Its SHA-384 file.
  returned: success
  type: str
sha384:
  description: The build's SHA-384 (empty in check mode when it would be downloaded).
  returned: success
  type: str
downloaded:
  description: Whether this task downloaded the build (false when a verified copy was cached or local).
  returned: success
  type: bool
source:
  description: V(url) (downloaded into the cache) or V(path) (a local file verified in place).
  returned: success
  type: str
release_tag:
  description: The consensus node version.
  returned: success
  type: str
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_platform_build:
      description: C(release_tag), C(build_url) and the fields above.
      type: dict
      returned: success
"""

# Ansible modules keep their imports after the documentation blocks.
from ansible_collections.hiero.solo.plugins.module_utils._args import (  # noqa: E402
    AUTH_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._module import HieroModule  # noqa: E402
from ansible_collections.hiero.solo.plugins.module_utils._steps.platform_build import (  # noqa: E402
    PLATFORM_BUILD_ARG_SPEC,
    on_failure,
    run,
)


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(AUTH_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, PLATFORM_BUILD_ARG_SPEC),
        supports_check_mode=True,
        requires_kubernetes=False,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
