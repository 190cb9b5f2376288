"""The French question set: analytic questions as a French-speaking analyst types them, with truths computed
from the raw JSON.

The yardstick of the issue that makes the planner read French questions. The questions are written the way a
French analyst writes them, not the way a planner reads them: accents and elisions (``l'``, ``d'``, ``qu'``),
French quotes (« stan »), the decimal comma (``1,5``), "y a-t-il", French words for the English fields ("poids"
for ``Weight_in_lbs``, "cylindrée" for ``Displacement``, "espèce" for ``species``, "pourboire" for ``tip``,
"PIB par habitant" for ``gdpPercap``), and countries named in French ("Japon", "Allemagne", "États-Unis",
"Pays-Bas", see ``babel.Locale('fr').territories``) where the data holds English names or ISO codes.

The datasets are those of the English set (``tests.analytics_cases.DATASETS``) and every truth is computed there
with its plain-Python helpers (``count``, ``mean``, ``best``, ``listing``…) from the raw records, never through the
application. A question that translates an English case reuses that case's ``expect`` (``twin``, its id), so the
two sets cannot drift apart; the English twin, read by the planner, gets the French case's truth (how the truths
were checked).

Each case also names the constructs it exercises (``CONSTRUCTS``), so that the set is checked to cover every one
of them with several questions (``tests/test_french_planner.py``).

A percentage question ("quel pourcentage des voitures…") is graded as the English planner answers one: the count
of the records asked about in the computed block, its share of all records stated beside it (``PERCENTS``: the
share in percent); a block that holds the share itself (19.46, or 0.1946) is right too.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.analytics_cases import (
    CASES,
    Case,
    Rows,
    about,
    best,
    count,
    field_names,
    grouped,
    listing,
    load_records,
    lookup,
    mean,
    median,
    no_field,
    top,
    total,
    value_of,
)
from tests.analytics_grading import Expectation, NotAnalytic

ENGLISH: dict[str, Case] = {case.id: case for case in CASES}

CONSTRUCTS_REQUIRED: tuple[str, ...] = (
    "combien", "nombre de", "moyenne", "médiane", "total", "par", "pour chaque",
    "plus de", "au moins", "moins de", "entre", "superlatif", "date", "top", "pourcentage",
    "lookup", "listing", "élision", "accents", "champ en français", "pays en français", "refused", "not_analytic",
)
"""The constructs the set must cover, each with several questions. ``élision`` and ``accents`` are read from the
question's text; the others are declared per case."""

CONSTRUCTS: dict[str, frozenset[str]] = {}
"""French case id -> the constructs it exercises."""

TWINS: dict[str, str] = {}
"""French case id -> the id of the English case it translates (whose ``expect`` it reuses)."""

PERCENTS: dict[str, float] = {}
"""French case id of a percentage question -> the share asked, in percent (its ``expect`` is the count)."""


def english(case_id: str) -> Callable[[Rows], Expectation]:
    """The ``expect`` of an English case, looked up by id."""
    return ENGLISH[case_id].expect


def _case(
    case_id: str, dataset: str, question: str, qtype: str, expect: Callable[[Rows], Expectation] | None = None, *,
    tags: str, twin: str | None = None, ops: tuple[str, ...] = (),
) -> Case:
    """A French case; ``tags`` lists its constructs ("combien, pays en français"); ``twin`` the English case it
    translates, whose ``expect`` (and ops) it takes when ``expect`` is not given."""
    if not case_id.startswith("fr_"):
        raise ValueError(f"a French case id starts with 'fr_': {case_id!r}")
    if twin is not None:
        if twin not in ENGLISH:
            raise ValueError(f"{case_id}: no English case {twin!r}")
        TWINS[case_id] = twin
        expect = expect or ENGLISH[twin].expect
        ops = ops or ENGLISH[twin].ops
    if expect is None:
        raise ValueError(f"{case_id}: no expectation")
    CONSTRUCTS[case_id] = frozenset(tag.strip() for tag in tags.split(",") if tag.strip())
    return Case(case_id, dataset, question, qtype, expect, ops)


def share(case_id: str, dataset: str, where: Callable[[dict], bool]) -> Callable[[Rows], Expectation]:
    """A percentage question: the count of the records that pass ``where`` (their share kept in ``PERCENTS``)."""

    def expect(rows: Rows) -> Expectation:
        found = count(rows, where)
        PERCENTS[case_id] = 100 * found.value / len(rows)
        return found

    return expect


def percent_of(case: Case) -> float:
    """The share a percentage case asks for, in percent, computed from the raw records."""
    case.truth()
    if case.id not in PERCENTS:  # the truth was cached before this module recorded the share
        case.expect(load_records(case.dataset))
    return PERCENTS[case.id]


