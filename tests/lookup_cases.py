"""The lookup question set: "what is F of X", "which X has code C", "how heavy is X", "list the X of type T".

Six public files the planner was not tuned on, shipped inside installed PyPI packages and read from
site-packages: pycountry's ``iso15924.json`` (scripts), ``iso3166-3.json`` (countries withdrawn from ISO 3166-1)
and ``iso639-5.json`` (language families); vega_datasets' ``burtin.json`` (bacteria and antibiotics) and
``la-riots.csv`` (exported as JSON under ``tests/.data/vega/``); plotly's ``election.csv.gz`` (Montreal's 2013
mayoral election per district, exported as JSON under ``tests/.data/plotly/``). Names are written as an
analyst types them: some in lower case, without accents or punctuation, shortened, or with a typo
(``LookupCase.close`` says which).

Every truth is computed here in plain Python from the raw records (never through the application): a
``Truth`` holds the true values, how many of them must be stated (a listing), what kind of value they are,
and the other values of the same field the data holds (what a wrong answer would state).

``grade_lookup`` grades the final answer a user reads, given its text, its computed block
(``meta["computed"]``) and its grounding check (``meta["grounding"]``, read with ``rag.grounding.Grounding``):

``right``
    the text or the computed block states the true value (a listing: ``need`` of the true records);
``wrong``
    it states a value of the kind asked that is not the truth, and the grounding check did not mark it;
``marked``
    it states wrong values only, and the grounding check marked every one of them;
``not_answered``
    it states no value of the kind asked.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tests import datasets
from tests.analytics_cases import DatasetSource, read_records, vega_csv_as_json

Record = Mapping[str, Any]
Rows = Sequence[Record]

RIGHT, WRONG, MARKED, NOT_ANSWERED = "right", "wrong", "marked", "not_answered"
VERDICTS = (RIGHT, WRONG, MARKED, NOT_ANSWERED)

DATASETS: dict[str, DatasetSource] = {
    source.name: source
    for source in (
        DatasetSource("scripts", lambda: datasets.pycountry_database_path("iso15924.json"), key="15924"),
        DatasetSource("former_countries", lambda: datasets.pycountry_database_path("iso3166-3.json"), key="3166-3"),
        DatasetSource("language_families", lambda: datasets.pycountry_database_path("iso639-5.json"), key="639-5"),
        DatasetSource("bacteria", lambda: datasets.vega_dataset_path("burtin.json")),
        DatasetSource("riots", lambda: vega_csv_as_json(
            "la-riots.csv", numbers=("age", "longitude", "latitude"), dates=("death_date",))),
        DatasetSource("election", lambda: datasets.plotly_dataset_path("election")),
    )
}


LABELS: dict[str, str | Callable[[Record], str]] = {
    "scripts": "name", "former_countries": "name", "language_families": "name", "bacteria": "Bacteria",
    "riots": lambda row: f"{row['first_name']} {row['last_name']}", "election": "district",
}
"""The field (or the function) that names a dataset's records: a text answering a lookup of a name-like value
("who won", "which neighborhood") with another record's name states a wrong value."""


def label_of(dataset: str, row: Record) -> str | None:
    label = LABELS[dataset]
    return label(row) if callable(label) else row.get(label)


def dataset_path(name: str) -> Path:
    """The JSON file of a dataset of the set (what the application is given)."""
    return DATASETS[name].locate()


@cache
def load_records(name: str) -> tuple[Record, ...]:
    """The raw records of a dataset of the set, parsed with ``json`` only."""
    return read_records(DATASETS[name])


# --- truths --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Truth:
    """What a right answer states."""

    values: tuple[Any, ...]
    """The true values: one for a lookup; the names of the records for a listing."""
    kind: str
    """``number``, ``date`` (a day, or a year), ``code`` (compared case-sensitively as a whole word) or ``name``
    (casefolded, without accents; a name also matches by its short form: before a comma or parenthesis, a district
    without its number, a language family without "languages")."""
    others: tuple[Any, ...] = ()
    """The values of the same field in the other records: a text stating one of them states a wrong value (for a
    number, any other number is wrong)."""
    need: int = 1
    """How many of ``values`` must be stated (a listing: five, or all when fewer)."""
    own_numbers: tuple[float, ...] = ()
    """The numbers the asked record holds in its other fields, and the years of its dates: a text asked for a code
    or a name that states one of them is not counted wrong for it ("Jackson, 38, ..." asked for a neighborhood),
    nor one asked for a number that states the year of its date."""
    own_years: tuple[float, ...] = ()


