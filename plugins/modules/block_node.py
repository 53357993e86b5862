#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.block_node: the block node release (solo's block node add / destroy)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: block_node
short_description: Add or destroy the block node (solo's block node add / destroy)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Does what C(solo block node add) and C(solo block node destroy) do, and converges instead of redoing.
  - O(state=present) installs the Helm release C(block-node-<id>) of the C(block-node-server) chart with a plain
    install, as solo does (a deployed release is left as it is; one left failed by an earlier run is removed and
    installed again). The id is O(component_id), else the block node registered in the remote config by
    M(hiero.solo.deployment), else the next free id.
  - The values are solo's (C(block-node-values.yaml), C(nameOverride), backfill sources for other block nodes,
    ingress for C(domain_name)) plus, with O(rsa_bootstrap), an init container seeding the block node's roster
    with the consensus nodes' gossip RSA keys from O(keys_dir).
  - It waits for the pods (C(app.kubernetes.io/instance=block-node-<id>)) to be Running, then Ready, then for the
    health check C(curl -s http://localhost:40983/healthz/readyz) (port 40840 before block node 0.39) in the
    C(block-node-server) container to answer C(OK).
  - The remote config then records the block node as C(deployed), its chart version, and the block node in every
    consensus node's C(blockNodeMap) (priority 1, or as C(priority_mapping) in O(params) says).
  - O(state=absent) uninstalls the release, deletes its PersistentVolumeClaims, removes the block node from the
    consensus nodes' maps and removes its component. It converges when things are already gone.
extends_documentation_fragment:
  - hiero.solo.attributes
  - hiero.solo.attributes.ACTION_GROUP
  - hiero.solo.auth
  - hiero.solo.lease
  - hiero.solo.run
  - hiero.solo.wait
  - hiero.solo.helm
attributes:
  check_mode:
    support: full
    details:
      - Reads the cluster and reports in RV(actions) what would be done; writes nothing and does not wait.
  diff_mode:
    support: full
    details:
      - With O(state=present), shows the remote config before and after.
options:
  state:
    description:
      - V(present) adds the block node, V(absent) destroys it.
    type: str
    default: present
    choices: [present, absent]
  namespace:
    description:
      - The deployment namespace.
    type: str
    required: true
  version:
    description:
      - The block node (chart) version, C(hiero_solo_config.steps.block_node.version). Default the
        C(block_node_version) of O(params), else upstream's default.
    type: str
    aliases: [block_node_version]
  consensus_node_version:
    description:
      - The consensus node version the block node works with,
        C(hiero_solo_config.steps.block_node.consensus_node_version). Informational; the RSA bootstrap is decided
        by O(rsa_bootstrap).
    type: str
  component_id:
    description:
      - The block node's component id; the release is C(block-node-<id>).
    type: int
  rsa_bootstrap:
    description:
      - Seed the block node with the consensus nodes' RSA gossip keys, for TSS-era consensus nodes streaming
        blocks. Pass C(hiero_solo_config.steps.block_node.rsa_bootstrap).
    type: bool
    default: false
  keys_dir:
    description:
      - Where M(hiero.solo.keys) left the gossip certificates. Default C(<solo_home>/cache/keys).
    type: path
  params:
    description:
      - The step's values-file section, C(hiero_solo_config.steps.block_node.params). Applied keys are
        C(values_file), C(priority_mapping) (C(node1=2,node2)), C(domain_name) and the message size limits
        C(block_node_message_size_soft_limit_bytes) and C(block_node_message_size_hard_limit_bytes); other keys
        are reported in a warning and ignored.
    type: dict
    default: {}
  health_timeout:
    description:
      - Seconds to wait for the health check to answer C(OK) once the pod is Ready.
    type: int
    default: 300
  delete_pvcs:
    description:
      - With O(state=absent), delete the release's PersistentVolumeClaims.
    type: bool
    default: true
  cluster_ref:
    description:
      - A cluster reference whose context (from solo's local config) to use when O(context) is not set.
    type: str
  solo_home:
    description:
      - solo's home directory (local config, cache). Default E(SOLO_HOME), else C(~/.solo).
    type: path
notes:
  - O(wait_timeout) bounds the wait for the pods (default 900 seconds, as solo) and the wait for the steps in
    O(wait_for).
  - Only the C(block_node) entry of O(chart_sources) is used; the whole C(chart_sources) of the config fact may be
    passed.
seealso:
  - module: hiero.solo.consensus_network
"""

EXAMPLES = r"""
- name: Add the block node
  hiero.solo.block_node:
    namespace: "{{ hiero_solo_config.namespace }}"
    version: "{{ hiero_solo_config.steps.block_node.version }}"
    rsa_bootstrap: "{{ hiero_solo_config.steps.block_node.rsa_bootstrap }}"
    keys_dir: "{{ hiero_solo_config.steps.block_node.keys_dir }}"
    params: "{{ hiero_solo_config.steps.block_node.params }}"
    chart_sources: "{{ hiero_solo_config.chart_sources }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.block_node.wait_for }}"
  when: hiero_solo_config.steps.block_node.enabled

- name: Destroy it
  hiero.solo.block_node:
    state: absent
    namespace: one-shot
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample:
    - install release one-shot/block-node-1 (oci://ghcr.io/hiero-ledger/hiero-block-node/block-node-server ...)
    - update remote config one-shot/solo-remote-config
namespace:
  description: The deployment namespace.
  returned: always
  type: str
release:
  description: The block node release name.
  returned: when the namespace exists
  type: str
  sample: block-node-1
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_block_node:
      description: C(namespace), C(state), C(component_id), C(release), and with O(state=present) C(version),
        C(chart_source), C(pod) (the pod that passed the health check) and C(priority_mapping).
      type: dict
      returned: success
"""

# Ansible modules keep their imports after the documentation blocks.
from ansible_collections.hiero.solo.plugins.module_utils._args import (  # noqa: E402
    AUTH_ARG_SPEC,
    HELM_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._module import HieroModule  # noqa: E402
from ansible_collections.hiero.solo.plugins.module_utils._steps.block_node import (  # noqa: E402
    BLOCK_NODE_ARG_SPEC,
    on_failure,
    run,
)


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(
            AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, HELM_ARG_SPEC, BLOCK_NODE_ARG_SPEC
        ),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
