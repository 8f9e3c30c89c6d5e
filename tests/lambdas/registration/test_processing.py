"""Masking: logs may correlate a user, never reveal the name or address."""

from __future__ import annotations

import pytest

from registration.processing import mask_email, mask_name


def test_email_keeps_first_letters_and_top_level_domain() -> None:
    assert mask_email("martha.rivera@example.com") == "m***@e***.com"


def test_email_without_at_sign_is_fully_masked() -> None:
    assert mask_email("garbage") == "***"


def test_no_email_stays_none() -> None:
    assert mask_email(None) is None


def test_name_keeps_initial_and_length() -> None:
    assert mask_name("Martha Rivera") == "M*** (13 chars)"
    assert mask_name("") == "***"


@pytest.mark.parametrize(
    "email", ["grace.hopper@navy.example.mil", "x@y.io", "a+b@sub.domain.example.org"]
)
def test_masked_email_reveals_at_most_two_letters_and_the_tld(email: str) -> None:
    masked = mask_email(email)
    assert masked is not None
    local, _, domain = email.rpartition("@")
    assert local[1:] not in masked or len(local) == 1
    assert domain.rpartition(".")[0][1:] not in masked or len(domain.split(".")[0]) == 1
    assert len(masked.replace("***", "")) <= len("g@n.") + len(domain.rpartition(".")[2])
