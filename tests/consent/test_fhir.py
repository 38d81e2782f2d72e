"""FHIR R4 export of consent records: shape, content and validation."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sotto.consent.fhir import ConsentExport, consent_bundle, validate_bundle
from sotto.consent.models import Use

SIGNED_AT = datetime(2025, 3, 1, 15, 30, tzinfo=UTC)
PDF = b"%PDF-1.7 pretend signed consent"
PDF_SHA256 = hashlib.sha256(PDF).hexdigest()
PDF_SHA1 = hashlib.sha1(PDF).hexdigest()  # noqa: S324 - FHIR R4 Attachment.hash is SHA-1 by definition
USE_SYSTEM = "https://sotto.example/fhir/CodeSystem/recording-use"

SIGNED = ConsentExport(
    consent_id="c0ffee",
    practice_name="Quiet Harbor Counseling",
    client_pseudonym="Client K-417",
    therapist_name="Dana Reyes, LCSW",
    status="signed",
    uses={"therapist_review": True, "supervision": False, "ai_notes": True, "client_recap": False},
    signed_at=SIGNED_AT,
    withdrawn_at=None,
    declined_at=None,
    consent_expires_at=SIGNED_AT + timedelta(days=365),
    template_version=3,
    form_sha256="f" * 64,
    pdf_sha256=PDF_SHA256,
    pdf_sha1=PDF_SHA1,
    base_url="https://sotto.example/",
)


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type]


def test_signed_consent_bundle_validates_and_is_a_collection() -> None:
    bundle = consent_bundle(SIGNED)
    validate_bundle(bundle)
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    assert all(entry["fullUrl"].startswith("urn:uuid:") for entry in bundle["entry"])
    json.dumps(bundle)  # plain JSON types only


def test_signed_consent_is_active_privacy_consent_from_the_signing_time() -> None:
    (consent,) = resources(consent_bundle(SIGNED), "Consent")
    assert consent["status"] == "active"
    assert consent["scope"]["coding"][0]["code"] == "patient-privacy"
    assert consent["category"][0]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "59284-0",
        "display": "Patient Consent",
    }
    assert consent["dateTime"] == "2025-03-01T15:30:00Z"
    assert consent["organization"] == [{"type": "Organization", "display": "Quiet Harbor Counseling"}]
    assert consent["provision"]["type"] == "permit"
    assert consent["provision"]["period"] == {"start": "2025-03-01T15:30:00Z", "end": "2026-03-01T15:30:00Z"}
    assert "f" * 64 in json.dumps(consent["policy"]) + json.dumps(consent["policyRule"])
    assert "template-v3" in json.dumps(consent["policyRule"])


def test_every_use_has_the_clients_answer() -> None:
    (consent,) = resources(consent_bundle(SIGNED), "Consent")
    answers = {nested["code"][0]["coding"][0]["code"]: nested["type"] for nested in consent["provision"]["provision"]}
    assert answers == {
        "therapist_review": "permit",
        "supervision": "deny",
        "ai_notes": "permit",
        "client_recap": "deny",
    }
    for nested in consent["provision"]["provision"]:
        coding = nested["code"][0]["coding"][0]
        assert coding["system"] == USE_SYSTEM
        assert coding["display"]


def test_a_use_left_out_is_denied() -> None:
    (consent,) = resources(consent_bundle(replace(SIGNED, uses={"therapist_review": True})), "Consent")
    answers = {n["code"][0]["coding"][0]["code"]: n["type"] for n in consent["provision"]["provision"]}
    assert answers == {use.value: ("permit" if use is Use.THERAPIST_REVIEW else "deny") for use in Use}


def test_client_appears_only_by_pseudonym() -> None:
    bundle = consent_bundle(SIGNED)
    (consent,) = resources(bundle, "Consent")
    (document,) = resources(bundle, "DocumentReference")
    assert consent["patient"] == {"type": "Patient", "display": "Client K-417"}
    assert document["subject"] == {"type": "Patient", "display": "Client K-417"}
    assert "identifier" not in consent["patient"]
    assert "reference" not in consent["patient"]


def test_document_reference_identifies_the_pdf_by_hash_only() -> None:
    bundle = consent_bundle(SIGNED)
    (consent,) = resources(bundle, "Consent")
    (document,) = resources(bundle, "DocumentReference")
    document_url = next(e["fullUrl"] for e in bundle["entry"] if e["resource"] is document)
    assert consent["sourceReference"]["reference"] == document_url
    assert document["status"] == "current"
    assert document["docStatus"] == "final"
    assert document["type"]["coding"][0]["code"] == "59284-0"
    assert document["description"] == ("Signed recording consent (PDF held by the practice's EHR; not stored by Sotto)")
    assert document["masterIdentifier"]["value"] == f"urn:sha256:{PDF_SHA256}"
    (content,) = document["content"]
    attachment = content["attachment"]
    assert attachment["contentType"] == "application/pdf"
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(PDF).digest()).decode()  # noqa: S324
    assert "data" not in attachment
    assert "url" not in attachment


def test_withdrawn_consent_is_inactive_and_ends_at_withdrawal() -> None:
    withdrawn_at = SIGNED_AT + timedelta(days=40)
    bundle = consent_bundle(replace(SIGNED, status="withdrawn", withdrawn_at=withdrawn_at))
    (consent,) = resources(bundle, "Consent")
    assert consent["status"] == "inactive"
    assert consent["provision"]["period"]["end"] == "2025-04-10T15:30:00Z"
    assert len(resources(bundle, "DocumentReference")) == 1


def test_expired_consent_is_inactive() -> None:
    (consent,) = resources(consent_bundle(replace(SIGNED, status="expired")), "Consent")
    assert consent["status"] == "inactive"


def test_declined_consent_validates_without_a_document() -> None:
    declined = replace(
        SIGNED,
        status="declined",
        uses={},
        signed_at=None,
        consent_expires_at=None,
        declined_at=SIGNED_AT,
        pdf_sha256=None,
        pdf_sha1=None,
    )
    bundle = consent_bundle(declined)
    validate_bundle(bundle)
    assert resources(bundle, "DocumentReference") == []
    (consent,) = resources(bundle, "Consent")
    assert consent["status"] == "rejected"
    assert consent["provision"]["type"] == "deny"
    assert "sourceReference" not in consent


@pytest.mark.parametrize("status", ["sent", "opened"])
def test_pending_consent_is_proposed(status: str) -> None:
    pending = replace(SIGNED, status=status, uses={}, signed_at=None, pdf_sha256=None, pdf_sha1=None)
    bundle = consent_bundle(pending)
    (consent,) = resources(bundle, "Consent")
    assert consent["status"] == "proposed"
    assert "dateTime" not in consent
    assert len(bundle["entry"]) == 1


def test_same_consent_exports_identically() -> None:
    assert consent_bundle(SIGNED) == consent_bundle(SIGNED)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "bogus"},
        {"uses": {"therapist_review": True, "marketing": True}},
        {"pdf_sha256": "not-hex"},
        {"pdf_sha1": "ab" * 32},
        {"signed_at": datetime(2025, 3, 1, 15, 30)},
        {"status": "withdrawn", "withdrawn_at": None},
    ],
)
def test_inconsistent_export_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        consent_bundle(replace(SIGNED, **change))


def tamper(path: list[str | int], value: Any) -> dict[str, Any]:
    bundle = copy.deepcopy(consent_bundle(SIGNED))
    node: Any = bundle
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return bundle


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["entry", 0, "resource", "status"], "bogus"),
        (["entry", 0, "resource", "provision", "type"], "maybe"),
        (["entry", 0, "resource", "provision", "provision", 1, "type"], "allow"),
        (["entry", 1, "resource", "status"], "final"),
        (["entry", 1, "resource", "docStatus"], "signed"),
        (["entry", 1, "resource", "content", 0, "attachment", "hash"], "not base64!"),
        (["entry", 1, "resource", "content", 0, "attachment", "hash"], base64.b64encode(b"x" * 32).decode()),
        (
            ["entry", 0, "resource", "sourceReference", "reference"],
            "urn:uuid:00000000-0000-0000-0000-000000000000",
        ),
        (["entry", 0, "resource", "category"], []),
        (["entry", 0, "resource", "surprise"], "field"),
        (["entry", 0, "resource", "dateTime"], "yesterday"),
        (["type"], "pile"),
    ],
)
def test_tampered_bundle_is_rejected(path: list[str | int], value: Any) -> None:
    with pytest.raises(ValueError):
        validate_bundle(tamper(path, value))


def test_consent_without_policy_is_rejected() -> None:
    bundle = copy.deepcopy(consent_bundle(SIGNED))
    consent = bundle["entry"][0]["resource"]
    del consent["policy"], consent["policyRule"]
    with pytest.raises(ValueError, match="policy"):
        validate_bundle(bundle)


def test_non_bundle_is_rejected() -> None:
    with pytest.raises(ValueError, match="Bundle"):
        validate_bundle({"resourceType": "Patient"})
