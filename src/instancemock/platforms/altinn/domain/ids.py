"""Norwegian identifiers with real mod-11 check digits, so clients' own validators accept seed data."""

from __future__ import annotations

PERSON_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
PERSON_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
ORGANISATION_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def _mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The mod-11 check digit for `digits`, or None when the remainder makes the number invalid."""
    check = 11 - sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def person_check_digits(first_nine: str) -> str | None:
    """The two check digits of a fødselsnummer whose first nine digits are given (None: impossible)."""
    k1 = _mod11(first_nine, PERSON_WEIGHTS_1)
    if k1 is None:
        return None
    k2 = _mod11(first_nine + str(k1), PERSON_WEIGHTS_2)
    return None if k2 is None else f"{k1}{k2}"


def is_person_number(value: str) -> bool:
    return len(value) == 11 and value.isdigit() and person_check_digits(value[:9]) == value[9:]


def organisation_check_digit(first_eight: str) -> str | None:
    check = _mod11(first_eight, ORGANISATION_WEIGHTS)
    return None if check is None else str(check)


def is_organisation_number(value: str) -> bool:
    return len(value) == 9 and value.isdigit() and organisation_check_digit(value[:8]) == value[8]
