"""The kit's own tests, run with pytester: the reference client passes every scenario, each
purpose-built faulty client fails exactly the scenarios its fault explains, the adapters'
verdicts match their expected-failure files, and the wiring (options, ini, env, xfail,
reports, CLI, command driver) does what the README says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conformance.scenarios import all_scenarios
from tests.conformance_faulty import EXPECTED
from tests.server import ServerProcess

pytest_plugins = ["pytester"]

TESTS = Path(__file__).parent
ROOT = TESTS.parent
ALL = {s.id for s in all_scenarios()}
IGNORES_SUCCESSOR = "tests.conformance_faulty:ignores_successor"
OAUTH_SCENARIOS = {s.id for s in all_scenarios() if s.profile == "oauth-expiring"}


def oauth_available() -> bool:
    from mockserver.app import create_app

    app = create_app(":memory:", seed_if_empty=False)
    return any(rule.rule == "/_mock/oauth/tokens" for rule in app.url_map.iter_rules())


OAUTH_AVAILABLE = oauth_available()
needs_oauth = pytest.mark.skipif(not OAUTH_AVAILABLE,
                                 reason="the OAuth server (issue 3) is not in this tree yet")


def run_kit(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    pytester.syspathinsert(ROOT)
    report = pytester.path / "report"
    result = pytester.runpytest("-p", "conformance.plugin", "-p", "no:cacheprovider",
                                f"--conformance-report={report}", *args)
    data = json.loads((report / "report.json").read_text()) if (report / "report.json"
                                                                ).exists() else {}
    return result, data


def outcomes(data: dict[str, Any]) -> dict[str, str]:
    return {s["id"]: s["outcome"] for s in data.get("scenarios", [])}


@needs_oauth
def test_reference_client_passes_every_scenario(pytester: pytest.Pytester) -> None:
    result, data = run_kit(pytester, "--conformance-client=conformance.reference_client:factory")
    result.assert_outcomes(passed=len(ALL))
    assert outcomes(data) == dict.fromkeys(ALL, "passed")
    assert data["simulated_days"] > 90


def test_reference_client_passes_the_partner_token_scenarios(pytester: pytest.Pytester) -> None:
    result, data = run_kit(pytester, "--conformance-client=conformance.reference_client:factory",
                           "-k", "renewal or revoked")
    result.assert_outcomes(passed=2, deselected=len(ALL) - 2)
    assert outcomes(data)["renewal-cutover"] == "passed"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_faulty_client_fails_exactly_the_scenarios_its_fault_explains(
        pytester: pytest.Pytester, name: str) -> None:
    if EXPECTED[name] & OAUTH_SCENARIOS and not OAUTH_AVAILABLE:
        pytest.skip("the OAuth server (issue 3) is not in this tree yet")
    _, data = run_kit(pytester, f"--conformance-client=tests.conformance_faulty:{name}")
    failed = {sid for sid, outcome in outcomes(data).items() if outcome == "failed"}
    assert failed == EXPECTED[name]
    assert not {sid for sid, o in outcomes(data).items() if o == "error"}


@needs_oauth
@pytest.mark.parametrize("adapter", ["authlib", "requests_oauthlib"])
def test_adapter_verdicts_match_their_expected_failure_files(pytester: pytest.Pytester,
                                                             adapter: str) -> None:
    xfail = ROOT / "conformance" / "xfail" / f"{adapter}.yaml"
    result, data = run_kit(pytester,
                           f"--conformance-client=conformance.adapters.{adapter}_client:factory",
                           f"--conformance-xfail={xfail}")
    assert result.ret == 0
    verdicts = outcomes(data)
    assert {sid for sid, o in verdicts.items() if o == "skipped"} == ALL - OAUTH_SCENARIOS
    assert not {sid for sid, o in verdicts.items() if o in ("failed", "xpassed", "error")}


def test_a_listed_scenario_that_passes_fails_the_run(pytester: pytest.Pytester) -> None:
    xfail = pytester.makefile(".yaml", xfail="renewal-cutover: thought to be broken\n")
    result, data = run_kit(pytester, "--conformance-client=conformance.reference_client:factory",
                           f"--conformance-xfail={xfail}", "-k", "renewal")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert outcomes(data)["renewal-cutover"] == "xpassed"
    report = (pytester.path / "report" / "report.md").read_text()
    assert "listed as expected failure" in report


def test_a_listed_scenario_that_fails_is_an_expected_failure(pytester: pytest.Pytester) -> None:
    xfail = pytester.makefile(".yaml", xfail="expected_failures:\n  renewal-cutover: ignores "
                                             "the successor\n")
    result, data = run_kit(pytester, f"--conformance-client={IGNORES_SUCCESSOR}",
                           f"--conformance-xfail={xfail}", "-k", "renewal or revoked")
    assert result.ret == 0
    result.assert_outcomes(passed=1, xfailed=1, deselected=len(ALL) - 2)
    assert outcomes(data)["renewal-cutover"] == "xfailed"


def test_an_unknown_scenario_in_the_xfail_file_is_a_usage_error(
        pytester: pytest.Pytester) -> None:
    xfail = pytester.makefile(".yaml", xfail="no-such-scenario: typo\n")
    result, _ = run_kit(pytester, "--conformance-client=conformance.reference_client:factory",
                        f"--conformance-xfail={xfail}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown scenario 'no-such-scenario'*"])


def test_report_shows_verdict_rule_and_the_event_timeline_of_the_failing_part(
        pytester: pytest.Pytester) -> None:
    result, data = run_kit(pytester, f"--conformance-client={IGNORES_SUCCESSOR}",
                           "-k", "renewal")
    directory = pytester.path / "report"
    markdown = (directory / "report.md").read_text()
    assert "| 13 | `renewal-cutover` | partner-token | FAIL |" in markdown
    assert "switches to the successor before the original expires" in markdown
    assert "failing part: *the merchant renews 30 days before expiry*" in markdown
    assert "token.renewed" in markdown and "token.used" in markdown
    assert "Scenario set:** " + data["scenario_set"] in markdown
    assert "Kit version:** " + data["kit_version"] in markdown
    html = (directory / "report.html").read_text()
    assert "<td class='FAIL'>FAIL</td>" in html and "token.renewed" in html
    junit = (directory / "junit.xml").read_text()
    assert 'name="scenario" value="renewal-cutover"' in junit
    assert "<failure" in junit


def test_client_from_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nconformance_client = conformance.reference_client:factory\n")
    result, data = run_kit(pytester, "-k", "renewal")
    result.assert_outcomes(passed=1, deselected=len(ALL) - 1)


def test_client_from_environment(pytester: pytest.Pytester,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_CLIENT", "conformance.reference_client:factory")
    result, _ = run_kit(pytester, "-k", "revoked")
    result.assert_outcomes(passed=1, deselected=len(ALL) - 1)


def test_without_a_client_the_plugin_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_own="def test_own():\n    pass\n")
    result, _ = run_kit(pytester)
    result.assert_outcomes(passed=1)


def test_scenarios_are_collected_once_when_their_files_are_also_named(
        pytester: pytest.Pytester) -> None:
    from conformance.scenarios import scenario_files

    result, _ = run_kit(pytester, "--conformance-client=conformance.reference_client:factory",
                        "-k", "renewal", *map(str, scenario_files()))
    result.assert_outcomes(passed=1, deselected=len(ALL) - 1)


def test_unsupported_profiles_are_skipped_and_reported(pytester: pytest.Pytester) -> None:
    result, data = run_kit(pytester, f"--conformance-client={IGNORES_SUCCESSOR}",
                           "-k", "proactive or revoked")
    result.assert_outcomes(passed=1, skipped=1, deselected=len(ALL) - 2)
    assert outcomes(data)["proactive-refresh"] == "skipped"


def test_a_bad_factory_name_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result, _ = run_kit(pytester, "--conformance-client=no_such_module:factory")
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_conformance_run_command_line(tmp_path: Path) -> None:
    report = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "conformance.reference_client:factory",
         "-k", "renewal", "--report", str(report)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED   renewal-cutover" in done.stdout
    assert (report / "report.md").exists() and (report / "junit.xml").exists()


@needs_oauth
def test_command_driver_runs_a_client_in_another_process(pytester: pytest.Pytester) -> None:
    from conformance.command import find_libfaketime

    client = ROOT / "examples" / "command_client.py"
    result, data = run_kit(pytester, f"--conformance-command={sys.executable} {client}")
    result.assert_outcomes(passed=len(ALL))
    if find_libfaketime() is None:
        pytest.skip("libfaketime is not installed: passed on the 'now' field alone")


def test_command_driver_moves_the_process_clock_with_libfaketime(pytester: pytest.Pytester
                                                                 ) -> None:
    from conformance.command import find_libfaketime

    if find_libfaketime() is None:
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    script = pytester.makepyfile(clock_client='''
import json, sys, time
for line in sys.stdin:
    message = json.loads(line)
    if message["op"] == "stop":
        break
    reply = {"ok": True, "storage": {}} if message["op"] == "start" else {
        "status": 200, "body": {"time": time.time(), "now": message["now"]}, "storage": {}}
    print(json.dumps(reply), flush=True)
''')
    from conformance import Config
    from conformance.command import CommandClient
    from conformance.timetravel import TimeTravel

    with TimeTravel() as clock:
        config = Config(base_url="http://127.0.0.1:9", token_url="", store_id="s",
                        client_id="c", client_secret="x", profile="oauth-expiring",
                        now=clock.now, sleep=clock.sleep)
        client = CommandClient(config, f"{sys.executable} {script}")
        try:
            first = client.request("GET", "/").json()
            clock.advance(90 * 86_400)
            later = client.request("GET", "/").json()
        finally:
            client.close()
    assert abs(first["time"] - first["now"]) < 2
    assert abs(later["time"] - later["now"]) < 2
    assert later["time"] - first["time"] > 90 * 86_400 - 5


@needs_oauth
def test_against_a_running_mock_moved_through_the_control_api(pytester: pytest.Pytester,
                                                             tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "remote.sqlite3", workers=1).start()
    url = server.url
    try:
        result, data = run_kit(pytester,
                               "--conformance-client=conformance.reference_client:factory",
                               f"--conformance-server={url}",
                               "-k", "renewal or rotation or clock_skew or refresh_token_expiry")
        result.assert_outcomes(passed=4, deselected=len(ALL) - 4)
        assert data["server"] == url
    finally:
        server.stop()
