"""`xqg run` end to end on real XQuAD with tiny random encoders: every system kind that needs no
generator, typo conditions, the report folder, and the stage cache (a re-run redoes nothing, a
changed setting redoes only what depends on it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xqg.encode.testing import tiny_encoder
from xqg.errors import ConfigError
from xqg.experiment.config import parse_config
from xqg.experiment.pipeline import run_experiment


def _config(tmp_path, model, other, variants=2):
    return parse_config(
        {
            "experiment": {"name": "tiny", "seed": 3, "output": str(tmp_path / "report")},
            "data": {
                "dataset": "xquad",
                "languages": ["de", "th"],
                "num_folds": 4,
                "eval_folds": [1],
                "max_queries_per_language": 12,
            },
            "encoder": {"model": str(model), "batch_size": 64, "others": {"other": str(other)}},
            "training": {"towers": "query", "max_steps": 2, "batch_size": 8},
            "fusion": {"alpha_sweep": [0.0, 0.5], "mode": "mean"},
            "typos": {"protocols": ["one-typo"], "variants": variants},
            "systems": {
                "names": [
                    "zero-shot",
                    "zero-shot+oracle",
                    "zero-shot+predicted",
                    "fine-tuned",
                    "fine-tuned:typos-aware",
                    "other/zero-shot",
                ],
                "baseline": "zero-shot",
            },
            "metrics": {"names": ["Success@1", "MRR@10"], "primary": "Success@1"},
        },
        where="tiny.toml",
    )


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    tiny_encoder(seed=0).save(root / "a")
    tiny_encoder(seed=1).save(root / "b")
    return root / "a", root / "b"


def _stage_dirs(cache):
    return sorted(p.name for p in cache.iterdir() if p.is_dir() and p.name != "encodings")


def _encodings(cache):
    return sorted(p.relative_to(cache).as_posix() for p in (cache / "encodings").glob("*/*.npy"))


def test_run_writes_the_report_and_reuses_every_stage(tmp_path, models, xquad_dir, monkeypatch):
    monkeypatch.setenv("XQG_DATA_MIRROR", str(xquad_dir.parent))
    cache = tmp_path / "cache"
    summary = run_experiment(_config(tmp_path, *models), cache_dir=cache)
    results = json.loads(summary.results_json.read_text(encoding="utf-8"))
    assert summary.report_html.exists() and (tmp_path / "report" / "report.md").exists()
    # the data line of the report names the data set (a typo protocol's name once stood in its place)
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "\n\nDataset xquad (paragraph corpus of " in report and "one-typo Significance" not in report
    assert set(results["systems"]) >= {"zero-shot", "fine-tuned:typos-aware", "other/zero-shot"}
    fold = results["fold1"]
    # α of the predictor is chosen on held-out dev articles, the oracle's on the training articles
    assert "dev articles (select α)" in fold["alpha_curves"]["zero-shot+predicted"]
    assert "training articles (select α)" in fold["alpha_curves"]["zero-shot+oracle"]
    assert fold["alpha"]["zero-shot+predicted"] in (0.0, 0.5)
    trained = [d for d in _stage_dirs(cache) if d.startswith("train-retriever")]
    assert len(trained) == 2  # plain and typos-aware
    per_query = list((tmp_path / "report" / "per_query").glob("*.json"))
    assert len(per_query) == 6 * 3  # systems x (clean + 2 variants)
    values = json.loads((tmp_path / "report" / "per_query" / "zero-shot.clean.json").read_text())
    assert len(values["Success@1"]) == 24 and set(values["Success@1"].values()) <= {0.0, 1.0}

    before, encoded = _stage_dirs(cache), _encodings(cache)
    again = run_experiment(_config(tmp_path, *models), cache_dir=cache)
    assert _stage_dirs(cache) == before and _encodings(cache) == encoded
    assert json.loads(again.results_json.read_text(encoding="utf-8"))["fold1"] == fold

    # one more typo variant: only the new variant's queries are encoded, once per encoder (the base
    # encoder of three systems, two fine-tuned ones, the other one); no stage is redone
    run_experiment(_config(tmp_path, *models, variants=3), cache_dir=cache)
    assert _stage_dirs(cache) == before
    new = sorted(set(_encodings(cache)) - set(encoded))
    assert len(new) == 4 and all(path.split("/")[-1].startswith("query-") for path in new)


def _write_locomo(path, conversations=4, sessions=2, turns=5):
    """A LoCoMo-format file: conversations of numbered sessions, questions whose evidence is one or
    two turns (some in two sessions), and one adversarial question (category 5, excluded)."""
    people = ["Ana", "Ben", "Caro", "Dev", "Eli", "Fay", "Gus", "Hana"]
    things = ["cat", "bike", "garden", "violin", "boat", "kiln", "novel", "tent", "drone", "loom"]
    data = []
    for c in range(conversations):
        a, b = people[(2 * c) % len(people)], people[(2 * c + 1) % len(people)]
        sample = {"sample_id": f"conv-{c}", "speaker_a": a, "speaker_b": b}
        qa = []
        for s in range(1, sessions + 1):
            sample[f"session_{s}_date_time"] = f"10:00 am on {s} May, 2023"
            sample[f"session_{s}"] = [
                {
                    "speaker": (a, b)[t % 2],
                    "dia_id": f"D{s}:{t + 1}",
                    "text": f"{(a, b)[t % 2]} talks about the {things[(c + s * t) % len(things)]} number {c}{s}{t}.",
                }
                for t in range(turns)
            ]
            for t in range(0, turns, 2):
                evidence = [f"D{s}:{t + 1}"] + ([f"D{sessions}:{turns}"] if t == 0 else [])
                qa.append(
                    {
                        "question": f"What did {(a, b)[t % 2]} say about the {things[(c + s * t) % len(things)]}?",
                        "answer": "something",
                        "evidence": evidence,
                        "category": 1 + t % 4,
                    }
                )
        qa.append(
            {"question": "What is unanswerable?", "adversarial_answer": "x", "evidence": [], "category": 5}
        )
        sample["qa"] = qa
        data.append(sample)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _locomo_config(tmp_path, model, data_path, **data):
    return parse_config(
        {
            "experiment": {"name": "tiny-locomo", "seed": 5, "output": str(tmp_path / "report")},
            "data": {
                "dataset": "locomo",
                "path": str(data_path),
                "num_folds": 2,
                "eval_folds": [0, 1],
                **data,
            },
            "encoder": {"model": str(model), "batch_size": 64},
            "training": {"towers": "query", "max_steps": 2, "batch_size": 4},
            "fusion": {"alpha_sweep": [0.0, 0.5], "mode": "mean"},
            "typos": {"protocols": ["one-typo"], "variants": 1},
            "systems": {
                "names": ["zero-shot", "zero-shot+oracle", "zero-shot+predicted", "fine-tuned"],
                "baseline": "zero-shot",
            },
            "metrics": {"names": ["Success@1", "Recall@10"], "primary": "Success@1"},
        },
        where="tiny-locomo.toml",
    )


def test_run_on_locomo_folds_over_conversations(tmp_path, models):
    data_path = _write_locomo(tmp_path / "locomo10.json")
    summary = run_experiment(_locomo_config(tmp_path, models[0], data_path), cache_dir=tmp_path / "cache")
    results = json.loads(summary.results_json.read_text(encoding="utf-8"))
    assert results["languages"] == ["en"]
    assert "fold0" in results and "fold1" in results
    per_query = tmp_path / "report" / "per_query"
    # every loaded question (4 conversations x 2 sessions x 3; the adversarial one excluded) is
    # evaluated exactly once over the two folds
    evaluated = json.loads((per_query / "zero-shot.clean.json").read_text(encoding="utf-8"))["Success@1"]
    assert len(evaluated) == 24
    assert all(not qid.endswith("/q6") for qid in evaluated)
    for system in ("zero-shot+oracle", "zero-shot+predicted", "fine-tuned"):
        typo = json.loads((per_query / f"{system}.one-typo_0.json").read_text(encoding="utf-8"))
        assert set(typo["Recall@10"]) == set(evaluated)
    # a fold holds whole conversations; the two test blocks cover all four; α was chosen on dev ones
    folds = [results[f"fold{k}"]["articles"] for k in (0, 1)]
    assert sorted(folds[0]["test"] + folds[1]["test"]) == ["conv-0", "conv-1", "conv-2", "conv-3"]
    for split in folds:
        assert len(split["dev"]) == 1 and not set(split["test"]) & set(split["train"] + split["dev"])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"languages": ["de"]}, "have no questions in locomo"),
        ({"num_folds": 5, "eval_folds": [0]}, "only 4 articles/conversations"),
        ({"level": "sentence"}, "XQuAD option"),
    ],
)
def test_locomo_config_errors_name_the_problem(tmp_path, models, data, message):
    data_path = _write_locomo(tmp_path / "locomo10.json")
    with pytest.raises(ConfigError, match=message):
        run_experiment(_locomo_config(tmp_path, models[0], data_path, **data), cache_dir=tmp_path / "cache")


def test_datasets_without_experiment_wiring_stop_with_a_message(tmp_path, models):
    config = parse_config(
        {
            "experiment": {"name": "x", "output": str(tmp_path / "r")},
            "data": {"dataset": "beir", "languages": ["de"]},
            "systems": {"names": ["zero-shot"], "baseline": "zero-shot"},
        },
        where="x.toml",
    )
    with pytest.raises(ConfigError, match="'beir' has loaders"):
        run_experiment(config, cache_dir=tmp_path / "cache")


def test_per_language_oracle_uses_only_the_query_languages_questions(
    tmp_path, models, xquad_dir, monkeypatch
):
    """``[fusion] per_language``: a German question meets paragraphs fused with German questions only."""
    import numpy as np

    from xqg.data.folds import fold_split, split_by_articles
    from xqg.data.xquad import load_xquad
    from xqg.encode import load_encoder
    from xqg.fuse import oracle_scores

    monkeypatch.setenv("XQG_DATA_MIRROR", str(xquad_dir.parent))
    config = parse_config(
        {
            "experiment": {"name": "perlang", "seed": 3, "output": str(tmp_path / "report")},
            "data": {"dataset": "xquad", "languages": ["de", "th"], "num_folds": 4, "eval_folds": [1]},
            "encoder": {"model": str(models[0])},
            "fusion": {"alpha": 1.0, "mode": "mean", "per_language": True},
            "typos": {"protocols": []},
            "systems": {
                "names": ["zero-shot", "zero-shot+oracle", "zero-shot+predicted"],
                "baseline": "zero-shot",
            },
            "metrics": {"names": ["MRR@10"], "primary": "MRR@10"},
        },
        where="perlang.toml",
    )
    run_experiment(config, cache_dir=tmp_path / "cache")
    got = json.loads((tmp_path / "report" / "per_query" / "zero-shot+oracle.clean.json").read_text())[
        "MRR@10"
    ]

    ds = load_xquad(["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"])
    encoder = load_encoder(models[0], device="cpu")
    passages = encoder.encode_passages([f"{p.title} {p.text}" for p in ds.corpus])
    row = {p.id: i for i, p in enumerate(ds.corpus)}
    test = split_by_articles(ds, [str(a) for a in fold_split(4, 1)[1]])
    for lang in ("de", "th"):
        questions = ds.queries[lang]
        qvecs = encoder.encode_queries([q.text for q in questions])
        evaluated = sorted(test.queries[lang], key=lambda q: q.id)
        index = {q.id: i for i, q in enumerate(questions)}
        scores = oracle_scores(
            qvecs[[index[q.id] for q in evaluated]],
            passages,
            qvecs,
            [row[next(iter(ds.qrels[q.id]))] for q in questions],
            [q.id.split("/")[0] for q in questions],
            [row[next(iter(ds.qrels[q.id]))] for q in evaluated],
            [q.id.split("/")[0] for q in evaluated],
            1.0,
        )
        for i, q in enumerate(evaluated):
            gold = row[next(iter(ds.qrels[q.id]))]
            rank = 1 + int(np.sum(scores[i] > scores[i, gold]))
            expected = 1.0 / rank if rank <= 10 else 0.0
            assert got[q.id] == pytest.approx(expected, abs=1e-6), q.id


def _xqg_experiment(
    tmp_path,
    models,
    xquad_dir,
    monkeypatch,
    name,
    *,
    max_queries,
    generator,
    fusion,
    systems=("zero-shot+xqg",),
):
    """A zero-shot vs zero-shot+xqg experiment on XQuAD (de, ru; fold 1 of 4; clean questions only)
    whose generator training is replaced by a saved tiny generator; returns the config and the list of
    training inputs the generator was given."""
    from xqg.generate import recipes
    from xqg.generate.testing import tiny_generator

    seen: list = []

    def fake_training(train, out, **kw):
        seen.append(train)
        return tiny_generator(seed=1).save(out)

    monkeypatch.setenv("XQG_DATA_MIRROR", str(xquad_dir.parent))
    monkeypatch.setattr(recipes, "train_default_generator", fake_training)
    config = parse_config(
        {
            "experiment": {"name": name, "seed": 3, "output": str(tmp_path / "report")},
            "data": {
                "dataset": "xquad",
                "languages": ["de", "ru"],
                "num_folds": 4,
                "eval_folds": [1],
                "max_queries_per_language": max_queries,
            },
            "encoder": {"model": str(models[0])},
            "generator": generator,
            "fusion": fusion,
            "typos": {"protocols": []},
            "systems": {"names": ["zero-shot", *systems], "baseline": "zero-shot"},
            "metrics": {"names": ["MRR@10"], "primary": "MRR@10"},
        },
        where=f"{name}.toml",
    )
    return config, seen


@pytest.mark.parametrize(("per_language", "copies"), [(False, 0), (True, 0), (False, 2), (True, 1)])
def test_xqg_fuses_the_generated_queries(tmp_path, models, xquad_dir, monkeypatch, per_language, copies):
    """+xqg with a tiny generator: passages fused with the mean of their generated queries' vectors
    (all languages together, or the query's own language only); with ``misspelled_copies``, the
    mean also takes each query's seeded one-typo copies (``+xqg-typos``; ``+xqg`` of the same run
    stays without them)."""
    import numpy as np

    from xqg.data.records import Query
    from xqg.data.xquad import load_xquad
    from xqg.encode import load_encoder
    from xqg.typos import misspell_queries

    config, _ = _xqg_experiment(
        tmp_path,
        models,
        xquad_dir,
        monkeypatch,
        "xqg",
        max_queries=10,
        generator={"queries_per_language": 2, "max_new_tokens": 6},
        fusion={
            "alpha": 0.5,
            "mode": "mean",
            "per_language": per_language,
            "misspelled_copies": max(copies, 1),
        },
        systems=("zero-shot+xqg", "zero-shot+xqg-typos"),
    )
    summary = run_experiment(config, cache_dir=tmp_path / "cache")
    results = json.loads(summary.results_json.read_text(encoding="utf-8"))
    system = "zero-shot+xqg-typos" if copies else "zero-shot+xqg"
    assert len(results["fold1"]["n_curve"][system]) == 2
    got = json.loads((tmp_path / "report" / "per_query" / f"{system}.clean.json").read_text())["MRR@10"]

    generated = [
        json.loads(line)
        for line in next((tmp_path / "cache").glob("generate-*/generated.jsonl")).read_text().splitlines()
    ]
    ds = load_xquad(["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"])
    encoder = load_encoder(models[0], device="cpu")
    passages = encoder.encode_passages([f"{p.title} {p.text}" for p in ds.corpus])
    row = {p.id: i for i, p in enumerate(ds.corpus)}
    clean = [Query(f"{g['docid']}|{g['lang']}|{g['slot']}", g["query"], g["lang"]) for g in generated]
    typos = [q for v in range(copies) for q in misspell_queries(clean, seed=3, variant=v)]
    assert (
        copies == 0
        or sum(t.text != c.text for t, c in zip(typos, clean * copies, strict=True)) > len(clean) // 2
    )
    generated = generated * (1 + copies)
    gvecs = encoder.encode_queries([q.text for q in clean + typos])
    for lang in ("de", "ru"):
        sums = np.zeros_like(passages, dtype=np.float64)
        counts = np.zeros(len(passages))
        for g, v in zip(generated, gvecs, strict=True):
            if not per_language or g["lang"] == lang:
                sums[row[g["docid"]]] += v
                counts[row[g["docid"]]] += 1
        fused = 0.5 * passages + 0.5 * sums / counts[:, None]
        for qid, value in got.items():
            if not qid.endswith("/" + lang):
                continue
            query = next(q for q in ds.queries[lang] if q.id == qid)
            scores = fused @ encoder.encode_queries([query.text])[0]
            gold = row[next(iter(ds.qrels[qid]))]
            rank = 1 + int(np.sum(scores > scores[gold] + 1e-6))
            assert value == pytest.approx(1.0 / rank if rank <= 10 else 0.0, abs=1e-6), qid


def test_translation_pairs_come_from_the_generator_training_paragraphs_only(
    tmp_path, models, xquad_dir, monkeypatch
):
    """[generator] translation_pairs: the generator trains on questions plus sentence pairs of its own
    training articles' paragraphs; none from the dev articles (α selection) or the evaluated fold."""
    config, seen = _xqg_experiment(
        tmp_path,
        models,
        xquad_dir,
        monkeypatch,
        "tp",
        max_queries=5,
        generator={"queries_per_language": 1, "max_new_tokens": 4, "translation_pairs": True},
        fusion={"alpha_sweep": [0.0, 0.5]},
    )
    summary = run_experiment(config, cache_dir=tmp_path / "cache")
    articles = json.loads(summary.results_json.read_text(encoding="utf-8"))["fold1"]["articles"]
    (examples,) = seen
    pairs = [ex for ex in examples if "#s" in ex.passage.id]
    questions = [ex for ex in examples if "#s" not in ex.passage.id]
    assert pairs and questions and {ex.lang for ex in pairs} == {"de", "ru"}
    used = {ex.passage.id.split("#")[0].split("-")[0] for ex in examples}
    assert used <= set(articles["train"])
    assert not used & (set(articles["dev"]) | set(articles["test"]))


