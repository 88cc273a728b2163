"""Concession strategies: how a leader's aspiration falls from its best deal toward its
reservation utility as the deadline nears.

Convention (GENIUS-style, as in the brief): the exponent e enters as t^(1/e), so e < 1 is
Boulware (holds out, concedes late), e = 1 linear, e > 1 conceder. NegMAS writes the same family
as 1 - t^e, i.e. with the reciprocal exponent: its e = 4 Boulware is our e = 0.25.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario import Fixed, TimeDependent


@dataclass(frozen=True)
class TimeDependentConcession:
    """Faratin, Sierra & Jennings (1998), "Negotiation decision functions for autonomous
    agents", Robotics and Autonomous Systems 24: the polynomial time-dependent tactic

        a(t) = u_max - (u_max - r) * (t / T)^(1/e),

    with t the meeting (0-based) and T the last meeting, so a(0) = u_max and a(T) = r.
    """

    exponent: float

    def aspiration(self, t: int, last: int, u_max: float, r: float) -> float:
        frac = 1.0 if last <= 0 else min(1.0, t / last)
        return u_max - (u_max - r) * frac ** (1.0 / self.exponent)


@dataclass(frozen=True)
class FixedDemand:
    """A hardliner who never concedes (Faratin et al.'s degenerate tactic with kappa fixed):
    the aspiration stays at r + level * (u_max - r)."""

    level: float

    def aspiration(self, t: int, last: int, u_max: float, r: float) -> float:
        return r + self.level * (u_max - r)


def make_strategy(spec: TimeDependent | Fixed):
    if isinstance(spec, TimeDependent):
        return TimeDependentConcession(spec.exponent)
    return FixedDemand(spec.level)
