"""The rules planner on a schema written by hand: which spec each kind of question gets."""

from __future__ import annotations

import pytest

from rag.analytics.plan import NOT_ANALYTIC, PLANNED, UNFILLED
from rag.analytics.rules import RulesPlanner
from rag.analytics.spec import ChildTable, ColumnInfo, Filter, GroupBy, TableSchema


def _schema() -> TableSchema:
    columns = [
        ColumnInfo("Name", "records", "text", values=("ford pinto", "toyota corolla")),
        ColumnInfo("Miles_per_Gallon", "records", "number"),
        ColumnInfo("Cylinders", "records", "number", categorical=True, values=(4, 8, 6, 3, 5)),
        ColumnInfo("Horsepower", "records", "number", present=400),
        ColumnInfo("Weight_in_lbs", "records", "number"),
        ColumnInfo("Year", "records", "date"),
        ColumnInfo("Origin", "records", "text", categorical=True, values=("USA", "Japan", "Europe")),
        ColumnInfo("items.category", "items", "text", categorical=True, values=("Home", "Electronics")),
        ColumnInfo("items.quantity", "items", "number"),
    ]
    return TableSchema(
        record_count=406,
        columns={c.path: c for c in columns},
        children={"items": ChildTable("items", 900)},
        label_field="Name",
        dataset_name="cars.json",
    )


@pytest.fixture(scope="module")
def planner() -> RulesPlanner:
    return RulesPlanner(_schema(), record_noun="cars")


def _spec(planner: RulesPlanner, question: str):
    outcome = planner.plan(question)
    assert outcome.status == PLANNED, (question, outcome)
    return outcome.plan.spec


def test_counts_with_a_value_filter(planner: RulesPlanner) -> None:
    spec = _spec(planner, "How many cars come from Japan?")
    assert (spec.aggregation, spec.field, spec.filters) == ("count", None, (Filter("Origin", "=", "Japan"),))


def test_a_number_beside_its_field_is_an_equality(planner: RulesPlanner) -> None:
    spec = _spec(planner, "How many cars have 8 cylinders?")
    assert spec.filters == (Filter("Cylinders", "=", 8),)


def test_average_of_a_field_named_by_its_split_words_with_a_filter(planner: RulesPlanner) -> None:
    spec = _spec(planner, "What is the average miles per gallon of cars from Japan?")
    assert (spec.aggregation, spec.field) == ("mean", "Miles_per_Gallon")
    assert spec.filters == (Filter("Origin", "=", "Japan"),)


def test_an_acronym_names_a_field_and_per_groups(planner: RulesPlanner) -> None:
    spec = _spec(planner, "average mpg per origin")
    assert (spec.aggregation, spec.field, spec.group_by) == ("mean", "Miles_per_Gallon", GroupBy("Origin"))


def test_which_record_has_the_highest_value_is_an_argmax(planner: RulesPlanner) -> None:
    spec = _spec(planner, "Which car has the highest horsepower?")
    assert (spec.aggregation, spec.field, spec.limit) == ("argmax", "Horsepower", 1)


def test_what_is_the_highest_value_is_a_max(planner: RulesPlanner) -> None:
    spec = _spec(planner, "What is the highest horsepower?")
    assert (spec.aggregation, spec.field) == ("max", "Horsepower")


def test_an_adjective_points_at_a_field(planner: RulesPlanner) -> None:
    outcome = planner.plan("What are the 3 heaviest cars?")
    spec = outcome.plan.spec
    assert (spec.aggregation, spec.field, spec.limit) == ("argmax", "Weight_in_lbs", 3)
    assert any("heaviest" in a for a in outcome.plan.assumptions)


def test_comparisons_and_ranges(planner: RulesPlanner) -> None:
    assert _spec(planner, "How many cars have more than 200 horsepower?").filters == (Filter("Horsepower", ">", 200),)
    assert _spec(planner, "How many cars weigh between 2000 and 3000 lbs?").filters == (
        Filter("Weight_in_lbs", "between", [2000, 3000]),
    )
    assert _spec(planner, "How many cars have at least 6 cylinders?").filters == (Filter("Cylinders", ">=", 6),)


def test_a_year_becomes_a_date_range(planner: RulesPlanner) -> None:
    spec = _spec(planner, "How many cars were made in 1982?")
    assert spec.filters == (Filter("Year", "between", ["1982-01-01", "1982-12-31"]),)


def test_per_year_groups_by_a_date_part(planner: RulesPlanner) -> None:
    assert _spec(planner, "Average horsepower by year").group_by == GroupBy("Year", "year")


def test_negation_makes_a_not_equal(planner: RulesPlanner) -> None:
    assert _spec(planner, "How many cars are not from the USA?").filters == (Filter("Origin", "!=", "USA"),)


def test_child_table_values_and_quantities(planner: RulesPlanner) -> None:
    spec = _spec(planner, "How many items were sold in total?")
    assert (spec.aggregation, spec.field) == ("sum", "items.quantity")
    spec = _spec(planner, "Total quantity per category")
    assert (spec.aggregation, spec.field, spec.group_by) == ("sum", "items.quantity", GroupBy("items.category"))


