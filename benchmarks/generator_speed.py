"""Cost of the generator's output layer: full XLM-R vocabulary vs the reduced vocabularies.

Times a forward + backward pass of the decoder's output projection (hidden 384, the size of
multilingual-e5-small) for one training batch of 32 questions x 20 tokens, over the full 250,037-row
vocabulary, the union of the XQuAD training questions' pieces (~26k) and one language's subset (~3k).

Usage:
    python benchmarks/generator_speed.py [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=32 * 20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"output layer, {args.tokens} tokens, hidden 384, forward+backward, {args.threads} threads")
    print(f"{'rows':>8} {'ms/batch':>10} {'x of 3k':>8}")
    base = None
    for rows in (3_000, 25_864, 250_037):
        weight = torch.randn(rows, 384, requires_grad=True)
        hidden = torch.randn(args.tokens, 384, requires_grad=True)
        target = torch.randint(0, rows, (args.tokens,))
        times = []
        for _ in range(args.repeats + 1):
            start = time.perf_counter()
            loss = torch.nn.functional.cross_entropy(hidden @ weight.T, target)
            loss.backward()
            times.append(time.perf_counter() - start)
        ms = sorted(times[1:])[len(times[1:]) // 2] * 1000
        base = base or ms
        print(f"{rows:>8} {ms:>10.1f} {ms / base:>8.1f}")


if __name__ == "__main__":
    main()