@dataclass(frozen=True)
class LookupCase:
    """One question of the set."""

    id: str
    dataset: str
    question: str
    qtype: str
    """``lookup`` (a field of a named record), ``reverse`` (the record holding a code or value) or ``listing``."""
    expect: Callable[[Rows], Truth]
    close: str = ""
    """How the name in the question differs from the data's: ``lower``, ``accents``, ``punctuation``,
    ``partial``, ``typo`` (several joined by ``+``); empty when written as in the data."""

    def truth(self) -> Truth:
        """The truth, computed once from the raw records. A lookup of a name-like value (a winner, a neighborhood)
        also counts the other records' names as wrong values."""
        if self.id not in _TRUTHS:
            rows = load_records(self.dataset)
            truth = self.expect(rows)
            if truth.kind == "name" and self.qtype == "lookup":
                names = [name for row in rows if (name := label_of(self.dataset, row)) not in (None, *truth.values)]
                truth = Truth(truth.values, truth.kind, tuple(dict.fromkeys((*truth.others, *names))), truth.need,
                              truth.own_numbers, truth.own_years)
            _TRUTHS[self.id] = truth
        return _TRUTHS[self.id]


_TRUTHS: dict[str, Truth] = {}


def _one(rows: Rows, where: Callable[[Record], bool]) -> Record:
    found = [row for row in rows if where(row)]
    if len(found) != 1:
        raise ValueError(f"expected one record, found {len(found)}")
    return found[0]


