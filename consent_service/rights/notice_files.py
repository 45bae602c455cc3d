"""The file an operator writes from the State Council's holiday notice (国务院办公厅关于部分节假日
安排的通知), read and checked before anything is loaded.

The notice for a year appears around November of the year before, often before the
``chinese-calendar`` package knows it. The file is YAML, or JSON with the same keys::

    year: 2027
    holidays:            # days off, with their names
      - {date: 2027-01-01, name: 元旦}
      - {from: 2027-02-06, to: 2027-02-13, name: 春节}
    working_days:        # weekend days moved into working days (调休)
      - {date: 2027-02-14, name: 春节调休}

It is checked strictly, and the first problem is named with its line: only these keys; a year
of four digits; dates written ``YYYY-MM-DD`` and in that year; a period off (``from``, ``to``) of
at most 31 days; a single day off that is a weekday (a weekend day is off anyway, and listed only
within a period); working days that are Saturdays or Sundays; no day listed twice, nor both off
and worked. Nothing but plain text, whole numbers and ``true``/``false`` is read from YAML: a
date stays text until it is checked, and ``no`` is a name, not a boolean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import yaml

from consent_service.errors import DomainError

#: A notice is a few dozen lines; anything much larger is not one.
MAX_NOTICE_CHARS = 64 * 1024
MAX_NODES = 5000
MAX_PERIOD_DAYS = 31
MAX_NAME_CHARS = 100
FIRST_YEAR, LAST_YEAR = 1900, 2999

_TOP_KEYS = {"year", "holidays", "working_days"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_NOT_A_MAPPING = "a notice is a mapping of year, holidays and working_days"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class NoticeInvalid(DomainError):
    """A notice file that cannot be loaded: ``line`` (1-based, when known) and what is wrong."""

    code = "calendar_notice_invalid"
    status = 422

    def __init__(self, line: int | None, path: str, problem: str) -> None:
        """Name the line (or, for data that came from no file, the path) and the problem."""
        where = f"line {line}" if line is not None else (path or "the notice")
        super().__init__(f"{where}: {problem}")
        self.line = line
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class NoticeDay:
    """One day a notice names: off (``is_working_day`` false) or a weekend day worked."""

    day: date
    is_working_day: bool
    name: str


@dataclass(frozen=True)
class Notice:
    """A checked notice: its year and the days it names, in date order."""

    year: int
    days: tuple[NoticeDay, ...]

    @property
    def holidays(self) -> tuple[NoticeDay, ...]:
        """The days off."""
        return tuple(day for day in self.days if not day.is_working_day)

    @property
    def working_days(self) -> tuple[NoticeDay, ...]:
        """The weekend days worked (调休)."""
        return tuple(day for day in self.days if day.is_working_day)


class MarkedDict(dict):
    """A mapping read from a file, with the line of each key and of each value."""

    line: int
    key_lines: dict[str, int]
    value_lines: dict[str, int]


class MarkedList(list):
    """A list read from a file, with the line of each item."""

    line: int
    item_lines: list[int]


def read_notice(text: str) -> Mapping[str, Any]:
    """The notice in ``text`` (YAML, or JSON) as plain data that remembers its lines.

    JSON is read through the YAML loader too (after checking it is JSON), so that its problems
    are named by line the same way; the tabs JSON allows between tokens are read as spaces.
    :class:`NoticeInvalid` for text that is neither.
    """
    if len(text) > MAX_NOTICE_CHARS:
        raise NoticeInvalid(None, "", f"the file is longer than {MAX_NOTICE_CHARS} characters")
    if text.lstrip().startswith("{"):
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise NoticeInvalid(exc.lineno, "", f"not JSON: {exc.msg}") from exc
        text = text.replace("\t", " ")  # in JSON a tab can only be whitespace between tokens
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise NoticeInvalid(1, "", "the file is empty")
        if not isinstance(node, yaml.MappingNode):
            raise NoticeInvalid(node.start_mark.line + 1, "", _NOT_A_MAPPING)
        return _Builder(loader).build(node, "")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise NoticeInvalid(mark.line + 1 if mark else None, "", f"not YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise NoticeInvalid(None, "", f"not YAML: {exc}") from exc
    finally:
        loader.dispose()


def parse_notice(data: Mapping[str, Any]) -> Notice:
    """The checked notice in ``data`` (from :func:`read_notice`, or a plain mapping built in code,
    whose problems are named by their path instead of a line). :class:`NoticeInvalid` names the
    first problem."""
    if not isinstance(data, Mapping):
        raise NoticeInvalid(_line(data), "", _NOT_A_MAPPING)
    _only_keys(data, "", _TOP_KEYS, required={"year", "holidays"})
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise NoticeInvalid(_line(data, "year"), "year", f"year must be a year such as 2027, not {year!r}")
    listed: dict[date, tuple[NoticeDay, int | None]] = {}
    holidays = _entries(data, "holidays")
    if not holidays:
        raise NoticeInvalid(_line(data, "holidays"), "holidays", "a notice names at least one day off")
    for index, entry in enumerate(holidays):
        path = f"holidays[{index}]"
        _check_entry(holidays, index, path, {"date", "from", "to", "name"})
        name = _name(entry, path)
        if "date" in entry:
            if "from" in entry or "to" in entry:
                raise NoticeInvalid(
                    _line(holidays, index), path, "a day off has date, or from and to, not both"
                )
            day = _day(entry, "date", path, year)
            if day.weekday() >= 5:
                raise NoticeInvalid(
                    _line(entry, "date"),
                    f"{path}.date",
                    f"{day} is a {_WEEKDAYS[day.weekday()]}, off anyway: list a weekend day only "
                    "within a period off (from, to)",
                )
            _add(listed, NoticeDay(day, False, name), _line(entry, "date"), f"{path}.date")
            continue
        for key in ("from", "to"):
            if key not in entry:
                raise NoticeInvalid(_line(holidays, index), path, f"a period off needs {key} (or one date)")
        first, last = _day(entry, "from", path, year), _day(entry, "to", path, year)
        if last < first:
            raise NoticeInvalid(
                _line(entry, "to"), f"{path}.to", f"the period ends ({last}) before it begins"
            )
        if (last - first).days >= MAX_PERIOD_DAYS:
            raise NoticeInvalid(
                _line(entry, "to"), f"{path}.to", f"a period off of more than {MAX_PERIOD_DAYS} days"
            )
        for offset in range((last - first).days + 1):
            _add(listed, NoticeDay(first + timedelta(offset), False, name), _line(entry, "from"), path)
    working = _entries(data, "working_days")
    for index, entry in enumerate(working):
        path = f"working_days[{index}]"
        _check_entry(working, index, path, {"date", "name"}, required=frozenset({"date"}))
        name = _name(entry, path)
        day = _day(entry, "date", path, year)
        if day.weekday() < 5:
            raise NoticeInvalid(
                _line(entry, "date"),
                f"{path}.date",
                f"{day} is a {_WEEKDAYS[day.weekday()]}, a working day anyway: list only "
                "Saturdays and Sundays moved into working days",
            )
        _add(listed, NoticeDay(day, True, name), _line(entry, "date"), f"{path}.date")
    return Notice(year, tuple(listed[day][0] for day in sorted(listed)))


def _entries(data: Mapping[str, Any], key: str) -> Sequence[Any]:
    """The list under ``key`` (an absent ``working_days`` is an empty list)."""
    entries = data.get(key, [])
    if entries is None or isinstance(entries, str) or not isinstance(entries, Sequence):
        raise NoticeInvalid(_line(data, key), key, f"{key} is a list of days")
    return entries


def _check_entry(
    entries: Sequence[Any], index: int, path: str, allowed: set[str], required: frozenset[str] = frozenset()
) -> None:
    """Refuse an entry that is not a mapping of ``allowed`` keys including ``required``."""
    entry = entries[index]
    if not isinstance(entry, Mapping):
        raise NoticeInvalid(
            _line(entries, index), path, "each day is a mapping such as {date: ..., name: ...}"
        )
    _only_keys(entry, path, allowed, required={"name", *required}, line=_line(entries, index))


def _only_keys(
    data: Mapping[str, Any], path: str, allowed: set[str], required: set[str], line: int | None = None
) -> None:
    """Refuse a key not in ``allowed`` (naming its line) and a missing ``required`` one."""
    for key in data:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise NoticeInvalid(
                _key_line(data, key), where, f"unknown key {key!r} (expected {', '.join(sorted(allowed))})"
            )
    missing = sorted(required - set(data))
    if missing:
        raise NoticeInvalid(line if line is not None else _line(data), path, f"{missing[0]} is missing")


def _name(entry: Mapping[str, Any], path: str) -> str:
    """The entry's name: text, not empty, not too long."""
    name = entry["name"]
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_CHARS:
        raise NoticeInvalid(
            _line(entry, "name"), f"{path}.name", f"a name is text of 1 to {MAX_NAME_CHARS} characters"
        )
    return name.strip()


