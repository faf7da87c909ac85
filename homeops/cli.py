"""`homeops`: the command line. Each subcommand lives in its own module under homeops/commands."""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys

# Imported lazily so that `homeops validate` does not pay for papermill, and a runbook run
# does not pay for the docs.
COMMANDS = ("validate", "render", "runbooks", "run", "rehearse", "twin", "lab")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 on bad usage; keep that, without the traceback
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="homeops", description="home-ops: docs, runbooks and twin from one cluster.yaml")
    parser.add_argument(
        "--config", default="cluster.yaml", metavar="PATH", help="cluster.yaml to use (default: ./cluster.yaml)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"homeops.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print("homeops: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `homeops runbooks | head` closed our stdout early: that is the reader's choice, not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EDQUOT):
            raise
        # Output that cannot be written (a full disk, `>/dev/full`) is a failure to report, not a crash.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        print(f"homeops: cannot write the output: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
