"""The nightly job on moto: real FTX bars (three days in the S3 archive, the last day in the prices table),
decisions passed and blocked, shadow trades and Hamilton trades, through archive -> counterfactuals ->
collect -> train -> register -> mark -> report, with a KMS-signed S3 registry.

Two worlds: the real strategies' signals (no edge: a candidate with reasons, nothing published) and a
planted edge (the same bars, signals whose success depends on trend efficiency: published, loadable). A
third night injects a failure into the upload and checks that ``latest.json`` did not move.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

import boto3
import numpy as np
import pytest

from huracan.adapters.archive import BarArchive
from huracan.adapters.repository import Repository
from huracan.adapters.s3_store import S3Store
from huracan.adapters.settings import AwsSettings
from huracan.adapters.tables import bind_tables
from huracan.adapters.training_store import NightlySettings, TrainingStore
from huracan.core.bars import BarArrays
from huracan.core.config import load_config
from huracan.core.features import MODEL_FEATURES, features_history, model_matrix
from huracan.core.records import Bar
from huracan.core.strategies import StrategySignals, signal_id_for, signals_history
from huracan.core.timeutil import epoch_s, from_epoch_s
from huracan.learning.nightly import NightlyResult, ports_from_settings, run_nightly
from huracan.learning.pipeline import TrainingConfig
from huracan.learning.readiness import ReadinessPolicy
from huracan.learning.train import MetaLabelLearner
from huracan.local.planted_signals import PlantedSignals
from huracan.registry.errors import ModelNotFoundError
from huracan.registry.registry import ModelRegistry
from huracan.service.entities import DecisionOutcome, DecisionRecord
from huracan.service.evaluate import shadow_id_for
from huracan.serving.onnx_export import onnx_artifacts
from huracan.signals.source import SignalSource, builtin
from tests.integration._stack import aws_endpoint, create_resources

SYMBOL = "BTC-PERP"
DATA_DAY = "2022-01-05"
EVENT_TIME = "2022-01-06T00:00:00Z"
ENGINE = load_config("demo")
FAST = TrainingConfig(
    n_boot=200,
    permutation_repeats=1,
    n_folds=3,
    learner=MetaLabelLearner(num_boost_round=60),
    policy=ReadinessPolicy(min_samples=600),
)


@pytest.fixture(scope="module")
def endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    with aws_endpoint(request) as url:
        yield url


@dataclass
class World:
    settings: NightlySettings
    bucket: str
    queue_url: str
    signals: list[DecisionRecord]
    trade_ids: list[str]

    def registry(self, store: S3Store | None = None) -> ModelRegistry:
        from huracan.adapters.kms_signer import KmsSigner

        signer = KmsSigner(cast(str, self.settings.model_signing_key_id), client=boto3.client("kms"))
        return ModelRegistry(f"s3://{self.bucket}/models", signer, store=store, extra_artifacts=onnx_artifacts)


def _bar(b: BarArrays, i: int) -> Bar:
    return Bar(
        type="bar",
        symbol=SYMBOL,
        ts=from_epoch_s(int(b.ts[i])),
        open=float(b.open[i]),
        high=float(b.high[i]),
        low=float(b.low[i]),
        close=float(b.close[i]),
        volume=float(b.volume[i]),
    )


def _at(bars: BarArrays, ts: str) -> int:
    return int(np.searchsorted(bars.ts, epoch_s(ts), side="left"))


def build_world(endpoint: str, bars: BarArrays, source: Callable[[BarArrays], StrategySignals]) -> World:
    """Fresh tables, bucket, topic (with a queue listening), key; bars; the data day's decisions and trades."""
    day0, day1 = _at(bars, f"{DATA_DAY}T00:00:00Z"), _at(bars, EVENT_TIME)
    env = create_resources(endpoint)
    region = env["AWS_REGION"]
    bucket = f"nightly-{uuid.uuid4().hex[:10]}"
    boto3.client("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": cast(Any, region)})
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=f"notifications-{uuid.uuid4().hex[:8]}")["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"listener-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    key = boto3.client("kms").create_key(KeyUsage="SIGN_VERIFY", KeySpec="ECC_NIST_P256")["KeyMetadata"]["KeyId"]
    env.update(
        {
            "MODEL_BUCKET": bucket,
            "NOTIFICATIONS_TOPIC_ARN": topic,
            "MODEL_SIGNING_KEY_ID": key,
            "HURACAN_PROFILE": "demo",
            "TRAINING_LOOKBACK_DAYS": "4",
            "GIT_SHA": "0123456789abcdef0123456789abcdef01234567",
        }
    )
    settings = NightlySettings.from_env(env)
    # three days in the archive, the data day only in the prices table (the job archives it)
    BarArchive(bucket, AwsSettings.from_env(env)).put_bars(SYMBOL, bars.slice(_at(bars, "2022-01-02T00:00:00Z"), day0))
    repo = Repository(bind_tables(settings))
    repo.put_bars([_bar(bars, i) for i in range(day0, day1)], None)

    # decisions of the data day: every other one passed (with a shadow trade), the rest blocked
    window = bars.slice(day0 - 200, day1)
    sig = source(window)
    hist = features_history(window)
    tables = bind_tables(settings)
    decisions: list[DecisionRecord] = []
    for n, k in enumerate(sig.bar_idx.tolist()):
        t0 = int(window.ts[k]) + 60
        if k < 200 or not np.isfinite(hist[k, 0]):
            continue
        side, mode = sig.side[n], sig.mode[n]
        row = model_matrix(hist[k : k + 1], [1 if side == "long" else -1], [sig.confidence[n]], [mode == "runner"])[0]
        signal_id = signal_id_for(sig.strategy[n], SYMBOL, t0)
        passed = n % 2 == 0
        rec = DecisionRecord(
            signal_id=signal_id,
            day=from_epoch_s(t0)[:10],
            ts=from_epoch_s(t0),
            symbol=SYMBOL,
            side=side,
            mode=mode,
            strategy=sig.strategy[n],
            confidence=float(sig.confidence[n]),
            price=float(window.close[k]),
            features_json=json.dumps(
                {f: (None if not np.isfinite(v) else float(v)) for f, v in zip(MODEL_FEATURES, row, strict=True)}
            ),
            gates={},
            passed=passed,
            blocked_by=() if passed else ("cost_gate",),
            prob=None,
            prob_source="prior",
            regime="RANGE",
            regime_source="rule",
            model_id=None,
            config_version=ENGINE.version,
            expected_return_bps=None,
            cost_bps=None,
            shadow_id=shadow_id_for(signal_id) if passed else None,
            expires_at_epoch=None,
        )
        repo.create_decision(rec)
        decisions.append(rec)
    # a few shadow trades (the marks are checked on them) and three of Hamilton's trades linked to them
    trade_ids = []
    for j, rec in enumerate([d for d in decisions if d.passed][:12]):
        assert rec.shadow_id is not None
        tables.shadow_trades(
            rec.shadow_id,
            ts=rec.ts,
            day=rec.day,
            symbol=SYMBOL,
            mode=rec.mode,
            side=rec.side,
            entry_price=rec.price,
            signal_id=rec.signal_id,
            timeout_at=from_epoch_s(epoch_s(rec.ts) + 1800),
            tp_price=rec.price,
            sl_price=rec.price,
            status="CLOSED",
        ).save()
        if j < 3:
            trade_id = f"ham-{j}"
            tables.trades(
                trade_id,
                ts_open=rec.ts,
                day=rec.day,
                symbol=SYMBOL,
                mode=rec.mode,
                side=rec.side,
                status="closed",
                outcome="WIN" if j % 2 == 0 else "LOSS",
                pnl_bps=25.0 if j % 2 == 0 else -45.0,
                engine_shadow_id=rec.shadow_id,
            ).save()
            trade_ids.append(trade_id)
    return World(settings=settings, bucket=bucket, queue_url=queue_url, signals=decisions, trade_ids=trade_ids)


def _night(world: World, source: SignalSource, **kw: Any) -> NightlyResult:
    ports = ports_from_settings(world.settings, registry=kw.pop("registry", world.registry()))
    # forward=None: these tests are about publishing (upload, verification, the pointer switch, marks), which a
    # promotion on forward evidence goes through the same way; tests/unit/test_nightly_run.py has the shadow path
    return run_nightly(
        EVENT_TIME,
        world.settings,
        ports=ports,
        training=kw.pop("training", FAST),
        signal_source=source,
        forward=kw.pop("forward", None),
    )


@pytest.fixture(scope="module")
def no_edge(endpoint: str, ftx_month: BarArrays) -> tuple[World, NightlyResult]:
    world = build_world(endpoint, ftx_month, signals_history)
    return world, _night(world, builtin)


@pytest.fixture(scope="module")
def planted_source(ftx_month: BarArrays) -> PlantedSignals:
    return PlantedSignals(strength=1.5, stride=2, config=ENGINE).fit(ftx_month.slice(0, _at(ftx_month, EVENT_TIME)))


@pytest.fixture(scope="module")
def planted(endpoint: str, ftx_month: BarArrays, planted_source: PlantedSignals) -> tuple[World, NightlyResult]:
    world = build_world(endpoint, ftx_month, planted_source)
    return world, _night(world, planted_source)


def test_no_edge_keeps_a_candidate_with_reasons_and_publishes_nothing(no_edge: tuple[World, NightlyResult]) -> None:
    world, result = no_edge
    # Then the challenger is stored as a candidate, with the verdict's reasons, and latest.json does not exist
    assert result.status == "candidate" and result.model_id is None and result.candidate_id
    assert result.reasons and any("no evidence of an edge" in r or "labelled samples" in r for r in result.reasons)
    registry = world.registry()
    with pytest.raises(ModelNotFoundError):
        registry.load_latest_model()
    card = registry.check_model(result.candidate_id)
    assert card["stage"] == "candidate" and card["readiness"]["ready"] is False
    assert card["readiness"]["reasons"] == list(result.reasons)
    assert card["data_snapshot_id"] == result.snapshot_id
    assert card["code_git_sha"] == "0123456789abcdef0123456789abcdef01234567"
    assert "model.onnx" in card["files"]
    assert card["metrics"]["auc"]["lo"] <= card["metrics"]["auc"]["value"] <= card["metrics"]["auc"]["hi"]
    assert set(card["metrics"]["importance"]) == set(MODEL_FEATURES)
    # And nothing was announced; the ModelsExported datapoint is 0
    msgs = boto3.client("sqs").receive_message(QueueUrl=world.queue_url, WaitTimeSeconds=0).get("Messages", [])
    assert msgs == []


def test_dataset_has_three_sources_archive_and_counterfactuals_ran(
    no_edge: tuple[World, NightlyResult], ftx_month: BarArrays
) -> None:
    _, result = no_edge
    prov = result.provenance
    # Then every source contributed: 3 days of archive signals, the day's decisions, Hamilton's three trades
    assert prov["live"] == 3
    assert prov["shadow"] > 50 and prov["historical"] > 200
    steps = result.session["steps"]
    in_day = _at(ftx_month, EVENT_TIME) - _at(ftx_month, f"{DATA_DAY}T00:00:00Z")
    assert steps["archive"]["days"] == {SYMBOL: {DATA_DAY: in_day}}
    assert steps["counterfactuals"]["written"] > 0
    # the decisions of the data day are the same signals as their historical twins: kept once, as shadow/live
    assert steps["collect"]["counts"]["duplicates_dropped"] >= prov["shadow"] + prov["live"] - 10
    assert result.n_samples == sum(prov.values())


def test_session_report_is_in_s3_and_reads_as_a_training_session(no_edge: tuple[World, NightlyResult]) -> None:
    from huracan.observability.records import session_from_document

    world, result = no_edge
    doc = TrainingStore(world.bucket, world.settings).get_report("2022-01-06")
    assert doc == json.loads(json.dumps(result.session))
    session = session_from_document(doc)
    assert session.date == "2022-01-06" and session.verdict == "not ready" and session.model_id is None
    assert session.n == result.n_samples and session.auc_ci is not None and session.reasons == result.reasons
    assert session.importance


def test_used_rows_are_marked_on_decisions_and_shadow_trades(no_edge: tuple[World, NightlyResult]) -> None:
    world, result = no_edge
    ddb = boto3.client("dynamodb")
    marked = [
        ddb.get_item(TableName=world.settings.decisions_table, Key={"signal_id": {"S": d.signal_id}})["Item"]
        for d in world.signals
    ]
    used = [m for m in marked if m.get("used_in_training", {}).get("BOOL")]
    # Then the decisions that trained the model are marked with the snapshot, the test window's are not
    assert 0 < len(used) < len(marked) and len(used) == result.marked["decisions"]
    assert {m["used_in_snapshot"]["S"] for m in used} == {result.snapshot_id}
    assert result.marked["shadow_trades"] > 0


def test_planted_edge_is_published_and_loadable(
    planted: tuple[World, NightlyResult], planted_source: PlantedSignals, ftx_month: BarArrays
) -> None:
    world, result = planted
    assert result.report is not None
    # Then the challenger is ready and became the champion that load_latest_model returns
    assert result.status == "published", result.report.summary()
    model_id, model = world.registry().load_latest_model()
    assert model_id == result.model_id and model.feature_names == MODEL_FEATURES
    # the recovered AUC is near what the planted edge allows on the same window
    auc = result.report.metrics.auc
    truth = planted_source.truth(ftx_month.slice(0, _at(ftx_month, EVENT_TIME)))
    assert auc.lo > 0.5
    assert abs(auc.value - truth.attainable_auc) < 0.1
    # And ModelPublished was announced with the id and its metrics
    msgs = boto3.client("sqs").receive_message(QueueUrl=world.queue_url, WaitTimeSeconds=0)["Messages"]
    body = json.loads(msgs[0]["Body"])
    assert body["event"] == "ModelPublished" and body["model_id"] == model_id
    assert body["metrics"]["auc"] == pytest.approx(auc.value)
    cw = boto3.client("cloudwatch")
    metrics = cw.list_metrics(Namespace="Huracan", MetricName="ModelsExported")["Metrics"]
    assert {"Name": "service", "Value": "huracan"} in metrics[0]["Dimensions"]


def test_model_signing_verifies_the_published_model_and_refuses_it_after_one_byte_of_any_file_changes(
    planted: tuple[World, NightlyResult], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The OpenSSF Model Signing package's own verifier, with the exported public key, on what the nightly
    published: the version folder as it is in S3, checked by ``model_signing`` itself (not by our wrapper)."""
    from model_signing import verifying

    world, result = planted
    assert result.model_id is not None
    s3 = boto3.client("s3")
    prefix = f"models/meta_label/{result.model_id.removeprefix('sha256:')}/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=world.bucket, Prefix=prefix)["Contents"]]
    files = {k[len(prefix) :]: s3.get_object(Bucket=world.bucket, Key=k)["Body"].read() for k in keys}
    assert "model.sig" in files and {"manifest.json", "manifest.sig", "model.lgb.txt", "model.onnx"} <= set(files)
    pem = world.registry().signer.public_key_pem()  # what `huracan models public-key` exports

    def verify(changed: str | None) -> None:
        root = tmp_path_factory.mktemp("published") / "meta_label"
        root.mkdir()
        for fn, data in files.items():
            if fn == changed:
                data = bytes([data[0] ^ 0x01]) + data[1:]
            (root / fn).write_bytes(data)
        (root.parent / "key.pem").write_bytes(pem)
        verifying.Config().use_elliptic_key_verifier(public_key=root.parent / "key.pem").verify(
            root, root / "model.sig"
        )

    verify(None)  # accepted as published
    for fn in sorted(f for f in files if f != "model.sig"):
        with pytest.raises(ValueError, match="Signature mismatch"):
            verify(fn)
    with pytest.raises(Exception):  # noqa: B017 - a changed bundle breaks its signature or its parsing
        verify("model.sig")
    assert world.registry().verify_model(result.model_id)


class _FailingStore(S3Store):
    """The S3 registry store, failing on the serving artifact's upload (mid-upload)."""

    def put(self, key: str, data: bytes) -> None:
        if key.endswith("/model.onnx"):
            raise OSError("injected: connection reset during upload")
        super().put(key, data)


def test_failure_mid_upload_leaves_the_champion_in_place(
    planted: tuple[World, NightlyResult], planted_source: PlantedSignals
) -> None:
    world, published = planted
    s3 = boto3.client("s3")
    before = s3.get_object(Bucket=world.bucket, Key="models/meta_label/latest.json")["Body"].read()
    # When a different challenger (another seed) fails while uploading
    failing = world.registry(store=_FailingStore(world.bucket, "models"))
    with pytest.raises(OSError, match="injected"):
        _night(world, planted_source, registry=failing, training=replace(FAST, seed=7))
    # Then latest.json is byte for byte what it was, and the champion still loads
    after = s3.get_object(Bucket=world.bucket, Key="models/meta_label/latest.json")["Body"].read()
    assert after == before
    assert world.registry().load_latest_model()[0] == published.model_id
    # and the failure is on record without replacing the night's report
    failure = json.loads(s3.get_object(Bucket=world.bucket, Key="training/2022-01-06/failure.json")["Body"].read())
    assert failure["status"] == "failed" and "injected" in failure["error"]
    # a failed night is told apart from a night that published nothing: NightlyFailed says 1
    cw = boto3.client("cloudwatch")
    failed = cw.get_metric_statistics(
        Namespace="Huracan",
        MetricName="NightlyFailed",
        Dimensions=[{"Name": "service", "Value": "huracan"}],
        StartTime=datetime(2022, 1, 1, tzinfo=UTC),
        EndTime=datetime(2022, 1, 8, tzinfo=UTC),
        Period=86400,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert max(p["Maximum"] for p in failed) == 1.0
    report = TrainingStore(world.bucket, world.settings).get_report("2022-01-06")
    assert report["status"] == "published"


def test_settled_days_are_copied_to_s3_once_and_served_from_there(no_edge: tuple[World, NightlyResult]) -> None:
    """A later night reads a settled, fully labelled day from its checksummed S3 copy, not from the table."""
    from huracan.adapters.decision_days import DECISIONS_PREFIX, SettledDecisionDays

    world, _ = no_edge
    repo = Repository(bind_tables(world.settings))
    blobs = S3Store(world.bucket, DECISIONS_PREFIX)
    # the night after the data ended left the day's last decisions unlabelled (their windows were not over):
    # an incomplete day is served from the table and not copied
    pending = [rec for rec, out in repo.decisions_with_outcomes_on_day(DATA_DAY) if out is None]
    assert pending
    early = SettledDecisionDays(repo, blobs, today="2022-01-08")
    assert len(list(early.decisions_with_outcomes_on_day(DATA_DAY))) > len(pending)
    assert early.counters()["written"] == 0
    for rec in pending:  # a later night labels them (the bars never came: NO_DATA)
        repo.set_decision_outcome(DecisionOutcome(rec.signal_id, "NO_DATA", "NO_DATA", cf_reason="no bars"))
    rows = list(repo.decisions_with_outcomes_on_day(DATA_DAY))
    first = SettledDecisionDays(repo, blobs, today="2022-01-08")
    assert [r.signal_id for r, _ in first.decisions_with_outcomes_on_day(DATA_DAY)] == [r.signal_id for r, _ in rows]
    assert first.counters()["written"] == 1
    head = boto3.client("s3").head_object(
        Bucket=world.bucket, Key=f"{DECISIONS_PREFIX}/{first.key(DATA_DAY)}", ChecksumMode="ENABLED"
    )
    assert head["ChecksumSHA256"]
    from huracan.adapters import decision_days

    decoded = decision_days._DECODED
    kept_before = decoded.hits
    second = SettledDecisionDays(repo, blobs, today="2022-01-09")
    again = list(second.decisions_with_outcomes_on_day(DATA_DAY))
    assert second.counters() == {"hits": 1, "misses": 0, "written": 0, "stale": 0}
    assert [(r.signal_id, o) for r, o in again] == [(r.signal_id, o) for r, o in rows]
    # read again in the same process, the copy is revalidated by its ETag (304), not transferred and decoded
    third = SettledDecisionDays(repo, S3Store(world.bucket, DECISIONS_PREFIX), today="2022-01-10")
    assert list(third.decisions_with_outcomes_on_day(DATA_DAY)) == again
    assert decoded.hits > kept_before and third.counters()["hits"] == 1


def test_report_reads_settled_days_from_the_copy_with_the_same_rows(no_edge: tuple[World, NightlyResult]) -> None:
    """The daily summary's week of decisions: settled days from the S3 copy, row for row what the table gives."""
    from huracan.adapters.observability_sources import DayLoader

    world, _ = no_edge
    repo = Repository(bind_tables(world.settings))
    for rec, out in list(repo.decisions_with_outcomes_on_day(DATA_DAY)):
        if out is None:  # settle the day (a later night would label these as NO_DATA)
            repo.set_decision_outcome(DecisionOutcome(rec.signal_id, "NO_DATA", "NO_DATA", cf_reason="no bars"))
    table_rows = DayLoader.from_settings(world.settings).decisions([DATA_DAY])
    first = DayLoader.with_settled_copies(world.settings, world.bucket, today="2022-01-09")
    assert first.decisions([DATA_DAY]) == table_rows and table_rows
    second = DayLoader.with_settled_copies(world.settings, world.bucket, today="2022-01-09")
    assert second.decisions([DATA_DAY]) == table_rows
    assert second.settled is not None and second.settled.counters()["hits"] == 1
    recent = DayLoader.with_settled_copies(world.settings, world.bucket, today=DATA_DAY)  # not settled yet
    assert recent.decisions([DATA_DAY]) == table_rows
    assert recent.settled is not None and recent.settled.counters() == {
        "hits": 0,
        "misses": 0,
        "written": 0,
        "stale": 0,
    }
