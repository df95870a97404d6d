"""The ``huracan`` command line: the demo, replays, training, reports, the model registry."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from huracan.local.demo import DemoOptions, print_summary, run_demo

    summary = run_demo(
        DemoOptions(
            data=args.data,
            days=args.days,
            profile=args.profile,
            report_dir=args.report_dir,
            progress=not args.no_progress,
            planted_edge=args.planted_edge,
            workspace=args.workspace,
        )
    )
    print_summary(summary)
    return 0


def _use_stack(args: argparse.Namespace) -> None:
    """Point this process at a stack's resources, like its functions (``--stack`` / ``--endpoint``)."""
    from huracan.adapters.stack_outputs import use_stack

    use_stack(args.stack, args.endpoint)


def _replay(args: argparse.Namespace) -> int:
    from huracan.signals.inputs import resolve_inputs

    inputs = resolve_inputs(args)  # every file read and checked before anything starts (exit 2 if bad)
    if args.stack:
        _use_stack(args)  # region and credentials of the embedded AWS when --endpoint is loopback
        from huracan.local.publish import publish_to_stack

        if len(inputs.bars) > 1 or inputs.signals is not None:
            from huracan.data import DataFileError

            raise DataFileError(
                "huracan replay --stack publishes one bar file with the built-in strategies' signals; "
                "send your own signals with huracan publish --signals FILE --stack NAME"
            )
        ((symbol, path),) = inputs.paths.items()
        done = publish_to_stack(
            path, symbol, args.stack, days=args.days, endpoint_url=args.endpoint, quotes=args.quotes
        )
        print(f"published {done.records:,} records ({done.bars:,} bars, {done.signals:,} signals) to {done.stream}")
        return 0
    from huracan.local.demo import DemoOptions, print_summary, run_demo

    opts = DemoOptions(
        profile=inputs.config.profile,
        report_dir=args.report_dir,
        progress=not args.no_progress,
        workspace=args.workspace,
        inputs=inputs,
    )
    print_summary(run_demo(opts))
    return 0


def _publish(args: argparse.Namespace) -> int:
    from huracan.core.config import load_config, load_user_config
    from huracan.producer import SignalPublisher
    from huracan.signals import load_signals_file

    config = load_user_config(args.config) if args.config else load_config("demo")
    file = load_signals_file(args.signals, extra_features=config.extra_features)
    publisher = SignalPublisher.for_stack(args.stack, endpoint_url=args.endpoint, extra_features=config.extra_features)
    result = publisher.publish(file.signals)
    print(
        f"published {result.sent:,} of {len(file.signals):,} signals ({len(file.symbols)} symbol(s)) to "
        f"{publisher.stream_name} in {result.calls} PutRecords call(s); throttled and retried: "
        f"{result.throttled_retries}"
    )
    for sid, code, msg in result.failed[:10]:
        print(f"  not delivered: {sid}: {code} {msg}", file=sys.stderr)
    return 0 if not result.failed else 1


def _report(args: argparse.Namespace) -> int:
    from huracan.observability.report import write_report

    if args.sample:
        from huracan.observability.sample import sample_summary

        path = write_report(args.out, sample_summary())
        print(f"sample report: {path}")
        return 0
    if not args.stack or not args.day:
        raise SystemExit("huracan report needs --stack NAME and --day YYYY-MM-DD (or --sample)")
    _use_stack(args)
    import os

    from huracan.adapters.observability_sources import DayLoader, read_model_cards
    from huracan.adapters.settings import AwsSettings, TableSettings
    from huracan.observability.daily import collect_summary

    cards = read_model_cards(os.environ["MODEL_BUCKET"], AwsSettings.from_env())
    summary = collect_summary(
        args.day, f"{args.day}T23:00:00Z", DayLoader.from_settings(TableSettings.from_env()), cards
    )
    print(f"report: {write_report(args.out, summary)}")
    return 0