@pytest.mark.parametrize(
    "question",
    [
        "Tell me about the chevrolet chevelle malibu",
        "Compare the ford pinto with the toyota corolla",
        "Describe the toyota corolla",
        "Is the ford pinto from Japan?",
    ],
)
def test_open_questions_about_records_are_not_analytic(planner: RulesPlanner, question: str) -> None:
    assert planner.plan(question).status == NOT_ANALYTIC


@pytest.mark.parametrize(
    ("question", "field"),
    [
        ("What is the horsepower of the ford pinto?", "Horsepower"),
        ("How many cylinders does the ford pinto have?", "Cylinders"),
        ("How heavy is the Ford Pinto?", "Weight_in_lbs"),
    ],
)
def test_a_field_of_a_named_record_is_read_off_the_records(planner: RulesPlanner, question: str, field: str) -> None:
    spec = _spec(planner, question)
    assert (spec.aggregation, spec.fields, spec.filters) == ("records", (field,), (Filter("Name", "=", "ford pinto"),))


def test_an_average_of_nothing_named_is_unfilled_with_a_reason(planner: RulesPlanner) -> None:
    outcome = planner.plan("What is the average?")
    assert outcome.status == UNFILLED and "average" in outcome.reason


def test_an_unknown_name_is_not_read_past(planner: RulesPlanner) -> None:
    outcome = planner.plan("How many cars come from Atlantis?")
    assert outcome.status == UNFILLED and "Atlantis" in outcome.reason


def _years_as_numbers() -> RulesPlanner:
    """A table with a number ``year`` field and no date field (driving.json's shape)."""
    columns = [
        ColumnInfo("side", "records", "text", categorical=True, values=("left", "right")),
        ColumnInfo("year", "records", "number", values=(1956, 1957, 1958)),
        ColumnInfo("miles", "records", "number"),
        ColumnInfo("gas", "records", "number"),
    ]
    schema = TableSchema(record_count=55, columns={c.path: c for c in columns}, children={}, label_field=None,
                         dataset_name="driving.json")
    return RulesPlanner(schema)


@pytest.mark.parametrize(
    "question, group, order, limit",
    [
        ("Which year had the lowest gas price?", "year", "asc", 1),  # one year, the lowest: not every year, desc
        ("In which year was gas the cheapest?", "year", "asc", 1),
        ("Which year had the highest gas price?", "year", "desc", 1),
        ("Top 5 years by gas price", "year", "desc", 5),
    ],
)
def test_which_year_questions_rank_the_years_of_a_number_year_field(question, group, order, limit) -> None:
    spec = _spec(_years_as_numbers(), question)
    assert (spec.group_by.field, spec.order, spec.limit) == (group, order, limit)
    assert spec.field == "gas" and spec.aggregation in ("min", "max")


def test_a_range_of_years_filters_a_number_year_field_and_an_unread_year_is_never_dropped() -> None:
    planner = _years_as_numbers()
    spec = _spec(planner, "How many records between 1970 and 1980?")
    assert spec.aggregation == "count" and spec.filters == (Filter("year", "between", [1970, 1980]),)
    assert _spec(planner, "Number of years with miles above 9000").aggregation == "count_distinct"
    # with no date and no year field, a year the question names cannot be read: no count over every record
    columns = [ColumnInfo("side", "records", "text", categorical=True, values=("left", "right")),
               ColumnInfo("miles", "records", "number")]
    no_years = RulesPlanner(TableSchema(record_count=55, columns={c.path: c for c in columns}, children={},
                                        label_field=None, dataset_name="trips.json"))
    outcome = no_years.plan("How many records between 1970 and 1980?")
    assert outcome.status == UNFILLED and "1980" in outcome.reason
    assert no_years.plan("Total miles in 1980").status == UNFILLED


def _tips() -> RulesPlanner:
    """plotly's tips: amounts, a Yes/No text field, weekdays stored as abbreviations, a small number field."""
    columns = [
        ColumnInfo("total_bill", "records", "number", values=(13.42, 10.34)),
        ColumnInfo("tip", "records", "number", values=(2.0, 3.5, 1.66)),
        ColumnInfo("sex", "records", "text", categorical=True, values=("Male", "Female")),
        ColumnInfo("smoker", "records", "text", categorical=True, values=("No", "Yes")),
        ColumnInfo("day", "records", "text", categorical=True, values=("Sat", "Sun", "Thur", "Fri")),
        ColumnInfo("size", "records", "number", values=(2, 3, 4), distinct=6, present=244),
        ColumnInfo("pop", "records", "number", values=(1_000_000,)),
        ColumnInfo("iso_num", "records", "number", values=(4, 8)),
        ColumnInfo("gdpPercap", "records", "number", values=(779.4,)),
    ]
    return RulesPlanner(TableSchema(record_count=244, columns={c.path: c for c in columns}, children={},
                                    label_field=None, dataset_name="tips.json"))


