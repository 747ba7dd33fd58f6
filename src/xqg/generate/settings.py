"""How a generator is prompted and decoded: :class:`GeneratorSettings`, stored in its folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xqg.errors import ConfigError
from xqg.generate.prompt import PAPER_PROMPT, check_prompt, prompt_uses_language

#: Settings file inside a generator folder.
SETTINGS_FILE = "xqg_generator.json"
#: The generator family: any Hugging Face seq2seq model, any causal LM, the warm-started BERT-to-BERT.
KINDS = ("seq2seq", "causal", "bert2bert")


@dataclass
class GeneratorSettings:
    """How a generator is prompted and decoded (stored as ``xqg_generator.json``).

    Args:
        kind: ``"seq2seq"`` (any HF seq2seq model, language in the prompt), ``"causal"`` (any HF causal
            LM: Gemma, Qwen, Llama ...; the prompt is read, then the question written after it) or
            ``"bert2bert"`` (the BERT-to-BERT construction: language start tokens, reduced per-language
            vocabulary).
        prompt: input template (see :mod:`xqg.generate.prompt`). For ``causal``, the lines before the
            first line that names ``{language}`` are the part shared by all languages (read once per
            passage).
        max_input_length: prompt tokens at generation (256 in the paper; ``causal``: the passage part).
        max_new_tokens: generated tokens at most (32 in the paper).
        no_repeat_ngram_size: forbid repeating an n-gram within one output (0 = off).
        min_new_tokens: end-of-sequence is forbidden before this many tokens.
        languages: the languages the generator was trained for (informative, except for ``bert2bert``).
        language_vocabulary: ``bert2bert``: score only the target language's subset of the output
            vocabulary (False: the whole reduced vocabulary, for every language).
        language_tokens: ``bert2bert``: start the decoder with the language's token (False: one shared
            start token; the prompt must then name the language).
        trim_vocabulary: ``causal``: score only the tokens of the generator's training text, the byte
            fallbacks and the passage's own tokens (``output_tokens.json``; :mod:`xqg.generate.token_subset`)
            instead of the whole vocabulary.
        source: where the weights came from, and how they were trained (free-form).

    Example:
        >>> GeneratorSettings().max_new_tokens
        32
    """

    kind: str = "seq2seq"
    prompt: str = PAPER_PROMPT
    max_input_length: int = 256
    max_new_tokens: int = 32
    no_repeat_ngram_size: int = 3
    min_new_tokens: int = 2
    languages: list[str] = field(default_factory=list)
    language_vocabulary: bool = True
    language_tokens: bool = True
    trim_vocabulary: bool = True
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"generator kind must be one of {KINDS}, got {self.kind!r}")
        check_prompt(self.prompt)
        if self.kind == "bert2bert" and not self.language_tokens and not prompt_uses_language(self.prompt):
            raise ConfigError("without language tokens the prompt must name the language ({language})")
        if self.max_new_tokens < 1 or self.max_input_length < 8:
            raise ConfigError("max_new_tokens must be >= 1 and max_input_length >= 8")
