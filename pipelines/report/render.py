"""Rendering the report page: Jinja2 with autoescape, CSS and JS inlined from the package."""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from features.atomic import atomic_file
from pipelines.report import i18n, view
from pipelines.report.load import load_scores

TEMPLATE = "report.html.j2"
_SCRIPT_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def script_json(value: Any) -> Markup:
    """JSON that is safe inside <script>: no tag, entity or line-separator can break out."""
    encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return Markup("".join(_SCRIPT_ESCAPES.get(ch, ch) for ch in encoded))


def _resource(name: str) -> str:
    return resources.files("pipelines.report").joinpath(name).read_text(encoding="utf-8")


def t(key: str, **args: Any) -> Markup:
    """A UI string in the default language, tagged so the page script can switch it."""
    string = i18n.text(key).format(**args)
    data_args = f' data-i18n-args="{escape(json.dumps(args))}"' if args else ""
    return Markup(f'<span data-i18n="{escape(key)}"{data_args}>{escape(string)}</span>')


def vocab(kind: str, value: str) -> Markup:
    """Known data values (risk band, status, change) are translated; others shown as is."""
    key = f"{kind}.{value}"
    return t(key) if key in i18n.STRINGS else escape(value)


def pct(value: Any, digits: int = 1) -> str:
    if value is None or value != value:
        return "\u2013"
    return f"{float(value) * 100:.{digits}f}%"


def num(value: Any, digits: int = 3) -> str:
    if value is None or value == "" or value != value:
        return "\u2013"
    return f"{float(value):.{digits}f}"


def environment() -> Environment:
    env = Environment(
        loader=DictLoader({TEMPLATE: _resource(TEMPLATE)}),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(t=t, vocab=vocab, script_json=script_json, i18n_keys=set(i18n.STRINGS))
    env.filters.update(pct=pct, num=num)
    return env


def context(scores_dir: Path, top: int = view.EMBED_TOP) -> dict[str, Any]:
    """Everything the template needs, computed once."""
    scores = load_scores(scores_dir)
    summary = scores.summary
    as_of = view.iso_date(summary.get("as_of")) or view.iso_date(scores.risk["as_of"].iloc[0])
    horizons = view.horizons_of(scores)
    views = [view.horizon_view(scores, h, top, as_of) for h in horizons]
    page_data = {
        "strings": {lang: i18n.table(lang) for lang in i18n.LANGUAGES},
        "details": {str(v.horizon): v.details for v in views},
    }
    return {
        "as_of": as_of,
        "summary": summary,
        "created_by": view.text_of(summary.get("created_by")),
        "fingerprint": view.text_of(summary.get("input_fingerprint")),
        "counts": summary.get("counts") or {},
        "risk_bands": summary.get("risk_bands") or {},
        "horizons": horizons,
        "default_horizon": view.default_horizon(scores, horizons),
        "views": views,
        "embed_top": top,
        "top_choices": [c for c in view.TOP_CHOICES if c <= top] or [top],
        "default_top": min(view.DEFAULT_TOP, top),
        "atc_options": view.atc_options(views),
        "freshness": view.freshness(summary),
        "drift_warnings": view.drift_warning_texts(summary),
        "drift_threshold": view.text_of(summary.get("drift_threshold")) or "\u2013",
        "trend_absent": scores.trend is None,
        "status": view.status_rows(scores.status),
        "status_total": len(scores.status),
        "status_limit": view.STATUS_LIMIT,
        "page_data": page_data,
        "css": Markup(_resource("report.css")),
        "js": Markup(_resource("report.js")),
        "generated": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }


def render_html(scores_dir: Path, top: int = view.EMBED_TOP) -> str:
    return environment().get_template(TEMPLATE).render(**context(scores_dir, top))


def render_report(scores_dir: Path, out: Path, *, top: int = view.EMBED_TOP) -> Path:
    """Write the self-contained report for ``scores_dir`` to ``out`` (atomically) and return it.

    Only the ``top`` packs per horizon are embedded, so a full market stays a small file.
    """
    html = render_html(Path(scores_dir), top)
    out = Path(out)
    with atomic_file(out) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return out
