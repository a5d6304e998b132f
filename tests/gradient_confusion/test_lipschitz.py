"""Tests for the weight gradients of the gradient inner products: closed forms for linear models,
finite differences as the oracle for a network, and bad inputs."""

from __future__ import annotations

import pytest
import torch

from helpers import losses, models
from helpers.gradient_confusion import inner_product_gradients, inner_product_increments
from helpers.gradients import gradient_gram
from helpers.rng import make_generator

D = torch.float64


def test_linear_model_closed_form(gen):
    """h_ij = r_i r_j <x_i, x_j>, grad_w h_ij = <x_i, x_j> (r_j x_i + r_i x_j)."""
    n, d = 5, 4
    model = torch.nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, d, generator=gen, dtype=D))
    X = torch.randn(n, d, generator=gen, dtype=D)
    y = torch.randn(n, generator=gen, dtype=D)
    h, norms = inner_product_gradients(model, losses.squared_loss, X, y)
    r = (X @ model.weight.detach()[0]) - y
    i, j = torch.triu_indices(n, n, 1)
    K = X @ X.T
    assert torch.allclose(h, r[i] * r[j] * K[i, j], rtol=1e-12, atol=1e-14)
    closed = (K[i, j, None] * (r[j, None] * X[i] + r[i, None] * X[j])).norm(dim=1)
    assert torch.allclose(norms, closed, rtol=1e-12, atol=1e-14)


def test_network_gradient_matches_finite_differences_and_the_gram(gen):
    net = models.MLP(3, 6, 2, 1, generator=gen, activation="tanh", activate_output=True)
    X = torch.randn(4, 3, generator=gen, dtype=D)
    y = torch.randn(4, generator=gen, dtype=D)
    h, norms = inner_product_gradients(net, losses.squared_loss, X, y)
    i, j = torch.triu_indices(4, 4, 1)
    G = gradient_gram(net, losses.squared_loss, X, y)
    assert torch.allclose(h, G[i, j], rtol=1e-10, atol=1e-14)
    # directional derivative of h_01 along a random direction U: <grad h_01, U>
    params = list(net.parameters())
    U = [torch.randn(p.shape, generator=gen, dtype=D) for p in params]
    eps = 1e-6

    def h01(sign):
        with torch.no_grad():
            for p, u in zip(params, U):
                p.add_(sign * eps * u)
        value = gradient_gram(net, losses.squared_loss, X, y)[0, 1]
        with torch.no_grad():
            for p, u in zip(params, U):
                p.sub_(sign * eps * u)
        return value

    fd = (h01(1) - h01(-1)) / (2 * eps)
    unorm = torch.sqrt(sum((u ** 2).sum() for u in U))
    assert abs(float(fd)) <= float(norms[0] * unorm) * (1 + 1e-6)    # Cauchy-Schwarz


def test_increments_are_below_the_largest_gradient_norm_on_a_small_ball(gen):
    net = models.MLP(3, 6, 2, 1, generator=gen, activation="tanh", activate_output=True)
    X = torch.randn(4, 3, generator=gen, dtype=D)
    y = torch.randn(4, generator=gen, dtype=D)
    before = [p.detach().clone() for p in net.parameters()]
    _, norms = inner_product_gradients(net, losses.squared_loss, X, y)
    inc = inner_product_increments(net, losses.squared_loss, X, y, radius=1e-5, points=4,
                                   generator=make_generator(1))
    assert inc.shape == (4,) and bool((inc <= 1.01 * norms.max()).all())
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))   # restored


def test_bad_inputs(gen):
    net = torch.nn.Linear(2, 1).double()
    X, y = torch.randn(3, 2, generator=gen, dtype=D), torch.randn(3, generator=gen, dtype=D)
    with pytest.raises(ValueError, match="at least 2"):
        inner_product_gradients(net, losses.squared_loss, X[:1], y[:1])
    with pytest.raises(TypeError, match="loss_fn"):
        inner_product_gradients(net, "squared", X, y)
    with pytest.raises(ValueError, match="radius"):
        inner_product_increments(net, losses.squared_loss, X, y, radius=0.0, points=1,
                                 generator=gen)
    with pytest.raises(TypeError, match="generator"):
        inner_product_increments(net, losses.squared_loss, X, y, radius=0.1, points=1,
                                 generator=0)
