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
        )
    )
    print_summary(summary)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="huracan", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO (default WARNING)")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="replay a real month end to end through the local stack")
    demo.add_argument("--data", type=Path, help="OHLCV CSV/Parquet (default: the FTX BTC-PERP month)")
    demo.add_argument("--days", type=int, help="replay only the first N days")
    demo.add_argument("--profile", default="demo", choices=["seed", "demo"], help="engine settings profile")
    demo.add_argument("--report-dir", type=Path, default=Path("reports"), help="where daily reports go")
    demo.add_argument("--planted-edge", action="store_true", help="signals with a known edge (see README)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=_demo)

    from huracan.registry.cli import add_models_parser

    models = add_models_parser(sub)
    models.set_defaults(func=lambda a: a.handler(a))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("botocore", "urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # moto's interpreter logs every failed execution at ERROR; the engine reports those itself (ERROR trades)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted; local servers stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