def _own(record: Record, asked: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(numbers, years of dates) the record holds outside the ``asked`` field."""
    numbers, years = [], []
    for key, value in record.items():
        if key == asked or value is None or isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            numbers.append(float(value))
        elif re.fullmatch(r"-?\d+(?:\.\d+)?", str(value)):
            numbers.append(float(value))
        elif re.match(r"\d{4}-\d{2}-\d{2}", str(value)):
            years.append(float(str(value)[:4]))
    return tuple(numbers + years), tuple(years)


def _text_values(rows: Rows, exclude: Iterable[Any]) -> tuple[str, ...]:
    """Every text value of several words in the records (what a name-like answer may wrongly state); single words
    ("Death", "Male") are left out, since a text uses them as words."""
    skip = {fold(value) for value in exclude}
    found = (value for row in rows for value in row.values() if isinstance(value, str))
    return tuple(dict.fromkeys(value for value in found if len(value.split()) >= 2 and fold(value) not in skip))


def _lookup_truth(rows: Rows, record: Record, asked: str, kind: str | None) -> Truth:
    truth = record.get(asked)
    if truth is None:
        raise ValueError(f"the record has no {asked}: {record}")
    kind = _kind(truth, kind)
    others = tuple(dict.fromkeys(row[asked] for row in rows if row.get(asked) not in (None, truth)))
    if kind == "name":
        others = tuple(dict.fromkeys((*others, *_text_values(rows, (truth,)))))
    numbers, years = _own(record, asked)
    return Truth((truth,), kind, others, own_numbers=numbers, own_years=years)


def _kind(value: Any, kind: str | None) -> str:
    if kind:
        return kind
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return "name"


def field_of(key: str, value: Any, asked: str, kind: str | None = None) -> Callable[[Rows], Truth]:
    """A lookup: the ``asked`` field of the one record whose ``key`` is ``value``."""

    def expect(rows: Rows) -> Truth:
        return _lookup_truth(rows, _one(rows, lambda row: row.get(key) == value), asked, kind)

    return expect


def record_where(where: Callable[[Record], bool], asked: str, kind: str | None = None) -> Callable[[Rows], Truth]:
    """A lookup or reverse lookup: the ``asked`` field of the one record meeting ``where``."""

    def expect(rows: Rows) -> Truth:
        return _lookup_truth(rows, _one(rows, where), asked, kind)

    return expect


def listing(
    where: Callable[[Record], bool], label: str | Callable[[Record], str], need: int = 5,
) -> Callable[[Rows], Truth]:
    """A listing: the names of every record meeting ``where``; ``need`` of them (all, when fewer) must be stated."""
    name_of = label if callable(label) else (lambda row: str(row[label]))

    def expect(rows: Rows) -> Truth:
        names = tuple(dict.fromkeys(name_of(row) for row in rows if where(row)))
        if not names:
            raise ValueError("the listing matches no record")
        others = tuple(dict.fromkeys(name_of(row) for row in rows if not where(row)))
        return Truth(names, "name", others, need=min(need, len(names)))

    return expect


def full_name(row: Record) -> str:
    return f"{row['first_name']} {row['last_name']}"


def person(first: str, last: str) -> Callable[[Record], bool]:
    return lambda row: row.get("first_name") == first and row.get("last_name") == last


def district(name: str) -> Callable[[Record], bool]:
    """The election district called ``name`` after its number (``111-Mile-End``)."""
    return lambda row: str(row["district"]).split("-", 1)[1] == name


# --- the questions -------------------------------------------------------------------------------

CASES: tuple[LookupCase, ...] = (
    # iso15924.json (pycountry), {"15924": [...]}: alpha_4 (Cyrl), name, numeric (a string: "220")
    LookupCase("scripts_cyrillic_alpha4", "scripts", "What is the alpha-4 code of Cyrillic?", "lookup",
               field_of("name", "Cyrillic", "alpha_4", "code")),
    LookupCase("scripts_greek_numeric", "scripts", "What is the numeric code of the Greek script?", "lookup",
               field_of("name", "Greek", "numeric", "number")),
    LookupCase("scripts_code_runr", "scripts", "Which script has the code Runr?", "reverse",
               record_where(lambda r: r["alpha_4"] == "Runr", "name")),
    LookupCase("scripts_numeric_410", "scripts", "Which script has the numeric code 410?", "reverse",
               record_where(lambda r: r["numeric"] == "410", "name")),
    LookupCase("scripts_armenian_lower", "scripts", "what is the alpha 4 code of armenian", "lookup",
               field_of("name", "Armenian", "alpha_4", "code"), close="lower"),
    LookupCase("scripts_hangul_partial", "scripts", "What is the numeric code of Hangul?", "lookup",
               field_of("name", "Hangul (Hangŭl, Hangeul)", "numeric", "number"), close="partial"),
    LookupCase("scripts_tifinagh_lower", "scripts", "What is the alpha-4 code of tifinagh?", "lookup",
               field_of("name", "Tifinagh (Berber)", "alpha_4", "code"), close="lower+partial"),
    LookupCase("scripts_mongolian_typo", "scripts", "What is the alpha-4 code of Mongolain?", "lookup",
               field_of("name", "Mongolian", "alpha_4", "code"), close="typo"),
    LookupCase("scripts_ethiopic_punct", "scripts", "What is the numeric code of ethiopic geez?", "lookup",
               field_of("name", "Ethiopic (Geʻez)", "numeric", "number"), close="lower+punctuation"),
    LookupCase("scripts_list_old", "scripts", "List the scripts whose name starts with 'Old'", "listing",
               listing(lambda r: r["name"].startswith("Old"), "name")),
    # iso3166-3.json (pycountry), {"3166-3": [...]}: alpha_2, alpha_3, alpha_4, name, numeric, withdrawal_date
    # (a year or an ISO date), comment
    LookupCase("former_gdr_alpha3", "former_countries",
               "What is the alpha-3 code of the German Democratic Republic?", "lookup",
               field_of("name", "German Democratic Republic", "alpha_3", "code")),
    LookupCase("former_dahomey_withdrawn", "former_countries", "When was Dahomey withdrawn?", "lookup",
               field_of("name", "Dahomey", "withdrawal_date", "date")),
    LookupCase("former_east_timor_date", "former_countries", "What is the withdrawal date of east timor?", "lookup",
               field_of("name", "East Timor", "withdrawal_date", "date"), close="lower"),
    LookupCase("former_code_yucs", "former_countries", "Which former country has the alpha-4 code YUCS?", "reverse",
               record_where(lambda r: r["alpha_4"] == "YUCS", "name")),
    LookupCase("former_rhodesia_numeric", "former_countries", "What is the numeric code of Southern Rhodesia?",
               "lookup", field_of("name", "Southern Rhodesia", "numeric", "number")),
    LookupCase("former_zaire_alpha2", "former_countries", "What is the alpha-2 code of Zaire?", "lookup",
               field_of("name", "Zaire, Republic of", "alpha_2", "code"), close="partial"),
    LookupCase("former_upper_volta_lower", "former_countries", "what is the alpha-3 code of upper volta", "lookup",
               field_of("name", "Upper Volta, Republic of", "alpha_3", "code"), close="lower+partial"),
    LookupCase("former_new_hebrides_typo", "former_countries", "What is the numeric code of the New Hebredes?",
               "lookup", field_of("name", "New Hebrides", "numeric", "number"), close="typo"),
    LookupCase("former_code_skm", "former_countries", "Which former country has the alpha-3 code SKM?", "reverse",
               record_where(lambda r: r["alpha_3"] == "SKM", "name")),
    LookupCase("former_list_1986", "former_countries", "Which former countries were withdrawn in 1986?", "listing",
               listing(lambda r: r["withdrawal_date"] == "1986", "name")),
    # iso639-5.json (pycountry), {"639-5": [...]}: alpha_3 (lower case: "cel"), name
    LookupCase("families_celtic_code", "language_families", "What is the alpha-3 code of the Celtic languages?",
               "lookup", field_of("name", "Celtic languages", "alpha_3", "code")),
    LookupCase("families_code_gem", "language_families", "Which language family has the code gem?", "reverse",
               record_where(lambda r: r["alpha_3"] == "gem", "name")),
    LookupCase("families_dravidian_code", "language_families", "What is the code of the Dravidian languages?",
               "lookup", field_of("name", "Dravidian languages", "alpha_3", "code")),
    LookupCase("families_code_bnt", "language_families", "Which language family has the alpha-3 code 'bnt'?",
               "reverse", record_where(lambda r: r["alpha_3"] == "bnt", "name")),
    LookupCase("families_baltic_lower", "language_families", "what is the code of the baltic languages", "lookup",
               field_of("name", "Baltic languages", "alpha_3", "code"), close="lower"),
    LookupCase("families_finno_ugrian_punct", "language_families", "What is the code of the finno ugrian languages?",
               "lookup", field_of("name", "Finno-Ugrian languages", "alpha_3", "code"), close="lower+punctuation"),
    LookupCase("families_austro_asiatic_typo", "language_families",
               "What is the alpha-3 code of the Austro-Asiatik languages?", "lookup",
               field_of("name", "Austro-Asiatic languages", "alpha_3", "code"), close="typo"),
    LookupCase("families_creoles_french", "language_families",
               "What is the code of Creoles and pidgins, French-based?", "lookup",
               field_of("name", "Creoles and pidgins, French‑based", "alpha_3", "code"), close="punctuation"),
    LookupCase("families_code_ine", "language_families", "Which language family has the code ine?", "reverse",
               record_where(lambda r: r["alpha_3"] == "ine", "name")),
    LookupCase("families_list_creoles", "language_families",
               "Which language families have names starting with 'Creoles'?", "listing",
               listing(lambda r: r["name"].startswith("Creoles"), "name")),
    # burtin.json (vega_datasets): Bacteria, Penicillin, Streptomycin, Neomycin (minimum inhibitory
    # concentrations), Gram_Staining (positive / negative), Genus
    LookupCase("bacteria_coli_penicillin", "bacteria", "What is the penicillin value of Escherichia coli?", "lookup",
               field_of("Bacteria", "Escherichia coli", "Penicillin")),
    LookupCase("bacteria_aureus_neomycin_lower", "bacteria", "what is the neomycin of staphylococcus aureus",
               "lookup", field_of("Bacteria", "Staphylococcus aureus", "Neomycin"), close="lower"),
    LookupCase("bacteria_brucella_streptomycin", "bacteria", "What is the streptomycin of Brucella abortus?",
               "lookup", field_of("Bacteria", "Brucella abortus", "Streptomycin")),
    LookupCase("bacteria_anthracis_gram", "bacteria", "What is the gram staining of Bacillus anthracis?", "lookup",
               field_of("Bacteria", "Bacillus anthracis", "Gram_Staining")),
    LookupCase("bacteria_viridans_neomycin", "bacteria", "What is the neomycin value of Streptococcus viridans?",
               "lookup", field_of("Bacteria", "Streptococcus viridans", "Neomycin")),
    LookupCase("bacteria_klebsiella_typo", "bacteria", "What is the penicillin of Klebsiella pneumonia?", "lookup",
               field_of("Bacteria", "Klebsiella pneumoniae", "Penicillin"), close="typo"),
    LookupCase("bacteria_typhosa_partial", "bacteria", "What is the streptomycin value of Salmonella typhosa?",
               "lookup", field_of("Bacteria", "Salmonella (Eberthella) typhosa", "Streptomycin"), close="partial"),
    LookupCase("bacteria_tuberculosis_penicillin", "bacteria",
               "What is the penicillin of mycobacterium tuberculosis?", "lookup",
               field_of("Bacteria", "Mycobacterium tuberculosis", "Penicillin"), close="lower"),
    LookupCase("bacteria_list_positive", "bacteria", "Which bacteria are gram positive?", "listing",
               listing(lambda r: r["Gram_Staining"] == "positive", "Bacteria")),
    LookupCase("bacteria_list_staphylococcus", "bacteria", "List the bacteria of the genus Staphylococcus", "listing",
               listing(lambda r: r["Genus"] == "Staphylococcus", "Bacteria")),
    # la-riots.csv (vega_datasets) as JSON: first_name, last_name, age, gender, race, death_date (ISO),
    # address, neighborhood, type; a person is named by two fields
    LookupCase("riots_austin_age", "riots", "How old was Vivian Austin?", "lookup",
               record_where(person("Vivian", "Austin"), "age")),
    LookupCase("riots_bettan_neighborhood", "riots", "What neighborhood did Patrick Bettan die in?", "lookup",
               record_where(person("Patrick", "Bettan"), "neighborhood")),
    LookupCase("riots_epstein_age", "riots", "What is the age of Howard Epstein?", "lookup",
               record_where(person("Howard", "Epstein"), "age")),
    LookupCase("riots_espinosa_date", "riots", "What was the death date of Juana Espinosa?", "lookup",
               record_where(person("Juana", "Espinosa"), "death_date", "date")),
    LookupCase("riots_doller_address", "riots", "What is the address of Harry Doller?", "lookup",
               record_where(person("Harry", "Doller"), "address")),
    LookupCase("riots_jackson_lower", "riots", "how old was dennis ray jackson", "lookup",
               record_where(person("Dennis Ray", "Jackson"), "age"), close="lower"),
    LookupCase("riots_benavidez_typo", "riots", "What is the age of Franklin Benavides?", "lookup",
               record_where(person("Franklin", "Benavidez"), "age"), close="typo"),
    LookupCase("riots_lam_type", "riots", "What type of death was Tranh Lam's?", "lookup",
               record_where(person("Tranh", "Lam"), "type")),
    LookupCase("riots_gibson_race", "riots", "What is the race of Meeker Gibson?", "lookup",
               record_where(person("Meeker", "Gibson"), "race")),
    LookupCase("riots_list_koreatown", "riots", "Which people died in Koreatown?", "listing",
               listing(lambda r: r.get("neighborhood") == "Koreatown", "last_name")),
    # election.csv.gz (plotly) as JSON: district ("111-Mile-End"), Coderre, Bergeron, Joly (votes), total,
    # winner, result (plurality / majority), district_id
    LookupCase("election_bois_winner", "election", "Who won the district 101-Bois-de-Liesse?", "lookup",
               record_where(district("Bois-de-Liesse"), "winner")),
    LookupCase("election_mile_end_coderre", "election", "How many votes did Coderre get in Mile-End?", "lookup",
               record_where(district("Mile-End"), "Coderre"), close="partial"),
    LookupCase("election_jeanne_mance_total", "election", "What is the total of the district Jeanne-Mance?", "lookup",
               record_where(district("Jeanne-Mance"), "total"), close="partial"),
    LookupCase("election_saint_edouard_accents", "election", "How many votes did Bergeron get in saint-edouard?",
               "lookup", record_where(district("Saint-Édouard"), "Bergeron"), close="lower+accents+partial"),
    LookupCase("election_riviere_winner_accents", "election", "Who was the winner in Riviere-des-Prairies?",
               "lookup", record_where(district("Rivière-des-Prairies"), "winner"), close="accents+partial"),
    LookupCase("election_delorimier_result", "election", "What is the result in DeLorimier?", "lookup",
               record_where(district("DeLorimier"), "result"), close="partial"),
    LookupCase("election_ahuntsic_typo", "election", "How many votes did Joly get in Ahuntsik?", "lookup",
               record_where(district("Ahuntsic"), "Joly"), close="typo+partial"),
    LookupCase("election_id_14", "election", "Which district has the district_id 14?", "reverse",
               record_where(lambda r: r["district_id"] == 14, "district")),
    LookupCase("election_cote_liesse_coderre", "election", "How many votes did Coderre get in Côte-de-Liesse?",
               "lookup", record_where(district("Côte-de-Liesse"), "Coderre"), close="partial"),
    LookupCase("election_list_joly", "election", "Which districts did Joly win?", "listing",
               listing(lambda r: r["winner"] == "Joly", "district")),
)


def cases_of(dataset: str) -> tuple[LookupCase, ...]:
    return tuple(case for case in CASES if case.dataset == dataset)


# --- reading what a text states ------------------------------------------------------------------


def fold(text: str) -> str:
    """Casefolded, without accents, every dash a hyphen, spaces collapsed."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[\u2010-\u2015\u2212]", "-", text).replace("ʻ", "'").replace("’", "'")
    return re.sub(r"\s+", " ", text).strip().casefold()


