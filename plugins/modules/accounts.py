#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.accounts: one-shot's predefined accounts, created through the consensus nodes."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: accounts
short_description: Create one-shot's predefined accounts through the consensus nodes (solo's Create Accounts)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Does what C(solo one-shot) does after the consensus nodes have started, with the Hiero Python SDK
    (C(hiero-sdk-python)).
  - Reaches every consensus node through a port-forward to its HAProxy pod's gRPC port 50211 (pods
    C(app=haproxy-<alias>,solo.hedera.com/type=haproxy)), opened by the module for the duration of the task, or
    through O(endpoint).
  - Pays with the operator account O(operator_id) and O(operator_key), by default C(0.0.2) and solo's development
    genesis key.
  - When topic C(<shard>.<realm>.1001) does not exist, creates a topic with memo C(Buffer topic to bump entity IDs)
    first, so that the accounts get the numbers they get with solo. A failure there is a warning, as in solo.
  - Creates the ten ECDSA (secp256k1) accounts of solo's C(predefinedEcdsaAccountsWithAlias), each with its key,
    the key's EVM address as alias, and an initial balance of 1,000,000 hbar.
  - For each account, a Secret C(account-key-<account id>) (label C(solo.hedera.com/account-id=<account id>))
    holds the private and public key in solo's format, and C(accounts.json) in O(output_dir) lists the operator
    and the accounts in the format of solo's one-shot (file mode 0600).
  - Converges. An account whose Secret exists (matched by its public key) is not created again; an account left on
    the ledger without its Secret by an interrupted run is found by its alias and gets its Secret. A second run
    changes nothing.
  - Private keys are never returned, never put in facts, and masked should they appear in any output.
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
      - Reads the account Secrets and C(accounts.json) and reports how many accounts would be created; does not
        contact the consensus nodes.
  diff_mode:
    support: full
    details:
      - Lists the account ids before and after (never the keys).
options:
  state:
    description:
      - V(present) is the only state.
    type: str
    default: present
    choices: [present]
  namespace:
    description:
      - The deployment namespace, which holds the consensus nodes and the account Secrets.
    type: str
    required: true
  deployment:
    description:
      - The deployment name, which names the default O(output_dir). Default O(namespace).
    type: str
  cluster_ref:
    description:
      - The cluster reference whose context is used, unless O(context) is set.
    type: str
  node_aliases:
    description:
      - The consensus nodes to send transactions to, for example C(hiero_solo_config.node_aliases).
      - Default the consensus nodes of the remote config in O(namespace).
      - Node C(node<N>) is node account C(<shard>.<realm>.<N+2>).
    type: list
    elements: str
  endpoint:
    description:
      - C(host:port) of a consensus node's plaintext gRPC port (or of a HAProxy in front of it) that this machine
        can reach, used instead of port-forwards. It is taken as the first node, node account
        C(<shard>.<realm>.3).
    type: str
  operator_id:
    description:
      - The account that pays for the transactions.
    type: str
    default: 0.0.2
  operator_key:
    description:
      - The private key of O(operator_id), in hex (DER or raw).
      - Default solo's development genesis key. Only that default is written into C(accounts.json), as solo does.
    type: str
  shard:
    description:
      - The deployment's shard (C(hiero_solo_deployment.shard)).
    type: int
    default: 0
  realm:
    description:
      - The deployment's realm (C(hiero_solo_deployment.realm)).
    type: int
    default: 0
  output_dir:
    description:
      - Where C(accounts.json) is written. Default C(<solo_home>/one-shot-<deployment>), for example
        C(hiero_solo_config.output_dir).
    type: path
  solo_home:
    description:
      - solo's home directory, for the default O(output_dir) and the cluster reference's context. Default
        E(SOLO_HOME), else C(~/.solo).
    type: path
requirements:
  - hiero-sdk-python >= 0.3.0
notes:
  - Without O(lease) the module takes the namespace's Lease while it creates accounts, and no Lease when there is
    nothing to create.
  - O(wait_timeout) bounds the wait for the steps in O(wait_for) and the SDK's request timeout (default 600
    seconds each).
  - Accounts are created one after another, so the ids follow the order of solo's key list.
  - C(publicAddress) in C(accounts.json) is written as solo writes it, C(<shard>.<realm>.<contractAccountId>).
seealso:
  - module: hiero.solo.consensus_node
  - module: hiero.solo.deployment_info
"""

EXAMPLES = r"""
- name: Create the predefined accounts once the nodes have started
  hiero.solo.accounts:
    namespace: "{{ hiero_solo_config.namespace }}"
    node_aliases: "{{ hiero_solo_config.node_aliases }}"
    output_dir: "{{ hiero_solo_config.output_dir }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.accounts.wait_for }}"

- name: Create them through a node reachable from here, without port-forwards
  hiero.solo.accounts:
    namespace: one-shot
    endpoint: 127.0.0.1:35211
"""

RETURN = r"""
accounts:
  description:
    - The predefined accounts, public parts only, in the order of solo's key list.
    - C(account_id) is V(null) for an account that check mode would create.
  returned: always
  type: list
  elements: dict
  sample:
    - account_id: 0.0.1002
      public_key: "0x02b3c641418e89452cd5202adfd4758f459acb8e364f741fd16cd2db79835d39d2"
      evm_address: "0x67d8d32e9bf1a9968a5ff53b87d777aa8ebbee69"
      public_address: 0.0.67d8d32e9bf1a9968a5ff53b87d777aa8ebbee69
      balance: 1000000 ℏ
      group: ecdsa-alias
      secret: account-key-0.0.1002
      created: true
created:
  description: Ids of the accounts this task created.
  returned: always
  type: list
  elements: str
to_create:
  description: How many accounts had no Secret when the task started (and were, or in check mode would be, created).
  returned: always
  type: int
buffer_topic:
  description:
    - What happened to the buffer topic C(1001) - V(not needed) (nothing to create), V(exists), V(created), or
      C(failed) with the reason (also reported as a warning).
  returned: always
  type: str
accounts_file:
  description: Path of C(accounts.json).
  returned: always
  type: str
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_accounts:
      description: C(namespace), C(accounts_file), C(operator) (C(account_id), C(public_key)) and C(accounts).
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.accounts import ACCOUNTS_ARG_SPEC, on_failure, run  # noqa: E402


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, ACCOUNTS_ARG_SPEC),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
