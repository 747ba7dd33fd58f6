"""Peer of ``xqg encode``: what a sentence-transformers user writes for the same job.

Reads the same corpus JSONL (``{_id, title, text}``, encoded as ``title + " " + text``) or queries
TSV (``id<TAB>text[<TAB>lang]``), encodes with ``SentenceTransformer(folder).encode`` (the model's
``query``/``passage`` prompts, float32, as a user gets it) and writes ``vectors.npy`` + ``ids.txt``.

    python benchmarks/peers/st_encode.py INPUT --kind passage --model FOLDER --output DIR --batch-size 64
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer


def read_texts(path: Path, kind: str) -> tuple[list[str], list[str]]:
    ids, texts = [], []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            if kind == "passage":
                row = json.loads(line)
                ids.append(row["_id"])
                texts.append(f"{row['title']} {row['text']}" if row.get("title") else row["text"])
            else:
                parts = line.rstrip("\n").split("\t")
                ids.append(parts[0])
                texts.append(parts[1])
    return ids, texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("input")
    parser.add_argument("--kind", choices=("passage", "query"), required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--output", required=True)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    ids, texts = read_texts(Path(args.input), args.kind)
    model = SentenceTransformer(args.model, device="cpu")
    vectors = model.encode(texts, prompt_name=args.kind, batch_size=args.batch_size, convert_to_numpy=True)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "vectors.npy", vectors.astype(np.float32))
    (out / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    print(f"{args.output}: {len(ids)} vectors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
