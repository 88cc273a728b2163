"""Class sessions: a teacher opens a session, students join it with a code and play one side.

A session fixes everything a class plays, so that every student plays the same game whatever
happens to the bundled files afterwards:

- **code**: ``CODE_LENGTH`` (6) characters from ``ALPHABET``, capital letters and digits
  without the look-alikes 0/O, 1/I/L and U (30 symbols, 30**6 ≈ 7·10**8 codes), drawn with
  :mod:`secrets` and unique in the store (a code already taken is drawn again, inside the
  transaction that inserts the session). Students may type it in lower case, with spaces or a
  hyphen (``abc-def``): :func:`normalize_code` tidies it.
- **scenario**: the full resolved YAML text (``sim.loading.dump_resolved``), with its name and
  sha256 (as ``Runner.sha256`` and ``RunResult.scenario.sha256`` give it).
- **seed policy** (``SEED_POLICIES``): ``class``: every student plays the class seed the teacher
  chose; ``student``: each student plays :func:`student_seed` (code, name), the first 8 bytes of
  ``sha256("negsim-class:<code>:<name key>")`` as a big-endian integer modulo 2**31, so a
  student's seed depends on nothing but the session code and their name (and fits the
  dashboard's seed box).
- **side rule** (:func:`side_for`): ``alternate``: seats take the parties in turn, in the
  scenario's party order, by join order (seat 1 the first party, seat 2 the second, ...);
  a party id (``japan``, ``russia``, ...): every student plays that party; ``random``: random
  but balanced: the seats are taken in blocks of one seat per party (seats 1-2, 3-4, ... for two
  parties) and each block's order is a shuffle by ``random.Random("<code>:<block>")``, so the
  draw is reproducible from the session code and the join order.

Students join with the code and a display name only: no account and no other personal data.
A name is NFKC-normalised, trimmed, its inner whitespace collapsed to single spaces; it must not
be empty, be at most ``NAME_MAX`` characters, contain no control characters, and start with a
letter or a digit (so a name can never be read as a spreadsheet formula in the CSV). Names are
compared case-insensitively (:func:`name_key`): joining again with the same name gives the same
seat back (same number, side and seed), never a second one.

A finished game is saved with :func:`save_game` under the session with the student's name, side,
seed and the full RunResult JSON. Saving is idempotent: the game id (:func:`game_id`) is a hash
of the session code, the student's name key, the side, the seed and the moves, so saving the same
finished game again (a rerun, a double click, a retry after a timeout) stores nothing new. A
student who plays the seat again with other moves adds another game (``attempt`` 2, 3, ...).
The store keeps sessions, seats and games in its ``sessions``, ``seats`` and ``games`` tables
(see :mod:`sim.store`), one transaction per join or save, serialised across threads and
processes, so many students saving at once neither lose nor duplicate a game.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import operator
import random
import secrets
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sim import __version__
from sim.io import atomic_write_text
from sim.loading import Resolved, resolve
from sim.play import Game
from sim.results import RunResult
from sim.runner import Runner
from sim.scenario import Scenario
from sim.store import Store

ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 6
NAME_MAX = 40
SEED_POLICIES = ("class", "student")
SIDE_RULES = ("alternate", "random")
"""Besides these, a party id is a side rule: everyone plays that party."""
SEED_LIMIT = 2**31
STATUSES = ("ratified", "signed_not_ratified", "no_agreement")
SEAT_KEY = "class.seat"
"""Where the dashboard keeps a student's :class:`Seat` in ``st.session_state``."""


class ClassroomError(ValueError):
    """A request the class session cannot take (a bad code or name, a game of another seat)."""


class SessionNotFound(ClassroomError, KeyError):
    """No class session with this code in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such class session"


# --------------------------------------------------------------------------- codes, names, rules

def new_code() -> str:
    """A random session code (not yet checked against the store)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """The code a person typed, in upper case without spaces or hyphens; raises
    ClassroomError when it cannot be a session code."""
    code = "".join(str(text).split()).replace("-", "").upper()
    if not code:
        raise ClassroomError("enter the class code your teacher gave you")
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        raise ClassroomError(f"{code!r} is not a class code ({CODE_LENGTH} letters and digits, "
                             f"like {'ABC234'!r})")
    return code


