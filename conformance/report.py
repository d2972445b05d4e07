"""The conformance report: every scenario with its verdict and rule, and for each failure the
evidence (the calls the client made and the server's event timeline of the failing part).
Markdown for reading in CI logs and pull requests, HTML for browsers; pytest's JUnit XML sits
beside them."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.scenarios import Scenario, scenario_set_hash

VERDICTS = {
    "passed": "PASS",
    "failed": "FAIL",
    "xfailed": "expected failure",
    "xpassed": "FAIL (passed, but listed as expected failure)",
    "skipped": "skipped",
    "error": "ERROR",
    "not run": "not run",
}


@dataclass
class ScenarioResult:
    scenario: Scenario
    outcome: str = "not run"
    message: str = ""
    expected_reason: str | None = None
    evidence: dict[str, Any] | None = None
    simulated: float = 0.0

    @property
    def verdict(self) -> str:
        return VERDICTS.get(self.outcome, self.outcome)


@dataclass
class Report:
    meta: dict[str, Any]
    results: list[ScenarioResult] = field(default_factory=list)

    @property
    def simulated_days(self) -> float:
        return sum(r.simulated for r in self.results) / 86_400


def _when(epoch: Any) -> str:
    try:
        return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-4] + "Z"
    except (TypeError, ValueError):
        return str(epoch)


def _detail(event: dict[str, Any]) -> str:
    detail = event.get("detail") or {}
    return ", ".join(f"{k}={v}" for k, v in sorted(detail.items()))


def _header_lines(report: Report) -> list[tuple[str, str]]:
    meta = report.meta
    lines = [("Client", str(meta.get("client"))),
             ("Kit version", __version__),
             ("Scenario set", scenario_set_hash()),
             ("Server", str(meta.get("server")))]
    if meta.get("command"):
        lines.append(("Command", str(meta["command"])))
    if meta.get("xfail_file"):
        lines.append(("Expected failures", str(meta["xfail_file"])))
    lines.append(("Run", f"{datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}, "
                         f"{meta.get('elapsed', 0):.1f} s, {report.simulated_days:.1f} days "
                         "of virtual time"))
    return lines


def to_markdown(report: Report) -> str:
    out = ["# Conformance report", ""]
    out += [f"- **{name}:** {value}" for name, value in _header_lines(report)]
    out += ["", "| # | Scenario | Profile | Verdict | Rule |", "|---|---|---|---|---|"]
    for r in report.results:
        s = r.scenario
        out.append(f"| {s.number} | `{s.id}` | {s.profile} | {r.verdict} | "
                   f"{s.rule.replace('|', '/')} |")
    details = [r for r in report.results if r.outcome not in ("passed", "not run")]
    if details:
        out += ["", "## Details"]
    for r in details:
        out += ["", f"### {r.scenario.number}. `{r.scenario.id}`: {r.verdict}", "",
                f"Rule: {r.scenario.rule}", ""]
        if r.expected_reason:
            out += [f"Expected failure: {r.expected_reason}", ""]
        if r.message:
            out += ["```", r.message, "```", ""]
        ev = r.evidence
        if not ev:
            continue
        out += [f"Evidence (failing part: *{ev['phase']}*):", ""]
        out += [f"- note: {note}" for note in ev.get("notes", [])]
        if ev["calls"]:
            out += ["", "| call | virtual time | request | outcome |", "|---|---|---|---|"]
            for c in ev["calls"]:
                outcome = (f"HTTP {c['status']}" if c["status"] is not None
                           else f"raised {c['error_type']}: {c['error']}")
                out.append(f"| #{c['index']} | {_when(c['started'])} | {c['method']} "
                           f"{c['path']} | {outcome.replace('|', '/')[:200]} |")
        if ev["events"]:
            out += ["", "| event | virtual time | kind | token | detail |", "|---|---|---|---|---|"]
            for e in ev["events"][:200]:
                out.append(f"| {e.get('id', '')} | {_when(e.get('at_epoch'))} | {e.get('kind')} "
                           f"| {e.get('token_id') or ''} | {_detail(e).replace('|', '/')} |")
    return "\n".join(out) + "\n"


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:75em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .5em;
text-align:left;vertical-align:top}.PASS{color:#075}.FAIL,.ERROR{color:#b00;font-weight:bold}
pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap}code{font-size:95%}"""


