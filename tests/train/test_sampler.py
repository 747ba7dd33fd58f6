from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from xqg.data.records import Passage, Query
from xqg.train.examples import TrainingExample
from xqg.train.sampler import UniquePassageBatchSampler


def _examples(doc_of):
    return [TrainingExample(Query(f"q{i}", "?", "en"), Passage(f"p{d}", "")) for i, d in enumerate(doc_of)]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.integers(0, 6), min_size=1, max_size=60), st.integers(1, 9), st.integers(0, 3), st.booleans()
)
def test_no_passage_twice_in_a_batch_and_every_example_once(doc_of, batch_size, epoch, drop_last):
    examples = _examples(doc_of)
    batches = UniquePassageBatchSampler(examples, batch_size, seed=5, drop_last=drop_last).batches(epoch)
    seen = [i for b in batches for i in b]
    assert len(seen) == len(set(seen))
    if not drop_last:
        assert sorted(seen) == list(range(len(examples)))
    for b in batches:
        assert 1 <= len(b) <= batch_size
        assert len({examples[i].positive.id for i in b}) == len(b)
        if drop_last:
            assert len(b) == batch_size


def test_batches_are_full_when_passages_allow_it_and_seeded():
    # 11 languages x 40 passages: like XQuAD, each passage paired with many questions
    examples = _examples([d for d in range(40) for _ in range(11)])
    sampler = UniquePassageBatchSampler(examples, 16, seed=1)
    batches = sampler.batches(0)
    assert sum(len(b) < 16 for b in batches) <= 1 + 16  # only the tail can be partial
    assert sum(len(b) == 16 for b in batches) >= len(examples) // 16 - 2
    assert batches == UniquePassageBatchSampler(examples, 16, seed=1).batches(0)
    assert batches != sampler.batches(1)
