"""Class sessions: codes, names, side rules and seeds, seats, games saved once, 30 students
saving at once (threads and processes), the CSV export, and the Class page through AppTest."""

from __future__ import annotations

import csv
import json
import multiprocessing
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

import sim.store as store_mod
from sim import classroom
from sim.classroom import ClassroomError, SessionNotFound
from sim.loading import dump_resolved, resolve
from sim.store import Store

APP = str(Path(__file__).parents[1] / "dashboard" / "app.py")
STUDENTS = 30
PROCESSES = 30  # the spawn test's processes: one per student
PARTIES = ("japan", "russia")


@pytest.fixture(scope="module")
def text() -> str:
    return dump_resolved(resolve("baseline", ["protocol.ratification_noise=0"]))


def finish(game, script: int) -> None:
    """Play a game to its end with a short script: 0 rejects and passes throughout, 1 accepts
    the agent's first offer, 2 walks away at the second meeting."""
    while not game.done:
        if script == 2 and game.meeting == 2:
            game.walk_away()
        elif game.proposing:
            game.propose(None)
        else:
            game.respond(script == 1 and game.agent_offer() is not None)


# --------------------------------------------------------------------------- codes and names

def test_codes_are_short_unambiguous_and_unique_in_the_store(text, tmp_path):
    pattern = re.compile(rf"[{classroom.ALPHABET}]{{{classroom.CODE_LENGTH}}}")
    codes = {classroom.new_code() for _ in range(2000)}
    assert all(pattern.fullmatch(c) for c in codes) and len(codes) > 1990
    assert not set("01ILOU") & set(classroom.ALPHABET)
    drawn = iter(["K7QX2M", "k7qx2m", "K7QX-2M", "ZZ2345"])
    store = Store(tmp_path / "codes.duckdb")
    first = classroom.create_session(text, store=store, codes=lambda: next(drawn))
    second = classroom.create_session(text, store=store, codes=lambda: next(drawn))
    assert (first.code, second.code) == ("K7QX2M", "ZZ2345")  # taken codes are drawn again
    assert classroom.get_session(" k7qx-2m ", store).code == "K7QX2M"
    for bad in ("", "K7QX2", "K7QX2MM", "K7QX0M", "K7QXIM"):
        with pytest.raises(ClassroomError):
            classroom.normalize_code(bad)
    with pytest.raises(SessionNotFound, match="AAAAAA"):
        classroom.get_session("AAAAAA", store)


def test_names_are_trimmed_limited_and_checked():
    assert classroom.clean_name("  Ada \t  Lovelace \n") == "Ada Lovelace"
    assert classroom.clean_name("Ａｄａ") == "Ada"  # NFKC: full-width letters
    assert classroom.name_key("ADA  lovelace") == classroom.name_key("ada Lovelace")
    assert classroom.clean_name("x" * classroom.NAME_MAX) == "x" * classroom.NAME_MAX
    for bad in ("", "   ", "\n", "x" * (classroom.NAME_MAX + 1), "=HYPERLINK(1)", "-x",
                "a\x00b", "a\u200bb", None):
        with pytest.raises(ClassroomError):
            classroom.clean_name(bad)


def test_side_rules():
    code = "K7QX2M"
    alternate = [classroom.side_for("alternate", PARTIES, code, n) for n in range(1, 7)]
    assert alternate == ["japan", "russia"] * 3
    assert {classroom.side_for("russia", PARTIES, code, n) for n in range(1, 9)} == {"russia"}
    draw = [classroom.side_for("random", PARTIES, code, n) for n in range(1, 41)]
    assert draw == [classroom.side_for("random", PARTIES, code, n) for n in range(1, 41)]
    for block in range(20):  # balanced: each pair of seats has one of each side
        assert sorted(draw[2 * block:2 * block + 2]) == list(PARTIES)
    assert draw != ["japan", "russia"] * 20 and draw != [classroom.side_for(
        "random", PARTIES, "ZZ2345", n) for n in range(1, 41)]
    with pytest.raises(ClassroomError, match="side rule"):
        classroom.side_for("china", PARTIES, code, 1)