def clean_name(name: str) -> str:
    """A display name as stored: NFKC, trimmed, inner whitespace collapsed; raises
    ClassroomError for an empty, too long or odd name (see the module docstring)."""
    if not isinstance(name, str):
        raise ClassroomError("a display name must be text")
    text = " ".join(unicodedata.normalize("NFKC", name).split())
    if not text:
        raise ClassroomError("enter a display name (a first name or a nickname is enough)")
    if len(text) > NAME_MAX:
        raise ClassroomError(f"a display name has at most {NAME_MAX} characters "
                             f"(this one has {len(text)})")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ClassroomError("a display name cannot contain control characters")
    if not text[0].isalnum():
        raise ClassroomError("a display name starts with a letter or a digit")
    return text


def name_key(name: str) -> str:
    """What identifies a student in a session: the cleaned name, case-folded."""
    return clean_name(name).casefold()


def student_seed(code: str, name: str) -> int:
    """The seed of a student under the ``student`` seed policy (see the module docstring)."""
    digest = hashlib.sha256(f"negsim-class:{normalize_code(code)}:{name_key(name)}".encode())
    return int.from_bytes(digest.digest()[:8], "big") % SEED_LIMIT


def check_side_rule(rule: str, parties: Iterable[str]) -> str:
    parties = list(parties)
    if rule not in (*SIDE_RULES, *parties):
        raise ClassroomError(f"unknown side rule {rule!r}; expected one of "
                             f"{[*SIDE_RULES, *parties]}")
    return rule


def side_for(rule: str, parties: list[str] | tuple[str, ...], code: str, number: int) -> str:
    """The side of seat ``number`` (join order, from 1) under a side rule."""
    check_side_rule(rule, parties)
    if number < 1:
        raise ValueError(f"seat numbers start at 1, not {number}")
    n = len(parties)
    if rule == "alternate":
        return parties[(number - 1) % n]
    if rule == "random":
        order = list(parties)
        random.Random(f"{code}:{(number - 1) // n}").shuffle(order)
        return order[(number - 1) % n]
    return rule


# --------------------------------------------------------------------------- sessions and seats

@dataclass(frozen=True)
class Session:
    code: str
    created: str
    scenario_name: str
    scenario_sha256: str
    scenario_text: str
    negsim_version: str
    parties: tuple[str, ...]
    side_rule: str
    seed_policy: str
    seed: int | None
    """The class seed (``seed_policy == "class"``), else None."""

    def runner(self) -> Runner:
        return Runner(yaml.safe_load(self.scenario_text))

    def scenario(self) -> Scenario:
        return self.runner().nominal


@dataclass(frozen=True)
class Seat:
    """A student's place in a session: all the Play page needs to play it."""

    code: str
    name: str
    key: str
    number: int
    side: str
    seed: int
    joined: str
    scenario_name: str
    scenario_sha256: str
    scenario_text: str

    def runner(self) -> Runner:
        return Runner(yaml.safe_load(self.scenario_text))

    def game(self) -> Game:
        """A new game of this seat: the session's scenario, the seat's seed and side."""
        return Game(self.runner(), self.seed, self.side)

    def resolved(self) -> Resolved:
        """The session's scenario as :func:`sim.loading.resolve` reads it (what the debrief
        report wants)."""
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / f"{self.scenario_name}.yaml"
            path.write_text(self.scenario_text, encoding="utf-8")
            return resolve(path)


def _store(store: Store | str | Path | None) -> Store:
    return store if isinstance(store, Store) else Store(store)


def _session(row: Mapping) -> Session:
    return Session(code=row["code"], created=row["created"],
                   scenario_name=row["scenario_name"], scenario_sha256=row["scenario_sha256"],
                   scenario_text=row["scenario_text"], negsim_version=row["negsim_version"],
                   parties=tuple(json.loads(row["parties"])), side_rule=row["side_rule"],
                   seed_policy=row["seed_policy"], seed=row["seed"])


def create_session(scenario_text: str, *, side_rule: str = "alternate",
                   seed_policy: str = "class", seed: int = 0,
                   store: Store | str | Path | None = None,
                   codes: Callable[[], str] = new_code) -> Session:
    """Open a class session on a resolved scenario (YAML text); return it with its new code.

    ``codes`` draws candidate codes (tests pass their own); a code already in the store is
    drawn again.
    """
    try:
        runner = Runner(yaml.safe_load(scenario_text))
    except Exception as e:  # noqa: BLE001 - any failure means the text is not a scenario
        raise ClassroomError(f"the scenario text does not load: {e}") from e
    parties = list(runner.nominal.party_ids)
    check_side_rule(side_rule, parties)
    if seed_policy not in SEED_POLICIES:
        raise ClassroomError(f"unknown seed policy {seed_policy!r}; expected one of "
                             f"{list(SEED_POLICIES)}")
    class_seed: int | None = None
    if seed_policy == "class":
        try:
            class_seed = operator.index(seed)
        except TypeError:
            class_seed = None
        if class_seed is None or isinstance(seed, bool):
            raise ClassroomError(f"the class seed must be an integer, not {seed!r}")
        if not 0 <= class_seed < SEED_LIMIT:
            raise ClassroomError(f"the class seed must be in 0..{SEED_LIMIT - 1}")
    record = {"scenario_name": runner.name, "scenario_sha256": runner.sha256,
              "scenario_text": scenario_text, "negsim_version": __version__,
              "parties": json.dumps(parties), "side_rule": side_rule,
              "seed_policy": seed_policy, "seed": class_seed}

    def candidate() -> str:
        return normalize_code(codes())

    row = _store(store).add_session(record, candidate)
    return _session(row)