def name_forms(value: Any) -> tuple[str, ...]:
    """The folded forms a text may name a value by: whole, before a comma or parenthesis, a district's name without
    its number (``111-Mile-End`` -> ``mile-end``)."""
    whole = fold(value)
    forms = [whole]
    short = re.split(r"\s*[,(]", whole, maxsplit=1)[0].strip()
    if short and short != whole:
        forms.append(short)
    numbered = re.fullmatch(r"\d+-(.+)", whole)
    if numbered:
        forms.append(numbered.group(1))
    family = re.fullmatch(r"(.+?) (?:languages|\(family\))", whole)
    if family:
        forms.append(family.group(1))
    return tuple(dict.fromkeys(form for form in forms if len(form) >= 2))


def _spans_of(form: str, folded: str) -> list[tuple[int, int]]:
    """Where ``form`` appears in ``folded`` as whole words."""
    pattern = r"(?<!\w)" + re.escape(form) + r"(?!\w)"
    return [(m.start(), m.end()) for m in re.finditer(pattern, folded)]


_NUMBER = re.compile(r"(?<![\w.\-#/\[$])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w\-]|\.\d|\])")
_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_MONTH_NAMES = "|".join(m[:3] for m in _MONTHS)
_MONTH_DATE = re.compile(r"(?i)\b(" + _MONTH_NAMES + r")[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b"
                         r"|\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(" + _MONTH_NAMES + r")[a-z]*\.?,?\s+(\d{4})\b")
