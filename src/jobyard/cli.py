"""The ``jobyard`` command."""

from __future__ import annotations

import argparse
import logging
import sys


def _serve(args) -> int:
    import uvicorn

    from .config import Config
    from .server import Emulator

    config = Config(data_dir=args.data_dir, store_url=args.store, time_scale=args.time_scale,
                    default_account=args.default_account, s3_endpoint=args.s3_endpoint)
    emulator = Emulator(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print(f"jobyard serving on http://{args.host}:{args.port} (store: {config.resolved_store_url()})",
          flush=True)
    uvicorn.run(emulator.asgi, host=args.host, port=args.port, log_level=args.log_level,
                access_log=args.access_log, lifespan="on")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobyard", description="Local emulator of AWS's asynchronous job services")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the emulator")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4600)
    serve.add_argument("--data-dir", default="./.jobyard", help="where state is kept (default ./.jobyard)")
    serve.add_argument("--store", default=None,
                       help="store URL or SQLite file path (default: jobyard.db in the data dir)")
    serve.add_argument("--time-scale", type=_non_negative, default=None,
                       help="simulated seconds per real second; 0 freezes the clock (default: as stored, else 1)")
    serve.add_argument("--default-account", default="000000000000",
                       help="account for access keys that are not 12-digit account ids")
    serve.add_argument("--s3-endpoint", default=None, metavar="URL",
                       help="keep S3 objects on this external S3-compatible server (boto3, credentials from the "
                            "environment) instead of the built-in store")
    serve.add_argument("--log-level", default="warning")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(run=_serve)
    return parser


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
