"""Two gloo processes sharing negatives give the loss and gradients of one process with the whole batch."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from xqg.train.config import RetrieverTrainingConfig

CONFIGS = {
    "plain": RetrieverTrainingConfig(num_negatives=2, temperature=0.1),
    "gradcache": RetrieverTrainingConfig(num_negatives=2, temperature=0.1, grad_cache_chunk=3),
    "self-teaching": RetrieverTrainingConfig(num_negatives=2, temperature=0.1, robustness="self-teaching"),
    # both towers: the sampled candidate passages are split over the processes too
    "distill": RetrieverTrainingConfig(
        num_negatives=2, temperature=0.1, robustness="distill", distill_views=2, distill_passages=4
    ),
}


def _teacher(config: RetrieverTrainingConfig):
    """The distillation teacher (the starting model's vectors of the toy texts and passages)."""
    if config.robustness != "distill":
        return None
    from xqg.train.distill import DistillTeacher
    from xqg.train.testing import tiny_hash_encoder, toy_examples

    examples = toy_examples(6, 2, docs=4)
    passages = list({p.id: p for e in examples for p in (e.positive, *e.negatives)}.values())
    return DistillTeacher.from_model(tiny_hash_encoder(seed=4), [e.query.text for e in examples], passages)


def _fake(text, lang, seed, num_typos=1, protocol="one-typo"):
    return text[::-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    import torch.distributed as dist

    from xqg.train.distributed import all_reduce_gradients
    from xqg.train.robustness import QueryPerturber
    from xqg.train.step import compute_batch_gradients
    from xqg.train.testing import tiny_hash_encoder, toy_examples

    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        for name, config in CONFIGS.items():
            model = tiny_hash_encoder(seed=4)
            model.train()
            stats = compute_batch_gradients(
                model,
                toy_examples(6, 2, docs=4),
                config,
                QueryPerturber(config, _fake),
                teacher=_teacher(config),
            )
            all_reduce_gradients(list(model.parameters()))
            if rank == 0:
                grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
                save_file({**grads, "__loss__": torch.tensor([stats.loss])}, f"{out_dir}/{name}.safetensors")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_process_results(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("gloo")
    mp.spawn(_worker, args=(2, _free_port(), str(out_dir)), nprocs=2, join=True)
    return out_dir


@pytest.mark.parametrize("name", list(CONFIGS))
def test_two_processes_equal_one_process_with_the_whole_batch(two_process_results, name):
    from xqg.train.robustness import QueryPerturber
    from xqg.train.step import compute_batch_gradients
    from xqg.train.testing import tiny_hash_encoder, toy_examples

    shared = load_file(str(two_process_results / f"{name}.safetensors"))
    config = CONFIGS[name]
    model = tiny_hash_encoder(seed=4)
    model.train()
    stats = compute_batch_gradients(
        model, toy_examples(6, 2, docs=4), config, QueryPerturber(config, _fake), teacher=_teacher(config)
    )
    assert shared.pop("__loss__").item() == pytest.approx(stats.loss, rel=1e-5)
    single = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert shared.keys() == single.keys()
    for key in single:
        assert torch.allclose(shared[key], single[key], atol=1e-6, rtol=1e-4), key
