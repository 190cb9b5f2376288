"""The English lexicon: the words the rules planner reads (``rag.analytics.rules``), as named word sets.

Other languages are put into these words by their own lexicon (``rag.analytics.lexicons.fr``); the planner's
stages read the sets by their role ("a count cue", "greater than", "a group-by marker") through these names.
"""

from __future__ import annotations

import calendar

CODE = "en"

HOW_MANY = ("how", "many")
HOW_MUCH = ("how", "much")
HOW_OFTEN = ("how", "often")
HOW_COME = ("how", "come")
"""Opens a question about a reason ("how come …"), not a measure."""
NUMBER_OF = ("number", "of")
COUNT_OF = ("count", "of")
COUNT_ALONE = ("count",)
COUNT_CUES = (HOW_MANY, NUMBER_OF, COUNT_OF, COUNT_ALONE, HOW_OFTEN)
DISTINCT_WORDS = frozenset({"different", "distinct", "unique"})
NAMING_WORDS = frozenset({"name", "id", "code", "title", "label"})
"""Words a field that names things has beside the thing ("country_name", "customer.id")."""
VAGUE_ADJECTIVES = frozenset({
    "heavy", "light", "old", "new", "young", "big", "small", "large", "huge", "tiny", "expensive", "cheap", "fast",
    "slow", "powerful", "weak", "efficient", "popular", "rich", "poor", "tall", "short", "long", "hot", "cold",
    "warm", "recent",
})
"""Adjectives that limit a count by a threshold nobody stated: such a count is not computed. ("High" and "low"
are not among them: "the high temperature", "a low of -5" name fields.)"""
_DEMONYM_PLACES = {
    "american": ("usa", "us", "u.s.", "united states", "united states of america", "america", "americas"),
    "japanese": ("japan",), "european": ("europe",), "german": ("germany",), "french": ("france",),
    "british": ("uk", "united kingdom", "great britain", "britain"), "english": ("england",), "chinese": ("china",),
    "italian": ("italy",), "spanish": ("spain",), "canadian": ("canada",), "mexican": ("mexico",),
    "korean": ("korea", "south korea"), "indian": ("india",), "swedish": ("sweden",), "brazilian": ("brazil",),
    "russian": ("russia",), "australian": ("australia",), "dutch": ("netherlands",), "swiss": ("switzerland",),
    "african": ("africa",), "asian": ("asia",),
}
DEMONYMS: dict[str, tuple[str, ...]] = {}
"""A place as a categorical value -> the adjectives a question names it by ("usa" -> "american")."""
for _demonym, _places in _DEMONYM_PLACES.items():
    for _place in _places:
        DEMONYMS[_place] = DEMONYMS.get(_place, ()) + (_demonym,)
