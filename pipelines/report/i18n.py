"""User-interface strings in Dutch (default) and English.

Both languages are embedded in the page so the toggle works offline; data values
(pack names, driver sentences) are shown as the batch wrote them.
"""

from __future__ import annotations

DEFAULT_LANGUAGE = "nl"
LANGUAGES = ("nl", "en")

STRINGS: dict[str, tuple[str, str]] = {
    "title": ("Tekortrisico geneesmiddelen", "Medicine shortage risk"),
    "lang.toggle": ("English", "Nederlands"),
    "header.as_of": ("Peildatum", "As of"),
    "header.horizons": ("Horizonnen", "Horizons"),
    "header.weeks": ("weken", "weeks"),
    "header.models": ("Modellen", "Models"),
    "header.counts": ("Aantallen", "Counts"),
    "header.created_by": ("Gemaakt met", "Created by"),
    "header.fingerprint": ("Invoer-vingerafdruk", "Input fingerprint"),
    "caution": (
        "Let op: het model toont samenhang, geen oorzaken. Een hoge kans is een signaal om"
        " na te gaan, geen voorspelling met zekerheid.",
        "Caution: the model shows associations, not causes. A high probability is a signal"
        " to look into, not a certain prediction.",
    ),
    "freshness.warning": ("Verouderde of lege brondata", "Stale or empty source data"),
    "freshness.stale": (
        "laatste rij {weeks} weken oud (verwacht binnen {limit})",
        "last row {weeks} weeks old (expected within {limit})",
    ),
    "freshness.empty": ("geen rijen", "no rows"),
    "drift.warning": ("Verschuiving in invoerdata", "Input drift"),
    "nav.packs": ("Risicovolle verpakkingen", "At-risk packs"),
    "nav.gpk": ("GPK's", "GPKs"),
    "nav.changes": ("Veranderingen", "Changes"),
    "nav.families": ("Drijvende factoren", "Drivers"),
    "nav.status": ("Niet gescoord", "Not scored"),
    "nav.model": ("Modelkaart", "Model card"),
    "horizon.label": ("Horizon", "Horizon"),
    "horizon.option": ("{h} weken", "{h} weeks"),
    "horizon.missing": (
        "Voor deze horizon zijn geen scores beschikbaar.",
        "No scores are available for this horizon.",
    ),
    "packs.title": ("Verpakkingen met het hoogste risico", "Packs at highest risk"),
    "packs.embedded": (
        "Per horizon zijn de {top} verpakkingen met het hoogste risico opgenomen"
        " (van {scored} gescoord); de volledige lijst staat in risk.csv.",
        "Per horizon the {top} packs at highest risk are included (of {scored} scored);"
        " the full list is in risk.csv.",
    ),
    "packs.help": (
        "Klik op een kolomkop om te sorteren en op een rij voor de uitleg.",
        "Click a column heading to sort and a row for its explanation.",
    ),
    "filter.top": ("Toon top", "Show top"),
    "filter.atc": ("ATC-groep", "ATC group"),
    "filter.critical": ("Kritieke lijst", "Critical list"),
    "filter.suppliers": ("Leveranciers", "Suppliers"),
    "filter.search": ("Zoek naam of ZI-nummer", "Search name or ZI number"),
    "filter.all": ("alle", "all"),
    "filter.critical_any": ("op de lijst", "on the list"),
    "filter.critical_none": ("niet op de lijst", "not on the list"),
    "filter.shown": ("getoond", "shown"),
    "filter.none_match": (
        "Geen verpakkingen voldoen aan de filters.",
        "No packs match the filters.",
    ),
    "col.rank": ("#", "#"),
    "col.zi": ("ZI-nummer", "ZI number"),
    "col.name": ("Naam", "Name"),
    "col.atc": ("ATC", "ATC"),
    "col.mah": ("Registratiehouder", "MAH"),
    "col.probability": ("Kans", "Probability"),
    "col.band": ("Risico", "Risk"),
    "col.trend": ("Trend", "Trend"),
    "col.drivers": ("Belangrijkste factoren", "Top drivers"),
    "col.gpk": ("GPK", "GPK"),
    "col.max_probability": ("Max. kans", "Max probability"),
    "col.expected_short": ("Verwacht tekort (verp.)", "Expected packs short"),
    "col.packs_remaining": ("Verp. beschikbaar", "Packs remaining"),
    "col.suppliers": ("Leveranciers", "Suppliers"),
    "col.critical": ("Kritiek", "Critical"),
    "col.packs": ("Verpakkingen", "Packs"),
    "col.change": ("Verandering", "Change"),
    "col.previous": ("Vorige week", "Last week"),
    "col.delta": ("Verschil", "Difference"),
    "col.status": ("Status", "Status"),
    "col.since": ("Sinds", "Since"),
    "col.metric": ("Maat", "Metric"),
    "col.value": ("Waarde", "Value"),
    "col.interval": ("95%-interval", "95% interval"),
    "col.table": ("Tabel", "Table"),
    "col.rows": ("Rijen", "Rows"),
    "col.last_date": ("Laatste datum", "Last date"),
    "col.weeks_old": ("Weken oud", "Weeks old"),
    "col.feature": ("Kenmerk", "Feature"),
    "col.psi": ("PSI", "PSI"),
    "band.high": ("hoog", "high"),
    "band.elevated": ("verhoogd", "elevated"),
    "band.moderate": ("matig", "moderate"),
    "band.low": ("laag", "low"),
    "band.legend": ("Risicoklassen", "Risk bands"),
    "critical.red": ("rood", "red"),
    "critical.orange": ("oranje", "orange"),
    "suppliers.unknown": ("onbekend", "unknown"),
    "detail.show": ("Uitleg", "Explain"),
    "detail.probability": ("Gekalibreerde kans", "Calibrated probability"),
    "detail.raw": ("Model zonder kalibratie", "Model before calibration"),
    "detail.calibration_note": (
        "De balken tellen op tot de kans vóór kalibratie; de getoonde kans is gekalibreerd"
        " en kan daarom afwijken (stippellijn).",
        "The bars add up to the probability before calibration; the probability shown is"
        " calibrated and may therefore differ (dashed line).",
    ),
    "detail.trend": ("Trend over de afgelopen weken", "Trend over the past weeks"),
    "detail.no_trend": ("Geen trendgegevens.", "No trend data."),
    "detail.waterfall": ("Opbouw van de kans", "How the probability builds up"),
    "detail.base": ("gemiddelde (basis)", "average (base)"),
    "detail.other": ("overige kenmerken", "other features"),
    "detail.final": ("totaal vóór kalibratie", "total before calibration"),
    "detail.sentences": ("In gewone taal", "In plain language"),
    "detail.no_drivers": ("Geen uitleg beschikbaar.", "No explanation available."),
    "gpk.title": ("GPK's met het hoogste risico", "GPKs at highest risk"),
    "gpk.empty": ("Geen GPK-scores.", "No GPK scores."),
    "changes.title": ("Veranderingen sinds vorige week", "Changes since last week"),
    "changes.new": ("Nieuw in de top 100", "New in the top 100"),
    "changes.risers": ("Grootste stijgers", "Biggest risers"),
    "changes.empty": (
        "Geen veranderingen (bijvoorbeeld de eerste week).",
        "No changes (for example the first week).",
    ),
    "change.new in top 100": ("nieuw in top 100", "new in top 100"),
    "change.riser": ("stijger", "riser"),
    "families.title": ("Drijvende factoren deze week", "Drivers this week"),
    "families.help": (
        "Gemiddelde absolute SHAP-waarde (log-odds) per kenmerkfamilie.",
        "Mean absolute SHAP value (log-odds) per feature family.",
    ),
    "families.empty": ("Geen gegevens over kenmerkfamilies.", "No feature-family data."),
    "status.title": ("Niet gescoorde verpakkingen", "Packs not scored"),
    "status.help": (
        "Verpakkingen die nu in tekort zijn, uit de handel of nog niet op de markt.",
        "Packs currently in shortage, off the market or not yet on the market.",
    ),
    "status.truncated": ("De eerste {n} van {total} worden getoond.", "Showing {n} of {total}."),
    "status.empty": ("Alle verpakkingen zijn gescoord.", "All packs were scored."),
    "status.in shortage": ("in tekort", "in shortage"),
    "status.off market": ("uit de handel", "off market"),
    "status.not yet on market": ("nog niet op de markt", "not yet on market"),
    "model.title": ("Modelkaart", "Model card"),
    "model.name": ("Naam", "Name"),
    "model.version": ("Versie", "Version"),
    "model.run": ("Run-id", "Run id"),
    "model.window": ("Trainingsperiode", "Training window"),
    "model.backtest": ("Backtest", "Backtest"),
    "model.calibration": ("Kalibratie", "Calibration"),
    "model.calibration_help": (
        "Voorspelde kans (x) tegen waargenomen aandeel (y); op de diagonaal is perfect.",
        "Predicted probability (x) against observed rate (y); the diagonal is perfect.",
    ),
    "model.no_calibration": ("Geen kalibratiepunten.", "No calibration points."),
    "model.missing": (
        "Geen modelgegevens voor deze horizon.",
        "No model details for this horizon.",
    ),
    "model.freshness": ("Actualiteit van de data", "Data freshness"),
    "model.drift": ("Verschuiving (PSI boven {t})", "Drift (PSI above {t})"),
    "model.no_drift": ("Geen kenmerken boven de drempel.", "No features above the threshold."),
    "model.drift_absent": (
        "Geen driftgegevens (drift.parquet ontbreekt).",
        "No drift data (drift.parquet is absent).",
    ),
    "trend.absent": (
        "Geen trendgegevens (trend.parquet ontbreekt).",
        "No trend data (trend.parquet is absent).",
    ),
    "metric.pr_auc": ("PR-AUC", "PR-AUC"),
    "metric.roc_auc": ("ROC-AUC", "ROC-AUC"),
    "metric.brier": ("Brier-score", "Brier score"),
    "metric.ece": ("ECE (kalibratiefout)", "ECE (calibration error)"),
    "metric.precision_at_100": ("Precisie@100", "Precision@100"),
    "metric.recall_at_100": ("Recall@100", "Recall@100"),
    "count.scored": ("gescoord", "scored"),
    "count.short": ("in tekort", "in shortage"),
    "count.off market": ("uit de handel", "off market"),
    "count.off_market": ("uit de handel", "off market"),
    "footer": (
        "Dit bestand werkt offline; het laadt niets van internet.",
        "This file works offline; it loads nothing from the internet.",
    ),
}


def text(key: str, language: str = DEFAULT_LANGUAGE) -> str:
    """The string for ``key``; a missing key fails loudly so typos never reach a page."""
    return STRINGS[key][LANGUAGES.index(language)]


def table(language: str) -> dict[str, str]:
    """All strings of one language, for the page script."""
    index = LANGUAGES.index(language)
    return {key: pair[index] for key, pair in STRINGS.items()}
