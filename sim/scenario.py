"""The scenario schema: the single description of a negotiation that every part of negsim reads.

A scenario file (YAML, see ``scenarios/``) is validated by :class:`Scenario`. The schema is the
documentation: ``negsim schema`` prints it as JSON Schema.

Provenance. Every number in a scenario carries a source: either written as
``{value: 0.46, source: sankei_fnn_2019_01}`` or inherited from the nearest enclosing mapping that
has a ``source:`` key. A source is an id declared under ``sources:`` or the label ``assumption``.
:mod:`sim.provenance` checks this.

YAML 1.1 reads bare ``yes``/``no`` as booleans; option names are always strings, so
booleans are turned back into ``"yes"``/``"no"`` wherever an option is expected.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

ASSUMPTION = "assumption"

# --------------------------------------------------------------------------- value types


def _unwrap_sourced(value: Any) -> Any:
    """Accept ``{value: x, source: s, note: ...}`` or a distribution (``{dist: ...}``, see
    :mod:`sim.uncertainty`) wherever a number is expected; refuse YAML's yes/no booleans,
    which pydantic would otherwise read as 1 and 0."""
    if isinstance(value, dict) and "dist" in value:
        from sim.uncertainty import Distribution  # a distribution stands at its central value

        return Distribution.model_validate(value).central
    if isinstance(value, dict) and "value" in value:
        extra = set(value) - {"value", "source", "note"}
        if extra:
            raise ValueError(f"unexpected keys {sorted(extra)} in a sourced number")
        value = value["value"]
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got the yes/no value {value!r}")
    return value


def _number_schema(**bounds) -> dict:
    number = {"type": "number", **bounds}
    return {
        "description": "A number; or {value, source, note}; or a distribution "
                       "{dist: normal|truncnormal|beta|uniform|triangular, ..., source}.",
        "anyOf": [
            number,
            {"type": "object", "required": ["value"], "additionalProperties": False,
             "properties": {"value": number, "source": {"type": "string"},
                            "note": {"type": "string"}}},
            {"type": "object", "required": ["dist"], "additionalProperties": False,
             "properties": {
                 "dist": {"enum": ["normal", "truncnormal", "beta", "uniform", "triangular"]},
                 **{k: {"type": "number"} for k in ("mean", "sd", "low", "high", "a", "b",
                                                    "mode")},
                 "source": {"type": "string"}, "note": {"type": "string"}}},
        ],
    }


_unwrap = BeforeValidator(_unwrap_sourced)

Num = Annotated[float, _unwrap, WithJsonSchema(_number_schema())]
"""A number, optionally with its source (``{value: 0.46, source: levada_2018_11}``) or as a
distribution (see :mod:`sim.uncertainty`)."""

Share = Annotated[float, _unwrap, Field(ge=0.0, le=1.0),
                  WithJsonSchema(_number_schema(minimum=0, maximum=1))]
"""A share in [0, 1] (approval, support, a threshold), written like :data:`Num`."""

Count = Annotated[int, _unwrap, Field(gt=0), WithJsonSchema(_number_schema(exclusiveMinimum=0))]


def _option_name(value: Any) -> Any:
    """Option names are strings; YAML's ``yes``/``no`` booleans and numbers become their text."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return _number_text(value)
    return value


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


