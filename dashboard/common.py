"""What every dashboard page shares: the scenario being edited, its controls, cached runs.

The edited scenario is always "a base scenario plus ``--set`` overrides", exactly as the CLI
builds it, so the YAML a user downloads reproduces the dashboard's results with
``negsim run FILE --seed S``.
"""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
import yaml
from streamlit.errors import StreamlitAPIException

from sim.compiled import Compiled, compile_scenario
from sim.loading import Resolved, ScenarioError, bundled_names, dump_resolved, resolve
from sim.provenance import source_at
from sim.runner import Runner
from sim.scenario import Scenario, TimeDependent

UPLOAD_KEY = "uploaded_yaml"


@dataclass(frozen=True)
class Control:
    """One number a user may change: where it lives, how to show it."""

    key: str  # widget key and URL query parameter name
    path: str  # dotted path in the scenario, as for --set
    label: str
    group: str
    low: float
    high: float
    step: float
    unit: str = ""
    integer: bool = False


def controls(s: Scenario) -> list[Control]:
    """The parameters that matter, grouped by party, then outside pressures and the protocol."""
    out: list[Control] = []
    for pid, party in s.parties.items():
        g = party.name
        lead = f"parties.{pid}.leader"
        out += [
            Control(f"{pid}.approval", f"{lead}.approval", f"{party.leader.name}: approval",
                    f"{g}: leader", 0.0, 1.0, 0.01, "share of the public"),
            Control(f"{pid}.floor", f"{lead}.approval_floor",
                    f"{party.leader.name}: approval floor", f"{g}: leader", 0.0, 1.0, 0.01,
                    "will not sign below this"),
            Control(f"{pid}.premium", f"{lead}.utility.treaty_premium", "Value of a treaty as such",
                    f"{g}: leader", 0.0, 1.0, 0.01, "utility weight"),
            Control(f"{pid}.noise", f"{lead}.opponent_noise", "Error in reading the other side",
                    f"{g}: leader", 0.0, 0.3, 0.01, "std. dev. of utility"),
        ]
        if isinstance(party.leader.strategy, TimeDependent):
            out.append(Control(f"{pid}.exponent", f"{lead}.strategy.exponent",
                               "Concession exponent (<1 Boulware, >1 conceder)",
                               f"{g}: leader", 0.1, 5.0, 0.05, "Faratin e"))
        if party.public is not None:
            pub = f"parties.{pid}.public"
            out += [
                Control(f"{pid}.threshold", f"protocol.ratification.{pid}",
                        "Support needed to ratify", f"{g}: public", 0.0, 1.0, 0.01,
                        "share of citizens"),
                Control(f"{pid}.cue", f"{pub}.dynamics.cue_strength",
                        "Approvers follow their leader", f"{g}: public", 0.0, 1.0, 0.01,
                        "share of the gap per meeting"),
                Control(f"{pid}.bound", f"{pub}.dynamics.confidence_bound",
                        "Confidence bound (who listens to whom)", f"{g}: public", 0.0, 1.0, 0.01,
                        "tolerance distance"),
                Control(f"{pid}.cost", f"{pub}.approval_cost",
                        "Approval cost of an unpopular offer", f"{g}: public", 0.0, 0.3, 0.01,
                        "approval per meeting"),
            ]
    for fid, factor in s.external.items():
        out.append(Control(f"ext.{fid}", f"external.{fid}.intensity", factor.name,
                           "Outside pressures", 0.0, 1.0, 0.01, "intensity, 0 to 1"))
    out += [
        Control("rounds", "protocol.rounds", "Meetings before the deadline", "Protocol",
                1, 60, 1, "meetings", integer=True),
        Control("noise", "protocol.ratification_noise", "Ratification noise", "Protocol",
                0.0, 0.2, 0.005, "std. dev. of the vote"),
    ]
    return out


def value_at(s: Scenario, path: str) -> float:
    node = s
    for part in path.split("."):
        node = node[part] if isinstance(node, dict) else getattr(node, part)
    return float(node)


