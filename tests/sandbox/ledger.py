"""The state a fake Hiero network agrees on: accounts, topics, transactions, receipts and records.

One ``Ledger`` stands for the whole network. Every fake consensus node (``grpc_node.py``) hands it the
HAPI protobufs it receives (hiero-sdk-python's own generated classes) and sends back what it answers,
so several nodes agree on balances and entity numbers. It follows the consensus node's two phases:

- *ingest* (at submit time): syntax, node account, valid-start window, duplicate transaction id,
  payer account, payer signature and solvency; a failure here is the precheck code of the
  TransactionResponse and nothing is recorded;
- *handle* (at consensus, ``consensus_delay`` seconds later, in submission order): the fee is charged,
  the operation's own rules apply (alias/key combinations, extra signatures, balances) and the
  outcome is the receipt's status. Until then the receipt answers UNKNOWN, as on a real network.

Genesis follows the services' genesis setup: system accounts 0.0.1-0.0.100 (0.0.2, the treasury,
holds the whole 50 billion hbar float), treasury clones 0.0.200-0.0.750 (but not the reserved system
contracts 0.0.350-0.0.399), staking reward accounts 0.0.800/0.0.801 (keyless) and misc accounts
0.0.900-0.0.1000, all keyed with the genesis key; the first user entity is 0.0.1001. Consensus node
accounts are 0.0.3 upwards (node id + 3), already part of the system accounts.

Thread-safe: the nodes may serve from different threads and event loops.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519
from google.protobuf.message import DecodeError
from hiero_sdk_python.crypto.private_key import PrivateKey
from hiero_sdk_python.crypto.public_key import PublicKey
from hiero_sdk_python.hapi.services import (
    basic_types_pb2,
    consensus_topic_info_pb2,
    crypto_get_info_pb2,
    duration_pb2,
    exchange_rate_pb2,
    query_header_pb2,
    query_pb2,
    response_code_pb2,
    response_pb2,
    timestamp_pb2,
    transaction_contents_pb2,
    transaction_pb2,
    transaction_receipt_pb2,
    transaction_record_pb2,
    transaction_response_pb2,
)

RC = response_code_pb2.ResponseCodeEnum

# The well-known development genesis key of Hiero local networks (public, printed in every SDK's
# examples); solo uses it as the operator key of 0.0.2 (solo constants.ts GENESIS_KEY).
GENESIS_PRIVATE_KEY_DER = (
    "302e020100300506032b65700422042091132178e72057a1d7528025956fe39b0b847f200ab59b2fdd367017f3087137"
)
GENESIS_ACCOUNT = 2
FUNDING_ACCOUNT = 98  # collects the fees
FIRST_NODE_ACCOUNT = 3  # node id 0 is 0.0.3
FIRST_USER_ENTITY = 1001
TINYBARS_PER_HBAR = 100_000_000
TOTAL_TINYBAR_FLOAT = 50_000_000_000 * TINYBARS_PER_HBAR
LEDGER_ID = b"\x03"  # what local networks report as their ledger id

# Rough prices in tinybar at 12 US cents per hbar. Only their order of magnitude matters: small next
# to the SDK's default maximum fees (1-20 hbar) and visible in balances.
FEES = {
    "cryptoCreateAccount": 41_666_667,  # $0.05
    "consensusCreateTopic": 8_333_333,  # $0.01
    "cryptoTransfer": 83_333,  # $0.0001
}
QUERY_COSTS = {"cryptoGetInfo": 83_333, "consensusGetTopicInfo": 83_333, "transactionGetRecord": 83_333}
FREE_QUERIES = frozenset({"cryptogetAccountBalance", "transactionGetReceipt"})

MIN_VALID_DURATION, MAX_VALID_DURATION = 15, 180
MIN_AUTO_RENEW, MAX_AUTO_RENEW = 2_592_000, 8_000_001  # 30 days .. ~92.6 days
MAX_MEMO_BYTES = 100
EVM_ADDRESS_SIZE = 20
ED25519_KEY_ALIAS_SIZE, ECDSA_KEY_ALIAS_SIZE = 34, 35  # serialized Key protos used as aliases

# Query and Response oneofs share field names except for these two.
_RESPONSE_FIELD = {
    "contractGetBytecode": "contractGetBytecodeResponse",
    "ContractGetRecords": "contractGetRecordsResponse",
}


def genesis_private_key() -> PrivateKey:
    return PrivateKey.from_string_der(GENESIS_PRIVATE_KEY_DER)


def genesis_public_key() -> PublicKey:
    return genesis_private_key().public_key()


def entity_num(value: object, shard: int = 0, realm: int = 0) -> int:
    """The entity number of ``7``, ``"0.0.7"``, an SDK AccountId/TopicId or an AccountID/TopicID proto."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        parts = value.split(".")
        if len(parts) != 3 or (int(parts[0]), int(parts[1])) != (shard, realm):
            raise ValueError(f"not an entity id of shard {shard} realm {realm}: {value!r}")
        return int(parts[2])
    for attr in ("num", "accountNum", "topicNum"):
        if hasattr(value, attr):
            return int(getattr(value, attr))
    raise TypeError(f"not an entity id: {value!r}")


