"""``jobyard serve``: run the emulator in this process.

The port is bound before anything is announced, so the banner names the address that really listens
(``--port 0`` included) and a busy port is one line and status 1. SIGTERM and SIGINT stop the server
gracefully — requests under way finish, the store closes — and the status is 0.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import signal
import socket
import sys
import threading
import time

from . import UsageError, account_id, arg, command, http_url, port_number, positive, time_scale

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@command(
    "serve", "start the emulator",
    arg("--host", default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other address is reachable from elsewhere)"),
    arg("--port", type=port_number, default=4600, help="port to listen on (default 4600; 0: any free port)"),
    arg("--data-dir", default="./.jobyard", help="where state is kept (default ./.jobyard)"),
    arg("--store", default=None, help="store URL or SQLite file path (default: jobyard.db in the data dir)"),
    arg("--time-scale", type=time_scale, default=None,
        help="simulated seconds per real second; 0 freezes the clock (default: as stored, else 1)"),
    arg("--default-account", type=account_id, default="000000000000",
        help="account for access keys that are not 12-digit account ids (without --auth)"),
    arg("--s3-endpoint", type=http_url, default=None, metavar="URL",
        help="keep S3 objects on this external S3-compatible server (boto3, credentials from the "
             "environment) instead of the built-in store"),
    arg("--auth", choices=("none", "sigv4"), default="none",
        help="sigv4: every AWS request must be signed by a key of --credentials (default: none, open)"),
    arg("--credentials", default=None, metavar="FILE",
        help="AWS shared-credentials file (aws_access_key_id, aws_secret_access_key, aws_account_id per "
             "profile) for --auth sigv4; it alone decides each key's account"),
    arg("--clock-skew", type=positive, default=None, metavar="SECONDS",
        help="how far a signature's time may be from the real clock (default 900, as AWS)"),
    arg("--admin-token", default=None, metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on the /_jobyard/ control routes "
             "(default: $JOBYARD_ADMIN_TOKEN, else none)"),
    arg("--log-level", type=str.lower, choices=LOG_LEVELS, default="warning"),
    arg("--access-log", action="store_true", help="log every request"),
)
def serve(args) -> int:
    # Start-up allocates hundreds of thousands of long-lived objects (modules, classes, SQLAlchemy's
    # constructs) and frees almost none: the cyclic collector would scan them again and again for nothing.
    # It is off until the server answers, then those objects are frozen out of its way (``_warm``).
    gc.disable()
    try:
        return _serve(args)
    finally:
        gc.enable()


def _serve(args) -> int:
    # Imported here so that the other commands start without loading the server and the models.
    import uvicorn

    from ..auth import DEFAULT_SKEW, CredentialsError, load_credentials
    from ..config import Config
    from ..server import Emulator

    credentials = None
    if args.auth == "sigv4":
        if not args.credentials:
            raise UsageError("--auth sigv4 needs --credentials FILE")
        try:
            credentials = load_credentials(args.credentials)
        except CredentialsError as error:
            raise UsageError(f"argument --credentials: {error}") from None
    elif args.credentials or args.clock_skew is not None:
        raise UsageError("--credentials and --clock-skew go with --auth sigv4")
    admin_token = args.admin_token if args.admin_token is not None else os.environ.get("JOBYARD_ADMIN_TOKEN")

    sock = _bind(args.host, args.port)
    if sock is None:
        return 1
    config = Config(data_dir=args.data_dir, store_url=args.store, time_scale=args.time_scale,
                    default_account=args.default_account, s3_endpoint=args.s3_endpoint, credentials=credentials,
                    clock_skew=args.clock_skew or DEFAULT_SKEW, admin_token=admin_token or None)
    emulator = Emulator(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    host, port = sock.getsockname()[:2]
    if credentials is None and not _loopback(host):
        print(f"jobyard: WARNING: listening on {host}, which other machines can reach, without --auth: anyone who "
              "reaches it can read and change every account's jobs, vaults and objects"
              f"{'' if admin_token else ' and move the clock or reset all state (no --admin-token)'}. "
              "Use --auth sigv4 --credentials FILE, or bind 127.0.0.1.", file=sys.stderr, flush=True)
    # No WebSocket routes: ws="none" spares loading a WebSocket implementation.
    server = uvicorn.Server(uvicorn.Config(emulator.asgi, log_level=args.log_level, access_log=args.access_log,
                                           lifespan="on", ws="none"))

    # uvicorn stops gracefully on SIGTERM and SIGINT, then raises the signal again for the handler that was
    # there before it: this one, so the process ends with status 0 instead of dying by the signal. It also
    # covers a signal that comes after the banner but before uvicorn has taken the signals over.
    def stop(signum, frame):
        server.should_exit = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    # What the first requests need (botocore, the models, codecs) is loaded once the server answers, in the
    # background, so it starts without waiting for it.
    threading.Thread(target=_warm, args=(server, emulator), name="jobyard-warm", daemon=True).start()
    shown = f"[{host}]" if ":" in host else host
    print(f"jobyard serving on http://{shown}:{port} (store: {config.resolved_store_url()})", flush=True)
    server.run(sockets=[sock])
    return 0


def _warm(server, emulator) -> None:
    while not server.started:
        if server.should_exit:
            return
        time.sleep(0.005)
    gc.freeze()   # what start-up made lives as long as the process: never worth a collection's scan
    gc.enable()
    try:
        emulator.prepare()   # the services and the router, which any request but the health check waits for
        emulator.warm()
    except Exception:   # a request that needs a model loads it itself, and says what failed
        logging.getLogger("jobyard").exception("warming up failed")


def _bind(host: str, port: int) -> socket.socket | None:
    """A listening socket, or None after saying on one line why the port cannot be had."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as error:
        raise UsageError(f"argument --host: cannot resolve {host!r}: {error.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as error:
        sock.close()
        print(f"jobyard: cannot listen on {host}:{port}: {error.strerror or error}", file=sys.stderr, flush=True)
        return None
    return sock


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False