@pytest.mark.parametrize(
    "question, aggregation, filters, group",
    [
        # a Yes/No field named as a noun is a filter, like a boolean
        ("How many male smokers were there?", "count", {Filter("sex", "=", "Male"), Filter("smoker", "=", "Yes")}, None),
        # "tips" names the records: the tip field holds amounts, not counts to add; "Sunday" is the stored "Sun"
        ("How many tips were given on Sunday?", "count", {Filter("day", "=", "Sun")}, None),
        ("Average tip for smokers vs non-smokers", "mean", set(), "smoker"),
        ("How many records have a pop over 100 million?", "count", {Filter("pop", ">", 100_000_000)}, None),
        # "In" is a word, not the acronym of iso_num
        ("In Sat, what is the average GDP per capita?", "mean", {Filter("day", "=", "Sat")}, None),
        ("Average tip per size", "mean", set(), "size"),
    ],
)
def test_words_analysts_use_on_exported_tables(question, aggregation, filters, group) -> None:
    spec = _spec(_tips(), question)
    assert spec.aggregation == aggregation and set(spec.filters) == filters
    assert (spec.group_by.field if spec.group_by else None) == group


def test_grouping_by_a_measure_is_refused_and_an_unplaced_field_in_a_count_falls_back() -> None:
    planner = _tips()
    outcome = planner.plan("Average size by total_bill")  # total_bill has a value per bill: not groups, and the
    assert outcome.status == UNFILLED and "groups by" in outcome.reason  # grouping is never dropped for an average
    outcome = planner.plan("How many tips did pop get?")  # the records counted; pop named in full, read as nothing
    assert outcome.status in (UNFILLED, NOT_ANALYTIC)


def _weather() -> RulesPlanner:
    columns = [
        ColumnInfo("date", "records", "date"),
        ColumnInfo("precipitation", "records", "number", values=(0.0, 2.5)),
        ColumnInfo("longitude", "records", "number", values=(-150.1,)),
        ColumnInfo("weather", "records", "text", categorical=True, values=("sun", "rain", "fog", "snow")),
        ColumnInfo("country", "records", "text", categorical=True, values=("USA", "Canada")),
    ]
    return RulesPlanner(TableSchema(record_count=1461, columns={c.path: c for c in columns}, children={},
                                    label_field=None, dataset_name="weather.json"))


@pytest.mark.parametrize(
    "question, filters",
    [
        ("How many rainy days were there?", {Filter("weather", "=", "rain")}),
        ("How many days were not sunny?", {Filter("weather", "!=", "sun")}),
        ("How many records are outside the USA?", {Filter("country", "!=", "USA")}),
        ("How many records have a longitude below -150?", {Filter("longitude", "<", -150)}),
        ("How many days between June and August 2015 had rain?",
         {Filter("date", "between", ("2015-06-01", "2015-08-31")), Filter("weather", "=", "rain")}),
    ],
)
def test_adjectives_negations_negative_numbers_and_month_ranges(question, filters) -> None:
    spec = _spec(_weather(), question)
    found = {Filter(f.field, f.op, tuple(f.value) if isinstance(f.value, list) else f.value) for f in spec.filters}
    assert spec.aggregation == "count" and found == filters


@pytest.mark.parametrize(
    "question",
    [
        "How many countries have more than 100 records?",  # a count of groups: a number nobody read
        "Compare the precipitation in 2013 and 2015",  # two years no record is in at once
    ],
)
def test_what_the_planner_cannot_read_goes_to_retrieval(question) -> None:
    assert _weather().plan(question).status in (UNFILLED, NOT_ANALYTIC)


def test_what_a_column_means_is_not_an_average() -> None:
    assert _weather().plan("What does the precipitation column mean?").status == NOT_ANALYTIC


def test_what_a_long_column_name_means_is_not_an_average_either() -> None:
    assert _weather().plan("What does the precipitation amount column in this table mean?").status == NOT_ANALYTIC


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many cars have a name starting with ford?", Filter("Name", "starts_with", "ford")),
        ("How many cars start with 'toyota c'?", Filter("Name", "starts_with", "toyota c")),
        ("How many cars have names ending in 'ado'?", Filter("Name", "ends_with", "ado")),
        ("Number of cars whose name begins with the letter Z", Filter("Name", "starts_with", "Z")),
        ("How many cars from Japan have a name that ends with -x?", Filter("Name", "ends_with", "-x")),
    ],
)
def test_starts_and_ends_with_keep_the_text_as_written(planner: RulesPlanner, question: str, expected: Filter) -> None:
    spec = _spec(planner, question)
    assert spec.aggregation == "count" and expected in spec.filters, spec.filters


def test_a_code_prefix_with_punctuation_is_kept_whole() -> None:
    code = ColumnInfo("code", "records", "text", values=("FR-91", "DE-BY"))
    schema = TableSchema(record_count=5046, columns={"code": code}, children={}, label_field="code",
                         dataset_name="iso3166-2.json")
    spec = _spec(RulesPlanner(schema, record_noun="subdivisions"), "How many codes start with FR-?")
    assert spec.filters == (Filter("code", "starts_with", "FR-"),)


