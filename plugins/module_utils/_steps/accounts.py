# Private to the hiero.solo collection: internal API, may change at any time; do not import from other collections.
"""The ``accounts`` step: one-shot's "Create Accounts" and the ``accounts.json`` of its Finish phase.

Facts from hiero-ledger/solo (solo-spec §3.13; ``default-one-shot-deploy-orchestrator.ts`` buildCreateAccountsTask
and showAccounts, ``account-manager.ts`` createNewAccount, ``predefined-accounts.ts``, ``constants.ts``):

- the SDK client pays with the operator 0.0.2 and the development genesis key, and reaches each consensus node
  through its haproxy pod's gRPC port 50211 (a port-forward);
- when topic 0.0.1001 does not exist (INVALID_TOPIC_ID) a topic with memo ``Buffer topic to bump entity IDs`` is
  created first, so that the accounts get predictable numbers; a failure there is only a warning;
- the ten ``predefinedEcdsaAccountsWithAlias`` keys (fixed secp256k1 keys) each get an account with the key, the
  key's EVM address as alias and 1,000,000 hbar; DUPLICATE_TRANSACTION is retried three times 250 ms apart;
- per account a Secret ``account-key-<id>`` (Opaque, label ``solo.hedera.com/account-id=<id>``) holding the base64
  of the JavaScript SDK's string forms of the keys (``PrivateKey.toString()``, ``PublicKey.toString()``: DER hex);
- ``accounts.json``: ``{systemAccounts: [{name: Operator, accountId, publicKey, privateKey (only the default
  genesis key)}], createdAccounts: [{accountId, privateKey: 0x<raw>, publicKey: 0x<raw>, balance: '1000000 ℏ',
  group: 'ecdsa-alias', publicAddress}]}`` sorted by account id, ``JSON.stringify(..., 2)``; ``publicAddress`` is
  ``<shard>.<realm>.<contractAccountId of AccountInfoQuery>``.

Beyond solo: an account whose Secret already exists (matched by public key) is not created again, so a re-run
changes nothing; an account that exists on the ledger without its Secret (an interrupted run) is found by its
alias instead of failing with ALIAS_ALREADY_ASSIGNED; ``accounts.json`` is written with mode 0600. Private keys
never appear in results or facts, and every form of them is registered with Ansible as a value never to display.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.hiero.solo.plugins.module_utils import _forwarder
from ansible_collections.hiero.solo.plugins.module_utils._client import (
    ApiException,
    Urllib3HTTPError,
    cluster_error,
    is_already_exists,
)
from ansible_collections.hiero.solo.plugins.module_utils._errors import DependencyMissing, HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps._common import (
    DEFAULT_RUN_WAIT_S,
    check_label,
    check_run_options,
    diff_of,
    record_failure,
    run_step,
    solo_home,
    use_cluster_ref_context,
    write_guard,
)
from ansible_collections.hiero.solo.plugins.module_utils._steps.keys import node_aliases_from_remote_config
from ansible_collections.hiero.solo.plugins.module_utils._steps.port_forward import output_dir_of, write_text

ACCOUNTS_ARG_SPEC: dict[str, dict[str, Any]] = {
    "state": {"type": "str", "default": "present", "choices": ["present"]},
    "namespace": {"type": "str", "required": True},
    "deployment": {"type": "str"},
    "cluster_ref": {"type": "str"},
    "node_aliases": {"type": "list", "elements": "str"},
    "endpoint": {"type": "str"},
    "operator_id": {"type": "str", "default": "0.0.2"},
    "operator_key": {"type": "str", "no_log": True},
    "shard": {"type": "int", "default": 0},
    "realm": {"type": "int", "default": 0},
    "output_dir": {"type": "path"},
    "solo_home": {"type": "path"},
}

STEP = "accounts"
# HieroModule.execute(run, on_failure): a failure before run_step is entered still reaches the run-state.
on_failure = record_failure(STEP)

ACCOUNTS_FILE = "accounts.json"
ACCOUNTS_FILE_MODE = 0o600
GROUP = "ecdsa-alias"
BALANCE_HBAR = 1_000_000
BALANCE_TEXT = f"{BALANCE_HBAR} ℏ"  # the JavaScript SDK's Hbar.toString()
BUFFER_TOPIC_NUM = 1001
BUFFER_TOPIC_MEMO = "Buffer topic to bump entity IDs"
ACCOUNT_ID_LABEL = "solo.hedera.com/account-id"
GRPC_PORT = 50211
FIRST_NODE_ACCOUNT = 3  # node id 0 pays into 0.0.3
DUPLICATE_RETRIES = 3
DUPLICATE_DELAY_S = 0.25
# Reachability check: a few attempts, so an unreachable node fails in seconds with a clear message.
PING_ATTEMPTS = 10

# solo's DEFAULT_GENESIS_KEY: the development genesis key of every Hiero local network (public knowledge, still
# never displayed), and its public key as the JavaScript SDK prints it.
DEFAULT_OPERATOR_KEY = (
    "302e020100300506032b65700422042091132178e72057a1d7528025956fe39b0b847f200ab59b2fdd367017f3087137"
)

# predefined-accounts.ts ecdsaAliasKeys (solo 0.87.1): secp256k1 private keys, raw hex.
PREDEFINED_ECDSA_ALIAS_KEYS: tuple[str, ...] = (
    "105d050185ccb907fba04dd92d8de9e32c18305e097ab41dadda21489a211524",
    "2e1d968b041d84dd120a5860cee60cd83f9374ef527ca86996317ada3d0d03e7",
    "45a5a7108a18dd5013cf2d5857a28144beadc9c70b3bdbd914e38df4e804b8d8",
    "6e9d61a325be3f6675cf8b7676c70e4a004d2308e3e182370a41f5653d52c6bd",
    "0b58b1bd44469ac9f813b5aeaf6213ddaea26720f0b2f133d08b6f234130a64f",
    "95eac372e0f0df3b43740fa780e62458b2d2cc32d6a440877f1cc2a9ad0c35cc",
    "6c6e6727b40c8d4b616ab0d26af357af09337299f09c66704146e14236972106",
    "5072e7aa1b03f531b4731a32a021f6a5d20d5ddc4e55acbb71ae202fc6f3a26d",
    "60fe891f13824a2c1da20fb6a14e28fa353421191069ba6b6d09dd6c29b90eff",
    "eae4e00ece872dd14fb6dc7a04f390563c7d69d16326f2a703ec8e0934060cc7",
)

# The JavaScript SDK's DER prefixes for secp256k1 keys (EcdsaPrivateKey/EcdsaPublicKey toStringDer), which solo's
# Secrets hold; hiero-sdk-python writes other (equally valid) DER forms.
JS_ECDSA_PRIVATE_DER_PREFIX = "3030020100300706052b8104000a04220420"
JS_ECDSA_PUBLIC_DER_PREFIX = "302d300706052b8104000a032200"


def _sdk() -> Any:
    try:
        import hiero_sdk_python
    except ImportError as exc:
        raise DependencyMissing("hiero-sdk-python", "to create accounts through the consensus nodes") from exc
    return hiero_sdk_python


# ---------------------------------------------------------------------------------------------------------------
# Keys (pure)


@dataclass(frozen=True)
class AccountKey:
    """One predefined key in every form solo writes. ``private_*`` fields are secrets."""

    index: int
    private_raw: str  # 64 hex digits
    public_raw: str  # compressed point, 66 hex digits
    evm_address: str  # 40 hex digits, no 0x

    @property
    def private_js(self) -> str:
        return JS_ECDSA_PRIVATE_DER_PREFIX + self.private_raw

    @property
    def public_js(self) -> str:
        return JS_ECDSA_PUBLIC_DER_PREFIX + self.public_raw

    def secret_forms(self) -> set[str]:
        """Every text in which this private key could show up; Ansible masks them all."""
        forms = {self.private_raw, self.private_raw.upper(), f"0x{self.private_raw}", self.private_js}
        forms.add(base64.b64encode(self.private_js.encode("ascii")).decode("ascii"))
        forms.add(base64.b64encode(bytes.fromhex(self.private_raw)).decode("ascii"))
        return forms


def account_key(index: int, private_raw: str) -> AccountKey:
    sdk = _sdk()
    private = sdk.PrivateKey.from_string_ecdsa(private_raw)
    public = private.public_key()
    return AccountKey(index, private_raw.lower(), public.to_string_raw().lower(), str(public.to_evm_address()).lower())


def predefined_keys() -> list[AccountKey]:
    return [account_key(index, raw) for index, raw in enumerate(PREDEFINED_ECDSA_ALIAS_KEYS)]


def public_raw_of(text: str) -> str | None:
    """The compressed raw hex of a public key given in any form solo or an SDK writes; None if unreadable."""
    value = text.strip().lower().removeprefix("0x")
    if value.startswith(JS_ECDSA_PUBLIC_DER_PREFIX):
        return value[len(JS_ECDSA_PUBLIC_DER_PREFIX) :]
    public_key = _sdk().PublicKey
    try:
        # DER (any prefix) or a raw compressed/uncompressed point; never guess ED25519 from 32 bytes.
        key = public_key.from_string_der(value) if value.startswith("30") else public_key.from_string_ecdsa(value)
    except Exception:  # an ED25519 or malformed key simply matches none of ours
        return None
    return key.to_string_raw().lower() if key.is_ecdsa() else None


def parse_entity_id(text: str, field_name: str) -> tuple[int, int, int]:
    parts = str(text).strip().split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        raise InputError(field_name, f"expected an entity id such as 0.0.2, got {text!r}")
    shard, realm, num = (int(part) for part in parts)
    return shard, realm, num


def entity_sort_key(account_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in account_id.split("."))


def check_endpoint(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError("endpoint", f"expected host:port of a consensus node's gRPC port, got {value!r}")
    if int(port) == 50212:
        raise InputError("endpoint", "port 50212 is the TLS port; give the plaintext gRPC port (50211 on a node)")
    return host.strip("[]"), int(port)


# ---------------------------------------------------------------------------------------------------------------
# Secrets


def secret_name(account_id: str) -> str:
    return f"account-key-{account_id}"


def secret_body(account_id: str, key: AccountKey) -> dict[str, Any]:
    def b64(text: str) -> str:
        return base64.b64encode(text.encode("ascii")).decode("ascii")

    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": secret_name(account_id), "labels": {ACCOUNT_ID_LABEL: account_id}},
        "data": {"privateKey": b64(key.private_js), "publicKey": b64(key.public_js)},
    }


def existing_accounts(core: Any, namespace: str) -> dict[str, str]:
    """public key (compressed raw hex) → account id, from the namespace's account Secrets (public parts only)."""
    try:
        secrets = core.list_namespaced_secret(namespace, label_selector=ACCOUNT_ID_LABEL).items or []
    except ApiException as exc:
        if exc.status == 404:
            return {}
        raise cluster_error(exc, "list", "Secret", namespace, None) from exc
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "list", "Secret", namespace, None) from exc
    found: dict[str, str] = {}
    for secret in secrets:
        account_id = (secret.metadata.labels or {}).get(ACCOUNT_ID_LABEL)
        encoded = (secret.data or {}).get("publicKey")
        if not account_id or not encoded:
            continue
        try:
            public = base64.b64decode(encoded, validate=True).decode("ascii")
        except (binascii.Error, ValueError):
            continue
        raw = public_raw_of(public)
        if raw and raw not in found:
            found[raw] = account_id
    return found


