"""A completed consent as the PDF renderer takes it: an invented client's signed form."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw

from sotto.consent.pdf import ConsentDocument

SIGNED_AT = datetime(2026, 11, 26, 14, 3, 12, tzinfo=UTC)
TEMPLATE_SHA = "9f2c1e7b" * 8
FORM_SHA = "0123456789abcdef" * 4

FORM = """# About recording

Recording our sessions helps your therapist reflect on the work and, if you agree, discuss
it with a **clinical supervisor**. You decide, and you can change your mind *at any time*.

## What is recorded

- The audio of sessions you agree to, and nothing else.
- Recordings are processed on the practice's own server; they never leave it.

## Your rights

1. You may refuse any use below and still receive the same care.
2. You may withdraw consent at any moment, even during a session.
"""

USES = [
    ("My therapist may listen to and review recordings of our sessions", True),
    ("My therapist may share de-identified session material with a clinical supervisor", True),
    ("Software running on the practice's own server may draft session notes", False),
    ("I would like a short written recap of each session for myself", True),
]


def signature_png(width: int = 600, height: int = 200) -> bytes:
    """A transparent canvas with a stroke drawn on it, as the signing page sends."""
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    points = [(40, 140), (90, 60), (130, 150), (180, 70), (230, 140), (300, 90), (380, 130), (520, 100)]
    draw.line(points, fill=(20, 30, 60, 255), width=4, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_document(**overrides: Any) -> ConsentDocument:
    document = ConsentDocument(
        practice_name="Harbor Lane Counseling",
        client_pseudonym="Blue Heron",
        consent_id="7f3c2a9e41b84d0c9a6e5f1d2b3c4a5e",
        form_markdown=FORM,
        uses=USES,
        typed_name="Jordan A. Rivera",
        signature_png=signature_png(),
        sent_at=SIGNED_AT - timedelta(days=1, hours=3),
        opened_at=SIGNED_AT - timedelta(minutes=12),
        signed_at=SIGNED_AT,
        consent_expires_at=SIGNED_AT + timedelta(days=365),
        signer_ip="203.0.113.42",
        signer_user_agent=(
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
        ),
        delivery="Link sent by e-mail to the client",
        template_version=3,
        template_sha256=TEMPLATE_SHA,
        form_sha256=FORM_SHA,
    )
    return dataclasses.replace(document, **overrides)
