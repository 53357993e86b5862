# Shared documentation of the lease fencing option (plugins/module_utils/_args.py LEASE_ARG_SPEC).


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  lease:
    description:
      - The deployment Lease the playbook run holds (see M(hiero.solo.lease)), to fence this step on.
      - When set, the module checks before every write and between long waits that the Lease is still held by
        O(lease.holder), and fails with C(lease lost) otherwise. It never takes a Lease of its own.
      - When not set, the module takes the deployment Lease itself for its own duration and releases it at the
        end, like a standalone C(solo) command.
    type: dict
    suboptions:
      name:
        description:
          - Name of the Lease object (C(solo) names it after the deployment namespace).
        type: str
        required: true
      namespace:
        description:
          - Namespace of the Lease object.
        type: str
        required: true
      holder:
        description:
          - The holder identity the Lease must carry, as returned by M(hiero.solo.lease) when it acquired the Lease.
        type: str
        required: true
"""
