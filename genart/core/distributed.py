"""Data-parallel training with PyTorch's own engine: torchrun + DistributedDataParallel.

`torchrun --nproc_per_node N -m genart train gan ...` starts N processes; each holds a shard of the data,
gradients are averaged by DDP (gloo on CPU, NCCL on CUDA), and only rank 0 writes the run directory.
Single-process runs never touch torch.distributed.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist
from torch import nn

from genart.core.errors import DataError


def launched() -> bool:
    """True when started by torchrun (or another launcher) with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def active() -> bool:
    return dist.is_available() and dist.is_initialized()


def init(device: torch.device) -> torch.device:
    """Join the process group; on CUDA each rank takes the GPU of its LOCAL_RANK. Returns the device to use."""
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not active():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def rank() -> int:
    return dist.get_rank() if active() else 0


def world() -> int:
    return dist.get_world_size() if active() else 1


def _comm_device() -> torch.device:
    """Where small control tensors must live for the backend (NCCL talks only to CUDA tensors)."""
    if active() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier() -> None:
    if active():
        dist.barrier()


def any_rank(flag: bool) -> bool:
    """True on every rank when `flag` is true on any rank (so all ranks stop at the same step)."""
    if not active():
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def wrap(module: nn.Module, device: torch.device) -> nn.Module:
    """DDP around `module` when training data-parallel; the module itself otherwise."""
    if not active():
        return module
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


def shard(n: int) -> slice:
    """This rank's share of n items: every world-th item from its rank. Every rank raises the same error when
    there are fewer items than ranks (so none is left waiting for the others)."""
    if n < world():
        raise DataError(f"{n} training images cannot be shared among {world()} processes",
                        "start fewer processes (--nproc_per_node) or give more data")
    return slice(rank(), n, world())


def same_on_all(value: float) -> float:
    """Rank 0's value on every rank (e.g. a schedule that depends on wall time, which differs per rank)."""
    if not active():
        return value
    t = torch.tensor([value], dtype=torch.float64, device=_comm_device())
    dist.broadcast(t, src=0)
    return float(t.item())


def agree(value: float) -> bool:
    """Whether every rank holds the same `value` (true on every rank, or false on every rank)."""
    if not active():
        return True
    t = torch.tensor([value, -value], dtype=torch.float64, device=_comm_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t[0].item() == -t[1].item())


def all_mean(t: torch.Tensor) -> torch.Tensor:
    """The mean of `t` over all ranks (in place; `t` itself when training in one process)."""
    if active():
        dist.all_reduce(t)
        t /= world()
    return t


def replicas_identical(tensors: list[torch.Tensor]) -> bool:
    """Whether every rank holds the same values (compares a float64 checksum across ranks)."""
    if not active():
        return True
    sums = [t.detach().double().sum().cpu() for t in tensors] + [torch.zeros((), dtype=torch.float64)]
    s = torch.stack(sums).to(_comm_device())
    gathered = [torch.zeros_like(s) for _ in range(world())]
    dist.all_gather(gathered, s)
    return all(torch.equal(gathered[0], g) for g in gathered[1:])


def finish() -> None:
    if active():
        dist.destroy_process_group()
