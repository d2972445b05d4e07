"""The write-behind journal of usage events: every answered call's event is in the log as soon
as anyone reads it, in order, whichever process answered, and nothing is lost when a process
dies; retired files are deleted once folded."""

from __future__ import annotations

import multiprocessing
import os
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import events, journal
from mockserver.db import Database

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def used(n: int, who: str = "test") -> tuple[object, ...]:
    return events.row("token.used", sandbox="default", at=T0, token_id=f"tok_{who}_{n}",
                      actor="partner", method="GET", path=f"/api/v1/orders/{n}")


def logged(db: Database) -> list[dict[str, Any]]:
    return events.query(db, "default", kind="token.used", limit=10_000)


def journal_files(db: Database) -> list[str]:
    assert db.journal is not None
    return sorted(os.listdir(db.journal.directory))


def test_answered_calls_are_in_the_log_at_once_and_in_order(
        client: FlaskClient, partner_token: str, merchant_key: str) -> None:
    auth = {"Authorization": f"Bearer {partner_token}"}
    for page in (1, 2, 3):
        assert client.get(f"/api/v1/orders?page={page}", headers=auth).status_code == 200
    used_events = client.get("/_mock/events?kind=token.used").get_json()["events"]
    assert [e["detail"]["path"] for e in used_events] == ["/api/v1/orders"] * 3
    token_id = used_events[0]["token_id"]
    assert client.post("/merchant/v1/tokens/revoke", json={"token_ids": [token_id]},
                       headers={"X-Merchant-Key": merchant_key}).status_code == 200
    assert client.get("/api/v1/orders", headers=auth).status_code == 401
    log = client.get(f"/_mock/events?token_id={token_id}").get_json()["events"]
    assert [e["kind"] for e in log][-5:] == ["token.used"] * 3 + ["token.revoked",
                                                                   "token.rejected"]


def test_events_keep_their_order_around_a_write(tmp_path: Path) -> None:
    db = Database(tmp_path / "mock.sqlite3")
    db.record_event(used(1))
    with db.write() as conn:  # e.g. a revocation: folds the journal before its own event
        events.record(conn, "token.revoked", sandbox="default", at=T0, token_id="tok_test_1")
    db.record_event(used(2))
    kinds = [(e["kind"], e["token_id"]) for e in events.query(db, "default")]
    assert kinds == [("token.used", "tok_test_1"), ("token.revoked", "tok_test_1"),
                     ("token.used", "tok_test_2")]


def test_a_rolled_back_write_loses_no_journal_event(tmp_path: Path) -> None:
    db = Database(tmp_path / "mock.sqlite3")
    db.record_event(used(1))
    with pytest.raises(RuntimeError), db.write():
        raise RuntimeError("the write fails after the fold")
    assert [e["token_id"] for e in logged(db)] == ["tok_test_1"]


def _answer_then_die(path: str, count: int, how: str) -> None:
    db = Database(path)
    for n in range(count):
        db.record_event(used(n, who="child"))
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    db.close()


@pytest.mark.parametrize("how", ["kill", "exit"])
def test_events_of_a_dead_process_are_folded_and_its_file_deleted(tmp_path: Path,
                                                                   how: str) -> None:
    path = str(tmp_path / "mock.sqlite3")
    db = Database(path)
    child = multiprocessing.get_context("fork").Process(target=_answer_then_die,
                                                        args=(path, 50, how))
    child.start()
    child.join(30)
    assert child.exitcode == (-signal.SIGKILL if how == "kill" else 0)
    assert [e["token_id"] for e in logged(db)] == [f"tok_child_{n}" for n in range(50)]
    assert len(journal_files(db)) == 1  # folded, but deleted only by a later fold
    db.fold_journal()
    assert journal_files(db) == []
    assert len(logged(db)) == 50  # and never folded twice


def test_a_live_process_keeps_its_file(tmp_path: Path) -> None:
    db = Database(tmp_path / "mock.sqlite3")
    db.record_event(used(1))
    db.fold_journal()
    db.fold_journal()
    assert len(journal_files(db)) == 1
    db.record_event(used(2))
    assert [e["token_id"] for e in logged(db)] == ["tok_test_1", "tok_test_2"]


def test_a_full_file_is_retired_folded_and_deleted(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "ROTATE_BYTES", 1000)
    db = Database(tmp_path / "mock.sqlite3")
    for n in range(200):
        db.record_event(used(n))
    assert len(journal_files(db)) <= 2  # the current file and at most one retired, folded one
    assert [e["token_id"] for e in logged(db)] == [f"tok_test_{n}" for n in range(200)]


def test_a_torn_last_record_of_a_dead_process_is_dropped_alone(tmp_path: Path) -> None:
    path = str(tmp_path / "mock.sqlite3")
    db = Database(path)
    child = multiprocessing.get_context("fork").Process(target=_answer_then_die,
                                                        args=(path, 3, "kill"))
    child.start()
    child.join(30)
    (name,) = journal_files(db)
    assert db.journal is not None
    with open(os.path.join(db.journal.directory, name), "ab") as file:
        file.write(journal.HEADER.pack(100, 0) + b"cut short")
    assert [e["token_id"] for e in logged(db)] == [f"tok_child_{n}" for n in range(3)]
    db.fold_journal()
    assert journal_files(db) == []
    assert len(logged(db)) == 3


def _append_many(path: str, who: str, count: int, start: Any) -> None:
    db = Database(path)
    start.wait()
    for n in range(count):
        db.record_event(used(n, who=who))


def test_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "mock.sqlite3")
    db = Database(path)
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    children = [ctx.Process(target=_append_many, args=(path, f"p{i}", 500, start))
                for i in range(3)]
    for child in children:
        child.start()
    start.set()
    seen: list[str] = []
    while any(child.is_alive() for child in children):
        seen = [e["token_id"] for e in logged(db)]  # folds while they append
    for child in children:
        child.join(30)
        assert child.exitcode == 0
    seen = [e["token_id"] for e in logged(db)]
    assert len(seen) == len(set(seen)) == 1500
    for i in range(3):  # each process's events in the order it answered
        assert [t for t in seen if t.startswith(f"tok_p{i}_")] == [
            f"tok_p{i}_{n}" for n in range(500)]
