# Shared documentation of the helm options (plugins/module_utils/_args.py HELM_ARG_SPEC).


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  helm_binary:
    description:
      - The C(helm) executable to run, as a path or a command name.
      - When not set, C(helm) is looked up in E(PATH), then next to the Python interpreter running the module
        (where a virtualenv keeps it).
      - helm 3.8 or later is required.
    type: path
  chart_sources:
    description:
      - Where to take charts from, per component, for example to use a mirror or local copies in an air-gapped
        environment. Components not listed use the upstream location and version.
      - 'Each value is one of: V({repo: <http(s) URL>, chart: <name>, version: <version>}) for a chart
        repository; V({oci: oci://<registry>/<path>/<chart>, version: <version>}) for an OCI registry;
        V({path: /abs/dir or /abs/chart.tgz}) for a local chart; or just V({version: <version>}) to keep the
        upstream location with another version.'
      - A repo or oci location given without a version keeps the upstream version.
      - Versions are strings; quote them in YAML.
    type: dict
    default: {}
requirements:
  - helm >= 3.8
"""
