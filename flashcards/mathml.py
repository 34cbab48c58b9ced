"""TeX -> MathML for the preview page, offline: Chromium typesets MathML itself.

Cards carry math as MathJax source, `\\(…\\)` and `\\[…\\]`, which Anki typesets when it shows
them; the preview has no MathJax (it loads nothing), so it converts each formula with
latex2mathml. A formula that converter cannot handle (it fails, leaves a command it does not
know as text, or the braces do not pair up) is shown as its source in a marked box instead of
as wrong math. The converter copies some text straight into its output (`\\text{…}`), so its
MathML is checked against an allow-list, as card HTML is, and anything else falls back too.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_TAG = re.compile(r"(<[^>]*>)")
_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_SKIP = ("code", "pre")
# A command latex2mathml did not know: it writes it out as a token, backslash and all.
_UNKNOWN = re.compile(r">\\[A-Za-z]+<")
_BRACE = re.compile(r"(?<!\\)[{}]")

_MATHML_TAGS = {
    "math", "mrow", "mi", "mo", "mn", "ms", "mtext", "mspace", "msub", "msup", "msubsup",
    "mfrac", "msqrt", "mroot", "mover", "munder", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts",
    "none", "semantics", "annotation",
}
_MATHML_ATTRIBUTES = {
    "xmlns", "display", "mathvariant", "displaystyle", "scriptlevel", "stretchy", "fence",
    "form", "separator", "lspace", "rspace", "accent", "accentunder", "columnalign",
    "rowspacing", "columnspacing", "columnlines", "rowlines", "frame", "width", "height",
    "depth", "voffset", "linebreak", "notation", "mathcolor", "mathbackground", "mathsize",
    "minsize", "maxsize", "movablelimits", "largeop", "symmetric", "linethickness",
}


class _Scanner(HTMLParser):
    """Whether markup uses only the MathML elements and attributes above."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.safe = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _MATHML_TAGS or any(name not in _MATHML_ATTRIBUTES for name, _ in attrs):
            self.safe = False

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        if tag not in _MATHML_TAGS:
            self.safe = False


def tex_to_mathml(tex: str, display: bool) -> str | None:
    """MathML for one formula, or None when it cannot be typeset faithfully."""
    from latex2mathml.converter import convert

    depth = 0
    for brace in _BRACE.findall(tex):
        depth += 1 if brace == "{" else -1
        if depth < 0:
            return None
    if depth:
        return None
    try:
        out = convert(tex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any failure of the converter means "show the source"
        return None
    if _UNKNOWN.search(out):
        return None
    # HTML knows the MathML namespace; the URL in it would be the page's only one.
    out = out.replace(' xmlns="http://www.w3.org/1998/Math/MathML"', "", 1)
    scanner = _Scanner()
    scanner.feed(out)
    scanner.close()
    return out if scanner.safe else None


def typeset_math(card_html: str) -> str:
    """The card HTML with each formula outside code as MathML, or as its marked source."""
    if "\\(" not in card_html and "\\[" not in card_html:
        return card_html
    parts = _TAG.split(card_html)
    depth = 0
    for index, part in enumerate(parts):
        if index % 2:
            name = part[1:].lstrip("/").split(None, 1)[0].rstrip("/>").lower() if part else ""
            if name in _SKIP:
                depth = max(depth + (-1 if part.startswith("</") else 1), 0)
        elif not depth and ("\\(" in part or "\\[" in part):
            parts[index] = _MATH.sub(_formula, part)
    return "".join(parts)


def _formula(match: re.Match[str]) -> str:
    display = match.group(2) is not None
    source = match.group(0)
    tex = html.unescape(match.group(2) if display else match.group(1))
    mathml = tex_to_mathml(tex, display)
    if mathml is not None and display:
        return mathml
    if mathml is not None:
        # Inline math never breaks across lines: its box scrolls sideways on a narrow screen
        # rather than widening the page.
        return f'<span class="fc-math">{mathml}</span>'
    return ('<span class="fc-math-source" title="the preview cannot typeset this formula '
            "(Anki's MathJax may)\">"
            f'<code>{source}</code><small class="fc-math-note">not typeset</small></span>')