def test_locomo_path_may_be_the_file_or_its_folder(tmp_path, models):
    from xqg.experiment.fold_benchmark import FoldBenchmark
    from xqg.experiment.stages import ExperimentStages

    data_path = _write_locomo(tmp_path / "locomo10.json")
    for where in (data_path, tmp_path):
        dataset, languages = FoldBenchmark(
            ExperimentStages(_locomo_config(tmp_path, models[0], where), tmp_path / "c")
        ).load_dataset()
        assert languages == ["en"] and len(dataset.corpus) == 40
        assert {p.meta["article"] for p in dataset.corpus} == {f"conv-{c}" for c in range(4)}


def test_xquad_languages_absent_here_are_left_out_with_a_note(tmp_path, models, capsys):
    """All 12 XQuAD languages in a config; a mirror without xquad.ro.json runs the others."""
    from xqg.data.xquad import available_xquad_languages
    from xqg.experiment.fold_benchmark import FoldBenchmark
    from xqg.experiment.stages import ExperimentStages

    twelve = ["ar", "de", "el", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh"]
    config = parse_config(
        {
            "experiment": {"name": "all", "output": str(tmp_path / "report")},
            "data": {"dataset": "xquad", "languages": twelve, "num_folds": 4},
            "encoder": {"model": str(models[0])},
            "systems": {"names": ["zero-shot"], "baseline": "zero-shot"},
        },
        where="all.toml",
    )
    dataset, languages = FoldBenchmark(ExperimentStages(config, tmp_path / "c")).load_dataset()
    present = available_xquad_languages()
    assert languages == [lang for lang in twelve if lang in present]
    assert dataset.meta["languages_left_out"] == [lang for lang in twelve if lang not in present]
    if "ro" not in present:
        assert "note: XQuAD ro left out: xquad.ro.json is not in the mirror" in capsys.readouterr().out


def test_report_embeds_the_experiment_file_as_it_was_read(tmp_path, models):
    from xqg.experiment.config import load_config

    data_path = _write_locomo(tmp_path / "locomo10.json")
    path = tmp_path / "exp.toml"
    path.write_text(
        f"""# version read
[experiment]
name = "embed"
output = "{(tmp_path / "report").as_posix()}"
[data]
dataset = "locomo"
path = "{data_path.as_posix()}"
num_folds = 2
[encoder]
model = "{Path(models[0]).as_posix()}"
[typos]
protocols = []
[systems]
names = ["zero-shot"]
baseline = "zero-shot"
""",
        encoding="utf-8",
    )
    config = load_config(path)
    path.write_text(
        path.read_text(encoding="utf-8").replace("# version read", "# edited later"), encoding="utf-8"
    )
    run_experiment(config, cache_dir=tmp_path / "cache")
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "# version read" in report and "# edited later" not in report


def _distill_config(tmp_path, model, queries_per_language=10, **training):
    return parse_config(
        {
            "experiment": {"name": "tiny-distill", "seed": 3, "output": str(tmp_path / "report")},
            "data": {
                "dataset": "xquad",
                "languages": ["de", "zh"],
                "num_folds": 4,
                "eval_folds": [2],
                "max_queries_per_language": queries_per_language,
            },
            "encoder": {"model": str(model), "batch_size": 64},
            "training": {
                "towers": "query",
                "max_steps": 2,
                "batch_size": 8,
                "languages": ["de", "zh"],
                "distill_pieces_per_passage": 2,
                **training,
            },
            "typos": {
                "protocols": ["one-typo", "idf", "script"],
                "variants": 2,
                "variants_by_protocol": {"idf": 1, "script": 1},
            },
            "systems": {"names": ["zero-shot", "fine-tuned", "fine-tuned:distill"], "baseline": "zero-shot"},
            "metrics": {"names": ["Success@1"], "primary": "Success@1"},
        },
        where="tiny-distill.toml",
    )


def test_distill_trains_on_label_free_texts_and_every_protocol_is_reported(
    tmp_path, models, xquad_dir, monkeypatch
):
    monkeypatch.setenv("XQG_DATA_MIRROR", str(xquad_dir.parent))
    cache = tmp_path / "cache"
    summary = run_experiment(_distill_config(tmp_path, models[0]), cache_dir=cache)
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    for protocol in ("one-typo", "idf", "script"):
        assert (
            f"Misspelled questions ({protocol}, per-question mean over the variants), Success@1, against"
            in report
        )
    assert "Summary, Success@1: macro average" in report and "| idf high |" not in report
    conditions = {
        p.name.split(".", 1)[1] for p in (tmp_path / "report" / "per_query").glob("zero-shot.*.json")
    }
    assert conditions == {"clean.json", "one-typo_0.json", "one-typo_1.json", "idf_0.json", "script_0.json"}
    assert "fine-tuned:distill" in json.loads(summary.results_json.read_text(encoding="utf-8"))["systems"]
    trained = {
        d: json.loads((cache / d / "training" / "cost.json").read_text())
        for d in _stage_dirs(cache)
        if d.startswith("train-retriever")
    }
    assert len(trained) == 2 and all(c["seconds"] > 0 for c in trained.values())
    # distill: the training articles' de/zh questions plus 2 pieces of each training paragraph per language
    assert max(c["examples"] for c in trained.values()) > min(c["examples"] for c in trained.values())

    # a distillation setting retrains the distilled model only (and how many questions are
    # evaluated does not change any model)
    before = set(_stage_dirs(cache))

    def distill_encodings() -> list[str]:
        sidecars = (cache / "encodings").glob("*/*.json")
        return [p.name for p in sidecars if json.loads(p.read_text())["label"] == "encode-distill-texts"]

    encoded = distill_encodings()
    run_experiment(
        _distill_config(tmp_path, models[0], queries_per_language=6, distill_loss="cosine"), cache_dir=cache
    )
    new = sorted(set(_stage_dirs(cache)) - before)
    assert len([d for d in new if d.startswith("train-retriever")]) == 1
    # the teacher's vectors of every label-free text are encoded once, for every fold and setting
    assert len(encoded) == 1 and distill_encodings() == encoded


def test_distill_with_both_towers_and_lora_runs(tmp_path, models, xquad_dir, monkeypatch):
    monkeypatch.setenv("XQG_DATA_MIRROR", str(xquad_dir.parent))
    config = _distill_config(
        tmp_path, models[0], towers="both", tuning="lora", lora_rank=2, distill_sources=["pieces"]
    )
    summary = run_experiment(config, cache_dir=tmp_path / "cache")
    assert "fine-tuned:distill" in summary.markdown


def test_distill_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="distill_sources"):
        parse_config({"training": {"distill_sources": ["web"]}})
    with pytest.raises(ConfigError, match="distill_files"):
        parse_config({"training": {"distill_sources": ["files"]}})
    with pytest.raises(ConfigError, match="tuning"):
        parse_config({"training": {"tuning": "half"}})
    with pytest.raises(ConfigError, match="protocol 'typo'"):
        parse_config({"typos": {"variants_by_protocol": {"typo": 1}}})
