#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.relay: the JSON-RPC relay, as solo's relay node add/destroy."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: relay
short_description: Deploy or remove the JSON-RPC relay (solo's relay node add and destroy)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - O(state=present) does what C(solo relay node add) does in a one-shot deployment, converging instead of
    redoing. Release C(relay-<id>) gets solo's values, the mirror node's URLs, the chain id, the operator account
    and C(HEDERA_NETWORK), the map of each consensus node's HAProxy address and gRPC port to the node's account;
    the same for the websocket server.
  - The relay talks to every consensus node of the deployment (or O(node_aliases)); solo's one-shot points it at
    node1 only. The component C(relayNodes) gets phase C(deployed) and C(consensusNodeIds) of those nodes, and
    C(versions.jsonRpcRelayChart) is recorded.
  - Then the relay pods are awaited Running, then Ready.
  - O(state=absent) uninstalls the release, waits for its pods to be gone and removes the component.
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
      - Reads the cluster and reports in RV(actions) what would be done; writes nothing, not even the run-state.
  diff_mode:
    support: partial
    details:
      - Lists the changes made (or planned); values are not shown because they hold the operator key.
options:
  state:
    description:
      - V(present) deploys the relay, V(absent) removes it.
    type: str
    default: present
    choices: [present, absent]
  namespace:
    description:
      - The deployment namespace, for example C(hiero_solo_config.namespace). It must hold the remote config and the
        consensus nodes' HAProxy Services for O(state=present).
    type: str
    required: true
  cluster_ref:
    description:
      - The cluster reference; its context in solo's local config is used unless O(context) is set.
      - Default the cluster of the registered component, else the first cluster of the remote config.
    type: str
  solo_home:
    description:
      - solo's home directory (local config). Default E(SOLO_HOME), else C(~/.solo).
    type: path
  version:
    description:
      - The relay version (image tags and chart version), for example C(hiero_solo_config.versions.relay).
    type: str
    default: 0.78.1
  node_aliases:
    description:
      - The consensus nodes the relay sends transactions to. Default every consensus node of the remote config.
    type: list
    elements: str
  mirror_namespace:
    description:
      - Namespace of the mirror node the relay reads from (solo's C(--mirror-namespace)). Default O(namespace).
    type: str
  mirror_node_id:
    description:
      - Component id of that mirror node (solo's C(--mirror-node-id)). Default the mirror node registered in the
        remote config of O(mirror_namespace), else 1.
    type: int
  chain_id:
    description:
      - The EVM chain id (solo's C(--chain-id)). Default E(SOLO_CHAIN_ID), else C(298).
    type: str
  operator_id:
    description:
      - The account the relay pays from. Default C(<shard>.<realm>.2).
    type: str
  operator_key:
    description:
      - The private key of O(operator_id). Default the key in the Secret labelled
        C(solo.hedera.com/account-id=<operator_id>), else solo's built-in genesis key.
    type: str
  replica_count:
    description:
      - Replicas of the relay and websocket servers (solo's C(--replica-count)). Default the chart's.
    type: int
  realm:
    description:
      - The deployment's realm (the nodes' and operator's account ids).
    type: int
    default: 0
  shard:
    description:
      - The deployment's shard.
    type: int
    default: 0
  values_files:
    description:
      - Extra values files for C(relay-<id>) (solo's C(--values-file)); the values solo computes still win.
    type: list
    elements: path
    default: []
notes:
  - O(wait_timeout) replaces solo's wait budgets for the pods (900 s Running, 900 s Ready) and bounds the wait for
    O(wait_for) (default 600 s).
  - Only the C(relay) entry of O(chart_sources) is used; the whole C(chart_sources) of the config fact may be passed.
  - Port-forwards are M(hiero.solo.port_forward)'s job.
seealso:
  - module: hiero.solo.mirror_node
"""

EXAMPLES = r"""
- name: Deploy the relay once the mirror node is up and the consensus nodes run
  hiero.solo.relay:
    namespace: "{{ hiero_solo_config.namespace }}"
    cluster_ref: "{{ hiero_solo_config.cluster_ref }}"
    solo_home: "{{ hiero_solo_config.solo_home }}"
    version: "{{ hiero_solo_config.steps.relay.version }}"
    node_aliases: "{{ hiero_solo_config.node_aliases }}"
    chart_sources: "{{ hiero_solo_config.chart_sources }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.relay.wait_for }}"

- name: Remove the relay
  hiero.solo.relay:
    state: absent
    namespace: one-shot
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order; empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample:
    - "install release one-shot/relay-1 (hedera-json-rpc from https://hiero-ledger.github.io/hiero-json-rpc-relay/charts
      version 0.78.1): not installed"
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_relay:
      description:
        - C(state), C(namespace), C(cluster_ref), C(component_id), C(version), C(release), C(node_aliases),
          C(network) (the C(HEDERA_NETWORK) map), C(chain_id), C(operator_id), C(mirror_node) (namespace, release)
          and C(endpoints) (json_rpc).
        - With O(state=absent), C(state), C(namespace) and C(component_ids).
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.relay import RELAY_ARG_SPEC, on_failure, run  # noqa: E402


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(
            AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, HELM_ARG_SPEC, RELAY_ARG_SPEC
        ),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
