"""Command lines the way Go's pflag (kubectl, talosctl, flux) reads them.

Flags may come before or after the verb, as `--name value`, `--name=value`, `-n value`, `-nvalue`
or `-ovalue`; `--` ends the flags (kubectl exec). Each tool then checks which of the given flags its
verb accepts, so an unknown flag fails with pflag's own message.
"""

from __future__ import annotations

_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


class Flag:
    # A plain class: importing dataclasses (and with it inspect) adds milliseconds to every call.
    __slots__ = ("name", "short", "takes_value")

    def __init__(self, name: str, short: str | None = None, takes_value: bool = True):
        self.name = name
        self.short = short
        self.takes_value = takes_value


class UsageError(Exception):
    """The message pflag prints, such as `unknown flag: --foo`."""


class Parsed:
    def __init__(self) -> None:
        self.positionals: list[str] = []
        self.values: dict[str, list[str]] = {}
        self.spelled: dict[str, str] = {}  # flag name -> how the user wrote it
        self.rest: list[str] | None = None  # what follows `--`

    def value(self, name: str, default: str | None = None) -> str | None:
        given = self.values.get(name)
        return given[-1] if given else default

    def all(self, name: str) -> list[str]:
        return self.values.get(name, [])

    def switch(self, name: str, default: bool = False) -> bool:
        given = self.value(name)
        if given is None:
            return default
        if given in _TRUE:
            return True
        if given in _FALSE:
            return False
        raise UsageError(
            f'invalid argument "{given}" for "{self.spelled[name]}" flag: '
            f'strconv.ParseBool: parsing "{given}": invalid syntax'
        )

    def given(self) -> set[str]:
        return set(self.values)


def parse(argv: list[str], flags: list[Flag]) -> Parsed:
    by_long = {f.name: f for f in flags}
    by_short = {f.short: f for f in flags if f.short}
    parsed = Parsed()
    items = list(argv)
    index = 0
    while index < len(items):
        item = items[index]
        index += 1
        if item == "--":
            parsed.rest = items[index:]
            break
        if item.startswith("--"):
            name, has_value, value = item[2:].partition("=")
            flag = by_long.get(name)
            if flag is None:
                raise UsageError(f"unknown flag: --{name}")
            if flag.takes_value and not has_value:
                if index >= len(items):
                    raise UsageError(f"flag needs an argument: --{name}")
                value, index = items[index], index + 1
            elif not flag.takes_value and not has_value:
                value = "true"
            _record(parsed, flag, value, f"--{name}")
        elif item.startswith("-") and len(item) > 1:
            letters = item[1:]
            position = 0
            while position < len(letters):
                letter = letters[position]
                flag = by_short.get(letter)
                if flag is None:
                    raise UsageError(f"unknown shorthand flag: '{letter}' in {item}")
                position += 1
                if not flag.takes_value:
                    _record(parsed, flag, "true", f"-{letter}")
                    continue
                value = letters[position:].removeprefix("=")
                if not value:
                    if index >= len(items):
                        raise UsageError(f"flag needs an argument: '{letter}' in {item}")
                    value, index = items[index], index + 1
                _record(parsed, flag, value, f"-{letter}")
                break
        else:
            parsed.positionals.append(item)
    return parsed


def _record(parsed: Parsed, flag: Flag, value: str, spelled: str) -> None:
    parsed.values.setdefault(flag.name, []).append(value)
    parsed.spelled[flag.name] = spelled


def reject_unexpected(parsed: Parsed, allowed: set[str]) -> None:
    """Fail like pflag for a flag this verb does not have (it was only known to another verb)."""
    for name in sorted(parsed.given() - allowed):
        spelled = parsed.spelled[name]
        if spelled.startswith("--"):
            raise UsageError(f"unknown flag: {spelled}")
        raise UsageError(f"unknown shorthand flag: '{spelled[1:]}' in {spelled}")
