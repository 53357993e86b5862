#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.cluster_ref: connect a cluster to solo's local config, set it up, reset it."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cluster_ref
short_description: Connect, set up, reset and disconnect a cluster reference (solo's cluster-ref config)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Does what C(solo cluster-ref config connect | setup | reset | disconnect) does, and converges instead of
    redoing.
  - O(state=connected) checks that the context exists in the kubeconfig and that its API server answers, then
    records the context under C(clusterRefs.<cluster_ref>) in solo's local config (C($SOLO_HOME/local-config.yaml)). It
    writes nothing to the cluster. Without O(context), the kubeconfig's current context is recorded.
  - O(state=setup) creates the ClusterRole C(pod-monitor-role) (label C(solo.hedera.com/type=cluster-role)) and
    installs the MinIO operator (Helm release C(operator) in O(setup_namespace), C(operator.replicaCount=1)), as
    solo does. Each is skipped when it exists. A MinIO operator already running anywhere in the cluster (a pod
    labelled C(app.kubernetes.io/name=operator,operator=leader)) is used as it is, whatever its release name.
  - O(state=reset) uninstalls that MinIO operator release and deletes the ClusterRole. Unless O(force=true) it
    does nothing, with a warning, while a solo remote config exists in any namespace, because the cluster-wide
    pieces still serve that deployment (solo's rule; solo's one-shot destroy passes C(--force)).
  - O(state=disconnected) removes the local config entry.
  - The cluster ref's context (from the local config) is used for O(state=setup) and O(state=reset) unless
    O(context) is set.
  - Every input is checked before anything is written; the message names the option at fault.
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
      - Reads the cluster and the local config and reports what would change; writes nothing.
  diff_mode:
    support: full
    details:
      - Shows the local config entry (O(state=connected), O(state=disconnected)) or the cluster-wide pieces
        (O(state=setup), O(state=reset)) before and after.
options:
  state:
    description:
      - V(connected) records the cluster reference in the local config.
      - V(setup) installs the cluster-wide pieces solo needs.
      - V(reset) removes them.
      - V(disconnected) removes the local config entry.
    type: str
    default: connected
    choices: [connected, setup, reset, disconnected]
  cluster_ref:
    description:
      - Name of the cluster reference, an RFC 1123 label, for example C(hiero_solo_config.cluster_ref).
    type: str
    required: true
  namespace:
    description:
      - The deployment namespace. With O(run_id), the step's status is recorded in its run-state.
      - Without O(lease), O(state=setup) and O(state=reset) take the Lease of this namespace (else of
        O(setup_namespace)) while they write.
    type: str
  setup_namespace:
    description:
      - Namespace of the MinIO operator release (solo's C(--cluster-setup-namespace)).
    type: str
    default: solo-setup
  minio:
    description:
      - Install the MinIO operator with O(state=setup) (solo's C(--minio)). The config fact's
        C(steps.cluster_setup.minio) turns it off when the block node streams blocks without MinIO.
    type: bool
    default: true
  force:
    description:
      - With O(state=reset), reset even when other solo deployments (remote configs) remain in the cluster.
    type: bool
    default: false
  solo_home:
    description:
      - solo's home directory, which holds C(local-config.yaml). Default E(SOLO_HOME), else C(~/.solo).
      - Pass C(hiero_solo_config.solo_home).
    type: path
notes:
  - O(state=connected) and O(state=disconnected) change only the local config. With O(lease) they are fenced
    on it; without, they take no Lease (solo's local-only commands take none). They record nothing in the
    run-state (it does not exist yet when the cluster is connected); M(hiero.solo.deployment) records the connect
    step as done when it registers the run.
  - O(state=setup) and O(state=reset) take no Lease at all when there is nothing to change.
  - O(wait_timeout) bounds the wait for the steps in O(wait_for) (default 600 seconds). The MinIO operator is
    installed without waiting for its pods, as solo does.
  - Only the C(minio_operator) entry of O(chart_sources) is used; the whole C(chart_sources) of the config fact
    may be passed.
seealso:
  - module: hiero.solo.config
  - module: hiero.solo.deployment
"""

EXAMPLES = r"""
- name: Connect the cluster of the kubeconfig's current context
  hiero.solo.cluster_ref:
    cluster_ref: "{{ hiero_solo_config.cluster_ref }}"
    context: "{{ hiero_solo_config.context | default(omit, true) }}"
    solo_home: "{{ hiero_solo_config.solo_home }}"
    lease: "{{ hiero_solo_lease }}"

- name: Install the ClusterRole and the MinIO operator
  hiero.solo.cluster_ref:
    state: setup
    cluster_ref: "{{ hiero_solo_config.cluster_ref }}"
    namespace: "{{ hiero_solo_config.namespace }}"
    setup_namespace: "{{ hiero_solo_config.steps.cluster_setup.setup_namespace }}"
    minio: "{{ hiero_solo_config.steps.cluster_setup.minio }}"
    chart_sources: "{{ hiero_solo_config.chart_sources }}"
    solo_home: "{{ hiero_solo_config.solo_home }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.cluster_setup.wait_for }}"

- name: Remove the cluster-wide pieces on destroy, as solo's one-shot destroy does
  hiero.solo.cluster_ref:
    state: reset
    cluster_ref: one-shot
    force: true

- name: Forget the cluster reference
  hiero.solo.cluster_ref:
    state: disconnected
    cluster_ref: one-shot
"""

RETURN = r"""
cluster_ref:
  description: The cluster reference.
  returned: always
  type: str
  sample: one-shot
context:
  description: The kubeconfig context of the cluster reference (for O(state=disconnected), the one it had).
  returned: always
  type: str
  sample: kind-solo-cluster
server:
  description: URL of the API server that answered the connection test.
  returned: when O(state=connected)
  type: str
  sample: https://127.0.0.1:6443
local_config:
  description: Path of the local config file.
  returned: when O(state=connected) or O(state=disconnected)
  type: str
  sample: /home/user/.solo/local-config.yaml
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: when O(state=setup) or O(state=reset)
  type: list
  elements: str
  sample:
    - create ClusterRole pod-monitor-role
    - install release solo-setup/operator (operator from https://operator.min.io/ version 7.1.1)
cluster_role:
  description: The ClusterRole C(pod-monitor-role) after the task.
  returned: when O(state=setup) or O(state=reset)
  type: dict
  contains:
    name:
      description: Its name.
      type: str
    present:
      description: Whether it exists.
      type: bool
minio_operator:
  description:
    - The MinIO operator release after the task, V(null) when there is none (or O(minio=false)).
    - C(found_by) is V(pod) (a running operator), V(helm) (the release), or V(installed) (by this task).
  returned: when O(state=setup) or O(state=reset)
  type: dict
  sample: {release: operator, namespace: solo-setup, version: 7.1.1, found_by: installed}
shared_with:
  description: Remote configs that kept O(state=reset) from resetting the cluster.
  returned: when a reset was skipped for that reason
  type: list
  elements: str
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_cluster_ref:
      description: C(cluster_ref), C(state), C(context), and the fields above that the state returns.
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.cluster_ref import CLUSTER_REF_ARG_SPEC, on_failure, run  # noqa: E402


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(
            AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, HELM_ARG_SPEC, CLUSTER_REF_ARG_SPEC
        ),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
