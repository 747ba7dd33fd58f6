"""What misspellings cost: per-query means over seeded typo variants, relative drops, resource groups.

The one home of these computations for ``xqg robustness`` (:mod:`xqg.evaluate.robustness`), the
report of ``xqg run`` and the training experiments:

* :func:`mean_over_variants`: each query's value averaged over the K misspelled variants (the value
  that is paired with the clean one in the significance test);
* :func:`relative_drop`: ``(clean − typo) / clean``, and 0 when the clean score is 0 (nothing to
  lose: the rule both earlier copies followed where clean and misspelled scores are 0);
* :func:`resource_groups`: languages split into low and high resource
  (:attr:`xqg.data.languages.Language.resource_group`) and :func:`group_means` over them.

Example:
    >>> mean_over_variants([{"q": 1.0}, {"q": 0.0}])
    {'q': 0.5}
    >>> relative_drop(0.5, 0.375)
    0.25
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from xqg.data.languages import get_language
from xqg.errors import InputError

RESOURCE_GROUPS = ("low", "high")
"""The resource groups, in table order (Joshi et al. 2020 classes 0-3 vs 4-5)."""


def mean_over_variants(variants: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each query's mean value over the misspelled variants (each variant scores the same queries).

    Raises:
        InputError: no variant, or the variants scored different queries.

    Example:
        >>> mean_over_variants([{"a": 1.0, "b": 0.0}, {"a": 0.0, "b": 0.0}])
        {'a': 0.5, 'b': 0.0}
    """
    if not variants:
        raise InputError("no misspelled variant to average")
    qids = list(variants[0])
    if any(set(v) != set(qids) for v in variants[1:]):
        raise InputError("the misspelled variants scored different queries")
    return {q: float(np.mean([v[q] for v in variants])) for q in qids}


def relative_drop(clean: float, typo: float) -> float:
    """``(clean − typo) / clean``, the fraction of the clean score lost; 0 when ``clean`` is 0.

    Example:
        >>> relative_drop(0.5, 0.375), relative_drop(0.0, 0.0)
        (0.25, 0.0)
    """
    return (clean - typo) / clean if clean else 0.0


def relative_drops(clean: Mapping[str, float], typo: Mapping[str, float]) -> dict[str, float]:
    """:func:`relative_drop` per column (language) of two ``{column: score}`` rows.

    Example:
        >>> relative_drops({"de": 0.5, "ar": 0.25}, {"de": 0.25, "ar": 0.25})
        {'de': 0.5, 'ar': 0.0}
    """
    return {col: relative_drop(clean[col], typo[col]) for col in clean}


def resource_groups(languages: Sequence[str]) -> dict[str, list[str]]:
    """``{"low": [...], "high": [...]}``: the languages of each resource group, in the given order
    (a group without a language is left out).

    Example:
        >>> resource_groups(["de", "sw", "zh"])
        {'low': ['sw'], 'high': ['de', 'zh']}
    """
    groups = {
        g: [lang for lang in languages if get_language(lang).resource_group == g] for g in RESOURCE_GROUPS
    }
    return {g: langs for g, langs in groups.items() if langs}


def group_means(values: Mapping[str, float], groups: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """The mean of ``values`` (``{lang: value}``) over each group's languages.

    Example:
        >>> group_means({"de": 0.2, "zh": 0.4, "sw": 0.1}, {"low": ["sw"], "high": ["de", "zh"]})
        {'low': 0.1, 'high': 0.30000000000000004}
    """
    return {g: float(np.mean([values[lang] for lang in langs])) for g, langs in groups.items() if langs}
