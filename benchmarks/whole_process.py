"""Whole-process benchmarks: the commands a user types, timed as processes (start-up, imports, model
load, work and output included), against the script a user would otherwise write, at equal threads.

Rows (each ``xqg`` command against its peers in ``benchmarks/peers/``):

* ``encode passages`` — ``xqg encode CORPUS --kind passage`` (defaults: ``--precision auto``) vs
  ``peers/st_encode.py`` (``SentenceTransformer(folder).encode``, float32 as a user gets it); the
  240 English XQuAD paragraphs, the default encoder's folder for both;
* ``encode queries`` — the same with ``--kind query`` on 1,190 XQuAD questions (question *i* in
  language *i* mod 11: all 11 languages and scripts);
* ``search, N queries`` — ``xqg search --queries QDIR --index IDX`` vs ``peers/faiss_search.py``
  (``IndexFlatIP``) and ``peers/numpy_search.py`` (matrix product + ``argpartition``), top 100 over
  ``--index-rows`` random unit 384-d float32 vectors in shards of 100,000 (an ``xqg encode``-style
  folder; the peers read the same ``.npy`` files); N = 1 (memory-bound: its bound is one read of
  the vectors at the machine's streaming bandwidth, printed) and N = 1,190 (compute-bound);
* ``generate`` — ``--generate-xqg`` vs ``--generate-peer`` (command templates, so another generator
  can be measured: see ``--help``); by default the generator folder that ``prepare`` builds (the
  untrained default generator, Gemma 3 270M, of ``xqg.generate.build_default_generator``, every query
  32 tokens) over 4 XQuAD paragraphs x 3 languages x 5 queries, against ``peers/hf_generate.py``
  (``transformers``' ``model.generate`` on the same folder and settings).

Each command runs ``--repeats`` times after one untimed warm-up (page cache, the remembered
checksums of ``xqg search``, model files), engines alternating within each repeat; each run goes
through ``/usr/bin/time`` (wall time, CPU time = user + system, peak resident memory, as
``/usr/bin/time -v`` reports them). Tables give the minimum
and the median; the speed-ups are peer / xqg of the medians. Every engine gets ``--threads`` threads
(OMP/MKL/OpenBLAS/Rayon variables; torch and FAISS read them).

Usage (the command that regenerates the table in docs/performance.md)::

    .venv/bin/python benchmarks/whole_process.py --work /tmp/xqg-whole --threads 1 --repeats 3 \\
        --write-docs docs/performance.md

``--rows`` picks rows (``encode-passages encode-queries search-1 search-batch generate``;
``search-batch`` searches ``--queries`` query vectors, 1,190 by default).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from _common import REPO, THREAD_VARIABLES, machine_header, markdown_table, median, set_data_mirror

PEERS = Path(__file__).resolve().parent / "peers"
ROWS = ("encode-passages", "encode-queries", "search-1", "search-batch", "generate")
BEGIN = "<!-- whole-process table: begin (benchmarks/whole_process.py --write-docs) -->"
END = "<!-- whole-process table: end -->"
GENERATE_LANGUAGES = "ar,de,zh"
XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")


@dataclass
class Measure:
    """One process run: wall seconds, CPU seconds (user + system), peak resident memory (MiB)."""

    wall: float
    cpu: float
    rss_mib: float


@dataclass
class Engine:
    """A command line (``{out}`` is replaced by a fresh output path for each run) and its runs."""

    name: str
    command: str
    output: str = "dir"  # "dir" or "file": what {out} is
    runs: list[Measure] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # 1-minute load average before each run


TIME = "/usr/bin/time"


def run_process(command: str, env: dict[str, str], log: Path) -> Measure:
    """Run ``command`` (a shell command line) under ``/usr/bin/time``: wall, CPU (user + system),
    peak RSS of the command itself (``wait4`` from this process would count the memory it had when it
    forked, before the ``exec``; ``time`` is small when it forks).

    Raises:
        RuntimeError: the command failed (its output is in ``log``).
    """
    stats = log.with_suffix(".time")
    argv = [TIME, "-f", "%e %U %S %M", "-o", str(stats), "/bin/sh", "-c", f"exec {command}"]
    with open(log, "w", encoding="utf-8") as sink:
        start = time.perf_counter()
        code = subprocess.call(argv, stdout=sink, stderr=subprocess.STDOUT, env=env)
        wall = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"command failed ({code}), see {log}: {command}")
    _, user, system, rss_kib = stats.read_text(encoding="utf-8").split()[-4:]
    return Measure(wall, float(user) + float(system), int(rss_kib) / 1024)


def environment(threads: int, work: Path) -> dict[str, str]:
    """The environment of every command: pinned threads, offline hubs, xqg on the path."""
    env = dict(os.environ)
    for name in (*THREAD_VARIABLES, "RAYON_NUM_THREADS"):
        env[name] = str(threads)
    env["TOKENIZERS_PARALLELISM"] = "true" if threads > 1 else "false"
    env["HF_HUB_OFFLINE"] = env["TRANSFORMERS_OFFLINE"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), *filter(None, [env.get("PYTHONPATH")])])
    env["XQG_STAMP_DIR"] = str(work / "stamps")
    env["PYTHONWARNINGS"] = "ignore"
    return env


def prepare(
    work: Path, index_rows: int, query_count: int, generate: bool = True, generate_passages: int = 4
) -> None:
    """Write the inputs once (kept between runs): corpus, questions, index and query vectors, generator."""
    work.mkdir(parents=True, exist_ok=True)
    from xqg.data import load_xquad

    corpus = work / "corpus.jsonl"
    dataset = None
    if not corpus.exists():
        dataset = load_xquad(list(XQUAD_LANGUAGES))
        with open(corpus, "w", encoding="utf-8") as out:
            for p in dataset.corpus:
                out.write(
                    json.dumps({"_id": p.id, "title": p.title, "text": p.text}, ensure_ascii=False) + "\n"
                )
    with open(corpus, encoding="utf-8") as source:  # the first passages, for the generate row
        (work / "corpus-generate.jsonl").write_text(
            "".join(line for _, line in zip(range(generate_passages), source, strict=False)), encoding="utf-8"
        )
    questions = work / "queries.tsv"
    if not questions.exists():
        dataset = dataset or load_xquad(list(XQUAD_LANGUAGES))
        by_lang = [dataset.queries[lang] for lang in XQUAD_LANGUAGES]
        with open(questions, "w", encoding="utf-8") as out:
            for i in range(query_count):
                lang = XQUAD_LANGUAGES[i % len(by_lang)]
                q = by_lang[i % len(by_lang)][i // len(by_lang) % len(by_lang[0])]
                text = " ".join(q.text.split())
                out.write(f"{q.id}-{lang}\t{text}\t{lang}\n")
    from bench_search import RandomVectorTask
    from xqg.distributed import run_sharded

    for name, rows, seed, shard in (
        ("index", index_rows, 0, 100_000),
        ("q1", 1, 1, 100_000),
        (f"q{query_count}", query_count, 2, 100_000),
    ):
        if not (work / name / "manifest.json").exists() or not all(
            (d / "DONE").exists() for d in (work / name).glob("shard-*")
        ):
            run_sharded(RandomVectorTask(seed=seed), rows, work / name, shard_size=shard, show_progress=False)
    if generate and not (work / "generator" / "xqg_generator.json").exists():
        from xqg.generate import build_default_generator

        dataset = dataset or load_xquad(list(XQUAD_LANGUAGES))
        langs = GENERATE_LANGUAGES.split(",")
        # the untrained default generator (Gemma 3 270M, output vocabulary trimmed to the XQuAD text of
        # the languages, as `xqg train-generator --default` builds it before training); every query
        # exactly max_new_tokens long, so both sides decode the same number of steps whatever an
        # untrained model writes (speed does not depend on the weights)
        texts = [q.text for lang in langs for q in dataset.queries[lang]] + [p.text for p in dataset.corpus]
        generator = build_default_generator(texts)
        generator.settings.min_new_tokens = generator.settings.max_new_tokens
        generator.save(work / "generator")


def engines_for(row: str, args: argparse.Namespace) -> list[Engine]:
    """The xqg command (first) and its peers for one row."""
    py = shlex.quote(sys.executable)
    work = shlex.quote(str(args.work))
    xqg = f"{py} -m xqg.cli.main"
    model = shlex.quote(str(args.model))
    if row.startswith("encode-"):
        kind = {"encode-passages": "passage", "encode-queries": "query"}[row]
        source = f"{work}/corpus.jsonl" if kind == "passage" else f"{work}/queries.tsv"
        return [
            Engine("xqg encode", f"{xqg} encode {source} --kind {kind} --batch-size 64 -o {{out}}"),
            Engine(
                "sentence-transformers script",
                f"{py} {PEERS}/st_encode.py {source} --kind {kind} --model {model} --batch-size 64 --output {{out}}",
            ),
        ]
    if row.startswith("search-"):
        queries = f"{work}/q1" if row == "search-1" else f"{work}/q{args.queries}"
        common = f"--queries {queries} --index {work}/index -k 100"
        return [
            Engine("xqg search", f"{xqg} search {common} -o {{out}}", "file"),
            Engine(
                "FAISS IndexFlatIP script", f"{py} {PEERS}/faiss_search.py {common} --output {{out}}", "file"
            ),
            Engine("numpy script", f"{py} {PEERS}/numpy_search.py {common} --output {{out}}", "file"),
        ]
    if row == "generate":
        values = {"python": py, "xqg": xqg, "work": work, "peers": str(PEERS), "out": "{out}"}
        return [
            Engine("xqg generate", args.generate_xqg.format(**values)),
            Engine(args.generate_peer_name, args.generate_peer.format(**values)),
        ]
    raise ValueError(row)


def measure_row(row: str, args: argparse.Namespace, env: dict[str, str]) -> list[Engine]:
    engines = engines_for(row, args)
    scratch = args.work / "out" / row
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)

    def once(engine: Engine, tag: str) -> Measure:
        out = scratch / f"{engine.name.split()[0]}-{tag}"
        out = out.with_suffix(".trec") if engine.output == "file" else out
        if out.is_dir():
            shutil.rmtree(out)
        engine.loads.append(os.getloadavg()[0])
        measure = run_process(
            engine.command.format(out=shlex.quote(str(out))), env, scratch / f"{out.name}.log"
        )
        print(
            f"  {row:16s} {engine.name:32s} wall {measure.wall:7.2f} s  cpu {measure.cpu:7.2f} s  "
            f"rss {measure.rss_mib:7.0f} MiB",
            file=sys.stderr,
            flush=True,
        )
        return measure

    for engine in engines:
        once(engine, "warmup")
    for repeat in range(args.repeats):
        order = engines if repeat % 2 == 0 else list(reversed(engines))  # alternate who goes first
        for engine in order:
            engine.runs.append(once(engine, str(repeat)))
    return engines


def search_agreement_note(row: str, work: Path) -> str:
    """How the run ``xqg search`` wrote compares with the FAISS script's (last timed repeat of each)."""
    from xqg.data.trec import read_run

    scratch = work / "out" / row
    ours, faiss_run = read_run(scratch / "xqg-0.trec"), read_run(scratch / "FAISS-0.trec")
    same_order = sum(list(ours[q]) == list(faiss_run[q]) for q in faiss_run)
    same_set = sum(set(ours[q]) == set(faiss_run[q]) for q in faiss_run)
    diff = max(abs(ours[q][d] - faiss_run[q][d]) for q in faiss_run for d in faiss_run[q] if d in ours[q])
    return (
        f"{row}: `xqg search`'s run vs the FAISS script's: the same top 100 documents for {same_set:,} of "
        f"{len(faiss_run):,} queries, in the same order for {same_order:,}; largest score difference "
        f"{diff:.1e} (the TREC files carry 6 decimals; float32 scores summed in another order differ by a "
        "few units in the last place, and documents that close can change places)"
    )


