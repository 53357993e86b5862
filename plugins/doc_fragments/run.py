# Shared documentation of the run-state options (plugins/module_utils/_args.py RUN_ARG_SPEC).


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  run_id:
    description:
      - Identifier of the playbook run. When set, the module records its status (pending, running, done, skipped,
        failed, with times and error) in the run-state ConfigMap of the deployment namespace, so that other steps
        can wait for it and C(kubectl get configmap) shows progress.
    type: str
  wait_for:
    description:
      - Steps of the same O(run_id) that must be done (or skipped) before this one starts.
      - The module watches the run state until they are, and fails at once with C(blocked by <step>) when one
        of them failed.
    type: list
    elements: str
    default: []
"""
