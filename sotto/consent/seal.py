"""The practice's digital seal on consent PDFs: certificates, sealing and checking a seal.

Everything works on bytes in memory. Sealing is a PAdES baseline B-B certification
signature made with pyHanko; there is no timestamp server and no network, so checking
never fetches revocation data.

pyHanko runs its async core under `asyncio.run`, which refuses to start inside a running
event loop; `seal_pdf` and `check_seal` therefore hand pyHanko to a short-lived thread when
the calling thread has a loop running, and work the same from any caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import TypeVar

from asn1crypto import pem as asn1_pem
from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes, PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

T = TypeVar("T")

FIELD_NAME = "PracticeSeal"
# Either usage marks a certificate meant for signing; many CA-issued document-signing
# certificates carry only one of the two.
SIGNING_KEY_USAGES = {"digital_signature", "non_repudiation"}
_MAX_NAME_BYTES = 64  # RFC 5280's bound for CN and O, which cryptography applies to UTF-8 bytes
# The key types pyHanko can sign PDFs with (DSA is obsolete and left out).
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey

NOT_A_PDF = "This is not a readable PDF file."
NO_SEAL = "This file has no digital seal."
CHANGED = "The document was changed after it was sealed."
DAMAGED = "The digital seal is damaged and cannot be checked."
NOT_OURS = "The seal was not made by this practice's certificate."
UNVALIDATED = "The practice's certificate that made this seal could not be validated."


class SealError(Exception):
    """A certificate or PDF cannot be used for sealing; the message is fit to show an admin."""


@dataclass(frozen=True)
class SealMaterial:
    """A sealing key and its certificate, ready to be encrypted and stored by the caller."""

    pkcs12: bytes  # key, certificate and any chain, without a password
    certificate_pem: str
    fingerprint_sha256: str  # hex SHA-256 of the DER certificate
    subject: str  # RFC 4514
    not_after: datetime
    self_signed: bool


@dataclass(frozen=True)
class SealCheck:
    """What a check of a PDF's seal found. `problem` is a plain sentence, or None if all is well.

    Each flag answers one question; only `ok` answers "can this PDF be relied on?".
    `trusted` is about the certificate alone and stays True for a trusted seal on a
    document that was changed afterwards.
    """

    sealed: bool  # the file is a PDF with a signature in it
    intact: bool  # the signed bytes hash to what was signed
    valid: bool  # the signature over that hash verifies
    trusted: bool  # made by one of the trusted certificates, valid at the time checked
    signer: str | None  # RFC 4514 subject of the signing certificate
    signed_at: datetime | None  # the time the seal claims for itself (not independent proof)
    covers_whole_file: bool  # nothing that changes content was added after sealing
    problem: str | None

    @property
    def ok(self) -> bool:
        """Sealed, unchanged since, and by a trusted certificate."""
        return (
            self.sealed
            and self.intact
            and self.valid
            and self.trusted
            and self.covers_whole_file
            and self.problem is None
        )


# --- certificates --------------------------------------------------------------------------


def create_self_signed_certificate(practice_name: str, *, valid_days: int = 3650) -> SealMaterial:
    """A new RSA-3072 key with a self-signed certificate naming the practice.

    The certificate is its own trust anchor (CA, path length 0) and is marked for
    digital signatures and non-repudiation. It has no extended key usage: none is needed
    by pyHanko, and readers such as Acrobat accept a certificate without one.
    """
    practice_name = " ".join(practice_name.split())
    if not practice_name:
        raise ValueError("A practice name is needed for the seal certificate.")
    # RSA rather than EC: every PDF reader in clinical use verifies RSA signatures.
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    suffix = " (Sotto consent seal)"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, _fit(practice_name, _MAX_NAME_BYTES - len(suffix)) + suffix),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, _fit(practice_name, _MAX_NAME_BYTES)),
        ]
    )
    # Backdated a little so a reader whose clock runs slow does not see a future certificate.
    now = datetime.now(UTC).replace(microsecond=0)
    public_key = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )
    return _material(key, certificate, [])


def load_pkcs12(data: bytes, password: bytes | None) -> SealMaterial:
    """An admin's own PKCS#12 file, checked and re-exported without a password.

    Raises SealError with a plain message for a wrong password, a file that is not
    PKCS#12, a file without a private key (or whose key does not match its certificate),
    a certificate not meant for signing, or one that has expired or is not yet valid.
    """
    key, certificate, chain = _open_pkcs12(data, password)
    if key is None:
        raise SealError("The file holds no private key. Export the certificate again with its private key included.")
    if certificate is None:
        raise SealError("The file holds a private key but not its certificate.")
    if not isinstance(key, SigningKey):
        raise SealError("The certificate's key type cannot be used to seal PDF files.")
    if _spki(key.public_key()) != _spki(certificate.public_key()):
        raise SealError("The private key in the file does not belong to its certificate.")
    now = datetime.now(UTC)
    if certificate.not_valid_after_utc <= now:
        raise SealError(f"The certificate expired on {certificate.not_valid_after_utc:%Y-%m-%d}.")
    if certificate.not_valid_before_utc > now:
        raise SealError(f"The certificate is not valid until {certificate.not_valid_before_utc:%Y-%m-%d}.")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise SealError("This certificate is not meant for signing documents.")
    return _material(key, certificate, chain)


def _open_pkcs12(
    data: bytes,
    password: bytes | None,
) -> tuple[PrivateKeyTypes | None, x509.Certificate | None, list[x509.Certificate]]:
    # Files exported "without a password" use either no password or an empty one.
    attempts = [password] if password is not None else [None, b""]
    for attempt in attempts:
        try:
            key, certificate, chain = pkcs12.load_key_and_certificates(data, attempt)
        except UnsupportedAlgorithm as exc:
            raise SealError(
                "The file is protected with an old encryption method this server cannot "
                "read. Export it again using AES encryption."
            ) from exc
        except ValueError:
            continue
        return key, certificate, list(chain)
    if _is_pkcs12_structure(data):
        if password is None:
            raise SealError("This certificate file is protected by a password. Enter the password.")
        raise SealError("The password for this certificate file is not right.")
    raise SealError("This file is not a PKCS#12 certificate file (.p12 or .pfx).")


def _is_pkcs12_structure(data: bytes) -> bool:
    """Whether the bytes parse as a PKCS#12 container, whatever its password."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return bool(pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native)
    # asn1crypto reports malformed input with several exception types.
    except Exception:
        return False


