"""Type for the consent PDF: its fonts, colours and paragraph styles, and the form text set in them.

The form text is untrusted Markdown from the practice's template; it becomes reportlab
flowables with every piece of text escaped, so nothing in it is read as markup. The layout
of the document itself (title, choices, signature, certificate) is in `sotto.consent.pdf`.
"""

from __future__ import annotations

import threading
from functools import cache
from importlib import resources
from typing import Any, Literal
from xml.sax.saxutils import escape

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Indenter,
    ListFlowable,
    ListItem,
    Paragraph,
    TableStyle,
)

INK = colors.HexColor("#1F2A30")
MUTED = colors.HexColor("#5C6970")
ACCENT = colors.HexColor("#2E5E63")
REFUSED = colors.HexColor("#8A4238")
RULE = colors.HexColor("#C8D2D4")
TINT = colors.HexColor("#F2F5F5")

# DejaVu Sans, vendored in ./fonts, because the PDF standard fonts (Helvetica) cover only
# Latin-1: a client called Łukasz Żółć, Ольга, Νίκος or Đặng would get boxes instead of their
# name on a legal document. DejaVu covers Latin, Greek, Cyrillic and Vietnamese, but has no
# CJK glyphs, so what it cannot show is set in Droid Sans Fallback (also in ./fonts, Apache-2.0,
# TrueType outlines, which reportlab can embed; Noto CJK's CFF outlines it cannot).
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
FONT_OBLIQUE = "DejaVuSans-Oblique"
FONT_BOLD_OBLIQUE = "DejaVuSans-BoldOblique"
# Two files of that family, tried in this order. DroidSansFallback.ttf has Chinese, Japanese and
# all 11,172 Hangul syllables, which Korean names need; DroidSansFallbackFull.ttf has only 3 of
# them but adds CJK Extension A (6,580 rarer Han characters, some used in names). Each has one
# face: CJK in bold or italic text prints upright and regular.
FONT_CJK = "DroidSansFallback"
FONT_CJK_EXTENDED = "DroidSansFallbackFull"
FALLBACK_FONTS = (FONT_CJK, FONT_CJK_EXTENDED)
_FONT_FILES = {
    FONT: "DejaVuSans.ttf",
    FONT_BOLD: "DejaVuSans-Bold.ttf",
    FONT_OBLIQUE: "DejaVuSans-Oblique.ttf",
    FONT_BOLD_OBLIQUE: "DejaVuSans-BoldOblique.ttf",
    FONT_CJK: "DroidSansFallback.ttf",
    FONT_CJK_EXTENDED: "DroidSansFallbackFull.ttf",
}


_fonts_lock = threading.Lock()
_fonts_registered = False


def register_fonts() -> None:
    """Register the DejaVu Sans faces and the fallback fonts with reportlab, once per process.

    Reportlab's font registry is global and PDFs are rendered from worker threads, hence the
    lock. Registering the family makes <b> and <i> in paragraph markup pick the matching face;
    each fallback is registered as a family whose four faces are the one it has, so a fallback
    run inside <b> or <i> still resolves.
    """
    global _fonts_registered
    if _fonts_registered:
        return
    with _fonts_lock:
        if _fonts_registered:
            return
        fonts = resources.files("sotto.consent").joinpath("fonts")
        for name, filename in _FONT_FILES.items():
            # Read into memory: the package may be zipped, and reportlab keeps the bytes anyway.
            with fonts.joinpath(filename).open("rb") as font_file:
                font = TTFont(name, font_file)
            # Both Droid files call themselves "DroidSansFallback"; reportlab names a subset's
            # PDF objects after that, and two fonts with one name in a document make it fail
            # with "redefining named object". The registered name is unique.
            font.face.name = name.encode("ascii")
            pdfmetrics.registerFont(font)
        pdfmetrics.registerFontFamily(
            FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_OBLIQUE, boldItalic=FONT_BOLD_OBLIQUE
        )
        for fallback in FALLBACK_FONTS:
            pdfmetrics.registerFontFamily(
                fallback, normal=fallback, bold=fallback, italic=fallback, boldItalic=fallback
            )
        _fonts_registered = True


@cache
def _code_points(font: str) -> frozenset[int]:
    """The characters a registered TrueType font has a glyph for, read from its cmap once."""
    register_fonts()
    return frozenset(pdfmetrics.getFont(font).face.charToGlyph)


