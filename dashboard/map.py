"""The island map: who holds each of the four islands after an outcome.

Everything the map needs ships with this module: simplified outlines of the four islands and of
the eastern tip of Hokkaido (context), as an inline GeoJSON FeatureCollection in lon/lat (WGS84).
The chart is an Altair (Vega-Lite) layered chart of ``mark_geoshape`` plus text labels, drawn with
a Mercator projection fitted to the islands: no URL data, no map tiles, no TopoJSON from a CDN,
so it renders offline.

The outlines are hand-simplified (8-25 points per island) from the islands' general shape and
position; they are for orientation in a classroom, not for measuring anything. Areas shown in the
tooltip come from the scenario (``territories.<id>.area_km2``), never from these outlines.

Ring orientation. RFC 7946 asks for counter-clockwise outer rings, but d3-geo (used by Vega)
reads rings on the sphere and takes a counter-clockwise ring as "everything except this island":
the whole chart would be filled. Every outer ring here is made CLOCKWISE in (lon, lat) by
:func:`clockwise`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt

Point = tuple[float, float]
Ring = list[Point]

ISLAND_IDS: tuple[str, ...] = ("habomai", "shikotan", "kunashiri", "etorofu")
"""The four islands, smallest to largest (the ids used in scenarios' ``territories``)."""

HOLDERS: tuple[str, ...] = ("japan", "russia", "joint")
"""Who may hold an island after a deal (the options of the island issues)."""

HOLDER_LABELS: dict[str, str] = {
    "japan": "Japan",
    "russia": "Russia",
    "joint": "Joint administration",
}
HOLDER_COLOURS: dict[str, str] = {
    "japan": "#d9534f",  # red
    "russia": "#3f6fb5",  # blue
    "joint": "#9b6fb0",  # purple: between the two
}
STATUS_QUO_HOLDER = "russia"
"""Who holds an island the caller does not mention: Russia, as since 1945 (the status quo)."""

CONTEXT_FILL = "#d6d6d6"  # Hokkaido, light grey
SEA_FILL = "#eef4f9"
WIDTH, HEIGHT = 520, 420

# The view the projection is fitted to: the four islands and the Nemuro peninsula, with a margin.
FIT_BOUNDS: tuple[Point, Point] = ((145.05, 43.12), (148.95, 45.68))


# --------------------------------------------------------------------------- geometry


def signed_area(ring: Sequence[Sequence[float]]) -> float:
    """Shoelace formula in (lon, lat) degrees: positive for a counter-clockwise ring, negative
    for a clockwise one (x = longitude to the east, y = latitude to the north)."""
    pts = [tuple(p) for p in ring]
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    return 0.5 * sum(
        x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True)
    )


def clockwise(ring: Sequence[Sequence[float]]) -> Ring:
    """The ring closed (last point = first point) and turned clockwise in (lon, lat) if it was
    not, as d3-geo expects of an outer ring."""
    pts: Ring = [(float(x), float(y)) for x, y in ring]
    if len(pts) < 3:
        raise ValueError("a ring needs at least three points")
    if pts[0] != pts[-1]:
        pts.append(pts[0])
    if signed_area(pts) > 0:
        pts.reverse()
    return pts


def _centroid(polygons: Sequence[Ring]) -> Point:
    """Area-weighted centroid of the outer rings (planar, in degrees: fine at this scale)."""
    total = cx = cy = 0.0
    for ring in polygons:
        pts = ring[:-1] if ring[0] == ring[-1] else ring
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
            cross = x0 * y1 - x1 * y0
            total += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
    area = total / 2
    return (round(cx / (6 * area), 4), round(cy / (6 * area), 4))


def _feature(fid: str, name: str, ja: str, ru: str, role: str,
             polygons: Sequence[Sequence[Point]], label_shift: Point = (0.0, 0.0),
             ) -> dict[str, Any]:
    rings = [clockwise(p) for p in polygons]
    lon, lat = _centroid(rings)
    coordinates = [[[list(p) for p in ring]] for ring in rings]
    label_at = [round(lon + label_shift[0], 4), round(lat + label_shift[1], 4)]
    return {
        "type": "Feature",
        "id": fid,
        "properties": {"id": fid, "name": name, "ja": ja, "ru": ru, "role": role,
                       "centroid": [lon, lat], "label_at": label_at},
        "geometry": {"type": "MultiPolygon", "coordinates": coordinates},
    }


