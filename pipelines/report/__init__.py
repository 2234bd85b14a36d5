"""The weekly shortage-risk report: one self-contained, offline HTML page per scores directory."""

from __future__ import annotations

from pipelines.report.render import render_report, script_json
from pipelines.report.waterfall import probability_waterfall, sigmoid

__all__ = ["probability_waterfall", "render_report", "script_json", "sigmoid"]
