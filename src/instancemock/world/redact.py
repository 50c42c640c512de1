"""Keep credentials and personal numbers out of what the proxy keeps: recordings and drift examples.

A recorded world (world/recording.py) and the drift report (core/drift.py) are files a user
attaches to a CI run or commits beside their tests, so nothing secret may reach them:

- credentials are always replaced by `[redacted]`: values under credential-like keys (`password`,
  `ticket`, `access_token`, ...) and anything shaped like a JWT, wherever it appears;
- personal numbers (Norwegian fødselsnummer and D-numbers, Swedish personnummer) become, by
  choice, seeded stand-ins (`fake`, the default) or `[redacted]` (`redact`). A stand-in is the
  same for the same number and seed, so an instance recorded twice, or its owner in two lists,
  still agree; Norwegian stand-ins are synthetic test numbers (month + 80, valid check digits),
  which no real person holds.

Numbers are found by key (`personNumber`, `ssn`, ...) and, in any text, by shape and check digits
(11 digits passing both mod-11 checks; `YYMMDD-NNNN` or `YYYYMMDDNNNN` passing Luhn), so an
organisation number (9 digits; Swedish ones have a month of 20 or more) is left alone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

REDACTED = "[redacted]"
SECRET_KEYS = frozenset(
    {
        "password", "passwd", "ticket", "webticket", "token", "access_token", "accesstoken", "refresh_token",
        "id_token", "apikey", "api_key", "secret", "client_secret", "authorization", "securitystamp", "cookie",
    }
)  # fmt: skip
PERSONAL_KEYS = frozenset(
    {"personnumber", "ssn", "socialsecuritynumber", "personalnumber", "personalidentitynumber", "pid", "nin"}
)
MODES = ("fake", "redact")

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
NORWEGIAN = re.compile(r"(?<![\d])\d{11}(?![\d])")
SWEDISH = re.compile(r"(?<![\d-])(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)(\d{4})(?![\d])")

WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    check = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    return 0 if check == 11 else None if check == 10 else check


def norwegian_check_digits(first_nine: str) -> str | None:
    first = _mod11(first_nine, WEIGHTS_1)
    second = None if first is None else _mod11(first_nine + str(first), WEIGHTS_2)
    return None if first is None or second is None else f"{first}{second}"


def is_norwegian_person_number(text: str) -> bool:
    return len(text) == 11 and text.isdigit() and norwegian_check_digits(text[:9]) == text[9:]


def luhn_digit(digits: str) -> int:
    total = 0
    for index, digit in enumerate(int(d) for d in digits):
        value = digit * 2 if index % 2 == 0 else digit
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def is_swedish_person_number(match: re.Match[str]) -> bool:
    """YYMMDD(-+)NNNC with a real month and day (a coordination number's day is 61-91) and Luhn."""
    _, year, month, day, _, tail = match.groups()
    if not 1 <= int(month) <= 12 or not (1 <= int(day) <= 31 or 61 <= int(day) <= 91):
        return False
    ten = year + month + day + tail
    return luhn_digit(ten[:9]) == int(ten[9])


class Redactor:
    """Replaces credentials and personal numbers in JSON documents and text; stand-ins seeded by `seed`."""

    def __init__(self, seed: int, mode: str = "fake") -> None:
        if mode not in MODES:
            raise ValueError(f"personal numbers are either {' or '.join(MODES)}, not {mode!r}")
        self.seed = seed
        self.mode = mode
        self._stand_ins: dict[str, str] = {}

    def document(self, value: Any, key: str = "") -> Any:
        """A copy of a JSON value with every secret and personal number replaced."""
        lowered = key.lower().replace("-", "").replace(".", "")
        if isinstance(value, dict):
            return {name: self.document(item, str(name)) for name, item in value.items()}
        if isinstance(value, list):
            return [self.document(item, key) for item in value]
        if lowered in SECRET_KEYS and value is not None:
            return REDACTED
        if lowered in PERSONAL_KEYS and isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            return self.person(str(value))
        return self.text(value) if isinstance(value, str) else value

    def text(self, text: str) -> str:
        """Text with JWTs redacted and personal numbers replaced where they stand."""
        text = JWT.sub(REDACTED, text)
        text = NORWEGIAN.sub(self._norwegian, text)
        return SWEDISH.sub(self._swedish, text)

    def person(self, number: str) -> str:
        """The stand-in for one personal number (or `[redacted]`), the same every time for a seed."""
        if self.mode == "redact":
            return REDACTED
        found = self._stand_ins.get(number)
        if found is None:
            digits = re.sub(r"\D", "", number)
            make = _fake_swedish if len(digits) in (10, 12) else _fake_norwegian
            found = self._stand_ins[number] = make(self._draw(number), number)
        return found

    def _norwegian(self, match: re.Match[str]) -> str:
        number = match.group(0)
        return self.person(number) if is_norwegian_person_number(number) else number

    def _swedish(self, match: re.Match[str]) -> str:
        return self.person(match.group(0)) if is_swedish_person_number(match) else match.group(0)

    def _draw(self, number: str) -> Callable[[int], int]:
        """Numbers drawn from a hash of seed and value: stable, and saying nothing about the value."""
        digest = hashlib.sha256(f"{self.seed}:{number}".encode()).digest()
        counter = iter(range(1 << 30))

        def draw(limit: int) -> int:
            block = hashlib.sha256(digest + next(counter).to_bytes(4, "big")).digest()
            return int.from_bytes(block[:8], "big") % limit

        return draw


def _fake_norwegian(draw: Callable[[int], int], _original: str) -> str:
    """A synthetic fødselsnummer: a real date with 80 added to the month, valid check digits."""
    while True:
        day, month, year = 1 + draw(28), 1 + draw(12), draw(100)
        first_nine = f"{day:02d}{month + 80:02d}{year:02d}{draw(1000):03d}"
        checks = norwegian_check_digits(first_nine)
        if checks is not None:
            return first_nine + checks


def _fake_swedish(draw: Callable[[int], int], original: str) -> str:
    """A personnummer of the original's form (`YYMMDD-NNNN` or `YYYYMMDDNNNN`) with a valid Luhn digit."""
    year, month, day, serial = draw(100), 1 + draw(12), 1 + draw(28), draw(1000)
    nine = f"{year:02d}{month:02d}{day:02d}{serial:03d}"
    ten = nine + str(luhn_digit(nine))
    digits = re.sub(r"\D", "", original)
    if len(digits) == 12:
        return ("19" if year > 30 else "20") + ten
    separator = "+" if "+" in original else "-" if "-" in original else ""
    return ten[:6] + separator + ten[6:]