# Hand-simplified outlines (lon, lat). Each ring is written west/north coast first, then back
# along the east/south coast; clockwise() enforces the orientation whatever the order here.
_ETOROFU: list[Point] = [
    (146.70, 44.45), (146.85, 44.52), (147.05, 44.62), (147.25, 44.75), (147.45, 44.92),
    (147.65, 45.08), (147.87, 45.23), (148.05, 45.30), (148.30, 45.38), (148.55, 45.48),
    (148.75, 45.55), (148.88, 45.58),
    (148.85, 45.48), (148.62, 45.38), (148.35, 45.25), (148.10, 45.12), (147.90, 45.02),
    (147.70, 44.92), (147.50, 44.82), (147.30, 44.68), (147.10, 44.55), (146.90, 44.45),
    (146.75, 44.40),
]
_KUNASHIRI: list[Point] = [
    (145.47, 43.78), (145.43, 43.86), (145.52, 43.95), (145.65, 44.03), (145.78, 44.12),
    (145.92, 44.22), (146.05, 44.30), (146.20, 44.40), (146.35, 44.45), (146.50, 44.50),
    (146.58, 44.50),
    (146.55, 44.42), (146.40, 44.35), (146.25, 44.22), (146.08, 44.12), (145.95, 44.08),
    (145.87, 44.02), (145.80, 43.92), (145.72, 43.80), (145.62, 43.68), (145.55, 43.64),
    (145.50, 43.70),
]
_SHIKOTAN: list[Point] = [
    (146.62, 43.80), (146.68, 43.86), (146.78, 43.88), (146.88, 43.87), (146.94, 43.83),
    (146.92, 43.77), (146.84, 43.73), (146.74, 43.72), (146.66, 43.75),
]
_HABOMAI: list[list[Point]] = [
    # Suisho (Tanfilyev)
    [(145.88, 43.43), (145.92, 43.455), (145.97, 43.44), (145.95, 43.415), (145.90, 43.41)],
    # Yuri
    [(146.04, 43.425), (146.07, 43.44), (146.095, 43.425), (146.07, 43.41)],
    # Shibotsu (Zelyony), the largest
    [(146.07, 43.50), (146.11, 43.535), (146.17, 43.53), (146.21, 43.50), (146.17, 43.465),
     (146.10, 43.47)],
    # Taraku (Polonsky)
    [(146.28, 43.635), (146.31, 43.66), (146.36, 43.645), (146.34, 43.615), (146.30, 43.615)],
]
# Eastern Hokkaido, reaching far enough west and south to fill a wide Streamlit column (the
# chart clips it to the view): the Okhotsk coast to Cape Soya, the Shiretoko peninsula, the
# Notsuke spit (as a bump), the Nemuro peninsula ending at Cape Nosappu and the Pacific coast
# to Cape Erimo.
_HOKKAIDO: list[Point] = [
    (141.50, 41.90), (141.50, 45.40), (141.94, 45.52), (142.60, 44.93), (143.35, 44.35),
    (143.90, 44.15), (144.27, 44.02), (144.65, 43.92), (144.90, 44.08), (145.10, 44.22),
    (145.33, 44.35), (145.30, 44.20), (145.18, 44.02), (145.05, 43.80), (145.02, 43.66),
    (145.18, 43.62), (145.30, 43.57), (145.22, 43.52), (145.25, 43.40), (145.40, 43.36),
    (145.60, 43.37), (145.82, 43.39), (145.75, 43.33), (145.55, 43.27), (145.35, 43.22),
    (145.10, 43.12), (144.85, 43.02), (144.38, 42.98), (143.90, 42.65), (143.25, 41.92),
]

