"""Part files of vector tasks: ``vectors.npy`` (rows in docid order) and ``ids.txt`` (one id a line).

:class:`VectorPartWriter` appends a shard's vectors to a ``.npy`` file batch by batch (the header, with
the final shape, is written first), so a worker's memory is bounded by one batch, not one shard, and
no shard-sized memory map lingers in the worker's resident set.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from xqg.errors import InputError

VECTORS_FILE = "vectors.npy"
IDS_FILE = "ids.txt"


class VectorPartWriter:
    """Write ``num_rows`` vectors (and optionally their ids) into a shard's work folder, in batches.

    Args:
        workdir: the folder :meth:`ShardTask.run` received.
        num_rows: rows the shard will hold (``len(shard)`` for one vector per input row).
        dim: vector dimension.
        dtype: ``"float32"`` or ``"float16"`` (any NumPy dtype name works).
        name: array name; the file is ``{name}.npy`` (``"vectors"``; a fusion task may add ``"qsum"``).
        ids_file: file for the ids, one per line, or ``None`` to write no ids (a second array of the
            same rows).

    Example:
        >>> import tempfile, pathlib, numpy as np
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> with VectorPartWriter(d, num_rows=3, dim=2) as w:
        ...     w.write(np.ones((2, 2)), ids=["a", "b"])
        ...     w.write(np.zeros((1, 2)), ids=["c"])
        >>> np.load(d / "vectors.npy").sum(), (d / "ids.txt").read_text().split()
        (np.float32(4.0), ['a', 'b', 'c'])
    """

    def __init__(
        self,
        workdir: str | Path,
        num_rows: int,
        dim: int,
        dtype: str | np.dtype = "float32",
        name: str = "vectors",
        ids_file: str | None = IDS_FILE,
    ) -> None:
        self.workdir = Path(workdir)
        self.num_rows = int(num_rows)
        self.dim = int(dim)
        self.dtype = np.dtype(dtype)
        self.path = self.workdir / f"{name}.npy"
        self._array: IO[bytes] | None = open(self.path, "wb")  # closed in close()
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": (self.num_rows, self.dim),
        }
        np.lib.format.write_array_header_1_0(self._array, header)
        self._ids = (
            None if ids_file is None else open(self.workdir / ids_file, "w", encoding="utf-8", newline="\n")
        )
        self.rows_written = 0

    def write(self, vectors: np.ndarray, ids: Sequence[str] | None = None) -> None:
        """Append a batch of vectors (cast to the writer's dtype) and, if ids are kept, their ids."""
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"expected a batch of shape (n, {self.dim}), got {vectors.shape}")
        n = vectors.shape[0]
        if self.rows_written + n > self.num_rows:
            raise ValueError(
                f"{self.path}: writing {self.rows_written + n} rows into an array of {self.num_rows}"
            )
        if self._ids is not None:
            if ids is None or len(ids) != n:
                raise ValueError(
                    f"{self.path}: {n} vectors need {n} ids, got {None if ids is None else len(ids)}"
                )
            for docid in ids:
                if not docid or "\n" in docid or "\r" in docid:
                    raise InputError(
                        f"id {docid!r} is empty or contains a line break; ids.txt keeps one id a line"
                    )
            self._ids.write("".join(f"{docid}\n" for docid in ids))
            self._ids.flush()  # one write per batch: progress is visible on disk
        self._array.write(np.ascontiguousarray(vectors, dtype=self.dtype).tobytes())
        self.rows_written += n

    def close(self) -> dict[str, Any]:
        """Flush the files; check every row was written. Returns manifest extras (dim, dtype, rows)."""
        if self._array is None:
            return self._extras()
        if self.rows_written != self.num_rows:
            raise ValueError(f"{self.path}: wrote {self.rows_written} of {self.num_rows} rows")
        self._array.close()
        self._array = None
        if self._ids is not None:
            self._ids.close()
        return self._extras()

    def _extras(self) -> dict[str, Any]:
        return {"rows": self.num_rows, "dim": self.dim, "dtype": self.dtype.name}

    def __enter__(self) -> VectorPartWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
            return
        if self._array is not None:
            self._array.close()
        if self._ids is not None:
            self._ids.close()


def read_ids(path: str | Path) -> list[str]:
    """Read an ``ids.txt`` file (one id a line).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "ids.txt"; _ = p.write_text("d1\\nd2\\n")
        >>> read_ids(p)
        ['d1', 'd2']
    """
    text = Path(path).read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        raise InputError(
            "last line has no line break (file cut short?)", path=path, line=text.count("\n") + 1
        )
    return text.split("\n")[:-1] if text else []


class IdColumn:
    """The ids of one ``ids.txt`` file, held as its bytes: only the ids asked for are decoded.

    A search keeps ~100 candidates of a 100k-row shard per query; decoding every id of every shard into
    a Python string (and an object array) costs more than scanning the shard's vectors. Line breaks are
    read as :func:`read_ids` reads them (``\\r\\n`` and ``\\r`` are line breaks), and a file whose last
    line has no line break is refused the same way.

    Args:
        path: the ``ids.txt`` file.

    Raises:
        InputError: the last line has no line break (file cut short?).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "ids.txt"; _ = p.write_text("d1\\nd2\\nd3\\n")
        >>> column = IdColumn(p)
        >>> len(column), column.take(np.array([[2, 0]])).tolist(), column.all()
        (3, [['d3', 'd1']], ['d1', 'd2', 'd3'])
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        data = self.path.read_bytes()
        if b"\r" in data:  # the universal newlines of read_ids (text mode)
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        if data and not data.endswith(b"\n"):
            raise InputError(
                "last line has no line break (file cut short?)", path=self.path, line=data.count(b"\n") + 1
            )
        self._data = data
        self._ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        self._starts = np.concatenate([[0], self._ends[:-1] + 1]) if len(self._ends) else self._ends
        self._all: list[str] | None = None
        self._objects: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self._ends)

    def all(self) -> list[str]:
        """Every id, in file order (decoded once, then kept)."""
        if self._all is None:
            self._all = self._data.decode("utf-8").split("\n")[:-1] if self._data else []
        return self._all

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The ids of ``rows`` (any shape of row numbers) as an object array of the same shape."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._all is not None or rows.size * 4 >= len(self):  # most rows asked for: decode all once
            if self._objects is None:
                self._objects = np.asarray(self.all(), dtype=object)
            return self._objects[rows]
        unique, inverse = np.unique(rows.ravel(), return_inverse=True)
        data = self._data
        decoded = np.empty(len(unique), dtype=object)
        for i, (start, end) in enumerate(
            zip(self._starts[unique].tolist(), self._ends[unique].tolist(), strict=True)
        ):
            decoded[i] = data[start:end].decode("utf-8")
        return decoded[inverse].reshape(rows.shape)