def write_secret(core: Any, namespace: str, account_id: str, key: AccountKey) -> None:
    """Create the account's Secret, or replace one of that name (solo's createOrReplace)."""
    body = secret_body(account_id, key)
    name = body["metadata"]["name"]
    try:
        core.create_namespaced_secret(namespace, body)
        return
    except ApiException as exc:
        if not is_already_exists(exc):
            raise _secret_error(exc, "create", namespace, name) from None
    except (Urllib3HTTPError, OSError) as exc:
        raise cluster_error(exc, "create", "Secret", namespace, name) from None
    try:
        core.replace_namespaced_secret(name, namespace, body)
    except (ApiException, Urllib3HTTPError, OSError) as exc:
        raise _secret_error(exc, "replace", namespace, name) from None


def _secret_error(exc: BaseException, action: str, namespace: str, name: str) -> HieroError:
    # `from None`: the request body (the key material) must not travel with the exception's chain.
    return cluster_error(exc, action, "Secret", namespace, name)


# ---------------------------------------------------------------------------------------------------------------
# accounts.json (pure)


@dataclass
class Account:
    key: AccountKey
    account_id: str | None = None
    public_address: str | None = None
    created: bool = False

    def public_view(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "public_key": f"0x{self.key.public_raw}",
            "evm_address": f"0x{self.key.evm_address}",
            "public_address": self.public_address,
            "balance": BALANCE_TEXT,
            "group": GROUP,
            "secret": secret_name(self.account_id) if self.account_id else None,
            "created": self.created,
        }