AGE_UNITS = frozenset({"year", "years", "month", "months", "week", "weeks", "day", "days"})
NUMBER_WORDS = {word: n for n, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty".split()) if word != "one"} | {"thirty": 30, "forty": 40, "fifty": 50, "hundred": 100}
"""Numbers written as words; "one" is left a word ("which one", "the one with")."""
SHARE_WORDS = frozenset({"percentage", "percent", "proportion", "share", "fraction", "%"})
SHARE_PHRASE_LINKS = frozenset({"from", "in", "of", "among"})
"""Words that go on the noun phrase a share is of: "what percentage of orders from Germany …"."""
FIELD_WORDS = frozenset({"value", "values", "field", "fields", "column", "columns", "entry", "entries"})
SEX_WORDS = (
    frozenset({"female", "females", "f", "woman", "women", "lady", "ladies", "girl", "girls"}),
    frozenset({"male", "males", "m", "man", "men", "gentleman", "gentlemen", "boy", "boys"}),
)
SEX_ALIASES = frozenset(word for words in SEX_WORDS for word in words if len(word) > 1)
ALIAS_WORDS = SEX_ALIASES | frozenset(_DEMONYM_PLACES)
"""Words that name a value spelled otherwise; short values ("M", "US") are matched by them as well."""
VERB_FORMS = {"won": "win", "wins": "win", "sold": "sell", "sells": "sell", "bought": "buy", "made": "make",
              "paid": "pay", "pays": "pay", "shipped": "ship", "ships": "ship"}
"""Verb forms that begin the name of the field they are about ("won" -> "winner", "sold" -> "seller")."""
COUNT_WORDS = frozenset({"many", "number", "count", "often", "times", "altogether", "overall", "exist", "exists",
                         "existing", "available", "present", "recorded", "stored", "kept", "file", "collection",
                         "dataset", "list", "database", "here", "now", "currently", "contained", "inside", "distinct",
                         "placed", "built", "created", "registered", "produced", "manufactured", "entered",
                         "submitted", "logged", "issued", "published", "released", "received", "reported", "known",
                         "ordered", "purchased", "booked", "visited",
                         "included", "tracked", "captured", "described", "mentioned", "defined"})
"""Words a plain count of every record is asked with ("how many records exist in the file")."""
MEAN_WORDS = frozenset({"average", "mean", "avg"})
MEDIAN_WORDS = frozenset({"median"})
SUM_WORDS = frozenset({"total", "sum", "altogether", "combined", "overall"})
MAX_WORDS = frozenset({"highest", "maximum", "max", "largest", "biggest", "greatest", "most", "top", "best", "latest",
                       "newest", "peak", "higher"})
MIN_WORDS = frozenset({"lowest", "minimum", "min", "smallest", "least", "fewest", "bottom", "worst", "earliest",
                       "oldest", "fewer"})
SUPERLATIVE_FIELDS: dict[str, tuple[tuple[str, ...], str]] = {
    # adjective -> (field words it points at, direction)
    "heaviest": (("weight", "mass", "lbs", "kg"), "max"),
    "lightest": (("weight", "mass", "lbs", "kg"), "min"),
    "expensive": (("price", "total", "amount", "cost", "value"), "max"),
    "priciest": (("price", "total", "amount", "cost"), "max"),
    "cheapest": (("price", "total", "amount", "cost"), "min"),
    "first": (("date", "time", "created", "year"), "min"),
    "last": (("date", "time", "created", "year"), "max"),
    "oldest": (("date", "year", "born", "created", "founded", "age"), "min"),
    "newest": (("date", "year", "created", "released", "founded"), "max"),
    "youngest": (("age", "born", "birth"), "min"),
    "latest": (("date", "year", "time", "created"), "max"),
    "earliest": (("date", "year", "time", "created"), "min"),
    "recent": (("date", "year", "time", "created"), "max"),
    "tallest": (("height", "tall"), "max"),
    "shortest": (("height", "length", "duration"), "min"),
    "longest": (("length", "duration", "long"), "max"),
    "widest": (("width", "wide"), "max"),
    "fastest": (("speed", "horsepower", "acceleration"), "max"),
    "slowest": (("speed", "horsepower"), "min"),
    "powerful": (("horsepower", "power", "hp"), "max"),
    "populous": (("population", "pop"), "max"),
    "efficient": (("miles", "mpg", "efficiency"), "max"),
    "rated": (("rating", "score", "stars"), "max"),
    "largest": (("size", "area", "population"), "max"),
    "biggest": (("size", "area", "population"), "max"),
    "smallest": (("size", "area", "population"), "min"),
}
"""Adjectives that name a field without naming it; used only when no field is named outright."""
SYNONYMS: dict[str, tuple[str, ...]] = {
    "mpg": ("miles", "gallon", "mpg"),
    "hp": ("horsepower", "hp"),
    "weighing": ("weight",),
    "weigh": ("weight",),
    "heavy": ("weight",),
    "revenue": ("revenue", "sales", "total", "amount"),
    "sales": ("sales", "revenue", "total", "amount"),
    "spend": ("total", "amount", "spent", "cost"),
    "spent": ("total", "amount", "spent", "cost"),
    "price": ("price", "cost", "total"),
    "cost": ("cost", "price", "total"),
    "paid": ("total", "amount", "price", "payment"),
    "worth": ("total", "value", "amount", "price"),
    "qty": ("quantity",),
    "units": ("quantity", "units"),
    "sold": ("quantity",),
    "old": ("age", "year", "date"),
    "age": ("age",),
    "rating": ("rating", "stars", "score"),
    "rated": ("rating", "stars", "score"),
    "stars": ("rating", "stars"),
    "temp": ("temperature", "temp"),
    "pop": ("population",),
    "accelerate": ("acceleration",),
    "engine": ("displacement", "cylinders"),
    "size": ("size", "area", "displacement"),
}
"""Question words that may mean fields with other names."""
ADDITIVE_WORDS = frozenset({"quantity", "qty", "sales", "revenue", "amount", "total", "count", "units", "sold",
                            "population", "spend", "spent", "volume", "yield", "deaths", "cases", "sum"})
"""Fields whose values add up: "which X has the most <field>" sums them."""
GROUP_CUES = frozenset({"per", "by", "each", "every", "across"})
MULTIPLIERS = {"thousand": 1_000, "million": 1_000_000, "millions": 1_000_000, "billion": 1_000_000_000,
               "billions": 1_000_000_000, "trillion": 1_000_000_000_000}
"""Words that scale the number before them."""
VERSUS = frozenset({"vs", "versus", "vs.", "against"})
YES_VALUES = frozenset({"yes", "y", "true"})
NO_VALUES = frozenset({"no", "n", "false"})
WEEKDAYS = {
    "monday": ("mon",), "tuesday": ("tue", "tues"), "wednesday": ("wed",), "thursday": ("thu", "thur", "thurs"),
    "friday": ("fri",), "saturday": ("sat",), "sunday": ("sun",),
}
"""Full weekday names for the abbreviations datasets store ("Sun", "Thur")."""
CONTAIN_WORDS = frozenset({"contain", "contains", "containing", "include", "includes", "including", "mention",
                           "mentions", "mentioning"})
AFFIX_WORDS = {**dict.fromkeys(("start", "starts", "started", "starting", "begin", "begins", "began", "beginning"),
                                "starts_with"),
               **dict.fromkeys(("end", "ends", "ended", "ending"), "ends_with")}
"""Words of "starts with …" and "ends with/in …" (a prefix or suffix filter)."""
AFFIX_NOUNS = frozenset({"letter", "letters", "prefix", "suffix", "string", "text", "characters", "digits"})
_CLOSING = "\"'”’)]"
COMMON_WORDS = frozenset({"common", "frequent", "frequently", "popular", "usual", "used", "often"})
"""After "most"/"least": how often a value occurs ("the most common origin", "appear most often")."""
MODE_WORDS = frozenset({"mode", "modal"})
"""The most common value: "the mode of Cylinders" is "the most common Cylinders"."""
GRAMMAR_WORDS = frozenset({"among", "amongst", "within", "cover", "covers", "covered", "overall", "respectively",
                           "separately", "broken", "down", "split", "grouped", "grouping", "versus", "like", "exactly",
                           "roughly", "approximately", "about", "around", "currently", "today", "ever"})
"""More words that carry no field or value: "among", "broken down", "grouped"."""
RANKING_WORDS = frozenset({"top", "bottom", "rank", "ranked", "ranking", "sort", "sorted", "order", "ordered"})
"""Words after which "by <number field>" says what to rank by ("the top 5 cars by horsepower")."""
PARTICIPLES = frozenset({"won", "made", "sold", "paid", "bought", "given", "written", "done", "held", "led", "run",
                         "taken", "driven", "owned", "built", "shown", "seen", "known", "sent", "spent", "brought"})
"""Past participles that make "by" name who did something ("won by Joly"), not a grouping."""
MIN_DEGREE_WORDS = frozenset({"coldest", "coolest", "lightest", "cheapest", "slowest", "shortest", "youngest",
                              "smallest", "driest", "calmest", "lowest", "weakest", "least"})
"""Superlatives that ask for the lowest value of their field ("the coldest day": the lowest temperature)."""
DIRECTION_WORDS = {"max": frozenset({"max", "maximum", "high", "highest", "top", "peak", "upper"}),
                   "min": frozenset({"min", "minimum", "low", "lowest", "bottom", "lower"})}
"""Words of field names that say which end of a range the field holds (``temp_max``, ``low``)."""
UNIT_NOUNS = frozenset({"price", "prices", "value", "values", "amount", "amounts", "level", "levels", "rate", "rates",
                        "deaths", "death", "cases", "figure", "figures", "reading", "readings", "measurement",
                        "measurements", "score", "scores", "data", "number", "numbers", "size", "sizes", "speed",
                        "speeds", "type", "types", "kind", "kinds", "category", "categories", "class", "classes",
                        "conditions", "condition", "total", "totals", "count", "counts"})
"""Nouns that name a field's unit beside it: "gas price", "closing price", "disease deaths"."""
SUM_NOUNS = frozenset({"revenue", "sales", "turnover", "spend", "spending"})
"""Nouns that are sums by themselves: "What was the revenue in June 2024?"."""
DATE_PART_WORDS = {
    "year": "year", "years": "year", "yearly": "year", "annual": "year", "annually": "year",
    "month": "month", "months": "month", "monthly": "month",
    "quarter": "quarter", "quarters": "quarter", "quarterly": "quarter",
    "weekday": "weekday", "weekdays": "weekday",
    "day": "day", "days": "day", "daily": "day",
}
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): number for number, name in enumerate(calendar.month_abbr) if name})
MONTHS.pop("may", None)
MONTHS["may"] = 5  # kept, but only read as a month when a year or "in" stands beside it
GT = {"more", "greater", "higher", "larger", "bigger", "over", "above", "exceeding", "exceeds", "heavier", "longer",
      "after", "later", "since", "older", "warmer", "hotter", "faster", "taller", "wider", "deeper", "richer",
      "pricier", "costlier"}
