"""The rules planner: reads an analytic question into a ``QuerySpec`` without any model.

It looks for the words analysts use ("how many", "average", "total", "median", "highest",
"per", "top 5", "more than", "between", "in March 2024") and matches fields and values of the
dataset's own table: field names through their split words (``Miles_per_Gallon`` meets "miles per
gallon" and "mpg"), a synonym table for adjectives ("heaviest" -> a weight field), and values
through each categorical column's distinct values ("Japan" -> ``Origin = Japan``). Every reading
that is not literal becomes an assumption shown to the user.

A question with no analytic cue may still ask for records, which are then computed like aggregates (a
``records`` spec, see ``rag.analytics.records``): a field of a named record ("What is the alpha-3 code of
Norway?", "How heavy is the chevrolet impala?", "How many cylinders does the ford pinto have?") or the records
meeting conditions ("Which subdivisions end with 'burg'?", "Show the Japanese cars with more than 30 mpg",
"Which country has the code NOR?"). Names are found among the values of the dataset's text fields
(``rag.analytics.names``): as written (case, accents, punctuation aside), then as a close writing of one name
(a typo, a name in part), never guessed among several. Any other question with no cue, an open one
("describe…", "compare…", "why…") or one holding words nothing explains, is ``not_analytic`` (retrieval
answers it). One that cannot be filled (no field for "average", an unknown name that looks like a filter, a
record name that meets nothing) is ``unfilled``, with the reason; the engine then tries the LLM planner or
falls back to retrieval.

No phrase is dropped silently. Every word of a question is accounted for (``Plan.words``: a cue, a field, a
value, a filter, a group, the records, grammar, or ignored); a word that could change the result and is not
read (a field or value the data lacks, "per <something>" nothing groups by, a month of several years, a field
named but not used, two fields the words fit equally) makes the question ``unfilled`` with what was read around
it (``PlanOutcome.reading``), from which ``rag.analytics.rephrase`` offers questions the planner reads. Stray
tokens (``rag.analytics.stray``: "thx", a closing tag such as "Q-ALPHA", an emoji) are left out and named in
the read line ("ignored: 'thx'"); a word one typo away from a known word is read as it when nothing else reads
the question ("horsepwer"). Fields named in other words are met through ``rag.analytics.synonyms`` ("mass" ->
a weight field, "city mpg" -> ``cty``, "the windiest day" -> the highest ``wind``), always said in the read
line. "Per / for each / by number of X" groups by X; "the mode of X" and "the most common X" are the most
common value, every value tied with it named.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Callable, Sequence

from rag.analytics.names import NameIndex, NameMatch, typo_distance
from rag.analytics.plan import PLANNED, Plan, PlanOutcome, Reading
from rag.analytics.spec import RECORDS, ColumnInfo, Filter, GroupBy, QuerySpec, TableSchema
from rag.analytics.stray import Corrector, strays
from rag.analytics.synonyms import CONCEPTS, abbreviates, concepts
from rag.analytics.words import FUNCTION_WORDS, Token, field_words, parse_number, stem, tokenize, value_words

Embed = Callable[[list[str]], Any]
"""Texts -> unit-normalised vectors (rows), for matching a question's words to field names."""

# ----------------------------------------------------------------------------------------- vocabulary
from rag.analytics.lexicons.en import CODE as LEXICON_CODE
from rag.analytics.lexicons.en import AGE_COMPARATIVES, COMPARE_WORDS, COMPARISON_MARKS, NEGATED_COMPARISONS, OTHER, SHARE_PHRASE_LINKS
from rag.analytics.lexicons.en import (  # noqa: F401  (the planner's words, read by role)
    COUNT_CUES,
    DISTINCT_WORDS,
    NAMING_WORDS,
    VAGUE_ADJECTIVES,
    _DEMONYM_PLACES,
    DEMONYMS,
    AGE_UNITS,
    NUMBER_WORDS,
    SHARE_WORDS,
    FIELD_WORDS,
    SEX_WORDS,
    SEX_ALIASES,
    ALIAS_WORDS,
    VERB_FORMS,
    COUNT_WORDS,
    MEAN_WORDS,
    MEDIAN_WORDS,
    SUM_WORDS,
    MAX_WORDS,
    MIN_WORDS,
    SUPERLATIVE_FIELDS,
    SYNONYMS,
    ADDITIVE_WORDS,
    GROUP_CUES,
    MULTIPLIERS,
    VERSUS,
    YES_VALUES,
    NO_VALUES,
    WEEKDAYS,
    CONTAIN_WORDS,
    AFFIX_WORDS,
    AFFIX_NOUNS,
    _CLOSING,
    COMMON_WORDS,
    MODE_WORDS,
    GRAMMAR_WORDS,
    RANKING_WORDS,
    PARTICIPLES,
    MIN_DEGREE_WORDS,
    DIRECTION_WORDS,
    UNIT_NOUNS,
    SUM_NOUNS,
    DATE_PART_WORDS,
    MONTHS,
    GT,
    LT,
    NEGATIONS,
    MISSING_AFTER,
    MISSING_BEFORE,
    QUESTION_FILLERS,
    OPEN_QUESTIONS,
    POLITE_OPENINGS,
    LISTING_VERBS,
    CODE_WORDS,
    VERB_ROOTS,
    HOW_ADJECTIVES,
    LOOKUP_FILLERS,
)
from rag.analytics.lexicons.en import (  # the words of roles the stages test for inline
    ABOVE_WORDS, AFFIX_VERBS, AFTER_WORDS, AGE_HINTS, AGE_SUPERLATIVES, ALTERNATIVE_JOINERS, AND, ARTICLES,
    AT_LEAST_PHRASES, AT_MOST_PHRASES, BEFORE_WORDS, BELOW_WORDS, BETWEEN, BOTTOM, BREAKDOWN_LINKS, BREAKDOWN_WORDS, BY,
    CODE_FIELD, CODE_LIKE_WORDS, COMPARATIVE_EXTREMES, COMPARED, COMPARISON_FILLERS, COMPARISON_LEADS,
    CONDITION_OPENERS, CONTAIN_FILLERS, COPULAS, COUNT_ALONE, COUNT_EXTREMES, COUNT_FILLERS, CUE_GRAMMAR, DATA_NOUNS,
    DATE_FIELDS, DATE_LEADS, DAY_WORDS, DIRECTION_HINTS, DO_WORDS, EACH, EACH_WORDS, EQUAL_TO, EQUAL_WORDS,
    FIELD_NAME_LINKS, FILE_NAME_WORDS, FOR, FREQUENCY_CUES, FREQUENCY_EXTREMES, FROM, GENERIC_FIELDS, GENERIC_NOUNS,
    GENERIC_PLURALS, GROUP_FILLERS, GROUPING_CUES, HAS_WORDS, HAVE_WORDS, HINTED_EXTREMES, HOW, HOW_COME, HOW_MANY,
    HOW_MUCH, IN, INDEFINITE_ARTICLES, INTENT_CUE_WORDS, INTENT_PAIRS, LEAST, LIMIT_LEADS, LIMIT_OPENERS,
    LISTING_FILLERS, LOOKUP_AUXILIARIES, MAY, MEAN_VERB, MISSING_FILLERS, MONTH_LEADS, MONTH_WORDS, MOST,
    MOST_ADJECTIVES, MOST_OR_LEAST, NAME_LEADS, NAME_LINKS, NAME_POSITION_LEADS, NEVER_WORDS, NO, NOT_COUNT_LEADS,
    NOT_INTENT_SUPERLATIVES, NOT_PLURAL_ENDING, NUMBER, NUMBER_CONTINUATIONS, NUMBER_OF, OF, ONE, OPEN_REQUEST_WORDS,
    OR_LESS_WORDS, OR_MORE_WORDS, ORDINAL_EXTREMES, OTHER_THAN, PAST_ENDING, PERIODIC_GROUP_CUES, PERIODIC_PARTS,
    PLURAL_ENDING, PLURAL_NOUNS, PLUS_WORDS, POSSESSIVE_ENDINGS, POSSESSIVES, PREFIX_LINKS, PRICE_FIELD,
    QUANTITY_FIELDS, QUANTITY_NOUNS, RANGE_JOINERS, RANGE_OPENERS, RANK_ENDS, RATED, RATING_DEGREES, RECORD_ASKERS,
    RECORD_LISTING_VERBS, RECORD_NOUN_DETERMINERS, RECORD_NOUN_LEADS, RECORD_NOUNS, SALE_VERBS, SHORT_MONTH_LEADS,
    SINCE, SINGULAR_RECORD_LEADS, SUFFIX_LINKS, SUM_CUES, SUPERLATIVE_ENDING, SUPERLATIVE_OPENINGS, THAN, THE,
    TOTAL_FIELD, TOTAL_WORDS, UNIT_LINKS, UNTIL, WH_WORDS, WHAT, WHEN, WHICH_FILLERS, WHICH_PREPOSITIONS, WHICH_WORDS,
    WHOLE_DATA_WORDS, WHOLE_LEADS, WITH, WITH_THE, YEAR_FIELD, YEAR_LEADS, ADJECTIVE_ENDING, plural_of,
)
from rag.i18n import _
LITERAL_FLOOR = 0.62
"""The least score of a field's head word written as it is ("price" for ``unit_price``): above every synonym
(0.6 at most)."""
_YEAR = re.compile(r"^(1[6-9]\d\d|20\d\d|2100)$")
_QUOTED = re.compile(r"(?<!\w)[\"'“‘]([^\"'”’]{1,80})[\"'”’](?!\w)")
"""Text between quotes; an apostrophe inside a word ("What's Iceland's capital") opens and closes none."""


# ----------------------------------------------------------------------------------------- matching
@dataclass
class _Mention:
    """A span of the question that names a field or a value."""

    column: ColumnInfo
    start: int
    """Token index of the first word."""
    end: int
    """Token index after the last word."""
    score: float
    value: Any = None
    is_value: bool = False
    via: str = ""
    """How it was matched, when not literally: for the assumptions."""
    rivals: list[str] = field(default_factory=list)
    """Other fields the same words fit as well (a synonym or part of a name shared by two fields)."""


@dataclass
class _State:
    """What has been read of one question so far."""

    tokens: list[Token]
    used: set[int] = field(default_factory=set)
    filters: list[Filter] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    group: GroupBy | None = None
    top_at: int | None = None
    """Token index after "top N": the groups ranked ("top 5 cities by …") are named there."""
    group_explicit: bool = False
    """The group came from "per"/"by"/"for each" (then a superlative is the aggregation, not a top-1)."""
    limit: int | None = None
    order: str | None = None
    consumed_columns: set[str] = field(default_factory=set)
    talked: set[int] = field(default_factory=set)
    """Words that name a value's field without being a mention ("win" for the winner column)."""
    mentions: list["_Mention"] = field(default_factory=list)
    """The field and value mentions the reading used (set once they are found)."""
    group_cue: int | None = None
    """Token index of a group cue ("per", "by", "for each") whose groups could not be read."""
    month: int | None = None
    """A month named without a year that the date field holds in several years ("in March")."""
    month_at: int | None = None
    """Token index of that month."""
    question: str = ""

    def words(self, i: int, j: int) -> list[str]:
        return [t.lower for t in self.tokens[max(0, i) : max(0, j)]]

    def mark(self, i: int, j: int) -> None:
        self.used.update(range(i, j))


