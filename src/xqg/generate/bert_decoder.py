"""Incremental decoding of a BERT decoder (``bert2bert``) with cross-attention grouped by prompt.

When a generator samples ``n`` queries in several languages for one passage, all those rows attend to
the same encoder states. A generic decoding step (Hugging Face's ``BertModel`` with a cache) gives
every row its own copy of the cross-attention keys and values and reads them at every step; at
5 queries x 3 languages per passage that is 15 copies, and the step becomes a memory-bandwidth
problem (41 % of the decoding time in ``benchmarks/bench_generate.py`` before this module).

:class:`GroupedBertDecoder` runs the same layers (it calls the model's own modules, so int8-quantised
or autocast modules work unchanged) with:

* cross-attention keys and values computed **once per distinct prompt** and kept as
  ``[prompts, heads, length, head_dim]``; the rows of one prompt are laid out in a padded group
  ``[prompts, group, ...]`` so one attention call reads each prompt's keys once for all its rows;
* a **preallocated self-attention cache** written in place (no concatenation per step);
* rows that finish are dropped from the self-attention cache and their group slots left empty.

The numbers equal the Hugging Face step up to float rounding
(``tests/generate/test_bert_decoder.py`` compares logits at every step).

Example:
    >>> import torch
    >>> from xqg.generate.testing import tiny_generator
    >>> gen = tiny_generator()
    >>> encoded = gen.encode(["a passage", "another passage"])
    >>> step = GroupedBertDecoder(gen.model, encoded.hidden, encoded.mask, torch.tensor([0, 0, 1]), 4)
    >>> step(torch.tensor([5, 6, 7])).shape[0]
    3
"""

from __future__ import annotations

from typing import Any

import torch
from torch.nn import functional as F


def supports_grouped_decoding(model: Any) -> bool:
    """Whether ``model`` (an ``EncoderDecoderModel``) has a BERT decoder this module can step."""
    decoder = getattr(model, "decoder", None)
    bert = getattr(decoder, "bert", None)
    if bert is None or not hasattr(decoder, "cls"):
        return False
    if getattr(bert.config, "position_embedding_type", "absolute") != "absolute":
        return False
    return all(hasattr(layer, "crossattention") for layer in bert.encoder.layer)


class GroupedBertDecoder:
    """One decoding step at a time for rows that share a few prompts.

    Args:
        model: an ``EncoderDecoderModel`` with a BERT decoder (:func:`supports_grouped_decoding`).
        hidden: encoder states of the distinct prompts ``[prompts, length, d_encoder]``.
        mask: their attention mask ``[prompts, length]`` (1 = token).
        row_prompt: for each row, the index of its prompt ``[rows]``.
        max_steps: the most steps that will be run (the self-attention cache is allocated for them).

    Calling the object with the next input id of every active row returns the head's transformed
    states ``[active rows, d]`` (before the vocabulary projection); :meth:`keep` drops rows.
    """

    def __init__(
        self, model: Any, hidden: torch.Tensor, mask: torch.Tensor, row_prompt: torch.Tensor, max_steps: int
    ) -> None:
        if not supports_grouped_decoding(model):
            raise ValueError("grouped decoding needs an EncoderDecoderModel with a BERT decoder")
        self.bert = model.decoder.bert
        self.head = model.decoder.cls.predictions
        self.layers = list(self.bert.encoder.layer)
        first = self.layers[0].attention.self
        self.heads = first.num_attention_heads
        self.head_dim = first.attention_head_size
        proj = getattr(model, "enc_to_dec_proj", None)
        states = hidden if proj is None else proj(hidden)
        prompts, length = mask.shape
        self.cross_keys: list[torch.Tensor] = []
        self.cross_values: list[torch.Tensor] = []
        for layer in self.layers:
            attention = layer.crossattention.self
            shape = (prompts, length, self.heads, self.head_dim)
            self.cross_keys.append(attention.key(states).view(shape).transpose(1, 2))
            self.cross_values.append(attention.value(states).view(shape).transpose(1, 2))
        self.cross_mask = mask.bool().view(prompts, 1, 1, length)
        # slot of each row in its prompt's group: rows of prompt p take slots p*G, p*G+1, ...
        counts = torch.bincount(row_prompt, minlength=prompts)
        self.group = int(counts.max()) if len(row_prompt) else 1
        order = torch.argsort(row_prompt, stable=True)
        rank = torch.empty_like(row_prompt)
        starts = torch.cumsum(counts, 0) - counts
        rank[order] = torch.arange(len(row_prompt), device=row_prompt.device) - starts[row_prompt[order]]
        self.slots = row_prompt * self.group + rank
        self.prompts = prompts
        self.max_steps = max_steps
        self.step = 0
        self.self_keys: list[torch.Tensor] = []
        self.self_values: list[torch.Tensor] = []

    def keep(self, index: torch.Tensor) -> None:
        """Keep only the active rows at positions ``index`` (in the current active order)."""
        self.slots = self.slots.index_select(0, index)
        self.self_keys = [k.index_select(0, index) for k in self.self_keys]
        self.self_values = [v.index_select(0, index) for v in self.self_values]

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        if self.step >= self.max_steps:
            raise ValueError(f"more than the {self.max_steps} steps this decoder was prepared for")
        rows = input_ids.shape[0]
        embeddings = self.bert.embeddings
        position = torch.full((rows,), self.step, dtype=torch.long, device=input_ids.device)
        x = embeddings.word_embeddings(input_ids) + embeddings.token_type_embeddings(
            torch.zeros_like(input_ids)
        )
        x = embeddings.LayerNorm(x + embeddings.position_embeddings(position))
        t = self.step
        for i, layer in enumerate(self.layers):
            x = self._self_attention(i, layer.attention, x, rows, t)
            x = self._cross_attention(i, layer.crossattention, x, rows)
            x = layer.output(layer.intermediate(x), x)
        self.step += 1
        return self.head.transform(x)

    def _split(self, y: torch.Tensor, rows: int) -> torch.Tensor:
        return y.view(rows, self.heads, self.head_dim)

    def _self_attention(self, i: int, attention: Any, x: torch.Tensor, rows: int, t: int) -> torch.Tensor:
        module = attention.self
        query = self._split(module.query(x), rows)
        key = self._split(module.key(x), rows)
        value = self._split(module.value(x), rows)
        if len(self.self_keys) <= i:
            shape = (rows, self.heads, self.max_steps, self.head_dim)
            self.self_keys.append(key.new_zeros(shape))
            self.self_values.append(value.new_zeros(shape))
        keys, values = self.self_keys[i], self.self_values[i]
        keys[:, :, t] = key
        values[:, :, t] = value
        out = F.scaled_dot_product_attention(
            query.unsqueeze(2), keys[:, :, : t + 1], values[:, :, : t + 1]
        )  # the query is the last position: every cached position is visible
        return attention.output(out.reshape(rows, -1), x)

    def _cross_attention(self, i: int, attention: Any, x: torch.Tensor, rows: int) -> torch.Tensor:
        query = self._split(attention.self.query(x), rows)
        padded = query.new_zeros((self.prompts * self.group, self.heads, self.head_dim))
        padded.index_copy_(0, self.slots, query)
        grouped = padded.view(self.prompts, self.group, self.heads, self.head_dim).transpose(1, 2)
        out = F.scaled_dot_product_attention(
            grouped, self.cross_keys[i], self.cross_values[i], attn_mask=self.cross_mask
        )  # [prompts, heads, group, head_dim]: each prompt's keys read once for its rows
        out = out.transpose(1, 2).reshape(self.prompts * self.group, -1).index_select(0, self.slots)
        return attention.output(out, x)
