"""Play mode: a person takes one leader, the agent plays the other with the scenario's strategy.

The game is the same model as a simulated run (deadline, publics, ratification, events), with
the person's offers and answers in place of one leader's strategy. Every move is recorded, so a
game can be replayed exactly (``replay``): a game played in the dashboard and the same moves fed
to ``negsim play`` give the same :class:`~sim.results.RunResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.model import NegotiationModel
from sim.results import RunResult
from sim.runner import Runner


@dataclass
class Player:
    """A person's decision for the current meeting, read by their Leader agent."""

    offer: int | None = None
    accept: bool = False


@dataclass
class Game:
    runner: Runner
    seed: int
    side: str
    moves: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.side not in self.runner.nominal.parties:
            raise ValueError(f"unknown side {self.side!r}; expected one of "
                             f"{list(self.runner.nominal.parties)}")
        self.model: NegotiationModel
        self.model, self.values = self.runner.model(self.seed)
        self.player = Player()
        self.model.leaders[self.side].player = self.player
        self.other = self.model.spec.other(self.side)
        self.model.open_meeting()

    # -------------------------------------------------------------- where we are
    @property
    def done(self) -> bool:
        return not self.model.running

    @property
    def meeting(self) -> int:
        """The current meeting, counted from 1."""
        return self.model.meeting + 1

    @property
    def proposing(self) -> bool:
        return self.model.proposer == self.side

    @property
    def events(self) -> list[str]:
        return list(self.model._labels)

    def agent_offer(self) -> int | None:
        """What the agent puts on the table this meeting (when it is the agent's turn)."""
        if self.proposing or self.done:
            return None
        return self.model.leaders[self.other].propose(self.model.meeting)

    def agent_note(self) -> str:
        k = self.agent_offer()
        agent = self.model.leaders[self.other]
        if k is None:
            return f"{agent.name} has nothing to offer that beats no deal for {agent.name}."
        public = self.model.publics.get(self.other)
        home = "" if public is None else f" that {public.spec.name} would ratify"
        return (f"Among the deals worth at least {agent.aspiration:.2f} to {agent.name}{home}, "
                "the one expected to suit you best.")

    # -------------------------------------------------------------- before sending
    def encode(self, deal: dict) -> int:
        space = self.model.space
        full = {**space.status_quo, **deal}
        unknown = set(deal) - set(space.issues)
        if unknown:
            raise ValueError(f"unknown issue(s) {sorted(unknown)}; expected {space.issues}")
        try:
            return space.encode(full)
        except ValueError:
            bad = {i: o for i, o in deal.items()
                   if str(o) not in space.options[space.issues.index(i)]}
            raise ValueError(f"unknown option(s) {bad}") from None

    def preview(self, deal: dict) -> dict:
        """How a deal would be received now, before sending it: each public's support and
        whether it would ratify, your utility, and your approval after defending it."""
        k = self.encode(deal)
        me = self.model.leaders[self.side]
        out = {"deal": self.model.space.decode(k),
               "outcome_class": self.model.compiled.outcome_class(k),
               "your_utility": round(float(me.utility[k]), 4),
               "your_reservation": round(me.reservation, 4), "publics": {}}
        for pid, public in self.model.publics.items():
            s = float(public.support[k])
            out["publics"][pid] = {"support": round(s, 4), "threshold": public.threshold,
                                   "would_ratify": s >= public.threshold}
        mine = self.model.publics.get(self.side)
        if mine is not None:
            after = me.approval - mine.spec.approval_cost * (1 - float(mine.support[k]))
            out["your_approval_after"] = round(after, 4)
            out["your_approval_floor"] = me.spec.approval_floor
        return out

    # -------------------------------------------------------------- moves
    def propose(self, deal: dict | None) -> dict:
        """Your offer for this meeting (None: no offer); the agent answers."""
        if self.done or not self.proposing:
            raise RuntimeError("it is not your turn to make an offer")
        k = None if deal is None else self.encode(deal)
        agent = self.model.leaders[self.other]
        t = self.model.meeting
        answer = None if k is None else {"accept": bool(agent.accepts(k, t)),
                                         "why": agent.why(k, t)}
        self.moves.append({"meeting": self.meeting, "offer": None if k is None
                           else self.model.space.decode(k)})
        self.player.offer = k
        self._advance()
        return answer or {"accept": False, "why": "You made no offer."}

    def respond(self, accept: bool) -> dict:
        """Accept or reject the agent's offer at this meeting."""
        if self.done or self.proposing:
            raise RuntimeError("it is not your turn to answer an offer")
        k = self.agent_offer()
        self.moves.append({"meeting": self.meeting, "accept": bool(accept)})
        self.player.accept = bool(accept)
        self._advance()
        return {"offer": None if k is None else self.model.space.decode(k), "accept": accept}

    def walk_away(self) -> None:
        """Leave the table: no agreement, the status quo holds."""
        if not self.done:
            self.moves.append({"meeting": self.meeting, "walk_away": True})
            self.model.walk_away(self.side)

    def _advance(self) -> None:
        self.model.step()
        if self.model.running:
            self.model.open_meeting()

    def result(self) -> RunResult:
        result = self.runner.result(self.model, self.values)
        result.player = {"side": self.side, "moves": self.moves}
        return result


def replay(runner: Runner, seed: int, side: str, moves: list[dict]) -> Game:
    """Play the recorded moves again; raises ValueError if they do not fit the game."""
    game = Game(runner, seed, side)
    for move in moves:
        if game.done:
            raise ValueError(f"the game ended before meeting {move.get('meeting')}")
        if "offer" in move:
            game.propose(move["offer"])
        elif move.get("walk_away"):
            game.walk_away()
        else:
            game.respond(bool(move["accept"]))
    return game