class RulesPlanner:
    """Reads questions about one dataset's table."""

    def __init__(self, schema: TableSchema, *, embed: Embed | None = None, record_noun: str | None = None,
                 names: NameIndex | Callable[[], NameIndex] | None = None) -> None:
        """``names``: the dataset's ``NameIndex`` (or what builds it on first use), for finding records by the
        names questions write; without it, the values the schema lists are the names."""
        self._schema = schema
        self._names = names
        self._embed = embed
        self._field_vectors: Any = None
        self._columns = list(schema.columns.values())
        self._field_stems = {c.path: _content_stems(c.path) for c in self._columns}
        self._leaf_stems = {c.path: _content_stems(_leaf(c.path, c.table)) for c in self._columns}
        self._raw_words = {c.path: set(field_words(c.path)) for c in self._columns}
        self._field_digits = {c.path: {w for w in field_words(_leaf(c.path, c.table)) if w.isdigit()}
                              for c in self._columns}
        """The numbers in field names ("alpha_2"), which a question writes as a word of their own."""
        self._acronyms = {c.path: "".join(w[0] for w in field_words(_leaf(c.path, c.table)) if w) for c in self._columns}
        self._written_names = {c.path: {"".join(field_words(name)) for name in (c.path, _leaf(c.path, c.table))}
                               for c in self._columns}
        """The field's name as one word, the way a question may write it ("gdpPercap", "life_exp")."""
        self._values = _value_index(self._columns)
        self._record_nouns = _record_nouns(schema, record_noun)
        self._file_noun = record_noun if record_noun and record_noun != "records" else None
        self._child_nouns = {stem(name.split(".")[-1].lower()): name for name in schema.children}
        self._field_concepts = {
            c.path: frozenset(g for w in field_words(_leaf(c.path, c.table)) + [self._acronyms[c.path]]
                              for g in concepts(w)) for c in self._columns
        }
        """The synonym groups of each field's name (``rag.analytics.synonyms``): ``Weight_in_lbs`` -> weight."""
        field_vocabulary = {w for c in self._columns for w in field_words(c.path) if w.isalpha()}
        self._value_words = {word for key in self._values for word in key}
        self._vocabulary = (_GRAMMAR | field_vocabulary | {stem(w) for w in field_vocabulary} | self._value_words
                            | set(MONTHS) | set(_SYNONYM_WORDS) | self._record_nouns | set(self._child_nouns))
        """Every word the planner knows: grammar, cues, field words, values, synonyms."""
        self._corrector = Corrector(
            {w for w in _GRAMMAR | field_vocabulary | set(_SYNONYM_WORDS) | set(SUPERLATIVE_FIELDS) if len(w) >= 4},
            protected=self._value_words | self._record_nouns,
        )

    @property
    def schema(self) -> TableSchema:
        return self._schema

    # ------------------------------------------------------------------ entry point
    def plan(self, question: str) -> PlanOutcome:
        """The spec for ``question``, or why there is none.

        Stray words (``rag.analytics.stray``: "thx", a closing tag, an emoji) are left out first, and words one
        typo away from a known word are read as it; then every word left must be placed (``_account``): a word
        that would change the result and is not read makes the question ``unfilled``, with what was read around
        it (``PlanOutcome.reading``) for rephrasings."""
        raw = [_as_digits(token) for token in tokenize(question)]
        if not raw:
            return PlanOutcome.not_analytic()
        found = strays(question, raw, self._knows, self._is_name)
        tokens = [token for k, token in enumerate(raw) if k not in found.tokens]
        if not tokens:
            return PlanOutcome.not_analytic()
        outcome = self._read_words(tokens, question, [])
        if outcome.status != PLANNED:  # words one typo away from known words, read as them: only when needed
            notes: list[str] = []
            corrected = [self._corrected(token, notes) for token in tokens]
            if notes:
                retried = self._read_words(corrected, question, notes)
                if retried.status == PLANNED:
                    outcome = retried
        if outcome.status == PLANNED and outcome.plan is not None:
            ignored = list(found.shown)
            words = list(outcome.plan.words)
            for k in sorted(found.tokens):  # the stray words, in the question's order
                words.insert(min(k, len(words)), (raw[k].text, "ignored"))
            words += [(symbol, "ignored") for symbol in found.symbols]
            assumptions = list(outcome.plan.assumptions)
            if ignored:
                assumptions.append("ignored: " + ", ".join(repr(word) for word in dict.fromkeys(ignored)))
            outcome = PlanOutcome.planned(replace(outcome.plan, assumptions=tuple(dict.fromkeys(assumptions)),
                                                  words=tuple(words)))
        return outcome

    def _read_words(self, tokens: list[Token], question: str, notes: list[str], *,
                    name_read: bool = False) -> PlanOutcome:
        """The outcome of reading ``tokens`` (stray words left out), every word accounted for."""
        state = _State(tokens=tokens, question=question)
        cues = _find_cues([t.lower for t in tokens])
        superlative = self._superlative(state, cues)
        outcome, state, superlative = self._read(state, question, cues, superlative)
        state.question = question
        outcome = self._account(outcome, state, cues, superlative, notes)
        if outcome.status == "unfilled" and outcome.unread and not name_read:
            named = self._read_named_record(tokens, question, outcome, notes)
            if named is not None:
                return named
        return outcome

    def _read_named_record(self, tokens: list[Token], question: str, outcome: PlanOutcome,
                           notes: list[str]) -> PlanOutcome | None:
        """A measure asked of named records ("How many votes did Coderre get in Mile-End?", "the average mpg of
        the ford pinto"): the words left unread are one record's name (as written, or a close writing of one
        name, never one of several), read as a filter on the records' name; the rest of the question must then
        read completely. None when they are not."""
        unread = set(outcome.unread)
        at = [k for k, token in enumerate(tokens) if token.text in unread]
        if not at:
            return None
        begin, end = min(at), max(at) + 1
        joined = lambda left, right: question[tokens[left].end : tokens[right].start] in ("-", "'", "’", ".", "")
        while begin > 0 and joined(begin - 1, begin):  # "Mile-End", "Côte-de-Liesse": one name, whatever it holds
            begin -= 1
        while end < len(tokens) and joined(end - 1, end):
            end += 1
        if any(tokens[k].lower in FUNCTION_WORDS and tokens[k].text not in unread for k in range(begin, end)) \
                and end - begin > 4:
            return None
        before = tokens[begin - 1].lower if begin > 0 else ""
        index = self._name_index()
        label_words = set(field_words(index.label or ""))
        if before not in NAME_LEADS and stem(before) not in label_words:
            return None  # a name stands after "of", "in", "for", its field's name, …, not anywhere in a sentence
        written = question[tokens[begin].start : tokens[end - 1].end]
        if written.lower().endswith(POSSESSIVE_ENDINGS):  # "China's bronze"
            written = written[:-2]
        match = index.exact(written)
        others: tuple[str, ...] = ()
        if match is None:
            found = index.close(written)
            if not found or (len(found) > 1 and found[1].rank() == found[0].rank()):
                return None
            match = found[0]
            others = tuple(m.shown for m in found[1:] if m.values[0][0] == match.values[0][0])
        if match.values[0][0] != index.label:
            return None  # a value of another field is read as such by the planner, not taken as a name
        read = _NameRead(begin, end, written, match, others=others)
        keep = [token for k, token in enumerate(tokens) if not begin <= k < end]
        while begin > 0 and keep and begin - 1 < len(keep) and (  # "the district Jeanne-Mance": the field is the name's
                keep[begin - 1].lower in NAME_LINKS or keep[begin - 1].stem in label_words):
            keep.pop(begin - 1)
            begin -= 1
        retried = self._read_words(keep, question, list(notes), name_read=True)
        if retried.status != PLANNED or retried.plan is None or retried.plan.spec.aggregation == RECORDS:
            return None
        spec = retried.plan.spec
        if any(item.field == read.column for item in spec.filters) or (
                spec.group_by is not None and spec.group_by.field == read.column):
            return None
        spec = replace(spec, filters=tuple(spec.filters) + (read.filter(),))
        if spec.aggregation == "sum" and read.filter().op == "=" and spec.field is not None:
            spec = QuerySpec(aggregation=RECORDS, filters=spec.filters, fields=(spec.field,))  # one record's value
        words = tuple(retried.plan.words) + tuple((tokens[k].text, "value") for k in range(read.start, read.end))
        return PlanOutcome.planned(replace(retried.plan, spec=spec, words=words,
                                           assumptions=tuple(retried.plan.assumptions) + (read.note(index),)))

    def _read(self, state: _State, question: str, cues: "_Cues",
              superlative: "_Superlative | None") -> tuple[PlanOutcome, _State, "_Superlative | None"]:
        """The outcome of reading the question, the state it was read into, and the superlative it read."""
        tokens = state.tokens
        if not (cues.count_end or cues.mean or cues.median or cues.has_sum or superlative or cues.group_word
                or cues.common is not None):
            return self._plan_records(state, question), state, superlative  # a field of a named record, the records
        if cues.count_end and self._is_record_lookup(state, cues):
            state = _State(tokens=tokens)
            return self._plan_records(state, question), state, None

        self._read_limit(state)
        self._read_dates(state)
        mentions = [m for m in self._mentions(state) if not self._names_the_records(m, state, cues)]
        state.mentions = mentions
        if superlative is not None and any(not m.is_value and not m.via and m.start <= superlative.start < m.end
                                           for m in mentions):
            superlative = None  # "max temperature" names temp_max: no extreme is asked
            if not (cues.count_end or cues.mean or cues.median or cues.has_sum or cues.group_word
                    or cues.common is not None):
                state = _State(tokens=tokens, question=state.question)
                return self._plan_records(state, question), state, None
        self._read_comparisons(state, mentions)
        self._read_affixes(state, mentions, question)
        self._read_quoted(state, question)
        self._read_contains(state, mentions)
        self._read_missing(state, mentions)
        self._read_group(state, mentions, cues, superlative)
        self._read_values(state, mentions)
        return self._assemble(state, mentions, cues, superlative, question), state, superlative

    def _names_the_records(self, mention: _Mention, state: _State, cues: "_Cues") -> bool:
        """Whether a value ``mention`` is the noun a count counts, which a field of the data says every record
        is: "how many deaths" over records with a ``death_date`` counts the records, not ``type = Death``."""
        counted = mention.start == cues.count_end or (  # "how many deaths", "the most deaths"
            mention.start > 0 and state.tokens[mention.start - 1].lower in MOST_OR_LEAST)
        if not mention.is_value or mention.end - mention.start != 1 or not counted:
            return False
        word = state.tokens[mention.start].stem
        return any(word in self._field_stems[c.path] and c.path != mention.column.path for c in self._columns
                   if c.type in ("date", "timestamp"))

    def _knows(self, token: Token) -> bool:
        """Whether ``token`` is a word the planner can place: a number, grammar, a cue, a field's or a value's word."""
        word = token.lower
        return (not word.isalpha() or word in self._vocabulary or token.stem in self._vocabulary
                or self._corrector.correct(word) is not None)

    def _is_name(self, text: str) -> bool:
        """Whether a record of the data is named ``text`` (as written, case and punctuation aside)."""
        return self._name_index().exact(text) is not None

    def _corrected(self, token: Token, notes: list[str]) -> Token:
        """``token``, or the known word it is one typo away from ("horsepwer" -> "horsepower"), noted."""
        if token.lower in self._vocabulary or token.stem in self._vocabulary:
            return token
        word = self._corrector.correct(token.lower)
        if word is None or stem(word) == token.stem:
            return token  # "character" is no typo of "characters"
        notes.append(f"'{token.text}' read as '{word}'")
        return Token(text=token.text, lower=word, stem=stem(word), start=token.start, end=token.end)

    # ------------------------------------------------------------------ every word accounted for
    def _account(self, outcome: PlanOutcome, state: _State, cues: "_Cues", superlative: "_Superlative | None",
                 notes: list[str]) -> PlanOutcome:
        """``outcome`` with every word of the question accounted for: a plan gets its words' roles (and the typos
        read, in its assumptions); a plan that left a word unread that could change its result (a field, a
        value, a group, a month, an adjective) becomes ``unfilled``, and so does a plan whose field could be
        either of two (``temp`` for ``temp_max`` or ``temp_min``); an unfilled outcome gets the words it did
        not understand and what was read around them."""
        if outcome.status not in (PLANNED, "unfilled"):
            return outcome
        spec = outcome.plan.spec if outcome.status == PLANNED and outcome.plan is not None else None
        roles, unplaced = self._roles(state, cues, spec, superlative)
        if outcome.status == PLANNED and outcome.plan is not None:
            plan = outcome.plan
            rivals, swap = self._rivals_of(state, plan.spec, superlative)
            if swap is not None:
                plan = replace(plan, spec=_swapped(plan.spec, *swap),
                               assumptions=tuple(a.replace(swap[0], swap[1]) for a in plan.assumptions))
            missing = self._unread_reason(state, unplaced)
            if rivals:
                shown = _(" or ").join(rivals)
                return PlanOutcome.unfilled(_("could not tell which field is meant: did you mean {fields}?").format(
                                                fields=shown),
                                            unread=tuple(self._rival_words(state, rivals)),
                                            reading=self._reading(state, cues, superlative, unplaced, rivals=rivals))
            if missing:
                return PlanOutcome.unfilled(missing, unread=tuple(state.tokens[k].text for k in unplaced),
                                            reading=self._reading(state, cues, superlative, unplaced))
            unused = {m.column.path for m in state.mentions if m.via and not m.is_value} - self._used_fields(plan.spec)
            assumptions = list(notes) + [line for line in plan.assumptions
                                         if not any(line.endswith(f" read as {path}") for path in unused)]
            noun = plan.noun
            for k, (_word, role) in enumerate(roles):
                token = state.tokens[k]
                if role != "records" or token.stem in GENERIC_NOUNS or token.lower in self._child_nouns \
                        or stem(token.lower) in self._child_nouns or not token.lower.isalpha():
                    continue
                if noun is None:  # the records are called as the question calls them: "16 of 87 characters"
                    noun = token.lower if token.stem != token.lower else plural_of(token.lower)
                if self._file_noun and token.stem not in self._record_nouns:
                    assumptions.append(f"'{token.text}' read as the {self._file_noun}")
            return PlanOutcome.planned(replace(plan, assumptions=tuple(dict.fromkeys(assumptions)), words=tuple(roles),
                                               noun=noun))
        unread = tuple(state.tokens[k].text for k in unplaced) or outcome.unread
        reason = outcome.reason
        month = state.tokens[state.month_at].text if state.month_at is not None else None
        missing = [word for word in unread if f"'{word}'" not in reason and word != month]
        if missing and unplaced:
            reason += " " + _("({words}: no field or value of the data is called so)").format(
                words=", ".join(repr(word) for word in missing))
        if month is not None and f"'{month}'" not in reason:
            reason += f"; {self._unread_reason(state, [])}"
        return PlanOutcome.unfilled(reason, unread=unread,
                                    reading=outcome.reading or self._reading(state, cues, superlative, unplaced))

    def _roles(self, state: _State, cues: "_Cues", spec: QuerySpec | None = None,
               superlative: "_Superlative | None" = None) -> tuple[list[tuple[str, str]], list[int]]:
        """Each word's role in the reading (``rag.analytics.plan.WORD_ROLES``), and the words placed nowhere.

        A field the words name that the spec does not use is placed nowhere: "how many windy days" names wind,
        and a count of every day would drop it."""
        tokens = state.tokens
        values = {k for m in state.mentions if m.is_value for k in range(m.start, m.end)}
        used_fields = self._used_fields(spec) if spec is not None else set()
        fields = {k for m in state.mentions if not m.is_value and (
            spec is None or m.column.path in used_fields or m.column.table == spec.field
            or any(k in state.used for k in range(m.start, m.end))) for k in range(m.start, m.end)}
        grouped = set()
        if state.group is not None:
            grouped = {k for m in state.mentions if not m.is_value and m.column.path == state.group.field
                       for k in range(m.start, m.end)}
        fields |= self._written_out(state)
        cue_span = set(range(superlative.start, superlative.end)) if superlative is not None else set()
        roles: list[tuple[str, str]] = []
        unplaced: list[int] = []
        for k, token in enumerate(tokens):
            word = token.lower
            if k in values:
                role = "value"
            elif k in cue_span:
                role = "cue"
            elif k in grouped:
                role = "group"
            elif k in fields or k in state.talked:
                role = "field"
            elif word in SHARE_WORDS and not (cues.share and spec is not None and spec.aggregation == "count"):
                role = "unplaced"  # "the average tip percentage": a share of what? not the average tip
                unplaced.append(k)
            elif word in _ALL_CUE_WORDS or word in COUNT_WORDS and k in state.used or word in HOW_MANY \
                    or word in MODE_WORDS:
                role = "cue"
            elif k in state.used:
                role = "date" if word in MONTHS or _YEAR.match(word) else "filter"
            elif word in AFFIX_NOUNS and self._names_records(state, k, cues):
                role = "records"  # "the characters" of a file of characters, not "starts with the characters"
            elif word in _GRAMMAR or token.stem in _GRAMMAR:
                role = "grammar"
            elif stem(word) in self._record_nouns or word in self._child_nouns or self._names_records(state, k, cues):
                role = "records"
            elif self._unit_of_a_field(state, k) or self._names_a_used_field(token, used_fields):
                role = "field"
            elif not word.isalpha() and k == state.month_at:
                role = "date"
            else:
                role = "unplaced"
                unplaced.append(k)
            roles.append((token.text, role))
        return roles, unplaced

    def _used_fields(self, spec: QuerySpec) -> set[str | None]:
        """The fields a spec reads or shows (an argmax shows its records by their label field)."""
        used = {spec.field, spec.group_by.field if spec.group_by else None, *spec.fields,
                *(item.field for item in spec.filters)}
        if spec.aggregation in ("argmax", "argmin", RECORDS):
            used.add(self._schema.label_field)  # "which country …": the records are shown by their label
        return used

    @staticmethod
    def _names_a_used_field(token: Token, used: set[str | None]) -> bool:
        """A word naming a field the spec uses by a word of its path ("customers" of customer.city, "paid" of
        payment.method): it says where the field is, not another condition."""
        word = VERB_FORMS.get(token.lower, token.stem)
        if len(word) < 3 or not word.isalpha():
            return False
        for path in used:
            if path and any(part == word or part.startswith(word) for part in field_words(path)):
                return True
        return False

    def _written_out(self, state: _State) -> set[int]:
        """The words of dotted or punctuated field names the question writes as they are spelled ("items.qty",
        "unit.price"): the service takes the field so written (``prefer_written_fields``)."""
        question = state.question
        found: set[int] = set()
        for path in self._schema.columns:
            if len(path) < 3 or path.replace("_", "").isalnum():
                continue
            start = question.find(path)
            while start >= 0:
                end = start + len(path)
                found |= {k for k, t in enumerate(state.tokens) if start <= t.start and t.end <= end}
                start = question.find(path, end)
        return found

    def _names_records(self, state: _State, k: int, cues: "_Cues") -> bool:
        """Whether the word at ``k`` stands where a question names the records it is about: right after "how many"
        ("how many flowers"), after a value ("setosa flowers"), after "of"/"among the", or before the name field
        ("currency names"); a plural (or the name field's noun) nothing else reads."""
        tokens = state.tokens
        token = tokens[k]
        if not token.lower.isalpha() or token.lower in VAGUE_ADJECTIVES or token.lower in MONTHS:
            return False
        after = tokens[k + 1].lower if k + 1 < len(tokens) else ""
        before = tokens[k - 1].lower if k > 0 else ""
        if stem(after) in NAMING_WORDS:
            return True  # "currency names", "country codes"
        plural = token.stem != token.lower and token.lower.endswith(PLURAL_ENDING)
        if not plural:  # "which character …", "each car": a singular only where one record is meant
            return before in SINGULAR_RECORD_LEADS and not any(
                m.start <= k < m.end for m in state.mentions)
        after_value = any(m.is_value and m.end == k for m in state.mentions)
        slot = k == cues.count_end or after_value or before in RECORD_NOUN_LEADS
        ends = (not after or after in FUNCTION_WORDS | QUESTION_FILLERS | COUNT_WORDS | NEGATIONS
                or any(m.start == k + 1 for m in state.mentions))
        return slot and ends

    def _unit_of_a_field(self, state: _State, k: int) -> bool:
        """A noun naming a field's unit beside it: a unit noun right after a field ("gas price") or before one with
        "of"/"from" between ("deaths from wounds"), or a plural closing the words right after a number field
        ("Coderre votes")."""
        tokens = state.tokens
        word = tokens[k].lower
        if not word.isalpha() or word in VAGUE_ADJECTIVES:
            return False
        last = k + 1 >= len(tokens) or tokens[k + 1].lower in FUNCTION_WORDS | QUESTION_FILLERS
        plural = tokens[k].stem != word and word.endswith(PLURAL_ENDING)
        for m in state.mentions:
            if m.is_value:
                continue
            if word in UNIT_NOUNS and (m.end == k or m.start == k + 1 or (
                    m.start == k + 2 and tokens[k + 1].lower in UNIT_LINKS)):
                return True
            if m.end == k and m.column.type == "number" and plural and last:
                return True
        return False

    def _unread_reason(self, state: _State, unplaced: list[int]) -> str:
        """Why a filled plan is not answered: the words it did not read that would change its result."""
        tokens = state.tokens
        if state.month is not None:
            name = calendar.month_name[state.month]
            column = self._date_column(state)
            return _("'{month}' names a month of several years of {field}, and months are only read with their "
                     "year").format(month=name, field=column.path if column else _("the dates"))
        if state.group_cue is not None and state.group is None:
            k = state.group_cue
            after = " ".join(t.text for t in tokens[k : min(len(tokens), k + 4)])
            return _("could not tell what '{words}' groups by").format(words=after)
        if unplaced:
            named = [(k, m) for k in unplaced for m in state.mentions
                     if not m.is_value and m.start <= k < m.end]
            if named:  # "how many windy days": wind, above what? "average horsepower and weight": two measures
                k, mention = named[0]
                if mention.via:
                    return _("'{word}' names {field}, but the question does not say which values of it "
                             "count").format(word=tokens[k].text, field=mention.column.path)
                return _("'{word}' names another field, {field}, and one question computes one measure").format(
                    word=tokens[k].text, field=mention.column.path)
            shown = ", ".join(repr(tokens[k].text) for k in unplaced)
            return _("could not place {words}: no field or value of the data is called so").format(words=shown)
        return ""

    def _rivals_of(self, state: _State, spec: QuerySpec,
                   superlative: "_Superlative | None") -> tuple[list[str], tuple[str, str] | None]:
        """The fields the spec's measured or grouped field was read from words that fit another field as well.

        Other words of the question decide between them when they name the rest of one name only: "the longest
        petal" is petalLength, not petalWidth; "the highest temp" is temp_max. Returns the tied fields (none when
        nothing is tied or the words decide), and the field to put in place of the reading's when they decide
        for another (old, new)."""
        if superlative is not None and superlative.rivals and spec.field in superlative.rivals:
            return [spec.field] + [r for r in superlative.rivals if r != spec.field], None
        for m in state.mentions:
            if m.is_value or not m.rivals:
                continue
            if m.column.path not in (spec.field, spec.group_by.field if spec.group_by else None):
                continue
            tied = [m.column.path] + [r for r in m.rivals if r != m.column.path]
            hints = {t.stem for k, t in enumerate(state.tokens) if not m.start <= k < m.end}
            if superlative is not None:
                hints |= set(superlative.hints) | {superlative.direction}
                hints |= DIRECTION_HINTS["max"] if superlative.direction == "max" else DIRECTION_HINTS["min"]
            named = [path for path in tied if self._leaf_stems[path] & hints]
            if len(named) == 1:
                return [], (None if named[0] == m.column.path else (m.column.path, named[0]))
            return tied, None
        return [], None

    def _rival_words(self, state: _State, rivals: list[str]) -> list[str]:
        for m in state.mentions:
            if not m.is_value and m.column.path == rivals[0]:
                return [t.text for t in state.tokens[m.start : m.end]]
        return []

    def _reading(self, state: _State, cues: "_Cues", superlative: "_Superlative | None", unplaced: list[int],
                 *, rivals: list[str] | None = None) -> Reading:
        """What was read of a question that could not be read completely (for rephrasings)."""
        if cues.mean:
            aggregation = "mean"
        elif cues.median:
            aggregation = "median"
        elif cues.has_sum and not cues.count_end:
            aggregation = "sum"
        elif cues.count_end or cues.common is not None:
            aggregation = "count"
        elif superlative is not None:
            aggregation = "max" if superlative.direction == "max" else "min"
        else:
            aggregation = None
        measured = next((m.column.path for m in state.mentions if not m.is_value and m.column.type == "number"
                         and m.column.path not in state.consumed_columns
                         and not (state.group is not None and m.column.path == state.group.field)), None)
        words = [state.tokens[k].lower for k in unplaced]
        group_words: list[str] = []
        if state.group_cue is not None:
            k = state.group_cue + 1
            group_words = [t.lower for t in state.tokens[k:] if t.lower not in _GRAMMAR]
        numbers = ("number",) if aggregation in ("mean", "median", "sum") else ("number", "date", "timestamp")
        candidates = list(rivals or [])
        if not candidates and words:
            candidates = self.closest_fields(words, numbers if aggregation not in (None, "count") else None)
        group_candidates = self.closest_fields(group_words, "group") if group_words else []
        noun = next((t.lower for k, t in enumerate(state.tokens) if k not in unplaced and t.lower.isalpha()
                     and t.stem != t.lower and self._names_records(state, k, cues) and t.stem not in GENERIC_NOUNS
                     and not any(m.start <= k < m.end for m in state.mentions)), None)
        return Reading(
            noun=noun,
            aggregation=aggregation,
            field=None if rivals else measured,
            group=state.group.field if state.group is not None else None,
            filters=tuple(state.filters),
            grouped=state.group_cue is not None or (cues.group_word and state.group is None),
            candidates=tuple(candidates[:3]),
            group_candidates=tuple(group_candidates[:3]),
            month=state.month,
        )

    def closest_fields(self, words: Sequence[str], kinds: Sequence[str] | str | None = None, *,
                       threshold: float = 0.5) -> list[str]:
        """The fields closest to ``words`` (a question's words no field matched), best first: a synonym (1.0),
        an abbreviation (0.9), a typo (0.8), else the likeness of their letters (``difflib``), above
        ``threshold``. ``kinds``: column types allowed, or ``"group"`` for fields one can group by."""
        from difflib import SequenceMatcher

        scores: dict[str, float] = {}
        for column in self._columns:
            if kinds == "group":
                if not (_groupable(column) or _few_numbers(column) or column.type in ("date", "timestamp")):
                    continue
            elif kinds is not None and column.type not in kinds:
                continue
            names = field_words(_leaf(column.path, column.table))
            joined = "".join(names)
            best = 0.0
            for word in words:
                if not word.isalpha() or word in _GRAMMAR:
                    continue
                if concepts(word) & self._field_concepts[column.path]:
                    best = max(best, 1.0)
                if any(abbreviates(word, name) for name in names):
                    best = max(best, 0.9)
                if any(len(name) >= 4 and typo_distance(word, name, limit=1) <= 1 for name in names):
                    best = max(best, 0.8)
                likeness = max([SequenceMatcher(None, word, name).ratio() for name in names + [joined]] or [0.0])
                best = max(best, 0.75 * likeness)
            if best >= threshold:
                scores[column.path] = best
        return sorted(scores, key=lambda path: (-scores[path], path))

    # ------------------------------------------------------------------ records: lookups and listings
    def _plan_records(self, state: _State, question: str) -> PlanOutcome:
        """A question asking for records rather than a measure: a field of a named record ("What is the alpha-3
        code of Norway?", "How heavy is the chevrolet impala?") or the records meeting conditions ("Which
        subdivisions end with 'burg'?", "Show the Japanese cars with more than 30 mpg").

        Names are found among the values of the dataset's text fields (``NameIndex``): written as they are
        first (case, accents and punctuation aside), then, for words nothing else explains, as a close writing
        of one name (a typo, a name in part); a name that meets nothing, or several names equally, is not
        guessed. Open and yes/no questions ("describe …", "compare …", "is …"), a question naming no record
        or no condition, or holding a word nothing explains, are not analytic (retrieval answers them)."""
        tokens = state.tokens
        words = [t.lower for t in tokens]
        start = 0
        while start < len(words) and words[start] in POLITE_OPENINGS:
            start += 1
        if start >= len(words) or words[start] in OPEN_QUESTIONS or tuple(words[start:start + 2]) == HOW_COME:
            return PlanOutcome.not_analytic()
        state.mark(0, start)
        listing_verb = words[start] in LISTING_VERBS
        if listing_verb:
            state.mark(start, start + 1)
        index = self._name_index()
        reads = self._exact_names(state, self._mentions(state), question, index)
        self._read_limit(state)
        self._read_dates(state)
        mentions = self._mentions(state)
        self._read_comparisons(state, mentions)
        self._read_affixes(state, mentions, question)
        self._read_quoted(state, question)
        self._read_contains(state, mentions)
        self._read_missing(state, mentions)
        self._read_values(state, mentions)
        state.mentions = mentions
        if self._asks_for_elements(state, mentions):
            return PlanOutcome.not_analytic()  # "show me the items of order ORD-10003": the elements, not records
        noun = self._listed_noun(state, mentions, words, start, listing_verb)
        asked = self._asked_fields(state, mentions, words, start)
        listing = listing_verb or noun is not None
        if not asked and not listing:
            return PlanOutcome.not_analytic()
        if asked or listing:  # "what neighborhood did X die in", "which people died in Koreatown": the predicate
            for k, word in enumerate(words):
                if k not in state.used and word in VERB_ROOTS and not any(m.start <= k < m.end for m in mentions):
                    state.mark(k, k + 1)
        runs = self._unexplained_runs(state, mentions, reads)
        for run in runs:
            read = self._close_name(state, question, run, index)
            if isinstance(read, str):  # said when the words stand where a name does ("the mpg of the tesla")
                named_at = _names_position(words, run[0])
                return PlanOutcome.unfilled(read) if asked and named_at else PlanOutcome.not_analytic()
            reads = [r for r in reads if not (run[0] <= r.start and r.end <= run[1])] + [read]
        for read in sorted(reads, key=lambda r: r.start):
            state.filters.append(read.filter())
            state.assumptions.append(read.note(index))
        if not state.filters:
            return PlanOutcome.not_analytic()  # a field of no record in particular: retrieval
        shown = list(dict.fromkeys(asked or self._reasons_shown(state.filters)))
        spec = QuerySpec(aggregation=RECORDS, filters=tuple(state.filters), limit=state.limit, fields=tuple(shown))
        return PlanOutcome.planned(Plan(spec=spec, planner="rules", assumptions=tuple(dict.fromkeys(state.assumptions)),
                                        noun=noun))

    def _name_index(self) -> NameIndex:
        names = self._names
        if names is None:
            names = self._names = NameIndex.from_schema(self._schema)
        elif not isinstance(names, NameIndex):
            names = names()
        return names

    def _exact_names(self, state: _State, mentions: list[_Mention], question: str, index: NameIndex) -> list["_NameRead"]:
        """The names the question writes as they are (longest first), marked as used; a field named right before a
        name of its own ("the code NOR", "alpha-3 NOR") is part of it."""
        tokens = state.tokens
        reads: list[_NameRead] = []
        i = 0
        while i < len(tokens):
            found = None
            for end in range(min(len(tokens), i + max(1, index.max_words)), i, -1):
                if any(k in state.used for k in range(i, end)) or self._cuts_a_mention(mentions, i, end):
                    continue
                written = question[tokens[i].start : tokens[end - 1].end]
                match = index.exact(written)
                if match is None and written.lower().endswith(POSSESSIVE_ENDINGS):  # "Germany's alpha-3 code"
                    written = written[:-2]
                    match = index.exact(written)
                if match is not None and self._plausible_name(state, mentions, i, end, written, match, question):
                    found = _NameRead(i, end, written, match)
                    break
            if found is None:
                i += 1
                continue
            reads.append(found)
            state.mark(found.start, found.end)
            for mention in mentions:  # "the code DE-HH": the field named right before a name is the name's
                if (not mention.is_value and mention.column.path == found.column and not mention.via
                        and 0 <= found.start - mention.end <= 1):
                    state.mark(mention.start, mention.end)
            i = found.end
        return reads

    @staticmethod
    def _cuts_a_mention(mentions: list[_Mention], start: int, end: int) -> bool:
        """A span that overlaps a field or value mention without holding it whole and more."""
        for mention in mentions:
            if mention.start < end and start < mention.end:
                if not (start <= mention.start and mention.end <= end and end - start > mention.end - mention.start):
                    return True
        return False

    def _plausible_name(self, state: _State, mentions: list[_Mention], start: int, end: int, written: str,
                        match: NameMatch, question: str) -> bool:
        """Whether the words at ``start:end`` are the name ``match`` rather than words of the question: not all
        words of a question ("the", "code", "which"), not the text of "ends with X" or "contains X", and a short
        code or a number ("NOR", "no", "578") written as stored, quoted, or right after a naming word or its
        field ("the code no")."""
        tokens = state.tokens
        words = [t.lower for t in tokens]
        stored = {value for _path, value in match.values}
        opening = tokens[start].start
        quoted = opening > 0 and question[opening - 1] in "\"'“‘"
        before = words[start - 1] if start > 0 else ""
        after_affix = (before in SUFFIX_LINKS and start > 1 and words[start - 2] in AFFIX_WORDS) or before in CONTAIN_WORDS
        if after_affix:
            return False
        stop = FUNCTION_WORDS | QUESTION_FILLERS | _ALL_CUE_WORDS | NAMING_WORDS | FIELD_WORDS | COUNT_WORDS | \
            OPEN_QUESTIONS | LISTING_VERBS | POLITE_OPENINGS | LOOKUP_FILLERS | NEGATIONS | self._record_nouns
        as_stored = written in stored and any(ch.isupper() for ch in written) and start > 0
        if all(w in stop or stem(w) in stop for w in words[start:end]) and not (as_stored or quoted):
            return False
        if end - start == 1 and (len(words[start]) <= 3 or tokens[start].text[:1].isdigit()):
            named = before in NAMING_WORDS or before in FIELD_WORDS or any(
                not m.is_value and m.end == start and m.column.path in {path for path, _ in match.values} for m in mentions
            )
            return quoted or named or (written in stored and not tokens[start].text[:1].isdigit() and start > 0
                                       and words[start] not in stop)
        return True

    def _asks_for_elements(self, state: _State, mentions: list[_Mention]) -> bool:
        """The question names a list of the records ("the items of order …") other than as part of a value of it
        ("Electronics items"): it asks for the elements, which a listing of records does not give."""
        for k, token in enumerate(state.tokens):
            child = self._child_nouns.get(token.stem)
            if child is None or k in state.used:
                continue
            if any(m.is_value and m.column.table == child and m.end == k for m in mentions):
                continue
            if any(not m.is_value and m.start <= k < m.end and token.stem in self._leaf_stems[m.column.path]
                   for m in mentions):
                continue  # "the language of Norway": the field languages.language, named like its list
            return True
        return False

    def _asked_fields(self, state: _State, mentions: list[_Mention], words: list[str], start: int) -> list[str]:
        """The fields a question asks of its records: the fields it names that no filter took, and the field a
        "how <adjective>" asks for ("how heavy" -> a weight field)."""
        asked: list[str] = []
        for mention in mentions:
            if mention.is_value or set(range(mention.start, mention.end)) & state.used:
                continue
            if all(stem(words[k]) in self._child_nouns and stem(words[k]) not in self._leaf_stems[mention.column.path]
                   for k in range(mention.start, mention.end)):
                continue  # "Electronics items": the value's own list, not one field of it
            asked.append(mention.column.path)
            end = mention.end  # "life expectancy" for lifeExp: the next word spells out the rest of the name
            rest = [w for w in field_words(_leaf(mention.column.path, mention.column.table)) if len(w) >= 3
                    and w not in {stem(words[k]) for k in range(mention.start, mention.end)}]
            while end < len(words) and end not in state.used and any(words[end].startswith(w) for w in rest):
                end += 1
            state.mark(mention.start, end)
            if mention.via:
                state.assumptions.append(mention.via)
        if not asked:  # "the code of the Dravidian languages": the one field holding codes
            for k, word in enumerate(words):
                if k in state.used or word not in CODE_WORDS:
                    continue
                column = self._code_field()
                if column is not None:
                    asked.append(column.path)
                    state.mark(k, k + 1)
                    state.assumptions.append(f"'{state.tokens[k].text}' read as {column.path}")
                break
        if not asked and words[start] in WH_WORDS:
            for k in range(start + 1, len(words)):  # "who won …", "when was Dahomey withdrawn"
                column = None if k in state.used else self._verb_field(words[k])
                if column is not None:
                    asked.append(column.path)
                    state.mark(k, k + 1)
                    state.assumptions.append(f"'{state.tokens[k].text}' read as {column.path}")
                    break
        if words[start:start + 1] == [HOW] and start + 1 < len(words) and start + 1 not in state.used:
            hints = HOW_ADJECTIVES.get(words[start + 1])
            column = self._hinted_field(hints, ("number", "date", "timestamp", "text")) if hints else None
            if column is not None:
                asked.append(column.path)
                state.mark(start + 1, start + 2)
                state.assumptions.append(f"'how {words[start + 1]}' read as {column.path}")
        return list(dict.fromkeys(asked))

    def _listed_noun(self, state: _State, mentions: list[_Mention], words: list[str], start: int,
                     listing_verb: bool) -> str | None:
        """What a listing calls its records, right after its opening ("which subdivisions …", "list the languages
        …", "show the Japanese cars …"), marked as read; None when the question opens no listing."""
        if not listing_verb and words[start] not in WHICH_WORDS:
            return None
        k = start + 1
        while k < len(words) and (words[k] in LISTING_FILLERS
                                   or (k in state.used and any(m.is_value and m.start <= k < m.end for m in mentions))
                                   or (k in state.used and state.limit is not None and words[k].isdigit())):
            k += 1
        if k < len(words) and k not in state.used and stem(words[k]) in GENERIC_NOUNS:
            state.mark(k, k + 1)  # "which record has the code YUCS": the records, whatever the file calls them
            return "records"
        if k >= len(words) or k in state.used or not words[k].isalpha() or words[k] in QUESTION_FILLERS | FUNCTION_WORDS:
            return None
        if any(m.start <= k < m.end and not (m.via and not m.is_value and m.score <= 0.7) for m in mentions):
            return None  # a field ("which name …"), not the records ("which stations": not a short "state")
        end = k + 1  # "which former countries", "which language family": the noun is the phrase's last word
        while (end < len(words) and end not in state.used and words[end].isalpha() and end - k < 3
               and stem(words[end - 1]) == words[end - 1] and words[end - 1] not in PLURAL_NOUNS
               and not words[end].endswith(PAST_ENDING) and words[end] not in VERB_ROOTS
               and words[end] not in QUESTION_FILLERS | FUNCTION_WORDS | LISTING_VERBS
               and not any(m.start <= end < m.end for m in mentions)):
            end += 1
        state.mark(k, end)
        return " ".join(words[k:end])

    def _unexplained_runs(self, state: _State, mentions: list[_Mention], reads: list["_NameRead"]) -> list[tuple[int, int]]:
        """Spans of words nothing has read (a name written with a typo or in part), each stretched over the names
        read beside it ("ford pinto runabuot": the name read, "ford pinto", is part of the run)."""
        explained = _explained(state, mentions)
        skip = FUNCTION_WORDS | QUESTION_FILLERS | NAMING_WORDS | FIELD_WORDS | LOOKUP_FILLERS | POLITE_OPENINGS
        named = {k for read in reads for k in range(read.start, read.end)}
        tokens = state.tokens
        open_words = [k for k, t in enumerate(tokens) if k not in explained and t.lower not in skip
                      and stem(t.lower) not in self._record_nouns and not _names_the_records(tokens, k)]
        runs: list[tuple[int, int]] = []
        for k in open_words:
            if runs and all(j in named or tokens[j].lower in FUNCTION_WORDS or j in open_words
                            for j in range(runs[-1][1], k)):
                runs[-1] = (runs[-1][0], k + 1)
            else:
                runs.append((k, k + 1))
        stretched = []
        for begin, end in runs:
            while begin > 0 and begin - 1 in named:
                begin -= 1
            while end < len(tokens) and end in named:
                end += 1
            stretched.append((begin, end))
        return stretched

    def _close_name(self, state: _State, question: str, run: tuple[int, int], index: NameIndex) -> "_NameRead | str":
        """The one name the words of ``run`` are a close writing of, or why there is none."""
        tokens = state.tokens
        written = question[tokens[run[0]].start : tokens[run[1] - 1].end]
        found = index.close(written)
        if not found and run[1] - run[0] >= 2:  # "the Greek script": a name and a noun saying what it names
            for begin, end in ((run[0], run[1] - 1), (run[0] + 1, run[1])):
                dropped = tokens[run[1] - 1] if end < run[1] else tokens[run[0]]
                shorter = question[tokens[begin].start : tokens[end - 1].end]
                if not dropped.lower.isalpha() or dropped.text[:1].isupper() or (
                        index.knows_word(dropped.lower) and index.exact(shorter) is None):
                    continue
                found = index.close(shorter)
                if found:
                    state.assumptions.append(f"'{dropped.text}' read as what the records are")
                    state.mark(*run)  # the noun too: read, not a name
                    written, run = shorter, (begin, end)
                    break
        if not found:
            return _("no record is named {name} or anything close to it").format(name=repr(written))
        tied = [match for match in found if match.rank() == found[0].rank()]
        if len(tied) > 1:  # "Korea": North Korea or South Korea, not guessed
            shown = ", ".join(match.shown for match in tied[:-1][:3]) + f" or {tied[-1].shown}"
            return _("{name} could name {names}").format(name=repr(written), names=shown)
        state.mark(*run)
        others = tuple(match.shown for match in found[1:] if match.values[0][0] == found[0].values[0][0])
        return _NameRead(run[0], run[1], written, found[0], others=others)

    def _reasons_shown(self, filters: list[Filter]) -> list[str]:
        """The fields a listing shows beside its records' labels: those its filters compare or look into ("more than
        30 mpg" shows Miles_per_Gallon; "the code NOR" shows alpha_3), not a value all of them share."""
        label = self._schema.label_field
        shown = []
        for item in filters:
            column = self._schema.columns.get(item.field)
            if column is None or item.field == label or item.op == "is_missing":
                continue
            if item.op in ("=", "in") and (column.categorical or column.type == "boolean"):
                continue
            shown.append(item.field)
        return shown

    # ------------------------------------------------------------------ question shapes
    def _is_record_lookup(self, state: _State, cues: "_Cues") -> bool:
        """ "How many cylinders does the ford pinto have?": a number read off one record, not a count."""
        words = [t.lower for t in state.tokens]
        for i in range(len(words) - 2):
            if (words[i], words[i + 1]) == HOW_MANY:
                rest = words[i + 2 :]
                if len(rest) >= 2 and rest[1] in LOOKUP_AUXILIARIES:
                    stems = {stem(rest[0])}  # "how many cylinders does …", not "how many districts did … win"
                    return any(stems == self._leaf_stems[c.path] and c.type == "number" for c in self._columns)
        return False

    def _superlative(self, state: _State, cues: "_Cues") -> "_Superlative | None":
        words = [t.lower for t in state.tokens]
        for i, word in enumerate(words):
            if (word.endswith(SUPERLATIVE_ENDING) and len(word) > 5 and word not in SUPERLATIVE_FIELDS
                    and word not in MAX_WORDS and word not in MIN_WORDS and concepts(word)):  # "the windiest day", "the coldest day"
                found = self._concept_superlative(word, i)
                if found is not None:
                    return found
            if word in MOST_OR_LEAST and i + 1 < len(words) and words[i + 1] in SUPERLATIVE_FIELDS:
                hints, _direction = SUPERLATIVE_FIELDS[words[i + 1]]
                return _Superlative("max" if word == MOST else "min", i, i + 2, hints, words[i + 1])
            if word in ORDINAL_EXTREMES and (_is_top_n(words, i) or words[0] not in SUPERLATIVE_OPENINGS):
                continue
            if word in AGE_SUPERLATIVES and self._hinted_field(AGE_HINTS, ("number",)) is not None:
                return _Superlative(AGE_SUPERLATIVES[word], i, i + 1, AGE_HINTS, word)  # the oldest person
            if word in SUPERLATIVE_FIELDS and word not in MOST_ADJECTIVES:
                hints, direction = SUPERLATIVE_FIELDS[word]
                return _Superlative(direction, i, i + 1, hints, word)
            if word in RATING_DEGREES and i + 1 < len(words) and words[i + 1] == RATED:
                return _Superlative(RATING_DEGREES[word], i, i + 2, SUPERLATIVE_FIELDS[RATED][0], RATED)
            if word in MAX_WORDS or word in MIN_WORDS:
                if word in COMPARATIVE_EXTREMES or (word == MOST and _followed_by_common(words, i)):
                    continue
                if word in RANK_ENDS and not _is_top_n(words, i) and not (i + 1 < len(words)):
                    continue
                if word in RANK_ENDS and _is_top_n(words, i) and i + 2 < len(words) and (
                    words[i + 2] in SUPERLATIVE_FIELDS or words[i + 2] in MOST_OR_LEAST
                ):
                    continue  # "top 10 heaviest cars": the adjective says which field
                if word in HINTED_EXTREMES:
                    hints, direction = SUPERLATIVE_FIELDS[word]
                    return _Superlative(direction, i, i + 1, hints, word)
                return _Superlative("max" if word in MAX_WORDS else "min", i, i + 1, (), word)
        return None

    def _concept_superlative(self, word: str, i: int) -> "_Superlative | None":
        """ "windiest", "hottest", "coldest": the highest (lowest) value of the field named by the word's synonym
        group (``rag.analytics.synonyms``); between fields of one group ("temp_max", "temp_min") the one named for
        the direction ("hottest" -> temp_max, "coldest" -> temp_min), else all of them as rivals."""
        direction = "min" if word in MIN_DEGREE_WORDS else "max"
        groups = concepts(word)
        fields = [c for c in self._columns
                  if c.type in ("number", "date", "timestamp") and self._field_concepts[c.path] & groups]
        if not fields:
            return None
        if len(fields) > 1:
            named = DIRECTION_WORDS[direction]
            preferred = [c for c in fields if self._leaf_stems[c.path] & named]
            fields = preferred or fields
        hints = tuple(sorted(self._leaf_stems[fields[0].path]))
        rivals = [c.path for c in fields] if len(fields) > 1 else []
        return _Superlative(direction, i, i + 1, hints, word, rivals=rivals)

    # ------------------------------------------------------------------ limits, dates, numbers
    def _read_limit(self, state: _State) -> None:
        words = [t.lower for t in state.tokens]
        for i, word in enumerate(words):
            number = _small_int(words[i + 1]) if i + 1 < len(words) else None
            if word in LIMIT_OPENERS and number:
                state.limit = number
                state.mark(i, i + 2)
                if word == BOTTOM:
                    state.order = "asc"
                if word in RANK_ENDS:
                    state.top_at = i + 2
                return
            if word in LIMIT_LEADS and number and i + 2 < len(words) and (
                words[i + 2] not in GT | LT | NUMBER_CONTINUATIONS and words[i + 2] not in MONTHS  # "the 25 December"
            ):
                state.limit = number
                state.mark(i + 1, i + 2)
                return
            if _small_int(word) and i + 1 < len(words) and (
                words[i + 1] in MAX_WORDS | MIN_WORDS | set(SUPERLATIVE_FIELDS) or words[i + 1] == MOST
            ):
                if i > 0 and words[i - 1] in GT | LT | COMPARISON_LEADS:
                    continue
                state.limit = _small_int(word)
                state.mark(i, i + 1)
                return

    def _date_columns(self) -> list[ColumnInfo]:
        columns = [c for c in self._columns if c.type in ("date", "timestamp") and c.table == "records"]
        columns.sort(key=lambda c: -c.present)
        return columns

    def _date_column(self, state: _State) -> ColumnInfo | None:
        """The date field a date in the question is about: the one named, else the fullest one."""
        columns = self._date_columns()
        if not columns:
            return None
        stems = {t.stem for t in state.tokens}
        named = [c for c in columns if self._leaf_stems[c.path] & stems - DATE_FIELDS]
        chosen = named[0] if named else columns[0]
        if len(columns) > 1 and not named:
            note = f"dates read on {chosen.path}"
            if note not in state.assumptions:
                state.assumptions.append(note)
        return chosen

    def _year_column(self) -> ColumnInfo | None:
        """A number field holding years (``year``), used where there is no date field."""
        for column in self._columns:
            if column.type == "number" and YEAR_FIELD in self._leaf_stems[column.path]:
                return column
        return None

    def _read_dates(self, state: _State) -> None:
        tokens = state.tokens
        words = [t.lower for t in tokens]
        i = 0
        while i < len(tokens):
            if i in state.used:
                i += 1
                continue
            span = _date_span(words, i)
            if span is None:
                month = _month_alone(words, i)
                if month is not None:
                    self._read_month(state, i, month)
                i += 1
                continue
            start, end, low, high, label = span
            before = words[start - 1] if start > 0 else ""
            before2 = words[start - 2] if start > 1 else ""
            if self._compares_number_field(words, start):  # "weigh more than 2000": a weight, not a year
                i = end
                continue
            column = self._date_column(state)
            op = "between"
            if before in AFTER_WORDS or (before == THAN and before2 in GT):
                op = ">" if before != SINCE else ">="
            elif before in BEFORE_WORDS or (before == THAN and before2 in LT):
                op = "<" if before != UNTIL else "<="
            elif end + 1 < len(words) and words[end] in ALTERNATIVE_JOINERS:  # "1980 or later", "2000 or before"
                if words[end + 1] in OR_MORE_WORDS:
                    op, end = ">=", end + 2
                elif words[end + 1] in OR_LESS_WORDS:
                    op, end = "<=", end + 2
            if column is not None:
                value: Any = [low.isoformat(), high.isoformat()]
                if op == "between" and low == high:
                    op, value = "=", low.isoformat()  # one day
                if op in (">",):
                    value = high.isoformat()
                elif op in (">=",):
                    value = low.isoformat()
                elif op in ("<",):
                    value = low.isoformat()
                elif op in ("<=",):
                    value = high.isoformat()
                state.filters.append(Filter(column.path, op, value))
                state.consumed_columns.add(column.path)
                state.assumptions.append(f"'{label}' read as {column.path} {_op_words(op, value)}")
            else:
                year_column = self._year_column()
                if year_column is None or low.month != 1 or high.month != 12:
                    i = end  # left unread: ``_unexplained_names`` sees its number and the plan stays unfilled
                    continue
                if op == "between" and low.year != high.year:  # "between 1970 and 1980", "from 1700 to 1800"
                    state.filters.append(Filter(year_column.path, "between", [low.year, high.year]))
                elif op == "between":
                    state.filters.append(Filter(year_column.path, "=", low.year))
                elif low.year != high.year:
                    i = end
                    continue
                else:
                    state.filters.append(Filter(year_column.path, op if op not in (">", "<=") else op, low.year))
                state.consumed_columns.add(year_column.path)
            state.mark(max(0, start - 1) if before in DATE_LEADS else start, end)
            i = end

    def _read_month(self, state: _State, i: int, month: int) -> None:
        """A month named without its year ("in March"): the month of the date field's only year; when the dates
        span several years it is left unread (``state.month``), and the plan is refused with rephrasings that
        name a year, never computed over every March or over every record."""
        column = self._date_column(state)
        if column is None:
            return  # no dates: the word stays unread, and the question unanswered
        years = _years_spanned(column)
        if years is None:
            return
        if years[0] != years[1]:
            state.month, state.month_at = month, i
            return
        year = years[0]
        low, high = date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        value = [low.isoformat(), high.isoformat()]
        state.filters.append(Filter(column.path, "between", value))
        state.consumed_columns.add(column.path)
        words = [t.lower for t in state.tokens]
        start = i - 1 if i > 0 and words[i - 1] in MONTH_LEADS else i
        state.mark(start, i + 1)
        state.assumptions.append(f"'{state.tokens[i].text}' read as {column.path} {_op_words('between', value)} "
                                 f"(every date is in {year})")

    def _compares_number_field(self, words: list[str], start: int) -> bool:
        """Whether the number at ``start`` follows a comparison with a number field ("weight over 2000",
        "weigh more than 2000", "a price above 1999"), so that it is that field's value and not a year."""
        k = start - 1
        if k >= 0 and words[k] == THAN:
            k -= 1
        if k < 0 or words[k] not in GT | LT:
            return False
        k -= 1
        while k >= 0 and words[k] in COMPARISON_FILLERS:
            k -= 1
        if k < 0:
            return False
        word = words[k]
        hints = set(SYNONYMS.get(word, ())) | {stem(word)}
        return any(c.type == "number" and hints & self._field_stems[c.path] for c in self._columns)

    def _mentions(self, state: _State) -> list[_Mention]:
        """Every field and categorical-value mention, overlaps resolved (best first)."""
        tokens = state.tokens
        found: list[_Mention] = []
        for column in self._columns:
            found.extend(self._field_mentions(column, tokens, state))
        values = self._value_mentions(tokens, state)
        for mention in values:  # "did Coderre win" over a winner field: the value, not the field Coderre
            talking = self._field_talked_about(mention, tokens)
            if talking is not None:
                mention.score += 0.1
                state.talked.add(talking)
        found.extend(values)
        found.sort(key=lambda m: (-m.score, -(m.end - m.start), m.start))
        kept: list[_Mention] = []
        taken: set[int] = set()
        for mention in found:
            span = set(range(mention.start, mention.end))
            if span & taken:
                continue
            if not mention.is_value and self._names_leaf(mention, tokens):
                # the same words fit another field's own name as well: "temp" for temp_max and temp_min (not
                # "customer" for the fields of customer: customer.name, customer.city, …)
                mention.rivals = [other.column.path for other in found if other is not mention and not other.is_value
                                  and (other.start, other.end) == (mention.start, mention.end)
                                  and abs(other.score - mention.score) < 1e-9
                                  and other.column.table == mention.column.table
                                  and self._names_leaf(other, tokens)
                                  and field_words(other.column.path) != field_words(mention.column.path)]
                # (fields of the same words, Score and score, a.b and ["a.b"], are told apart by their spelling later)
            kept.append(mention)
            taken |= span
        kept.sort(key=lambda m: m.start)
        return kept

    def _names_leaf(self, mention: _Mention, tokens: list[Token]) -> bool:
        """Whether a field mention's words meet the field's own name (its leaf), not only the object it is in."""
        if mention.via:
            return True
        leaf = self._leaf_stems[mention.column.path]
        return any(t.stem in leaf or t.lower in leaf for t in tokens[mention.start : mention.end])

    def _field_mentions(self, column: ColumnInfo, tokens: list[Token], state: _State) -> list[_Mention]:
        stems = self._field_stems[column.path]
        leaf = self._leaf_stems[column.path]
        if not stems:
            return []
        mentions = []
        i = 0
        while i < len(tokens):
            if i in state.used:
                i += 1
                continue
            token = tokens[i]
            written = token.lower.replace("_", "").replace(".", "")
            if len(stems) > 1 and written in self._written_names[column.path]:  # "gdpPercap" typed as named
                mentions.append(_Mention(column, i, i + 1, 1.0 + 0.01 * len(stems)))
                i += 1
                continue
            if token.stem in stems or token.lower in stems:
                j = i
                covered: set[str] = set()
                while j < len(tokens) and j not in state.used and (
                    tokens[j].stem in stems or tokens[j].lower in stems
                    or (tokens[j].lower in FIELD_NAME_LINKS and j + 1 < len(tokens)
                        # "miles per gallon", not "items per category"
                        and tokens[j].lower in self._raw_words[column.path]
                        and tokens[j + 1].stem in stems and tokens[j + 1].stem not in covered)
                ):
                    if tokens[j].stem in stems:
                        covered.add(tokens[j].stem)
                    elif tokens[j].lower in stems:
                        covered.add(tokens[j].lower)
                    j += 1
                while j < len(tokens) and j not in state.used and tokens[j].lower in self._field_digits[column.path]:
                    j += 1  # "alpha 2", "alpha_2"
                j = self._spelled_out(column, tokens, state, j, covered)
                leaf_cover = len(covered & leaf) / max(1, len(leaf))
                full_cover = len(covered) / len(stems)
                score = max(leaf_cover, full_cover) + 0.01 * len(covered)
                if column.table != "records":
                    score -= 0.05
                if _generic(covered) and leaf_cover < 1:
                    score -= 0.3
                if covered <= self._record_nouns and full_cover < 1:
                    score -= 0.3  # "which record": the records, not a field named like them (_record_id)
                head = field_words(_leaf(column.path, column.table))[-1:]  # "unit price" is a price, not units
                if head and stem(head[0]) in covered and not _generic(covered) and not covered <= self._record_nouns:
                    score = max(score, LITERAL_FLOOR)  # "price" is unit_price before it is a synonym of a cost
                if score > 0.3:
                    mentions.append(_Mention(column, i, j, score))
                i = max(j, i + 1)
                continue
            acronym = self._acronyms[column.path]
            if len(leaf) == 1 and _abbreviates(next(iter(leaf)), token.lower):
                mentions.append(_Mention(column, i, i + 1, 0.7, via=f"'{token.text}' read as {column.path}"))
            elif len(acronym) >= 2 and token.lower == acronym and token.lower not in FUNCTION_WORDS | QUESTION_FILLERS:
                mentions.append(_Mention(column, i, i + 1, 0.9, via=f"'{token.text}' read as {column.path}"))
            elif token.lower in SYNONYMS and SYNONYMS[token.lower] and set(SYNONYMS[token.lower]) & leaf:
                rank = SYNONYMS[token.lower].index(sorted(set(SYNONYMS[token.lower]) & leaf,
                                                          key=SYNONYMS[token.lower].index)[0])
                mentions.append(_Mention(column, i, i + 1, 0.6 - 0.05 * rank,
                                         via=f"'{token.text}' read as {column.path}"))
            else:
                score = self._linked(column, token)
                if score:
                    mentions.append(_Mention(column, i, i + 1, score, via=f"'{token.text}' read as {column.path}"))
            i += 1
        return _joined_links(mentions, tokens)

    def _linked(self, column: ColumnInfo, token: Token) -> float:
        """How a word no literal match placed names ``column`` through ``rag.analytics.synonyms``: 0.58 for a word
        the field's name abbreviates ("city" for ``cty``, "temperature" for ``temp_max``), 0.55 for a synonym
        ("mass" for ``Weight_in_lbs``); 0 for none. Cue words are never linked ("lowest" is no ``low``)."""
        word = token.lower
        if not word.isalpha() or word in _ALL_CUE_WORDS or word in FUNCTION_WORDS | QUESTION_FILLERS:
            return 0.0
        if word.endswith(SUPERLATIVE_ENDING) and len(word) > 5:
            return 0.0  # "hottest", "windiest": superlatives, read with their direction (``_concept_superlative``)
        names = field_words(_leaf(column.path, column.table))
        if any(abbreviates(word, name) for name in names):
            return 0.58
        if concepts(word) & self._field_concepts[column.path]:
            return 0.55
        return 0.0

    def _spelled_out(self, column: ColumnInfo, tokens: list[Token], state: _State, j: int, covered: set[str]) -> int:
        """Past ``j``, the words that spell out the rest of a short field name: "life expectancy" for ``lifeExp``,
        "GDP per capita" for ``gdpPercap`` (each added to ``covered``)."""
        rest = [w for w in field_words(_leaf(column.path, column.table)) if len(w) >= 3 and stem(w) not in covered
                and w not in covered]
        for word in rest:
            if j < len(tokens) and j not in state.used and tokens[j].lower != word and tokens[j].lower.startswith(word):
                covered.add(stem(word))
                j += 1
            elif (j + 1 < len(tokens) and j not in state.used and j + 1 not in state.used
                  and (tokens[j].lower + tokens[j + 1].lower).startswith(word) and len(tokens[j].lower) < len(word)):
                covered.add(stem(word))
                j += 2
        return j

    def _field_talked_about(self, mention: _Mention, tokens: list[Token]) -> int | None:
        """The word outside a value's span that names the value's field, or begins it ("win" of winner, "won"
        too), if any: then a word that is both a value and another field's name is the value."""
        leaf = field_words(_leaf(mention.column.path, mention.column.table))
        for k, token in enumerate(tokens):
            if mention.start <= k < mention.end or len(token.lower) < 3 or token.lower in FUNCTION_WORDS:
                continue
            word = VERB_FORMS.get(token.lower, token.stem)
            if any(part == word or (len(word) >= 3 and part.startswith(word)) for part in leaf):
                return k
        return None

    def _value_mentions(self, tokens: list[Token], state: _State) -> list[_Mention]:
        mentions = []
        lowers = [t.lower for t in tokens]
        for i in range(len(tokens)):
            if i in state.used:
                continue
            for length in (4, 3, 2, 1):
                if i + length > len(tokens) or any(k in state.used for k in range(i, i + length)):
                    continue
                key = tuple(lowers[i : i + length])
                if length == 1 and _compared_number(lowers, i):  # "warmer than 75", "at least 18": a bound
                    continue
                for column, value in self._values.get(key, ()):
                    text = str(value)
                    alias = length == 1 and lowers[i] in ALIAS_WORDS  # "men" for "M", "American" for "US"
                    alias = alias or (len(text) <= 3 < len("".join(key)))  # "Germany" for "DE", "Sunday" for "Sun"
                    if not alias and len(text) <= 3 and text.lower() in FUNCTION_WORDS | QUESTION_FILLERS | CODE_LIKE_WORDS:
                        if tokens[i].text != text:
                            continue  # "it" is a word; "IT" typed in capitals is the value
                    if not alias and length == 1 and len(text) <= 2 and tokens[i].text != text:
                        continue  # "is" is a word, "I" a value
                    score = 0.95 + 0.01 * length
                    mentions.append(_Mention(column, i, i + length, score, value=value, is_value=True))
        return mentions

    def _read_comparisons(self, state: _State, mentions: list[_Mention]) -> None:
        tokens = state.tokens
        words = [t.lower for t in tokens]
        for i, word in enumerate(words):
            if i in state.used:
                continue
            number = parse_number(word) if tokens[i].text.lstrip("-")[:1].isdigit() else None
            if number is None:
                continue
            scale = MULTIPLIERS.get(words[i + 1]) if i + 1 < len(words) else None
            if scale is not None:  # "over 100 million": the number is 100,000,000
                number = number * scale
                state.mark(i + 1, i + 2)
            op, op_start = _comparator_before(words, i)
            if op in NEGATED_COMPARISONS and op_start and words[op_start - 1] in NEGATIONS:  # "not above 10"
                op, op_start = NEGATED_COMPARISONS[op], op_start - 1
            end = i + 2 if scale is not None else i + 1
            number_end = end  # (the field is looked for around the number, before "or more" widens ``end``)
            if op == "between" or (op is None and i >= 1 and words[i - 1] == FROM and i + 2 < len(words)
                                   and words[i + 1] in RANGE_JOINERS):
                if i + 2 < len(words) and words[i + 1] in RANGE_JOINERS and parse_number(words[i + 2]) is not None:
                    high = parse_number(words[i + 2])
                    op, end = "between", i + 3
                    number = [number, high]
                    op_start = op_start if op_start is not None else i - 1
            if op is None:
                at = next((m.end for m in mentions if m.start == i + 1 and not m.is_value), i + 1)
                following = words[at] if at < len(words) else ""  # "6 or more", "6 cylinders or more"
                if following in ALTERNATIVE_JOINERS and at + 1 < len(words) and words[at + 1] in OR_MORE_WORDS:
                    op, end = ">=", at + 2
                elif following in ALTERNATIVE_JOINERS and at + 1 < len(words) and words[at + 1] in OR_LESS_WORDS:
                    op, end = "<=", at + 2
                elif following in PLUS_WORDS or word.endswith("+"):
                    op, end = ">=", i + 2
            if op is None and i + 2 < len(words) and words[i + 1] in ALTERNATIVE_JOINERS \
                    and parse_number(words[i + 2]) is not None \
                    and tokens[i + 2].text[0].isdigit():
                listed, end = [number, parse_number(words[i + 2])], i + 3
                column, via = self._number_field(state, mentions, i, end)
                if column is not None and _adjacent_field(mentions, column, i, end):
                    state.filters.append(Filter(column.path, "in", listed))
                    state.consumed_columns.add(column.path)
                    state.mark(i, end)
                    for mention in mentions:
                        if mention.column.path == column.path and not mention.is_value and _near(mention, i, end, 3):
                            state.mark(mention.start, mention.end)
                    continue
            column, via = self._number_field(state, mentions, op_start if op_start is not None else i, number_end)
            compared = words[op_start if op_start is not None else i : end]
            if column is None and op is not None and set(compared) & AGE_COMPARATIVES:  # "older than 40", "50 or older"
                column = self._hinted_field(AGE_HINTS, ("number",))
                word = next(w for w in compared if w in AGE_COMPARATIVES)
                via = f"'{word}' read as {column.path}" if column is not None else ""
            if column is None:
                continue
            if op is None:
                if not _adjacent_field(mentions, column, i, end):
                    continue
                op = "="
            state.filters.append(Filter(column.path, op, number))
            state.consumed_columns.add(column.path)
            state.mark(op_start if op_start is not None else i, end)
            for mention in mentions:
                names = mention.column.path == column.path or column.path in mention.rivals
                if names and not mention.is_value and _near(mention, i, end, 3):
                    state.mark(mention.start, mention.end)
                    before = mention.start - 1
                    if mention.column.path != column.path and before >= 0 and \
                            words[before] in DIRECTION_WORDS["min"] | DIRECTION_WORDS["max"] | MIN_WORDS | MAX_WORDS:
                        state.mark(before, mention.start)  # the direction word that chose it ("minimum")
            if via:
                state.assumptions.append(via)

    def _number_field(
        self, state: _State, mentions: list[_Mention], start: int, end: int
    ) -> tuple[ColumnInfo | None, str]:
        """The number field a number in the question applies to: the one named next to it."""
        numeric = [m for m in mentions if not m.is_value and m.column.type == "number"
                   and not (set(range(m.start, m.end)) & state.used)]
        after = [m for m in numeric if 0 <= m.start - end <= 2]
        before = [m for m in numeric if 0 <= start - m.end <= 3]
        chosen = after[0] if after else before[-1] if before else None
        if chosen is None:
            return None, ""
        if chosen in after and before and chosen.end - chosen.start == 1 \
                and state.tokens[chosen.start].lower in AGE_UNITS:  # "life expectancy below 50 years": a unit
            state.mark(chosen.start, chosen.end)
            chosen = before[-1]
        if chosen.rivals:  # "the minimum temperature between 0 and 5": temp_min, not the first of the two
            directed = self._directed(state, chosen)
            if directed is not None:
                return directed, f"'{state.tokens[chosen.start].text}' read as {directed.path}"
        return chosen.column, chosen.via

    def _directed(self, state: _State, mention: _Mention) -> ColumnInfo | None:
        """Of fields named by the same words ("temperature": temp_max, temp_min), the one a direction word just
        before them names ("minimum temperature" -> temp_min); None when no such word tells them apart."""
        words = {state.tokens[k].lower for k in range(max(0, mention.start - 2), mention.start)}
        fields = [mention.column] + [self._schema.columns[path] for path in mention.rivals
                                     if path in self._schema.columns]
        for direction, named in DIRECTION_WORDS.items():
            if words & (named | (MIN_WORDS if direction == "min" else MAX_WORDS)):
                preferred = [c for c in fields if self._leaf_stems[c.path] & named]
                if len(preferred) == 1:
                    return preferred[0]
        return None

    def _read_affixes(self, state: _State, mentions: list[_Mention], question: str) -> None:
        """ "codes that start with FR-", "names ending in 'ville'": the text as written, up to the next space
        (or between quotes), is a prefix or suffix filter on the text field named nearby."""
        words = [t.lower for t in state.tokens]
        for k, word in enumerate(words):
            op = AFFIX_WORDS.get(word)
            joins = SUFFIX_LINKS if op == "ends_with" else PREFIX_LINKS  # "started in 2020" is a date
            if op is None or k in state.used or k + 2 >= len(words) or words[k + 1] not in joins:
                continue
            target = k + 2
            if words[target] == THE and target + 1 < len(words) and words[target + 1] in AFFIX_NOUNS:
                target += 1
            if words[target] in AFFIX_NOUNS and target + 1 < len(words):
                target += 1
            text, end, quoted = _written_text(question, state.tokens[target - 1].end)
            if not text or target in state.used or (state.tokens[target].text in FUNCTION_WORDS and not quoted):
                continue  # a date read already; "ended in a tie"
            column = self._text_field_near(state, mentions, k) or self._label_column()
            if column is None or column.type != "text":
                continue
            last = next((j for j in range(target, len(state.tokens)) if state.tokens[j].start >= end), len(state.tokens))
            state.filters.append(Filter(column.path, op, text))
            state.consumed_columns.add(column.path)
            state.mark(k, last)
            verb = AFFIX_VERBS[op]
            state.assumptions.append(f"'{text}' read as {column.path} {verb} with '{text}'")

    def _read_quoted(self, state: _State, question: str) -> None:
        """ "whose name contains 'ford'": a quoted word is a substring filter on a text field."""
        for match in _QUOTED.finditer(question):
            text = match.group(1).strip()
            if not text:
                continue
            first = next((k for k, t in enumerate(state.tokens) if t.start >= match.start()), None)
            last = next((k for k, t in enumerate(state.tokens) if t.end > match.end()), len(state.tokens))
            if first is None or any(k in state.used for k in range(first, last)):
                continue
            column = self._text_field_before(state, first) or self._label_column()
            if column is None:
                continue
            state.filters.append(Filter(column.path, "contains", text))
            state.consumed_columns.add(column.path)
            state.mark(first, last)
            state.assumptions.append(f"'{text}' read as {column.path} contains '{text}'")

    def _read_contains(self, state: _State, mentions: list[_Mention]) -> None:
        """ "names contain Dollar", "toyota in their name": a word to find inside a text field."""
        words = [t.lower for t in state.tokens]
        for k, word in enumerate(words):
            if k in state.used:
                continue
            target: int | None = None
            if word in CONTAIN_WORDS and k + 1 < len(words):
                target = k + 1
                while target < len(words) and words[target] in CONTAIN_FILLERS:
                    target += 1
            elif word == IN and k >= 1 and k + 2 < len(words) and words[k + 1] in POSSESSIVES \
                    and self._names_text_field(state.tokens[k + 2]):  # "toyota in their name", not "exist in the file"
                target = k - 1
            if target is None or target >= len(words) or target in state.used or words[target] in FUNCTION_WORDS:
                continue
            if any(m.start <= target < m.end for m in mentions):
                continue  # a value or a field: "contain Electronics items" is a value filter
            column = self._text_field_near(state, mentions, k) or self._label_column()
            if column is None:
                continue
            text = state.tokens[target].text
            state.filters.append(Filter(column.path, "contains", text))
            state.consumed_columns.add(column.path)
            state.mark(min(k, target), max(k, target) + 1)
            if word == IN:
                state.mark(k, k + 3)
            state.assumptions.append(f"'{text}' read as {column.path} contains '{text}'")

    def _names_text_field(self, token: Token) -> bool:
        return any(c.type == "text" and token.stem in self._leaf_stems[c.path] for c in self._columns)

    def _text_field_near(self, state: _State, mentions: list[_Mention], index: int) -> ColumnInfo | None:
        """The text field named closest to ``index`` (within four words), marked as used."""
        near = [m for m in mentions if not m.is_value and m.column.type == "text"
                and (0 <= index - m.end <= 4 or 0 <= m.start - index <= 4)]
        if not near:
            return None
        best = min(near, key=lambda m: min(abs(index - m.end), abs(m.start - index)))
        state.mark(best.start, best.end)
        return best.column

    def _text_field_before(self, state: _State, index: int) -> ColumnInfo | None:
        for k in range(index - 1, max(-1, index - 5), -1):
            for column in self._columns:
                if column.type == "text" and state.tokens[k].stem in self._leaf_stems[column.path]:
                    state.mark(k, k + 1)
                    return column
        return None

    def _label_column(self) -> ColumnInfo | None:
        label = self._schema.label_field
        return self._schema.columns.get(label) if label else None

    def _read_missing(self, state: _State, mentions: list[_Mention]) -> None:
        words = [t.lower for t in state.tokens]
        for mention in mentions:
            if mention.is_value or set(range(mention.start, mention.end)) & state.used:
                continue
            before = words[max(0, mention.start - 2) : mention.start]
            after = words[mention.end : mention.end + 3]
            lacks = words[max(0, mention.start - 4) : mention.start]  # "don't have horsepower (data)"
            not_have = bool(set(lacks) & HAVE_WORDS) and bool(set(lacks) & (NEGATIONS | NEVER_WORDS))
            missing = bool(set(before) & MISSING_BEFORE) or bool(set(after) & MISSING_AFTER) or not_have
            if mention.column.type == "boolean":
                continue
            nullable = mention.column.present < self._table_rows(mention.column)
            stated = bool(after) and after[0] in DATA_NOUNS and bool(before) and before[-1] in HAS_WORDS
            if not missing and nullable and (stated or bool(before) and before[-1] in INDEFINITE_ARTICLES
                                             and mention.column.type != "number"):  # "have horsepower data"
                state.filters.append(Filter(mention.column.path, "not_missing"))
                state.consumed_columns.add(mention.column.path)
                state.mark(mention.start - 1, mention.end + (1 if stated else 0))
                continue
            if missing and mention.column.present < self._table_rows(mention.column):
                state.filters.append(Filter(mention.column.path, "is_missing"))
                state.consumed_columns.add(mention.column.path)
                state.mark(mention.start, mention.end)
                for k in range(max(0, mention.start - (4 if not_have else 2)), min(len(words), mention.end + 3)):
                    if words[k] in MISSING_BEFORE | MISSING_AFTER | NEGATIONS | MISSING_FILLERS:
                        state.mark(k, k + 1)

    def _table_rows(self, column: ColumnInfo) -> int:
        if column.table == "records":
            return self._schema.record_count
        child = self._schema.children.get(column.table)
        return child.rows if child else self._schema.record_count

    def _read_group(self, state: _State, mentions: list[_Mention], cues: "_Cues",
                    superlative: "_Superlative | None" = None) -> None:
        words = [t.lower for t in state.tokens]
        if self._read_versus(state, mentions, words):
            return
        if state.top_at is not None:
            ranked = next((m for m in mentions if m.start in (state.top_at, state.top_at + 1) and not m.is_value
                           and m.column.type in ("text", "boolean")), None)
            at = state.top_at
            spoken = next((k for k in (at, at + 1) if k < len(words) and words[k] in DATE_PART_WORDS), None)
            if ranked is None and spoken is not None and self._group_date(state, words[spoken], spoken, spoken + 1,
                                                                          explicit=False):
                order_by = next((k for k in range(spoken + 1, len(words)) if words[k] == BY), None)
                if order_by is not None:  # "top 5 years by gas price": years ranked by gas
                    state.mark(order_by, order_by + 1)
                state.order = state.order or "desc"
                return
            if ranked is not None:
                state.group = GroupBy(ranked.column.path)
                state.consumed_columns.add(ranked.column.path)
                state.mark(ranked.start, ranked.end)
                order_by = next((k for k in range(ranked.end, len(words)) if words[k] == BY), None)
                if order_by is not None:
                    state.mark(order_by, order_by + 1)
                state.order = state.order or "desc"
                return
        for i, word in enumerate(words):
            if i in state.used:
                continue
            cue = word in GROUP_CUES or (word == FOR and i + 1 < len(words) and words[i + 1] in EACH_WORDS)
            cue = cue or (word == IN and i + 1 < len(words) and words[i + 1] == EACH)
            cue = cue or (word in BREAKDOWN_WORDS and i + 1 < len(words) and words[i + 1] in BREAKDOWN_LINKS)
            if cue and word in GROUP_CUES and i + 1 < len(words) and words[i + 1] in WHOLE_LEADS:
                cue = word == BY and i + 2 < len(words) and words[i + 2] not in WHOLE_DATA_WORDS
            if not cue:
                if word in PERIODIC_PARTS and self._group_date(state, word, i, i + 1):
                    return
                continue
            if any(m.start <= i < m.end for m in mentions):
                continue  # "miles per gallon", "GDP per capita": part of a field's name
            j = i + 1
            while j < len(words) and (words[j] in GROUP_FILLERS or (
                words[j] in QUANTITY_NOUNS and j + 1 < len(words) and words[j + 1] == OF
            )):
                j += 1  # "per number of cylinders": the cylinders
            if j < len(words) and words[j] in DATE_PART_WORDS and self._group_date(state, words[j], i, j + 1):
                return
            target = next((m for m in mentions if m.start >= j and m.start <= j + 1 and not m.is_value
                           and not set(range(m.start, m.end)) & state.used), None)
            if target is not None and not (_groupable(target.column) or _few_numbers(target.column)
                                           or target.column.type in ("date", "timestamp")
                                           or target.column is self._year_column()):
                target = None  # "by AAPL", "won by Joly": a measure, not groups
            if target is None:
                if state.group_cue is None and self._groups_something(state, mentions, j):
                    state.group_cue = i  # "per month" with no dates, "by number of owners": groups not read
                continue
            if target is not None:
                if target.column.type in ("date", "timestamp"):
                    spoken = set(words[target.start : target.end + 1])
                    part = next((DATE_PART_WORDS[w] for w in spoken if w in DATE_PART_WORDS), None) or "month"
                    state.group = GroupBy(target.column.path, part)
                    if part == "month" and not spoken & MONTH_WORDS:
                        state.assumptions.append(f"{target.column.path} grouped by month")
                else:
                    state.group = GroupBy(target.column.path)
                state.group_explicit = True
                state.consumed_columns.add(target.column.path)
                state.mark(i, target.end)
                return
        # "which status is the most common", "most common origin", "which city has the most orders"
        if cues.common is not None:  # "the most common number of cylinders": a number with few values is grouped too
            mode = words[cues.common] in MODE_WORDS  # "the mode of Horsepower": any field, however many values
            target = next((m for m in mentions if not m.is_value and m.start > cues.common
                           and not set(range(m.start, m.end)) & state.used
                           and (m.column.type != "number" or _few_numbers(m.column) or _groupable(m.column) or mode)),
                          None)
            if target is None:
                target = next((m for m in mentions if not m.is_value and m.start < cues.common
                               and not set(range(m.start, m.end)) & state.used
                               and m.column.type != "number"), None)
            if target is not None:
                state.group = GroupBy(target.column.path)
                state.consumed_columns.add(target.column.path)
                state.mark(target.start, target.end)
                return
        asks = _which_at(words)
        if asks is not None and len(words) > asks + 1:
            k = asks + 1
            while k < len(words) and (words[k] in WHICH_FILLERS or k in state.used):
                k += 1
            if k < len(words) and words[k] in DATE_PART_WORDS and self._group_date(
                state, words[k], k, k + 1, explicit=False  # "which year had the lowest …": one year, the lowest
            ):
                return
            if superlative is not None and superlative.start == k:  # "what was the most populous country"
                k = superlative.end
            target = next((m for m in mentions if m.start in (k, k + 1) and not m.is_value
                           and not set(range(m.start, m.end)) & state.used), None)
            if target is not None and target.column.type in ("date", "timestamp"):
                state.mark(target.start, target.end)  # "which date had the highest X": the record's date
                return
            if target is not None and target.column.type in ("text", "boolean") and (
                _groupable(target.column) or state.limit is not None or cues.common is not None
                or target.column.path != self._schema.label_field
            ):
                state.group = GroupBy(target.column.path)
                state.consumed_columns.add(target.column.path)
                state.mark(target.start, target.end)

    def _groups_something(self, state: _State, mentions: list[_Mention], j: int) -> bool:
        """Whether the words at ``j``, after a group cue nothing grouped by, ask for groups: not a value ("paid by
        card", "given by women"), a number ("per 1000"), a measure ("won by Joly") or the records ("for each
        car"), nor nothing at all."""
        tokens = state.tokens
        if j >= len(tokens) or not tokens[j].lower.isalpha():
            return False
        cue = next((k for k in range(j - 1, -1, -1) if tokens[k].lower in GROUP_CUES), None)
        before = tokens[cue - 1].lower if cue else ""
        if cue is not None and tokens[cue].lower == BY and (before in PARTICIPLES or before.endswith(PAST_ENDING)):
            return False  # "won by Joly", "given by women": who did it, not groups
        ranked = state.limit is not None or any(t.lower in RANKING_WORDS for t in tokens[: cue or 0])
        measure = next((m for m in mentions if m.start in (j, j + 1) and not m.is_value
                        and m.column.type in ("number", "date", "timestamp")), None)
        if cue is not None and tokens[cue].lower == BY and ranked and measure is not None:
            state.mark(cue, cue + 1)  # "the top 5 cars by horsepower": ranked by it, not grouped
            return False
        if any(m.start in (j, j + 1) and m.is_value for m in mentions):
            return False
        return stem(tokens[j].lower) not in self._record_nouns

    def _read_versus(self, state: _State, mentions: list[_Mention], words: list[str]) -> bool:
        """ "smokers vs non-smokers" groups by smoker; "Japan vs Europe" by Origin, for those two values; "compare
        … of AAPL and MSFT" by symbol, for those two."""
        if self._read_compare(state, mentions, words):
            return True
        at = next((i for i, word in enumerate(words) if word in VERSUS or (word == COMPARED and i > 0)), None)
        if at is None:
            return False
        before = [m for m in mentions if m.end <= at and not set(range(m.start, m.end)) & state.used]
        after = [m for m in mentions if m.start > at and not set(range(m.start, m.end)) & state.used]
        for left in reversed(before):
            right = next((m for m in after if m.column.path == left.column.path), None)
            if right is None or not (_groupable(left.column) or _yes_no_values(left.column) is not None):
                continue
            self._side_by_side(state, left, right, at)
            return True
        return False

    def _read_compare(self, state: _State, mentions: list[_Mention], words: list[str]) -> bool:
        """ "Compare the average age of male and female victims": two values of one field joined by "and" after
        "compare" are groups to set side by side (one pooled number would answer another question)."""
        at = next((i for i, word in enumerate(words) if word in COMPARE_WORDS), None)
        if at is None:
            return False
        values = [m for m in mentions if m.is_value and m.start > at and not set(range(m.start, m.end)) & state.used]
        for left in values:
            right = next((m for m in values if m.start == left.end + 1 and m.column.path == left.column.path
                          and m.value != left.value), None)
            if right is None or words[left.end] != AND:
                continue
            self._side_by_side(state, left, right, at, left.end)
            return True
        return False

    @staticmethod
    def _side_by_side(state: _State, left: _Mention, right: _Mention, *cues: int) -> None:
        """Group by the field of two mentions set side by side (for their two values, when both are values); the
        mentions and the words at ``cues`` ("vs", "compare", "and") are read."""
        path = left.column.path
        state.group = GroupBy(path)
        state.group_explicit = True
        state.consumed_columns.add(path)
        if left.is_value and right.is_value:
            state.filters.append(Filter(path, "in", list(dict.fromkeys([left.value, right.value]))))
        for m in (left, right):
            state.mark(m.start, m.end)
        for k in cues:
            state.mark(k, k + 1)

    def _group_date(self, state: _State, word: str, start: int, end: int, *, explicit: bool = True) -> bool:
        part = DATE_PART_WORDS.get(word) or PERIODIC_PARTS.get(word)
        if part is None:
            return False
        column = self._date_column(state)
        if column is not None:
            state.group = GroupBy(column.path, part)
        else:
            year_column = self._year_column() if part == "year" else None
            if year_column is None:
                return False
            state.group = GroupBy(year_column.path)
            column = year_column
        state.group_explicit = explicit
        state.consumed_columns.add(column.path)
        state.mark(start, end)
        return True

    def _read_values(self, state: _State, mentions: list[_Mention]) -> None:
        words = [t.lower for t in state.tokens]
        by_column: dict[str, list[_Mention]] = {}
        for mention in mentions:
            if not mention.is_value or set(range(mention.start, mention.end)) & state.used:
                continue
            by_column.setdefault(mention.column.path, []).append(mention)
        for path, found in by_column.items():
            negated = [m for m in found if _negated(words, m.start) or any(  # "not in the group treatment"
                not n.is_value and n.column.path == path and n.end == m.start and _negated(words, n.start)
                for n in mentions)]
            positive = [m for m in found if m not in negated]
            for group, op_one, op_many in ((positive, "=", "in"), (negated, "!=", None)):
                if not group:
                    continue
                values = list(dict.fromkeys(m.value for m in group))
                if len(values) == 1 or op_many is None:
                    for value in values:
                        state.filters.append(Filter(path, op_one, value))
                else:
                    state.filters.append(Filter(path, op_many, values))
                for m in group:
                    state.mark(m.start, m.end)
                    for k in range(max(0, m.start - 3), m.start):
                        if words[k] in NEGATIONS | {THAN}:
                            state.mark(k, k + 1)
                    shown = " or ".join(f"'{v}'" for v in values)
                    note = f"{shown} read as {path} {'≠' if op_one == '!=' else '='} {', '.join(str(v) for v in values)}"
                    if note not in state.assumptions:
                        state.assumptions.append(note)
            state.consumed_columns.add(path)
            # the field's own name next to its value ("status returned") is part of the filter
            for mention in mentions:
                if not mention.is_value and mention.column.path == path:
                    state.mark(mention.start, mention.end)
        # booleans named as such: "gift orders", "orders that were not gifts", "smokers" (a Yes/No field)
        for mention in mentions:
            if mention.is_value or set(range(mention.start, mention.end)) & state.used:
                continue
            yes_no = _yes_no_values(mention.column)
            if mention.column.type != "boolean" and yes_no is None:
                continue
            before = set(words[max(0, mention.start - 3) : mention.start])
            value = not (before & (NEGATIONS | {NO}))
            if yes_no is not None:
                value = yes_no[0] if value else yes_no[1]
            state.filters.append(Filter(mention.column.path, "=", value))
            state.consumed_columns.add(mention.column.path)
            state.mark(mention.start, mention.end)
            state.assumptions.append(f"'{mention.column.path}' read as {mention.column.path} = {str(value).lower()}")

    # ------------------------------------------------------------------ putting it together
    def _assemble(
        self, state: _State, mentions: list[_Mention], cues: "_Cues", superlative: "_Superlative | None", question: str
    ) -> PlanOutcome:
        words = [t.lower for t in state.tokens]
        for k, word in enumerate(words):  # "above average": a comparison with a computed value, which no spec holds
            if word in MEAN_WORDS | MEDIAN_WORDS and k > 0 and (
                words[k - 1] in GT | LT | {THAN} or words[k - 1] == THE and k > 1 and words[k - 2] in GT | LT
            ):
                return PlanOutcome.unfilled(_("could not compare with the {word}: ask for the {word} first, then for "
                                              "the records above or below the number it gives").format(word=word))
        free = [m for m in mentions if not m.is_value and not set(range(m.start, m.end)) & state.used]
        measured = [m for m in free if m.column.type in ("number", "date", "timestamp")]
        if cues.has_sum:
            # "total" may be the sum or a field called total: "the largest order total" is a max of it,
            # "total quantity per category" a sum of quantity
            cue_field = [m for m in measured if m.start <= cues.sum < m.end]
            others = [m for m in measured if m not in cue_field]
            if cue_field and others:
                measured = others
            elif cue_field and (superlative is not None or cues.mean or cues.median):
                cues.sum = None
        for m in measured:
            if m.via and m.via not in state.assumptions:
                state.assumptions.append(m.via)
        words = [t.lower for t in state.tokens]

        aggregation: str | None = None
        field_path: str | None = None
        order = state.order
        limit = state.limit

        def pick_number(hints: Sequence[str] = (), *, dates: bool = False) -> ColumnInfo | None:
            allowed = ("number", "date", "timestamp") if dates else ("number",)
            for m in measured:
                if m.column.type in allowed:
                    return m.column
            if hints:
                hinted = self._hinted_field(hints, allowed)
                if hinted is not None:
                    state.assumptions.append(f"'{superlative.word if superlative else hints[0]}' read as {hinted.path}")
                    return hinted
            return self._similar_field(state, allowed)

        if cues.count_end and not (cues.mean or cues.median or (cues.has_sum and measured and cues.sum < (cues.count_end or 0))):
            if cues.distinct:
                target = next((m for m in free if m.start > cues.count_end), None) or (free[0] if free else None)
                if target is None:
                    return PlanOutcome.unfilled(_("could not tell which field to count the different values of"))
                aggregation, field_path = "count_distinct", target.column.path
            else:
                aggregation = "count"
                child = self._counted_child(state, cues)
                counted = self._counted_number(state, cues, measured)
                named = next((m for m in measured if m.column.type == "number" and not m.via
                              and 0 <= m.start - cues.count_end <= 2
                              and all(k in state.used for k in range(cues.count_end, m.start))), None)
                if counted is None and named is not None and not _whole_numbers(named.column):
                    state.mark(named.start, named.end)  # "how many tips": the records are tips, not amounts to add
                    free = [m for m in free if m is not named]
                named_values = self._counted_values(state, cues) if child is None and counted is None else None
                if child is not None:
                    aggregation, field_path = child
                elif named_values is not None:  # "how many countries in Africa" over country-year records
                    aggregation, field_path = "count_distinct", named_values.path
                elif counted is not None and counted is self._year_column():  # "number of years with …"
                    aggregation, field_path = "count_distinct", counted.path
                elif counted is not None:
                    aggregation, field_path = "sum", counted.path
                    state.assumptions.append(f"'how many … {counted.path}' read as the total of {counted.path}")
        elif cues.mean or cues.median or cues.has_sum:
            aggregation = "mean" if cues.mean else "median" if cues.median else "sum"
            column = pick_number()
            if column is None and cues.has_sum and not (cues.mean or cues.median):
                total_field = self._field_named(TOTAL_FIELD)
                column = total_field if total_field is not None and total_field.type == "number" else None
            if column is None:
                if cues.has_sum and not (cues.mean or cues.median) and cues.count_end:
                    aggregation = "count"
                elif cues.has_sum and (state.group is not None or cues.common is not None):
                    aggregation = "count"  # "total number of orders per status"
                else:
                    return PlanOutcome.unfilled(
                        _("could not tell which number field the average is of") if cues.mean
                        else _("could not tell which number field the median is of") if cues.median
                        else _("could not tell which number field the total is of"))
            else:
                field_path = column.path
        elif superlative is not None:
            direction = superlative.direction
            column = pick_number(superlative.hints, dates=True)
            if state.group is not None and state.group_explicit and column is not None \
                    and superlative.word not in COUNT_EXTREMES:
                aggregation, field_path = direction, column.path  # "the maximum horsepower for each origin"
            elif state.group is not None:
                if column is None and superlative.word not in COUNT_EXTREMES:
                    # "on which day was the lowest minimum temperature" with no field read: not a count of days
                    return PlanOutcome.unfilled(
                        _("could not tell which field '{word}' is about").format(word=superlative.word))
                if column is None:
                    aggregation = "count"
                else:
                    additive = bool(set(field_words(column.path)) & ADDITIVE_WORDS) or superlative.word in MOST_OR_LEAST
                    aggregation = "sum" if additive else direction
                    field_path = column.path
                    state.assumptions.append(
                        f"'{superlative.word}' read as the {aggregation} of {column.path} per {state.group.field}"
                    )
                order = "desc" if direction == "max" else "asc"
                limit = limit or 1
            elif column is None:
                if cues.common is not None or superlative.word in FREQUENCY_EXTREMES:
                    return PlanOutcome.unfilled(_("could not tell which field 'most' or 'least' is about"))
                return PlanOutcome.unfilled(
                    _("could not tell which field '{word}' is about").format(word=superlative.word))
            else:
                field_path = column.path
                if self._asks_for_records(words, state, superlative):
                    aggregation = "argmax" if direction == "max" else "argmin"
                    limit = limit or 1
                else:
                    aggregation = direction
        elif state.group is not None:
            aggregation = "count"
        else:
            return PlanOutcome.not_analytic()

        if state.group is not None and aggregation in ("argmax", "argmin"):
            aggregation = "max" if aggregation == "argmax" else "min"
        if state.group is not None and cues.common is not None and aggregation == "count":
            order = order or ("asc" if cues.common_least else "desc")
            limit = limit or (1 if cues.common_single else None)
        superlative_is_aggregation = state.group_explicit and aggregation in ("max", "min") and not cues.common
        if state.group is not None and superlative is not None and not superlative_is_aggregation and aggregation in (
            "count", "mean", "sum", "median", "max", "min", "count_distinct"
        ):
            order = order or ("desc" if superlative.direction == "max" else "asc")
            if _which_at(words) is not None and limit is None:
                limit = 1
        if limit is not None and state.group is not None and order is None:
            order = "desc"

        exact = [f.field for f in state.filters if f.op in ("=", "between")]
        clash = next((name for name in exact if exact.count(name) > 1), None)
        if clash is not None:  # "compare 2006 and 2010": no record is in both years
            return PlanOutcome.unfilled(
                _("the question names two values of {field} that no record has at once").format(field=clash))
        if aggregation == "count" and field_path is None:
            grouped = state.group.field if state.group is not None else None
            plain = not state.filters and grouped is None  # nothing read limits the count: every field named matters
            left = [m for m in free if (m.column.type == "number" or plain) and m.column.path not in state.consumed_columns
                    and m.column.path != grouped and m.score >= 1  # named in full, not one word of a longer name
                    and not (m.end - m.start == 1 and state.tokens[m.start].lower in _ALL_CUE_WORDS)]  # "in total"
            if left:  # "how many districts did Coderre win" (Coderre: a vote count): not a count of every district
                words_left = ", ".join(repr(" ".join(state.words(m.start, m.end))) for m in left)
                return PlanOutcome.unfilled(_("could not tell how {words} limits the count").format(words=words_left))
        unknown = self._unexplained_names(state, mentions, question)
        if unknown:
            return PlanOutcome.unfilled(_("could not match {words} to a field or value").format(
                words=", ".join(repr(u) for u in unknown)))
        if aggregation == "count" and field_path is None:
            unread = self._unread_words(state, mentions, cues)
            if unread:  # "how many languages are extinct": not every language; "… from Japan are fast": not all of them
                return PlanOutcome.unfilled(_("could not tell how {words} limits the count").format(
                    words=", ".join(repr(w) for w in unread)))

        spec = QuerySpec(
            aggregation=aggregation,
            field=field_path,
            filters=tuple(state.filters),
            group_by=state.group,
            order=order,
            limit=limit,
        )
        noun = self._records_word(state, mentions, cues) if aggregation == "count" and field_path is None else None
        share = cues.share and aggregation == "count" and field_path is None and state.group is None
        share_of = self._share_base(state, cues) if share else ()
        return PlanOutcome.planned(Plan(spec=spec, planner="rules", assumptions=tuple(dict.fromkeys(state.assumptions)),
                                        noun=noun, share=share, share_of=share_of))

    def _share_base(self, state: _State, cues: "_Cues") -> tuple[Filter, ...]:
        """The filters a share is taken of: the values named in the noun phrase after "percentage of" ("of
        Black victims", "of the treatment group", "of orders from Germany"), up to its verb; none when the
        phrase names no value (a share of all records)."""
        tokens = state.tokens
        named: set[tuple[str, Any]] = set()
        k = cues.count_end or 0
        while k < len(tokens):
            value = next((m for m in state.mentions if m.is_value and m.start <= k < m.end), None)
            field = next((m for m in state.mentions if not m.is_value and m.start <= k < m.end), None)
            word = tokens[k].lower
            if value is not None:
                named.add((value.column.path, value.value))
            elif field is not None:  # "of smokers": a yes/no field read as its yes
                named |= {(f.field, f.value) for f in state.filters if f.field == field.column.path and f.op == "="
                          and (field.column.type == "boolean" or _yes_no_values(field.column) is not None)}
            elif not (field or word in ARTICLES or word in SHARE_PHRASE_LINKS or stem(word) in self._record_nouns):
                break
            k += 1
        return tuple(f for f in state.filters if f.op in ("=", "in") and any(
            path == f.field and (value == f.value or isinstance(f.value, list) and value in f.value)
            for path, value in named))

    def _records_word(self, state: _State, mentions: list[_Mention], cues: "_Cues") -> str | None:
        """What a count question calls the records, when it names them right after the cue ("how many
        languages"): a plural that is no field, value or other word of the question's reading."""
        k = cues.count_end
        if k is None or k >= len(state.tokens) or k in state.used:
            return None
        named = next((m for m in mentions if m.start <= k < m.end), None)
        if named is not None and (named.is_value or named.end - named.start > 1
                                  or named.column.path != self._schema.label_field
                                  or named.column.path in state.consumed_columns):
            return None  # a value or a field ("customers": customer.name); the records' label field ("truck") names them
        word = state.tokens[k].lower
        if not word.isalpha() or len(word) < 4 or not word.endswith(PLURAL_ENDING) or word.endswith(NOT_PLURAL_ENDING):
            return None
        if word not in GENERIC_PLURALS and (word in FUNCTION_WORDS | QUESTION_FILLERS | _ALL_CUE_WORDS | COUNT_WORDS):
            return None
        return word

    def _counted_number(self, state: _State, cues: "_Cues", measured: list[_Mention]) -> ColumnInfo | None:
        """ "How many deaths from wounds were there?": a number field right after "how many" holds counts to add.

        Not when the words after "how many" name the records ("how many districts did Coderre win") or
        another field, and not for amounts ("how many tips on Sunday" counts tips: ``tip`` holds dollars)."""
        after = cues.count_end or 0
        if after < len(state.tokens) and (
            state.tokens[after].stem in self._record_nouns
            or any(state.tokens[after].stem in self._leaf_stems[c.path] for c in self._columns if c.type != "number")
        ):
            return None
        for m in measured:
            if m.column.type == "number" and not m.via and 0 <= m.start - after <= 3 and _whole_numbers(m.column):
                return m.column
        return None

    def _counted_values(self, state: _State, cues: "_Cues") -> ColumnInfo | None:
        """ "How many countries in Africa?" over records of a country and a year: the different values of the
        text field the counted plural names ("country", "country_name"), when that field repeats across
        records. A field with a new value in every record, or a plural that names the records themselves
        ("cars" in cars.json), leaves the count a count of records."""
        words = [t.lower for t in state.tokens]
        after = [k for k in range(cues.count_end or 0, len(words))  # "how many (African) countries": past the filters
                 if words[k] not in FUNCTION_WORDS | DISTINCT_WORDS and k not in state.used]
        if not after:
            return None
        token = state.tokens[after[0]]
        if token.stem in self._record_nouns or token.lower == token.stem or not token.lower.endswith(PLURAL_ENDING):
            return None
        named = [
            c for c in self._columns
            if c.type not in ("number", "date", "timestamp") and token.stem in self._leaf_stems[c.path]
            and self._leaf_stems[c.path] <= {token.stem} | NAMING_WORDS and 0 < c.distinct < self._table_rows(c)
        ]
        if not named:
            return None
        column = min(named, key=lambda c: len(self._leaf_stems[c.path]))  # "country" before "country_name"
        state.mark(after[0], after[0] + 1)
        state.assumptions.append(f"'{token.lower}' counted as the different values of {column.path}")
        return column

    def _counted_child(self, state: _State, cues: "_Cues") -> tuple[str, str | None] | None:
        """ "How many items were sold": the rows of a child table, or the sum of its quantity."""
        words = [t.lower for t in state.tokens]
        after = [k for k in range(cues.count_end or 0, len(words)) if words[k] not in FUNCTION_WORDS | DISTINCT_WORDS]
        for k in after[:1]:
            name = self._child_nouns.get(stem(words[k]))
            if name is None:
                continue
            state.mark(k, k + 1)
            quantity = next(
                (c for c in self._columns if c.table == name and c.type == "number"
                 and self._leaf_stems[c.path] & QUANTITY_FIELDS and PRICE_FIELD not in self._leaf_stems[c.path]),
                None,
            )
            if quantity is not None and (SALE_VERBS & set(words) or cues.has_sum):
                state.assumptions.append(f"'{words[k]}' counted as the sum of {quantity.path}")
                return "sum", quantity.path
            return "count", name
        return None

    def _asks_for_records(self, words: list[str], state: _State, superlative: "_Superlative") -> bool:
        """ "Which car has the highest X" / "the 3 heaviest cars" ask for records; "what is the highest X" for a value."""
        if state.limit is not None:
            return True
        if any(word in words for word in RECORD_ASKERS) or words[:1] == [WHEN]:
            return True
        if RECORD_LISTING_VERBS & set(words[:2]):
            return True
        k = superlative.end
        values = {j for m in state.mentions if m.is_value for j in range(m.start, m.end)}
        while k < len(words) and (words[k] in FUNCTION_WORDS or k in values):
            k += 1  # "the heaviest Japanese car"
        if k < len(words) and stem(words[k]) in self._record_nouns:
            return True  # "the heaviest car"
        if k < len(words) and words[k] in DAY_WORDS and self._date_columns():
            return True  # "what was the coldest day": the day's record, not the temperature alone
        if WITH in words[: superlative.start] and words[:1] != [WHAT] or WITH_THE in " ".join(words):
            return True
        if words[:1] == [WHAT] and len(words) > 1 and words[1] not in COPULAS:
            return stem(words[1]) in self._record_nouns or words[1] not in FUNCTION_WORDS | QUESTION_FILLERS
        return False

    def _hinted_field(self, hints: Sequence[str], allowed: tuple[str, ...]) -> ColumnInfo | None:
        for in_records in (True, False):
            for hint in hints:
                for column in self._columns:
                    if (column.table == "records") != in_records or column.type not in allowed:
                        continue
                    if hint in self._leaf_stems[column.path] | {self._acronyms[column.path]}:
                        return column
        return None

    def _code_field(self) -> ColumnInfo | None:
        """The one field of the records holding codes: named "code" (``iso_code``, ``code``), else the one text
        field whose values are all short codes (``alpha_3``: "dra", "gem"), one per record; None when there are
        none or several (``alpha_2``, ``alpha_3``, ``alpha_4``: the question must say which)."""
        records = [c for c in self._columns if c.table == "records"]
        named = [c for c in records if CODE_FIELD in field_words(c.path)]
        if named:
            return named[0] if len(named) == 1 else None
        coded = [c for c in records if c.type == "text" and c.values and c.present and c.distinct >= 0.95 * c.present
                 and all(isinstance(v, str) and 1 < len(v) <= 5 and v.isalnum() for v in c.values)
                 and c.path != self._schema.label_field]
        return coded[0] if len(coded) == 1 else None

    def _verb_field(self, word: str) -> ColumnInfo | None:
        """The one field of the records a verb names by its root ("won" -> winner, "withdrawn" -> withdrawal_date),
        or None: no field, or several."""
        root = VERB_ROOTS.get(word)
        if root is None:
            if not (word.endswith(PAST_ENDING) and len(word) >= 6):
                return None
            root = word[:-2] if word[-3] != word[-4] else word[:-3]  # "withdrawed", "shipped" -> "ship"
        found = [c for c in self._columns if c.table == "records" and c.type in ("text", "number", "date", "timestamp")
                 and any(name.startswith(root) and len(name) - len(root) <= 4 for name in field_words(c.path))]
        return found[0] if len(found) == 1 else None

    def _field_named(self, word: str) -> ColumnInfo | None:
        return next((c for c in self._columns if self._leaf_stems[c.path] == {word}), None)

    def _similar_field(self, state: _State, allowed: tuple[str, ...]) -> ColumnInfo | None:
        """The field whose name is closest in meaning to the question's leftover words (embeddings)."""
        if self._embed is None:
            return None
        leftovers = [t.lower for k, t in enumerate(state.tokens) if k not in state.used
                     and t.lower not in FUNCTION_WORDS | QUESTION_FILLERS and t.lower.isalpha()
                     and stem(t.lower) not in self._record_nouns and t.lower not in MEAN_WORDS | SUM_WORDS
                     | MEDIAN_WORDS | MAX_WORDS | MIN_WORDS]
        candidates = [c for c in self._columns if c.type in allowed]
        if not leftovers or not candidates:
            return None
        names = [" ".join(field_words(_leaf(c.path, c.table))) for c in candidates]
        vectors = self._embed([" ".join(leftovers)] + names)
        scores = vectors[1:] @ vectors[0]
        best = int(scores.argmax())
        if float(scores[best]) < 0.45:
            return None
        state.assumptions.append(f"'{' '.join(leftovers)}' read as {candidates[best].path} (closest field name)")
        return candidates[best]

    def _unread_words(self, state: _State, mentions: list[_Mention], cues: "_Cues") -> list[str]:
        """Words of a count that name neither a field, a value, nor the records themselves: read past, they would
        count every record ("how many languages are extinct"), or every record a filter keeps ("how many cars from
        Japan are fast")."""
        explained = _explained(state, mentions)
        values = {k for m in mentions if m.is_value for k in range(m.start, m.end)}  # "high" as a priority value
        skip = (FUNCTION_WORDS | QUESTION_FILLERS | _ALL_CUE_WORDS | NEGATIONS | MISSING_AFTER | MISSING_BEFORE
                | NAMING_WORDS | FIELD_WORDS | COUNT_FILLERS)  # "an alpha_2 code"
        unread: dict[int, str] = {}
        for k, token in enumerate(state.tokens):
            word = token.lower
            if word in VAGUE_ADJECTIVES and k not in values and (k == 0 or state.tokens[k - 1].lower not in AGE_UNITS):
                unread[k] = token.text  # "how many heavy cars": heavier than what? (not "30 years old")
                continue
            if k in explained or word in skip or word in MONTHS or not word.isalpha() or len(word) < 3:
                continue
            if stem(word) in self._record_nouns or word in self._child_nouns or word in COUNT_WORDS:
                continue
            if cues.count_end is None and self._names_records(state, k, cues):
                continue  # "which day has the most customers": the records, called so
            unread[k] = token.text
        noun = cues.count_end  # "how many (extinct) languages", "how many versicolor flowers": the last word of the
        while noun is not None and noun in explained and noun not in unread:  # words after the cue names the records
            noun += 1
        if noun is not None and noun in unread:
            while noun + 1 in unread:
                noun += 1
            after = state.tokens[noun + 1].lower if noun + 1 < len(state.tokens) else ""
            adjective = state.tokens[noun].lower in VAGUE_ADJECTIVES  # "how many hot days": no noun
            if stem(after) not in self._record_nouns and not adjective:  # "how many rusty cars": "cars" names them
                del unread[noun]
        return list(unread.values())

    def _unexplained_names(self, state: _State, mentions: list[_Mention], question: str) -> list[str]:
        """Capitalised or numeric words that name nothing: reading past them would answer another question."""
        explained = _explained(state, mentions)
        unknown = []
        for k, token in enumerate(state.tokens):
            if k in explained or token.lower in FUNCTION_WORDS | QUESTION_FILLERS:
                continue
            if k == 0 or stem(token.lower) in self._record_nouns or token.lower in self._child_nouns:
                continue
            if token.text[:1].isupper() and token.lower not in MONTHS and token.lower not in _ALL_CUE_WORDS:
                unknown.append(token.text)
            elif token.text.lstrip("-")[:1].isdigit():
                unknown.append(token.text)  # a number (a year, "more than 100") that no filter or limit took
        return unknown