def no_such_field(name_path: str, name: str, *words: str) -> Callable[[Rows], Expectation]:
    """A lookup of a field no record holds ("la capitale de l'Allemagne") about a record that exists: retrieval
    answers it, never a computed number."""

    def expect(rows: Rows) -> Expectation:
        lookup(rows, name_path, name)
        held = [word for word in words if any(word.lower() in field for field in field_names(rows))]
        if held:
            raise ValueError(f"a field holds {held}")
        return NotAnalytic(about=f"no field holds {', '.join(words)} for {name}")

    return expect


def year_is(path: str, year: int) -> Callable[[dict], bool]:
    return lambda row: str(row[path]).startswith(str(year))


def month_is(path: str, year: int, month: int) -> Callable[[dict], bool]:
    return lambda row: str(row[path]).startswith(f"{year}-{month:02d}")


def in_year(rows: Rows, year: int) -> list[dict]:
    """Gapminder's records of one year (one per country)."""
    return [row for row in rows if row["year"] == year]


# --- the questions -------------------------------------------------------------------------------

FRENCH_CASES: tuple[Case, ...] = (
    # cars.json: Name, Miles_per_Gallon, Cylinders, Displacement, Horsepower, Weight_in_lbs, Acceleration,
    # Year (ISO date), Origin (USA / Europe / Japan)
    _case("fr_cars_count_all", "cars", "Combien de voitures y a-t-il dans le jeu de données ?", "count",
          tags="combien", twin="cars_count_all"),
    _case("fr_cars_count_japan", "cars", "Combien de voitures viennent du Japon ?", "count",
          tags="combien, pays en français", twin="cars_count_japan"),
    _case("fr_cars_count_8cyl", "cars", "combien de voitures ont 8 cylindres", "count",
          tags="combien", twin="cars_count_8cyl"),
    _case("fr_cars_not_usa", "cars", "Combien de voitures ne viennent pas des États-Unis ?", "count",
          tags="combien, pays en français", twin="cars_not_usa"),
    _case("fr_cars_count_europe", "cars", "Nombre de voitures européennes", "count",
          tags="nombre de, pays en français", twin="cars_count_europe"),
    _case("fr_cars_distinct_names", "cars", "Quel est le nombre de noms de voitures différents ?", "count_distinct",
          tags="nombre de", twin="cars_distinct_names"),
    _case("fr_cars_contains_toyota", "cars", "Nombre de voitures dont le nom contient toyota", "count",
          tags="nombre de", twin="cars_contains_toyota"),
    _case("fr_cars_mean_mpg_japan", "cars", "Quelle est la moyenne de Miles_per_Gallon des voitures japonaises ?",
          "mean", tags="moyenne, pays en français", twin="cars_mean_mpg_japan"),
    _case("fr_cars_mean_hp_4cyl", "cars", "Quelle est la puissance moyenne des voitures à 4 cylindres ?", "mean",
          tags="moyenne, champ en français", twin="cars_mean_hp_4cyl"),
    _case("fr_cars_mean_weight", "cars", "Poids moyen des voitures ?", "mean",
          tags="moyenne, champ en français", twin="cars_mean_mass"),
    _case("fr_cars_median_weight", "cars", "Quel est le poids médian des voitures ?", "median",
          tags="médiane, champ en français", twin="cars_median_weight"),
    _case("fr_cars_median_mpg_usa", "cars", "Médiane des miles par gallon pour les voitures des États-Unis",
          "median", tags="médiane, pays en français", twin="cars_median_mpg_usa"),
    _case("fr_cars_sum_weight", "cars", "Quel est le poids total de toutes les voitures ?", "sum",
          tags="total, champ en français", twin="cars_sum_weight"),
    _case("fr_cars_max_acceleration", "cars", "Quelle est l'accélération maximale ?", "max",
          tags="superlatif, champ en français", twin="cars_max_acceleration"),
    _case("fr_cars_mpg_per_origin", "cars", "Moyenne des miles par gallon par origine", "group",
          tags="moyenne, par", twin="cars_group_mpg_origin"),
    _case("fr_cars_count_per_cylinders", "cars", "Nombre de voitures par nombre de cylindres", "group",
          tags="nombre de, par", twin="cars_group_count_cylinders"),
    _case("fr_cars_max_hp_each_origin", "cars", "Quelle est la puissance maximale pour chaque origine ?", "group",
          tags="pour chaque, champ en français", twin="cars_group_max_hp_origin"),
    _case("fr_cars_hp_each_cylinders", "cars", "Quelle est la puissance moyenne pour chaque nombre de cylindres ?",
          "group", tags="pour chaque, moyenne, champ en français", twin="cars_hp_for_each_cylinders"),
    _case("fr_cars_hp_over_200", "cars", "Combien de voitures ont plus de 200 chevaux ?", "filter_range",
          tags="combien, plus de, champ en français", twin="cars_hp_over_200"),
    _case("fr_cars_mpg_at_least_30", "cars", "Combien de voitures font au moins 30 miles par gallon ?",
          "filter_range", tags="combien, au moins", twin="cars_mpg_at_least_30"),
    _case("fr_cars_fewer_than_6cyl", "cars", "Combien de voitures ont moins de 6 cylindres ?", "filter_range",
          tags="combien, moins de", twin="cars_fewer_than_6cyl"),
    _case("fr_cars_weight_between", "cars", "Combien de voitures pèsent entre 2000 et 3000 livres ?",
          "filter_range", tags="combien, entre, champ en français", twin="cars_weight_between"),
    _case("fr_cars_heaviest", "cars", "Quelle est la voiture la plus lourde ?", "argmax",
          tags="superlatif, champ en français", twin="cars_heaviest_tag"),
    _case("fr_cars_lightest", "cars", "Quelle voiture est la plus légère ?", "argmin",
          tags="superlatif, champ en français", twin="cars_argmin_weight"),
    _case("fr_cars_most_horsepower", "cars", "Quelle voiture a le plus de chevaux ?", "argmax",
          tags="superlatif, champ en français", twin="cars_argmax_hp"),
    _case("fr_cars_max_displacement_1970", "cars",
          "Quelle était la plus grande cylindrée parmi les voitures de 1970 ?", "max",
          tags="superlatif, date, champ en français", twin="cars_max_displacement_1970"),
    _case("fr_cars_top3_heaviest", "cars", "Quelles sont les 3 voitures les plus lourdes ?", "argmax",
          tags="top, superlatif, champ en français", twin="cars_top3_heaviest"),
    _case("fr_cars_made_1982", "cars", "Combien de voitures ont été fabriquées en 1982 ?", "date",
          tags="combien, date", twin="cars_made_1982"),
    _case("fr_cars_before_1975", "cars", "Combien de voitures datent d'avant 1975 ?", "date",
          tags="combien, date", twin="cars_before_1975"),
    _case("fr_cars_hp_per_year", "cars", "Puissance moyenne par année", "date",
          tags="moyenne, par, date, champ en français", twin="cars_hp_by_year"),
    _case("fr_cars_pct_japan", "cars", "Quel pourcentage des voitures vient du Japon ?", "count",
          share("fr_cars_pct_japan", "cars", lambda r: r["Origin"] == "Japan"),
          tags="pourcentage, pays en français", ops=("=",)),
    _case("fr_cars_pct_8cyl", "cars", "Quel pourcentage de voitures ont 8 cylindres ?", "count",
          share("fr_cars_pct_8cyl", "cars", lambda r: r["Cylinders"] == 8), tags="pourcentage", ops=("=",)),
    _case("fr_cars_lookup_impala_weight", "cars", "Quel est le poids de la chevrolet impala ?", "lookup",
          tags="lookup, champ en français", twin="cars_lookup_impala_weight"),
    _case("fr_cars_lookup_skylark_hp", "cars", "Quelle est la puissance de la buick skylark 320 ?", "lookup",
          tags="lookup, champ en français", twin="cars_lookup_skylark"),
    _case("fr_cars_lookup_impala_displacement", "cars", "Quelle est la cylindrée de la Chevrolet Impala ?",
          "lookup", tags="lookup, champ en français", twin="cars_lookup_impala_capitals"),
    _case("fr_cars_list_hp_over_200", "cars", "Liste des voitures de plus de 200 chevaux", "listing",
          tags="listing, plus de, champ en français", twin="cars_list_hp_over_200"),
    _case("fr_cars_list_japanese_30mpg", "cars", "Montre-moi les voitures japonaises qui font plus de 30 mpg",
          "listing", tags="listing, plus de, pays en français", twin="cars_list_japanese_30mpg"),
    _case("fr_cars_refused_price", "cars", "Quel est le prix moyen des voitures ?", "refused",
          tags="refused, moyenne", twin="cars_refused_price"),
    _case("fr_cars_refused_age", "cars", "Quel est l'âge moyen des voitures ?", "refused",
          tags="refused, moyenne", twin="cars_refused_age"),
    _case("fr_cars_refused_heavy", "cars", "Quelle est la puissance moyenne des voitures lourdes ?", "refused",
          tags="refused, moyenne, champ en français", twin="cars_refused_heavy"),
    _case("fr_cars_describe_japanese", "cars", "Décris les voitures japonaises", "not_analytic",
          lambda rs: about([r for r in rs if r["Origin"] == "Japan"], "Name", "Origin"),
          tags="not_analytic, pays en français"),
    _case("fr_cars_compare_pinto_corolla", "cars", "Compare la ford pinto et la toyota corolla", "not_analytic",
          tags="not_analytic", twin="cars_compare_pinto_corolla"),
    _case("fr_cars_absent_tesla", "cars", "Quelle est la puissance de la tesla model s ?", "not_analytic",
          tags="not_analytic, champ en français", twin="cars_absent_tesla"),

    # iris.json: sepalLength, sepalWidth, petalLength, petalWidth, species
    _case("fr_iris_mean_petal_setosa", "iris", "Quelle est la longueur moyenne des pétales des iris setosa ?",
          "mean", tags="moyenne, champ en français", twin="iris_mean_petal_setosa"),
    _case("fr_iris_sepal_width_per_species", "iris", "Largeur moyenne des sépales par espèce", "group",
          tags="moyenne, par, champ en français", twin="iris_sepal_width_by_species"),
    _case("fr_iris_species_count", "iris", "Combien d'espèces différentes y a-t-il ?", "count_distinct",
          tags="combien, champ en français", twin="iris_species_count"),
    _case("fr_iris_median_sepal_length", "iris", "Quelle est la médiane de la longueur des sépales ?", "median",
          tags="médiane, champ en français", twin="iris_median_sepal_length"),
    _case("fr_iris_versicolor_width_between", "iris",
          "Combien d'iris versicolor ont une largeur de pétale entre 1,0 et 1,5 ?", "filter_range",
          tags="combien, entre, champ en français", twin="iris_versicolor_width_between"),
    _case("fr_iris_sepal_under_5", "iris", "Combien d'iris ont une longueur de sépale de moins de 5 ?",
          "filter_range", lambda rs: count(rs, lambda r: r["sepalLength"] < 5),
          tags="combien, moins de, champ en français", ops=("<",)),
    _case("fr_iris_longest_petal", "iris", "Quelle espèce a le pétale le plus long ?", "argmax",
          tags="superlatif, champ en français", twin="iris_longest_petal"),

    # iso3166-1.json (pycountry): alpha_2, alpha_3, flag, name, numeric, official_name?, common_name?
    _case("fr_countries_count", "countries", "Combien de pays y a-t-il ?", "count",
          tags="combien", twin="countries_count"),
    _case("fr_countries_no_official_name", "countries", "Combien de pays n'ont pas de nom officiel ?", "count",
          tags="combien", twin="countries_no_official_name"),
    _case("fr_countries_island", "countries", "Combien de pays ont « Island » dans leur nom ?", "count",
          tags="combien", twin="countries_island"),
    _case("fr_countries_germany_alpha3", "countries", "Quel est le code alpha-3 de l'Allemagne ?", "lookup",
          tags="lookup, pays en français", twin="countries_germany_alpha3"),
    _case("fr_countries_norway_alpha3", "countries", "Quel est le code alpha-3 de la Norvège ?", "lookup",
          tags="lookup, pays en français", twin="countries_lookup_norway_alpha3"),
    _case("fr_countries_uk_official", "countries", "Quel est le nom officiel du Royaume-Uni ?", "lookup",
          tags="lookup, pays en français", twin="countries_lookup_uk_lower"),
    _case("fr_countries_ivory_coast_numeric", "countries", "Quel est le code numérique de la Côte d'Ivoire ?",
          "lookup", tags="lookup, pays en français", twin="countries_lookup_ivory_coast"),
    _case("fr_countries_list_alpha2_jp", "countries", "Quel pays a le code alpha-2 « JP » ?", "listing",
          tags="listing", twin="countries_list_alpha2_jp"),
    _case("fr_countries_list_stan", "countries", "Quels pays ont un nom qui se termine par « stan » ?", "listing",
          tags="listing", twin="countries_list_stan"),
    _case("fr_countries_capital_germany", "countries", "Quelle est la capitale de l'Allemagne ?", "not_analytic",
          no_such_field("name", "Germany", "capital"), tags="not_analytic, pays en français"),

    # gapminder (plotly): country, continent, year, lifeExp, pop, gdpPercap, iso_alpha, iso_num
    _case("fr_gap_japan_life_2007", "gapminder", "Quelle était l'espérance de vie du Japon en 2007 ?", "lookup",
          tags="lookup, date, champ en français, pays en français", twin="gap_lookup_japan_life"),
    _case("fr_gap_us_pop_2007", "gapminder", "Quelle était la population des États-Unis en 2007 ?", "lookup",
          lambda rs: value_of(in_year(rs, 2007), "country", "United States", "pop"),
          tags="lookup, date, pays en français"),
    _case("fr_gap_germany_life_1952", "gapminder", "Quelle était l'espérance de vie en Allemagne en 1952 ?",
          "lookup", lambda rs: value_of(in_year(rs, 1952), "country", "Germany", "lifeExp"),
          tags="lookup, date, champ en français, pays en français"),
    _case("fr_gap_most_populous_2007", "gapminder", "Quel était le pays le plus peuplé en 2007 ?", "argmax",
          lambda rs: best(in_year(rs, 2007), "pop", "country"), tags="superlatif, date, champ en français"),
    _case("fr_gap_top5_pop_2007", "gapminder", "Les 5 premiers pays par population en 2007", "topn",
          tags="top, par, date", twin="gap_top_pop_2007"),
    _case("fr_gap_top3_life_2007", "gapminder",
          "Quels étaient les 3 pays où l'espérance de vie était la plus élevée en 2007 ?", "argmax",
          lambda rs: best(in_year(rs, 2007), "lifeExp", "country", n=3),
          tags="top, superlatif, date, champ en français"),
    _case("fr_gap_africa_life_range", "gapminder",
          "Quelle était l'espérance de vie moyenne en Afrique entre 1990 et 2007 ?", "date",
          tags="moyenne, entre, date, champ en français", twin="gap_africa_life_range"),
    _case("fr_gap_life_per_continent_2007", "gapminder", "Espérance de vie moyenne par continent en 2007", "group",
          tags="moyenne, par, date, champ en français", twin="gap_life_per_continent_2007"),
    _case("fr_gap_gdp_each_continent", "gapminder", "Quel est le PIB par habitant moyen pour chaque continent ?",
          "group", tags="moyenne, pour chaque, champ en français", twin="gap_gdp_each_continent"),
    _case("fr_gap_asia_gdp", "gapminder", "En Asie, quel est le PIB moyen par habitant ?", "mean",
          tags="moyenne, champ en français", twin="gap_asia_gdp"),
    _case("fr_gap_over_100_million", "gapminder",
          "Combien de pays avaient plus de 100 millions d'habitants en 2007 ?", "filter_range",
          tags="combien, plus de, date, champ en français", twin="gap_over_100_million"),
    _case("fr_gap_life_under_50_2007", "gapminder",
          "Combien de pays avaient une espérance de vie de moins de 50 ans en 2007 ?", "filter_range",
          lambda rs: count(in_year(rs, 2007), lambda r: r["lifeExp"] < 50),
          tags="combien, moins de, date, champ en français", ops=("<",)),
    _case("fr_gap_countries_africa", "gapminder", "Combien de pays d'Afrique y a-t-il dans les données ?",
          "count_distinct", tags="combien", twin="gap_countries_africa"),

    # tips (plotly): total_bill, tip, sex, smoker, day (Thur..Sun), time (Lunch / Dinner), size
    _case("fr_tips_mean_tip", "tips", "Quel est le pourboire moyen ?", "mean",
          lambda rs: mean(rs, "tip"), tags="moyenne, champ en français"),
    _case("fr_tips_tip_per_day", "tips", "Pourboire moyen par jour", "group",
          tags="moyenne, par, champ en français", twin="tips_tip_per_day_thx"),
    _case("fr_tips_tip_for_each_size", "tips", "Quel est le pourboire moyen pour chaque taille de groupe ?", "group",
          tags="moyenne, pour chaque, champ en français", twin="tips_per_size"),
    _case("fr_tips_sunday", "tips", "Combien de pourboires ont été donnés le dimanche ?", "count",
          tags="combien, champ en français", twin="tips_count_sunday"),
    _case("fr_tips_by_women", "tips", "Combien de pourboires ont été laissés par des femmes ?", "count",
          tags="combien, champ en français", twin="tips_by_women"),
    _case("fr_tips_men_dinner", "tips", "Quel est le pourboire moyen laissé par les hommes au dîner ?", "mean",
          tags="moyenne, champ en français", twin="tips_men_dinner"),
    _case("fr_tips_size_at_least_4", "tips", "Combien de tables avaient au moins 4 personnes ?", "filter_range",
          tags="combien, au moins, champ en français", twin="tips_size_4_plus"),
    _case("fr_tips_total_tips", "tips", "Quel est le total des pourboires ?", "sum",
          lambda rs: total(rs, "tip"), tags="total, champ en français"),
    _case("fr_tips_sum_bills", "tips", "Quelle est la somme des additions ?", "sum",
          lambda rs: total(rs, "total_bill"), tags="total, champ en français"),
    _case("fr_tips_best_day", "tips", "Quel jour a le pourboire moyen le plus élevé ?", "group",
          tags="superlatif, moyenne, champ en français", twin="tips_best_day"),
    _case("fr_tips_pct_smokers", "tips", "Quel pourcentage des clients sont fumeurs ?", "count",
          share("fr_tips_pct_smokers", "tips", lambda r: r["smoker"] == "Yes"),
          tags="pourcentage, champ en français", ops=("=",)),

    # seattle-weather (vega, CSV exported to JSON): date (2012-2015), precipitation, temp_max, temp_min, wind, weather
    _case("fr_weather_tmax_march_2012", "weather", "Quelle était la température maximale moyenne en mars 2012 ?",
          "date", lambda rs: mean(rs, "temp_max", month_is("date", 2012, 3)),
          tags="moyenne, date, champ en français", ops=("month",)),
    _case("fr_weather_rain_march_2012", "weather", "Combien de jours de pluie en mars 2012 ?", "date",
          lambda rs: count(rs, lambda r: r["weather"] == "rain" and month_is("date", 2012, 3)(r)),
          tags="combien, date, champ en français", ops=("=", "month")),
    _case("fr_weather_total_precipitation_2014", "weather", "Quel est le total des précipitations en 2014 ?",
          "date", lambda rs: total(rs, "precipitation", year_is("date", 2014)),
          tags="total, date, champ en français", ops=("year",)),
    _case("fr_weather_median_precipitation_2013", "weather", "Quelle est la médiane des précipitations en 2013 ?",
          "date", lambda rs: median(rs, "precipitation", year_is("date", 2013)),
          tags="médiane, date, champ en français", ops=("year",)),
    _case("fr_weather_wind_per_year", "weather", "Vent moyen par année", "date",
          tags="moyenne, par, date, champ en français", twin="weather_wind_per_year"),
    _case("fr_weather_rain_days", "weather", "Nombre de jours de pluie", "count",
          tags="nombre de, champ en français", twin="weather_rain_days"),
    _case("fr_weather_over_30", "weather", "Combien de jours la température maximale a-t-elle dépassé 30 degrés ?",
          "filter_range", lambda rs: count(rs, lambda r: r["temp_max"] > 30),
          tags="combien, champ en français", ops=(">",)),
    _case("fr_weather_rain_at_least_10", "weather", "Combien de jours ont eu au moins 10 mm de précipitations ?",
          "filter_range", lambda rs: count(rs, lambda r: r["precipitation"] >= 10),
          tags="combien, au moins, champ en français", ops=(">=",)),
    _case("fr_weather_tmin_between", "weather",
          "Combien de jours la température minimale était-elle entre 0 et 5 degrés ?", "filter_range",
          lambda rs: count(rs, lambda r: 0 <= r["temp_min"] <= 5),
          tags="combien, entre, champ en français", ops=("between",)),
    _case("fr_weather_coldest_day", "weather", "Quel a été le jour le plus froid ?", "argmin",
          tags="superlatif", twin="weather_coldest_day"),
    _case("fr_weather_windiest_day", "weather", "Quel a été le jour le plus venteux ?", "argmax",
          tags="superlatif, champ en français", twin="weather_windiest_day"),
    _case("fr_weather_mode", "weather", "Quel est le temps le plus fréquent ?", "topn",
          tags="superlatif, champ en français", twin="weather_mode"),
    _case("fr_weather_pct_sun", "weather", "Quel pourcentage des jours étaient ensoleillés ?", "count",
          share("fr_weather_pct_sun", "weather", lambda r: r["weather"] == "sun"),
          tags="pourcentage, champ en français", ops=("=",)),
    _case("fr_weather_refused_march", "weather", "Combien d'observations ont été enregistrées en mars ?", "refused",
          tags="refused, combien, date", twin="weather_refused_march_count"),
    _case("fr_weather_refused_temperature", "weather", "Quelle est la température moyenne ?", "refused",
          tags="refused, moyenne", twin="weather_refused_temperature"),
    _case("fr_weather_describe", "weather", "Décris le climat de Seattle", "not_analytic",
          lambda rs: about(rs, "weather", "temp_max", "precipitation"), tags="not_analytic"),

    # airports (vega, CSV exported to JSON): iata, name, city, state (code), country, latitude, longitude
    _case("fr_airports_code_jfk", "airports", "Quel aéroport a le code JFK ?", "listing",
          tags="listing", twin="airports_list_jfk"),
    _case("fr_airports_anchorage", "airports", "Quels aéroports se trouvent à Anchorage ?", "listing",
          tags="listing", twin="airports_list_anchorage"),
    _case("fr_airports_sea_city", "airports", "Dans quelle ville se trouve l'aéroport SEA ?", "lookup",
          tags="lookup, champ en français", twin="airports_lookup_sea_city"),
    _case("fr_airports_sfo_latitude", "airports", "Quelle est la latitude de San Francisco International ?",
          "lookup", tags="lookup", twin="airports_lookup_sfo_latitude"),
    _case("fr_airports_top3_states", "airports", "Quels sont les 3 États qui ont le plus d'aéroports ?", "topn",
          lambda rs: top(grouped(rs, "state"), 3), tags="top, superlatif, champ en français"),

    # orders.json (dashboard example): order_id, order_date, status, channel, customer.{…, country (ISO code),
    # city}, items[], payment.{method, currency}, shipping.{carrier, cost}, total, rating, gift, notes
    _case("fr_orders_mean_total", "orders", "Quel est le montant moyen des commandes ?", "mean",
          tags="moyenne, champ en français", twin="orders_mean_total"),
    _case("fr_orders_median_total", "orders", "Quel est le montant médian d'une commande ?", "median",
          tags="médiane, champ en français", twin="orders_median_total"),
    _case("fr_orders_sum_shipping", "orders", "Quel est le coût total de la livraison sur toutes les commandes ?",
          "sum", tags="total, champ en français", twin="orders_sum_shipping"),
    _case("fr_orders_sum_totals", "orders", "Quelle est la somme des montants de toutes les commandes ?", "sum",
          tags="total, champ en français", twin="orders_sum_totals"),
    _case("fr_orders_by_status", "orders", "Nombre de commandes par statut", "group",
          tags="nombre de, par, champ en français", twin="orders_by_status"),
    _case("fr_orders_revenue_per_channel", "orders", "Chiffre d'affaires total par canal", "group",
          tags="total, par, champ en français", twin="orders_revenue_per_channel"),
    _case("fr_orders_quantity_per_category", "orders", "Quantité totale par catégorie", "child",
          tags="total, par, champ en français", twin="orders_quantity_per_category"),
    _case("fr_orders_shipping_each_carrier", "orders",
          "Quel est le coût de livraison moyen pour chaque transporteur ?", "nested",
          tags="moyenne, pour chaque, champ en français", twin="orders_shipping_per_carrier"),
    _case("fr_orders_germany", "orders", "Combien de commandes viennent de clients en Allemagne ?", "nested",
          lambda rs: count(rs, lambda r: r["customer"]["country"] == "DE"),
          tags="combien, pays en français", ops=("=",)),
    _case("fr_orders_netherlands_total", "orders", "Quel est le montant total des commandes des Pays-Bas ?",
          "nested", lambda rs: total(rs, "total", lambda r: r["customer"]["country"] == "NL"),
          tags="total, pays en français, champ en français", ops=("=",)),
    _case("fr_orders_march_2024", "orders", "Combien de commandes ont été passées en mars 2024 ?", "date",
          tags="combien, date", twin="orders_march_2024"),
    _case("fr_orders_top5_cities", "orders", "Les 5 premières villes par nombre de commandes", "topn",
          tags="top, par, nombre de, champ en français", twin="orders_top5_cities"),
    _case("fr_orders_top3_carriers", "orders", "Quels sont les 3 transporteurs les plus utilisés ?", "topn",
          tags="top, superlatif, champ en français", twin="orders_top3_carriers"),
    _case("fr_orders_total_above_500", "orders", "Combien de commandes ont un montant de plus de 500 ?",
          "filter_range", tags="combien, plus de, champ en français", twin="orders_total_above_500"),
    _case("fr_orders_total_between", "orders", "Combien de commandes ont un montant compris entre 100 et 200 ?",
          "filter_range", tags="combien, entre, champ en français", twin="orders_total_between"),
    _case("fr_orders_total_under_50", "orders", "Combien de commandes font moins de 50 ?", "filter_range",
          lambda rs: count(rs, lambda r: r["total"] < 50), tags="combien, moins de", ops=("<",)),
    _case("fr_orders_rating_at_least_4", "orders", "Combien de commandes ont une note d'au moins 4 ?",
          "filter_range", lambda rs: count(rs, lambda r: r.get("rating") is not None and r["rating"] >= 4),
          tags="combien, au moins, champ en français", ops=(">=",)),
    _case("fr_orders_pct_returned", "orders", "Quel pourcentage des commandes a été retourné ?", "count",
          share("fr_orders_pct_returned", "orders", lambda r: r["status"] == "returned"),
          tags="pourcentage", ops=("=",)),
    _case("fr_orders_status_10042", "orders", "Quel est le statut de la commande ORD-10042 ?", "lookup",
          tags="lookup, champ en français", twin="orders_lookup_status"),
    _case("fr_orders_carrier_10010", "orders", "Quel est le transporteur de la commande ORD-10010 ?", "lookup",
          tags="lookup, champ en français", twin="orders_lookup_carrier"),
    _case("fr_orders_list_electronics", "orders", "Quelles commandes contiennent des articles Electronics ?",
          "listing", tags="listing", twin="orders_list_electronics"),
    _case("fr_orders_refused_age", "orders", "Quel est l'âge moyen des clients ?", "refused",
          lambda rs: no_field(rs, "age"), tags="refused, moyenne"),
    _case("fr_orders_describe_10042", "orders", "Décris la commande ORD-10042", "not_analytic",
          tags="not_analytic", twin="orders_describe_10042"),
    _case("fr_orders_why_replacement", "orders",
          "Pourquoi un remplacement a-t-il été envoyé pour la commande ORD-10039 ?", "not_analytic",
          tags="not_analytic", twin="orders_why_replacement"),

    # iso3166-2.json (pycountry): code (DE-HH), name, type
    _case("fr_subdivisions_list_burg", "subdivisions", "liste des subdivisions dont le nom se termine par 'burg'",
          "listing", tags="listing", twin="subdivisions_list_burg"),
    _case("fr_subdivisions_list_saint", "subdivisions", "Quelles subdivisions commencent par « Saint » ?",
          "listing", tags="listing", twin="subdivisions_list_saint"),
    _case("fr_subdivisions_hamburg_code", "subdivisions", "Quel est le code de Hamburg ?", "lookup",
          tags="lookup", twin="subdivisions_lookup_hamburg"),
    _case("fr_subdivisions_count_land", "subdivisions", "Combien de subdivisions sont de type Land ?", "count",
          lambda rs: count(rs, lambda r: r["type"] == "Land"), tags="combien", ops=("=",)),

    # iso639-3.json (pycountry): alpha_3, alpha_2?, name, scope, type
    _case("fr_languages_esperanto_alpha3", "languages", "Quel est le code alpha-3 de l'espéranto ?", "lookup",
          tags="lookup", twin="languages_lookup_esperanto"),
    _case("fr_languages_klingon_type", "languages", "De quel type est le klingon ?", "lookup",
          tags="lookup", twin="languages_lookup_klingon_type"),
    _case("fr_languages_list_type_c", "languages", "Quelles langues sont de type C ?", "listing",
          tags="listing", twin="languages_list_type_c"),
    _case("fr_languages_count_type_e", "languages", "Nombre de langues de type E", "count",
          lambda rs: count(rs, lambda r: r["type"] == "E"), tags="nombre de", ops=("=",)),

    # iso4217.json (pycountry): alpha_3, name, numeric
    _case("fr_currencies_count", "currencies", "Combien de devises sont répertoriées ?", "count",
          tags="combien", twin="currencies_count"),
    _case("fr_currencies_dollar", "currencies", "Combien de devises ont « Dollar » dans leur nom ?", "count",
          tags="combien", twin="currencies_dollar"),
    _case("fr_currencies_yen_numeric", "currencies", "Quel est le code numérique du Yen ?", "lookup",
          lambda rs: value_of(rs, "name", "Yen", "numeric"), tags="lookup"),
)
"""Every French question of the set."""