@dataclass
class Account:
    num: int
    key: basic_types_pb2.Key
    balance: int  # tinybar
    alias: bytes = b""
    memo: str = ""
    receiver_sig_required: bool = False
    auto_renew_seconds: int = MAX_AUTO_RENEW - 1
    expiration_second: int = 0
    max_automatic_token_associations: int = 0
    deleted: bool = False


@dataclass
class Topic:
    num: int
    memo: str = ""
    admin_key: basic_types_pb2.Key | None = None
    submit_key: basic_types_pb2.Key | None = None
    auto_renew_seconds: int = 7_890_000
    auto_renew_account: int | None = None
    expiration_second: int = 0
    sequence_number: int = 0
    running_hash: bytes = bytes(48)


@dataclass
class _Txn:
    """A transaction that passed ingest: waiting for consensus, then its outcome (receipt and record)."""

    txid: basic_types_pb2.TransactionID
    body: transaction_pb2.TransactionBody
    sigs: _Signatures
    payer: int
    node: int
    fee: int
    tx_hash: bytes
    due: float
    status: int = RC.UNKNOWN
    consensus_ns: int = 0
    charged: int = 0
    transfers: dict[int, int] = field(default_factory=dict)
    created_account: int | None = None
    created_topic: int | None = None


class _Signatures:
    """The signature map of one body; answers whether a key's signing requirement is met."""

    def __init__(self, sig_map: basic_types_pb2.SignatureMap, body_bytes: bytes) -> None:
        self._pairs = list(sig_map.sigPair)
        self._body = body_bytes
        self._verified: dict[tuple[str, bytes], bool] = {}

    def _signed(self, kind: str, key_bytes: bytes) -> bool:
        if (kind, key_bytes) not in self._verified:
            self._verified[(kind, key_bytes)] = any(
                pair.pubKeyPrefix
                and key_bytes.startswith(pair.pubKeyPrefix)
                and pair.WhichOneof("signature") == kind
                and _verify(kind, key_bytes, getattr(pair, kind), self._body)
                for pair in self._pairs
            )
        return self._verified[(kind, key_bytes)]

    def satisfies(self, key: basic_types_pb2.Key) -> bool:
        kind = key.WhichOneof("key")
        if kind in ("ed25519", "ECDSA_secp256k1"):
            return self._signed(kind, getattr(key, kind))
        if kind == "keyList":
            return bool(key.keyList.keys) and all(self.satisfies(k) for k in key.keyList.keys)
        if kind == "thresholdKey":
            wanted = key.thresholdKey.threshold
            return 0 < wanted <= sum(self.satisfies(k) for k in key.thresholdKey.keys.keys)
        return False  # contract ids, RSA and ECDSA-384 keys cannot sign a HAPI transaction

    def evm_signers(self) -> set[bytes]:
        """EVM addresses of the ECDSA keys that validly signed (given in full, as aliases need)."""
        found = set()
        for pair in self._pairs:
            full_ecdsa = pair.WhichOneof("signature") == "ECDSA_secp256k1" and len(pair.pubKeyPrefix) == 33
            if full_ecdsa and self._signed("ECDSA_secp256k1", pair.pubKeyPrefix):
                found.add(_evm_address(pair.pubKeyPrefix))
        return found


def _verify(kind: str, key_bytes: bytes, signature: bytes, data: bytes) -> bool:
    try:
        if kind == "ed25519":
            ed25519.Ed25519PublicKey.from_public_bytes(key_bytes).verify(signature, data)
        else:
            if len(signature) != 64:  # nodes take only the raw r||s form
                return False
            PublicKey.from_bytes_ecdsa(key_bytes).verify(signature, data)
    except Exception:  # a key that does not decode fails like a wrong signature
        return False
    return True


