#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.port_forward: persistent port-forwards to a deployment's pods, as solo leaves them."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: port_forward
short_description: Persistent port-forwards to the consensus, mirror, explorer and relay pods (as solo leaves them)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Opens the local ports through which solo makes a deployment reachable on a cluster it did not create, that is
    consensus node gRPC on 35211 (+ node id), the mirror ingress controller on 38081, the explorer on 38080 and the
    JSON-RPC relay on 37546.
  - Each forward is a process of its own that outlives the playbook. It runs detached, forwards every connection
    over the Kubernetes API's port-forward to a pod chosen by label selector, and when the pod goes away or the
    forward drops, chooses the pod again and carries on (solo wraps C(kubectl port-forward) in a restarting script
    for the same reason).
  - Each forward is recorded as solo records it, in the C(forwards) file of O(output_dir) (C(<label> port forward
    enabled on <address>:<port>)) and in the remote config, as C({localPort, podPort}) in the
    C(portForwardConfigs) of its component.
  - Its process keeps C(<port>.json), C(<port>.pid) and C(<port>.log) in C(<output_dir>/port-forwards/).
    Connection credentials reach the process on its standard input only; none is written to disk.
  - O(state=present) starts what does not run, restarts a forward whose target changed, and changes nothing when
    every forward runs as asked.
  - O(state=absent) stops the forwards (no process is left) and removes their records. Without O(forwards), every
    forward recorded in O(output_dir) is stopped. It also works after the namespace is gone.
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
      - Reports which forwards would be started, restarted or stopped and which records would change.
  diff_mode:
    support: full
    details:
      - Shows the C(forwards) file before and after.
