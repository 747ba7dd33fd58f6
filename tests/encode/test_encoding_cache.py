"""The encoding cache: one list of texts, one cached matrix, equal to encoding it afresh."""

from __future__ import annotations

import numpy as np
import pytest

from xqg.encode.cache import EncodingCache, encoder_function, encoder_key
from xqg.encode.testing import tiny_encoder
from xqg.errors import ConfigError, InputError


def test_a_cached_list_is_what_a_fresh_encoding_gives(tmp_path):
    encoder = tiny_encoder(2)
    texts = ["eins zwei", "drei", "eins zwei", "a much longer text than the others"]
    cache = EncodingCache(tmp_path, encoder_key(encoder), {"batch_size": 2})
    first = cache.encode(texts, "query", encoder_function(encoder, "query", batch_size=2))
    assert not cache.last_cached
    np.testing.assert_array_equal(first, encoder.encode_queries(texts, batch_size=2))

    def refuse(texts):
        raise AssertionError("encoded a cached list again")

    again = EncodingCache(tmp_path, encoder_key(encoder), {"batch_size": 2}).encode(texts, "query", refuse)
    np.testing.assert_array_equal(again, first)
    # another order, kind or setting is another list
    calls = []

    def counting(batch):
        calls.append(len(batch))
        return encoder.encode_queries(batch, batch_size=2)

    cache.encode(texts[::-1], "query", counting)
    cache.encode(texts, "passage", counting)
    EncodingCache(tmp_path, encoder_key(encoder), {"batch_size": 3}).encode(texts, "query", counting)
    assert calls == [4, 4, 4]


def test_memory_only_and_bad_inputs(tmp_path):
    cache = EncodingCache(None, "toy")
    enc = lambda texts: np.ones((len(texts), 2))  # noqa: E731
    assert cache.encode(["a"], "query", enc).dtype == np.float32
    assert cache.encode(["a"], "query", lambda t: 1 / 0).shape == (1, 2) and cache.last_cached
    with pytest.raises(ConfigError, match="kind"):
        cache.encode(["a"], "doc", enc)
    with pytest.raises(InputError, match="returned 1 vectors for 2 texts"):
        cache.encode(["a", "b"], "query", lambda t: np.ones((1, 2)))
    disk = EncodingCache(tmp_path, "toy")
    path = disk.path(["a", "b"], "query")
    path.parent.mkdir(parents=True)
    np.save(path, np.ones((3, 2), dtype=np.float32))
    with pytest.raises(InputError, match="delete the file"):
        disk.encode(["a", "b"], "query", enc)
