"""Tests for helpers.gradient_confusion: definitions, exact identities, exhaustive enumeration."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from helpers.gradient_confusion import (
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
from helpers.losses import cross_entropy, squared_loss
from helpers.rng import make_generator

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


# --------------------------------------------------------------------------- minibatch_gradients

def _tiny_net():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).to(D)


def _tiny_data(gen, n=5):
    return (torch.randn(n, 3, generator=gen, dtype=D), torch.randn(n, generator=gen, dtype=D))


def test_minibatch_gradients_are_means_of_distinct_examples(gen):
    from helpers.gradient_confusion import minibatch_gradients
    model = _tiny_net()
    X, y = _tiny_data(gen)
    g = per_example_gradients(model, squared_loss, X, y)          # autograd oracle (vmap)
    G = minibatch_gradients(model, squared_loss, X, y, batch_size=2, num_batches=30,
                            generator=make_generator(1))
    assert G.shape == (30, g.shape[1]) and G.dtype == D
    pairs = list(itertools.combinations(range(5), 2))
    means = torch.stack([(g[i] + g[j]) / 2 for i, j in pairs])   # all subsets of 2 distinct
    dist = (G[:, None, :] - means[None, :, :]).norm(dim=2)
    # every row is the mean over exactly one subset of two distinct examples
    assert bool(((dist < 1e-12).sum(1) == 1).all())
    # batch_size = n: every minibatch is the whole set, the row is the full gradient
    full = minibatch_gradients(model, squared_loss, X, y, batch_size=5, num_batches=3,
                               generator=make_generator(1))
    torch.testing.assert_close(full, flat_gradient(model, squared_loss, X, y).expand(3, -1),
                               rtol=1e-12, atol=1e-14)
    assert all(p.grad is None for p in model.parameters())


def test_minibatch_gradients_draw_examples_uniformly_and_independently():
    from helpers.gradient_confusion import minibatch_gradients
    model = nn.Linear(4, 1, bias=False).to(D)
    with torch.no_grad():
        model.weight.zero_()
    X, y = torch.eye(4, dtype=D), torch.ones(4, dtype=D)   # gradient of example i is -e_i
    k = 1000
    G = minibatch_gradients(model, squared_loss, X, y, batch_size=1, num_batches=k,
                            generator=make_generator(2))
    idx = (-G).argmax(1)
    counts = torch.bincount(idx, minlength=4).to(D)
    # each count ~ Binomial(1000, 1/4): sd = sqrt(1000 * 3/16) = 13.7; 5 sd = 68
    assert bool(((counts - k / 4).abs() < 68).all()), counts
    # consecutive draws independent: P(same example) = 1/4, sd of the frequency 0.0137
    same = float((idx[1:] == idx[:-1]).to(D).mean())
    assert abs(same - 0.25) < 5 * (0.25 * 0.75 / (k - 1)) ** 0.5


def test_minibatch_gradients_batch_norm_train_mode_and_buffers_restored(gen):
    from helpers.gradient_confusion import minibatch_gradients
    from helpers.models import SmallCNN
    model = SmallCNN(1, 3, generator=make_generator(3), width=3, depth=2, batch_norm=True,
                     dtype=D)
    X = torch.randn(6, 1, 8, 8, generator=gen, dtype=D)
    y = torch.randint(0, 3, (6,), generator=gen)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    G = minibatch_gradients(model, cross_entropy, X, y, batch_size=6, num_batches=2,
                            generator=make_generator(4))
    assert model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k               # running stats, num_batches_tracked
    assert all(p.grad is None for p in model.parameters())
    # oracle: autograd of the mean loss in train mode (batch statistics of the minibatch)
    loss = cross_entropy(model(X), y).mean()
    ref = torch.cat([t.reshape(-1) for t in torch.autograd.grad(loss, list(model.parameters()))])
    torch.testing.assert_close(G, ref.expand(2, -1), rtol=1e-9, atol=1e-12)
    # ... which differs from the eval-mode gradient (running statistics)
    model.eval()
    G_eval = minibatch_gradients(model, cross_entropy, X, y, batch_size=6, num_batches=1,
                                 generator=make_generator(4))
    assert float((G_eval[0] - ref).norm()) > 1e-3 * float(ref.norm())


def test_minibatch_gradients_deterministic(gen):
    from helpers.gradient_confusion import minibatch_gradients
    model = _tiny_net()
    X, y = _tiny_data(gen, n=8)
    a = minibatch_gradients(model, squared_loss, X, y, batch_size=3, num_batches=6,
                            generator=make_generator(5))
    b = minibatch_gradients(model, squared_loss, X, y, batch_size=3, num_batches=6,
                            generator=make_generator(5))
    c = minibatch_gradients(model, squared_loss, X, y, batch_size=3, num_batches=6,
                            generator=make_generator(6))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_minibatch_gradients_bad_inputs(gen):
    from helpers.gradient_confusion import minibatch_gradients
    model = _tiny_net()
    X, y = _tiny_data(gen)
    g = make_generator(0)
    kw = {"batch_size": 2, "num_batches": 3, "generator": g}
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        minibatch_gradients(lambda x: x, squared_loss, X, y, **kw)
    with pytest.raises(TypeError, match="loss_fn"):
        minibatch_gradients(model, "mse", X, y, **kw)
    with pytest.raises(TypeError, match="X must have a floating dtype"):
        minibatch_gradients(model, squared_loss, X.long(), y, **kw)
    with pytest.raises(TypeError, match="X has dtype"):
        minibatch_gradients(model, squared_loss, X.float(), y, **kw)
    with pytest.raises(ValueError, match="same number of rows"):
        minibatch_gradients(model, squared_loss, X, y[:4], **kw)
    with pytest.raises(ValueError, match="batch_size must be an integer <= 5"):
        minibatch_gradients(model, squared_loss, X, y, batch_size=6, num_batches=3, generator=g)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        minibatch_gradients(model, squared_loss, X, y, batch_size=0, num_batches=3, generator=g)
    with pytest.raises(TypeError, match="num_batches must be an integer"):
        minibatch_gradients(model, squared_loss, X, y, batch_size=2, num_batches=2.0,
                            generator=g)
    with pytest.raises(ValueError, match="num_batches must be an integer >= 1"):
        minibatch_gradients(model, squared_loss, X, y, batch_size=2, num_batches=0, generator=g)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        minibatch_gradients(model, squared_loss, X, y, batch_size=2, num_batches=3, generator=0)
    with pytest.raises(ValueError, match="one loss per example"):
        minibatch_gradients(model, lambda o, t: squared_loss(o, t).mean(), X, y, **kw)
    with pytest.raises(ValueError, match="active dropout"):
        minibatch_gradients(nn.Sequential(nn.Linear(3, 1), nn.Dropout(0.5)).to(D),
                            squared_loss, X, y, **kw)
    frozen = _tiny_net().requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        minibatch_gradients(frozen, squared_loss, X, y, **kw)


def test_minibatch_gradients_restores_buffers_on_error(gen):
    from helpers.gradient_confusion import minibatch_gradients
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Linear(2, 1)).to(D)
    X, y = _tiny_data(gen)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match="one loss per example"):
        minibatch_gradients(model, lambda o, t: o.sum(), X, y, batch_size=3, num_batches=2,
                            generator=make_generator(0))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
