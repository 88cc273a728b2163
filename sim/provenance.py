"""Where every number in a scenario comes from.

A number's source is the ``source`` of the nearest mapping that contains it (its own
``{value: ..., source: ...}`` wrapper, or any block above it). Sources are declared under
``sources:``; ``assumption`` marks a modelling choice rather than a measured fact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

OPTION_REFERENCES = {"status_quo", "deal", "when", "requires"}
"""Keys whose values name options (``economic_package: 0`` is the option "0", not a quantity)."""


@dataclass(frozen=True)
class Number:
    path: str
    value: float
    source: str | None
    note: str | None = None


def numbers(data: dict) -> Iterator[Number]:
    """Every number in scenario data (``sources`` excluded) with its inherited source."""

    def walk(node: Any, path: tuple, source: str | None, note: str | None):
        if isinstance(node, dict):
            source = node.get("source", source) or source
            note = node.get("note") if "value" in node else None
            for k, v in node.items():
                if k in ("source", "note") or k in OPTION_REFERENCES or (
                        k == "options" and path[-1:] == ("effect",)):
                    continue
                yield from walk(v, (*path, str(k)), source, note)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, (*path, str(i)), source, None)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            shown = path[:-1] if path and path[-1] == "value" else path
            yield Number(".".join(shown), float(node), source, note)

    for key, value in data.items():
        if key != "sources":
            yield from walk(value, (key,), None, None)


def unsourced(data: dict) -> list[Number]:
    return [n for n in numbers(data) if n.source is None]


def source_at(data: dict, path: tuple) -> str | None:
    """The source that applies at ``path`` (the nearest ``source`` on the way down)."""
    source = None
    node: Any = data
    for part in path:
        if isinstance(node, dict):
            source = node.get("source", source) or source
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return source
    if isinstance(node, dict):
        source = node.get("source", source) or source
    return source
