"""Tests for helpers.gradients: autograd loops as oracle, closed forms, invariants, bad inputs."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import gradients, models
from helpers.gradients import (
    cosine_matrix,
    flat_gradient,
    gradient_gram,
    jacobian,
    ntk_gram,
    per_example_gradients,
)
from helpers.losses import cross_entropy, logistic_loss, squared_loss
from helpers.rng import make_generator

D = torch.float64


def _init(model: nn.Module, gen: torch.Generator) -> nn.Module:
    model = model.to(D)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=D) * 0.7)
    return model


def mlp(gen, act=nn.Tanh, bias=True, widths=(3, 5, 4, 2)):
    layers: list[nn.Module] = []
    for k in range(len(widths) - 1):
        layers.append(nn.Linear(widths[k], widths[k + 1], bias=bias))
        if k < len(widths) - 2:
            layers.append(act())
    return _init(nn.Sequential(*layers), gen)


class LinearsMLP(nn.Module):
    """The `linears` + `activation` structure (like helpers.models' MLPs), with a 1/sqrt(m)."""

    def __init__(self, widths, gen):
        super().__init__()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.activation = torch.relu
        _init(self, gen)

    def forward(self, x):
        for k, layer in enumerate(self.linears):
            x = layer(x)
            if k < len(self.linears) - 1:
                x = self.activation(x) / x.shape[1] ** 0.5
        return x


def naive_grads(model, loss_fn, X, y):
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for i in range(X.shape[0]):
        model.zero_grad()
        loss_fn(model(X[i:i + 1]), y[i:i + 1]).sum().backward()
        rows.append(torch.cat([p.grad.reshape(-1).clone() for p in params]))
    model.zero_grad()
    return torch.stack(rows)


def data(gen, n=6, d=3, c=2, kind="squared"):
    X = torch.randn(n, d, generator=gen, dtype=D)
    if kind == "squared":
        y = torch.randn(n, c, generator=gen, dtype=D) if c > 1 else torch.randn(n, generator=gen,
                                                                                 dtype=D)
    elif kind == "logistic":
        y = torch.where(torch.rand(n, generator=gen, dtype=D) < 0.5, -1.0, 1.0).to(D)
    else:
        y = torch.randint(0, c, (n,), generator=gen)
    return X, y


LOSSES = {"squared": squared_loss, "ce": cross_entropy, "logistic": logistic_loss}


def test_per_example_gradients_match_naive_loop(gen):
    model = mlp(gen)
    X, y = data(gen)
    g = per_example_gradients(model, squared_loss, X, y)
    torch.testing.assert_close(g, naive_grads(model, squared_loss, X, y), rtol=1e-12, atol=1e-12)
    g2 = per_example_gradients(model, squared_loss, X, y, chunk_size=4)
    torch.testing.assert_close(g2, g, rtol=0, atol=1e-14)
    torch.testing.assert_close(g.mean(0), flat_gradient(model, squared_loss, X, y),
                               rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("act", [nn.Tanh, nn.ReLU, nn.Softplus, nn.GELU, nn.Sigmoid, nn.Identity])
@pytest.mark.parametrize("bias", [True, False])
def test_gram_layerwise_equals_vmap_equals_naive(gen, act, bias):
    model = mlp(gen, act=act, bias=bias)
    X, y = data(gen)
    naive = naive_grads(model, squared_loss, X, y)
    G_l = gradient_gram(model, squared_loss, X, y, method="layerwise")
    G_v = gradient_gram(model, squared_loss, X, y, method="vmap")
    torch.testing.assert_close(G_l, naive @ naive.T, rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(G_v, G_l, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("kind,c", [("ce", 3), ("squared", 1), ("logistic", 1)])
def test_gram_losses_and_linears_structure(gen, kind, c):
    model = LinearsMLP((3, 6, 5, c), gen)
    X, y = data(gen, c=c, kind=kind)
    naive = naive_grads(model, LOSSES[kind], X, y)
    G_a = gradient_gram(model, LOSSES[kind], X, y)          # auto -> layerwise
    G_v = gradient_gram(model, LOSSES[kind], X, y, method="vmap")
    torch.testing.assert_close(G_a, naive @ naive.T, rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(G_v, G_a, rtol=1e-11, atol=1e-12)


def test_frozen_layers_are_excluded(gen):
    model = mlp(gen, act=nn.ReLU)
    model[0].weight.requires_grad_(False)
    model[0].bias.requires_grad_(False)
    model[2].bias.requires_grad_(False)
    X, y = data(gen)
    p = sum(q.numel() for q in model.parameters() if q.requires_grad)
    g = per_example_gradients(model, squared_loss, X, y)
    assert g.shape == (6, p)
    naive = naive_grads(model, squared_loss, X, y)
    torch.testing.assert_close(g, naive, rtol=1e-12, atol=1e-13)
    for method in ("layerwise", "vmap"):
        torch.testing.assert_close(gradient_gram(model, squared_loss, X, y, method=method),
                                   naive @ naive.T, rtol=1e-11, atol=1e-12)
    assert flat_gradient(model, squared_loss, X, y).shape == (p,)


def test_chunked_vmap_with_tiny_memory_equals_unchunked(gen):
    model = mlp(gen)
    X, y = data(gen, n=7)
    full = gradient_gram(model, squared_loss, X, y, method="vmap")
    for budget, chunk in [(1, None), (3 * 8 * 50, 2), (10**9, 3)]:
        G = gradient_gram(model, squared_loss, X, y, method="vmap", max_memory_bytes=budget,
                          chunk_size=chunk)
        torch.testing.assert_close(G, full, rtol=1e-12, atol=1e-13)


def tiny_cnn(gen, bn=False):
    layers = [nn.Conv2d(1, 2, 3), nn.Tanh()]
    if bn:
        layers.append(nn.BatchNorm2d(2))
    layers += [nn.Flatten(), nn.Linear(2 * 3 * 3, 2)]
    return _init(nn.Sequential(*layers), gen)


def test_cnn_all_methods_equal_naive(gen):
    model = tiny_cnn(gen)
    X = torch.randn(5, 1, 5, 5, generator=gen, dtype=D)
    y = torch.randint(0, 2, (5,), generator=gen)
    naive = naive_grads(model, cross_entropy, X, y)
    for method in ("auto", "layerwise", "vmap"):
        G = gradient_gram(model, cross_entropy, X, y, method=method)
        torch.testing.assert_close(G, naive @ naive.T, rtol=1e-11, atol=1e-12)


def test_batchnorm_eval_equals_naive_and_train_is_rejected(gen):
    model = tiny_cnn(gen, bn=True)
    with torch.no_grad():
        model[2].running_mean.copy_(torch.tensor([0.1, -0.2], dtype=D))
        model[2].running_var.copy_(torch.tensor([0.5, 2.0], dtype=D))
    X = torch.randn(4, 1, 5, 5, generator=gen, dtype=D)
    y = torch.randn(4, 2, generator=gen, dtype=D)
    with pytest.raises(ValueError, match="batch norm"):
        gradient_gram(model, squared_loss, X, y)
    model.eval()
    naive = naive_grads(model, squared_loss, X, y)
    G = gradient_gram(model, squared_loss, X, y)
    torch.testing.assert_close(G, naive @ naive.T, rtol=1e-11, atol=1e-12)


def test_jacobian_matches_autograd_functional(gen):
    model = tiny_cnn(gen)
    X = torch.randn(3, 1, 5, 5, generator=gen, dtype=D)
    J = jacobian(model, X, chunk_size=2)
    params = dict(model.named_parameters())
    names = list(params)

    def f(*ps):
        out = torch.func.functional_call(model, dict(zip(names, ps, strict=True)), (X,))
        return out

    jac = torch.autograd.functional.jacobian(f, tuple(params.values()))   # per param (n, c, *)
    ref = torch.cat([j.reshape(3, 2, -1) for j in jac], dim=2)
    torch.testing.assert_close(J, ref, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("c", [1, 3])
def test_ntk_symmetric_psd_and_equals_jjt(gen, c):
    model = mlp(gen, act=nn.Tanh, widths=(3, 6, c))
    X = torch.randn(5, 3, generator=gen, dtype=D)
    J = jacobian(model, X)
    ref = torch.einsum("ikp,jlp->ijkl", J, J)
    K_l = ntk_gram(model, X, method="layerwise")
    K_v = ntk_gram(model, X, method="vmap", max_memory_bytes=1, chunk_size=1)
    if c == 1:
        ref = ref[:, :, 0, 0]
        assert K_l.shape == (5, 5)
    else:
        assert K_l.shape == (5, 5, c, c)
    torch.testing.assert_close(K_l, ref, rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(K_v, ref, rtol=1e-11, atol=1e-12)
    flat = K_l.reshape(5, 5, c, c).permute(0, 2, 1, 3).reshape(5 * c, 5 * c)
    torch.testing.assert_close(flat, flat.T, rtol=0, atol=0)
    assert torch.linalg.eigvalsh(flat).min() > -1e-10


def test_ntk_of_cnn_equals_jjt(gen):
    model = tiny_cnn(gen)
    X = torch.randn(4, 1, 5, 5, generator=gen, dtype=D)
    J = jacobian(model, X)
    torch.testing.assert_close(ntk_gram(model, X), torch.einsum("ikp,jlp->ijkl", J, J),
                               rtol=1e-11, atol=1e-12)


def test_linear_model_closed_forms(gen):
    """NTK of f(x) = w.x is X X^T; squared-loss Gram is r_i r_j <x_i, x_j> (Sankararaman Sec. 2)."""
    model = _init(nn.Linear(4, 1, bias=False), gen)
    X, y = data(gen, n=6, d=4, c=1)
    torch.testing.assert_close(ntk_gram(model, X), X @ X.T, rtol=1e-13, atol=1e-13)
    r = (model(X)[:, 0] - y).detach()
    expected = torch.outer(r, r) * (X @ X.T)
    for method in ("layerwise", "vmap"):
        torch.testing.assert_close(gradient_gram(model, squared_loss, X, y, method=method),
                                   expected, rtol=1e-12, atol=1e-13)
    model_b = _init(nn.Linear(4, 1), gen)
    torch.testing.assert_close(ntk_gram(model_b, X), X @ X.T + 1, rtol=1e-13, atol=1e-13)


def test_squared_loss_gram_is_residual_weighted_ntk(gen):
    model = LinearsMLP((3, 7, 1), gen)
    X, y = data(gen, c=1)
    r = (model(X)[:, 0] - y).detach()
    torch.testing.assert_close(gradient_gram(model, squared_loss, X, y),
                               torch.outer(r, r) * ntk_gram(model, X), rtol=1e-11, atol=1e-12)


def test_cosine_range_scale_invariance_and_zero_rows(gen):
    g = torch.randn(6, 10, generator=gen, dtype=D)
    g[2] = 0.0
    G = g @ g.T
    C = cosine_matrix(G)
    assert not torch.isnan(C).any()
    assert C.min() >= -1 and C.max() <= 1
    torch.testing.assert_close(C.diagonal(), torch.ones(6, dtype=D))
    assert (C[2, [0, 1, 3, 4, 5]] == 0).all() and (C[:, 2].sum() == 1)
    s = torch.tensor([0.1, 3.0, 1.0, 7.0, 0.5, 2.0], dtype=D)
    torch.testing.assert_close(cosine_matrix(s[:, None] * G * s[None, :]), C, rtol=1e-12,
                               atol=1e-14)
    unit = torch.nn.functional.normalize(g[[0, 1]], dim=1)
    torch.testing.assert_close(C[0, 1], unit[0] @ unit[1])
    parallel = torch.tensor([[1.0, 2.0], [3.0, 6.0]], dtype=D)
    assert abs(cosine_matrix(parallel @ parallel.T)[0, 1] - 1.0) < 1e-15
    small = torch.tensor([[1e-3, 0.0], [1.0, 1.0]], dtype=D)
    assert cosine_matrix(small @ small.T, eps=1e-2)[0, 1] == 0.0


def test_determinism(gen):
    model = mlp(gen)
    X, y = data(gen)
    a = gradient_gram(model, squared_loss, X, y, method="vmap")
    b = gradient_gram(model, squared_loss, X, y, method="vmap")
    assert torch.equal(a, b)
    torch.testing.assert_close(a, a.T, rtol=0, atol=0)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 6), width=st.integers(1, 5))
def test_gram_symmetric_psd_and_permutation_equivariant(seed, n, width):
    gen = make_generator(seed)
    model = mlp(gen, act=nn.ReLU, widths=(2, width, 1))
    X, y = data(gen, n=n, d=2, c=1)
    G = gradient_gram(model, squared_loss, X, y)
    torch.testing.assert_close(G, G.T, rtol=0, atol=0)
    assert torch.linalg.eigvalsh(G).min() >= -1e-10 * max(1.0, float(G.abs().max()))
    perm = torch.randperm(n, generator=gen)
    Gp = gradient_gram(model, squared_loss, X[perm], y[perm])
    torch.testing.assert_close(Gp, G[perm][:, perm], rtol=1e-12, atol=1e-13)


# --------------------------------------------------------------------------- conv layer-wise


def _randomise_bn(model: nn.Module, gen: torch.Generator) -> nn.Module:
    """Non-trivial running statistics and affine parameters, then eval mode."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(0.3 * torch.randn(c, generator=gen, dtype=D))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen, dtype=D))
                m.weight.copy_(1 + 0.3 * torch.randn(c, generator=gen, dtype=D))
                m.bias.copy_(0.3 * torch.randn(c, generator=gen, dtype=D))
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=gen, dtype=D))
    return model.eval()


def _images(gen, n=4, c=3, hw=8, classes=3):
    X = torch.randn(n, c, hw, hw, generator=gen, dtype=D)
    return X, torch.randint(0, classes, (n,), generator=gen)


CNNS = {
    # SmallCNN: stem and block convs with bias (no BN), with and without skip connections
    "small_cnn": lambda g: models.SmallCNN(3, 3, generator=g, width=3, depth=2, dtype=D),
    "small_cnn_skip": lambda g: models.SmallCNN(3, 3, generator=g, width=3, depth=2, skip=True,
                                                dtype=D),
    # bias-free convs followed by eval-mode batch norm (affine weight and bias)
    "small_cnn_bn": lambda g: models.SmallCNN(3, 3, generator=g, width=3, depth=2,
                                              batch_norm=True, skip=True, dtype=D),
    # WRN-10-1: stride-2 convs, 1x1 projection shortcuts, pre-activation eval-mode batch norm
    "wrn_bn": lambda g: models.WideResNet(10, 1, 3, generator=g, dtype=D),
    # strided + dilated conv, grouped + dilated conv (stride 1), 1x1 conv without bias, pooling
    "grouped": lambda g: nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=2, dilation=2), nn.Tanh(),
        nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), nn.Softplus(), nn.AvgPool2d(2),
        nn.Conv2d(6, 4, 1, bias=False), nn.Flatten(), nn.Linear(4 * 2 * 2, 3)).to(D),
    # >= 32 input channels per group at stride 1: the window path of _conv_features (no im2col),
    # with padding, dilation and two groups of 32
    "wide_channels": lambda g: nn.Sequential(
        nn.Conv2d(3, 64, 1), nn.Tanh(), nn.Conv2d(64, 4, 3, padding=1), nn.Tanh(),
        nn.Conv2d(4, 64, 1), nn.Tanh(), nn.Conv2d(64, 4, 3, padding=2, dilation=2, groups=2),
        nn.Flatten(), nn.Linear(4 * 8 * 8, 3)).to(D),
    # a dense layer applied at every position of (n, channels, positions), rectangular kernel
    "dense_on_positions": lambda g: nn.Sequential(
        nn.Conv2d(3, 2, (3, 2), padding=(1, 0)), nn.Tanh(), nn.Flatten(2), nn.Linear(8 * 7, 5),
        nn.Tanh(), nn.Flatten(), nn.Linear(2 * 5, 3)).to(D),
}


@pytest.mark.parametrize("name", list(CNNS))
def test_cnn_layerwise_equals_naive_loop(gen, name):
    model = _randomise_bn(_init(CNNS[name](gen), gen), gen)
    X, y = _images(gen)
    naive = naive_grads(model, cross_entropy, X, y)
    G = gradient_gram(model, cross_entropy, X, y, method="layerwise")
    torch.testing.assert_close(G, naive @ naive.T, rtol=1e-11, atol=1e-12)
    torch.testing.assert_close(gradient_gram(model, cross_entropy, X, y), G, rtol=0, atol=0)
    tiny = gradient_gram(model, cross_entropy, X, y, method="layerwise", max_memory_bytes=1)
    torch.testing.assert_close(tiny, G, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", ["grouped", "dense_on_positions", "wide_channels"])
@pytest.mark.parametrize("kernel", [True, False])
def test_cnn_kernel_trick_and_materialised_agree(gen, monkeypatch, kernel, name):
    """Both ways to contract a layer: sum_pq <d_ip, d_jq><u_ip, u_jq>, or forming d_i U_i^T."""
    monkeypatch.setattr(gradients, "_use_kernel", lambda *args: kernel)
    model = _init(CNNS[name](gen), gen)
    X, y = _images(gen, n=3)
    naive = naive_grads(model, cross_entropy, X, y)
    for budget in (2**28, 1):
        G = gradient_gram(model, cross_entropy, X, y, method="layerwise", max_memory_bytes=budget)
        torch.testing.assert_close(G, naive @ naive.T, rtol=1e-11, atol=1e-12)
    J = jacobian(model, X)
    torch.testing.assert_close(ntk_gram(model, X, method="layerwise"),
                               torch.einsum("ikp,jlp->ijkl", J, J), rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", ["small_cnn_bn", "wrn_bn", "grouped", "dense_on_positions"])
def test_cnn_patch_blocks_of_one_example_equal_naive(gen, monkeypatch, name):
    """im2col patches formed one example at a time (the cache blocking) change nothing."""
    monkeypatch.setattr(gradients, "_use_kernel", lambda *args: False)
    monkeypatch.setattr(gradients, "_PATCH_CACHE_BYTES", 1)
    model = _randomise_bn(_init(CNNS[name](gen), gen), gen)
    X, y = _images(gen, n=5)
    naive = naive_grads(model, cross_entropy, X, y)
    G = gradient_gram(model, cross_entropy, X, y, method="layerwise")
    torch.testing.assert_close(G, naive @ naive.T, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", list(CNNS))
@pytest.mark.parametrize("grouped", [True, False])
def test_cnn_chunked_pass_and_grouped_kernel_equal_naive(gen, monkeypatch, name, grouped):
    """The batched pass in chunks of examples (activations above the cache budget) and the
    grouped-convolution kernel for per-example conv gradients change nothing: the Gram, with
    and without the per-chunk features, and the multi-output NTK against J J^T."""
    monkeypatch.setattr(gradients, "_grouped_conv_wins", lambda layer, a: grouped)
    monkeypatch.setattr(gradients, "_use_kernel", lambda *args: False)
    model = _randomise_bn(_init(CNNS[name](gen), gen), gen)
    X, y = _images(gen, n=11)    # chunks of 8 (the minimum) and 3
    naive = naive_grads(model, cross_entropy, X, y)
    whole = gradient_gram(model, cross_entropy, X, y, method="layerwise")
    monkeypatch.setattr(gradients, "_CHUNK_ACTIVATION_BYTES", 1)
    for budget in (2**28, 1):     # per-chunk features, or the blocked path over the whole batch
        G = gradient_gram(model, cross_entropy, X, y, method="layerwise", max_memory_bytes=budget)
        torch.testing.assert_close(G, naive @ naive.T, rtol=1e-11, atol=1e-12)
        torch.testing.assert_close(G, whole, rtol=1e-12, atol=1e-13)
    J = jacobian(model, X)
    torch.testing.assert_close(ntk_gram(model, X, method="layerwise"),
                               torch.einsum("ikp,jlp->ijkl", J, J), rtol=1e-11, atol=1e-12)


def test_chunks_follow_the_largest_activation(gen, monkeypatch):
    """Chunk sizes: the whole batch when its activations fit, else the activation budget over
    the largest activation of one example (at least 8 examples)."""
    seen = []
    real = gradients._records_chunk
    monkeypatch.setattr(gradients, "_records_chunk",
                        lambda model, layers, X, sl, *a: seen.append((sl.start, sl.stop))
                        or real(model, layers, X, sl, *a))
    model = _init(CNNS["small_cnn"](gen), gen)       # largest activation: 3 x 8 x 8 doubles
    X, y = _images(gen, n=40)
    gradient_gram(model, cross_entropy, X, y, method="layerwise")
    assert seen == [(0, 40)]
    seen.clear()
    monkeypatch.setattr(gradients, "_CHUNK_ACTIVATION_BYTES", 16 * 3 * 8 * 8 * 8)
    gradient_gram(model, cross_entropy, X, y, method="layerwise")
    assert seen == [(0, 16), (16, 32), (32, 40)]
    seen.clear()
    monkeypatch.setattr(gradients, "_CHUNK_ACTIVATION_BYTES", 1)
    gradient_gram(model, cross_entropy, X, y, method="layerwise")
    assert seen == [(0, 8), (8, 16), (16, 24), (24, 32), (32, 40)]


def test_grouped_conv_kernel_rule(monkeypatch):
    """oneDNN's grouped kernel only where it was measured faster: CPU, float32, AVX2/AVX-512
    kernels, at least 8 input channels per group."""
    wide, narrow = nn.Conv2d(8, 8, 3), nn.Conv2d(6, 16, 5)
    grouped = nn.Conv2d(16, 16, 3, groups=4)        # 4 input channels per group
    a32, a64 = torch.zeros(1, 8, 5, 5), torch.zeros(1, 8, 5, 5, dtype=torch.float64)
    for isa, fast in [("AVX512", True), ("AVX2", True), ("DEFAULT", False)]:
        monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda isa=isa: isa)
        assert gradients._grouped_conv_wins(wide, a32) is fast
        assert gradients._grouped_conv_wins(wide, a64) is False
        assert gradients._grouped_conv_wins(narrow, a32) is False
        assert gradients._grouped_conv_wins(grouped, a32) is False


def test_cnn_frozen_parameters_are_skipped(gen):
    model = _randomise_bn(_init(CNNS["small_cnn_bn"](gen), gen), gen)
    model.stem.weight.requires_grad_(False)
    model.norms[0].weight.requires_grad_(False)
    model.convs[1].requires_grad_(False)
    model.classifier.bias.requires_grad_(False)
    X, y = _images(gen)
    naive = naive_grads(model, cross_entropy, X, y)
    assert naive.shape[1] == models.count_parameters(model)
    G = gradient_gram(model, cross_entropy, X, y, method="layerwise")
    torch.testing.assert_close(G, naive @ naive.T, rtol=1e-11, atol=1e-12)


def test_cnn_ntk_layerwise_equals_jjt(gen):
    model = _randomise_bn(_init(CNNS["small_cnn_bn"](gen), gen), gen)
    X, _ = _images(gen, n=3)
    J = jacobian(model, X)
    ref = torch.einsum("ikp,jlp->ijkl", J, J)
    torch.testing.assert_close(ntk_gram(model, X, method="layerwise"), ref, rtol=1e-11,
                               atol=1e-12)
    torch.testing.assert_close(ntk_gram(model, X, method="vmap"), ref, rtol=1e-11, atol=1e-12)


def test_train_mode_batch_norm_is_rejected(gen):
    model = _init(CNNS["small_cnn_bn"](gen), gen).train()
    X, y = _images(gen)
    for method in ("layerwise", "auto"):
        with pytest.raises(ValueError, match="batch norm .* using batch statistics"):
            gradient_gram(model, cross_entropy, X, y, method=method)
    with pytest.raises(ValueError, match="batch statistics"):
        ntk_gram(model, X, method="layerwise")


class _BatchCentred(nn.Module):
    """A forward that mixes examples through a batch mean (invisible to a module check)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.fc = nn.Linear(2 * 6 * 6, 3)

    def forward(self, x):
        h = torch.tanh(self.conv(x))
        return self.fc((h - h.mean(0)).flatten(1))


def test_layerwise_rejects_mixing_inplace_and_foreign_parameters(gen):
    X, y = _images(gen)
    mixing = _init(_BatchCentred(), gen)
    with pytest.raises(ValueError, match="mixes examples"):
        gradient_gram(mixing, cross_entropy, X, y, method="layerwise")
    torch.testing.assert_close(gradient_gram(mixing, cross_entropy, X, y),
                               gradient_gram(mixing, cross_entropy, X, y, method="vmap"))
    inplace = _init(nn.Sequential(nn.Conv2d(3, 2, 3), nn.ReLU(inplace=True), nn.Flatten(),
                                  nn.Linear(72, 3)), gen)
    with pytest.raises(ValueError, match="in-place operation"):
        gradient_gram(inplace, cross_entropy, X, y, method="layerwise")
    naive = naive_grads(inplace, cross_entropy, X, y)
    torch.testing.assert_close(gradient_gram(inplace, cross_entropy, X, y), naive @ naive.T,
                               rtol=1e-11, atol=1e-12)
    norm = _init(nn.Sequential(nn.Conv2d(3, 2, 3), nn.GroupNorm(1, 2), nn.Flatten(),
                               nn.Linear(72, 3)), gen)
    with pytest.raises(ValueError, match=r"1 \(GroupNorm\) holds trainable parameters"):
        gradient_gram(norm, cross_entropy, X, y, method="layerwise")
    naive = naive_grads(norm, cross_entropy, X, y)
    torch.testing.assert_close(gradient_gram(norm, cross_entropy, X, y), naive @ naive.T,
                               rtol=1e-11, atol=1e-12)
    circular = _init(nn.Sequential(nn.Conv2d(3, 2, 3, padding=1, padding_mode="circular"),
                                   nn.Flatten(), nn.Linear(128, 3)), gen)
    with pytest.raises(ValueError, match="padding_mode 'circular'"):
        gradient_gram(circular, cross_entropy, X, y, method="layerwise")


# --------------------------------------------------------------------------- bad inputs


def test_per_example_gradients_bad_inputs(gen):
    model = mlp(gen)
    X, y = data(gen)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        per_example_gradients(lambda x: x, squared_loss, X, y)
    with pytest.raises(TypeError, match="loss_fn must be a per-example loss"):
        per_example_gradients(model, "mse", X, y)
    with pytest.raises(ValueError, match="same number of rows"):
        per_example_gradients(model, squared_loss, X, y[:3])
    with pytest.raises(TypeError, match="X has dtype torch.float32"):
        per_example_gradients(model, squared_loss, X.float(), y)
    with pytest.raises(ValueError, match="one loss per example"):
        per_example_gradients(model, lambda o, t: squared_loss(o, t).mean(), X, y)
    with pytest.raises(ValueError, match="chunk_size must be an integer >= 1"):
        per_example_gradients(model, squared_loss, X, y, chunk_size=0)
    frozen = mlp(gen).requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        per_example_gradients(frozen, squared_loss, X, y)
    dropout = nn.Sequential(nn.Linear(3, 2), nn.Dropout(0.5)).to(D)
    with pytest.raises(ValueError, match="active dropout"):
        per_example_gradients(dropout, squared_loss, X, y)


def test_gradient_gram_bad_inputs(gen):
    model = mlp(gen)
    X, y = data(gen)
    with pytest.raises(ValueError, match="method must be one of"):
        gradient_gram(model, squared_loss, X, y, method="fast")
    with pytest.raises(ValueError, match="max_memory_bytes must be an integer >= 1"):
        gradient_gram(model, squared_loss, X, y, method="vmap", max_memory_bytes=0)
    with pytest.raises(ValueError, match="X must have 2 or 3 or 4 or 5 dimensions"):
        gradient_gram(model, squared_loss, X[0], y)
    with pytest.raises(ValueError, match="one loss per example"):
        gradient_gram(model, lambda o, t: squared_loss(o, t).sum(), X, y, method="layerwise")

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.linears = nn.ModuleList([nn.Linear(3, 3)])
            self.activation = torch.tanh

        def forward(self, x):
            return self.linears[0](torch.tanh(self.linears[0](x)))

    twice, y3 = Twice().to(D), torch.randn(6, 3, generator=gen, dtype=D)
    with pytest.raises(ValueError, match="exactly once"):
        gradient_gram(twice, squared_loss, X, y3, method="layerwise")
    naive = naive_grads(twice, squared_loss, X, y3)       # auto falls back to vmap
    torch.testing.assert_close(gradient_gram(twice, squared_loss, X, y3), naive @ naive.T,
                               rtol=1e-11, atol=1e-12)


def test_gram_checks_accept_round_off_and_refuse_more():
    """Each check at its documented tolerance tau = sqrt(eps): half of it passes (and is the
    only thing the clamp removes), twice it is refused with the measured violation."""
    from helpers.gradients import _gram_tolerance

    assert _gram_tolerance(torch.float64) == pytest.approx(1.49e-8, rel=1e-2)   # as documented
    assert _gram_tolerance(torch.float32) == pytest.approx(3.45e-4, rel=1e-2)
    for dtype in (torch.float64, torch.float32):
        tau = _gram_tolerance(dtype)

        def t(rows, dtype=dtype):
            return torch.tensor(rows, dtype=torch.float64).to(dtype)

        C = cosine_matrix(t([[1.0, 1 + 0.5 * tau], [1 + 0.5 * tau, 1.0]]))
        assert float(C[0, 1]) == 1.0
        with pytest.raises(ValueError, match="Cauchy-Schwarz"):
            cosine_matrix(t([[1.0, 1 + 2 * tau], [1 + 2 * tau, 1.0]]))
        cosine_matrix(t([[1.0, 0.5 + 0.4 * tau], [0.5, 1.0]]))
        with pytest.raises(ValueError, match=r"symmetric .* times sqrt\(G\[0, 0\] G\[1, 1\]\)"):
            cosine_matrix(t([[1.0, 0.5 + 2 * tau], [0.5, 1.0]]))
        C = cosine_matrix(t([[-0.5 * tau, 0.0], [0.0, 1.0]]))    # round-off of a zero row
        assert float(C[0, 1]) == 0.0
        with pytest.raises(ValueError, match=r"non-negative diagonal .* gram\[0, 0\] = -"):
            cosine_matrix(t([[-2 * tau, 0.0], [0.0, 1.0]]))
        # equicorrelation: every pair passes Cauchy-Schwarz, lambda_min = 1 + 2 rho, trace 3
        for lam, ok in ((-0.5 * 3 * tau, True), (-2 * 3 * tau, False)):
            rho = (lam - 1) / 2
            G = t([[1.0, rho, rho], [rho, 1.0, rho], [rho, rho, 1.0]])
            if ok:
                assert float(cosine_matrix(G)[0, 1]) == pytest.approx(rho, abs=1e-6)
            else:
                with pytest.raises(ValueError, match="positive semidefinite.*smallest eigen"):
                    cosine_matrix(G)


def test_gram_checks_accept_real_round_off(gen):
    """Grams formed in float32 from long vectors, and rank-deficient ones (n > p), pass; their
    cosines match a float64 computation."""
    g = torch.randn(20, 200_000, generator=gen, dtype=D)
    G32 = g.float() @ g.float().T
    C = cosine_matrix(G32)
    torch.testing.assert_close(C.double(), cosine_matrix(g @ g.T), rtol=0, atol=1e-4)
    for dtype in (torch.float64, torch.float32):
        low = torch.randn(60, 3, generator=gen, dtype=D).to(dtype)   # rank 3
        assert torch.linalg.eigvalsh((low @ low.T).double())[0] < 0   # round-off below 0
        cosine_matrix(low @ low.T)
        fat = torch.randn(30, 2000, generator=gen, dtype=D).to(dtype)
        cosine_matrix(fat @ fat.T)


def test_cosine_matrix_bad_inputs():
    with pytest.raises(ValueError, match="square"):
        cosine_matrix(torch.zeros(2, 3, dtype=D))
    with pytest.raises(ValueError, match="symmetric"):
        cosine_matrix(torch.tensor([[1.0, 0.5], [0.0, 1.0]], dtype=D))
    with pytest.raises(ValueError, match="non-negative diagonal"):
        cosine_matrix(torch.tensor([[-1.0, 0.0], [0.0, 1.0]], dtype=D))
    with pytest.raises(ValueError, match="eps must be >= 0"):
        cosine_matrix(torch.eye(2, dtype=D), eps=-1.0)
    with pytest.raises(TypeError, match="floating dtype"):
        cosine_matrix(torch.eye(2, dtype=torch.long))


def test_jacobian_bad_inputs(gen):
    model = mlp(gen)
    with pytest.raises(TypeError, match="X must be a torch.Tensor"):
        jacobian(model, [[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="finite"):
        jacobian(model, torch.full((2, 3), float("inf"), dtype=D))
    with pytest.raises(TypeError, match="chunk_size must be an integer"):
        jacobian(model, torch.zeros(2, 3, dtype=D), chunk_size=1.5)


def test_ntk_gram_bad_inputs(gen):
    X = torch.zeros(2, 1, 5, 5, dtype=D)
    layer_norm = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.LayerNorm(18)).to(D)
    with pytest.raises(ValueError, match=r"cannot handle this model: 2 \(LayerNorm\) holds"):
        ntk_gram(layer_norm, X, method="layerwise")
    with pytest.raises(ValueError, match="method must be one of"):
        ntk_gram(mlp(gen), torch.zeros(2, 3, dtype=D), method=None)
    with pytest.raises(ValueError, match="has no parameters"):
        ntk_gram(nn.Sequential(nn.ReLU()), torch.zeros(2, 3, dtype=D))


def test_flat_gradient_bad_inputs(gen):
    model = mlp(gen)
    X, y = data(gen)
    with pytest.raises(ValueError, match=r"y must have 1 or 2 dimensions"):
        flat_gradient(model, squared_loss, X, torch.zeros(6, 2, 1, dtype=D))
    with pytest.raises(ValueError, match="targets must have the shape"):
        flat_gradient(model, squared_loss, X, torch.zeros(6, dtype=D))