LT = {"less", "fewer", "lower", "smaller", "under", "below", "lighter", "shorter", "before", "earlier", "younger",
      "colder", "cooler", "slower", "cheaper", "narrower", "shallower", "poorer"}
NEGATIONS = {"not", "excluding", "except", "non", "without", "other", "outside", "isn't", "aren't", "wasn't", "weren't",
             "don't", "doesn't", "didn't"}
MISSING_AFTER = {"missing", "empty", "null", "blank", "unknown", "unset"}
MISSING_BEFORE = {"no", "without", "missing", "lacking", "lack"}
QUESTION_FILLERS = frozenset(
    "what which who how many much show list give tell find me us please can could would you i we there rows row "
    "records record entries entry items data dataset table values value number count total amount is are "
    "have has had got get made make come comes came sold listed appear appears contain contains containing "
    "include includes including whose whom where when also both only just ever than one ones "
    "same single given use used using make made being so such it its them they those these "
    "win won earn earned score scored receive received gain gained".split()
)
"""Words a question may hold without naming a field or a value."""
OPEN_QUESTIONS = frozenset({"why", "describe", "tell", "explain", "compare", "summarize", "summarise", "summary",
                            "discuss", "overview", "is", "are", "was", "were", "does", "do", "did", "has", "have",
                            "should", "will"})