def get_session(code: str, store: Store | str | Path | None = None) -> Session:
    code = normalize_code(code)
    row = _store(store).session(code)
    if row is None:
        raise SessionNotFound(f"no class session with code {code}: check the code with your "
                              "teacher")
    return _session(row)


def _seat(session: Session, row: Mapping) -> Seat:
    return Seat(code=session.code, name=row["name"], key=row["name_key"], number=row["number"],
                side=row["side"], seed=row["seed"], joined=row["joined"],
                scenario_name=session.scenario_name, scenario_sha256=session.scenario_sha256,
                scenario_text=session.scenario_text)


def join(code: str, name: str, store: Store | str | Path | None = None) -> Seat:
    """Join a session with its code and a display name; the same name (ignoring case and
    extra spaces) gets the same seat back."""
    code = normalize_code(code)
    name = clean_name(name)
    key = name.casefold()

    def assign(row: dict, number: int) -> tuple[str, int]:
        session = _session(row)
        side = side_for(session.side_rule, session.parties, session.code, number)
        seed = session.seed if session.seed_policy == "class" else student_seed(session.code,
                                                                                  name)
        return side, int(seed)

    try:
        session_row, row, _new = _store(store).take_seat(code, key, name, assign)
    except KeyError:
        raise SessionNotFound(f"no class session with code {code}: check the code with your "
                              "teacher") from None
    return _seat(_session(session_row), row)


def seats(code: str, store: Store | str | Path | None = None) -> list[Seat]:
    """The session's seats in join order."""
    db = _store(store)
    session = get_session(code, db)
    return [_seat(session, row) for row in db.seats(session.code)]


# --------------------------------------------------------------------------- games

def _result(result: RunResult | Mapping) -> RunResult:
    if isinstance(result, RunResult):
        return result
    return RunResult.model_validate(result)


