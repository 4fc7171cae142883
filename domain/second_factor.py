"""The second factor at sign-in: time-based one-time codes (TOTP, RFC 6238, with pyotp) from
an authenticator app, and recovery codes for a lost phone.

The secret lives on the user's events (encrypted at rest like every event); recovery codes
only as SHA-256 hashes (they are random, so a slow hash like the password's adds nothing).
Which roles must have one is decided here, once."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp

from domain.stamp import Role

# Who must confirm every sign-in with a code (issue: ASVS L2 for those who see a whole
# organisation's or network's data); everyone else may set one up.
REQUIRED_FOR = frozenset({Role.SUPERVISOR, Role.COORDINATOR, Role.ADMIN,
                          Role.DATA_PROTECTION})
ISSUER = "Fallnetz"
RECOVERY_CODES = 10
# A code of the step before or after now is accepted too: phones' clocks drift.
DRIFT_STEPS = 1
_DIGITS = re.compile(r"^\d{6}$")


def required(roles: object) -> bool:
    """Whether a user with memberships in these roles must use a second factor."""
    return any(role in REQUIRED_FOR for role in roles)  # type: ignore[attr-defined]


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, network: str) -> str:
    """What the QR code holds: the otpauth:// address authenticator apps read."""
    return pyotp.TOTP(secret).provisioning_uri(name=f"{username} ({network})",
                                               issuer_name=ISSUER)


def step_of(secret: str, code: str, at: datetime) -> int | None:
    """The time step whose code ``code`` is (within the allowed drift of ``at``), or None.
    The step is what a sign-in records, so the same code never counts twice."""
    code = re.sub(r"\s", "", code or "")
    if not secret or not _DIGITS.match(code):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(at)
    for offset in range(-DRIFT_STEPS, DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(at, counter_offset=offset), code):
            return now + offset
    return None


def code_at(secret: str, at: datetime, offset: int = 0) -> str:
    """The code an authenticator app shows at ``at`` (for the demo's helper and tests)."""
    return pyotp.TOTP(secret).at(at, counter_offset=offset)


def new_recovery_codes() -> list[str]:
    """Ten codes like ``7kq2-m9xd-4r``: easy to type from paper, 50 bits each."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyz"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(10))
        codes.append(f"{raw[:4]}-{raw[4:8]}-{raw[8:]}")
    return codes


def recovery_hash(code: str) -> str:
    normal = re.sub(r"[\s-]", "", (code or "").lower())
    return hashlib.sha256(f"fallnetz-recovery:{normal}".encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(re.sub(r"[\s-]", "", code or "")) == 10
