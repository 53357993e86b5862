#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.consensus_network: the solo-deployment release and its key Secrets."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: consensus_network
short_description: Deploy or destroy the consensus network (solo's consensus network deploy / destroy)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Does what C(solo consensus network deploy) and C(solo consensus network destroy) do, and converges instead of
    redoing.
  - O(state=present) writes the node key Secrets C(network-<alias>-keys-secrets) (the node's gossip private key and
    every node's gossip certificate, label C(solo.hedera.com/node-name)) and C(network-node-hapi-app-secrets)
    (every node's TLS key and certificate) from the keys directory that M(hiero.solo.keys) fills, falling back to
    the Secrets' current content.
  - It then installs or upgrades the Helm release C(solo-deployment) with the values solo sets (the node list
    C(hedera.nodes), MinIO, volume claims, static IPs, load balancers...), up to O(install_attempts) times,
    O(install_retry_delay) seconds apart, uninstalling in between, as solo does. A release already deployed with
    the same values and chart version is left alone.
  - It waits for the network-node, HAProxy and Envoy pods to be Running and the MinIO tenant pods to be Ready,
    then records the deployment in solo's remote config with compare-and-swap writes; consensus nodes go back to
    C(requested) when the release was (re)installed, one HAProxy and one Envoy component per node are added, and
    the consensus node and chart versions are recorded.
  - O(state=absent) uninstalls the release, force-deletes the namespace's pods, deletes the remote config and
    waits until it is gone, deletes the PersistentVolumeClaims (O(delete_pvcs)) and Secrets (O(delete_secrets)),
    and deletes the namespace when it carries solo's label C(app.kubernetes.io/created-by=solo). It converges
    when things are already gone.
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
      - Reads the cluster and reports in RV(actions) what would be done; writes nothing and does not wait.
  diff_mode:
    support: full
    details:
      - With O(state=present), shows the release values and the remote config before and after.
options:
  state:
    description:
      - V(present) deploys the network, V(absent) destroys it.
    type: str
    default: present
    choices: [present, absent]
  namespace:
    description:
      - The deployment namespace (C(hiero_solo_config.namespace)). It must hold the remote config made by
        M(hiero.solo.deployment).
    type: str
    required: true
  node_aliases:
    description:
      - The consensus nodes, for example C(hiero_solo_config.steps.consensus_network.node_aliases). Required with
        O(state=present).
    type: list
    elements: str
  release_tag:
    description:
      - The consensus node version recorded in the remote config and used to decide on TSS. Default the
        C(consensus_node_version) of O(params), else upstream's default.
    type: str
    aliases: [consensus_node_version]
  solo_chart_version:
    description:
      - Version of the C(solo-deployment) chart when O(chart_sources) does not name one.
    type: str
  keys_dir:
    description:
      - Where M(hiero.solo.keys) left the node keys. Default C(<solo_home>/cache/keys).
      - "Unlike solo, the directory is kept: other steps running in parallel read it."
    type: path
  minio:
    description:
      - Deploy the MinIO tenant and the stream uploaders (solo turns them off when a TSS block node streams
        blocks). Pass C(hiero_solo_config.steps.cluster_setup.minio).
    type: bool
    default: true
  params:
    description:
      - The step's values-file section, C(hiero_solo_config.steps.consensus_network.params). Applied keys are
        C(pvcs), C(load_balancer), C(haproxy_ips), C(envoy_ips), C(network_node_ips) (C(node1=<ip>,...)),
        C(values_file) (comma-separated Helm values files), C(tss), C(service_monitor), C(pod_log) and
        C(genesis_throttles_file); other keys are reported in a warning and ignored.
    type: dict
    default: {}
  realm:
    description:
      - The deployment's realm, used in the node account ids C(<shard>.<realm>.<3+nodeId>).
    type: int
    default: 0
  shard:
    description:
      - The deployment's shard, used in the node account ids.
    type: int
    default: 0
  install_attempts:
    description:
      - How many times to try the Helm install before failing (solo tries 3 times).
    type: int
    default: 3
  install_retry_delay:
    description:
      - Seconds between install attempts (solo waits 15).
    type: float
    default: 15
  delete_pvcs:
    description:
      - With O(state=absent), delete the namespace's PersistentVolumeClaims (solo's C(--delete-pvcs)).
    type: bool
    default: true
  delete_secrets:
    description:
      - With O(state=absent), delete the namespace's Secrets (solo's C(--delete-secrets)).
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
  - O(wait_timeout) bounds the wait for the pods (default 900 seconds with O(state=present), 120 seconds for each
    deletion with O(state=absent)) and the wait for the steps in O(wait_for).
  - Only the C(solo_deployment) entry of O(chart_sources) is used; the whole C(chart_sources) of the config fact
    may be passed.
  - With O(state=absent), the namespace, and with it the Lease and the run-state, is deleted last; the step is
    then not recorded as done in the run-state.
seealso:
  - module: hiero.solo.keys
  - module: hiero.solo.consensus_node
"""

EXAMPLES = r"""
- name: Deploy the consensus network
  hiero.solo.consensus_network:
    namespace: "{{ hiero_solo_config.namespace }}"
    node_aliases: "{{ hiero_solo_config.steps.consensus_network.node_aliases }}"
    release_tag: "{{ hiero_solo_config.steps.consensus_network.release_tag }}"
    solo_chart_version: "{{ hiero_solo_config.steps.consensus_network.solo_chart_version }}"
    keys_dir: "{{ hiero_solo_config.steps.consensus_network.keys_dir }}"
    minio: "{{ hiero_solo_config.steps.cluster_setup.minio }}"
    params: "{{ hiero_solo_config.steps.consensus_network.params }}"
    chart_sources: "{{ hiero_solo_config.chart_sources }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.consensus_network.wait_for }}"

- name: Destroy it, namespace included
  hiero.solo.consensus_network:
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
    - write Secret one-shot/network-node1-keys-secrets
    - install release one-shot/solo-deployment (oci://ghcr.io/hashgraph/solo-charts/solo-deployment version 0.66.0)
namespace:
  description: The deployment namespace.
  returned: always
  type: str
release:
  description: The C(solo-deployment) release (C(name), C(namespace), C(revision), C(status), C(chart),
    C(chart_version)), V(null) when there is none.
  returned: when O(state=present)
  type: dict
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_consensus_network:
      description:
        - C(namespace), C(state), and with O(state=present) C(node_aliases), C(release), C(chart_source),
          C(release_tag), C(minio), C(tss), C(secrets) (names only), C(pods) (pod names per node and proxy kind)
          and C(phases) (each consensus node's phase in the remote config).
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.consensus_network import (  # noqa: E402
    CONSENSUS_NETWORK_ARG_SPEC,
    on_failure,
    run,
)


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(
            AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, HELM_ARG_SPEC, CONSENSUS_NETWORK_ARG_SPEC
        ),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