def _material(key: SigningKey, certificate: x509.Certificate, chain: list[x509.Certificate]) -> SealMaterial:
    exported = pkcs12.serialize_key_and_certificates(
        name=b"Sotto consent seal",
        key=key,
        cert=certificate,
        cas=chain or None,
        encryption_algorithm=serialization.NoEncryption(),
    )
    return SealMaterial(
        pkcs12=exported,
        certificate_pem=certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        subject=certificate.subject.rfc4514_string(),
        not_after=certificate.not_valid_after_utc,
        self_signed=_is_self_signed(certificate),
    )


def _is_self_signed(certificate: x509.Certificate) -> bool:
    if certificate.issuer != certificate.subject:
        return False
    try:
        certificate.verify_directly_issued_by(certificate)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def _spki(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _fit(value: str, limit: int) -> str:
    """`value` shortened with an ellipsis to at most `limit` UTF-8 bytes, as X.509 counts them."""
    if len(value.encode()) <= limit:
        return value
    while len(value.encode()) + len("…".encode()) > limit:
        value = value[:-1]
    return value.rstrip() + "…"


# --- sealing -------------------------------------------------------------------------------


def seal_pdf(pdf: bytes, pkcs12: bytes, *, reason: str = "Consent completed", location: str | None = None) -> bytes:
    """The PDF with the practice's seal added as an incremental update, in memory.

    The seal is a PAdES B-B certification signature that permits no later changes, so any
    edit, however small, shows as a broken seal. Raises SealError if the PKCS#12 (without a
    password) or the PDF cannot be read.
    """
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(pkcs12, other_certs=(), passphrase=None)
    except ValueError as exc:
        raise SealError("The practice's seal certificate could not be read.") from exc
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
        signer_key_usage=set(SIGNING_KEY_USAGES),
    )
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf))
    # pyHanko's reader raises PdfReadError, and lower-level errors on truncated input.
    except Exception as exc:
        raise SealError("The PDF could not be sealed: it is not a readable PDF file.") from exc
    output = _outside_event_loop(lambda: signers.sign_pdf(writer, metadata, signer=signer))
    return bytes(output.getvalue())