def test_seed_policies_and_session_settings(text):
    with pytest.raises(ClassroomError, match="side rule"):
        classroom.create_session(text, side_rule="usa")
    with pytest.raises(ClassroomError, match="seed policy"):
        classroom.create_session(text, seed_policy="each")
    with pytest.raises(ClassroomError, match="class seed"):
        classroom.create_session(text, seed=-1)
    with pytest.raises(ClassroomError, match="does not load"):
        classroom.create_session("name: [")
    one = classroom.create_session(text, seed=42, side_rule="japan")
    assert {classroom.join(one.code, n).seed for n in ("a", "b", "c")} == {42}
    assert {classroom.join(one.code, n).side for n in ("a", "b", "d")} == {"japan"}
    each = classroom.create_session(text, seed_policy="student")
    assert each.seed is None and each.scenario_text == text
    seeds = {n: classroom.join(each.code, n).seed for n in ("Ada", "Ben", "Cy")}
    assert len(set(seeds.values())) == 3
    assert seeds == {n: classroom.student_seed(each.code, n) for n in seeds}
    assert classroom.join(each.code, " ADA ").seed == seeds["Ada"]
    assert all(0 <= s < classroom.SEED_LIMIT for s in seeds.values())


def test_joining_twice_gives_the_same_seat(text):
    session = classroom.create_session(text)
    ada = classroom.join(session.code, "Ada Lovelace")
    ben = classroom.join(session.code.lower(), "Ben")
    again = classroom.join(session.code, "  ada   LOVELACE ")
    assert again == ada and again.name == "Ada Lovelace" and again.number == 1
    assert (ada.side, ben.side, ben.number) == ("japan", "russia", 2)
    assert [s.name for s in classroom.seats(session.code)] == ["Ada Lovelace", "Ben"]
    with pytest.raises(ClassroomError):
        classroom.join(session.code, " ")
    with pytest.raises(SessionNotFound):
        classroom.join("ZZZZZZ", "Ada")


def test_a_finished_game_saved_twice_is_stored_once(text):
    session = classroom.create_session(text, seed=3)
    ada = classroom.join(session.code, "Ada")
    game = ada.game()
    finish(game, 0)
    gid, new = classroom.save_game(ada, game.result())
    assert new
    again = classroom.save_game(ada, json.loads(game.result().model_dump_json()))
    assert again == (gid, False)
    stored = classroom.games(session.code)
    assert len(stored) == 1 and stored[0]["id"] == gid
    assert stored[0]["result"] == game.result().model_dump(mode="json")
    assert (stored[0]["name"], stored[0]["side"], stored[0]["seed"]) == ("Ada", "japan", 3)
    # Playing the seat again otherwise is another game, the seat's second attempt.
    other = ada.game()
    finish(other, 2)
    assert classroom.save_game(ada, other.result())[1]
    assert [g["attempt"] for g in classroom.games(session.code)] == [1, 2]
    # A game of another seat, side or scenario is refused.
    ben = classroom.join(session.code, "Ben")
    with pytest.raises(ClassroomError, match="played as"):
        classroom.save_game(ben, game.result())
    stranger = classroom.Seat(**{**ada.__dict__, "name": "Eve", "key": "eve"})
    with pytest.raises(ClassroomError, match="join"):
        classroom.save_game(stranger, game.result())
    assert len(classroom.games(session.code)) == 2


def test_a_store_without_class_tables_has_no_sessions(tmp_path):
    path = tmp_path / "old.duckdb"
    old_schema = store_mod._SCHEMA.split("CREATE TABLE IF NOT EXISTS sessions")[0]
    with duckdb.connect(str(path)) as con:  # a store as negsim made it before classes
        con.execute(old_schema)
        con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    store = Store(path)
    assert store.sessions() == [] and store.session("K7QX2M") is None
    assert store.games("K7QX2M") == [] and store.seats("K7QX2M") == []
    assert store.experiments() == []
    # The first class write adds the tables.
    session = classroom.create_session(dump_resolved(resolve("baseline")), store=store)
    assert [s["code"] for s in store.sessions()] == [session.code]


# --------------------------------------------------------------------------- many students

