"""``jobyard serve``: run the emulator in this process."""

from __future__ import annotations

import logging

from . import arg, command, non_negative


@command(
    "serve", "start the emulator",
    arg("--host", default="127.0.0.1"),
    arg("--port", type=int, default=4600),
    arg("--data-dir", default="./.jobyard", help="where state is kept (default ./.jobyard)"),
    arg("--store", default=None, help="store URL or SQLite file path (default: jobyard.db in the data dir)"),
    arg("--time-scale", type=non_negative, default=None,
        help="simulated seconds per real second; 0 freezes the clock (default: as stored, else 1)"),
    arg("--default-account", default="000000000000",
        help="account for access keys that are not 12-digit account ids"),
    arg("--s3-endpoint", default=None, metavar="URL",
        help="keep S3 objects on this external S3-compatible server (boto3, credentials from the "
             "environment) instead of the built-in store"),
    arg("--log-level", default="warning"),
    arg("--access-log", action="store_true", help="log every request"),
)
def serve(args) -> int:
    # Imported here so that the other commands start without loading the server and the models.
    import uvicorn

    from ..config import Config
    from ..server import Emulator

    config = Config(data_dir=args.data_dir, store_url=args.store, time_scale=args.time_scale,
                    default_account=args.default_account, s3_endpoint=args.s3_endpoint)
    emulator = Emulator(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    print(f"jobyard serving on http://{args.host}:{args.port} (store: {config.resolved_store_url()})",
          flush=True)
    uvicorn.run(emulator.asgi, host=args.host, port=args.port, log_level=args.log_level,
                access_log=args.access_log, lifespan="on")
    return 0