def _day(entry: Mapping[str, Any], key: str, path: str, year: int) -> date:
    """The date under ``key``, written ``YYYY-MM-DD`` (or a date), in ``year``."""
    value = entry[key]
    line, where = _line(entry, key), f"{path}.{key}"
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise NoticeInvalid(line, where, f"{value} is not a day of the calendar") from exc
    else:
        raise NoticeInvalid(line, where, f"a date is written YYYY-MM-DD, not {value!r}")
    if day.year != year:
        raise NoticeInvalid(line, where, f"{day} is not in {year}, the notice's year")
    return day


def _add(
    listed: dict[date, tuple[NoticeDay, int | None]], day: NoticeDay, line: int | None, path: str
) -> None:
    """Add ``day`` unless it is listed already (naming where)."""
    if day.day in listed:
        first, first_line = listed[day.day]
        where = f" (line {first_line})" if first_line is not None else ""
        kinds = {False: "day off", True: "working day"}
        problem = (
            f"{day.day} is listed twice{where}"
            if first.is_working_day == day.is_working_day
            else f"{day.day} is both a {kinds[first.is_working_day]}{where} and a {kinds[day.is_working_day]}"
        )
        raise NoticeInvalid(line, path, problem)
    listed[day.day] = (day, line)


def _line(container: Any, key: Any = None) -> int | None:
    """The line of ``container`` itself, or of its item ``key``, if it was read from a file."""
    if key is None:
        return getattr(container, "line", None)
    if isinstance(container, MarkedDict):
        return container.value_lines.get(key)
    if isinstance(container, MarkedList):
        return container.item_lines[key]
    return None


