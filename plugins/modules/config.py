#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.config: validate one-shot's inputs and return them as one fact, one block per step."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: config
short_description: Validate the inputs of a one-shot deployment and plan every step (the fact store)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Runs first, on the controller, and never talks to a cluster. It checks every input of a one-shot deployment
    (names, versions, node count, toggles, the falcon values file, chart sources, the platform build location)
    and fails before anything is written, with a message that starts with the field at fault.
  - It resolves each component version as solo does. The first of these wins; the module option, a
    C(solo.config.yaml) or C(solo.config.json) file, the values-file section, the environment variable solo
    reads (for example E(MIRROR_NODE_VERSION)), and solo's default. Unlike solo, an explicit module option
    also wins over the values file.
  - It translates the falcon values file, whose sections map solo CLI options such as C(--release-tag) to
    values, into module option names such as C(release_tag) for the step each section feeds. Empty and null
    values are skipped, as solo skips them. An unknown section or key fails the task and the message lists
    what is allowed.
  - It returns the fact RV(ansible_facts.hiero_solo_config). Later tasks take every parameter from it. Each step
    has its own block with C(enabled), C(wait_for) and C(params), so steps running in parallel share no state.
  - The fact holds no secrets. Values-file keys that carry secrets, for example C(--operator-key), are refused.
extends_documentation_fragment:
  - hiero.solo.attributes
attributes:
  check_mode:
    support: full
    details:
      - The module only computes; it behaves the same in check mode.
  diff_mode:
    support: none
