"""The bundled scenario library (BRIEF §6): every scenario loads, cites a source for every number
and teaches in the same four sections, and each variant moves the model the way its teaching
notes say it does.
"""

from __future__ import annotations

import re
import shlex
from functools import cache

import numpy as np
import pytest
import typer.main
import yaml

from sim.cli import app
from sim.compiled import compile_scenario
from sim.ensemble import Ensemble
from sim.loading import bundled_dir, bundled_names, resolve
from sim.model import NegotiationModel
from sim.provenance import unsourced
from sim.runner import Runner
from sim.uncertainty import uncertain_parameters

EXPECTED = {
    "baseline", "two_island_1956", "hardline", "four_islands", "putin_recovers",
    "sanctions_escalate", "china_pressure", "economic_first", "constitution_2020",
}
VARIANTS = sorted(EXPECTED - {"baseline"})
HEADINGS = ["What it is", "How it works", "Things to try", "What happened in reality"]
ISLANDS = ("habomai", "shikotan", "kunashiri", "etorofu")
NAMES = bundled_names()


@cache
def resolved(name: str, sets: tuple[str, ...] = ()):
    return resolve(name, list(sets))


def compiled(name: str, sets: tuple[str, ...] = ()):
    return compile_scenario(resolved(name, sets).scenario)


def deals(c, mask: np.ndarray) -> list[dict]:
    return [c.space.decode(int(k)) for k in np.flatnonzero(mask)]


def holders(deal: dict) -> set[str]:
    return {str(deal[i]) for i in ISLANDS}


def sections(notes: str) -> dict[str, str]:
    """The teaching notes split at their level-4 headings: {heading: text}."""
    parts = re.split(r"^#### (.+?)[ \t]*$", notes, flags=re.M)
    return {head: body.strip() for head, body in zip(parts[1::2], parts[2::2], strict=True)}


# --------------------------------------------------------------------------- the library


def test_the_nine_scenarios_of_the_brief_are_bundled():
    assert set(NAMES) >= EXPECTED


