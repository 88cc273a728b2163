"""Calibrating citizens' tolerance to the polls.

A citizen supports a deal whose effective concession x = concession - compensation is at most
the citizen's tolerance t. Support for x is therefore the survival function S(x) = P(t >= x) of
the tolerance distribution. We take S piecewise linear through:

- (0, 1): nobody rejects a deal that gives nothing up (S = 1 for x <= 0);
- (x_p, target_p) for every poll p, where x_p is the poll's reference deal's effective concession
  and target_p = support / (support + oppose) (undecided respondents split like the decided);
- (x_top, 0), where x_top is the largest effective concession in the outcome space, or, if a poll
  sits there already, that poll's x plus ``TAIL``: the share still supporting the largest
  concession a poll asked about is spread a little beyond it.

Citizens draw their tolerance from this distribution by inverse-transform sampling, so at round 0
the simulated polls reproduce the real ones up to sampling error (about 0.5 points for 10,000).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TAIL = 0.1


class CalibrationError(ValueError):
    """The polls cannot be reproduced by any tolerance distribution (they are not monotone)."""

    party: str | None = None


@dataclass(frozen=True)
class ToleranceDistribution:
    """Piecewise-linear survival function S through ``xs`` (increasing) and ``ss`` (decreasing)."""

    xs: np.ndarray
    ss: np.ndarray

    @classmethod
    def from_polls(cls, points: list[tuple[float, float, str]], x_top: float):
        """``points``: (effective concession, target support, label) for every poll."""
        pts = sorted(points)
        for (xa, sa, la), (xb, sb, lb) in zip(pts, pts[1:], strict=False):
            if np.isclose(xa, xb):
                raise CalibrationError(
                    f"polls {la!r} and {lb!r} ask about deals with the same concession index "
                    f"({xa:.3f}); give them different deals or drop one")
            if sb > sa + 1e-12:
                raise CalibrationError(
                    f"poll {lb!r} gives up more than {la!r} (concession {xb:.3f} > {xa:.3f}) yet "
                    f"has more support ({sb:.3f} > {sa:.3f}); check the concession weights")
        if pts and pts[0][0] <= 0:
            raise CalibrationError(
                f"poll {pts[0][2]!r} asks about a deal that gives nothing up (concession "
                f"{pts[0][0]:.3f}); support for it is 1 by definition")
        top = max(x_top, pts[-1][0] + TAIL) if pts[-1][0] >= x_top - 1e-12 else x_top
        xs = np.array([0.0, *(p[0] for p in pts), top])
        ss = np.array([1.0, *(p[1] for p in pts), 0.0])
        return cls(xs, ss)

    def support(self, x: np.ndarray | float) -> np.ndarray:
        """Exact share of citizens with tolerance >= x."""
        return np.interp(x, self.xs, self.ss, left=1.0, right=0.0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Tolerances by inverse-transform sampling: t = S^-1(u), u uniform on (0, 1)."""
        u = rng.random(n)
        return np.interp(u, self.ss[::-1], self.xs[::-1])
