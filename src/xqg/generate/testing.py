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

from xqg.generate.base import QueryGenerator
from xqg.generate.bert2bert import build_bert2bert, build_vocabulary
from xqg.generate.causal import CausalLMGenerator
from xqg.generate.prompt import CAUSAL_PROMPT
from xqg.generate.seq2seq import Seq2SeqGenerator
from xqg.generate.settings import GeneratorSettings
from xqg.generate.token_subset import build_token_subset

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


#: Training questions of the tiny generators (they define the tiny vocabularies).
TINY_TEXTS = {
    "de": ["Wer ist das?", "Wie alt ist die Stadt?", "Wann wurde es gebaut?"],
    "ru": ["Кто это?", "Сколько лет городу?", "Когда это было построено?"],
    "el": ["Ποιος είναι αυτός;", "Πότε χτίστηκε;"],
    "zh": ["这是谁?", "他在哪个国家?"],
}


def tiny_causal_lm(
    tokenizer: Any, seed: int = 0, layers: int = 2, dropout: float = 0.0, sliding: bool = True
) -> Any:
    """A random tiny ``Gemma3ForCausalLM`` over ``tokenizer``'s vocabulary (hidden 32, sliding and
    full attention layers, tied embeddings), the architecture of the default generator.

    ``sliding=False``: full attention in every layer (``transformers``' sliding-window cache creates a
    tensor without a device, which placement tests under ``torch.device("meta")`` cannot run)."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=1,
        head_dim=8,
        max_position_embeddings=1024,
        sliding_window=512,
        layer_types=["sliding_attention", "full_attention"] * (layers // 2)
        + ["sliding_attention"] * (layers % 2),
        attention_dropout=dropout,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    # set after construction: the config class derives the layer types from its own pattern otherwise
    config.layer_types = (
        ["sliding_attention", "full_attention"] * (layers // 2) + ["sliding_attention"] * (layers % 2)
        if sliding
        else ["full_attention"] * layers
    )
    model = Gemma3ForCausalLM(config)
    with torch.no_grad():  # larger random embeddings, so that outputs vary with the seed
        model.get_input_embeddings().weight.normal_(0, 1.0)
    return model


def tiny_generator(
    kind: str = "bert2bert", seed: int = 0, dropout: float = 0.0, trim_vocabulary: bool = True
) -> QueryGenerator:
    """A random tiny generator.

    Args:
        kind: ``"bert2bert"`` (language tokens, reduced vocabulary over :data:`TINY_LANGUAGES`),
            ``"seq2seq"`` (a tiny ``EncoderDecoderModel``, language in the prompt), ``"t5"`` (a tiny
            T5) or ``"causal"`` (a tiny Gemma 3 causal LM, the passage-first prompt, its output
            vocabulary trimmed to :data:`TINY_TEXTS` unless ``trim_vocabulary`` is False).
        seed: initialisation seed.
        dropout: dropout probability (0 makes training steps deterministic without RNG state).
        trim_vocabulary: ``causal`` only: trim the output vocabulary.
    """
    from transformers import (
        BertConfig,
        BertLMHeadModel,
        EncoderDecoderModel,
        T5Config,
        T5ForConditionalGeneration,
    )

    tokenizer = tiny_tokenizer()
    if kind == "causal":
        settings = GeneratorSettings(
            kind="causal",
            prompt=CAUSAL_PROMPT,
            languages=list(TINY_LANGUAGES),
            trim_vocabulary=trim_vocabulary,
        )
        texts = [t for rows in TINY_TEXTS.values() for t in rows]
        subset = build_token_subset(tokenizer, texts) if trim_vocabulary else None
        return CausalLMGenerator(
            tiny_causal_lm(tokenizer, seed, dropout=dropout), tokenizer, settings, subset
        )
    if kind == "bert2bert":
        texts = TINY_TEXTS
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
        return Seq2SeqGenerator(T5ForConditionalGeneration(config), tokenizer, settings)
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
    return Seq2SeqGenerator(model, tokenizer, settings)
