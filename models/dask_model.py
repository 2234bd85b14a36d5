"""The shortage-risk model with its trees grown on a Dask cluster (LightGBM data-parallel).

Same time slices, stages, parameters and calibration as ``ShortageRiskModel``;
only the trees are trained by ``lightgbm.dask.DaskLGBMClassifier``, on rows that
stay on the workers. ``fit_partitions`` takes a Dask DataFrame (the panel
partitions as the dask engine builds them); ``fit`` takes in-memory frames and
first splits them into blocks of whole packs on the workers.

The stages mirror ``ShortageRiskModel.fit``. Distributed LightGBM has no early
stopping, so stage 1 (the number of rounds) is either given (``n_rounds``) or the
best iteration of a single-machine ``ShortageRiskModel`` fitted, on one worker,
on a seeded share of the packs (``sample_share``). Stage 2 grows that many trees
on the cluster on the trees + early-stopping weeks (the trees weeks alone with
``refit="none"``) and fits the calibrator on the calibration weeks; stage 3
(``refit="all_weeks"``) grows them again on every training week and keeps the
stage-2 calibrator. Each stage's linear offset (``config.linear_offset``) is fitted
on one worker from the same share of the packs as stage 1 and scored on every
partition, where the trees start from it. Negatives are sampled per row by a seeded hash of (pack,
week), so each partition samples on its own: the same share as the
single-machine model, not the same rows.

What reaches this process: the distinct weeks, per-partition counts, the stage-1
round count, the fitted linear offsets, and the raw score and label of the
calibration rows (one slice of ``calibration_weeks`` weeks, two numbers a row).
Neither the panel nor a stage's training rows are collected here.

The result is a plain LightGBM booster, and ``to_local()`` hands back an ordinary
``ShortageRiskModel``, so MLflow logging, SHAP contributions and scoring do not
know how it was trained. Dask is imported only when fitting: the module loads
without the optional ``dask`` extra.

Categorical columns that are all missing on one worker: LightGBM 4.x
data-parallel training lets each machine find the bins of some features from
its own rows only, and a machine whose rows have no value at all for a pandas
categorical column it bins crashes with a segmentation fault while building the
Dataset (the worker dies, no Python error). A panel cut into blocks of weeks hits
this: ``crit_category`` is missing on every row before the critical list starts.
So the rows are split by pack (each block holds all weeks of its packs), and a
partition whose selected rows have no value for a categorical column gets a few
zero-weight guard rows carrying that column's categories (see ``_guard_rows``).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.config import ModelConfig
from models.linear_offset import LinearLogOdds
from models.shortage_model import ShortageRiskModel, fit_linear_offset, time_slices

if TYPE_CHECKING:
    import dask.dataframe as dd
    from distributed import Client

DEFAULT_SAMPLE_SHARE = 0.25
# Set per worker by LightGBM's Dask layer, or meaningless without a validation set.
_LOCAL_ONLY_PARAMS = ("num_threads", "metric")
FITTED = (
    "feature_names_in_", "categories_", "classes_", "params_", "booster_",
    "best_iteration_", "calibrator_", "n_rows_", "offset_",
)  # fmt: skip
# Internal columns of the prepared partitions.
LABEL, PACK, AS_OF, SLICE, KEEP, WEIGHT, INIT = (
    "__label", "__pack", "__as_of", "__slice", "__keep", "__weight", "__init",
)  # fmt: skip
TREES, EARLY_STOPPING, CALIBRATION, GAP = 0, 1, 2, -1
# LightGBM finds bins on a sample of this many rows per machine (its default).
BIN_SAMPLE_ROWS = 200_000
# Guard rows per category: enough that LightGBM's bin sample misses all of them with a
# probability below exp(-GUARD_SAFETY).
GUARD_SAFETY = 16


def sample_packs(packs: pd.Series, share: float, seed: int) -> np.ndarray:
    """Row mask of a seeded share of the packs (whole packs: their weekly rows are dependent).
    Decided per pack from a hash of its identifier, so every partition agrees."""
    return np.asarray(_uniform(pd.DataFrame({"pack": packs.astype("str")}), seed + 1) < share)


def _uniform(keys: pd.DataFrame, seed: int) -> np.ndarray:
    """A seeded number in [0, 1) per row, a function of the row's keys only."""
    key = f"{seed:016d}"[-16:]
    hashed = pd.util.hash_pandas_object(keys, index=False, hash_key=key).to_numpy()
    return (hashed >> np.uint64(11)).astype(np.float64) / float(2**53)


