"""Imports every domain's tasks so their jobs and sweeps are registered."""

from sotto.accounts import tasks as accounts_tasks
from sotto.audit import tasks as audit_tasks
from sotto.consent import tasks as consent_tasks
from sotto.mail import tasks as mail_tasks
from sotto.pipeline import tasks as pipeline_tasks
from sotto.recording import tasks as recording_tasks
from sotto.review import tasks as review_tasks

__all__ = [
    "accounts_tasks",
    "audit_tasks",
    "consent_tasks",
    "mail_tasks",
    "pipeline_tasks",
    "recording_tasks",
    "review_tasks",
]
