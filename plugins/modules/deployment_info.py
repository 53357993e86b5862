#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.deployment_info: what a deployment consists of (solo's one-shot show deployment)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: deployment_info
short_description: Show a deployment - components, phases, versions, endpoints, accounts (solo's one-shot show)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Returns, as data, what C(solo one-shot show deployment) and C(solo one-shot show accounts) print.
  - Looks the deployment up in solo's local config (namespace, clusters, realm, shard) and uses its cluster
    reference's context, reads the namespace and the remote config (versions, components with their phases and
    port-forwards, ledger phase, last command), the run-state of the latest run, the account Secrets (their
    labels only), the NodePort services solo's one-shot makes, and the output directory (C(notes), C(versions),
    C(forwards), C(accounts.json), and whether each forward's process runs).
  - Like solo, a missing local config entry, namespace or remote config is not an error; C(found) says what was
    found.
  - Read-only. Reports C(changed=false) always. Private keys are never read from Secrets, and those in
    C(accounts.json) are left out of the result.
extends_documentation_fragment:
  - hiero.solo.attributes
  - hiero.solo.attributes.ACTION_GROUP
  - hiero.solo.attributes.INFO_MODULE
  - hiero.solo.auth
  - hiero.solo.run
  - hiero.solo.wait
options:
  deployment:
    description:
      - The deployment name, as in solo's local config.
    type: str
    default: one-shot
  namespace:
    description:
      - The deployment namespace. Default the one the local config records for O(deployment).
    type: str
  cluster_ref:
    description:
      - The cluster reference whose context is used, unless O(context) is set. Default the deployment's first
        cluster in the local config.
    type: str
  output_dir:
    description:
      - The deployment's output directory. Default C(<solo_home>/one-shot-<deployment>).
    type: path
  solo_home:
    description:
      - solo's home directory. Default E(SOLO_HOME), else C(~/.solo).
    type: path
notes:
  - With O(run_id) and O(wait_for), waits for those steps first (up to O(wait_timeout), default 600 seconds);
    it records nothing in the run-state.
seealso:
  - module: hiero.solo.accounts
  - module: hiero.solo.port_forward
"""

EXAMPLES = r"""
- name: Show the one-shot deployment
  hiero.solo.deployment_info:
    deployment: one-shot
  register: info

- name: Print the relay's endpoint and the accounts
  ansible.builtin.debug:
    msg:
      - "{{ info.endpoints | selectattr('component', 'equalto', 'relayNodes') | list }}"
      - "{{ info.accounts.createdAccounts | map(attribute='accountId') | list }}"
"""

RETURN = r"""
deployment:
  description: The deployment name.
  returned: always
  type: str
namespace:
  description: The deployment namespace.
  returned: always
  type: str
cluster_ref:
  description: The cluster reference used, if any.
  returned: always
  type: str
context:
  description: The kubeconfig context used (V(null) for the kubeconfig's current one).
  returned: always
  type: str
clusters:
  description: The cluster references of the deployment in the local config.
  returned: always
  type: list
  elements: str
realm:
  description: The deployment's realm in the local config.
  returned: always
  type: int
shard:
  description: The deployment's shard in the local config.
  returned: always
  type: int
found:
  description: Whether the local config entry, the namespace and the remote config exist.
  returned: always
  type: dict
  sample: {local_config: true, namespace: true, remote_config: true}
versions:
  description: The remote config's C(versions) (chart, consensus node, mirror, explorer, relay, block node, cli).
  returned: always
  type: dict
ledger_phase:
  description: The remote config's ledger phase.
  returned: always
  type: str
phases:
  description: The lowest phase of each kind of component (consensus nodes, block nodes, mirror nodes, explorers,
    relays), as solo computes it.
  returned: always
  type: dict
  sample: {consensusNodes: started, mirrorNodes: deployed}
components:
  description:
    - Per remote config component kind, its components - C(id), C(phase), C(cluster), C(namespace),
      C(port_forwards); C(node_alias) for consensus nodes and proxies, C(consensus_node_ids) for relays.
  returned: always
  type: dict
endpoints:
  description: The port-forwards the remote config records, with the PID of the process serving each local port
    (V(null) when none of ours runs).
  returned: always
  type: list
  elements: dict
  sample:
    - {component: haProxies, id: 1, label: Consensus Node gRPC, local_port: 35211, pod_port: 50211,
       address: "127.0.0.1:35211", forwarder_pid: 41230}
forwards:
  description: The lines of the C(forwards) file.
  returned: always
  type: list
  elements: str
nodeport_services:
  description: The NodePort services of solo's one-shot (label C(app.kubernetes.io/managed-by=solo-one-shot)).
  returned: always
  type: list
  elements: dict
accounts:
  description: C(accounts.json) without private keys (C(systemAccounts), C(createdAccounts)); V(null) without it.
  returned: always
  type: dict
account_secrets:
  description: Account ids that have an C(account-key-<id>) Secret in the namespace.
  returned: always
  type: list
  elements: str
output_dir:
  description: The output directory.
  returned: always
  type: str
files:
  description: Which output files exist.
  returned: always
  type: dict
  sample: {notes: true, versions: true, forwards: true, accounts.json: true}
last_command:
  description: The remote config's last executed command.
  returned: always
  type: str
run_state:
  description:
    - The run-state of the latest run (C(run_id), C(steps) with their status); V(null) without one.
    - C(timeline) is a text Gantt of that run's steps, one row per step with its bar, duration and status, so
      steps that overlapped show as overlapping bars.
  returned: always
  type: dict
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_deployment_info:
      description: Everything above.
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.deployment_info import (  # noqa: E402
    DEPLOYMENT_INFO_ARG_SPEC,
    run,
)


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(AUTH_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, DEPLOYMENT_INFO_ARG_SPEC),
        supports_check_mode=True,
    )
    module.execute(run)


if __name__ == "__main__":
    main()
