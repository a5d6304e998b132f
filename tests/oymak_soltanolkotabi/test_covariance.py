"""Tests for helpers.oymak_soltanolkotabi (Oymak & Soltanolkotabi, Definitions 3.1 and 6.1)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import torch

from helpers import activations, data, gradients, models
from helpers.oymak_soltanolkotabi import _covariance as nc
from helpers.rng import make_generator


@pytest.fixture
def X(gen):
    return data.sphere(12, 4, generator=gen)


def test_docstring_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(nc, nc.__name__)
    assert sum(len(t.examples) for t in tests) > 0
    for t in tests:
        runner.run(t)
    assert runner.summarize(verbose=False).failed == 0


# ------------------------------------------------------------------ activations and Hermite
def test_relu_hermite_closed_forms():
    mu_d = nc.hermite_coefficients("relu", 5, derivative=True)
    expected = [0.5, 1 / math.sqrt(2 * math.pi), 0.0, -1 / math.sqrt(12 * math.pi), 0.0,
                3 / math.sqrt(2 * math.pi) / math.sqrt(120)]
    assert torch.allclose(mu_d, torch.tensor(expected, dtype=torch.float64), atol=1e-14)
    mu = nc.hermite_coefficients("relu", 4)
    assert torch.allclose(mu, torch.tensor([1 / math.sqrt(2 * math.pi), 0.5,
                                            1 / (2 * math.sqrt(math.pi)), 0.0,
                                            -1 / math.sqrt(2 * math.pi) / math.sqrt(24)],
                                           dtype=torch.float64), atol=1e-14)


def test_relu_hermite_matches_quadrature_of_smooth_identity():
    # mu_r(relu) = mu_{r-1}(step) / sqrt(r) for r >= 1 (integration by parts / Stein)
    mu = nc.hermite_coefficients("relu", 10)
    mu_d = nc.hermite_coefficients("relu", 10, derivative=True)
    r = torch.arange(1, 11, dtype=torch.float64)
    assert torch.allclose(mu[1:], mu_d[:-1] / r.sqrt(), atol=1e-14)


def test_softplus_parseval_and_stein():
    c = nc.activation_constants("softplus")
    mu_d = nc.hermite_coefficients("softplus", 120, derivative=True)
    assert float((mu_d**2).sum()) == pytest.approx(c.dphi_second_moment, abs=1e-12)
    # Stein: E[g phi'(g)] = E[phi''(g)] = E[s(1-s)]
    x, w = np.polynomial.hermite_e.hermegauss(300)
    s = 1 / (1 + np.exp(-x))
    assert c.mu == pytest.approx(float((w / w.sum()) @ (s * (1 - s))), abs=1e-12)
    assert c.mu == pytest.approx(0.206621, abs=1e-6)          # the paper's "approx 0.207"
    mu = nc.hermite_coefficients("softplus", 120)
    assert float((mu[1:] ** 2).sum()) == pytest.approx(c.phi_variance, abs=1e-10)
    assert float(mu[0]) == pytest.approx(c.phi_mean, abs=1e-12)


def test_relu_constants():
    c = nc.activation_constants("relu")
    assert c.mu == pytest.approx(1 / math.sqrt(2 * math.pi))
    assert c.gamma == pytest.approx(1 / (2 * math.sqrt(math.pi)))
    assert c.phi_variance == pytest.approx(0.5 - 1 / (2 * math.pi))


# ------------------------------------------------------------------ covariance matrices
@pytest.mark.parametrize("activation", ["softplus", "quadratic"])
def test_hermite_equals_quadrature(X, activation):
    for f in (nc.nn_covariance, nc.output_covariance):
        a = f(X, activation, method="hermite")
        b = f(X, activation, method="quadrature", nodes=48)
        assert torch.allclose(a, b, atol=1e-10)


def test_quadratic_closed_forms(X):
    G = X @ X.T
    assert torch.allclose(nc.nn_covariance(X, "quadratic"), G * G, atol=1e-14)
    assert torch.allclose(nc.nn_covariance(X, "quadratic"),
                          nc.hadamard_power_gram(X, 2), atol=1e-14)
    assert torch.allclose(nc.output_covariance(X, "quadratic"),
                          nc.output_covariance(X, "quadratic", method="hermite"), atol=1e-14)


def test_relu_hermite_series_converges_to_closed_form(X):
    # off the diagonal |rho| < 1 the step's series converges geometrically
    closed = nc.nn_covariance(X, "relu")
    series = nc.nn_covariance(X, "relu", method="hermite", order=400)
    off = ~torch.eye(X.shape[0], dtype=torch.bool)
    assert torch.allclose(closed[off], series[off], atol=2e-3)


@pytest.mark.parametrize("activation", ["relu", "softplus"])
def test_monte_carlo_agrees_within_five_sigma(X, gen, activation):
    samples = 40000
    S = nc.nn_covariance(X, activation)
    mc = nc.monte_carlo_nn_covariance(X, activation, samples=samples, generator=gen)
    # each entry is a mean of terms bounded by 1 in absolute value: sd <= 1/sqrt(samples)
    assert float((mc - S).abs().max()) < 5 / math.sqrt(samples)
    T = nc.output_covariance(X, activation)
    mc = nc.monte_carlo_output_covariance(X, activation, samples=samples, generator=gen)
    # phi(u) phi(v) has variance <= E phi^4 <= 3 + 8 E|g|... ; 10 / sqrt(samples) is > 5 sd
    assert float((mc - T).abs().max()) < 10 / math.sqrt(samples)


@pytest.mark.parametrize("activation", ["relu", "softplus"])
def test_sigma_psd_with_known_diagonal(X, activation):
    S = nc.nn_covariance(X, activation)
    c = nc.activation_constants(activation)
    assert torch.allclose(S.diagonal(), torch.full((X.shape[0],), c.dphi_second_moment,
                                                   dtype=torch.float64), atol=1e-10)
    assert torch.allclose(S, S.T)
    assert nc.min_eigenvalue(S) > 0
    assert nc.min_eigenvalue(S) <= c.dphi_second_moment          # eq. (6.16)


@pytest.mark.parametrize("activation", ["relu", "softplus"])
def test_lemma_6_4_lower_bound(gen, activation):
    X = data.sphere(20, 8, generator=gen)         # n = 20 < d(d+1)/2 = 36
    c = nc.activation_constants(activation)
    S = nc.nn_covariance(X, activation)
    G = X @ X.T
    M = (c.mu_tilde**2 + c.mu**2 * G) * G
    assert nc.min_eigenvalue(S - M) > -1e-10                           # (6.4), first ⪰
    lam = nc.min_eigenvalue(S)
    assert lam >= c.mu**2 * nc.khatri_rao_sigma_min(X, 2) ** 2 - 1e-12   # (6.5)


def test_pattern_covariance_and_sigma_relu(X):
    P = nc.pattern_covariance(X)
    assert torch.allclose(P * (X @ X.T), nc.nn_covariance(X, "relu"), atol=1e-14)


# ------------------------------------------------------------------ Jacobians
class _Net(torch.nn.Module):
    def __init__(self, W, v, phi):
        super().__init__()
        self.W = torch.nn.Parameter(W.clone())
        self.register_buffer("v", v)
        self.phi = phi

    def forward(self, X):
        return self.phi(X @ self.W.T) @ self.v


@pytest.mark.parametrize("activation", ["softplus", "relu", "quadratic"])
def test_jacobian_gram_matches_autograd(X, gen, activation):
    k = 7
    W = torch.randn(k, X.shape[1], generator=gen, dtype=torch.float64)
    v = torch.randn(k, generator=gen, dtype=torch.float64)
    net = _Net(W, v, activations.get(activation).fn)
    J = gradients.jacobian(net, X)[:, 0, :]                     # (n, k d), rows vect(.)
    assert torch.allclose(J @ J.T, nc.jacobian_gram(X, W, v, activation), atol=1e-12)


@pytest.mark.skipif(not hasattr(models, "TwoLayerNet"), reason="helpers.models not written yet")
def test_jacobian_gram_matches_two_layer_net(X, gen):
    net = models.TwoLayerNet(X.shape[1], 9, generator=gen, variant="oymak",
                             activation="softplus", dtype=torch.float64)
    W = net.hidden_weights.detach()
    v = net.output_weights.detach().reshape(-1)
    K = gradients.ntk_gram(net, X)
    assert torch.allclose(K, nc.jacobian_gram(X, W, v, "softplus"), atol=1e-10)


def test_monte_carlo_is_deterministic(X):
    a = nc.monte_carlo_nn_covariance(X, "relu", samples=50, generator=make_generator(3))
    b = nc.monte_carlo_nn_covariance(X, "relu", samples=50, generator=make_generator(3))
    assert torch.equal(a, b)


# ------------------------------------------------------------------ Khatri-Rao
def test_khatri_rao_gram_identity(gen):
    A = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    B = torch.randn(5, 4, generator=gen, dtype=torch.float64)
    KR = nc.khatri_rao(A, B)
    assert KR.shape == (5, 12)
    assert torch.allclose(KR @ KR.T, (A @ A.T) * (B @ B.T), atol=1e-12)
    X = data.sphere(5, 3, generator=gen)
    X3 = nc.khatri_rao(nc.khatri_rao(X, X), X)
    assert torch.allclose(X3 @ X3.T, nc.hadamard_power_gram(X, 3), atol=1e-12)
    assert torch.allclose(nc.hadamard_power_gram(X, 0), torch.ones(5, 5, dtype=torch.float64))


def test_khatri_rao_rank_collapse(gen):
    d = 3
    X = data.sphere(d * (d + 1) // 2 + 1, d, generator=gen)       # n = 7 > 6
    assert nc.khatri_rao_sigma_min(X, 2) < 1e-6
    X = data.sphere(d * (d + 1) // 2, d, generator=gen)           # n = 6: generically > 0
    assert nc.khatri_rao_sigma_min(X, 2) > 1e-3
    Xkr = nc.khatri_rao(X, X)
    sv = torch.linalg.svdvals(Xkr)
    assert nc.khatri_rao_sigma_min(X, 2) == pytest.approx(float(sv[-1]), rel=1e-8)


# ------------------------------------------------------------------ bad inputs
def test_bad_inputs(X, gen):
    with pytest.raises(ValueError, match="activation must be one of"):
        nc.nn_covariance(torch.eye(2, dtype=torch.float64), "tanh")   # no closed-form kernel
    with pytest.raises(ValueError, match="order must be"):
        nc.hermite_coefficients("relu", -1)
    with pytest.raises(ValueError, match="nodes must be"):
        nc.hermite_coefficients("softplus", 50, nodes=10)
    with pytest.raises(TypeError, match="dtype"):
        nc.hermite_coefficients("relu", 2, dtype=torch.int64)
    with pytest.raises(ValueError, match="activation"):
        nc.activation_constants("sigmoid")
    with pytest.raises(ValueError, match="unit-norm rows"):
        nc.nn_covariance(2 * X, "relu")
    with pytest.raises(ValueError, match="method='closed'"):
        nc.nn_covariance(X, "softplus", method="closed")
    with pytest.raises(ValueError, match="method must be one of"):
        nc.output_covariance(X, "relu", method="exact")
    with pytest.raises(ValueError, match="X must have 2 dimensions"):
        nc.pattern_covariance(X[0])
    with pytest.raises(ValueError, match="S must be square"):
        nc.min_eigenvalue(X)
    with pytest.raises(ValueError, match="W must have shape"):
        nc.jacobian_gram(X, torch.zeros(3, 5, dtype=torch.float64),
                         torch.zeros(3, dtype=torch.float64), "relu")
    with pytest.raises(ValueError, match="samples must be"):
        nc.monte_carlo_nn_covariance(X, "relu", samples=0, generator=gen)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        nc.monte_carlo_output_covariance(X, "relu", samples=5, generator=0)
    with pytest.raises(ValueError, match="same number of rows"):
        nc.khatri_rao(X, X[:3])
    with pytest.raises(ValueError, match="r must be"):
        nc.hadamard_power_gram(X, -1)
    with pytest.raises(TypeError, match="r must be an integer"):
        nc.khatri_rao_sigma_min(X, 1.5)
