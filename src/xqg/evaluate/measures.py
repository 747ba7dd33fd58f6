"""What a metric means: small, hashable measure specs parsed from names such as ``nDCG@10``.

Like ``ir_measures``, the meaning of a metric (its family, cutoff and parameters) is kept apart from
the code that computes it. :func:`parse_measure` turns a name into a :class:`Measure`; the evaluators
(:func:`xqg.evaluate.evaluate_run`, :func:`xqg.evaluate.rkt`, :func:`xqg.evaluate.answer_recall`)
compute the families they know.

Families and accepted names (case-insensitive; aliases on the right):

============== ========================== =========================================================
family         names                      meaning (per query; every value lies in [0, 1])
============== ========================== =========================================================
``Success``    ``Success@k``, ``Hit@k``,  1 if a relevant document is in the top k
               ``S@k``
``Recall``     ``Recall@k``, ``R@k``      relevant documents in the top k / all relevant documents
``P``          ``P@k``, ``Precision@k``   relevant documents in the top k / k
``MRR``        ``MRR@k``, ``RR@k``        1 / rank of the first relevant document in the top k
``nDCG``       ``nDCG@k``, ``NDCG@k``     graded nDCG (gain = grade, discount log2(rank + 1))
``RKT``        ``R@2kt``, ``R@5kt``       XOR-Retrieve: an answer occurs in the first k*1000 tokens
``AnswerRecall`` ``AnswerRecall@k``,      DPR: one of the top-k passages contains an answer
               ``AnswerSuccess@k``,       (``AnswerRecall(mode=substring)@k`` for plain substring
               ``Top@k``                  matching)
============== ========================== =========================================================

Without ``@k`` the whole ranking is used (``MRR``, ``nDCG``). Parameters use ir_measures' syntax:
``Name(key=value,...)@k``; ``rel=2`` sets the minimum grade counted as relevant (default 1).

Example:
    >>> from xqg.evaluate.measures import parse_measure
    >>> parse_measure("Hit@1")
    Measure(family='Success', cutoff=1, params=())
    >>> str(parse_measure("rr@10")), str(parse_measure("R@2kt"))
    ('MRR@10', 'R@2kt')
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from xqg.errors import ConfigError

QREL_FAMILIES: frozenset[str] = frozenset({"Success", "Recall", "P", "MRR", "nDCG"})
"""Families computed from qrels by :func:`xqg.evaluate.evaluate_run`."""

ANSWER_FAMILIES: frozenset[str] = frozenset({"RKT", "AnswerRecall"})
"""Families computed from passage texts and answer strings."""

_ALIASES: dict[str, str] = {
    "success": "Success",
    "hit": "Success",
    "s": "Success",
    "recall": "Recall",
    "r": "Recall",
    "p": "P",
    "precision": "P",
    "mrr": "MRR",
    "rr": "MRR",
    "ndcg": "nDCG",
    "answerrecall": "AnswerRecall",
    "answersuccess": "AnswerRecall",
    "top": "AnswerRecall",
}

_NEEDS_CUTOFF = frozenset({"Success", "Recall", "P", "AnswerRecall"})
_PARAMS: dict[str, dict[str, tuple[str, ...] | type]] = {
    "Success": {"rel": int},
    "Recall": {"rel": int},
    "P": {"rel": int},
    "MRR": {"rel": int},
    "nDCG": {},
    "RKT": {},
    "AnswerRecall": {"mode": ("dpr", "substring")},
}
_NAME = re.compile(
    r"^\s*(?P<family>[A-Za-z]+)\s*(?:\((?P<params>[^)]*)\))?\s*"
    r"(?:@\s*(?:(?P<kt>\d+)\s*kt|(?P<cutoff>\d+)))?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Measure:
    """A metric: family, cutoff and parameters. Build it with :func:`parse_measure`.

    Args:
        family: one of ``Success``, ``Recall``, ``P``, ``MRR``, ``nDCG``, ``RKT``, ``AnswerRecall``.
        cutoff: rank cutoff k (for ``RKT``: the k of k*1000 tokens); ``None`` = whole ranking.
        params: sorted ``(key, value)`` pairs, e.g. ``(("rel", 2),)``.

    Example:
        >>> Measure("nDCG", 10).name
        'nDCG@10'
    """

    family: str
    cutoff: int | None = None
    params: tuple[tuple[str, object], ...] = ()

    @property
    def name(self) -> str:
        """The canonical name, parseable by :func:`parse_measure`."""
        params = ""
        if self.params:
            params = "(" + ",".join(f"{k}={v}" for k, v in self.params) + ")"
        if self.family == "RKT":
            return f"R{params}@{self.cutoff}kt"
        cutoff = "" if self.cutoff is None else f"@{self.cutoff}"
        return f"{self.family}{params}{cutoff}"

    def param(self, key: str, default: object = None) -> object:
        """The value of parameter ``key`` (``default`` when not set)."""
        return dict(self.params).get(key, default)

    @property
    def needs_answers(self) -> bool:
        """True for measures computed from passage texts and answers instead of qrels."""
        return self.family in ANSWER_FAMILIES

    def __str__(self) -> str:
        return self.name


def parse_measure(name: str | Measure) -> Measure:
    """Parse a metric name into a :class:`Measure` (a :class:`Measure` is returned unchanged).

    Args:
        name: e.g. ``"Success@1"``, ``"Recall@100"``, ``"MRR@10"``, ``"nDCG@10"``, ``"R@2kt"``,
            ``"AnswerRecall@20"``, ``"AnswerRecall(mode=substring)@20"``, ``"Recall(rel=2)@10"``.

    Raises:
        ConfigError: the name is not a known metric, a parameter is unknown, or a cutoff is missing.

    Example:
        >>> parse_measure("Recall(rel=2)@10").param("rel")
        2
    """
    if isinstance(name, Measure):
        return name
    match = _NAME.match(name)
    if not match:
        raise ConfigError(f"cannot parse metric name {name!r} (expected e.g. 'nDCG@10', 'R@2kt')")
    raw_family = match["family"].lower()
    if match["kt"] is not None:
        if raw_family != "r":
            raise ConfigError(f"metric {name!r}: the 'kt' cutoff only exists for R@kt")
        family, cutoff = "RKT", int(match["kt"])
    else:
        if raw_family not in _ALIASES:
            known = ", ".join(sorted(set(_ALIASES.values()) | {"R@kt"}))
            raise ConfigError(f"unknown metric {name!r}; known families: {known}")
        family = _ALIASES[raw_family]
        cutoff = None if match["cutoff"] is None else int(match["cutoff"])
    if cutoff is None and family in _NEEDS_CUTOFF:
        raise ConfigError(f"metric {name!r} needs a cutoff, e.g. '{family}@10'")
    if cutoff is not None and cutoff < 1:
        raise ConfigError(f"metric {name!r}: the cutoff must be at least 1")
    params: dict[str, object] = {}
    if match["params"] and match["params"].strip():
        for item in match["params"].split(","):
            key, sep, value = (part.strip() for part in item.partition("="))
            allowed = _PARAMS[family]
            if not sep or key not in allowed:
                raise ConfigError(f"metric {name!r}: unknown parameter {item.strip()!r} for {family}")
            kind = allowed[key]
            if kind is int:
                try:
                    params[key] = int(value)
                except ValueError:
                    raise ConfigError(f"metric {name!r}: {key} must be an integer") from None
            else:
                if value not in kind:  # type: ignore[operator]
                    raise ConfigError(f"metric {name!r}: {key} must be one of {', '.join(kind)}")  # type: ignore[arg-type]
                params[key] = value
    # Defaults are not stored, so that "Recall(rel=1)@10" and "Recall@10" are the same measure.
    if params.get("rel") == 1:
        del params["rel"]
    if params.get("mode") == "dpr":
        del params["mode"]
    return Measure(family, cutoff, tuple(sorted(params.items())))


def metric_names(names: str | Measure | Iterable[str | Measure]) -> list[str | Measure]:
    """Split a comma-separated string of names (commas inside parentheses kept); pass lists through.

    Example:
        >>> metric_names("Hit@1, AnswerRecall(mode=substring)@5")
        ['Hit@1', 'AnswerRecall(mode=substring)@5']
    """
    if isinstance(names, Measure):
        return [names]
    if isinstance(names, str):
        return [part.strip() for part in re.split(r",(?![^()]*\))", names) if part.strip()]
    return list(names)


def parse_measures(names: str | Measure | Iterable[str | Measure]) -> list[Measure]:
    """Parse one name, a comma-separated string, or a sequence of names/measures.

    Example:
        >>> [m.name for m in parse_measures("Hit@1, R@10")]
        ['Success@1', 'Recall@10']
    """
    return [parse_measure(n) for n in metric_names(names)]
