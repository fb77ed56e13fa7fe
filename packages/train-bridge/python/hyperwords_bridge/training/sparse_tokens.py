"""Trainable tokens without copying the vocabulary matrix at every step.

PEFT's ``TrainableTokensLayer`` (0.21) computes its forward with the *whole* merged matrix:
``W.index_copy(0, index, deltas)`` copies the embedding (and, tied, the LM head) at every forward,
and through the LM head autograd then forms the gradient of the full copy — a
vocabulary × hidden matrix product per step — only to keep the rows of the added tokens. On Gemma
3 (262k × 640) that made a step of the hyperwords and placebo arms several times slower than the
control's, which adds no tokens.

The same function, computed sparsely:

- embedding: the frozen base rows are looked up as usual, and the positions holding an added token
  take their trainable row instead;
- LM head: the frozen base logits, with the added tokens' columns replaced by ``x @ deltasᵀ``.

Outputs and gradients are those of PEFT's forward (``tests/test_sparse_tokens.py`` checks both on
tied and untied models, Llama and Gemma 3). Merging, saving and loading are PEFT's, unchanged.
``install()`` swaps the method in for this process; layers it does not cover (a quantised or
``max_norm`` embedding, a head with a bias) keep PEFT's own forward.
"""

from __future__ import annotations

from typing import Any

_original: Any = None


def _sparse_embedding(layer, x, adapters):
    import torch
    import torch.nn.functional as F

    base = layer.base_layer
    result = F.embedding(x, base.weight, padding_idx=base.padding_idx)
    for name in adapters:
        deltas = layer.trainable_tokens_delta[name].to(base.weight)
        index = torch.tensor(layer.token_indices[name], device=x.device)
        slot = torch.full((base.weight.shape[0],), -1, dtype=torch.long, device=x.device)
        slot[index] = torch.arange(len(index), device=x.device)
        at = slot[x]
        hit = (at >= 0).unsqueeze(-1)
        result = torch.where(hit, F.embedding(at.clamp(min=0), deltas), result)
    scale = layer._get_embed_scale()
    if scale is not None:
        result = result * scale.to(result.dtype)
    return result


def _sparse_linear(layer, x, adapters):
    import torch
    import torch.nn.functional as F

    weight = layer.base_layer.weight
    result = F.linear(x, weight)
    for name in adapters:
        deltas = layer.trainable_tokens_delta[name].to(weight)
        index = torch.tensor(layer.token_indices[name], device=x.device)
        result = result.index_copy(-1, index, F.linear(x, deltas))
    return result


def _covered(layer) -> bool:
    import torch

    base = layer.base_layer
    if type(base) is torch.nn.Linear:  # not a quantised subclass
        return base.bias is None
    if isinstance(base, torch.nn.Embedding):
        return base.max_norm is None and not base.sparse and not base.scale_grad_by_freq
    return False


def sparse_forward_adapters(self, x, active_adapters, *args, **kwargs):
    """PEFT's ``forward_adapters`` with the unmerged adapter path computed sparsely."""
    import torch

    if self.disable_adapters or not active_adapters or self.merged or not _covered(self):
        return _original(self, x, active_adapters, *args, **kwargs)
    self._check_overlapping_tokens(active_adapters)
    if isinstance(self.base_layer, torch.nn.Embedding):
        return _sparse_embedding(self, x, active_adapters)
    return _sparse_linear(self, x, active_adapters)


def install() -> bool:
    """Use the sparse forward for every ``TrainableTokensLayer`` of this process; False if PEFT has none."""
    global _original
    try:
        from peft.tuners.trainable_tokens.layer import TrainableTokensLayer
    except ImportError:
        return False
    if _original is None:
        _original = TrainableTokensLayer.forward_adapters
        TrainableTokensLayer.forward_adapters = sparse_forward_adapters
    return True


def uninstall() -> None:
    """PEFT's own forward again (for comparisons)."""
    global _original
    if _original is None:
        return
    from peft.tuners.trainable_tokens.layer import TrainableTokensLayer

    TrainableTokensLayer.forward_adapters = _original
    _original = None
