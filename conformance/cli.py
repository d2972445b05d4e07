"""``conformance run package.module:factory``: the kit's scenarios (and nothing else) against
a client, with the report written to a directory."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="conformance", description=__doc__)
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run every scenario against a client")
    run.add_argument("client", nargs="?", help="package.module:factory")
    run.add_argument("--server", help="URL of a running mock (default: in-process)")
    run.add_argument("--control-key", help="X-Control-Key for a remote mock")
    run.add_argument("--xfail", help="expected-failures YAML file")
    run.add_argument("--report", default="conformance-report",
                     help="report directory (default: %(default)s)")
    run.add_argument("--command", dest="client_command",
                     help="a client in another process, driven over JSON lines")
    run.add_argument("-k", dest="keyword", help="only scenarios matching this expression")
    sub.add_parser("list", help="list the scenarios")
    return parser


def pytest_args(args: argparse.Namespace) -> list[str]:
    from conformance.scenarios import scenario_files

    out = ["-p", "conformance.plugin", "-p", "no:cacheprovider", "-q",
           "--rootdir", str(Path.cwd()), "-o", "addopts=", "-o", "testpaths="]
    if args.client:
        out += ["--conformance-client", args.client]
    if args.client_command:
        out += ["--conformance-command", args.client_command]
    for flag, value in (("--conformance-server", args.server),
                        ("--conformance-control-key", args.control_key),
                        ("--conformance-xfail", args.xfail),
                        ("--conformance-report", args.report),
                        ("-k", args.keyword)):
        if value:
            out += [flag, value]
    out += [str(path) for path in scenario_files()]
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "list":
        from conformance.scenarios import all_scenarios

        for s in all_scenarios():
            print(f"{s.number:2} {s.id:26} {s.profile:15} {s.rule}")
        return 0
    if not args.client and not args.client_command:
        print("conformance run: name a client (package.module:factory) or --command",
              file=sys.stderr)
        return 2
    import pytest

    return int(pytest.main(pytest_args(args)))


if __name__ == "__main__":
    raise SystemExit(main())
