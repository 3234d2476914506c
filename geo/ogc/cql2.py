"""CQL2 text filters (OGC API Features Part 3, Basic CQL2 plus ``S_INTERSECTS``) compiled to SQL.

Grammar (keywords and function names are case-insensitive)::

    filter     = or
    or         = and { OR and }
    and        = not { AND not }
    not        = NOT not | primary
    primary    = "(" or ")" | S_INTERSECTS "(" spatial "," spatial ")" | predicate
    predicate  = operand ("=" | "<>" | "<" | "<=" | ">" | ">=") operand
               | property [NOT] LIKE string
               | property [NOT] IN "(" literal { "," literal } ")"
               | property [NOT] BETWEEN literal AND literal
               | property IS [NOT] NULL
    operand    = property | literal          (a comparison has one of each, in either order)
    spatial    = property | WKT | BBOX "(" number "," number "," number "," number ")"
    literal    = string | number | TRUE | FALSE | DATE "(" string ")" | TIMESTAMP "(" string ")"
    property   = identifier | '"' quoted identifier '"'

Strings are single-quoted; a quote inside is written ``''`` or ``\\'``, as CQL2 allows (so a
string cannot end with a backslash).
Numbers are integers or decimals with an optional sign and exponent. WKT is POINT, LINESTRING,
POLYGON, MULTIPOINT, MULTILINESTRING, MULTIPOLYGON or GEOMETRYCOLLECTION in lon/lat (Z values
are dropped); BBOX is minx, miny, maxx, maxy. ``DATE('2026-01-31')`` is a date and
``TIMESTAMP('2026-01-31T08:00:00Z')`` an instant, which needs ``Z`` or an offset. LIKE patterns
use ``%`` and ``_`` as wildcards and ``\\`` as the escape character.

Types: a property is compared only with literals of its type. Text takes strings; numbers and
integers take numbers; booleans take TRUE/FALSE, with ``=`` and ``<>`` only; a date takes
DATE(...) and a timestamp TIMESTAMP(...) literals only: plain strings are refused rather than
guessed at. LIKE needs a text property, S_INTERSECTS a geometry one; a geometry is never
compared. IS NULL applies to any property.

Everything else is refused with :class:`~geo.errors.InvalidInput` naming the reason and, for
syntax, the 1-based character position. Property names are looked up in the allow-list given
to :func:`compile_filter`; literals only ever reach the SQL as bound parameters ``:p0``, ``:p1``...
"""

from __future__ import annotations

import datetime as dt
import math
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
import shapely.wkt
from shapely.errors import ShapelyError
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidInput

ColumnType = typing.Literal["text", "number", "integer", "boolean", "date", "timestamp", "geometry"]


@dataclass(frozen=True)
class Column:
    """A queryable: a trusted SQL expression of the given type."""

    sql: str
    type: ColumnType


@dataclass(frozen=True)
class Property:
    name: str


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool | dt.date | dt.datetime

    def __str__(self) -> str:
        match self.value:
            case bool():
                return str(self.value).upper()
            case dt.datetime():
                return f"TIMESTAMP('{self.value.isoformat().replace('+00:00', 'Z')}')"
            case dt.date():
                return f"DATE('{self.value.isoformat()}')"
            case str():
                return "'{}'".format(self.value.replace("'", "''"))
        return str(self.value)

    @property
    def kind(self) -> str:
        """text, number, boolean, date or timestamp."""
        match self.value:
            case bool():
                return "boolean"
            case int() | float():
                return "number"
            case dt.datetime():
                return "timestamp"
            case dt.date():
                return "date"
        return "text"


Operand = Property | Literal


@dataclass(frozen=True)
class And:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


@dataclass(frozen=True)
class Compare:
    left: Operand
    op: str
    right: Operand


@dataclass(frozen=True)
class Like:
    property: Property
    pattern: str


@dataclass(frozen=True)
class In:
    property: Property
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class IsNull:
    property: Property


@dataclass(frozen=True)
class Between:
    property: Property
    low: Literal
    high: Literal


@dataclass(frozen=True)
class Intersects:
    property: Property
    geometry: BaseGeometry


Expr = And | Or | Not | Compare | Like | In | IsNull | Between | Intersects

