#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.mirror_node: the mirror node of a deployment, as solo's mirror node add/destroy."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: mirror_node
short_description: Deploy or remove the mirror node (solo's mirror node add and destroy, with the pinger)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - O(state=present) does what C(solo mirror node add) does in a one-shot deployment, converging instead of
    redoing. The parts below, in this order, each only when it differs from what is wanted.
  - Release C(solo-shared-resources) (postgres and redis) is installed once and its pods awaited Ready; components
    C(postgres) and C(redis) (phase C(deployed)) are added to the remote config.
  - When Secret C(mirror-passwords) is missing, C(mirror-<id>) is first installed with every application disabled,
    so that the chart creates it (solo's priming install).
  - The mirror node database is initialized in the postgres pod (container C(postgresql)) with the mirror node's
    C(init.sh) (O(db_init_script)) and solo's wrapper, once; a read-only check of the database comment
    C(solo-initialized) makes re-runs skip it.
  - The importer's initial address book lists every consensus node (or O(node_aliases)) with its account, its
    gRPC endpoint and the public key of its gossip certificate, read from O(keys_dir) (made by M(hiero.solo.keys)),
    else from the public parts of the C(network-<alias>-keys-secrets) Secrets. A node without a certificate fails
    the task before anything is written (solo only warns and leaves the key out).
  - With O(enable_ingress), the mirror ingress controller C(haproxy-ingress-<id>) (ingress class
    C(mirror-ingress-class)), the IngressClass, a self-signed TLS Secret C(ca-secret-mirror-node) and the Ingress
    settings solo patches in.
  - C(mirror-<id>) with solo's values (image tags, shared postgres and redis, realm and shard, hikari limits,
    address book), then the importer and every mirror pod are awaited Ready. The component C(mirrorNodes) gets
    phase C(deployed) and C(versions.mirrorNodeChart) is recorded.
  - With O(pinger=true) the pinger is configured with the operator account but left disabled, and enabled once the
    steps in O(pinger_wait_for) are done (the consensus nodes started), by a values change of C(mirror-<id>); this
    is recorded as the run-state step C(pinger). Without O(run_id) it is enabled right away.
  - O(state=absent) uninstalls C(mirror-<id>), C(solo-shared-resources) and C(haproxy-ingress-<id>) and waits for
    their pods to be gone, deletes their PersistentVolumeClaims, the IngressClass C(mirror-ingress-class), the
    ingress controller's leader-election ConfigMap or Lease C(ingress-controller-leader-mirror-ingress-class), the
    Secrets the releases leave behind, and the C(mirrorNodes), C(postgres) and C(redis) components. The
    IngressClass is removed even when the namespace is already gone.
  - The component id (and so the release names) is the one registered by M(hiero.solo.deployment), else the next
    free one, as solo numbers components.
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
      - Reads the cluster (including the read-only database check) and reports in RV(actions) what would be done;
        writes nothing, not even the run-state.
  diff_mode:
    support: partial
    details:
      - Lists the changes made (or planned); values are not shown because they hold passwords and keys.
options:
  state:
    description:
      - V(present) deploys the mirror node, V(absent) removes it.
    type: str
    default: present
    choices: [present, absent]
  namespace:
    description:
      - The deployment namespace, for example C(hiero_solo_config.namespace). It must hold the remote config for
        O(state=present).
    type: str
    required: true
  cluster_ref:
    description:
      - The cluster reference; its context in solo's local config is used unless O(context) is set.
      - Default the cluster of the registered component, else the first cluster of the remote config.
    type: str
  solo_home:
    description:
      - solo's home directory (local config, cache). Default E(SOLO_HOME), else C(~/.solo).
    type: path
  version:
    description:
      - The mirror node version (image tags and, unless O(chart_sources) says otherwise, the chart version), for
        example C(hiero_solo_config.versions.mirror_node). v0.152.0 or later.
    type: str
    default: v0.160.0
  node_aliases:
    description:
      - The consensus nodes of the importer's address book. Default every consensus node of the remote config.
    type: list
    elements: str
  keys_dir:
    description:
      - Where the gossip certificates (C(s-public-<alias>.pem)) are, for example
        C(hiero_solo_config.steps.keys.keys_dir). Default solo's C(<cache>/keys).
    type: path
  realm:
    description:
      - The deployment's realm (C(<module>.config.hiero.mirror.common.realm) and the account ids).
    type: int
    default: 0
  shard:
    description:
      - The deployment's shard.
    type: int
    default: 0
  enable_ingress:
    description:
      - Install the mirror ingress controller and route the mirror's Ingresses through it (solo's
        C(--enable-ingress), always on in one-shot).
    type: bool
    default: true
  domain_name:
    description:
      - Host name of the mirror node's ingress and TLS certificate (solo's C(--domain-name)). Default C(localhost).
    type: str
  pinger:
    description:
      - Run the mirror node pinger, which sends a small transfer now and then so the network keeps producing
        records (solo's C(--pinger)).
    type: bool
    default: false
  pinger_wait_for:
    description:
      - Steps of O(run_id) that must be done before the pinger is enabled, for example
        C(hiero_solo_config.steps.pinger.wait_for).
    type: list
    elements: str
    default: [consensus_node_started]
  operator_id:
    description:
      - The account the pinger pays from. Default C(<shard>.<realm>.2).
    type: str
  operator_key:
    description:
      - The private key of O(operator_id). Default the key in the Secret labelled
        C(solo.hedera.com/account-id=<operator_id>), else solo's built-in genesis key.
    type: str
  force_block_node_integration:
    description:
      - Have the importer read from the deployment's block nodes even when TSS is off or the consensus node is
        older than v0.74.0 (solo's C(--force-block-node-integration)). Without block nodes in the remote config
        it has no effect.
    type: bool
    default: false
  db_init_script:
    description:
      - The mirror node's database init script, as a URL or a local path. Default the C(init.sh) of the mirror node
        release O(version) on GitHub, cached in C(<cache>/mirror-node/<version>/init-postgres.sh) as solo does.
    type: str
  values_files:
    description:
      - Extra values files for C(mirror-<id>) (solo's C(--values-file)); the values solo computes still win.
    type: list
    elements: path
    default: []
notes:
  - O(wait_timeout) replaces each of solo's wait budgets (postgres 900 s, importer 1800 s, mirror pods 600 s, pinger
    1800 s) and bounds the wait for O(wait_for) and O(pinger_wait_for) (default 600 s).
  - Only the C(mirror_node), C(solo_shared_resources) and C(ingress_controller) entries of O(chart_sources) are used;
    the whole C(chart_sources) of the config fact may be passed.
  - C(solo-shared-resources) is never upgraded once installed (it holds the database), as in solo.
  - A run with nothing to change takes no Lease; with O(lease) every write and long wait is fenced on it.
  - Port-forwards are M(hiero.solo.port_forward)'s job.
seealso:
  - module: hiero.solo.config
  - module: hiero.solo.keys
  - module: hiero.solo.explorer
  - module: hiero.solo.relay
"""

EXAMPLES = r"""
- name: Deploy the mirror node; the pinger starts once the consensus nodes run
  hiero.solo.mirror_node:
    namespace: "{{ hiero_solo_config.namespace }}"
    cluster_ref: "{{ hiero_solo_config.cluster_ref }}"
    solo_home: "{{ hiero_solo_config.solo_home }}"
    version: "{{ hiero_solo_config.steps.mirror_node.version }}"
    keys_dir: "{{ hiero_solo_config.steps.keys.keys_dir }}"
    pinger: "{{ hiero_solo_config.toggles.pinger }}"
    pinger_wait_for: "{{ hiero_solo_config.steps.pinger.wait_for }}"
    chart_sources: "{{ hiero_solo_config.chart_sources }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.mirror_node.wait_for }}"
  async: 3600
  poll: 0
  register: mirror_job

- name: Remove the mirror node
  hiero.solo.mirror_node:
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
    - "install release one-shot/solo-shared-resources (oci://ghcr.io/hashgraph/solo-charts/solo-shared-resources
      version 0.66.0): not installed"
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_mirror_node:
      description:
        - C(state), C(namespace), C(cluster_ref), C(component_id), C(version), C(releases) (mirror_node,
          solo_shared_resources, ingress_controller), C(node_aliases), C(address_book) (C(sha256) of the protobuf
          and per node C(alias), C(node_id), C(account_id), C(endpoint), C(rsa_pub_key_sha256)),
          C(values_sha256), C(pinger), C(ingress_class), C(endpoints) (rest, web3, grpc, ingress) and
          C(pods_ready) (the components found Ready).
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.mirror_node import MIRROR_NODE_ARG_SPEC, on_failure, run  # noqa: E402


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(
            AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, HELM_ARG_SPEC, MIRROR_NODE_ARG_SPEC
        ),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
