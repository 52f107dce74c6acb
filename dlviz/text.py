"""Words for numbers: "1 class", "2 classes", "1,797 images". Every count a person reads goes
through `plural`, so no page says "1 classes"."""

from __future__ import annotations

_IRREGULAR = {"is": "are", "was": "were", "has": "have", "does": "do", "this": "these"}
_HARD_CH = ("epoch", "stomach", "monarch")  # "ch" said as "k": just an s


def plural_form(noun: str) -> str:
    """The English plural of a regular noun (``class`` -> ``classes``, ``entry`` -> ``entries``,
    ``image`` -> ``images``, ``epoch`` -> ``epochs``), and of the few verbs a count can take (``is`` -> ``are``)."""
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    if noun.endswith(_HARD_CH):
        return noun + "s"
    if noun.endswith(("s", "x", "z", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in tuple("aeiou"):
        return noun[:-1] + "ies"
    return noun + "s"


def plural(n: int | float, noun: str, many: str | None = None, *, sep: str = ",") -> str:
    """``n`` and `noun`, the noun in its plural unless n is 1: ``plural(1, "class")`` is
    "1 class", ``plural(1797, "image")`` is "1,797 images" (`sep` "" for "1797"). `many` gives an
    irregular plural: ``plural(2, "run", "runs")``."""
    word = noun if n == 1 else (many or plural_form(noun))
    number = f"{n:,}" if sep == "," else f"{n}"
    return f"{number} {word}"


def counted(n: int | float, noun: str, many: str | None = None) -> str:
    """Only the noun, in the form that goes with `n`: ``f"{n} {counted(n, 'layer')}"``."""
    return noun if n == 1 else (many or plural_form(noun))