@pytest.mark.parametrize(
    "question", ["How many cars are fast?", "How many cars are hybrid?", "How many rusty cars are there?",
                 "Number of cars that are electric"],
)
def test_a_count_whose_limiting_word_names_nothing_is_not_a_count_of_every_record(planner: RulesPlanner,
                                                                                  question: str) -> None:
    outcome = planner.plan(question)
    assert outcome.status == UNFILLED and "limits the count" in outcome.reason, (question, outcome)


@pytest.mark.parametrize(
    "question", ["How many cars are there?", "How many cars were built?", "How many cars are in the dataset?",
                 "How many records exist in the file?"],
)
def test_a_plain_count_counts_every_record(planner: RulesPlanner, question: str) -> None:
    spec = _spec(planner, question)
    assert (spec.aggregation, spec.field, spec.filters, spec.group_by) == ("count", None, (), None)


def test_a_number_in_a_field_name_is_part_of_the_field() -> None:
    alpha_2 = ColumnInfo("alpha_2", "records", "text", present=184)
    schema = TableSchema(record_count=7923, columns={"alpha_2": alpha_2, "name": ColumnInfo("name", "records", "text")},
                         children={}, label_field="name", dataset_name="iso639-3.json")
    planner = RulesPlanner(schema)
    assert _spec(planner, "How many languages have an alpha_2 code?").filters == (Filter("alpha_2", "not_missing"),)
    assert _spec(planner, "How many languages have no alpha 2?").filters == (Filter("alpha_2", "is_missing"),)
    assert _spec(planner, "How many languages have alpha 2 value?").filters == (Filter("alpha_2", "not_missing"),)


@pytest.mark.parametrize(
    "question, op",
    [("How many cars don't have horsepower data?", "is_missing"), ("How many cars do not have a horsepower value?",
                                                                    "is_missing"),
     ("How many cars have horsepower data?", "not_missing")],
)
def test_having_a_fields_data_or_not_is_a_missing_value_filter(question, op) -> None:
    schema = _schema()
    schema.columns["Horsepower"] = ColumnInfo("Horsepower", "records", "number", present=400, distinct=93)
    spec = _spec(RulesPlanner(schema, record_noun="cars"), question)
    assert (spec.aggregation, spec.filters) == ("count", (Filter("Horsepower", op),))


def test_the_most_common_value_of_a_number_with_few_values_is_a_group() -> None:
    schema = _schema()
    schema.columns["Cylinders"] = ColumnInfo("Cylinders", "records", "number", categorical=True, values=(4, 8, 6, 3, 5),
                                             present=406, distinct=5)
    spec = _spec(RulesPlanner(schema, record_noun="cars"), "What is the most common number of cylinders?")
    assert (spec.aggregation, spec.group_by, spec.order, spec.limit) == ("count", GroupBy("Cylinders"), "desc", 1)


def test_a_count_keeps_what_the_question_calls_the_records() -> None:
    scope = ColumnInfo("scope", "records", "text", categorical=True, values=("I", "M", "S"))
    schema = TableSchema(record_count=7923, columns={"scope": scope}, children={}, label_field=None,
                         dataset_name="iso639-3.json")
    planner = RulesPlanner(schema)
    assert planner.plan("How many languages have scope M?").plan.noun == "languages"
    assert planner.plan("Number of languages by scope").plan.noun == "languages"
    assert planner.plan("How many records are there?").plan.noun == "records"
    assert planner.plan("How many have scope M?").plan.noun is None, "no noun named: the file's is used"


@pytest.mark.parametrize("question", ["How many cars started in 1975?", "How many cars ended in a tie?"])
def test_started_in_a_year_and_ended_in_a_word_are_no_text_filters(planner: RulesPlanner, question: str) -> None:
    outcome = planner.plan(question)
    spec = outcome.plan.spec if outcome.plan else None
    assert spec is None or not any(f.op in ("starts_with", "ends_with") for f in spec.filters), (question, outcome)


def _country_years() -> RulesPlanner:
    """Gapminder's shape: a record per country and year, so countries repeat."""
    columns = [
        ColumnInfo("country", "records", "text", values=("Chile", "Japan"), present=1704, distinct=142),
        ColumnInfo("continent", "records", "text", categorical=True, values=("Africa", "Asia", "Europe"),
                   present=1704, distinct=5),
        ColumnInfo("year", "records", "number", categorical=True, values=(1952, 2007), present=1704, distinct=12),
        ColumnInfo("lifeExp", "records", "number", present=1704, distinct=1698),
        ColumnInfo("iso_alpha", "records", "text", categorical=True, values=("CHL", "JPN"), present=1704, distinct=141),
    ]
    return RulesPlanner(TableSchema(record_count=1704, columns={c.path: c for c in columns}, children={},
                                    label_field="country", dataset_name="gapminder.json"))


@pytest.mark.parametrize(
    "question, filters",
    [
        ("How many countries are there?", set()),
        ("How many countries in Africa?", {Filter("continent", "=", "Africa")}),
        ("How many different countries had a life expectancy below 40?", {Filter("lifeExp", "<", 40)}),
    ],
)
def test_counting_a_field_that_repeats_across_records_counts_its_values(question, filters) -> None:
    spec = _spec(_country_years(), question)
    found = {Filter(f.field, f.op, f.value) for f in spec.filters}
    assert (spec.aggregation, spec.field, found) == ("count_distinct", "country", filters)


