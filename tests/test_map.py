"""The island map: ring orientation, names, an offline chart, holders from a deal."""

from __future__ import annotations

import pytest

from dashboard.map import (
    ISLAND_IDS,
    ISLANDS_GEOJSON,
    clockwise,
    holders_from_deal,
    island_map,
)
from sim.loading import load_scenario  # noqa: E402

NAMES = {
    "habomai": ("Habomai", "歯舞群島", "Хабомаи"),
    "shikotan": ("Shikotan", "色丹島", "Шикотан"),
    "kunashiri": ("Kunashiri / Kunashir", "国後島", "Кунашир"),
    "etorofu": ("Etorofu / Iturup", "択捉島", "Итуруп"),
}


def shoelace(ring) -> float:
    """Twice the signed area in (lon, lat): > 0 counter-clockwise, < 0 clockwise."""
    return sum(ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1]
               for i in range(len(ring) - 1))


def outer_rings(feature):
    geometry = feature["geometry"]
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"][0]]
    assert geometry["type"] == "MultiPolygon"
    return [polygon[0] for polygon in geometry["coordinates"]]


def walk(obj):
    """Every (key, value) pair in a nested dict/list structure."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield key, value
            yield from walk(value)
    elif isinstance(obj, list):
        for item in obj:
            yield from walk(item)


def data_values(spec: dict) -> list[dict]:
    """All inline data rows of a Vega-Lite spec (inline `values` and top-level `datasets`)."""
    rows = []
    for key, value in walk(spec):
        if key == "values" and isinstance(value, list):
            rows.extend(value)
        elif key == "datasets" and isinstance(value, dict):
            for dataset in value.values():
                rows.extend(dataset)
    return rows


def held_by(spec: dict) -> dict[str, str]:
    return {
        row["properties"]["id"]: row["properties"]["holder"]
        for row in data_values(spec)
        if isinstance(row, dict) and "holder" in row.get("properties", {})
    }


# --------------------------------------------------------------------------- geometry


def test_every_outer_ring_is_clockwise_and_closed():
    features = ISLANDS_GEOJSON["features"]
    assert features
    for feature in features:
        for ring in outer_rings(feature):
            assert len(ring) >= 4
            assert ring[0] == ring[-1], feature["id"]
            assert shoelace(ring) < 0, f"{feature['id']}: outer ring is counter-clockwise"


def test_clockwise_turns_a_counter_clockwise_ring_and_keeps_a_clockwise_one():
    ccw = [(0, 0), (1, 0), (1, 1), (0, 1)]
    turned = clockwise(ccw)
    assert turned[0] == turned[-1]
    assert shoelace(turned) < 0
    assert sorted(set(turned)) == sorted(set(map(lambda p: (float(p[0]), float(p[1])), ccw)))
    cw = clockwise(list(reversed(ccw)))
    assert cw == [(float(x), float(y)) for x, y in [*reversed(ccw), ccw[-1]]]
    assert clockwise(cw) == cw


def test_outlines_lie_where_the_islands_are():
    boxes = {  # generous lon/lat boxes
        "habomai": (145.8, 146.4, 43.3, 43.7),
        "shikotan": (146.5, 147.0, 43.65, 43.95),
        "kunashiri": (145.3, 146.7, 43.55, 44.6),
        "etorofu": (146.5, 149.0, 44.3, 45.7),
    }
    by_id = {f["properties"]["id"]: f for f in ISLANDS_GEOJSON["features"]}
    for fid, (w, e, s, n) in boxes.items():
        for ring in outer_rings(by_id[fid]):
            for lon, lat in ring:
                assert w <= lon <= e and s <= lat <= n, (fid, lon, lat)
    assert by_id["hokkaido"]["properties"]["role"] == "context"


def test_all_four_islands_have_both_names():
    by_id = {f["properties"]["id"]: f["properties"] for f in ISLANDS_GEOJSON["features"]}
    assert set(ISLAND_IDS) == set(NAMES)
    for fid, (name, ja, ru) in NAMES.items():
        props = by_id[fid]
        assert props["name"] == name
        assert props["ja"] == ja
        assert props["ru"] == ru
        assert props["role"] == "island"


# --------------------------------------------------------------------------- chart


def test_island_map_is_offline_geoshape_with_the_holders():
    holders = {"habomai": "japan", "shikotan": "joint", "kunashiri": "russia"}
    chart = island_map(holders, title="A deal")
    spec = chart.to_dict()
    assert not any(key == "url" for key, _ in walk(spec))
    marks = [layer["mark"] for layer in spec["layer"]]
    assert "geoshape" in [m["type"] if isinstance(m, dict) else m for m in marks]
    assert spec["projection"]["type"] == "mercator"
    # Etorofu is not mentioned: it stays Russian.
    assert held_by(spec) == {"habomai": "japan", "shikotan": "joint",
                             "kunashiri": "russia", "etorofu": "russia"}
    labels = {row["label"] for row in data_values(spec) if "label" in row}
    assert {"Etorofu / Iturup", "Kunashiri / Kunashir", "Shikotan", "Habomai"} <= labels
    assert spec["width"] and spec["height"]


def test_island_map_tooltip_shows_areas_from_the_scenario():
    scenario = load_scenario("baseline")
    spec = island_map({}, territories=scenario.territories).to_dict()
    areas = {row["properties"]["id"]: row["properties"]["area_km2"]
             for row in data_values(spec) if "area_km2" in row.get("properties", {})}
    assert areas == pytest.approx({"habomai": 95, "shikotan": 248.9, "kunashiri": 1489.3,
                                   "etorofu": 3166.6})
    fields = {v["field"] for k, v in walk(spec) if k == "tooltip" and isinstance(v, dict)}
    fields |= {t["field"] for k, v in walk(spec) if k == "tooltip" and isinstance(v, list)
               for t in v}
    assert "properties.area_km2" in fields


def test_island_map_refuses_an_unknown_holder():
    with pytest.raises(ValueError, match="unknown holder"):
        island_map({"etorofu": "china"})


def test_island_map_png_renders_if_vl_convert_is_installed(tmp_path):
    vl_convert = pytest.importorskip("vl_convert")
    png = vl_convert.vegalite_to_png(island_map({"habomai": "japan"}).to_json())
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    (tmp_path / "map.png").write_bytes(png)


# --------------------------------------------------------------------------- holders


def test_holders_from_deal_1956_formula():
    scenario = load_scenario("baseline")
    deal = {**scenario.agenda.status_quo, "habomai": "japan", "shikotan": "japan",
            "economic_package": 10.0}
    assert holders_from_deal(deal, scenario) == {
        "habomai": "japan", "shikotan": "japan", "kunashiri": "russia", "etorofu": "russia"}
    spec = island_map(holders_from_deal(deal, scenario)).to_dict()
    assert held_by(spec)["shikotan"] == "japan"


def test_holders_from_no_deal_is_the_status_quo():
    scenario = load_scenario("baseline")
    assert holders_from_deal(None, scenario) == dict.fromkeys(ISLAND_IDS, "russia")
