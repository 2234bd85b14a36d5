"""What-if scenarios: declarative, validated lists of changes to the input tables.

A scenario is a TOML file a user can write and review: a name, a description
and a list of ``[[operations]]``, each one documented change to one contract
table (see README: What-if scenarios). Built-ins ship as TOML files beside this
module, so they read exactly like a user's own file. Parsing is strict (unknown
keys are errors) and every error names the file and the key, because a typo in
a policy lever must never silently mean "no change".
"""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

LOW_TURNOVER_AIP = 15.0  # EUR: the low-price segment, the proxy for "low turnover"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class ScenarioError(ValueError):
    """A scenario that cannot be found or read, with the file and key at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _as_list(value: object) -> object:
    """Let a single value stand for a one-element list (``atc_prefix = "J01"``)."""
    return [value] if isinstance(value, str) else value


class PackFilter(_Strict):
    """Which packs an operation concerns; all given conditions must hold.

    Conditions are evaluated on the as-of date (point in time) and only packs on
    the market then are ever selected. ``low_turnover`` is a proxy, since the
    contract holds no volumes: the AIP in force is at most EUR 15 (the
    low-price segment of feature ``price_aip_le_15``).
    """

    atc_prefix: list[str] = Field(default_factory=list, description="ATC code starts with one")
    gpk: list[str] = Field(default_factory=list, description="pack's GPK is one of these")
    zi_number: list[str] = Field(default_factory=list, description="pack is one of these")
    aip_at_most: float | None = Field(None, ge=0, description="AIP in force <= this (EUR)")
    low_turnover: bool = Field(False, description=f"AIP in force <= EUR {LOW_TURNOVER_AIP:g}")
    preferred: bool | None = Field(None, description="pack preferred by an insurer (or not)")
    tendered: bool | None = Field(None, description="pack's GPK has a designation (or not)")

    _lists = field_validator("atc_prefix", "gpk", "zi_number", mode="before")(_as_list)


class ScalePrice(_Strict):
    """Multiply the price in force at as_of of each selected pack by ``factor``.

    Adds one row per pack dated as_of (or replaces the row dated as_of) to
    ``wgp_prices`` (max_price) or ``list_prices`` (aip); no other table moves.
    """

    op: Literal["scale_price"]
    table: Literal["wgp_prices", "list_prices"]
    factor: float = Field(gt=0, le=100)
    select: PackFilter = Field(default_factory=PackFilter)


class AddPreferred(_Strict):
    """Give every insurer designation in force at least ``min_preferred`` preferred packs.

    For each (insurer, GPK) with a designation in force at as_of and fewer
    preferred packs, adds ``tenders`` rows for other packs of the GPK on the
    market and not in a known shortage (lowest zi_number first), valid from
    as_of to the designation's end, with the insurer's share. A GPK is
    selected when any of its marketed packs matches ``select``.
    """

    op: Literal["add_preferred"]
    min_preferred: int = Field(2, ge=1, le=20)
    select: PackFilter = Field(default_factory=PackFilter)


class ShortenDesignation(_Strict):
    """End designations in force ``months`` after their start.

    Changes ``valid_to`` of ``tenders`` rows in force at as_of (of selected
    packs) to ``valid_from + months``; a period already longer than that ends
    one week after as_of instead, so the change applies from now on and does not
    rewrite the past. Shorter periods are left alone.
    """

    op: Literal["shorten_designation"]
    months: int = Field(ge=1, le=120)
    select: PackFilter = Field(default_factory=PackFilter)


class AddSupplier(_Strict):
    """Add ``add`` registration holders to each GPK with exactly ``suppliers`` in force.

    Adds ``registrations`` rows (new rvg_number and mah, no withdrawal) dated
    ``registered_weeks_before`` weeks before as_of. At 52 or more the extra
    supplier was also there a year ago, so only ``sup_mahs`` rises (a supplier
    kept); at 0 it is a new entrant and ``sup_mahs_change_52w`` rises too. A GPK
    is selected when it has a pack on the market at as_of matching ``select``.
    """

    op: Literal["add_supplier"]
    suppliers: int = Field(1, ge=0, le=50)
    add: int = Field(1, ge=1, le=10)
    registered_weeks_before: int = Field(0, ge=0, le=520)
    select: PackFilter = Field(default_factory=PackFilter)


Operation = Annotated[
    ScalePrice | AddPreferred | ShortenDesignation | AddSupplier, Field(discriminator="op")
]
OPERATION_NAMES = ("scale_price", "add_preferred", "shorten_designation", "add_supplier")


class Scenario(_Strict):
    """A named list of operations, applied in order to the tables of one as-of date."""

    name: str = Field(pattern=NAME_PATTERN, description="lower-case, digits, '-' or '_'")
    description: str = Field(min_length=1, max_length=2000)
    operations: list[Operation] = Field(min_length=1, max_length=50)


def _where(loc: tuple[int | str, ...]) -> str:
    """``('operations', 0, 'scale_price', 'factor')`` -> ``operations[0].factor``."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in OPERATION_NAMES and i > 0 and isinstance(loc[i - 1], int):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(error: ValidationError, source: str) -> str:
    lines = [f"{source}: invalid scenario"]
    for item in error.errors():
        where = _where(tuple(item["loc"]))
        given = f" (given: {item['input']!r})" if item["type"] != "missing" else ""
        lines.append(f"  {where}: {item['msg']}{given}")
    return "\n".join(lines)


def parse_scenario(text: str, source: str, default_name: str | None = None) -> Scenario:
    """Read and validate scenario TOML; ``source`` names the file in errors."""
    try:
        values: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source}: not valid TOML: {exc}") from exc
    if default_name is not None:
        values.setdefault("name", default_name)
    try:
        return Scenario.model_validate(values)
    except ValidationError as exc:
        raise ScenarioError(_describe(exc, source)) from exc


def _builtin_files() -> dict[str, Any]:
    folder = resources.files(__name__)
    return {
        entry.name.removesuffix(".toml"): entry
        for entry in folder.iterdir()
        if entry.name.endswith(".toml")
    }


def builtin_names() -> list[str]:
    return sorted(_builtin_files())


def builtin_scenarios() -> dict[str, Scenario]:
    """Every scenario shipped with the package, by name."""
    return {
        name: parse_scenario(entry.read_text(encoding="utf-8"), f"built-in {name}")
        for name, entry in sorted(_builtin_files().items())
    }


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A built-in by name, or a user's TOML file (its name defaults to the file's stem)."""
    text = str(name_or_path)
    builtins = _builtin_files()
    if text in builtins:
        return parse_scenario(builtins[text].read_text(encoding="utf-8"), f"built-in {text}")
    path = Path(name_or_path)
    if not path.is_file():
        raise ScenarioError(
            f"{text}: no such scenario file, and not a built-in ({', '.join(builtin_names())})"
        )
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from exc
    stem = path.stem.lower() if re.match(NAME_PATTERN, path.stem.lower()) else None
    return parse_scenario(content, str(path), default_name=stem)


def _toml_value(value: object) -> str:
    """TOML literal of a scalar, list or inline table (JSON strings are valid TOML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = [f"{k} = {_toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def to_toml(scenario: Scenario, header: str = "") -> str:
    """The scenario with every default filled in, as TOML that parses back to it."""
    data = scenario.model_dump(mode="json")
    lines = [f"# {line}" for line in header.splitlines()]
    lines += [f"name = {_toml_value(data['name'])}"]
    lines += [f"description = {_toml_value(data['description'])}"]
    for op in data["operations"]:
        lines += ["", "[[operations]]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in op.items()]
    return "\n".join(lines) + "\n"
