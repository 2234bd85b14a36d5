"""What every importer returns, and the small helpers they share.

An importer turns one public source into contract tables. Real sources are
messy, so an importer never silently drops a row: a row it cannot convert is
kept in ``rejected`` with the file, the row, the column and the reason, and
whatever the contract cannot hold is said in ``notes``.
"""

from __future__ import annotations

import gzip
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from features.market import conform

REJECTED_COLUMNS = ("source", "row", "column", "value", "reason")


class ImporterError(ValueError):
    """The input cannot be imported at all (wrong file, unknown option, no rows)."""


@dataclass
class ImportResult:
    """Contract tables produced from one source, plus what did not make it."""

    source: str
    tables: dict[str, pd.DataFrame]
    rejected: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        counts = self.rejected["reason"].value_counts(sort=True)
        return {str(k): int(v) for k, v in counts.items()}


def make_result(
    source: str, tables: dict[str, pd.DataFrame], rejected: Iterable[pd.DataFrame], notes: list[str]
) -> ImportResult:
    """Conform every table to the contract so writers and validators see one typing."""
    typed = {name: conform(name, frame) for name, frame in tables.items()}
    return ImportResult(source, typed, concat_rejected(rejected), notes)


def rejected_rows(
    rows: pd.DataFrame, source: str, row_column: str, column: str, value_column: str, reason: str
) -> pd.DataFrame:
    """Rejected-row records for ``rows``; ``row_column`` holds the row/line in the source."""
    return pd.DataFrame(
        {
            "source": source,
            "row": rows[row_column].astype("int64").to_numpy(),
            "column": column,
            "value": rows[value_column].astype("str").to_numpy() if len(rows) else [],
            "reason": reason,
        },
        columns=list(REJECTED_COLUMNS),
    )


def concat_rejected(parts: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """One rejected-rows frame (empty but with the columns when nothing was rejected)."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c == "row" else "str") for c in REJECTED_COLUMNS}
        )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["source", "row", "column"], kind="stable").reset_index(drop=True)


def squash_spaces(text: pd.Series) -> pd.Series:
    """Collapse runs of whitespace (PDF extracts pad columns with spaces)."""
    return text.astype("str").str.replace(r"\s+", " ", regex=True).str.strip()


def ascii_fold(text: str) -> str:
    """Drop diacritics so ``Alitretinoïne`` and ``Alitretinoine`` give one key."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def slug(text: str) -> str:
    """A stable lower-case key part: ASCII letters, digits, ``.``, ``/`` and ``,``."""
    folded = ascii_fold(text).lower()
    return re.sub(r"[^a-z0-9.,/]+", "-", folded).strip("-")


def split_inputs(
    inputs: Sequence[Path], kinds: dict[str, str], source: str
) -> dict[str, list[Path]]:
    """Sort input files into kinds by the first matching marker in their head.

    ``kinds`` maps a kind to a marker string expected near the top of the file;
    importers accept inputs in any order and say which file is not recognised.
    """
    found: dict[str, list[Path]] = {k: [] for k in kinds}
    for path in inputs:
        if not path.is_file():
            raise ImporterError(f"{path}: no such file")
        head = read_head(path)
        kind = next((k for k, marker in kinds.items() if marker in head), None)
        if kind is None:
            expected = ", ".join(f"{k} (contains {m!r})" for k, m in kinds.items())
            raise ImporterError(f"{path}: not a recognised {source} input; expected {expected}")
        found[kind].append(path)
    return found


def read_head(path: Path, size: int = 4096) -> str:
    """The first bytes of a (possibly gzipped) file as text, to recognise its kind."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read(size)
    except OSError as exc:
        raise ImporterError(f"{path}: cannot be read ({exc})") from exc
    return bytes(data).decode("utf-8", errors="replace").lstrip("\ufeff")


def check_options(source: str, options: dict[str, object], allowed: Iterable[str]) -> None:
    """Unknown options are an error, so a misspelt option never goes unnoticed."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ImporterError(
            f"unknown option(s) for {source}: {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed)) or 'none'}"
        )


def option_int(options: dict[str, object], name: str, default: int, minimum: int) -> int:
    """An integer option, refused when it is not a whole number >= ``minimum``."""
    value = options.get(name, default)
    try:
        number = int(str(value))
    except ValueError as exc:
        raise ImporterError(f"option {name} must be a whole number, got {value!r}") from exc
    if number < minimum:
        raise ImporterError(f"option {name} must be >= {minimum}, got {number}")
    return number


def option_strings(
    options: dict[str, object], name: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    """A list-of-strings option; a single string is read as a comma-separated list."""
    value = options.get(name, default)
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value)
    raise ImporterError(f"option {name} must be a list of strings, got {value!r}")