def test_counting_the_records_or_a_field_unique_to_each_counts_records(planner: RulesPlanner) -> None:
    assert _spec(_country_years(), "How many records are from Asia?").aggregation == "count"
    unique = _schema()
    unique.columns["Origin"] = ColumnInfo("Origin", "records", "text", categorical=True, values=("USA", "Japan"),
                                          present=406, distinct=406)
    assert _spec(RulesPlanner(unique, record_noun="cars"), "How many origins are from Japan?").aggregation == "count"
    assert _spec(planner, "How many cars come from Japan?").aggregation == "count"


@pytest.mark.parametrize(
    "question, aggregation, field",
    [
        ("What is the average lifeExp?", "mean", "lifeExp"),
        ("Which country has the highest lifeExp in 2007?", "argmax", "lifeExp"),
        ("How many records have an iso_alpha of JPN?", "count", None),
    ],
)
def test_a_field_name_typed_as_written_names_that_field(question, aggregation, field) -> None:
    spec = _spec(_country_years(), question)
    assert (spec.aggregation, spec.field) == (aggregation, field)


def _election() -> RulesPlanner:
    """Montreal's 2013 election (plotly's dataset): a vote count per candidate, and the winner's name."""
    columns = [
        ColumnInfo("district", "records", "text", values=("101-Bois-de-Liesse",), present=58, distinct=58),
        *(ColumnInfo(name, "records", "number", present=58, distinct=58) for name in ("Coderre", "Bergeron", "Joly")),
        ColumnInfo("winner", "records", "text", categorical=True, values=("Coderre", "Bergeron", "Joly"),
                   present=58, distinct=3),
        ColumnInfo("result", "records", "text", categorical=True, values=("plurality", "majority"), present=58,
                   distinct=2),
    ]
    return RulesPlanner(TableSchema(record_count=58, columns={c.path: c for c in columns}, children={},
                                    label_field="district", dataset_name="election.json"))


@pytest.mark.parametrize(
    "question",
    ["How many districts did Coderre win?", "How many districts were won by Coderre?"],
)
def test_a_name_that_is_both_a_field_and_a_value_is_the_value_when_its_field_is_talked_about(question) -> None:
    spec = _spec(_election(), question)
    assert (spec.aggregation, spec.filters) == ("count", (Filter("winner", "=", "Coderre"),))


def test_the_same_name_without_its_fields_verb_is_the_field() -> None:
    spec = _spec(_election(), "What is the total of Coderre votes?")
    assert (spec.aggregation, spec.field, spec.filters) == ("sum", "Coderre", ())


def _people(sexes: tuple[str, ...]) -> RulesPlanner:
    columns = [
        ColumnInfo("sex", "records", "text", categorical=True, values=sexes, present=100, distinct=len(sexes)),
        ColumnInfo("group", "records", "text", categorical=True, values=("control", "treatment"), present=100,
                   distinct=2),
        ColumnInfo("score", "records", "number", present=100, distinct=100),
    ]
    return RulesPlanner(TableSchema(record_count=100, columns={c.path: c for c in columns}, children={},
                                    label_field=None, dataset_name="experiment.json"))


@pytest.mark.parametrize("female, male", [("female", "male"), ("F", "M"), ("Women", "Men")])
def test_women_and_men_are_the_values_of_a_sex_column_however_it_spells_them(female, male) -> None:
    planner = _people((female, male))
    spec = _spec(planner, "How many women in the control group?")
    assert set(spec.filters) == {Filter("sex", "=", female), Filter("group", "=", "control")}
    spec = _spec(planner, "What is the average score for men?")
    assert (spec.aggregation, spec.filters) == ("mean", (Filter("sex", "=", male),))


def test_a_column_with_m_but_no_f_is_no_sex_column() -> None:
    sizes = _people(("S", "M", "L"))
    outcome = sizes.plan("What is the average score for men?")  # never size = M; "for men" unread: no answer
    assert outcome.status == UNFILLED and outcome.unread == ("men",)


@pytest.mark.parametrize(
    "question",
    [
        "How many cars from Japan are fast?",  # a word no field or value explains, beside a filter
        "How many heavy cars come from the USA?",  # heavier than what?
        "How many powerful cars are there?",
        "How many fast ones?",  # an adjective is never the records' noun
    ],
)
def test_a_count_is_never_read_past_a_word_that_limits_it(planner: RulesPlanner, question) -> None:
    outcome = planner.plan(question)
    assert outcome.status == UNFILLED and "limits the count" in outcome.reason


def test_a_count_with_its_limit_stated_is_computed(planner: RulesPlanner) -> None:
    spec = _spec(planner, "How many cars from Japan weigh more than 2000?")
    assert set(spec.filters) == {Filter("Origin", "=", "Japan"), Filter("Weight_in_lbs", ">", 2000)}