_ISO_DATE = re.compile(r"(?<![\w-])\d{4}-\d{2}-\d{2}(?![\w-])")


@dataclass(frozen=True)
class Stated:
    """A value a text states."""

    start: int
    end: int
    text: str
    right: bool


def _numbers(text: str) -> list[tuple[int, int, float, float]]:
    """(start, end, value, half the unit of its last digit) of each plain number (not inside a word, a code, a
    date, a citation or a record id)."""
    found = []
    for match in _NUMBER.finditer(text):
        raw = match.group()
        decimals = len(raw.split(".", 1)[1]) if "." in raw else 0
        found.append((match.start(), match.end(), float(raw.replace(",", "")), 0.5 * 10 ** -decimals))
    return found


def _is_ordinal(text: str, start: int, end: int) -> bool:
    line_start = text.rfind("\n", 0, start) + 1
    return text[line_start:start].strip(" \t-*+") == "" and text[end:end + 1] in (".", ")")


def _date_key(value: str) -> str | None:
    match = _MONTH_DATE.fullmatch(value.strip()) if not _ISO_DATE.fullmatch(value.strip()) else None
    if _ISO_DATE.fullmatch(value.strip()):
        return value.strip()
    if match is None:
        return None
    if match.group(1):
        month, day, year = match.group(1), match.group(2), match.group(3)
    else:
        day, month, year = match.group(4), match.group(5), match.group(6)
    number = [m[:3] for m in _MONTHS].index(month[:3].lower()) + 1
    return f"{int(year):04d}-{number:02d}-{int(day):02d}"


