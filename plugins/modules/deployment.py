#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.deployment: the deployment's namespace, remote config, local config and run-state."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deployment
short_description: Create or delete a deployment in solo's local and remote config (solo's deployment config)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - O(state=present) does what C(solo deployment config create) and C(solo deployment cluster attach) do, plus
    one-shot's registration of components. It adds the deployment to solo's local config
    (C({name, namespace, clusters, realm, shard})), creates the namespace with the label
    C(app.kubernetes.io/created-by=solo) when it is missing, and creates the remote config (ConfigMap
    C(solo-remote-config), schema 8) with one consensus node per alias in phase C(requested).
  - It then registers, in phase C(requested), the block node, mirror node, explorer and relay that O(components)
    enables, with the ids solo gives them. A component that an earlier run registered but whose toggle is now off
    is unregistered when it is still C(requested); a deployed one is left alone, with a warning.
  - Every change to the remote config is a compare-and-swap write (read, change, replace with the
    C(resourceVersion) read, retry on conflict), so steps running in parallel never lose each other's changes.
  - With O(run_id), it registers every step of O(register_steps) in the run-state ConfigMap
    C(hiero-solo-run-state) as C(pending) or C(skipped), so that no step waits for one that will not run. The
    connect step (C(cluster_ref)), which ran before the namespace existed, is recorded as done.
  - The cluster reference must be connected (M(hiero.solo.cluster_ref)); its context is used unless O(context)
    is set.
  - O(state=absent) does what C(solo deployment config delete) does. It removes the deployment from the local
    config and prunes cluster references no other deployment uses. It also deletes the remote config and the
    run-state ConfigMaps when they are still there, so a destroy converges from an interrupted deploy. It warns
    about components still deployed. The namespace itself is deleted by the consensus network's destroy.
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
      - Reads the cluster and the local config and reports what would change; writes nothing, not even the
        run-state.
  diff_mode:
    support: full
    details:
      - Shows the namespace, the remote config YAML and the local config before and after.
options:
  state:
    description:
      - V(present) creates or completes the deployment; V(absent) removes it from solo's configs.
    type: str
    default: present
    choices: [present, absent]
  deployment:
    description:
      - Name of the deployment, an RFC 1123 label.
    type: str
    required: true
  namespace:
    description:
      - The deployment namespace. Default O(deployment), as solo.
      - With O(state=absent), the namespace recorded in the local config when not set.
    type: str
  cluster_ref:
    description:
      - The cluster reference to attach. Required with O(state=present).
      - With O(state=absent), it only selects the context; the default is the deployment's first cluster.
    type: str
  num_consensus_nodes:
    description:
      - Number of consensus nodes, C(node1) to C(nodeN), from 1 to 10.
      - Nodes can be added to an existing deployment; removing them is refused.
    type: int
    default: 1
  realm:
    description:
      - Realm of the deployment, recorded in the local config.
    type: int
    default: 0
  shard:
    description:
      - Shard of the deployment, recorded in the local config.
    type: int
    default: 0
  components:
    description:
      - Which components to register in the remote config. Keys C(block_node), C(mirror_node), C(explorer) and
        C(relay), values booleans. Pass C(hiero_solo_config.steps.deployment.components).
      - A key not given keeps its default, V(false) for C(block_node) and V(true) for the others.
      - An unknown key fails the task.
    type: dict
  register_steps:
    description:
      - With O(run_id), the run-state entries to create, step name to V(pending) or V(skipped). Pass
        C(hiero_solo_config.steps.deployment.register_steps).
    type: dict
  solo_home:
    description:
      - solo's home directory, which holds C(local-config.yaml). Default E(SOLO_HOME), else C(~/.solo).
    type: path
notes:
  - Without O(lease), the module takes the namespace's Lease while it writes to the cluster, and none when there
    is nothing to change in the cluster.
  - O(wait_timeout) bounds the wait for the steps in O(wait_for) (default 600 seconds).
  - With O(state=absent), O(run_id) is only used to wait for O(wait_for); the run-state itself is deleted.
seealso:
  - module: hiero.solo.config
  - module: hiero.solo.cluster_ref
"""

EXAMPLES = r"""
- name: Create the deployment and register its components and steps
  hiero.solo.deployment:
    deployment: "{{ hiero_solo_config.deployment }}"
    namespace: "{{ hiero_solo_config.namespace }}"
    cluster_ref: "{{ hiero_solo_config.cluster_ref }}"
    num_consensus_nodes: "{{ hiero_solo_config.num_consensus_nodes }}"
    components: "{{ hiero_solo_config.steps.deployment.components }}"
    register_steps: "{{ hiero_solo_config.steps.deployment.register_steps }}"
    solo_home: "{{ hiero_solo_config.solo_home }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"

- name: Remove the deployment from solo's configs
  hiero.solo.deployment:
    state: absent
    deployment: one-shot
"""

RETURN = r"""
deployment:
  description: The deployment name.
  returned: always
  type: str
  sample: one-shot
namespace:
  description: The deployment namespace.
  returned: always
  type: str
  sample: one-shot
changes:
  description:
    - What changed (or would change in check mode). Keys C(namespace), C(remote_config) and C(local_config) for
      O(state=present); C(remote_config), C(run_state) and C(local_config) for O(state=absent).
    - Run-state bookkeeping is not a change of the deployment and never makes the task changed.
  returned: always
  type: dict
  sample: {namespace: false, remote_config: true, local_config: true}
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_deployment:
      description:
        - C(deployment), C(namespace), C(cluster_ref), C(context); for O(state=present) also C(node_aliases),
          C(realm), C(shard), C(run_id), C(local_config) (path), C(remote_config) (C(namespace), C(name)) and
          C(components), the components the remote config records per kind, each with C(id) and C(phase).
      type: dict
      returned: success
      sample:
        deployment: one-shot
        namespace: one-shot
        cluster_ref: one-shot
        node_aliases: [node1]
        components:
          consensusNodes: [{id: 1, phase: requested}]
          mirrorNodes: [{id: 1, phase: requested}]
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.deployment import DEPLOYMENT_ARG_SPEC, run  # noqa: E402


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, DEPLOYMENT_ARG_SPEC),
        supports_check_mode=True,
    )
    module.execute(run)


if __name__ == "__main__":
    main()
