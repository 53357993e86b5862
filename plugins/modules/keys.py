#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.keys: the consensus nodes' gossip and TLS keys, made as solo makes them."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: keys
short_description: Make the consensus nodes' gossip and TLS keys (solo's keys consensus generate)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Ensures that the keys directory holds, for every node alias, the gossip signing key
    (C(s-private-<alias>.pem), C(s-public-<alias>.pem); RSA-3072) and the gRPC TLS key (C(hedera-<alias>.key),
    C(hedera-<alias>.crt); RSA-4096), self-signed with SHA-384 and the subjects, extensions and validity solo uses.
    The directory is mode 0700 and the files 0600.
  - Keys are never regenerated. Each pair is taken from the deployment's Secrets when the network already has it
    (C(network-<alias>-keys-secrets), C(network-node-hapi-app-secrets) in O(namespace)), else from the keys
    directory, and only generated when neither has it. A file that differs from the Secret's copy is moved to a
    C(unused-gossip-pem-<time>) or C(unused-tls-<time>) directory before the Secret's key is written.
  - Unlike solo, which regenerates every key on each run, a re-run changes nothing.
  - The module writes nothing to the cluster; it reads the Secrets (and, without O(node_aliases), the remote
    config) of O(namespace).
  - Results hold certificates, fingerprints and public keys only. Private keys never leave the keys directory.
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
      - Reports which files would be written; generates no key.
  diff_mode:
    support: full
    details:
      - Lists the files that are (or would be) created or replaced, never their contents.
options:
  state:
    description:
      - V(present) is the only state.
    type: str
    default: present
    choices: [present]
  node_aliases:
    description:
      - The node aliases, for example C(hiero_solo_config.node_aliases).
      - Default the consensus nodes of the remote config in O(namespace), as solo takes them.
    type: list
    elements: str
  namespace:
    description:
      - The deployment namespace, whose Secrets hold the keys a deployed network uses.
      - Without it the cluster is not read, and the keys directory is the only source.
    type: str
  cluster_ref:
    description:
      - The cluster reference whose context is used to read O(namespace), unless O(context) is set.
    type: str
  keys_dir:
    description:
      - The keys directory. Default C(<cache>/keys), the cache being E(SOLO_CACHE_DIR), else
        C(<solo_home>/cache). Pass C(hiero_solo_config.steps.keys.keys_dir).
    type: path
  solo_home:
    description:
      - solo's home directory. Default E(SOLO_HOME), else C(~/.solo).
    type: path
notes:
  - With O(lease), the files are written only while the Lease is held. Without it the module takes no Lease,
    because it writes nothing to the cluster.
  - O(wait_timeout) bounds the wait for the steps in O(wait_for) (default 600 seconds).
seealso:
  - module: hiero.solo.config
"""

EXAMPLES = r"""
- name: Make (or reuse) the keys of every node
  hiero.solo.keys:
    node_aliases: "{{ hiero_solo_config.node_aliases }}"
    namespace: "{{ hiero_solo_config.namespace }}"
    cluster_ref: "{{ hiero_solo_config.cluster_ref }}"
    keys_dir: "{{ hiero_solo_config.steps.keys.keys_dir }}"
    solo_home: "{{ hiero_solo_config.solo_home }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.keys.wait_for }}"

- name: Keys for two nodes in a directory of my own, without a cluster
  hiero.solo.keys:
    node_aliases: [node1, node2]
    keys_dir: /tmp/hiero-keys
"""

RETURN = r"""
keys_dir:
  description: The keys directory.
  returned: always
  type: str
  sample: /home/user/.solo/cache/keys
written:
  description: The files created or replaced (C(after)) and those they replaced (C(before)), by name.
  returned: always
  type: dict
  sample: {before: [], after: ["s-private-node1.pem (new)", "s-public-node1.pem (new)"]}
sources:
  description: Per alias, where each pair came from, V(secret), V(files) or V(generated).
  returned: always
  type: dict
  sample: {node1: {gossip: generated, tls: generated}}
backups:
  description: Directories that files replaced by a Secret's keys were moved to.
  returned: always
  type: list
  elements: str
nodes:
  description:
    - Per node, C(alias), C(sources), and C(gossip) and C(tls) certificate summaries with C(file), C(subject),
      C(serial_number), C(not_before), C(not_after), C(key_size), C(sha256_fingerprint) and C(public_key_pem).
    - In check mode, nodes whose keys would be generated are not listed.
  returned: always
  type: list
  elements: dict
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_keys:
      description: C(keys_dir), C(node_aliases), C(nodes) (as above) and C(files), every key file name.
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.keys import KEYS_ARG_SPEC, on_failure, run  # noqa: E402


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, KEYS_ARG_SPEC),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
