"""Play mode: a person plays one leader; scripted games through the API and `negsim play`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sim.cli import app
from sim.loading import resolve
from sim.play import Game, replay
from sim.runner import Runner

NO_NOISE = ["protocol.ratification_noise=0"]


def runner(*sets: str) -> Runner:
    return Runner(resolve("baseline", [*NO_NOISE, *sets]).data)


def play_cli(stdin: str, *args: str) -> dict:
    r = CliRunner().invoke(app, ["play", "baseline", *args, "--json"], input=stdin)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_turns_alternate_and_the_agent_answers_with_a_reason():
    g = Game(runner(), 1, "japan")
    assert g.meeting == 1 and g.proposing
    answer = g.propose({"habomai": "japan", "shikotan": "japan"})
    assert answer["accept"] is False and "Putin" in answer["why"]
    assert g.meeting == 2 and not g.proposing
    k = g.agent_offer()
    assert k is not None and g.agent_note()
    g.respond(False)
    assert g.meeting == 3 and g.proposing


def test_preview_matches_what_happens():
    g = Game(runner(), 2, "japan")
    deal = {"habomai": "japan", "shikotan": "japan", "kunashiri": "joint", "etorofu": "joint"}
    p = g.preview(deal)
    k = g.encode(deal)
    for pid, public in g.model.publics.items():
        assert p["publics"][pid]["support"] == pytest.approx(float(public.support[k]), abs=1e-4)
    g.propose(deal)
    entry = g.model.trace[0]
    assert entry["support"] == pytest.approx({pid: v["support"] for pid, v in
                                              p["publics"].items()}, abs=1e-4)
    assert entry["utility"]["japan"] == pytest.approx(p["your_utility"], abs=1e-4)


def test_bad_offers_and_wrong_turns_are_refused():
    g = Game(runner(), 0, "japan")
    with pytest.raises(ValueError, match="unknown issue"):
        g.preview({"sakhalin": "japan"})
    with pytest.raises(ValueError, match="unknown option"):
        g.preview({"habomai": "china"})
    with pytest.raises(RuntimeError):
        g.respond(True)
    with pytest.raises(ValueError, match="unknown side"):
        Game(runner(), 0, "china")


def test_a_replayed_game_gives_the_same_result():
    g = Game(runner("protocol.ratification.russia=0.2"), 3, "japan")
    while not g.done:
        if g.proposing:
            g.propose({"habomai": "japan", "shikotan": "japan", "economic_package": 30,
                       "no_foreign_bases": "yes"})
        else:
            g.respond(False)
    again = replay(g.runner, 3, "japan", g.moves)
    assert again.result().model_dump_json() == g.result().model_dump_json()
    assert g.result().player["moves"] == g.moves


def test_cli_game_ratified():
    # Russia accepts Abe's opening offer; with a 10% bar and no vote noise both ratify.
    result = play_cli("accept\n", "--as", "russia", "--set", "protocol.ratification.russia=0.1",
                      "--set", "protocol.ratification_noise=0")
    assert result["status"] == "ratified"
    assert result["player"] == {"side": "russia", "moves": [{"meeting": 1, "accept": True}]}


def test_cli_game_signed_not_ratified():
    # Abe accepts Putin's opening demand (recognition first): the Japanese public says no.
    result = play_cli("pass\naccept\n", "--as", "japan", "--set", "protocol.ratification_noise=0")
    assert result["status"] == "signed_not_ratified"
    assert result["ratified"]["japan"] is False


def test_cli_game_no_agreement_and_equal_to_the_api():
    moves = "habomai=japan shikotan=japan\nreject\n" * 6
    result = play_cli(moves, "--as", "japan", "--seed", "4")
    assert result["status"] == "no_agreement"
    g = replay(Runner(resolve("baseline").data), 4, "japan", result["player"]["moves"])
    assert json.loads(g.result().model_dump_json()) == result


def test_cli_walk_away_and_bad_input():
    r = CliRunner().invoke(app, ["play", "baseline", "--as", "japan", "--json"],
                           input="habomai=mars\nquit\n")
    assert r.exit_code == 0
    result = json.loads(r.stdout)
    assert "walked away" in result["reason"]
    assert "unknown option" in r.stderr
    bad = CliRunner().invoke(app, ["play", "baseline", "--as", "china"])
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