ISLANDS_GEOJSON: dict[str, Any] = {
    "type": "FeatureCollection",
    "features": [
        # The two small islands are labelled just south of their centroid, so that the label
        # does not hide them.
        _feature("habomai", "Habomai", "歯舞群島", "Хабомаи", "island", _HABOMAI,
                 label_shift=(0.02, -0.13)),
        _feature("shikotan", "Shikotan", "色丹島", "Шикотан", "island", [_SHIKOTAN],
                 label_shift=(0.0, -0.12)),
        _feature("kunashiri", "Kunashiri / Kunashir", "国後島", "Кунашир", "island",
                 [_KUNASHIRI]),
        _feature("etorofu", "Etorofu / Iturup", "択捉島", "Итуруп", "island", [_ETOROFU]),
        _feature("hokkaido", "Hokkaido (Nemuro, Shiretoko)", "北海道", "Хоккайдо", "context",
                 [_HOKKAIDO]),
    ],
}
"""Simplified outlines, one Feature per island (MultiPolygon) plus eastern Hokkaido
(``role: "context"``). Properties: ``id``, ``name`` (Japanese / Russian reading),
``ja``, ``ru``, ``role``, ``centroid`` ([lon, lat]) and ``label_at`` (where the label goes:
the centroid, or just south of it for the two small islands)."""


# --------------------------------------------------------------------------- outcome -> holders


def holders_from_deal(deal: Mapping[str, Any] | None, scenario: Any) -> dict[str, str]:
    """Who holds each territory after ``deal`` ({issue: option}, as in ``RunResult.deal``).

    The scenario's ``agenda.issues[issue].territory`` says which territory an issue decides; an
    issue missing from the deal, and ``deal=None`` (no agreement), take the scenario's status
    quo. Returns {territory id: option}, e.g. ``{"habomai": "japan", ...}``.
    """
    agenda = scenario.agenda
    status_quo = agenda.status_quo
    chosen = status_quo if deal is None else {**status_quo, **deal}
    holders: dict[str, str] = {}
    for issue, spec in agenda.issues.items():
        if spec.territory is None:
            continue
        option = chosen.get(issue, STATUS_QUO_HOLDER)
        holders[spec.territory] = str(option)
    return holders


# --------------------------------------------------------------------------- chart


def _number(value: Any) -> float | None:
    """A number from a scenario value: a plain number or ``{value: x, source: ...}``."""
    if isinstance(value, Mapping):
        value = value.get("value")
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _territory_info(territories: Mapping[str, Any] | None, fid: str) -> dict[str, Any]:
    """Area (and names, if given) of one territory from a scenario's ``territories``: either
    :class:`sim.scenario.Territory` objects or the raw YAML mappings."""
    if not territories or fid not in territories:
        return {}
    t = territories[fid]
    get = t.get if isinstance(t, Mapping) else (lambda key: getattr(t, key, None))
    info: dict[str, Any] = {}
    area = _number(get("area_km2"))
    if area is not None:
        info["area_km2"] = area
    names = get("names") or {}
    for lang in ("ja", "ru"):
        if names.get(lang):
            info[lang] = names[lang]
    return info


