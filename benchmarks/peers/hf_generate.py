"""Peer of ``xqg generate``: Hugging Face ``model.generate`` on the same causal-LM generator folder.

What a ``transformers`` user writes for the same job: ``AutoModelForCausalLM`` and ``AutoTokenizer``
from the generator folder (float32, as a user gets it), the prompt and decoding settings read from the
folder's ``xqg_generator.json`` (template, passage truncation, minimum/maximum new tokens, no-repeat
n-grams), and per language and batch of passages one ``model.generate`` call (left-padded prompts
``<bos>{title} {passage}\\nGenerate a {Language} question for this passage:``, top-k 10 sampling,
``--n`` sequences per prompt, logits over the whole vocabulary). Writes ``queries.jsonl`` rows
``{docid, lang, slot, query}``.

    python benchmarks/peers/hf_generate.py CORPUS --generator DIR --languages ar,de --n 5 --output DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

#: English names of the languages a prompt may name (the xqg prompt names languages in English)
NAMES = {
    "ar": "Arabic", "bn": "Bengali", "de": "German", "el": "Greek", "en": "English", "es": "Spanish",
    "fi": "Finnish", "hi": "Hindi", "ja": "Japanese", "ko": "Korean", "ro": "Romanian", "ru": "Russian",
    "te": "Telugu", "th": "Thai", "tr": "Turkish", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip


def read_corpus(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpus")
    parser.add_argument("--generator", required=True)
    parser.add_argument("--languages", required=True)
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--output", required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    settings = json.loads((Path(args.generator) / "xqg_generator.json").read_text(encoding="utf-8"))
    shared, _, instruction = settings["prompt"].partition("\n")
    tokenizer = AutoTokenizer.from_pretrained(args.generator)
    model = AutoModelForCausalLM.from_pretrained(args.generator, dtype=torch.float32).eval()
    passages = read_corpus(args.corpus)
    languages = [v for v in args.languages.split(",") if v]
    limit = settings["max_input_length"]
    bos, pad = tokenizer.bos_token_id, tokenizer.pad_token_id
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "queries.jsonl", "w", encoding="utf-8") as sink, torch.no_grad():
        for lang in languages:
            tail = tokenizer("\n" + instruction.format(language=NAMES[lang]), add_special_tokens=False)
            for start in range(0, len(passages), args.batch_size):
                batch = passages[start : start + args.batch_size]
                prompts = []
                for row in batch:
                    text = shared.format(
                        title=" ".join(row.get("title", "").split()), passage=" ".join(row["text"].split())
                    )
                    ids = tokenizer(text, add_special_tokens=False)["input_ids"][: limit - 1]
                    prompts.append([bos, *ids, *tail["input_ids"]])
                width = max(len(p) for p in prompts)
                input_ids = torch.full((len(prompts), width), pad, dtype=torch.long)
                mask = torch.zeros((len(prompts), width), dtype=torch.long)
                for i, prompt in enumerate(prompts):  # left padding, as for any decoder-only batch
                    input_ids[i, width - len(prompt) :] = torch.tensor(prompt)
                    mask[i, width - len(prompt) :] = 1
                generated = model.generate(
                    input_ids=input_ids,
                    attention_mask=mask,
                    do_sample=True,
                    top_k=10,
                    min_new_tokens=settings["min_new_tokens"],
                    max_new_tokens=settings["max_new_tokens"],
                    no_repeat_ngram_size=settings["no_repeat_ngram_size"],
                    num_return_sequences=args.n,
                    eos_token_id=tokenizer.eos_token_id,
                    pad_token_id=pad,
                )
                texts = tokenizer.batch_decode(generated[:, width:], skip_special_tokens=True)
                for i, text in enumerate(texts):
                    row = {
                        "docid": batch[i // args.n]["_id"],
                        "lang": lang,
                        "slot": i % args.n,
                        "query": text.strip(),
                    }
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{args.output}: {len(passages)} passages x {len(languages)} languages x {args.n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
