"""The accounts step against the sandbox API server and a fake consensus node reached through ``endpoint``.

The SDK path is the real one (hiero-sdk-python over gRPC to tests/sandbox/grpc_node.py); the port-forward path
is covered by tests/integration/test_accounts_forwards_info.py.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import uuid
from types import SimpleNamespace

import pytest
from hiero_sdk_python import PrivateKey

from ansible_collections.hiero.solo.plugins.module_utils._args import (
    AUTH_ARG_SPEC,
    LEASE_ARG_SPEC,
    RUN_ARG_SPEC,
    WAIT_ARG_SPEC,
    argspec,
)
from ansible_collections.hiero.solo.plugins.module_utils._client import get_clients
from ansible_collections.hiero.solo.plugins.module_utils._errors import HieroError, InputError
from ansible_collections.hiero.solo.plugins.module_utils._steps import accounts as step
from tests.sandbox.grpc_node import start_fake_network
from tests.sandbox.ledger import Ledger

SPEC = argspec(AUTH_ARG_SPEC, LEASE_ARG_SPEC, RUN_ARG_SPEC, WAIT_ARG_SPEC, step.ACCOUNTS_ARG_SPEC)
# solo's predefinedEcdsaAccountsWithAlias, first key: its EVM address and compressed public key.
FIRST_EVM = "67d8d32e9bf1a9968a5ff53b87d777aa8ebbee69"
FIRST_PUBLIC = "02b3c641418e89452cd5202adfd4758f459acb8e364f741fd16cd2db79835d39d2"
GENESIS_PUBLIC_JS = "302a300506032b65700321000aa8e21064c61eab86e2a9c164565b4e7a9a4146106e0a6cd03a8c395a110e92"


class FakeModule:
    def __init__(self, kubeconfig, check_mode=False, **params):
        self.params = {name: spec.get("default") for name, spec in SPEC.items()}
        self.params.update(kubeconfig=str(kubeconfig), **params)
        self.check_mode = check_mode
        self.diff_mode = True
        self.warnings: list[str] = []
        self.ansible_module = SimpleNamespace(no_log_values=set())
        self._clients = None

    def clients(self):
        if self._clients is None:
            self._clients = get_clients(self.params, env={})
        return self._clients

    def warn(self, msg):
        self.warnings.append(msg)


@pytest.fixture
def network():
    nodes = start_fake_network(1, Ledger())
    yield nodes[0]
    nodes[0].stop()


@pytest.fixture
def namespace(sandbox):
    name = f"acct-{uuid.uuid4().hex[:6]}"
    core = get_clients({"kubeconfig": str(sandbox.kubeconfig)}, env={}).core
    core.create_namespace({"metadata": {"name": name}})
    return name


def run(sandbox, tmp_path, namespace, endpoint, **params):
    module = FakeModule(sandbox.kubeconfig, namespace=namespace, endpoint=endpoint, output_dir=str(tmp_path), **params)
    return module, step.run(module)


def account_secrets(sandbox, namespace):
    core = get_clients({"kubeconfig": str(sandbox.kubeconfig)}, env={}).core
    return core.list_namespaced_secret(namespace, label_selector=step.ACCOUNT_ID_LABEL).items


def private_forms() -> set[str]:
    forms = set()
    for raw in step.PREDEFINED_ECDSA_ALIAS_KEYS:
        forms |= {raw, raw.upper(), step.JS_ECDSA_PRIVATE_DER_PREFIX + raw}
        forms.add(PrivateKey.from_string_ecdsa(raw).to_string_der())
        forms.add(base64.b64encode((step.JS_ECDSA_PRIVATE_DER_PREFIX + raw).encode()).decode())
    return forms | {step.DEFAULT_OPERATOR_KEY}


def test_creates_the_ten_alias_accounts_their_secrets_and_accounts_json(sandbox, tmp_path, namespace, network):
    module, result = run(sandbox, tmp_path, namespace, network.address)
    ledger = network.ledger
    assert result["changed"] is True
    assert result["buffer_topic"] == "created"
    assert ledger.topic("0.0.1001").memo == step.BUFFER_TOPIC_MEMO
    ids = [f"0.0.{n}" for n in range(1002, 1012)]
    assert result["created"] == ids
    for account_id, raw in zip(ids, step.PREDEFINED_ECDSA_ALIAS_KEYS, strict=True):
        account = ledger.account(account_id)
        expected_evm = PrivateKey.from_string_ecdsa(raw).public_key().to_evm_address()
        assert account.alias.hex() == str(expected_evm)
        assert account.balance == 1_000_000 * 100_000_000
    assert ledger.account("0.0.1002").alias.hex() == FIRST_EVM

    secrets = {s.metadata.name: s for s in account_secrets(sandbox, namespace)}
    assert sorted(secrets) == sorted(f"account-key-{i}" for i in ids)
    first = secrets["account-key-0.0.1002"]
    assert first.type == "Opaque" and first.metadata.labels == {"solo.hedera.com/account-id": "0.0.1002"}
    decoded = {k: base64.b64decode(v).decode() for k, v in first.data.items()}
    assert decoded == {
        "privateKey": step.JS_ECDSA_PRIVATE_DER_PREFIX + step.PREDEFINED_ECDSA_ALIAS_KEYS[0],
        "publicKey": step.JS_ECDSA_PUBLIC_DER_PREFIX + FIRST_PUBLIC,
    }

    path = tmp_path / "accounts.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    document = json.loads(text)
    assert document["systemAccounts"] == [
        {
            "name": "Operator",
            "accountId": "0.0.2",
            "publicKey": GENESIS_PUBLIC_JS,
            "privateKey": step.DEFAULT_OPERATOR_KEY,
        }
    ]
    assert [a["accountId"] for a in document["createdAccounts"]] == ids
    assert document["createdAccounts"][0] == {
        "accountId": "0.0.1002",
        "privateKey": "0x" + step.PREDEFINED_ECDSA_ALIAS_KEYS[0],
        "publicKey": "0x" + FIRST_PUBLIC,
        "balance": "1000000 ℏ",
        "group": "ecdsa-alias",
        "publicAddress": f"0.0.{FIRST_EVM}",
    }
    assert text.startswith('{\n  "systemAccounts": [\n    {\n      "name": "Operator",') and not text.endswith("\n")

    # Nothing private in what the module returns; every private form is masked by Ansible should it leak.
    returned = json.dumps(result)
    assert not [form for form in private_forms() if form in returned]
    masked = module.ansible_module.no_log_values
    assert step.DEFAULT_OPERATOR_KEY in masked
    for key in step.predefined_keys():
        assert {key.private_raw, f"0x{key.private_raw}", key.private_js} <= masked
    assert result["accounts"][0]["evm_address"] == f"0x{FIRST_EVM}"


def test_second_run_changes_nothing_and_does_not_contact_the_nodes(sandbox, tmp_path, namespace, network):
    run(sandbox, tmp_path, namespace, network.address)
    calls_before = sum(network.node.calls.values())
    mtime = os.stat(tmp_path / "accounts.json").st_mtime_ns
    # An endpoint nothing listens on: any contact would fail the task.
    _module, again = run(sandbox, tmp_path, namespace, "127.0.0.1:9")
    assert again["changed"] is False and again["created"] == [] and again["buffer_topic"] == "not needed"
    assert sum(network.node.calls.values()) == calls_before
    assert os.stat(tmp_path / "accounts.json").st_mtime_ns == mtime
    assert [a["account_id"] for a in again["accounts"]] == [f"0.0.{n}" for n in range(1002, 1012)]


def test_check_mode_plans_without_writing(sandbox, tmp_path, namespace, network):
    _module, result = run(sandbox, tmp_path, namespace, network.address, check_mode=True)
    assert result["changed"] is True and result["to_create"] == 10
    assert all(a["account_id"] is None for a in result["accounts"])
    assert not (tmp_path / "accounts.json").exists()
    assert account_secrets(sandbox, namespace) == []
    assert sum(network.node.calls.values()) == 0


def test_only_accounts_without_a_secret_are_created(sandbox, tmp_path, namespace, network):
    run(sandbox, tmp_path, namespace, network.address)
    core = get_clients({"kubeconfig": str(sandbox.kubeconfig)}, env={}).core
    core.delete_namespaced_secret("account-key-0.0.1005", namespace)  # account #4 lost its Secret
    (tmp_path / "accounts.json").unlink()
    _module, result = run(sandbox, tmp_path, namespace, network.address)
    # It is on the ledger already: found by its alias, not created twice.
    assert result["changed"] is True and result["created"] == [] and result["to_create"] == 1
    fourth_alias = bytes.fromhex(step.predefined_keys()[3].evm_address)
    assert [a.num for a in network.ledger.accounts() if a.alias == fourth_alias] == [1005]
    assert "account-key-0.0.1005" in {s.metadata.name for s in account_secrets(sandbox, namespace)}
    assert len(json.loads((tmp_path / "accounts.json").read_text())["createdAccounts"]) == 10


def test_existing_buffer_topic_is_left_alone(sandbox, tmp_path, namespace, network):
    from hiero_sdk_python import AccountId, Client
    from hiero_sdk_python.consensus.topic_create_transaction import TopicCreateTransaction

    client = Client.for_network({network.address: AccountId.from_string("0.0.3")}, "test")
    client.set_operator(AccountId.from_string("0.0.2"), PrivateKey.from_string(step.DEFAULT_OPERATOR_KEY))
    TopicCreateTransaction().set_memo("someone else's").execute(client)
    client.close()
    _module, result = run(sandbox, tmp_path, namespace, network.address)
    assert result["buffer_topic"] == "exists"
    assert result["created"][0] == "0.0.1002"


def test_bad_inputs_name_the_field_and_never_echo_a_key(sandbox, tmp_path, namespace):
    with pytest.raises(InputError, match=r"^endpoint: expected host:port"):
        run(sandbox, tmp_path, namespace, "nohost")
    with pytest.raises(InputError, match=r"^operator_key: expected a private key") as caught:
        run(sandbox, tmp_path, namespace, "127.0.0.1:1", operator_key="zz-not-a-key-zz")
    assert "zz-not-a-key-zz" not in caught.value.msg
    with pytest.raises(InputError, match=r"^node_aliases: expected aliases such as node1"):
        run(sandbox, tmp_path, namespace, None, node_aliases=["n1"])


def test_unreachable_node_fails_clearly(sandbox, tmp_path, namespace):
    with pytest.raises(
        HieroError, match=r"cannot reach the consensus nodes \(0\.0\.3 at 127\.0\.0\.1:9 \(endpoint\)\)"
    ):
        run(sandbox, tmp_path, namespace, "127.0.0.1:9")
    assert account_secrets(sandbox, namespace) == []


def test_key_forms_match_solos_javascript_sdk_strings():
    key = step.predefined_keys()[0]
    assert key.public_raw == FIRST_PUBLIC and key.evm_address == FIRST_EVM
    assert key.public_js == "302d300706052b8104000a032200" + FIRST_PUBLIC
    assert step.public_raw_of(key.public_js) == FIRST_PUBLIC
    assert (
        step.public_raw_of(PrivateKey.from_string_ecdsa(key.private_raw).public_key().to_string_der()) == FIRST_PUBLIC
    )
    assert step.public_raw_of("0x" + FIRST_PUBLIC) == FIRST_PUBLIC
    assert step.public_raw_of("not a key") is None
    assert step.public_raw_of(PrivateKey.from_string(step.DEFAULT_OPERATOR_KEY).public_key().to_string_der()) is None


def test_waits_for_its_prerequisites_and_records_its_status(sandbox, tmp_path, namespace, network):
    from ansible_collections.hiero.solo.plugins.module_utils import _run_state

    core = get_clients({"kubeconfig": str(sandbox.kubeconfig)}, env={}).core
    steps = {"consensus_node_started": "pending", "accounts": "pending"}
    _run_state.register(core, namespace, "run-a", steps)
    _run_state.mark(core, namespace, "run-a", "consensus_node_started", "failed", error="node1 never became ACTIVE")
    with pytest.raises(HieroError, match=r"^blocked by consensus_node_started: node1 never became ACTIVE"):
        run(sandbox, tmp_path, namespace, network.address, run_id="run-a", wait_for=["consensus_node_started"])
    assert _run_state.read(core, namespace).steps["accounts"].status == "failed"
    assert sum(network.node.calls.values()) == 0

    _run_state.register(core, namespace, "run-b", steps)
    _run_state.mark(core, namespace, "run-b", "consensus_node_started", "done")
    _module, result = run(
        sandbox, tmp_path, namespace, network.address, run_id="run-b", wait_for=["consensus_node_started"]
    )
    assert len(result["created"]) == 10
    assert _run_state.read(core, namespace).steps["accounts"].status == "done"