# ----------------------------------------------------------------------------------------- analytic intent
INTENT_WORDS = frozenset(
    MEAN_WORDS | MEDIAN_WORDS | INTENT_CUE_WORDS
    | {word for word in SUPERLATIVE_FIELDS if word not in NOT_INTENT_SUPERLATIVES}
)
"""Words that ask for a count, a sum, an average, an extreme or a ranking."""


def analytic_intent(question: str) -> str | None:
    """The words of ``question`` that ask for a computation over records ("how many", "average", "highest",
    "per", "hottest"), or None for a lookup or an open question. Such a question is never answered by a model
    from a few retrieved records: computed over all of them, or refused with rephrasings."""
    words = [token.lower for token in tokenize(question)]
    found: list[str] = []
    for i, word in enumerate(words):
        pair = tuple(words[i : i + 2])
        if pair in INTENT_PAIRS:
            if pair == HOW_MUCH and not (TOTAL_WORDS & set(words)):
                continue  # "how much does the ford pinto weigh": a lookup
            found.append(" ".join(pair))
        elif word in INTENT_WORDS:
            found.append(word)
        elif len(word) > 5 and word.endswith(SUPERLATIVE_ENDING) and concepts(word):
            found.append(word)  # "hottest", "windiest"
    if found and words and words[0] in OPEN_REQUEST_WORDS and set(found) <= GROUPING_CUES:
        return None  # "write a report, one paragraph per order": how to write it, not a group to compute
    return found[0] if found else None