"""First words of questions no spec answers: an open question ("why…", "describe…", "compare…") or a yes/no one
("is the ford pinto from Japan?"). Asking them of records goes to retrieval."""
POLITE_OPENINGS = frozenset({"please", "can", "could", "would", "you", "kindly", "now", "then", "so", "ok", "okay"})
"""Words before the question proper ("can you list…", "please show…")."""
LISTING_VERBS = frozenset({"list", "show", "name", "give", "find", "display", "get", "enumerate", "return"})
"""Verbs that open a listing ("list the languages of type E"); "which"/"what" + a noun open one as well."""
CODE_WORDS = frozenset({"code", "codes", "abbreviation", "abbreviations", "abbrev", "symbol", "identifier"})
"""Words that ask for a record's code ("what is the code of …") when the data has one field of codes."""
VERB_ROOTS: dict[str, str] = {
    "won": "win", "wins": "win", "winning": "win", "withdrawn": "withdraw", "withdrew": "withdraw",
    "withdraws": "withdraw", "died": "death", "dies": "death", "die": "death", "dead": "death", "killed": "death",
    "born": "birth", "founded": "found", "released": "release", "published": "publish", "elected": "elect",
    "discovered": "discover", "built": "build", "opened": "open", "closed": "close", "created": "creat",
    "introduced": "introduc", "retired": "retire", "ended": "end", "started": "start", "joined": "join",
    "recorded": "record", "written": "writ", "wrote": "writ", "directed": "direct", "produced": "produc",
}
"""Verbs of a lookup that name a field by their root ("who won" -> winner, "when was X withdrawn" ->
withdrawal_date, "when did X die" -> death_date): the root starts a word of the field's name."""
HOW_ADJECTIVES: dict[str, tuple[str, ...]] = {
    "heavy": ("weight", "mass"), "tall": ("height",), "high": ("height", "elevation", "altitude"),
    "long": ("length", "duration"), "old": ("age", "year", "born", "founded"), "big": ("size", "area"),
    "large": ("size", "area"), "far": ("distance",), "wide": ("width",), "deep": ("depth",),
    "fast": ("speed",), "expensive": ("price", "cost"), "populous": ("population", "pop"),
}
"""``how <adjective> is <record>``: the field the adjective asks for ("How heavy is the chevrolet impala?")."""
LOOKUP_FILLERS = frozenset({"all", "every", "exactly", "actually", "again", "called", "named", "known", "my", "our",
                            "your", "data", "dataset", "file", "table", "about", "its", "their", "what's", "whats",
                            "who's", "where's", "which's"})
"""Words a question about records may hold around the names it writes, naming nothing themselves."""


