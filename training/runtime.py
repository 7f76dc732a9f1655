"""Device, threads and distributed set-up shared by the training scripts.

One code path for every machine: under ``torchrun`` (WORLD_SIZE set) it joins the process group
(NCCL on CUDA, Gloo on CPU) and wraps the model in DDP; with CUDA it uses the local GPU; otherwise the
CPU with a chosen number of threads. SIGTERM/SIGINT ask the loop to checkpoint and stop cleanly.
"""
from __future__ import annotations

import atexit
import os
import signal
import sys
import time
from dataclasses import dataclass, field

import torch


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world: int = 1
    stop_requested: bool = False
    _t0: float = field(default_factory=time.time)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def start(cls, threads: int = 0) -> "Runtime":
        if threads:
            torch.set_num_threads(threads)
        rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", 0))
            torch.cuda.set_device(local)
            device = torch.device("cuda", local)
        else:
            device = torch.device("cpu")
        if world > 1:
            backend = "nccl" if device.type == "cuda" else "gloo"
            torch.distributed.init_process_group(backend)
            atexit.register(torch.distributed.destroy_process_group)
        rt = cls(device, rank, world)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, rt._request_stop)
        if world > 1:  # every rank says so (rt.log is rank 0 only): shows all started, and their pids
            # One write, newline included: both ranks share torchrun's output, and with the line and its
            # newline written separately (unbuffered stdout) the two announcements ran into one line.
            sys.stdout.write(f"rank {rank}/{world} joined ({backend}, {device}), pid {os.getpid()}\n")
            sys.stdout.flush()
        return rt

    def leave(self, code: int) -> int:
        """End a training script (``sys.exit(rt.leave(main()))``-style, after its final checkpoint).

        Under torchrun every rank waits for the others (rank 0 may still be writing the checkpoint), the
        process group is destroyed, and the process exits at once without interpreter finalization:
        DDP keeps the Gloo process group alive past ``destroy_process_group``, and tearing it down while
        Python shuts down can abort the process ("terminate called without an active exception",
        SIGABRT: a rank that stopped cleanly failed the whole launch once in CI)."""
        if self.world == 1 or not torch.distributed.is_initialized():
            return code
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

    def _request_stop(self, *_):
        self.stop_requested = True

    def agree(self, flag: bool) -> bool:
        """True on every rank when it is true on any (stop decisions: time limits, signals)."""
        if self.world == 1:
            return bool(flag)
        t = torch.tensor([float(bool(flag))], device=self.device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def wrap(self, model):
        if self.world > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            return torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
        return model

    def log(self, msg: str) -> None:
        if self.is_main:
            print(f"[{time.strftime('%H:%M:%S')} +{(time.time() - self._t0) / 60:.1f}m] {msg}", flush=True)
