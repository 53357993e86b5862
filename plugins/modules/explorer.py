#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.explorer: the mirror node explorer, as solo's explorer node add/destroy."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: explorer
short_description: Deploy or remove the mirror node explorer (solo's explorer node add and destroy)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - O(state=present) does what C(solo explorer node add) does in a one-shot deployment, converging instead of
    redoing. Release C(hiero-explorer-<id>) gets solo's values, its C(/api) proxied to the mirror node's REST
    service; the component C(explorers) gets phase C(deployed) and C(versions.explorerChart) is recorded.
  - With O(enable_ingress), the explorer ingress controller C(explorer-haproxy-ingress-<id>-<namespace>) (shortened
    with a hash to 53 characters), an IngressClass of the same name and the C(backend-protocol h1) annotation on
    the explorer's Ingress.
  - Then the explorer pods and the ingress controller pods are awaited Ready.
  - O(state=absent) uninstalls both releases in the deployment's cluster (solo uninstalls the ingress release in
    the default kube context, whatever cluster that is), waits for their pods to be gone, deletes the IngressClass
    (also when the namespace is already gone), the ingress controller's leader-election object and the component.
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
      - Lists the changes made (or planned).
options:
  state:
    description:
      - V(present) deploys the explorer, V(absent) removes it.
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
      - solo's home directory (local config). Default E(SOLO_HOME), else C(~/.solo).
    type: path
  version:
    description:
      - The explorer version (the chart version unless O(chart_sources) says otherwise), for example
        C(hiero_solo_config.versions.explorer).
    type: str
    default: 26.2.0
  mirror_namespace:
    description:
      - Namespace of the mirror node the explorer shows (solo's C(--mirror-namespace)). Default O(namespace).
    type: str
  mirror_node_id:
    description:
      - Component id of that mirror node (solo's C(--mirror-node-id)). Default the mirror node registered in the
        remote config of O(mirror_namespace), else 1.
    type: int
  enable_ingress:
    description:
      - Install the explorer ingress controller and route the explorer through it (solo's C(--enable-ingress)).
    type: bool
    default: true
  values_files:
    description:
      - Extra values files for C(hiero-explorer-<id>) (solo's C(--values-file)); the values solo computes still win.
    type: list
    elements: path
    default: []
notes:
  - O(wait_timeout) replaces solo's wait budget for the pods (600 s) and bounds the wait for O(wait_for) (default
    600 s).
  - Only the C(explorer) and C(ingress_controller) entries of O(chart_sources) are used; the whole C(chart_sources)
    of the config fact may be passed.
  - TLS through cert-manager, load balancers, static IPs and domain names are not supported.
  - Port-forwards are M(hiero.solo.port_forward)'s job.
seealso:
  - module: hiero.solo.mirror_node
"""

EXAMPLES = r"""
- name: Deploy the explorer once the mirror node is up
  hiero.solo.explorer:
    namespace: "{{ hiero_solo_config.namespace }}"
    cluster_ref: "{{ hiero_solo_config.cluster_ref }}"
    solo_home: "{{ hiero_solo_config.solo_home }}"
    version: "{{ hiero_solo_config.steps.explorer.version }}"
    mirror_node_id: "{{ hiero_solo_config.steps.explorer.params.mirror_node_id }}"
    mirror_namespace: "{{ hiero_solo_config.steps.explorer.params.mirror_namespace }}"
    chart_sources: "{{ hiero_solo_config.chart_sources }}"
    lease: "{{ hiero_solo_lease }}"
    run_id: "{{ hiero_solo_config.run_id }}"
    wait_for: "{{ hiero_solo_config.steps.explorer.wait_for }}"

- name: Remove the explorer
  hiero.solo.explorer:
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
    - "install release one-shot/hiero-explorer-1 (oci://ghcr.io/hiero-ledger/hiero-mirror-node-explorer/hiero-explorer-chart
      version 26.2.0): not installed"
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_explorer:
      description:
        - C(state), C(namespace), C(cluster_ref), C(component_id), C(version), C(releases) (explorer,
          ingress_controller), C(ingress_class), C(mirror_node) (namespace, release) and C(endpoints) (http).
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.explorer import EXPLORER_ARG_SPEC, on_failure, run  # noqa: E402


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(
            AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, HELM_ARG_SPEC, EXPLORER_ARG_SPEC
        ),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
