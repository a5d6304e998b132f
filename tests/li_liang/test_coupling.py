"""Tests for helpers.li_liang: autograd as oracle, exact invariants, determinism, bad inputs."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.li_liang import (
    WidthSweep,
    activation_pattern,
    error_coefficients,
    loss_gradient,
    mixture,
    pattern_change,
    pseudo_gradient,
    pseudo_network,
    relative_distance,
    relu_network,
    spectral_gap,
    stable_rank,
    train_widths,
    update_spectrum,
)
from helpers.rng import make_generator


def _setup(gen, n=12, d=5, m=7, k=3):
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    X = X / X.norm(dim=1, keepdim=True)
    W = torch.randn(m, d, generator=gen, dtype=torch.float64) / math.sqrt(m)
    a = torch.randn(k, m, generator=gen, dtype=torch.float64)
    y = torch.randint(0, k, (n,), generator=gen)
    return X, W, a, y


def test_relu_network_is_the_functional_form_of_two_layer_net(gen):
    """One definition of the network: the same bits as TwoLayerNet(variant="li-liang")."""
    from helpers.models import TwoLayerNet
    net = TwoLayerNet(5, 9, generator=gen, variant="li-liang", d_out=3)
    X = torch.randn(4, 5, generator=gen, dtype=torch.float64)
    out = relu_network(net.hidden_weights.detach(), net.output_weights, X)
    assert torch.equal(out, net(X).detach())


def test_pseudo_network_equals_network_at_init_and_is_linear(gen):
    X, W0, a, _ = _setup(gen)
    torch.testing.assert_close(pseudo_network(W0, W0, a, X), relu_network(W0, a, X))
    D1 = torch.randn(W0.shape, generator=gen, dtype=torch.float64)
    D2 = torch.randn(W0.shape, generator=gen, dtype=torch.float64)
    lhs = pseudo_network(2 * D1 - 3 * D2, W0, a, X)
    rhs = 2 * pseudo_network(D1, W0, a, X) - 3 * pseudo_network(D2, W0, a, X)
    torch.testing.assert_close(lhs, rhs)


def test_pseudo_network_equals_network_when_patterns_unchanged(gen):
    X, W0, a, _ = _setup(gen)
    W = W0 + 1e-9 * torch.randn(W0.shape, generator=gen, dtype=torch.float64)
    assert pattern_change(W0, W, X) == 0.0
    torch.testing.assert_close(pseudo_network(W, W0, a, X), relu_network(W, a, X))


def test_error_coefficients_properties(gen):
    out = torch.randn(20, 4, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (20,), generator=gen)
    v = error_coefficients(out, y)
    torch.testing.assert_close(v.sum(1), torch.zeros(20, dtype=torch.float64))
    vy = v[torch.arange(20), y]
    assert bool(((vy >= 0) & (vy <= 1)).all())
    assert bool((v.abs() <= vy[:, None] + 1e-15).all())   # |v_s| <= v_y (the class entry)


def test_loss_gradient_matches_autograd(gen):
    X, W, a, y = _setup(gen)
    p = torch.rand(X.shape[0], generator=gen, dtype=torch.float64)
    Wg = W.clone().requires_grad_(True)
    loss = (p * torch.nn.functional.cross_entropy(torch.relu(X @ Wg.T) @ a.T, y,
                                                   reduction="none")).sum()
    loss.backward()
    torch.testing.assert_close(loss_gradient(W, a, X, y, weights=p), Wg.grad)
    # default weights are 1/n: the gradient of the mean loss
    Wg.grad = None
    torch.nn.functional.cross_entropy(torch.relu(X @ Wg.T) @ a.T, y).backward()
    torch.testing.assert_close(loss_gradient(W, a, X, y), Wg.grad)


def test_loss_gradient_is_eq1(gen):
    """The paper's eq. (1), coefficient written with the sums over i != y."""
    X, W, a, y = _setup(gen, n=1)
    o = torch.softmax(torch.relu(X @ W.T) @ a.T, dim=1)[0]
    yy = int(y[0])
    others = [i for i in range(a.shape[0]) if i != yy]
    coeff = sum(a[i] * o[i] for i in others) - a[yy] * sum(o[i] for i in others)
    expected = (coeff * (X[0] @ W.T >= 0))[:, None] * X[0][None, :]
    torch.testing.assert_close(loss_gradient(W, a, X, y), expected)