def accounts_document(
    operator_id: str, operator_public_key: str, operator_private_key: str | None, accounts: Iterable[Account]
) -> dict[str, Any]:
    """``accounts.json`` as solo's showAccounts writes it."""
    system: dict[str, Any] = {"name": "Operator", "accountId": operator_id, "publicKey": operator_public_key}
    if operator_private_key is not None:
        system["privateKey"] = operator_private_key
    created = []
    for account in sorted(accounts, key=lambda a: entity_sort_key(a.account_id or "0.0.0")):
        entry = {
            "accountId": account.account_id,
            "privateKey": f"0x{account.key.private_raw}",
            "publicKey": f"0x{account.key.public_raw}",
            "balance": BALANCE_TEXT,
            "group": GROUP,
        }
        if account.public_address:
            entry["publicAddress"] = account.public_address
        created.append(entry)
    return {"systemAccounts": [system], "createdAccounts": created}


def accounts_text(document: Mapping[str, Any]) -> str:
    # JSON.stringify(data, undefined, 2): two-space indent, ": " after keys, no trailing newline, UTF-8 (ℏ).
    return json.dumps(document, indent=2, ensure_ascii=False)


def recorded_addresses(text: str | None) -> dict[tuple[str, str], str]:
    """(accountId, publicKey) → publicAddress of an existing accounts.json; nothing when unreadable."""
    if not text:
        return {}
    try:
        document = json.loads(text)
    except ValueError:
        return {}
    found = {}
    for entry in (document.get("createdAccounts") if isinstance(document, dict) else None) or []:
        if isinstance(entry, dict) and entry.get("publicAddress"):
            found[(str(entry.get("accountId")), str(entry.get("publicKey")).lower())] = str(entry["publicAddress"])
    return found


