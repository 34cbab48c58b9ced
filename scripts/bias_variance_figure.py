"""Draw the classic bias-variance trade-off figure as a standalone SVG.

The figure plots, against model complexity, four illustrative curves:

* bias squared, which falls as the model gets more flexible;
* variance, which rises as the model gets more flexible;
* irreducible error (noise), which is flat;
* total expected error, the sum of the three, which is U-shaped.

The minimum of the total curve (the "sweet spot") is marked with a dot and a
vertical guide line.  The curves are made-up smooth functions chosen for
clarity; they illustrate the shape, not any particular model.

Only the Python standard library is used.  The output is deterministic (the
same bytes on every run), uses a ``viewBox`` so it scales on small screens,
keeps all text at 14px or larger, and draws its own white rounded background so
it reads the same on light and dark Anki themes.

Usage::

    python3 scripts/bias_variance_figure.py [OUTPUT_SVG]

OUTPUT_SVG defaults to ``cards/ml-interview/img/bias-variance.svg`` relative to
the repository root (the parent of this script's folder).
"""

from __future__ import annotations

import math
from pathlib import Path

import figure_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "cards" / "ml-interview" / "img" / "bias-variance.svg"

# Canvas and plot area, in SVG user units.
WIDTH, HEIGHT = 600, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 575, 25, 330
Y_MAX = 1.25  # top of the y axis, in "error" units

NOISE = 0.15
SAMPLES = 120  # points per curve

# Okabe-Ito colours (colour-blind safe); line styles differ too.
BIAS_COLOUR = "#0072B2"
VARIANCE_COLOUR = "#D55E00"
NOISE_COLOUR = "#666666"
TOTAL_COLOUR = "#111111"
SWEET_COLOUR = "#009E73"
FONT = "font-family=\"Helvetica, Arial, sans-serif\""


def bias_squared(x: float) -> float:
    """Illustrative squared bias: large for simple models, decays with complexity."""
    return math.exp(-4.0 * x)


def variance(x: float) -> float:
    """Illustrative variance: small for simple models, grows with complexity."""
    return 0.9 * math.exp(4.0 * (x - 1.0))


def irreducible(_x: float) -> float:
    """Irreducible error (noise variance): the same for every model."""
    return NOISE


def total(x: float) -> float:
    """Total expected error = bias^2 + variance + irreducible error."""
    return bias_squared(x) + variance(x) + irreducible(x)


def to_px(x: float, y: float) -> tuple[float, float]:
    """Map a point in data space (x in [0, 1], y in [0, Y_MAX]) to SVG units."""
    px = LEFT + x * (RIGHT - LEFT)
    py = BOTTOM - (y / Y_MAX) * (BOTTOM - TOP)
    return px, py


