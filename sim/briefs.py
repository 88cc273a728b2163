"""Role briefs for classroom play: a public brief every student may read and a confidential
brief for the student who plays one side, both generated from the scenario file.

Nothing here is hand-copied. Every number in a brief is either

- a scenario input, read from the resolved scenario data (``Resolved.data``) and followed by its
  source id in brackets, as :func:`sim.provenance.source_at` finds it (an input written as a
  distribution is shown at its nominal, central value, marked uncertain, with its range); or
- a figure computed from the scenario (the calibrated publics' support, leaders' utilities,
  win-set sizes ...), listed by :func:`brief_figures` under a name.

Formats: shares as percentages with at most one decimal (``64.9%``, ``50%``), utilities and
option values with two decimals (``0.15``), other inputs (exponents, intensities, per-unit
effects) as written in the scenario.

Figures (for a side P with leader utility u, reservation r and public P_pub):

- Public support for a deal o, before the first meeting: S(x(o)), where S is the public's
  calibrated tolerance survival function (``parties[P].tolerance.support``) and x(o) the deal's
  effective concession (concession - compensation); see :mod:`sim.calibration`.
- Poll calibration target: support / (support + oppose) (undecided split like the decided).
- Stated position: on each issue, the option(s) with the highest value in P's leader utility.
- Reservation utility: r = u(status quo) on the leader's 0-1 scale (:mod:`sim.utility`).
- Priority shares: w_i * s_i / sum_j w_j * s_j, with s_i the product over external factors of
  (1 + per_unit * intensity) for effects on ``weight.i``; the treaty premium likewise
  premium * s_p.
- Approval floor: a leader signs o only if approval - approval_cost * (1 - S(x(o))) >= floor,
  i.e. only if S(x(o)) >= 1 - (approval - floor) / approval_cost (the floor's minimum support).
- Win-set: deals with S(x(o)) >= the ratification threshold; deals the leader may sign: the
  win-set within the hard constraints and the floor (:func:`sim.compiled.leader_feasible`).
- Best deal inside the win-set: argmax of u over the deals the leader may sign.

API: :func:`brief` (Markdown), :func:`brief_html` (the same content as one standalone HTML page,
no external resources), :func:`brief_figures` (the computed figures, by name) and
:func:`brief_numbers` (every number shown, in order, with its source).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.compiled import Compiled, compile_scenario
from sim.loading import Resolved
from sim.provenance import source_at
from sim.scenario import ASSUMPTION, Fixed, Scenario
from sim.uncertainty import uncertain_parameters
from sim.utility import external_scales

__all__ = ["DEFAULT", "Shown", "brief", "brief_figures", "brief_html", "brief_numbers", "pct",
           "util"]

# --------------------------------------------------------------------------- number formats


def pct(x: float) -> str:
    """A share as a percentage with at most one decimal: 0.649 -> '64.9%', 0.5 -> '50%'."""
    s = f"{100 * float(x):.1f}"
    s = s[:-2] if s.endswith(".0") else s
    return "0%" if s == "-0" else s + "%"


def util(x: float) -> str:
    """A utility (or an option's value) with two decimals."""
    s = f"{float(x):.2f}"
    return "0.00" if s == "-0.00" else s


def dec(x: float) -> str:
    """A weight or premium: two decimals, more only if the scenario writes more."""
    x = float(x)
    return util(x) if abs(x - round(x, 2)) < 1e-12 else f"{x:g}"


def plain(x: float) -> str:
    """Any other input (an exponent, an intensity, a count) as the scenario writes it."""
    return f"{float(x):g}"


def count(n: int) -> str:
    return str(int(n))


@dataclass(frozen=True)
class Shown:
    """A number as a brief shows it: its name (a scenario path or a figure name), value, text
    and source id (None for a computed figure)."""

    name: str
    value: float
    text: str
    source: str | None


# --------------------------------------------------------------------------- facts


@dataclass
class _Ref:
    """A reference deal for the public brief."""

    label: str
    k: int


@dataclass
class _Facts:
    """Everything a brief for one side says, computed once from the resolved scenario."""

    resolved: Resolved
    side: str
    other: str
    compiled: Compiled
    public: dict[str, float] = field(default_factory=dict)
    confidential: dict[str, float] = field(default_factory=dict)
    support: dict[str, np.ndarray | None] = field(default_factory=dict)
    refs: list[_Ref] = field(default_factory=list)
    above: np.ndarray | None = None
    best: int | None = None
    order: list[str] = field(default_factory=list)

    @property
    def scenario(self) -> Scenario:
        return self.resolved.scenario


DEFAULT = "default"
"""Source label of a number the scenario file leaves to the schema's default."""


def _check_side(scenario: Scenario, side: str) -> str:
    ids = list(scenario.parties)
    if side not in ids:
        raise ValueError(f"unknown side {side!r} in scenario {scenario.name!r}; expected one of: "
                         f"{', '.join(ids)}")
    return scenario.other(side)


def _facts(resolved: Resolved, side: str) -> _Facts:
    s = resolved.scenario
    other = _check_side(s, side)
    c = compile_scenario(s)
    f = _Facts(resolved, side, other, c)
    pub, conf = f.public, f.confidential
    space = c.space
    an = c.analysis

    for p in uncertain_parameters(resolved.data):
        lo, hi = p.distribution.bounds()
        pub[f"nominal:{p.name}"] = p.distribution.central
        pub[f"low:{p.name}"] = lo
        pub[f"high:{p.name}"] = hi

    for path, value in _leaves(s.model_dump(mode="json")):
        if _locate(resolved.data, path) is None:
            pub[f"{DEFAULT}:{'.'.join(map(str, path))}"] = value

    for pid, cp in c.parties.items():
        f.support[pid] = None if cp.x is None else cp.tolerance.support(cp.x)
    k_sq = space.encode(space.status_quo)

    # Public: poll targets and the reference deals, seen by the side's own public.
    refs: dict[int, _Ref] = {}
    for pid in (side, other):
        public = s.parties[pid].public
        if public is None:
            continue
        for i, poll in enumerate(public.polls):
            if pid == side:
                pub[f"poll.{pid}.{i}.target"] = poll.target
            k = space.encode(poll.deal)
            label = poll.label if pid == side else f"{poll.label} ({s.parties[pid].name} poll)"
            refs.setdefault(k, _Ref(label, k))
    refs.setdefault(k_sq, _Ref("A treaty on status quo terms (nothing else changes)", k_sq))
    changes = (space.index != space.index[k_sq]).sum(axis=1)
    for ci, oc in enumerate(s.outcome_classes):
        members = np.flatnonzero(c.class_of == ci)
        if members.size:
            k = int(members[np.argmin(changes[members])])
            label = oc.name + (f": {oc.description}" if oc.description else "")
            refs.setdefault(k, _Ref(f"Simplest deal of the class {label}", k))
    f.refs = list(refs.values())
    own = f.support[side]
    if own is not None:
        for ref in f.refs:
            pub[f"support.{side}.deal{ref.k}"] = float(own[ref.k])

    # Confidential: utilities, priorities, pressures, approval, win-set and the best deal.
    party = s.parties[side]
    leader = party.leader
    u, r = c.base_utilities[side]
    conf["reservation_utility"] = float(r)
    f.above = u > r
    conf["deals_above_reservation"] = int(f.above.sum())
    conf["outcome_space_size"] = int(space.size)
    wscale, pscale = external_scales(s.external, c.base_intensities, side)
    eff = {i: t.weight * wscale.get(i, 1.0) for i, t in leader.utility.issues.items()}
    total = sum(eff.values())
    for issue, w in eff.items():
        conf[f"weight_share.{issue}"] = w / total if total > 0 else 0.0
        if issue in wscale:
            conf[f"weight_multiplier.{issue}"] = wscale[issue]
    f.order = sorted(eff, key=lambda i: -eff[i])  # stable: agenda order among ties
    if pscale != 1.0:
        conf["premium_multiplier"] = pscale
    conf["treaty_premium_effective"] = leader.utility.treaty_premium * pscale
    for fid, factor in s.external.items():
        for i, e in enumerate(factor.effects):
            if e.party == side:
                conf[f"effect_multiplier.{fid}.{i}"] = 1.0 + e.per_unit * factor.intensity
    if party.public is not None:
        cost = party.public.approval_cost
        conf["approval_after_full_opposition"] = leader.approval - cost
        if cost > 0:
            conf["floor_min_support"] = 1.0 - (leader.approval - leader.approval_floor) / cost
    conf["winset_size"] = an["winset_size"][side]
    conf["leader_feasible_size"] = an["leader_feasible_size"][side]
    feasible = an["_masks"]["feasible"][side]
    if feasible.any():
        cand = np.flatnonzero(feasible)
        f.best = int(cand[np.argmax(u[cand])])
        conf["best.utility"] = float(u[f.best])
        for pid in (side, other):
            if f.support[pid] is not None:
                conf[f"best.support.{pid}"] = float(f.support[pid][f.best])
    return f


# --------------------------------------------------------------------------- scenario data


def _text(key: Any) -> str:
    if isinstance(key, bool):
        return "yes" if key else "no"
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return str(key)


def _locate(data: Any, path: tuple) -> tuple | None:
    """The data's own keys along ``path`` (option keys may be ints or YAML booleans there)."""
    keys = []
    node = data
    for part in path:
        if isinstance(node, dict):
            key = part if part in node else next((k for k in node if _text(k) == str(part)),
                                                  None)
            if key is None:
                return None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            key = part
        else:
            return None
        keys.append(key)
        node = node[key]
    return tuple(keys)


def _leaves(node: Any, path: tuple = ()):
    """(path, number) for every number in a model dump."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield path, float(node)


def _get(data: Any, keys: tuple) -> Any:
    for k in keys:
        data = data[k]
    return data


# --------------------------------------------------------------------------- writing


class _Doc:
    """Blocks of a brief (headings, paragraphs, lists, tables) with inline ``**bold**`` and
    ```code```, rendered as Markdown or HTML; records every number it shows."""

    def __init__(self, facts: _Facts, figures: dict[str, float]):
        self.facts = facts
        self.data = facts.resolved.data
        self.figures = figures
        self.blocks: list[tuple] = []
        self.shown: list[Shown] = []
        self.cited: list[str] = []

    # ---- numbers
    def inp(self, path: tuple, fmt=pct, *, source: bool = True) -> str:
        """A scenario input at ``path`` with its source, nominal value and range if uncertain."""
        keys = _locate(self.data, path)
        if keys is None:  # not written in the file: the schema's default
            name = f"{DEFAULT}:{'.'.join(map(str, path))}"
            text = fmt(self.figures[name])
            self.shown.append(Shown(name, self.figures[name], text, DEFAULT))
            return text + (f" {self.cite(DEFAULT)}" if source else "")
        node = _get(self.data, keys)
        name = ".".join(map(str, keys))
        src = source_at(self.data, keys)
        if isinstance(node, dict) and "dist" in node:
            value = self.figures[f"nominal:{name}"]
            text = fmt(value)
            self.shown.append(Shown(name, value, text, src))
            lo = self.num(f"low:{name}", fmt)
            hi = self.num(f"high:{name}", fmt)
            rng = f" (uncertain: from {lo} to {hi})"
        else:
            value = float(node["value"] if isinstance(node, dict) else node)
            text = fmt(value)
            self.shown.append(Shown(name, value, text, src))
            rng = ""
        return text + (f" {self.cite(src)}" if source else "") + rng

    def num(self, name: str, fmt=pct) -> str:
        """A computed figure, by its name in :func:`brief_figures`."""
        value = float(self.figures[name])
        text = fmt(value)
        self.shown.append(Shown(name, value, text, None))
        return text

    def cite(self, *sources: str | None) -> str:
        ids = []
        for s in sources:
            s = s or "unsourced"
            if s not in ids:
                ids.append(s)
            if s not in self.cited:
                self.cited.append(s)
        return f"[{', '.join(ids)}]"

    def note(self, path: tuple) -> str:
        """The note the scenario attaches to a number, if any."""
        keys = _locate(self.data, path)
        node = _get(self.data, keys) if keys else None
        text = node.get("note") if isinstance(node, dict) else None
        return f" (scenario note: {text})" if text else ""

    # ---- blocks
    def h(self, level: int, text: str) -> None:
        self.blocks.append(("h", level, text))

    def p(self, text: str) -> None:
        self.blocks.append(("p", text))

    def ul(self, items: list[str]) -> None:
        if items:
            self.blocks.append(("ul", items))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        self.blocks.append(("table", header, rows))

    def sources(self) -> None:
        s = self.facts.scenario
        items = []
        for sid in self.cited:
            if sid == DEFAULT:
                items.append(f"`{sid}`: the schema's default value (not written in the scenario "
                             "file)")
            elif sid == ASSUMPTION:
                items.append(f"`{sid}`: a modelling choice of the scenario's authors, not a "
                             "measured fact")
            elif sid in s.sources:
                src = s.sources[sid]
                items.append(f"`{sid}`: {src.title}"
                             + (f" ({src.publisher})" if src.publisher else ""))
            else:
                items.append(f"`{sid}`: no source given in the scenario")
        if items:
            self.h(2, "Sources")
            self.ul(items)

    # ---- rendering
    def markdown(self) -> str:
        out = []
        for b in self.blocks:
            if b[0] == "h":
                out.append("#" * b[1] + " " + b[2])
            elif b[0] == "p":
                out.append(b[1])
            elif b[0] == "ul":
                out.append("\n".join(f"- {item}" for item in b[1]))
            else:
                _, header, rows = b
                lines = [_md_row(header), "|" + "|".join("---" for _ in header) + "|"]
                lines += [_md_row(row) for row in rows]
                out.append("\n".join(lines))
        return "\n\n".join(out) + "\n"

    def html(self, title: str) -> str:
        out = []
        for b in self.blocks:
            if b[0] == "h":
                out.append(f"<h{b[1]}>{_inline(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                out.append(f"<p>{_inline(b[1])}</p>")
            elif b[0] == "ul":
                out.append("<ul>\n" + "\n".join(f"<li>{_inline(i)}</li>" for i in b[1])
                           + "\n</ul>")
            else:
                _, header, rows = b
                head = "".join(f"<th>{_inline(c)}</th>" for c in header)
                body = "\n".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row)
                                 + "</tr>" for row in rows)
                out.append(f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n"
                           "</tbody>\n</table>")
        return (
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(out) + "\n</body>\n</html>\n"
        )


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#222}table{border-collapse:collapse;margin:1rem 0}"
    "th,td{border:1px solid #bbb;padding:.3rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#eee}code{background:#f3f3f3;padding:0 .2rem}"
)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _inline(text: str) -> str:
    t = html.escape(text, quote=False)
    t = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", t)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", t)


# --------------------------------------------------------------------------- wording helpers


def _option(s: Scenario, issue: str, option: str) -> str:
    """An option in words: a party's name for a party id, the unit after a number."""
    if option in s.parties:
        return s.parties[option].name
    unit = s.agenda.issues[issue].unit
    return f"{option} {unit}" if unit else option


def _people(party) -> str:
    """A party's public in words: 'the Japanese voters', or 'the public of Country B'."""
    name = party.public.name if party.public is not None else "public"
    return f"the public of {party.name}" if name == "public" else f"the {name}"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _issue(s: Scenario, issue: str) -> str:
    """Short name of an issue: its territory's name, else its label."""
    iss = s.agenda.issues[issue]
    if iss.territory and iss.territory in s.territories:
        return s.territories[iss.territory].name
    return iss.label


def _terms(c: Compiled, k: int) -> str:
    """A deal in words: a treaty plus whatever it changes from the status quo."""
    s = c.scenario
    deal = c.space.decode(k)
    changes = [f"{_issue(s, i)}: {_option(s, i, _text(o))}" for i, o in deal.items()
               if _text(o) != s.agenda.status_quo[i]]
    return "treaty; " + "; ".join(changes) if changes else "treaty, nothing else changes"


def _status_quo(s: Scenario) -> str:
    return "; ".join(f"{_issue(s, i)}: {_option(s, i, o)}" for i, o in
                     s.agenda.status_quo.items())


def _best_options(s: Scenario, pid: str, issue: str) -> list[str]:
    values = s.parties[pid].leader.utility.issues[issue].values
    top = max(values.values())
    return [o for o in s.agenda.issues[issue].options if values[o] == top]


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _wants(doc: _Doc, pid: str) -> list[str]:
    """The leader's most valued option per issue, each with the source of its valuation."""
    s = doc.facts.scenario
    out = []
    for issue in s.agenda.issues:
        best = _best_options(s, pid, issue)
        path = ("parties", pid, "leader", "utility", "issues", issue, "values")
        srcs = [source_at(doc.data, _locate(doc.data, (*path, o)) or ()) for o in best]
        words = _or([_option(s, issue, o) for o in best])
        out.append(f"{s.agenda.issues[issue].label}: **{words}** {doc.cite(*srcs)}")
    return out


def _requires(doc: _Doc, pid: str) -> list[str]:
    """The leader's hard constraints, each with its source."""
    s = doc.facts.scenario
    out = []
    for issue, opts in s.parties[pid].leader.requires.items():
        keys = _locate(doc.data, ("parties", pid, "leader", "requires", issue)) or ()
        out.append(f"{s.agenda.issues[issue].label}: {_or([_option(s, issue, o) for o in opts])}"
                   f" {doc.cite(source_at(doc.data, keys))}")
    return out


# --------------------------------------------------------------------------- the briefs


NUMBERS_NOTE = (
    "Every number below is taken or computed from the scenario file. A number taken from it is "
    "followed by its source id in brackets (`assumption` marks a modelling choice); sources are "
    "listed at the end. An uncertain number is shown at its nominal (central) value, with its "
    "range."
)


def _public(doc: _Doc) -> None:
    f = doc.facts
    s, c, side, other = f.scenario, f.compiled, f.side, f.other
    party, rival = s.parties[side], s.parties[other]
    doc.h(1, f"{party.name}: public brief")
    doc.p(f"**{s.title}** (scenario `{s.name}`). Every student may read this brief.")
    doc.p(NUMBERS_NOTE)

    doc.h(2, "The case in brief")
    doc.p(s.description.strip())

    doc.h(2, f"{party.name}'s stated position")
    wants, requires = _wants(doc, side), _requires(doc, side)
    doc.p(f"{party.leader.name}, for {party.name}, values these options most, issue by issue "
          "(the source of each valuation in brackets):")
    doc.ul(wants)
    if requires:
        doc.p(f"Hard constraints: {party.leader.name} signs no deal unless:")
        doc.ul(requires)
    else:
        doc.p(f"Hard constraints: none stated; {party.leader.name} may sign any deal "
              "its public would ratify.")

    doc.h(2, f"The limits of {party.name}'s public")
    pub = party.public
    if pub is None:
        doc.p(f"The scenario models no public for {party.name}: any deal its leader signs is "
              "ratified.")
    else:
        base = ("parties", side, "public")
        doc.p(f"{_cap(_people(party))} are simulated citizens, each of whom supports a deal "
              "when it gives up no more than that citizen tolerates. Their tolerances are "
              "calibrated so that, before the first meeting, support for each poll's deal "
              "equals the poll's support among respondents with an opinion:")
        items = []
        for i, poll in enumerate(pub.polls):
            p = (*base, "polls", i)
            srcs = [source_at(doc.data, _locate(doc.data, (*p, key)) or ())
                    for key in ("support", "oppose")]
            titles = "; ".join(f"`{sid}`: {s.sources[sid].title}" for sid in dict.fromkeys(srcs)
                               if sid in s.sources)
            items.append(
                f"**{poll.label}** ({_terms(c, c.space.encode(poll.deal))}): support "
                f"{doc.inp((*p, 'support'))}{doc.note((*p, 'support'))}, oppose "
                f"{doc.inp((*p, 'oppose'))}{doc.note((*p, 'oppose'))}; among those with an "
                f"opinion: {doc.num(f'poll.{side}.{i}.target')}."
                + (f" Source: {titles}." if titles else ""))
        doc.ul(items)
        doc.p(f"Ratification: a signed deal is ratified in {party.name} only if at least "
              f"**{doc.inp(('protocol', 'ratification', side))}** of {_people(party)} support "
              f"it (parliament and public together); the vote may differ from the polls by "
              f"about {doc.inp(('protocol', 'ratification_noise'))} (standard deviation).")
        threshold = s.protocol.ratification[side]
        rows = []
        show_class = bool(s.outcome_classes)
        for ref in f.refs:
            sup = f.support[side][ref.k]
            row = [ref.label, _terms(c, ref.k)]
            if show_class:
                row.append(c.outcome_class(ref.k))
            row += [doc.num(f"support.{side}.deal{ref.k}"), "yes" if sup >= threshold else "no"]
            rows.append(row)
        doc.p(f"Support among {_people(party)} for some reference deals, before the first meeting "
              "(computed with the calibrated tolerances):")
        doc.table(["reference deal", "terms", *(["class"] if show_class else []), "support",
                   "would ratify?"], rows)

    doc.h(2, f"The other side: {rival.name}'s stated position")
    wants, requires = _wants(doc, other), _requires(doc, other)
    text = (f"{rival.leader.name}, for {rival.name}, values these options most: "
            + "; ".join(wants) + ".")
    if requires:
        text += (f" {rival.leader.name} signs no deal unless: " + "; ".join(requires) + ".")
    else:
        text += " No hard constraints are stated."
    text += (f" The status quo, which holds if no deal is signed and ratified, is: "
             f"{_status_quo(s)}.")
    doc.p(text)
    doc.sources()


def _confidential(doc: _Doc) -> None:
    f = doc.facts
    s, c, side, other = f.scenario, f.compiled, f.side, f.other
    party, rival = s.parties[side], s.parties[other]
    leader = party.leader
    base = ("parties", side, "leader")
    doc.h(1, f"{party.name}: confidential brief")
    doc.p(f"**{s.title}** (scenario `{s.name}`). **For the student playing {party.name} "
          f"({leader.name}) only.** Read it with the public brief for {party.name}, which every "
          "student has.")
    doc.p(NUMBERS_NOTE)

    doc.h(2, "Your walk-away: the value of no deal")
    r = doc.num("reservation_utility", util)
    doc.p(f"Your reservation utility is **{r}** on a scale from 0 (your worst possible deal) to "
          f"1 (your best), computed from your priorities below. It is what no deal is worth to "
          f"you: the status quo ({_status_quo(s)}) with no treaty. A deal worth less than {r} "
          f"is worse for you than walking away; {doc.num('deals_above_reservation', count)} of "
          f"the {doc.num('outcome_space_size', count)} possible deals are worth more.")

    doc.h(2, "Your priorities")
    doc.p("Issues, most important first. Weight: the issue's salience in the scenario; share: "
          "its part of the total, after the external pressures below; values: what each option "
          "is worth to you (0 worst, 1 best).")
    rows = []
    for issue in f.order:
        p = (*base, "utility", "issues", issue)
        opts = s.agenda.issues[issue].options
        vals = [f"{_option(s, issue, o)} {doc.inp((*p, 'values', o), util, source=False)}"
                for o in opts]
        srcs = [source_at(doc.data, _locate(doc.data, (*p, "values", o)) or ()) for o in opts]
        rows.append([s.agenda.issues[issue].label, doc.inp((*p, "weight"), dec),
                     doc.num(f"weight_share.{issue}"), ", ".join(vals) + f" {doc.cite(*srcs)}"])
    doc.table(["issue", "weight", "share", "option values"], rows)
    premium = doc.inp((*base, "utility", "treaty_premium"), dec)
    text = (f"A peace treaty as such is worth a premium of {premium} to you, on the weights' "
            "scale, whatever its terms")
    if "premium_multiplier" in f.confidential:
        text += (f"; the external pressures multiply it by "
                 f"{doc.num('premium_multiplier', util)}, to "
                 f"{doc.num('treaty_premium_effective', dec)}")
    doc.p(text + ".")

    doc.h(2, "External pressures on you")
    items = []
    for fid, factor in s.external.items():
        for i, e in enumerate(factor.effects):
            if e.party != side:
                continue
            fp = ("external", fid)
            target = ("your treaty premium" if e.target == "treaty_premium" else
                      f"your weight on {s.agenda.issues[e.target.removeprefix('weight.')].label}")
            items.append(
                f"**{factor.name}**" + (f" ({factor.description})" if factor.description else "")
                + f": intensity {doc.inp((*fp, 'intensity'), plain)} × effect "
                f"{doc.inp((*fp, 'effects', i, 'per_unit'), plain)} per unit of intensity on "
                f"{target}: multiplies it by {doc.num(f'effect_multiplier.{fid}.{i}', util)}.")
    if items:
        doc.ul(items)
    else:
        doc.p("No external factor in the scenario acts on your utility.")

    doc.h(2, "Your approval and what you can sign")
    approval = doc.inp((*base, "approval"))
    floor = doc.inp((*base, "approval_floor"))
    doc.p(f"Approval now: **{approval}**{doc.note((*base, 'approval'))}. "
          f"Approval floor: **{floor}**{doc.note((*base, 'approval_floor'))}. You will not sign "
          "a deal expected to push your approval below the floor.")
    pub = party.public
    if pub is None:
        doc.p("No public is modelled for your side, so the floor never binds.")
    else:
        pp = ("parties", side, "public")
        cost = doc.inp((*pp, "approval_cost"))
        text = (f"Offers cost approval in proportion to domestic opposition: up to {cost} for "
                f"a deal all of {_people(party)} oppose. ")
        mins = f.confidential.get("floor_min_support")
        threshold = s.protocol.ratification[side]
        if leader.approval < leader.approval_floor or (mins is not None and mins > 1):
            text += ("You are already too close to your floor: no deal, not even one the whole "
                     "public supports, keeps your approval above it. You may sign nothing until "
                     "your approval recovers.")
        elif mins is None or mins <= 0:
            text += (f"Even then your approval would stay at "
                     f"{doc.num('approval_after_full_opposition')}, above the floor: the floor "
                     "does not limit what you can sign now; your public's ratification "
                     "threshold does.")
        else:
            need = doc.num("floor_min_support")
            thr = doc.inp(("protocol", "ratification", side), source=False)
            text += (f"So you can sign only deals with at least **{need}** support at home, "
                     + (f"less than the ratification threshold of {thr}: the threshold binds "
                        "first." if mins <= threshold else
                        f"more than the ratification threshold of {thr}: the floor binds "
                        "first, and it is the floor that limits what you can sign."))
        doc.p(text)
    doc.p(f"Deals you may sign now (your hard constraints, your public's win-set and the floor): "
          f"**{doc.num('leader_feasible_size', count)}** of "
          f"{doc.num('outcome_space_size', count)}.")

    doc.h(2, "Your concession tactic")
    st = leader.strategy
    sp = (*base, "strategy")
    if isinstance(st, Fixed):
        doc.p(f"Fixed: your aspiration stays at {doc.inp((*sp, 'level'))} of the way from your "
              "reservation utility to your best deal, whatever the meeting. You do not concede.")
    else:
        e = st.exponent
        kind = ("Boulware (hard): you concede little until the deadline nears, then fast" if e < 1
                else "linear: you concede at an even pace" if e == 1
                else "conceder (soft): you give ground early")
        doc.p(f"Time-dependent (Faratin, Sierra and Jennings 1998): your aspiration falls from "
              f"your best deal toward your reservation utility as the deadline nears, with "
              f"exponent {doc.inp((*sp, 'exponent'), plain)}: {kind}. An exponent below 1 "
              "is Boulware, above 1 conceder.")

    doc.h(2, "Your public and your best deal inside its win-set")
    if pub is None:
        doc.p("No public is modelled for your side: every deal would be ratified.")
    else:
        doc.p(f"{_cap(_people(party))} would ratify **{doc.num('winset_size', count)}** of "
              f"the {doc.num('outcome_space_size', count)} possible deals now (support at least "
              f"the ratification threshold).")
    if f.best is None:
        doc.p("There is no deal you may sign now: no offer of yours can be inside your own "
              "win-set. Watch for what could change that.")
    else:
        line = (f"Your best deal that your public would ratify and you may sign: "
                f"**{_terms(c, f.best)}**. It is worth **{doc.num('best.utility', util)}** to "
                "you")
        if pub is not None:
            line += f"; support at home {doc.num(f'best.support.{side}')}"
        if f.support[other] is not None:
            other_t = s.protocol.ratification[other]
            ok = f.support[other][f.best] >= other_t
            line += (f"; support among {_people(rival)} "
                     f"{doc.num(f'best.support.{other}')}, so {rival.name} "
                     f"{'would' if ok else 'would not'} ratify it")
        doc.p(line + ".")

    doc.h(2, "What to watch for")
    doc.ul(_watch(doc))
    doc.sources()


def _watch(doc: _Doc) -> list[str]:
    f = doc.facts
    s, side, other = f.scenario, f.side, f.other
    party, rival = s.parties[side], s.parties[other]
    items = []
    opener = "You open" if s.protocol.opens == side else f"{rival.leader.name} opens"
    items.append(f"The deadline: {doc.inp(('protocol', 'rounds'), plain)} meetings. {opener}. "
                 "After the last meeting the status quo holds, worth "
                 f"{doc.num('reservation_utility', util)} to you; do not accept less.")
    requires = _requires(doc, other)
    if requires:
        items.append(f"{rival.leader.name} signs no deal unless: " + "; ".join(requires) + ".")
    if party.public is not None:
        items.append(
            f"Ratification at home: only deals with support of at least "
            f"{doc.inp(('protocol', 'ratification', side), source=False)} are ratified, and "
            f"the vote may miss the polls by about "
            f"{doc.inp(('protocol', 'ratification_noise'), source=False)}: a deal just above "
            "the threshold can still fail, and a signed but unratified deal counts as a "
            "failure (involuntary defection).")
    if f.best is not None and f.support[other] is not None:
        other_t = s.protocol.ratification[other]
        if f.support[other][f.best] < other_t:
            items.append(
                f"Your best ratifiable deal has only {doc.num(f'best.support.{other}')} "
                f"support among {_people(rival)}, below their threshold of "
                f"{doc.inp(('protocol', 'ratification', other), source=False)}: to agree, one "
                "side must offer what hurts at home. Look for deals both publics can live with.")
    for i, ev in enumerate(s.events):
        eff = ev.effect
        if eff.kind == "note" or ev.round > s.protocol.rounds:
            continue
        who = getattr(eff, "party", None)
        if who not in (None, side, other):
            continue
        items.append(f"Meeting {doc.inp(('events', i, 'round'), plain)}: {ev.label} "
                     f"({eff.kind.replace('_', ' ')}"
                     + (f", {s.parties[who].name}" if who else "") + ").")
    if party.public is not None:
        items.append("Public offers cost approval when your public opposes them; approval "
                     "recovers by "
                     f"{doc.inp(('parties', side, 'public', 'approval_recovery'), source=False)}"
                     " of the gap per meeting. Do not put on the table what you cannot sell at "
                     "home.")
    return items


# --------------------------------------------------------------------------- API


def _render(resolved: Resolved, side: str, confidential: bool) -> _Doc:
    f = _facts(resolved, side)
    doc = _Doc(f, _figures(f, confidential))
    (_confidential if confidential else _public)(doc)
    return doc


def brief(resolved: Resolved, side: str, *, confidential: bool = False) -> str:
    """The public (default) or confidential brief for ``side`` (a party id), as Markdown.

    Raises ValueError naming the valid sides if ``side`` is not a party of the scenario."""
    return _render(resolved, side, confidential).markdown()


def brief_html(resolved: Resolved, side: str, *, confidential: bool = False) -> str:
    """The same brief as one standalone HTML page (inline style, no external resources)."""
    doc = _render(resolved, side, confidential)
    kind = "confidential" if confidential else "public"
    party = resolved.scenario.parties[side].name
    return doc.html(f"{party}: {kind} brief ({resolved.scenario.name})")


def brief_figures(resolved: Resolved, side: str, *,
                  confidential: bool = False) -> dict[str, float]:
    """Every figure the brief computes (not read from the scenario), by name: the public ones,
    plus the confidential ones if ``confidential``. Nominal values and ranges of uncertain
    inputs are named ``nominal:``/``low:``/``high:`` plus the input's path, and numbers the
    file leaves to the schema's defaults ``default:`` plus their path."""
    return _figures(_facts(resolved, side), confidential)


def _figures(f: _Facts, confidential: bool) -> dict[str, float]:
    out = dict(f.public)
    if confidential:
        out.update(f.confidential)
    return out


def brief_numbers(resolved: Resolved, side: str, *, confidential: bool = False) -> list[Shown]:
    """Every number the brief shows, in order: name, value, text and source (None if computed)."""
    return _render(resolved, side, confidential).shown