def _evm_address(compressed_ecdsa_key: bytes) -> bytes:
    return PublicKey.from_bytes_ecdsa(compressed_ecdsa_key).to_evm_address().address_bytes


def _key_problem(key: basic_types_pb2.Key) -> int:
    """OK, or why ``key`` cannot guard an account (the services' key validation codes)."""
    kind = key.WhichOneof("key")
    if kind is None:
        return RC.BAD_ENCODING
    if kind in ("keyList", "thresholdKey"):
        keys = key.keyList.keys if kind == "keyList" else key.thresholdKey.keys.keys
        if not keys:
            return RC.KEY_REQUIRED
        if kind == "thresholdKey" and not 0 < key.thresholdKey.threshold <= len(keys):
            return RC.INVALID_ADMIN_KEY
        return next((p for p in map(_key_problem, keys) if p != RC.OK), RC.OK)
    if kind == "ed25519":
        return RC.OK if len(key.ed25519) == 32 else RC.INVALID_ADMIN_KEY
    if kind == "ECDSA_secp256k1":
        try:
            PublicKey.from_bytes_ecdsa(key.ECDSA_secp256k1)
        except Exception:
            return RC.INVALID_ADMIN_KEY
        return RC.OK
    return RC.OK if kind in ("contractID", "delegatable_contract_id") else RC.INVALID_ADMIN_KEY


def _response_for(query: query_pb2.Query):
    """(Response, query kind, the Response's part for that kind with its header's responseType set)."""
    kind = query.WhichOneof("query")
    response = response_pb2.Response()
    if kind is None:
        return response, None, None
    out = getattr(response, _RESPONSE_FIELD.get(kind, kind))
    out.header.responseType = getattr(query, kind).header.responseType
    return response, kind, out


def precheck_response(query: query_pb2.Query, code: int) -> response_pb2.Response:
    """The answer of a node that refuses ``query`` before looking at it (e.g. PLATFORM_NOT_ACTIVE)."""
    response, _, out = _response_for(query)
    if out is not None:
        out.header.nodeTransactionPrecheckCode = code
    return response


