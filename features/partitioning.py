"""Split a market into sub-markets that each build their part of the panel on their own.

Some features aggregate across packs: siblings, suppliers and tender preferred
packs per GPK, and the share of the ATC-4 group in shortage. A partition must
therefore hold whole GPKs and whole ATC-4 groups, so that every aggregate sees
the same packs as on the whole market. Packs are linked into *units* (connected
components of packs sharing a GPK or an ATC-4 code, plus tender rows that tie a
GPK to a preferred pack of another GPK); units are packed into partitions of
about equal pack count. Every row of a pack goes with the pack, so its whole
history is in one partition. Pure pandas/numpy: the data layer stays free of
any execution engine.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

import numpy as np
import pandas as pd

from features.families.inputs import atc_prefix
from features.market import Market

# Tables tied to the packs by GPK (a GPK-level fact), the rest by zi_number.
BY_GPK = ("tenders", "registrations")
WHOLE = ("critical_list",)  # matched on product attributes: every partition needs all of it


def _find(parent: dict[str, str], node: str) -> str:
    root = node
    while parent[root] != root:
        root = parent[root]
    while parent[node] != root:  # path compression
        parent[node], node = root, parent[node]
    return root


def _union_all(nodes: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Root of every node after joining the ends of every edge (union-find)."""
    parent = {n: n for n in nodes}
    for a, b in edges:
        ra, rb = _find(parent, a), _find(parent, b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # deterministic: the smaller name is the root
    return {n: _find(parent, n) for n in parent}


def pack_units(products: pd.DataFrame, tenders: pd.DataFrame | None = None) -> pd.Series:
    """Unit label per pack (aligned with ``products``): packs that share a GPK or an ATC-4
    group, directly or through other packs, get the same unit."""
    gpk = "g:" + products["gpk"].astype("str").fillna("")
    atc4 = "a:" + atc_prefix(products["atc"], "atc4")
    edges = list(zip(gpk[atc4.notna()], atc4[atc4.notna()], strict=True))
    if tenders is not None and len(tenders):
        gpk_of = pd.Series(gpk.to_numpy(), index=products["zi_number"].astype("str"))
        pack_gpk = tenders["zi_number"].astype("str").map(gpk_of)
        tender_gpk = "g:" + tenders["gpk"].astype("str")
        known = pack_gpk.notna()
        edges += list(zip(tender_gpk[known], pack_gpk[known], strict=True))
    nodes = set(gpk) | set(atc4.dropna()) | {n for edge in edges for n in edge}
    root = _union_all(sorted(nodes), edges)
    return pd.Series(gpk.map(root).to_numpy(), index=products.index, name="unit")


def assign_partitions(units: pd.Series, n_partitions: int) -> pd.Series:
    """Partition number per pack: whole units, largest first onto the lightest partition
    (greedy balancing by pack count; ties broken by unit name, so it is deterministic)."""
    if n_partitions < 1:
        raise ValueError("n_partitions must be at least 1")
    sizes = units.value_counts()
    order = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
    heap = [(0, k) for k in range(n_partitions)]
    part_of: dict[str, int] = {}
    for unit, size in order:
        load, k = heapq.heappop(heap)
        part_of[str(unit)] = k
        heapq.heappush(heap, (load + int(size), k))
    return units.map(part_of).astype(np.int64)


def _rows_of(frame: pd.DataFrame, column: str, keys: pd.Index) -> pd.DataFrame:
    keep = frame[column].astype("str").isin(keys).to_numpy()
    return frame.loc[keep].reset_index(drop=True)


def sub_market(market: Market, zi_numbers: pd.Index) -> Market:
    """The market restricted to the packs ``zi_numbers`` (whole GPKs assumed): product
    rows and per-pack tables by zi_number, GPK tables by gpk, the critical list whole."""
    products = _rows_of(market.products, "zi_number", zi_numbers)
    gpks = pd.Index(products["gpk"].astype("str").unique())
    tables: dict[str, pd.DataFrame | None] = {"products": products}
    for name, frame in market.present():
        if name == "products":
            continue
        if name in WHOLE:
            tables[name] = frame
        elif name in BY_GPK:
            tables[name] = _rows_of(frame, "gpk", gpks)
        else:
            tables[name] = _rows_of(frame, "zi_number", zi_numbers)
    return Market(**tables)


def partition_market(market: Market, n_partitions: int) -> list[Market]:
    """Sub-markets of whole GPK / ATC-4 units, balanced by pack count; empty ones dropped."""
    units = pack_units(market.products, market.tenders)
    part = assign_partitions(units, n_partitions)
    zi = market.products["zi_number"].astype("str")
    return [
        sub_market(market, pd.Index(zi[part == k]))
        for k in range(n_partitions)
        if bool((part == k).any())
    ]
