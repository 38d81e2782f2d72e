"""The consent workflow in headless Chromium against a live server, real SMTP and the real seal.

The therapist works at a desk-sized window; the client uses a separate, phone-sized,
touch-screen context and reaches the pages only through the links in their e-mail.
Screenshots land in test-artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from browser.steps import (
    DESKTOP,
    Mailbox,
    client_row,
    draw_signature_with_finger,
    fits_width,
    ink_in_pdf_signature,
    ink_on_pad,
    pdf_attachment,
    render_first_pdf_page,
    screenshot,
    send_consent_form,
    sign_in_through_pages,
    text_of,
    watch_for_errors,
)
from playwright.sync_api import Page, expect
from sqlalchemy import select

from sotto.consent.certificates import active_certificate
from sotto.consent.models import Consent
from sotto.consent.seal import SealCheck, check_seal
from sotto.db import session_scope
from sotto.runtime import Runtime
from support.app import Person

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CLIENT_EMAIL = "blue.heron.client@example.test"
INVITATION = "consent to record your sessions"


def the_consent(runtime: Runtime) -> Consent:
    with session_scope(runtime.sessions) as session:
        return session.scalars(select(Consent)).one()


def check_seal_off_the_loop(pdf: bytes, trusted_pems: list[str]) -> SealCheck:
    """check_seal from a plain thread, as the app calls it (run_in_threadpool).

    pyHanko's synchronous validation starts its own event loop, which cannot happen in a
    thread where sync Playwright's loop is running.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(check_seal, pdf, trusted_pems).result(timeout=60)


def open_invitation(client_page: Page, mailbox: Mailbox) -> None:
    """The client follows the one link in the invitation e-mail."""
    invitation = mailbox.wait_for(CLIENT_EMAIL, subject_has=INVITATION)
    [link] = mailbox.links(invitation, "c")
    client_page.goto(link)
    expect(client_page.get_by_role("heading", name="Consent to record your sessions")).to_be_visible()


def test_consent_signed_on_a_phone_is_sealed_mailed_and_withdrawn(
    runtime: Runtime, therapist: Person, therapist_page: Page, client_page: Page, mailbox: Mailbox, tmp_path: Path
) -> None:
    therapist_ui = therapist_page
    problems = watch_for_errors(therapist_ui), watch_for_errors(client_page)
    sign_in_through_pages(therapist_ui, therapist)
    send_consent_form(therapist_ui, pseudonym="Blue Heron", email=CLIENT_EMAIL, note="As we discussed today.")
    expect(client_row(therapist_ui, "Blue Heron").locator(".badge")).to_have_text("Sent")
    screenshot(therapist_ui, "home-desktop")

    # The client, on their phone, opens the link from the e-mail.
    invitation = mailbox.wait_for(CLIENT_EMAIL, subject_has=INVITATION)
    assert "As we discussed today." in text_of(invitation)
    open_invitation(client_page, mailbox)
    assert fits_width(client_page), "the signing page scrolls sideways on a phone"
    screenshot(client_page, "signing-page-phone")

    client_page.get_by_label("I agree to receive and sign this form electronically").check()
    client_page.get_by_label("My therapist may listen to and review recordings").check()
    client_page.get_by_label("Software running on the practice's own server may draft session notes").check()
    client_page.get_by_label("Type your full name").fill("Avery Invented")
    expect(client_page.locator("#signature-state")).to_have_text("Sign inside the box.")
    draw_signature_with_finger(client_page)
    expect(client_page.locator("#signature-state")).to_have_text("Signature drawn.")
    drawn = ink_on_pad(client_page)
    assert drawn > 1000, f"the strokes left only {drawn} inked pixels"
    # A full-page screenshot resizes the viewport twice, as a phone's keyboard or rotation does.
    screenshot(client_page, "signing-page-phone-filled")
    assert ink_on_pad(client_page) > drawn * 0.8, "the signature did not survive the page being resized"
    client_page.get_by_role("button", name="Sign and give consent").click()
    expect(client_page.get_by_role("heading", name="Thank you — your consent is signed")).to_be_visible()
    assert fits_width(client_page)

    # The sealed PDF reaches the therapist; its seal and hash check out.
    to_therapist = mailbox.wait_for_attachment(therapist.user.email)
    pdf = pdf_attachment(to_therapist)
    # The job records the PDF's hash just after sending both copies: wait for that commit.
    deadline = time.monotonic() + 30
    while the_consent(runtime).pdf_sha256 is None and time.monotonic() < deadline:
        time.sleep(0.1)
    consent = the_consent(runtime)
    assert consent.status == "signed"
    assert consent.uses == {"therapist_review": True, "supervision": False, "ai_notes": True, "client_recap": False}
    assert consent.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    with session_scope(runtime.sessions) as session:
        certificate = active_certificate(session, practice_id=consent.practice_id)
        assert certificate is not None
        seal = check_seal_off_the_loop(pdf, [certificate.certificate_pem])
    assert seal.intact and seal.valid and seal.trusted and seal.covers_whole_file, seal
    assert ink_in_pdf_signature(pdf) > 1000, "the drawn signature is missing from the PDF"
    pdf_page = render_first_pdf_page(pdf, "signed-pdf-page-1", tmp_path)

    therapist_ui.reload()
    row = client_row(therapist_ui, "Blue Heron")
    expect(row.locator(".badge")).to_have_text("Signed")
    screenshot(therapist_ui, "home-desktop-signed")
    therapist_ui.set_viewport_size({"width": 390, "height": 844})  # a therapist checking between sessions
    assert fits_width(therapist_ui), "the therapist's home scrolls sideways on a phone"
    screenshot(therapist_ui, "home-phone-signed")
    therapist_ui.set_viewport_size(DESKTOP["viewport"])
    row.get_by_role("link", name="Record", exact=True).click()
    expect(therapist_ui.locator("#pdf-sha256")).to_have_text(hashlib.sha256(pdf).hexdigest())
    screenshot(therapist_ui, "record-desktop")

    # Later the client withdraws through the private link in their copy.
    to_client = mailbox.wait_for_attachment(CLIENT_EMAIL)
    assert pdf_attachment(to_client) == pdf
    [my_link] = mailbox.links(to_client, "my")
    assert not mailbox.links(to_therapist, "my"), "the client's private link must not reach the therapist"
    client_page.goto(my_link)
    expect(client_page.locator("#consent-status")).to_have_text("In force")
    assert fits_width(client_page), "the client's page scrolls sideways on a phone"
    screenshot(client_page, "client-page-phone")
    client_page.get_by_role("button", name="Withdraw my consent").click()
    expect(client_page.locator("#withdrawn-notice")).to_contain_text("Your consent is withdrawn")
    expect(client_page.locator("#consent-status")).to_contain_text("Withdrawn on")
    assert fits_width(client_page)
    screenshot(client_page, "client-page-phone-withdrawn")

    therapist_ui.goto("/")
    expect(client_row(therapist_ui, "Blue Heron").locator(".badge")).to_have_text("Withdrawn")
    assert the_consent(runtime).status == "withdrawn"
    assert problems == ([], []), "script errors or CSP violations:\n" + "\n".join(problems[0] + problems[1])
    if pdf_page is None:
        warnings.warn(
            "pdftoppm is not installed, so there is no picture of the PDF's first page (apt-get install poppler-utils)",
            stacklevel=1,
        )


