"""The language registry: one canonical code per language, and every spelling the data uses.

The corpora spell languages differently: LASER's Tatoeba set and the Bible use ISO 639-3
(``deu``), WMT, TICO-19, XNLI, PAWS-X, STS17 and BUCC use ISO 639-1 (``de``, ``pt_BR``), FLORES-200
uses ``xxx_Script`` (``deu_Latn``), and Tatoeba-Challenge uses macro-language codes (``zho``) with
fine labels per line (``cmn_Hans``).  Everything in interlingua names a language by the canonical
code of this registry, so that "German" from four sources is one language.

Canonical code: LASER's spelling for the 112 Tatoeba languages (``cmn``, ``pes``, ``swh``, ``zsm``,
``lvs``, ``nob``, ...); otherwise the ISO 639-3 code FLORES-200 uses (``npi``, ``pbt``, ``gaz``);
otherwise ISO 639-3 as the data spells it.  A macro-language code resolves to the member the
benchmarks use (``zho``->cmn, ``fas``->pes, ``msa``->zsm, ``nor``->nob, ``swa``->swh, ``lav``->lvs).
``hbs`` (Serbo-Croatian) resolves to ``srp``: 73% of Tatoeba-Challenge's hbs-eng lines are
Serbian and LASER's srp test set is in Latin script like them; ``hrv`` and ``bos`` stay separate.

A code with a script or region suffix (``cmn_Hans``, ``srp_Latn``, ``pt_BR``, ``en-US``) resolves
to its base language when the full code is not itself in the table.  Lookups ignore case.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from interlingua.errors import ConfigError


@dataclass(frozen=True)
class Language:
    """One language: canonical code, English name, ISO 639-1 code and FLORES-200 codes.

    ``flores`` lists every FLORES-200 file of the language, the usual script first
    (``('zho_Hans', 'zho_Hant')`` for cmn); ``()`` when FLORES-200 does not have it.
    """

    code: str
    name: str
    iso1: str | None
    flores: tuple[str, ...]


class UnknownLanguageError(ConfigError):
    """A language code (or set name) that the registry does not know, with close suggestions."""

    def __init__(self, code: str, suggestions: Sequence[str]) -> None:
        self.code = code
        self.suggestions = tuple(suggestions)
        if self.suggestions:
            hint = f"did you mean: {', '.join(self.suggestions)}?"
        else:
            hint = "no similar code or name is known (see interlingua.data.languages for the table)"
        super().__init__(f"unknown language code {code!r}; {hint}")


# code | English name | ISO 639-1 | FLORES-200 codes | other spellings (ISO 639-3 macro or
# individual codes, ISO 639-2/B codes, retired codes); "-" for none.
_TABLE = """
ace | Acehnese | - | ace_Latn ace_Arab | -
acm | Mesopotamian Arabic | - | acm_Arab | -
acq | Ta'izzi-Adeni Arabic | - | acq_Arab | -
acu | Achuar-Shiwiar | - | - | -
aeb | Tunisian Arabic | - | aeb_Arab | -
afb | Gulf Arabic | - | - | -
afr | Afrikaans | af | afr_Latn | -
agr | Aguaruna | - | - | -
ajp | South Levantine Arabic | - | ajp_Arab | -
aka | Akan | ak | aka_Latn | -
ake | Akawaio | - | - | -
aln | Gheg Albanian | - | - | -
amh | Amharic | am | amh_Ethi | -
amu | Guerrero Amuzgo | - | - | -
ang | Old English | - | - | -
apc | North Levantine Arabic | - | apc_Arab | -
ara | Arabic | ar | arb_Arab arb_Latn | arb
arq | Algerian Arabic | - | - | -
ars | Najdi Arabic | - | ars_Arab | -
ary | Moroccan Arabic | - | ary_Arab | -
arz | Egyptian Arabic | - | arz_Arab | -
asm | Assamese | as | asm_Beng | -
ast | Asturian | - | ast_Latn | -
awa | Awadhi | - | awa_Deva | -
ayr | Central Aymara | ay | ayr_Latn | aym
azb | South Azerbaijani | - | azb_Arab | -
aze | Azerbaijani | az | azj_Latn | azj
bak | Bashkir | ba | bak_Cyrl | -
bam | Bambara | bm | bam_Latn | -
ban | Balinese | - | ban_Latn | -
bel | Belarusian | be | bel_Cyrl | -
bem | Bemba | - | bem_Latn | -
ben | Bengali | bn | ben_Beng | -
ber | Berber | - | - | -
bho | Bhojpuri | - | bho_Deva | -
bjn | Banjar | - | bjn_Latn bjn_Arab | -
bod | Tibetan | bo | bod_Tibt | tib
bos | Bosnian | bs | bos_Latn | -
bre | Breton | br | - | -
bsn | Barasana-Eduria | - | - | -
bug | Buginese | - | bug_Latn | -
bul | Bulgarian | bg | bul_Cyrl | -
cak | Kaqchikel | - | - | -
cat | Catalan | ca | cat_Latn | -
cbk | Chavacano | - | - | -
ceb | Cebuano | - | ceb_Latn | -
ces | Czech | cs | ces_Latn | cze
cha | Chamorro | ch | - | -
chq | Quiotepec Chinantec | - | - | -
chr | Cherokee | - | - | -
chv | Chuvash | cv | - | -
cjk | Chokwe | - | cjk_Latn | -
cjp | Cabecar | - | - | -
cjy | Jin Chinese | - | - | -
ckb | Central Kurdish | - | ckb_Arab | -
cmn | Mandarin Chinese | zh | zho_Hans zho_Hant | zho chi
cni | Ashaninka | - | - | -
cop | Coptic | - | - | -
cor | Cornish | kw | - | -
crh | Crimean Tatar | - | crh_Latn | -
csb | Kashubian | - | - | -
cym | Welsh | cy | cym_Latn | wel
dan | Danish | da | dan_Latn | -
deu | German | de | deu_Latn | ger
dik | Southwestern Dinka | - | dik_Latn | din
djk | Aukan | - | - | -
dop | Lukpa | - | - | -
dsb | Lower Sorbian | - | - | -
dtp | Kadazan Dusun | - | - | -
dyu | Dyula | - | dyu_Latn | -
dzo | Dzongkha | dz | dzo_Tibt | -
ell | Greek | el | ell_Grek | gre
eng | English | en | eng_Latn | -
epo | Esperanto | eo | epo_Latn | -
est | Estonian | et | est_Latn | ekk
eus | Basque | eu | eus_Latn | baq
ewe | Ewe | ee | ewe_Latn | -
fao | Faroese | fo | fao_Latn | -
fij | Fijian | fj | fij_Latn | -
fin | Finnish | fi | fin_Latn | -
fon | Fon | - | fon_Latn | -
fra | French | fr | fra_Latn | fre
fry | Western Frisian | fy | - | -
fur | Friulian | - | fur_Latn | -
fuv | Nigerian Fulfulde | ff | fuv_Latn | ful
gan | Gan Chinese | - | - | -
gaz | West Central Oromo | om | gaz_Latn | orm
gbi | Galela | - | - | -
gla | Scottish Gaelic | gd | gla_Latn | -
gle | Irish | ga | gle_Latn | -
glg | Galician | gl | glg_Latn | -
glv | Manx | gv | - | -
gos | Gronings | - | - | -
got | Gothic | - | - | -
grc | Ancient Greek | - | - | -
grn | Guarani | gn | grn_Latn | -
gsw | Swiss German | - | - | -
guj | Gujarati | gu | guj_Gujr | -
hat | Haitian Creole | ht | hat_Latn | -
hau | Hausa | ha | hau_Latn | -
heb | Hebrew | he | heb_Hebr | iw
hin | Hindi | hi | hin_Deva | -
hne | Chhattisgarhi | - | hne_Deva | -
hoc | Ho | - | - | -
hrv | Croatian | hr | hrv_Latn | -
hrx | Hunsrik | - | - | -
hsb | Upper Sorbian | - | - | -
hun | Hungarian | hu | hun_Latn | -
hye | Armenian | hy | hye_Armn | arm
ibo | Igbo | ig | ibo_Latn | -
ido | Ido | io | - | -
iku | Inuktitut | iu | - | -
ile | Interlingue | ie | - | -
ilo | Ilocano | - | ilo_Latn | -
ina | Interlingua | ia | - | -
ind | Indonesian | id | ind_Latn | -
isl | Icelandic | is | isl_Latn | ice
ita | Italian | it | ita_Latn | -
jac | Jakalteko | - | - | -
jav | Javanese | jv | jav_Latn | -
jbo | Lojban | - | - | -
jiv | Shuar | - | - | -
jpn | Japanese | ja | jpn_Jpan | -
kab | Kabyle | - | kab_Latn | -
kac | Jingpho | - | kac_Latn | -
kam | Kamba | - | kam_Latn | -
kan | Kannada | kn | kan_Knda | -
kas | Kashmiri | ks | kas_Arab kas_Deva | -
kat | Georgian | ka | kat_Geor | geo
kaz | Kazakh | kk | kaz_Cyrl | -
kbh | Camsa | - | - | -
kbp | Kabiye | - | kbp_Latn | -
kea | Kabuverdianu | - | kea_Latn | -
kha | Khasi | - | - | -
khm | Khmer | km | khm_Khmr | -
kik | Kikuyu | ki | kik_Latn | -
kin | Kinyarwanda | rw | kin_Latn | -
kir | Kyrgyz | ky | kir_Cyrl | -
kmb | Kimbundu | - | kmb_Latn | -
knc | Central Kanuri | kr | knc_Latn knc_Arab | kau
kon | Kikongo | kg | kon_Latn | -
kor | Korean | ko | kor_Hang | -
kur | Northern Kurdish | ku | kmr_Latn | kmr
kzj | Coastal Kadazan | - | - | -
lad | Ladino | - | - | -
lao | Lao | lo | lao_Laoo | -
lat | Latin | la | - | -
lfn | Lingua Franca Nova | - | - | -
lij | Ligurian | - | lij_Latn | -
lim | Limburgish | li | lim_Latn | -
lin | Lingala | ln | lin_Latn | -
lit | Lithuanian | lt | lit_Latn | -
lmo | Lombard | - | lmo_Latn | -
ltg | Latgalian | - | ltg_Latn | -
ltz | Luxembourgish | lb | ltz_Latn | -
lua | Luba-Kasai | - | lua_Latn | -
lug | Ganda | lg | lug_Latn | -
luo | Luo | - | luo_Latn | -
lus | Mizo | - | lus_Latn | -
lvs | Latvian | lv | lvs_Latn | lav
lzh | Literary Chinese | - | - | -
mag | Magahi | - | mag_Deva | -
mai | Maithili | - | mai_Deva | -
mal | Malayalam | ml | mal_Mlym | -
mam | Mam | - | - | -
mar | Marathi | mr | mar_Deva | -
max | North Moluccan Malay | - | - | -
mhr | Eastern Mari | - | - | -
min | Minangkabau | - | min_Latn min_Arab | -
mkd | Macedonian | mk | mkd_Cyrl | mac
mlt | Maltese | mt | mlt_Latn | -
mni | Meitei | - | mni_Beng | -
mon | Mongolian | mn | khk_Cyrl | khk
mos | Mossi | - | mos_Latn | -
mri | Maori | mi | mri_Latn | mao
mya | Burmese | my | mya_Mymr | bur
nan | Min Nan Chinese | - | - | -
nds | Low German | - | - | -
nhg | Tetelcingo Nahuatl | - | - | -
nld | Dutch | nl | nld_Latn | dut
nno | Norwegian Nynorsk | nn | nno_Latn | -
nob | Norwegian Bokmal | nb | nob_Latn | nor no
nov | Novial | - | - | -
npi | Nepali | ne | npi_Deva | nep
nso | Northern Sotho | - | nso_Latn | -
nst | Tase Naga | - | - | -
nus | Nuer | - | nus_Latn | -
nya | Nyanja | ny | nya_Latn | -
oci | Occitan | oc | oci_Latn | -
oji | Ojibwa | oj | - | -
orv | Old Russian | - | - | -
ory | Odia | or | ory_Orya | ori
ota | Ottoman Turkish | - | - | -
pag | Pangasinan | - | pag_Latn | -
pam | Kapampangan | - | - | -
pan | Punjabi | pa | pan_Guru | -
pap | Papiamento | - | pap_Latn | -
pbt | Southern Pashto | ps | pbt_Arab | pus
pes | Persian | fa | pes_Arab | fas per
plt | Plateau Malagasy | mg | plt_Latn | mlg
pmn | Pam | - | - | -
pms | Piedmontese | - | - | -
pol | Polish | pl | pol_Latn | -
por | Portuguese | pt | por_Latn | -
pot | Potawatomi | - | - | -
ppk | Uma | - | - | -
prg | Old Prussian | - | - | -
prs | Dari | - | prs_Arab | -
quc | K'iche' | - | - | -
que | Quechua | qu | - | -
quy | Ayacucho Quechua | - | quy_Latn | -
rmn | Balkan Romani | - | - | -
rom | Romany | - | - | -
ron | Romanian | ro | ron_Latn | rum
run | Rundi | rn | run_Latn | -
rus | Russian | ru | rus_Cyrl | -
sag | Sango | sg | sag_Latn | -
san | Sanskrit | sa | san_Deva | -
sat | Santali | - | sat_Olck | -
scn | Sicilian | - | scn_Latn | -
shi | Tachelhit | - | - | -
shn | Shan | - | shn_Mymr | -
sin | Sinhala | si | sin_Sinh | -
slk | Slovak | sk | slk_Latn | slo
slv | Slovenian | sl | slv_Latn | -
smo | Samoan | sm | smo_Latn | -
sna | Shona | sn | sna_Latn | -
snd | Sindhi | sd | snd_Arab | -
som | Somali | so | som_Latn | -
sot | Southern Sotho | st | sot_Latn | -
spa | Spanish | es | spa_Latn | -
sqi | Albanian | sq | als_Latn | als alb
srd | Sardinian | sc | srd_Latn | -
srp | Serbian | sr | srp_Cyrl | hbs sh
ssw | Swati | ss | ssw_Latn | -
sun | Sundanese | su | sun_Latn | -
swe | Swedish | sv | swe_Latn | -
swg | Swabian | - | - | -
swh | Swahili | sw | swh_Latn | swa
syr | Syriac | - | - | -
szl | Silesian | - | szl_Latn | -
tam | Tamil | ta | tam_Taml | -
taq | Tamasheq | - | taq_Latn taq_Tfng | -
tat | Tatar | tt | tat_Cyrl | -
tel | Telugu | te | tel_Telu | -
tgk | Tajik | tg | tgk_Cyrl | -
tgl | Tagalog | tl | tgl_Latn | fil
tha | Thai | th | tha_Thai | -
tir | Tigrinya | ti | tir_Ethi | -
tlh | Klingon | - | - | -
tmw | Temuan | - | - | -
tok | Toki Pona | - | - | toki
tpi | Tok Pisin | - | tpi_Latn | -
tsn | Tswana | tn | tsn_Latn | -
tso | Tsonga | ts | tso_Latn | -
ttq | Tawallammat Tamajaq | - | - | -
tuk | Turkmen | tk | tuk_Latn | -
tum | Tumbuka | - | tum_Latn | -
tur | Turkish | tr | tur_Latn | -
twi | Twi | tw | twi_Latn | -
tzl | Talossan | - | - | -
tzm | Central Atlas Tamazight | - | tzm_Tfng | -
uig | Uyghur | ug | uig_Arab | -
ukr | Ukrainian | uk | ukr_Cyrl | -
umb | Umbundu | - | umb_Latn | -
urd | Urdu | ur | urd_Arab | -
usp | Uspanteco | - | - | -
uzb | Uzbek | uz | uzn_Latn | uzn
vec | Venetian | - | vec_Latn | -
vie | Vietnamese | vi | vie_Latn | -
vol | Volapuk | vo | - | -
vro | Voro | - | - | -
wal | Wolaytta | - | - | -
war | Waray | - | war_Latn | -
wol | Wolof | wo | wol_Latn | -
wuu | Wu Chinese | - | - | -
xal | Kalmyk | - | - | -
xho | Xhosa | xh | xho_Latn | -
yid | Yiddish | yi | ydd_Hebr | ydd
yor | Yoruba | yo | yor_Latn | -
yue | Cantonese | - | yue_Hant | -
zsm | Standard Malay | ms | zsm_Latn | msa may zlm
zul | Zulu | zu | zul_Latn | -
zza | Zaza | - | - | -
"""


def _parse_table(table: str) -> tuple[tuple[Language, tuple[str, ...]], ...]:
    """``(language, other spellings)`` for each row of the table."""
    rows = []
    for line in table.strip().splitlines():
        code, name, iso1, flores, aliases = (field.strip() for field in line.split("|"))
        language = Language(
            code=code,
            name=name,
            iso1=None if iso1 == "-" else iso1,
            flores=() if flores == "-" else tuple(flores.split()),
        )
        rows.append((language, () if aliases == "-" else tuple(aliases.split())))
    return tuple(rows)


def _index(rows: tuple[tuple[Language, tuple[str, ...]], ...]) -> dict[str, Language]:
    """Every spelling (lower case) -> its language; a spelling claimed twice is a table error."""
    by_key: dict[str, Language] = {}
    for language, aliases in rows:
        for key in (language.code, language.iso1, *language.flores, *aliases):
            if key is None:
                continue
            claimed = by_key.setdefault(key.lower(), language)
            if claimed is not language:
                raise ValueError(f"language table: {key!r} names both {claimed.code} and {language.code}")
    return by_key


_ROWS = _parse_table(_TABLE)
_BY_KEY = _index(_ROWS)
LANGUAGES: tuple[Language, ...] = tuple(language for language, _ in _ROWS)
"""Every language of the registry, sorted by canonical code."""

# A script (Latn), a region (BR, ER) or a UN M.49 area (419) after "_" or "-".
_SUFFIX = re.compile(r"^(?P<base>[a-z]{2,4})_(?:[a-z]{4}|[a-z]{2}|[0-9]{3})$")
_SUGGESTIONS = 5


def get_language(code: str) -> Language:
    """The language a code names, in any spelling the registry knows; ``UnknownLanguageError`` else."""
    key = code.strip().lower().replace("-", "_")
    if key in _BY_KEY:
        return _BY_KEY[key]
    match = _SUFFIX.match(key)
    if match and match["base"] in _BY_KEY:
        return _BY_KEY[match["base"]]
    suggestions = [f"{language.code} ({language.name})" for language in _close_languages(key)]
    raise UnknownLanguageError(code, suggestions)


def _close_languages(key: str) -> list[Language]:
    """Languages whose English name contains ``key`` as a word, then those whose spellings or
    names look like it, closest first."""
    named = [language for language in LANGUAGES if key in language.name.lower().split()]
    spellings = {language.name.lower(): language for language in LANGUAGES} | _BY_KEY
    matches = difflib.get_close_matches(key, spellings, n=3 * _SUGGESTIONS, cutoff=0.6)
    return list(dict.fromkeys([*named, *(spellings[match] for match in matches)]))[:_SUGGESTIONS]


def _codes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


XTREME36: tuple[str, ...] = _codes(
    "afr ara bul ben deu ell spa est eus pes fin fra heb hin hun ind ita jpn "
    "jav kat kaz kor mal mar nld por rus swh tam tel tha tgl tur urd vie cmn"
)
"""The 36 Tatoeba languages of XTREME (Hu et al. 2020), in XTREME's order."""