def fmt(value: float) -> str:
    """Format a coordinate with fixed precision so output is byte-stable."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def polyline(func, colour: str, width: float, dash: str | None = None) -> str:
    """Return an SVG polyline that samples ``func`` over [0, 1]."""
    points = []
    for i in range(SAMPLES + 1):
        x = i / SAMPLES
        y = min(func(x), Y_MAX)
        px, py = to_px(x, y)
        points.append(f"{fmt(px)},{fmt(py)}")
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
        f'stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"{dash_attr}/>'
    )


def sweet_spot() -> float:
    """Complexity value that minimises the total error (fine grid search)."""
    steps = 10_000
    best = min(range(steps + 1), key=lambda i: total(i / steps))
    return best / steps


def build_svg() -> str:
    """Build the whole SVG document as a string."""
    parts: list[str] = []
    add = parts.append
    add(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-labelledby="bv-title bv-desc">'
    )
    add('<title id="bv-title">Bias-variance trade-off</title>')
    add(
        '<desc id="bv-desc">As model complexity grows, bias squared falls and variance '
        "rises; irreducible error is flat. Their sum, the total expected error, is "
        "U-shaped, with its minimum at the sweet spot between underfitting and "
        "overfitting.</desc>"
    )
    # Own background so the figure works on light and dark themes.
    add(
        f'<rect x="1" y="1" width="{WIDTH - 2}" height="{HEIGHT - 2}" rx="16" ry="16" '
        'fill="#ffffff" stroke="#cccccc" stroke-width="1"/>'
    )

    # Sweet spot guide line (drawn first so curves sit on top of it).
    x_star = sweet_spot()
    sx, sy = to_px(x_star, total(x_star))
    _, y_axis_top = to_px(0, Y_MAX)
    add(
        f'<line x1="{fmt(sx)}" y1="{fmt(BOTTOM)}" x2="{fmt(sx)}" y2="{fmt(sy - 70)}" '
        f'stroke="{SWEET_COLOUR}" stroke-width="2" stroke-dasharray="3 5"/>'
    )

    # Curves.
    add(polyline(irreducible, NOISE_COLOUR, 2.5, "2 6"))
    add(polyline(bias_squared, BIAS_COLOUR, 3))
    add(polyline(variance, VARIANCE_COLOUR, 3, "10 6"))
    add(polyline(total, TOTAL_COLOUR, 4.5))

    # Sweet spot marker and label.
    add(
        f'<circle cx="{fmt(sx)}" cy="{fmt(sy)}" r="7" fill="{SWEET_COLOUR}" '
        'stroke="#ffffff" stroke-width="2"/>'
    )
    add(
        f'<text x="{fmt(sx)}" y="{fmt(sy - 78)}" {FONT} font-size="15" '
        f'font-weight="bold" fill="{SWEET_COLOUR}" text-anchor="middle">sweet spot</text>'
    )

    # Axes with arrow heads.
    add(
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#222222"/></marker></defs>'
    )
    add(
        f'<line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT + 8}" y2="{BOTTOM}" '
        'stroke="#222222" stroke-width="2" marker-end="url(#arrow)"/>'
    )
    add(
        f'<line x1="{LEFT}" y1="{BOTTOM}" x2="{LEFT}" y2="{fmt(y_axis_top - 8)}" '
        'stroke="#222222" stroke-width="2" marker-end="url(#arrow)"/>'
    )

    # Axis labels.
    add(
        f'<text x="{fmt(LEFT)}" y="{BOTTOM + 22}" {FONT} font-size="14" fill="#444444" '
        'text-anchor="start">simple: underfitting</text>'
    )
    add(
        f'<text x="{fmt(RIGHT)}" y="{BOTTOM + 22}" {FONT} font-size="14" fill="#444444" '
        'text-anchor="end">complex: overfitting</text>'
    )
    add(
        f'<text x="{fmt((LEFT + RIGHT) / 2)}" y="{BOTTOM + 50}" {FONT} font-size="17" '
        'font-weight="bold" fill="#222222" text-anchor="middle">Model complexity</text>'
    )
    mid_y = (TOP + BOTTOM) / 2
    add(
        f'<text x="0" y="0" transform="translate(32 {fmt(mid_y)}) rotate(-90)" {FONT} '
        'font-size="17" font-weight="bold" fill="#222222" text-anchor="middle">'
        "Expected error</text>"
    )

    # Legend, placed in the empty region above the bottom of the U.
    legend = [
        ("Total error", TOTAL_COLOUR, 4.5, None),
        ("Bias\u00b2", BIAS_COLOUR, 3, None),
        ("Variance", VARIANCE_COLOUR, 3, "10 6"),
        ("Irreducible error", NOISE_COLOUR, 2.5, "2 6"),
    ]
    box_w, row_h = 196, 22
    box_h = row_h * len(legend) + 14
    box_x = (LEFT + RIGHT) / 2 - box_w / 2 + 10
    box_y = TOP + 4
    add(
        f'<rect x="{fmt(box_x)}" y="{fmt(box_y)}" width="{box_w}" height="{box_h}" '
        'rx="8" ry="8" fill="#ffffff" fill-opacity="0.92" stroke="#bbbbbb" stroke-width="1"/>'
    )
    for i, (label, colour, width, dash) in enumerate(legend):
        cy = box_y + 18 + i * row_h
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        add(
            f'<line x1="{fmt(box_x + 12)}" y1="{fmt(cy)}" x2="{fmt(box_x + 50)}" '
            f'y2="{fmt(cy)}" stroke="{colour}" stroke-width="{width}" '
            f'stroke-linecap="round"{dash_attr}/>'
        )
        add(
            f'<text x="{fmt(box_x + 60)}" y="{fmt(cy + 5)}" {FONT} font-size="15" '
            f'fill="#222222">{label}</text>'
        )

    add("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the SVG and report where it went."""
    return figure_cli.main(__doc__.splitlines()[0], build_svg, DEFAULT_OUTPUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