options:
  deployment:
    description:
      - Name of the deployment, an RFC 1123 label. It names the output directory and the entry in solo's local
        config.
    type: str
    default: one-shot
  namespace:
    description:
      - Namespace of the deployment, an RFC 1123 label of at most 63 characters.
      - Defaults to O(deployment), as solo does.
    type: str
  cluster_ref:
    description:
      - Name under which solo's local config records the cluster (an RFC 1123 label).
    type: str
    default: one-shot
  kube_context:
    description:
      - The kubeconfig context the cluster reference points at, returned as C(context) for the later steps.
      - Not set means the current context of the kubeconfig; the C(cluster_ref) step resolves it.
      - Named C(kube_context) rather than C(context) because this module takes no connection options.
    type: str
  num_consensus_nodes:
    description:
      - Number of consensus nodes, from 1 to 10. The nodes are called C(node1) to C(nodeN).
      - solo sets no upper limit. Ten covers any one-shot development network, whose nodes need several GiB of
        memory each, and catches typos such as 100.
    type: int
    default: 1
  consensus_node_version:
    description:
      - Consensus node release tag, with or without the leading C(v) (returned with it, for example C(v0.75.1)).
      - Default is solo's (C(v0.75.1)), or E(CONSENSUS_NODE_VERSION).
    type: str
    aliases: [release_tag]
  solo_chart_version:
    description:
      - Version of solo's charts (C(solo-deployment), C(solo-shared-resources), C(solo-cert-manager)), returned
        without C(v). Default C(0.66.0), or E(SOLO_CHART_VERSION).
    type: str
  mirror_node_version:
    description:
      - Mirror node version, returned with a leading C(v) as solo uses it. Default C(v0.160.0), or
        E(MIRROR_NODE_VERSION).
    type: str
  explorer_version:
    description:
      - Explorer version, returned without C(v). Default C(26.2.0), or E(EXPLORER_VERSION).
    type: str
  relay_version:
    description:
      - JSON-RPC relay version (also its chart version), returned without C(v). Default C(0.78.1), or
        E(RELAY_VERSION).
    type: str
    aliases: [relay_release]
  block_node_version:
    description:
      - Block node version (also its chart version), returned without C(v). Default C(0.39.0), or
        E(BLOCK_NODE_VERSION).
    type: str
  minio_operator_version:
    description:
      - Chart version of the MinIO operator installed by the cluster setup step. Default C(7.1.1), or
        E(MINIO_OPERATOR_VERSION).
    type: str
  ingress_controller_version:
    description:
      - Chart version of the HAProxy ingress controllers of the mirror node and the explorer. Default C(0.14.5),
        or E(INGRESS_CONTROLLER_VERSION).
    type: str
  solo_config_file:
    description:
      - A C(solo.config.yaml) or C(solo.config.json) file with component versions (keys C(consensusNodeVersion),
        C(mirrorNodeVersion), C(relayVersion), C(explorerVersion), C(blockNodeVersion), or their kebab-case forms).
      - Not set means the file is searched for as solo does, in the working directory and then each parent.
    type: path
  deploy_mirror_node:
    description:
      - Deploy the mirror node. Default V(true).
      - When V(false), the C(mirror_node) and C(pinger) steps are skipped; steps waiting on them still proceed.
    type: bool
  deploy_explorer:
    description:
      - Deploy the explorer. Default V(true).
    type: bool
  deploy_relay:
    description:
      - Deploy the JSON-RPC relay. Default V(true).
    type: bool
  deploy_block_node:
    description:
      - Deploy the block node. Default is V(true) when E(ONE_SHOT_WITH_BLOCK_NODE) is C(true), as in solo,
        else V(false).
      - With the block node, the consensus network gets TSS, the block node its TSS overlay and the mirror node
        forced block node integration, as solo does.
    type: bool
  pinger:
    description:
      - Enable the mirror node pinger once the consensus nodes have started.
      - Default is the C(--pinger) key of the values file's C(mirrorNode) section when set, else V(true) with a
        values file (solo's falcon deploy) and V(false) without one (solo's single deploy).
    type: bool
  toggles:
    description:
      - The toggles as one mapping, for example from a survey. Keys are C(deploy_mirror_node), C(deploy_explorer),
        C(deploy_relay), C(deploy_block_node) and C(pinger); values are booleans or the strings C(true) and
        C(false).
      - An unknown key fails the task. A toggle given both here and as its own option must agree.
    type: dict
  values_file:
    description:
      - A falcon values file, as used by C(solo one-shot falcon deploy).
      - Its sections are C(network), C(setup), C(consensusNode), C(mirrorNode), C(relayNode), C(blockNode) and
        C(explorerNode). Each maps solo CLI options of the matching solo command to values.
      - C(${...}) placeholders are not expanded (solo does not expand them either).
    type: path
  chart_sources:
    description:
      - Where to take charts from, per component, for example a mirror or local copies for an air-gapped
        environment. Components not listed use upstream's chart.
      - Components are C(solo_deployment), C(solo_shared_resources), C(solo_cert_manager), C(mirror_node),
        C(ingress_controller), C(explorer), C(relay), C(block_node) and C(minio_operator).
      - "Each value is V({repo: <http(s) URL>, chart: <name>, version: <version>}),
        V({oci: oci://<registry>/<path>/<chart>, version: <version>}), V({path: /abs/dir or /abs/chart.tgz})
        or just V({version: <version>}). Without a version the resolved component version is used."
      - A local chart path must exist.
    type: dict
  platform_build_url:
    description:
      - Where the consensus node platform build comes from. Its C(.sha384) checksum sits next to it.
      - An http(s) URL, a C(file://) URL or a local path. It must end in C(.zip) and may contain the
        placeholders C({release_tag}) (for example C(v0.75.1)) and C({release_prefix}) (C(v0.75)).
      - A local build and its checksum must exist.
    type: str
    default: "https://builds.hedera.com/node/software/{release_prefix}/build-{release_tag}.zip"
  solo_home:
    description:
      - solo's home directory. Default E(SOLO_HOME), else C(~/.solo).
      - The cache is E(SOLO_CACHE_DIR), else C(<solo_home>/cache).
    type: path
  output_dir:
    description:
      - Directory for the run's outputs (notes, versions, forwards, accounts.json, timeline).
      - Default C(<solo_home>/one-shot-<deployment>), as solo.
    type: path
  run_id:
    description:
      - Identifies this run in the run-state and the Lease holder. Pass AWX's C(awx_job_id) when there is one.
      - Default a new UUID.
      - 1 to 63 letters, digits, C(-), C(_) or C(.), starting and ending with a letter or digit.
    type: str
  parallel:
    description:
      - Run independent steps in parallel. V(false) runs them in RV(ansible_facts.hiero_solo_config.steps_order),
        like solo's C(--no-parallel-deploy).
    type: bool
    default: true
notes:
  - solo's C(--edge) (latest GitHub releases looked up at run time) and C(--minimal-setup) (which solo ignores)
    have no equivalent here.
seealso:
  - name: solo one-shot
    description: The upstream command this collection re-implements.
    link: https://github.com/hiero-ledger/solo
"""

EXAMPLES = r"""
- name: Plan a one-node deployment with solo's defaults
  hiero.solo.config:
  register: plan

- name: Plan a falcon deployment of three nodes from a values file, without explorer
  hiero.solo.config:
    deployment: falcon
    num_consensus_nodes: 3
    values_file: "{{ playbook_dir }}/falcon-values.yaml"
    deploy_explorer: false
    run_id: "{{ awx_job_id | default(omit) }}"

- name: Use charts and a platform build from an internal mirror
  hiero.solo.config:
    consensus_node_version: v0.75.1
    platform_build_url: "https://artifacts.example.com/hedera/{release_prefix}/build-{release_tag}.zip"
    chart_sources:
      mirror_node:
        repo: https://charts.example.com/mirror
        chart: hedera-mirror
      solo_deployment:
        oci: oci://registry.example.com/solo-charts/solo-deployment

- name: Deploy the mirror node only when the plan enables it
  ansible.builtin.debug:
    msg: "mirror waits for {{ ansible_facts.hiero_solo_config.steps.mirror_node.wait_for }}"
  when: ansible_facts.hiero_solo_config.steps.mirror_node.enabled
"""

RETURN = r"""
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_config:
      description:
        - Every input of the deployment, validated and resolved, and one parameter block per step.
      returned: success
      type: dict
      contains:
        deployment:
          description: Deployment name.
          type: str
          returned: success
          sample: one-shot
        namespace:
          description: Deployment namespace.
          type: str
          returned: success
          sample: one-shot
        cluster_ref:
          description: Cluster reference name.
          type: str
          returned: success
          sample: one-shot
        context:
          description: Kubeconfig context of the cluster, V(null) for the kubeconfig's current context.
          type: str
          returned: success
        num_consensus_nodes:
          description: Number of consensus nodes.
          type: int
          returned: success
          sample: 1
        node_aliases:
          description: The consensus node aliases.
          type: list
          elements: str
          returned: success
          sample: [node1]
        run_id:
          description: Identifier of this run.
          type: str
          returned: success
          sample: 9f1c2e4a-0b7d-4c5e-9a57-3f2d1e0c8b6a
        parallel:
          description: Whether independent steps run in parallel.
          type: bool
          returned: success
        solo_home:
          description: solo's home directory.
          type: str
          returned: success
          sample: /home/user/.solo
        cache_dir:
          description: solo's cache directory.
          type: str
          returned: success
          sample: /home/user/.solo/cache
        output_dir:
          description: Directory of the run's outputs.
          type: str
          returned: success
          sample: /home/user/.solo/one-shot-one-shot
        values_file:
          description: Absolute path of the values file used, or V(null).
          type: str
          returned: success
        solo_config_file:
          description: The C(solo.config.yaml) or C(solo.config.json) that was read, or V(null).
          type: str
          returned: success
        versions:
          description:
            - Resolved version per component, as upstream writes it (release tags with C(v), chart versions
              without).
            - Keys C(consensus_node), C(solo_chart), C(mirror_node), C(explorer), C(relay), C(block_node),
              C(minio_operator), C(ingress_controller).
          type: dict
          returned: success
          sample:
            consensus_node: v0.75.1
            solo_chart: 0.66.0
            mirror_node: v0.160.0
            explorer: 26.2.0
            relay: 0.78.1
            block_node: 0.39.0
            minio_operator: 7.1.1
            ingress_controller: 0.14.5
        version_sources:
          description:
            - Where each version came from, one of C(option), C(solo_config_file), C(values_file),
              C(environment) and C(default).
          type: dict
          returned: success
          sample: {consensus_node: values_file, mirror_node: default}
        toggles:
          description: The resolved toggles.
          type: dict
          returned: success
          sample:
            deploy_mirror_node: true
            deploy_explorer: true
            deploy_relay: true
            deploy_block_node: false
            pinger: false
        chart_sources:
          description:
            - Every component's chart in the O(chart_sources) format, with versions filled in. Pass it as the
              C(chart_sources) option of the step modules.
          type: dict
          returned: success
          sample:
            mirror_node: {chart: hedera-mirror, repo: "https://hiero-ledger.github.io/hiero-mirror-node/charts",
                          version: 0.160.0}
            solo_deployment: {oci: "oci://ghcr.io/hashgraph/solo-charts/solo-deployment", version: 0.66.0}
        steps:
          description:
            - One block per step. The steps are C(cluster_ref) (connect), C(deployment), C(keys),
              C(cluster_setup), C(block_node), C(consensus_network), C(platform_download),
              C(consensus_node_configured), C(consensus_node_started), C(mirror_node), C(explorer), C(relay),
              C(accounts) and C(pinger). These names are the run-state step names.
            - Every block has C(enabled) (false when a toggle turns the step off; the step is then registered as
              skipped), C(wait_for) (its direct prerequisites; disabled ones stay listed because a skipped step
              releases its waiters) and C(params) (the values-file section of the step in module option names,
              after the values solo computes itself).
            - Blocks also carry what the step needs, for example C(namespace), C(node_aliases), C(version),
              C(release_tag), C(keys_dir) and C(releases). C(releases) maps each Helm release the step manages
              to C(release_name), C(namespace) and C(chart_source).
            - The C(deployment) block lists C(components) to register in solo's remote config and
              C(register_steps), the initial run-state status of every step (C(pending) or C(skipped)).
            - The C(platform_download) block has C(build_url), C(checksum_url), C(source) (C(url) or C(path)),
              C(release_tag), C(staging_dir) and C(download_dir). C(consensus_node_configured) has the
              C(build_path) and C(checksum_path) it uploads.
          type: dict
          returned: success
          sample:
            explorer:
              enabled: true
              wait_for: [mirror_node]
              namespace: one-shot
              version: 26.2.0
              solo_chart_version: 0.66.0
              releases:
                explorer:
                  release_name: hiero-explorer-1
                  namespace: one-shot
                  chart_source:
                    oci: oci://ghcr.io/hiero-ledger/hiero-mirror-node-explorer/hiero-explorer-chart
                    version: 26.2.0
              params: {mirror_node_id: 1, mirror_namespace: one-shot, enable_ingress: true}
        steps_order:
          description: Every step in an order that respects RV(ansible_facts.hiero_solo_config.dag), for
            sequential runs (solo's order with C(--no-parallel-deploy)).
          type: list
          elements: str
          returned: success
        dag:
          description:
            - The ordering edges, each a pair C([producer, consumer]). The same as the C(wait_for) lists.
          type: list
          elements: list
          returned: success
          sample: [[cluster_ref, deployment], [mirror_node, explorer]]
"""

# Imports follow the documentation strings, as Ansible's module layout has it.
from ansible_collections.hiero.solo.plugins.module_utils._args import argspec  # noqa: E402
from ansible_collections.hiero.solo.plugins.module_utils._config import CONFIG_ARG_SPEC, build_config  # noqa: E402
from ansible_collections.hiero.solo.plugins.module_utils._module import HieroModule  # noqa: E402


def run(module: HieroModule) -> dict:
    # AnsibleModule also keeps aliases (release_tag, relay_release) as keys of params; pass canonical names only.
    params = {name: module.params.get(name) for name in CONFIG_ARG_SPEC}
    fact = build_config(params, warn=module.warn)
    return {"changed": False, "ansible_facts": {"hiero_solo_config": fact}}


def main() -> None:
    module = HieroModule(argument_spec=argspec(CONFIG_ARG_SPEC), supports_check_mode=True, requires_kubernetes=False)
    module.execute(run)


if __name__ == "__main__":
    main()
