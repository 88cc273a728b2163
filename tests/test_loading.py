"""Tests for sim.loading: bundled scenarios and their provenance, round trips, ``extends``,
errors that name the file, the field path and the line, and ``--set`` overrides (BRIEF §6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sim.loading import (
    Problem,
    ScenarioError,
    bundled_dir,
    bundled_names,
    dump_resolved,
    dump_yaml,
    resolve,
    scenario_sha256,
)
from sim.provenance import source_at, unsourced
from sim.scenario import ASSUMPTION

BASELINE = bundled_dir() / "baseline.yaml"
DATA = Path(__file__).parent / "data"
NAMES = bundled_names()

# --------------------------------------------------------------------------- helpers


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def child_of_baseline(tmp_path: Path, body: str, name: str = "child.yaml") -> Path:
    """A file that extends the bundled baseline by absolute path; ``body`` starts on line 2."""
    return write(tmp_path / name, f"extends: {BASELINE}\n{body}")


def problems_of(ref, sets=()) -> list[Problem]:
    with pytest.raises(ScenarioError) as info:
        resolve(ref, sets)
    problems = info.value.problems
    assert problems, "a ScenarioError must carry at least one problem"
    return problems


def at(problems: list[Problem], path: str) -> Problem:
    found = [p for p in problems if p.path == path]
    assert found, f"no problem at {path!r}; got {[str(p) for p in problems]}"
    return found[0]


def line_of(text: str, *needles: str) -> int:
    """1-based number of the only line containing all the needles."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if all(n in line for n in needles)]
    assert len(hits) == 1, f"expected one line with {needles}, found lines {hits}"
    return hits[0]


def source_values(node, path=()):
    """Every ``source:`` value in scenario data (outside ``sources``), with its path."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "source" and path[:1] != ("sources",):
                yield (*path, k), v
            else:
                yield from source_values(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from source_values(v, (*path, i))


# --------------------------------------------------------------------------- bundled scenarios


def test_the_three_bundled_scenarios_are_found():
    assert {"baseline", "two_island_1956", "hardline"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_bundled_scenario_loads_with_title_description_and_teaching_notes(name):
    r = resolve(name)
    s = r.scenario
    assert s.name == name
    for text in (s.title, s.description, s.teaching_notes):
        assert isinstance(text, str) and text.strip()
    assert r.files[-1] == str((bundled_dir() / f"{name}.yaml").resolve())
    assert len(s.sources) > 0


@pytest.mark.parametrize("name", NAMES)
def test_every_number_in_a_bundled_scenario_has_a_source(name):
    missing = unsourced(resolve(name).data)
    assert missing == [], "numbers without a source or `assumption`:\n" + "\n".join(
        f"  {n.path} = {n.value}" for n in missing)


@pytest.mark.parametrize("name", NAMES)
def test_every_source_cited_by_a_bundled_scenario_is_declared(name):
    r = resolve(name)
    cited = dict(source_values(r.data))
    assert cited, "a bundled scenario cites no source at all"
    undeclared = {p: v for p, v in cited.items() if v != ASSUMPTION and v not in r.scenario.sources}
    assert undeclared == {}
    # Not everything is an assumption: real sources are used.
    assert any(v != ASSUMPTION for v in cited.values())


def test_unsourced_finds_a_number_added_without_a_source(tmp_path):
    # Parties carry no `source`, so a bare capability has none: the check above can fail.
    path = child_of_baseline(tmp_path, "parties:\n  japan:\n    capability: 2.0\n")
    r = resolve(path)
    assert r.scenario.parties["japan"].capability == 2.0
    assert [n.path for n in unsourced(r.data)] == ["parties.japan.capability"]


def test_a_variant_may_cite_its_own_source_but_not_one_declared_elsewhere(tmp_path):
    # `sankei_fnn_2018_11` is declared by two_island_1956, not by baseline.
    body = ("parties:\n  japan:\n    leader:\n"
            "      approval: {value: 0.45, source: sankei_fnn_2018_11}\n")
    ok = write(tmp_path / "ok.yaml", "extends: two_island_1956\n" + body)
    r = resolve(ok)
    assert r.scenario.parties["japan"].leader.approval == 0.45
    assert source_at(r.data, ("parties", "japan", "leader", "approval")) == "sankei_fnn_2018_11"

    bad = child_of_baseline(tmp_path, body, name="bad.yaml")
    p = at(problems_of(bad), "parties.japan.leader.approval.source")
    assert p.file == str(bad.resolve())
    assert p.line == 5
    assert "sankei_fnn_2018_11" in p.message


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("name", NAMES)
def test_dump_resolved_round_trips(name, tmp_path):
    r = resolve(name)
    text = dump_resolved(r)
    assert "extends" not in yaml.safe_load(text)
    again = resolve(write(tmp_path / f"{name}_resolved.yaml", text))
    assert again.scenario == r.scenario
    assert again.sha256 == r.sha256 == scenario_sha256(r.scenario)
    assert unsourced(again.data) == []
    assert again.files == [str((tmp_path / f"{name}_resolved.yaml").resolve())]


@pytest.mark.parametrize("name", NAMES)
def test_dump_yaml_round_trips(name, tmp_path):
    s = resolve(name).scenario
    again = resolve(write(tmp_path / f"{name}_dumped.yaml", dump_yaml(s)))
    assert again.scenario == s
    assert scenario_sha256(again.scenario) == scenario_sha256(s)


def test_scenario_hashes_differ_between_bundled_scenarios():
    hashes = {resolve(n).sha256 for n in NAMES}
    assert len(hashes) == len(NAMES)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)


# --------------------------------------------------------------------------- extends


def test_extends_merges_nested_mappings_and_replaces_lists(tmp_path):
    base = resolve("baseline")
    path = write(tmp_path / "variant.yaml", """\