TATOEBA112: tuple[str, ...] = _codes(
    "afr amh ang ara arq arz ast awa aze bel ben ber bos bre bul cat cbk ceb ces cha cmn cor csb "
    "cym dan deu dsb dtp ell epo est eus fao fin fra fry gla gle glg gsw heb hin hrv hsb hun hye "
    "ido ile ina ind isl ita jav jpn kab kat kaz khm kor kur kzj lat lfn lit lvs mal mar max mhr "
    "mkd mon nds nld nno nob nov oci orv pam pes pms pol por ron rus slk slv spa sqi srp swe swg "
    "swh tam tat tel tgl tha tuk tur tzl uig ukr urd uzb vie war wuu xho yid yue zsm"
)
"""The 112 languages of LASER's Tatoeba test set (Artetxe and Schwenk 2019), in file-name order."""

NAMED_SETS: dict[str, tuple[str, ...]] = {
    "xtreme36": XTREME36,
    "all112": TATOEBA112,
    "all": TATOEBA112,
    "flores200": tuple(language.code for language in LANGUAGES if language.flores),
    "xnli15": _codes("ara bul deu ell eng spa fra hin rus swh tha tur urd vie cmn"),
    "pawsx7": _codes("deu eng spa fra jpn kor cmn"),
    "sts17": _codes("ara eng spa tur"),
    "bucc2018": _codes("deu fra rus cmn"),
}
"""Language sets by name (lower case): benchmarks' language lists, as canonical codes."""