# ----------------------------------------------------------------------------------------- helpers
@dataclass(frozen=True)
class _NameRead:
    """A name the question writes, and the values it was read as."""

    start: int
    end: int
    """Token span."""
    written: str
    """As the question writes it."""
    match: NameMatch
    others: tuple[str, ...] = ()
    """Other values as close (a close reading only)."""

    @property
    def column(self) -> str:
        return self.match.values[0][0]

    def filter(self) -> Filter:
        values = list(dict.fromkeys(value for path, value in self.match.values if path == self.column))
        return Filter(self.column, "=", values[0]) if len(values) == 1 else Filter(self.column, "in", values)

    def note(self, index: NameIndex) -> str:
        """The read line: which value the name was taken as, and what else was close."""
        value = self.match.shown
        taken = value if self.match.values[0][0] == index.label else f"{self.column} = {value}"
        others = self.others if self.match.extra_words or self.match.likeness < 1 else tuple(
            other.shown for other in index.containing(self.written, field=self.column)
        )
        others = tuple(other for other in dict.fromkeys(others) if other != value)
        closest = " (the closest name)" if self.match.extra_words or self.match.likeness < 1 else ""
        also = f"; also {', '.join(others[:3])}" if others else ""
        return f"'{self.written}' → {taken}{closest}{also}"


