"""The completed consent PDF: content, escaping of the admin-editable form, signature checks."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import cast

import pytest
from PIL import Image
from pypdf import PageObject, PdfReader
from pypdf.generic import DictionaryObject

from sotto.consent.pdf import TITLE, render_consent_pdf
from support.consent_document import FORM_SHA, TEMPLATE_SHA, USES, make_document, signature_png

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def page_fonts(page: PageObject) -> set[str]:
    """The /BaseFont names in a page's font resources."""
    resources = cast(DictionaryObject, page["/Resources"].get_object())
    return {
        str(cast(DictionaryObject, font.get_object())["/BaseFont"])
        for font in cast(DictionaryObject, resources["/Font"].get_object()).values()
    }


def flat(text: str) -> str:
    """Text with line breaks and runs of spaces folded, since wrapping depends on layout."""
    return " ".join(text.split())


def test_rendered_pdf_holds_the_form_choices_signature_and_certificate() -> None:
    pdf = render_consent_pdf(make_document())

    assert pdf.startswith(b"%PDF-")
    texts = page_texts(pdf)
    everything = flat(" ".join(texts))
    for expected in (
        "Consent to record therapy sessions",
        "Harbor Lane Counseling",
        "Blue Heron",
        "About recording",
        "clinical supervisor",
        "Your choices",
        "Signature",
        "Jordan A. Rivera",
        "Signed on 26 November 2026 at 14:03 UTC",
        "Certificate of completion",
        "203.0.113.42",
        TEMPLATE_SHA,
        FORM_SHA,
        "2026-11-26 14:03:12 UTC",
        "2026-11-26 13:51:12 UTC",
        "2026-11-25 11:03:12 UTC",
        "Link sent by e-mail to the client",
        "Version 3",
        "Chrome/131.0.0.0",
        "any change to it, however small, will invalidate the seal",
    ):
        assert flat(expected).lower() in everything.lower(), expected
    for label, allowed in USES:
        mark = re.search(re.escape(label) + r" (Allowed|Not allowed)", everything)
        assert mark is not None, label
        assert mark.group(1) == ("Allowed" if allowed else "Not allowed")


def test_certificate_of_completion_is_a_separate_last_page_with_page_numbers() -> None:
    texts = page_texts(render_consent_pdf(make_document()))

    assert len(texts) >= 2
    assert "Certificate of completion" in texts[-1]
    assert all("Certificate of completion" not in text for text in texts[:-1])
    assert "Your choices" not in texts[-1]
    total = len(texts)
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {total}" in text


def test_metadata_title_names_the_document_not_the_person() -> None:
    metadata = PdfReader(io.BytesIO(render_consent_pdf(make_document()))).metadata

    assert metadata is not None
    assert metadata.title == TITLE
    for field in (metadata.title, metadata.author, metadata.subject):
        assert "Jordan" not in (field or "")
        assert "Rivera" not in (field or "")


def test_markup_in_the_form_text_is_printed_literally() -> None:
    hostile = (
        "# Title with <font color='red'>tags</font> & ampersands\n\n"
        "<script>alert('x')</script>\n\n"
        "A <para>paragraph</para> with </b> stray <br/> tags, &amp; entities &#169; and < > & alone.\n\n"
        "**bold with <i>inner</i>** and *unclosed emphasis\n\n"
        "- item with <img src=x onerror=y>\n"
        "- [a link](https://example.org/?a=1&b=2)\n\n"
        "```\n<code> & more </code>\n```\n"
    )
    pdf = render_consent_pdf(
        make_document(form_markdown=hostile, typed_name="A <b>& B</b>", practice_name="Smith & <Jones>")
    )

    text = flat(" ".join(page_texts(pdf)))
    for literal in (
        "<font color='red'>tags</font> & ampersands",
        "<script>alert('x')</script>",
        "A <para>paragraph</para> with </b> stray <br/> tags, & entities © and < > & alone.",
        "bold with <i>inner</i>",
        "*unclosed emphasis",
        "item with <img src=x onerror=y>",
        "a link (https://example.org/?a=1&b=2)",
        "<code> & more </code>",
        "A <b>& B</b>",
        "Smith & <Jones>",
    ):
        assert literal in text, literal


def test_a_form_heading_that_repeats_the_title_is_printed_once() -> None:
    texts = page_texts(render_consent_pdf(make_document(form_markdown="# Consent to Record Therapy Sessions")))

    # The title once, and the footer on every page.
    assert flat(" ".join(texts)).lower().count("consent to record therapy sessions") == 1 + len(texts)


def test_text_beyond_latin_1_does_not_break_rendering() -> None:
    # Neither DejaVu Sans nor the CJK fallback has emoji glyphs (they print as boxes), but the PDF
    # must still build. CJK itself is covered in test_pdf_cjk.py.
    pdf = render_consent_pdf(
        make_document(
            typed_name="Łukasz Wróbel 李小明",
            practice_name="Praxis Ωμέγα",
            form_markdown="Emoji 🙂 and Cyrillic Привет.",
        )
    )

    assert "Wr" in " ".join(page_texts(pdf))


