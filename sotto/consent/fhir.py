"""Consent records as FHIR R4 Bundles, for a practice to file in its EHR.

fhir.resources 8 ships R5 as its default package, plus R4B and STU3, but no R4 package.
R4B (4.3.0) left Consent and DocumentReference exactly as R4 (4.0.1) defined them, and a
"collection" Bundle is built the same way in both, so the R4B models validate the R4
content produced here.

The client appears only by pseudonym and the signed PDF only by its hashes: Sotto never
keeps the PDF, so the DocumentReference points at the copy in the practice's EHR by hash.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from pydantic import ValidationError

from sotto.consent.models import USE_LABELS, ConsentStatus, Use

LOINC = "http://loinc.org"
PATIENT_CONSENT = {"system": LOINC, "code": "59284-0", "display": "Patient Consent"}
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
CONSENT_ACTION = "http://terminology.hl7.org/CodeSystem/consentaction"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"

CONSENT_STATUS = {
    ConsentStatus.SENT: "proposed",
    ConsentStatus.OPENED: "proposed",
    ConsentStatus.SIGNED: "active",
    ConsentStatus.DECLINED: "rejected",
    ConsentStatus.WITHDRAWN: "inactive",
    ConsentStatus.EXPIRED: "inactive",
}

# What each use does with a recording, in the R4 consent-action vocabulary.
USE_ACTIONS = {
    Use.THERAPIST_REVIEW: "access",
    Use.SUPERVISION: "disclose",
    Use.AI_NOTES: "use",
    Use.CLIENT_RECAP: "use",
}

# Required bindings fhir.resources does not enforce: it checks a code's shape, not its value.
BUNDLE_TYPES = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
)
CONSENT_STATES = frozenset({"draft", "proposed", "active", "rejected", "inactive", "entered-in-error"})
PROVISION_TYPES = frozenset({"deny", "permit"})
DOCUMENT_STATES = frozenset({"current", "superseded", "entered-in-error"})
DOCUMENT_COMPOSITION_STATES = frozenset({"preliminary", "final", "amended", "entered-in-error"})

_HEX = {"sha256": re.compile(r"[0-9a-f]{64}"), "sha1": re.compile(r"[0-9a-f]{40}")}


@dataclass(frozen=True)
class ConsentExport:
    """What a consent record says, in the terms the FHIR export needs; no client identity."""

    consent_id: str
    practice_name: str
    client_pseudonym: str
    therapist_name: str
    status: str
    uses: Mapping[str, bool]
    signed_at: datetime | None
    withdrawn_at: datetime | None
    declined_at: datetime | None
    consent_expires_at: datetime | None
    template_version: int
    form_sha256: str
    pdf_sha256: str | None
    pdf_sha1: str | None
    base_url: str


def consent_bundle(export: ConsentExport) -> dict[str, Any]:
    """Return a validated FHIR R4 collection Bundle holding the Consent and, once a PDF
    was signed, a DocumentReference identifying it by hash.

    Raises ValueError when the export is inconsistent (unknown status or use, a signed
    consent without a signing time, malformed hashes, naive datetimes).
    """
    _check_export(export)
    consent_url = _urn(export, "Consent")
    entries: list[dict[str, Any]] = []
    document_url = None
    if export.pdf_sha256 is not None:
        document_url = _urn(export, "DocumentReference")
        entries.append({"fullUrl": document_url, "resource": _document_reference(export)})
    entries.insert(0, {"fullUrl": consent_url, "resource": _consent(export, document_url)})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    validate_bundle(bundle)
    return bundle


def validate_bundle(bundle: Mapping[str, Any]) -> None:
    """Accept a FHIR R4 Bundle (as JSON-like dicts) or raise ValueError saying what is wrong.

    Checks structure, cardinality and datatypes with fhir.resources, then the required
    code bindings and Consent invariants this export relies on, and that every urn:uuid
    reference resolves inside the bundle.
    """
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        raise ValueError("not a FHIR Bundle (resourceType must be 'Bundle')")
    try:
        Bundle.model_validate(dict(bundle))
    except ValidationError as exc:
        raise ValueError(f"invalid FHIR R4 Bundle: {exc}") from exc
    problems = list(_binding_problems(bundle))
    if problems:
        raise ValueError("invalid FHIR R4 Bundle: " + "; ".join(problems))


def _consent(export: ConsentExport, document_url: str | None) -> dict[str, Any]:
    base = _base(export)
    status = ConsentStatus(export.status)
    decided_at = export.signed_at or (export.declined_at if status is ConsentStatus.DECLINED else None)
    consent: dict[str, Any] = {
        "resourceType": "Consent",
        "identifier": [{"system": f"{base}/fhir/sid/consent", "value": export.consent_id}],
        "status": CONSENT_STATUS[status],
        # Recording consent governs who may collect, access and share the content of
        # sessions, which is what R4's "patient-privacy" scope covers; "treatment" is for
        # consent to undergo a treatment, and recording is not one.
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy", "display": "Privacy Consent"}]},
        "category": [{"coding": [dict(PATIENT_CONSENT)]}],
        # Clients are pseudonymous in Sotto: the reference carries a display name only.
        "patient": {"type": "Patient", "display": export.client_pseudonym},
        "performer": [{"type": "Patient", "display": export.client_pseudonym}],
        "organization": [{"type": "Organization", "display": export.practice_name}],
        # The filled form the client saw is the policy they agreed to; its hash pins the text.
        "policy": [{"authority": base, "uri": _sha256_urn(export.form_sha256)}],
        "policyRule": {
            "coding": [
                {
                    "system": f"{base}/fhir/CodeSystem/consent-form",
                    "code": f"template-v{export.template_version}",
                    "display": f"Recording consent form, template version {export.template_version}",
                }
            ],
            "text": (
                f"Recording consent form, template version {export.template_version}; "
                f"SHA-256 of the form as shown: {export.form_sha256}"
            ),
        },
        "provision": _provision(export, status),
    }
    if decided_at is not None:
        consent["dateTime"] = _when(decided_at)
    if document_url is not None:
        consent["sourceReference"] = {"reference": document_url, "type": "DocumentReference"}
    return consent


def _provision(export: ConsentExport, status: ConsentStatus) -> dict[str, Any]:
    base = _base(export)
    provision: dict[str, Any] = {
        "type": "deny" if status is ConsentStatus.DECLINED else "permit",
        "actor": [
            {
                "role": {
                    "coding": [
                        {
                            "system": PARTICIPATION_TYPE,
                            "code": "PRCP",
                            "display": "primary information recipient",
                        }
                    ]
                },
                "reference": {"type": "Practitioner", "display": export.therapist_name},
            }
        ],
        "action": [_action("collect")],
    }
    if export.signed_at is None:
        # Not signed (yet, or ever): a proposal or a refusal, with no choices made per use.
        return provision

    ends = export.withdrawn_at if status is ConsentStatus.WITHDRAWN else export.consent_expires_at
    provision["period"] = {"start": _when(export.signed_at)}
    if ends is not None:
        provision["period"]["end"] = _when(ends)
    # A use the client did not tick is refused, so every use gets an explicit answer.
    provision["provision"] = [
        {
            "type": "permit" if export.uses.get(use.value, False) else "deny",
            "action": [_action(USE_ACTIONS[use])],
            "code": [
                {
                    "coding": [
                        {
                            "system": f"{base}/fhir/CodeSystem/recording-use",
                            "code": use.value,
                            "display": USE_LABELS[use],
                        }
                    ]
                }
            ],
        }
        for use in Use
    ]
    return provision


def _document_reference(export: ConsentExport) -> dict[str, Any]:
    assert export.pdf_sha256 is not None  # callers add a DocumentReference only with a PDF
    attachment: dict[str, Any] = {"contentType": "application/pdf", "title": "Signed recording consent"}
    if export.pdf_sha1 is not None:
        # R4 defines Attachment.hash as the base64 of the SHA-1 digest.
        attachment["hash"] = base64.b64encode(bytes.fromhex(export.pdf_sha1)).decode("ascii")
    if export.signed_at is not None:
        attachment["creation"] = _when(export.signed_at)
    document: dict[str, Any] = {
        "resourceType": "DocumentReference",
        # The SHA-256 identifies this exact PDF; compare it with `sha256sum` of the EHR copy.
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": _sha256_urn(export.pdf_sha256)},
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [dict(PATIENT_CONSENT)]},
        "subject": {"type": "Patient", "display": export.client_pseudonym},
        "custodian": {"type": "Organization", "display": export.practice_name},
        "description": "Signed recording consent (PDF held by the practice's EHR; not stored by Sotto)",
        "securityLabel": [{"coding": [{"system": CONFIDENTIALITY, "code": "R", "display": "restricted"}]}],
        # No data and no url: Sotto does not keep the PDF, only its hashes.
        "content": [{"attachment": attachment}],
    }
    if export.signed_at is not None:
        document["date"] = _when(export.signed_at)
    return document


def _check_export(export: ConsentExport) -> None:
    if export.status not in CONSENT_STATUS:
        raise ValueError(f"unknown consent status {export.status!r}")
    unknown = set(export.uses) - {use.value for use in Use}
    if unknown:
        raise ValueError(f"unknown recording uses {sorted(unknown)}")
    if export.status in (ConsentStatus.SIGNED, ConsentStatus.WITHDRAWN) and export.signed_at is None:
        raise ValueError(f"a {export.status} consent needs signed_at")
    if export.status == ConsentStatus.WITHDRAWN and export.withdrawn_at is None:
        raise ValueError("a withdrawn consent needs withdrawn_at")
    if export.pdf_sha256 is not None and export.signed_at is None:
        raise ValueError("a PDF hash without signed_at: only a signed consent has a PDF")
    if export.pdf_sha1 is not None and export.pdf_sha256 is None:
        raise ValueError("pdf_sha1 given without pdf_sha256")
    for name, kind, value in (
        ("form_sha256", "sha256", export.form_sha256),
        ("pdf_sha256", "sha256", export.pdf_sha256),
        ("pdf_sha1", "sha1", export.pdf_sha1),
    ):
        if value is not None and not _HEX[kind].fullmatch(value):
            raise ValueError(f"{name} is not a lower-case hex {kind.upper()} digest")
    if not export.base_url.startswith(("https://", "http://")):
        raise ValueError("base_url must be an absolute http(s) URL")


def _binding_problems(bundle: Mapping[str, Any]) -> Iterator[str]:
    # FHIR JSON forbids empty arrays, objects and strings; the models let them through,
    # which would hide a missing 1..* element such as Consent.category.
    for path in _empty_values(bundle, "Bundle"):
        yield f"{path} is empty"
    if bundle.get("type") not in BUNDLE_TYPES:
        yield f"Bundle.type {bundle.get('type')!r} is not a Bundle type"
    entries = bundle.get("entry") or []
    full_urls = [entry.get("fullUrl") for entry in entries]
    if len(set(full_urls)) != len(full_urls):
        yield "two entries share a fullUrl"
    for index, entry in enumerate(entries):
        resource = entry.get("resource") or {}
        where = f"entry[{index}] {resource.get('resourceType')}"
        for reference in _references(resource):
            if reference.startswith("urn:uuid:") and reference not in full_urls:
                yield f"{where} refers to {reference}, which is not in the bundle"
        if resource.get("resourceType") == "Consent":
            yield from _consent_problems(resource, where)
        elif resource.get("resourceType") == "DocumentReference":
            yield from _document_problems(resource, where)


def _consent_problems(consent: Mapping[str, Any], where: str) -> Iterator[str]:
    if consent.get("status") not in CONSENT_STATES:
        yield f"{where}: status {consent.get('status')!r} is not a Consent status"
    # R4 invariants ppc-1 and ppc-2.
    if not consent.get("policy") and not consent.get("policyRule"):
        yield f"{where}: needs a policy or a policyRule"
    scopes = {coding.get("code") for coding in consent.get("scope", {}).get("coding", [])}
    if "patient-privacy" in scopes and not consent.get("patient"):
        yield f"{where}: a privacy consent needs a patient"
    pending = [consent.get("provision")]
    while pending:
        provision = pending.pop()
        if not provision:
            continue
        if "type" in provision and provision["type"] not in PROVISION_TYPES:
            yield f"{where}: provision type {provision['type']!r} is neither permit nor deny"
        pending.extend(provision.get("provision", []))


def _document_problems(document: Mapping[str, Any], where: str) -> Iterator[str]:
    if document.get("status") not in DOCUMENT_STATES:
        yield f"{where}: status {document.get('status')!r} is not a DocumentReference status"
    if "docStatus" in document and document["docStatus"] not in DOCUMENT_COMPOSITION_STATES:
        yield f"{where}: docStatus {document['docStatus']!r} is not a composition status"
    for content in document.get("content", []):
        digest = content.get("attachment", {}).get("hash")
        if digest is not None and len(base64.b64decode(digest)) != 20:
            yield f"{where}: attachment hash is not a base64 SHA-1 digest"


def _empty_values(node: Any, path: str) -> Iterator[str]:
    if node in ("", [], {}):
        yield path
    elif isinstance(node, Mapping):
        for key, value in node.items():
            yield from _empty_values(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _empty_values(item, f"{path}[{index}]")


def _references(node: Any) -> Iterator[str]:
    """Every Reference.reference anywhere inside a resource."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            yield from _references(item)


def _action(code: str) -> dict[str, Any]:
    return {"coding": [{"system": CONSENT_ACTION, "code": code}]}


def _base(export: ConsentExport) -> str:
    return export.base_url.rstrip("/")


def _urn(export: ConsentExport, resource_type: str) -> str:
    # Derived from the consent, so exporting the same record twice yields the same bundle.
    name = f"{_base(export)}/consents/{export.consent_id}/{resource_type}"
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _sha256_urn(hex_digest: str) -> str:
    # "urn:sha256:" is an informal (unregistered) URN form, chosen because its hex reads
    # the same as `sha256sum` output.
    return f"urn:sha256:{hex_digest}"


def _when(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetimes must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
