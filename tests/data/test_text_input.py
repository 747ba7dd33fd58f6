"""Text files that are not UTF-8 (or not gzip) stop every reader with ``path:line`` and an encoding hint."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.data.corpus import iter_corpus, read_queries
from xqg.data.text_input import decode_error, open_text, read_text
from xqg.data.trec import read_qrels, read_run
from xqg.errors import InputError


@pytest.mark.parametrize(
    ("name", "lines", "reader"),
    [
        ("corpus.jsonl", ['{"_id": "d1", "text": "ok"}', '{"_id": "d2", "text": "caf\xe9"}'], iter_corpus),
        ("corpus.tsv", ["d1\tok", "d2\tcaf\xe9"], iter_corpus),
        ("queries.tsv", ["q1\tok\tde", "q2\tcaf\xe9\tde"], read_queries),
        (
            "queries.jsonl",
            ['{"_id": "q1", "text": "a", "lang": "de"}', '{"_id": "q2", "text": "\xe9", "lang": "de"}'],
            read_queries,
        ),
        ("qrels.txt", ["q1 0 d1 1", "q\xe9 0 d2 1"], read_qrels),
        ("run.trec", ["q1 Q0 d1 1 2.0 x", "q\xe9 Q0 d2 2 1.0 x"], read_run),
    ],
)
def test_latin1_byte_gives_line_and_encoding(tmp_path: Path, name: str, lines: list[str], reader) -> None:
    path = tmp_path / name
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    with pytest.raises(InputError) as exc:
        list(reader(path))
    assert exc.value.path == str(path) and exc.value.line == 2
    assert "not valid UTF-8 (byte 0xe9" in exc.value.message
    assert "iconv -f" in exc.value.message


def test_cyrillic_cp1251_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "queries.tsv"
    text = "".join(f"q{i}\tКто написал роман номер {i} о войне и мире?\tru\n" for i in range(20))
    path.write_bytes(text.encode("cp1251"))
    with pytest.raises(InputError, match=r"queries.tsv:1: .*probably in cp1251.*iconv -f CP1251 -t UTF-8"):
        read_queries(path)


def test_utf16_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "corpus.tsv"
    path.write_bytes("d1\tHallo Welt\n".encode("utf-16"))
    with pytest.raises(InputError, match=r"corpus.tsv:1: .*utf_16.*UTF-16"):
        list(iter_corpus(path))


def test_bom_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"_id": "q1", "text": "Wer?", "lang": "de"}\n')
    assert [q.id for q in read_queries(path)] == ["q1"]


def test_gzip_errors_are_input_errors(tmp_path: Path) -> None:
    fake = tmp_path / "corpus.jsonl.gz"
    fake.write_bytes(b'{"_id": "d1", "text": "not gzip"}\n')
    with pytest.raises(InputError, match="not a valid gzip file"):
        list(iter_corpus(fake))
    cut = tmp_path / "cut.jsonl.gz"
    rows = "".join(f'{{"_id": "d{i}", "text": "passage {i}"}}\n' for i in range(2000)).encode()
    cut.write_bytes(gzip.compress(rows)[:-40])
    with pytest.raises(InputError, match="not a valid gzip file"):
        list(iter_corpus(cut))
    bad = tmp_path / "bad.tsv.gz"
    bad.write_bytes(gzip.compress(b"d1\tok\nd2\tcaf\xe9\n"))
    with pytest.raises(InputError) as exc:
        list(iter_corpus(bad))
    assert exc.value.line == 2


def test_whole_file_readers_too(tmp_path: Path) -> None:
    path = tmp_path / "answers.json"
    path.write_bytes(b'{\n"q1": ["caf\xe9"]\n}\n')
    with pytest.raises(InputError) as exc:
        read_text(path)
    assert exc.value.line == 2


@settings(max_examples=40, deadline=None)
@given(
    lines=st.lists(
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=30),
        min_size=1,
        max_size=12,
    ),
    data=st.data(),
    endings=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_reported_line_is_the_line_a_text_editor_shows(lines, data, endings) -> None:
    bad_line = data.draw(st.integers(0, len(lines) - 1))
    column = data.draw(st.integers(0, len(lines[bad_line].encode("utf-8"))))
    raw = [line.encode("utf-8") for line in lines]
    # insert a lone continuation byte at a character boundary of the chosen line
    text = lines[bad_line]
    cut = len(text.encode("utf-8")[:column].decode("utf-8", errors="ignore").encode("utf-8"))
    raw[bad_line] = raw[bad_line][:cut] + b"\x80" + raw[bad_line][cut:]
    blob = endings.encode().join(raw) + endings.encode()
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.txt"
        path.write_bytes(blob)
        error = decode_error(path)
        assert error.line == bad_line + 1
        assert f"at byte {cut + 1} of the line" in error.message
        with pytest.raises(InputError) as exc, open_text(path) as handle:
            for _ in handle:
                pass
        assert exc.value.line == bad_line + 1
