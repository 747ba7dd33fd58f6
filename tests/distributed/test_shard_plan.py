"""Plans and batch-scheduler slices: every row in exactly one shard, every shard in exactly one slice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xqg.distributed import ShardSpec, plan_shards, select_shards
from xqg.errors import ConfigError


@given(num_rows=st.integers(0, 5000), shard_size=st.integers(1, 700))
def test_plan_covers_every_row_once_in_order(num_rows: int, shard_size: int) -> None:
    plan = plan_shards(num_rows, shard_size)
    rows = [row for shard in plan for row in range(shard.start, shard.stop)]
    assert rows == list(range(num_rows))
    assert [shard.index for shard in plan] == list(range(len(plan)))
    assert all(1 <= len(shard) <= shard_size for shard in plan)
    assert all(len(shard) == shard_size for shard in plan[:-1])
    assert len({shard.dirname for shard in plan}) == len(plan)


@given(num_rows=st.integers(0, 3000), shard_size=st.integers(1, 300), num_slices=st.integers(1, 40))
def test_slices_partition_the_plan(num_rows: int, shard_size: int, num_slices: int) -> None:
    plan = plan_shards(num_rows, shard_size)
    slices = [select_shards(plan, num_slices, i) for i in range(num_slices)]
    assert sorted(s for part in slices for s in part) == plan
    sizes = [len(part) for part in slices]
    assert max(sizes) - min(sizes) <= 1


def test_no_slice_means_the_whole_plan() -> None:
    plan = plan_shards(10, 3)
    assert select_shards(plan, None, None) == plan


@pytest.mark.parametrize(("num_shards", "shard_index"), [(2, None), (None, 0), (0, 0), (3, 3), (3, -1)])
def test_bad_slices_are_config_errors(num_shards: int | None, shard_index: int | None) -> None:
    with pytest.raises(ConfigError):
        select_shards(plan_shards(10, 3), num_shards, shard_index)


def test_bad_plans_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        plan_shards(10, 0)
    with pytest.raises(ConfigError):
        plan_shards(-1, 5)
    with pytest.raises(ConfigError):
        ShardSpec(0, 5, 4)


def test_shard_spec_round_trips_through_json() -> None:
    shard = ShardSpec(7, 700, 742)
    assert ShardSpec.from_dict(shard.to_dict()) == shard
    assert shard.dirname == "shard-00007"
