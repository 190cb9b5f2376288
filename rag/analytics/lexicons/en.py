"""The English lexicon: the words the rules planner reads (``rag.analytics.rules``), as named word sets.

Other languages are put into these words by their own lexicon (``rag.analytics.lexicons.fr``); the planner's
stages read the sets by their role ("a count cue", "greater than", "a group-by marker") through these names.
"""

from __future__ import annotations

import calendar

CODE = "en"

COUNT_CUES = (("how", "many"), ("number", "of"), ("count", "of"), ("count",), ("how", "often"))
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
      "after", "later", "since", "older"}
LT = {"less", "fewer", "lower", "smaller", "under", "below", "lighter", "shorter", "before", "earlier", "younger"}
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
