# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""Argument specs shared by the modules; their documentation lives in plugins/doc_fragments with the same names.

Modules never use these dicts directly: ``argspec()`` deep-copies them, so one module cannot change another's spec.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible.module_utils.basic import env_fallback

# Environment variables read when an auth option is not given, first match wins. The names are kubernetes.core's
# (K8S_AUTH_<OPTION> and the kubernetes-client attribute alias) so existing environments and AWX credentials work.
AUTH_ENV: dict[str, tuple[str, ...]] = {
    "kubeconfig": ("K8S_AUTH_KUBECONFIG",),
    "context": ("K8S_AUTH_CONTEXT",),
    "host": ("K8S_AUTH_HOST",),
    "api_key": ("K8S_AUTH_API_KEY",),
    "validate_certs": ("K8S_AUTH_VALIDATE_CERTS", "K8S_AUTH_VERIFY_SSL"),
    "ca_cert": ("K8S_AUTH_CA_CERT", "K8S_AUTH_SSL_CA_CERT"),
    "client_cert": ("K8S_AUTH_CLIENT_CERT", "K8S_AUTH_CERT_FILE"),
    "client_key": ("K8S_AUTH_CLIENT_KEY", "K8S_AUTH_KEY_FILE"),
}


def _env(option: str) -> tuple[Any, list[str]]:
    return (env_fallback, list(AUTH_ENV[option]))


AUTH_ARG_SPEC: dict[str, dict[str, Any]] = {
    "kubeconfig": {"type": "raw", "fallback": _env("kubeconfig")},
    "context": {"type": "str", "fallback": _env("context")},
    "host": {"type": "str", "fallback": _env("host")},
    "api_key": {"type": "str", "no_log": True, "fallback": _env("api_key")},
    "validate_certs": {"type": "bool", "aliases": ["verify_ssl"], "fallback": _env("validate_certs")},
    "ca_cert": {"type": "path", "aliases": ["ssl_ca_cert"], "fallback": _env("ca_cert")},
    "client_cert": {"type": "path", "aliases": ["cert_file"], "fallback": _env("client_cert")},
    # Only the path of the key is passed, not the key itself, so the value is not a secret.
    "client_key": {"type": "path", "aliases": ["key_file"], "no_log": False, "fallback": _env("client_key")},
}

LEASE_ARG_SPEC: dict[str, dict[str, Any]] = {
    "lease": {
        "type": "dict",
        "options": {
            "name": {"type": "str", "required": True},
            "namespace": {"type": "str", "required": True},
            "holder": {"type": "str", "required": True},
        },
    },
}

RUN_ARG_SPEC: dict[str, dict[str, Any]] = {
    "run_id": {"type": "str"},
    "wait_for": {"type": "list", "elements": "str", "default": []},
}

# No default here: each module documents and applies its own budget (upstream's per-step timeouts).
WAIT_ARG_SPEC: dict[str, dict[str, Any]] = {
    "wait_timeout": {"type": "int"},
}

HELM_ARG_SPEC: dict[str, dict[str, Any]] = {
    "helm_binary": {"type": "path"},
    "chart_sources": {"type": "dict", "default": {}},
}


def argspec(*specs: dict[str, dict[str, Any]], **extra: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Merge argument specs into a fresh dict; later specs and then ``extra`` options win on name clashes."""
    merged: dict[str, dict[str, Any]] = {}
    for spec in specs:
        merged.update(copy.deepcopy(spec))
    merged.update(copy.deepcopy(extra))
    return merged