def _feed(args: argparse.Namespace) -> int:
    import time

    _use_stack(args)
    from huracan.adapters.observability_sources import decision_row, shadow_trade
    from huracan.adapters.settings import TableSettings
    from huracan.adapters.tables import bind_tables
    from huracan.observability.live_feed import activity_events, feed_lines

    tables = bind_tables(TableSettings.from_env())
    shown: set[str] = set()
    while True:
        events = activity_events(
            [decision_row(i) for i in tables.decisions.scan()], [shadow_trade(i) for i in tables.shadow_trades.scan()]
        )
        for line in feed_lines([e for e in events if f"{e.kind}:{e.ref}" not in shown], limit=args.limit):
            print(line)
        shown.update(f"{e.kind}:{e.ref}" for e in events)
        if args.once:
            return 0
        time.sleep(args.interval)


def _backfill(args: argparse.Namespace) -> int:
    import os

    if args.stack:
        _use_stack(args)
    bucket = args.bucket or os.environ.get("MODEL_BUCKET")
    if not bucket:
        raise SystemExit("huracan backfill needs --bucket B or --stack NAME (or MODEL_BUCKET)")
    if args.signals is not None:
        from huracan.adapters.signal_archive import SignalArchive
        from huracan.signals import load_signals_file

        file = load_signals_file(args.signals)
        parts = SignalArchive(bucket).put(file.signals)
        print(
            f"signal history: {len(file.signals):,} signals of {', '.join(file.symbols)} in {len(parts)} "
            f"day partition(s) under s3://{bucket}/signals/ (the nightly training reads them when "
            "StrategiesEnabled=false)"
        )
        if args.data is None:
            return 0
    if args.data is None or args.symbol is None:
        raise SystemExit("huracan backfill needs --data FILE --symbol S (bars) and/or --signals FILE")
    from huracan.learning.archive_jobs import backfill

    written = backfill(args.data, args.symbol, bucket, quotes=args.quotes)
    print(written)
    return 0


def _api(args: argparse.Namespace) -> int:
    from huracan.api.openapi import main as openapi_main

    return openapi_main(args.rest)


def _workspace_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workspace",
        type=Path,
        help="where the run is kept: summary.json, trades.csv, decisions.parquet, models/, reports/ "
        "(default runs/<UTC timestamp>-<name>/)",
    )