@pytest.mark.parametrize(
    "question, origin",
    [("How many cars are american?", "USA"), ("How many Japanese cars have 4 cylinders?", "Japan"),
     ("Average horsepower of European cars", "Europe")],
)
def test_a_place_named_by_its_adjective_is_that_value(planner: RulesPlanner, question, origin) -> None:
    assert Filter("Origin", "=", origin) in _spec(planner, question).filters


def test_counting_repeated_countries_reads_past_the_filter_before_them() -> None:
    spec = _spec(_country_years(), "How many African countries are there?")
    assert (spec.aggregation, spec.field, spec.filters) == ("count_distinct", "country",
                                                             (Filter("continent", "=", "Africa"),))


@pytest.mark.parametrize("question", ["What percentage of cars are from Japan?", "What share of cars come from Japan?",
                                      "What proportion of the cars are from Japan?"])
def test_a_percentage_is_a_count_read_as_a_share(planner: RulesPlanner, question) -> None:
    plan = planner.plan(question).plan
    assert plan is not None and plan.share and plan.spec.aggregation == "count"
    assert plan.spec.filters == (Filter("Origin", "=", "Japan"),)
    assert not planner.plan("How many cars are from Japan?").plan.share


def test_numbers_written_as_words_are_numbers(planner: RulesPlanner) -> None:
    assert _spec(planner, "Count the cars with eight cylinders").filters == (Filter("Cylinders", "=", 8),)
    spec = _spec(planner, "Top ten heaviest cars")
    assert (spec.aggregation, spec.field, spec.limit) == ("argmax", "Weight_in_lbs", 10)


def test_an_adjective_before_a_word_that_is_no_field_is_never_its_noun() -> None:
    outcome = _weather().plan("How many hot days were there?")
    assert outcome.status == UNFILLED and "'hot'" in outcome.reason


def test_a_short_value_is_named_by_its_adjective_too() -> None:
    columns = [ColumnInfo("country", "records", "text", categorical=True, values=("US", "DE"), present=10, distinct=2)]
    planner = RulesPlanner(TableSchema(record_count=10, columns={c.path: c for c in columns}, children={},
                                       label_field=None, dataset_name="cars.json"), record_noun="cars")
    assert _spec(planner, "How many American cars are there?").filters == (Filter("country", "=", "US"),)


# --- every phrase read, or no answer (issue "every value the page states is exact or marked") -------------------


@pytest.mark.parametrize(
    "question",
    [
        "average Horsepower per number of cylinders",
        "average horsepower for each number of cylinders",
        "average horsepower by number of cylinders",
        "What is the average horsepower for each cylinder count?",
    ],
)
def test_per_for_each_and_by_number_of_a_field_group_by_it(planner: RulesPlanner, question: str) -> None:
    spec = _spec(planner, question)  # never the average over every car: the grouping is the question
    assert (spec.aggregation, spec.field, spec.group_by) == ("mean", "Horsepower", GroupBy("Cylinders"))


def test_a_child_field_per_a_child_group_keeps_the_group(planner: RulesPlanner) -> None:
    spec = _spec(planner, "Average quantity of items per category")
    assert (spec.aggregation, spec.field, spec.group_by) == ("mean", "items.quantity", GroupBy("items.category"))


@pytest.mark.parametrize("question", ["What is the mode of Cylinders?", "the modal number of cylinders",
                                      "What is the most common number of cylinders?"])
def test_the_mode_is_the_most_common_value(planner: RulesPlanner, question: str) -> None:
    spec = _spec(planner, question)
    assert (spec.aggregation, spec.group_by, spec.order, spec.limit) == ("count", GroupBy("Cylinders"), "desc", 1)


@pytest.mark.parametrize(
    "question",
    ["Average horsepower per number of owners", "average horsepower per dealer", "average horsepower by paint colour"],
)
def test_a_grouping_that_cannot_be_read_is_never_dropped(planner: RulesPlanner, question: str) -> None:
    outcome = planner.plan(question)
    assert outcome.status == UNFILLED and "groups by" in outcome.reason
    assert outcome.reading is not None and outcome.reading.grouped and outcome.reading.field == "Horsepower"


def _nested() -> RulesPlanner:
    """Records with ``specs.engine.cylinders``: a field named by its leaf."""
    columns = [
        ColumnInfo("model", "records", "text", values=("m1", "m2"), present=40, distinct=40),
        ColumnInfo("maker", "records", "text", categorical=True, values=("ford", "fiat"), present=40, distinct=2),
        ColumnInfo("specs.engine.cylinders", "records", "number", values=(4, 6, 8), present=40, distinct=3),
        ColumnInfo("specs.engine.displacement", "records", "number", present=40, distinct=17),
        ColumnInfo("specs.mass_kg", "records", "number", present=40, distinct=40),
        ColumnInfo("price", "records", "number", present=40, distinct=40),
    ]
    return RulesPlanner(TableSchema(record_count=40, columns={c.path: c for c in columns}, children={},
                                    label_field="model", dataset_name="fleet.json"), record_noun="records")