extends: baseline
name: variant
protocol:
  rounds: 8
parties:
  russia:
    leader:
      utility:
        issues:
          habomai: {weight: 0.5}
events:
  - {round: 3, label: "Only event", effect: {kind: approval_shock, party: russia, delta: -0.1},
     source: assumption}
""")
    r = resolve(path)
    s = r.scenario
    assert r.files == [str(BASELINE.resolve()), str(path.resolve())]
    # Overridden values.
    assert s.name == "variant"
    assert s.protocol.rounds == 8
    assert s.parties["russia"].leader.utility.issues["habomai"].weight == 0.5
    # Nested mappings merge key by key: the siblings come from the parent.
    assert s.protocol.opens == base.scenario.protocol.opens
    assert s.protocol.ratification == base.scenario.protocol.ratification
    assert (s.parties["russia"].leader.utility.issues["habomai"].values
            == base.scenario.parties["russia"].leader.utility.issues["habomai"].values)
    assert r.data["protocol"]["source"] == base.data["protocol"]["source"]
    # Lists are replaced, not merged.
    assert len(base.scenario.events) > 1
    assert len(s.events) == 1 and s.events[0].label == "Only event"
    # Everything else is the parent's.
    expected = base.scenario.model_dump()
    got = s.model_dump()
    expected["name"] = "variant"
    expected["protocol"]["rounds"] = 8
    expected["parties"]["russia"]["leader"]["utility"]["issues"]["habomai"]["weight"] = 0.5
    expected["events"] = got["events"]
    assert got == expected
    assert r.sha256 != base.sha256


def test_extends_partial_override_of_a_sourced_number_keeps_its_source(tmp_path):
    path = child_of_baseline(tmp_path, "parties:\n  russia:\n    leader:\n"
                                       "      approval: {value: 0.7}\n")
    r = resolve(path)
    assert r.scenario.parties["russia"].leader.approval == 0.7
    base_source = source_at(resolve("baseline").data, ("parties", "russia", "leader", "approval"))
    assert base_source not in (None, ASSUMPTION)
    assert source_at(r.data, ("parties", "russia", "leader", "approval")) == base_source


def test_extends_by_relative_path_is_relative_to_the_file(tmp_path, monkeypatch):
    parent = write(tmp_path / "scen" / "parent.yaml", BASELINE.read_text(encoding="utf-8"))
    child = write(tmp_path / "scen" / "variants" / "child.yaml",
                  "extends: ../parent.yaml\nname: child\nprotocol: {opens: russia}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = resolve(child)
    assert r.files == [str(parent.resolve()), str(child.resolve())]
    assert r.scenario.name == "child"
    assert r.scenario.protocol.opens == "russia"
    assert r.scenario.protocol.rounds == resolve("baseline").scenario.protocol.rounds


def test_circular_extends_is_an_error(tmp_path):
    a = write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    problems = problems_of(a)
    assert any("circular" in p.message.lower() for p in problems)
    assert any(p.path == "extends" for p in problems)


def test_a_file_extending_itself_is_circular(tmp_path):
    me = write(tmp_path / "me.yaml", "extends: me.yaml\nname: me\n")
    assert any("circular" in p.message.lower() for p in problems_of(me))


def test_extends_of_a_missing_scenario_names_the_field_and_line(tmp_path):
    path = write(tmp_path / "orphan.yaml", "name: orphan\nextends: no_such_scenario_here\n")
    p = at(problems_of(path), "extends")
    assert p.file == str(path.resolve())
    assert p.line == 2
    assert "no_such_scenario_here" in p.message or "no such scenario" in p.message


def test_a_problem_inherited_from_the_parent_names_the_parent_file(tmp_path):
    text = BASELINE.read_text(encoding="utf-8")
    line = line_of(text, "approval: {", "levada_approval")
    lines = text.splitlines()
    indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
    lines[line - 1] = f"{indent}approval: high"
    parent = write(tmp_path / "parent.yaml", "\n".join(lines) + "\n")
    child = write(tmp_path / "child.yaml", "extends: parent.yaml\nname: child\n")
    p = at(problems_of(child), "parties.russia.leader.approval")
    assert p.file == str(parent.resolve())
    assert p.line == line


# --------------------------------------------------------------------------- bad files


def test_wrong_type_in_a_full_file_names_file_path_line_and_expectation(tmp_path):
    text = BASELINE.read_text(encoding="utf-8")
    line = line_of(text, "approval: {", "levada_approval")
    lines = text.splitlines()
    indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
    lines[line - 1] = f"{indent}approval: high"
    bad = write(tmp_path / "bad.yaml", "\n".join(lines) + "\n")
    p = at(problems_of(bad), "parties.russia.leader.approval")
    assert p.file == str(bad.resolve())
    assert p.line == line
    assert "number" in p.message
    assert "high" in p.message
    assert str(p).startswith(f"{bad.resolve()}:{line}: parties.russia.leader.approval: ")


def test_wrong_type_fixture(tmp_path):
    path = DATA / "bad_wrong_type.yaml"
    problems = problems_of(path)
    assert len(problems) == 1
    p = at(problems, "parties.russia.leader.approval")
    assert p.file == str(path.resolve())
    assert p.line == line_of(path.read_text(encoding="utf-8"), "approval: high")
    assert "number" in p.message


def test_event_naming_an_unknown_party(tmp_path):
    path = DATA / "bad_unknown_party.yaml"
    problems = problems_of(path)
    assert len(problems) == 1
    p = at(problems, "events.0.effect.party")
    assert p.file == str(path.resolve())
    assert p.line == line_of(path.read_text(encoding="utf-8"), "party: china")
    assert "china" in p.message and "party" in p.message
    assert "japan" in p.message and "russia" in p.message  # what was expected


def test_event_naming_an_unknown_party_later_in_the_list(tmp_path):
    path = child_of_baseline(tmp_path, """\