@dataclass
class _Cues:
    count_end: int | None = None
    """Token index where a count cue ends ("how many" -> after "many")."""
    distinct: bool = False
    mean: bool = False
    median: bool = False
    sum: int | None = None
    group_word: bool = False
    common: int | None = None
    """Token index of "common"/"frequent"/"popular" in "most common X"."""
    common_least: bool = False
    common_single: bool = True
    share: bool = False
    """ "What percentage / share / proportion of …": a count, as a share of all records."""

    @property
    def has_sum(self) -> bool:
        return self.sum is not None


@dataclass
class _Superlative:
    direction: str
    start: int
    end: int
    hints: tuple[str, ...]
    word: str
    rivals: list[str] = field(default_factory=list)
    """Fields the word fits equally ("warmest" for two temperature fields, none named for the direction)."""


_ALL_CUE_WORDS = (MEAN_WORDS | MEDIAN_WORDS | SUM_WORDS | MAX_WORDS | MIN_WORDS | DISTINCT_WORDS | GROUP_CUES
                  | set(SUPERLATIVE_FIELDS) | set(DATE_PART_WORDS) | GT | LT | FREQUENCY_CUES
                  | SHARE_WORDS | MODE_WORDS)
_GRAMMAR = frozenset(
    FUNCTION_WORDS | QUESTION_FILLERS | _ALL_CUE_WORDS | COUNT_WORDS | NAMING_WORDS | FIELD_WORDS | LOOKUP_FILLERS
    | POLITE_OPENINGS | OPEN_QUESTIONS | LISTING_VERBS | NEGATIONS | MISSING_AFTER | MISSING_BEFORE | COMMON_WORDS
    | CONTAIN_WORDS | set(AFFIX_WORDS) | AFFIX_NOUNS | VERSUS | set(VERB_FORMS) | AGE_UNITS | set(MULTIPLIERS)
    | set(NUMBER_WORDS) | MODE_WORDS | GRAMMAR_WORDS
    | CUE_GRAMMAR
)
"""Words that place themselves: question words, cues, comparisons, naming words; they name no field or value."""
_SYNONYM_WORDS = frozenset(set(SYNONYMS) | {w for group in CONCEPTS.values() for w in group} | set(HOW_ADJECTIVES)
                           | VAGUE_ADJECTIVES)


