"""pytest wiring of the kit (registered under ``pytest11``): options, the ``conformance_kit``
fixture, adding the scenarios to the session, expected failures and the report.

Nothing here knows a scenario's rules; they live in `conformance.scenarios`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import __version__
from conformance.adapter import Factory, load_factory, supported_profiles
from conformance.harness import Kit
from conformance.report import ScenarioResult, write_reports
from conformance.scenarios import REGISTRY, Scenario, all_scenarios, scenario_files
from conformance.server import InProcessMock, MockServer, RemoteMock
from conformance.timetravel import TimeTravel
from conformance.xfail import load_xfail

COMMAND_FACTORY = "conformance.command:factory"


@dataclass
class Settings:
    client: str | None
    server: str | None
    control_key: str | None
    xfail_file: str | None
    report_dir: str | None
    command: str | None
    factory: Factory | None = None
    profiles: frozenset[str] = frozenset()
    expected: dict[str, str] = field(default_factory=dict)
    results: dict[str, ScenarioResult] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    @property
    def active(self) -> bool:
        return self.client is not None


SETTINGS = pytest.StashKey[Settings]()
KIT = pytest.StashKey[Kit]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "conformance kit")
    group.addoption("--conformance-client", default=None, metavar="MODULE:FACTORY",
                    help="the client under test, as package.module:factory "
                         "(ini conformance_client, env CONFORMANCE_CLIENT)")
    group.addoption("--conformance-server", default=None, metavar="URL",
                    help="target a running mock (reset before every scenario) instead of "
                         "starting one in-process (ini conformance_server, env "
                         "CONFORMANCE_SERVER)")
    group.addoption("--conformance-control-key", default=None, metavar="KEY",
                    help="X-Control-Key for a remote mock (env CONFORMANCE_CONTROL_KEY)")
    group.addoption("--conformance-xfail", default=None, metavar="FILE",
                    help="YAML file of scenarios expected to fail, with reasons (strict)")
    group.addoption("--conformance-report", default=None, metavar="DIR",
                    help="write report.md, report.html and junit.xml into DIR")
    group.addoption("--conformance-command", default=None, metavar="COMMAND",
                    help="test a client in another process through the JSON-lines command "
                         "driver (env CONFORMANCE_COMMAND)")
    for name, help_text in (("conformance_client", "client factory, package.module:factory"),
                            ("conformance_server", "URL of a running mock"),
                            ("conformance_xfail", "expected-failures file"),
                            ("conformance_report", "report directory"),
                            ("conformance_command", "command of a client in another process")):
        parser.addini(name, help_text, default=None)


def _pick(config: pytest.Config, option: str, ini: str, env: str | None) -> str | None:
    value = config.getoption(option)
    if value:
        return str(value)
    from_ini = config.getini(ini)
    if from_ini:
        return str(from_ini)
    if env and os.environ.get(env):
        return os.environ[env]
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "conformance_scenario(id): a scenario of the conformance kit")
    command = _pick(config, "conformance_command", "conformance_command", "CONFORMANCE_COMMAND")
    client = _pick(config, "conformance_client", "conformance_client", "CONFORMANCE_CLIENT")
    if command and not client:
        client = COMMAND_FACTORY
    settings = Settings(
        client=client,
        server=_pick(config, "conformance_server", "conformance_server", "CONFORMANCE_SERVER"),
        control_key=config.getoption("conformance_control_key")
        or os.environ.get("CONFORMANCE_CONTROL_KEY"),
        xfail_file=_pick(config, "conformance_xfail", "conformance_xfail", None),
        report_dir=_pick(config, "conformance_report", "conformance_report", None),
        command=command,
    )
    config.stash[SETTINGS] = settings
    if not settings.active:
        return
    try:
        settings.factory = load_factory(settings.client or "")
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        raise pytest.UsageError(f"--conformance-client {settings.client}: {exc}") from exc
    settings.profiles = supported_profiles(settings.factory)
    if settings.xfail_file:
        try:
            settings.expected = load_xfail(settings.xfail_file, set(REGISTRY) or
                                           {s.id for s in all_scenarios()})
        except (OSError, ValueError) as exc:
            raise pytest.UsageError(f"--conformance-xfail: {exc}") from exc
    if settings.report_dir and not config.option.xmlpath:
        Path(settings.report_dir).mkdir(parents=True, exist_ok=True)
        config.option.xmlpath = str(Path(settings.report_dir) / "junit.xml")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """A configured client brings the scenarios into the session (once each)."""
    settings = config.stash[SETTINGS]
    if not settings.active:
        return
    all_scenarios()
    present = {scenario_of(item) for item in items} - {None}
    for path in scenario_files():
        module = pytest.Module.from_parent(session, path=path)
        for item in session.genitems(module):
            found = scenario_of(item)
            if found is not None and found not in present:
                items.append(item)
                present.add(found)
    for item in items:
        found = scenario_of(item)
        if found is None:
            continue
        item.user_properties.append(("scenario", found.id))
        item.add_marker(pytest.mark.conformance_scenario(found.id))
        reason = settings.expected.get(found.id)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True, raises=AssertionError))


def scenario_of(item: pytest.Item) -> Scenario | None:
    function = getattr(item, "function", None)
    found: Scenario | None = getattr(function, "conformance_scenario", None)
    return found


@pytest.fixture
def conformance_kit(request: pytest.FixtureRequest) -> Iterator[Kit]:
    """The scenario's world: a fresh mock, virtual time, the client under test."""
    settings = request.config.stash[SETTINGS]
    found = scenario_of(request.node)  # type: ignore[arg-type]
    if found is None:
        raise pytest.UsageError("conformance_kit is for the kit's scenarios only")
    if not settings.active or settings.factory is None:
        pytest.skip("no client configured (--conformance-client)")
    if found.profile not in settings.profiles:
        pytest.skip(f"profile {found.profile} not supported by the client "
                    f"(it declares {sorted(settings.profiles)})")
    server: MockServer
    if settings.server:
        server = RemoteMock(settings.server, settings.control_key)
        clock = TimeTravel(server.server_now())
        clock.start()
    else:
        clock = TimeTravel()
        clock.start()
        server = InProcessMock()
    clock.listeners.append(server.follow_jump)
    kit = Kit(settings.factory, server, clock, found.profile)
    if settings.command:
        kit.config.extra["command"] = settings.command
    request.node.stash[KIT] = kit
    try:
        yield kit
    finally:
        try:
            kit.close()
        finally:
            clock.stop()
            server.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    found = scenario_of(item)
    settings = item.config.stash[SETTINGS]
    if found is None or not settings.active:
        return report
    result = settings.results.setdefault(found.id, ScenarioResult(found))
    kit = item.stash.get(KIT, None)
    if report.when == "setup" and report.skipped:
        result.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        result.message = _skip_reason(report)
    elif report.when == "setup" and report.failed:
        result.outcome = "error"
        result.message = _first_line(report)
    elif report.when == "call":
        if kit is not None:
            result.simulated = kit.clock.jumped
        if hasattr(report, "wasxfail"):
            result.expected_reason = str(report.wasxfail)
            result.outcome = "xfailed" if report.skipped else "xpassed"
            if report.skipped and kit is not None:
                result.message = _exception_text(call)
                result.evidence = kit.evidence()
        elif report.failed:
            text = str(report.longrepr)
            if "XPASS(strict)" in text:
                result.outcome = "xpassed"
                result.expected_reason = settings.expected.get(found.id)
                result.message = "passed although listed as an expected failure"
            else:
                result.outcome = "failed"
                result.message = _exception_text(call) or _first_line(report)
                if kit is not None:
                    result.evidence = kit.evidence()
        elif report.passed:
            result.outcome = "passed"
    return report


