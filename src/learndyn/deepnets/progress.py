"""Progress lines of long trainings (``progress=`` of :func:`~learndyn.deepnets.train_batched`).

Part of :mod:`learndyn.deepnets`; changes no number.
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch

__all__ = ["Progress"]


def _hms(seconds: float) -> str:
    s = int(round(max(seconds, 0.0)))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """Progress lines of a long training (``progress=`` of :func:`~learndyn.deepnets.train_batched`), one
    every ``interval`` seconds of the epoch loop, printed to stdout and flushed (the rule's log: ``tail -f``
    it)::

        [progress 0:02:00] b5 grid default batch 0 | nets 4/5 running (seeds 100, 105, 110, 115) | epoch 2400/40000 (6.0%) | loss 3.1e-02 (max; min 8.4e-03) | 20.1 epochs/s | left <= 0:31:10 (epoch cap; stops at loss < 1e-04)

    ``epochs/s`` is the rate since the previous line (the stack shrinks as networks stop); the time left
    is the remaining epochs at that rate, an upper bound when a stopping loss can end the run earlier.
    """

    def __init__(self, interval: float, label: str, epochs: int, seeds, stop_loss, stream=None):
        self.interval, self.label, self.epochs = float(interval), label, epochs
        self.seeds = list(seeds)
        self.stop_loss = stop_loss
        self.stream = stream
        self.t0 = self.t_last = time.perf_counter()
        self.k_last = 0
        self.lines = 0

    def _print(self, text):
        print(text, file=self.stream or sys.stdout, flush=True)

    def tick(self, k: int, alive, loss_t):
        now = time.perf_counter()
        if now - self.t_last < self.interval:
            return
        rate = (k - self.k_last) / max(now - self.t_last, 1e-9)
        self.t_last, self.k_last = now, k
        self.lines += 1
        seeds = [self.seeds[i] for i in alive]
        shown = ", ".join(str(s) for s in seeds[:6]) + (", ..." if len(seeds) > 6 else "")
        if loss_t is None:
            loss = "loss n/a"
        else:
            ls = loss_t.detach().to(torch.float64).cpu().numpy()
            loss = f"loss {ls.max():.2e}" + (f" (max; min {ls.min():.2e})" if ls.size > 1 else "")
        left = (self.epochs - k) / rate if rate > 0 else float("inf")
        cap = f" (epoch cap; stops at loss < {self.stop_loss:.0e})" if self.stop_loss is not None else ""
        name = f"{self.label} | " if self.label else ""
        self._print(f"[progress {_hms(now - self.t0)}] {name}nets {len(seeds)}/{len(self.seeds)} running "
                    f"(seeds {shown}) | epoch {k}/{self.epochs} ({100.0 * k / self.epochs:.1f}%) | {loss} | "
                    f"{rate:.1f} epochs/s | left {'<= ' if self.stop_loss is not None else ''}"
                    f"{_hms(left) if math.isfinite(left) else '?'}{cap}")

    def done(self, k: int, stopped):
        if not self.lines:
            return
        el = time.perf_counter() - self.t0
        name = f"{self.label} | " if self.label else ""
        self._print(f"[progress {_hms(el)}] {name}done: {k} epochs, {int(np.sum(stopped))}/{len(self.seeds)} "
                    f"nets stopped early, {k / max(el, 1e-9):.1f} epochs/s on average")