def game_id(seat: Seat, result: RunResult | Mapping) -> str:
    """The id of a finished game: a hash of session, student, side, seed and moves."""
    result = _result(result)
    moves = (result.player or {}).get("moves", [])
    text = json.dumps({"session": seat.code, "student": seat.key, "side": seat.side,
                       "seed": seat.seed, "moves": moves}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def save_game(seat: Seat, result: RunResult | Mapping,
              store: Store | str | Path | None = None) -> tuple[str, bool]:
    """Save a seat's finished game (``Game.result()``) to its session, once; return the game id
    and whether it was new (False: this very game was saved before, nothing was added)."""
    result = _result(result)
    player = result.player or {}
    if player.get("side") != seat.side:
        raise ClassroomError(f"this game was played as {player.get('side')!r}, but the seat "
                             f"of {seat.name} plays {seat.side!r}")
    if result.seed != seat.seed:
        raise ClassroomError(f"this game was played with seed {result.seed}, but the seat of "
                             f"{seat.name} has seed {seat.seed}")
    if result.scenario.sha256 != seat.scenario_sha256:
        raise ClassroomError("this game was played on another scenario than the session's")
    gid = game_id(seat, result)
    record = {"id": gid, "session_code": seat.code, "name_key": seat.key, "side": seat.side,
              "seed": seat.seed, "status": result.status,
              "outcome_class": result.outcome_class, "round": result.round,
              "result": result.model_dump_json()}
    try:
        _row, new = _store(store).add_game(record)
    except KeyError:
        raise ClassroomError(f"{seat.name} has no seat in class session {seat.code}: join "
                             "it first") from None
    except ValueError as e:
        raise ClassroomError(f"this game does not fit the seat of {seat.name}: {e}") from None
    return gid, new


def games(code: str, store: Store | str | Path | None = None) -> list[dict]:
    """The session's games in the order they were saved: id, session, name, seat, side, seed,
    attempt, saved (UTC ISO), status, outcome_class, round and result (the RunResult as a
    dict)."""
    db = _store(store)
    session = get_session(code, db)
    out = []
    for row in db.games(session.code):
        out.append({"id": row["id"], "session": row["session_code"], "name": row["name"],
                    "seat": row["number"], "side": row["side"], "seed": row["seed"],
                    "attempt": row["attempt"], "saved": row["created"],
                    "status": row["status"], "outcome_class": row["outcome_class"],
                    "round": row["round"], "result": json.loads(row["result"])})
    return out


def _shares(counts: Mapping[str, int], total: int) -> dict[str, dict]:
    return {k: {"count": c, "share": c / total if total else 0.0} for k, c in counts.items()}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def summarize(class_games: list[dict], parties: Iterable[str]) -> dict:
    """The class summary of a list of games (as :func:`games` returns them).

    ``games``, ``students`` (distinct students with a game); ``status`` and ``outcome_class``:
    ``{name: {"count", "share"}}`` (every status listed; counts add up to ``games``); ``sides``:
    for each party, the games in which a student played it and the mean utility the students
    playing it got (None without games); ``mean_utility``: each party's mean utility over all
    games (a game without a deal gives each leader its reservation utility).
    """
    parties = list(parties)
    n = len(class_games)
    status = Counter({s: 0 for s in STATUSES})
    status.update(g["status"] for g in class_games)
    classes = Counter(g["outcome_class"] for g in class_games)
    sides = {}
    for p in parties:
        mine = [g for g in class_games if g["side"] == p]
        sides[p] = {"games": len(mine),
                    "mean_utility": _mean([g["result"]["utility"][p] for g in mine])}
    return {"games": n, "students": len({g["name"].casefold() for g in class_games}),
            "status": _shares(status, n),
            "outcome_class": _shares(dict(classes.most_common()), n),
            "sides": sides,
            "mean_utility": {p: _mean([g["result"]["utility"][p] for g in class_games])
                             for p in parties}}


def summary(code: str, store: Store | str | Path | None = None) -> dict:
    """:func:`summarize` of a session's games, with the session code and the seats taken."""
    db = _store(store)
    session = get_session(code, db)
    out = {"session": session.code, "seats": len(db.seats(session.code))}
    out.update(summarize(games(session.code, db), session.parties))
    return out


# --------------------------------------------------------------------------- CSV

def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def csv_rows(class_games: list[dict], parties: Iterable[str]) -> list[dict]:
    """One flat row per game: who played, the outcome, each party's utility, approval,
    support and ratification, each issue of the deal, the moves (JSON)."""
    parties = list(parties)
    rows = []
    issues: dict[str, None] = {}
    for g in class_games:
        r = g["result"]
        for issue in r.get("deal") or {}:
            issues.setdefault(issue, None)
    for g in class_games:
        r = g["result"]
        row = {"session": g["session"], "game": g["id"], "student": g["name"],
               "seat": g["seat"], "side": g["side"], "seed": g["seed"],
               "attempt": g["attempt"], "saved": g["saved"], "status": g["status"],
               "outcome_class": g["outcome_class"], "round": g["round"],
               "meetings": len(r.get("trace") or []), "reason": r.get("reason")}
        for field in ("utility", "approval", "support"):
            for p in parties:
                row[f"{field}_{p}"] = (r.get(field) or {}).get(p)
        for p in parties:
            row[f"ratified_{p}"] = (r.get("ratified") or {}).get(p)
        deal = r.get("deal") or {}
        for issue in issues:
            row[f"deal.{issue}"] = deal.get(issue)
        row["moves"] = (r.get("player") or {}).get("moves", [])
        row["scenario_sha256"] = r["scenario"]["sha256"]
        rows.append(row)
    return rows


_HEAD = ("session", "game", "student", "seat", "side", "seed", "attempt", "saved", "status",
         "outcome_class", "round", "meetings", "reason")


def csv_text(class_games: list[dict], parties: Iterable[str]) -> str:
    """The games as RFC 4180 CSV text with a header (empty cells: missing values)."""
    rows = csv_rows(class_games, parties)
    columns = list(rows[0]) if rows else list(_HEAD)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(columns)
    for row in rows:
        out.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def export_csv(code: str, path: str | Path, store: Store | str | Path | None = None) -> Path:
    """Write the session's games to ``path`` (a file, or a directory to write
    ``negsim-class-<code>.csv`` into) atomically; return the file written."""
    db = _store(store)
    session = get_session(code, db)
    target = Path(path).expanduser()
    if target.is_dir():
        target = target / f"negsim-class-{session.code}.csv"
    atomic_write_text(target, csv_text(games(session.code, db), session.parties))
    return target