def font_runs(text: str, font: str = FONT) -> list[tuple[str, str]]:
    """`text` cut into runs, each paired with the font to set it in.

    A character is set in `font` (a DejaVu face) when that face has a glyph for it, otherwise
    in the first fallback font that has one. A character that no font has stays in `font`,
    where reportlab prints its missing-glyph box instead of failing.
    """
    own = _code_points(font)
    runs: list[tuple[str, list[str]]] = []
    for char in text:
        code = ord(char)
        chosen = font
        if code not in own:
            chosen = next((fallback for fallback in FALLBACK_FONTS if code in _code_points(fallback)), font)
        if runs and runs[-1][0] == chosen:
            runs[-1][1].append(char)
        else:
            runs.append((chosen, [char]))
    return [(run_font, "".join(chars)) for run_font, chars in runs]


def string_width(text: str, *, font: str, size: float) -> float:
    """The width of `text` as `draw_string` sets it, fallback runs included."""
    return sum(pdfmetrics.stringWidth(run, run_font, size) for run_font, run in font_runs(text, font))


def draw_string(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    *,
    font: str,
    size: float,
    anchor: Literal["start", "end"] = "start",
) -> None:
    """Draw one line on the canvas in `font`, its fallback runs in the fallback font.

    With ``anchor="end"`` the line ends at `x` (as `drawRightString`). The canvas is left set
    to the last run's font; callers draw inside saveState/restoreState.
    """
    runs = font_runs(text, font)
    widths = [pdfmetrics.stringWidth(run, run_font, size) for run_font, run in runs]
    if anchor == "end":
        x -= sum(widths)
    # A run at a time with the canvas's own drawString, so a line with no fallback run is
    # written exactly as before the fallback existed.
    for (run_font, run), width in zip(runs, widths, strict=True):
        canvas.setFont(run_font, size)
        canvas.drawString(x, y, run)
        x += width


def _style(name: str, **overrides: Any) -> ParagraphStyle:
    # DejaVu Sans sets about 13% wider than Helvetica and looks larger at the same size, so
    # sizes are about a point below the usual: the page keeps its density and fits as before.
    base: dict[str, Any] = {
        "fontName": FONT,
        "fontSize": 9.75,
        "leading": 15,
        "textColor": INK,
        "alignment": TA_LEFT,
        "spaceAfter": 7,
    }
    return ParagraphStyle(name, **(base | overrides))


BODY = _style("body")
LIST_BODY = _style("list-body", spaceAfter=3)
TITLE_STYLE = _style("title", fontName=FONT_BOLD, fontSize=18.5, leading=23.5, spaceAfter=3)
PRACTICE = _style("practice", fontSize=11.5, leading=15, textColor=ACCENT, spaceAfter=4)
SMALL = _style("small", fontSize=8, leading=11.5, textColor=MUTED, spaceAfter=0)
H1 = _style("h1", fontName=FONT_BOLD, fontSize=13.5, leading=18, spaceBefore=12, spaceAfter=6, keepWithNext=1)
H2 = _style("h2", fontName=FONT_BOLD, fontSize=11, leading=15, spaceBefore=10, spaceAfter=4, keepWithNext=1)
H3 = _style("h3", fontName=FONT_BOLD, fontSize=9.75, leading=14.5, spaceBefore=8, spaceAfter=3, keepWithNext=1)
SECTION = _style(
    "section",
    fontName=FONT_BOLD,
    fontSize=12,
    leading=16,
    textColor=ACCENT,
    spaceBefore=16,
    spaceAfter=8,
    keepWithNext=1,
)
CODE = _style("code", fontName="Courier", fontSize=9, leading=12.5, leftIndent=12)
CODE_UNICODE = _style("code-unicode", fontSize=9, leading=12.5, leftIndent=12)
CELL = _style("cell", fontSize=9.25, leading=13.5, spaceAfter=0)
LABEL = _style("label", fontName=FONT_BOLD, fontSize=7.75, leading=13.5, textColor=MUTED, spaceAfter=0)
MONO = _style("mono", fontName="Courier", fontSize=8.5, leading=12.5, spaceAfter=0)
MONO_UNICODE = _style("mono-unicode", fontSize=8.5, leading=12.5, spaceAfter=0)
SIGNED_NAME = _style("signed-name", fontSize=11, leading=15, spaceAfter=0)


def table_style(*commands: tuple[Any, ...]) -> TableStyle:
    # Tables set their own default font (Helvetica) even when every cell is a Paragraph.
    return TableStyle([("FONT", (0, 0), (-1, -1), FONT, 10), *commands])


def escape_markup(text: str) -> str:
    """Text made safe for reportlab's paragraph mini-markup, in fonts that can show it.

    Runs of characters DejaVu Sans has no glyph for are wrapped in a <font> tag for the
    fallback font. The choice is made against the regular face whatever face the paragraph
    is set in: the bold and oblique faces differ from it only in characters the fallback lacks
    too (a test checks this), and Courier is used only for text it can show in full.
    """
    return "".join(
        escape(run) if font == FONT else f'<font face="{font}">{escape(run)}</font>' for font, run in font_runs(text)
    )