def parse_language_list(spec: str | Sequence[str]) -> list[Language]:
    """Languages from comma-separated codes and/or set names (``"xtreme36,yue,de"``).

    A sequence is read item by item, each item itself possibly comma-separated.  Order is kept and
    a language named twice (``"de,deu"``) appears once.  An empty list is a ``ConfigError``.
    """
    items = [spec] if isinstance(spec, str) else list(spec)
    languages: dict[str, Language] = {}
    for item in items:
        for name in (part.strip() for part in item.split(",")):
            if not name:
                continue
            if name.lower() in NAMED_SETS:
                codes = NAMED_SETS[name.lower()]
            else:
                codes = (_language_or_set_hint(name).code,)
            for code in codes:
                languages.setdefault(code, _BY_KEY[code])
    if not languages:
        sets = ", ".join(NAMED_SETS)
        raise ConfigError(f"empty language list {spec!r}: give codes (deu,fra) or a set name ({sets})")
    return list(languages.values())


def _language_or_set_hint(name: str) -> Language:
    """``get_language``, with close set names added to the suggestions of an unknown code."""
    try:
        return get_language(name)
    except UnknownLanguageError as error:
        sets = difflib.get_close_matches(name.lower(), NAMED_SETS, n=2, cutoff=0.6)
        if not sets:
            raise
        raise UnknownLanguageError(name, [*error.suggestions, *(f"set {s!r}" for s in sets)]) from None
