"""Every article fixture, field by field, against its hand-written expected record."""

from __future__ import annotations

import pytest

from pressarchive.extract import extract
from pressarchive.record import RECORD_FIELDS

from conftest import article_cases

CASES = article_cases()
_cache: dict[str, dict] = {}


def actual(case) -> dict:
    if case.name not in _cache:
        meta = case.meta
        _cache[case.name] = extract(case.html, meta["url"], meta["fetched_at"],
                                    site=meta.get("site")).to_dict()
    return _cache[case.name]


@pytest.mark.parametrize(
    "case,field",
    [(case, field) for case in CASES for field in RECORD_FIELDS],
    ids=[f"{case.name}-{field}" for case in CASES for field in RECORD_FIELDS],
)
def test_fixture(case, field):
    assert actual(case)[field] == case.expected[field]


def test_there_are_enough_fixture_cases():
    assert len(CASES) >= 13