def row_table(row: str, engines: list[Engine]) -> list[list[str]]:
    xqg_wall = median([m.wall for m in engines[0].runs])
    xqg_cpu = median([m.cpu for m in engines[0].runs])
    lines = []
    for engine in engines:
        walls = [m.wall for m in engine.runs]
        cpus = [m.cpu for m in engine.runs]
        rss = max(m.rss_mib for m in engine.runs)
        loads = engine.loads[1:]  # the timed runs' (the warm-up's left out)
        speed_wall = "" if engine is engines[0] else f"**{median(walls) / xqg_wall:.2f}x**"
        speed_cpu = "" if engine is engines[0] else f"**{median(cpus) / xqg_cpu:.2f}x**"
        lines.append(
            [
                row,
                engine.name,
                f"{min(walls):.2f} / {median(walls):.2f}",
                f"{min(cpus):.2f} / {median(cpus):.2f}",
                f"{rss:.0f}",
                speed_wall,
                speed_cpu,
                f"{min(loads):.1f}-{max(loads):.1f}",
            ]
        )
    return lines


SEARCH_CORE = """
import glob, struct, sys, time
sys.path.insert(0, {bench!r})
import faiss
import numpy as np
from bench_search import bandwidth_bytes_per_s
from xqg.distributed import load_vectors
from xqg.index.search_plan import search_index
ids, q = load_vectors({queries!r})
q = np.asarray(q, dtype=np.float32)


def median_of_5(fn):  # CPU seconds (user + system) of this single-threaded child: the work, not the wait
    times = []
    for _ in range(6):  # the first warms the page cache and the remembered checks
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return sorted(times[1:])[2]


def large_folio_share(maps):  # share of sampled pages held in large folios (/proc/kpageflags; root)
    try:
        pagemap, flags = open("/proc/self/pagemap", "rb"), open("/proc/kpageflags", "rb")
    except OSError:
        return -1.0
    large = seen = 0
    for m in maps:
        address = m.__array_interface__["data"][0] // 4096
        for page in range(0, m.nbytes // 4096, 64):
            pagemap.seek((address + page) * 8)
            entry = struct.unpack("Q", pagemap.read(8))[0]
            frame = entry & ((1 << 55) - 1)
            if not entry >> 63 or not frame:
                continue
            flags.seek(frame * 8)
            value = struct.unpack("Q", flags.read(8))[0]
            large += (value >> 15) & 3 != 0  # compound head or tail
            seen += 1
    return large / seen if seen else -1.0


out = []
for index in {indexes!r}:
    search = median_of_5(lambda: search_index(q, ids, [index], k=100))
    maps = [np.load(f, mmap_mode="r") for f in sorted(glob.glob(index + "/shard-*/vectors.npy"))]
    for m in maps:  # fault the pages into this process once
        np.add.reduce(m, axis=None)
    scan = median_of_5(lambda: [faiss.knn(q, m, 108, metric=faiss.METRIC_INNER_PRODUCT) for m in maps])
    out += [search, scan, large_folio_share(maps)]
print(*out, bandwidth_bytes_per_s(1 << 30, repeats=3))
"""


