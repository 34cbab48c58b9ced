"""Draw ROC curves of three classifiers of different skill as a standalone SVG.

Each classifier is the textbook "binormal" model: scores of negatives follow N(0, 1) and
scores of positives N(d, 1). Moving the threshold t traces the curve

    FPR(t) = 1 - Phi(t),   TPR(t) = 1 - Phi(t - d),   so   TPR = Phi(d + Phi^-1(FPR)),

and the area under it has the closed form AUC = Phi(d / sqrt(2)), printed in the legend.
d = 0 is the diagonal of a random guess (AUC 0.5). One point on the best curve marks the
threshold t = d / 2 halfway between the two means.

Only the Python standard library is used (statistics.NormalDist). The output is deterministic,
uses a viewBox so it scales on small screens, keeps text at 14px or larger, and draws its own
white background so it reads the same on light and dark Anki themes, like
scripts/bias_variance_figure.py.

Usage::

    python3 scripts/roc_curve_figure.py [OUTPUT_SVG]

OUTPUT_SVG defaults to ``cards/ml-interview/img/roc-curve.svg``.
"""

from __future__ import annotations

import math
from pathlib import Path
from statistics import NormalDist

import figure_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "cards" / "ml-interview" / "img" / "roc-curve.svg"

WIDTH, HEIGHT = 600, 460
LEFT, RIGHT, TOP, BOTTOM = 80, 560, 25, 385
SAMPLES = 200
STD = NormalDist()
FONT = 'font-family="Helvetica, Arial, sans-serif"'

# (separation d, colour, stroke width, dash); Okabe-Ito colours, line styles differ too.
CURVES = (
    (2.0, "#0072B2", 4, None),
    (1.0, "#D55E00", 3.5, "10 6"),
    (0.0, "#666666", 2.5, "2 6"),
)


def tpr_at(fpr: float, d: float) -> float:
    """True positive rate at a false positive rate, for the binormal model with separation d."""
    if fpr <= 0.0:
        return 0.0
    if fpr >= 1.0:
        return 1.0
    return STD.cdf(d + STD.inv_cdf(fpr))


def auc(d: float) -> float:
    """Closed-form area under the binormal ROC curve."""
    return STD.cdf(d / math.sqrt(2))


def to_px(x: float, y: float) -> tuple[float, float]:
    """Map (FPR, TPR) in [0, 1] x [0, 1] to SVG units."""
    return LEFT + x * (RIGHT - LEFT), BOTTOM - y * (BOTTOM - TOP)


def fmt(value: float) -> str:
    """Format a coordinate with fixed precision so output is byte-stable."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def curve(d: float, colour: str, width: float, dash: str | None) -> str:
    """An SVG polyline of one ROC curve, sampled densely near FPR 0 where the curves rise."""
    points = []
    for i in range(SAMPLES + 1):
        fpr = (i / SAMPLES) ** 2
        px, py = to_px(fpr, tpr_at(fpr, d))
        points.append(f"{fmt(px)},{fmt(py)}")
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"{dash_attr}/>')


def build_svg() -> str:
    """Build the whole SVG document as a string."""
    parts: list[str] = []
    add = parts.append
    add(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="roc-title roc-desc">')
    add('<title id="roc-title">ROC curves</title>')
    add('<desc id="roc-desc">True positive rate against false positive rate as the decision '
        'threshold moves, for a strong classifier (AUC 0.92), a weak one (AUC 0.76) and random '
        'guessing, the diagonal (AUC 0.5). Better classifiers bow towards the top-left '
        'corner.</desc>')
    add(f'<rect x="1" y="1" width="{WIDTH - 2}" height="{HEIGHT - 2}" rx="16" ry="16" '
        'fill="#ffffff" stroke="#cccccc" stroke-width="1"/>')
    # Light grid every 0.25.
    for k in range(1, 4):
        gx, _ = to_px(k / 4, 0)
        _, gy = to_px(0, k / 4)
        add(f'<line x1="{fmt(gx)}" y1="{TOP}" x2="{fmt(gx)}" y2="{BOTTOM}" stroke="#e5e5e5" '
            'stroke-width="1"/>')
        add(f'<line x1="{LEFT}" y1="{fmt(gy)}" x2="{RIGHT}" y2="{fmt(gy)}" stroke="#e5e5e5" '
            'stroke-width="1"/>')
    for d, colour, width, dash in reversed(CURVES):
        add(curve(d, colour, width, dash))
    # The operating point of the best classifier at the threshold halfway between the means.
    d_best = CURVES[0][0]
    t = d_best / 2
    fpr, tpr = 1 - STD.cdf(t), 1 - STD.cdf(t - d_best)
    px, py = to_px(fpr, tpr)
    add(f'<circle cx="{fmt(px)}" cy="{fmt(py)}" r="7" fill="#009E73" stroke="#ffffff" '
        'stroke-width="2"/>')
    add(f'<text x="{fmt(px + 12)}" y="{fmt(py + 22)}" {FONT} font-size="15" fill="#006b4f">'
        f'one threshold: TPR {tpr:.2f}, FPR {fpr:.2f}</text>')
    # Axes and ticks.
    add(f'<rect x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" height="{BOTTOM - TOP}" '
        'fill="none" stroke="#222222" stroke-width="2"/>')
    for k in range(5):
        value = k / 4
        tx, _ = to_px(value, 0)
        _, ty = to_px(0, value)
        label = f"{value:g}"
        add(f'<text x="{fmt(tx)}" y="{BOTTOM + 20}" {FONT} font-size="14" fill="#444444" '
            f'text-anchor="middle">{label}</text>')
        add(f'<text x="{LEFT - 8}" y="{fmt(ty + 5)}" {FONT} font-size="14" fill="#444444" '
            f'text-anchor="end">{label}</text>')
    add(f'<text x="{fmt((LEFT + RIGHT) / 2)}" y="{BOTTOM + 48}" {FONT} font-size="17" '
        'font-weight="bold" fill="#222222" text-anchor="middle">False positive rate</text>')
    mid_y = (TOP + BOTTOM) / 2
    add(f'<text x="0" y="0" transform="translate(30 {fmt(mid_y)}) rotate(-90)" {FONT} '
        'font-size="17" font-weight="bold" fill="#222222" text-anchor="middle">'
        'True positive rate (recall)</text>')
    # Legend, bottom right, under the curves.
    names = ("strong", "weak", "random")
    box_w, row_h = 190, 24
    box_x, box_y = RIGHT - box_w - 12, BOTTOM - row_h * len(CURVES) - 26
    add(f'<rect x="{box_x}" y="{box_y}" width="{box_w}" height="{row_h * len(CURVES) + 14}" '
        'rx="8" ry="8" fill="#ffffff" fill-opacity="0.92" stroke="#bbbbbb" stroke-width="1"/>')
    for i, ((d, colour, width, dash), name) in enumerate(zip(CURVES, names, strict=True)):
        cy = box_y + 19 + i * row_h
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        add(f'<line x1="{box_x + 12}" y1="{cy}" x2="{box_x + 50}" y2="{cy}" stroke="{colour}" '
            f'stroke-width="{width}" stroke-linecap="round"{dash_attr}/>')
        add(f'<text x="{box_x + 60}" y="{cy + 5}" {FONT} font-size="15" fill="#222222">'
            f'{name}: AUC {auc(d):.2f}</text>')
    add("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the SVG and report where it went."""
    return figure_cli.main(__doc__.splitlines()[0], build_svg, DEFAULT_OUTPUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
