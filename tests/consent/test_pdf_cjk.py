"""Chinese, Japanese and Korean in the consent PDF: set in the fallback font, read back by poppler.

Every name and text here is invented. The text is read back with poppler's `pdftotext` and the
fonts listed with `pdffonts`, as a reader other than the one that wrote the file would see them.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from reportlab.lib.units import inch

from sotto.consent.pdf import PAGE_HEIGHT, TITLE, render_consent_pdf
from sotto.consent.seal import check_seal, create_self_signed_certificate, seal_pdf
from support.consent_document import FORM, make_document

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="pdftotext and pdffonts (poppler-utils) are not installed",
)

TYPED_NAME = "佐藤 花子"
PSEUDONYM = "青鷺"
PRACTICE = "海辺こころ相談室"
KOREAN_NAME = "김민지"
CJK_FORM = (
    FORM
    + f"""
## 録音について

録音は**督導のためだけ**に使われます。Chinese: 录音只用于临床督导。Korean: {KOREAN_NAME}님, 녹음에 동의합니다.

    コード 块 {KOREAN_NAME}

Inline `码 {KOREAN_NAME}` too.
"""
)
CJK_USES = [("セラピストは録音を聞くことができます", True), ("녹음 자료를 공유할 수 있습니다", False)]
CJK_USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) 浏览器/1.0"
# CJK Extension A, which only DroidSansFallbackFull.ttf has, in an invented name.
RARE_HAN_NAME = "陈㛃"
FALLBACK_FONTS = {"DroidSansFallback", "DroidSansFallbackFull"}


def pdftotext_pages(pdf: bytes) -> list[str]:
    """The text of each page as poppler reads it, lines kept as laid out."""
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode().split("\f")[:-1]


def embedded_fonts(pdf: bytes) -> set[str]:
    """The fonts `pdffonts` lists as embedded, without the subset tag ("AAAAAA+")."""
    result = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True)
    fonts = set()
    for line in result.stdout.decode().splitlines()[2:]:
        fields = line.split()
        # name, type (one or two words), encoding, emb, sub, uni, object number, generation
        if fields[-5] == "yes":
            fonts.add(fields[0].rpartition("+")[2])
    return fonts


def cjk_pdf() -> bytes:
    return render_consent_pdf(
        make_document(
            typed_name=TYPED_NAME,
            client_pseudonym=PSEUDONYM,
            practice_name=PRACTICE,
            form_markdown=CJK_FORM,
            uses=CJK_USES,
            signer_user_agent=CJK_USER_AGENT,
        )
    )


@pytest.fixture(scope="module")
def cjk_pages() -> list[str]:
    return pdftotext_pages(cjk_pdf())


def test_cjk_typed_name_pseudonym_and_practice_name_print_as_text(cjk_pages: list[str]) -> None:
    first, certificate = cjk_pages[0], cjk_pages[-1]

    # Title block, signature and certificate are paragraphs and table cells.
    assert PRACTICE in first and PRACTICE in certificate
    assert f"Client pseudonym: {PSEUDONYM}" in first and f"Client pseudonym: {PSEUDONYM}" in certificate
    assert TYPED_NAME in "\n".join(cjk_pages[:-1])
    assert f"sealed with the digital certificate of {PRACTICE}." in certificate


def test_cjk_form_text_and_choices_print_as_text(cjk_pages: list[str]) -> None:
    # Whitespace folded: where lines wrap depends on the layout.
    form = " ".join("\n".join(cjk_pages[:-1]).split())

    for expected in (
        "録音について",  # a heading, set in the bold face
        "督導のためだけ",  # bold inside a paragraph
        "录音只用于临床督导。",
        f"{KOREAN_NAME}님, 녹음에 동의합니다.",
        f"コード 块 {KOREAN_NAME}",  # a code block, which Courier cannot show
        f"码 {KOREAN_NAME}",  # inline code
        *(label for label, _ in CJK_USES),
    ):
        assert expected in form, expected


def test_footer_drawn_on_the_canvas_prints_a_cjk_practice_name_on_every_page(cjk_pages: list[str]) -> None:
    for number, page in enumerate(cjk_pages, start=1):
        footer = page.rstrip().splitlines()[-1]
        assert re.fullmatch(rf"{PRACTICE} · {TITLE}\s+Page {number} of {len(cjk_pages)}", footer.strip()), footer


def test_a_user_agent_courier_cannot_show_is_printed_in_full_on_the_certificate(cjk_pages: list[str]) -> None:
    assert CJK_USER_AGENT in cjk_pages[-1]


def test_cjk_text_embeds_the_fallback_font_next_to_dejavu() -> None:
    fonts = embedded_fonts(cjk_pdf())

    assert "DroidSansFallback" in fonts
    assert {"DejaVuSans", "DejaVuSans-Bold"} <= fonts


def test_a_latin_only_pdf_does_not_embed_the_fallback_font() -> None:
    fonts = embedded_fonts(render_consent_pdf(make_document(typed_name="Łukasz Żółć-Ольга Νίκος Đặng")))

    assert "DejaVuSans" in fonts
    assert not fonts & FALLBACK_FONTS, fonts


def test_korean_and_rare_han_in_one_pdf_use_both_fallback_files() -> None:
    pdf = render_consent_pdf(make_document(typed_name=f"{RARE_HAN_NAME} {KOREAN_NAME}"))

    assert f"{RARE_HAN_NAME} {KOREAN_NAME}" in "\n".join(pdftotext_pages(pdf))
    assert embedded_fonts(pdf) >= FALLBACK_FONTS


def test_characters_no_font_has_still_render_beside_cjk() -> None:
    # An emoji and an ideographic variation selector: in neither DejaVu nor the fallback.
    pdf = render_consent_pdf(make_document(typed_name="佐藤 花子 🙂", practice_name="葛\U000e0100飾こころ相談室"))

    text = "\n".join(pdftotext_pages(pdf))
    assert "佐藤 花子" in text
    assert "葛" in text and "飾こころ相談室" in text


def test_a_long_cjk_practice_name_is_shortened_in_the_footer_clear_of_the_page_number() -> None:
    pdf = render_consent_pdf(make_document(practice_name=PRACTICE * 12))
    result = subprocess.run(
        ["pdftotext", "-bbox", "-f", "1", "-l", "1", "-", "-"], input=pdf, capture_output=True, check=True
    )
    words = [
        (float(x_min), float(x_max), float(y_max), word)
        for x_min, x_max, y_max, word in re.findall(
            r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
            result.stdout.decode(),
        )
    ]
    # The footer is the line under the rule 0.72 inch above the bottom edge (pdftotext's y runs down).
    footer = [word for word in words if word[2] > PAGE_HEIGHT - 0.72 * inch]
    page_label = next(word for word in footer if word[3] == "Page")
    practice_part = footer[0]

    assert practice_part[3].startswith(PRACTICE * 2)
    assert practice_part[3].endswith("…")
    # The footer text is cut to leave 1.2 inch for the page number, which needs about half.
    assert practice_part[1] < page_label[0] - 0.5 * inch


def test_a_pdf_with_cjk_names_seals_and_the_seal_checks_intact() -> None:
    practice = create_self_signed_certificate(PRACTICE)

    sealed = seal_pdf(cjk_pdf(), practice.pkcs12)
    check = check_seal(sealed, [practice.certificate_pem])

    assert check.ok and check.intact and check.trusted and check.covers_whole_file, check.problem
    assert check.signer == practice.subject and PRACTICE in practice.subject
    pages = pdftotext_pages(sealed)
    assert TYPED_NAME in "\n".join(pages) and PRACTICE in pages[-1]