def _timestamp(ns: int) -> timestamp_pb2.Timestamp:
    return timestamp_pb2.Timestamp(seconds=ns // 1_000_000_000, nanos=ns % 1_000_000_000)


def _txid_key(txid: basic_types_pb2.TransactionID) -> bytes:
    return txid.SerializeToString(deterministic=True)


class Ledger:
    """The network's state and rules. See the module docstring."""

    def __init__(
        self,
        *,
        shard: int = 0,
        realm: int = 0,
        genesis_key: PublicKey | None = None,
        consensus_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.shard, self.realm = shard, realm
        self.consensus_delay = consensus_delay
        self._clock = clock
        self._lock = threading.RLock()
        self._accounts: dict[int, Account] = {}
        self._topics: dict[int, Topic] = {}
        self._aliases: dict[bytes, int] = {}
        self._txns: dict[bytes, _Txn] = {}
        self._pending: deque[_Txn] = deque()
        self._next_num = FIRST_USER_ENTITY
        self._last_consensus_ns = 0
        system_key = (genesis_key or genesis_public_key())._to_proto()
        expiry = int(clock()) + MAX_AUTO_RENEW - 1
        sentinel = basic_types_pb2.Key(keyList=basic_types_pb2.KeyList())  # keyless: nobody can sign for it
        nums = itertools.chain(
            range(1, 101), range(200, 350), range(400, 751), (800, 801), range(900, FIRST_USER_ENTITY)
        )
        for num in nums:
            key = sentinel if num in (800, 801) else system_key
            balance = TOTAL_TINYBAR_FLOAT if num == GENESIS_ACCOUNT else 0
            self._accounts[num] = Account(num, key, balance, expiration_second=expiry)

    # ----- reading the state (for the sandbox and tests) -----

    @property
    def next_entity_num(self) -> int:
        with self._lock:
            self._advance()
            return self._next_num

    def entity_id(self, num: int) -> str:
        return f"{self.shard}.{self.realm}.{num}"

    def account(self, account_id: object) -> Account | None:
        """A copy of the account, or None; ``account_id`` as for ``entity_num`` or a 20-byte EVM alias."""
        with self._lock:
            self._advance()
            num = self._aliases.get(account_id) if isinstance(account_id, bytes) else self._num(account_id)
            acct = self._accounts.get(num) if num is not None else None
            return dataclasses.replace(acct) if acct else None

    def accounts(self) -> list[Account]:
        with self._lock:
            self._advance()
            return [dataclasses.replace(a) for a in self._accounts.values()]

    def topic(self, topic_id: object) -> Topic | None:
        with self._lock:
            self._advance()
            topic = self._topics.get(self._num(topic_id))
            return dataclasses.replace(topic) if topic else None

    def total_tinybar(self) -> int:
        """The sum of all balances: fees and payments move hbar around, so it never changes."""
        with self._lock:
            return sum(a.balance for a in self._accounts.values())

    def _num(self, value: object) -> int | None:
        try:
            return entity_num(value, self.shard, self.realm)
        except (TypeError, ValueError):
            return None

    # ----- transactions -----

    def submit(self, tx: transaction_pb2.Transaction, node: int) -> transaction_response_pb2.TransactionResponse:
        """Ingest ``tx`` arriving at node account ``node``; the response carries the precheck code."""
        with self._lock:
            self._advance()
            code, fee = self._ingest(tx, node)
            self._advance()
            return transaction_response_pb2.TransactionResponse(nodeTransactionPrecheckCode=code, cost=fee)

    def _ingest(self, tx: transaction_pb2.Transaction, node: int, query_cost: int | None = None) -> tuple[int, int]:
        """Precheck ``tx``; if OK, queue it for consensus. Returns (code, required fee).

        With ``query_cost`` it is the payment of a query: a transfer paying the node at least that much.
        """
        parsed = self._parse(tx)
        if isinstance(parsed, int):
            return parsed, 0
        body, body_bytes, sig_map, raw = parsed
        kind = body.WhichOneof("data")
        code = self._check_syntax(body, node)
        if code != RC.OK:
            return code, 0
        if _txid_key(body.transactionID) in self._txns:
            return RC.DUPLICATE_TRANSACTION, 0
        if query_cost is not None:
            code = self._check_query_payment(body, node, query_cost)
        elif kind not in FEES:
            code = RC.NOT_SUPPORTED
        else:
            code = self._pure_checks(body)
        if code != RC.OK:
            return code, 0
        payer_num = self._resolve(body.transactionID.accountID)
        payer = self._accounts.get(payer_num) if payer_num is not None else None
        if payer is None:
            return RC.PAYER_ACCOUNT_NOT_FOUND, 0
        if payer.deleted:
            return RC.PAYER_ACCOUNT_DELETED, 0
        sigs = _Signatures(sig_map, body_bytes)
        if not sigs.satisfies(payer.key):
            return RC.INVALID_SIGNATURE, 0
        fee = FEES[kind]
        if body.transactionFee < fee:
            return RC.INSUFFICIENT_TX_FEE, fee
        if payer.balance < fee + self._payer_debits(body, payer.num):
            return RC.INSUFFICIENT_PAYER_BALANCE, fee
        txn = _Txn(
            txid=body.transactionID,
            body=body,
            sigs=sigs,
            payer=payer.num,
            node=node,
            fee=fee,
            tx_hash=hashlib.sha384(raw).digest(),
            due=self._clock() + self.consensus_delay,
        )
        self._txns[_txid_key(body.transactionID)] = txn
        self._pending.append(txn)
        return RC.OK, fee

    @staticmethod
    def _parse(tx: transaction_pb2.Transaction):
        """(body, body bytes, signature map, signed bytes) of ``tx``, or a precheck code."""
        try:
            if tx.signedTransactionBytes:
                signed = transaction_contents_pb2.SignedTransaction.FromString(tx.signedTransactionBytes)
                body_bytes, sig_map, raw = signed.bodyBytes, signed.sigMap, tx.signedTransactionBytes
            elif tx.bodyBytes:  # the deprecated unwrapped form
                body_bytes, sig_map, raw = tx.bodyBytes, tx.sigMap, tx.SerializeToString()
            else:
                return RC.INVALID_TRANSACTION_BODY
            body = transaction_pb2.TransactionBody.FromString(body_bytes)
        except DecodeError:
            return RC.INVALID_TRANSACTION_BODY
        return body, body_bytes, sig_map, raw

    def _check_syntax(self, body: transaction_pb2.TransactionBody, node: int) -> int:
        txid = body.transactionID
        if not body.HasField("transactionID") or not txid.HasField("accountID") or txid.scheduled or txid.nonce:
            return RC.INVALID_TRANSACTION_ID
        if self._resolve(body.nodeAccountID) != node:
            return RC.INVALID_NODE_ACCOUNT
        duration = body.transactionValidDuration.seconds
        if not MIN_VALID_DURATION <= duration <= MAX_VALID_DURATION:
            return RC.INVALID_TRANSACTION_DURATION
        start = txid.transactionValidStart.seconds + txid.transactionValidStart.nanos / 1e9
        now = self._clock()
        if start > now:
            return RC.INVALID_TRANSACTION_START
        if start + duration < now:
            return RC.TRANSACTION_EXPIRED
        if len(body.memo.encode()) > MAX_MEMO_BYTES:
            return RC.MEMO_TOO_LONG
        if "\0" in body.memo:
            return RC.INVALID_ZERO_BYTE_IN_STRING
        return RC.OK

    def _pure_checks(self, body: transaction_pb2.TransactionBody) -> int:
        kind = body.WhichOneof("data")
        if kind == "cryptoCreateAccount":
            op = body.cryptoCreateAccount
            if op.initialBalance < 0:
                return RC.INVALID_INITIAL_BALANCE
            if not op.HasField("autoRenewPeriod"):
                return RC.INVALID_RENEWAL_PERIOD
        elif kind == "cryptoTransfer":
            return self._check_transfer_list(body.cryptoTransfer.transfers.accountAmounts)
        return RC.OK

    @staticmethod
    def _check_transfer_list(amounts: Iterable[basic_types_pb2.AccountAmount]) -> int:
        amounts = list(amounts)
        if any(a.is_approval for a in amounts):
            return RC.NOT_SUPPORTED
        if sum(a.amount for a in amounts) != 0:
            return RC.INVALID_ACCOUNT_AMOUNTS
        ids = [a.accountID.SerializeToString(deterministic=True) for a in amounts]
        return RC.ACCOUNT_REPEATED_IN_ACCOUNT_AMOUNTS if len(set(ids)) != len(ids) else RC.OK

    def _check_query_payment(self, body: transaction_pb2.TransactionBody, node: int, cost: int) -> int:
        if body.WhichOneof("data") != "cryptoTransfer":
            return RC.INSUFFICIENT_TX_FEE
        amounts = body.cryptoTransfer.transfers.accountAmounts
        code = self._check_transfer_list(amounts)
        if code != RC.OK:
            return code
        to_node = sum(a.amount for a in amounts if self._resolve(a.accountID) == node)
        return RC.OK if to_node >= cost else RC.INSUFFICIENT_TX_FEE

    def _payer_debits(self, body: transaction_pb2.TransactionBody, payer: int) -> int:
        """What the operation itself takes from the payer, beyond the fee (the solvency precheck)."""
        kind = body.WhichOneof("data")
        if kind == "cryptoCreateAccount":
            return body.cryptoCreateAccount.initialBalance
        if kind == "cryptoTransfer":
            amounts = body.cryptoTransfer.transfers.accountAmounts
            return -sum(a.amount for a in amounts if self._resolve(a.accountID) == payer and a.amount < 0)
        return 0

    def _resolve(self, account_id: basic_types_pb2.AccountID) -> int | None:
        """The number of an AccountID proto (by number or alias) in this shard and realm, or None."""
        if (account_id.shardNum, account_id.realmNum) != (self.shard, self.realm):
            return None
        if account_id.WhichOneof("account") == "alias":
            return self._aliases.get(account_id.alias)
        return account_id.accountNum or None

    # ----- consensus -----

    def _advance(self) -> None:
        """Handle, in order, every queued transaction whose consensus time has come."""
        now = self._clock()
        while self._pending and self._pending[0].due <= now:
            txn = self._pending.popleft()
            self._last_consensus_ns = max(int(now * 1e9), self._last_consensus_ns + 1000)
            txn.consensus_ns = self._last_consensus_ns
            self._handle(txn)

    def _handle(self, txn: _Txn) -> None:
        payer = self._accounts[txn.payer]
        txn.charged = min(txn.fee, payer.balance)
        self._move(payer.num, FUNDING_ACCOUNT, txn.charged, txn.transfers)
        if txn.charged < txn.fee:
            txn.status = RC.INSUFFICIENT_PAYER_BALANCE
            return
        kind = txn.body.WhichOneof("data")
        handler = {
            "cryptoCreateAccount": self._handle_crypto_create,
            "consensusCreateTopic": self._handle_topic_create,
            "cryptoTransfer": self._handle_transfer,
        }[kind]
        txn.status = handler(txn)

    def _move(self, source: int, target: int, amount: int, transfers: dict[int, int]) -> None:
        self._accounts[source].balance -= amount
        self._accounts[target].balance += amount
        transfers[source] = transfers.get(source, 0) - amount
        transfers[target] = transfers.get(target, 0) + amount

    def _new_num(self) -> int:
        num = self._next_num
        self._next_num += 1
        return num

    def _handle_crypto_create(self, txn: _Txn) -> int:
        op = txn.body.cryptoCreateAccount
        payer = self._accounts[txn.payer]
        if payer.balance < op.initialBalance:
            return RC.INSUFFICIENT_PAYER_BALANCE
        if len(op.memo.encode()) > MAX_MEMO_BYTES:
            return RC.MEMO_TOO_LONG
        code = self._check_key_and_alias(op, txn.sigs)
        if code != RC.OK:
            return code
        if not MIN_AUTO_RENEW <= op.autoRenewPeriod.seconds <= MAX_AUTO_RENEW:
            return RC.AUTORENEW_DURATION_NOT_IN_RANGE
        if op.receiverSigRequired and not txn.sigs.satisfies(op.key):
            return RC.INVALID_SIGNATURE
        num = self._new_num()
        self._accounts[num] = Account(
            num=num,
            key=op.key,
            balance=0,
            alias=op.alias,
            memo=op.memo,
            receiver_sig_required=op.receiverSigRequired,
            auto_renew_seconds=op.autoRenewPeriod.seconds,
            expiration_second=txn.consensus_ns // 1_000_000_000 + op.autoRenewPeriod.seconds,
            max_automatic_token_associations=op.max_automatic_token_associations,
        )
        if op.alias:
            self._aliases[op.alias] = num
        self._move(payer.num, num, op.initialBalance, txn.transfers)
        txn.created_account = num
        return RC.SUCCESS

    def _check_key_and_alias(self, op, sigs: _Signatures) -> int:
        """The services' CryptoCreateValidator rules, plus the alias owner's signature (HIP-583)."""
        has_key, alias = op.HasField("key"), op.alias
        if not has_key:
            return RC.INVALID_ALIAS_KEY if alias else RC.KEY_REQUIRED
        code = _key_problem(op.key)
        if code != RC.OK or not alias:
            return code
        if len(alias) == EVM_ADDRESS_SIZE:
            if alias[:12] == bytes(12):  # a long-zero ("mirror") address names an entity number, not a key
                return RC.INVALID_ALIAS_KEY
        elif len(alias) == ECDSA_KEY_ALIAS_SIZE and alias.startswith(b"\x3a\x21"):
            pass
        elif len(alias) != ED25519_KEY_ALIAS_SIZE:
            return RC.INVALID_ALIAS_KEY
        if alias in self._aliases:
            return RC.ALIAS_ALREADY_ASSIGNED
        if len(alias) == EVM_ADDRESS_SIZE:
            derived = op.key.WhichOneof("key") == "ECDSA_secp256k1" and _evm_address(op.key.ECDSA_secp256k1) == alias
            if not derived and alias not in sigs.evm_signers():
                return RC.INVALID_SIGNATURE
        else:
            try:
                alias_key = basic_types_pb2.Key.FromString(alias)
            except DecodeError:
                return RC.INVALID_ALIAS_KEY
            if alias_key != op.key and not sigs.satisfies(alias_key):
                return RC.INVALID_SIGNATURE
        return RC.OK

    def _handle_topic_create(self, txn: _Txn) -> int:
        op = txn.body.consensusCreateTopic
        if len(op.memo.encode()) > MAX_MEMO_BYTES:
            return RC.MEMO_TOO_LONG
        if op.HasField("adminKey"):
            if _key_problem(op.adminKey) != RC.OK:
                return RC.BAD_ENCODING
            if not txn.sigs.satisfies(op.adminKey):
                return RC.INVALID_SIGNATURE
        if op.HasField("submitKey") and _key_problem(op.submitKey) != RC.OK:
            return RC.BAD_ENCODING
        if not MIN_AUTO_RENEW <= op.autoRenewPeriod.seconds <= MAX_AUTO_RENEW:
            return RC.AUTORENEW_DURATION_NOT_IN_RANGE
        renew_account = None
        if op.HasField("autoRenewAccount"):
            renew_account = self._resolve(op.autoRenewAccount)
            if renew_account not in self._accounts:
                return RC.INVALID_AUTORENEW_ACCOUNT
            if not txn.sigs.satisfies(self._accounts[renew_account].key):
                return RC.INVALID_SIGNATURE
        num = self._new_num()
        self._topics[num] = Topic(
            num=num,
            memo=op.memo,
            admin_key=op.adminKey if op.HasField("adminKey") else None,
            submit_key=op.submitKey if op.HasField("submitKey") else None,
            auto_renew_seconds=op.autoRenewPeriod.seconds,
            auto_renew_account=renew_account,
            expiration_second=txn.consensus_ns // 1_000_000_000 + op.autoRenewPeriod.seconds,
        )
        txn.created_topic = num
        return RC.SUCCESS

    def _handle_transfer(self, txn: _Txn) -> int:
        if txn.body.cryptoTransfer.tokenTransfers:
            return RC.NOT_SUPPORTED
        moves = []
        for amount in txn.body.cryptoTransfer.transfers.accountAmounts:
            num = self._resolve(amount.accountID)
            acct = self._accounts.get(num) if num is not None else None
            if acct is None:
                return RC.INVALID_ACCOUNT_ID
            if acct.deleted:
                return RC.ACCOUNT_DELETED
            if amount.amount < 0 and not txn.sigs.satisfies(acct.key):
                return RC.INVALID_SIGNATURE
            if amount.amount > 0 and acct.receiver_sig_required and not txn.sigs.satisfies(acct.key):
                return RC.INVALID_SIGNATURE
            if acct.balance + amount.amount < 0:
                return RC.INSUFFICIENT_ACCOUNT_BALANCE
            moves.append((acct, amount.amount))
        for acct, amount in moves:
            acct.balance += amount
            txn.transfers[acct.num] = txn.transfers.get(acct.num, 0) + amount
        return RC.SUCCESS

    # ----- queries -----

    def answer(self, query: query_pb2.Query, node: int) -> response_pb2.Response:
        """Answer ``query`` at node account ``node``: cost answers, payment, then the answer itself."""
        response, kind, out = _response_for(query)
        if kind is None:
            return response
        inner = getattr(query, kind)
        with self._lock:
            self._advance()
            out.header.nodeTransactionPrecheckCode = self._answer(kind, inner, out, node)
            self._advance()
        return response

    def _answer(self, kind: str, inner, out, node: int) -> int:
        answerers = {
            "cryptoGetInfo": self._account_info,
            "cryptogetAccountBalance": self._account_balance,
            "consensusGetTopicInfo": self._topic_info,
            "transactionGetReceipt": self._receipt,
            "transactionGetRecord": self._record,
        }
        if kind not in answerers:
            return RC.NOT_SUPPORTED
        answerer = answerers[kind]
        code = answerer(inner, None)  # an unknown entity fails before anything is paid
        if code != RC.OK:
            return code
        cost = 0 if kind in FREE_QUERIES else QUERY_COSTS[kind]
        if inner.header.responseType not in (query_header_pb2.ANSWER_ONLY, query_header_pb2.ANSWER_STATE_PROOF):
            out.header.cost = cost  # COST_ANSWER (and COST_ANSWER_STATE_PROOF) need no payment
            return RC.OK
        if cost:
            if not inner.header.HasField("payment"):
                return RC.INSUFFICIENT_TX_FEE
            code, _ = self._ingest(inner.header.payment, node, query_cost=cost)
            if code != RC.OK:
                return code
        return answerer(inner, out)

    def _entity_id_proto(self, num: int) -> basic_types_pb2.AccountID:
        return basic_types_pb2.AccountID(shardNum=self.shard, realmNum=self.realm, accountNum=num)

    def _account_info(self, q, out) -> int:
        num = self._resolve(q.accountID)
        acct = self._accounts.get(num) if num is not None else None
        if acct is None:
            return RC.INVALID_ACCOUNT_ID
        if acct.deleted:
            return RC.ACCOUNT_DELETED
        if out is not None:
            info = crypto_get_info_pb2.CryptoGetInfoResponse.AccountInfo(
                accountID=self._entity_id_proto(acct.num),
                contractAccountID=self.evm_address(acct.num).hex(),
                key=acct.key,
                balance=acct.balance,
                receiverSigRequired=acct.receiver_sig_required,
                expirationTime=timestamp_pb2.Timestamp(seconds=acct.expiration_second),
                autoRenewPeriod=duration_pb2.Duration(seconds=acct.auto_renew_seconds),
                memo=acct.memo,
                max_automatic_token_associations=acct.max_automatic_token_associations,
                alias=acct.alias,
                ledger_id=LEDGER_ID,
            )
            out.accountInfo.CopyFrom(info)
        return RC.OK

    def evm_address(self, num: int) -> bytes:
        """An account's EVM address: its EVM alias, else the long-zero address of its number."""
        alias = self._accounts[num].alias if num in self._accounts else b""
        if len(alias) == EVM_ADDRESS_SIZE:
            return alias
        return self.shard.to_bytes(4, "big") + self.realm.to_bytes(8, "big") + num.to_bytes(8, "big")

    def _account_balance(self, q, out) -> int:
        if q.WhichOneof("balanceSource") != "accountID":
            return RC.INVALID_ACCOUNT_ID
        num = self._resolve(q.accountID)
        acct = self._accounts.get(num) if num is not None else None
        if acct is None:
            return RC.INVALID_ACCOUNT_ID
        if acct.deleted:
            return RC.ACCOUNT_DELETED
        if out is not None:
            out.accountID.CopyFrom(self._entity_id_proto(acct.num))
            out.balance = acct.balance
        return RC.OK

    def _topic_info(self, q, out) -> int:
        tid = q.topicID
        topic = self._topics.get(tid.topicNum) if (tid.shardNum, tid.realmNum) == (self.shard, self.realm) else None
        if topic is None:
            return RC.INVALID_TOPIC_ID
        if out is not None:
            out.topicID.CopyFrom(basic_types_pb2.TopicID(shardNum=self.shard, realmNum=self.realm, topicNum=topic.num))
            info = consensus_topic_info_pb2.ConsensusTopicInfo(
                memo=topic.memo,
                runningHash=topic.running_hash,
                sequenceNumber=topic.sequence_number,
                expirationTime=timestamp_pb2.Timestamp(seconds=topic.expiration_second),
                autoRenewPeriod=duration_pb2.Duration(seconds=topic.auto_renew_seconds),
                ledger_id=LEDGER_ID,
            )
            if topic.admin_key is not None:
                info.adminKey.CopyFrom(topic.admin_key)
            if topic.submit_key is not None:
                info.submitKey.CopyFrom(topic.submit_key)
            if topic.auto_renew_account is not None:
                info.autoRenewAccount.CopyFrom(self._entity_id_proto(topic.auto_renew_account))
            out.topicInfo.CopyFrom(info)
        return RC.OK

    def _receipt(self, q, out) -> int:
        txn = self._txns.get(_txid_key(q.transactionID))
        if txn is None:
            return RC.RECEIPT_NOT_FOUND
        if out is not None:
            out.receipt.CopyFrom(self._receipt_proto(txn))
        return RC.OK

    def _record(self, q, out) -> int:
        txn = self._txns.get(_txid_key(q.transactionID))
        if txn is None or txn.status == RC.UNKNOWN:
            return RC.RECORD_NOT_FOUND
        if out is not None:
            record = transaction_record_pb2.TransactionRecord(
                receipt=self._receipt_proto(txn),
                transactionHash=txn.tx_hash,
                consensusTimestamp=_timestamp(txn.consensus_ns),
                transactionID=txn.txid,
                memo=txn.body.memo,
                transactionFee=txn.charged,
            )
            for num, amount in sorted(txn.transfers.items()):
                if amount:
                    record.transferList.accountAmounts.add(accountID=self._entity_id_proto(num), amount=amount)
            if txn.created_account is not None and len(txn.body.cryptoCreateAccount.alias) == EVM_ADDRESS_SIZE:
                record.evm_address = txn.body.cryptoCreateAccount.alias
            out.transactionRecord.CopyFrom(record)
        return RC.OK

    def _receipt_proto(self, txn: _Txn) -> transaction_receipt_pb2.TransactionReceipt:
        receipt = transaction_receipt_pb2.TransactionReceipt(status=txn.status)
        if txn.status == RC.UNKNOWN:
            return receipt
        expiry = timestamp_pb2.TimestampSeconds(seconds=txn.consensus_ns // 1_000_000_000 + 3600)
        rate = exchange_rate_pb2.ExchangeRate(hbarEquiv=1, centEquiv=12, expirationTime=expiry)
        receipt.exchangeRate.CopyFrom(exchange_rate_pb2.ExchangeRateSet(currentRate=rate, nextRate=rate))
        if txn.created_account is not None:
            receipt.accountID.CopyFrom(self._entity_id_proto(txn.created_account))
        if txn.created_topic is not None:
            receipt.topicID.CopyFrom(
                basic_types_pb2.TopicID(shardNum=self.shard, realmNum=self.realm, topicNum=txn.created_topic)
            )
        return receipt
