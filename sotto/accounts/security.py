"""Password hashing (argon2id) and time-based one-time passwords (TOTP, RFC 6238)."""

from __future__ import annotations

import io

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sotto import clock

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory parameters.
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 12
TOTP_STEP = 30


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        # Spend the same time as a real check so an unknown account is not told apart.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str, *, email: str) -> str | None:
    """A plain reason the password is not acceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > 256:
        return "Use at most 256 characters."
    if password.lower() in email.lower() or email.split("@")[0].lower() in password.lower():
        return "Do not use your e-mail address in the password."
    if len(set(password)) < 5:
        return "Use more varied characters."
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32(length=32)


def totp_uri(secret: str, *, account: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def totp_qr_svg(uri: str) -> str:
    buf = io.BytesIO()
    segno.make(uri, error="m").save(buf, kind="svg", scale=5, border=2, xmldecl=False, svgns=True)
    return buf.getvalue().decode()


def accept_totp(secret: str, code: str, *, last_step: int) -> int | None:
    """The time step the code belongs to, if valid now (±1 step) and newer than ``last_step``.

    Returning the step lets the caller store it, so one code cannot be used twice.
    """
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = clock.now().timestamp()
    current = int(now // TOTP_STEP)
    for step in (current - 1, current, current + 1):
        if step > last_step and totp.at(step * TOTP_STEP) == code:
            return step
    return None
