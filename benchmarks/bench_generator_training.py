"""Cost of a training example for the default generator (Gemma 3 270M): the plain way vs xqg's packing.

The same questions (XQuAD training articles of fold 0, in 10 languages, with their English
paragraphs) train the same model, one optimizer step at a time (forward, backward, AdamW step), in:

* **plain** — what the probe in design.md §4 did and what a ``transformers`` user writes: each
  example is its own sequence ``paragraph + instruction + question`` in a padded batch of 8, logits
  over the whole 262k vocabulary at the question positions only, embeddings frozen, every layer
  trained, bfloat16 autocast;
* **xqg, packed** — :meth:`CausalLMGenerator.unit_loss`: one paragraph read once, its questions in all
  languages as blocks behind it (each sees the paragraph and itself), up to 32 per step;
* **+ trimmed vocabulary** — the output layer over the tokens of the training text (~30k) instead
  of 262k;
* **+ top 9 of 18 layers trained** — the recipe's setting (``train_layers=9``).

Rates are per CPU-second of this process (``time.process_time``) with ``--threads`` threads, the
engines interleaved in each repeat (benchmarks/README.md: on the shared 2-core machine wall time
measures the queue), and the table gives medians over repeats of the seconds per example and the
ratio to the plain way.

Run (about 10 minutes of one core):

    XQG_DATA_MIRROR=../shared/data .venv/bin/python benchmarks/bench_generator_training.py --threads 1 --repeats 3
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine_header, markdown_table, median, pin_threads, set_data_mirror  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--examples", type=int, default=32, help="examples per measured step (one paragraph)")
    parser.add_argument("--base", default=None, help="causal LM to start from (default: Gemma 3 270M)")
    args = parser.parse_args()
    pin_threads(args.threads)
    set_data_mirror()

    import torch
    from torch.nn import functional as F

    from xqg.data import load_xquad, split_by_articles, xquad_folds
    from xqg.generate import build_default_generator, examples_from_dataset
    from xqg.generate.recipes import vocabulary_texts
    from xqg.generate.training_config import GeneratorTrainingConfig

    languages = ["ar", "de", "el", "es", "hi", "ru", "th", "tr", "vi", "zh"]
    dataset = load_xquad(languages)
    train_articles, _ = xquad_folds(4, seed=0)[0]
    examples = examples_from_dataset(split_by_articles(dataset, train_articles), languages)
    by_passage: dict[str, list] = {}
    for ex in examples:
        by_passage.setdefault(ex.passage.id, []).append(ex)
    generator = build_default_generator(vocabulary_texts(examples), base=args.base)
    # a paragraph of typical length (the median of the training paragraphs) with enough questions
    lengths = {key: len(generator.shared_ids(rows[0].passage)) for key, rows in by_passage.items()}
    typical = median(sorted(lengths.values()))
    candidates = [key for key in sorted(by_passage) if len(by_passage[key]) >= args.examples]
    passage_id = min(candidates, key=lambda key: (abs(lengths[key] - typical), key))
    unit = by_passage[passage_id][: args.examples]
    print(machine_header("Generator training: cost per example", args.threads))
    print(
        f"{len(unit)} examples of paragraph {passage_id} ({lengths[passage_id]} tokens; median {typical:.0f});"
        f" trimmed vocabulary {len(generator.token_subset)} of {generator.model.config.vocab_size} tokens\n"
    )

    def optimizer_step(params: list, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def setup(train_layers: int | None, trim: bool) -> tuple[list, torch.optim.Optimizer]:
        generator.settings.trim_vocabulary = trim
        generator.configure_training(GeneratorTrainingConfig(train_layers=train_layers))
        params = [p for p in generator.model.parameters() if p.requires_grad]
        return params, torch.optim.AdamW(params, lr=1e-6)

    def plain() -> int:
        params, optimizer = setup(None, trim=False)
        body, weight = generator.body, generator.model.get_output_embeddings().weight
        for start in range(0, len(unit), 8):
            batch = unit[start : start + 8]
            rows = []
            for ex in batch:
                prompt = generator.shared_ids(ex.passage) + generator.language_ids(ex.passage, ex.lang)
                rows.append((prompt, generator.target_ids(ex.query, 32)))
            width = max(len(p) + len(t) - 1 for p, t in rows)
            ids = torch.full((len(rows), width), generator.pad_id)
            mask = torch.zeros((len(rows), width), dtype=torch.long)
            sel_rows, sel_cols, labels = [], [], []
            for r, (prompt, target) in enumerate(rows):
                seq = prompt + target[:-1]
                ids[r, : len(seq)] = torch.tensor(seq)
                mask[r, : len(seq)] = 1
                sel_rows += [r] * len(target)
                sel_cols += list(range(len(prompt) - 1, len(prompt) - 1 + len(target)))
                labels += target
            with torch.autocast("cpu", dtype=torch.bfloat16):
                hidden = body(input_ids=ids, attention_mask=mask).last_hidden_state[sel_rows, sel_cols]
                logits = F.linear(hidden, weight).float()
                loss = F.cross_entropy(logits, torch.tensor(labels))
            optimizer_step(params, loss, optimizer)
        return len(unit)

    def packed(train_layers: int | None, trim: bool):
        def run() -> int:
            params, optimizer = setup(train_layers, trim)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss, tokens = generator.unit_loss(unit[0].passage, [(ex.lang, ex.query) for ex in unit])
            optimizer_step(params, loss / tokens, optimizer)
            return len(unit)

        return run

    engines = {
        "plain (design.md probe): batches of 8, full vocabulary, all layers": plain,
        "xqg packed, full vocabulary, all layers": packed(None, False),
        "xqg packed, trimmed vocabulary, all layers": packed(None, True),
        "xqg packed, trimmed vocabulary, top 9 layers (recipe)": packed(9, True),
    }
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    for run in engines.values():  # warm-up
        run()
    for _ in range(args.repeats):
        for name, run in engines.items():
            start = time.process_time()
            count = run()
            seconds[name].append((time.process_time() - start) / count)
    base = median(seconds[next(iter(engines))])
    rows = [
        [name, f"{median(values):.3f}", f"{base / median(values):.1f}x"] for name, values in seconds.items()
    ]
    print(markdown_table(["engine", "CPU s per example", "vs plain"], rows))


if __name__ == "__main__":
    main()
