# Shared documentation of module attributes. Use the DOCUMENTATION fragment for the descriptions and set `support`
# in the module; add ACTION_GROUP to every module that talks to the cluster, INFO_MODULE to read-only ones.


class ModuleDocFragment:
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check mode and report what would change, without changing anything.
  diff_mode:
    description: Returns details on what has changed (or would change in check mode) when run with C(--diff).
"""

    ACTION_GROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/hiero.solo.all) in C(module_defaults) to set the connection options once for every module.
    support: full
    membership:
      - hiero.solo.all
"""

    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This module only reads; it behaves the same in check mode.
  diff_mode:
    support: N/A
    details:
      - This module only reads.
"""
