"""Streaming a DPR-format corpus TSV (the shape of XOR-TyDi's ``enwiki_20190201_w100.tsv``).

Writes a synthetic N-passage TSV (100-word passages, CSV-quoted, as DPR writes them) into a
temporary folder, then streams it with :func:`xqg.data.corpus.iter_corpus` with and without the
duplicate-id check, and prints passages per second and peak resident memory of each pass (each
pass runs in a fresh process so peaks do not mix). Memory must not grow with N when the
duplicate check is off; with it on it grows by the id set only.

Usage: ``.venv/bin/python benchmarks/data_stream_corpus.py [--passages 300000]``
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = "the of and in to a was is for on as by with he that at from his it an were are which".split()


def make_corpus(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as out:
        out.write("id\ttext\ttitle\n")
        for i in range(1, n + 1):
            text = " ".join(rng.choice(WORDS) for _ in range(100)).replace("was", '"was"')
            out.write(f'{i}\t"{text.replace(chr(34), chr(34) * 2)}"\tTitle {i % 997}\n')


def stream(path: str, check: bool) -> None:
    from xqg.data.corpus import iter_corpus

    start = time.perf_counter()
    count = sum(1 for _ in iter_corpus(path, check_duplicates=check))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{count}\t{check}\t{count / seconds:,.0f}\t{peak_mb:,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, nargs="+", default=[100_000, 300_000])
    parser.add_argument("--stream", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream:
        stream(args.stream[0], args.stream[1] == "1")
        return
    print("| passages | duplicate check | passages/s | peak RSS (MB) | file (MB) |")
    print("|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.passages:
            path = Path(tmp) / f"psgs_{n}.tsv"
            make_corpus(path, n)
            size = path.stat().st_size / 2**20
            for check in (False, True):
                cmd = [sys.executable, __file__, "--stream", str(path), "1" if check else "0"]
                count, flag, rate, peak = subprocess.run(
                    cmd, capture_output=True, text=True, check=True
                ).stdout.split()
                print(f"| {int(count):,} | {flag} | {rate} | {peak} | {size:,.0f} |")
            path.unlink()


if __name__ == "__main__":
    main()