def test_pseudo_gradient_sign_convention(gen):
    """Pseudo-gradient = -sum_i a_{i,r} P_{i,r} (the paper's App. A writes +)."""
    X, W0, a, y = _setup(gen)
    W = W0 + 0.3 * torch.randn(W0.shape, generator=gen, dtype=torch.float64)
    p = torch.full((X.shape[0],), 1.0 / X.shape[0], dtype=torch.float64)
    v = error_coefficients(relu_network(W, a, X), y)                      # (n, k)
    mask = activation_pattern(W0, X).double()                             # (n, m)
    P = torch.einsum("j,ji,jr,jd->ird", p, v, mask, X)                    # (k, m, d)
    expected = -torch.einsum("ir,ird->rd", a, P)
    torch.testing.assert_close(pseudo_gradient(W, W0, a, X, y), expected)


def test_pseudo_gradient_rows_agree_on_coupled_neurons(gen):
    X, W0, a, y = _setup(gen, m=40)
    W = W0 + 0.2 * torch.randn(W0.shape, generator=gen, dtype=torch.float64)
    same = (activation_pattern(W, X) == activation_pattern(W0, X)).all(dim=0)
    assert 0 < int(same.sum()) < W.shape[0]
    g, pg = loss_gradient(W, a, X, y), pseudo_gradient(W, W0, a, X, y)
    torch.testing.assert_close(g[same], pg[same])
    assert bool((g[~same] - pg[~same]).abs().sum(1).gt(0).any())
    torch.testing.assert_close(pseudo_gradient(W0, W0, a, X, y), loss_gradient(W0, a, X, y))


def test_pattern_change_variants_and_gaussian_rate(gen):
    """For a random perturbation of size s along a random direction, a pair flips with
    probability arctan(s)/pi (angle between w0 and w0 + s*sqrt-norm-matched noise)."""
    d, m, n = 30, 4000, 40
    W0 = torch.randn(m, d, generator=gen, dtype=torch.float64)
    W = W0 + torch.randn(m, d, generator=gen, dtype=torch.float64)   # angle pi/4 on average
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    frac = pattern_change(W0, W, X)
    # <w0,x>, <w0 + z, x> are bivariate normal with correlation 1/sqrt(2): P(sign differs) = 1/4
    assert abs(frac - 0.25) < 0.02                 # 1.6e5 dependent pairs; sd ~ 0.005
    assert pattern_change(W0, W, X, per="neuron") >= frac
    assert pattern_change(W0, W, X, per="input") == 1.0
    assert pattern_change(W0, W0, X, per="neuron") == 0.0


def test_relative_distance_and_spectrum(gen):
    W0 = torch.randn(6, 4, generator=gen, dtype=torch.float64)
    U = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    V = torch.randn(2, 4, generator=gen, dtype=torch.float64)
    W = W0 + U @ V
    assert math.isclose(relative_distance(W0, W), float((U @ V).norm() / W0.norm()))
    s = update_spectrum(W0, W)
    assert s.shape == (4,) and float(s[2]) < 1e-12
    assert spectral_gap(s, 2) > 1e10
    assert 1.0 <= stable_rank(s) <= 2.0 + 1e-12
    torch.testing.assert_close((s ** 2).sum(), ((U @ V) ** 2).sum())
    assert spectral_gap(torch.tensor([1.0, 0.0], dtype=torch.float64), 1) == math.inf