def _stack_args(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--stack", required=required, help="a deployed stack's name (its Outputs name the resources)")
    p.add_argument("--endpoint", help="AWS endpoint URL (e.g. the demo's embedded AWS, printed at its start)")


def build_parser() -> argparse.ArgumentParser:
    from huracan.signals.args import add_input_arguments, positive_days

    parser = argparse.ArgumentParser(prog="huracan", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO (default WARNING)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="replay a real month end to end through the local stack")
    demo.add_argument("--data", type=Path, help="OHLCV CSV/Parquet (default: the FTX BTC-PERP month)")
    demo.add_argument("--days", type=positive_days, help="replay only the first N days")
    demo.add_argument("--profile", default="demo", choices=["seed", "demo"], help="engine settings profile")
    demo.add_argument("--report-dir", type=Path, help="where daily reports go (default: the workspace's reports/)")
    _workspace_arg(demo)
    demo.add_argument("--planted-edge", action="store_true", help="signals with a known edge (see README)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)

    replay = sub.add_parser(
        "replay", help="replay any OHLCV file (embedded stack, or --stack to publish to a deployed one)"
    )
    add_input_arguments(replay)
    replay.add_argument("--report-dir", type=Path, help="daily reports (default: the workspace's reports/)")
    _workspace_arg(replay)
    replay.add_argument("--no-progress", action="store_true")
    _stack_args(replay)
    replay.set_defaults(func=_replay)

    report = sub.add_parser("report", help="write the daily summary (HTML with plots) locally")
    report.add_argument("--day", help="YYYY-MM-DD")
    report.add_argument("--out", type=Path, default=Path("reports"))
    report.add_argument("--sample", action="store_true", help="render the built-in sample day (no AWS needed)")
    _stack_args(report)
    report.set_defaults(func=_report)

    feed = sub.add_parser("feed", help="live view of learning activity (signals, trades) of a running stack")
    feed.add_argument("--interval", type=float, default=2.0)
    feed.add_argument("--limit", type=int, default=40)
    feed.add_argument("--once", action="store_true", help="print what is there and stop")
    _stack_args(feed, required=True)
    feed.set_defaults(func=_feed)

    backfill = sub.add_parser("backfill", help="load an OHLCV file into the S3 bar archive")
    backfill.add_argument("--data", type=Path, help="OHLCV file to archive (with --symbol)")
    backfill.add_argument("--symbol", help="symbol of --data")
    backfill.add_argument(
        "--signals", type=Path, help="your signal history (CSV/Parquet, the signal schema) for the nightly training"
    )
    backfill.add_argument("--quotes", type=Path, help="optional quote-bar file joined on ts")
    backfill.add_argument("--bucket", help="model/archive bucket (default: the stack's)")
    _stack_args(backfill)
    backfill.set_defaults(func=_backfill)

    publish = sub.add_parser("publish", help="send your own signals (a CSV/Parquet file) to a stack's stream")
    publish.add_argument("--signals", type=Path, required=True, help="signals file (schemas/signal.schema.json)")
    publish.add_argument("--config", type=Path, help="your settings (its extra_features are checked on every row)")
    _stack_args(publish, required=True)
    publish.set_defaults(func=_publish)

    api = sub.add_parser("api", help="the outcome API's OpenAPI document: `huracan api openapi [--write|--check]`")
    api.add_argument("what", choices=["openapi"])
    api.add_argument("rest", nargs=argparse.REMAINDER)
    api.set_defaults(func=_api)

    from huracan.backtest.cli import add_backtest_parser

    add_backtest_parser(sub)

    # Parsed by their own modules (see _DELEGATED); listed here for --help.
    sub.add_parser("train", help="one nightly training session, the same function as the 00:00 task (--help)")
    sub.add_parser("cost", help="monthly AWS cost and cost per million signals from a replay's counts (--help)")

    from huracan.registry.cli import add_models_parser

    models = add_models_parser(sub)
    models.set_defaults(func=lambda a: a.handler(a))
    return parser


_DELEGATED = {"train": ("huracan.learning.nightly", "train_main"), "cost": ("huracan.cost", "cost_main")}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        try:
            return _run(argv)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            message = _user_error(exc)
            if message is None:
                raise
            print(f"huracan: {message}", file=sys.stderr)
            return 2
    except KeyboardInterrupt:
        print("interrupted; local servers stopped", file=sys.stderr)
        return 130


def _user_error(exc: BaseException) -> str | None:
    """The sentence for an error that is the user's input or environment (exit 2), or None for a bug.

    A bad data file, a used workspace, a stack that is not there, no region / credentials / endpoint: each is
    said in one sentence. The modules are imported only to tell (pandas, botocore are not cheap)."""
    from huracan.workspace import WorkspaceError

    if isinstance(exc, WorkspaceError):
        return str(exc)
    if isinstance(exc, ValueError) and type(exc).__name__ in ("DataFileError", "ConfigError", "InvalidSignal"):
        return str(exc)
    try:
        from huracan.adapters.errors import describe_failure
        from huracan.adapters.stack_outputs import StackNotFound
    except ImportError:  # pragma: no cover - the AWS libraries are core dependencies
        return None
    if isinstance(exc, StackNotFound):
        return str(exc)
    return describe_failure(exc)


def _run(argv: list[str]) -> int:
    if argv and argv[0] in _DELEGATED:  # commands with their own parsers (and --help)
        import importlib

        module, func = _DELEGATED[argv[0]]
        return int(getattr(importlib.import_module(module), func)(argv[1:]))
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("botocore", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Many Step Functions threads share one client pool locally: "pool is full, discarding" is noise here
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    # moto's interpreter logs every failed execution at ERROR; the engine reports those itself (ERROR trades)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
