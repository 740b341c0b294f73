"""The language registry: spellings across corpora, suggestions, named sets, and the real file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interlingua.data.languages import (
    LANGUAGES,
    NAMED_SETS,
    TATOEBA112,
    XTREME36,
    Language,
    UnknownLanguageError,
    get_language,
    parse_language_list,
)
from interlingua.data.textio import read_lines
from interlingua.errors import ConfigError


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("de", "deu"),
        ("deu", "deu"),
        ("DEU", "deu"),
        ("deu_Latn", "deu"),
        ("ger", "deu"),
        (" fr ", "fra"),
        ("zho", "cmn"),
        ("zh", "cmn"),
        ("cmn_Hans", "cmn"),
        ("zho_Hant", "cmn"),
        ("yue_Hant", "yue"),
        ("pes", "pes"),
        ("fas", "pes"),
        ("fa", "pes"),
        ("per", "pes"),
        ("ara", "ara"),
        ("arb_Arab", "ara"),
        ("msa", "zsm"),
        ("ms", "zsm"),
        ("nor", "nob"),
        ("nb", "nob"),
        ("hbs", "srp"),
        ("srp_Latn", "srp"),
        ("swa", "swh"),
        ("sw", "swh"),
        ("lav", "lvs"),
        ("lv", "lvs"),
        ("pt_BR", "por"),
        ("es_LA", "spa"),
        ("es-419", "spa"),
        ("ti_ER", "tir"),
        ("en-US", "eng"),
        ("toki_Latn", "tok"),
        ("ku", "kur"),
        ("kmr_Latn", "kur"),
        ("din", "dik"),
    ],
)
def test_spellings_resolve_to_the_canonical_code(spelling: str, code: str) -> None:
    assert get_language(spelling).code == code


def test_language_fields() -> None:
    assert get_language("zh") == Language("cmn", "Mandarin Chinese", "zh", ("zho_Hans", "zho_Hant"))
    assert get_language("de") == Language("deu", "German", "de", ("deu_Latn",))
    assert get_language("yue").iso1 is None
    assert get_language("ang").flores == ()


def test_unknown_code_names_it_and_suggests_close_codes() -> None:
    with pytest.raises(
        UnknownLanguageError, match=r"unknown language code 'deuu'; did you mean: deu \(German\)"
    ) as info:
        get_language("deuu")
    assert isinstance(info.value, ConfigError)
    assert info.value.code == "deuu"


def test_an_english_name_suggests_its_languages() -> None:
    with pytest.raises(UnknownLanguageError) as info:
        get_language("chinese")
    assert "cmn (Mandarin Chinese)" in str(info.value)
    assert (
        "yue (Cantonese)" not in info.value.suggestions
    )  # only names containing the word, or close spellings


def test_unknown_code_without_anything_close() -> None:
    with pytest.raises(UnknownLanguageError, match="no similar code or name is known"):
        get_language("qqqqqqqq")


@pytest.mark.parametrize("spelling", ["deu-eng", "deu_", "", "de_Latnx"])
def test_a_suffix_that_is_no_script_or_region_is_unknown(spelling: str) -> None:
    with pytest.raises(UnknownLanguageError):
        get_language(spelling)


def test_every_spelling_of_the_table_resolves_back_to_its_language() -> None:
    for language in LANGUAGES:
        assert get_language(language.code) is language
        assert language.iso1 is None or get_language(language.iso1) is language
        assert all(get_language(flores) is language for flores in language.flores)
    assert len({language.code for language in LANGUAGES}) == len(LANGUAGES)


def test_named_sets() -> None:
    assert len(XTREME36) == len(set(XTREME36)) == 36
    assert len(TATOEBA112) == len(set(TATOEBA112)) == 112
    assert NAMED_SETS["xtreme36"] == XTREME36
    assert NAMED_SETS["all112"] == NAMED_SETS["all"] == TATOEBA112
    assert set(XTREME36) <= set(TATOEBA112)
    for codes in NAMED_SETS.values():
        assert all(get_language(code).code == code for code in codes)


def test_xtreme36_is_xtremes_iso_639_1_list() -> None:
    iso1 = (
        "af ar bg bn de el es et eu fa fi fr he hi hu id it ja "
        "jv ka kk ko ml mr nl pt ru sw ta te th tl tr ur vi zh"
    )
    assert tuple(get_language(code).code for code in iso1.split()) == XTREME36


def test_parse_language_list_keeps_order_and_drops_duplicates() -> None:
    assert [language.code for language in parse_language_list("fr, de,deu,ger,zh")] == ["fra", "deu", "cmn"]
    assert [language.code for language in parse_language_list(["yue", "de,fr"])] == ["yue", "deu", "fra"]


def test_parse_language_list_expands_named_sets() -> None:
    codes = [language.code for language in parse_language_list("yue,XTREME36,deu")]
    assert codes == ["yue", *XTREME36]
    assert len(parse_language_list(["all", "xtreme36"])) == 112


def test_parse_language_list_errors() -> None:
    with pytest.raises(ConfigError, match="empty language list"):
        parse_language_list(" , ")
    with pytest.raises(UnknownLanguageError, match="did you mean: set 'xtreme36'"):
        parse_language_list("de,xtreme3")
    with pytest.raises(UnknownLanguageError, match="'klingonn'"):
        parse_language_list(["de", "klingonn"])


def _counts(data_root: Path) -> dict:
    return json.loads((data_root / "COUNTS.json").read_text())


def test_tatoeba112_is_the_laser_file_names(data_root: Path) -> None:
    folder = data_root / "tatoeba_laser_v1"
    codes = {path.name.split(".")[1].removesuffix("-eng") for path in folder.glob("tatoeba.*-eng.*.xz")}
    assert codes == set(TATOEBA112)
    assert all(get_language(code).code == code for code in codes)


def test_flores_codes_are_the_flores_file_names(data_root: Path) -> None:
    files = {
        path.name.removesuffix(".devtest.xz")
        for path in (data_root / "flores200_devtest").glob("*.devtest.xz")
    }
    assert len(files) == 204
    assert {flores for language in LANGUAGES for flores in language.flores} == files
    assert all(flores in get_language(flores).flores for flores in files)


def test_every_code_of_the_data_root_resolves(data_root: Path) -> None:
    counts = _counts(data_root)
    for folder in ("train_tatoeba_challenge_eng", "train_wmt_newstest", "train_tico19", "train_bible_nt"):
        for code in counts[folder]:
            get_language(code)
    for folder in ("xnli_xtreme", "pawsx_xtreme"):
        for name in counts[folder]:
            get_language(name.rsplit("-", 1)[1])
    for track in counts["sts17_semeval"]:
        for code in track.split(".")[1].split("-"):
            get_language(code)


def test_every_tatoeba_challenge_label_resolves(data_root: Path) -> None:
    labels = set()
    for path in (data_root / "train_tatoeba_challenge_eng").glob("*-eng.labels.xz"):
        labels.update(read_lines(path))
    assert {"cmn_Hans", "yue_Hant", "srp_Cyrl", "bos_Latn", "zlm_Latn"} <= labels
    assert {label: get_language(label).code for label in ("zlm_Latn", "lav", "kmr_Latn")} == {
        "zlm_Latn": "zsm",
        "lav": "lvs",
        "kmr_Latn": "kur",
    }
    for label in labels:
        get_language(label)
