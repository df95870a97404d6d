"""``huracan models list|show|verify|promote|rollback|export|public-key``: the registry from a terminal.

Wire into the main parser with::

    add_models_parser(sub)            # sub = parser.add_subparsers(dest="command")
    args = parser.parse_args(argv)
    return args.handler(args)         # run_models for "models"

Model ids may be abbreviated to any unique prefix of the hex (``sha256:`` optional), as with git.
Exit codes: 0 ok, 1 verification failed / not found, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from huracan.registry.errors import ModelNotFoundError, RegistryError
from huracan.registry.registry import ModelRegistry, ModelSummary, default_base_path
from huracan.registry.signing import PublicKeyVerifier

__all__ = ["add_models_parser", "run_models"]


def add_models_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``models`` command to ``subparsers`` (from ``add_subparsers``); sets ``handler=run_models``."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "models", help="list, inspect, verify and publish registered models"
    )
    p.add_argument(
        "--base-path",
        default=None,
        help="registry location: s3://bucket/models or a folder (default $HURACAN_MODEL_PATH or s3://$MODEL_BUCKET/models)",
    )
    p.add_argument("--stack", default=None, help="a deployed stack's name: its model bucket and signing key")
    p.add_argument("--endpoint", default=None, help="AWS endpoint URL (e.g. the demo's embedded AWS)")
    p.add_argument(
        "--public-key",
        default=None,
        metavar="PEM",
        help="verify with this public key instead of the registry's signer (read-only commands)",
    )
    sub = p.add_subparsers(dest="models_command", required=True)
    ls = sub.add_parser("list", help="every stored version, champions and candidates")
    ls.add_argument("--name", default=None, help="only this model name")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")
    show = sub.add_parser("show", help="print a model card (manifest.json) after checking its signature")
    show.add_argument("model_id")
    verify = sub.add_parser("verify", help="check every file's hash and the signature")
    verify.add_argument("model_id")
    promote = sub.add_parser("promote", help="make a stored model the latest (verified first)")
    promote.add_argument("model_id")
    rollback = sub.add_parser("rollback", help="point latest back at the previous champion")
    rollback.add_argument("name", nargs="?", default="meta_label")
    export = sub.add_parser("export", help="write the verified .pkl compatibility export")
    export.add_argument("model_id")
    export.add_argument("path")
    sub.add_parser("public-key", help="print the signer's public key (PEM) for offline verification")
    p.set_defaults(handler=run_models)
    return p


def _registry(args: argparse.Namespace) -> ModelRegistry:
    if getattr(args, "stack", None):
        from huracan.adapters.stack_outputs import use_stack

        use_stack(args.stack, args.endpoint)
    base = args.base_path or default_base_path()
    signer = PublicKeyVerifier.from_file(args.public_key) if args.public_key else None
    return ModelRegistry(base, signer=signer)


def _resolve(registry: ModelRegistry, text: str) -> str:
    """A full id, or the one stored id whose hex starts with ``text``."""
    prefix = text.removeprefix("sha256:").lower()
    if len(prefix) == 64:
        return f"sha256:{prefix}"
    matches = sorted(
        {s.model_id for s in registry.list_models() if s.model_id.removeprefix("sha256:").startswith(prefix)}
    )
    if len(matches) != 1:
        raise ModelNotFoundError(f"{text!r} matches {len(matches)} stored models" + (f": {matches}" if matches else ""))
    return matches[0]


def _print_list(registry: ModelRegistry, name: str | None, as_json: bool, out: TextIO) -> None:
    rows = registry.list_models(name)
    if as_json:
        for r in rows:
            print(json.dumps(_summary_dict(r), sort_keys=True), file=out)
        return
    if not rows:
        print(f"no models in {registry.store.location}", file=out)
        return
    print(f"{'':2}{'name':<14}{'ver':>4}  {'stage':<10}{'created_at':<22}{'ready':<6}{'metrics':<32}model_id", file=out)
    for r in rows:
        metrics = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(r.metrics.items())
        )[:30]
        ready = "-" if r.ready is None else ("yes" if r.ready else "no")
        mark = "* " if r.is_latest else "  "
        print(
            f"{mark}{r.name:<14}{r.version:>4}  {r.stage:<10}{r.created_at:<22}{ready:<6}{metrics:<32}{r.model_id}",
            file=out,
        )


def _summary_dict(r: ModelSummary) -> dict[str, Any]:
    return {
        "model_id": r.model_id,
        "name": r.name,
        "version": r.version,
        "stage": r.stage,
        "created_at": r.created_at,
        "is_latest": r.is_latest,
        "metrics": dict(r.metrics),
        "ready": r.ready,
    }


def run_models(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one ``huracan models`` subcommand; returns the process exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        registry = _registry(args)
        cmd = args.models_command
        if cmd == "list":
            _print_list(registry, args.name, args.json, out)
        elif cmd == "show":
            print(json.dumps(registry.show(_resolve(registry, args.model_id)), indent=2, sort_keys=True), file=out)
        elif cmd == "verify":
            model_id = _resolve(registry, args.model_id)
            manifest = registry.check_model(model_id)
            print(
                f"OK {model_id} {manifest['name']} v{manifest['version']}: {len(manifest['files'])} files and signature verified",
                file=out,
            )
        elif cmd == "promote":
            pointer = registry.promote(_resolve(registry, args.model_id))
            print(f"{pointer.name} latest -> {pointer.model_id} v{pointer.version}", file=out)
        elif cmd == "rollback":
            pointer = registry.rollback(args.name)
            print(f"{pointer.name} rolled back to {pointer.model_id} v{pointer.version}", file=out)
        elif cmd == "export":
            path = registry.export_model(_resolve(registry, args.model_id), args.path)
            print(f"wrote {path}", file=out)
        elif cmd == "public-key":
            out.write(registry.signer.public_key_pem().decode("ascii"))
        else:  # argparse guarantees one of the above
            print(f"unknown models command {cmd!r}", file=err)
            return 2
    except RegistryError as exc:
        print(f"error: {exc}", file=err)
        return 1
    except (ValueError, FileNotFoundError, PermissionError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    return 0
