"""Tests for the pattern form of the input-layer Jacobian (Section 6.1, Lemma C.1, Def. G.2)."""

from __future__ import annotations

import pytest
import torch

from helpers import activations, data
from helpers.oymak_soltanolkotabi import _pattern_jacobian as pj
from helpers.oymak_soltanolkotabi import jacobian_gram


@pytest.fixture
def problem(gen):
    X = data.sphere(6, 4, generator=gen)
    W = torch.randn(9, 4, generator=gen, dtype=torch.float64)
    v = torch.randn(9, generator=gen, dtype=torch.float64)
    return X, W, v


def _explicit(X, P, v):
    """The n x kd matrix with rows vect(diag(v) P_i^T x_i^T) = (v * P_i) kron x_i."""
    return ((P * v)[:, :, None] * X[:, None, :]).reshape(X.shape[0], -1)


def _f(X, W, v, activation):
    return activations.get(activation).fn(X @ W.T) @ v


@pytest.mark.parametrize("activation", ["softplus", "relu"])
def test_gram_is_the_jacobian_gram_and_autograd(problem, activation):
    X, W, v = problem
    P = activations.get(activation).derivative(X @ W.T)
    J = torch.autograd.functional.jacobian(lambda w: _f(X, w, v, activation), W).reshape(6, -1)
    assert torch.allclose(pj.pattern_gram(X, P, v), J @ J.T, atol=1e-12)
    assert torch.allclose(pj.pattern_gram(X, P, v), jacobian_gram(X, W, v, activation),
                          atol=1e-12)


def test_singular_values_of_any_pattern(problem, gen):
    X, _, v = problem
    P = torch.randn(6, 9, generator=gen, dtype=torch.float64)      # e.g. a pattern difference
    sv = torch.linalg.svdvals(_explicit(X, P, v))
    s_min, s_max = pj.pattern_singular_values(X, P, v)
    assert s_min == pytest.approx(float(sv[5]), rel=1e-9)
    assert s_max == pytest.approx(float(sv[0]), rel=1e-12)


@pytest.mark.parametrize("activation", ["softplus", "relu", "quadratic"])
def test_transpose_is_the_gradient_of_the_loss(problem, gen, activation):
    X, W, v = problem
    y = torch.randn(6, generator=gen, dtype=torch.float64)
    Wg = W.clone().requires_grad_(True)
    loss = 0.5 * ((_f(X, Wg, v, activation) - y) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, Wg)
    with torch.no_grad():
        r = _f(X, W, v, activation) - y
    P = activations.get(activation).derivative(X @ W.T)
    assert torch.allclose(pj.pattern_transpose(X, P, v, r), grad, atol=1e-12)
    assert torch.allclose(pj.pattern_transpose(X, P, v, r).reshape(-1), _explicit(X, P, v).T @ r,
                          atol=1e-12)


def test_average_pattern_makes_g2_exact_and_is_the_mean_over_the_segment(problem, gen):
    X, W, v = problem
    W2 = W + 0.7 * torch.randn(9, 4, generator=gen, dtype=torch.float64)
    A = pj.relu_average_pattern(X, W, W2)
    assert bool(((A >= 0) & (A <= 1)).all())
    # (G.2): f(W') - f(W) = J(W', W) vect(W' - W), exactly
    lhs = _f(X, W2, v, "relu") - _f(X, W, v, "relu")
    rhs = _explicit(X, A, v) @ (W2 - W).reshape(-1)
    assert torch.allclose(lhs, rhs, atol=1e-12)
    # the average of the patterns along the segment (midpoint rule, 20000 points)
    t = (torch.arange(20000, dtype=torch.float64) + 0.5) / 20000
    Z = X @ W.T + t[:, None, None] * (X @ (W2 - W).T)
    assert torch.allclose(A, (Z > 0).to(Z.dtype).mean(0), atol=1e-3)
    # an empty segment gives the pattern itself
    assert torch.equal(pj.relu_average_pattern(X, W, W.clone()), (X @ W.T > 0).double())


def test_bad_inputs(problem):
    X, W, v = problem
    P = torch.ones(6, 9, dtype=torch.float64)
    with pytest.raises(ValueError, match="P must have shape"):
        pj.pattern_gram(X, P[:5], v)
    with pytest.raises(ValueError, match="v must have shape"):
        pj.pattern_singular_values(X, P, v[:3])
    with pytest.raises(ValueError, match="r must have shape"):
        pj.pattern_transpose(X, P, v, torch.zeros(5, dtype=torch.float64))
    with pytest.raises(ValueError, match="W_next must have shape"):
        pj.relu_average_pattern(X, W, W[:3])
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        pj.pattern_gram(X.numpy(), P, v)