def _sweep(seed, **kw):
    g = make_generator(seed)
    mix = mixture(120, 15, 3, 2, generator=g, normalize=True)
    test = mixture(60, 15, 3, 2, generator=g, normalize=True, centers=mix.centers)
    args = dict(num_classes=3, lr_times_m=5.0, steps=40, batch_size=8, generator=g,
                X_test=test.X, y_test=test.y, record_steps=[0, 20, 40])
    args.update(kw)
    return mix, train_widths(mix.X, mix.y, [30, 120], **args)


def test_train_widths_equals_separate_manual_sgd():
    """Concatenated training = independent SGD per width with autograd gradients."""
    mix, run = _sweep(3)
    assert isinstance(run, WidthSweep)
    g = make_generator(3)
    mixture(120, 15, 3, 2, generator=g, normalize=True)
    mixture(60, 15, 3, 2, generator=g, normalize=True, centers=mix.centers)
    from helpers.models import TwoLayerNet
    nets = [TwoLayerNet(15, m, generator=g, variant="li-liang", d_out=3) for m in (30, 120)]
    order = torch.empty(0, dtype=torch.long)
    for _ in range(40):
        if order.numel() < 8:
            order = torch.randperm(120, generator=g)
        idx, order = order[:8], order[8:]
        for net in nets:
            net.zero_grad()
            torch.nn.functional.cross_entropy(net(mix.X[idx]), mix.y[idx]).backward()
            with torch.no_grad():
                net.hidden_weights -= 5.0 / net.width * net.hidden_weights.grad
    for net in nets:
        torch.testing.assert_close(run.final_weights[net.width], net.hidden_weights.detach())
        torch.testing.assert_close(run.output_weights[net.width], net.output_weights)
    f = run.frame
    assert list(f.columns) == ["step", "m", "loss", "train_accuracy", "test_accuracy",
                               "pattern_change", "uncoupled_neurons", "relative_distance"]
    assert f.shape[0] == 6
    start = f[f.step == 0]
    assert (start.pattern_change == 0).all() and (start.relative_distance == 0).all()
    end = f[f.step == 40].set_index("m")
    assert math.isclose(end.loc[120, "relative_distance"],
                        relative_distance(run.initial_weights[120], run.final_weights[120]))
    assert end.loc[120, "loss"] < start.set_index("m").loc[120, "loss"]


def test_train_widths_deterministic_and_loss_logk_at_init():
    _, r1 = _sweep(5)
    _, r2 = _sweep(5)
    assert r1.frame.equals(r2.frame)
    # logits at init have variance ~ 1/2 per class: loss near log k (k = 3) -> [0.8, 1.6]
    init_loss = r1.frame[r1.frame.step == 0].loss
    assert ((init_loss > 0.8) & (init_loss < 1.6)).all()


