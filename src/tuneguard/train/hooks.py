"""The defense hook protocol: how a defense plugs into the one training loop.

A defense overrides any of five hooks; the rest stay no-ops. The loop calls them in this order:

1. ``transform_data(examples, ctx)`` - pre-tuning: filter, add to or rewrite the training data.
2. ``on_train_start(ctx)`` - once, after the model (and LoRA) is ready: cache reference outputs,
   extract directions, register forward hooks.
3. ``before_step(ctx, batch)`` - may return a different batch (e.g. Lisa's alignment state).
4. ``extra_loss(ctx, batch, out)`` - a term added to the task loss (KL, LDIFS, proximal, ...).
   ``out`` is a :class:`StepOutput` with the logits at ``batch.positions``.
5. ``after_backward(ctx, batch)`` - gradients exist; may edit them or add second passes
   (Vaccine, Booster).  ``after_step(ctx)`` runs after the optimizer step.
6. ``edit_weights(ctx)`` - post-tuning weight repair, before LoRA merge and save.

``needs_hidden_states`` asks the loop to return hidden states in ``out``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from tuneguard.data.chat import ChatExample
from tuneguard.train.tokenize import Batch


@dataclass
class StepOutput:
    """What the loop's forward pass produced: logits at ``batch.positions``, the task loss."""

    logits: torch.Tensor
    loss: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None = None


@dataclass
class TrainContext:
    """Everything a defense may need; shared by all hooks of one run."""

    model: Any
    tokenizer: Any
    config: Any
    device: torch.device
    base_model_path: str
    examples: list[ChatExample] = field(default_factory=list)
    step: int = 0
    total_steps: int = 0
    optimizer: Any = None
    encode: Callable[[list[ChatExample]], list[Batch]] | None = None
    forward: Callable[[Batch], StepOutput] | None = None
    loss: Callable[[Batch], tuple[torch.Tensor, StepOutput]] | None = None  # forward + all extra losses
    reference_path: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    _reference: Any = None

    def reference(self):
        """The aligned reference model (frozen, eval mode), loaded once on first use."""
        if self._reference is None:
            from tuneguard.models import load_model

            self._reference = load_model(self.reference_path or self.base_model_path, device=self.device)
            self._reference.requires_grad_(False)
        return self._reference

    def release_reference(self) -> None:
        """Drop the loaded reference (a component that cached what it needs frees the memory)."""
        self._reference = None


class Defense:
    """No-op base: a defense overrides only the hooks it needs. ``spec`` is set by the registry."""

    phase: str = "during"  # pre | during | post | align
    needs_hidden_states: bool = False
    spec: dict[str, Any] = {}

    def transform_data(self, examples: list[ChatExample], ctx: TrainContext) -> list[ChatExample]:
        return examples

    def on_train_start(self, ctx: TrainContext) -> None:
        return None

    def before_step(self, ctx: TrainContext, batch: Batch) -> Batch:
        return batch

    def extra_loss(self, ctx: TrainContext, batch: Batch, out: StepOutput) -> torch.Tensor | None:
        return None

    def after_backward(self, ctx: TrainContext, batch: Batch) -> None:
        return None

    def after_step(self, ctx: TrainContext) -> None:
        return None

    def edit_weights(self, ctx: TrainContext) -> None:
        return None

    def metrics(self) -> dict[str, Any]:
        """Numbers the defense wants in the run record."""
        return {}
