"""Both catalogs say the same things: same keys, same placeholders, nothing empty."""

import pytest

from handlers.i18n import LANGUAGES, catalog, normalise_language, placeholders, t


def test_catalogs_have_the_same_keys() -> None:
    en, zh = catalog("en"), catalog("zh-CN")
    assert sorted(en.keys() - zh.keys()) == []
    assert sorted(zh.keys() - en.keys()) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_texts(language: str) -> None:
    assert [k for k, v in catalog(language).items() if not v.strip()] == []


def test_placeholders_match() -> None:
    en, zh = catalog("en"), catalog("zh-CN")
    assert {k: (placeholders(en[k]), placeholders(zh[k])) for k in en
            if placeholders(en[k]) != placeholders(zh[k])} == {}


def test_language_normalisation_and_lookup() -> None:
    assert normalise_language("zh-hans") == "zh-CN"
    assert normalise_language("en-US") == "en"
    assert normalise_language("fr", default="en") == "en"
    assert t("en", "status.on_site") == "on site"
    assert t("zh", "status.on_site") == "已到场"
    assert t("en", "error.no_ticket", number="FS-1") == "No ticket FS-1."
