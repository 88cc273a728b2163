"""A leader: Putnam's level-I negotiator, bound by what their public would ratify."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.compiled import CompiledParty, leader_feasible
from sim.strategies import make_strategy

if TYPE_CHECKING:
    from sim.play import Player

_TIE = 1e-9  # among equally attractive offers, prefer the one better for oneself


class Leader(mesa.Agent):
    """Bargains by alternating offers (Rubinstein 1982 protocol, finite deadline).

    Proposing: among deals it may sign (hard constraints, bans, its public's win-set, its
    approval floor) and worth at least its current aspiration, it offers the one its model of
    the other side values most, preferring deals the other public would ratify (their polls are
    public). Responding: it accepts a deal it may sign that is worth at least what it would ask
    for at the next meeting, and never less than its reservation utility. A deal it wants but
    its public blocks, it defends at home (see ``NegotiationModel.step``).

    Its opponent model is the other leader's true utility plus a fixed Gaussian error per deal
    (drawn once from the model's generator; standard deviation ``opponent_noise``).
    """

    def __init__(self, model, party_id: str, compiled: CompiledParty):
        super().__init__(model)
        self.party = party_id
        self._c = compiled
        self.spec = compiled.party.leader
        self.name = self.spec.name
        self.strategy = make_strategy(self.spec.strategy)
        self.approval = self.initial_approval = self.spec.approval
        self.bans = np.ones(model.space.size, dtype=bool)
        self.utility: np.ndarray = np.empty(0)
        self.reservation = 0.0
        self.aspiration = 1.0
        self._error = self.spec.opponent_noise * model.rng.standard_normal(model.space.size)
        self.opponent_estimate: np.ndarray = np.empty(0)
        self._feasible: np.ndarray | None = None
        self.player: Player | None = None
        """Set when a person plays this leader (see :mod:`sim.play`): their decisions replace
        the strategy's."""

    # -------------------------------------------------------------- what it may sign
    def revalue(self, utility: np.ndarray, reservation: float, other: np.ndarray) -> None:
        self.utility, self.reservation = utility, reservation
        self.opponent_estimate = other + self._error

    def feasible(self) -> np.ndarray:
        """Deals this leader may sign now (cached until publics or approvals move)."""
        if self._feasible is None:
            public = self.model.publics.get(self.party)
            self._feasible = leader_feasible(
                self._c, self.approval, None if public is None else public.support,
                None if public is None else public.threshold, self.bans)
        return self._feasible

    def forget(self) -> None:
        self._feasible = None

    def aspiration_at(self, t: int) -> float | None:
        """Aspiration at meeting t (0-based), or None if nothing it may sign beats no deal."""
        ok = self.feasible()
        if not ok.any():
            return None
        u_max = float(self.utility[ok].max())
        if u_max < self.reservation:
            return None
        return self.strategy.aspiration(t, self.model.last_meeting, u_max, self.reservation)

    # -------------------------------------------------------------- bargaining
    def propose(self, t: int) -> int | None:
        if self.player is not None:
            return self.player.offer
        level = self.aspiration_at(t)
        if level is None:
            return None
        self.aspiration = level
        pool = self.feasible() & (self.utility >= level - 1e-12)
        ratifiable = pool & self.model.other_winset(self.party)
        if ratifiable.any():
            pool = ratifiable
        score = np.where(pool, self.opponent_estimate + _TIE * self.utility, -np.inf)
        return int(score.argmax())

    def wants(self, k: int, t: int) -> bool:
        """Worth signing by its own lights: at least its reservation utility and what it would
        ask for at the next meeting, within its hard constraints and bans (publics aside)."""
        if self.player is not None:
            return False  # a person's reasons are their own; they do not campaign for us
        if not (self._c.requires[k] and self.bans[k]) or self.utility[k] < self.reservation:
            return False
        level = self.aspiration_at(min(t + 1, self.model.last_meeting))
        return level is None or self.utility[k] >= level - 1e-12

    def accepts(self, k: int, t: int) -> bool:
        """Signs: it wants the deal and may sign it (its public would ratify, approval holds)."""
        if self.player is not None:
            return self.player.accept
        return bool(self.feasible()[k]) and self.wants(k, t)

    def why(self, k: int, t: int) -> str:
        """One line: why this leader accepts or rejects deal k at meeting t."""
        name = self.name
        u, r = float(self.utility[k]), self.reservation
        public = self.model.publics.get(self.party)
        if not (self._c.requires[k] and self.bans[k]):
            return f"{name} may not sign this deal (a hard constraint or a legal ban)."
        if u < r:
            return f"Worth {u:.2f} to {name}, less than no deal ({r:.2f})."
        if public is not None:
            s = float(public.support[k])
            if s < public.threshold:
                return (f"Only {s:.0%} of {public.spec.name} would ratify it "
                        f"({public.threshold:.0%} needed).")
            if self.approval - public.spec.approval_cost * (1 - s) < self.spec.approval_floor:
                return (f"Signing it would push {name}'s approval below "
                        f"{self.spec.approval_floor:.0%}.")
        level = self.aspiration_at(min(t + 1, self.model.last_meeting))
        if level is not None and u < level - 1e-12:
            return f"Worth {u:.2f} to {name}, who still asks for at least {level:.2f}."
        support = ("" if public is None else
                   f", and {float(public.support[k]):.0%} of {public.spec.name} would ratify it")
        return f"Worth {u:.2f} to {name} (no deal: {r:.2f}){support}."

    # -------------------------------------------------------------- between meetings
    def step(self) -> None:
        """Approval: defending a deal in public costs in proportion to domestic opposition to
        it; then approval drifts back toward its starting level."""
        public = self.model.publics.get(self.party)
        k = self.model.defends.get(self.party)
        if public is not None and k is not None:
            self.approval -= public.spec.approval_cost * (1.0 - public.support[k])
        if public is not None:
            rate = public.spec.approval_recovery
            self.approval += rate * (self.initial_approval - self.approval)
        self.approval = min(1.0, max(0.0, self.approval))
        self.forget()