OptionName = Annotated[str, BeforeValidator(_option_name)]
OptionSet = Annotated[
    list[OptionName], BeforeValidator(lambda v: v if isinstance(v, list) else [v])
]
"""One option or a list of options of an issue."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


SourceId = Annotated[str, Field(min_length=1, description="A key of `sources`, or `assumption`.")]

# --------------------------------------------------------------------------- sources


class Source(Strict):
    """A public source that numbers in the scenario cite by its id."""

    title: str
    publisher: str | None = None
    date: str | None = Field(None, description="Publication or fieldwork date, ISO-like text.")
    url: str | None = None
    note: str | None = None


# --------------------------------------------------------------------------- agenda


class Territory(Strict):
    """A piece of land on the agenda (used for area weights and the map)."""

    name: str
    names: dict[str, str] = Field(default_factory=dict, description="Other names, by language.")
    area_km2: Num | None = None
    source: SourceId | None = None


class Issue(Strict):
    """One issue of the agenda with its ordered options.

    Options are ordered from one pole to the other; numeric options (money, say) also give the
    position used by the weighted-compromise prediction, otherwise the option's index is used.
    """

    label: str
    options: list[OptionName] = Field(min_length=2)
    unit: str | None = None
    territory: str | None = Field(None, description="Key of `territories` this issue decides.")
    description: str | None = None
    source: SourceId | None = None

    @model_validator(mode="after")
    def _unique_options(self) -> Issue:
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"options must be distinct, got {self.options}")
        return self

    def positions(self) -> list[float]:
        try:
            return [float(o) for o in self.options]
        except ValueError:
            return [float(i) for i in range(len(self.options))]


class Agenda(Strict):
    issues: dict[str, Issue] = Field(min_length=1)
    status_quo: dict[str, OptionName] = Field(
        description="The no-deal outcome, one option per issue (no treaty is signed)."
    )
    source: SourceId | None = None


# --------------------------------------------------------------------------- leaders


class IssueValues(Strict):
    """A weight (salience) and a value for each option of one issue."""

    weight: Num = Field(ge=0)
    values: dict[OptionName, Num]
    source: SourceId | None = None


class LinearUtility(Strict):
    """Linear-additive utility: sum of weight x option value, plus a treaty premium for any deal.

    The raw value of a deal o is  sum_i w_i * v_i(o_i) + premium, and of the status quo
    sum_i w_i * v_i(sq_i) (no treaty, no premium). Both are rescaled to [0, 1] over the outcome
    space and the status quo together (see :mod:`sim.utility`).
    """

    issues: dict[str, IssueValues]
    treaty_premium: Num = Field(0.0, ge=0)
    source: SourceId | None = None


class TimeDependent(Strict):
    """Faratin, Sierra & Jennings (1998) time-dependent concession.

    Aspiration a(t) = u_max - (u_max - r) * (t / T)^(1/e): e < 1 Boulware (concedes late),
    e = 1 linear, e > 1 conceder.
    """

    kind: Literal["time_dependent"] = "time_dependent"
    exponent: Num = Field(gt=0)
    source: SourceId | None = None


class Fixed(Strict):
    """A hardliner: the aspiration stays at ``level`` (share of the way from r to u_max)."""

    kind: Literal["fixed"] = "fixed"
    level: Share = 1.0
    source: SourceId | None = None


Strategy = Annotated[TimeDependent | Fixed, Field(discriminator="kind")]


class Leader(Strict):
    name: str
    utility: LinearUtility
    strategy: Strategy
    approval: Share = Field(description="Approval rating at the start (share of the public).")
    approval_floor: Share = Field(
        0.0, description="Will not sign a deal expected to push approval below this."
    )
    opponent_noise: Num = Field(
        0.05, ge=0, description="Std. dev. of the error in the leader's model of the other side."
    )
    requires: dict[str, OptionSet] = Field(
        default_factory=dict,
        description="Hard constraints: the only options this leader will sign, by issue.",
    )
    source: SourceId | None = None


# --------------------------------------------------------------------------- publics


IndexTerm = IssueValues
"""The contribution of one issue to a public's concession or compensation index: the same
shape as a leader's issue values (a weight, and a value per option)."""


class Poll(Strict):
    """A poll used to calibrate citizens' tolerance: the shares for and against a reference deal.

    The calibration target is support / (support + oppose): undecided respondents are split like
    the decided ones.
    """

    label: str
    deal: dict[str, OptionName]
    support: Share
    oppose: Share
    source: SourceId | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _shares(self) -> Poll:
        if self.support + self.oppose > 1.0 + 1e-9:
            raise ValueError("support + oppose must not exceed 1")
        if self.support + self.oppose <= 0:
            raise ValueError("support + oppose must be positive")
        return self

    @property
    def target(self) -> float:
        return self.support / (self.support + self.oppose)


class Index(Strict):
    """A linear index over issues: sum of weight x option value over the listed issues."""

    issues: dict[str, IndexTerm] = Field(default_factory=dict)
    source: SourceId | None = None


class OpinionDynamics(Strict):
    """Parameters of citizens' opinion change between meetings (see ``agents.public``)."""

    confidence_bound: Num = Field(0.1, ge=0, description="Deffuant bounded-confidence epsilon.")
    convergence: Num = Field(0.2, ge=0, le=0.5, description="Deffuant mu: step toward a peer.")
    cue_strength: Num = Field(
        0.1, ge=0, le=1, description="Share of the gap to the leader's offer closed by approvers."
    )
    source: SourceId | None = None


class Public(Strict):
    """A country's citizens, who decide what can be ratified at home (Putnam's level II).

    A citizen supports a deal o when  concession(o) - compensation(o) <= tolerance.
    """

    name: str = "public"
    citizens: Count = 10_000
    concession: Index = Field(
        description="How much of the national claim each option gives up (0 none, 1 all)."
    )
    compensation: Index = Field(
        default_factory=Index, description="What each option gives back (money, guarantees)."
    )
    polls: list[Poll] = Field(min_length=1)
    dynamics: OpinionDynamics = OpinionDynamics()
    approval_cost: Num = Field(
        0.05, ge=0, description="Approval lost per meeting for an offer opposed by everyone."
    )
    approval_recovery: Num = Field(
        0.1, ge=0, le=1,
        description="Share of the gap to the initial approval recovered per meeting.",
    )
    source: SourceId | None = None