def french_cases_for(dataset: str) -> tuple[Case, ...]:
    """The French questions about one dataset."""
    return tuple(case for case in FRENCH_CASES if case.dataset == dataset)


ELISION = re.compile(r"(?<![\w])(?:[cdjlmnst]|qu|jusqu|lorsqu|puisqu)['’](?=\w)", re.IGNORECASE)
"""An elided word before a vowel: l'Allemagne, d'avant, n'ont, qu'il."""

WORDS_OF: dict[str, re.Pattern[str]] = {
    "combien": re.compile(r"\bcombien\b", re.IGNORECASE),
    "nombre de": re.compile(r"\bnombre d(?:e\b|['’])", re.IGNORECASE),
    "moyenne": re.compile(r"\bmoyen(?:ne)?s?\b", re.IGNORECASE),
    "médiane": re.compile(r"\bmédian(?:e)?s?\b", re.IGNORECASE),
    "total": re.compile(r"\b(?:total(?:e|es|aux)?|somme)\b", re.IGNORECASE),
    "par": re.compile(r"\bpar\b", re.IGNORECASE),
    "pour chaque": re.compile(r"\bpour chaque\b", re.IGNORECASE),
    "plus de": re.compile(r"\bplus de\b", re.IGNORECASE),
    "au moins": re.compile(r"\bau moins\b|\bd['’]au moins\b", re.IGNORECASE),
    "moins de": re.compile(r"\bmoins de\b", re.IGNORECASE),
    "entre": re.compile(r"\bentre\b.+\bet\b", re.IGNORECASE),
    "pourcentage": re.compile(r"\bpourcentage\b", re.IGNORECASE),
}
"""The words a lexical construct is written with: a case tagged with one must hold it."""


def constructs_of(case: Case) -> frozenset[str]:
    """The constructs a French case exercises: those declared, plus elisions and accents read from its text."""
    found = set(CONSTRUCTS[case.id])
    if ELISION.search(case.question):
        found.add("élision")
    if any(ord(char) > 127 and char.isalpha() for char in case.question):
        found.add("accents")
    return frozenset(found)


FRENCH_COUNTRY_NAMES: dict[str, str] = {
    "Japon": "JP", "Allemagne": "DE", "États-Unis": "US", "Norvège": "NO", "Royaume-Uni": "GB",
    "Côte d'Ivoire": "CI", "Pays-Bas": "NL",
}
"""The French country names the set writes -> their ISO code: Babel's French names (``babel.Locale('fr')``)."""
