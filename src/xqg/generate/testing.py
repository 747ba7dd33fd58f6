"""Tiny random generators built from configs, for tests (no downloads).

Example:
    >>> from xqg.data.records import Passage
    >>> gen = tiny_generator(kind="seq2seq")
    >>> len(list(gen.generate([Passage("d", "text")], ["de"], n=2)))
    2
"""

from __future__ import annotations

import string
from typing import Any

import torch

from xqg.generate.generator import GeneratorSettings, QueryGenerator

_ALPHABET = (
    string.ascii_letters
    + string.digits
    + string.punctuation
    + "äöüßéèáíóúñç¿¡"
    + "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    + "αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ"
    + "的是不了人我在有他这中大来上国个到说们为子和你地出道也时年"
)
TINY_LANGUAGES = ("de", "ru", "el", "zh")


def tiny_tokenizer() -> Any:
    """A character-level fast tokenizer (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2, ``<unk>`` 3, XLM-R style).

    Example:
        >>> tok = tiny_tokenizer()
        >>> tok.decode(tok("Wer?", add_special_tokens=False)["input_ids"])
        'Wer?'
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    vocab = {tok: i for i, tok in enumerate(specials + ["\u2581", *dict.fromkeys(_ALPHABET)])}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        cls_token="<s>",
        sep_token="</s>",
        model_max_length=512,
    )


def tiny_bert(tokenizer: Any, seed: int = 0, layers: int = 2, dropout: float = 0.0) -> Any:
    """A random tiny ``BertModel`` over ``tokenizer``'s vocabulary (hidden 32, 4 heads)."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=512,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        pad_token_id=tokenizer.pad_token_id,
    )
    return BertModel(config, add_pooling_layer=False)


def tiny_generator(kind: str = "bert2bert", seed: int = 0, dropout: float = 0.0) -> QueryGenerator:
    """A random tiny generator.

    Args:
        kind: ``"bert2bert"`` (language tokens, reduced vocabulary over :data:`TINY_LANGUAGES`),
            ``"seq2seq"`` (a tiny ``EncoderDecoderModel``, language in the prompt) or ``"t5"`` (a tiny T5).
        seed: initialisation seed.
        dropout: dropout probability (0 makes training steps deterministic without RNG state).
    """
    from transformers import (
        BertConfig,
        BertLMHeadModel,
        EncoderDecoderModel,
        T5Config,
        T5ForConditionalGeneration,
    )

    from xqg.generate.default import build_bert2bert, build_vocabulary

    tokenizer = tiny_tokenizer()
    if kind == "bert2bert":
        texts = {
            "de": ["Wer ist das?", "Wie alt ist die Stadt?", "Wann wurde es gebaut?"],
            "ru": ["Кто это?", "Сколько лет городу?", "Когда это было построено?"],
            "el": ["Ποιος είναι αυτός;", "Πότε χτίστηκε;"],
            "zh": ["这是谁?", "他在哪个国家?"],
        }
        vocabulary = build_vocabulary(tokenizer, texts)
        init = {lang: tokenizer(t, add_special_tokens=False)["input_ids"] for lang, t in texts.items()}
        generator = build_bert2bert(
            tiny_bert(tokenizer, seed, dropout=dropout), tokenizer, vocabulary, 1, init
        )
        torch.manual_seed(seed + 1)
        with torch.no_grad():  # a random head, so that outputs vary with the seed
            generator.model.decoder.cls.predictions.transform.dense.weight.normal_(0, 0.5)
        return generator
    torch.manual_seed(seed)
    settings = GeneratorSettings(kind="seq2seq", languages=list(TINY_LANGUAGES))
    if kind == "t5":
        config = T5Config(
            vocab_size=len(tokenizer),
            d_model=32,
            d_kv=8,
            d_ff=64,
            num_layers=2,
            num_decoder_layers=2,
            num_heads=4,
            dropout_rate=dropout,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            decoder_start_token_id=tokenizer.pad_token_id,
        )
        return QueryGenerator(T5ForConditionalGeneration(config), tokenizer, settings)
    if kind != "seq2seq":
        raise ValueError(f"unknown tiny generator kind {kind!r}")
    encoder = tiny_bert(tokenizer, seed, dropout=dropout)
    dec_config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=4,
        intermediate_size=64,
        is_decoder=True,
        add_cross_attention=True,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = EncoderDecoderModel(encoder=encoder, decoder=BertLMHeadModel(dec_config))
    model.config.decoder_start_token_id = tokenizer.bos_token_id
    model.config.pad_token_id = tokenizer.pad_token_id
    model.config.eos_token_id = tokenizer.eos_token_id
    return QueryGenerator(model, tokenizer, settings)