# ----------------------------------------------------------------------------------------- roles read inline
# Single words the stages test for by their role in a question ("between" opens a range, "than" closes a
# comparison); each stands for the word the role is written with in English.
OF = "of"
THE = "the"
BY = "by"
FOR = "for"
IN = "in"
WITH = "with"
FROM = "from"
THAN = "than"
BETWEEN = "between"
"""Opens a range: "between 1970 and 1980", "between 5 and 10"."""
AND = "and"
"""Joins the two ends of a range: "between 1970 and 1980"."""
HOW = "how"
WHAT = "what"
WHEN = "when"
EACH = "each"
MOST = "most"
LEAST = "least"
BOTTOM = "bottom"
NUMBER = "number"
NO = "no"
OTHER = "other"
ONE = "one"
"""The number word left a word ("which one"), read as 1 only where a limit is asked ("top one")."""
MAY = "may"
"""The month also a verb: read as a month only beside a year or after "in"."""
RATED = "rated"
"""After "highest"/"best": the rating field ("the highest rated restaurant")."""
COMPARE_WORDS = frozenset({"compare", "comparing"})
"""Before two values joined by "and": "compare the average price of AAPL and MSFT" groups by their field."""
COMPARED = "compared"
"""After a value: "Japan compared to Europe" groups by the values' field, as "versus" does."""
MEAN_VERB = "mean"
"""The verb "mean" ("what does the column mean?"): asks a meaning, not an average."""
TOTAL_FIELD = "total"
"""The name of a field that is the sum asked for when no other field is named ("the total of June")."""
YEAR_FIELD = "year"
"""A word of a number field's name that holds years (``year``)."""
CODE_FIELD = "code"
"""A word of the name of a field of codes (``iso_code``)."""
PRICE_FIELD = "price"
"""A word of a price field's name: a price is no quantity to add."""
WITH_THE = "with the"
"""A record asked for by what it has: "the country with the highest population"."""
EQUAL_TO = "equal to"

# Word endings (English morphology).
PLURAL_ENDING = "s"
NOT_PLURAL_ENDING = "ss"
"""A word ending so is no plural ("class", "address")."""
PAST_ENDING = "ed"
SUPERLATIVE_ENDING = "est"
ADJECTIVE_ENDING = "y"
"""Makes an adjective of a value: "rain" -> "rainy", "sun" -> "sunny"."""
POSSESSIVE_ENDINGS = ("'s", "’s")


def plural_of(word: str) -> str:
    """The plural of a noun ("city" -> "cities", "box" -> "boxes", "car" -> "cars")."""
    if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


# Question words and openings.
WH_WORDS = frozenset({"who", "when", "where", "what", "which"})
"""Open a lookup whose verb names the field asked ("who won …", "when was Dahomey withdrawn")."""
WHICH_WORDS = frozenset({"which", "what"})
"""Open a question for one thing or a listing ("which year …", "what cars …")."""
WHICH_PREPOSITIONS = frozenset({"in", "during", "for", "on"})
"""Before "which": "in which year …"."""
WHICH_FILLERS = frozenset({"the", "is", "was", "are", "were"})
"""Between "which" and what it asks for: "which is the …", "what are the 3 …"."""
SUPERLATIVE_OPENINGS = frozenset({"when", "which", "what", "who"})
"""Question words after which "first"/"last" ask for an extreme ("which was the first …")."""
RECORD_ASKERS = ("which", "who", "whose")
"""Words that ask for records rather than a value: "which car has the highest …"."""
RECORD_LISTING_VERBS = frozenset({"name", "list", "show", "find"})
"""Verbs among the first two words that ask for records: "list the heaviest cars"."""
COPULAS = frozenset({"is", "was", "are", "'s", "s", "were"})
"""After "what": "what is the highest …" asks for a value, not for records."""
LOOKUP_AUXILIARIES = frozenset({"does", "do", "did", "has", "had"})
"""After "how many <field>": a number read off one record ("how many cylinders does the ford pinto have")."""
DO_WORDS = frozenset({"does", "do", "did"})
"""Before "mean": the verb ("what does X mean"), not an average."""
LISTING_FILLERS = frozenset({"me", "us", "the", "all", "of", "every", "a", "an", "any"})
"""Between a listing's opening and its noun: "show me all the cars"."""
SINGULAR_RECORD_LEADS = frozenset({"which", "what", "each", "every", "any"})
"""Before a singular that names the records: "which character", "each car"."""
RECORD_NOUN_LEADS = frozenset({"of", "among", "amongst", "all", "the", "many", "these", "those", "different",
                               "distinct", "unique", "which", "what", "any", "most", "least", "fewest", "more",
                               "fewer"})