class Party(Strict):
    name: str
    capability: Num = Field(
        1.0, gt=0, description="Relative power, for the weighted-compromise prediction only."
    )
    leader: Leader
    public: Public | None = None
    source: SourceId | None = None


# --------------------------------------------------------------------------- outside world


class Effect(Strict):
    """How an external actor's intensity changes one party's leader utility.

    ``target`` is ``treaty_premium`` or ``weight.<issue>``; the parameter is multiplied by
    (1 + per_unit * intensity).
    """

    party: str
    target: str = Field(pattern=r"^(treaty_premium|weight\.[A-Za-z0-9_]+)$")
    per_unit: Num
    source: SourceId | None = None


class ExternalFactor(Strict):
    name: str
    description: str | None = None
    intensity: Num = Field(ge=0, description="Pressure, 0 (none) to 1 (strong) by convention.")
    effects: list[Effect] = Field(default_factory=list)
    source: SourceId | None = None


# --------------------------------------------------------------------------- protocol and events


class Protocol(Strict):
    rounds: Count = Field(description="Meetings before the deadline; one model step each.")
    opens: str = Field(description="Party that makes the first offer.")
    ratification: dict[str, Share] = Field(
        description="Support needed to ratify, by party (parliament and public together)."
    )
    ratification_noise: Num = Field(
        0.03, ge=0, description="Std. dev. of the gap between polls and the ratification vote."
    )
    source: SourceId | None = None


class ApprovalShock(Strict):
    kind: Literal["approval_shock"] = "approval_shock"
    party: str
    delta: Num


class OpinionShift(Strict):
    kind: Literal["opinion_shift"] = "opinion_shift"
    party: str
    delta: Num = Field(description="Added to every citizen's tolerance.")


class SetIntensity(Strict):
    kind: Literal["set_intensity"] = "set_intensity"
    factor: str
    intensity: Num = Field(ge=0)


class Ban(Strict):
    """A legal bar (e.g. a constitutional ban on ceding territory): options a party may not sign."""

    kind: Literal["ban"] = "ban"
    party: str
    options: dict[str, OptionSet]


class SetThreshold(Strict):
    kind: Literal["set_threshold"] = "set_threshold"
    party: str
    threshold: Share


class Note(Strict):
    """A meeting or statement worth showing in the trace, with no effect on the model."""

    kind: Literal["note"] = "note"


EventEffect = Annotated[
    ApprovalShock | OpinionShift | SetIntensity | Ban | SetThreshold | Note,
    Field(discriminator="kind"),
]


class Event(Strict):
    round: int = Field(
        ge=1, description="Meeting (1 = the first) at whose start it applies; events after the "
        "deadline never happen.")
    label: str
    effect: EventEffect
    source: SourceId | None = None


class OutcomeClass(Strict):
    """A named family of deals; the first class whose conditions all hold names a deal."""

    name: str
    when: dict[str, OptionSet]
    description: str | None = None


# --------------------------------------------------------------------------- the scenario


