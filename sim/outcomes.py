"""The outcome space: every combination of the agenda's options, enumerated once as numpy arrays.

With a few thousand outcomes, enumerating beats searching: offers, win-sets and the bargaining
solutions of :mod:`sim.analysis` are exact vectorised operations over all outcomes at once.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.scenario import Agenda, IndexTerm, IssueValues, OutcomeClass

NO_CLASS = "other"
STATUS_QUO_CLASS = "status quo"


class OutcomeSpace:
    """All deals of an agenda. Outcome ``k`` chooses option ``index[k, i]`` on issue ``i``."""

    def __init__(self, agenda: Agenda):
        self.issues: list[str] = list(agenda.issues)
        self.options: list[list[str]] = [agenda.issues[i].options for i in self.issues]
        self._numeric = [_all_numeric(opts) for opts in self.options]
        sizes = [len(o) for o in self.options]
        grids = np.indices(sizes).reshape(len(sizes), -1).T
        self.index: np.ndarray = np.ascontiguousarray(grids, dtype=np.int16)
        self.size = int(self.index.shape[0])
        self._strides = np.cumprod([1, *sizes[:0:-1]])[::-1]
        self.status_quo = {i: agenda.status_quo[i] for i in self.issues}

    def __len__(self) -> int:
        return self.size

    # -------------------------------------------------------------- deals <-> indices
    def encode(self, deal: Mapping[str, object]) -> int:
        """The index of a complete deal given as {issue: option}."""
        k = 0
        for pos, issue in enumerate(self.issues):
            opt = _text(deal[issue])
            k += self.options[pos].index(opt) * int(self._strides[pos])
        return k

    def decode(self, k: int) -> dict[str, object]:
        """{issue: option} for outcome k; numeric options come back as numbers."""
        return {
            issue: self._natural(pos, self.options[pos][int(self.index[k, pos])])
            for pos, issue in enumerate(self.issues)
        }

    def _natural(self, pos: int, opt: str) -> object:
        if not self._numeric[pos]:
            return opt
        value = float(opt)
        return int(value) if value.is_integer() else value

    # -------------------------------------------------------------- vectorised maps
    def linear(self, terms: Mapping[str, IssueValues | IndexTerm],
               weight_scale: Mapping[str, float] | None = None) -> np.ndarray:
        """sum_i w_i * v_i(o_i) for every outcome (issues missing from ``terms`` count 0)."""
        total = np.zeros(self.size)
        for pos, issue in enumerate(self.issues):
            term = terms.get(issue)
            if term is None:
                continue
            w = term.weight * (weight_scale or {}).get(issue, 1.0)
            values = np.array([term.values[o] for o in self.options[pos]], dtype=float)
            total += w * values[self.index[:, pos]]
        return total

    def linear_at(self, terms: Mapping[str, IssueValues | IndexTerm], deal: Mapping[str, object],
                  weight_scale: Mapping[str, float] | None = None) -> float:
        """The same linear map at one deal (used for the status quo, which is not a deal)."""
        return float(sum(
            term.weight * (weight_scale or {}).get(issue, 1.0) * term.values[_text(deal[issue])]
            for issue, term in terms.items()
        ))

    def allowed(self, constraints: Mapping[str, list[str]]) -> np.ndarray:
        """Boolean mask of outcomes whose options are in the allowed lists."""
        mask = np.ones(self.size, dtype=bool)
        for issue, opts in constraints.items():
            pos = self.issues.index(issue)
            ok = np.isin(np.arange(len(self.options[pos])),
                         [self.options[pos].index(_text(o)) for o in opts])
            mask &= ok[self.index[:, pos]]
        return mask

    def touching(self, options: Mapping[str, list[str]]) -> np.ndarray:
        """Outcomes that pick any of the listed options on any listed issue (what a ban bars)."""
        hit = np.zeros(self.size, dtype=bool)
        for issue, opts in options.items():
            hit |= self.allowed({issue: opts})
        return hit

    def classify_all(self, classes: list[OutcomeClass]) -> tuple[list[str], np.ndarray]:
        """Class names and, for every outcome, the index of its first matching class."""
        names = [c.name for c in classes] + [NO_CLASS]
        out = np.full(self.size, len(classes), dtype=np.int16)
        unassigned = np.ones(self.size, dtype=bool)
        for ci, cls in enumerate(classes):
            hit = unassigned & self.allowed(cls.when)
            out[hit] = ci
            unassigned &= ~hit
        return names, out


def _all_numeric(options: list[str]) -> bool:
    try:
        [float(o) for o in options]
    except ValueError:
        return False
    return True


def _text(option: object) -> str:
    if isinstance(option, bool):
        return "yes" if option else "no"
    if isinstance(option, int | float):
        return str(int(option)) if float(option).is_integer() else repr(float(option))
    return str(option)