events:
  - {round: 1, label: "first", effect: {kind: note}, source: assumption}
  - {round: 2, label: "second", effect: {kind: approval_shock, party: japan, delta: -0.1},
     source: assumption}
  - {round: 3, label: "bad", source: assumption,
     effect: {kind: opinion_shift, party: ukraine, delta: 0.1}}
""")
    problems = problems_of(path)
    assert len(problems) == 1
    p = at(problems, "events.2.effect.party")
    assert p.file == str(path.resolve())
    assert p.line == 7  # the line with `party: ukraine`
    assert "ukraine" in p.message


def test_source_citing_an_undefined_id(tmp_path):
    path = DATA / "bad_undefined_source.yaml"
    problems = problems_of(path)
    assert len(problems) == 1
    p = at(problems, "parties.japan.leader.approval.source")
    assert p.file == str(path.resolve())
    assert p.line == line_of(path.read_text(encoding="utf-8"), "nhk_2019_02")
    assert "nhk_2019_02" in p.message
    assert "assumption" in p.message  # says what would have been accepted


def test_undefined_source_edited_into_a_full_copy(tmp_path):
    text = BASELINE.read_text(encoding="utf-8")
    line = line_of(text, "support: {value:", "source: levada_2018_11")
    lines = text.splitlines()
    lines[line - 1] = lines[line - 1].replace("levada_2018_11", "levada_2018_13")
    bad = write(tmp_path / "bad.yaml", "\n".join(lines) + "\n")
    p = at(problems_of(bad), "parties.russia.public.polls.0.support.source")
    assert (p.file, p.line) == (str(bad.resolve()), line)
    assert "levada_2018_13" in p.message


def test_three_problems_are_reported_at_once(tmp_path):
    path = child_of_baseline(tmp_path, """\