def derived_address(shard: int, realm: int, evm_address: str) -> str:
    """What solo writes as publicAddress: ``entityId(shard, realm, contractAccountId)``; a node answers an alias
    account's contractAccountId with its EVM address."""
    return f"{shard}.{realm}.{evm_address}"


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise HieroError(f"cannot read {path}: {exc}") from exc


# ---------------------------------------------------------------------------------------------------------------
# The network (hiero-sdk-python)


@dataclass
class NodeRoute:
    """How one consensus node is reached: a local address, and what it forwards to (for messages)."""

    address: str
    node_account: str
    via: str


@dataclass
class Network:
    """The consensus nodes through the SDK: the buffer topic and account creation, nothing else."""

    routes: list[NodeRoute]
    operator_id: str
    operator_key: str
    shard: int
    realm: int
    request_timeout: float
    client: Any = None
    log: list[str] = field(default_factory=list)

    def connect(self) -> None:
        sdk = _sdk()
        network = {route.address: sdk.AccountId.from_string(route.node_account) for route in self.routes}
        client = sdk.Client.for_network(network, "hiero-solo")
        client.set_operator(sdk.AccountId.from_string(self.operator_id), sdk.PrivateKey.from_string(self.operator_key))
        # solo's node client: many attempts, 1 s backoff, long request timeout (NODE_CLIENT_* constants).
        client.set_max_attempts(600)
        client.set_min_backoff(0.25)
        client.set_max_backoff(1.0)
        client.set_request_timeout(max(float(self.request_timeout), 1.0))
        self.client = client
        self.ping()

    def where(self) -> str:
        return ", ".join(f"{route.node_account} at {route.address} ({route.via})" for route in self.routes)

    def ping(self) -> None:
        from hiero_sdk_python.query.account_balance_query import CryptoGetAccountBalanceQuery

        sdk = _sdk()
        try:
            query = CryptoGetAccountBalanceQuery().set_account_id(sdk.AccountId.from_string(self.operator_id))
            query.set_max_attempts(PING_ATTEMPTS)
            query.execute(self.client)
        except Exception as exc:
            raise HieroError(f"cannot reach the consensus nodes ({self.where()}): {_sdk_reason(exc)}") from None

    def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
            self.client = None

    def ensure_buffer_topic(self) -> str:
        """``exists`` or ``created``; ``failed: <reason>`` is for the caller to warn about (solo only warns)."""
        from hiero_sdk_python.consensus.topic_create_transaction import TopicCreateTransaction
        from hiero_sdk_python.consensus.topic_id import TopicId
        from hiero_sdk_python.query.topic_info_query import TopicInfoQuery

        try:
            TopicInfoQuery().set_topic_id(TopicId(self.shard, self.realm, BUFFER_TOPIC_NUM)).execute(self.client)
            return "exists"
        except Exception as exc:
            if "INVALID_TOPIC_ID" not in _status_name(exc):
                return f"failed: cannot query topic {self.shard}.{self.realm}.{BUFFER_TOPIC_NUM}: {_sdk_reason(exc)}"
        try:
            receipt = TopicCreateTransaction().set_memo(BUFFER_TOPIC_MEMO).execute(self.client)
        except Exception as exc:
            return f"failed: {_sdk_reason(exc)}"
        status = _response_name(receipt.status)
        return "created" if status == "SUCCESS" else f"failed: receipt status {status}"

    def create_account(self, key: AccountKey) -> tuple[str, str, bool]:
        """(account id, contractAccountId, created) for ``key``'s alias account; an account that already holds
        the alias (left by an interrupted run) is looked up instead."""
        from hiero_sdk_python.exceptions import PrecheckError

        sdk = _sdk()
        what = f"account #{key.index + 1} (EVM address 0x{key.evm_address})"
        private = sdk.PrivateKey.from_string_ecdsa(key.private_raw)
        status, account = "no receipt", None
        for attempt in range(DUPLICATE_RETRIES):
            transaction = (
                sdk.AccountCreateTransaction()
                .set_key_with_alias(private.public_key())
                .set_initial_balance(sdk.Hbar(BALANCE_HBAR))
            )
            try:
                transaction.freeze_with(self.client)
                transaction.sign(private)  # HIP-583: the alias's key signs too
                receipt = transaction.execute(self.client)
                status, account = _response_name(receipt.status), receipt.account_id
                break
            except PrecheckError as exc:
                status = _status_name(exc)
                if status == "DUPLICATE_TRANSACTION" and attempt < DUPLICATE_RETRIES - 1:
                    self.log.append(f"{what}: DUPLICATE_TRANSACTION, retrying")
                    time.sleep(DUPLICATE_DELAY_S)
                    continue
                if status == "ALIAS_ALREADY_ASSIGNED":  # a node may refuse it at precheck already
                    break
                raise HieroError(f"cannot create {what} through {self.where()}: {_sdk_reason(exc)}") from None
            except Exception as exc:
                raise HieroError(f"cannot create {what} through {self.where()}: {_sdk_reason(exc)}") from None
        created = True
        if status == "ALIAS_ALREADY_ASSIGNED":
            # Left by an interrupted run (the account exists, its Secret does not): take it as it is.
            account = sdk.AccountId.from_evm_address(key.evm_address, self.shard, self.realm)
            created = False
        elif status != "SUCCESS" or account is None:
            raise HieroError(f"cannot create {what}: receipt status {status}")
        try:
            info = sdk.AccountInfoQuery().set_account_id(account).execute(self.client)
        except Exception as exc:
            raise HieroError(f"cannot read {what} back (AccountInfoQuery): {_sdk_reason(exc)}") from None
        return str(info.account_id), str(info.contract_account_id or key.evm_address), created