@pytest.mark.parametrize(
    "question, aggregation, field, group, filters",
    [
        ("average price per number of cylinders", "mean", "price", "specs.engine.cylinders", ()),
        ("How many records have 8 cylinders?", "count", None, None, (Filter("specs.engine.cylinders", "=", 8),)),
        ("What is the most common number of cylinders?", "count", None, "specs.engine.cylinders", ()),
        ("average weight by cylinders", "mean", "specs.mass_kg", "specs.engine.cylinders", ()),
        ("mean displacement for each maker", "mean", "specs.engine.displacement", "maker", ()),
    ],
)
def test_a_nested_field_is_read_by_its_leaf_name(question, aggregation, field, group, filters) -> None:
    spec = _spec(_nested(), question)
    assert (spec.aggregation, spec.field, spec.filters) == (aggregation, field, filters)
    assert (spec.group_by.field if spec.group_by else None) == group


@pytest.mark.parametrize(
    "question, ignored",
    [
        ("Which car is the heaviest? Q-ALPHA", "'Q-ALPHA'"),
        ("Which car is the heaviest? thx", "'thx'"),
        ("Which car is the heaviest? 🚗", "'🚗'"),
        ("Q-ALPHA: which car is the heaviest?", "'Q-ALPHA'"),
        ("thanks! which car is the heaviest", "'thanks'"),
    ],
)
def test_a_stray_token_is_ignored_and_named(planner: RulesPlanner, question: str, ignored: str) -> None:
    outcome = planner.plan(question)
    assert outcome.status == PLANNED, outcome
    spec = outcome.plan.spec
    assert (spec.aggregation, spec.field, spec.limit) == ("argmax", "Weight_in_lbs", 1)
    assert f"ignored: {ignored}" in outcome.plan.assumptions
    assert ("ignored" in dict(outcome.plan.words).values()) and outcome.plan.ignored


@pytest.mark.parametrize(
    "question, field, read",
    [
        ("Whcih car is the heaviest?", "Weight_in_lbs", "'Whcih' read as 'which'"),
        ("What is the average horsepwer?", "Horsepower", "'horsepwer' read as 'horsepower'"),
        ("What is the avrage horsepower?", "Horsepower", "'avrage' read as 'average'"),
    ],
)
def test_a_typo_of_a_known_word_is_read_as_it_and_said(planner: RulesPlanner, question, field, read) -> None:
    plan = planner.plan(question).plan
    assert plan is not None and plan.spec.field == field and read in plan.assumptions


def test_a_tag_where_a_value_stands_is_never_ignored(planner: RulesPlanner) -> None:
    outcome = planner.plan("How many cars from Q-ALPHA?")  # a filter nobody can read: not every car
    assert outcome.status == UNFILLED and "Q" in " ".join(outcome.unread + (outcome.reason,))


def _seattle(first: str = "2012-01-01", last: str = "2015-12-31") -> RulesPlanner:
    columns = [
        ColumnInfo("date", "records", "date", present=1461, distinct=1461, minimum=first, maximum=last),
        ColumnInfo("precipitation", "records", "number", present=1461, distinct=111),
        ColumnInfo("temp_max", "records", "number", present=1461, distinct=67),
        ColumnInfo("temp_min", "records", "number", present=1461, distinct=55),
        ColumnInfo("wind", "records", "number", present=1461, distinct=79),
        ColumnInfo("weather", "records", "text", categorical=True, values=("sun", "rain", "fog", "drizzle", "snow"),
                   present=1461, distinct=5),
    ]
    return RulesPlanner(TableSchema(record_count=1461, columns={c.path: c for c in columns}, children={},
                                    label_field=None, dataset_name="seattle-weather.json"))


@pytest.mark.parametrize(
    "question",
    ["how many observations were recorded in March", "average temp_max in March at Seattle",
     "What was the total precipitation in March?"],
)
def test_a_month_of_several_years_is_never_dropped(question: str) -> None:
    outcome = _seattle().plan(question)  # never every record, never every March read as one
    assert outcome.status == UNFILLED
    assert outcome.reading is not None and (outcome.reading.month == 3 or "Seattle" in outcome.unread)


def test_a_month_of_the_only_year_is_that_month() -> None:
    spec = _spec(_seattle("2024-01-01", "2024-12-31"), "What was the total precipitation in March?")
    assert spec.filters == (Filter("date", "between", ["2024-03-01", "2024-03-31"]),)


@pytest.mark.parametrize(
    "question, field",
    [
        ("What is the average mass?", "Weight_in_lbs"),
        ("what is the average fuel economy?", "Miles_per_Gallon"),
        ("average power by origin", "Horsepower"),
        ("How heavy are the cars on average?", "Weight_in_lbs"),
    ],
)
def test_a_field_named_in_other_words_is_read_and_said(planner: RulesPlanner, question: str, field: str) -> None:
    plan = planner.plan(question).plan
    assert plan is not None and plan.spec.field == field
    assert any(line.endswith(f"read as {field}") for line in plan.assumptions), plan.assumptions