def _outside_event_loop(work: Callable[[], T]) -> T:
    """Run `work` here, or in a helper thread when this thread has an event loop running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sotto-seal") as pool:
        return pool.submit(work).result()


# --- checking ------------------------------------------------------------------------------


def check_seal(
    pdf: bytes, trusted_certificate_pems: list[str], *, validation_time: datetime | None = None
) -> SealCheck:
    """What the practice seal on a PDF proves, without touching the network. Never raises on bad input.

    `trusted_certificate_pems` are the certificates (current and retired) whose seals the
    practice vouches for. The seal has no trusted timestamp, so the certificate is checked
    at `validation_time` if given, else at the time the seal says it was made: pass the
    signing time from the consent record for a time that does not come from the file.

    Raises ValueError only for a trusted certificate that is not PEM.
    """
    roots = [_asn1_certificate(text) for text in trusted_certificate_pems]
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = list(reader.embedded_signatures)
    # pyHanko signals unreadable input with PdfReadError but also with lower-level errors.
    except Exception:
        return _no_seal(NOT_A_PDF)
    if not signatures:
        return _no_seal(NO_SEAL)
    embedded = next((sig for sig in signatures if sig.field_name == FIELD_NAME), signatures[0])
    try:
        signer: str | None = _certificate(embedded.signer_cert).subject.rfc4514_string()
        claimed_at = embedded.self_reported_timestamp
        moment = validation_time or claimed_at or datetime.now(UTC)
        context = ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment)
        status = _outside_event_loop(
            lambda: validate_pdf_signature(
                embedded,
                context,
                key_usage_settings=KeyUsageConstraints(key_usage=set(SIGNING_KEY_USAGES)),
            )
        )
    # A malformed signature dictionary or CMS blob surfaces as many exception types.
    except Exception:
        return SealCheck(
            sealed=True,
            intact=False,
            valid=False,
            trusted=False,
            signer=None,
            signed_at=None,
            covers_whole_file=False,
            problem=DAMAGED,
        )
    covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        # Later updates that only add validation data or timestamps change no content.
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
    )
    # pyHanko does not check the validity period of a certificate that is itself a trust
    # anchor (a self-signed seal, or a practice certificate trusted directly), so we do.
    period_problem = _validity_problem(_certificate(status.signing_cert), moment)
    trusted = status.trusted and period_problem is None
    if not status.intact:
        problem: str | None = CHANGED
    elif not status.valid:
        problem = DAMAGED
    elif not covers:
        problem = CHANGED
    elif not trusted:
        known = any(root.dump() == status.signing_cert.dump() for root in roots)
        problem = period_problem or (UNVALIDATED if known else NOT_OURS)
    else:
        problem = None
    return SealCheck(
        sealed=True,
        intact=status.intact,
        valid=status.valid,
        trusted=trusted,
        signer=signer,
        signed_at=claimed_at.astimezone(UTC) if claimed_at is not None else None,
        covers_whole_file=covers,
        problem=problem,
    )


def _validity_problem(certificate: x509.Certificate, moment: datetime) -> str | None:
    if moment > certificate.not_valid_after_utc:
        expired_on = f"{certificate.not_valid_after_utc:%Y-%m-%d}"
        return f"The certificate that made this seal had already expired (on {expired_on})."
    if moment < certificate.not_valid_before_utc:
        return "The certificate that made this seal was not yet valid at that time."
    return None


def _no_seal(problem: str) -> SealCheck:
    return SealCheck(
        sealed=False,
        intact=False,
        valid=False,
        trusted=False,
        signer=None,
        signed_at=None,
        covers_whole_file=False,
        problem=problem,
    )


def _asn1_certificate(text: str) -> asn1_x509.Certificate:
    data = text.encode("ascii")
    if not asn1_pem.detect(data):
        raise ValueError("A trusted certificate is not in PEM format.")
    _, _, der = asn1_pem.unarmor(data)
    return asn1_x509.Certificate.load(der)


def _certificate(certificate: asn1_x509.Certificate) -> x509.Certificate:
    return x509.load_der_x509_certificate(certificate.dump())
