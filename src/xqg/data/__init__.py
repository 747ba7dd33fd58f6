"""Data records, readers/writers, and benchmark loaders."""

from __future__ import annotations

from xqg.data.languages import LANGUAGES, Language, get_language
from xqg.data.records import Passage, Qrel, Query, RetrievalDataset

__all__ = ["LANGUAGES", "Language", "Passage", "Qrel", "Query", "RetrievalDataset", "get_language"]
