#!/usr/bin/python
# Copyright: hiero.solo contributors
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module hiero.solo.lease: the deployment's single Kubernetes Lease."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lease
short_description: Take, keep and give back the deployment's Kubernetes Lease (solo's lock)
version_added: 0.1.0
author:
  - hiero.solo developers (@hiero-ledger)
description:
  - Holds the C(coordination.k8s.io/v1) Lease that solo uses as its deployment lock, named after the
    namespace and kept in it, so a run of this collection and a run of C(solo) exclude each other.
  - The holder identity is the JSON solo writes (C(username), C(hostname), C(pid)) plus C(tool) and C(run_id).
    The PID is the C(ansible-playbook) process, injected by the collection's action plugin.
  - O(state=acquired) creates the Lease (and the namespace, labelled C(app.kubernetes.io/created-by=solo), if
    missing), renews it when this run already holds it, or takes it over when it has expired or when its holder
    is the same user on the same host and that process is dead or stopped. Otherwise it waits, with backoff and
    jitter, up to O(wait_timeout) seconds and then fails naming the holder, since when it holds the Lease and
    when it last renewed it.
  - Expiry is judged without trusting any clock but our own monotonic one. A Lease is expired only after this
    task has watched it stay unchanged for its full C(leaseDurationSeconds), and its C(renewTime) is also that
    old. A clock skew between hosts therefore can never cause a live Lease to be stolen.
  - O(state=held) is the keeper. Run it right after O(state=acquired) with C(async) and C(poll=0). It renews the
    Lease every O(duration)/3 seconds and ends when the Lease is no longer held by O(holder) (released or
    taken over, RV(lost=true)) or when the C(ansible-playbook) process is gone (RV(controller_gone=true)). It
    checks the controller at least once a second, so it never outlives the playbook by more than one renewal
    period.
  - O(state=released) deletes the Lease, as solo does, but only while O(holder) holds it; otherwise it leaves the
    Lease untouched and reports C(changed=false). Deleting, rather than clearing C(holderIdentity), is what solo
    understands as free. Run it in the play's C(always) section after all background steps have finished.
  - O(state=info) only reads the Lease and reports its holder.
  - Every write is a replace carrying the C(resourceVersion) that was read; on a conflict the task reads again
    and decides again, it never overwrites blindly.
options:
  state:
    description:
      - V(acquired) takes the Lease and returns the fact C(hiero_solo_lease).
      - V(held) keeps renewing it until it is lost or the playbook is gone (the keeper).
      - V(released) gives it back when O(holder) holds it.
      - V(info) reports the current holder.
    type: str
    default: acquired
    choices: [acquired, held, released, info]
  namespace:
    description:
      - The deployment namespace. The Lease lives in it.
    type: str
    required: true
  name:
    description:
      - Name of the Lease. Defaults to O(namespace), as solo names it.
    type: str
  duration:
    description:
      - C(leaseDurationSeconds) written by every renewal. Another tool may take the Lease over once it has
        seen it unchanged for this long.
      - The keeper renews every O(duration)/3 seconds.
      - O(state=acquired) writes O(duration) + 10 seconds, so the Lease stays valid while the keeper task
        starts (a few seconds); the keeper's first renewal writes O(duration).
    type: int
    default: 20
  wait_timeout:
    description:
      - With O(state=acquired), how many seconds to wait for a Lease held by someone else before failing.
      - Use at least O(duration) if an abandoned Lease of another host should be taken over, because an expired
        Lease is only recognised after it has been watched for its full duration.
    type: int
    default: 60
  run_id:
    description:
      - Identifier of this run, recorded in the holder identity. Defaults to a new UUID.
      - In AWX pass the job id, the variable C(awx_job_id).
    type: str
  holder:
    description:
      - The holder identity (JSON string) of this run, as returned in C(hiero_solo_lease.holder) by
        O(state=acquired).
      - Required with O(state=held) and O(state=released). With O(state=info), RV(held) reports whether it holds
        the Lease.
    type: str
extends_documentation_fragment:
  - hiero.solo.auth
  - hiero.solo.attributes
  - hiero.solo.attributes.ACTION_GROUP
attributes:
  check_mode:
    support: full
    details:
      - O(state=acquired) reports whether it would create, renew or take over the Lease, or would have to wait,
        and returns the fact it would return, without writing or waiting.
      - O(state=held) only checks whether O(holder) holds the Lease. O(state=released) does not delete it.
  diff_mode:
    support: none
  async:
    description: Can run with C(async); the keeper, O(state=held), is meant to (with C(poll=0)).
    support: full
notes:
  - The keeper watches the C(ansible-playbook) process through its PID, so it must run on the controller
    (C(connection=local)), as every module of this collection does.
  - Ctrl-C or SIGTERM of C(ansible-playbook) skip C(always) sections. The keeper then stops within a second, and
    the Lease expires by itself after O(duration) seconds. On the same host the next run takes it over at once,
    because the holder PID is dead.
seealso:
  - name: Kubernetes Leases
    description: The coordination.k8s.io/v1 Lease object.
    link: https://kubernetes.io/docs/concepts/architecture/leases/
requirements:
  - kubernetes >= 24.2.0 (Python library)
"""

EXAMPLES = r"""
- name: Take the deployment Lease (waits up to 2 minutes for another run to finish)
  hiero.solo.lease:
    namespace: one-shot
    wait_timeout: 120
    run_id: "{{ awx_job_id | default(omit) }}"