"""Before a plural that names the records: "how many cars", "among the flowers"."""
RECORD_NOUN_DETERMINERS = frozenset({"the", "a", "an", "any", "every"})
"""Before a noun the conditions after it are about: "the country with …"."""
CONDITION_OPENERS = frozenset({"with", "whose", "that", "which", "named", "called", "having", "where", "without"})
"""After a noun: the conditions on the records it names ("a language whose …")."""
ARTICLES = frozenset({"the", "a", "an"})
INDEFINITE_ARTICLES = frozenset({"a", "an", "any"})
"""Before a field a question asks records to have: "a horsepower", "any horsepower"."""
NAME_POSITION_LEADS = frozenset({"of", "for", "is", "was", "are", "were", "does", "did", "named", "called", "about"})
"""Before a record's name: "the horsepower of the tesla", "how heavy is the tesla"."""
NAME_LINKS = frozenset({"of", "in", "for", "at", "the", "by"})
"""Between a measure and a record's name: "the votes of Coderre in Mile-End", "the district Jeanne-Mance"."""
NAME_LEADS = NAME_LINKS | frozenset({"did", "does", "do", "has", "had", "is", "was"})
"""Words a record's name stands after in a measure question ("How many votes did Coderre get")."""

# Counts, sums and extremes.
NOT_COUNT_LEADS = frozenset({"the", "a", "body", "item"})
"""Before "count": a field or a noun ("the count", "body count"), not a count cue."""
SUM_CUES = frozenset({"total", "sum", "altogether", "combined"})
TOTAL_WORDS = frozenset({"total", "altogether", "combined", "overall"})
"""With "how much": a sum ("how much in total"), not a lookup ("how much does the ford pinto weigh")."""
PERIODIC_GROUP_CUES = frozenset({"yearly", "monthly", "quarterly", "annually"})
"""Adverbs that ask for groups by a part of the date ("the yearly total")."""
PERIODIC_PARTS = {"yearly": "year", "annually": "year", "monthly": "month", "quarterly": "quarter", "daily": "day"}
"""Adverbs of a period -> the part of the date they group by."""
MOST_OR_LEAST = frozenset({MOST, LEAST})
FREQUENCY_EXTREMES = frozenset({"most", "least", "fewest", "top"})
"""Extremes of how often a value occurs ("the most orders"), not of a field."""
COUNT_EXTREMES = FREQUENCY_EXTREMES | {"bottom"}
"""Extremes that need no field: counts of records ("which city has the most orders")."""
RANK_ENDS = frozenset({"top", "bottom"})
ORDINAL_EXTREMES = frozenset({"first", "last"})
LIMIT_OPENERS = RANK_ENDS | ORDINAL_EXTREMES
"""Before a number: a limit ("top 5", "the first 3")."""
LIMIT_LEADS = frozenset({"which", "what", "the", "show", "list", "name", "give"})
"""Before a small number that is a limit: "which 5 cars", "show 3 …"."""
NUMBER_CONTINUATIONS = frozenset({"or", "and", "to", "than"})
"""After a number: a value or range ("5 or more", "5 to 10"), not a limit."""
COMPARISON_LEADS = frozenset({"than", "least", "most", "exactly", "between"})
"""Before a number: a comparison ("at least 5", "more than 5"), not a limit."""
AGE_SUPERLATIVES = {"oldest": "max", "youngest": "min"}
"""Superlatives of an age field (the oldest person has the highest age) -> direction."""
AGE_HINTS = ("age",)
AGE_COMPARATIVES = frozenset({"older", "younger"})
"""Comparatives of an age field when no field is named: "victims older than 40" compares their age."""
RATING_DEGREES = {"highest": "max", "best": "max", "lowest": "min", "worst": "min"}
"""Before "rated" -> direction: "the highest rated", "the worst rated"."""
MOST_ADJECTIVES = frozenset({"rated", "recent", "expensive", "powerful", "populous", "efficient"})
"""Adjectives of ``SUPERLATIVE_FIELDS`` that are superlatives only after "most" ("the most expensive")."""
COMPARATIVE_EXTREMES = frozenset({"higher", "fewer"})
"""Comparatives among the extreme words: no superlative by themselves."""
HINTED_EXTREMES = frozenset({"latest", "newest", "earliest", "oldest", "largest", "biggest", "smallest"})
"""Extremes that point at their field (``SUPERLATIVE_FIELDS``) even after "top N"."""
DIRECTION_HINTS = {"max": frozenset({"max", "maximum", "high"}), "min": frozenset({"min", "minimum", "low"})}
"""Words of a field's name that a superlative's direction chooses between rivals (``temp_max``)."""
SALE_VERBS = frozenset({"sold", "ordered", "bought", "purchased"})
"""Verbs that count items by their quantity: "how many items were sold"."""
QUANTITY_FIELDS = frozenset({"quantity", "qty", "unit", "count"})
"""Words of the name of a child table's quantity field."""
GENERIC_PLURALS = frozenset({"records", "rows", "entries", "items"})
"""Plurals that name the records whatever they are."""
COUNT_FILLERS = frozenset({"among", "amongst", "within", "data"})
"""Words a count may hold that limit nothing: "how many … among the data"."""

