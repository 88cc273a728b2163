"""Tests for sim.briefs: public and confidential role briefs, generated from the scenario file.

The central check: every number a brief shows is a scenario input (in its 0-1 or percent form)
or one of the figures the module reports, so a brief cannot carry hand-copied numbers; and the
public brief carries none of a side's confidential numbers.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from sim.briefs import (
    DEFAULT,
    brief,
    brief_figures,
    brief_html,
    brief_numbers,
)
from sim.compiled import compile_scenario
from sim.loading import bundled_names, resolve
from sim.provenance import numbers, source_at
from sim.uncertainty import uncertain_parameters

STRAIT = str(Path(__file__).parent / "fixtures" / "strait.yaml")
SCENARIOS = [*bundled_names(), STRAIT]

YEAR = re.compile(r"(?:19|20)\d\d")
"""Years (1945, 1956, 1998 ...) are dates, not model numbers."""
EXEMPT = {"0", "1"}
"""The ends of the leaders' utility scale, named in words ("from 0 (your worst deal) to 1")."""
NUMBER = re.compile(r"\d+(?:\.\d+)?%?")
CONFIDENTIAL_WORDS = ("reservation", "floor", "weight", "premium", "exponent", "boulware",
                      "conceder", "priorit", "walk-away", "confidential")


@cache
def resolved(ref: str, sets: tuple[str, ...] = ()):
    return resolve(ref, list(sets))


def sides(ref: str) -> list[str]:
    return list(resolved(ref).scenario.parties)


CASES = [(ref, side) for ref in SCENARIOS for side in sides(ref)]
IDS = [f"{Path(ref).stem}-{side}" for ref, side in CASES]


# --------------------------------------------------------------------------- helpers


def as_pct(v: float) -> str:
    s = f"{100 * v:.1f}"
    return s.removesuffix(".0") + "%"


def renderings(v: float) -> set[str]:
    """Every form a number may take in a brief: as written, two decimals, a percentage of a
    0-1 share, or a number the scenario writes in percent."""
    return {f"{v:g}", f"{v:.2f}", as_pct(v), f"{v:g}%"}


def scenario_strings(data) -> set[str]:
    """Text the scenario itself contains (titles, labels, descriptions, and notes however
    short): a brief quotes it verbatim, so numbers inside it are the scenario's own words."""
    out: set[str] = set()

    def walk(node, key=None):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str) and (len(node.strip()) >= 12 or key == "note"):
            out.update({node, node.strip(), " ".join(node.split())})

    walk(data)
    return out


def own_text(text: str, data) -> str:
    """A brief less the scenario text it quotes."""
    for s in sorted(scenario_strings(data), key=len, reverse=True):
        text = text.replace(s, " ")
    return text


def tokens(text: str, data) -> list[str]:
    """The numbers of a brief outside quoted scenario text, source ids and identifiers, less
    years and the explicitly exempt scale ends."""
    text = own_text(text, data)
    text = re.sub(r"\w*_\w*", " ", text)  # source ids and scenario names (sankei_fnn_2019_01)
    return [t for t in NUMBER.findall(text) if not YEAR.fullmatch(t) and t not in EXEMPT]


def html_text(page: str) -> str:
    body = page.split("<body>", 1)[1]
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def allowed(r, side: str, confidential: bool) -> set[str]:
    values = [n.value for n in numbers(r.data)]
    values += list(brief_figures(r, side, confidential=confidential).values())
    out: set[str] = set()
    for v in values:
        out |= renderings(float(v))
    return out


# --------------------------------------------------------------------------- generation


@pytest.mark.parametrize(("ref", "side"), CASES, ids=IDS)
def test_public_and_confidential_briefs_generate(ref, side):
    r = resolved(ref)
    s = r.scenario
    party = s.parties[side]
    public = brief(r, side, confidential=False)
    secret = brief(r, side, confidential=True)
    assert public.startswith(f"# {party.name}: public brief")
    assert secret.startswith(f"# {party.name}: confidential brief")
    for heading in ("## The case in brief", f"## {party.name}'s stated position",
                    f"## The other side: {s.parties[s.other(side)].name}'s stated position",
                    "## Sources"):
        assert heading in public
    assert s.description.strip() in public
    assert s.title in public and s.title in secret
    for heading in ("## Your walk-away", "## Your priorities", "## External pressures",
                    "## Your approval", "## Your concession tactic", "## What to watch for"):
        assert heading in secret
    # Polls with their source ids and titles, and every issue's stated option.
    if party.public is not None:
        for i, poll in enumerate(party.public.polls):
            assert poll.label in public
            sid = source_at(r.data, ("parties", side, "public", "polls", i, "support"))
            assert f"[{sid}]" in public
            if sid in s.sources:
                assert s.sources[sid].title in public
    for issue in s.agenda.issues.values():
        assert issue.label in public
        assert issue.label in secret  # the priorities table names every issue