def rounds_from_sample(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    as_of: pd.Series,
    packs: pd.Series | None,
    config: ModelConfig,
    horizon: int,
    share: float = DEFAULT_SAMPLE_SHARE,
) -> int:
    """Best iteration of a single-machine fit (with early stopping) on a share of the packs;
    all rows when ``packs`` is not given."""
    rows = np.ones(len(X), bool) if packs is None else sample_packs(packs, share, config.seed)
    local = ShortageRiskModel(config, horizon=horizon)
    local.fit(X[rows], np.asarray(y)[rows], pd.Series(np.asarray(as_of)[rows]))
    return int(local.best_iteration_)


def _prepare(
    part: pd.DataFrame,
    encoder: ShortageRiskModel,
    label: str,
    pack: str | None,
    as_of: str,
    slice_of_week: pd.Series,
    negative_rate: float,
    seed: int,
) -> pd.DataFrame:
    """One partition as the trees see it: encoded features, label, week slice, pack, and
    whether the row is kept for the trees (all positives, a hashed share of negatives)."""
    out = encoder._encode(part)
    out[LABEL] = part[label].to_numpy(dtype=float)
    weeks = pd.DatetimeIndex(pd.to_datetime(part[as_of])).as_unit("ns")
    out[AS_OF] = weeks
    out[PACK] = part[pack].astype("str").to_numpy() if pack else part.index.astype("str")
    out[SLICE] = slice_of_week.reindex(weeks).fillna(GAP).to_numpy(dtype=np.int8)
    if negative_rate >= 1:
        keep = np.ones(len(out), bool)
    else:
        keep = (out[LABEL].to_numpy() > 0) | (_uniform(out[[PACK, AS_OF]], seed) < negative_rate)
    out[KEEP] = keep
    return out.reset_index(drop=True)


def _distinct(values: pd.Series) -> pd.Series:
    """The distinct values of one partition (no shuffle between workers)."""
    return pd.Series(values.unique(), name=values.name)


def _counts(part: pd.DataFrame) -> pd.DataFrame:
    """Rows, positives, kept rows, kept positives and missing labels per slice (one row each)."""
    positive = part[LABEL] > 0
    frame = pd.DataFrame(
        {
            SLICE: part[SLICE].to_numpy(),
            "rows": 1,
            "positives": positive.astype(int).to_numpy(),
            "kept": part[KEEP].astype(int).to_numpy(),
            "kept_positives": (positive & part[KEEP]).astype(int).to_numpy(),
            "missing_labels": part[LABEL].isna().astype(int).to_numpy(),
        }
    )
    return frame.groupby(SLICE).sum().reset_index()


def _guard_rows(
    part: pd.DataFrame, features: list[str], categories: dict[str, list], per_category: int
) -> pd.DataFrame:
    """Zero-weight rows giving every categorical column without a single value in ``part``
    each of its categories ``per_category`` times (other cells missing). They carry no
    gradient; they only keep LightGBM's distributed bin finding from crashing (module doc)."""
    empty = [c for c in categories if categories[c] and part[c].notna().sum() == 0]
    if not empty or part.empty:
        return part.head(0)
    n = max(len(categories[c]) for c in empty) * per_category
    guard = part.iloc[[0] * n].reset_index(drop=True).copy()
    for column in features:
        if column in categories:
            values = categories[column] if column in empty else [None]
            guard[column] = pd.Categorical(
                [values[i % len(values)] for i in range(n)], categories=categories[column]
            )
        else:
            guard[column] = np.nan
    guard[LABEL] = 0.0
    guard[WEIGHT] = 0.0
    if INIT in guard:
        guard[INIT] = 0.0
    return guard


