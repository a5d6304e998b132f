"""The landscape construction of Figures 1-7: the slice against landscape_grid, the decreases on
a known surface, label noise and the networks of the figures."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from helpers import gradients, hessian
from helpers.allen_zhu_li_song import (
    LANDSCAPE_ARCHS,
    LandscapeSlice,
    landscape_network,
    landscape_slice,
    perturb_labels,
)
from helpers.losses import cross_entropy
from helpers.models import MLP
from helpers.rng import make_generator

D = torch.float64


def _problem(gen):
    net = MLP(3, 8, 2, 3, generator=gen)
    X = torch.randn(9, 3, generator=gen, dtype=D)
    y = torch.arange(9) % 3
    return net, X, y


def test_landscape_slice_is_the_grid_of_the_gradient_and_curvature_plane(gen):
    net, X, y = _problem(gen)
    before = [p.detach().clone() for p in net.parameters()]
    net.train()
    s = landscape_slice(net, cross_entropy, X, y, lr=0.3, grid=5, lanczos_min=40, lanczos_max=40,
                        seed=1)
    assert net.training and all(torch.equal(p, q) for p, q in zip(net.parameters(), before))
    g = gradients.flat_gradient(net, cross_entropy, X, y)
    bottom = hessian.extreme_eigenpair(net, cross_entropy, X, y, which="min", iters=40,
                                       generator=make_generator(1))
    r = 2 * 0.3 * float(g.norm())
    np.testing.assert_allclose(s.coords, np.linspace(-r, r, 5))
    Z = hessian.landscape_grid(net, cross_entropy, X, y, g / g.norm(), bottom.vector, s.coords,
                               s.coords).numpy()
    np.testing.assert_allclose(s.values, Z, rtol=1e-12)
    with torch.no_grad():
        assert s.loss == pytest.approx(float(cross_entropy(net(X), y).mean()), rel=1e-12)
    assert s.grad_norm == pytest.approx(float(g.norm()))
    assert s.lambda_min == pytest.approx(bottom.value) and s.lambda_min < s.lambda_max


def test_decreases_on_a_known_surface():
    coords = np.linspace(-1.0, 1.0, 5)
    A, B = np.meshgrid(coords, coords)             # rows beta, columns alpha
    values = 1.0 + 0.5 * A - 0.1 * B**2            # gradient +0.5 along alpha, curvature -0.2
    s = LandscapeSlice(coords, values, 0.5, 1.0, -0.2, 0.0, 0.0)
    assert s.loss == 1.0
    assert s.decrease_gradient == pytest.approx(0.5)      # alpha = -1
    assert s.decrease_curvature == pytest.approx(0.1)     # beta = +-1
    disk = np.hypot(A, B) <= 1 + 1e-12
    assert s.decrease_slice == pytest.approx(1.0 - values[disk].min())


def test_landscape_slice_bad(gen):
    net, X, y = _problem(gen)
    with pytest.raises(ValueError, match="grid must be odd"):
        landscape_slice(net, cross_entropy, X, y, lr=0.1, grid=4, lanczos_min=5,
                        lanczos_max=5, seed=0)
    with pytest.raises(ValueError, match="lr must be"):
        landscape_slice(net, cross_entropy, X, y, lr=0.0, grid=5, lanczos_min=5,
                        lanczos_max=5, seed=0)


def test_perturb_labels_moves_the_fraction_to_other_classes():
    y = torch.arange(200) % 10
    z = perturb_labels(y, 0.2, 10, generator=make_generator(0))
    assert int((z != y).sum()) == 40                    # every moved label changes class
    assert bool(((z >= 0) & (z < 10)).all()) and torch.equal(y, torch.arange(200) % 10)
    again = perturb_labels(y, 0.2, 10, generator=make_generator(0))
    assert torch.equal(z, again)
    assert torch.equal(perturb_labels(y, 0.0, 10, generator=make_generator(0)), y)


def test_perturb_labels_bad():
    y = torch.arange(10) % 3
    with pytest.raises(ValueError, match="fraction must be"):
        perturb_labels(y, 1.5, 3, generator=make_generator(0))
    with pytest.raises(TypeError, match="integer class labels"):
        perturb_labels(y.double(), 0.1, 3, generator=make_generator(0))
    with pytest.raises(ValueError, match="num_classes must be"):
        perturb_labels(y, 0.1, 1, generator=make_generator(0))


def test_landscape_network_kinds():
    x = torch.randn(2, 3, 8, 8, generator=make_generator(0), dtype=D)
    small = landscape_network("residual SmallCNN", 7, generator=make_generator(1))
    assert small(x).shape == (2, 7)
    vgg = landscape_network("VGG19", 4, generator=make_generator(1))
    assert vgg(x).shape == (2, 4)
    assert LANDSCAPE_ARCHS[0] == "residual SmallCNN"


def test_landscape_network_bad():
    with pytest.raises(ValueError, match="arch must be one of"):
        landscape_network("ResNet-50", 10, generator=make_generator(0))
    with pytest.raises(ValueError, match="num_classes must be"):
        landscape_network("VGG19", 1, generator=make_generator(0))
