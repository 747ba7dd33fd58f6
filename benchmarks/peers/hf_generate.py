"""Peer of ``xqg generate``: Hugging Face ``model.generate`` on the same generator folder.

Loads the generator folder (the model through ``transformers``; xqg's loader only to read its
prompt template, language start tokens and output vocabulary, which the folder defines), reads the
corpus JSONL and, per language and batch of passages, calls ``model.generate`` with top-k 10
sampling, ``--n`` sequences per passage and at most ``--max-new-tokens`` tokens, as a
``transformers`` user would, then writes ``queries.jsonl`` rows ``{docid, lang, slot, query}``.

    python benchmarks/peers/hf_generate.py CORPUS --generator DIR --languages ar,de --n 5 --output DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus")
    parser.add_argument("--generator", required=True)
    parser.add_argument("--languages", required=True)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--output", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from xqg.data.records import Passage
    from xqg.generate import load_generator

    torch.manual_seed(args.seed)
    generator = load_generator(args.generator, device="cpu")
    passages = []
    with open(args.corpus, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            passages.append(Passage(row["_id"], row["text"], row.get("title", "")))
    languages = [v for v in args.languages.split(",") if v]
    vocab = generator.vocabulary
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "queries.jsonl", "w", encoding="utf-8") as sink, torch.no_grad():
        for lang in languages:
            for start in range(0, len(passages), args.batch_size):
                batch = passages[start : start + args.batch_size]
                enc = generator.tokenizer(
                    generator.prompts(batch, lang),
                    max_length=generator.settings.max_input_length,
                    truncation=True,
                    padding=True,
                    return_tensors="pt",
                )
                first = torch.full((len(batch), 1), generator.decoder_start(lang), dtype=torch.long)
                ids = generator.model.generate(
                    input_ids=enc["input_ids"],
                    attention_mask=enc["attention_mask"],
                    decoder_input_ids=first,
                    do_sample=True,
                    top_k=10,
                    max_new_tokens=args.max_new_tokens,
                    no_repeat_ngram_size=generator.settings.no_repeat_ngram_size,
                    num_return_sequences=args.n,
                    eos_token_id=vocab.small_eos,
                    pad_token_id=vocab.small_pad,
                )
                specials = {vocab.small_eos, vocab.small_pad}
                texts = [  # output ids are the generator's small vocabulary after the language start token
                    generator.tokenizer.decode(
                        vocab.to_full([t for t in seq[1:].tolist() if t not in specials]),
                        skip_special_tokens=True,
                    ).strip()
                    for seq in ids
                ]
                for i, text in enumerate(texts):
                    row = {"docid": batch[i // args.n].id, "lang": lang, "slot": i % args.n, "query": text}
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{args.output}: {len(passages)} passages x {len(languages)} languages x {args.n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