def _response_name(status: Any) -> str:
    from hiero_sdk_python.response_code import ResponseCode

    try:
        return ResponseCode(int(status)).name
    except (ValueError, TypeError):
        return str(status)


def _status_name(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    return _response_name(status) if status is not None else str(exc)


def _sdk_reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def open_routes(module: Any, namespace: str, aliases: list[str], endpoint: str | None, shard: int, realm: int) -> Any:
    """The node routes for the SDK: the ``endpoint`` as given, or a port-forward per node's haproxy, stopped on
    exit."""
    if endpoint:
        host, port = check_endpoint(endpoint)
        yield [NodeRoute(f"{host}:{port}", f"{shard}.{realm}.{FIRST_NODE_ACCOUNT}", "endpoint")]
        return
    forwarders: list[_forwarder.PortForwarder] = []
    try:
        routes = []
        for alias in aliases:
            node_id = int(alias.removeprefix("node")) - 1
            selector = f"app=haproxy-{alias},solo.hedera.com/type=haproxy"
            forwarder = _forwarder.PortForwarder(module.clients().configuration, namespace, selector, GRPC_PORT)
            try:
                pod = forwarder.resolve_pod()
            except _forwarder.ForwardError as exc:
                raise HieroError(f"cannot reach consensus node {alias}: {exc}") from None
            forwarders.append(forwarder.start())
            routes.append(
                NodeRoute(
                    f"127.0.0.1:{forwarder.port}",
                    f"{shard}.{realm}.{FIRST_NODE_ACCOUNT + node_id}",
                    f"port-forward to {namespace}/{pod}:{GRPC_PORT}",
                )
            )
        yield routes
    finally:
        for forwarder in forwarders:
            forwarder.stop()


# ---------------------------------------------------------------------------------------------------------------
# The step


def _check_aliases(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise InputError("node_aliases", f"expected a non-empty list such as [node1], got {value!r}")
    for alias in value:
        digits = str(alias).removeprefix("node")
        if not str(alias).startswith("node") or not digits.isdigit() or int(digits) < 1:
            raise InputError("node_aliases", f"expected aliases such as node1, got {alias!r}")
    return [str(alias) for alias in value]


def _operator(params: Mapping[str, Any]) -> tuple[str, str, str, bool]:
    """(operator id, private key, public key as the JS SDK prints it, is the default genesis key)."""
    operator_id = params.get("operator_id") or "0.0.2"
    parse_entity_id(operator_id, "operator_id")
    key_text = params.get("operator_key") or DEFAULT_OPERATOR_KEY
    try:
        key = _sdk().PrivateKey.from_string(key_text)
    except DependencyMissing:
        raise
    except Exception:
        raise InputError("operator_key", "expected a private key in hex (DER or raw); the value is not shown") from None
    return operator_id, key_text, key.public_key().to_string_der(), key_text == DEFAULT_OPERATOR_KEY


def _hide(module: Any, keys: Iterable[AccountKey], operator_key: str) -> None:
    values = module.ansible_module.no_log_values
    values.add(operator_key)
    for key in keys:
        values.update(key.secret_forms())


def present(module: Any) -> dict[str, Any]:
    params = module.params
    namespace = check_label("namespace", params["namespace"])
    aliases = _check_aliases(params["node_aliases"]) if params.get("node_aliases") is not None else None
    endpoint = params.get("endpoint")
    if endpoint:
        check_endpoint(endpoint)
    shard, realm = params["shard"], params["realm"]
    for name, value in (("shard", shard), ("realm", realm)):
        if value < 0:
            raise InputError(name, f"expected a number >= 0, got {value}")
    check_run_options(params)
    operator_id, operator_key, operator_public, default_operator = _operator(params)
    keys = predefined_keys()
    _hide(module, keys, operator_key)
    output_dir = output_dir_of(params, namespace)
    path = os.path.join(output_dir, ACCOUNTS_FILE)
    use_cluster_ref_context(module, params.get("cluster_ref"), solo_home(params))
    core = module.clients().core
    timeout = params.get("wait_timeout")
    budget = DEFAULT_RUN_WAIT_S if timeout is None else timeout

    with run_step(module, namespace, STEP):
        by_public = existing_accounts(core, namespace)
        text_before = read_text(path)
        addresses = recorded_addresses(text_before)
        accounts = []
        for key in keys:
            account = Account(key, by_public.get(key.public_raw))
            if account.account_id:
                account.public_address = addresses.get(
                    (account.account_id, f"0x{key.public_raw}"), derived_address(shard, realm, key.evm_address)
                )
            accounts.append(account)
        missing = [account for account in accounts if account.account_id is None]
        topic = "not needed"
        warnings: list[str] = []

        def document() -> str:
            known = [account for account in accounts if account.account_id]
            private = operator_key if default_operator else None
            return accounts_text(accounts_document(operator_id, operator_public, private, known))

        if module.check_mode:
            text_after = document() if not missing else None
            file_changed = bool(missing) or text_after != text_before or _mode_differs(path)
        else:
            file_changed = False
            with write_guard(module, namespace, cluster_writes=bool(missing)) as guard:
                if missing:
                    if aliases is None and not endpoint:
                        aliases = node_aliases_from_remote_config(core, namespace)
                    with open_routes(module, namespace, aliases or [], endpoint, shard, realm) as routes:
                        network = Network(routes, operator_id, operator_key, shard, realm, budget)
                        try:
                            network.connect()
                            guard.check()
                            topic = network.ensure_buffer_topic()
                            if topic.startswith("failed"):
                                warnings.append(
                                    f"buffer topic: {topic[len('failed: ') :]}; created account ids may be offset "
                                    "from the expected values"
                                )
                            for account in missing:
                                guard.check()
                                account_id, contract_id, account.created = network.create_account(account.key)
                                account.account_id = account_id
                                account.public_address = derived_address(shard, realm, contract_id)
                                guard.check()
                                write_secret(core, namespace, account_id, account.key)
                        finally:
                            network.close()
                text_after = document()
                if text_after != text_before or _mode_differs(path):
                    guard.check()
                    write_text(path, text_after, ACCOUNTS_FILE_MODE)
                    file_changed = True

    for warning in warnings:
        module.warn(warning)
    views = [account.public_view() for account in accounts]
    created = [view["account_id"] for view in views if view["created"]]
    fact = {
        "namespace": namespace,
        "accounts_file": path,
        "operator": {"account_id": operator_id, "public_key": operator_public},
        "accounts": views,
    }
    result: dict[str, Any] = {
        "changed": bool(missing) or file_changed,
        "created": created,
        "to_create": len(missing),
        "buffer_topic": topic,
        "accounts": views,
        "accounts_file": path,
        "ansible_facts": {"hiero_solo_accounts": fact},
    }
    if module.diff_mode:
        # Account ids only: the file itself holds private keys.
        before = "".join(f"{a.account_id}\n" for a in accounts if a.account_id and not a.created)
        after = "".join(f"{a.account_id or '(new account)'}\n" for a in accounts)
        result["diff"] = diff_of(before, after, f"{path} accounts (before)", f"{path} accounts (after)")
    return result


def _mode_differs(path: str) -> bool:
    try:
        return os.stat(path).st_mode & 0o777 != ACCOUNTS_FILE_MODE
    except FileNotFoundError:
        return False


def run(module: Any) -> dict[str, Any]:
    return present(module)