def source_note(r: Resolved, path: str) -> str:
    src = source_at(r.data, tuple(path.split(".")))
    if src is None:
        return "source: none given"
    if src in r.scenario.sources:
        return f"source: {src} — {r.scenario.sources[src].title}"
    return f"source: {src}"


# --------------------------------------------------------------------------- loading


def base_choice() -> str:
    """The scenario picked on the Scenario page (a bundled name, or the uploaded file)."""
    names = bundled_names()
    options = names + (["(uploaded file)"] if st.session_state.get(UPLOAD_KEY) else [])
    return st.sidebar.selectbox("Scenario", options, index=names.index("baseline"),
                                key="scenario", bind="query-params")


def resolved(sets: tuple[str, ...] = ()) -> Resolved:
    """The current scenario with ``sets`` applied; raises ScenarioError for a bad file."""
    choice = st.session_state.get("scenario", "baseline")
    if choice == "(uploaded file)":
        text = st.session_state.get(UPLOAD_KEY, "")
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "uploaded.yaml"
            path.write_text(text, encoding="utf-8")
            return resolve(path, sets)
    return resolve(choice, sets)


def current_sets(r: Resolved) -> tuple[str, ...]:
    """The overrides the widgets hold now (only values that differ from the scenario's)."""
    sets = []
    for c in controls(r.scenario):
        v = _widget_value(c.key)
        if v is None:
            continue
        try:
            v = float(v)
        except ValueError:
            continue  # a hand-edited URL: the widget itself will complain on its page
        if abs(v - value_at(r.scenario, c.path)) > 1e-12:
            sets.append(f"{c.path}={int(v) if c.integer else v!r}")
    opens = _widget_value("opens")
    if opens and opens != r.scenario.protocol.opens:
        sets.append(f"protocol.opens={opens}")
    return tuple(sets)


def _widget_value(key: str):
    """A control's value: from its widget if it is on this page, else from the URL (bound
    widgets keep their non-default values in the query string across pages)."""
    if key in st.session_state:
        return st.session_state[key]
    return st.query_params.get(key)


def edited() -> Resolved | None:
    """The scenario with the user's edits, or None after showing why it cannot be loaded."""
    try:
        base = resolved()
        sets = current_sets(base)
        _share_in_url(base)
        return resolved(sets) if sets else base
    except ScenarioError as e:
        show_problems(e)
        return None


def _share_in_url(base: Resolved) -> None:
    """Keep the edits in the address on pages without the controls, so that any page's
    address shares the configuration (on the Scenario page the widgets do this themselves)."""
    for key in [c.key for c in controls(base.scenario)] + ["opens"]:
        if key in st.session_state and key not in st.query_params:
            value = st.session_state[key]
            default = (base.scenario.protocol.opens if key == "opens" else
                       value_at(base.scenario, next(c.path for c in controls(base.scenario)
                                                    if c.key == key)))
            if value != default:
                with contextlib.suppress(StreamlitAPIException):  # bound on this page
                    st.query_params[key] = str(value)


def show_problems(e: ScenarioError) -> None:
    n = len(e.problems)
    st.error(f"{n} problem{'s' if n != 1 else ''} in the scenario:\n\n"
             + "\n".join(f"- `{p}`" for p in e.problems))


# --------------------------------------------------------------------------- running


@st.cache_data(show_spinner=False, max_entries=256)
def run_cached(scenario_yaml: str, seed: int, publics: bool = True) -> dict:
    """One run of the resolved scenario text (cache key: the text and the seed)."""
    runner = Runner(yaml.safe_load(scenario_yaml), publics=publics)
    return runner.run(seed).model_dump(mode="json")


@st.cache_resource(show_spinner=False, max_entries=32)
def compiled_for(scenario_yaml: str) -> Compiled:
    """The compiled nominal scenario (read-only arrays shared by every user)."""
    return compile_scenario(Runner(yaml.safe_load(scenario_yaml)).nominal)


def seed_input() -> int:
    return int(st.sidebar.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0,
                                       step=1, key="seed", bind="query-params"))


def scenario_yaml(r: Resolved) -> str:
    return dump_resolved(r)