def courier_can_show(text: str) -> bool:
    """Whether the standard Courier font (WinAnsi encoding) has a glyph for every character.

    Monospaced text it cannot show (an indented Polish paragraph is a code block, a browser
    may send any user agent) is set in DejaVu Sans instead: no longer monospaced, but no boxes.
    Every printable WinAnsi character is in DejaVu, so Courier text needs no fallback run.
    """
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


# --- the form text (Markdown) ------------------------------------------------------------

# Raw HTML off: with it on, markdown-it would pass tags through as html_inline tokens; off,
# they arrive as plain text and are escaped like everything else.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def markdown_flowables(text: str, *, title: str) -> list[Flowable]:
    """The form's Markdown as flowables; every piece of text is escaped before markup is added.

    A first-level heading that only repeats the document's ``title`` is left out.
    """
    flowables = _blocks(SyntaxTreeNode(_MARKDOWN.parse(text)), in_list=False)
    if (
        flowables
        and isinstance(flowables[0], Paragraph)
        and flowables[0].style is H1
        and (" ".join(flowables[0].getPlainText().split()).casefold() == title.casefold())
    ):
        return flowables[1:]
    return flowables


def _blocks(node: SyntaxTreeNode, *, in_list: bool) -> list[Flowable]:
    flowables: list[Flowable] = []
    for child in node.children:
        kind = child.type
        if kind == "heading":
            style = {"h1": H1, "h2": H2}.get(child.tag, H3)
            flowables.append(Paragraph(_inline(child), style))
        elif kind == "paragraph":
            flowables.append(Paragraph(_inline(child), LIST_BODY if in_list else BODY))
        elif kind in ("bullet_list", "ordered_list"):
            flowables.append(_list(child))
        elif kind == "blockquote":
            flowables += [Indenter(left=16), *_blocks(child, in_list=in_list), Indenter(left=-16)]
        elif kind in ("fence", "code_block", "html_block"):
            lines = child.content.rstrip("\n").split("\n")
            style = CODE if courier_can_show(child.content) else CODE_UNICODE
            flowables.append(Paragraph("<br/>".join(_keep_indent(line) for line in lines), style))
        elif kind == "hr":
            flowables.append(HRFlowable(width="100%", thickness=0.6, color=RULE, spaceBefore=6, spaceAfter=10))
        elif child.children:
            flowables += _blocks(child, in_list=in_list)
        elif child.content:
            flowables.append(Paragraph(escape_markup(child.content), BODY))
    return flowables


def _keep_indent(line: str) -> str:
    # Paragraphs collapse whitespace; non-breaking spaces keep a code line's indentation.
    stripped = line.lstrip(" ")
    return "&nbsp;" * (len(line) - len(stripped)) + escape_markup(stripped)


def _list(node: SyntaxTreeNode) -> ListFlowable:
    items = [ListItem(_blocks(item, in_list=True) or [Paragraph("", LIST_BODY)]) for item in node.children]
    common: dict[str, Any] = {"leftIndent": 18, "bulletFontName": FONT, "bulletColor": INK, "spaceAfter": 6}
    if node.type == "ordered_list":
        start = node.attrs.get("start", 1)
        return ListFlowable(items, bulletType="1", start=int(start), bulletFormat="%s.", bulletFontSize=9.75, **common)
    return ListFlowable(items, bulletType="bullet", start="•", bulletFontSize=9, **common)


def _inline(block: SyntaxTreeNode) -> str:
    """Mini-markup for a paragraph or heading: escaped text inside the few tags we emit."""
    return "".join(_inline_markup(child) for child in block.children)


def _inline_markup(node: SyntaxTreeNode) -> str:
    kind = node.type
    if kind == "inline":
        return _inline(node)
    if kind == "text":
        return escape_markup(node.content)
    if kind == "softbreak":
        return " "
    if kind == "hardbreak":
        return "<br/>"
    if kind == "strong":
        return f"<b>{_inline(node)}</b>"
    if kind == "em":
        return f"<i>{_inline(node)}</i>"
    if kind == "code_inline":
        face = "Courier" if courier_can_show(node.content) else FONT
        return f'<font face="{face}">{escape_markup(node.content)}</font>'
    if kind == "link":
        # Printed, not clicked: show where a link points unless its text already says so.
        label, href = _inline(node), str(node.attrs.get("href", ""))
        return label if not href or escape_markup(href) == label else f"{label} ({escape_markup(href)})"
    if node.children:
        return _inline(node)
    return escape_markup(node.content)
