"""The ``jobyard`` command: one subcommand per module of ``jobyard.commands``."""

from __future__ import annotations

import argparse
import sys

from .commands import all_commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jobyard", description="Local emulator of AWS's asynchronous job services")
    subcommands = parser.add_subparsers(dest="command", required=True)
    for command in all_commands():
        sub = subcommands.add_parser(command.name, help=command.help)
        for flags, options in command.arguments:
            sub.add_argument(*flags, **options)
        sub.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