parties:
  russia:
    leader:
      approval: high
      charisma: 0.9
  japan:
    leader:
      opponent_noise: {value: 0.1, source: tass_2019}
""")
    problems = problems_of(path)
    expected = {
        "parties.russia.leader.approval": 5,
        "parties.russia.leader.charisma": 6,
        "parties.japan.leader.opponent_noise.source": 9,
    }
    for dotted, line in expected.items():
        p = at(problems, dotted)
        assert p.file == str(path.resolve())
        assert p.line == line
    assert len(problems) == 3


def test_the_three_acceptance_problems_in_one_file_are_reported_at_once(tmp_path):
    path = child_of_baseline(tmp_path, """\
parties:
  russia:
    leader:
      approval: high
  japan:
    leader:
      opponent_noise: {value: 0.1, source: tass_2019}
events:
  - {round: 2, label: "x", effect: {kind: approval_shock, party: china, delta: -0.1},
     source: assumption}
""")
    problems = problems_of(path)
    assert at(problems, "parties.russia.leader.approval").line == 5
    assert at(problems, "parties.japan.leader.opponent_noise.source").line == 8
    assert at(problems, "events.0.effect.party").line == 10


def test_invalid_yaml_reports_the_line(tmp_path):
    text = BASELINE.read_text(encoding="utf-8")
    line = line_of(text, "opens: ")
    lines = text.splitlines()
    lines[line - 1] = lines[line - 1] + ": russia"  # `opens: japan: russia`
    bad = write(tmp_path / "bad.yaml", "\n".join(lines) + "\n")
    problems = problems_of(bad)
    assert len(problems) == 1
    p = problems[0]
    assert p.file == str(bad.resolve())
    assert p.line == line
    assert "yaml" in p.message.lower()


def test_invalid_yaml_in_an_unclosed_flow_mapping(tmp_path):
    bad = write(tmp_path / "bad.yaml", "name: x\ntitle: t\nprotocol: {rounds: 3, opens: japan\n"
                                       "description: d\n")
    p = problems_of(bad)[0]
    assert p.file == str(bad.resolve())
    assert p.line is not None and 3 <= p.line <= 5


def test_unknown_field_is_reported_as_unknown(tmp_path):
    path = child_of_baseline(tmp_path, "parties:\n  russia:\n    leader:\n      charisma: 0.9\n"
                                       "colour: red\n")
    problems = problems_of(path)
    for dotted, line in (("parties.russia.leader.charisma", 5), ("colour", 6)):
        p = at(problems, dotted)
        assert "unknown" in p.message.lower()
        assert (p.file, p.line) == (str(path.resolve()), line)


def test_missing_required_fields_are_all_named(tmp_path):
    path = write(tmp_path / "tiny.yaml", "name: tiny\n")
    paths = {p.path for p in problems_of(path)}
    assert {"title", "description", "teaching_notes", "agenda", "parties", "protocol"} <= paths


def test_polls_not_monotone_in_the_concession_index(tmp_path):
    # More support for handing over all four islands than for the two of 1956.
    path = child_of_baseline(tmp_path, """\