class Scenario(Strict):
    """A negotiation scenario: two parties, their leaders and publics, the agenda and the rules."""

    name: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str
    description: str
    teaching_notes: str
    extends: str | None = Field(None, description="Scenario this one starts from (name or path).")
    sources: dict[str, Source] = Field(default_factory=dict)
    territories: dict[str, Territory] = Field(default_factory=dict)
    agenda: Agenda
    parties: dict[str, Party] = Field(min_length=2, max_length=2)
    external: dict[str, ExternalFactor] = Field(default_factory=dict)
    protocol: Protocol
    events: list[Event] = Field(default_factory=list)
    outcome_classes: list[OutcomeClass] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_references(self, info: ValidationInfo) -> Scenario:
        if info.context and info.context.get("defer_references"):
            return self  # the loader reports them itself, each with its own field path
        problems = list(cross_reference_problems(self.model_dump(mode="json")))
        if problems:
            raise ValueError("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))
        return self

    @property
    def party_ids(self) -> tuple[str, str]:
        a, b = self.parties
        return a, b

    def other(self, party: str) -> str:
        a, b = self.party_ids
        return b if party == a else a


def _as_dict(x) -> dict:
    return x if isinstance(x, dict) else {}


def _as_list(x) -> list:
    return x if isinstance(x, list) else []


def cross_reference_problems(data: dict):
    """Yield (path, message) for every name in scenario data that points at nothing.

    Works on the raw data, not on a validated :class:`Scenario`, so that a file with a wrong
    type somewhere still gets all its dangling names reported in the same pass; values of the
    wrong shape are skipped here (pydantic reports them).
    """
    agenda = _as_dict(data.get("agenda"))
    issues = {k: [_option_name(o) for o in _as_list(_as_dict(v).get("options"))]
              for k, v in _as_dict(agenda.get("issues")).items()}
    parties = list(_as_dict(data.get("parties")))
    external = _as_dict(data.get("external"))
    territories = _as_dict(data.get("territories"))

    def options_of(value):
        return [_option_name(o) for o in (value if isinstance(value, list) else [value])]

    def check_issue_options(path, mapping, *, complete=False):
        mapping = _as_dict(mapping)
        for issue, opts in mapping.items():
            if issue not in issues:
                yield (*path, issue), f"unknown issue {issue!r}; expected one of {list(issues)}"
                continue
            for opt in options_of(opts):
                if opt not in issues[issue]:
                    yield (*path, issue), (
                        f"unknown option {opt!r} of {issue!r}; expected one of {issues[issue]}")
        if complete:
            for issue in issues:
                if issue not in mapping:
                    yield (*path, issue), "missing: every issue needs an option here"

    def check_values(path, terms, *, complete):
        terms = _as_dict(terms)
        for issue, term in terms.items():
            if issue not in issues:
                yield (*path, issue), f"unknown issue {issue!r}; expected one of {list(issues)}"
                continue
            values = {_option_name(o) for o in _as_dict(_as_dict(term).get("values"))}
            for opt in sorted(values - set(issues[issue])):
                yield (*path, issue, "values", opt), (
                    f"unknown option {opt!r}; expected one of {issues[issue]}")
            for opt in issues[issue]:
                if opt not in values:
                    yield (*path, issue, "values"), f"missing a value for option {opt!r}"
        if complete:
            for issue in issues:
                if issue not in terms:
                    yield (*path, issue), "missing: the utility needs every issue of the agenda"

    def check_party(path, party):
        if isinstance(party, str) and party not in parties:
            yield path, f"unknown party {party!r}; expected one of {parties}"

    yield from check_issue_options(("agenda", "status_quo"), agenda.get("status_quo"),
                                   complete=True)
    for name, issue in _as_dict(agenda.get("issues")).items():
        terr = _as_dict(issue).get("territory")
        if terr is not None and terr not in territories:
            yield ("agenda", "issues", name, "territory"), (
                f"unknown territory {terr!r}; expected one of {list(territories)}")
    protocol = _as_dict(data.get("protocol"))
    ratification = _as_dict(protocol.get("ratification"))
    for pid, party in _as_dict(data.get("parties")).items():
        base = ("parties", pid)
        leader = _as_dict(_as_dict(party).get("leader"))
        yield from check_values((*base, "leader", "utility", "issues"),
                                _as_dict(leader.get("utility")).get("issues"), complete=True)
        yield from check_issue_options((*base, "leader", "requires"), leader.get("requires"))
        public = _as_dict(party).get("public")
        if isinstance(public, dict):
            pub = (*base, "public")
            for index in ("concession", "compensation"):
                yield from check_values((*pub, index, "issues"),
                                        _as_dict(public.get(index)).get("issues"), complete=False)
            for i, poll in enumerate(_as_list(public.get("polls"))):
                yield from check_issue_options((*pub, "polls", i, "deal"),
                                               _as_dict(poll).get("deal"), complete=True)
            if pid not in ratification:
                yield ("protocol", "ratification"), f"missing a threshold for {pid!r}"
    yield from check_party(("protocol", "opens"), protocol.get("opens"))
    for pid in ratification:
        yield from check_party(("protocol", "ratification", pid), pid)
    for fid, factor in external.items():
        for i, eff in enumerate(_as_list(_as_dict(factor).get("effects"))):
            eff = _as_dict(eff)
            yield from check_party(("external", fid, "effects", i, "party"), eff.get("party"))
            target = eff.get("target")
            if isinstance(target, str) and target.startswith("weight."):
                issue = target.removeprefix("weight.")
                if issue not in issues:
                    yield ("external", fid, "effects", i, "target"), (
                        f"unknown issue {issue!r}; expected one of {list(issues)}")
    for i, ev in enumerate(_as_list(data.get("events"))):
        eff = _as_dict(_as_dict(ev).get("effect"))
        path = ("events", i, "effect")
        if "party" in eff:
            yield from check_party((*path, "party"), eff["party"])
        if eff.get("kind") == "set_intensity" and eff.get("factor") not in external:
            yield (*path, "factor"), (
                f"unknown external factor {eff.get('factor')!r}; expected one of "
                f"{list(external)}")
        if eff.get("kind") == "ban":
            yield from check_issue_options((*path, "options"), eff.get("options"))
    for i, oc in enumerate(_as_list(data.get("outcome_classes"))):
        yield from check_issue_options(("outcome_classes", i, "when"), _as_dict(oc).get("when"))