options:
  state:
    description:
      - V(present) makes sure the forwards run; V(absent) stops them.
    type: str
    default: present
    choices: [present, absent]
  namespace:
    description:
      - The deployment namespace, where the pods are and whose remote config records the forwards.
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
  forwards:
    description:
      - The forwards. Required with O(state=present).
      - Each entry names a O(forwards[].component), whose upstream settings fill in the rest, or gives
        O(forwards[].selector), O(forwards[].pod_port) and O(forwards[].local_port) itself. Keys given explicitly
        win over the component's.
      - With O(state=absent), the forwards to stop (matched by local port); default all of O(output_dir).
    type: list
    elements: dict
    suboptions:
      component:
        description:
          - V(consensus_node) - the HAProxy pod of O(forwards[].node_alias), port 50211, local port 35211 + node
            id, recorded on the C(haProxies) component node id + 1.
          - V(mirror_node) - the mirror ingress controller pod (release C(haproxy-ingress-1), pod name
            C(mirror-ingress...)), port 80, local port 38081, on C(mirrorNodes) 1.
          - V(explorer) - C(app.kubernetes.io/instance=hiero-explorer-1), port 8080, local port 38080, on
            C(explorers) 1.
          - V(relay) - C(app.kubernetes.io/instance=relay-1,app.kubernetes.io/name=relay), port 7546, local port
            37546, on C(relayNodes) 1.
        type: str
        choices: [consensus_node, mirror_node, explorer, relay]
      node_alias:
        description:
          - With V(consensus_node), the node whose HAProxy is forwarded. Default C(node1).
        type: str
      label:
        description:
          - The text of the forward's line in the C(forwards) file.
        type: str
      selector:
        description:
          - Label selector of the pods to forward to. A running pod is chosen, ready ones first.
        type: str
      pod_port:
        description:
          - The pod's port.
        type: int
      local_port:
        description:
          - The local port. It identifies the forward.
        type: int
      component_kind:
        description:
          - The remote config component kind that records the forward (with O(forwards[].component_id)).
          - Not recorded in the remote config when neither is set, or when the component does not exist there
            (a warning says so).
        type: str
        choices:
          - consensusNodes
          - blockNodes
          - mirrorNodes
          - relayNodes
          - haProxies
          - envoyProxies
          - explorers
          - postgres
          - redis
      component_id:
        description:
          - The id of that component.
        type: int
  bind_address:
    description:
      - The local address to listen on (solo's C(--external-address)).
    type: str
    default: 127.0.0.1
  output_dir:
    description:
      - Where the C(forwards) file and the C(port-forwards) directory are. Default
        C(<solo_home>/one-shot-<deployment>), for example C(hiero_solo_config.output_dir).
    type: path
  solo_home:
    description:
      - solo's home directory, for the default O(output_dir) and the cluster reference's context. Default
        E(SOLO_HOME), else C(~/.solo).
    type: path
notes:
  - Run the module on the machine where the ports are wanted (on the controller with C(connection=local) or
    C(delegate_to=localhost)); the forward processes run there with the module's Python interpreter, which needs
    the C(kubernetes) library.
  - With O(state=present) the module waits for the pods (up to O(wait_timeout), default 300 seconds) before it
    starts a forward.
  - Without O(lease) the module takes the namespace's Lease only while it changes the remote config.
seealso:
  - module: hiero.solo.deployment_info
"""

EXAMPLES = r"""
- name: Make the deployment reachable on solo's local ports
  hiero.solo.port_forward:
    namespace: "{{ hiero_solo_config.namespace }}"
    output_dir: "{{ hiero_solo_config.output_dir }}"
    forwards:
      - component: consensus_node
        node_alias: node1
      - component: mirror_node
      - component: explorer
      - component: relay
    lease: "{{ hiero_solo_lease }}"

- name: Forward a pod port of your own choice
  hiero.solo.port_forward:
    namespace: one-shot
    forwards:
      - label: Block node
        selector: app.kubernetes.io/instance=block-node-1
        pod_port: 40840
        local_port: 40840

- name: Stop every forward of the deployment
  hiero.solo.port_forward:
    state: absent
    namespace: one-shot
"""

RETURN = r"""
forwards:
  description: The forwards handled by the task.
  returned: always
  type: list
  elements: dict
  contains:
    label:
      description: The forward's label.
      type: str
    address:
      description: The local C(address:port).
      type: str
    local_port:
      description: The local port.
      type: int
    pod_port:
      description: The pod's port.
      type: int
    namespace:
      description: The pods' namespace.
      type: str
    selector:
      description: The pods' label selector.
      type: str
    component_kind:
      description: The remote config component that records it, if any.
      type: str
    component_id:
      description: Its id.
      type: int
    pid:
      description: The PID of the forward's process after the task (before it, for O(state=absent)).
      type: int
    action:
      description: V(keep), V(start), V(restart) (O(state=present)), V(stop) or V(absent) (O(state=absent)).
      type: str
  sample:
    - label: JSON RPC Relay
      address: 127.0.0.1:37546
      local_port: 37546
      pod_port: 7546
      namespace: one-shot
      selector: app.kubernetes.io/instance=relay-1,app.kubernetes.io/name=relay
      component_kind: relayNodes
      component_id: 1
      pid: 41235
      action: start
stopped:
  description: Local ports whose forward process was stopped.
  returned: when O(state=absent)
  type: list
  elements: int
forwards_file:
  description: Path of the C(forwards) file.
  returned: always
  type: str
ansible_facts:
  description: Facts set by the module.
  returned: success
  type: dict
  contains:
    hiero_solo_port_forward:
      description: C(namespace), C(output_dir), C(forwards_file), C(state_dir) and C(forwards) (as above).
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
from ansible_collections.hiero.solo.plugins.module_utils._steps.port_forward import (  # noqa: E402
    PORT_FORWARD_ARG_SPEC,
    on_failure,
    run,
)


def main() -> None:
    module = HieroModule(
        argument_spec=argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, PORT_FORWARD_ARG_SPEC),
        supports_check_mode=True,
    )
    module.execute(run, on_failure)


if __name__ == "__main__":
    main()