- name: Keep it renewed in the background for the rest of the play
  hiero.solo.lease:
    namespace: "{{ hiero_solo_lease.namespace }}"
    holder: "{{ hiero_solo_lease.holder }}"
    state: held
  async: 7200
  poll: 0
  register: lease_keeper

- name: Pass the Lease to a step so it fails fast when the Lease is lost
  hiero.solo.deployment_info:
    namespace: one-shot
    lease: "{{ hiero_solo_lease }}"

- name: Give the Lease back (in the play's always section)
  hiero.solo.lease:
    namespace: "{{ hiero_solo_lease.namespace }}"
    holder: "{{ hiero_solo_lease.holder }}"
    state: released
  when: hiero_solo_lease is defined

- name: Show who holds the Lease
  hiero.solo.lease:
    namespace: one-shot
    state: info
  register: lease_info
"""

RETURN = r"""
ansible_facts:
  description: Facts set by O(state=acquired).
  returned: state is acquired
  type: dict
  contains:
    hiero_solo_lease:
      description:
        - The Lease this run holds. Pass it as the O(holder) of later O(state=held) and O(state=released) tasks
          and as the C(lease) option of the step modules.
      type: dict
      contains:
        name:
          description: Name of the Lease.
          type: str
          sample: one-shot
        namespace:
          description: Namespace of the Lease.
          type: str
          sample: one-shot
        holder:
          description: The holder identity written to the Lease (JSON).
          type: str
          sample: '{"username":"alice","hostname":"laptop","pid":4242,"tool":"hiero.solo","run_id":"9c4e..."}'
action:
  description:
    - What O(state=acquired) did. V(created), V(renewed) or V(taken_over).
    - In check mode V(would_create), V(would_renew), V(would_take_over) or V(would_wait).
  returned: state is acquired
  type: str
  sample: taken_over
msg:
  description: Why, in words (the takeover reason, the holder, why the keeper ended, ...).
  returned: state is not info
  type: str
  sample: "holder process 4242 on this host is gone"
waited:
  description: Seconds spent waiting for the Lease.
  returned: state is acquired
  type: float
  sample: 0.0
namespace_created:
  description: Whether the namespace was created (with the label C(app.kubernetes.io/created-by=solo)).
  returned: state is acquired
  type: bool
lost:
  description: Whether the Lease turned out not to be held by O(holder) (released or taken over).
  returned: state is held
  type: bool
controller_gone:
  description: Whether the keeper ended because the C(ansible-playbook) process was gone.
  returned: state is held
  type: bool
renewals:
  description: Renewals the keeper wrote.
  returned: state is held
  type: int
  sample: 42
errors:
  description: Failed renewal attempts (API errors) the keeper retried.
  returned: state is held and not check mode
  type: int
  sample: 0
last_error:
  description: The last API error the keeper saw, if any.
  returned: state is held and not check mode
  type: str
released:
  description: Whether the Lease was deleted.
  returned: state is released
  type: bool
held:
  description: Whether O(holder) holds the Lease.
  returned: state is info and O(holder) is given
  type: bool
lease:
  description: The Lease as last read or written.
  returned: always
  type: dict
  contains:
    exists:
      description: Whether the Lease exists.
      type: bool
    name:
      description: Name of the Lease.
      type: str
    namespace:
      description: Namespace of the Lease.
      type: str
    holder_identity:
      description: The raw C(holderIdentity).
      type: str
    holder:
      description: The holder identity, parsed (C(null) when the Lease has no holder).
      type: dict
      contains:
        username:
          description: User name of the holder.
          type: str
        hostname:
          description: Host name of the holder.
          type: str
        pid:
          description: Process id of the holder (for this collection, the C(ansible-playbook) process).
          type: int
        tool:
          description: V(hiero.solo) for this collection; absent (null) when solo wrote it.
          type: str
        run_id:
          description: Run identifier; absent (null) when solo wrote it.
          type: str
    lease_duration_seconds:
      description: C(leaseDurationSeconds).
      type: int
    acquire_time:
      description: When the holder acquired the Lease (RFC 3339, holder's clock).
      type: str
    renew_time:
      description: When the holder last renewed the Lease (RFC 3339, holder's clock).
      type: str
    lease_transitions:
      description: How many times the holder changed.
      type: int
    resource_version:
      description: C(metadata.resourceVersion) of the Lease.
      type: str
"""

# Ansible modules keep their imports after the documentation blocks.
from ansible_collections.hiero.solo.plugins.module_utils._args import AUTH_ARG_SPEC, argspec  # noqa: E402
from ansible_collections.hiero.solo.plugins.module_utils._lease import (  # noqa: E402
    LEASE_MODULE_ARG_SPEC,
    KubeLeaseApi,
    run_lease_state,
)
from ansible_collections.hiero.solo.plugins.module_utils._module import HieroModule  # noqa: E402


def run(module: HieroModule) -> dict:
    return run_lease_state(
        module.params, KubeLeaseApi(module.clients()), check_mode=module.check_mode, warn=module.warn
    )


def main() -> None:
    module = HieroModule(argument_spec=argspec(AUTH_ARG_SPEC, LEASE_MODULE_ARG_SPEC), supports_check_mode=True)
    module.execute(run)


if __name__ == "__main__":
    main()
