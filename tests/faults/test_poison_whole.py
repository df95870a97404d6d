"""Attack: poison that used to escape per-record parking (issue 17, table rows 5-9).

Each bad record is slipped into one window of real FTX records (one batch of 100) and must be parked alone,
whole, with its reason, while the other 99 land once: JSON nested 5,000 deep, a bar valid by schema but
unstorable (volume 1e-200, below DynamoDB's smallest number), a ``signal_id`` repeated with different content,
a 900 kB record, and signals re-dated 400 days ahead or to 2099. Before the fix: the deep record crashed the
batch (5 bisections, neighbours parked by the mapping without reason), the unstorable bar parked all 84 bars of
its batch although 39 were written, the conflicting signal was dropped silently, the 900 kB record's dead-letter
copy was cut to 150 kB (lost), and the re-dated signals were accepted.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest

from huracan.core.timeutil import epoch_s
from huracan.local.reconcile import record_identity
from huracan.local.replay import StreamRecord
from huracan.local.runtime import LocalRuntime
from tests.faults.conftest import run_replay
from tests.faults.test_poison import RawRecord, batch_with_poison

FIGURES: dict[str, dict[str, int]] = {}


def _signal(ts: str, signal_id: str, **change: Any) -> dict[str, Any]:
    doc = {
        "type": "signal",
        "signal_id": signal_id,
        "symbol": "BTC-PERP",
        "ts": ts,
        "side": "long",
        "mode": "scalp",
        "confidence": 0.7,
        "price": 47000.0,
        "strategy": "attack",
    }
    return doc | change


def _at(half_day: list[StreamRecord], offset_s: int = 0) -> str:
    """A stamp inside the poison's window (the 50th record's publish time, plus ``offset_s``)."""
    window_records, _ = batch_with_poison(half_day, b"{}")
    return _iso(window_records[49].publish_at + offset_s)


def _deep(ts: str, depth: int) -> bytes:
    head = json.dumps(_signal(ts, "deep"))[:-1]
    return (head + ', "features": ' + "[" * depth + "]" * depth + "}").encode()


def _assert_parked_alone(run: Any, raw: bytes, reason_has: str) -> str:
    run.books.assert_ok()
    assert (run.books.records_in, run.books.processed, run.books.parked, len(run.books.lost)) == (100, 99, 1, 0)
    reason = str(run.books.parked_reasons[record_identity(raw)])
    assert reason_has in reason.lower(), reason
    assert run.poller.handler_errors == 0 and run.poller.bisections == 0 and run.poller.sent_to_on_failure == 0
    return reason


def test_promise_json_nested_5000_deep_is_parked_alone_as_invalid_json(half_day: list[StreamRecord]) -> None:
    records, raw = batch_with_poison(half_day, _deep(_at(half_day), 5000))
    run = run_replay(records, window_s=7200)
    _assert_parked_alone(run, raw, "json")
    assert run.poller.invocations == [100]
    FIGURES["deep_json"] = run.books.figures()


def test_promise_an_unstorable_bar_parks_only_itself_and_written_bars_are_not_failed(
    half_day: list[StreamRecord],
) -> None:
    window_records, _ = batch_with_poison(half_day, b"{}")
    bar = next(r for r in window_records if r.payload.get("type") == "bar")
    stamp = _at(half_day, -30)
    doc = dict(bar.payload) | {"ts": stamp, "volume": 1e-200}  # valid by schema
    records, raw = batch_with_poison(half_day, json.dumps(doc).encode())
    run = run_replay(records, window_s=7200)
    reason = _assert_parked_alone(run, raw, "bar write refused")
    assert stamp not in {str(p["ts"]) for p in run.tables["PricesTable"]}, reason
    FIGURES["unstorable_bar"] = run.books.figures()


def test_promise_a_signal_id_repeated_with_other_content_is_parked_as_a_conflict_and_a_redelivery_is_not(
    half_day: list[StreamRecord],
) -> None:
    window_records, _ = batch_with_poison(half_day, b"{}")
    original = _signal(_at(half_day, -60), "attack-dup")
    later = window_records[-1].publish_at
    records = [
        *window_records[:50],
        RawRecord(window_records[49].publish_at, "BTC-PERP", json.dumps(original).encode()),
        *window_records[50:],
        RawRecord(later + 60, "BTC-PERP", json.dumps(original).encode()),  # a true redelivery
        RawRecord(later + 120, "BTC-PERP", json.dumps(original | {"side": "short", "price": 46000.0}).encode()),
    ]
    parked: list[dict[str, Any]] = []

    def capture(rt: LocalRuntime, _: Any, run: Any) -> None:
        decisions = [d for d in run.tables["DecisionsTable"] if d["signal_id"] == "attack-dup"]
        parked.extend(decisions)

    run = run_replay(records, window_s=7200, after=capture)
    reason = str(run.books.parked_reasons.get(("signal", "attack-dup"), ""))
    assert "signal_id conflict" in reason and "side 'long' != 'short'" in reason, reason
    assert len(parked) == 1 and parked[0]["side"] == "long"  # the first decision stands
    assert not run.books.lost
    FIGURES["signal_conflict"] = run.books.figures()


def test_promise_a_900_kb_record_is_parked_whole_by_claim_check(half_day: list[StreamRecord]) -> None:
    big = json.dumps(_signal(_at(half_day), "big") | {"note": "x" * 900_000}).encode()
    records, raw = batch_with_poison(half_day, big)
    claims: list[dict[str, Any]] = []

    def keep(rt: LocalRuntime, _: Any, run: Any) -> None:
        s3 = boto3.client("s3")
        listed = s3.list_objects_v2(Bucket=rt.physical("ModelBucket"), Prefix="dead-letters/").get("Contents", [])
        for obj in listed:
            body = s3.get_object(Bucket=rt.physical("ModelBucket"), Key=obj["Key"])["Body"].read()
            claims.append({"key": obj["Key"], "data": base64.b64decode(body)})

    run = run_replay(records, window_s=7200, after=keep)
    _assert_parked_alone(run, raw, "")
    assert [c["data"] for c in claims] == [raw]  # the whole record, byte for byte
    FIGURES["claim_check"] = run.books.figures()


@pytest.mark.parametrize("stamp", ["400_days_ahead", "2099"])
def test_promise_records_stamped_far_in_the_future_are_refused_with_their_reason(
    half_day: list[StreamRecord], stamp: str
) -> None:
    window_records, _ = batch_with_poison(half_day, b"{}")
    base = window_records[49].publish_at
    ts = "2099-01-03T02:30:00Z" if stamp == "2099" else _iso(base + 400 * 86400)
    records, raw = batch_with_poison(half_day, json.dumps(_signal(ts, f"future-{stamp}")).encode())
    run = run_replay(records, window_s=7200)
    _assert_parked_alone(run, raw, "ts:")
    # TTLs count from when the rows were written (the replay's arrival time), not from their own stamps
    # (one write time per window's batch, at or after every stamp in it; before the fix each decision's own ts)
    written = {int(d["expires_at"]) - 400 * 86400 for d in run.tables["DecisionsTable"]}
    assert len(written) < len(run.tables["DecisionsTable"]) and len(written) <= 2
    for d in run.tables["DecisionsTable"]:
        assert epoch_s(str(d["ts"])) <= int(d["expires_at"]) - 400 * 86400 <= max(r.publish_at for r in records)
    FIGURES[f"future_{stamp}"] = run.books.figures()


def test_promise_a_record_older_than_the_prices_retention_is_refused(half_day: list[StreamRecord]) -> None:
    window_records, _ = batch_with_poison(half_day, b"{}")
    old = _iso(window_records[49].publish_at - 40 * 86400)
    records, raw = batch_with_poison(half_day, json.dumps(_signal(old, "too-old")).encode())
    run = run_replay(records, window_s=7200)
    _assert_parked_alone(run, raw, "older than the prices retention")


def _iso(t: float) -> str:
    from huracan.core.timeutil import from_epoch_s

    out = from_epoch_s(int(t))
    assert abs(epoch_s(out) - int(t)) < 1
    return out
