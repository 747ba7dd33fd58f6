"""A tiny random dual encoder for other stages' unit tests (no files, no downloads, milliseconds).

:func:`tiny_encoder` builds a 2-layer BERT (hidden 32) from a config with seeded random weights, and a
real XLM-R-style Unigram tokenizer (:func:`tiny_tokenizer`) whose vocabulary is built in code: the
special tokens, every character of a small multilingual sample (so most Latin, Cyrillic, Greek,
Arabic, Devanagari, CJK ... text tokenises without ``<unk>``) and a few hundred words of it. Vectors
are meaningless but deterministic for a seed, which is what shape, plumbing and resume tests need.
"""

from __future__ import annotations

from functools import lru_cache

from xqg.encode.dual_encoder import DualEncoder, EncoderSettings
from xqg.encode.unigram_tokenizer import build_unigram_tokenizer

_SAMPLE = """
the of and to in is was for on that with as by at from his it an were are which this be or has had
what who when where why how many much which year city country river war king first name people
der die das und ist wer wie wo wann welche stadt jahr la el los de que en es quién cuándo dónde
le les est qui quand où ville το η και ποιος πότε που и в не на что кто когда где город год
ما من في هل متى أين كيف مدينة क्या कौन कब कहाँ है में की का शहर อะไร ใคร ที่ไหน เมื่อไร
ne kim nerede zaman şehir yıl bir và là của ai khi nào ở đâu thành phố năm
什么 谁 哪里 时候 城市 年 的 是 在 了 何 誰 どこ いつ 都市 年 は の が 무엇 누가 어디 언제 도시 년
যে কী কে কোথায় কখন ఏమి ఎవరు ఎక్కడ ఎప్పుడు mikä kuka missä milloin kaupunki vuosi
abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?¿¡'"()-–—/&%$€@#
áàâäãåçéèêëíìîïñóòôöõúùûüýÿßæøœğışđ ÁÀÂÄÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝĞİŞĐ
абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ
αβγδεζηθικλμνξοπρστυφχψωάέήίόύώΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ
ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأإةىؤئ
अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसहािीुूेैोौंँः्
กขคงจฉชซญดตถทธนบปผพฟภมยรลวศษสหอฮะัาิีึืุูเแโใไ่้๊๋์
ạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ
""".split()

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>")


@lru_cache(maxsize=1)
def _vocabulary() -> tuple[tuple[str, ...], tuple[float, ...]]:
    pieces: list[str] = list(SPECIAL_TOKENS) + ["\u2581"]
    seen = set(pieces)
    words = [w for w in _SAMPLE if len(w) > 1 and len(w) <= 12]
    for word in words:
        piece = "\u2581" + word
        if piece not in seen:
            seen.add(piece)
            pieces.append(piece)
    chars = sorted({c for w in _SAMPLE for c in w})
    for char in chars:
        for piece in (char, "\u2581" + char):
            if piece not in seen:
                seen.add(piece)
                pieces.append(piece)
    pieces.append("<mask>")
    # whole words score higher than spelling them out; single characters are the fallback
    scores = (
        [0.0] * 4
        + [-2.0 if p == "\u2581" else -3.0 - 0.1 * len(p) if len(p) > 2 else -8.0 for p in pieces[4:-1]]
        + [0.0]
    )
    return tuple(pieces), tuple(scores)


def tiny_tokenizer():  # -> transformers.PreTrainedTokenizerFast
    """A small, real XLM-R-style tokenizer (Unigram, metaspace, NFKC, ``<s> … </s>``) built in code.

    Example:
        >>> tok = tiny_tokenizer()
        >>> tok.convert_ids_to_tokens(tok("what city")["input_ids"])
        ['<s>', '▁what', '▁city', '</s>']
    """
    from transformers import PreTrainedTokenizerFast

    pieces, scores = _vocabulary()
    tokenizer = build_unigram_tokenizer(list(pieces), list(scores), unk_id=3)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=128,
    )


def tiny_encoder(
    seed: int = 0,
    pooling: str = "mean",
    normalize: bool = True,
    tied: bool = True,
    query_prefix: str = "query: ",
    passage_prefix: str = "passage: ",
    query_max_length: int = 32,
    passage_max_length: int = 64,
    hidden_size: int = 32,
) -> DualEncoder:
    """A random 2-layer BERT dual encoder with :func:`tiny_tokenizer`, on CPU, in eval mode.

    Args:
        seed: weights are a function of the seed only.
        pooling, normalize, tied, query_prefix, passage_prefix, query_max_length,
            passage_max_length: :class:`~xqg.encode.dual_encoder.EncoderSettings` fields.
        hidden_size: embedding dimension (a multiple of 2; 2 attention heads).

    Example:
        >>> import numpy as np
        >>> a = tiny_encoder(3).encode_queries(["where is Rome?"])
        >>> b = tiny_encoder(3).encode_queries(["where is Rome?"])
        >>> bool(np.array_equal(a, b)), a.shape
        (True, (1, 32))
    """
    import torch
    from transformers import BertConfig, BertModel

    tokenizer = tiny_tokenizer()
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=max(query_max_length, passage_max_length, 128),
        pad_token_id=tokenizer.pad_token_id,
    )
    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        query_model = BertModel(config)
        passage_model = None
        if not tied:
            torch.manual_seed(seed + 1)
            passage_model = BertModel(config)
    finally:
        torch.random.set_rng_state(generator_state)
    settings = EncoderSettings(
        pooling=pooling,
        normalize=normalize,
        query_prefix=query_prefix,
        passage_prefix=passage_prefix,
        query_max_length=query_max_length,
        passage_max_length=passage_max_length,
        tied=tied,
    )
    encoder = DualEncoder(
        query_model, tokenizer, settings, passage_model=passage_model, name=f"tiny-bert-{seed}"
    )
    encoder.eval()
    return encoder
