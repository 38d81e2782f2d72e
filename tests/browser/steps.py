"""What the people in a browser test do, and what they receive by e-mail.

Helpers for tests/browser: signing in, sending a form, drawing a signature with a finger,
screenshots, and waiting for mail that the live server's worker threads deliver.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import time
from dataclasses import dataclass
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from pypdf import PdfReader

from support.app import Person
from support.smtp import LoopbackSmtpServer

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
MAIL_DEADLINE_SECONDS = 30.0
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
TABLET = {"viewport": {"width": 820, "height": 1180}, "has_touch": True}


def sign_in_through_pages(page: Page, person: Person) -> None:
    """Password, then a fresh TOTP code, through /login and /login/code."""
    page.goto("/login")
    page.get_by_label("E-mail address").fill(person.user.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/login/code$"))
    page.get_by_label("Six-digit code").fill(person.code())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Your clients")).to_be_visible()


def send_consent_form(page: Page, *, pseudonym: str, email: str, note: str = "") -> None:
    """From the home page, to a new client."""
    page.goto("/")
    form = page.locator("#send-form")
    form.get_by_label("Pseudonym for a new client").fill(pseudonym)
    form.get_by_label("Client's e-mail").fill(email)
    if note:
        form.get_by_label("Personal note").fill(note)
    form.get_by_role("button", name="Send consent form").click()
    expect(page.get_by_role("status")).to_contain_text("The consent form is on its way")
    expect(client_row(page, pseudonym)).to_be_visible()


def client_row(page: Page, pseudonym: str) -> Locator:
    return page.locator(f'#clients tr[data-client="{pseudonym}"]')


STROKES = [
    [(0.08, 0.70), (0.14, 0.35), (0.20, 0.25), (0.26, 0.55), (0.32, 0.72), (0.40, 0.40), (0.47, 0.30)],
    [(0.52, 0.68), (0.58, 0.42), (0.66, 0.62), (0.74, 0.36), (0.83, 0.58), (0.92, 0.48)],
]


def draw_signature_with_finger(page: Page) -> None:
    """Strokes on the signature pad as real touch input, so the page gets touch pointer events."""
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    cdp = page.context.new_cdp_session(page)
    try:
        for stroke in STROKES:
            points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in stroke]
            (x0, y0) = points[0]
            cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})
            for (xa, ya), (xb, yb) in itertools.pairwise(points):
                for step in range(1, 5):  # a finger reports several moves between turning points
                    x, y = xa + (xb - xa) * step / 4, ya + (yb - ya) * step / 4
                    cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    finally:
        cdp.detach()


def ink_on_pad(page: Page) -> int:
    """How many pixels of the signature pad carry ink."""
    return int(
        page.evaluate("""() => {
        const pad = document.getElementById("signature-pad");
        const pixels = pad.getContext("2d").getImageData(0, 0, pad.width, pad.height).data;
        let inked = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inked++;
        return inked;
    }""")
    )


def ink_in_pdf_signature(pdf: bytes) -> int:
    """Dark pixels in the PDF's signature image (the form's only image, cropped to the ink)."""
    [signature] = [image.image for page in PdfReader(BytesIO(pdf)).pages for image in page.images]
    assert signature is not None
    return sum(1 for value in signature.convert("L").get_flattened_data() if value < 128)


def fits_width(page: Page) -> bool:
    """True when the page needs no horizontal scrolling."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def render_first_pdf_page(pdf: bytes, name: str, workdir: Path) -> Path | None:
    """The PDF's first page as a PNG beside the screenshots; None when pdftoppm is not installed."""
    source = workdir / f"{name}.pdf"
    source.write_bytes(pdf)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(source), str(SCREENSHOTS / name)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except FileNotFoundError:
        return None
    finally:
        source.unlink()
    return SCREENSHOTS / f"{name}.png"


@dataclass
class Mailbox:
    """What the loopback SMTP server received; the live server's workers deliver in the background."""

    smtp: LoopbackSmtpServer
    base_url: str

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in list(self.smtp.messages) if address in m["To"]]

    def wait_for(self, address: str, *, subject_has: str = "") -> EmailMessage:
        """The first message to ``address`` whose subject contains ``subject_has``, within the deadline."""
        deadline = time.monotonic() + MAIL_DEADLINE_SECONDS
        while True:
            found = [m for m in self.to(address) if subject_has in m["Subject"]]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                subjects = [m["Subject"] for m in self.to(address)]
                raise AssertionError(
                    f"no e-mail to {address} with {subject_has!r} in the subject within "
                    f"{MAIL_DEADLINE_SECONDS:.0f} s; subjects so far: {subjects}"
                )
            time.sleep(0.2)

    def wait_for_attachment(self, address: str) -> EmailMessage:
        """The first message to ``address`` that carries a PDF."""
        deadline = time.monotonic() + MAIL_DEADLINE_SECONDS
        while True:
            for message in self.to(address):
                if any(p.get_content_type() == "application/pdf" for p in message.iter_attachments()):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no PDF e-mailed to {address} within {MAIL_DEADLINE_SECONDS:.0f} s")
            time.sleep(0.2)

    def links(self, message: EmailMessage, kind: str) -> list[str]:
        """Paths of this kind ('c' to sign, 'my' the client's page) in the message, on this server."""
        return re.findall(re.escape(self.base_url) + rf"(/{kind}/[A-Za-z0-9_\-]+)", text_of(message))


def text_of(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def pdf_attachment(message: EmailMessage) -> bytes:
    [pdf] = [part.get_content() for part in message.iter_attachments() if part.get_content_type() == "application/pdf"]
    assert isinstance(pdf, bytes) and pdf.startswith(b"%PDF")
    return pdf


def watch_for_errors(page: Page) -> list[str]:
    """Collects console errors (CSP reports among them) and uncaught script errors on this page, from now on.

    CSP violations are caught twice: Chromium's console report, and the document's
    ``securitypolicyviolation`` event, recorded by an init script (which CSP does not govern).
    """
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"console {m.type}: {m.text} ({m.location.get('url')})") if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.expose_function("__reportCspViolation", lambda text: problems.append(f"CSP violation: {text}"))
    page.add_init_script("""
        document.addEventListener("securitypolicyviolation", function (e) {
          window.__reportCspViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                                      " at " + e.sourceFile + ":" + e.lineNumber);
        });
    """)
    return problems
