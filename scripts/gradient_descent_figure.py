"""Draw gradient descent with and without momentum on a long, narrow valley, as an SVG.

The loss is the quadratic L(x, y) = (x**2 + KAPPA * y**2) / 2, whose Hessian has eigenvalues 1
and KAPPA (the condition number). Both paths start at the same point and take STEPS steps:

* plain gradient descent, w <- w - LR * grad L(w), with LR close to the stability limit
  2 / KAPPA, zig-zags across the steep y direction and crawls along the flat x direction;
* heavy-ball momentum in PyTorch's form, v <- BETA * v + grad L(w), w <- w - MOM_LR * v,
  damps the zig-zag and builds up speed along the valley floor.

Contours are ellipses of equal loss. The numbers are chosen for clarity; the qualitative picture
is the textbook one (Goodfellow, Bengio and Courville, *Deep Learning*, §8.3.2, figure 8.5).

Only the Python standard library is used. The output is deterministic, uses a viewBox so it
scales on small screens, keeps text at 14px or larger, and draws its own white background,
like scripts/bias_variance_figure.py.

Usage::

    python3 scripts/gradient_descent_figure.py [OUTPUT_SVG]

OUTPUT_SVG defaults to ``cards/ml-interview/img/gradient-descent.svg``.
"""

from __future__ import annotations

import math
from pathlib import Path

import figure_cli

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "cards" / "ml-interview" / "img" / "gradient-descent.svg"

KAPPA = 25.0                # curvature ratio between the steep and the flat direction
START = (-9.0, 1.5)
STEPS = 20
LR = 0.075                  # plain gradient descent; the stability limit is 2 / KAPPA = 0.08
MOM_LR, BETA = 0.035, 0.7  # momentum: a smaller step, yet much further in the same 20 steps

WIDTH, HEIGHT = 600, 330
LEFT, RIGHT, TOP, BOTTOM = 20, 580, 20, 250
X_MIN, X_MAX = -10.0, 1.5
FONT = 'font-family="Helvetica, Arial, sans-serif"'
PLAIN_COLOUR, MOMENTUM_COLOUR, MINIMUM_COLOUR = "#D55E00", "#0072B2", "#009E73"


def gradient(x: float, y: float) -> tuple[float, float]:
    """Gradient of L(x, y) = (x^2 + KAPPA y^2) / 2."""
    return x, KAPPA * y


def plain_path() -> list[tuple[float, float]]:
    """Points visited by plain gradient descent."""
    x, y = START
    points = [(x, y)]
    for _ in range(STEPS):
        gx, gy = gradient(x, y)
        x, y = x - LR * gx, y - LR * gy
        points.append((x, y))
    return points


def momentum_path() -> list[tuple[float, float]]:
    """Points visited by gradient descent with heavy-ball momentum."""
    x, y = START
    vx = vy = 0.0
    points = [(x, y)]
    for _ in range(STEPS):
        gx, gy = gradient(x, y)
        vx, vy = BETA * vx + gx, BETA * vy + gy
        x, y = x - MOM_LR * vx, y - MOM_LR * vy
        points.append((x, y))
    return points


def loss(x: float, y: float) -> float:
    """The quadratic loss."""
    return (x * x + KAPPA * y * y) / 2


def to_px(x: float, y: float) -> tuple[float, float]:
    """Map a parameter point to SVG units (same scale on both axes, so ellipses look right)."""
    scale = (RIGHT - LEFT) / (X_MAX - X_MIN)
    return LEFT + (x - X_MIN) * scale, (TOP + BOTTOM) / 2 - y * scale


def fmt(value: float) -> str:
    """Format a coordinate with fixed precision so output is byte-stable."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def path_svg(points: list[tuple[float, float]], colour: str, dash: str | None) -> str:
    """A polyline through the visited points plus a dot at each step."""
    pixels = [to_px(x, y) for x, y in points]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    line = (f'<polyline points="{" ".join(f"{fmt(px)},{fmt(py)}" for px, py in pixels)}" '
            f'fill="none" stroke="{colour}" stroke-width="3" stroke-linejoin="round"{dash_attr}/>')
    dots = "".join(f'<circle cx="{fmt(px)}" cy="{fmt(py)}" r="3.5" fill="{colour}"/>'
                   for px, py in pixels)
    return line + "\n" + dots


def build_svg() -> str:
    """Build the whole SVG document as a string."""
    parts: list[str] = []
    add = parts.append
    add(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="gd-title gd-desc">')
    add('<title id="gd-title">Gradient descent with and without momentum</title>')
    add(f'<desc id="gd-desc">Contours of a long, narrow quadratic valley with its minimum on the '
        f'right. In {STEPS} steps from the same start, plain gradient descent zig-zags across the '
        'valley and is still far from the minimum; with momentum the path is smoother and gets '
        'much closer.</desc>')
    add(f'<rect x="1" y="1" width="{WIDTH - 2}" height="{HEIGHT - 2}" rx="16" ry="16" '
        'fill="#ffffff" stroke="#cccccc" stroke-width="1"/>')
    add(f'<clipPath id="gd-clip"><rect x="{LEFT}" y="{TOP}" width="{RIGHT - LEFT}" '
        f'height="{BOTTOM - TOP}"/></clipPath>')
    add('<g clip-path="url(#gd-clip)">')
    scale = (RIGHT - LEFT) / (X_MAX - X_MIN)
    cx, cy = to_px(0, 0)
    for level in (0.5, 2, 5, 10, 20, 35, 55, 80):
        rx = math.sqrt(2 * level) * scale
        ry = math.sqrt(2 * level / KAPPA) * scale
        add(f'<ellipse cx="{fmt(cx)}" cy="{fmt(cy)}" rx="{fmt(rx)}" ry="{fmt(ry)}" fill="none" '
            'stroke="#c8c8c8" stroke-width="1.5"/>')
    add("</g>")
    plain, momentum = plain_path(), momentum_path()
    add(path_svg(plain, PLAIN_COLOUR, None))
    add(path_svg(momentum, MOMENTUM_COLOUR, "9 5"))
    add(f'<circle cx="{fmt(cx)}" cy="{fmt(cy)}" r="7" fill="{MINIMUM_COLOUR}" stroke="#ffffff" '
        'stroke-width="2"/>')
    add(f'<text x="{fmt(cx)}" y="{fmt(cy - 14)}" {FONT} font-size="15" font-weight="bold" '
        f'fill="{MINIMUM_COLOUR}" text-anchor="middle">minimum</text>')
    sx, sy = to_px(*START)
    add(f'<text x="{fmt(sx + 10)}" y="{fmt(sy - 4)}" {FONT} font-size="15" fill="#222222">'
        'start</text>')
    legend = ((f"plain gradient descent: loss {loss(*plain[-1]):.2f} after {STEPS} steps",
               PLAIN_COLOUR, None),
              (f"with momentum: loss {loss(*momentum[-1]):.2f} after {STEPS} steps",
               MOMENTUM_COLOUR, "9 5"))
    for i, (label, colour, dash) in enumerate(legend):
        y = BOTTOM + 28 + i * 26
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        add(f'<line x1="{LEFT + 20}" y1="{y}" x2="{LEFT + 60}" y2="{y}" stroke="{colour}" '
            f'stroke-width="3"{dash_attr}/>')
        add(f'<text x="{LEFT + 70}" y="{y + 5}" {FONT} font-size="15" fill="#222222">'
            f'{label}</text>')
    add("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the SVG and report where it went."""
    return figure_cli.main(__doc__.splitlines()[0], build_svg, DEFAULT_OUTPUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