@pytest.mark.parametrize(("ref", "side"), CASES, ids=IDS)
@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
def test_html_is_standalone_with_the_same_content(ref, side, confidential):
    r = resolved(ref)
    page = brief_html(r, side, confidential=confidential)
    md = brief(r, side, confidential=confidential)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for external in ("http://", "https://", "<script", "<link", "src=", "@import", "url("):
        assert external not in page
    assert "<table>" in page and "<h1>" in page and "<h2>" in page
    assert NUMBER.findall(html_text(page)) == NUMBER.findall(md.replace("\\|", "|"))


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(("ref", "side"), CASES, ids=IDS)
@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
def test_every_number_comes_from_the_scenario(ref, side, confidential):
    r = resolved(ref)
    text = brief(r, side, confidential=confidential)
    ok = allowed(r, side, confidential)
    found = tokens(text, r.data)
    assert found, "a brief without numbers is not a brief"
    stray = sorted({t for t in found if t not in ok})
    assert not stray, f"numbers neither in the scenario nor among the brief's figures: {stray}"


@pytest.mark.parametrize(("ref", "side"), CASES, ids=IDS)
@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
def test_inputs_carry_their_source_and_value(ref, side, confidential):
    """Every input a brief shows is the scenario's number at that path (the nominal value of
    a distribution), labelled with the source provenance finds there."""
    r = resolved(ref)
    text = brief(r, side, confidential=confidential)
    inputs = {n.path: n.value for n in numbers(r.data)}
    central = {p.name: p.distribution.central for p in uncertain_parameters(r.data)}
    figures = brief_figures(r, side, confidential=confidential)
    shown = brief_numbers(r, side, confidential=confidential)
    assert shown
    for n in shown:
        assert n.text in text
        if n.source is None:
            assert n.name in figures and figures[n.name] == pytest.approx(n.value)
        elif n.source == DEFAULT:
            assert n.name.startswith(f"{DEFAULT}:") and n.name in figures
        else:
            path = tuple(int(p) if p.isdigit() else p for p in n.name.split("."))
            expected = inputs.get(n.name, central.get(n.name))
            assert expected is not None, n.name
            assert n.value == pytest.approx(expected)
            assert n.source == (source_at(r.data, path) or "unsourced")


@pytest.mark.parametrize("ref", SCENARIOS, ids=[Path(s).stem for s in SCENARIOS])
def test_figures_agree_with_the_model(ref):
    r = resolved(ref)
    c = compile_scenario(r.scenario)
    an = c.analysis
    for side in sides(ref):
        fig = brief_figures(r, side, confidential=True)
        u, res = c.base_utilities[side]
        assert fig["reservation_utility"] == pytest.approx(res)
        assert fig["winset_size"] == an["winset_size"][side]
        assert fig["leader_feasible_size"] == an["leader_feasible_size"][side]
        assert fig["deals_above_reservation"] == int((u > res).sum())
        feasible = an["_masks"]["feasible"][side]
        if feasible.any():
            assert fig["best.utility"] == pytest.approx(u[feasible].max())
        cp = c.parties[side]
        if cp.x is not None:
            for i, poll in enumerate(cp.party.public.polls):
                k = c.space.encode(poll.deal)
                assert fig[f"poll.{side}.{i}.target"] == pytest.approx(poll.target)
                assert fig[f"support.{side}.deal{k}"] == pytest.approx(
                    float(cp.tolerance.support(cp.x[k])))
                assert fig[f"support.{side}.deal{k}"] == pytest.approx(poll.target, abs=1e-9)
        shares = [v for k, v in fig.items() if k.startswith("weight_share.")]
        assert sum(shares) == pytest.approx(1.0)
        public_only = brief_figures(r, side, confidential=False)
        assert "reservation_utility" not in public_only
        assert not any(k.startswith("weight_share.") for k in public_only)


# --------------------------------------------------------------------------- confidentiality


def confidential_sets(r, side: str) -> list[str]:
    """Odd values for a side's confidential inputs, distinct from anything in the scenario."""
    leader = r.scenario.parties[side].leader
    base = f"parties.{side}.leader"
    sets = [f"{base}.approval_floor=0.3137", f"{base}.approval=0.5123",
            f"{base}.utility.treaty_premium=0.1717"]
    sets += [f"{base}.utility.issues.{issue}.weight={round(0.0701 + 0.0113 * i, 4):g}"
             for i, issue in enumerate(leader.utility.issues)]
    if leader.strategy.kind == "time_dependent":
        sets.append(f"{base}.strategy.exponent=0.777")
    return sets


