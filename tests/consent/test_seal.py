"""The practice seal: certificates, sealing in memory, and checking a seal without a network."""

from __future__ import annotations

import io
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image, ImageDraw
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pypdf import PdfReader

from sotto.consent.pdf import ConsentDocument, render_consent_pdf
from sotto.consent.seal import (
    SealCheck,
    SealError,
    SealMaterial,
    check_seal,
    create_self_signed_certificate,
    load_pkcs12,
    seal_pdf,
)
from support.certificates import NOW, issue, p12


def signature_png() -> bytes:
    image = Image.new("RGBA", (600, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(40, 140), (120, 60), (220, 150), (400, 90)], fill=(20, 30, 60, 255), width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def consent_pdf() -> bytes:
    return render_consent_pdf(
        ConsentDocument(
            practice_name="Harbor Lane Counseling",
            client_pseudonym="Blue Heron",
            consent_id="7f3c2a9e41b84d0c9a6e5f1d2b3c4a5e",
            form_markdown="# About recording\n\nYou decide, and you can change your mind at any time.\n",
            uses=[("My therapist may listen to and review recordings of our sessions", True)],
            typed_name="Jordan A. Rivera",
            signature_png=signature_png(),
            sent_at=NOW - timedelta(days=1),
            opened_at=NOW - timedelta(minutes=5),
            signed_at=NOW,
            consent_expires_at=NOW + timedelta(days=365),
            signer_ip="203.0.113.42",
            signer_user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0",
            delivery="Link sent by e-mail",
            template_version=1,
            template_sha256="a" * 64,
            form_sha256="b" * 64,
        )
    )


@pytest.fixture(scope="module")
def practice() -> SealMaterial:
    return create_self_signed_certificate("Harbor Lane Counseling")


@pytest.fixture(scope="module")
def sealed(practice: SealMaterial) -> bytes:
    return seal_pdf(consent_pdf(), practice.pkcs12)


def pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


# --- certificates --------------------------------------------------------------------------


def test_self_signed_certificate_names_the_practice_and_is_its_own_anchor(practice: SealMaterial) -> None:
    certificate = x509.load_pem_x509_certificate(practice.certificate_pem.encode())

    assert practice.self_signed
    assert certificate.subject == certificate.issuer
    assert practice.subject == certificate.subject.rfc4514_string()
    assert "CN=Harbor Lane Counseling (Sotto consent seal)" in practice.subject
    assert "O=Harbor Lane Counseling" in practice.subject
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment
    assert practice.fingerprint_sha256 == certificate.fingerprint(hashes.SHA256()).hex()
    assert practice.not_after == certificate.not_valid_after_utc
    assert timedelta(days=3649) < practice.not_after - NOW < timedelta(days=3651)
    key, loaded, _ = pkcs12.load_key_and_certificates(practice.pkcs12, None)
    assert key is not None and loaded == certificate


def test_a_long_practice_name_is_shortened_to_fit_the_certificate() -> None:
    material = create_self_signed_certificate(
        "The Very Long Named Center for Integrative Psychotherapy "
        "and Family Counseling of the Greater Metropolitan Area"
    )

    certificate = x509.load_pem_x509_certificate(material.certificate_pem.encode())
    for attribute in certificate.subject:
        assert len(str(attribute.value)) <= 64
    assert str(certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value).endswith(
        "… (Sotto consent seal)"
    )


def test_admin_pkcs12_with_password_is_reexported_without_one() -> None:
    key, certificate = issue("Dr. Example Practice seal")

    material = load_pkcs12(p12(key, certificate, b"s3cret"), b"s3cret")

    assert material.self_signed
    assert material.fingerprint_sha256 == certificate.fingerprint(hashes.SHA256()).hex()
    loaded_key, loaded_certificate, _ = pkcs12.load_key_and_certificates(material.pkcs12, None)
    assert loaded_key is not None and loaded_certificate == certificate


def test_admin_pkcs12_with_wrong_password_is_refused() -> None:
    key, certificate = issue("Practice seal")

    with pytest.raises(SealError, match="password"):
        load_pkcs12(p12(key, certificate, b"right"), b"wrong")
    with pytest.raises(SealError, match="password"):
        load_pkcs12(p12(key, certificate, b"right"), None)


@pytest.mark.parametrize("data", [b"", b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n"])
def test_a_file_that_is_not_pkcs12_is_refused(data: bytes) -> None:
    with pytest.raises(SealError, match=r"not a PKCS#12"):
        load_pkcs12(data, b"whatever")


def test_admin_pkcs12_without_private_key_is_refused() -> None:
    _, certificate = issue("Practice seal")

    with pytest.raises(SealError, match="private key"):
        load_pkcs12(p12(None, certificate, b"pw"), b"pw")


def test_admin_pkcs12_with_expired_certificate_is_refused() -> None:
    key, certificate = issue("Practice seal", not_before=NOW - timedelta(days=800), not_after=NOW - timedelta(days=1))

    with pytest.raises(SealError, match="expired"):
        load_pkcs12(p12(key, certificate, b"pw"), b"pw")


# --- sealing and checking ------------------------------------------------------------------


def test_sealed_pdf_checks_intact_valid_and_trusted(practice: SealMaterial, sealed: bytes) -> None:
    check = check_seal(sealed, [practice.certificate_pem])

    assert check.sealed and check.intact and check.valid and check.trusted and check.covers_whole_file
    assert check.ok and check.problem is None
    assert check.signer == practice.subject
    assert check.signed_at is not None and abs(check.signed_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_sealed_pdf_is_still_a_readable_pdf_with_the_seal_field(sealed: bytes) -> None:
    reader = PdfReader(io.BytesIO(sealed))

    assert "Certificate of completion" in reader.pages[-1].extract_text()
    assert "PracticeSeal" in (reader.get_fields() or {})


def test_seal_from_another_certificate_is_not_trusted(sealed: bytes) -> None:
    stranger = create_self_signed_certificate("Some Other Practice")

    check = check_seal(sealed, [stranger.certificate_pem])

    assert check.sealed and check.intact and check.valid
    assert not check.trusted
    assert check.problem == "The seal was not made by this practice's certificate."


def test_with_no_trusted_certificates_nothing_is_trusted(sealed: bytes) -> None:
    check = check_seal(sealed, [])

    assert check.intact and not check.trusted and check.problem is not None


def test_one_changed_byte_breaks_the_seal(practice: SealMaterial, sealed: bytes) -> None:
    at = sealed.index(b"ReportLab")  # inside the signed range: the producer's header comment
    tampered = sealed[:at] + b"X" + sealed[at + 1 :]

    check = check_seal(tampered, [practice.certificate_pem])

    assert check.sealed and not check.intact and not check.trusted and not check.ok
    assert check.problem == "The document was changed after it was sealed."


def test_a_page_changed_in_a_later_update_is_reported(practice: SealMaterial, sealed: bytes) -> None:
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    page_ref = writer.root["/Pages"]["/Kids"].raw_get(0)
    page = page_ref.get_object()
    page["/MediaBox"] = generic.ArrayObject([generic.NumberObject(n) for n in (0, 0, 300, 300)])
    writer.mark_update(page_ref)
    out = io.BytesIO()
    writer.write(out)

    check = check_seal(out.getvalue(), [practice.certificate_pem])

    assert check.sealed and not check.ok
    assert not (check.intact and check.covers_whole_file)
    assert check.problem == "The document was changed after it was sealed."


@pytest.mark.parametrize("data", [b"", b"hello, this is not a PDF", b"%PDF-1.7\n%%EOF", b"\x00" * 1000])
def test_garbage_is_reported_not_raised(practice: SealMaterial, data: bytes) -> None:
    check = check_seal(data, [practice.certificate_pem])

    assert not check.sealed and not check.trusted
    assert check.problem == "This is not a readable PDF file."


def test_truncated_sealed_pdf_is_reported_not_raised(practice: SealMaterial, sealed: bytes) -> None:
    for cut in (len(sealed) // 3, len(sealed) // 2, len(sealed) - 40):
        check = check_seal(sealed[:cut], [practice.certificate_pem])
        assert not check.trusted and check.problem is not None


def test_pdf_without_seal_is_reported(practice: SealMaterial) -> None:
    check = check_seal(consent_pdf(), [practice.certificate_pem])

    assert not check.sealed and check.problem == "This file has no digital seal."


def test_certificate_checked_at_a_time_after_it_expired_says_so() -> None:
    short_lived = create_self_signed_certificate("Harbor Lane Counseling", valid_days=1)
    sealed = seal_pdf(consent_pdf(), short_lived.pkcs12)

    now = datetime.now(UTC)  # not the module's NOW: the certificate is only valid from its making
    later = check_seal(sealed, [short_lived.certificate_pem], validation_time=now + timedelta(days=3))
    at_signing = check_seal(sealed, [short_lived.certificate_pem], validation_time=now + timedelta(minutes=1))
    by_claimed_time = check_seal(sealed, [short_lived.certificate_pem])

    assert later.intact and not later.trusted
    assert later.problem is not None and "expired" in later.problem
    assert at_signing.trusted and at_signing.problem is None
    assert by_claimed_time.trusted


def test_ca_issued_certificate_seals_and_verifies_against_leaf_or_root() -> None:
    root_key, root = issue("Example Health CA", ca=True)
    leaf_key, leaf = issue("Harbor Lane Counseling seal", issuer=(root.subject, root_key))
    material = load_pkcs12(p12(leaf_key, leaf, b"pw", cas=[root]), b"pw")

    sealed = seal_pdf(consent_pdf(), material.pkcs12)

    assert not material.self_signed
    assert check_seal(sealed, [material.certificate_pem]).trusted
    via_root = check_seal(sealed, [pem(root)])
    assert via_root.trusted and via_root.problem is None


def test_sealing_garbage_raises_seal_error(practice: SealMaterial) -> None:
    with pytest.raises(SealError):
        seal_pdf(b"not a pdf", practice.pkcs12)
    with pytest.raises(SealError):
        seal_pdf(consent_pdf(), b"not a pkcs12")


def test_rendering_and_sealing_write_no_files(
    practice: SealMaterial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _private_temp_dir: Path
) -> None:
    # Every test already has its own empty temp directory (tests/support/app.py).
    temp_dir, work_dir = _private_temp_dir, tmp_path / "cwd"
    work_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    for variable in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.setenv(variable, str(temp_dir))
    monkeypatch.chdir(work_dir)

    sealed = seal_pdf(consent_pdf(), practice.pkcs12)
    check = check_seal(sealed, [practice.certificate_pem])

    assert check.trusted
    assert list(temp_dir.iterdir()) == []
    assert list(work_dir.iterdir()) == []


def test_sealing_and_checking_work_inside_a_running_event_loop(practice: SealMaterial) -> None:
    """pyHanko's asyncio.run refuses a thread with a loop running (Playwright's sync API, an
    async job runner); the seal functions must not care who calls them."""
    import asyncio

    async def inside_a_loop() -> SealCheck:
        sealed = seal_pdf(consent_pdf(), practice.pkcs12)
        return check_seal(sealed, [practice.certificate_pem])

    check = asyncio.run(inside_a_loop())
    assert check.sealed and check.intact and check.valid and check.trusted
