# Shared documentation of the Kubernetes connection options (plugins/module_utils/_args.py AUTH_ARG_SPEC).


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the content of a kubeconfig as a dictionary.
      - A path may name several files separated by C(:), as E(KUBECONFIG) does.
      - Secrets found in a dictionary (tokens, passwords, private keys) are hidden from the module's output.
      - When none of O(kubeconfig), O(context) and O(host) is set, the default kubeconfig is used
        (E(KUBECONFIG), else C(~/.kube/config)), as C(kubectl) and C(helm) do; without one, inside a pod,
        the pod's service account.
      - Can also be set with the E(K8S_AUTH_KUBECONFIG) environment variable.
    type: raw
  context:
    description:
      - The kubeconfig context to use; the kubeconfig's current context when not set.
      - Can also be set with the E(K8S_AUTH_CONTEXT) environment variable.
    type: str
  host:
    description:
      - URL of the Kubernetes API server, for example V(https://api.example.com:6443).
      - Without O(kubeconfig) and O(context), no kubeconfig file is read at all; authenticate with O(api_key), or
        O(client_cert) and O(client_key).
      - With a kubeconfig, it replaces the server of the selected context.
      - Can also be set with the E(K8S_AUTH_HOST) environment variable.
    type: str
  api_key:
    description:
      - Bearer token used to authenticate with the API server.
      - Passed to C(helm) through its environment, never on its command line.
      - Can also be set with the E(K8S_AUTH_API_KEY) environment variable.
    type: str
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate.
      - When not set, the kubeconfig decides (verification unless it has C(insecure-skip-tls-verify)).
      - Can also be set with the E(K8S_AUTH_VALIDATE_CERTS) or E(K8S_AUTH_VERIFY_SSL) environment variable
        (V(false), V(no) or V(0) turn verification off).
    type: bool
    aliases: [verify_ssl]
  ca_cert:
    description:
      - Path to a CA certificate bundle used to verify the API server's certificate.
      - Can also be set with the E(K8S_AUTH_CA_CERT) or E(K8S_AUTH_SSL_CA_CERT) environment variable.
    type: path
    aliases: [ssl_ca_cert]
  client_cert:
    description:
      - Path to a client certificate used to authenticate with the API server, together with O(client_key).
      - For C(helm) steps it must come with O(host) and without a kubeconfig; otherwise put it in the kubeconfig.
      - Can also be set with the E(K8S_AUTH_CLIENT_CERT) or E(K8S_AUTH_CERT_FILE) environment variable.
    type: path
    aliases: [cert_file]
  client_key:
    description:
      - Path to the private key of O(client_cert).
      - Can also be set with the E(K8S_AUTH_CLIENT_KEY) or E(K8S_AUTH_KEY_FILE) environment variable.
    type: path
    aliases: [key_file]
notes:
  - The connection options use the same names and environment variables as C(kubernetes.core), so
    C(module_defaults) for C(group/hiero.solo.all) and existing AWX credentials carry over.
requirements:
  - python >= 3.10
  - kubernetes >= 24.2.0
"""