# Comparisons and ranges.
AFTER_WORDS = frozenset({"after", "since"})
BEFORE_WORDS = frozenset({"before", "until", "till"})
SINCE = "since"
"""After-word that keeps its own date (>=)."""
UNTIL = "until"
"""Before-word that keeps its own date (<=)."""
DATE_LEADS = frozenset({"in", "during", "after", "since", "before", "until", "from", "of"})
"""Words read with the date after them: "in 2020", "since March 2021"."""
MONTH_LEADS = frozenset({"in", "during", "of", "for"})
"""Words read with a month after them: "in March"."""
SHORT_MONTH_LEADS = frozenset({"in", "during"})
"""Words a short month name ("mar") or "may" must stand after to be read as a month."""
YEAR_LEADS = frozenset({"in", "during", "of", "from", "since", "after", "before", "until", "than", "for", "year"})
"""Words a year stands after: "in 1982", "since 2001"."""
RANGE_OPENERS = frozenset({"between", "from"})
RANGE_JOINERS = frozenset({"to", "and"})
ALTERNATIVE_JOINERS = frozenset({"or", "and"})
"""After a number: "5 or more", "5 and 6"."""
OR_MORE_WORDS = frozenset({"more", "greater", "higher", "above", "over", "later", "after", "larger", "bigger", "longer",
                           "older"})
"""Closing "<n> or more"."""
OR_LESS_WORDS = frozenset({"less", "fewer", "lower", "below", "under", "earlier", "before", "smaller", "shorter",
                           "younger"})
"""Closing "<n> or less"."""
PLUS_WORDS = frozenset({"plus"})
"""After a number: "5 plus" (at least 5)."""
ABOVE_WORDS = frozenset({"over", "above", "exceeding", "exceeds", "exceed", "exceeded", "beyond"})
BELOW_WORDS = frozenset({"under", "below"})
EQUAL_WORDS = frozenset({"exactly", "equals", "equal"})
AT_LEAST_PHRASES = ("at least", "no less than", "not less than", "minimum of", "a minimum of", "at or above",
                    "at or over", "at or after")
AT_MOST_PHRASES = ("at most", "no more than", "not more than", "up to", "maximum of", "a maximum of", "at or below",
                   "at or under", "at or before")
COMPARISON_FILLERS = frozenset({"is", "was", "are", "were", "a", "an", "the", "of", "with"})
NEGATED_COMPARISONS = {">": "<=", ">=": "<", "<": ">=", "<=": ">"}
"""A comparison under "not" ("not above 10"): the one it leaves."""
COMPARISON_MARKS = frozenset({"than", "least", "most"}) | ABOVE_WORDS | BELOW_WORDS | AFTER_WORDS | BEFORE_WORDS
"""Words just before a number that compare with it ("than 75", "at least 4", "over 30"): the number is no value."""
"""Between a field and its comparison: "the weight is over 2000"."""
OTHER_THAN = frozenset({OTHER, THAN})
"""A negation written in two words: "other than delivered"."""