def _select(
    part: pd.DataFrame,
    slices: tuple[int, ...],
    features: list[str],
    categories: dict[str, list],
    per_category: int,
    offset: LinearLogOdds | None,
) -> pd.DataFrame:
    """The rows one stage grows trees on (kept rows of ``slices``), with unit weights, the
    linear log-odds they start from, and guard rows where a categorical column has no value."""
    rows = part[part[KEEP] & part[SLICE].isin(slices)][[*features, LABEL]].copy()
    rows[WEIGHT] = 1.0
    rows[INIT] = (
        offset.decision_function(rows[features]) if offset is not None and len(rows) else 0.0
    )
    guard = _guard_rows(rows, features, categories, per_category)
    return pd.concat([rows, guard], ignore_index=True) if len(guard) else rows


def _offset_on_worker(
    parts: list[pd.DataFrame],
    features: list[str],
    share: float,
    slices: tuple[int, ...],
    config: ModelConfig,
) -> LinearLogOdds | None:
    """The linear offset of one stage, fitted on a worker from the kept rows of ``slices``
    of a share of the packs (a few hundred coefficients need far fewer rows than trees)."""
    if not config.linear_offset:
        return None
    frame = _sampled_packs(parts, share, config.seed)
    rows = frame[KEEP].to_numpy() & frame[SLICE].isin(slices).to_numpy()
    return fit_linear_offset(frame.loc[rows, features], frame.loc[rows, LABEL].to_numpy(), config)


def _calibration_scores(part: pd.DataFrame, model: ShortageRiskModel) -> pd.DataFrame:
    """Raw score and label of the partition's calibration rows."""
    rows = part[part[SLICE] == CALIBRATION]
    raw = model._raw(rows[list(model.feature_names_in_)]) if len(rows) else np.empty(0)
    return pd.DataFrame({"raw": raw, "label": rows[LABEL].to_numpy()})


def _rounds_on_worker(
    parts: list[pd.DataFrame], features: list[str], share: float, config: ModelConfig, horizon: int
) -> int:
    """Stage 1 on a worker: best iteration of a single-machine fit on a share of the packs."""
    # In the pandas panel's order (week, then pack): on all packs this is the single-machine
    # stage 1 row for row, so the same number of rounds.
    frame = _sampled_packs(parts, share, config.seed)
    local = ShortageRiskModel(config, horizon=horizon)
    local.fit(frame[features], frame[LABEL], frame[AS_OF])
    return int(local.best_iteration_)


def _sampled_packs(parts: list[pd.DataFrame], share: float, seed: int) -> pd.DataFrame:
    """The rows of a seeded share of the packs (all packs when ``share`` is 1), gathered
    from the partitions in the pandas panel's order (week, then pack)."""
    if share < 1:
        parts = [p[sample_packs(p[PACK], share, seed)] for p in parts]
    return pd.concat(parts, ignore_index=True).sort_values([AS_OF, PACK], kind="stable")


def _pack_blocks(frame: pd.DataFrame, packs: pd.Series | None, n_blocks: int) -> list:
    """Row blocks of whole packs (all weeks of a pack in one block), packs dealt round-robin
    in a seeded order; without packs, rows dealt round-robin. Every block spans every week."""
    if packs is None:
        block = np.arange(len(frame)) % n_blocks
    else:
        codes, unique = pd.factorize(packs.astype("str"), sort=True)
        order = np.random.default_rng(0).permutation(len(unique))
        block = (order % n_blocks)[codes]
    return [frame[block == k] for k in range(n_blocks) if (block == k).any()]