@pytest.mark.parametrize(("ref", "side"), CASES, ids=IDS)
def test_public_brief_holds_no_confidential_numbers(ref, side):
    r = resolved(ref)
    public = brief(r, side, confidential=False)
    low = own_text(public, r.data).lower()  # the scenario's description may say anything
    for word in CONFIDENTIAL_WORDS:
        assert word not in low, f"the public brief speaks of {word!r}"

    # The public brief does not depend on the confidential inputs at all ...
    sets = confidential_sets(r, side)
    changed = resolve(ref, sets)
    assert brief(changed, side, confidential=False) == public
    secret = brief(changed, side, confidential=True)
    assert secret != brief(r, side, confidential=True)

    # ... and the confidential brief shows them (reservation, floor, weights), so they are
    # there to leak: none of them appears among the public brief's numbers.
    fig = brief_figures(changed, side, confidential=True)
    weights = [s.split("=")[1] for s in sets if ".weight=" in s]
    shares = [as_pct(v) for k, v in fig.items() if k.startswith("weight_share.")]
    reservation = f"{fig['reservation_utility']:.2f}"
    secret_numbers = ["31.4%", "51.2%", "0.1717", reservation, *weights, *shares]
    secret_tokens = tokens(secret, changed.data)
    public_tokens = tokens(public, changed.data)
    for number in secret_numbers:
        assert number in secret_tokens, number
        if number not in (reservation, *shares):  # rounded figures may coincide by chance
            assert number not in public_tokens, number
    assert reservation not in [t for t in public_tokens if "." in t]


# --------------------------------------------------------------------------- following changes


def test_changing_the_approval_floor_changes_the_brief():
    before = brief(resolved("baseline"), "russia", confidential=True)
    r = resolved("baseline", ("parties.russia.leader.approval_floor=0.4",))
    after = brief(r, "russia", confidential=True)
    assert "Approval floor: **55% [assumption]**" in before
    assert "Approval floor: **40% [assumption]**" in after
    assert "Approval floor: **55%" not in after
    assert brief(r, "russia", confidential=False) == brief(resolved("baseline"), "russia")


def test_a_binding_floor_is_explained():
    r = resolved("baseline", ("parties.russia.leader.approval_floor=0.64",))
    text = brief(r, "russia", confidential=True)
    fig = brief_figures(r, "russia", confidential=True)
    need = 1 - (r.scenario.parties["russia"].leader.approval - 0.64) / 0.05
    assert fig["floor_min_support"] == pytest.approx(need)
    assert f"at least **{as_pct(need)}** support at home" in text
    assert "the floor binds first" in text
    base = brief_figures(resolved("baseline"), "russia", confidential=True)
    assert fig["leader_feasible_size"] < base["leader_feasible_size"]


def test_changing_a_threshold_changes_the_public_brief():
    base = brief(resolved("baseline"), "japan")
    r = resolved("baseline", ("protocol.ratification.japan=0.6",))
    text = brief(r, "japan")
    assert "**50% [assumption] (uncertain: from 45% to 55%)**" in base
    assert "**60% [assumption]**" in text
    c = compile_scenario(r.scenario)
    cp = c.parties["japan"]
    rows = [line for line in text.splitlines() if line.endswith((" yes |", " no |"))]
    fig = brief_figures(r, "japan")
    expected = [fig[k] >= 0.6 for k in fig if k.startswith("support.japan.deal")]
    assert [row.endswith(" yes |") for row in rows] == expected
    assert rows and sum(expected) < sum(1 for line in base.splitlines()
                                        if line.endswith(" yes |"))
    assert np.isfinite(cp.tolerance.xs).all()


def test_changing_a_poll_changes_the_public_brief():
    r = resolved("baseline", ("parties.russia.public.polls.0.support=0.15",))
    text = brief(r, "russia")
    assert "support 15% [levada_2018_11]" in text
    assert f"among those with an opinion: {as_pct(0.15 / (0.15 + 0.74))}" in text
    assert "support 17% [levada_2018_11]" in brief(resolved("baseline"), "russia")


def test_changing_an_external_pressure_changes_the_confidential_brief():
    r = resolved("baseline", ("external.china.intensity=0.9",))
    text = brief(r, "japan", confidential=True)
    assert "intensity 0.9 [assumption] × effect 1 [assumption]" in text
    assert "multiplies it by 1.90" in text


# --------------------------------------------------------------------------- other shapes


def test_a_side_without_a_public_and_a_fixed_tactic(tmp_path):
    path = tmp_path / "no_public.yaml"
    path.write_text(f"extends: {STRAIT}\nname: no_public\nparties:\n  b:\n    public: null\n",
                    encoding="utf-8")
    r = resolve(path, ["parties.b.leader.strategy={kind: fixed, level: 0.8}"])
    secret = brief(r, "b", confidential=True)
    assert "No public is modelled for your side" in secret
    assert "Fixed: your aspiration stays at 80% [assumption]" in secret
    assert "The scenario models no public for Country B" in brief(r, "b")
    for side in ("a", "b"):
        for confidential in (False, True):
            text = brief(r, side, confidential=confidential)
            stray = [t for t in tokens(text, r.data) if t not in allowed(r, side, confidential)]
            assert not stray


def test_schema_defaults_are_labelled():
    r = resolved(STRAIT)  # approval_cost is left to the schema's default there
    text = brief(r, "a", confidential=True)
    assert "up to 5% [default]" in text
    assert "`default`: the schema's default value" in text


def test_an_unknown_side_is_refused_with_the_valid_ones():
    r = resolved("baseline")
    for fn in (brief, brief_html, brief_figures, brief_numbers):
        for confidential in (False, True):
            with pytest.raises(ValueError, match=r"unknown side 'usa'.*japan, russia"):
                fn(r, "usa", confidential=confidential)