def test_names_in_polish_cyrillic_greek_and_vietnamese_print_as_text() -> None:
    name = "Łukasz Żółć-Ольга Νίκος Đặng"
    pdf = render_consent_pdf(make_document(typed_name=name, client_pseudonym=name))

    texts = page_texts(pdf)
    words = re.split(r"[\s·-]+", " ".join(texts))
    for word in ("Łukasz", "Żółć", "Ольга", "Νίκος", "Đặng"):
        # Name on the signature and in the header and certificate: in every page's text.
        assert words.count(word) >= 3, word
    assert name in texts[0] and name in texts[-1]


def test_code_in_the_form_that_courier_cannot_show_falls_back_to_dejavu() -> None:
    # Four spaces of indentation make a Markdown code block, easily done by accident.
    pdf = render_consent_pdf(make_document(form_markdown="Intro\n\n    Wcięty akapit: Ольга\n\nand `kod Żółć` inline"))

    text = flat(" ".join(page_texts(pdf)))
    assert "Wcięty akapit: Ольга" in text
    assert "kod Żółć" in text


def test_pdfs_rendered_from_several_threads_at_once_each_hold_their_own_name() -> None:
    names = [f"Ольга Żółć {n}" for n in range(8)]

    with ThreadPoolExecutor(max_workers=4) as pool:
        pdfs = list(pool.map(lambda name: render_consent_pdf(make_document(typed_name=name)), names))

    for name, pdf in zip(names, pdfs, strict=True):
        assert name in " ".join(page_texts(pdf))


def test_every_page_embeds_dejavu_and_no_standard_sans_font() -> None:
    pdf = render_consent_pdf(make_document(typed_name="Ольга Петрова"))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        fonts = page_fonts(page)
        assert any("DejaVuSans" in font for font in fonts), fonts
        assert not any("Helvetica" in font for font in fonts), fonts


def test_bold_and_italic_markdown_use_the_bold_and_oblique_faces() -> None:
    pdf = render_consent_pdf(make_document(form_markdown="Plain, **strong**, *soft* and ***both*** words."))

    first_page = PdfReader(io.BytesIO(pdf)).pages[0]
    # Embedded subsets are named like "/AAAAAA+DejaVuSans-Bold"; drop the subset tag.
    faces = {font.rpartition("+")[2] for font in page_fonts(first_page)}
    assert {"DejaVuSans", "DejaVuSans-Bold", "DejaVuSans-Oblique", "DejaVuSans-BoldOblique"} <= faces


def test_long_form_and_long_user_agent_flow_over_pages() -> None:
    long_form = "\n\n".join(f"## Section {n}\n\n" + "A calm sentence about recording. " * 40 for n in range(12))
    pdf = render_consent_pdf(make_document(form_markdown=long_form, signer_user_agent="X" * 5000))

    texts = page_texts(pdf)
    assert len(texts) > 4
    assert "Certificate of completion" in texts[-1]


@pytest.mark.parametrize(
    "bad",
    [
        b"",
        b"not an image at all",
        signature_png()[:200],  # truncated
        b"\xff\xd8\xff\xe0" + b"\x00" * 100,  # JPEG magic
    ],
)
def test_signature_that_is_not_a_png_is_rejected(bad: bytes) -> None:
    with pytest.raises(ValueError, match="PNG"):
        render_consent_pdf(make_document(signature_png=bad))


def test_signature_in_another_image_format_is_rejected() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(buffer, format="GIF")

    with pytest.raises(ValueError, match="PNG"):
        render_consent_pdf(make_document(signature_png=buffer.getvalue()))


def test_signature_over_two_megabytes_is_rejected() -> None:
    with pytest.raises(ValueError, match="2 MB"):
        render_consent_pdf(make_document(signature_png=signature_png() + b"\x00" * (2 * 1024 * 1024)))


def test_signature_over_4000_pixels_a_side_is_rejected() -> None:
    with pytest.raises(ValueError, match="4000"):
        render_consent_pdf(make_document(signature_png=signature_png(width=4001, height=20)))


def test_blank_or_opaque_signatures_still_render() -> None:
    blank = io.BytesIO()
    Image.new("RGBA", (600, 200), (0, 0, 0, 0)).save(blank, format="PNG")
    opaque = io.BytesIO()
    Image.new("L", (300, 100), 255).save(opaque, format="PNG")

    for png in (blank.getvalue(), opaque.getvalue()):
        assert render_consent_pdf(make_document(signature_png=png)).startswith(b"%PDF-")


def test_naive_times_are_rejected() -> None:
    with pytest.raises(ValueError, match="timezone"):
        render_consent_pdf(make_document(signed_at=datetime(2026, 11, 26, 14, 3)))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")
def test_pages_render_to_png_for_a_visual_check() -> None:
    pdf = render_consent_pdf(make_document())
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    ARTIFACTS.mkdir(exist_ok=True)

    for page, name in ((1, "consent-pdf-page1"), (pages, "consent-pdf-certificate")):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "110",
                "-f",
                str(page),
                "-l",
                str(page),
                "-singlefile",
                "-",
                str(ARTIFACTS / name),
            ],
            input=pdf,
            check=True,
            capture_output=True,
        )
        with Image.open(ARTIFACTS / f"{name}.png") as image:
            assert image.size[0] > 800 and image.size[1] > 1000
