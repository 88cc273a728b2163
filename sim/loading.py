"""Loading scenario files: safe YAML, ``extends:`` inheritance, ``--set`` overrides, and errors
that name the file, the field path, the line and what was expected — all of them at once.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sim.calibration import CalibrationError
from sim.compiled import compile_scenario
from sim.scenario import ASSUMPTION, Scenario, cross_reference_problems

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located as precisely as we can."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top level)'}: {self.message}"


class ScenarioError(Exception):
    """A scenario could not be loaded; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Resolved:
    """A scenario after ``extends`` and overrides: the merged data, where each key came from,
    and the validated :class:`Scenario`."""

    scenario: Scenario
    data: dict
    origins: dict[Path_, tuple[str, int | None]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def sha256(self) -> str:
        return scenario_sha256(self.scenario)


# --------------------------------------------------------------------------- finding files


def bundled_dir() -> Path:
    return Path(str(resources.files("scenarios")))


def bundled_names() -> list[str]:
    return sorted(p.stem for p in bundled_dir().glob("*.yaml"))


def locate(ref: str, relative_to: Path | None = None) -> Path:
    """A scenario reference is a file path or the name of a bundled scenario."""
    candidates = []
    p = Path(ref)
    if relative_to is not None and not p.is_absolute():
        candidates.append(relative_to / p)
    candidates.append(p)
    if p.suffix not in (".yaml", ".yml"):
        candidates.append(bundled_dir() / f"{ref}.yaml")
    for c in candidates:
        if c.is_file():
            return c
    raise ScenarioError([Problem(
        ref, "", f"no such scenario file, and no bundled scenario of that name "
        f"(bundled: {', '.join(bundled_names())})")])


# --------------------------------------------------------------------------- YAML with lines


def _line_map(node: yaml.Node, path: Path_ = ()) -> Iterator[tuple[Path_, int]]:
    """The line of every key and list item below ``node`` (a key's line, not its value's)."""
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = _key_of(k)
            yield (*path, key), k.start_mark.line + 1
            yield from _line_map(v, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            yield (*path, i), v.start_mark.line + 1
            yield from _line_map(v, (*path, i))


def _key_of(node: yaml.Node):
    """A key as safe_load builds it (``5:`` is the int 5), so paths match the data."""
    if isinstance(node, yaml.ScalarNode) and node.style is None:
        try:
            return yaml.safe_load(node.value)
        except yaml.YAMLError:
            return node.value
    return node.value


def read_yaml(path: Path) -> tuple[dict, dict[Path_, int]]:
    """Parse a YAML file safely; return the data and the line of every key path."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ScenarioError([Problem(name, "", f"cannot read the file: {e.strerror}")]) from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        msg = getattr(e, "problem", None) or str(e)
        raise ScenarioError([Problem(name, "", f"not valid YAML: {msg}",
                                     mark.line + 1 if mark else None)]) from None
    if not isinstance(data, dict):
        raise ScenarioError([Problem(name, "", "expected a mapping of scenario fields at the top")])
    lines = {(): 1, **dict(_line_map(node))} if node is not None else {}
    return data, lines


def _is_number(node: Any) -> bool:
    return isinstance(node, dict) and ("value" in node or "dist" in node)


def _merge(base: Any, over: Any) -> Any:
    """Deep merge for ``extends``: mappings merge key by key; anything else is replaced. A
    number written as ``{value: ...}`` or ``{dist: ...}`` replaces the parent's number whole,
    keeping the parent's source unless it names its own."""
    if _is_number(base) and _is_number(over):
        return {**({"source": base["source"]} if "source" in base else {}),
                **copy.deepcopy(over)}
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


def _origins_of(data: Any, file: str, lines: dict[Path_, int], path: Path_ = ()):
    yield path, (file, lines.get(path))
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _origins_of(v, file, lines, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _origins_of(v, file, lines, (*path, i))


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def _read_chain(path: Path, seen: tuple[Path, ...] = ()):
    """Read a file and its ``extends`` ancestors; return merged data, origins and the files."""
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError([Problem(str(path), "extends", f"circular extends: {chain}")])
    data, lines = read_yaml(path)
    own = dict(_origins_of(data, str(path), lines))
    parent = data.get("extends")
    if parent is None:
        return data, own, [str(path)]
    if not isinstance(parent, str):
        raise ScenarioError([Problem(str(path), "extends", "expected a scenario name or path",
                                     lines.get(("extends",)))])
    try:
        parent_path = locate(parent, relative_to=path.parent)
    except ScenarioError as e:
        raise ScenarioError([Problem(str(path), "extends", e.problems[0].message,
                                     lines.get(("extends",)))]) from None
    base, base_origins, files = _read_chain(parent_path, (*seen, path))
    merged = _merge(base, data)
    # Where the child replaces a list or a value, nothing below it comes from the parent.
    replaced = [p for p in own if p and not isinstance(_get(data, p), dict)]
    origins = {p: o for p, o in base_origins.items()
               if not any(p[:len(r)] == r and len(p) > len(r) for r in replaced)}
    origins.update(own)
    return merged, origins, [*files, str(path)]


# --------------------------------------------------------------------------- overrides


def parse_set(assignment: str) -> tuple[Path_, Any]:
    """``dotted.path=value``; the value is read as a YAML scalar or list (never evaluated)."""
    if "=" not in assignment:
        raise ScenarioError([Problem("--set", assignment, "expected dotted.path=value")])
    key, _, text = assignment.partition("=")
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError([Problem("--set", assignment, "expected dotted.path=value")])
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    path = tuple(int(p) if p.isdigit() else p for p in key.split("."))
    return path, value


def apply_sets(data: dict, sets: Iterable[str], origins: dict) -> tuple[dict, list[Problem]]:
    """Apply ``--set`` overrides; return the new data and a problem for each that could not
    be applied (the rest still apply, so that validation can report everything at once)."""
    data = copy.deepcopy(data)
    problems = []
    for assignment in sets:
        try:
            path, value = parse_set(assignment)
        except ScenarioError as e:
            problems.extend(e.problems)
            continue
        node: Any = data
        for depth, part in enumerate(path[:-1]):
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                problems.append(Problem("--set", ".".join(map(str, path)),
                                        f"no field {'.'.join(map(str, path[:depth + 1]))!r} "
                                        "in this scenario"))
                break
        else:
            last = path[-1]
            if isinstance(node, dict):
                current = node.get(last)
                # A sourced number (or distribution) keeps its source when set to a number.
                if isinstance(current, dict) and ("value" in current or "dist" in current) \
                        and not isinstance(value, dict):
                    node[last] = {"value": value, "note": f"set by --set {assignment}",
                                  **({"source": current["source"]} if "source" in current else {})}
                else:
                    node[last] = value
            elif isinstance(node, list) and isinstance(last, int) and last < len(node):
                node[last] = value
            else:
                problems.append(Problem("--set", ".".join(map(str, path)), "no such field"))
                continue
            origins[path] = ("--set", None)
    return data, problems


# --------------------------------------------------------------------------- validation


def _where(path: Path_, origins: dict, default_file: str) -> tuple[str, int | None]:
    for n in range(len(path), -1, -1):
        if path[:n] in origins:
            return origins[path[:n]]
    return default_file, None


def _dotted(path: Iterable) -> str:
    return ".".join(str(p) for p in path)


def _expected(err: dict) -> str:
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        return "unknown field (not part of the schema; see `negsim schema`)"
    if err["type"] == "missing":
        return "missing required field"
    inp = err.get("input")
    if isinstance(inp, dict | list):
        return msg
    return f"{msg} (got {inp!r})"


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and part < len(node)


def _pydantic_path(loc: tuple, data: Any) -> Path_:
    """Pydantic's error location less the parts that are not in the file (union tags,
    validator names), found by walking the data itself."""
    path: list = []
    node = data
    for part in loc:
        if _has(node, part):
            node = node[part]
        elif isinstance(part, str) and ("(" in part or "[" in part):
            continue  # a validator's or union member's name
        elif isinstance(node, dict) and (node.get("kind") == part or "value" in node):
            continue  # a tagged union's tag, or inside a sourced number
        else:
            node = None  # a missing or unknown key: still name it
        path.append(part)
    return tuple(path)


def source_problems(data: dict, origins: dict, default_file: str) -> list[Problem]:
    """Every ``source:`` must name a declared source or be ``assumption``."""
    sources = data.get("sources") or {}
    known = set(sources) | {ASSUMPTION} if isinstance(sources, dict) else {ASSUMPTION}
    out = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "source" and path[:1] != ("sources",):
                    if v is not None and v not in known:
                        file, line = _where((*path, k), origins, default_file)
                        ids = ", ".join(sorted(known - {ASSUMPTION}))
                        out.append(Problem(file, _dotted((*path, k)),
                                           f"undefined source id {v!r}; expected `assumption` "
                                           f"or one of the ids under `sources` ({ids})", line))
                else:
                    walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))

    walk(data, ())
    return out


def validate_data(data: dict, origins: dict, default_file: str,
                  earlier: list[Problem] | None = None) -> Scenario:
    problems = [*(earlier or []), *source_problems(data, origins, default_file)]
    scenario = None
    try:
        scenario = Scenario.model_validate(data, context={"defer_references": True})
    except ValidationError as e:
        for err in e.errors(include_url=False):
            path = _pydantic_path(err["loc"], data)
            file, line = _where(path, origins, default_file)
            problems.append(Problem(file, _dotted(path), _expected(err), line))
    for path, message in cross_reference_problems(data):
        file, line = _where(path, origins, default_file)
        problems.append(Problem(file, _dotted(path), message, line))
    if scenario is not None and not problems:
        try:
            compile_scenario(scenario)
        except CalibrationError as e:
            path = ("parties", e.party or "", "public", "polls")
            file, line = _where(path, origins, default_file)
            problems.append(Problem(file, _dotted(path), str(e), line))
    if problems:
        raise ScenarioError(problems)
    assert scenario is not None
    return scenario


def resolve(ref: str | Path, sets: Iterable[str] = ()) -> Resolved:
    """Load a scenario by bundled name or path, apply ``extends`` and ``--set`` overrides."""
    path = locate(str(ref))
    data, origins, files = _read_chain(path)
    data.pop("extends", None)
    data, set_problems = apply_sets(data, list(sets), origins)
    scenario = validate_data(data, origins, files[-1], set_problems)
    return Resolved(scenario=scenario, data=data, origins=origins, files=files)


def load_scenario(ref: str | Path, sets: Iterable[str] = ()) -> Scenario:
    return resolve(ref, sets).scenario


def scenario_sha256(scenario: Scenario) -> str:
    """Hash of the resolved scenario (after extends and overrides), stable across runs."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def dump_resolved(resolved: Resolved) -> str:
    """The merged scenario data as one self-contained YAML file, sources kept, no ``extends``."""
    return yaml.safe_dump(resolved.data, sort_keys=False, allow_unicode=True, width=100)


def dump_yaml(scenario: Scenario) -> str:
    """The resolved scenario as a self-contained YAML file (no ``extends``)."""
    data = scenario.model_dump(mode="json", exclude_none=True)
    data.pop("extends", None)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
