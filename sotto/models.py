"""Imports every domain's models so the metadata (and Alembic) sees all tables."""

from sotto.accounts import models as accounts_models
from sotto.audit import models as audit_models
from sotto.clients import models as clients_models
from sotto.consent import models as consent_models
from sotto.crypto import models as crypto_models
from sotto.db import Base
from sotto.jobs import models as jobs_models
from sotto.mail import models as mail_models
from sotto.recording import models as recording_models
from sotto.review import models as review_models

metadata = Base.metadata

__all__ = [
    "accounts_models",
    "audit_models",
    "clients_models",
    "consent_models",
    "crypto_models",
    "jobs_models",
    "mail_models",
    "metadata",
    "recording_models",
    "review_models",
]
