"""The completed consent form as a PDF, rendered in memory and never written to disk.

The document has the form as the client read it, the choices they made, their signature,
and a final page with the certificate of completion (the audit trail). The fonts, styles
and the setting of the form's Markdown are in `sotto.consent.pdf_typesetting`. Sealing is
a separate step (`sotto.consent.seal`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from PIL import Image as PILImage
from PIL import ImageChops
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.units import inch
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    HRFlowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
)

from sotto.consent.pdf_typesetting import (
    ACCENT,
    BODY,
    CELL,
    FONT,
    FONT_BOLD,
    INK,
    LABEL,
    MONO,
    MONO_UNICODE,
    MUTED,
    PRACTICE,
    REFUSED,
    RULE,
    SECTION,
    SIGNED_NAME,
    SMALL,
    TINT,
    TITLE_STYLE,
    courier_can_show,
    draw_string,
    escape_markup,
    markdown_flowables,
    register_fonts,
    string_width,
    table_style,
)

TITLE = "Consent to record therapy sessions"
MAX_SIGNATURE_BYTES = 2 * 1024 * 1024
MAX_SIGNATURE_SIDE = 4000
# A user agent is whatever the browser (or an attacker) sent; past this it is noise, and an
# unbounded one could outgrow a table cell, which reportlab cannot split.
MAX_USER_AGENT_CHARS = 600

PAGE_WIDTH, PAGE_HEIGHT = LETTER
MARGIN = inch
# Platypus frames pad their content by 6 pt on each side; text starts at MARGIN + 6.
FRAME_PADDING = 6
TEXT_LEFT = MARGIN + FRAME_PADDING
CONTENT_WIDTH = PAGE_WIDTH - 2 * TEXT_LEFT
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


@dataclass(frozen=True)
class ConsentDocument:
    """Everything printed on the completed form. Times are timezone-aware."""

    practice_name: str
    client_pseudonym: str
    consent_id: str
    form_markdown: str
    uses: list[tuple[str, bool]]
    typed_name: str
    signature_png: bytes
    sent_at: datetime
    opened_at: datetime
    signed_at: datetime
    consent_expires_at: datetime
    signer_ip: str
    signer_user_agent: str
    delivery: str
    template_version: int
    template_sha256: str
    form_sha256: str


def render_consent_pdf(doc: ConsentDocument) -> bytes:
    """The completed form as PDF bytes, built entirely in memory.

    Raises ValueError if the signature is not a PNG (or is over 2 MB or 4000 px a side), or
    if a time is naive. The form text is untrusted Markdown: anything that is not a
    heading, paragraph, list, bold or italic is printed literally.
    """
    register_fonts()
    signature = _signature_flowable(doc.signature_png)
    for moment in (doc.sent_at, doc.opened_at, doc.signed_at, doc.consent_expires_at):
        if moment.tzinfo is None:
            raise ValueError("Consent times must be timezone-aware.")
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=0.9 * inch,
        bottomMargin=0.95 * inch,
        title=TITLE,
        author=doc.practice_name,
        subject=f"Recording consent record {doc.consent_id}",
        creator="Sotto",
        # Otherwise every page still lists Helvetica, the canvas default, among its fonts.
        initialFontName=FONT,
    )
    story = [
        *_title_block(TITLE, doc),
        *markdown_flowables(doc.form_markdown, title=TITLE),
        *_choices_section(doc.uses),
        _signature_section(doc, signature),
        PageBreak(),
        *_certificate_page(doc),
    ]
    footer = partial(_draw_footer, practice_name=doc.practice_name)
    template.build(story, onFirstPage=footer, onLaterPages=footer, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _long_date(moment: datetime) -> str:
    # Month spelled out: unambiguous on both sides of the Atlantic, and not locale-bound.
    moment = moment.astimezone(UTC)
    return f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"


# --- title -----------------------------------------------------------------------------


def _title_block(title: str, doc: ConsentDocument) -> list[Flowable]:
    return [
        Paragraph(escape_markup(title), TITLE_STYLE),
        Paragraph(escape_markup(doc.practice_name), PRACTICE),
        Paragraph(
            f"Client pseudonym: {escape_markup(doc.client_pseudonym)} &nbsp;·&nbsp; "
            f"Record {escape_markup(doc.consent_id)}",
            SMALL,
        ),
        Spacer(1, 8),
        HRFlowable(width="100%", thickness=1.2, color=ACCENT, spaceBefore=0, spaceAfter=12),
    ]


# --- choices and signature --------------------------------------------------------------


def _choices_section(uses: list[tuple[str, bool]]) -> list[Flowable]:
    heading = Paragraph("Your choices", SECTION)
    if not uses:
        return [heading, Paragraph("No separate uses were offered on this form.", BODY)]
    rows = [[Paragraph(escape_markup(label), CELL), _ChoiceMark(allowed)] for label, allowed in uses]
    table = Table(rows, colWidths=[CONTENT_WIDTH - 1.4 * inch, 1.4 * inch], hAlign="LEFT")
    table.setStyle(
        table_style(
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 7),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
            ("LEFTPADDING", (0, 0), (-1, -1), 8),
            ("LINEABOVE", (0, 0), (-1, 0), 0.6, RULE),
            ("LINEBELOW", (0, 0), (-1, -1), 0.6, RULE),
            ("ROWBACKGROUNDS", (0, 0), (-1, -1), [colors.white, TINT]),
        )
    )
    intro = Paragraph("Each use of the recordings was allowed or refused separately.", BODY)
    return [heading, intro, table]


class _ChoiceMark(Flowable):
    """A check mark and "Allowed", or a cross and "Not allowed".

    The marks are drawn as lines rather than taken from a symbol font: not every reader
    has ZapfDingbats, and the word carries the meaning in black-and-white print.
    """

    def __init__(self, allowed: bool) -> None:
        super().__init__()
        self.allowed = allowed
        self.width, self.height = 1.2 * inch, 12

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        color = ACCENT if self.allowed else REFUSED
        canvas.saveState()
        canvas.setStrokeColor(color)
        canvas.setFillColor(color)
        canvas.setLineWidth(1.6)
        canvas.setLineCap(1)
        canvas.setLineJoin(1)
        if self.allowed:
            path = canvas.beginPath()
            path.moveTo(0.5, 5.5)
            path.lineTo(3.5, 2)
            path.lineTo(9.5, 10)
            canvas.drawPath(path, stroke=1, fill=0)
        else:
            canvas.line(1.5, 2, 8.5, 9)
            canvas.line(1.5, 9, 8.5, 2)
        draw_string(canvas, 15, 2.2, "Allowed" if self.allowed else "Not allowed", font=FONT_BOLD, size=9.25)
        canvas.restoreState()


def _signature_section(doc: ConsentDocument, signature: Image) -> Flowable:
    signed_line = Paragraph(f"Signed on {_long_date(doc.signed_at)} at {doc.signed_at.astimezone(UTC):%H:%M} UTC", CELL)
    rows = [
        [Paragraph("SIGNATURE", LABEL), signature],
        [Paragraph("NAME", LABEL), Paragraph(escape_markup(doc.typed_name), SIGNED_NAME)],
        [Paragraph("DATE", LABEL), signed_line],
    ]
    table = Table(rows, colWidths=[1.2 * inch, CONTENT_WIDTH - 1.2 * inch], hAlign="LEFT")
    table.setStyle(
        table_style(
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("VALIGN", (1, 0), (1, 0), "BOTTOM"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ("TOPPADDING", (0, 1), (-1, 1), 8),
            # The line a signature sits on, as on paper.
            ("LINEBELOW", (1, 0), (1, 0), 0.8, INK),
        )
    )
    note = Paragraph(
        f"Signed electronically by typing a name and drawing a signature. This consent stays in effect "
        f"until {_long_date(doc.consent_expires_at)} unless it is withdrawn earlier; the client can "
        f"withdraw it at any time.",
        SMALL,
    )
    return KeepTogether([Paragraph("Signature", SECTION), table, Spacer(1, 10), note])


def _signature_flowable(png: bytes) -> Image:
    """The drawn signature, checked with Pillow, flattened onto white and cropped to the ink."""
    if len(png) > MAX_SIGNATURE_BYTES:
        raise ValueError("The signature image is larger than 2 MB.")
    try:
        with PILImage.open(io.BytesIO(png)) as probe:
            kind, (width, height) = probe.format, probe.size
            probe.verify()
    # Pillow reports corrupt data with many exception types (SyntaxError, struct.error, ...).
    except Exception as exc:
        raise ValueError("The signature is not a valid PNG image.") from exc
    if kind != "PNG":
        raise ValueError("The signature is not a valid PNG image.")
    if not 0 < width <= MAX_SIGNATURE_SIDE or not 0 < height <= MAX_SIGNATURE_SIDE:
        raise ValueError(f"The signature image is larger than {MAX_SIGNATURE_SIDE} pixels a side.")
    try:
        with PILImage.open(io.BytesIO(png)) as image:
            rgba = image.convert("RGBA")
    except Exception as exc:
        raise ValueError("The signature is not a valid PNG image.") from exc
    # Canvas drawings are transparent; flatten onto white so print and every reader agree.
    flat = PILImage.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    ink = ImageChops.invert(flat.convert("L")).point(lambda value: 255 if value > 40 else 0).getbbox()
    if ink is not None:
        pad = 6
        left, top, right, bottom = ink
        flat = flat.crop(
            (max(left - pad, 0), max(top - pad, 0), min(right + pad, flat.width), min(bottom + pad, flat.height))
        )
    encoded = io.BytesIO()
    flat.save(encoded, format="PNG")
    encoded.seek(0)
    scale = min(3.2 * inch / flat.width, 0.95 * inch / flat.height)
    return Image(encoded, width=flat.width * scale, height=flat.height * scale, hAlign="LEFT")


# --- certificate of completion -----------------------------------------------------------


def _certificate_page(doc: ConsentDocument) -> list[Flowable]:
    agent = doc.signer_user_agent
    if len(agent) > MAX_USER_AGENT_CHARS:
        agent = agent[:MAX_USER_AGENT_CHARS] + "…"

    def text(value: str) -> Paragraph:
        return Paragraph(escape_markup(value), CELL)

    def mono(value: str) -> Paragraph:
        return Paragraph(escape_markup(value), MONO if courier_can_show(value) else MONO_UNICODE)

    rows = [
        ("Record id", mono(doc.consent_id)),
        ("Client (pseudonym)", text(doc.client_pseudonym)),
        ("Form version", text(f"Version {doc.template_version}")),
        ("Template SHA-256", mono(doc.template_sha256)),
        ("Form text SHA-256", mono(doc.form_sha256)),
        ("Delivery", text(doc.delivery)),
        ("Sent", text(_utc(doc.sent_at))),
        ("Opened", text(_utc(doc.opened_at))),
        ("Signed", text(_utc(doc.signed_at))),
        ("Consent expires", text(_utc(doc.consent_expires_at))),
        ("IP address", mono(doc.signer_ip)),
        ("Browser", mono(agent)),
    ]
    table = Table(
        [[Paragraph(label.upper(), LABEL), value] for label, value in rows],
        colWidths=[1.65 * inch, CONTENT_WIDTH - 1.65 * inch],
        hAlign="LEFT",
    )
    table.setStyle(
        table_style(
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, -1), 6),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
        )
    )
    seal_note = Table(
        [
            [
                Paragraph(
                    f"This document is sealed with the digital certificate of {escape_markup(doc.practice_name)}. "
                    "Any change to it, however small, will invalidate the seal. A PDF reader that shows "
                    "signatures can confirm the seal is intact.",
                    CELL,
                )
            ]
        ],
        colWidths=[CONTENT_WIDTH],
    )
    seal_note.setStyle(
        table_style(
            ("BACKGROUND", (0, 0), (-1, -1), TINT),
            ("LINEBEFORE", (0, 0), (0, -1), 2.5, ACCENT),
            ("LEFTPADDING", (0, 0), (-1, -1), 12),
            ("RIGHTPADDING", (0, 0), (-1, -1), 12),
            ("TOPPADDING", (0, 0), (-1, -1), 10),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 10),
        )
    )
    intro = Paragraph("How and when this consent form was completed. This page is part of the sealed document.", BODY)
    return [*_title_block("Certificate of completion", doc), intro, Spacer(1, 4), table, Spacer(1, 18), seal_note]


# --- page furniture ----------------------------------------------------------------------


def _draw_footer(canvas: Canvas, _doc: SimpleDocTemplate, *, practice_name: str) -> None:
    canvas.saveState()
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    canvas.line(TEXT_LEFT, 0.72 * inch, PAGE_WIDTH - TEXT_LEFT, 0.72 * inch)
    canvas.setFillColor(MUTED)
    footer = f"{practice_name} · {TITLE}"
    while string_width(footer, font=FONT, size=7.5) > CONTENT_WIDTH - 1.2 * inch and len(footer) > 1:
        footer = footer[:-2] + "…"
    draw_string(canvas, TEXT_LEFT, 0.55 * inch, footer, font=FONT, size=7.5)
    canvas.restoreState()


class _NumberedCanvas(Canvas):
    """A canvas that holds pages back until the end so each can say "Page N of M"."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            self.saveState()
            self.setFillColor(MUTED)
            label = f"Page {number} of {total}"
            draw_string(self, PAGE_WIDTH - TEXT_LEFT, 0.55 * inch, label, font=FONT, size=7.5, anchor="end")
            self.restoreState()
            super().showPage()
        super().save()