parties:
  russia:
    public:
      polls:
        - label: "All four to Japan"
          deal: {habomai: japan, shikotan: japan, kunashiri: japan, etorofu: japan,
                 recognition_first: "no", economic_package: 0, no_foreign_bases: "no"}
          support: {value: 0.6, source: assumption}
          oppose: {value: 0.3, source: assumption}
        - label: "Two islands"
          deal: {habomai: japan, shikotan: japan, kunashiri: russia, etorofu: russia,
                 recognition_first: "no", economic_package: 0, no_foreign_bases: "no"}
          support: {value: 0.2, source: assumption}
          oppose: {value: 0.7, source: assumption}
""")
    problems = problems_of(path)
    assert len(problems) == 1
    p = problems[0]
    assert p.path.startswith("parties.russia.public.polls")
    assert p.file == str(path.resolve())
    assert p.line == 5  # the `polls:` key
    assert "All four to Japan" in p.message and "Two islands" in p.message


def test_unknown_field_with_a_block_value_points_at_its_key(tmp_path):
    path = child_of_baseline(tmp_path, "parties:\n  russia:\n    leader:\n      charisma:\n"
                                       "        level: 3\n")
    p = at(problems_of(path), "parties.russia.leader.charisma")
    assert "unknown" in p.message.lower()
    assert p.line == 5


def test_problem_in_a_replaced_list_is_located_in_the_child(tmp_path):
    path = child_of_baseline(tmp_path, "events:\n  - {round: 2, effect: {kind: note}}\n")
    p = at(problems_of(path), "events.0.label")
    assert "missing" in p.message
    assert p.file == str(path.resolve())
    assert p.line == 3


def test_a_yaml_boolean_is_not_a_number(tmp_path):
    path = child_of_baseline(tmp_path, "parties:\n  russia:\n    leader:\n      approval: yes\n")
    p = at(problems_of(path), "parties.russia.leader.approval")
    assert p.line == 5


# --------------------------------------------------------------------------- --set overrides


APPROVAL = ("parties", "russia", "leader", "approval")


def test_set_number_changes_the_value_and_keeps_the_source():
    base = resolve("baseline")
    r = resolve("baseline", sets=["parties.russia.leader.approval=0.8"])
    assert base.scenario.parties["russia"].leader.approval != 0.8
    assert r.scenario.parties["russia"].leader.approval == 0.8
    assert source_at(r.data, APPROVAL) == source_at(base.data, APPROVAL) == "levada_approval"
    assert unsourced(r.data) == []
    assert r.sha256 != base.sha256
    # The override does not leak into the next load.
    assert resolve("baseline").scenario.parties["russia"].leader.approval == (
        base.scenario.parties["russia"].leader.approval)


def test_set_inside_a_list_keeps_the_source():
    r = resolve("baseline", sets=["parties.russia.public.polls.0.support=0.2"])
    assert r.scenario.parties["russia"].public.polls[0].support == 0.2
    path = ("parties", "russia", "public", "polls", 0, "support")
    assert source_at(r.data, path) == "levada_2018_11"


def test_several_sets_apply_together():
    r = resolve("baseline", sets=["protocol.rounds=20", "protocol.opens=russia",
                                  "parties.japan.leader.strategy.exponent=3"])
    s = r.scenario
    assert (s.protocol.rounds, s.protocol.opens) == (20, "russia")
    assert s.parties["japan"].leader.strategy.exponent == 3


def test_set_accepts_a_yaml_list():
    r = resolve("two_island_1956", sets=["parties.japan.leader.requires.kunashiri=[russia]"])
    assert r.scenario.parties["japan"].leader.requires["kunashiri"] == ["russia"]
    assert resolve("two_island_1956").scenario.parties["japan"].leader.requires["kunashiri"] == [
        "russia", "joint"]
    r = resolve("baseline", sets=["outcome_classes.0.when.habomai=[japan, joint]"])
    assert r.scenario.outcome_classes[0].when["habomai"] == ["japan", "joint"]


def test_set_of_a_wrong_type_names_the_dotted_path():
    problems = problems_of("baseline", sets=["parties.russia.leader.approval=abc"])
    p = at(problems, "parties.russia.leader.approval")
    assert p.file == "--set"
    assert "number" in p.message and "abc" in p.message


def test_set_out_of_range_names_the_dotted_path():
    p = at(problems_of("baseline", sets=["parties.japan.leader.approval=1.5"]),
           "parties.japan.leader.approval")
    assert p.file == "--set"


@pytest.mark.parametrize("assignment, named", [
    ("no.such.path=1", "no"),
    ("parties.china.leader.approval=0.5", "parties.china"),
    ("events.99.label=x", "events.99"),
    ("parties.russia.leader.name.first=Vladimir", "parties.russia.leader.name.first"),
])
def test_set_of_a_path_that_does_not_exist_names_it(assignment, named):
    problems = problems_of("baseline", sets=[assignment])
    dotted = assignment.partition("=")[0]
    assert any(p.path == dotted or named in p.message for p in problems), problems
    assert all(p.file == "--set" for p in problems)
    assert any(dotted in str(p) for p in problems)


def test_set_of_a_new_key_is_an_unknown_field():
    p = at(problems_of("baseline", sets=["parties.russia.leader.charisma=1"]),
           "parties.russia.leader.charisma")
    assert "unknown" in p.message.lower()


def test_all_bad_sets_are_reported_together():
    problems = problems_of("baseline", sets=["no.such=1", "also.missing=2", "protocol.rounds=3"])
    assert len(problems) == 2
    assert {p.path for p in problems} == {"no.such", "also.missing"}


@pytest.mark.parametrize("assignment", ["parties.russia.leader.approval", "=1", "a..b=1"])
def test_malformed_set_is_an_error(assignment):
    problems_of("baseline", sets=[assignment])


def test_set_never_evaluates_code(tmp_path, capfd):
    marker = tmp_path / "pwned"
    code = f"__import__('pathlib').Path('{marker}').touch()"
    # A number field: the text is a string, rejected by the schema.
    p = at(problems_of("baseline", sets=[f"parties.russia.leader.approval={code}"]),
           "parties.russia.leader.approval")
    assert "number" in p.message
    assert code in p.message
    # A text field: the text is kept verbatim.
    r = resolve("baseline", sets=[f"title={code}"])
    assert r.scenario.title == code
    r = resolve("baseline", sets=["title=__import__('os').system('echo hi')"])
    assert r.scenario.title == "__import__('os').system('echo hi')"
    # A YAML tag that would call a Python function under an unsafe loader.
    tagged = f"!!python/object/apply:os.system ['touch {marker}']"
    r = resolve("baseline", sets=[f"title={tagged}"])
    assert r.scenario.title == tagged
    assert not marker.exists()
    assert "hi" not in capfd.readouterr().out
