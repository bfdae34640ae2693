"""Password hashing (argon2id) and the password policy.

The argon2 parameters come from settings; a hash made with other parameters still verifies,
and is re-hashed at the next successful sign-in (`needs_rehash`). A dummy hash made once
with the current parameters is verified for unknown e-mails, so that an unknown address
costs the same time as a wrong password.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.account import InvalidPasswordError, check_password_text


@dataclass(frozen=True)
class Argon2Parameters:
    # OWASP Password Storage Cheat Sheet's first argon2id option (m=19 MiB, t=2, p=1); RFC
    # 9106's (m=64 MiB, t=3, p=4) costs 3x the memory per sign-in in flight.
    time_cost: int = 2
    memory_kib: int = 19 * 1024
    parallelism: int = 1


@cache
def common_passwords() -> frozenset[str]:
    text = resources.files("application").joinpath("data/common-passwords.txt").read_text()
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password(password: str, min_length: int) -> str:
    """The policy: length, no control characters, not a common password (case-insensitive,
    as the list is lowercased)."""
    check_password_text(password, min_length)
    if password.lower() in common_passwords():
        raise InvalidPasswordError("this password is among the most common ones; choose another")
    return password


class Passwords:
    def __init__(self, parameters: Argon2Parameters):
        self.hasher = PasswordHasher(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            type=Type.ID,
        )
        self._dummy = self.hasher.hash("not a password of anyone: timing equaliser")

    def hash(self, password: str) -> str:
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash (unknown account, erased, never set)
        the dummy is verified instead and False returned, in about the same time."""
        try:
            return self.hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self.hasher.check_needs_rehash(password_hash)
