"""Uncertain parameters: any number in a scenario may be written as a distribution.

    approval: {dist: truncnormal, mean: 0.66, sd: 0.03, low: 0.5, high: 0.8, source: levada}

Supported: ``normal`` (mean, sd), ``truncnormal`` (mean, sd, low, high), ``beta`` (a, b, and
optionally low/high to rescale from [0, 1]), ``uniform`` (low, high), ``triangular``
(low, mode, high). ``low``/``high`` bound any of them.

The nominal scenario (``negsim analyze``, the schema's view) uses each distribution's central
value. A run draws every uncertain parameter from a stream derived from its own seed (not the
model's stream, so that adding an uncertain parameter does not reshuffle the citizens), and its
result lists the values drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

DistName = Literal["normal", "truncnormal", "beta", "uniform", "triangular"]
_PARAM_STREAM = 0x5EED  # spawn key of the parameter stream, distinct from the model's


class Distribution(BaseModel):
    """A distribution for one number, with its source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dist: DistName
    mean: float | None = None
    sd: float | None = None
    low: float | None = None
    high: float | None = None
    a: float | None = None
    b: float | None = None
    mode: float | None = None
    source: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _parameters(self) -> Distribution:
        need = {"normal": ("mean", "sd"), "truncnormal": ("mean", "sd", "low", "high"),
                "beta": ("a", "b"), "uniform": ("low", "high"),
                "triangular": ("low", "mode", "high")}[self.dist]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.dist} distribution needs {', '.join(missing)}")
        if self.sd is not None and self.sd < 0:
            raise ValueError("sd must not be negative")
        if (self.a is not None and self.a <= 0) or (self.b is not None and self.b <= 0):
            raise ValueError("beta parameters a and b must be positive")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not exceed high")
        if self.dist == "triangular" and not self.low <= self.mode <= self.high:
            raise ValueError("mode must lie between low and high")
        return self

    @property
    def central(self) -> float:
        """The value the nominal scenario uses."""
        if self.dist in ("normal", "truncnormal"):
            value = self.mean
        elif self.dist == "beta":
            value = self._scale(self.a / (self.a + self.b))
        elif self.dist == "uniform":
            value = (self.low + self.high) / 2
        else:
            value = self.mode
        return self._clip(value)

    def draw(self, rng: np.random.Generator) -> float:
        if self.dist == "normal":
            return self._clip(rng.normal(self.mean, self.sd))
        if self.dist == "truncnormal":
            if self.sd == 0:
                return self._clip(self.mean)
            for _ in range(1000):  # rejection sampling; fine unless the bounds are far out
                x = rng.normal(self.mean, self.sd)
                if self.low <= x <= self.high:
                    return float(x)
            return self._clip(self.mean)
        if self.dist == "beta":
            return self._scale(rng.beta(self.a, self.b))
        if self.dist == "uniform":
            return float(rng.uniform(self.low, self.high))
        return float(rng.triangular(self.low, self.mode, self.high))

    def bounds(self) -> tuple[float, float]:
        """A finite range for sweeps and sensitivity analysis (mean +- 3 sd if unbounded)."""
        if self.low is not None and self.high is not None:
            return self.low, self.high
        if self.dist == "beta":
            return 0.0, 1.0
        lo = self.low if self.low is not None else self.mean - 3 * self.sd
        hi = self.high if self.high is not None else self.mean + 3 * self.sd
        return lo, hi

    def _scale(self, x: float) -> float:
        lo = 0.0 if self.low is None else self.low
        hi = 1.0 if self.high is None else self.high
        return float(lo + (hi - lo) * x)

    def _clip(self, x: float) -> float:
        lo = -np.inf if self.low is None else self.low
        hi = np.inf if self.high is None else self.high
        return float(min(hi, max(lo, x)))


def is_distribution(node: Any) -> bool:
    return isinstance(node, dict) and "dist" in node


@dataclass(frozen=True)
class Uncertain:
    path: tuple
    distribution: Distribution

    @property
    def name(self) -> str:
        return ".".join(map(str, self.path))


def uncertain_parameters(data: dict) -> list[Uncertain]:
    """Every distribution in scenario data, in file order."""
    out: list[Uncertain] = []

    def walk(node, path):
        if is_distribution(node):
            out.append(Uncertain(path, Distribution.model_validate(node)))
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(data, ())
    return out


def parameter_rng(seed: int) -> np.random.Generator:
    """The stream a run's parameter draws come from, derived from the run's seed."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_PARAM_STREAM,)))


def draw_values(params: list[Uncertain], seed: int) -> dict[str, float]:
    rng = parameter_rng(seed)
    return {p.name: p.distribution.draw(rng) for p in params}


def with_values(data: dict, params: list[Uncertain], values: dict[str, float]) -> dict:
    """The data with the named parameters replaced by plain numbers (sources kept).

    Only the containers on the way to each parameter are copied; the rest is shared with
    ``data``, which is never modified (a deep copy per run would cost more than the run).
    """
    out = dict(data)
    for p in params:
        if p.name not in values:
            continue
        node = out
        for part in p.path[:-1]:
            child = node[part]
            child = dict(child) if isinstance(child, dict) else list(child)
            node[part] = child
            node = child
        source = node[p.path[-1]].get("source")
        node[p.path[-1]] = {"value": values[p.name], "source": source} if source else values[p.name]
    return out
