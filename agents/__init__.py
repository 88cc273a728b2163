"""The Mesa agents of a negotiation: leaders bargain, publics ratify, external actors press."""

from agents.external import ExternalActor
from agents.leader import Leader
from agents.public import Public

__all__ = ["ExternalActor", "Leader", "Public"]