def _find_cues(words: list[str]) -> _Cues:
    cues = _Cues()
    for i, word in enumerate(words):
        for cue in COUNT_CUES:
            if tuple(words[i : i + len(cue)]) == cue and cues.count_end is None:
                if cue == COUNT_ALONE and i > 0 and words[i - 1] in NOT_COUNT_LEADS:
                    continue
                if cues.common is not None and cue in (COUNT_ALONE, NUMBER_OF):
                    continue  # "the most common cylinder count": a value that is common, not a count
                cues.count_end = i + len(cue)
                window = words[i + len(cue) : i + len(cue) + 3]
                cues.distinct = bool(DISTINCT_WORDS & set(window))
        if word in MEAN_WORDS and not (word == MEAN_VERB and DO_WORDS & set(words[:i])):
            cues.mean = True  # "what does the goods_producing column mean?" asks a meaning, not an average
        elif word in MEDIAN_WORDS:
            cues.median = True
        elif word in SUM_CUES and cues.sum is None:
            cues.sum = i
        elif word in SUM_NOUNS and cues.sum is None and not (set(words) & (MEAN_WORDS | MEDIAN_WORDS)):
            cues.sum = i
        if word in GROUP_CUES or word in PERIODIC_GROUP_CUES:
            cues.group_word = True
        if word in COMMON_WORDS and i > 0 and words[i - 1] in MOST_OR_LEAST:
            cues.common = i
            cues.common_least = words[i - 1] == LEAST
            cues.common_single = not (i > 1 and _small_int(words[i - 2]))
        elif word in MODE_WORDS and cues.common is None:  # "the mode of Cylinders": the most common value
            cues.common, cues.common_least, cues.common_single = i, False, True
    for i, word in enumerate(words[:-1]):  # "what percentage of cars", "what share of the orders"
        if word in SHARE_WORDS and words[i + 1] == OF and cues.count_end is None and not cues.mean:
            cues.count_end, cues.share = i + 2, True
    if NUMBER in words and OF in words and cues.count_end is None:
        index = words.index(NUMBER)
        if index + 1 < len(words) and words[index + 1] == OF and (cues.common is None or index < cues.common):
            cues.count_end = index + 2
    return cues


