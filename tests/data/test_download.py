from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from xqg.data import download as dl
from xqg.errors import InputError


def _mirror_with(tmp_path: Path, name: str, files: dict[str, bytes]) -> Path:
    mirror = tmp_path / "mirror"
    (mirror / name).mkdir(parents=True)
    for file_name, data in files.items():
        (mirror / name / file_name).write_bytes(data)
    return mirror


def _no_network(url: str, target: Path, progress: bool) -> None:
    raise AssertionError(f"tried to fetch {url}")


def _offline(url: str, target: Path, progress: bool) -> None:
    raise InputError("download failed: no network", path=url)


def test_xquad_checksums_match_the_pinned_values(xquad_dir: Path) -> None:
    sums = dict(line.split()[::-1] for line in (xquad_dir / "SHA256SUMS").read_text().splitlines())
    source = dl.get_source("xquad")
    pinned = {f.name: f.sha256 for f in source.files}
    assert len(pinned) == 12 and dl.XQUAD_LANGUAGES[6] == "ro"
    # the mirror's files are the official ones; xquad.ro.json, which the mirror lacks, is pinned to
    # the checksum Hugging Face datasets recorded for the same official URL
    assert {name: sha for name, sha in pinned.items() if name in sums} == sums
    assert pinned["xquad.ro.json"] == "94f8d54e93ad2b7dd2e76dd921a666b5b8eff2d4379df9f179c42b445f09643f"
    assert all(dl.verify_file(source, f, xquad_dir / f.name) == "pinned" for f in source.files[:2])
    assert set(source.separable) == {f"xquad.{lang}.json" for lang in dl.XQUAD_LANGUAGES if lang != "en"}


def test_download_from_the_mirror_never_fetches(data_mirror: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XQG_DATA_MIRROR", str(data_mirror))
    present = sorted(p.name for p in (data_mirror / "xquad").glob("xquad.*.json"))
    fetched: list[str] = []

    def fetch_absent(url: str, target: Path, progress: bool) -> None:
        fetched.append(Path(url).name)
        raise InputError("download failed: no network", path=url)

    folder = dl.download("xquad", progress=False, fetch=fetch_absent)
    assert folder == dl.data_cache() / "xquad"
    assert sorted(p.name for p in folder.glob("xquad.*.json")) == present
    # only what the mirror lacks is fetched (on this machine's mirror: xquad.ro.json)
    assert fetched == [
        f"xquad.{lang}.json" for lang in dl.XQUAD_LANGUAGES if f"xquad.{lang}.json" not in present
    ]
    # Present in the cache now: a second call only verifies (and fetches nothing it has).
    monkeypatch.delenv("XQG_DATA_MIRROR")
    assert dl.download("xquad", progress=False, fetch=fetch_absent) == folder


def test_an_unavailable_language_leaves_the_others_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, xquad_dir: Path
) -> None:
    """A mirror of the 11 first languages and no network: the 11 are ready, ro is named, no crash."""
    eleven = [lang for lang in dl.XQUAD_LANGUAGES if lang != "ro"]
    mirror = tmp_path / "mirror"
    (mirror / "xquad").mkdir(parents=True)
    for lang in eleven:
        (mirror / "xquad" / f"xquad.{lang}.json").symlink_to(xquad_dir / f"xquad.{lang}.json")
    monkeypatch.setenv("XQG_DATA_MIRROR", str(mirror))
    with caplog.at_level("WARNING"):
        folder = dl.download("xquad", progress=False, fetch=_offline)
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(f"xquad.{lang}.json" for lang in eleven)
    assert "xquad/xquad.ro.json is not available" in caplog.text and "no network" in caplog.text
    assert dl.unavailable_files("xquad") == ["xquad.ro.json"]
    # a file that is not separable (English, which every language needs) stays an error
    (folder / "xquad.en.json").unlink()
    (mirror / "xquad" / "xquad.en.json").unlink()
    with pytest.raises(InputError, match="no network"):
        dl.download("xquad", progress=False, fetch=_offline)
    # a fetched Romanian file is held to its pinned checksum like the others
    monkeypatch.delenv("XQG_DATA_MIRROR")
    (folder / "xquad.en.json").symlink_to(xquad_dir / "xquad.en.json")

    def wrong_file(url: str, target: Path, progress: bool) -> None:
        target.write_bytes(b"{}")

    with pytest.raises(InputError, match="SHA-256 mismatch: expected 94f8d54e") as info:
        dl.download("xquad", progress=False, fetch=wrong_file)
    assert info.value.path.endswith("xquad.ro.json")


def test_first_download_is_recorded_then_enforced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XQG_DATA_MIRROR", raising=False)
    calls: list[str] = []

    def fake_fetch(url: str, target: Path, progress: bool) -> None:
        calls.append(url)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b'[{"sample_id": "x"}]')

    folder = dl.download("locomo", progress=False, fetch=fake_fetch)
    assert calls == [dl.get_source("locomo").files[0].url]
    lock = json.loads((dl.data_cache() / dl.LOCK_FILE).read_text())
    assert lock == {"locomo/locomo10.json": hashlib.sha256(b'[{"sample_id": "x"}]').hexdigest()}
    dl.download(
        "locomo", progress=False, fetch=_no_network
    )  # present: verified against the lock, not fetched
    (folder / "locomo10.json").write_bytes(b"tampered")
    with pytest.raises(InputError, match="SHA-256 mismatch with the value recorded"):
        dl.download("locomo", progress=False, fetch=_no_network)
    assert (folder / "locomo10.json.bad").exists() and not (folder / "locomo10.json").exists()


def test_corrupt_mirror_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = _mirror_with(tmp_path, "xquad", {f"xquad.{lang}.json": b"{}" for lang in dl.XQUAD_LANGUAGES})
    monkeypatch.setenv("XQG_DATA_MIRROR", str(mirror))
    with pytest.raises(InputError, match="SHA-256 mismatch: expected abdabd7a") as info:
        dl.download("xquad", progress=False, fetch=_no_network)
    assert info.value.path.endswith("xquad.ar.json")
    assert not (dl.data_cache() / "xquad" / "xquad.ar.json").exists()


def test_optional_files_are_skipped_unless_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"xor_train_retrieve_eng_span.jsonl": b"{}\n", "xor_dev_retrieve_eng_span_v1_1.jsonl": b"{}\n"}
    monkeypatch.setenv("XQG_DATA_MIRROR", str(_mirror_with(tmp_path, "xor_tydi", files)))
    folder = dl.download("xor_tydi", progress=False, fetch=_no_network)
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    with pytest.raises(AssertionError, match="enwiki_20190201_w100.tsv"):
        dl.download("xor_tydi", include_optional=True, progress=False, fetch=_no_network)


def test_failed_fetch_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="download failed"):
        dl._fetch("file:///nonexistent/xqg/nothing.json", tmp_path / "x.json", progress=False)
    assert not list(tmp_path.iterdir())


def test_unknown_set_and_locate_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="unknown data set 'squad'"):
        dl.download("squad")
    monkeypatch.setenv("XQG_DATA_MIRROR", str(tmp_path))
    with pytest.raises(InputError, match="mkqa.jsonl.gz not found .*xqg data download mkqa"):
        dl.locate("mkqa")
    assert dl.status("mkqa") == {"mkqa.jsonl.gz": "missing"}
    monkeypatch.setenv("XQG_CACHE", str(tmp_path / "c"))
    assert dl.cache_root() == tmp_path / "c"
