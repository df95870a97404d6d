"""IngestMarketFunction: every minute, the last closed bar per symbol (and its signals) onto the stream."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.typing import LambdaContext

from huracan.adapters.exchange import BinanceKlines
from huracan.adapters.settings import IngestSettings
from huracan.adapters.stream import MarketStream
from huracan.observability.levels import emit_counters
from huracan.service.ingest import ingest_minute

logger = Logger()
metrics = Metrics()
settings = IngestSettings.from_env()
source = BinanceKlines(settings.exchange_api_url)
stream = MarketStream(settings.market_stream_name, settings)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = ingest_minute(event["time"], settings.symbols, source, stream, settings.strategies_enabled)
    counters = {
        "BarsIngested": result.bars,
        "SignalsEmitted": result.signals,
        "BarGaps": sum(len(v) for v in result.gaps.values()),
    }
    # per-minute metrics are billed as whole months: at the essential level they are log fields
    fields = emit_counters(metrics, counters, function="ingest-market")
    if fields:
        logger.info("ingested", extra=fields)
    if result.gaps:
        logger.warning("bar gaps", extra={"gaps": result.gaps})
    return {"published": result.published, "bars": result.bars, "signals": result.signals, "gaps": result.gaps}
