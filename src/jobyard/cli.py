"""The ``jobyard`` command: one subcommand per module of ``jobyard.commands``.

A wrong command line gets one line on stderr and exit status 2, whichever flag is wrong and whether the
parser or the command finds it (``UsageError``).
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, version

from .commands import UsageError, all_commands


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):
        # One line instead of argparse's usage block: the message, and where the usage is.
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _version() -> str:
    try:
        return version("jobyard")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jobyard", description="Local emulator of AWS's asynchronous job services")
    parser.add_argument("--version", action="version", version=f"jobyard {_version()}")
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