def to_html(report: Report) -> str:
    e = html.escape
    parts = ["<!doctype html><html lang=en><meta charset=utf-8>",
             "<title>Conformance report</title>", f"<style>{_CSS}</style>",
             "<h1>Conformance report</h1><ul>"]
    parts += [f"<li><b>{e(n)}:</b> {e(v)}</li>" for n, v in _header_lines(report)]
    parts.append("</ul><table><tr><th>#</th><th>Scenario</th><th>Profile</th>"
                 "<th>Verdict</th><th>Rule</th></tr>")
    for r in report.results:
        s = r.scenario
        css = r.verdict.split()[0]
        parts.append(f"<tr><td>{s.number}</td><td><a href='#{e(s.id)}'><code>{e(s.id)}</code>"
                     f"</a></td><td>{e(s.profile)}</td><td class='{e(css)}'>{e(r.verdict)}</td>"
                     f"<td>{e(s.rule)}</td></tr>")
    parts.append("</table>")
    for r in report.results:
        if r.outcome in ("passed", "not run"):
            continue
        parts.append(f"<h2 id='{e(r.scenario.id)}'>{r.scenario.number}. "
                     f"<code>{e(r.scenario.id)}</code>: {e(r.verdict)}</h2>")
        parts.append(f"<p>Rule: {e(r.scenario.rule)}</p>")
        if r.expected_reason:
            parts.append(f"<p>Expected failure: {e(r.expected_reason)}</p>")
        if r.message:
            parts.append(f"<pre>{e(r.message)}</pre>")
        ev = r.evidence
        if not ev:
            continue
        parts.append(f"<p>Evidence (failing part: <i>{e(ev['phase'])}</i>)</p>")
        parts += [f"<p>Note: {e(n)}</p>" for n in ev.get("notes", [])]
        if ev["calls"]:
            parts.append("<table><tr><th>call</th><th>virtual time</th><th>request</th>"
                         "<th>outcome</th></tr>")
            for c in ev["calls"]:
                outcome = (f"HTTP {c['status']}" if c["status"] is not None
                           else f"raised {c['error_type']}: {c['error']}")
                parts.append(f"<tr><td>#{c['index']}</td><td>{_when(c['started'])}</td>"
                             f"<td>{e(c['method'])} {e(c['path'])}</td><td>{e(outcome)}</td></tr>")
            parts.append("</table>")
        if ev["events"]:
            parts.append("<table><tr><th>event</th><th>virtual time</th><th>kind</th>"
                         "<th>token</th><th>detail</th></tr>")
            for ev_ in ev["events"][:200]:
                parts.append(f"<tr><td>{ev_.get('id', '')}</td><td>{_when(ev_.get('at_epoch'))}"
                             f"</td><td>{e(str(ev_.get('kind')))}</td>"
                             f"<td>{e(str(ev_.get('token_id') or ''))}</td>"
                             f"<td>{e(_detail(ev_))}</td></tr>")
            parts.append("</table>")
    parts.append("</html>")
    return "\n".join(parts) + "\n"


def write_reports(directory: Path, meta: dict[str, Any],
                  results: list[ScenarioResult]) -> Report:
    report = Report(meta, results)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.md").write_text(to_markdown(report), encoding="utf-8")
    (directory / "report.html").write_text(to_html(report), encoding="utf-8")
    summary = {"kit_version": __version__, "scenario_set": scenario_set_hash(), **meta,
               "simulated_days": report.simulated_days,
               "scenarios": [{"id": r.scenario.id, "outcome": r.outcome,
                              "message": r.message} for r in results]}
    (directory / "report.json").write_text(json.dumps(summary, indent=2, default=str),
                                           encoding="utf-8")
    return report