def student(code: str, i: int, store: str, barrier) -> dict:
    """One student, as the dashboard does it: join, play the seat, save the finished game (twice:
    a double click), after waiting for everyone at the barrier."""
    barrier.wait(timeout=120)
    seat = classroom.join(code, f"Student {i:02d}", store)
    game = seat.game()
    finish(game, i % 3)
    result = game.result()
    barrier.wait(timeout=120)
    gid, new = classroom.save_game(seat, result, store)
    again = classroom.save_game(seat, result, store)
    return {"name": seat.name, "number": seat.number, "side": seat.side, "seed": seat.seed,
            "id": gid, "new": new, "again": again, "status": result.status}


def _students(code: str, first: int, count: int, store: str, barrier, out) -> None:
    """Students ``first .. first + count - 1``, each in a thread of this process."""

    def one(i: int) -> None:
        try:
            out.put((i, student(code, i, store, barrier)))
        except BaseException as e:  # report it rather than leave the parent waiting
            out.put((i, f"{type(e).__name__}: {e}"))
            raise

    threads = [threading.Thread(target=one, args=(i,)) for i in range(first, first + count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def check_class(code: str, store: str, played: dict[int, dict], rule: str) -> None:
    assert sorted(played) == list(range(STUDENTS))
    assert all(isinstance(p, dict) for p in played.values()), played
    stored = classroom.games(code, store)
    assert len(stored) == STUDENTS  # none lost, none duplicated
    assert len({g["id"] for g in stored}) == STUDENTS
    twice = {i: (p["new"], p["again"]) for i, p in played.items()
             if not p["new"] or tuple(p["again"]) != (p["id"], False)}
    assert not twice  # the first save stores the game, the second stores nothing
    seats = {s.name: s for s in classroom.seats(code, store)}
    assert len(seats) == STUDENTS and sorted(s.number for s in seats.values()) == list(
        range(1, STUDENTS + 1))
    by_name = {g["name"]: g for g in stored}
    session = classroom.get_session(code, store)
    for i, p in played.items():
        g = by_name[f"Student {i:02d}"]
        seat = seats[g["name"]]
        assert (g["id"], g["side"], g["seed"], g["status"]) == (p["id"], p["side"], p["seed"],
                                                                 p["status"])
        assert g["side"] == seat.side == classroom.side_for(rule, PARTIES, code, seat.number)
        assert g["result"]["player"]["side"] == g["side"] and g["attempt"] == 1
    summary = classroom.summary(code, store)
    assert summary["games"] == summary["students"] == summary["seats"] == STUDENTS
    assert sum(v["count"] for v in summary["status"].values()) == STUDENTS
    assert sum(v["count"] for v in summary["outcome_class"].values()) == STUDENTS
    assert sum(v["share"] for v in summary["outcome_class"].values()) == pytest.approx(1)
    assert sum(v["games"] for v in summary["sides"].values()) == STUDENTS
    assert session.parties == PARTIES
    target = classroom.export_csv(code, Path(store).parent, store)
    assert target.name == f"negsim-class-{code}.csv"
    with open(target, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == STUDENTS and {r["student"] for r in rows} == set(by_name)
    assert {r["game"] for r in rows} == {g["id"] for g in stored}
    assert not list(target.parent.glob(".*.tmp"))


def test_30_students_in_threads_save_at_once(text, tmp_path):
    store = str(tmp_path / "threads.duckdb")
    code = classroom.create_session(text, store=store, seed_policy="student").code
    barrier = threading.Barrier(STUDENTS)
    with ThreadPoolExecutor(STUDENTS) as pool:
        futures = {i: pool.submit(student, code, i, store, barrier) for i in range(STUDENTS)}
        played = {i: f.result(timeout=300) for i, f in futures.items()}
    check_class(code, store, played, "alternate")
    assert {p["status"] for p in played.values()} >= {"no_agreement"}


def test_30_students_in_separate_processes_save_at_once(text, tmp_path,
                                                       processes=PROCESSES):
    """Each student in a spawned process of their own (with fewer ``processes``, each runs a
    few students in threads: both locks at once)."""
    store = str(tmp_path / "processes.duckdb")
    code = classroom.create_session(text, store=store, side_rule="random").code
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(STUDENTS), ctx.Queue()
    share = -(-STUDENTS // processes)
    procs = [ctx.Process(target=_students, args=(code, first, min(share, STUDENTS - first),
                                                 store, barrier, out))
             for first in range(0, STUDENTS, share)]
    assert len(procs) == processes
    for p in procs:
        p.start()
    try:
        played = dict(out.get(timeout=300) for _ in range(STUDENTS))
    finally:
        for p in procs:
            p.join(timeout=60)
    assert [p.exitcode for p in procs] == [0] * processes
    check_class(code, store, played, "random")


def test_threads_mixing_readers_and_writers_of_experiments(tmp_path):
    """DuckDB refuses a read-only and a read-write connection to one file at once in one
    process; the store's process lock keeps the dashboard's threads apart."""
    store = Store(tmp_path / "mixed.duckdb")

    def work(i: int) -> int:
        store.experiments()
        exp_id = store.save("game", scenario_name="s", scenario_sha256="x", scenario_text="t",
                            negsim_version="0", seed=i, settings={"i": i}, summary={},
                            rows=[{"index": 0, "seed": i}])
        assert store.rows(exp_id) == [{"index": 0, "seed": i}]
        return exp_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(24)))
    assert len(set(ids)) == 24 == len(store.experiments())


# --------------------------------------------------------------------------- the Class page

def _open_class_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.switch_page("views/classroom.py")
    at.run()
    assert not at.exception and at.title[0].value == "Class"
    return at


def _finished(at: AppTest) -> bool:
    return any(m.value.startswith('<p data-testid="negsim-reason">') for m in at.markdown)


def test_a_teacher_and_a_student_on_the_class_page():
    teacher = _open_class_page()
    teacher.radio(key="class.role").set_value("Teacher").run()
    next(b for b in teacher.button if b.label == "Create the class session").click().run()
    assert not teacher.exception
    code = teacher.session_state["class.teacher_code"]
    assert re.fullmatch(r"[A-Z2-9]{6}", code)
    assert any(code in m.value and "negsim-class-code" in m.value for m in teacher.markdown)
    metrics = {m.label: m.value for m in teacher.metric}
    assert metrics["Games finished"] == "0" and metrics["Students joined"] == "0"

    pupil = _open_class_page()
    pupil.text_input(key="class.code_in").input(code.lower())
    pupil.text_input(key="class.name_in").input("   ")
    next(b for b in pupil.button if b.label == "Join").click().run()
    assert pupil.error and classroom.SEAT_KEY not in pupil.session_state
    pupil.text_input(key="class.name_in").input("  Ada ")
    next(b for b in pupil.button if b.label == "Join").click().run()
    assert not pupil.exception and not pupil.error
    seat = pupil.session_state[classroom.SEAT_KEY]
    assert (seat.code, seat.name, seat.side, seat.number) == (code, "Ada", "japan", 1)
    assert {m.label for m in pupil.metric} >= {"Your side", "Your seed"}
    next(b for b in pupil.button if b.label == "Play").click().run()
    assert not pupil.exception and pupil.title[0].value == "Play"  # st.switch_page
    pupil.switch_page("views/play.py")  # AppTest's own idea of the page follows
    pupil.run()
    assert not pupil.radio  # the seat fixes the side
    while not _finished(pupil):
        labels = [b.label for b in pupil.button]
        pick = next(label for label in ("Reject", "Make no offer", "Continue")
                    if label in labels)
        next(b for b in pupil.button if b.label == pick).click().run()
        assert not pupil.exception
    assert any(f"Saved to class session {code}" in s.value for s in pupil.success)
    result = pupil.session_state["game_result"]
    assert result["player"]["side"] == "japan" and result["seed"] == seat.seed
    pupil.run()  # a rerun of the finished game saves nothing more
    assert len(classroom.games(code)) == 1
    debrief = [b for b in pupil.button if b.label == "Prepare the debrief report"]
    if debrief:  # the report is made from the session's scenario
        debrief[0].click().run()
        assert not pupil.exception and not pupil.error
        assert len(classroom.games(code)) == 1

    next(b for b in teacher.button if b.label == "Refresh").click().run()
    assert not teacher.exception
    metrics = {m.label: m.value for m in teacher.metric}
    assert metrics["Games finished"] == "1" and metrics["Students joined"] == "1"
    table = next(d.value for d in teacher.dataframe if "student" in d.value.columns)
    assert list(table["student"]) == ["Ada"] and list(table["status"]) == ["no agreement"]
    assert any(d.label == "Download the games (CSV)" for d in teacher.get("download_button"))
