"""VectorPartWriter streams exactly what ``np.save`` would write, and refuses bad ids and row counts."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.distributed import VectorPartWriter, read_ids
from xqg.errors import InputError


@settings(max_examples=40, deadline=None)
@given(
    rows=st.integers(0, 40),
    dim=st.integers(1, 9),
    dtype=st.sampled_from(["float32", "float16"]),
    batch=st.integers(1, 17),
    seed=st.integers(0, 2**16),
)
def test_streamed_npy_equals_np_save(rows: int, dim: int, dtype: str, batch: int, seed: int) -> None:
    vectors = np.random.default_rng(seed).standard_normal((rows, dim)).astype(dtype)
    ids = [f"d{i}é" for i in range(rows)]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with VectorPartWriter(workdir, rows, dim, dtype=dtype) as writer:
            for start in range(0, rows, batch):
                writer.write(
                    vectors[start : start + batch].astype(np.float64), ids=ids[start : start + batch]
                )
        np.save(workdir / "reference.npy", vectors)
        assert (workdir / "vectors.npy").read_bytes() == (workdir / "reference.npy").read_bytes()
        assert read_ids(workdir / "ids.txt") == ids
        assert writer.close() == {"rows": rows, "dim": dim, "dtype": dtype}


def test_second_array_without_ids(tmp_path: Path) -> None:
    with VectorPartWriter(tmp_path, 2, 3, name="qsum", ids_file=None) as writer:
        writer.write(np.ones((2, 3)))
    assert np.load(tmp_path / "qsum.npy").shape == (2, 3)
    assert not (tmp_path / "ids.txt").exists()


def test_wrong_row_counts_and_shapes_are_refused(tmp_path: Path) -> None:
    writer = VectorPartWriter(tmp_path, 3, 2)
    with pytest.raises(ValueError, match="shape"):
        writer.write(np.ones((1, 5)), ids=["a"])
    with pytest.raises(ValueError, match="ids"):
        writer.write(np.ones((1, 2)))
    with pytest.raises(ValueError, match="rows into an array of 3"):
        writer.write(np.ones((4, 2)), ids=list("abcd"))
    writer.write(np.ones((1, 2)), ids=["a"])
    with pytest.raises(ValueError, match="wrote 1 of 3"):
        writer.close()


@pytest.mark.parametrize("bad", ["", "a\nb", "a\rb"])
def test_ids_that_would_break_ids_txt_are_input_errors(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError), VectorPartWriter(tmp_path, 1, 2) as writer:
        writer.write(np.ones((1, 2)), ids=[bad])


def test_cut_ids_file_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "ids.txt").write_text("a\nb")
    with pytest.raises(InputError) as info:
        read_ids(tmp_path / "ids.txt")
    assert info.value.line == 2


@settings(max_examples=30, deadline=None)
@given(
    ids=st.lists(
        st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1), max_size=40
    ),
    rows=st.lists(st.integers(0, 39), max_size=60),
    crlf=st.booleans(),
)
def test_id_column_reads_like_read_ids_and_takes_any_rows(tmp_path_factory, ids, rows, crlf) -> None:
    from xqg.distributed.vectors import IdColumn, read_ids

    path = tmp_path_factory.mktemp("ids") / "ids.txt"
    path.write_bytes("".join(f"{i}{chr(13) if crlf else ''}\n" for i in ids).encode("utf-8"))
    column = IdColumn(path)
    assert len(column) == len(ids) and column.all() == read_ids(path) == ids
    rows = [r % len(ids) for r in rows] if ids else []
    grid = np.array(rows, dtype=np.int64).reshape(-1, 1) if rows else np.zeros((0, 1), dtype=np.int64)
    fresh = IdColumn(path)  # nothing decoded yet: the few-rows path
    assert fresh.take(grid).tolist() == [[ids[r]] for r in rows] == column.take(grid).tolist()


def test_id_column_refuses_a_cut_file(tmp_path) -> None:
    from xqg.distributed.vectors import IdColumn

    path = tmp_path / "ids.txt"
    path.write_text("a\nb", encoding="utf-8")
    with pytest.raises(InputError, match="line break") as err:
        IdColumn(path)
    assert err.value.line == 2