def stated_values(truth: Truth, text: str, question: str) -> list[Stated]:
    """The values of ``truth``'s kind that ``text`` states, each marked right or not; values the question states
    are left out ("How many votes did Coderre get" does not state Coderre)."""
    if not text:
        return []
    if truth.kind == "number":
        asked = {value for _, _, value, _ in _numbers(question)}
        wanted = [float(value) for value in truth.values]
        dates = [(m.start(), m.end()) for m in _MONTH_DATE.finditer(text)]
        out = []
        for start, end, value, half in _numbers(text):
            if _is_ordinal(text, start, end) or any(a <= start < b for a, b in dates):
                continue
            right = any(math.isclose(value, w, rel_tol=1e-9, abs_tol=half + 1e-12) for w in wanted)
            if not right and (value in asked or value in truth.own_years):
                continue
            out.append(Stated(start, end, text[start:end], right))
        return out
    if truth.kind == "date":  # a day (ISO), or a year alone: a date of that year states it too
        wanted = {str(value) for value in truth.values}
        years = {value for value in wanted if re.fullmatch(r"\d{4}", value)}
        out = []
        for match in list(_ISO_DATE.finditer(text)) + list(_MONTH_DATE.finditer(text)):
            key = _date_key(match.group())
            if key is not None:
                out.append(Stated(match.start(), match.end(), match.group(), key in wanted or key[:4] in years))
        if years:
            inside = [(s.start, s.end) for s in out]
            for match in re.finditer(r"(?<![\w-])[12]\d{3}(?![\w-])", text):
                if not any(a <= match.start() < b for a, b in inside) and match.group() not in question:
                    out.append(Stated(match.start(), match.end(), match.group(), match.group() in years))
        return out
    if truth.kind == "code":
        question_words = set(re.findall(r"[\w-]+", question))
        out = _stray_numbers(truth, text, question)
        for value, right in [(v, True) for v in truth.values] + [(v, False) for v in truth.others]:
            if not right and str(value) in question_words:
                continue
            pattern = r"(?<![\w-])" + re.escape(str(value)) + r"(?![\w-])"
            out += [Stated(m.start(), m.end(), m.group(), right) for m in re.finditer(pattern, text)]
        return out
    folded, positions = _fold_with_positions(text)
    question_folded = fold(question)
    strays = _stray_numbers(truth, text, question) if len(truth.values) == 1 else []
    named = [(positions[start], positions[end - 1] + 1, right)
             for start, end, _, right in _name_spans(truth, folded, question_folded)]
    return strays + [Stated(start, end, text[start:end], right) for start, end, right in named]


