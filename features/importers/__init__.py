"""Converters from real public Dutch sources into the data contract.

One module per source; each exposes ``import_<source>(inputs, **options)``
returning an :class:`ImportResult`. ``IMPORTERS`` maps the source name used on
the command line to its converter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from features.importers.base import ImporterError, ImportResult
from features.importers.preferentie import import_preferentie
from features.importers.sfk import import_sfk
from features.importers.wgp import import_wgp

Importer = Callable[..., ImportResult]

IMPORTERS: dict[str, Importer] = {
    "sfk": import_sfk,
    "preferentie": import_preferentie,
    "wgp": import_wgp,
}


def import_source(source: str, inputs: Sequence[Path], **options: object) -> ImportResult:
    """Run the importer of ``source`` on ``inputs``."""
    if source not in IMPORTERS:
        raise ImporterError(f"unknown source {source!r}; known: {', '.join(IMPORTERS)}")
    if not inputs:
        raise ImporterError(f"{source}: no input files given")
    return IMPORTERS[source](list(inputs), **options)


__all__ = ["IMPORTERS", "ImportResult", "ImporterError", "import_source"]
