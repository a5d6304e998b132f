"""Tests for helpers.confusion: definitions, exact identities, exhaustive enumeration."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from helpers.confusion import (
    average_confusion_bound,
    confusion_bound,
    gradient_variance,
    minibatch_gradient_variance,
    minibatch_gram,
    minibatch_inner_product_variance,
    normalized_confusion_bound,
    pairwise_summary,
)
from helpers.gradients import flat_gradient, gradient_gram, per_example_gradients
from helpers.losses import squared_loss

D = torch.float64


def grads(gen, n=5, p=4, shift=0.0):
    return torch.randn(n, p, generator=gen, dtype=D) + shift


def test_confusion_bound_is_smallest_eta_of_definition_2_1(gen):
    g = grads(gen, n=6)
    G = g @ g.T
    eta = confusion_bound(G)
    pairs = [float(g[i] @ g[j]) for i in range(6) for j in range(6) if i != j]
    assert eta == pytest.approx(max(0.0, -min(pairs)), abs=1e-14)
    assert all(h >= -eta - 1e-14 for h in pairs)
    assert any(h < -(eta - 1e-9) for h in pairs) or eta == 0.0
    positive = torch.abs(g)
    assert confusion_bound(positive @ positive.T) == 0.0


def test_pairwise_identity_with_independent_pieces(gen):
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(D)
    X = torch.randn(7, 3, generator=gen, dtype=D)
    y = torch.randn(7, generator=gen, dtype=D)
    G = gradient_gram(model, squared_loss, X, y)
    g = per_example_gradients(model, squared_loss, X, y)
    full = flat_gradient(model, squared_loss, X, y)
    s = pairwise_summary(G)
    n = 7
    sigma2 = float(((g - full) ** 2).sum(1).mean())
    sq = float((g**2).sum(1).sum())
    assert s.full_grad_sq_norm == pytest.approx(float(full @ full), rel=1e-12)
    assert s.gradient_variance == pytest.approx(sigma2, rel=1e-11)
    assert s.mean_sq_norm == pytest.approx(sq / n, rel=1e-12)
    assert s.mean_inner == pytest.approx((n**2 * float(full @ full) - sq) / (n * (n - 1)),
                                         rel=1e-10, abs=1e-14)
    assert s.mean_inner == pytest.approx(float(full @ full) - sigma2 / (n - 1), rel=1e-10,
                                         abs=1e-14)
    assert s.mean_inner_identity == pytest.approx(s.mean_inner, rel=1e-10, abs=1e-14)
    assert gradient_variance(G) == pytest.approx(sigma2, rel=1e-11)
    assert s.confusion == confusion_bound(G)
    assert s.normalized_confusion == normalized_confusion_bound(G)
    assert -1 <= s.min_cosine <= s.mean_cosine <= 1


def test_stationary_point_has_negative_mean_inner_product(gen):
    g = grads(gen, n=6)
    g = g - g.mean(0)            # nabla F = 0
    s = pairwise_summary(g @ g.T)
    assert s.mean_inner == pytest.approx(-s.gradient_variance / 5, rel=1e-12)
    assert s.mean_inner < 0


def test_two_example_bound_of_section_9(gen):
    g = grads(gen, n=2)
    s = pairwise_summary(g @ g.T)
    assert abs(float(g[0] @ g[1])) <= s.gradient_variance + s.full_grad_sq_norm + 1e-12
    assert s.confusion <= s.gradient_variance + 1e-12


def test_average_and_normalized_variants(gen):
    g = grads(gen, n=5)
    G = g @ g.T
    off = G[~torch.eye(5, dtype=torch.bool)]
    assert average_confusion_bound(G) == pytest.approx(max(0.0, -float(off.mean())), abs=1e-14)
    assert average_confusion_bound(G, include_diagonal=True) == 0.0   # ||grad F||^2 >= 0
    u = torch.nn.functional.normalize(g, dim=1)
    cos = (u @ u.T)[~torch.eye(5, dtype=torch.bool)]
    assert normalized_confusion_bound(G) == pytest.approx(max(0.0, -float(cos.min())), abs=1e-14)
    scale = torch.tensor([1e-3, 1.0, 10.0, 2.0, 0.5], dtype=D)
    assert normalized_confusion_bound(scale[:, None] * G * scale) == pytest.approx(
        normalized_confusion_bound(G), abs=1e-13)


@pytest.mark.parametrize("replace", [False, True])
@pytest.mark.parametrize("b", [1, 2, 3])
def test_minibatch_variances_by_exhaustive_enumeration(gen, replace, b):
    n = 5
    g = grads(gen, n=n, p=3, shift=0.7)
    G = g @ g.T
    mu = g.mean(0)
    if replace:
        batches = list(itertools.product(range(n), repeat=b))
    else:
        batches = list(itertools.combinations(range(n), b))
    means = torch.stack([g[list(s)].mean(0) for s in batches])
    var = float(((means - mu) ** 2).sum(1).mean())
    assert minibatch_gradient_variance(G, b, replace=replace) == pytest.approx(var, rel=1e-12,
                                                                               abs=1e-15)
    inner = means @ means.T     # all pairs of independent minibatches, equally likely
    var_inner = float(inner.var(unbiased=False))
    assert minibatch_inner_product_variance(G, b, replace=replace) == pytest.approx(
        var_inner, rel=1e-10, abs=1e-14)


def test_minibatch_variance_extremes(gen):
    g = grads(gen, n=4)
    G = g @ g.T
    assert minibatch_gradient_variance(G, 4) == pytest.approx(0.0, abs=1e-13)
    assert minibatch_gradient_variance(G, 1) == pytest.approx(gradient_variance(G), rel=1e-12)


def test_minibatch_gram_matches_explicit_means(gen):
    g = grads(gen, n=6)
    batches = torch.tensor([[0, 1, 2], [3, 4, 5], [0, 0, 5]])
    means = torch.stack([g[b].mean(0) for b in batches])
    torch.testing.assert_close(minibatch_gram(g @ g.T, batches), means @ means.T,
                               rtol=1e-12, atol=1e-13)


def test_deterministic(gen):
    g = grads(gen, n=5)
    assert pairwise_summary(g @ g.T) == pairwise_summary(g @ g.T)


# --------------------------------------------------------------------------- bad inputs


def test_bad_inputs():
    one = torch.ones(1, 1, dtype=D)
    G = torch.eye(3, dtype=D)
    with pytest.raises(ValueError, match="at least 2 examples"):
        confusion_bound(one)
    with pytest.raises(TypeError, match="gram must be a torch.Tensor"):
        confusion_bound([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="symmetric"):
        normalized_confusion_bound(torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=D))
    with pytest.raises(ValueError, match="eps must be >= 0"):
        normalized_confusion_bound(G, eps=-0.1)
    with pytest.raises(TypeError, match="include_diagonal must be a bool"):
        average_confusion_bound(G, include_diagonal=1)
    with pytest.raises(ValueError, match="square"):
        gradient_variance(torch.zeros(2, 3, dtype=D))
    with pytest.raises(ValueError, match="finite"):
        pairwise_summary(torch.full((2, 2), float("nan"), dtype=D))
    with pytest.raises(ValueError, match="batch_size must be an integer <= 3"):
        minibatch_gradient_variance(G, 4)
    with pytest.raises(TypeError, match="replace must be a bool"):
        minibatch_gradient_variance(G, 2, replace="yes")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        minibatch_inner_product_variance(G, 0, replace=True)
    with pytest.raises(ValueError, match=r"indices in \[0, 2\]"):
        minibatch_gram(G, torch.tensor([[0, 3]]))
    with pytest.raises(TypeError, match="integer example indices"):
        minibatch_gram(G, torch.tensor([[0.0, 1.0]]))
    with pytest.raises(ValueError, match="batches must have 2 dimensions"):
        minibatch_gram(G, torch.tensor([0, 1]))
