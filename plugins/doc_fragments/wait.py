# Shared documentation of the wait option (plugins/module_utils/_args.py WAIT_ARG_SPEC).


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  wait_timeout:
    description:
      - How many seconds this step may wait for its objects to become ready (pods running and ready, releases
        deployed, jobs complete) before it fails.
      - When not set, the step's own budget applies, the same as upstream C(solo)'s; each module documents it.
      - On timeout the error names what was awaited and the last state seen of each object (for pods, the phase
        and why containers are waiting).
    type: int
"""
