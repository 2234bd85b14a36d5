"""Small inline SVG charts, so the page needs no chart library or network.

Every text that comes from the data goes through ``escape``; the charts are
returned as ``Markup`` only after that.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

BAR_COLOUR = "#3b6ea5"


def _num(x: float) -> str:
    return f"{x:.1f}"


def sparkline(values: Sequence[float], width: int = 90, height: int = 22) -> Markup:
    """A trend line on the pack's own scale (minimum span 2 points) with its last point."""
    if len(values) < 2:
        return Markup("")
    low, high = min(values), max(values)
    span = max(high - low, 0.02)
    mid = (low + high) / 2
    low = mid - span / 2
    step = (width - 4) / (len(values) - 1)
    points = [
        (2 + i * step, height - 2 - (v - low) / span * (height - 4)) for i, v in enumerate(values)
    ]
    rising = values[-1] > values[0] + 0.005
    falling = values[-1] < values[0] - 0.005
    cls = "up" if rising else "down" if falling else "flat"
    path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    title = f"{values[0] * 100:.1f}% \u2192 {values[-1] * 100:.1f}%"
    last_x, last_y = points[-1]
    return Markup(
        f'<svg class="spark {cls}" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' role="img"><title>{escape(title)}</title><polyline points="{path}"/>'
        f'<circle cx="{_num(last_x)}" cy="{_num(last_y)}" r="2"/></svg>'
    )


def bar_chart(items: Sequence[tuple[str, float]], width: int = 560, row: int = 22) -> Markup:
    """Horizontal bars, largest first, labels on the left and values on the right."""
    if not items:
        return Markup("")
    label_w, value_w = 170, 60
    plot_w = width - label_w - value_w
    top = max(v for _, v in items) or 1.0
    height = row * len(items) + 4
    parts = [
        f'<svg class="bars" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        ' role="img">'
    ]
    for i, (label, value) in enumerate(items):
        y = 2 + i * row
        w = max(value / top * plot_w, 1.0)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + row * 0.68:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y + 3}" width="{_num(w)}" height="{row - 6}"'
            f' fill="{BAR_COLOUR}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + row * 0.68:.1f}">{value:.3f}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def calibration_plot(points: Sequence[tuple[float, float, float]], size: int = 260) -> Markup:
    """Reliability diagram: (mean predicted, observed rate, weight) on equal axes.

    The axes stop just above the largest value, because shortage probabilities are
    mostly small and a 0..1 square would squeeze every point into a corner.
    """
    if not points:
        return Markup("")
    pad = 34
    top = max(max(p, r) for p, r, _ in points)
    top = min(1.0, max(top * 1.1, 0.05))
    scale = (size - pad - 18) / top
    total_weight = sum(w for *_, w in points) or 1.0

    def xy(p: float, r: float) -> tuple[float, float]:
        return pad + p * scale, size - pad - r * scale

    x0, y0 = xy(0, 0)
    x1, y1 = xy(top, top)
    parts = [
        f'<svg class="calib" width="{size}" height="{size}" viewBox="0 0 {size} {size}"'
        ' role="img">',
        f'<rect x="{_num(x0)}" y="{_num(y1)}" width="{_num(x1 - x0)}" height="{_num(y0 - y1)}"'
        ' class="frame"/>',
        f'<line x1="{_num(x0)}" y1="{_num(y0)}" x2="{_num(x1)}" y2="{_num(y1)}" class="diag"/>',
    ]
    for tick in (0.0, top / 2, top):
        tx, ty = xy(tick, tick)
        parts.append(
            f'<text x="{_num(tx)}" y="{_num(y0 + 14)}" text-anchor="middle">{tick:.0%}</text>'
            f'<text x="{_num(x0 - 4)}" y="{_num(ty + 4)}" text-anchor="end">{tick:.0%}</text>'
        )
    for p, r, w in points:
        cx, cy = xy(min(p, top), min(r, top))
        radius = 2.5 + 6 * (w / total_weight) ** 0.5
        parts.append(
            f'<circle cx="{_num(cx)}" cy="{_num(cy)}" r="{_num(radius)}">'
            f"<title>{p:.1%} \u2192 {r:.1%}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
