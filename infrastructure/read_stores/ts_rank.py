"""PostgreSQL's `ts_rank` (default weights, no normalization) computed in Python, bit for bit,
for the in-process search index (`search_memory.py`).

What is reproduced is `calc_rank` of PostgreSQL's `src/backend/utils/adt/tsrank.c`: the
query's distinct operands in byte order; `calc_rank_and` (pairs of positions of different
operands, weighted by their distance) when the query's top operator is AND, else
`calc_rank_or` (each operand's positions, the heaviest first, averaged over the operands).
The C code mixes `float` and `double`: every `float` operation is rounded to single
precision here (`_f32`) where C rounds it, so equal ranks stay equal and the order the
database gives (rank, then SKU) is the order given here. A differential test
(tests/contract/test_search_memory.py) compares both over generated queries.

The texts parsed are PostgreSQL's own output (`document::text`, `plainto_tsquery(...)::text`):
the lexemes are the database's, never recomputed here."""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Sequence

_PACK = struct.Struct("f")
# A lexeme in single quotes (`''` a quote, `\\` a backslash), then `:1A,5,7C` positions.
_ENTRY = re.compile(r"'((?:[^'\\]|''|\\.)*)'(?::([0-9A-D,]+))?(?: |$)")
_QUOTED = re.compile(r"'((?:[^'\\]|''|\\.)*)'")
_UNESCAPE = re.compile(r"''|\\(.)")
_WEIGHT = {"A": 3, "B": 2, "C": 1}  # WEP_GETWEIGHT: D (not printed) is 0
MAXENTRYPOS = 1 << 14

# Each position is packed as `position << 2 | weight` (weight 0..3, D..A).
Positions = tuple[int, ...]
Vector = dict[str, Positions]


def _f32(x: float) -> float:
    """A C `float`: the double rounded to single precision."""
    return float(_PACK.unpack(_PACK.pack(x))[0])


# `static const float weights[] = {0.1f, 0.2f, 0.4f, 1.0f}` (D, C, B, A)
_W = tuple(_f32(w) for w in (0.1, 0.2, 0.4, 1.0))
_NEGATIVE_RANK = _f32(1e-20)
_FAR = _f32(1e-30)


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda m: "'" if m.group(0) == "''" else m.group(1), text)


def parse_tsvector(text: str) -> Vector | None:
    """`'garraf':1A,11B 'inox':3A` -> {lexeme: packed positions}; None if the text is not
    in the form expected (nothing is guessed)."""
    vector: Vector = {}
    at = 0
    for found in _ENTRY.finditer(text):
        if found.start() != at:
            return None
        at = found.end()
        lexeme, positions = found.group(1), found.group(2)
        if "'" in lexeme or "\\" in lexeme:
            lexeme = _unescape(lexeme)
        if not positions:
            vector[lexeme] = ()
            continue
        packed = []
        try:
            for part in positions.split(","):
                weight = _WEIGHT.get(part[-1])
                if weight is None:
                    packed.append(int(part) << 2)
                else:
                    packed.append(int(part[:-1]) << 2 | weight)
        except (ValueError, IndexError):
            return None
        vector[lexeme] = tuple(packed)
    return vector if at == len(text) else None


def parse_lexemes(text: str) -> tuple[str, ...] | None:
    """`plainto_tsquery`'s output for one word: `'a'` or `'a' & 'b'` (or empty) -> the
    lexemes; None for any other shape (`|`, phrase, prefix, weights, negation)."""
    lexemes: list[str] = []
    at = 0
    while at < len(text):
        if lexemes:
            if not text.startswith(" & ", at):
                return None
            at += 3
        found = _QUOTED.match(text, at)
        if found is None:
            return None
        lexemes.append(_unescape(found.group(1)))
        at = found.end()
    return tuple(lexemes)


def _word_distance(distance: int) -> float:
    if distance > 100:
        return _FAR
    return _f32(1.0 / (1.005 + 0.05 * math.exp(_f32(distance) / 1.5 - 2)))


def _byte_order(operands: Sequence[str]) -> list[str]:
    """SortAndUniqItems: distinct operands, in `tsCompareString` order (bytes, then length)."""
    return sorted(set(operands), key=lambda lexeme: lexeme.encode())


def _rank_or(vector: Vector, operands: list[str]) -> float:
    res = 0.0
    for operand in operands:
        positions = vector.get(operand)
        if positions is None:
            continue
        if not positions:  # no positions: one at 0, weight D
            positions = (0,)
        resj = 0.0
        wjm = -1.0
        jm = 0
        for j, packed in enumerate(positions):
            w = _W[packed & 3]
            resj = _f32(resj + _f32(w / _f32((j + 1) * (j + 1))))
            if w > wjm:
                wjm = w
                jm = j
        inner = _f32(_f32(wjm + resj) - _f32(wjm / _f32((jm + 1) * (jm + 1))))
        res = _f32(res + inner / 1.64493406685)
    return _f32(res / _f32(len(operands))) if operands else res


def _rank_and(vector: Vector, operands: list[str]) -> float:
    null = ((MAXENTRYPOS - 1) << 2,)  # a lexeme without positions: the last position, D
    found: list[Positions | None] = []
    res = -1.0
    for operand in operands:
        positions = vector.get(operand)
        if positions is None:
            found.append(None)
            continue
        is_null = not positions
        mine = null if is_null else positions
        for theirs in found:
            if theirs is None:
                continue
            theirs_null = theirs is null
            for a in mine:
                for b in theirs:
                    distance = abs((a >> 2) - (b >> 2))
                    if distance or is_null or theirs_null:
                        if not distance:
                            distance = MAXENTRYPOS
                        product = _f32(_f32(_W[a & 3] * _W[b & 3]) * _word_distance(distance))
                        curw = _f32(math.sqrt(product))
                        res = curw if res < 0 else _f32(1.0 - (1.0 - res) * (1.0 - curw))
        found.append(mine)
    return res


def ts_rank(vector: Vector, operands: Sequence[str], top_is_and: bool) -> float:
    """`ts_rank(document, query)` of a query whose operands are `operands` (in any order,
    repeats allowed) and whose top operator is AND or not."""
    if not vector or not operands:
        return 0.0
    distinct = _byte_order(operands)
    if top_is_and and len(distinct) >= 2:
        res = _rank_and(vector, distinct)
    else:
        res = _rank_or(vector, distinct)
    return _NEGATIVE_RANK if res < 0 else res
