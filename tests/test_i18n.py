"""Both catalogs say the same things: same keys, same placeholders, nothing empty."""

import pytest

from handlers.i18n import LANGUAGES, catalog, normalise_language, placeholders, t


def _singular_optional(keys: set[str], other: dict[str, str]) -> set[str]:
    """A language without plurals (Chinese) writes only ``KEY.other``: its ``KEY.one`` is not missing."""
    return {k for k in keys if not (k.endswith(".one") and k[:-4] + ".other" in other)}


def test_catalogs_have_the_same_keys() -> None:
    en, zh = catalog("en"), catalog("zh-CN")
    assert sorted(_singular_optional(en.keys() - zh.keys(), zh)) == []
    assert sorted(zh.keys() - en.keys()) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_empty_texts(language: str) -> None:
    assert [k for k, v in catalog(language).items() if not v.strip()] == []


def test_placeholders_match() -> None:
    en, zh = catalog("en"), catalog("zh-CN")
    counterpart = {k: zh.get(k, zh.get(k[:-4] + ".other", "")) if k.endswith(".one") else zh.get(k, "") for k in en}
    assert {k: (placeholders(en[k]), placeholders(counterpart[k])) for k in en
            if placeholders(en[k]) != placeholders(counterpart[k])} == {}


def test_plural_forms() -> None:
    """``KEY.one`` / ``KEY.other`` chosen by ``count``; Chinese has ``other`` alone."""
    assert t("en", "complaints.photo_got", count=1).startswith("Got 1 photo.")
    assert t("en", "complaints.photo_got", count=0).startswith("Got 0 photos.")
    assert t("en", "complaints.photo_got", count=3).startswith("Got 3 photos.")
    assert t("zh", "complaints.photo_got", count=1).startswith("已收到 1 张照片。")
    assert t("zh", "complaints.photo_got", count=2) == t("zh", "complaints.photo_got.other", count=2)
    for language in LANGUAGES:
        forms = {k.rsplit(".", 1)[-1] for k in catalog(language) if k.startswith("complaints.photo_got.")}
        assert forms == ({"one", "other"} if language == "en" else {"other"})


def test_language_normalisation_and_lookup() -> None:
    assert normalise_language("zh-hans") == "zh-CN"
    assert normalise_language("en-US") == "en"
    assert normalise_language("fr", default="en") == "en"
    assert t("en", "status.on_site") == "on site"
    assert t("zh", "status.on_site") == "已到场"
    assert t("en", "error.no_ticket", number="FS-1") == "No ticket FS-1."
