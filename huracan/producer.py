"""Send your own signals to a Huracan stack: ``from huracan.producer import SignalPublisher``.

    publisher = SignalPublisher.for_stack("huracan-prod")          # or SignalPublisher("stream-name")
    result = publisher.publish([{"ts": "2026-12-07T14:05:00Z", "symbol": "BTCUSDT", "side": "long",
                                 "mode": "scalp", "confidence": 0.72}])
    assert result.sent == 1 and not result.failed

Every signal is checked against ``schemas/signal.schema.json`` before anything is sent; records go in
``PutRecords`` batches of at most 500 with the partition key = symbol; only throttled records are retried.
"""

from __future__ import annotations

from huracan.adapters.producer import InvalidSignal, PublishResult, SignalPublisher

__all__ = ["InvalidSignal", "PublishResult", "SignalPublisher"]
