"""``xqg.evaluate.robustness`` (the harness) and the ``xqg typos`` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from xqg.cli.main import main
from xqg.data.records import Passage, Query, RetrievalDataset
from xqg.encode.testing import tiny_encoder
from xqg.evaluate.robustness import evaluate_robustness, sample_queries
from xqg.typos import misspell

QUESTIONS = {
    "de": [
        "Wer gewann das Finale der Meisterschaft",
        "Wie hoch ist der Fernsehturm in Berlin",
        "Welche Farbe haben die Trikots der Mannschaft",
        "Wann wurde die Universität gegründet",
    ],
    "hi": [
        "फाइनल मुकाबला किसने जीता था",
        "बर्लिन टीवी टावर कितना ऊंचा है",
        "टीम की जर्सी किस रंग की होती है",
        "विश्वविद्यालय की स्थापना कब हुई थी",
    ],
    "th": ["ใครชนะการแข่งขันรอบชิงชนะเลิศ", "หอโทรทัศน์เบอร์ลินสูงเท่าไร", "เสื้อของทีมมีสีอะไร", "มหาวิทยาลัยก่อตั้งขึ้นเมื่อไร"],
}
PASSAGES = [
    "The final was won by the home team.",
    "The Berlin TV tower is 368 metres tall.",
    "The team plays in red shirts.",
    "The university was founded in 1810.",
    "Unrelated text.",
]


@pytest.fixture(scope="module")
def dataset() -> RetrievalDataset:
    corpus = [Passage(f"d{i}", text) for i, text in enumerate(PASSAGES)]
    queries = {
        lang: [Query(f"q{i}/{lang}", t, lang) for i, t in enumerate(qs)] for lang, qs in QUESTIONS.items()
    }
    qrels = {q.id: {f"d{q.id[1]}": 1} for qs in queries.values() for q in qs}
    return RetrievalDataset("toy", corpus, queries, qrels)


def test_report_per_language_groups_and_statistics(dataset: RetrievalDataset, tmp_path: Path) -> None:
    encoder = tiny_encoder(0)
    report = evaluate_robustness(
        dataset, encoder, num_variants=3, seed=1, metric="MRR@10", cache_dir=tmp_path / "cache"
    )
    assert [r.lang for r in report.languages] == ["de", "hi", "th"]
    assert [r.lang for r in report.groups] == ["low-resource", "high-resource", "avg"]
    for row in report.languages:
        assert row.queries == 4 and len(row.variant_scores) == 3
        assert 0 < row.cer < 0.2  # one grapheme edit in a sentence of 15-40 clusters
        assert math.isclose(row.mean, sum(row.variant_scores) / 3)
        if row.clean:
            assert math.isclose(row.drop, (row.clean - row.mean) / row.clean)
        assert 0 <= row.pvalue_holm <= 1
    assert report.groups[0].queries == 4 and report.groups[1].queries == 8  # th low; de, hi high
    table = report.to_markdown()
    assert "| de | high | 4 |" in table and "K=3" in table
    json.dumps(report.to_json())

    # same settings, same report; the cache answers every text (nothing is encoded again)
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("re-encoded a cached text")

    encoder.encode_queries = refuse  # type: ignore[method-assign]
    encoder.encode_passages = refuse  # type: ignore[method-assign]
    again = evaluate_robustness(
        dataset, encoder, num_variants=3, seed=1, metric="MRR@10", cache_dir=tmp_path / "cache"
    )
    assert again.to_json() == report.to_json()


def test_sample_is_the_same_questions_in_every_language(dataset: RetrievalDataset) -> None:
    picked = {
        lang: [q.id.split("/")[0] for q in sample_queries(qs, 2, 0)] for lang, qs in dataset.queries.items()
    }
    assert len(picked["de"]) == 2 and picked["de"] == picked["hi"] == picked["th"]


def test_typos_cli_writes_reproducible_variants(tmp_path: Path) -> None:
    queries = tmp_path / "q.jsonl"
    rows = [
        {"id": f"q{i}/{lang}", "text": t, "lang": lang}
        for lang, qs in QUESTIONS.items()
        for i, t in enumerate(qs)
    ]
    queries.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert (
        main(
            [
                "typos",
                "--queries",
                str(queries),
                "--output",
                str(tmp_path / "v{variant}.jsonl"),
                "--variants",
                "2",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "typos",
                "--queries",
                str(queries),
                "--output",
                str(tmp_path / "all.jsonl"),
                "--variants",
                "2",
                "--seed",
                "4",
            ]
        )
        == 0
    )
    one = [json.loads(x) for x in (tmp_path / "v1.jsonl").read_text(encoding="utf-8").splitlines()]
    both = [json.loads(x) for x in (tmp_path / "all.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r for r in both if r["variant"] == 1] == one
    from xqg.seeding import derive_seed

    for r in one:
        assert r["text"] == misspell(r["original"], r["lang"], derive_seed(4, r["id"], 1))
        assert r["text"] != r["original"] and len(r["edits"]) == 1


def test_typos_cli_idf_protocol_needs_a_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"id": "a", "text": "the panthers defense", "lang": "en"}\n', encoding="utf-8")
    assert (
        main(["typos", "--queries", str(queries), "--output", str(tmp_path / "o.jsonl"), "--protocol", "idf"])
        == 2
    )
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(
        '{"_id": "1", "text": "the panthers defense"}\n{"_id": "2", "text": "panthers"}\n', encoding="utf-8"
    )
    assert (
        main(
            [
                "typos",
                "--queries",
                str(queries),
                "--output",
                str(tmp_path / "o.jsonl"),
                "--protocol",
                "idf",
                "--idf-corpus",
                str(corpus),
                "--variants",
                "3",
            ]
        )
        == 0
    )
    rows = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(r["edits"][0]["original"] == "defense" for r in rows)


def test_idf_protocol_through_the_harness(dataset: RetrievalDataset) -> None:
    from xqg.typos import IdfTable

    idf = {lang: IdfTable([q.text for q in qs], lang) for lang, qs in dataset.queries.items()}
    report = evaluate_robustness(
        dataset, tiny_encoder(1), languages=["de"], num_variants=2, protocol="idf", typo_options={"idf": idf}
    )
    assert report.protocol == "idf" and report.languages[0].cer > 0
    assert "idf" not in report.settings["typo_options"]
