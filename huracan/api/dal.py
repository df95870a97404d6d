"""The API's data access: trades (conditional put / consistent get) and the signature replay store.

No SDK is imported here: the trades go through the pynamodb models of :mod:`huracan.adapters.tables`,
the replay store through the cached client of :mod:`huracan.adapters.clients`, and every failure leaves
as a domain error from :mod:`huracan.adapters.errors` (``AlreadyExists``, ``TransientError`` ...).

Where the replay cache lives: in the ``IdempotencyTable`` (the Powertools store, HASH ``id``, TTL
``expiration``), one item ``hamilton-signature#<hex>`` per verified signature, written with
``attribute_not_exists(id)``. That makes "seen before?" atomic across every Lambda container, and the TTL
cleans up; a signature older than the freshness window is refused as stale anyway, so an expired item that
TTL has not swept yet changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from huracan.adapters.clients import client
from huracan.adapters.errors import AlreadyExists, translate_errors
from huracan.adapters.settings import AwsSettings
from huracan.adapters.tables import Tables

__all__ = ["REPLAY_KEY_PREFIX", "DynamoReplayGuard", "DynamoTradesStore", "StoredTrade", "TradesStore"]

REPLAY_KEY_PREFIX = "hamilton-signature#"


@dataclass(frozen=True, slots=True)
class StoredTrade:
    """What a repeat POST needs to know about the trade already recorded."""

    trade_id: str
    payload_sha256: str | None
    received_at: str | None


class TradesStore(Protocol):
    def create(self, attributes: Mapping[str, Any]) -> None:
        """Write a new trade; :class:`AlreadyExists` if ``trade_id`` is taken (nothing is overwritten)."""

    def get(self, trade_id: str) -> StoredTrade | None:
        """The recorded trade (strongly consistent read), or None."""


class DynamoTradesStore:
    """The ``trades`` table through :class:`~huracan.adapters.tables.TradeItem`."""

    def __init__(self, tables: Tables) -> None:
        self.model = tables.trades

    def create(self, attributes: Mapping[str, Any]) -> None:
        item = self.model(**attributes)
        with translate_errors("trades.PutItem", conflict=AlreadyExists):
            item.save(condition=self.model.trade_id.does_not_exist())

    def get(self, trade_id: str) -> StoredTrade | None:
        with translate_errors("trades.GetItem"):
            try:
                item = self.model.get(trade_id, consistent_read=True)
            except self.model.DoesNotExist:
                return None
        return StoredTrade(trade_id=item.trade_id, payload_sha256=item.payload_sha256, received_at=item.received_at)


class DynamoReplayGuard:
    """Verified signatures in the idempotency table (see the module docstring)."""

    def __init__(self, table_name: str, settings: AwsSettings, *, ddb_client: Any = None) -> None:
        self.table_name = table_name
        self._settings = settings
        self._client = ddb_client

    def remember(self, signature_hex: str, expires_at: int) -> bool:
        ddb = self._client if self._client is not None else client("dynamodb", self._settings)
        try:
            with translate_errors("idempotency.PutItem", conflict=AlreadyExists):
                ddb.put_item(
                    TableName=self.table_name,
                    Item={
                        "id": {"S": REPLAY_KEY_PREFIX + signature_hex},
                        "expiration": {"N": str(int(expires_at))},
                        "status": {"S": "SEEN"},
                    },
                    ConditionExpression="attribute_not_exists(#id)",
                    ExpressionAttributeNames={"#id": "id"},
                )
        except AlreadyExists:
            return False
        return True