def _mpg() -> RulesPlanner:
    """ggplot2's mpg: city and highway mileage as ``cty`` and ``hwy``."""
    columns = [
        ColumnInfo("manufacturer", "records", "text", categorical=True, values=("audi", "ford"), present=234,
                   distinct=15),
        ColumnInfo("displ", "records", "number", present=234, distinct=35),
        ColumnInfo("cyl", "records", "number", values=(4, 6, 8), present=234, distinct=4),
        ColumnInfo("cty", "records", "number", present=234, distinct=21),
        ColumnInfo("hwy", "records", "number", present=234, distinct=27),
        ColumnInfo("class", "records", "text", categorical=True, values=("compact", "suv"), present=234, distinct=7),
    ]
    return RulesPlanner(TableSchema(record_count=234, columns={c.path: c for c in columns}, children={},
                                    label_field=None, dataset_name="mpg.json"))


@pytest.mark.parametrize(
    "question, field",
    [("average city mpg", "cty"), ("What is the average highway mileage?", "hwy"),
     ("average city mileage by class", "cty"), ("median hwy", "hwy")],
)
def test_abbreviated_fields_are_met_through_their_words(question: str, field: str) -> None:
    assert _spec(_mpg(), question).field == field


def test_a_word_two_fields_fit_equally_is_a_question_back() -> None:
    outcome = _mpg().plan("What is the average mpg?")
    assert outcome.status == UNFILLED and "cty or hwy" in outcome.reason
    assert set(outcome.reading.candidates) == {"cty", "hwy"}
    outcome = _seattle().plan("What is the average temperature?")
    assert outcome.status == UNFILLED and set(outcome.reading.candidates) == {"temp_max", "temp_min"}


@pytest.mark.parametrize(
    "question, aggregation, field",
    [("Which day was the windiest?", "max", "wind"), ("What was the coldest day?", "argmin", "temp_min"),
     ("What was the highest temp?", "max", "temp_max")],
)
def test_a_superlative_of_a_synonym_names_its_field_and_end(question: str, aggregation: str, field: str) -> None:
    spec = _spec(_seattle(), question)
    assert (spec.aggregation, spec.field) == (aggregation, field)


@pytest.mark.parametrize(
    "question, unread",
    [
        ("What is the average price of the cars?", "price"),
        ("What is the median age?", "age"),
        ("What is the total salary?", "salary"),
        ("average city mpg", "city"),
        ("average horsepower of heavy cars", "heavy"),
        ("average horsepower and weight", "weight"),
    ],
)
def test_a_word_no_field_holds_makes_no_answer(planner: RulesPlanner, question: str, unread: str) -> None:
    outcome = planner.plan(question)
    assert outcome.status == UNFILLED and unread in outcome.unread, outcome


def test_a_vague_adjective_linked_to_a_field_limits_nothing_it_says() -> None:
    outcome = _seattle().plan("How many windy days?")  # windier than what? never every day
    assert outcome.status == UNFILLED and "wind" in outcome.reason


def test_every_word_has_a_role_in_the_reading(planner: RulesPlanner) -> None:
    plan = planner.plan("What is the average miles per gallon of cars from Japan? thx").plan
    roles = dict(plan.words)
    assert [word for word, _ in plan.words] == ["What", "is", "the", "average", "miles", "per", "gallon", "of",
                                               "cars", "from", "Japan", "thx"]
    assert (roles["average"], roles["gallon"], roles["Japan"], roles["cars"], roles["thx"]) == (
        "cue", "field", "value", "records", "ignored")
    assert "ignored: 'thx'" in plan.assumptions


@pytest.mark.parametrize(
    "question, cue",
    [("How many cars are there?", "how many"), ("average mpg per origin", "average"), ("the hottest day", "hottest"),
     ("Which car is the heaviest?", "heaviest"), ("What share of cars are from Japan?", "share"),
     ("What is the horsepower of the ford pinto?", None), ("Tell me about the chevrolet chevelle malibu", None),
     ("How much does the ford pinto weigh?", None), ("Compare the ford pinto with the toyota corolla", None)],
)
def test_analytic_intent_is_told_by_its_words(question: str, cue: str | None) -> None:
    from rag.analytics.rules import analytic_intent

    assert analytic_intent(question) == cue


def test_a_comparison_with_the_average_is_no_average(planner: RulesPlanner) -> None:
    outcome = planner.plan("How many cars have a horsepower above average?")  # never the average itself
    assert outcome.status == UNFILLED and "average" in outcome.reason


def test_a_share_word_of_an_average_is_never_dropped(planner: RulesPlanner) -> None:
    outcome = planner.plan("What is the average horsepower percentage?")
    assert outcome.status == UNFILLED and outcome.unread == ("percentage",)


@pytest.mark.parametrize(
    "question, aggregation, limit, filters",
    [("Show me the top 5 cars by horsepower", "argmax", 5, ()),
     ("What's the heaviest Japanese car?", "argmax", 1, (Filter("Origin", "=", "Japan"),))],
)
def test_records_ranked_by_a_measure(planner: RulesPlanner, question, aggregation, limit, filters) -> None:
    spec = _spec(planner, question)
    assert (spec.aggregation, spec.limit, spec.filters, spec.group_by) == (aggregation, limit, filters, None)