class DaskShortageRiskModel(ShortageRiskModel):
    """``ShortageRiskModel`` whose trees are trained on the Dask cluster of ``client``
    (or of the current default client)."""

    def __init__(
        self,
        config: ModelConfig | None = None,
        horizon: int = 13,
        n_rounds: int | None = None,
        sample_share: float = DEFAULT_SAMPLE_SHARE,
    ) -> None:
        super().__init__(config=config, horizon=horizon)
        self.n_rounds = n_rounds
        self.sample_share = sample_share

    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series | np.ndarray,
        as_of: pd.Series,
        packs: pd.Series | None = None,
        client: Client | None = None,
    ) -> DaskShortageRiskModel:
        """Fit on in-memory rows: they are cut into blocks of whole packs, scattered to the
        workers, and trained on there (``fit_partitions``)."""
        import dask.dataframe as dd
        from distributed import default_client

        client = client or default_client()
        frame = X.reset_index(drop=True).copy()
        frame[LABEL] = np.asarray(y, dtype=float)
        frame[AS_OF] = pd.to_datetime(np.asarray(as_of))
        pack = None
        if packs is not None:
            frame[PACK] = np.asarray(packs.astype("str"))
            pack = PACK
        threads = max(1, sum(client.nthreads().values()))
        blocks = _pack_blocks(frame, frame[PACK] if pack else None, 2 * threads)
        futures = client.scatter(blocks)  # to the workers once, not in the task graph
        panel = dd.from_delayed(futures, meta=frame.head(0), verify_meta=False)
        return self.fit_partitions(
            panel, list(X.columns), LABEL, pack=pack, as_of=AS_OF, client=client
        )

    def fit_partitions(
        self,
        panel: dd.DataFrame,
        features: list[str],
        label: str,
        pack: str | None = "zi_number",
        as_of: str = "as_of",
        client: Client | None = None,
    ) -> DaskShortageRiskModel:
        """Fit on the rows of a Dask DataFrame (labelled rows only; a pack's rows may be
        spread over partitions). The rows stay on the workers (module doc)."""
        from distributed import default_client, wait

        config = self._config
        client = client or default_client()
        distinct = pd.to_datetime(panel[as_of].map_partitions(_distinct).compute())
        weeks = pd.DatetimeIndex(np.unique(distinct)).as_unit("ns")
        slices = time_slices(pd.Series(weeks), config, self.horizon)
        slice_of_week = pd.Series(GAP, index=weeks, dtype=np.int8)
        for code, mask in (
            (TREES, slices.trees),
            (EARLY_STOPPING, slices.early_stopping),
            (CALIBRATION, slices.calibration),
        ):
            slice_of_week[mask] = code
        self._learn_columns(panel._meta[features])
        encoder = ShortageRiskModel(config, horizon=self.horizon)
        for name in ("feature_names_in_", "categories_", "classes_"):
            setattr(encoder, name, getattr(self, name))
        meta = _prepare(
            panel._meta, encoder, label, pack, as_of, slice_of_week,
            config.negative_sample_rate, config.seed,
        )  # fmt: skip
        prepared = panel.map_partitions(
            _prepare, encoder, label, pack, as_of, slice_of_week,
            config.negative_sample_rate, config.seed, meta=meta,
        )  # fmt: skip
        parts = client.compute(prepared.to_delayed())  # stays on the workers
        wait(parts)
        per_part = client.gather([client.submit(_counts, p) for p in parts])
        counts = pd.concat(per_part).groupby(SLICE).sum()
        counts = counts.reindex([TREES, EARLY_STOPPING, CALIBRATION, GAP], fill_value=0)
        if counts["missing_labels"].sum():
            raise ValueError("labels contain NaN: drop rows whose horizon is not yet observed")
        for name, code in (("trees", TREES), ("early-stopping", EARLY_STOPPING)):
            if counts.loc[code, "positives"] == 0:
                raise ValueError(f"the {name} slice has no positive labels")
        if counts.loc[CALIBRATION, "positives"] == 0:
            raise ValueError("the calibration slice has no positive labels")

        self.best_iteration_ = self.n_rounds or self._rounds(client, parts, features, config)
        stage2: tuple[int, ...] = (TREES,) if config.refit == "none" else (TREES, EARLY_STOPPING)
        self.params_ = self._params(config, counts, stage2, features)
        select_meta = _select(meta, stage2, features, self.categories_, 1, None)
        grow = (client, parts, per_part, features, select_meta)
        self.offset_ = self._offset_from_sample(client, parts, features, stage2, config)
        self.booster_ = self._grow_on_cluster(*grow, stage2)
        scores = client.gather(
            [client.submit(_calibration_scores, p, self.to_local()) for p in parts]
        )
        calibration = pd.concat(scores, ignore_index=True)
        raw, target = calibration["raw"].to_numpy(), calibration["label"].to_numpy()
        self.calibrator_ = self._fit_calibrator(config, raw, target)
        grown_on = stage2
        if config.refit == "all_weeks":
            grown_on = (TREES, EARLY_STOPPING, CALIBRATION, GAP)
            self.offset_ = self._offset_from_sample(client, parts, features, grown_on, config)
            self.booster_ = self._grow_on_cluster(*grow, grown_on)
        self.n_rows_ = {
            "trees": int(counts.loc[list(grown_on), "kept"].sum()),
            "early_stopping": int(counts.loc[EARLY_STOPPING, "rows"]),
            "calibration": int(counts.loc[CALIBRATION, "rows"]),
        }
        client.cancel(parts)
        return self

    def _rounds(self, client: Client, parts: list, features: list[str], config: ModelConfig) -> int:
        """Stage 1: early stopping of a single-machine fit on a share of the packs, run on one
        worker (the sample is gathered there, not here)."""
        future = client.submit(
            _rounds_on_worker, parts, features, self.sample_share, config, self.horizon
        )
        return int(future.result())

    def _offset_from_sample(
        self, client: Client, parts: list, features: list[str], slices: tuple, config: ModelConfig
    ) -> LinearLogOdds | None:
        """The stage's linear offset, fitted on one worker from a share of the packs."""
        future = client.submit(
            _offset_on_worker, parts, features, self.sample_share, slices, config
        )
        return future.result()

    def _params(
        self, config: ModelConfig, counts: pd.DataFrame, slices: tuple[int, ...], features: list
    ) -> dict[str, Any]:
        """The single-machine parameters, with the class weight of the rows the trees see."""
        kept = float(counts.loc[list(slices), "kept"].sum())
        positives = max(float(counts.loc[list(slices), "kept_positives"].sum()), 1.0)
        params = self._lgb_params(config, np.array([1.0, 0.0]), features)
        ratio = (kept - positives) / positives
        weight = {"sqrt": np.sqrt(ratio), "balanced": ratio, "none": 1.0}[config.imbalance]
        params["scale_pos_weight"] = float(weight)
        return params

    def _grow_on_cluster(
        self,
        client: Client,
        parts: list,
        per_part: list[pd.DataFrame],
        features: list[str],
        meta: pd.DataFrame,
        slices: tuple[int, ...],
    ) -> Any:
        """``best_iteration_`` trees grown by LightGBM on the workers from the kept rows of
        ``slices`` (partitions without such rows left out)."""
        import dask.dataframe as dd
        from lightgbm.dask import DaskLGBMClassifier

        sizes = [
            int(c.set_index(SLICE)["kept"].reindex(list(slices)).fillna(0).sum()) for c in per_part
        ]
        total = sum(sizes)
        per_category = max(1, math.ceil(GUARD_SAFETY * total / BIN_SAMPLE_ROWS))
        chosen = [
            client.submit(
                _select, p, slices, features, self.categories_, per_category, self.offset_
            )
            for p, size in zip(parts, sizes, strict=True)
            if size
        ]
        rows = dd.from_delayed(chosen, meta=meta, verify_meta=False)
        params = {k: v for k, v in self.params_.items() if k not in _LOCAL_ONLY_PARAMS}
        estimator = DaskLGBMClassifier(client=client, n_estimators=self.best_iteration_, **params)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*(Found|Parameter).*", module="lightgbm")
            estimator.fit(
                rows[features], rows[LABEL], sample_weight=rows[WEIGHT], init_score=rows[INIT]
            )
        client.cancel(chosen)
        return estimator.booster_

    def to_local(self) -> ShortageRiskModel:
        """A plain ``ShortageRiskModel`` with the same booster and calibration (picklable
        and loadable without Dask)."""
        local = ShortageRiskModel(self.config, horizon=self.horizon)
        for name in FITTED:
            if hasattr(self, name):
                setattr(local, name, getattr(self, name))
        return local