def _check_holders(holders: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for fid in ISLAND_IDS:
        holder = str(holders.get(fid, STATUS_QUO_HOLDER))
        if holder not in HOLDERS:
            raise ValueError(
                f"unknown holder {holder!r} for {fid}; expected one of {list(HOLDERS)}")
        out[fid] = holder
    return out


def map_features(holders: Mapping[str, str],
                 territories: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """The island features with the outcome in their properties: ``holder`` (option name),
    ``holder_label`` (legend text) and ``area_km2`` when ``territories`` gives it."""
    held = _check_holders(holders)
    out = []
    for feature in ISLANDS_GEOJSON["features"]:
        props = dict(feature["properties"])
        if props["role"] != "island":
            continue
        props.update(_territory_info(territories, props["id"]))
        props["holder"] = held[props["id"]]
        props["holder_label"] = HOLDER_LABELS[props["holder"]]
        out.append({**feature, "properties": props})
    return out


def island_map(holders: Mapping[str, str], *, title: str | None = None,
               territories: Mapping[str, Any] | None = None) -> alt.LayerChart:
    """The four islands coloured by who holds them after an outcome.

    ``holders`` maps island id (habomai, shikotan, kunashiri, etorofu) to ``russia``, ``joint``
    or ``japan``; an island not given stays Russian (the status quo). ``territories`` (a
    scenario's ``territories``) adds each island's area to the tooltip. Eastern Hokkaido is drawn
    in grey for context. The chart is fully offline (inline data) and sized for a Streamlit
    column; ``st.altair_chart(chart, use_container_width=True)`` stretches it to the column.
    """
    islands = map_features(holders, territories)
    context = [f for f in ISLANDS_GEOJSON["features"] if f["properties"]["role"] == "context"]
    labels = [
        {"label": f["properties"]["name"], "lon": f["properties"]["label_at"][0],
         "lat": f["properties"]["label_at"][1], "properties": f["properties"]}
        for f in islands  # with the island's properties, so a label shows its island's tooltip
    ]
    (west, south), (east, north) = FIT_BOUNDS
    fit = {"type": "Feature", "properties": {},
           "geometry": {"type": "MultiPoint",
                        "coordinates": [[west, south], [east, south], [east, north],
                                        [west, north]]}}
    hokkaido = alt.Chart(alt.Data(values=context)).mark_geoshape(
        fill=CONTEXT_FILL, stroke="#9a9a9a", strokeWidth=0.6, clip=True,
    ).encode(tooltip=[alt.Tooltip("properties.name:N", title="Name"),
                      alt.Tooltip("properties.ja:N", title="Japanese"),
                      alt.Tooltip("properties.ru:N", title="Russian")])

    tooltip = [
        alt.Tooltip("properties.name:N", title="Island"),
        alt.Tooltip("properties.ja:N", title="Japanese"),
        alt.Tooltip("properties.ru:N", title="Russian"),
        alt.Tooltip("properties.holder_label:N", title="Held by"),
    ]
    if any("area_km2" in f["properties"] for f in islands):
        tooltip.append(alt.Tooltip("properties.area_km2:Q", title="Area (km²)", format=",.1f"))
    colour = alt.Color(
        "properties.holder_label:N",
        title="After the outcome",
        scale=alt.Scale(domain=[HOLDER_LABELS[h] for h in HOLDERS],
                        range=[HOLDER_COLOURS[h] for h in HOLDERS]),
        legend=alt.Legend(orient="top-left", fillColor="white", padding=6, cornerRadius=3,
                          strokeColor="#cccccc", symbolType="square",
                          symbolStrokeWidth=0),
    )
    shapes = alt.Chart(alt.Data(values=islands)).mark_geoshape(
        stroke="#333333", strokeWidth=0.8, clip=True,
    ).encode(color=colour, tooltip=tooltip)

    label_enc = {"longitude": "lon:Q", "latitude": "lat:Q", "text": "label:N"}
    text_style = {"fontSize": 12, "fontWeight": "bold"}
    halo = alt.Chart(alt.Data(values=labels)).mark_text(
        stroke="white", strokeWidth=3, strokeJoin="round", opacity=0.9, **text_style,
    ).encode(tooltip=tooltip, **label_enc)
    text = alt.Chart(alt.Data(values=labels)).mark_text(
        color="#1a1a1a", **text_style).encode(tooltip=tooltip, **label_enc)
    hokkaido_label = alt.Chart(alt.Data(values=[
        {"label": "Hokkaido", "lon": 145.45, "lat": 43.3}])).mark_text(
        color="#6b6b6b", fontStyle="italic", fontSize=12, tooltip=None,
    ).encode(**label_enc)

    sea = alt.Chart(alt.sphere()).mark_geoshape(
        fill=SEA_FILL, stroke="#b8c7d6", clip=True, tooltip=None)

    chart = alt.layer(sea, hokkaido, shapes, hokkaido_label, halo, text).project(
        type="mercator", fit=fit
    ).properties(width=WIDTH, height=HEIGHT)
    if title:
        chart = chart.properties(title=title)
    return chart
