#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.consensus_node: install the platform in the node pods, start the nodes."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: consensus_node
short_description: Set up and start the consensus nodes (solo's consensus node setup / start)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Does what C(solo consensus node setup) and C(solo consensus node start) do, and converges instead of redoing.
  - O(state=configured) first verifies the platform build O(build_path) against its SHA-384 file
    O(checksum_path) on the controller; a corrupt build fails naming the file and both checksums before any pod
    is touched. The build is fetched beforehand by M(hiero.solo.platform_build), so this step only uploads.
  - For each node it uploads C(build-<tag>.zip), C(build-<tag>.sha384) and the collection's own
    C(extract-platform.sh) to C(/home/hedera) in the pod's C(root-container) (a tar stream over exec, as
    C(kubectl cp) does), runs the script (it checks the checksum again with C(sha384sum -c) and unpacks the
    platform into C(/opt/hgcapp/services-hedera/HapiApp2.0)), writes C(genesis-network.json) into
    C(data/config) and C(data/config/.archive), and sets C(hedera:hedera) and mode 0750 on the HAPI
    directories. Each node's ED25519 admin key is kept in the Secret C(account-key-<account id>), made once.
    The nodes are then C(configured) in solo's remote config.
  - A node recorded as configured whose pod already holds this build and this genesis file (checked with
    C(sha384sum) in the pod) is left alone.
  - O(state=started) waits for each node pod to be Ready, runs C(/command/network-node-lifecycle)
    C(stop-and-disable-autostart) then C(start-and-enable-autostart), and waits until the node reports ACTIVE
    (C(platform_PlatformStatus 2) from C(curl -s http://localhost:9999/metrics) in the pod), then for the
    HAProxy and Envoy pods. It fails after O(wait_timeout) naming the pod and the last status seen, and at once on
    C(CATASTROPHIC_FAILURE). The nodes are then C(started) and the ledger C(initialized) in the remote config.
    A node already ACTIVE on the recorded version is left alone.
extends_documentation_fragment:
  - hiero.solo.attributes
  - hiero.solo.attributes.ACTION_GROUP
  - hiero.solo.auth
  - hiero.solo.lease
  - hiero.solo.run
  - hiero.solo.wait
attributes:
  check_mode:
    support: full
    details:
      - Verifies the build, reads the pods and the remote config, and reports in RV(actions) what would be done;
        changes nothing.
  diff_mode:
    support: none
options:
  state:
    description:
      - V(configured) installs the platform and the genesis network file; V(started) starts the nodes.
    type: str
    default: configured
    choices: [configured, started]
  namespace:
    description:
      - The deployment namespace.
    type: str
    required: true
  node_aliases:
    description:
      - The consensus nodes, for example C(hiero_solo_config.steps.consensus_node_configured.node_aliases).
    type: list
    elements: str
    required: true
  release_tag:
    description:
      - The consensus node version. Required with O(state=configured) (or as C(consensus_node_version) in
        O(params)). With O(state=started), a node runs this version when the remote config records it.
    type: str
    aliases: [consensus_node_version]
  build_path:
    description:
      - The platform build zip on the controller, from RV(hiero.solo.platform_build#module:build_path) or
        C(hiero_solo_config.steps.consensus_node_configured.build_path). Required with O(state=configured).
    type: path
  checksum_path:
    description:
      - Its C(.sha384) file. Default O(build_path) with C(.zip) replaced by C(.sha384).
    type: path
  params:
    description:
      - The step's values-file section (C(hiero_solo_config.steps.consensus_node_configured.params) or
        C(.consensus_node_started.params)). Applied keys with O(state=configured) are C(domain_names)
        (C(node1=<fqdn>,...)) for the service endpoints, C(gossip_endpoint_port) and C(service_endpoint_port)
        (one port, or C(node1=<port>,...)); other keys are reported in a warning and ignored.
    type: dict
    default: {}
  realm:
    description:
      - The deployment's realm, used in the node account ids.
    type: int
    default: 0
  shard:
    description:
      - The deployment's shard, used in the node account ids.
    type: int
    default: 0
  ready_timeout:
    description:
      - Seconds to wait for each node pod to be Running (O(state=configured)) or Ready (O(state=started)).
    type: int
    default: 120
  cluster_ref:
    description:
      - A cluster reference whose context (from solo's local config) to use when O(context) is not set.
    type: str
  solo_home:
    description:
      - solo's home directory (local config). Default E(SOLO_HOME), else C(~/.solo).
    type: path
notes:
  - O(wait_timeout) bounds the wait for ACTIVE, per node (default 300 seconds, as solo), and the wait for the steps
    in O(wait_for).
  - The pods must run the images of the C(solo-deployment) chart, whose C(root-container) has C(tar),
    C(sha384sum), C(unzip), C(curl) and C(/command/network-node-lifecycle).
seealso:
  - module: hiero.solo.platform_build
  - module: hiero.solo.consensus_network
"""

EXAMPLES = r"""
- name: Install the platform in every node
  hiero.solo.consensus_node:
    state: configured
    namespace: "{{ hiero_solo_config.namespace }}"
    node_aliases: "{{ hiero_solo_config.steps.consensus_node_configured.node_aliases }}"
    release_tag: "{{ hiero_solo_config.steps.consensus_node_configured.release_tag }}"
    build_path: "{{ hiero_solo_config.steps.consensus_node_configured.build_path }}"
    checksum_path: "{{ hiero_solo_config.steps.consensus_node_configured.checksum_path }}"
    params: "{{ hiero_solo_config.steps.consensus_node_configured.params }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.consensus_node_configured.wait_for }}"

- name: Start the nodes and wait for ACTIVE
  hiero.solo.consensus_node:
    state: started
    namespace: one-shot
    node_aliases: [node1, node2, node3]
    wait_timeout: 300
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample:
    - install platform v0.75.1 and genesis-network.json in pod one-shot/network-node1-0
    - update remote config one-shot/solo-remote-config
namespace:
  description: The deployment namespace.
  returned: always
  type: str
release_tag:
  description: The consensus node version installed.
  returned: when O(state=configured)
  type: str
build:
  description: The verified build, C(path), C(checksum_path) and C(sha384).
  returned: when O(state=configured)
  type: dict
configured_nodes:
  description: The nodes this task installed the platform in (the others were already configured).
  returned: when O(state=configured)
  type: list
  elements: str
statuses:
  description: Per node, the last platform status seen, for example C(ACTIVE (2)).
  returned: when O(state=started)
  type: dict
ledger_phase:
  description: The ledger phase in the remote config after the task.
  returned: when O(state=started)
  type: str
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_consensus_node:
      description: C(namespace), C(state), C(node_aliases), C(phases) (each node's phase in the remote config), and
        the fields above that the state returns.
      type: dict
      returned: success
"""

# Ansible modules keep their imports after the documentation blocks.
from ansible_collections.hiero.solo.plugins.module_utils._args import (  # noqa: E402
    AUTH_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._module import HieroModule  # noqa: E402
from ansible_collections.hiero.solo.plugins.module_utils._steps.consensus_node import (  # noqa: E402
    CONSENSUS_NODE_ARG_SPEC,
    on_failure,
    run,
)


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, CONSENSUS_NODE_ARG_SPEC),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
