"""Tests for the geometry of ReLU (Lemmas A.2, A.3): closed forms, exact probabilities,
optimality of the worst error profile, bad inputs."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.li_liang import (
    cancelling_triple,
    pattern_sum,
    pseudo_gradient,
    relu_network,
    worst_error_profile,
)


def test_pattern_sum_matches_definition_and_pseudo_gradient(gen):
    n, d, m, k = 6, 4, 9, 3
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    W = torch.randn(m, d, generator=gen, dtype=torch.float64)
    C = torch.randn(k, n, generator=gen, dtype=torch.float64)
    P = pattern_sum(W, X, C)
    for q in range(k):
        for r in range(m):
            expected = sum(C[q, j] * float(W[r] @ X[j] >= 0) * X[j] for j in range(n))
            torch.testing.assert_close(P[q, r], expected)
    torch.testing.assert_close(pattern_sum(W, X, C[1]), P[1])
    # the pseudo-gradient is -sum_q a_q P_q with C = p v (the simplified case)
    a = torch.randn(k, m, generator=gen, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=gen)
    from helpers.li_liang import error_coefficients
    p = torch.full((n,), 1 / n, dtype=torch.float64)
    W1 = W + 0.1 * torch.randn(m, d, generator=gen, dtype=torch.float64)
    C = (p[:, None] * error_coefficients(relu_network(W1, a, X), y)).T
    torch.testing.assert_close(pseudo_gradient(W1, W, a, X, y),
                               -torch.einsum("qr,qrd->rd", a, pattern_sum(W, X, C)))


def test_pattern_sum_is_scale_invariant_in_w(gen):
    X = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    W = torch.randn(7, 3, generator=gen, dtype=torch.float64)
    c = torch.randn(5, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(pattern_sum(W, X, c), pattern_sum(0.01 * W, X, c))


@pytest.mark.parametrize("delta", [0.05, 0.3, 0.9])
def test_cancelling_triple_geometry_and_exact_law(gen, delta):
    X, c = cancelling_triple(delta, 5, v=2.0)
    assert torch.allclose(X.norm(dim=1), torch.ones(3, dtype=torch.float64))
    assert math.isclose((X[0] - X[1]).norm().item(), delta, rel_tol=1e-12)
    assert math.isclose((X[0] - X[2]).norm().item(), delta, rel_tol=1e-12)
    assert float(c[0]) == 2.0 and bool((c[1:] < 0).all()) and bool((c.abs() <= 2.0).all())
    torch.testing.assert_close(c[0] * X[0], -(c[1] * X[1] + c[2] * X[2]))   # all active: 0
    W = torch.randn(200_000, 5, generator=gen, dtype=torch.float64)
    norms = pattern_sum(W, X, c).norm(dim=1)
    nonzero = norms > 1e-9
    assert bool((norms[nonzero] >= 1.0 - 1e-12).all())        # >= v/2 whenever nonzero
    assert bool((norms <= 2.0 + 1e-12).all())
    theta = 2 * math.asin(delta / 2)
    p = nonzero.double().mean().item()
    assert abs(p - 2 * theta / math.pi) < 4 * math.sqrt(p * (1 - p) / W.shape[0]) + 1e-4


def test_worst_error_profile_is_optimal_and_feasible(gen):
    n, d, m, k = 4, 3, 30, 2
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    W0 = torch.randn(m, d, generator=gen, dtype=torch.float64)
    a = torch.randn(k, m, generator=gen, dtype=torch.float64)
    worst = worst_error_profile(X, W0, a, v=0.5)
    C = worst.profile
    assert C.shape == (k, n) and float(C.abs().max()) <= 0.5 + 1e-9
    assert math.isclose(float(C.max()), 0.5, rel_tol=1e-9)             # one entry pinned at v
    # value = mean squared norm of the pseudo-gradient rows under C
    assert math.isclose(worst.value, float((worst.norms ** 2).mean()), rel_tol=1e-6)
    P = pattern_sum(W0, X, C)
    torch.testing.assert_close(worst.norms, torch.einsum("qr,qrd->rd", a, P).norm(dim=1))
    # no random feasible profile does better
    for _ in range(200):
        Z = 0.5 * (2 * torch.rand(k, n, generator=gen, dtype=torch.float64) - 1)
        Z.view(-1)[int(torch.randint(0, k * n, (1,), generator=gen))] = 0.5
        norms = torch.einsum("qr,qrd->rd", a, pattern_sum(W0, X, Z)).norm(dim=1)
        assert float((norms ** 2).mean()) >= worst.value - 1e-9


def test_worst_error_profile_scales_quadratically_in_v(gen):
    X = torch.eye(3, dtype=torch.float64)
    W0 = torch.randn(12, 3, generator=gen, dtype=torch.float64)
    a = torch.randn(2, 12, generator=gen, dtype=torch.float64)
    one = worst_error_profile(X, W0, a, v=1.0).value
    assert math.isclose(worst_error_profile(X, W0, a, v=0.1).value, 0.01 * one, rel_tol=1e-5)


def test_geometry_bad_inputs(gen):
    X = torch.randn(3, 2, generator=gen, dtype=torch.float64)
    W = torch.randn(4, 2, generator=gen, dtype=torch.float64)
    with pytest.raises(ValueError, match="X must have 2 columns"):
        pattern_sum(W, torch.ones(3, 5, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="coefficients must have 3 entries"):
        pattern_sum(W, X, torch.ones(4, dtype=torch.float64))
    with pytest.raises(TypeError, match="W must be a torch.Tensor"):
        pattern_sum(W.numpy(), X, torch.ones(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="delta must be < 1.0"):
        cancelling_triple(1.5, 3)
    with pytest.raises(ValueError, match="d must be an integer >= 2"):
        cancelling_triple(0.1, 1)
    with pytest.raises(ValueError, match="a must have shape"):
        worst_error_profile(X, W, torch.ones(2, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="v must be > 0"):
        worst_error_profile(X, W, torch.ones(2, 4, dtype=torch.float64), v=0.0)