def test_bad_inputs(gen):
    X, W, a, y = _setup(gen)
    with pytest.raises(ValueError, match="X must have 5 columns"):
        relu_network(W, a, X[:, :3])
    with pytest.raises(ValueError, match="a must have shape"):
        relu_network(W, a[:, :2], X)
    with pytest.raises(ValueError, match="same shape"):
        pseudo_network(W, W[:3], a, X)
    with pytest.raises(ValueError, match=r"y must have values in \[0, 3\)"):
        error_coefficients(torch.zeros(2, 3, dtype=torch.float64), torch.tensor([0, 3]))
    with pytest.raises(TypeError, match="integer dtype"):
        loss_gradient(W, a, X, y.double())
    with pytest.raises(ValueError, match="nonnegative"):
        loss_gradient(W, a, X, y, weights=-torch.ones(X.shape[0], dtype=torch.float64))
    with pytest.raises(ValueError, match="same shape"):
        pseudo_gradient(W, W.T, a, X, y)
    with pytest.raises(TypeError, match="W must be a torch.Tensor"):
        activation_pattern(W.numpy(), X)
    with pytest.raises(ValueError, match="per must be one of"):
        pattern_change(W, W, X, per="unit")
    with pytest.raises(ValueError, match="W0 must not be zero"):
        relative_distance(torch.zeros_like(W), W)
    with pytest.raises(ValueError, match="W0 must have 2 dimensions"):
        update_spectrum(W[0], W[0])
    with pytest.raises(ValueError, match="nonnegative"):
        stable_rank(torch.tensor([1.0, -1.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="not all be zero"):
        stable_rank(torch.zeros(3, dtype=torch.float64))
    with pytest.raises(ValueError, match="index must be an integer <= 2"):
        spectral_gap(torch.ones(3, dtype=torch.float64), 3)
    base = dict(num_classes=3, lr_times_m=1.0, steps=2, batch_size=4, generator=gen)
    with pytest.raises(ValueError, match="widths must be distinct"):
        train_widths(X, y, [5, 5], **base)
    with pytest.raises(TypeError, match="widths must be a non-empty sequence"):
        train_widths(X, y, 5, **base)
    with pytest.raises(ValueError, match="batch_size must be an integer <= 12"):
        train_widths(X, y, [5], **{**base, "batch_size": 13})
    with pytest.raises(ValueError, match="lr_times_m must be > 0"):
        train_widths(X, y, [5], **{**base, "lr_times_m": 0.0})
    with pytest.raises(ValueError, match="given together"):
        train_widths(X, y, [5], X_test=X, **base)
    with pytest.raises(ValueError, match="record_steps entry must be an integer <= 2"):
        train_widths(X, y, [5], record_steps=[0, 3], **base)
    with pytest.raises(TypeError, match="torch.Generator"):
        train_widths(X, y, [5], **{**base, "generator": 0})


def test_width_sweep_at_step():
    _, run = _sweep(5)
    last = run.at_step()
    assert last.index.tolist() == [30, 120] and "step" not in last.columns
    assert last.equals(run.at_step(40))
    assert (run.at_step(0).pattern_change == 0).all()
    with pytest.raises(ValueError, match="step must be a recorded step"):
        run.at_step(7)


def test_train_widths_epochs_with_checkpoint_resumes(tmp_path):
    """Epochs mode records once per epoch; an interrupted checkpointed run ends with the
    weights of an uninterrupted one."""
    g = make_generator(8)
    mix = mixture(48, 6, 2, 2, generator=g, normalize=True)

    def run(path, **kw):
        return train_widths(mix.X, mix.y, [8, 16], num_classes=2, lr_times_m=3.0, epochs=3,
                            batch_size=8, generator=make_generator(1), checkpoint=path,
                            eval_batch_size=20, **kw)

    full = run(tmp_path / "a.ckpt")
    assert sorted(set(full.frame.step)) == [0, 6, 12, 18]
    ref = train_widths(mix.X, mix.y, [8, 16], num_classes=2, lr_times_m=3.0, steps=18,
                       batch_size=8, generator=make_generator(1), record_steps=[0, 6, 12, 18])
    for m in (8, 16):
        torch.testing.assert_close(full.final_weights[m], ref.final_weights[m])
    pd_cols = ["loss", "train_accuracy", "pattern_change", "relative_distance"]
    assert (full.frame[pd_cols] - ref.frame[pd_cols]).abs().max().max() < 1e-12
    again = run(tmp_path / "a.ckpt")                 # resumes the finished run from its file
    assert again.frame.equals(full.frame)
    for m in (8, 16):
        assert torch.equal(again.final_weights[m], full.final_weights[m])
    with pytest.raises(ValueError, match="give exactly one of steps and epochs"):
        train_widths(mix.X, mix.y, [8], num_classes=2, lr_times_m=3.0, steps=2, epochs=1,
                     batch_size=8, generator=g)
    with pytest.raises(ValueError, match="checkpoint needs epochs"):
        train_widths(mix.X, mix.y, [8], num_classes=2, lr_times_m=3.0, steps=2, batch_size=8,
                     generator=g, checkpoint=tmp_path / "b.ckpt")
