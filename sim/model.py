"""The negotiation as a Mesa model: a two-level game (Putnam 1988), one step per meeting.

Each meeting:
1. scheduled events apply (approval shocks, sanctions, a constitutional ban ...);
2. the proposer (alternating; the scenario says who opens) makes an offer;
3. the responder accepts or rejects it;
4. on acceptance both publics vote on ratification and the run ends;
5. otherwise each leader defends at home what it stands behind (its own offer, or the other's
   offer if only its public stood in the way): approvals pay for unpopular concessions and
   approving citizens follow their leader; the next meeting begins.
After the last meeting without a deal, the status quo holds.
"""

from __future__ import annotations

from operator import attrgetter

import mesa
import numpy as np
from mesa.datacollection import DataCollector

from agents import ExternalActor, Leader, Public
from sim.compiled import Compiled, compile_scenario
from sim.scenario import (
    ApprovalShock,
    Ban,
    OpinionShift,
    Scenario,
    SetIntensity,
    SetThreshold,
)


def _reporters(*names: str) -> dict[str, attrgetter]:
    return {name: attrgetter(name) for name in names}


RATIFIED = "ratified"
NOT_RATIFIED = "signed_not_ratified"
NO_AGREEMENT = "no_agreement"


class NegotiationModel(mesa.Model):
    """Two leaders, their publics and outside pressures, negotiating until a deal or a deadline.

    ``publics=False`` removes level II (no win-sets, ratification always succeeds): a bare
    bilateral negotiation, used by benchmarks and theory checks.
    """

    def __init__(self, scenario: Scenario | Compiled, seed: int | None = None, *,
                 publics: bool = True):
        super().__init__(rng=seed)
        self.seed = seed
        self.with_publics = publics
        self.compiled = scenario if isinstance(scenario, Compiled) else compile_scenario(scenario)
        # Not `self.scenario`: Mesa 3.5 reserves that name for its own Scenario objects.
        self.spec = self.compiled.scenario
        self.space = self.compiled.space
        protocol = self.spec.protocol
        self.last_meeting = protocol.rounds - 1
        self.ratification_noise = protocol.ratification_noise
        self.meeting = 0
        self.proposer = protocol.opens
        self.last_offer: int | None = None
        self.defends: dict[str, int | None] = {}
        self.trace: list[dict] = []
        self.status: str | None = None
        self.deal: int | None = None
        self.signed_at: int | None = None
        self.ratified: dict[str, bool] | None = None
        self.votes: dict[str, float] = {}
        self.walked_away: str | None = None
        self._events = sorted(self.spec.events, key=lambda e: e.round)
        self._opened: int | None = None
        self._labels: list[str] = []

        self.externals = {fid: ExternalActor(self, fid, f.name, f.intensity)
                          for fid, f in self.spec.external.items()}
        self.leaders: dict[str, Leader] = {}
        self.publics: dict[str, Public] = {}
        for pid, cp in self.compiled.parties.items():
            self.leaders[pid] = Leader(self, pid, cp)
            if publics and cp.party.public is not None:
                self.publics[pid] = Public(self, pid, cp, cp.party.public.citizens)
        self.revalue()

        # Agent reporters are attrgetters, not lambdas or attribute names: Mesa wraps agent
        # attribute names in local closures, and either would make the model unpicklable
        # (process pools, Dask). Model attribute names are looked up directly and are fine.
        self.datacollector = DataCollector(
            model_reporters={"meeting": "meeting", "zopa_size": "zopa_size",
                             "offer": "last_offer"},
            agenttype_reporters={
                Leader: _reporters("party", "approval", "aspiration"),
                Public: _reporters("party", "support_for_offer", "winset_size", "mean_tolerance",
                                   "expects_breakthrough"),
                ExternalActor: _reporters("factor", "intensity"),
            },
        )

    # ------------------------------------------------------------------ the story
    def open_meeting(self) -> list[str]:
        """Apply this meeting's scheduled events (once); what happens at the table sees them."""
        if self._opened != self.meeting:
            self._opened = self.meeting
            self._labels = self.apply_events(self.meeting + 1)
        return self._labels

    def step(self) -> None:
        t = self.meeting
        labels = self.open_meeting()
        proposer = self.leaders[self.proposer]
        responder = self.leaders[self.spec.other(self.proposer)]
        offer = proposer.propose(t)
        self.last_offer = offer if offer is not None else self.last_offer
        accepted = offer is not None and responder.accepts(offer, t)
        # What each leader stands behind at home until the next meeting: the proposer its offer;
        # the responder the offer too if only its public stood in the way (Putnam: a leader
        # who wants a deal tries to sell it at home).
        sells = offer is not None and not accepted and responder.wants(offer, t)
        self.defends = {proposer.party: offer, responder.party: offer if sells else None}
        self.record(t, offer, accepted, labels)
        if accepted:
            self.sign(offer, t)
        else:
            self.agents_by_type[Leader].do("step")
            if Public in self.agents_by_type:
                self.agents_by_type[Public].do("step")
            self.forget()
            if t >= self.last_meeting:
                self.status = NO_AGREEMENT
                self.running = False
        self.datacollector.collect(self)
        self.meeting = t + 1
        self.proposer = responder.party

    def sign(self, k: int, t: int) -> None:
        self.deal, self.signed_at = k, t + 1
        self.ratified = {}
        for pid in self.leaders:
            public = self.publics.get(pid)
            if public is None:
                self.ratified[pid] = True
                continue
            self.ratified[pid], self.votes[pid] = public.ratifies(k, self.ratification_noise)
        self.status = RATIFIED if all(self.ratified.values()) else NOT_RATIFIED
        self.running = False

    def walk_away(self, party: str) -> None:
        """A side leaves the table (a person playing it, see :mod:`sim.play`)."""
        self.walked_away = party
        self.status = NO_AGREEMENT
        self.running = False

    # ------------------------------------------------------------------ events
    def apply_events(self, meeting: int) -> list[str]:
        labels = []
        while self._events and self._events[0].round == meeting:
            ev = self._events.pop(0)
            labels.append(ev.label)
            eff = ev.effect
            if isinstance(eff, ApprovalShock):
                leader = self.leaders[eff.party]
                leader.approval = min(1.0, max(0.0, leader.approval + eff.delta))
            elif isinstance(eff, OpinionShift) and eff.party in self.publics:
                self.publics[eff.party].shift(eff.delta)
            elif isinstance(eff, SetIntensity):
                self.externals[eff.factor].intensity = eff.intensity
                self.revalue()
            elif isinstance(eff, Ban):
                self.leaders[eff.party].bans &= ~self.space.touching(eff.options)
            elif isinstance(eff, SetThreshold) and eff.party in self.publics:
                self.publics[eff.party].threshold = eff.threshold
        if labels:
            self.forget()
        return labels

    def revalue(self) -> None:
        """Recompute leaders' utilities under the current external pressures."""
        intensities = {fid: a.intensity for fid, a in self.externals.items()}
        utilities = self.compiled.utilities(intensities)
        for pid, leader in self.leaders.items():
            other = self.spec.other(pid)
            leader.revalue(*utilities[pid], utilities[other][0])

    def forget(self) -> None:
        for leader in self.leaders.values():
            leader.forget()

    # ------------------------------------------------------------------ what everyone sees
    def other_winset(self, party: str) -> np.ndarray:
        public = self.publics.get(self.spec.other(party))
        return np.ones(self.space.size, dtype=bool) if public is None else public.winset

    @property
    def zopa(self) -> np.ndarray:
        """Deals both leaders may sign now and both prefer to no deal."""
        mask = np.ones(self.space.size, dtype=bool)
        for leader in self.leaders.values():
            mask &= leader.feasible() & (leader.utility >= leader.reservation)
        return mask

    @property
    def zopa_size(self) -> int:
        return int(self.zopa.sum())

    def support_of(self, k: int | None) -> dict[str, float]:
        if k is None:
            return {}
        return {pid: round(float(p.support[k]), 6) for pid, p in self.publics.items()}

    def record(self, t: int, offer: int | None, accepted: bool, labels: list[str]) -> None:
        entry = {
            "round": t + 1,
            "proposer": self.proposer,
            "offer": None if offer is None else self.space.decode(offer),
            "utility": {} if offer is None else
            {pid: round(float(lead.utility[offer]), 6) for pid, lead in self.leaders.items()},
            "support": self.support_of(offer),
            "approval": {pid: round(lead.approval, 6) for pid, lead in self.leaders.items()},
            "response": "no_offer" if offer is None else ("accept" if accepted else "reject"),
        }
        if labels:
            entry["events"] = labels
        self.trace.append(entry)
