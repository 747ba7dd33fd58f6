"""The generator's input text: the xQG paper's prompt, its passage-first form, or a language-free variant.

The paper (and ``xqg train-generator`` for any Hugging Face seq2seq model) writes the target
language into the encoder input: ``Generate a {Language} question for this passage: {title} {passage}``.
A causal LM reads its prompt left to right, so the same words are put passage first
(:data:`CAUSAL_PROMPT`): the passage is then a prefix shared by every language, read once per passage
in training and generation, and only the short instruction line differs per language
(:func:`split_prompt`). The BERT-to-BERT generator names the language with a decoder start token, so
its encoder input does not depend on the language (``{title} {passage}``) and one encoder pass serves
every language.
"""

from __future__ import annotations

from xqg.data.languages import get_language
from xqg.data.records import Passage
from xqg.errors import ConfigError

#: The paper's prompt (``language`` is the English name: Arabic, Bengali, ...).
PAPER_PROMPT = "Generate a {language} question for this passage: {title} {passage}"
#: Encoder input of generators whose decoder is told the language by a start token.
PASSAGE_ONLY_PROMPT = "{title} {passage}"
#: The paper's words for a causal LM, passage first: the first line is shared by all languages.
CAUSAL_PROMPT = "{title} {passage}\nGenerate a {language} question for this passage:"


def check_prompt(template: str) -> str:
    """Validate a prompt template (fields ``{language}``, ``{title}``, ``{passage}``; passage required).

    Example:
        >>> check_prompt(PAPER_PROMPT) == PAPER_PROMPT
        True
    """
    if "{passage}" not in template:
        raise ConfigError(f"prompt template must contain {{passage}}: {template!r}")
    try:
        template.format(language="", title="", passage="")
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"prompt template {template!r} may only use {{language}}, {{title}}, {{passage}}: {exc}"
        ) from None
    return template


def prompt_uses_language(template: str) -> bool:
    """Whether the encoder input depends on the target language.

    Example:
        >>> prompt_uses_language(PAPER_PROMPT), prompt_uses_language(PASSAGE_ONLY_PROMPT)
        (True, False)
    """
    return "{language}" in template


def build_prompt(passage: Passage, lang: str, template: str = PAPER_PROMPT) -> str:
    """The encoder input for generating a ``lang`` question about ``passage``.

    Args:
        passage: the passage (title may be empty).
        lang: target language code (its English name goes into ``{language}``).
        template: prompt template.

    Example:
        >>> build_prompt(Passage("d1", "Paris is the capital.", "France"), "de")
        'Generate a German question for this passage: France Paris is the capital.'
    """
    name = get_language(lang).name if prompt_uses_language(template) else ""
    text = template.format(language=name, title=passage.title, passage=passage.text)
    return " ".join(text.split())


def split_prompt(template: str) -> tuple[str, str]:
    """``(shared, per_language)``: the lines before the first line naming ``{language}``, and the rest.

    A causal generator reads the shared part once per passage and each language's part after it; a
    template whose first line names the language (the paper's order) has no shared part.

    Example:
        >>> split_prompt(CAUSAL_PROMPT)
        ('{title} {passage}', 'Generate a {language} question for this passage:')
        >>> split_prompt(PAPER_PROMPT)[0]
        ''
    """
    lines = template.split("\n")
    first = next((i for i, line in enumerate(lines) if "{language}" in line), len(lines))
    return "\n".join(lines[:first]), "\n".join(lines[first:])


def format_prompt_part(part: str, passage: Passage, lang: str) -> str:
    """One part of a prompt template filled in (the passage's and title's whitespace collapsed, the
    template's line breaks kept).

    Example:
        >>> format_prompt_part("Generate a {language} question:", Passage("d", "x"), "de")
        'Generate a German question:'
    """
    if not part:
        return ""
    name = get_language(lang).name if "{language}" in part else ""
    text = part.format(
        language=name, title=" ".join(passage.title.split()), passage=" ".join(passage.text.split())
    )
    return "\n".join(" ".join(line.split()) for line in text.split("\n"))