_COMPARISONS = ("=", "<>", "<", "<=", ">", ">=")
_RESERVED = {"AND", "OR", "NOT", "LIKE", "IN", "IS", "NULL", "BETWEEN", "TRUE", "FALSE"}
_GEOMETRY_TYPES = {
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
}
_WKT_MODIFIERS = {"Z", "M", "ZM", "EMPTY"}
_FUNCTIONS = "S_INTERSECTS, BBOX, DATE, TIMESTAMP"

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_IDENTIFIER = re.compile(r"[^\W\d]\w*")
_SYMBOLS = ("<=", ">=", "<>", "=", "<", ">", "(", ")", ",")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class _Token:
    kind: typing.Literal["string", "number", "identifier", "quoted", "symbol", "end"]
    text: str
    value: Any
    start: int
    end: int

    @property
    def position(self) -> int:
        return self.start + 1

    def is_symbol(self, symbol: str) -> bool:
        return self.kind == "symbol" and self.text == symbol

    def is_word(self, *words: str) -> bool:
        return self.kind == "identifier" and self.text.upper() in words

    def __str__(self) -> str:
        if self.kind == "end":
            return "end of the filter"
        shown = self.text if len(self.text) <= 30 else f"{self.text[:27]}..."
        return shown if self.kind == "string" else repr(shown)


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The content of the quoted token at ``start`` (escaped quotes undone) and its end."""
    quote, chars, i = text[start], [], start + 1
    while i < len(text):
        ch = text[i]
        if ch == quote and text.startswith(quote, i + 1):
            chars.append(quote)
            i += 2
        elif ch == quote:
            return "".join(chars), i + 1
        elif quote == "'" and ch == "\\" and text.startswith("'", i + 1):
            chars.append("'")
            i += 2
        else:
            chars.append(ch)
            i += 1
    what = "string" if quote == "'" else "quoted property name"
    raise InvalidInput(f"unterminated {what} starting at position {start + 1}")


def _number(raw: str, start: int) -> int | float:
    if re.fullmatch(r"[+-]?\d+", raw):
        return int(raw)
    value = float(raw)
    if not math.isfinite(value):
        raise InvalidInput(f"number {raw} at position {start + 1} is out of range")
    return value


def _tokenize(text: str) -> list[_Token]:
    tokens, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "'\"":
            value, end = _quoted(text, i)
            kind = "string" if ch == "'" else "quoted"
        elif number := _NUMBER.match(text, i):
            end, kind = number.end(), "number"
            value = _number(number.group(), i)
        elif identifier := _IDENTIFIER.match(text, i):
            end, kind, value = identifier.end(), "identifier", identifier.group()
        elif symbol := next((s for s in _SYMBOLS if text.startswith(s, i)), None):
            end, kind, value = i + len(symbol), "symbol", symbol
        else:
            raise InvalidInput(f"unexpected character {ch!r} at position {i + 1}")
        tokens.append(_Token(kind, text[i:end], value, i, end))
        i = end
    tokens.append(_Token("end", "", None, len(text), len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str, max_depth: int, max_vertices: int) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.max_depth = max_depth
        self.max_vertices = max_vertices

    @property
    def token(self) -> _Token:
        return self.tokens[self.index]

    @property
    def next(self) -> _Token:
        return self.tokens[min(self.index + 1, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.token
        self.index += 1
        return token

    def accept(self, word: str) -> bool:
        if self.token.is_word(word):
            self.index += 1
            return True
        return False

    def expect(self, symbol_or_word: str) -> None:
        token = self.token
        if not (token.is_symbol(symbol_or_word) or token.is_word(symbol_or_word)):
            raise self.unexpected(repr(symbol_or_word))
        self.index += 1

    def unexpected(self, expected: str) -> InvalidInput:
        token = self.token
        return InvalidInput(f"unexpected {token} at position {token.position}, expected {expected}")

    @contextmanager
    def nested(self) -> Iterator[None]:
        self.depth += 1
        if self.depth > self.max_depth:
            raise InvalidInput(
                f"the filter is nested more than {self.max_depth} levels deep "
                f"(at position {self.token.position})"
            )
        yield
        self.depth -= 1

    def filter(self) -> Expr:
        expr = self.disjunction()
        if self.token.kind != "end":
            raise self.unexpected("AND, OR or the end of the filter")
        return expr

    def disjunction(self) -> Expr:
        items = [self.conjunction()]
        while self.accept("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def conjunction(self) -> Expr:
        items = [self.negation()]
        while self.accept("AND"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else And(tuple(items))

    def negation(self) -> Expr:
        if self.accept("NOT"):
            with self.nested():
                return Not(self.negation())
        if self.token.is_symbol("("):
            self.index += 1
            with self.nested():
                expr = self.disjunction()
            self.expect(")")
            return expr
        if self.token.is_word("S_INTERSECTS") and self.next.is_symbol("("):
            return self.intersects()
        return self.predicate()

    def predicate(self) -> Expr:
        start = self.token
        left = self.operand()
        if self.token.kind == "symbol" and self.token.text in _COMPARISONS:
            op = self.take().text
            right = self.operand()
            if isinstance(left, Property) == isinstance(right, Property):
                raise InvalidInput(
                    f"the comparison at position {start.position} needs a property on one side "
                    "and a literal on the other"
                )
            return Compare(left, op, right)
        if isinstance(left, Literal):
            raise self.unexpected("a comparison operator")
        if self.accept("IS"):
            negated = self.accept("NOT")
            self.expect("NULL")
            node: Expr = IsNull(left)
        else:
            negated = self.accept("NOT")
            if self.accept("LIKE"):
                node = Like(left, self.pattern())
            elif self.accept("IN"):
                node = In(left, self.literals())
            elif self.accept("BETWEEN"):
                low = self.literal()
                self.expect("AND")
                node = Between(left, low, self.literal())
            else:
                ops = "LIKE, IN or BETWEEN"
                raise self.unexpected(ops if negated else f"a comparison operator, {ops} or IS")
        return Not(node) if negated else node

    def operand(self) -> Operand:
        token = self.token
        if token.kind == "quoted" or (
            token.kind == "identifier"
            and token.text.upper() not in _RESERVED
            and not self.next.is_symbol("(")
        ):
            self.index += 1
            return Property(token.value)
        return self.literal("a property or a literal")

    def literal(self, expected: str = "a literal") -> Literal:
        token = self.token
        if token.kind in ("string", "number"):
            self.index += 1
            return Literal(token.value)
        if token.is_word("TRUE", "FALSE"):
            self.index += 1
            return Literal(token.text.upper() == "TRUE")
        if token.kind == "identifier" and self.next.is_symbol("("):
            return self.instant()
        raise self.unexpected(expected)

    def literals(self) -> tuple[Literal, ...]:
        self.expect("(")
        values = [self.literal()]
        while self.token.is_symbol(","):
            self.index += 1
            values.append(self.literal())
        self.expect(")")
        return tuple(values)

    def pattern(self) -> str:
        token = self.token
        if token.kind != "string":
            raise self.unexpected("a quoted LIKE pattern")
        self.index += 1
        return token.value

    def instant(self) -> Literal:
        name = self.take()
        word = name.text.upper()
        if word in _GEOMETRY_TYPES or word in ("BBOX", "S_INTERSECTS"):
            raise InvalidInput(
                f"S_INTERSECTS at position {name.position} is a condition, not a value"
                if word == "S_INTERSECTS"
                else f"the geometry {name.text} at position {name.position} is only allowed "
                "inside S_INTERSECTS"
            )
        if word not in ("DATE", "TIMESTAMP"):
            raise InvalidInput(
                f"function {name.text} (position {name.position}) is not supported; "
                f"supported: {_FUNCTIONS}"
            )
        self.expect("(")
        argument = self.token
        if argument.kind != "string":
            raise self.unexpected(f"a quoted {word.lower()}")
        self.index += 1
        self.expect(")")
        form, example = (
            (_DATE, "2026-01-31") if word == "DATE" else (_TIMESTAMP, "2026-01-31T08:00:00Z")
        )
        try:
            if not form.fullmatch(argument.value):
                raise ValueError
            value = (dt.date if word == "DATE" else dt.datetime).fromisoformat(argument.value)
        except ValueError:
            raise InvalidInput(
                f"{word}({argument.text}) at position {name.position} is not a valid "
                f"{word.lower()}: write e.g. {word}('{example}')"
            ) from None
        return Literal(value)

    def intersects(self) -> Intersects:
        start = self.take()
        self.expect("(")
        first = self.spatial()
        self.expect(",")
        second = self.spatial()
        self.expect(")")
        match first, second:
            case Property(), BaseGeometry():
                return Intersects(first, second)
            case BaseGeometry(), Property():
                return Intersects(second, first)
        raise InvalidInput(
            f"S_INTERSECTS at position {start.position} needs a geometry property and a "
            "geometry literal"
        )

    def spatial(self) -> Property | BaseGeometry:
        token = self.token
        word = token.text.upper() if token.kind == "identifier" else ""
        if word in _GEOMETRY_TYPES and (self.next.is_symbol("(") or self.next.kind == "identifier"):
            return self.wkt()
        if word == "BBOX" and self.next.is_symbol("("):
            return self.bbox()
        operand = self.operand()
        if isinstance(operand, Literal):
            raise InvalidInput(
                f"S_INTERSECTS takes a property or a geometry, not {token} "
                f"(position {token.position})"
            )
        return operand

    def wkt(self) -> BaseGeometry:
        start = self.take()
        while self.token.kind == "identifier" and self.token.text.upper() in _WKT_MODIFIERS:
            self.index += 1
        end = self.tokens[self.index - 1].end
        if self.token.is_symbol("("):
            depth = 0
            while True:
                token = self.token
                if token.kind == "end":
                    raise InvalidInput(
                        f"invalid WKT at position {start.position}: unbalanced parentheses"
                    )
                self.index += 1
                depth += token.is_symbol("(") - token.is_symbol(")")
                if depth > self.max_depth:
                    raise InvalidInput(
                        f"the geometry at position {start.position} is nested more than "
                        f"{self.max_depth} levels deep"
                    )
                if depth == 0:
                    end = token.end
                    break
        try:
            geometry = shapely.wkt.loads(self.text[start.start : end])
        except ShapelyError as exc:
            raise InvalidInput(f"invalid WKT at position {start.position}: {exc}".strip()) from None
        return self.checked(geometry, f"WKT at position {start.position}")

    def bbox(self) -> BaseGeometry:
        start = self.take()
        self.expect("(")
        numbers = [self.number()]
        while self.token.is_symbol(","):
            self.index += 1
            numbers.append(self.number())
        self.expect(")")
        where = f"BBOX at position {start.position}"
        if len(numbers) != 4:
            raise InvalidInput(f"{where} needs 4 numbers (minx, miny, maxx, maxy)")
        minx, miny, maxx, maxy = numbers
        if not (minx < maxx and miny < maxy):
            raise InvalidInput(f"{where} needs minx < maxx and miny < maxy")
        return self.checked(shapely.box(minx, miny, maxx, maxy), where)

    def number(self) -> float:
        token = self.token
        if token.kind != "number":
            raise self.unexpected("a number")
        self.index += 1
        try:
            return float(token.value)
        except OverflowError:  # an integer of 309+ digits
            raise InvalidInput(
                f"number {token.text} at position {token.position} is out of range"
            ) from None

    def checked(self, geometry: BaseGeometry, where: str) -> BaseGeometry:
        """The geometry if it is usable: not empty, small enough, lon/lat, valid."""
        if geometry.is_empty:
            raise InvalidInput(f"invalid {where}: the geometry is empty")
        vertices = shapely.get_num_coordinates(geometry)
        if vertices > self.max_vertices:
            raise InvalidInput(
                f"invalid {where}: {vertices} vertices, more than {self.max_vertices}"
            )
        if not np.isfinite(shapely.get_coordinates(geometry)).all():
            raise InvalidInput(f"invalid {where}: a coordinate is not a finite number")
        minx, miny, maxx, maxy = geometry.bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise InvalidInput(
                f"invalid {where}: coordinates must be longitude -180..180, latitude -90..90"
            )
        if not geometry.is_valid:
            raise InvalidInput(f"invalid {where}: {shapely.is_valid_reason(geometry)}")
        return geometry


def parse(
    text: str, *, max_length: int = 4000, max_depth: int = 30, max_vertices: int = 10_000
) -> Expr:
    """The expression tree of a CQL2 text filter; InvalidInput if it is not one."""
    if len(text) > max_length:
        raise InvalidInput(f"the filter is {len(text)} characters long, more than {max_length}")
    if not text.strip():
        raise InvalidInput("the filter is empty")
    if "\x00" in text:
        raise InvalidInput("the filter contains a NUL character")
    return _Parser(text, max_depth, max_vertices).filter()


_ACCEPTS = {
    "text": "text",
    "number": "number",
    "integer": "number",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}
_HINTS = {
    "date": ": write DATE('YYYY-MM-DD')",
    "timestamp": ": write TIMESTAMP('YYYY-MM-DDTHH:MM:SSZ')",
}


class _Compiler:
    def __init__(self, columns: Mapping[str, Column]) -> None:
        self.columns = columns
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def column(self, prop: Property) -> Column:
        column = self.columns.get(prop.name)
        if column is None:
            raise InvalidInput(
                f"unknown property {prop.name!r}; queryable: {', '.join(sorted(self.columns))}"
            )
        return column

    def scalar(self, prop: Property, literals: Sequence[Literal], op: str) -> str:
        """The column's SQL once the literals are checked to suit it and the operator."""
        column = self.column(prop)
        if column.type == "geometry":
            raise InvalidInput(f"{prop.name} is a geometry: filter it with S_INTERSECTS")
        if column.type == "boolean" and op not in ("=", "<>", "IN"):
            raise InvalidInput(f"{op} does not apply to the boolean property {prop.name}")
        for literal in literals:
            if literal.kind != _ACCEPTS[column.type]:
                raise InvalidInput(
                    f"property {prop.name} is of type {column.type} and cannot be compared with "
                    f"{literal}{_HINTS.get(column.type, '')}"
                )
        return column.sql

    def sql(self, node: Expr) -> str:
        match node:
            case And(items) | Or(items):
                joiner = " AND " if isinstance(node, And) else " OR "
                return f"({joiner.join(self.sql(item) for item in items)})"
            case Not(item):
                return f"(NOT {self.sql(item)})"
            case Compare(Property() as prop, op, Literal() as literal):
                return f"{self.scalar(prop, [literal], op)} {op} {self.bind(literal.value)}"
            case Compare(Literal() as literal, op, Property() as prop):
                return f"{self.bind(literal.value)} {op} {self.scalar(prop, [literal], op)}"
            case Like(prop, pattern):
                column = self.column(prop)
                if column.type != "text":
                    raise InvalidInput(f"LIKE needs a text property; {prop.name} is {column.type}")
                return f"{column.sql} LIKE {self.bind(pattern)} ESCAPE '\\'"
            case In(prop, values):
                sql = self.scalar(prop, values, "IN")
                return f"{sql} IN ({', '.join(self.bind(v.value) for v in values)})"
            case Between(prop, low, high):
                sql = self.scalar(prop, [low, high], "BETWEEN")
                return f"{sql} BETWEEN {self.bind(low.value)} AND {self.bind(high.value)}"
            case IsNull(prop):
                return f"{self.column(prop).sql} IS NULL"
            case Intersects(prop, geometry):
                column = self.column(prop)
                if column.type != "geometry":
                    raise InvalidInput(
                        f"S_INTERSECTS needs a geometry property; {prop.name} is {column.type}"
                    )
                wkt = shapely.to_wkt(geometry, rounding_precision=-1, output_dimension=2)
                return f"ST_Intersects({column.sql}, ST_GeomFromText({self.bind(wkt)}, 4326))"
        raise TypeError(f"not a CQL2 expression: {node!r}")


def compile_filter(
    text: str,
    columns: Mapping[str, Column],
    *,
    max_length: int = 4000,
    max_depth: int = 30,
    max_vertices: int = 10_000,
) -> tuple[str, dict[str, Any]]:
    """A CQL2 text filter as a SQL boolean expression over the allow-listed ``columns``, with
    its bind parameters (``:p0``, ``:p1``...) for ``sqlalchemy.text``; InvalidInput if refused."""
    compiler = _Compiler(columns)
    sql = compiler.sql(
        parse(text, max_length=max_length, max_depth=max_depth, max_vertices=max_vertices)
    )
    return sql, compiler.params
