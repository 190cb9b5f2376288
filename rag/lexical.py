"""BM25 keyword search (``bm25s``) with a tokenizer that keeps codes and numbers intact, in English and French.

Tokens are runs of letters and digits, lowercased, with accents folded (``Côte`` -> ``cote``, ``Québec`` meets
``Quebec``); an apostrophe ends a token, so French elisions come apart (``l'Allemagne`` -> ``l allemagne``).
Dates and hyphenated codes become their parts (``1970-01-01`` -> ``1970 01 01``), which a query written the
same way matches.

Documents keep every token, unstemmed: in a dataset ``US``, ``IT``, ``NO``, ``DE`` or ``EST`` are codes, not the
English or French words a stopword list would drop, and a stemmer would turn codes into other strings. So the
index is the same whatever the language of the questions.

Questions lose the function words of their language unless written in capitals: "the" in "Which country has
the code AD?" would otherwise rank every record whose name contains "the" above Andorra, and so would "le",
"de" or "l" in "Quel est le code de l'Andorre ?". The language is guessed from which stopword list the
question's lowercase words hit more (``question_language``); a question that hits both alike loses both lists'
words, and one made of stopwords only keeps them all. The words of a French question also match the indexed
words of the same Snowball stem (``commandes`` finds ``commande``, ``retournées`` finds ``retourné``), but
only words of at least ``MIN_VARIANT_CHARS`` letters, so that ``code`` never reaches the code ``COD``. The
stems are worked out from the indexed vocabulary when the index is built or loaded: the stored index is the
same as before (no stemmed copy of it), so entries in the dataset store need no rebuild.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH

_TOKEN = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """``text`` with accents removed (``Québec`` -> ``Quebec``); case kept."""
    if text.isascii():  # nothing to fold (most records): a third of the keyword index's build time at 1M
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


FRENCH_QUESTION_WORDS = (
    "quel", "quelle", "quels", "quelles", "lequel", "laquelle", "lesquels", "lesquelles", "combien", "comment",
    "quand", "pourquoi", "quoi", "dont", "cet", "cette", "tout", "tous", "toute", "toutes",
)
"""French words a question asks with, missing from bm25s's French list while its English one has "which",
"how", "when", "all"."""
ENGLISH_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
FRENCH_STOPWORDS = frozenset(fold(word) for word in (*STOPWORDS_FRENCH, *FRENCH_QUESTION_WORDS))
"""bm25s's French list (NLTK's, with the elided ``l``, ``d``, ``qu``, ``n``...) and the question words, folded."""
QUERY_STOPWORDS = ENGLISH_STOPWORDS | FRENCH_STOPWORDS
"""English and French function words: a lowercase one in a question selects nothing on its own."""
_ONLY = {"en": ENGLISH_STOPWORDS - FRENCH_STOPWORDS, "fr": FRENCH_STOPWORDS - ENGLISH_STOPWORDS}
_STOPWORDS = {"en": ENGLISH_STOPWORDS, "fr": FRENCH_STOPWORDS, None: QUERY_STOPWORDS}
STEMMED_LANGUAGES = {"fr": "french"}
"""Languages whose questions also match the other inflections of their words, by PyStemmer's Snowball name."""
MIN_VARIANT_CHARS = 4
"""Shortest word, asked or indexed, that the inflections of a French question reach: shorter ones are often codes
(``code`` stems to ``cod``, the alpha-3 code of Congo-Kinshasa)."""
MAX_QUERY_TOKEN_SHARE = 0.5
"""Question words found in more than this share of the documents are ignored: they select nothing,
yet would put every document into the BM25 ranking ("alpha" and "3" of the field ``alpha_3`` in
"alpha-3 code NOR") and crowd the one that holds the rare word out of the fused ranking."""

LexicalProgress = Callable[[int, int], None]
Variants = Mapping[str, Mapping[str, tuple[int, ...]]]
"""By language: a stem -> the ids of the indexed words that have it."""

_LEXICAL_FILE = "lexical.json"
_BM25_DIR = "bm25"


def _words(text: str) -> list[str]:
    """Runs of letters and digits with accents removed, case kept."""
    return _TOKEN.findall(fold(text))


def tokenize(text: str) -> list[str]:
    """Lowercased runs of letters and digits, accents removed; nothing is dropped (documents)."""
    return [word.casefold() for word in _words(text)]


def _in_capitals(word: str) -> bool:
    """A word written in capitals (``US``, ``IT``, ``EST``): a code, never a function word."""
    return len(word) > 1 and word.isupper()


def question_language(query: str) -> str | None:
    """``"en"`` or ``"fr"``: the language whose own function words the question's lowercase words hit more;
    ``None`` on a tie (none of either, or as many of each)."""
    tokens = [word.casefold() for word in _words(query) if not _in_capitals(word)]
    english = sum(token in _ONLY["en"] for token in tokens)
    french = sum(token in _ONLY["fr"] for token in tokens)
    return "en" if english > french else "fr" if french > english else None


def tokenize_query(query: str, language: str | None = None) -> list[str]:
    """Like ``tokenize``, without the function words of the question's language (``question_language`` when
    ``language`` is None) unless written in capitals (``US``, ``IT`` stay); all tokens if only those are left."""
    stopwords = _STOPWORDS[language or question_language(query)]
    words = _words(query)
    tokens = [word.casefold() for word in words]
    kept = [token for word, token in zip(words, tokens) if token not in stopwords or _in_capitals(word)]
    return kept or tokens