def _key_line(data: Mapping[str, Any], key: str) -> int | None:
    """The line of ``key`` in a mapping read from a file."""
    return data.key_lines.get(key) if isinstance(data, MarkedDict) else None


class _Loader(yaml.SafeLoader):
    """YAML that reads only text, whole numbers, true/false and null: dates stay text to be
    checked strictly, ``no`` and ``on`` stay names, and ``1:20`` is not a number."""

    yaml_implicit_resolvers: dict = {}


_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^-?[0-9]+$"), list("-0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|)$"), ["~", "n", ""])


class _Builder:
    """Turns the composed YAML nodes into plain data that remembers lines, refusing duplicate
    keys, keys that are not text, recursive aliases and documents too large to be a notice."""

    def __init__(self, loader: _Loader) -> None:
        """Build with ``loader``'s constructor for single values."""
        self.loader = loader
        self.nodes = 0
        self.open: set[int] = set()

    def build(self, node: yaml.Node, path: str) -> Any:
        """The value of ``node``, mappings and lists marked with their lines."""
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise NoticeInvalid(node.start_mark.line + 1, path, "too large to be a notice")
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node)
        if id(node) in self.open:
            raise NoticeInvalid(node.start_mark.line + 1, path, "a value that contains itself")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._list(node, path)
            return self._mapping(node, path)
        finally:
            self.open.discard(id(node))

    def _list(self, node: yaml.SequenceNode, path: str) -> MarkedList:
        """A list with the line of each item."""
        items = MarkedList()
        items.line, items.item_lines = node.start_mark.line + 1, []
        for index, child in enumerate(node.value):
            items.append(self.build(child, f"{path}[{index}]"))
            items.item_lines.append(child.start_mark.line + 1)
        return items

    def _mapping(self, node: yaml.MappingNode, path: str) -> MarkedDict:
        """A mapping of text keys, each key once, with the lines of keys and values."""
        mapping = MarkedDict()
        mapping.line, mapping.key_lines, mapping.value_lines = node.start_mark.line + 1, {}, {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self.build(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise NoticeInvalid(line, path, f"a key is text, not {key!r}")
            if key in mapping:
                raise NoticeInvalid(line, f"{path}.{key}" if path else key, f"{key} is given twice")
            mapping[key] = self.build(value_node, f"{path}.{key}" if path else key)
            mapping.key_lines[key] = line
            mapping.value_lines[key] = value_node.start_mark.line + 1
        return mapping