def _exception_text(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return ""
    return str(call.excinfo.value).strip() or call.excinfo.typename


def _skip_reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return str(report.wasxfail)
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _first_line(report: pytest.TestReport) -> str:
    return str(report.longrepr).strip().splitlines()[-1][:500] if report.longrepr else ""


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    settings = session.config.stash.get(SETTINGS, None)
    if settings is None or not settings.active or not settings.report_dir:
        return
    write_reports(Path(settings.report_dir), _meta(settings), _ordered(settings))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    settings = config.stash.get(SETTINGS, None)
    if settings is None or not settings.active or not settings.results:
        return
    results = [r for r in _ordered(settings) if r.outcome != "not run"]
    counts: dict[str, int] = {}
    for result in results:
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
    simulated = sum(r.simulated for r in results) / 86_400
    elapsed = time.perf_counter() - settings.started
    terminalreporter.section("conformance")
    for result in results:
        terminalreporter.write_line(f"{result.outcome.upper():8} {result.scenario.id:26} "
                                    f"{result.message[:100]}")
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    terminalreporter.write_line(f"{summary}; simulated {simulated:.1f} days in {elapsed:.1f} s "
                                f"(kit {__version__})")
    if settings.report_dir:
        terminalreporter.write_line(f"report: {Path(settings.report_dir) / 'report.md'}")


def _ordered(settings: Settings) -> list[ScenarioResult]:
    """Every scenario of the set, the ones not run (deselected) included."""
    return [settings.results.get(s.id) or ScenarioResult(s, message="not selected")
            for s in all_scenarios()]


def _meta(settings: Settings) -> dict[str, Any]:
    return {"client": settings.client, "command": settings.command,
            "server": settings.server or "in-process (fresh database per scenario)",
            "xfail_file": settings.xfail_file,
            "elapsed": time.perf_counter() - settings.started}
