"""What a recording or a drift example may hold: no credential, no personal number in clear."""

from __future__ import annotations

import pytest

from instancemock.world.redact import (
    REDACTED,
    Redactor,
    is_norwegian_person_number,
    luhn_digit,
    norwegian_check_digits,
)

NORWEGIAN = "14068839794"  # valid check digits
SWEDISH = "850709-9805"  # valid Luhn
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl"


def test_credentials_are_redacted_by_key_and_by_shape() -> None:
    redactor = Redactor(seed=1)
    document = {
        "Ticket": "abc",
        "access_token": "xyz",
        "nested": [{"Password": "Sommar2024!"}, {"note": f"Bearer {JWT} was used"}],
        "harmless": "hello",
    }
    assert redactor.document(document) == {
        "Ticket": REDACTED,
        "access_token": REDACTED,
        "nested": [{"Password": REDACTED}, {"note": f"Bearer {REDACTED} was used"}],
        "harmless": "hello",
    }


def test_personal_numbers_get_stable_synthetic_stand_ins() -> None:
    first, again, other_seed = Redactor(seed=7), Redactor(seed=7), Redactor(seed=8)
    stand_in = first.person(NORWEGIAN)
    assert stand_in != NORWEGIAN and is_norwegian_person_number(stand_in)
    assert int(stand_in[2:4]) > 80  # a synthetic test number: no real person has it
    assert again.person(NORWEGIAN) == stand_in and other_seed.person(NORWEGIAN) != stand_in
    found = first.document({"instanceOwner": {"personNumber": NORWEGIAN}, "text": f"owner {NORWEGIAN}."})
    assert found == {"instanceOwner": {"personNumber": stand_in}, "text": f"owner {stand_in}."}


def test_swedish_personnummer_keep_their_form() -> None:
    redactor = Redactor(seed=3)
    short, long = redactor.text(f"pnr {SWEDISH}"), redactor.text("pnr 198507099805")
    assert SWEDISH not in short and short[4:10].isdigit() and short[10] == "-"
    ten = short[4:].replace("-", "")
    assert luhn_digit(ten[:9]) == int(ten[9])
    assert "198507099805" not in long and len(long) == len("pnr 198507099805")


@pytest.mark.parametrize(
    "kept",
    [
        "991825827",  # a Norwegian organisation number (9 digits)
        "556677-8899",  # a Swedish organisation number: the "month" is 66
        "14068839795",  # 11 digits, wrong check digit
        "2026-01-01T00:00:00Z",
        "50001004/e537ce3e-ce60-4738-947f-eee90d2d1407",
    ],
)
def test_what_is_no_personal_number_is_left_alone(kept: str) -> None:
    assert Redactor(seed=1).text(kept) == kept


def test_redact_mode_writes_no_stand_in() -> None:
    redactor = Redactor(seed=1, mode="redact")
    assert redactor.document({"ssn": NORWEGIAN, "text": NORWEGIAN}) == {"ssn": REDACTED, "text": REDACTED}
    with pytest.raises(ValueError, match="fake or redact"):
        Redactor(seed=1, mode="keep")


def test_check_digits_agree_with_a_known_number() -> None:
    assert norwegian_check_digits(NORWEGIAN[:9]) == NORWEGIAN[9:]
