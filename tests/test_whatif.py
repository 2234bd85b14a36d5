"""What-if scenarios: each lever changes exactly its rows, and the run re-scores honestly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from features.io import write_market
from features.market import Market
from features.synthetic_market import generate_market
from features.validation import load_market
from forecast.cli_whatif import register
from models.config import ModelConfig
from pipelines.scenarios import (
    ScenarioError,
    builtin_names,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
    to_toml,
)
from pipelines.score import score
from pipelines.tracking import TrackingConfig
from pipelines.train import train
from pipelines.whatif import apply_scenario, run_whatif

AS_OF = pd.Timestamp("2022-01-03")
TABLES = ("products", "shortages", "wgp_prices", "list_prices", "gvs_limits", "tenders",
          "registrations", "notifications", "critical_list")  # fmt: skip


def changed_tables(before: Market, after: Market) -> set[str]:
    return {t for t in TABLES if not before.table(t).equals(after.table(t))}  # type: ignore[union-attr]


def tab(market: Market, name: str) -> pd.DataFrame:
    frame = market.table(name)
    assert frame is not None
    return frame


def apply(market: Market, name: str) -> Market:
    return apply_scenario(market, builtin_scenarios()[name], AS_OF)[0]


def test_builtins_are_listed_and_round_trip_through_toml() -> None:
    assert builtin_names() == ["keep-supplier", "short-designation", "two-preferred", "wgp-plus-15"]
    for name, scenario in builtin_scenarios().items():
        assert parse_scenario(to_toml(scenario, "header"), name) == scenario


def test_wgp_plus_15_adds_one_row_dated_as_of_per_low_price_pack(tiny_dir: Path) -> None:
    market = load_market(tiny_dir)
    after = apply(market, "wgp-plus-15")
    assert changed_tables(market, after) == {"wgp_prices"}
    old, new = tab(market, "wgp_prices"), tab(after, "wgp_prices")
    assert new.iloc[: len(old)].equals(old)  # existing rows untouched
    added = new.iloc[len(old) :]
    # 00012345 (AIP 8.50) is low turnover; 00023456 (AIP 29) is not; 00012346 has no Wgp row.
    assert added["zi_number"].tolist() == ["00012345"]
    assert added["valid_from"].tolist() == [AS_OF]
    assert added["max_price"].tolist() == pytest.approx([9.10 * 1.15])


def test_two_preferred_adds_a_second_pack_to_each_designation_in_force(tiny_dir: Path) -> None:
    market = load_market(tiny_dir)
    after = apply(market, "two-preferred")
    assert changed_tables(market, after) == {"tenders"}
    old, new = tab(market, "tenders"), tab(after, "tenders")
    assert new.iloc[: len(old)].equals(old)
    added = new.iloc[len(old) :].sort_values("insurer")
    assert added[["insurer", "zi_number"]].values.tolist() == [
        ["CZ", "00012345"],
        ["VGZ", "00012346"],
    ]
    assert (added["valid_from"] == AS_OF).all()
    assert added["valid_to"].tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp("2022-07-01")]
    assert added["market_share"].tolist() == [0.21, 0.25]


def test_short_designation_moves_only_the_end_of_periods_in_force(tiny_dir: Path) -> None:
    market = load_market(tiny_dir)
    after = apply(market, "short-designation")
    assert changed_tables(market, after) == {"tenders"}
    old, new = tab(market, "tenders"), tab(after, "tenders")
    assert new.drop(columns="valid_to").equals(old.drop(columns="valid_to"))
    # Both started more than 12 months before as-of: they end one week later, not in the past.
    assert new["valid_to"].tolist() == [AS_OF + pd.Timedelta(weeks=1)] * 2
    later = apply_scenario(
        market, builtin_scenarios()["short-designation"], pd.Timestamp("2021-03-01")
    )
    assert tab(later[0], "tenders")["valid_to"].tolist() == [
        pd.Timestamp("2021-07-01"),  # VGZ from 2020-07-01, was 2022-07-01
        pd.Timestamp("2022-01-01"),  # CZ from 2021-01-01, was 2023-01-01
    ]


def test_keep_supplier_registers_one_more_holder_for_single_supplier_gpks(tiny_dir: Path) -> None:
    market = load_market(tiny_dir)
    after = apply(market, "keep-supplier")
    assert changed_tables(market, after) == {"registrations"}
    old, new = tab(market, "registrations"), tab(after, "registrations")
    assert new.iloc[: len(old)].equals(old)
    added = new.iloc[len(old) :]
    assert added["gpk"].tolist() == ["00000202"]  # 00000101 already has two holders
    assert added["registered_on"].tolist() == [AS_OF - pd.Timedelta(weeks=52)]
    assert added["withdrawn_on"].isna().all()
    assert not set(added["mah"]) & set(old["mah"])


def test_user_scenario_file_works(tiny_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "cheap-antibiotics.toml"
    path.write_text(
        'description = "Antibiotic list prices down 10%, and a new entrant where there is one."\n'
        '[[operations]]\nop = "scale_price"\ntable = "list_prices"\nfactor = 0.9\n'
        'select = { atc_prefix = "J01", aip_at_most = 8.6 }\n'
        '[[operations]]\nop = "add_supplier"\nsuppliers = 2\n',
        encoding="utf-8",
    )
    scenario = load_scenario(path)
    assert scenario.name == "cheap-antibiotics"
    market = load_market(tiny_dir)
    after, changes = apply_scenario(market, scenario, AS_OF)
    assert changed_tables(market, after) == {"list_prices", "registrations"}
    added = tab(after, "list_prices").iloc[len(tab(market, "list_prices")) :]
    assert added["zi_number"].tolist() == ["00012345"]  # 8.75 is above the ceiling
    assert added["aip"].tolist() == pytest.approx([8.50 * 0.9])
    new_reg = tab(after, "registrations").iloc[len(tab(market, "registrations")) :]
    assert new_reg["gpk"].tolist() == ["00000101"] and new_reg["registered_on"].tolist() == [AS_OF]
    assert [c.op for c in changes] == ["scale_price", "add_supplier"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('description = "x"\n[[operations]]\nop = "scale_price"\ntable = "wgp_prices"\n'
         "factor = -1\n", "operations[0].factor"),
        ('description = "x"\n[[operations]]\nop = "add_supplier"\ncolour = "red"\n',
         "operations[0].colour"),
        ('description = "x"\n[[operations]]\nop = "raise_taxes"\n', "operations[0]"),
        ('description = "x"\n[[operations]]\nop = "add_preferred"\n'
         'select = { atc = "J01" }\n', "operations[0].select.atc"),
        ("description = \n", "not valid TOML"),
        ('name = "Bad Name"\ndescription = "x"\n[[operations]]\nop = "add_preferred"\n', "name"),
    ],
)  # fmt: skip
def test_malformed_scenario_fails_naming_the_file_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(path) in str(info.value) and expected in str(info.value)


def test_unknown_scenario_names_the_builtins() -> None:
    with pytest.raises(ScenarioError, match="wgp-plus-15"):
        load_scenario("no-such-scenario")


# --- end to end --------------------------------------------------------------------------------

HORIZON = 13
FAST_MODEL = ModelConfig(
    max_rounds=40, early_stopping_rounds=10, early_stopping_weeks=13, calibration_weeks=13,
    min_data_in_leaf=40,
)  # fmt: skip
ODD_NAME = '<script>alert("x")</script> & Co'


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrackingConfig, pd.Timestamp]:
    root = tmp_path_factory.mktemp("whatif")
    market = generate_market(n_packs=250, years=4, seed=5).market
    products = market.products.copy()
    products.loc[0, "name"] = ODD_NAME
    data_dir = root / "data"
    write_market(Market.from_frames({**dict(market.present()), "products": products}), data_dir)
    tracking = TrackingConfig(tracking_uri=f"sqlite:///{root / 'mlflow.db'}", experiment="whatif")
    train(data_dir, HORIZON, FAST_MODEL, tracking)
    last = load_market(data_dir).shortages["reported_on"].max()
    as_of = (last - pd.Timedelta(days=last.weekday())).normalize()
    return data_dir, tracking, as_of


def test_keep_supplier_end_to_end(
    trained: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    data_dir, tracking, as_of = trained
    scenario = load_scenario("keep-supplier")
    target = run_whatif(data_dir, as_of, scenario, tmp_path / "w", tracking, horizons=(HORIZON,))
    assert target == tmp_path / "w" / f"{as_of:%Y-%m-%d}-keep-supplier"
    names = {p.name for p in target.iterdir()}
    assert names == {"packs.parquet", "packs.csv", "gpk.parquet", "gpk.csv", "atc.parquet",
                     "atc.csv", "scenario.toml", "summary.json", "whatif.html"}  # fmt: skip
    assert parse_scenario((target / "scenario.toml").read_text(), "resolved") == scenario

    # The baseline is exactly the weekly batch's score of the same week.
    scores = score(data_dir, as_of, tmp_path / "s", tracking, horizons=(HORIZON,), report=False)
    risk = pd.read_parquet(scores / "risk.parquet").set_index("zi_number")
    packs = pd.read_parquet(target / "packs.parquet")
    assert len(packs) == len(risk)
    np.testing.assert_array_equal(
        packs.set_index("zi_number")["baseline_probability"].loc[risk.index], risk["probability"]
    )
    assert (packs.set_index("zi_number")["baseline_rank"].loc[risk.index] == risk["rank"]).all()

    # More suppliers never raise risk in this model (monotone sup_mahs): not higher on average.
    affected = packs[packs["affected"]]
    assert len(affected) > 0
    assert set(";".join(affected["changed_features"]).split(";")) == {"sup_mahs"}
    assert affected["scenario_probability"].mean() <= affected["baseline_probability"].mean()
    assert (affected["change"] <= 1e-12).all()
    assert (packs.loc[~packs["affected"], "change"] == 0).all()

    summary = json.loads((target / "summary.json").read_text())
    assert summary["features_changed"] == {"sup_mahs": int(affected["zi_number"].nunique())}
    gpk = pd.read_parquet(target / "gpk.parquet")
    assert gpk["packs_scored"].sum() == len(packs)
    assert {"mean_change", "max_change", "expected_packs_short_baseline",
            "expected_packs_short_scenario"} <= set(gpk.columns)  # fmt: skip
    assert pd.read_parquet(target / "atc.parquet")["packs_scored"].sum() == len(packs)

    html = (target / "whatif.html").read_text(encoding="utf-8")
    assert "association, not a causal estimate" in html and "Association, not causation" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html
    if ODD_NAME in set(packs["name"]):
        assert "&lt;script&gt;alert(" in html or ODD_NAME not in set(affected["name"])


def test_every_builtin_runs_and_a_rerun_is_byte_identical(
    trained: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    data_dir, tracking, as_of = trained
    effects = {}
    for name in builtin_names():
        target = run_whatif(
            data_dir, as_of, load_scenario(name), tmp_path / "w", tracking, horizons=(HORIZON,)
        )
        packs = pd.read_parquet(target / "packs.parquet")
        effects[name] = packs.loc[packs["affected"], "change"].mean()
        assert "association, not a causal estimate" in (target / "summary.json").read_text()
    print("mean change of 13-week risk, affected packs:", effects)
    again = run_whatif(
        data_dir, as_of, load_scenario("two-preferred"), tmp_path / "x", tracking,
        horizons=(HORIZON,),
    )  # fmt: skip
    for path in again.iterdir():
        reference = tmp_path / "w" / again.name / path.name
        assert path.read_bytes() == reference.read_bytes(), path.name


def test_cli_whatif_lists_builtins_and_runs(
    trained: tuple[Path, TrackingConfig, pd.Timestamp], tmp_path: Path
) -> None:
    data_dir, tracking, as_of = trained
    app = typer.Typer()
    app.callback()(lambda: None)
    register(app)
    runner = CliRunner()
    listed = runner.invoke(app, ["whatif", "--list"])
    assert listed.exit_code == 0
    for name in builtin_names():
        assert name in listed.output
    args = ["whatif", str(data_dir), "--as-of", f"{as_of:%Y-%m-%d}", "--out", str(tmp_path)]
    args += ["--horizons", str(HORIZON), "--tracking-uri", tracking.tracking_uri]
    ok = runner.invoke(app, [*args, "--scenario", "wgp-plus-15"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / f"{as_of:%Y-%m-%d}-wgp-plus-15" / "whatif.html").is_file()
    bad = tmp_path / "bad.toml"
    bad.write_text('description = "x"\n[[operations]]\nop = "shorten_designation"\n')
    failed = runner.invoke(app, [*args, "--scenario", str(bad)])
    assert failed.exit_code == 1 and "operations[0].months" in failed.stderr


def test_page_states_association_and_escapes_names() -> None:
    from pipelines.whatif import atc_table, gpk_table, horizon_summary, render_html

    packs = pd.DataFrame(
        {
            "as_of": AS_OF, "zi_number": ["1", "2"], "name": [ODD_NAME, "Plain"],
            "gpk": ["g", "g"], "atc": ["J01CA04", ""], "horizon": 13,
            "baseline_probability": [0.2, 0.1], "scenario_probability": [0.1, 0.1],
            "change": [-0.1, 0.0], "baseline_rank": [1, 2], "scenario_rank": [1, 2],
            "rank_change": [0, 0], "affected": [True, False],
            "changed_features": ["sup_mahs", ""],
        }
    )  # fmt: skip
    summary: dict[str, object] = {
        "as_of": "2022-01-03", "created_by": "test", "statement": "association, not causal",
        "scenario": {"name": "x", "description": "<i>lever</i>"}, "models": {},
        "changes": [], "features_changed": {"sup_mahs": 1}, "horizons": horizon_summary(packs),
    }  # fmt: skip
    html = render_html(summary, packs, gpk_table(packs), atc_table(packs), "name = 'x'")
    assert "Association, not causation" in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html
    assert "<script" not in html and "<i>" not in html and "<link" not in html