def _stray_numbers(truth: Truth, text: str, question: str) -> list[Stated]:
    """The numbers a text asked for a code or a name states (all wrong: "the alpha-4 code of Cyrillic is 221"),
    except those the question states, list ordinals, numbers inside a true value, and the asked record's own
    numbers and years."""
    asked = {value for _, _, value, _ in _numbers(question)}
    inside = " ".join(fold(value) for value in truth.values)
    out = []
    for start, end, value, _ in _numbers(text):
        if value in asked or value in truth.own_numbers or _is_ordinal(text, start, end):
            continue
        if re.search(r"(?<![\d.])" + re.escape(text[start:end]) + r"(?![\d.])", inside):
            continue
        out.append(Stated(start, end, text[start:end], False))
    for match in _ISO_DATE.finditer(text):
        if match.group() not in question and float(match.group()[:4]) not in truth.own_years:
            out.append(Stated(match.start(), match.end(), match.group(), False))
    return out


def _name_spans(truth: Truth, folded: str, question_folded: str = "") -> list[tuple[int, int, Any, bool]]:
    """(start, end, value, right) of each value of ``truth`` (right) or of ``truth.others`` (not right) that the
    folded text names, longest names first: "US Miscellaneous Pacific Islands" is not also "Pacific Islands".
    Other values the question names, or that are part of a true value, are left out."""
    candidates: list[tuple[int, int, Any, bool]] = []
    for value in truth.values:
        for form in name_forms(value):
            candidates += [(start, end, value, True) for start, end in _spans_of(form, folded)]
    for value in truth.others:
        for form in name_forms(value):
            if form in question_folded or any(form in fold(v) for v in truth.values):
                continue
            candidates += [(start, end, value, False) for start, end in _spans_of(form, folded)]
    candidates.sort(key=lambda item: (-(item[1] - item[0]), item[0], not item[3]))
    taken: list[tuple[int, int, Any, bool]] = []
    for item in candidates:
        if not any(item[0] < other[1] and other[0] < item[1] for other in taken):
            taken.append(item)
    return sorted(taken, key=lambda item: item[0])


