"""Public data sets: where they come from, how they are checked, where they are kept.

Each set in :data:`REGISTRY` lists its files with the official URL and, where known, a pinned
SHA-256. :func:`download` puts them into ``<cache>/<name>/`` (cache = ``$XQG_CACHE`` or
``~/.cache/xqg``, under ``data/``), and :func:`locate` finds a set's folder for the loaders.

Order of look-up for a set's files:

1. an explicit ``root`` folder given by the caller;
2. the local mirror ``$XQG_DATA_MIRROR/<name>/`` (machines without internet, tests and CI);
3. the cache ``<cache>/data/<name>/``.

Nothing is fetched when a file is already present (in the mirror or the cache); a present file
is still verified against its checksum. Files a set lists as *separable* (XQuAD's languages other
than English) are usable without each other: one that can be neither copied from the mirror nor
fetched is reported, and the others stay usable (``xqg data download xquad`` without internet on a
mirror of 11 languages gives those 11 and a note about ``xquad.ro.json``).

**Checksums.** The XQuAD checksums are pinned: eleven from the mirror's ``SHA256SUMS``; the one of
``xquad.ro.json`` (661,158 bytes), which the mirror lacks, from the checksums Hugging Face's
``datasets`` recorded when downloading the same official files (``datasets/xquad/dataset_infos.json``
in github.com/huggingface/datasets), whose values for the other eleven files are the mirror's. For the other
sets the checksums could not be known offline when this was written, so they are *trust on first
use*: the first download records each file's SHA-256 in ``<cache>/data/checksums.lock.json``, and
every later download or verification of that file must match it. Pin a value by adding it to the
registry (or to the lock file) once it has been checked against the official source.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xqg.data.atomic import atomic_write_json
from xqg.data.text_input import read_json
from xqg.errors import InputError

logger = logging.getLogger(__name__)

MIRROR_ENV = "XQG_DATA_MIRROR"
CACHE_ENV = "XQG_CACHE"
LOCK_FILE = "checksums.lock.json"


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """One file of a data set.

    Args:
        name: file name inside the set's folder.
        url: official download URL.
        sha256: pinned SHA-256 (hex), or ``None`` when it is recorded on first download instead.
        size_hint: approximate size, for messages.
    """

    name: str
    url: str
    sha256: str | None = None
    size_hint: str = ""


@dataclass(frozen=True, slots=True)
class DatasetSource:
    """A public data set: its files, licence and a one-line description."""

    name: str
    description: str
    licence: str
    files: tuple[RemoteFile, ...]
    optional: tuple[str, ...] = ()
    separable: tuple[str, ...] = ()
    """Files usable without each other (a missing one leaves the set usable, with a note)."""

    def file(self, name: str) -> RemoteFile:
        """The file called ``name``."""
        for f in self.files:
            if f.name == name:
                return f
        raise KeyError(name)


XQUAD_LANGUAGES: tuple[str, ...] = (
    "ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh",
)  # fmt: skip
"""The 12 languages of the official XQuAD release (Romanian, ``xquad.ro.json``, added after the first 11)."""

_XQUAD_SHA256 = {
    "ar": "abdabd7afed5c635d99cca0f3f0d0c9d9ed0bc77451e963c2e4e0638c29e486d",
    "de": "990b5d746746ed65ed4702ea5f35f99ffa4e2f1c390c07d003642acd937916f9",
    "el": "821cf0f88e73fa258fd2f548b19b6ec39f7025059e16f6f9fc8cd797c9c3663e",
    "en": "e4c57d1c9143aaa1c5d265ba5987a65f4e69528d2a98f29d6e75019b10344f29",
    "es": "dcbae93ec3a9f4b9e78fd834a171d6f96c1a875e10e15b7530b7e4ef4971e37e",
    "hi": "df2cce3532b37e9beb8979704b5c9a4bf874358f105395a298b89427b43b9d24",
    "ro": "94f8d54e93ad2b7dd2e76dd921a666b5b8eff2d4379df9f179c42b445f09643f",
    "ru": "208d5b1aa154c52b1b5c5eda16281e455e8fd198cdb9af3f469f0d6037d973bf",
    "th": "5cdda11d0e1e075f7872abf4e6ae830388ce7f617964d542308e9ae4257e0f43",
    "tr": "92179a564774b7696100d144c1e10870d0a966b6fccbdd254a65b9d2ab1971cc",
    "vi": "f619a1eb11fb42d3ab0834259e488a65f585447ef6154437bfb7199d85161a04",
    "zh": "691d0b3359bc6b8faa8de931dfdfe21d50a65861ae348e32a0d1a0190b0c8835",
}

_XOR = "https://nlp.cs.washington.edu/xorqa/XORQA_site/data/"

REGISTRY: dict[str, DatasetSource] = {
    "xquad": DatasetSource(
        "xquad",
        "XQuAD: 240 SQuAD paragraphs and 1,190 questions in 12 languages",
        "CC BY-SA 4.0",
        tuple(
            RemoteFile(
                f"xquad.{lang}.json",
                f"https://raw.githubusercontent.com/google-deepmind/xquad/master/xquad.{lang}.json",
                _XQUAD_SHA256[lang],
                "~1 MB",
            )
            for lang in XQUAD_LANGUAGES
        ),
        separable=tuple(f"xquad.{lang}.json" for lang in XQUAD_LANGUAGES if lang != "en"),
    ),
    "xor_tydi": DatasetSource(
        "xor_tydi",
        "XOR-TyDi XOR-Retrieve: questions in 7 languages, answers in English Wikipedia (2019-02-01)",
        "CC BY-SA 4.0",
        (
            RemoteFile(
                "xor_train_retrieve_eng_span.jsonl", _XOR + "xor_train_retrieve_eng_span.jsonl", None, "~3 MB"
            ),
            RemoteFile(
                "xor_dev_retrieve_eng_span_v1_1.jsonl",
                _XOR + "xor_dev_retrieve_eng_span_v1_1.jsonl",
                None,
                "~0.5 MB",
            ),
            RemoteFile("enwiki_20190201_w100.tsv", _XOR + "models/enwiki_20190201_w100.tsv", None, "~13 GB"),
        ),
        optional=("enwiki_20190201_w100.tsv",),
    ),
    "mkqa": DatasetSource(
        "mkqa",
        "MKQA: 10k Natural Questions queries in 26 languages with answers (corpus not included)",
        "CC BY-SA 3.0",
        (
            RemoteFile(
                "mkqa.jsonl.gz",
                "https://github.com/apple/ml-mkqa/raw/main/dataset/mkqa.jsonl.gz",
                None,
                "~12 MB",
            ),
        ),
    ),
    "locomo": DatasetSource(
        "locomo",
        "LoCoMo: 10 long conversations, questions with evidence turns (no licence file: never vendor)",
        "none stated",
        (
            RemoteFile(
                "locomo10.json",
                "https://raw.githubusercontent.com/snap-research/locomo/main/data/locomo10.json",
                None,
                "~3 MB",
            ),
        ),
    ),
}


def cache_root() -> Path:
    """The xqg cache folder: ``$XQG_CACHE`` or ``~/.cache/xqg``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "xqg"


