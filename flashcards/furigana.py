"""Furigana: `漢字[かんじ]` in a card's text -> `<ruby>漢字<rt>かんじ</rt></ruby>`.

The rule is Anki's own (its `furigana:` template filter and the Japanese support add-on), so
text copied between Anki and a deck file reads the same: the reading in brackets goes over
the text right before it, back to the previous space, and that one space is dropped
(`日本語[にほんご]を 勉強[べんきょう]する`). Three refinements keep other text safe:

- the base also stops at punctuation (ASCII, and Japanese 、。「」（）！？ and the like) and at
  markup, so `「漢字[かんじ]」` and `{{c1::漢字[かんじ]}}` work as meant;
- the base must hold a character outside ASCII, so `array[0]` or `x[i]` stay as written;
- it runs on the HTML that Markdown made, outside code, math and ruby that is already there,
  so links `[text](url)`, footnotes `[^1]`, cloze deletions, `\\(a[i]\\)` and code keep their
  brackets.
"""

from __future__ import annotations

import re

# Characters that end a base text: space, markup, brackets and punctuation.
_STOP = (r"\s<>\[\]{}()\"'`:;,.!?&"
         "、。，．・「」『』（）［］｛｝〈〉《》【】〔〕！？：；…")
_READING = re.compile(
    rf" ?([^{_STOP}]*[^\x00-\x7f{_STOP}][^{_STOP}]*)\[([^\[\]<>\s^][^\[\]<>]*)\](?!\()")
_TAG = re.compile(r"(<[^>]*>)")
_MATH = re.compile(r"(\\\(.*?\\\)|\\\[.*?\\\])", re.DOTALL)
# Inside these, text is left exactly as it is.
_SKIP = ("code", "pre", "ruby")


def add_furigana(html: str) -> str:
    """The card HTML with every `base[reading]` in its text as ruby (see the module's rule)."""
    if "[" not in html:
        return html
    parts = _TAG.split(html)
    depth = 0
    for index, part in enumerate(parts):
        if index % 2:  # a tag
            name = part[1:].lstrip("/").split(None, 1)[0].rstrip("/>").lower() if part else ""
            if name in _SKIP and not part.endswith("/>"):
                depth += -1 if part.startswith("</") else 1
                depth = max(depth, 0)
            continue
        if depth or "[" not in part:
            continue
        pieces = _MATH.split(part)
        pieces[::2] = [_READING.sub(r"<ruby>\1<rt>\2</rt></ruby>", piece) for piece in pieces[::2]]
        parts[index] = "".join(pieces)
    return "".join(parts)
