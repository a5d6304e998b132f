"""Fixtures of the Part IV tests: a small network with inputs and targets."""

from __future__ import annotations

import pytest
import torch

from helpers.allen_zhu_li_song import DeepReLUNet, paper_inputs


@pytest.fixture
def setup(gen):
    """A DeepReLUNet(d_in=5, width=24, depth=3, d_out=2), 4 paper inputs and Gaussian targets."""
    net = DeepReLUNet(5, 24, 3, 2, generator=gen)
    X = paper_inputs(4, 5, 0.3, generator=gen)
    Y = torch.randn(4, 2, generator=gen, dtype=torch.float64)
    return net, X, Y


def _autograd_grads(net, X, Y, pert=None):
    Ws = [(W.detach() + (0 if pert is None else P)).requires_grad_(True)
          for W, P in zip(net.Ws, pert or [0] * net.depth)]
    h = torch.relu(X @ net.A.T)
    for W in Ws:
        h = torch.relu(h @ W.T)
    F = 0.5 * (h @ net.B.T - Y).pow(2).sum()
    return torch.autograd.grad(F, Ws), float(F.detach())


@pytest.fixture
def autograd_grads():
    """The oracle ``(net, X, Y, pert=None) -> (gradients, F)``: the gradients of
    F = sum_i 1/2 ||B h_L - y_i||^2 at W + pert by autograd, and F."""
    return _autograd_grads
