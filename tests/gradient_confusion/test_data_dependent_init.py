"""The data-dependent initialisation is batch normalisation at init folded into the convs."""

from __future__ import annotations

import doctest

import pytest
import torch
from torch import nn

from helpers.gradient_confusion import _data_dependent_init as ddi
from helpers.gradient_confusion import data_dependent_init_
from helpers.models import WideResNet
from helpers.rng import make_generator

DT = torch.float64


def _images(n=12, c=1, seed=0):
    return 0.5 + torch.randn(n, c, 8, 8, generator=make_generator(seed), dtype=DT)


def _conv_outputs(model, X):
    outs = []
    handles = [m.register_forward_hook(lambda mod, i, o: outs.append(o.detach()))
               for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(X)
    for h in handles:
        h.remove()
    return outs


def test_docstring_examples_run():
    results = doctest.testmod(ddi, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert results.attempted > 0 and results.failed == 0


@pytest.mark.parametrize("skip", [False, True])
def test_every_conv_output_is_standardised(skip):
    X = _images()
    net = WideResNet(10, 1, generator=make_generator(1), in_channels=1, batch_norm=False,
                     skip=skip, dtype=DT)
    data_dependent_init_(net, X, eps=1e-12)
    outs = _conv_outputs(net, X)
    assert len(outs) == sum(isinstance(m, nn.Conv2d) for m in net.modules())
    for o in outs:
        torch.testing.assert_close(o.mean(dim=(0, 2, 3)), torch.zeros(o.shape[1], dtype=DT),
                                   atol=1e-10, rtol=0)
        torch.testing.assert_close(o.var(dim=(0, 2, 3), unbiased=False),
                                   torch.ones(o.shape[1], dtype=DT), atol=1e-8, rtol=0)


@pytest.mark.parametrize("depth", [10, 16])
def test_plain_net_equals_batch_normalised_net_on_the_batch(depth):
    """Without skips every BN follows a conv: plain + init == BN net (train mode) on X."""
    X = _images(n=10)
    plain = WideResNet(depth, 1, generator=make_generator(3), in_channels=1, batch_norm=False,
                       skip=False, dtype=DT)
    bn = WideResNet(depth, 1, generator=make_generator(3), in_channels=1, batch_norm=True,
                    skip=False, dtype=DT).train()
    data_dependent_init_(plain, X)
    with torch.no_grad():
        torch.testing.assert_close(plain(X), bn(X), atol=1e-10, rtol=1e-10)
        # a different batch is no longer normalised exactly: the equivalence is per batch
        Z = 3.0 * _images(n=10, seed=9)
        assert not torch.allclose(plain(Z), bn(Z), atol=1e-3)


def test_invariant_to_positive_rescaling_of_a_conv():
    """BN is scale invariant, so is the initialisation: scaling conv k first changes nothing."""
    X = _images()
    a = WideResNet(10, 1, generator=make_generator(4), in_channels=1, batch_norm=False,
                   skip=False, dtype=DT)
    b = WideResNet(10, 1, generator=make_generator(4), in_channels=1, batch_norm=False,
                   skip=False, dtype=DT)
    with torch.no_grad():
        conv = [m for m in b.modules() if isinstance(m, nn.Conv2d)][2]
        conv.weight.mul_(7.0)
        conv.bias.add_(0.3).mul_(7.0)
    data_dependent_init_(a, X, eps=1e-12)
    data_dependent_init_(b, X, eps=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(a(X), b(X), atol=1e-9, rtol=1e-9)


def test_idempotent_and_deterministic():
    X = _images()
    net = WideResNet(10, 1, generator=make_generator(5), in_channels=1, batch_norm=False,
                     skip=True, dtype=DT)
    data_dependent_init_(net, X, eps=1e-14)
    first = [p.clone() for p in net.parameters()]
    assert data_dependent_init_(net, X, eps=1e-14) is net
    for p, q in zip(first, net.parameters()):
        torch.testing.assert_close(p, q, atol=1e-10, rtol=1e-10)
    again = WideResNet(10, 1, generator=make_generator(5), in_channels=1, batch_norm=False,
                       skip=True, dtype=DT)
    data_dependent_init_(again, X, eps=1e-14)
    for p, q in zip(first, again.parameters()):
        assert torch.equal(p, q)


def test_hooks_are_removed():
    X = _images()
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Conv2d(3, 2, 3)).double()
    data_dependent_init_(net, X)
    assert all(not m._forward_hooks for m in net.modules())


def test_bad_inputs():
    X = _images()
    bn_net = WideResNet(10, 1, generator=make_generator(0), in_channels=1, dtype=DT)
    with pytest.raises(ValueError, match="needs a bias"):
        data_dependent_init_(bn_net, X)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Conv2d(3, 2, 3)).double()
    with pytest.raises(ValueError, match="at least 2 examples"):
        data_dependent_init_(net, X[:1])
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        data_dependent_init_(net, X.numpy())
    with pytest.raises(ValueError, match="eps must be"):
        data_dependent_init_(net, X, eps=0.0)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        data_dependent_init_("net", X)
    with pytest.raises(ValueError, match="at least one torch.nn.Conv2d"):
        data_dependent_init_(nn.Linear(3, 2).double(), torch.ones(4, 3, dtype=DT))
    conv = nn.Conv2d(1, 1, 3, padding=1).double()
    with pytest.raises(ValueError, match="called twice"):
        data_dependent_init_(nn.Sequential(conv, nn.ReLU(), conv), X)
    assert not conv._forward_hooks
