"""The ``jobyard`` command: one subcommand per module of ``jobyard.commands``.

A wrong command line gets one line on stderr and exit status 2, whichever flag is wrong and whether the
parser or the command finds it (``UsageError``).
"""

from __future__ import annotations

import argparse
import sys

from .commands import UsageError, all_commands


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line instead of argparse's usage block: the message, and where the usage is.
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version   # only for --version: it costs a start 30 ms

    try:
        return version("jobyard")
    except PackageNotFoundError:
        return "unknown"


class _Version(argparse.Action):
    """``--version``, with the installed version looked up only when asked for."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"jobyard {_version()}", flush=True)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jobyard", description="Local emulator of AWS's asynchronous job services")
    parser.add_argument("--version", action=_Version, help="show program's version number and exit")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for command in all_commands():
        sub = subcommands.add_parser(command.name, help=command.help)
        for flags, options in command.arguments:
            sub.add_argument(*flags, **options)
        sub.set_defaults(run=command.run, parser=sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UsageError as error:
        args.parser.error(str(error))


if __name__ == "__main__":
    sys.exit(main())
