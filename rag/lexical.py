"""BM25 keyword search (``bm25s``) with a tokenizer that keeps codes and numbers intact.

Tokens are runs of letters and digits, lowercased, with accents folded (``Côte`` -> ``cote``).
There is no stemming: a stemmer turns codes into other strings. Dates and hyphenated codes
become their parts (``1970-01-01`` -> ``1970 01 01``), which a query written the same way matches.

Documents keep every token: in a dataset ``US``, ``IT``, ``NO`` or ``AND`` are codes, not the
English words a stopword list would drop. Questions lose their English function words
("which", "the", "has", ...) unless written in capitals: "the" in "Which country has the code
AD?" would otherwise rank every record whose name contains "the" above Andorra, while "AD",
"US" or "IT" typed in capitals are kept. A question made of stopwords only keeps them all.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Callable, Sequence

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN_PLUS

_TOKEN = re.compile(r"[^\W_]+")
QUERY_STOPWORDS = frozenset(STOPWORDS_EN_PLUS)
"""English function words dropped from questions when not written in capitals."""
MAX_QUERY_TOKEN_SHARE = 0.5
"""Question words found in more than this share of the documents are ignored: they select nothing,
yet would put every document into the BM25 ranking ("alpha" and "3" of the field ``alpha_3`` in
"alpha-3 code NOR") and crowd the one that holds the rare word out of the fused ranking."""

LexicalProgress = Callable[[int, int], None]

_LEXICAL_FILE = "lexical.json"
_BM25_DIR = "bm25"


def _words(text: str) -> list[str]:
    """Runs of letters and digits with accents removed, case kept."""
    if text.isascii():  # nothing to fold (most records): a third of the keyword index's build time at 1M
        return _TOKEN.findall(text)
    decomposed = unicodedata.normalize("NFKD", text)
    return _TOKEN.findall("".join(c for c in decomposed if not unicodedata.combining(c)))


def tokenize(text: str) -> list[str]:
    """Lowercased runs of letters and digits, accents removed; nothing is dropped (documents)."""
    return [word.casefold() for word in _words(text)]


def tokenize_query(query: str) -> list[str]:
    """Like ``tokenize``, without English stopwords unless written in capitals (``US``, ``IT`` stay)."""
    words = _words(query)
    tokens = [word.casefold() for word in words]
    kept = [
        token
        for word, token in zip(words, tokens)
        if token not in QUERY_STOPWORDS or (len(word) > 1 and word.isupper())
    ]
    return kept or tokens


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
        return index

    def scores(self, query: str) -> np.ndarray:
        """The BM25 score of every text for ``query``, counting only words that occur in at most half of them."""
        if self._bm25 is None:
            return np.zeros(self.size, dtype=np.float32)
        indptr = self._bm25.scores["indptr"]  # CSC by token: documents of token t are indptr[t]:indptr[t + 1]
        limit = MAX_QUERY_TOKEN_SHARE * self.size
        token_ids = [t for t in self._bm25.get_tokens_ids(tokenize_query(query)) if indptr[t + 1] - indptr[t] <= limit]
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
