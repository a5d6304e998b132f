"""Models: shapes, initialisation laws, frozen layers, layer-wise gradients, determinism, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import functional_call, grad, vmap

from helpers.activations import NAMES as ACTIVATIONS
from helpers.allen_zhu_li_song import DeepReLUNet
from helpers.models import (
    MLP,
    ForwardTrace,
    LinearModel,
    SmallCNN,
    TwoLayerNet,
    WideResNet,
    count_parameters,
    init_weight_,
)
from helpers.rng import make_generator

F64 = torch.float64


def _unit_rows(n: int, d: int, gen: torch.Generator) -> torch.Tensor:
    x = torch.randn(n, d, generator=gen, dtype=F64)
    return x / x.norm(dim=1, keepdim=True)


def _per_example_grads(model, x, y):
    """Per-example gradients of 0.5 * ||f(x_i) - y_i||^2 w.r.t. the trainable parameters."""
    params = {k: v.detach() for k, v in model.named_parameters()}

    def loss(p, xi, yi):
        out = functional_call(model, p, (xi.unsqueeze(0),))
        return 0.5 * ((out[0] - yi) ** 2).sum()

    grads = vmap(grad(loss), in_dims=(None, 0, 0))(params, x, y)
    return torch.cat([g.reshape(x.shape[0], -1) for g in grads.values()], dim=1), grads


# --------------------------------------------------------------------------- init_weight_

VARIANCE = {  # scheme -> variance for fan_in a, fan_out b
    "glorot": lambda a, b: 2.0 / (a + b),
    "lecun": lambda a, b: 1.0 / a,
    "he": lambda a, b: 2.0 / a,
    "uniform": lambda a, b: 1.0 / (3.0 * a),
}


@pytest.mark.parametrize("shape", [(400, 300), (48, 32, 3, 3)])
@pytest.mark.parametrize("scheme", ["glorot", "lecun", "he", "uniform", "gaussian"])
def test_init_variance_matches_scheme(shape, scheme, gen):
    w = torch.empty(shape, dtype=F64)
    receptive = math.prod(shape[2:])
    fan_in, fan_out = shape[1] * receptive, shape[0] * receptive
    kwargs = {"std": 0.3} if scheme == "gaussian" else {}
    init_weight_(w, scheme, generator=gen, gain=1.5, **kwargs)
    want = 1.5**2 * (0.09 if scheme == "gaussian" else VARIANCE[scheme](fan_in, fan_out))
    n = w.numel()
    # Relative standard error of a sample variance: sqrt((kurtosis - 1)/n); kurtosis 3 for a
    # Gaussian, 1.8 for a uniform. Six standard errors.
    kurt = 1.8 if scheme == "uniform" else 3.0
    assert abs(w.var().item() / want - 1) < 6 * math.sqrt((kurt - 1) / n)
    assert abs(w.mean().item()) < 6 * math.sqrt(want / n)
    if scheme == "uniform":
        assert w.abs().max().item() <= 1.5 / math.sqrt(fan_in)


@pytest.mark.parametrize("shape", [(6, 6), (3, 7), (7, 3), (4, 2, 3, 3)])
def test_orthogonal_rows_or_columns(shape, gen):
    w = init_weight_(torch.empty(shape, dtype=F64), "orthogonal", generator=gen, gain=2.0)
    flat = w.reshape(shape[0], -1)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    torch.testing.assert_close(gram, 4.0 * torch.eye(small, dtype=F64), rtol=0, atol=1e-12)


def test_orthogonal_is_haar_after_sign_fix(gen):
    # For Haar Q on O(3): E[Q] = 0 and E[Q_11^2] = 1/3. Without the sign fix of diag(R) the
    # QR factor is biased. 1500 draws: standard errors sqrt(1/3/1500) = 0.015 for the mean and
    # sqrt(Var(Q_11^2)/1500) ~ 0.007 for the second moment; tolerances are about 4.5 of those.
    draws = torch.stack([
        init_weight_(torch.empty(3, 3, dtype=F64), "orthogonal", generator=gen)
        for _ in range(1500)
    ])
    assert draws.mean(0).abs().max().item() < 0.07
    assert abs((draws[:, 0, 0] ** 2).mean().item() - 1 / 3) < 0.035


def test_init_is_deterministic_and_leaves_global_rng_alone():
    state = torch.get_rng_state()
    a = init_weight_(torch.empty(5, 4, dtype=F64), "glorot", generator=make_generator(3))
    b = init_weight_(torch.empty(5, 4, dtype=F64), "glorot", generator=make_generator(3))
    c = init_weight_(torch.empty(5, 4, dtype=F64), "glorot", generator=make_generator(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(state, torch.get_rng_state())


def test_init_works_on_parameters_without_recording_autograd(gen):
    p = torch.nn.Parameter(torch.zeros(3, 3, dtype=F64))
    init_weight_(p, "he", generator=gen)
    assert p.grad_fn is None and p.requires_grad and p.abs().sum() > 0


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        ((torch.empty(3, 3), "kaiming"), {}, ValueError, "scheme must be one of"),
        ((torch.empty(3), "he"), {}, ValueError, "weight must have"),
        ((torch.empty(3, 3, dtype=torch.int64), "he"), {}, TypeError, "floating"),
        (([[1.0]], "he"), {}, TypeError, "weight must be a torch.Tensor"),
        ((torch.empty(3, 3), "gaussian"), {}, ValueError, "std is required"),
        ((torch.empty(3, 3), "he"), {"std": 1.0}, ValueError, "std is only used"),
        ((torch.empty(3, 3), "gaussian"), {"std": -1.0}, ValueError, "std must be >"),
        ((torch.empty(3, 3), "he"), {"gain": 0.0}, ValueError, "gain must be >"),
    ],
)
def test_init_bad_inputs(args, kwargs, exc, match, gen):
    with pytest.raises(exc, match=match):
        init_weight_(*args, generator=gen, **kwargs)


def test_init_rejects_non_generator():
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        init_weight_(torch.empty(3, 3), "he", generator=0)


# --------------------------------------------------------------------------- LinearModel

def test_linear_model_shapes_and_init(gen):
    model = LinearModel(3, generator=gen)
    assert model(torch.ones(5, 3, dtype=F64)).shape == (5, 1)
    model = LinearModel(2000, 4, generator=gen, bias=True, init="gaussian", std=0.5)
    assert model(torch.ones(5, 2000, dtype=F64)).shape == (5, 4)
    assert torch.equal(model.linear.bias, torch.zeros(4, dtype=F64))
    # 8000 N(0, 0.25) entries: relative s.e. of the variance sqrt(2/8000) = 0.016.
    assert abs(model.weight.var().item() / 0.25 - 1) < 0.08
    x = torch.randn(5, 2000, generator=gen, dtype=F64)
    torch.testing.assert_close(model(x), x @ model.weight.T)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"d_in": 0}, ValueError, "d_in must be an integer >= 1"),
        ({"d_in": 3, "d_out": 0}, ValueError, "d_out must be an integer >= 1"),
        ({"d_in": 3, "bias": 1}, TypeError, "bias must be True or False"),
        ({"d_in": 3, "init": "zeros"}, ValueError, "scheme must be one of"),
        ({"d_in": 3, "dtype": torch.int32}, TypeError, "dtype must be a floating"),
    ],
)
def test_linear_model_bad_inputs(kwargs, exc, match, gen):
    with pytest.raises(exc, match=match):
        LinearModel(generator=gen, **kwargs)


def test_linear_model_bad_forward_inputs(gen):
    model = LinearModel(3, generator=gen)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        LinearModel(3, generator=None)
    with pytest.raises(ValueError, match="must have 3 features"):
        model(torch.ones(2, 4, dtype=F64))
    with pytest.raises(ValueError, match="must have 2 dimensions"):
        model(torch.ones(3, dtype=F64))
    with pytest.raises(TypeError, match="model's dtype"):
        model(torch.ones(2, 3, dtype=torch.float32))


# --------------------------------------------------------------------------- MLP

def test_mlp_shapes_and_trace(gen):
    net = MLP(5, 7, 3, 2, generator=gen, bias=True)
    assert len(net.linears) == 4
    assert [tuple(lin.weight.shape) for lin in net.linears] == [(7, 5), (7, 7), (7, 7), (2, 7)]
    assert all(torch.equal(lin.bias, torch.zeros_like(lin.bias)) for lin in net.linears)
    x = torch.randn(6, 5, generator=gen, dtype=F64)
    trace = net.forward_with_preactivations(x)
    assert isinstance(trace, ForwardTrace)
    assert trace.inputs[0] is x
    for p in range(net.depth):
        torch.testing.assert_close(trace.inputs[p + 1], torch.relu(trace.preactivations[p]))
    torch.testing.assert_close(net(x), trace.output)
    assert trace.output.shape == (6, 2)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_derivatives_match_autograd(activation, gen):
    net = MLP(2, 3, 1, 1, generator=gen, activation=activation)
    z = torch.linspace(-3, 3, 61, dtype=F64).add(0.013).requires_grad_(True)  # avoid z = 0
    (dz,) = torch.autograd.grad(net.activation(z).sum(), z)
    torch.testing.assert_close(net.activation_derivative(z.detach()), dz)


@pytest.mark.parametrize("activate_output,bias", [(False, True), (True, False)])
def test_backward_signals_give_per_example_gradients(activate_output, bias, gen):
    net = MLP(4, 6, 3, 2, generator=gen, activation="tanh", init="lecun", bias=bias,
              output_scale=0.7, activate_output=activate_output)
    x = torch.randn(5, 4, generator=gen, dtype=F64)
    y = torch.randn(5, 2, generator=gen, dtype=F64)
    flat, grads = _per_example_grads(net, x, y)
    trace = net.forward_with_preactivations(x)
    deltas = net.backward_signals(trace, trace.output - y)  # d(0.5||f-y||^2)/df = f - y
    for p, (delta, a) in enumerate(zip(deltas, trace.inputs)):
        want = grads[f"linears.{p}.weight"]
        torch.testing.assert_close(delta[:, :, None] * a[:, None, :], want)
        if bias:
            torch.testing.assert_close(delta, grads[f"linears.{p}.bias"])
    # Layer-wise Gram formula of [L] eq. (15): sum_p <delta_i, delta_j> (<a_i, a_j> + bias).
    gram = sum((d @ d.T) * (a @ a.T + float(bias)) for d, a in zip(deltas, trace.inputs))
    torch.testing.assert_close(gram, flat @ flat.T)


def test_orthogonal_linear_net_is_theorem_6_1(gen):
    # [I] Theorem 6.1: g(x) = gamma W_beta ... W_1 x with orthogonal W, gamma = 1/sqrt(2 beta),
    # square loss. Then <grad f_i, grad f_j> = beta gamma^2 r_i r_j <x_i, x_j>
    # = r_i r_j <x_i, x_j> / 2 for every depth, and orthogonal layers preserve inner products.
    d, n = 6, 5
    x = _unit_rows(n, d, gen)
    y = torch.randn(n, 1, generator=gen, dtype=F64)
    for depth in (1, 4):
        beta = depth + 1
        net = MLP(d, d, depth, 1, generator=gen, activation="linear", init="orthogonal",
                  output_scale=1 / math.sqrt(2 * beta))
        trace = net.forward_with_preactivations(x)
        for a in trace.inputs:
            torch.testing.assert_close(a @ a.T, x @ x.T)
        flat, _ = _per_example_grads(net, x, y)
        r = (net(x) - y)[:, 0]
        torch.testing.assert_close(flat @ flat.T, 0.5 * torch.outer(r, r) * (x @ x.T))


def test_he_relu_mlp_preserves_second_moment(gen):
    # He init: E||h_p||^2 = E||h_{p-1}||^2 for width -> width ReLU layers (Allen-Zhu et al.
    # Lemma 7.1 style). Per net and input the ratio ||h_p||^2/||h_0||^2 has mean 1 and variance
    # ~ 5p/width (the chi^2_Bin law of Fact 7.2 with variance 2/width). 8 nets x 16 inputs,
    # width 256, p <= 3: s.e. of the mean <= sqrt(15/256/8) = 0.086 ignoring the (positive)
    # help from averaging over inputs; tolerance 0.3.
    ratios = []
    for _ in range(8):
        net = MLP(10, 256, 4, 1, generator=gen, activation="relu", init="he")
        hs = net.forward_with_preactivations(_unit_rows(16, 10, gen)).inputs[1:]
        sq = torch.stack([h.pow(2).sum(1) for h in hs])  # (depth, n)
        ratios.append(sq / sq[0])
    mean_ratio = torch.stack(ratios).mean(dim=(0, 2))
    assert (mean_ratio - 1).abs().max().item() < 0.3, mean_ratio
    # first layer: E||h_0||^2 = width / d_in * ||x||^2 = 25.6, same s.e. argument (5/256).
    assert abs(sq[0].mean().item() / 25.6 - 1) < 0.3


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"width": 0}, ValueError, "width must be an integer >= 1"),
        ({"depth": 0}, ValueError, "depth must be an integer >= 1"),
        ({"depth": 2.0}, TypeError, "depth must be an integer"),
        ({"activation": "swish"}, ValueError, "activation must be one of"),
        ({"init": "xavier"}, ValueError, "init must be one of"),
        ({"init": "gaussian"}, ValueError, "std is required"),
        ({"output_scale": float("inf")}, ValueError, "output_scale must be finite"),
        ({"activate_output": "yes"}, TypeError, "activate_output must be True or False"),
    ],
)
def test_mlp_bad_inputs(kwargs, exc, match, gen):
    args = {"d_in": 3, "width": 4, "depth": 2, "d_out": 1} | kwargs
    with pytest.raises(exc, match=match):
        MLP(generator=gen, **args)


def test_mlp_bad_call_inputs(gen):
    net = MLP(3, 4, 2, 2, generator=gen)
    with pytest.raises(TypeError, match="generator must be a torch.Generator"):
        MLP(3, 4, 2, 2, generator=torch.default_generator.initial_seed())
    with pytest.raises(ValueError, match="must have 3 features"):
        net.forward_with_preactivations(torch.ones(2, 5, dtype=F64))
    trace = net.forward_with_preactivations(torch.ones(2, 3, dtype=F64))
    with pytest.raises(ValueError, match=r"output_grad must have shape \(2, 2\)"):
        net.backward_signals(trace, torch.ones(2, 1, dtype=F64))
    with pytest.raises(TypeError, match="trace must be a ForwardTrace"):
        net.backward_signals((trace.inputs, trace.preactivations), torch.ones(2, 2, dtype=F64))


# --------------------------------------------------------------------------- TwoLayerNet

def test_li_liang_initialisation(gen):
    d, m, k = 50, 400, 3
    net = TwoLayerNet(d, m, generator=gen, variant="li-liang", d_out=k)
    W, a = net.hidden_weights, net.output_weights
    assert W.shape == (m, d) and a.shape == (k, m)
    # (A3): w_r ~ N(0, I/m), a ~ N(0, 1). 20 000 and 1 200 entries: relative s.e. of the sample
    # variance sqrt(2/N) = 0.010 and 0.041; tolerances of 5 s.e.
    assert abs(W.var().item() * m - 1) < 0.05
    assert abs(a.var().item() - 1) < 0.2
    x = _unit_rows(7, d, gen)
    want = torch.einsum("ir,nr->ni", a, torch.relu(x @ W.T))  # f_i = sum_r a_ir ReLU(<w_r,x>)
    torch.testing.assert_close(net(x), want)


@pytest.mark.parametrize("m", [6, 7])
def test_oymak_output_layer(m, gen):
    n, y_norm = 10, 3.0
    net = TwoLayerNet(4, m, generator=gen, variant="oymak", activation="softplus",
                      output_scale=y_norm / math.sqrt(n))
    v = net.output_weights[0]
    entry = y_norm / math.sqrt(m * n)  # +-||y|| / sqrt(kn), Theorem 2.1 (k = m hidden units)
    assert (v > 0).sum() == m // 2 and (v < 0).sum() == m // 2 and (v == 0).sum() == m % 2
    torch.testing.assert_close(v.abs().max(), torch.tensor(entry, dtype=F64))
    assert abs(v.sum().item()) < 1e-14
    x = _unit_rows(3, 4, gen)
    W = net.hidden_weights
    torch.testing.assert_close(net(x)[:, 0], torch.nn.functional.softplus(x @ W.T) @ v)


def test_oymak_hidden_weights_standard_normal(gen):
    net = TwoLayerNet(100, 200, generator=gen, variant="oymak")
    # 20 000 N(0, 1) entries: s.e. of the variance 0.010; 5 s.e.
    assert abs(net.hidden_weights.var().item() - 1) < 0.05


def test_two_layer_frozen_output_gets_no_gradient(gen):
    for variant in ("li-liang", "oymak"):
        net = TwoLayerNet(5, 8, generator=gen, variant=variant)
        assert [name for name, _ in net.named_parameters()] == ["hidden_weights"]
        assert "output_weights" in dict(net.named_buffers())
        net(torch.randn(4, 5, generator=gen, dtype=F64)).pow(2).sum().backward()
        assert net.hidden_weights.grad is not None
        assert net.output_weights.grad is None and not net.output_weights.requires_grad
        assert count_parameters(net) == count_parameters(net, trainable_only=False) == 40


def test_two_layer_per_example_gradient_formula(gen):
    # Oymak & Soltanolkotabi: grad_W f(x) = diag(v) phi'(W x) x^T.
    net = TwoLayerNet(4, 6, generator=gen, variant="oymak", activation="tanh")
    x = _unit_rows(5, 4, gen)
    _, grads = _per_example_grads(net, x, torch.zeros(5, 1, dtype=F64))
    r = net(x)[:, 0]
    v = net.output_weights[0]
    dphi = net.activation_derivative(x @ net.hidden_weights.T)  # (n, m)
    want = r[:, None, None] * (v[None, :, None] * dphi[:, :, None] * x[:, None, :])
    torch.testing.assert_close(grads["hidden_weights"], want)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"variant": "du"}, ValueError, "variant must be one of"),
        ({"variant": "oymak", "d_out": 2}, ValueError, "d_out must be 1"),
        ({"variant": "li-liang", "d_out": 0}, ValueError, "d_out must be"),
        ({"variant": "li-liang", "width": 0}, ValueError, "width must be an integer >= 1"),
        ({"variant": "oymak", "activation": "elu"}, ValueError, "activation must be one of"),
        ({"variant": "oymak", "generator": "seed"}, TypeError, "generator must be a torch"),
    ],
)
def test_two_layer_bad_inputs(kwargs, exc, match, gen):
    args = {"d_in": 3, "width": 4, "generator": gen} | kwargs
    with pytest.raises(exc, match=match):
        TwoLayerNet(**args)


# --------------------------------------------------------------------------- torch.func

def test_models_work_under_vmap(gen):
    x = torch.randn(4, 3, generator=gen, dtype=F64)
    y = torch.randn(4, 1, generator=gen, dtype=F64)
    for net in (MLP(3, 5, 2, 1, generator=gen, activation="softplus"),
                TwoLayerNet(3, 5, generator=gen, variant="li-liang"),
                DeepReLUNet(3, 5, 2, 1, generator=gen),
                LinearModel(3, generator=gen)):
        flat, _ = _per_example_grads(net, x, y)
        for i in range(2):
            net.zero_grad()
            (0.5 * (net(x[i:i + 1]) - y[i]).pow(2).sum()).backward()
            want = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
            torch.testing.assert_close(flat[i], want)


# --------------------------------------------------------------------------- determinism

FACTORIES = {
    "linear": lambda g: LinearModel(4, 2, generator=g),
    "mlp": lambda g: MLP(4, 6, 2, 1, generator=g, init="orthogonal"),
    "li-liang": lambda g: TwoLayerNet(4, 6, generator=g, variant="li-liang", d_out=3),
    "oymak": lambda g: TwoLayerNet(4, 6, generator=g, variant="oymak"),
    "deep": lambda g: DeepReLUNet(4, 6, 2, 2, generator=g),
    "cnn": lambda g: SmallCNN(generator=g, width=4),
    "wrn": lambda g: WideResNet(10, 1, generator=g),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_same_seed_same_model_and_no_global_rng(name):
    state = torch.get_rng_state()
    a = FACTORIES[name](make_generator(11)).state_dict()
    b = FACTORIES[name](make_generator(11)).state_dict()
    c = FACTORIES[name](make_generator(12)).state_dict()
    assert torch.equal(state, torch.get_rng_state()), "constructor used the global generator"
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


# --------------------------------------------------------------------------- CNNs

@pytest.mark.parametrize("batch_norm", [False, True])
@pytest.mark.parametrize("skip", [False, True])
def test_cnn_and_wrn_forward_backward(batch_norm, skip, gen):
    x = torch.randn(3, 3, 12, 10, generator=gen)
    for net in (SmallCNN(generator=gen, width=4, depth=2, batch_norm=batch_norm, skip=skip),
                WideResNet(10, 1, generator=gen, batch_norm=batch_norm, skip=skip)):
        out = net(x)
        assert out.shape == (3, 10) and out.dtype == torch.float32
        torch.nn.functional.cross_entropy(out, torch.tensor([0, 1, 2])).backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
        has_bn = any(isinstance(mod, torch.nn.BatchNorm2d) for mod in net.modules())
        assert has_bn == batch_norm
        conv_bias = [mod.bias is not None for mod in net.modules()
                     if isinstance(mod, torch.nn.Conv2d)]
        assert all(conv_bias[1:]) == (not batch_norm)  # biases exactly without batch norm
        net.eval()
        assert net(x[:1]).shape == (1, 10)


def test_wrn_parameter_count_closed_form(gen):
    # WRN-16-2 (N = 2): stem 3*9*16; group widths 32, 64, 128; block = two 3x3 convs, plus a
    # 1x1 projection in the first block of each group (16 -> 32 also changes width); BN has
    # 2 parameters per channel (bn1 on the block input, bn2 on its output, final bn).
    k, N, widths = 2, 2, [16, 32, 64, 128]
    total = 3 * 9 * 16
    for g in range(3):
        for b in range(N):
            c_in, c_out = (widths[g] if b == 0 else widths[g + 1]), widths[g + 1]
            total += 9 * c_in * c_out + 9 * c_out * c_out + 2 * c_in + 2 * c_out
            if b == 0:
                total += c_in * c_out
    total += 2 * 128 + 128 * 10 + 10
    assert count_parameters(WideResNet(16, k, generator=gen)) == total
    # [L] Section 7: the smallest width-experiment net, WRN-28-1, has "approximately 0.37
    # million parameters"; 369 498 is also the count of the reference PyTorch WRN code.
    assert count_parameters(WideResNet(28, 1, generator=gen)) == 369_498
    plain = WideResNet(16, k, generator=gen, batch_norm=False, skip=False)
    convs = [mod for mod in plain.modules() if isinstance(mod, torch.nn.Conv2d)]
    assert len(convs) == 1 + 6 * N  # depth 6N + 4 minus the 3 projections and the classifier


@pytest.mark.parametrize(
    "factory,exc,match",
    [
        (lambda g: WideResNet(11, 1, generator=g), ValueError, "depth must be 6N"),
        (lambda g: WideResNet(4, 1, generator=g), ValueError, "depth must be an integer >= 10"),
        (lambda g: WideResNet(10, 0, generator=g), ValueError, "width_factor must be"),
        (lambda g: WideResNet(10, 1, generator=g, skip=None), TypeError, "skip must be"),
        (lambda g: WideResNet(10, 1, generator="g"), TypeError, "generator must be"),
        (lambda g: SmallCNN(generator=g, width=0), ValueError, "width must be an integer"),
        (lambda g: SmallCNN(generator=g, depth=0), ValueError, "depth must be an integer"),
        (lambda g: SmallCNN(generator=g, init="normal"), ValueError, "init must be one of"),
        (lambda g: SmallCNN(generator=g, batch_norm=1), TypeError, "batch_norm must be"),
        (lambda g: SmallCNN(generator=3.0), TypeError, "generator must be"),
    ],
)
def test_cnn_bad_construction(factory, exc, match, gen):
    with pytest.raises(exc, match=match):
        factory(gen)


def test_cnn_bad_images(gen):
    with pytest.raises(ValueError, match="depth must be 6N"):
        WideResNet(22 + 1, 2, generator=gen)
    with pytest.raises(ValueError, match="d_out must be an integer >= 1"):
        SmallCNN(3, 0, generator=gen)
    net, wrn = SmallCNN(generator=gen, width=4), WideResNet(10, 1, generator=gen)
    with pytest.raises(ValueError, match="at least 8 x 8"):
        net(torch.zeros(1, 3, 7, 9))
    with pytest.raises(ValueError, match="must have 3 channels"):
        wrn(torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="must have 4 dimensions"):
        wrn(torch.zeros(3, 8, 8))


# --------------------------------------------------------------------------- count_parameters

def test_count_parameters(gen):
    net = MLP(3, 4, 2, 1, generator=gen, bias=True)
    assert count_parameters(net) == (3 * 4 + 4) + (4 * 4 + 4) + (4 + 1)
    net.linears[0].weight.requires_grad_(False)
    assert count_parameters(net) == count_parameters(net, trainable_only=False) - 12
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        count_parameters([torch.zeros(3)])
    with pytest.raises(TypeError, match="trainable_only must be True or False"):
        count_parameters(net, trainable_only="yes")