def _joined_links(mentions: list[_Mention], tokens: list[Token]) -> list[_Mention]:
    """Mentions of one field by words next to each other joined into one ("city mpg" for ``cty``, "highway
    mileage" for ``hwy``): together they fit it better than either alone."""
    mentions.sort(key=lambda m: m.start)
    joined: list[_Mention] = []
    for mention in mentions:
        last = joined[-1] if joined else None
        if last is not None and last.end == mention.start and (last.via or mention.via) and last.score < 1.5:
            words = " ".join(t.text for t in tokens[last.start : mention.end])
            via = f"'{words}' read as {mention.column.path}"
            joined[-1] = _Mention(mention.column, last.start, mention.end, max(last.score, mention.score) + 0.05,
                                  via=via)
            continue
        joined.append(mention)
    return joined


def _swapped(spec: QuerySpec, old: str, new: str) -> QuerySpec:
    """``spec`` with the field ``old`` (measured or grouped) replaced by ``new``."""
    group = spec.group_by
    if group is not None and group.field == old:
        group = replace(group, field=new)
    return replace(spec, field=new if spec.field == old else spec.field, group_by=group)


def _names_the_records(tokens: list[Token], k: int) -> bool:
    """ "the country with …", "a language whose …": a noun that the conditions after it are about, the records."""
    after = tokens[k + 1].lower if k + 1 < len(tokens) else ""
    before = tokens[k - 1].lower if k > 0 else ""
    return tokens[k].lower.isalpha() and before in RECORD_NOUN_DETERMINERS and after in CONDITION_OPENERS


