"""Open a user's text file for reading: UTF-8 (a leading BOM is skipped), ``.gz`` decompressed on the
fly, and every read error turned into ``path:line: message``.

Every reader of corpora, queries, qrels, runs and answer files opens its file through
:func:`open_text`. A byte sequence that is not UTF-8 stops the read with the file, the line, the
offending bytes and a guess of the file's real encoding with the command that converts it::

    corpus.jsonl:2: not valid UTF-8 (byte 0xe9 at byte 27 of the line); the file is probably in
    cp1252 (guessed from its bytes): convert it to UTF-8, e.g. iconv -f CP1252 -t UTF-8 corpus.jsonl > corpus.utf8.jsonl

A ``.gz`` file that is not gzip data, or is cut short, stops with ``path: not a valid gzip file``.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from xqg.errors import InputError

_SAMPLE_BYTES = 1 << 16
_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def _raw_open(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


COMMON_ENCODINGS = (
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "koi8_r",
    "cp874", "gb18030", "big5", "shift_jis", "euc_jp", "euc_kr", "utf_16",
)  # fmt: skip
"""The legacy encodings a guess chooses from (Windows code pages, the CJK national encodings, UTF-16)."""


def guess_encoding(sample: bytes) -> str | None:
    """A guess of the encoding of ``sample`` among :data:`COMMON_ENCODINGS` (a Python codec name), or
    ``None``. Short samples make poor guesses: messages say "probably".

    Example:
        >>> guess_encoding("Привет, как дела? Это тест кодировки.".encode("cp1251"))
        'cp1251'
        >>> guess_encoding("Wer ist der Bürgermeister von München?".encode("latin-1"))
        'cp1252'
    """
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf_16"
    try:
        import charset_normalizer
    except ImportError:  # pragma: no cover - a dependency; guessing is a courtesy
        return None
    best = charset_normalizer.from_bytes(sample, cp_isolation=list(COMMON_ENCODINGS)).best()
    if best is None:
        return None
    encoding = str(best.encoding)
    try:  # Western text decodes alike in several code pages: name the most common one
        if sample.decode("cp1252") == str(best):
            return "cp1252"
    except UnicodeDecodeError:
        pass
    return encoding


def _iconv_name(codec: str) -> str:
    return {"utf_16": "UTF-16", "shift_jis": "SHIFT_JIS", "cp932": "CP932"}.get(
        codec, codec.upper().replace("_", "-")
    )


def _line_breaks(raw: bytes) -> int:
    """Line breaks in ``raw`` as universal-newline text mode counts them (\\n, \\r\\n, lone \\r)."""
    return raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")


def decode_error(path: str | Path) -> InputError:
    """The :class:`InputError` for the first line of ``path`` that is not UTF-8 (scans the raw bytes).

    Args:
        path: the file (``.gz`` decompressed).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "q.tsv"
        >>> _ = p.write_bytes(b"q1\\tok\\nq2\\tcaf\\xe9\\n")
        >>> print(decode_error(p))  # doctest: +ELLIPSIS
        /.../q.tsv:2: not valid UTF-8 (byte 0xe9 at byte 7 of the line); the file is probably in ...
    """
    file = Path(path)
    line = 1
    found: tuple[int, int, bytes] | None = None
    sample = bytearray()
    with _raw_open(file) as handle:
        for raw in handle:
            if found is None:
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    before = raw[: exc.start]
                    extra = _line_breaks(before)
                    column = exc.start - (max(before.rfind(b"\r"), -1) + 1 if extra else 0) + 1
                    found = (line + extra, column, raw[exc.start : exc.end])
            if found is not None and any(b >= 0x80 for b in raw):
                sample += raw
                if len(sample) >= _SAMPLE_BYTES:
                    break
            if found is None:
                line += _line_breaks(raw)
    if found is None:
        return InputError("not valid UTF-8", path=file)
    number, column, bad = found
    shown = " ".join(f"0x{b:02x}" for b in bad[:4])
    where = f"byte{'s' if len(bad) > 1 else ''} {shown} at byte {column} of the line"
    guess = guess_encoding(bytes(sample))
    if guess and guess.replace("-", "_").lower() not in ("utf_8", "ascii"):
        converted = file.with_name(f"{file.stem}.utf8{file.suffix}")
        hint = (
            f"the file is probably in {guess} (guessed from its bytes): convert it to UTF-8, e.g. "
            f"iconv -f {_iconv_name(guess)} -t UTF-8 {file} > {converted}"
        )
    else:
        hint = "convert the file to UTF-8 (e.g. with iconv -f <its encoding> -t UTF-8)"
    return InputError(f"not valid UTF-8 ({where}); {hint}", path=file, line=number)


class CheckedTextFile:
    """A text file opened by :func:`open_text`: reads raise :class:`InputError` instead of a
    ``UnicodeDecodeError`` or a gzip error. Iterate it, ``read()`` it, or pass it to :mod:`csv`."""

    def __init__(self, handle: IO[str], path: Path) -> None:
        self._handle = handle
        self.path = path

    def _fail(self, exc: BaseException) -> InputError:
        if isinstance(exc, UnicodeDecodeError):
            return decode_error(self.path)
        return InputError(f"not a valid gzip file ({exc})", path=self.path)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            return next(self._handle)
        except (UnicodeDecodeError, *_GZIP_ERRORS) as exc:
            raise self._fail(exc) from None

    def read(self, size: int = -1) -> str:
        try:
            return self._handle.read(size)
        except (UnicodeDecodeError, *_GZIP_ERRORS) as exc:
            raise self._fail(exc) from None

    def readline(self, size: int = -1) -> str:
        try:
            return self._handle.readline(size)
        except (UnicodeDecodeError, *_GZIP_ERRORS) as exc:
            raise self._fail(exc) from None

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CheckedTextFile:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def open_text(path: str | Path, newline: str | None = None) -> CheckedTextFile:
    """Open a UTF-8 text file for reading (``.gz`` decompressed; a leading BOM skipped).

    Args:
        path: the file.
        newline: as for :func:`open` (``""`` for the :mod:`csv` module).

    Raises:
        InputError: the file does not exist or is a folder; later, on reading, a line that is not
            UTF-8 (with its line number and an encoding guess) or broken gzip data.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> _ = p.write_bytes(b"\\xef\\xbb\\xbfhello\\n")
        >>> with open_text(p) as f:
        ...     f.read()
        'hello\\n'
    """
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=p)
    if p.is_dir():
        raise InputError("expected a file, found a folder", path=p)
    try:
        if p.suffix == ".gz":
            handle: IO[str] = gzip.open(p, "rt", encoding="utf-8-sig", newline=newline)
        else:
            handle = open(p, encoding="utf-8-sig", newline=newline)
    except OSError as exc:
        raise InputError(f"cannot open ({exc.strerror})", path=p) from None
    return CheckedTextFile(handle, p)


def read_text(path: str | Path) -> str:
    """The whole content of a UTF-8 text file (see :func:`open_text`)."""
    with open_text(path) as handle:
        return handle.read()


def read_json(path: str | Path) -> Any:
    """The JSON value of a UTF-8 file (see :func:`open_text`): the one way xqg reads a whole JSON file.

    Raises:
        InputError: undecodable text, or malformed JSON (naming the file, the line and the column).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.json"
        >>> _ = p.write_text('{"q1": ["yes"]}')
        >>> read_json(p)
        {'q1': ['yes']}
    """
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"malformed JSON ({exc.msg} at column {exc.colno})", path=Path(path), line=exc.lineno
        ) from None
