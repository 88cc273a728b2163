"""Parameter sweeps, global sensitivity analysis and their charts (sim.batch, sim.sweep,
sim.sensitivity, sim.plots), on the small ``strait`` scenario so that the file runs in seconds."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import pytest

from sim.batch import common_tasks, run_batch
from sim.ensemble import run_seed
from sim.loading import ScenarioError, resolve
from sim.plots import sensitivity_png, sweep_png
from sim.runner import Runner
from sim.sensitivity import problem_of, sensitivity
from sim.sweep import parse_grid, sweep

STRAIT = str(Path(__file__).parent / "fixtures" / "strait.yaml")
THRESHOLD = "protocol.ratification.b"
APPROVAL = "parties.b.leader.approval"
DUMMY = "territories.isle.area_km2"  # an island's area: the model never reads it
OUTPUTS = ["p_ratified", "utility_a", "utility_b"]


def strip(rows: list[dict]) -> list[dict]:
    """Rows without their timings (the only thing allowed to differ between runs)."""
    return [{k: v for k, v in r.items() if k != "elapsed_ms"} for r in rows]


def assert_png(path: Path) -> None:
    from matplotlib.image import imread

    assert path.is_file()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # atomic write


@pytest.fixture(scope="module")
def strait():
    return resolve(STRAIT)


# --------------------------------------------------------------------------- parse_grid


def test_parse_grid_spaces_values_evenly_and_inclusively():
    assert parse_grid("protocol.ratification.b=0.3:0.75:4") == (THRESHOLD, [0.3, 0.45, 0.6, 0.75])
    assert parse_grid("protocol.rounds=4:16:4") == ("protocol.rounds", [4, 8, 12, 16])
    assert all(type(v) is int for v in parse_grid("protocol.rounds=4:16:4")[1])
    path, values = parse_grid(" a.b = 0 : 1 : 3 ")
    assert path == "a.b" and values == [0.0, 0.5, 1.0]
    assert parse_grid("a.b=1:2:3")[1] == [1.0, 1.5, 2.0]  # integer ends, fractional steps


@pytest.mark.parametrize(("spec", "message"), [
    ("protocol.rounds", "expected dotted.path=lo:hi:steps"),
    ("=0:1:3", "empty field path"),
    ("a..b=0:1:3", "empty field path"),
    ("a.b=0:1", "expected lo:hi:steps"),
    ("a.b=0:1:2:3", "expected lo:hi:steps"),
    ("a.b=x:1:3", "lo must be a number"),
    ("a.b=0:inf:3", "hi must be finite"),
    ("a.b=0:1:2.5", "steps must be a whole number"),
    ("a.b=0:1:1", "steps must be at least 2"),
    ("a.b=0:1:-3", "steps must be at least 2"),
    ("a.b=0.5:0.5:3", "lo and hi must differ"),
])
def test_parse_grid_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_grid(spec)


# --------------------------------------------------------------------------- batch


def test_batch_tags_rows_and_uses_common_seeds(strait):
    runners = [Runner(strait.data), Runner(resolve(STRAIT, [f"{THRESHOLD}=0.8"]).data)]
    tasks = common_tasks(len(runners), 5, seed=11)
    assert tasks[:5] == [(0, i, run_seed(11, i)) for i in range(5)]
    assert [s for _, _, s in tasks[5:]] == [s for _, _, s in tasks[:5]]
    seen = []
    batch = run_batch(runners, reversed(tasks), workers=1, progress=seen.append)
    assert sum(seen) == len(tasks) == len(batch.rows) == 10 and not batch.interrupted
    assert [(r["runner_id"], r["index"]) for r in batch.rows] == [(t[0], t[1]) for t in tasks]
    assert all(r["seed"] == t[2] for r, t in zip(batch.rows, tasks, strict=True))
    with pytest.raises(ValueError, match="runner 2"):
        run_batch(runners, [(2, 0, 0)])


# --------------------------------------------------------------------------- sweeps


@pytest.fixture(scope="module")
def one_param(strait, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep1")
    result = sweep(strait.data, [f"{THRESHOLD}=0.3:0.75:4"], 20, seed=5, workers=1,
                   origins=strait.origins, csv_path=out / "sweep.csv")
    return result, out


def test_one_parameter_sweep_agreement_falls_with_the_threshold(one_param):
    result, _ = one_param
    table = result["table"]
    assert [row[THRESHOLD] for row in table] == [0.3, 0.45, 0.6, 0.75]
    p = [row["p_agreement"] for row in table]
    # A stricter ratification threshold in B narrows B's win-set: agreement never gets likelier
    # (common seeds at every point) and is clearly rarer at the high end.
    assert all(b <= a for a, b in itertools.pairwise(p)), p
    assert p[-1] <= p[0] - 0.5, p
    classes = result["outcome_classes"]
    assert "status quo" in classes
    for row in table:
        assert row["runs"] == 20 and row["failed"] == 0
        assert row["p_ratified"] <= row["p_agreement"]
        for key in ("p_agreement", "p_ratified", *(f"p_class[{c}]" for c in classes)):
            assert row[f"{key}_low"] <= row[key] <= row[f"{key}_high"]
        assert sum(row[f"p_class[{c}]"] for c in classes) == pytest.approx(1.0)
        assert row["p_class[status quo]"] == pytest.approx(1 - row["p_agreement"])
    rows = result["rows"]
    assert len(rows) == 4 * 20 and result["completed"] == 80
    # Common random numbers: run i has the same seed at every point.
    by_point = [[r["seed"] for r in rows if r["point"] == k] for k in range(4)]
    assert by_point[0] == by_point[3] == [run_seed(5, i) for i in range(20)]
    assert all(r[THRESHOLD] == table[r["point"]][THRESHOLD] for r in rows)


def test_sweep_writes_the_table_as_csv(one_param):
    result, out = one_param
    with open(out / "sweep.csv", newline="") as f:
        records = list(csv.DictReader(f))
    assert len(records) == 4
    assert list(records[0])[:2] == [THRESHOLD, "runs"]
    assert [float(r["p_agreement"]) for r in records] == [
        row["p_agreement"] for row in result["table"]]


def test_one_parameter_line_chart(one_param, tmp_path):
    result, _ = one_param
    assert_png(sweep_png(result, tmp_path / "line.png"))
    assert_png(sweep_png(result["table"], tmp_path / "line_from_table.png"))


def test_two_parameter_sweep_is_a_grid_independent_of_workers(strait, tmp_path):
    grids = [f"{THRESHOLD}=0.5:0.8:3", f"{APPROVAL}=0.3:0.9:2"]
    one = sweep(strait.data, grids, 8, seed=2, workers=1)
    two = sweep(strait.data, grids, 8, seed=2, workers=2)
    assert len(one["table"]) == 3 * 2
    assert [(r[THRESHOLD], r[APPROVAL]) for r in one["table"]] == list(
        itertools.product([0.5, 0.65, 0.8], [0.3, 0.9]))
    assert one["table"] == two["table"]
    assert strip(one["rows"]) == strip(two["rows"])
    assert two["workers"] == 2
    png = sweep_png(two, tmp_path / "charts" / "heatmap.png")
    assert_png(png)


@pytest.mark.parametrize(("grid", "field", "message"), [
    ("protocol.ratifcation.b=0.3:0.7:3", "protocol.ratifcation.b", "no field"),
    ("protocol.ratification.b=0.5:1.5:3", THRESHOLD, "less than or equal to 1"),
    ("protocol.rounds=0.5:2.5:3", "protocol.rounds", "integer"),
    ("protocol.quorum=1:3:3", "protocol.quorum", "unknown field"),
])
def test_bad_grid_fails_before_anything_runs(strait, grid, field, message):
    ran = []
    with pytest.raises(ScenarioError) as info:
        sweep(strait.data, [grid], 5, workers=1, origins=strait.origins, progress=ran.append)
    assert ran == []
    assert any(p.path == field and message in p.message for p in info.value.problems), (
        str(info.value))
    assert all(p.file == "--grid" for p in info.value.problems)
    assert field in str(info.value)


def test_sweep_argument_errors(strait):
    with pytest.raises(ValueError, match="one or two"):
        sweep(strait.data, [], 5)
    with pytest.raises(ValueError, match="swept twice"):
        sweep(strait.data, [f"{THRESHOLD}=0.3:0.7:2", f"{THRESHOLD}=0.3:0.7:2"], 5)
    with pytest.raises(ValueError, match="runs_per_point"):
        sweep(strait.data, [f"{THRESHOLD}=0.3:0.7:2"], 0)


# --------------------------------------------------------------------------- sensitivity


@pytest.fixture(scope="module")
def uncertain(tmp_path_factory):
    """Strait with two distributions (B's leader's approval, B's ratification threshold) and an
    island whose area the model never reads (a dummy parameter: its true index is 0)."""
    path = tmp_path_factory.mktemp("sens") / "uncertain.yaml"
    path.write_text(
        f"extends: {STRAIT}\n"
        "name: strait_uncertain\n"
        "territories: {isle: {name: The island, area_km2: 50}}\n"
        "parties: {b: {leader: {approval: "
        "{dist: uniform, low: 0.3, high: 0.9, source: assumption}}}}\n"
        "protocol: {ratification: {b: "
        "{dist: uniform, low: 0.5, high: 0.8, source: assumption}}}\n", encoding="utf-8")
    return resolve(path)


NAMES = [APPROVAL, THRESHOLD, f"{DUMMY}=10:100"]


def index(result: dict, output: str, parameter: str) -> dict:
    (entry,) = [e for e in result["indices"]
                if e["output"] == output and e["parameter"] == parameter]
    return entry


def test_problem_defaults_to_the_scenarios_distributions(uncertain):
    factors, _ = problem_of(uncertain.data)
    assert [(f.name, f.low, f.high) for f in factors] == [
        (APPROVAL, 0.3, 0.9), (THRESHOLD, 0.5, 0.8)]
    factors, data = problem_of(uncertain.data, NAMES)
    assert factors[2].name == DUMMY and factors[2].origin == "range"
    assert data["territories"]["isle"]["area_km2"]["dist"] == "uniform"


@pytest.fixture(scope="module")
def sobol(uncertain):
    return sensitivity(uncertain.data, "sobol", 16, NAMES, 6, seed=4, workers=1,
                       origins=uncertain.origins)


def test_sobol_indices_rank_the_threshold_above_a_dummy(sobol):
    assert sobol["outputs"] == OUTPUTS
    assert sobol["points"] == 16 * (3 + 2) and sobol["runs"] == 16 * 5 * 6
    assert {(e["output"], e["parameter"]) for e in sobol["indices"]} == set(
        itertools.product(OUTPUTS, [APPROVAL, THRESHOLD, DUMMY]))
    for e in sobol["indices"]:
        assert all(isinstance(e[k], float) for k in ("S1", "S1_conf", "ST", "ST_conf")), e
    for output in OUTPUTS:
        threshold, dummy = index(sobol, output, THRESHOLD), index(sobol, output, DUMMY)
        # The threshold range crosses the edge of B's win-set: it drives most of the variance.
        # The dummy changes nothing and every sample runs the same seeds, so its index is ~0.
        assert threshold["ST"] > 0.3, threshold
        assert abs(dummy["ST"]) < 0.05 and abs(dummy["S1"]) < 0.05, dummy
        assert threshold["ST"] > dummy["ST"] + 0.25
        assert threshold["ST"] > index(sobol, output, APPROVAL)["ST"]


def test_sobol_is_reproducible_and_independent_of_workers(uncertain, sobol, tmp_path):
    again = sensitivity(uncertain.data, "sobol", 16, NAMES, 6, seed=4, workers=2)
    assert again["indices"] == sobol["indices"] and again["design"] == sobol["design"]
    assert_png(sensitivity_png(sobol, tmp_path / "sobol.png"))


def test_morris_screens_the_threshold_above_a_dummy(uncertain, tmp_path):
    result = sensitivity(uncertain.data, "morris", 8, NAMES, 6, seed=9, workers=1)
    assert result["points"] == 8 * (3 + 1)
    assert {(e["output"], e["parameter"]) for e in result["indices"]} == set(
        itertools.product(OUTPUTS, [APPROVAL, THRESHOLD, DUMMY]))
    for e in result["indices"]:
        assert all(isinstance(e[k], float) for k in ("mu_star", "mu_star_conf", "sigma")), e
    threshold = index(result, "p_ratified", THRESHOLD)
    dummy = index(result, "p_ratified", DUMMY)
    assert threshold["mu_star"] > 0.3 and dummy["mu_star"] < 0.05
    assert threshold["mu_star"] > dummy["mu_star"] + 0.25
    again = sensitivity(uncertain.data, "morris", 8, NAMES, 6, seed=9, workers=1)
    assert again["indices"] == result["indices"]
    other = sensitivity(uncertain.data, "morris", 8, NAMES, 2, seed=10, workers=1)
    assert other["design"] != result["design"]  # the seed drives SALib's sampler
    assert_png(sensitivity_png(result["indices"], tmp_path / "morris.png"))


@pytest.mark.parametrize(("names", "field", "message"), [
    (["protocol.rounds"], "protocol.rounds", "has no distribution"),
    (["protocol.ratifcation.b"], "protocol.ratifcation.b", "no such field"),
    (["protocol.ratifcation.b=0.1:0.2"], "protocol.ratifcation.b", "no field"),
    ([f"{APPROVAL}=0.5:1.5"], APPROVAL, "less than or equal to 1"),
])
def test_bad_parameters_are_named_before_anything_runs(uncertain, names, field, message):
    ran = []
    with pytest.raises(ScenarioError) as info:
        sensitivity(uncertain.data, "morris", 4, names, 2, progress=ran.append)
    assert ran == []
    assert any(p.path == field and message in p.message for p in info.value.problems), (
        str(info.value))


def test_sensitivity_argument_errors(uncertain):
    with pytest.raises(ValueError, match="power of 2"):
        sensitivity(uncertain.data, "sobol", 12, None, 2)
    with pytest.raises(ValueError, match="method"):
        sensitivity(uncertain.data, "fast", 16, None, 2)
    with pytest.raises(ValueError, match="lo < hi"):
        sensitivity(uncertain.data, "morris", 4, [f"{DUMMY}=5:1"], 2)