# Fields, values and groups.
DATE_FIELDS = frozenset({"date", "time"})
"""Words every date field's name may hold: naming no field in particular."""
DAY_WORDS = frozenset({"day", "date"})
"""After a superlative: asks for the day's record ("the coldest day")."""
MONTH_WORDS = frozenset({"month", "months", "monthly"})
UNIT_LINKS = frozenset({"of", "from", "in"})
"""Between a unit noun and its field: "deaths from wounds"."""
FIELD_NAME_LINKS = frozenset({"per", "in", "of", "_"})
"""Words inside a field's name: "miles per gallon"."""
CODE_LIKE_WORDS = frozenset({"us", "it"})
"""Words that are short values too ("US", "IT"): a value only when typed as stored."""
SUFFIX_LINKS = ("with", "in")
"""After an affix word: "ends with", "ending in"."""
PREFIX_LINKS = ("with",)
"""After a prefix word: "starts with" ("started in 2020" is a date)."""
AFFIX_VERBS = {"starts_with": "starts", "ends_with": "ends"}
"""The verb a prefix or suffix filter is said with in the read line."""
CONTAIN_FILLERS = frozenset({"the", "a", "an", "word", "text"})
"""Between "contains" and the text: "contains the word ford"."""
POSSESSIVES = frozenset({"their", "its", "the", "his", "her"})
"""Between "in" and a text field: "toyota in their name"."""
HAVE_WORDS = frozenset({"have", "has", "had"})
HAS_WORDS = frozenset({"have", "has"})
NEVER_WORDS = frozenset({"never", "no"})
"""Negations of having: "never had a horsepower"."""
DATA_NOUNS = frozenset({"data", "value", "values", "information"})
"""After a field a record has: "have horsepower data"."""
MISSING_FILLERS = frozenset({"a", "an", "is", "are", "have", "has", "had", "any", "data"})
"""Words around a missing field read with it: "have no horsepower data"."""
EACH_WORDS = frozenset({"each", "every"})
BREAKDOWN_WORDS = frozenset({"distribution", "breakdown"})
BREAKDOWN_LINKS = frozenset({"of", "by"})
WHOLE_LEADS = frozenset({"all", "the"})
"""After a group cue: the whole ("across all …", "by the …"), no group."""
WHOLE_DATA_WORDS = frozenset({"dataset", "data", "records"})
"""After "by the": the whole data, no group."""
GROUP_FILLERS = frozenset({"each", "every", "of", "the", "a", "by"})
"""Between a group cue and its field: "for each of the …"."""
QUANTITY_NOUNS = frozenset({"number", "count", "amount"})
"""Before "of" after a group cue: "per number of cylinders" groups by the cylinders."""
GENERIC_FIELDS = frozenset({"name", "id", "type", "date", "value", "code", "number", "time", "count", "total", "info"})
"""Words of field names too common to name one field alone."""
RECORD_NOUNS = frozenset({"record", "row", "entry", "item", "one", "thing", "element", "object", "document", "line"})
"""Nouns that name the records of any file."""
GENERIC_NOUNS = RECORD_NOUNS | {"data", "dataset"}
"""Nouns that name the records of any file, or the file itself."""
PLURAL_NOUNS = frozenset({"people", "men", "women", "children", "persons", "staff", "police"})
"""Plurals a stemmer leaves as they are: the head of a listing's noun ("which people died …")."""
FILE_NAME_WORDS = frozenset({"json", "jsonl", "data", "dataset", "export", "dump", "iso"})
"""Words of a file's name that do not name its records."""
FREQUENCY_CUES = frozenset({"top", "common", "frequent", "popular"})
"""Cues of how often a value occurs."""
CUE_GRAMMAR = frozenset({"how", "many", "much", "number", "count", "compared", "distribution", "breakdown", "rank",
                         "ranked", "ranking"})
"""Words of cues that name no field or value."""

# Analytic intent (``rag.analytics.rules.analytic_intent``).
INTENT_CUE_WORDS = frozenset({"total", "sum", "highest", "lowest", "maximum", "minimum", "max", "min", "most",
                              "least", "fewest", "top", "bottom", "rank", "ranked", "ranking", "largest",
                              "smallest", "biggest", "best", "worst", "percentage", "percent", "proportion",
                              "fraction", "ratio", "share", "mode", "modal", "distribution", "breakdown", "count",
                              "per", "tally"})
NOT_INTENT_SUPERLATIVES = frozenset({"first", "last", "rated", "recent"})
"""Adjectives of ``SUPERLATIVE_FIELDS`` that ask for no computation by themselves."""
INTENT_PAIRS = (HOW_MANY, NUMBER_OF, HOW_OFTEN, ("for", "each"), ("in", "each"), ("on", "average"), HOW_MUCH)
"""Two-word cues of a computation."""
OPEN_REQUEST_WORDS = frozenset({"write", "describe", "tell", "explain", "summarize", "summarise", "draft", "compose"})
"""First words of a request for prose: a "per" or "for each" in it says how to lay the text out."""
GROUPING_CUES = frozenset({"per", "for each", "in each"})