def data_cache() -> Path:
    """Where downloaded data sets live: ``<cache>/data``."""
    return cache_root() / "data"


def get_source(name: str) -> DatasetSource:
    """The registry entry for ``name``, with a clear error for unknown names.

    Example:
        >>> get_source("xquad").file("xquad.en.json").sha256[:8]
        'e4c57d1c'
    """
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown data set {name!r} (known: {', '.join(sorted(REGISTRY))})") from None


def sha256_file(path: str | Path, chunk_size: int = 1 << 22) -> str:
    """Hex SHA-256 of a file, read in chunks (memory bounded): downloads, shard manifests, cache keys.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = p.write_bytes(b"abc")
        >>> sha256_file(p)[:8]
        'ba7816bf'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def _candidates(name: str, root: str | Path | None) -> list[Path]:
    if root is not None:
        return [Path(root)]
    out: list[Path] = []
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        out.append(Path(mirror).expanduser() / name)
    out.append(data_cache() / name)
    return out


def locate(
    name: str,
    files: list[str] | None = None,
    root: str | Path | None = None,
    *,
    wanted: list[str] | None = None,
) -> Path:
    """The folder that holds data set ``name`` (see the module docstring for the look-up order).

    Args:
        name: registry name (``"xquad"``, ...) or any folder name under the mirror/cache.
        files: file names that must be present (default: the registry's required files).
        root: explicit folder; when given, only it is considered.
        wanted: files to have if possible: among the folders holding ``files``, the first one
            holding the most of them is chosen (a cache with all 12 XQuAD languages over a mirror of 11).

    Raises:
        InputError: no candidate folder holds the files; the message says where it looked and how
            to download.

    Example:
        >>> locate("xquad", ["xquad.en.json"]).name  # doctest: +SKIP
        'xquad'
    """
    if files is None:
        source = REGISTRY.get(name)
        files = [f.name for f in source.files if f.name not in source.optional] if source else []
    tried = _candidates(name, root)
    complete = [folder for folder in tried if folder.is_dir() and all((folder / f).exists() for f in files)]
    if complete:
        return max(complete, key=lambda folder: sum((folder / f).exists() for f in wanted or []))
    where = ", ".join(str(p) for p in tried)
    existing = next((folder for folder in tried if folder.is_dir()), None)
    absent = [f for f in files if existing is None or not (existing / f).exists()]
    missing = ", ".join(absent) if absent else "the data"
    hint = f"; run `xqg data download {name}` or set ${MIRROR_ENV}" if name in REGISTRY else ""
    raise InputError(f"{missing} not found (looked in: {where}){hint}")


def _read_lock(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    data = read_json(path)
    if not isinstance(data, dict):
        raise InputError("expected a JSON object of {set/file: sha256}", path=path)
    return {str(k): str(v) for k, v in data.items()}


def verify_file(source: DatasetSource, remote: RemoteFile, path: Path, lock_path: Path | None = None) -> str:
    """Check ``path`` against the pinned or recorded SHA-256; record it on first use.

    Returns:
        ``"pinned"``, ``"locked"`` (matched the lock file) or ``"recorded"`` (first use).

    Raises:
        InputError: the checksum differs (names the file, expected and actual digests).
    """
    lock_path = lock_path or data_cache() / LOCK_FILE
    actual = sha256_file(path)
    key = f"{source.name}/{remote.name}"
    if remote.sha256 is not None:
        if actual != remote.sha256:
            raise InputError(f"SHA-256 mismatch: expected {remote.sha256}, got {actual}", path=path)
        return "pinned"
    lock = _read_lock(lock_path)
    if key in lock:
        if lock[key] != actual:
            raise InputError(
                f"SHA-256 mismatch with the value recorded on first download in {lock_path}: "
                f"expected {lock[key]}, got {actual}",
                path=path,
            )
        return "locked"
    lock[key] = actual
    atomic_write_json(lock_path, dict(sorted(lock.items())))
    return "recorded"


def _fetch(url: str, target: Path, progress: bool) -> None:
    """Download ``url`` to ``target`` through a temporary file (resumes are not attempted)."""
    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:  # noqa: S310
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=target.name, disable=not progress) as bar:
                while chunk := response.read(1 << 20):
                    out.write(chunk)
                    bar.update(len(chunk))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"download failed: {exc}; set ${MIRROR_ENV} to a local copy", path=url) from None


def download(
    name: str,
    *,
    include_optional: bool = False,
    progress: bool = True,
    fetch: Callable[[str, Path, bool], None] | None = None,
) -> Path:
    """Make data set ``name`` available in the cache and verify every file; return its folder.

    A file already in the cache is only verified. A file in ``$XQG_DATA_MIRROR/<name>/`` is
    verified and copied (never fetched). Otherwise it is fetched from its official URL.

    Args:
        name: registry name (see ``xqg data list``).
        include_optional: also fetch optional large files (the 13 GB XOR-TyDi corpus).
        progress: show tqdm progress bars.
        fetch: download function ``(url, target, progress)``; for tests.

    Raises:
        InputError: unknown set, failed download (of a file that is not separable), or checksum
            mismatch. A separable file that cannot be had is logged as a warning instead.

    Example:
        >>> folder = download("xquad")  # doctest: +SKIP
    """
    source = get_source(name)
    fetch = fetch or _fetch
    folder = data_cache() / name
    mirror_env = os.environ.get(MIRROR_ENV)
    mirror = Path(mirror_env).expanduser() / name if mirror_env else None
    unavailable: dict[str, str] = {}
    for remote in source.files:
        if remote.name in source.optional and not include_optional:
            continue
        target = folder / remote.name
        if not target.exists():
            if mirror is not None and (mirror / remote.name).exists():
                verify_file(source, remote, mirror / remote.name)
                folder.mkdir(parents=True, exist_ok=True)
                tmp = target.with_name(f".{target.name}.part")
                shutil.copyfile(mirror / remote.name, tmp)
                os.replace(tmp, target)
            else:
                try:
                    fetch(remote.url, target, progress)
                except InputError as exc:
                    if remote.name not in source.separable:
                        raise
                    unavailable[remote.name] = exc.message
                    continue
        try:
            verify_file(source, remote, target)
        except InputError:
            bad = target.with_name(target.name + ".bad")
            os.replace(target, bad)
            raise
    for file_name, why in unavailable.items():
        logger.warning(
            "%s/%s is not available (not in the mirror%s, and %s); the rest of %s is ready without it: "
            "run `xqg data download %s` again with internet access to add it",
            name,
            file_name,
            f" {mirror}" if mirror is not None else " ($XQG_DATA_MIRROR unset)",
            why,
            name,
            name,
        )
    return folder


def unavailable_files(name: str, root: str | Path | None = None) -> list[str]:
    """Required files of a set present in none of the look-up folders (nothing is fetched).

    Example:
        >>> unavailable_files("xquad")  # doctest: +SKIP
        ['xquad.ro.json']
    """
    optional = set(get_source(name).optional)
    return [f for f, state in status(name, root).items() if state == "missing" and f not in optional]


def status(name: str, root: str | Path | None = None) -> dict[str, str]:
    """``{file name: "present (<folder>)" | "missing"}`` for each file of a set, nothing fetched."""
    source = get_source(name)
    out: dict[str, str] = {}
    for remote in source.files:
        found = next((c for c in _candidates(name, root) if (c / remote.name).exists()), None)
        out[remote.name] = f"present ({found})" if found else "missing"
    return out