def _names_position(words: list[str], start: int) -> bool:
    """Whether the words from ``start`` stand where a question names a record: after "of", "for", "is", "named"
    ("the horsepower of the tesla", "how heavy is the tesla"), not after a field ("the column mean")."""
    k = start - 1
    while k >= 0 and words[k] in ARTICLES:
        k -= 1
    return k >= 0 and words[k] in NAME_POSITION_LEADS


def _which_at(words: list[str]) -> int | None:
    """Where a question asking for one thing starts: "which …", "what …", "in which year …"."""
    asks = 1 if len(words) > 2 and words[0] in WHICH_PREPOSITIONS else 0
    return asks if len(words) > asks and words[asks] in WHICH_WORDS else None


def _followed_by_common(words: list[str], i: int) -> bool:
    return i + 1 < len(words) and words[i + 1] in COMMON_WORDS


def _is_top_n(words: list[str], i: int) -> bool:
    return i + 1 < len(words) and _small_int(words[i + 1]) is not None


def _as_digits(token: Token) -> Token:
    """ "eight" read as "8" ("cars with eight cylinders"); "one" stays a word ("which one")."""
    number = NUMBER_WORDS.get(token.lower)
    if number is None:
        return token
    return Token(text=str(number), lower=str(number), stem=str(number), start=token.start, end=token.end)


def _small_int(word: str) -> int | None:
    if word == ONE:  # other number words reach here as digits (``_as_digits``)
        return 1
    if word.isdigit() and 0 < int(word) <= 100 and not _YEAR.match(word):
        return int(word)
    return None


def _date_span(words: list[str], i: int) -> tuple[int, int, date, date, str] | None:
    """A date expression starting at ``i``: "march 2024", "1982", "1970 to 1980", "between june and
    august 2015"."""
    word = words[i]
    day = _day_at(words, i)
    if day is not None:
        return i, day[1], day[0], day[0], day[0].isoformat()
    if (word in RANGE_OPENERS and i + 4 < len(words) and words[i + 1] in MONTHS and words[i + 2] in RANGE_JOINERS
            and words[i + 3] in MONTHS and _YEAR.match(words[i + 4])):
        year, first, last_month = int(words[i + 4]), MONTHS[words[i + 1]], MONTHS[words[i + 3]]
        if first <= last_month:
            last = calendar.monthrange(year, last_month)[1]
            return i, i + 5, date(year, first, 1), date(year, last_month, last), " ".join(words[i + 1 : i + 5])
    if word in MONTHS and i + 1 < len(words) and _YEAR.match(words[i + 1]):
        year, month = int(words[i + 1]), MONTHS[word]
        last = calendar.monthrange(year, month)[1]
        return i, i + 2, date(year, month, 1), date(year, month, last), f"{words[i]} {words[i + 1]}"
    if _YEAR.match(word) and i + 2 < len(words) and words[i + 1] in MONTHS and words[i + 1] != MAY:
        return None
    if _YEAR.match(word):
        before = words[i - 1] if i > 0 else ""
        if before in YEAR_LEADS or (
            i + 1 < len(words) and words[i + 1] in ALTERNATIVE_JOINERS
        ) is False:
            year = int(word)
            if before in RANGE_OPENERS and i + 2 < len(words) and words[i + 1] in RANGE_JOINERS and _YEAR.match(words[i + 2]):
                return i - 1, i + 3, date(year, 1, 1), date(int(words[i + 2]), 12, 31), f"{word} to {words[i + 2]}"
            return i, i + 1, date(year, 1, 1), date(year, 12, 31), word
    if word == BETWEEN and i + 3 < len(words) and _YEAR.match(words[i + 1]) and words[i + 2] == AND and _YEAR.match(words[i + 3]):
        return i, i + 4, date(int(words[i + 1]), 1, 1), date(int(words[i + 3]), 12, 31), f"{words[i + 1]} to {words[i + 3]}"
    return None


def _day_at(words: list[str], i: int) -> tuple[date, int] | None:
    """A day written at ``i`` and where it ends: "2003-03-01" (tokens 2003 03 01), "march 1 2003", "1 march 2003"."""
    def number(k: int, most: int) -> int | None:
        if k < len(words) and words[k].isdigit() and len(words[k]) <= 2 and 1 <= int(words[k]) <= most:
            return int(words[k])
        return None

    try:
        if _YEAR.match(words[i]) and len(words[i]) == 4:
            month, day = number(i + 1, 12), number(i + 2, 31)
            if month is not None and day is not None:
                return date(int(words[i]), month, day), i + 3
        if words[i] in MONTHS and i + 2 < len(words) and _YEAR.match(words[i + 2]):
            day = number(i + 1, 31)
            if day is not None:
                return date(int(words[i + 2]), MONTHS[words[i]], day), i + 3
        day = number(i, 31)
        if day is not None and i + 2 < len(words) and words[i + 1] in MONTHS and _YEAR.match(words[i + 2]):
            return date(int(words[i + 2]), MONTHS[words[i + 1]], day), i + 3
    except ValueError:  # "february 30"
        return None
    return None


def _month_alone(words: list[str], i: int) -> int | None:
    """The month named at ``i`` without a year after it ("in March", "March's"); a short name ("mar") or "may"
    only after "in"/"during"."""
    word = words[i]
    if word not in MONTHS:
        return None
    if i + 1 < len(words) and _YEAR.match(words[i + 1]):
        return None
    before = words[i - 1] if i > 0 else ""
    if (len(word) <= 3 or word == MAY) and before not in SHORT_MONTH_LEADS:
        return None
    if before.isdigit():
        return None  # "5 March": a day
    return MONTHS[word]


def _years_spanned(column: ColumnInfo) -> tuple[int, int] | None:
    """The first and last year of a date field's values, when known."""
    try:
        return int(str(column.minimum)[:4]), int(str(column.maximum)[:4])
    except (TypeError, ValueError):
        return None


def _comparator_before(words: list[str], i: int) -> tuple[str | None, int | None]:
    """The comparison written just before the number at ``i``, and where it starts."""
    window = words[max(0, i - 4) : i]
    text = " ".join(window)
    checks = ((AT_LEAST_PHRASES, ">="), (AT_MOST_PHRASES, "<="))
    for phrases, op in checks:
        for phrase in phrases:
            if text.endswith(phrase):
                return op, i - len(phrase.split())
    if window and window[-1] == BETWEEN:
        return "between", i - 1
    if window and window[-1] == THAN and len(window) >= 2:
        if window[-2] in GT:
            return ">", i - 2
        if window[-2] in LT:
            return "<", i - 2
    if window and window[-1] in ABOVE_WORDS:
        return ">", i - 1
    if window and window[-1] in BELOW_WORDS:
        return "<", i - 1
    if window and window[-1] in AFTER_WORDS:  # "year after 2000" on a number field of years
        return (">=" if window[-1] == SINCE else ">"), i - 1
    if window and window[-1] in BEFORE_WORDS:
        return ("<=" if window[-1] == UNTIL else "<"), i - 1
    if window and window[-1] in EQUAL_WORDS or text.endswith(EQUAL_TO):
        return "=", i - (2 if text.endswith(EQUAL_TO) else 1)
    return None, None


def _adjacent_field(mentions: list[_Mention], column: ColumnInfo, start: int, end: int) -> bool:
    """ "8 cylinders", "cylinders of 8", "a rating of 5": the number stands right beside its field."""
    for m in mentions:
        if m.column.path != column.path or m.is_value:
            continue
        if m.start == end or m.start == end + 1 or m.end == start or m.end + 1 == start or m.end + 2 == start:
            return True
    return False


def _near(mention: _Mention, start: int, end: int, distance: int) -> bool:
    return -distance <= mention.start - end <= distance or -distance <= start - mention.end <= distance


def _abbreviates(field_word: str, word: str) -> bool:
    """ "ret" for "return", "close" for "closing": one is the other cut short (4+ letters shared, or a 3-letter cut)."""
    if not word.isalpha() or word == field_word or len(field_word) < 3 or word in (
        FUNCTION_WORDS | QUESTION_FILLERS | _ALL_CUE_WORDS
    ):
        return False
    if len(field_word) == 3:
        return len(word) >= 5 and word.startswith(field_word)
    shared = 0
    for a, b in zip(field_word, word):
        if a != b:
            break
        shared += 1
    return shared >= 4 and shared >= min(len(field_word), len(word)) - 1


def _compared_number(words: list[str], k: int) -> bool:
    """Whether the word at ``k`` is a number written after a comparison ("than 75", "at least 18", "over 30"):
    a bound for the comparisons to place, never a value to be equal to ("other than 5" is a negated value)."""
    if parse_number(words[k]) is None:
        return False
    before = words[k - 1] if k else ""
    return before in COMPARISON_MARKS | GT | LT and not (before == THAN and k > 1 and words[k - 2] == OTHER)


def _negated(words: list[str], start: int) -> bool:
    """ "not from the USA", "other than delivered", "excluding Japan": a negation within three words before."""
    window = words[max(0, start - 3) : start]
    return bool(set(window) & NEGATIONS) or OTHER_THAN <= set(window)


def _yes_no_values(column: ColumnInfo) -> tuple[Any, Any] | None:
    """The stored (yes, no) spellings of a text field that only holds yes/no answers ("Yes"/"No")."""
    if column.type != "text" or not column.categorical:
        return None
    yes = [v for v in column.values if isinstance(v, str) and v.lower() in YES_VALUES]
    no = [v for v in column.values if isinstance(v, str) and v.lower() in NO_VALUES]
    if len(yes) != 1 or len(no) != 1 or len(column.values) != 2:
        return None
    return yes[0], no[0]


def _whole_numbers(column: ColumnInfo) -> bool:
    """The field's common values are whole numbers (counts such as deaths or quantities, not amounts)."""
    numbers = [v for v in column.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return bool(numbers) and all(float(v).is_integer() for v in numbers)


def _few_numbers(column: ColumnInfo) -> bool:
    """A number field with few distinct values (cylinders, party size): it can be grouped by."""
    return column.type == "number" and 0 < column.distinct <= 50 and column.distinct * 4 <= column.present


def _groupable(column: ColumnInfo) -> bool:
    return column.categorical or column.type == "boolean"


def _generic(covered: set[str]) -> bool:
    return covered <= GENERIC_FIELDS


def _explained(state: _State, mentions: list[_Mention]) -> set[int]:
    """Token indexes the reading has placed: used by a filter, a limit or a date, or naming a field or value."""
    explained = set(state.used) | state.talked
    for mention in mentions:
        explained.update(range(mention.start, mention.end))
    return explained


def _written_text(question: str, after: int) -> tuple[str, int, bool]:
    """The text as written after offset ``after`` (spaces skipped): between quotes when it opens with one, else
    up to the next space, without the question's closing punctuation; where it ends; whether it was quoted."""
    start = after
    while start < len(question) and question[start].isspace():
        start += 1
    if start < len(question) and question[start] in "\"'“‘":
        start += 1
        close = min((i for i in (question.find(q, start) for q in _CLOSING) if i >= 0), default=-1)
        if close > start:
            return question[start:close], close, True
    end = start
    while end < len(question) and not question[end].isspace():
        end += 1
    text = question[start:end].rstrip("?!.,;:" + _CLOSING)
    return text, start + len(text), False


def _op_words(op: str, value: Any) -> str:
    if op == "between":
        return f"between {value[0]} and {value[1]}"
    return f"{op} {value}"


def _leaf(path: str, table: str) -> str:
    """The part of a path a question names: ``items.category`` -> ``category``; ``customer.city`` -> ``city``."""
    if table != "records" and path.startswith(table + "."):
        return path[len(table) + 1 :]
    return path.rsplit(".", 1)[-1]


def _content_stems(path: str) -> set[str]:
    return {stem(w) for w in field_words(path) if w not in FUNCTION_WORDS and len(w) > 1} or {
        stem(w) for w in field_words(path)
    }


def _value_index(columns: list[ColumnInfo]) -> dict[tuple[str, ...], list[tuple[ColumnInfo, Any]]]:
    """Word sequence -> the (column, value) pairs it spells, for every categorical text value."""
    index: dict[tuple[str, ...], list[tuple[ColumnInfo, Any]]] = {}
    for column in columns:
        if column.type != "text" or not column.categorical:
            continue
        for value in column.values:
            if not isinstance(value, str):
                continue
            words = value_words(value)
            if not words or len(words) > 4:
                continue
            index.setdefault(tuple(words), []).append((column, value))
            stems = tuple(stem(w) for w in words)
            if stems != tuple(words):
                index.setdefault(stems, []).append((column, value))
            plurals = tuple(words[:-1]) + (words[-1] + PLURAL_ENDING,)
            index.setdefault(plurals, []).append((column, value))
            if len(words) == 1 and len(words[0]) >= 3 and words[0].isalpha():  # "rainy days", "not sunny"
                index.setdefault((words[0] + ADJECTIVE_ENDING,), []).append((column, value))
                index.setdefault((words[0] + words[0][-1] + ADJECTIVE_ENDING,), []).append((column, value))
            for day, short in WEEKDAYS.items():
                if words == [day[:3]] or (len(words) == 1 and words[0] in short):
                    index.setdefault((day,), []).append((column, value))
                    index.setdefault((day + PLURAL_ENDING,), []).append((column, value))
        for alias, value in _sex_aliases(column):  # "women" for Female, "men" for M
            index.setdefault((alias,), []).append((column, value))
        for value in column.values:  # "American cars" for USA, "European" for Europe
            for demonym in DEMONYMS.get(str(value).strip().lower(), ()):
                index.setdefault((demonym,), []).append((column, value))
                if len(str(value).strip()) <= 4:  # a place written short ("USA", "UK"): its name in words too
                    for place in _DEMONYM_PLACES[demonym]:
                        if " " in place:  # "united states" for USA ("us" alone stays a word)
                            index.setdefault(tuple(place.split()), []).append((column, value))
    for column in columns:  # "Germany" for DE, unless a value of the data is spelled "Germany" already
        for words, value in _country_code_aliases(column):
            if words not in index:
                index[words] = [(column, value)]
    return index


COUNTRY_CODE_SHARE = 0.8
"""Share of a column's values that must be ISO 3166 country codes ("DE", "NL") for country names to meet them:
US state codes ("CA", "DE", "IN") are about half country codes, and are not read as countries."""


def _country_code_aliases(column: ColumnInfo) -> list[tuple[tuple[str, ...], Any]]:
    """(words of a country's English name, its code) for a column of two-letter country codes ("DE" is met by
    "Germany", and through the French lexicon by "Allemagne"); nothing for any other column."""
    if column.type != "text" or not column.categorical:
        return []
    codes = [v for v in column.values if isinstance(v, str)]
    if len(codes) < 3 or not all(len(v) == 2 and v.isalpha() and v.isupper() for v in codes):
        return []
    names = _territory_names()
    known = [v for v in codes if v in names]
    if len(known) < COUNTRY_CODE_SHARE * len(codes):
        return []
    return [(tuple(value_words(names[code])), code) for code in known if value_words(names[code])]


@functools.lru_cache(maxsize=1)
def _territory_names() -> dict[str, str]:
    """ISO 3166 two-letter code -> the country's English name (Babel's CLDR data)."""
    from babel import Locale

    return {code: name for code, name in Locale.parse(LEXICON_CODE).territories.items() if len(code) == 2 and code.isalpha()}


def _sex_aliases(column: ColumnInfo) -> list[tuple[str, Any]]:
    """The words a question uses for the values of a sex or gender column ("women", "men", "males"), when the
    column holds one value of each kind ("Female"/"Male", "F"/"M", "woman"/"man")."""
    kinds: list[tuple[frozenset[str], Any]] = []
    for words in SEX_WORDS:
        value = next((v for v in column.values if isinstance(v, str) and v.strip().lower() in words), None)
        if value is None:
            return []
        kinds.append((words, value))
    return [(alias, value) for words, value in kinds for alias in sorted(words & SEX_ALIASES)]


def _record_nouns(schema: TableSchema, noun: str | None) -> set[str]:
    nouns = set(RECORD_NOUNS)
    name = (noun or schema.dataset_name or "").lower()
    for word in field_words(name.rsplit(".", 1)[0]):
        if word.isalpha() and word not in FILE_NAME_WORDS:
            nouns.add(stem(word))
    return nouns