def search_core_note(work: Path, env: dict[str, str]) -> str:
    """The search of one query inside the process against the memory-bandwidth bound.

    The bound is one read of the index's vectors (bytes of ``shard-*/vectors.npy``) at this machine's
    streaming-read bandwidth (``np.add.reduce`` over 1 GiB of float32, single thread, median of 3,
    ``bench_search.bandwidth_bytes_per_s``), measured in the same child right after the searches. The
    search is ``xqg.index.search_plan.search_index``, the call ``xqg search`` makes after reading its
    query vectors (plan, remembered checks, each shard memory-mapped and scanned, top-100 merge), median
    of 5 after a warm-up, in CPU seconds of the single-threaded child (the work, not the wait for a core on
    a shared machine); the scan alone is FAISS's ``knn`` over the same shards already mapped into
    the process. What a search pays beyond the scan is mapping 1.5 GB of page cache into a new process,
    and that depends on how the kernel holds the files: in large folios (a file just written, or read
    back after eviction) the page tables are filled a folio at a time; in 4 KiB pages (what a long-lived
    file on a busy machine can end up as) page by page. So it is measured twice: on the benchmark's
    index as it is, and on a copy written just now (``index-copy``); the share of pages in large folios
    is read from ``/proc/kpageflags`` (root only; "n/a" otherwise).
    """
    index, copy = work / "index", work / "index-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(index, copy)
    size = sum(p.stat().st_size for p in index.glob("shard-*/vectors.npy"))
    code = SEARCH_CORE.format(
        bench=str(Path(__file__).resolve().parent), queries=str(work / "q1"), indexes=[str(index), str(copy)]
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    values = [float(v) for v in result.stdout.split()[-7:]]
    rate = values[6]
    bound = size / rate

    def share(value: float) -> str:
        return "n/a" if value < 0 else f"{100 * value:.0f} %"

    (aged, aged_scan, aged_large), (fresh, fresh_scan, fresh_large) = values[0:3], values[3:6]
    return (
        f"search bound (1 query): {size / 2**20:,.0f} MiB of float32 vectors at {rate / 1e9:.1f} GB/s "
        f"(streaming read, np.add.reduce over 1 GiB, 1 thread) = {bound:.3f} s. Inside the process, "
        f"`xqg search`'s call (search_index: plan, remembered checks, shards memory-mapped and scanned, "
        f"top-100 merge; CPU seconds, median of 5 warm calls): on a copy of the index written just now "
        f"({share(fresh_large)} of its pages in large folios) {fresh:.3f} s = **{fresh / bound:.2f}x the bound**; "
        f"on the benchmark's index as this machine holds it ({share(aged_large)} in large folios) "
        f"{aged:.3f} s = **{aged / bound:.2f}x**. FAISS's scan of the shards once mapped into the process: "
        f"{fresh_scan:.3f} / {aged_scan:.3f} s = {fresh_scan / bound:.2f}x / {aged_scan / bound:.2f}x; the "
        "rest is mapping the page cache into the process (a folio at a time, or page by page) and the "
        "merge. The rest of the whole process is start-up, imports, reading the query and writing the run"
    )


def render(header: str, notes: list[str], lines: list[list[str]], done: bool = True) -> str:
    """The Markdown block: header, notes (bound, load at the end), the table."""
    table = markdown_table(
        [
            "row",
            "engine",
            "wall s (min / median)",
            "CPU s (min / median)",
            "peak RSS MiB",
            "speed-up (wall)",
            "speed-up (CPU)",
            "load avg (1 min)",
        ],
        lines,
    )
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    end = (
        f"- load average (1/5/15 min) at the end: {load}; the last column is the 1-minute load before each "
        "timed run (2 cores shared with other engineers)"
        if done
        else f"- (partial: the rows measured so far; load average now {load})"
    )
    return "\n".join([header, "", *notes, end, "", table])


def _block(path: Path) -> str:
    """The text between the table markers of ``path`` ("" when it has none)."""
    content = path.read_text(encoding="utf-8")
    return content.split(BEGIN, 1)[1].split(END, 1)[0] if BEGIN in content else ""


def kept_rows(path: Path, measured: list[str]) -> list[list[str]]:
    """The table lines of the block in ``path`` whose row is not being measured now (``--keep-other-rows``)."""
    lines = []
    for line in _block(path).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and cells[0] in ROWS and cells[0] not in measured:
            lines.append(cells)
    return lines


def kept_notes(path: Path, measured: list[str]) -> list[str]:
    """The notes of the block in ``path`` that belong to a row not being measured now: those that start
    with the row's name, and the search bound's, which belongs to ``search-1``."""
    paragraphs = _block(path).strip().split("\n\n")
    # the block (see render): title, header lines ("- machine: ..."), the notes, the table
    tables = [i for i, part in enumerate(paragraphs) if part.startswith("| row")]
    before = paragraphs[tables[0] - 1] if tables and tables[0] > 0 else ""
    notes_lines = [] if "- machine:" in before else before.splitlines()
    notes = []
    for line in notes_lines:
        row = "search-1" if line.startswith("- search bound") else line[2:].split(":", 1)[0]
        if line.startswith("- ") and row in ROWS and row not in measured:
            notes.append(line)
    return notes


def write_docs(path: Path, text: str) -> None:
    content = path.read_text(encoding="utf-8")
    if BEGIN not in content or END not in content:
        raise SystemExit(f"{path} has no {BEGIN} ... {END} block to replace")
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/xqg-whole"), help="inputs and outputs (kept)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    parser.add_argument("--index-rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1190, help="questions / query vectors (default 1190)")
    parser.add_argument(
        "--generate-passages", type=int, default=4, help="XQuAD paragraphs of the generate row (default 4)"
    )
    parser.add_argument("--model", default=None, help="encoder folder (default: the default encoder's)")
    parser.add_argument(
        "--generate-xqg",
        default="{xqg} generate {work}/corpus-generate.jsonl --generator {work}/generator --languages "
        + GENERATE_LANGUAGES
        + " --n 5 -o {out}",
        help="xqg generate command; {xqg}, {python}, {work}, {peers}, {out} are filled in",
    )
    parser.add_argument(
        "--generate-peer",
        default="{python} {peers}/hf_generate.py {work}/corpus-generate.jsonl --generator {work}/generator --languages "
        + GENERATE_LANGUAGES
        + " --n 5 --output {out}",
        help="the peer's command (same placeholders)",
    )
    parser.add_argument("--generate-peer-name", default="Hugging Face generate script")
    parser.add_argument(
        "--generator-note", default=None, help="what the generate row measures (table header)"
    )
    parser.add_argument(
        "--keep-other-rows",
        action="store_true",
        help="with --write-docs and --rows: keep the rows of the existing table that are not re-measured",
    )
    parser.add_argument("--write-docs", type=Path, default=None, help="replace the table block in this file")
    args = parser.parse_args(argv)
    set_data_mirror()
    args.work = args.work.resolve()
    if args.generator_note is None:
        args.generator_note = (
            f"{args.generate_passages} XQuAD paragraphs x 3 languages (ar, de, zh) x 5 queries, 32 tokens "
            "each (min = max new tokens in the folder's settings, read by both); the untrained default "
            "generator (Gemma 3 270M from $XQG_CACHE/models/gemma-3-270m, vocabulary trimmed to the XQuAD "
            "text by xqg.generate.build_default_generator; speed does not depend on the weights)"
        )
    if args.model is None:
        from xqg.encode import ensure_default_model

        args.model = ensure_default_model()
    prepare(args.work, args.index_rows, args.queries, "generate" in args.rows, args.generate_passages)
    env = environment(args.threads, args.work)
    header = machine_header(
        "Whole processes: the commands a user types vs the scripts they replace",
        args.threads,
        {
            "repeats": f"{args.repeats} timed after 1 warm-up, engines alternating; min / median",
            "encode inputs": "240 XQuAD English paragraphs (title + text); 1,190 XQuAD questions in 11 languages",
            "search inputs": f"{args.index_rows:,} random unit 384-d float32 vectors in shards of 100,000; top 100",
            "generate": args.generator_note,
        },
    )
    lines: list[list[str]] = []
    notes: list[str] = []
    if args.keep_other_rows and args.write_docs:
        lines = kept_rows(args.write_docs, args.rows)
        notes = kept_notes(args.write_docs, args.rows)
    for row in args.rows:
        engines = measure_row(row, args, env)
        lines += row_table(row, engines)
        if row == "search-1":
            notes.append(f"- {search_core_note(args.work, env)}")
        if row.startswith("search-"):
            notes.append(f"- {search_agreement_note(row, args.work)}")
        if args.write_docs and row != args.rows[-1]:  # the rows so far, in case a later one is stopped
            write_docs(args.write_docs, render(header, notes, lines, done=False))
    text = render(header, notes, lines)
    print(text)
    if args.write_docs:
        write_docs(args.write_docs, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
