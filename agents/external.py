"""External actors: exogenous pressure on the leaders' values (sanctions, China, energy)."""

from __future__ import annotations

import mesa


class ExternalActor(mesa.Agent):
    """An outside pressure with an intensity that scales leaders' utility parameters.

    It does not bargain; scheduled events change its intensity, and the model then recomputes
    the leaders' utilities (see :func:`sim.utility.external_scales`).
    """

    def __init__(self, model, factor_id: str, name: str, intensity: float):
        super().__init__(model)
        self.factor = factor_id
        self.name = name
        self.intensity = intensity

    def step(self) -> None:
        """Pressure is exogenous: between events it stays where it is."""