def _fold_with_positions(text: str) -> tuple[str, list[int]]:
    """``fold(text)`` character by character (spaces not collapsed), with the offset in ``text`` of each folded
    character."""
    chars: list[str] = []
    positions: list[int] = []
    for index, ch in enumerate(text):
        piece = fold(ch) if not ch.isspace() else " "
        for out in piece or "":
            chars.append(out)
            positions.append(index)
    positions.append(len(text))
    return "".join(chars), positions


# --- grading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LookupGrade:
    """The verdict on one answer."""

    verdict: str
    """``right``, ``wrong``, ``marked`` or ``not_answered``."""
    why: str
    marked_wrong: int = 0
    """Wrong values the text states that the grounding check marked."""
    unmarked_wrong: tuple[str, ...] = field(default_factory=tuple)
    """Wrong values stated and not marked (the text's, then the computed block's)."""


def _block_text(computed: Mapping[str, Any] | None) -> str:
    """The computed block's cells and value as one line per row (what the page shows above the text)."""
    if not computed:
        return ""
    columns = list(computed.get("columns") or [])
    lines = []
    for row in computed.get("rows") or []:
        cells = row if isinstance(row, (list, tuple)) else [row]
        lines.append(" | ".join("" if cell is None else str(cell) for index, cell in enumerate(cells)
                                if index >= len(columns) or columns[index] != "_record_id"))
    return "\n".join(lines)


def grade_lookup(
    truth: Truth, question: str, text: str, computed: Mapping[str, Any] | None = None,
    marked_spans: Iterable[tuple[int, int]] = (),
) -> LookupGrade:
    """Grade the final answer: right when the text or the computed block states the truth; wrong when either states
    another value of the kind asked that the grounding check did not mark (``marked_spans``: the text's marked
    values); marked when every wrong value stated is marked; else not answered."""
    text = text or ""
    spans = list(marked_spans)
    in_text = stated_values(truth, text, question)
    block = _block_text(computed)
    in_block = stated_values(truth, block, question)
    right_text = {fold(s.text) for s in in_text if s.right}
    right_block = {fold(s.text) for s in in_block if s.right}
    listed = truth.kind == "name" and len(truth.values) > 1
    if listed:  # a listing: count the records named
        named = {value for source in (text, block)
                 for _, _, value, right in _name_spans(truth, _fold_with_positions(source)[0]) if right}
        right = len(named) >= truth.need
        right_why = f"{len(named)} of {len(truth.values)} records named (need {truth.need})"
    else:
        right = bool(right_text or right_block)
        right_why = "the text states it" if right_text else "the computed block states it"
    wrong_text = [s for s in in_text if not s.right]
    marked = [s for s in wrong_text if any(a < s.end and s.start < b for a, b in spans)]
    unmarked = [s.text for s in wrong_text if s not in marked]
    if not right_block:  # a block that misses the truth and states another value is an unmarked wrong value
        unmarked += [f"{s.text} (computed block)" for s in in_block if not s.right]
    if right:
        return LookupGrade(RIGHT, right_why, len(marked), tuple(unmarked))
    if unmarked:
        return LookupGrade(WRONG, f"states {unmarked[:4]}, the truth is {list(truth.values)[:4]}", len(marked),
                           tuple(unmarked))
    if marked:
        return LookupGrade(MARKED, f"states only marked wrong values {[s.text for s in marked][:4]}", len(marked))
    shown = right_why if listed else f"states no {truth.kind} (truth {list(truth.values)[:3]})"
    return LookupGrade(NOT_ANSWERED, f"{shown}: {text[:120]!r}")


def marked_spans_of(grounding: Mapping[str, Any] | None) -> list[tuple[int, int]]:
    """The (start, end) of each value the grounding check marked (``answer.meta["grounding"]``); none without one."""
    if not grounding:
        return []
    from rag.grounding import Grounding

    return [(value.start, value.end) for value in Grounding.from_dict(grounding).marked]
