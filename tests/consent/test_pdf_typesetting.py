"""How the consent PDF picks a font for each character (the rendered result is in test_pdf_cjk.py)."""

from __future__ import annotations

from reportlab.pdfbase import pdfmetrics

from sotto.consent.pdf_typesetting import (
    FALLBACK_FONTS,
    FONT,
    FONT_BOLD,
    FONT_BOLD_OBLIQUE,
    FONT_OBLIQUE,
    escape_markup,
    font_runs,
    register_fonts,
)


def test_every_dejavu_face_agrees_on_which_characters_need_the_fallback() -> None:
    # Paragraph markup picks fallback runs by the regular face (escape_markup cannot know
    # whether <b> or <i> is in effect); that is right only if the faces never disagree about a
    # character the fallback fonts have.
    register_fonts()
    fallback_text = "".join(
        sorted({chr(code) for name in FALLBACK_FONTS for code in pdfmetrics.getFont(name).face.charToGlyph})
    )

    def fallback_characters(face: str) -> str:
        return "".join(run for font, run in font_runs(fallback_text, face) if font in FALLBACK_FONTS)

    regular = fallback_characters(FONT)
    assert len(regular) > 30_000
    for face in (FONT_BOLD, FONT_OBLIQUE, FONT_BOLD_OBLIQUE):
        assert fallback_characters(face) == regular, face


def test_runs_keep_what_dejavu_shows_and_give_the_rest_to_the_first_fallback_that_has_it() -> None:
    # 김 is only in DroidSansFallback, 㛃 (CJK Extension A) only in DroidSansFallbackFull,
    # 🙂 in neither: it stays in DejaVu, which prints its missing-glyph box.
    assert font_runs("Dr. 佐藤 김 㛃 🙂") == [
        (FONT, "Dr. "),
        ("DroidSansFallback", "佐藤"),
        (FONT, " "),
        ("DroidSansFallback", "김"),
        (FONT, " "),
        ("DroidSansFallbackFull", "㛃"),
        (FONT, " 🙂"),
    ]


def test_escaped_markup_wraps_only_the_fallback_runs_in_a_font_tag() -> None:
    assert escape_markup("A & <B>") == "A &amp; &lt;B&gt;"
    expected = '&lt;<font face="DroidSansFallback">王</font>&gt; &amp; <font face="DroidSansFallback">小明</font>'
    assert escape_markup("<王> & 小明") == expected