def stems(words: list[str], language: str) -> list[str]:
    """The Snowball stems of folded ``words``, stemmed twice: the French stemmer expects accents, and on a folded
    word a second pass strips the ending the first one left (``retournee`` -> ``retourne`` -> ``retourn``, as
    ``retournée`` -> ``retourn`` and ``retourné`` -> ``retourn``)."""
    stemmer = Stemmer.Stemmer(STEMMED_LANGUAGES[language])  # one per call: a stemmer is not thread-safe
    return stemmer.stemWords(stemmer.stemWords(words))


def _variant_map(vocabulary: Iterable[tuple[str, int]], language: str) -> dict[str, tuple[int, ...]]:
    """Stem -> ids of the indexed words of at least ``MIN_VARIANT_CHARS`` letters (no digits) that have it."""
    words = [(word, token_id) for word, token_id in vocabulary if len(word) >= MIN_VARIANT_CHARS and word.isalpha()]
    variants: dict[str, list[int]] = {}
    for stem, (_, token_id) in zip(stems([word for word, _ in words], language), words):
        variants.setdefault(stem, []).append(token_id)
    return {stem: tuple(ids) for stem, ids in variants.items()}


class LexicalIndex:
    """BM25 over a fixed list of texts; read-only after construction, so searches may run in parallel."""

    def __init__(self, texts: Sequence[str], progress: LexicalProgress | None = None) -> None:
        self.size = len(texts)
        self._bm25: bm25s.BM25 | None = None
        if progress is not None:
            progress(0, self.size)
        corpus_tokens = [tokenize(text) for text in texts]
        if any(corpus_tokens):
            self._bm25 = bm25s.BM25()
            self._bm25.index(corpus_tokens, show_progress=False)
        self._variants = self._build_variants()
        if progress is not None:
            progress(self.size, self.size)

    def save(self, folder: str | Path) -> None:
        """Write the index into ``folder``: its size as JSON and bm25s's own files (``.npy`` arrays written
        with ``allow_pickle=False``, the vocabulary and parameters as JSON)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _LEXICAL_FILE).write_text(json.dumps({"size": self.size, "bm25": self._bm25 is not None}), "utf-8")
        if self._bm25 is not None:
            self._bm25.save(str(folder / _BM25_DIR), corpus=None, allow_pickle=False)

    @classmethod
    def load(cls, folder: str | Path) -> LexicalIndex:
        """The index ``save`` wrote into ``folder`` (arrays read with ``allow_pickle=False``)."""
        folder = Path(folder)
        facts = json.loads((folder / _LEXICAL_FILE).read_text("utf-8"))
        index = cls.__new__(cls)
        index.size = int(facts["size"])
        index._bm25 = None
        if facts["bm25"]:
            index._bm25 = bm25s.BM25.load(str(folder / _BM25_DIR), load_corpus=False, mmap=False, allow_pickle=False)
            indexed = int(index._bm25.scores["num_docs"])
            if indexed != index.size:
                raise ValueError(f"{folder}: the keyword index holds {indexed} texts, not {index.size}")
        index._variants = index._build_variants()
        return index

    def _build_variants(self) -> Variants:
        """The inflections of the indexed words, for each of ``STEMMED_LANGUAGES`` (nothing is stored for them)."""
        if self._bm25 is None:
            return {}
        vocabulary = self._bm25.vocab_dict.items()
        return {language: _variant_map(vocabulary, language) for language in STEMMED_LANGUAGES}

    def query_token_ids(self, query: str) -> list[int]:
        """Ids of the indexed words ``query`` asks for: each kept question word, and in a stemmed language the
        indexed words of its stem (each id once per question word)."""
        assert self._bm25 is not None
        language = question_language(query)
        vocabulary = self._bm25.vocab_dict
        tokens = tokenize_query(query, language)
        variants = self._variants.get(language) if language else None
        if not variants:
            return [vocabulary[token] for token in tokens if token in vocabulary]
        ids: list[int] = []
        for token, stem in zip(tokens, stems(tokens, language)):
            own = [vocabulary[token]] if token in vocabulary else []
            others = variants.get(stem, ()) if len(token) >= MIN_VARIANT_CHARS and token.isalpha() else ()
            ids.extend(dict.fromkeys([*own, *others]))
        return ids

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every text for ``query``, counting only indexed words (asked, or inflections of a
        word asked) that occur in at most half of them."""
        if self._bm25 is None:
            return np.zeros(self.size, dtype=np.float32)
        indptr = self._bm25.scores["indptr"]  # CSC by token: documents of token t are indptr[t]:indptr[t + 1]
        limit = MAX_QUERY_TOKEN_SHARE * self.size
        token_ids = [t for t in self.query_token_ids(query) if indptr[t + 1] - indptr[t] <= limit]
        if not token_ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(token_ids), dtype=np.float32)

    def search(self, query: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` texts for ``query`` as ``(scores, ids)``, best first; texts scoring 0 are left out."""
        scores = self.scores(query)
        k = min(k, self.size)
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        top = np.argpartition(-scores, k - 1)[:k] if k < self.size else np.arange(self.size)
        top = top[np.argsort(-scores[top], kind="stable")]
        top = top[scores[top] > 0]
        return scores[top], top.astype(np.int64)