@pytest.mark.parametrize("name", VARIANTS)
def test_every_variant_extends_the_baseline(name):
    raw = yaml.safe_load((bundled_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    assert raw["extends"] == "baseline"
    assert raw["name"] == name
    assert {"title", "description", "teaching_notes"} <= set(raw)


@pytest.mark.parametrize("name", NAMES)
def test_a_bundled_scenario_validates(name):
    r = resolved(name)  # raises ScenarioError, with every problem, if it does not
    assert r.scenario.name == name
    compile_scenario(r.scenario)  # the polls calibrate


@pytest.mark.parametrize("name", NAMES)
def test_a_bundled_scenario_has_no_unsourced_number(name):
    missing = unsourced(resolved(name).data)
    assert missing == [], "numbers without a source or `assumption`:\n" + "\n".join(
        f"  {n.path} = {n.value}" for n in missing)


@pytest.mark.parametrize("name", NAMES)
def test_teaching_notes_have_the_four_sections_in_order(name):
    notes = resolved(name).scenario.teaching_notes
    headings = re.findall(r"^#{1,6} .*$", notes, flags=re.M)
    assert headings == [f"#### {h}" for h in HEADINGS]
    for head, body in sections(notes).items():
        assert body, f"section {head!r} is empty"


@pytest.mark.parametrize("name", NAMES)
def test_things_to_try_are_commands_that_run(name):
    """Every `negsim ...` command in "Things to try" names a bundled scenario, a real
    subcommand and real options, and its --set levers apply; a bare `--set ...` lever applies
    to the scenario itself."""
    text = sections(resolved(name).scenario.teaching_notes)["Things to try"]
    spans = re.findall(r"`([^`]+)`", text)
    commands = [s for s in spans if s.startswith("negsim ")]
    assert commands and any("--set" in c for c in commands)
    cli = typer.main.get_command(app)
    for span in spans:
        words = shlex.split(span)
        if words[0] == "negsim":
            assert len(words) >= 3, f"{span!r}: name the scenario"
            sub, target, *rest = words[1:]
            assert sub in cli.commands, span
            options = {o for p in cli.commands[sub].params for o in (*p.opts, *p.secondary_opts)}
            assert target in NAMES, span
        elif words[0] == "--set":
            target, rest = name, words
        else:
            continue
        assert {w for w in rest if w.startswith("--")} <= options, span
        sets = tuple(v for flag, v in zip(rest, rest[1:], strict=False) if flag == "--set")
        resolved(target, sets)  # every lever names a real field and a valid value


# --------------------------------------------------------------------------- the variants


def test_the_baseline_is_deadlocked():
    assert compiled("baseline").analysis["zopa_size"] == 0


def test_four_islands_abe_signs_only_four_island_deals():
    c = compiled("four_islands")
    japan = c.parties["japan"]
    allowed = deals(c, japan.requires)
    assert allowed and all(holders(d) == {"japan"} for d in allowed)
    every_four = c.space.allowed({i: ["japan"] for i in ISLANDS})
    assert np.array_equal(japan.requires, every_four)
    feasible = c.analysis["_masks"]["feasible"]["japan"]
    assert feasible.any() and not (feasible & ~every_four).any()
    # The Japanese public is the baseline's.
    assert np.array_equal(japan.x, compiled("baseline").parties["japan"].x)
    model = NegotiationModel(resolved("four_islands").scenario, 0)
    model.step()
    assert all(holders(d) == {"japan"} for d in deals(c, model.leaders["japan"].feasible()))


def test_putin_recovers_raises_putins_approval():
    base = resolved("baseline").scenario.parties["russia"].leader.approval
    high = resolved("putin_recovers").scenario.parties["russia"].leader.approval
    assert high == pytest.approx(0.80)
    assert high > base
    lo, _ = draws("putin_recovers", "parties.russia.leader.approval")
    _, base_hi = draws("baseline", "parties.russia.leader.approval")
    assert lo > base_hi  # every run's Putin is more popular than any baseline run's


def draws(name: str, path: str) -> tuple[float, float]:
    """The range an uncertain parameter is drawn from."""
    for p in uncertain_parameters(resolved(name).data):
        if p.name == path:
            return p.distribution.bounds()
    raise AssertionError(f"{path} is not uncertain in {name}")


@pytest.mark.parametrize(("name", "factor", "party"), [
    ("sanctions_escalate", "united_states", "russia"),
    ("china_pressure", "china", "japan"),
])
def test_outside_pressure_rises_and_lowers_the_value_of_no_deal(name, factor, party):
    """Sanctions make Japanese money worth more to Putin; China makes a treaty worth more to
    Abe: either way no deal is worth less to that leader than in the baseline."""
    base, variant = resolved("baseline").scenario, resolved(name).scenario
    assert variant.external[factor].intensity > base.external[factor].intensity
    assert draws(name, f"external.{factor}.intensity")[0] > \
        draws("baseline", f"external.{factor}.intensity")[1]
    res = compiled(name).analysis["reservation"][party]
    assert res < compiled("baseline").analysis["reservation"][party]


def test_economic_first_works_on_the_publics_and_opens_a_zone_of_agreement():
    base, econ = compiled("baseline"), compiled("economic_first")
    for pid in base.ids:  # the leaders are the baseline's
        u, r = econ.base_utilities[pid]
        assert np.array_equal(u, base.base_utilities[pid][0]) and r == base.base_utilities[pid][1]
    assert econ.analysis["zopa_size"] > 0 == base.analysis["zopa_size"]
    zopa = deals(econ, econ.analysis["_masks"]["zopa"])
    assert all(holders(d) == {"joint"} for d in zopa)


# --------------------------------------------------------------------------- constitution_2020


def test_constitution_2020_putin_may_sign_no_transfer_at_round_0():
    c = compiled("constitution_2020")
    feasible = deals(c, c.analysis["_masks"]["feasible"]["russia"])
    assert feasible and all(holders(d) == {"russia"} for d in feasible)
    assert c.analysis["zopa_size"] == 0


@pytest.mark.parametrize("sets", [(), ("parties.russia.leader.requires={}",)],
                         ids=["as-written", "ban-event-alone"])
def test_constitution_2020_ban_bars_every_transfer_from_the_first_meeting(sets):
    """The ban event applies at the start of meeting 1; with or without the leader's
    `requires`, Putin may then sign only deals that keep all four islands Russian."""
    scenario = resolved("constitution_2020", sets).scenario
    c = compile_scenario(scenario)
    model = NegotiationModel(scenario, 0)
    model.step()
    putin = model.leaders["russia"]
    keeps_all = c.space.allowed({i: ["russia"] for i in ISLANDS})
    assert np.array_equal(putin.bans, keeps_all)
    feasible = deals(c, putin.feasible())
    assert feasible and all(holders(d) == {"russia"} for d in feasible)
    assert model.trace[0]["events"] and "ban" in model.trace[0]["events"][0]


@pytest.mark.parametrize("sets", [(), ("protocol.ratification.japan=0.05",)],
                         ids=["as-written", "japan-accepts-almost-anything"])
def test_constitution_2020_no_run_ends_with_a_transfer(sets):
    runner = Runner(resolved("constitution_2020", sets).data)
    rows = Ensemble(runner, runs=50, seed=0, workers=1).execute().rows
    assert len(rows) == 50 and not any(r["status"] == "failed" for r in rows)
    space = runner._nominal.space
    signed = [space.decode(r["deal"]) for r in rows if r["deal"] is not None]
    assert all(holders(d) == {"russia"} for d in signed)
    if sets:  # the lever opens a zone of agreement: deals are signed, none moves an island
        assert signed