def test_client_declines_on_a_phone_and_the_therapist_is_told(
    runtime: Runtime, therapist: Person, therapist_page: Page, client_page: Page, mailbox: Mailbox
) -> None:
    problems = watch_for_errors(therapist_page), watch_for_errors(client_page)
    sign_in_through_pages(therapist_page, therapist)
    send_consent_form(therapist_page, pseudonym="Quiet Fox", email=CLIENT_EMAIL)
    open_invitation(client_page, mailbox)

    client_page.get_by_text("I do not want my sessions recorded").click()
    client_page.get_by_label("If you like, tell your therapist why").fill("I would rather not, for now.")
    assert fits_width(client_page)
    screenshot(client_page, "decline-phone")
    client_page.get_by_role("button", name="Decline").click()
    expect(client_page.get_by_role("heading", name="You declined — that is completely fine")).to_be_visible()

    notice = mailbox.wait_for(therapist.user.email, subject_has="declined")
    assert "I would rather not, for now." in text_of(notice)
    therapist_page.reload()
    expect(client_row(therapist_page, "Quiet Fox").locator(".badge")).to_have_text("Declined")
    consent = the_consent(runtime)
    assert consent.status == "declined" and consent.email_sealed is None
    assert problems == ([], []), "script errors or CSP violations:\n" + "\n".join(problems[0] + problems[1])


def test_pages_keep_to_the_content_security_policy(
    therapist: Person, therapist_page: Page, client_page: Page, mailbox: Mailbox
) -> None:
    therapist_problems = watch_for_errors(therapist_page)
    client_problems = watch_for_errors(client_page)
    sign_in_through_pages(therapist_page, therapist)
    send_consent_form(therapist_page, pseudonym="Green Finch", email=CLIENT_EMAIL)
    therapist_page.reload()
    expect(therapist_page.get_by_role("heading", name="Your clients")).to_be_visible()

    open_invitation(client_page, mailbox)
    draw_signature_with_finger(client_page)  # the signature script runs, under the CSP
    expect(client_page.locator("#signature-state")).to_have_text("Signature drawn.")
    client_page.get_by_role("button", name="Clear").click()
    expect(client_page.locator("#signature-state")).to_have_text("Sign inside the box.")
    csp = client_page.request.get(client_page.url).headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp

    assert therapist_problems == [], "\n".join(therapist_problems)
    assert client_problems == [], "\n".join(client_problems)
