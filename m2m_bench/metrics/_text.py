"""Word-level text helpers for the action metrics: tokens, content lemmas, information units.

Everything here is part of the definitions of KMR and IC (``docs/metrics.md``): a change to
the tokenizer, the stop list, the lemmatizer or the unit splitter is a new version of both.
"""

from __future__ import annotations

import re
from functools import lru_cache

import simplemma

#: Words: maximal runs of Unicode letters and digits (apostrophes and hyphens split words).
_WORD = re.compile(r"[^\W_]+")

#: English function words: articles, pronouns, auxiliaries, prepositions, conjunctions,
#: particles of contractions and a few discourse adverbs. They carry no action content.
FUNCTION_WORDS = frozenset(
    """
    a an the this that these those some any each every either neither no another such
    i me my mine myself we us our ours ourselves you your yours yourself yourselves
    he him his himself she her hers herself it its itself they them their theirs themselves
    one ones what which who whom whose whatever whoever
    am is are was were be been being have has had having do does did doing done
    will would shall should can could may might must ought
    to of in on at by for with from into onto upon about above below over under
    through across along around behind beside besides between beyond near toward towards
    against among within without inside outside off out up down via per
    and or but nor so yet if then than as because while when whenever where wherever
    whether until unless although though since before after once
    not also very just too only even still again ever quite rather really
    there here how why all both few more most other own same s t d ll m re ve don
    """.split()
)

#: Placeholder subjects of M2M action sentences ("a person ..."): present in almost every
#: reference and prediction, so counting them would reward any answer.
GENERIC_SUBJECTS = frozenset({"person", "persons", "someone", "somebody", "individual"})

STOPWORDS = FUNCTION_WORDS | GENERIC_SUBJECTS

#: Words at which an action sentence is cut into information units: coordinating and
#: subordinating conjunctions, and prepositions that open place, direction or instrument
#: phrases. Particles of phrasal verbs (up, down, off, out, over, at) do not cut.
UNIT_BOUNDARIES = frozenset(
    """
    and or but nor then while when whenever as because so before after until once
    on onto in into inside with without toward towards to from across along around
    behind beside near through under beneath against among between by for
    """.split()
)
_PUNCT = re.compile(r"[^\w\s'’\-]+")


_POSSESSIVE = re.compile(r"['’]s\b")


def tokens(text: str) -> list[str]:
    """Lower-cased words of ``text`` (see ``_WORD``), possessive ``'s`` removed."""
    return _WORD.findall(_POSSESSIVE.sub("", text.lower()))


@lru_cache(maxsize=65536)
def lemma(word: str) -> str:
    """The English lemma of one lower-cased word (simplemma, offline dictionary)."""
    return simplemma.lemmatize(word, lang="en").lower()


def content_lemmas(text: str) -> frozenset[str]:
    """Lemmas of the words of ``text`` that are not in :data:`STOPWORDS`.

    A word is dropped when either its surface form or its lemma is a stop word.
    """
    out = set()
    for w in tokens(text):
        if w in STOPWORDS:
            continue
        lw = lemma(w)
        if lw not in STOPWORDS:
            out.add(lw)
    return frozenset(out)


def info_units(text: str) -> list[str]:
    """The information units of an action sentence, in order, without repeats.

    The text is cut at punctuation and at :data:`UNIT_BOUNDARIES`; in each piece the leading
    and trailing stop words are dropped; pieces with no content word left are dropped. A unit
    is the remaining words joined by single spaces, e.g.
    ``"a person positioning their surfboard on the sand, scanning the waves"`` gives
    ``["positioning their surfboard", "sand", "scanning the waves"]``.
    """
    units: list[str] = []
    for piece in _PUNCT.split(text.lower()):
        chunk: list[str] = []
        for w in tokens(piece) + [None]:  # None flushes the last chunk
            if w is None or w in UNIT_BOUNDARIES:
                while chunk and chunk[0] in STOPWORDS:
                    chunk.pop(0)
                while chunk and chunk[-1] in STOPWORDS:
                    chunk.pop()
                if chunk:
                    u = " ".join(chunk)
                    if u not in units:
                        units.append(u)
                chunk = []
            else:
                chunk.append(w)
    return units
