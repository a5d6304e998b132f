r"""Per-example gradients, gradient Gram and cosine matrices, Jacobians and the empirical NTK.

The central measurement of the book is the matrix of gradient inner products

.. math:: G_{ij} = \langle \nabla_{\mathbf w} \ell_i(\mathbf w),
   \nabla_{\mathbf w} \ell_j(\mathbf w)\rangle,
   \qquad \ell_i(\mathbf w) = \mathrm{loss}(f_{\mathbf w}(\mathbf x_i), y_i),

whose off-diagonal entries define gradient confusion (Sankararaman et al., Definition 2.1),
and the neural tangent kernel :math:`\Theta(\mathbf x_i, \mathbf x_j) = J(\mathbf x_i)
J(\mathbf x_j)^\top` of the network outputs (Jacot et al.; the Jacobian
:math:`\mathcal J(\mathbf W)`
of Oymak & Soltanolkotabi, Section 6; the Gram matrix :math:`\mathbf H` of Du et al.).

Gradients are taken with respect to the **trainable** parameters only (``requires_grad=True``),
in the order of ``model.named_parameters()``; frozen parameters are constants. Two exact
methods compute the Gram matrices:

``"layerwise"``
    Exact, from ONE batched forward pass and one backward pass (one per output coordinate for
    :func:`ntk_gram`), for networks whose trainable parameters sit in ``nn.Linear``,
    ``nn.Conv2d`` and eval-mode ``nn.BatchNorm1d/2d`` layers. Forward hooks record each layer's
    input; the backward pass of :math:`\sum_i \ell_i` gives every example's output gradient
    :math:`\boldsymbol\delta_i = \partial \ell_i / \partial \mathbf z_i` at once, because
    :math:`\ell_i` depends on example :math:`i` only.

    * Dense layer :math:`\mathbf z_i = \mathbf W \mathbf a_i + \mathbf b`:
      :math:`\nabla_{\mathbf W}\ell_i = \boldsymbol\delta_i \mathbf a_i^\top`, so
      :math:`\langle\nabla_{\mathbf W}\ell_i, \nabla_{\mathbf W}\ell_j\rangle =
      \langle\boldsymbol\delta_i,\boldsymbol\delta_j\rangle\langle\mathbf a_i,\mathbf a_j\rangle`
      (plus :math:`\langle\boldsymbol\delta_i,\boldsymbol\delta_j\rangle` for the bias), summed
      over layers (eq. (15) of the long version of Sankararaman et al.); cost
      :math:`O(n^2 (d_{l-1} + d_l))` per layer, no per-example gradient is formed.
    * Convolution (and a dense layer applied to ``(n, ..., d_in)``) with :math:`P` output
      positions: :math:`\nabla_{\mathbf W}\ell_i = \Delta_i U_i^\top` with
      :math:`\Delta_i \in \mathbb R^{C_{out}\times P}` the output gradients and
      :math:`U_i \in \mathbb R^{C_{in}k^2 \times P}` the input patches (stride, zero padding,
      dilation and groups honoured). Either the per-example weight gradients are formed
      (:math:`n\,C_{out} C_{in} k^2 P` flops, :math:`n\,C_{out} C_{in} k^2` numbers) and their Gram
      accumulated, or the kernel trick :math:`\langle\nabla_{\mathbf W}\ell_i,
      \nabla_{\mathbf W}\ell_j\rangle = \sum_{p,q}\langle\boldsymbol\delta_{ip},
      \boldsymbol\delta_{jq}\rangle\langle\mathbf u_{ip},\mathbf u_{jq}\rangle` is used
      (:math:`n^2 P^2 (C_{out} + C_{in}k^2)` flops), whichever costs fewer flops; bias:
      :math:`\sum_p \boldsymbol\delta_{ip}`. The per-example weight gradients are formed
      either by batched products of the patches (float64, SSE-only CPUs, layers with few input
      channels) or, where it was measured faster (float32 with AVX2/AVX-512 kernels and at
      least 8 input channels per group), as one grouped convolution whose groups are the
      examples: oneDNN's kernel, the one ``torch.func.vmap`` uses. A fixed rule, never a
      timing, so the result does not depend on the machine's load.
    * On the CPU the batched pass runs in chunks of examples whose largest layer activation
      fits in 4 MiB (the cache), and per-example gradients are formed chunk by chunk when all
      of them fit in ``max_memory_bytes``; a batch whose activations fit is one chunk.
    * Batch norm in eval mode, :math:`z = \gamma \hat x + \beta` with
      :math:`\hat x = (x - \mu_{run})/\sqrt{\sigma^2_{run} + \epsilon}`: per-example gradients
      :math:`\sum_p \delta_{ip}\hat x_{ip}` and :math:`\sum_p \delta_{ip}` per channel.

    Parameter-free modules of any kind may sit in between (activations, pooling, skip
    connections, custom ``forward`` code). Requirements, checked at run time: every trainable
    parameter belongs to one of the supported layers, each such layer runs exactly once per
    forward pass on an ``(n, ...)`` batch, no in-place operation overwrites a recorded input
    or output, and examples do not interact. Batch norm in training mode (batch statistics)
    is rejected up front; for models containing modules other than ``torch.nn`` containers,
    activations, pooling, dropout, ``Flatten`` and the classes of :mod:`helpers.models`, the
    output of example 0 computed alone is compared with its output in the batch (a cheap guard
    against ``forward`` code that mixes examples, e.g. through a batch mean). Memory: the
    per-example layer gradients are formed in blocks of examples within ``max_memory_bytes``.

``"vmap"``
    Any architecture (CNNs, batch norm in eval mode): per-example gradients
    :math:`\mathbf g_i \in \mathbb R^p` with ``torch.func.vmap(grad(...))``, accumulated block by
    block, :math:`G_{IJ} = \mathbf g_I \mathbf g_J^\top`, with at most two blocks of
    ``max_memory_bytes`` alive.

``"auto"`` picks ``"layerwise"`` when the model is supported (falling back to ``"vmap"``
when a run-time check fails) and ``"vmap"`` otherwise; an explicit ``method="layerwise"``
raises a ``ValueError`` naming the reason instead. The cost of each method is derived in the
appendix page "Performance notes" of the book.
Models with batch norm using batch statistics, or active dropout, are rejected by every
function here: per-example gradients are not defined for them (call ``model.eval()``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.func import functional_call, grad, jacrev, vmap

from ._validate import (
    _describe,
    check_choice,
    check_deterministic_mode,
    check_int,
    check_module,
    check_real,
    check_tensor,
    trainable_parameters,
)
from .losses import LossFn

__all__ = [
    "per_example_gradients",
    "gradient_gram",
    "cosine_matrix",
    "jacobian",
    "ntk_gram",
    "flat_gradient",
]


_ELEMENTWISE = (
    nn.Identity, nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.GELU, nn.ELU,
    nn.SiLU, nn.CELU, nn.SELU, nn.Mish, nn.Hardtanh, nn.ReLU6, nn.Softsign,
)
_NTK_METHODS = ("auto", "closed", "layerwise", "vmap")
_METHODS = ("auto", "layerwise", "vmap")


# --------------------------------------------------------------------------- validation


def _check_mode(model: nn.Module) -> None:
    check_deterministic_mode(
        model, batch_statistics="each example's loss depends on the whole batch and"
        " per-example gradients are not defined", dropout="per-example gradients would be random")


def _check_model_x(model: object, X: object) -> tuple[nn.Module, torch.Tensor,
                                                       dict[str, torch.Tensor]]:
    model = check_module(model)
    params = trainable_parameters(model)
    _check_mode(model)
    X = check_tensor(X, "X", ndim=(2, 3, 4, 5), floating=True)
    dtype = next(iter(params.values())).dtype
    if X.dtype != dtype:
        raise TypeError(f"X has dtype {X.dtype} but the model's parameters have dtype {dtype};"
                        " convert one of them")
    return model, X, params


def _check_y(y: object, X: torch.Tensor) -> torch.Tensor:
    y = check_tensor(y, "y", ndim=(1, 2), finite=False)
    if y.shape[0] != X.shape[0]:
        raise ValueError("X and y must have the same number of rows (one per example), got"
                         f" {X.shape[0]} and {y.shape[0]}")
    return y


def _check_loss_fn(loss_fn: object) -> LossFn:
    if not callable(loss_fn):
        raise TypeError("loss_fn must be a per-example loss (outputs, targets) -> (n,), such as"
                        f" helpers.losses.squared_loss, got {_describe(loss_fn)}")
    return loss_fn


def _check_losses(losses: object, n: int) -> torch.Tensor:
    if not isinstance(losses, torch.Tensor) or tuple(losses.shape) != (n,):
        raise ValueError(
            f"loss_fn must return one loss per example, shape ({n},), without reduction, got"
            f" {_describe(losses)}"
        )
    return losses


def _check_chunk(chunk_size: object) -> int | None:
    return None if chunk_size is None else check_int(chunk_size, "chunk_size", minimum=1)


def _model_output(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    out = model(X)
    if not isinstance(out, torch.Tensor) or out.dim() == 0 or out.shape[0] != X.shape[0]:
        raise ValueError(f"model(X) must return a tensor with one row per example ({X.shape[0]}),"
                         f" got {_describe(out)}")
    return out


def _gram_tolerance(dtype: torch.dtype) -> float:
    r"""Relative tolerance :math:`\tau = \sqrt{\varepsilon}` of the Gram checks for ``dtype``.

    Documented in :func:`cosine_matrix`.
    """
    return math.sqrt(torch.finfo(dtype).eps)


def _check_gram(gram: object, name: str = "gram") -> torch.Tensor:
    r"""Check that ``gram`` is a Gram matrix :math:`G_{ij} = \langle g_i, g_j\rangle` up to
    round-off, with :math:`\tau` = ``_gram_tolerance(gram.dtype)`` and
    :math:`s_i = \max(\sqrt{G_{ii}}, \sqrt{t})` (:math:`t`: the smallest normal number of the
    dtype, below which a squared norm has no relative precision left):

    1. square, floating, finite;
    2. diagonal :math:`G_{ii} \ge -\tau \max_k G_{kk}` (squared norms);
    3. symmetric: :math:`|G_{ij} - G_{ji}| \le \tau s_i s_j`;
    4. Cauchy-Schwarz: :math:`|G_{ij}| \le (1 + \tau) s_i s_j`;
    5. positive semidefinite: :math:`\lambda_{\min}(\frac12(G + G^\top)) \ge -\tau\sum_k s_k^2`
       (a shifted Cholesky factorisation in float64; the eigenvalue only for the message).

    Errors name the argument, the check and the measured violation. The checks run in float64,
    whatever the dtype of ``gram``, which is returned unchanged.
    """
    gram = check_tensor(gram, name, ndim=2, floating=True)
    n = gram.shape[0]
    if gram.shape[1] != n:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {tuple(gram.shape)}")
    tau = _gram_tolerance(gram.dtype)
    G = gram.detach().to(torch.float64)
    diag = G.diagonal()
    top = max(float(diag.max()), 0.0)
    if float(diag.min()) < -tau * top:
        i = int(diag.argmin())
        raise ValueError(f"{name} must have a non-negative diagonal (squared norms), got"
                         f" {name}[{i}, {i}] = {float(diag[i]):.3g} (tolerance {tau * top:.3g})")
    s = diag.clamp(min=0.0).sqrt().clamp(min=math.sqrt(torch.finfo(gram.dtype).tiny))
    scale = s[:, None] * s[None, :]
    asym = (G - G.T).abs() / scale
    if float(asym.max()) > tau:
        i, j = divmod(int(asym.argmax()), n)
        raise ValueError(
            f"{name} must be symmetric (a Gram matrix): |G[{i}, {j}] - G[{j}, {i}]| ="
            f" {float((G[i, j] - G[j, i]).abs()):.3g} is {float(asym[i, j]):.3g} times"
            f" sqrt(G[{i}, {i}] G[{j}, {j}]), more than the tolerance {tau:.3g}")
    ratio = G.abs() / scale
    ratio.diagonal().zero_()
    if n > 1 and float(ratio.max()) > 1.0 + tau:
        i, j = divmod(int(ratio.argmax()), n)
        raise ValueError(
            f"{name} is not a Gram matrix: the Cauchy-Schwarz inequality |G[{i}, {j}]| <="
            f" sqrt(G[{i}, {i}] G[{j}, {j}]) fails by a factor {float(ratio[i, j]):.6g}"
            f" (tolerance 1 + {tau:.3g}): a cosine would exceed 1 in absolute value")
    sym = 0.5 * (G + G.T)
    shift = tau * float((s * s).sum())
    eye = torch.eye(n, dtype=torch.float64, device=G.device)
    if n > 1 and int(torch.linalg.cholesky_ex(sym + shift * eye).info) != 0:
        lam = float(torch.linalg.eigvalsh(sym)[0])
        if lam < -shift:
            raise ValueError(
                f"{name} must be positive semidefinite (a Gram matrix), got smallest eigenvalue"
                f" {lam:.3g}, below the tolerance -{shift:.3g} (= -{tau:.3g} times the trace)")
    return gram


# --------------------------------------------------------------------------- structure

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)
_PATCH_CACHE_BYTES = 2**23   # im2col patches formed per block of examples (8 MiB: stays in cache)
_LAYERS = (nn.Linear, nn.Conv2d, *_NORMS)
_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool1d,
          nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)
_SAFE = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.modules.dropout._DropoutNd, *_POOLS,
         *_ELEMENTWISE)


class _Unsupported(ValueError):
    """The layer-wise path cannot handle this model (``method="auto"`` falls back to vmap)."""


def _unsupported(reason: str) -> _Unsupported:
    return _Unsupported(f"method='layerwise' cannot handle this model: {reason}. Supported: every"
                        " trainable parameter in an nn.Linear, nn.Conv2d (zero padding given as"
                        " integers) or eval-mode nn.BatchNorm1d/2d, each called once per forward"
                        " on the whole batch, examples not interacting; use method='vmap'")


def _per_example_known(m: nn.Module) -> bool:
    r"""Modules whose forward is known to treat the examples (dimension 0) independently."""
    if isinstance(m, nn.Flatten):
        return m.start_dim > 0          # start_dim 0 (or negative) may merge the examples
    return isinstance(m, (*_SAFE, *_LAYERS)) or type(m).__module__ == "helpers.models"


def _layer_plan(model: nn.Module) -> tuple[list[nn.Module], bool]:
    r"""The trainable layers for the layer-wise path, and whether the mixing guard must run.

    Raises ``_Unsupported`` with the reason when a trainable parameter sits elsewhere.
    """
    layers, guard = [], False
    for name, m in model.named_modules():
        trainable = any(p.requires_grad for p in m.parameters(recurse=False))
        label = f"{name or 'model'} ({type(m).__name__})"
        if isinstance(m, _LAYERS):
            if not trainable:
                continue
            if isinstance(m, nn.Conv2d) and (m.padding_mode != "zeros"
                                             or isinstance(m.padding, str)):
                raise _unsupported(f"{label} uses padding {m.padding!r} with padding_mode"
                                   f" {m.padding_mode!r}")
            layers.append(m)
        elif trainable:
            raise _unsupported(f"{label} holds trainable parameters of its own")
        elif not _per_example_known(m):
            guard = True
    if not layers:
        raise _unsupported("no trainable layer")
    return layers, guard


def _resolve_method(model: nn.Module, method: object) -> tuple[str, tuple | None]:
    r"""``("layerwise", (layers, guard))`` or ``("vmap", None)``."""
    method = check_choice(method, "method", _METHODS)
    if method == "vmap":
        return method, None
    try:
        return "layerwise", _layer_plan(model)
    except _Unsupported:
        if method == "auto":
            return "vmap", None
        raise


def _forward_records(model: nn.Module, layers: list[nn.Module], X: torch.Tensor):
    r"""Run ``model(X)`` recording the input ``a`` and output ``z`` of every trainable layer."""
    records: dict[int, list] = {k: [] for k in range(len(layers))}

    def make_hook(k: int):
        def hook(module, inputs, output):
            a = inputs[0].detach()
            records[k].append((a, output, a._version, output._version))
        return hook

    handles = [layer.register_forward_hook(make_hook(k)) for k, layer in enumerate(layers)]
    try:
        out = _model_output(model, X)
    finally:
        for h in handles:
            h.remove()
    n = X.shape[0]
    result = []
    for k, layer in enumerate(layers):
        label = f"layer {k} ({type(layer).__name__})"
        if len(records[k]) != 1:
            raise _unsupported(f"{label} ran {len(records[k])} times in one forward pass, not"
                               " exactly once")
        a, z, _, _ = records[k][0]
        if a.dim() < 2 or a.shape[0] != n or z.shape[0] != n:
            raise _unsupported(f"{label} received shape {tuple(a.shape)}, not (n = {n}, ...)")
        result.append((layer, a, z))
    return out, result, records


def _check_versions(records: dict[int, list]) -> None:
    for k, rec in records.items():
        a, z, va, vz = rec[0]
        if a._version != va or z._version != vz:
            raise _unsupported(f"an in-place operation modified the input or output of layer {k}")


def _check_independent(model: nn.Module, X: torch.Tensor, out: torch.Tensor) -> None:
    r"""Guard against forwards that mix examples: example 0 alone must give the same output."""
    if X.shape[0] < 2:
        return
    with torch.no_grad():
        alone = _model_output(model, X[:1])
    ref = out[:1].detach()
    tol = 1e3 * torch.finfo(ref.dtype).eps * (1.0 + float(ref.abs().max()))
    if alone.shape != ref.shape or float((alone - ref).abs().max()) > tol:
        raise _unsupported("the output of example 0 changes when it is passed alone, so the"
                           " forward pass mixes examples")


# --------------------------------------------------------------------------- layer-wise kernels


def _layer_operands(layer: nn.Module, a: torch.Tensor, d: torch.Tensor):
    r"""Linear/conv layer as ``(A_fn, Delta, groups)``.

    ``A_fn(slice) -> (b, g, D_g, P)``: input patches (the unfolded input for a convolution, the
    input rows for a linear layer applied to ``(n, ..., d_in)``); ``Delta``: ``(c, n, g, O_g,
    P)``, the output gradients; so that the per-example weight gradient of group ``g`` is
    ``Delta_ig A_ig^T`` (shape ``(O_g, D_g)``, the layout of ``layer.weight``).
    """
    c, n = d.shape[0], d.shape[1]
    if isinstance(layer, nn.Linear):
        D = a.shape[-1]
        A = a.reshape(n, -1, D).transpose(1, 2).unsqueeze(1)                # (n, 1, D, P)
        Delta = d.reshape(c, n, -1, d.shape[-1]).transpose(-1, -2).unsqueeze(2)
        return (lambda sl: A[sl]), Delta, 1
    g = layer.groups

    def A_fn(sl: slice) -> torch.Tensor:
        U = _unfold(a[sl], layer, d.shape[-2:])                               # (b, C k^2, P)
        return U.reshape(U.shape[0], g, -1, U.shape[-1])

    Delta = d.reshape(c, n, g, layer.out_channels // g, -1)
    return A_fn, Delta, g


def _unfold(a: torch.Tensor, conv: nn.Conv2d, out_hw: tuple[int, int],
            out: torch.Tensor | None = None) -> torch.Tensor:
    r"""Input patches ``(b, C k_h k_w, P)`` of a convolution (as ``nn.functional.unfold``).

    Built as a strided view of the zero-padded input and copied once (into ``out`` when given),
    which is several times faster on the CPU than ``unfold`` (im2col).
    """
    (ph, pw), (sh, sw), (dh, dw) = conv.padding, conv.stride, conv.dilation
    kh, kw = conv.kernel_size
    ap = (nn.functional.pad(a, (pw, pw, ph, ph)) if ph or pw else a).contiguous()
    b, C = ap.shape[:2]
    s_n, s_c, s_h, s_w = ap.stride()
    view = ap.as_strided((b, C, kh, kw, *out_hw),
                         (s_n, s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w))
    if out is None:
        return view.reshape(b, C * kh * kw, out_hw[0] * out_hw[1])
    out.view(view.shape).copy_(view)
    return out


def _conv_features(layer: nn.Conv2d, a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    r"""Per-example weight gradients of a convolution, ``(b, c, numel(weight))``: by one grouped
    convolution where :func:`_grouped_conv_wins`, else by batched products.

    ``a``: the layer input ``(b, C, H, W)``; ``d``: output gradients ``(c, b, O, H', W')``.
    """
    if _grouped_conv_wins(layer, a):
        return _grouped_conv_features(layer, a, d)
    return _product_conv_features(layer, a, d)


def _product_conv_features(layer: nn.Conv2d, a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    r"""Per-example weight gradients of a convolution by batched products of the input patches.

    Coordinates come in an order that differs from ``layer.weight`` (irrelevant for inner
    products). Stride 1: for each kernel offset :math:`t`, :math:`\nabla_{W_t}\ell_i =
    \Delta_i S_{t,i}` where :math:`S_{t,i}` (positions x channels) is a contiguous window of the
    zero-padded, channels-last input, flattened with the padded width so that no patch matrix
    is copied (the output gradients get zero columns on the padded width). Other strides, and
    layers with fewer than 32 input channels per group (where the :math:`k_hk_w` small products
    cost more than one copy of the patches; 25 % faster on LeNet-5), form the patch matrix with
    :func:`_unfold` and use one batched product, in blocks of examples whose patches fit in
    ``_PATCH_CACHE_BYTES`` (so the product reads them from the cache, not from memory).
    """
    c, b, O, Ho, Wo = d.shape
    g = layer.groups
    if layer.stride != (1, 1) or layer.in_channels // g < 32:
        D, P = a.shape[1] * math.prod(layer.kernel_size), Ho * Wo
        step = min(b, max(1, _PATCH_CACHE_BYTES // (a.element_size() * D * P)))
        patches = a.new_empty(step, D, P)   # one buffer for every block: no fresh pages per block
        out = a.new_empty(b, c, layer.weight.numel())
        for s in range(0, b, step):       # the patches of `step` examples stay in the cache
            m = min(step, b - s)
            U = _unfold(a[s:s + m], layer, (Ho, Wo), out=patches[:m]).reshape(m, g, D // g, P)
            Delta = d[:, s:s + m].reshape(c, m, g, O // g, P)
            out[s:s + m] = torch.matmul(Delta, U.transpose(-1, -2)).transpose(0, 1).reshape(
                m, c, -1)
        return out
    (ph, pw), (dh, dw), (kh, kw) = layer.padding, layer.dilation, layer.kernel_size
    ap = nn.functional.pad(a, (pw, pw, ph, ph + 1))          # one spare row for the last window
    Wp = ap.shape[3]
    C = ap.shape[1]
    rows = ap.permute(0, 2, 3, 1).reshape(b, -1, C)          # (b, positions, C), channels-last
    L = Ho * Wp
    dp = nn.functional.pad(d, (0, Wp - Wo)).reshape(c, b, g, O // g, L)
    Cg = C // g
    buf = a.new_empty(g, kh * kw, c, b, O // g, Cg)
    for gi in range(g):
        for t in range(kh * kw):
            s = (t // kw) * dh * Wp + (t % kw) * dw
            torch.matmul(dp[:, :, gi], rows[:, s:s + L, gi * Cg:(gi + 1) * Cg], out=buf[gi, t])
    return buf.permute(3, 2, 0, 1, 4, 5).reshape(b, c, -1)


def _grouped_conv_features(layer: nn.Conv2d, a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    r"""Per-example weight gradients of a convolution as ONE grouped convolution backward.

    The examples become groups: the input ``(1, b C, H, W)``, the output gradients
    ``(1, b O, H', W')`` and ``b g`` groups give the weight gradient ``(b O, C/g, k_h, k_w)``,
    i.e. the ``b`` per-example gradients in the layout of ``layer.weight``. This is the kernel
    ``torch.func.vmap`` uses for a convolution; oneDNN runs it faster than the products of
    :func:`_product_conv_features` where it has AVX2 or AVX-512 and the layer is wide (see
    :func:`_grouped_conv_wins`). One call per output scalar (``c`` of them).
    """
    c, b, O, Ho, Wo = d.shape
    size = (b * O, layer.in_channels // layer.groups, *layer.kernel_size)
    x = a.reshape(1, -1, *a.shape[2:])
    out = a.new_empty(b, c, layer.weight.numel())
    for k in range(c):
        out[:, k] = torch.nn.grad.conv2d_weight(
            x, size, d[k].reshape(1, b * O, Ho, Wo), layer.stride, layer.padding,
            layer.dilation, b * layer.groups).reshape(b, -1)
    return out


_GROUPED_CONV_ISAS = ("AVX2", "AVX512")   # PyTorch kernel levels where oneDNN's kernel wins
_GROUPED_CONV_MIN_CHANNELS = 8             # input channels per group below which it loses


def _grouped_conv_wins(layer: nn.Conv2d, a: torch.Tensor) -> bool:
    r"""Whether :func:`_grouped_conv_features` is the faster way to form per-example conv
    gradients: on the CPU, in float32, with AVX2 or AVX-512 kernels, for layers with at least 8
    input channels per group. A fixed rule, not a timing, so that the result never depends on
    the machine's load.

    Measured per layer (``benchmarks/bench_conv_kernels.py``: products / grouped time, 1 and 2
    threads, 9 shapes): 3x3 convs of 8 to 64 channels 1.3-2.0 with AVX2/AVX-512 kernels, but
    0.82-0.99 with SSE only; layers with 3 or 6 input channels (a stem, LeNet-5) 0.38-0.8
    everywhere; in float64 (no oneDNN kernel) 0.57-1.31 with no pattern, so float64 keeps the
    products.
    """
    return (a.device.type == "cpu" and a.dtype == torch.float32
            and layer.in_channels // layer.groups >= _GROUPED_CONV_MIN_CHANNELS
            and torch.backends.cpu.get_cpu_capability() in _GROUPED_CONV_ISAS)


def _use_kernel(n: int, c: int, g: int, O_g: int, D_g: int, P: int) -> bool:
    r"""Whether the kernel trick costs fewer flops than forming per-example weight gradients.

    Forming: :math:`n c\,O D P` (the products :math:`\Delta_i U_i^\top`) plus
    :math:`(nc)^2 O D` (their Gram); kernel: :math:`n^2 P^2 (c^2 (O + g) + g D)` (the two
    position Grams and their contraction); :math:`O = g O_g`, :math:`D = D_g` per group.
    """
    materialise = n * c * g * O_g * D_g * (P + n * c)
    kernel = n * n * g * P * P * (c * c * (O_g + 1) + D_g)
    return kernel < materialise


def _layer_features(layer: nn.Module, a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    r"""Per-example weight gradients ``(b, c, numel(weight))`` of a dense or conv layer."""
    if isinstance(layer, nn.Conv2d):
        return _conv_features(layer, a, d)
    A_fn, Delta, _ = _layer_operands(layer, a, d)
    Gw = torch.matmul(Delta, A_fn(slice(None)).transpose(-1, -2))          # (c, b, 1, O, D)
    return Gw.transpose(0, 1).reshape(a.shape[0], d.shape[0], -1)


def _weight_term(layer: nn.Module, parts: list, K: torch.Tensor, budget: int) -> None:
    r"""Add :math:`\langle \nabla_W f_{ik}, \nabla_W f_{jl}\rangle` to ``K`` (n, c, n, c).

    ``parts``: the layer's inputs ``a`` and output gradients ``d`` chunk by chunk of examples.
    Chooses by flop count between materialising the per-example weight gradients
    (:math:`n c\, O D P` to form, :math:`(nc)^2 O D` for their Gram) and the kernel trick
    :math:`\sum_{p,q}\langle\delta_{ip},\delta_{jq}\rangle\langle u_{ip},u_{jq}\rangle`
    (:math:`n^2 P^2 (c^2 O + D)`), in blocks of examples within ``budget`` bytes. Per-example
    gradients are formed chunk by chunk (while the chunk's activations are in the cache) when
    all of them fit in ``budget``.
    """
    _, Delta, g = _layer_operands(layer, *parts[0])
    c, _, _, O_g, P = Delta.shape
    n = sum(a.shape[0] for a, _ in parts)
    D_g = layer.weight.shape[1] * math.prod(layer.weight.shape[2:])
    itemsize = K.element_size()
    use_kernel = _use_kernel(n, c, g, O_g, D_g, P)
    if not use_kernel and len(parts) > 1 and n * c * layer.weight.numel() * itemsize <= budget:
        flat = torch.cat([_layer_features(layer, a, d) for a, d in parts]).reshape(n * c, -1)
        K += (flat @ flat.T).reshape(n, c, n, c)
        return
    a = torch.cat([a for a, _ in parts]) if len(parts) > 1 else parts[0][0]
    d = torch.cat([d for _, d in parts], dim=1) if len(parts) > 1 else parts[0][1]
    A_fn, Delta, g = _layer_operands(layer, a, d)
    if not use_kernel:
        per_example = itemsize * g * (c * O_g * D_g + D_g * P)
        block = max(1, budget // per_example)
        K += _blocked_gram(lambda sl: _layer_features(layer, a[sl], d[:, sl]), n, block)
        return
    if P == 1:      # dense layer on (n, d_in): (Delta Delta^T) * (A A^T), as plain matmuls
        A = A_fn(slice(0, n))[..., 0]                                       # (n, g, D_g)
        for gi in range(g):
            dflat = Delta[:, :, gi, :, 0].transpose(0, 1).reshape(n * c, O_g)
            aa = A[:, gi] @ A[:, gi].T
            K += (dflat @ dflat.T).reshape(n, c, n, c) * aa[:, None, :, None]
        return
    block = max(1, math.isqrt(max(1, budget // (itemsize * g * P * P * (c * c + 1)))))
    for I in _slices(n, block):
        AI, DI = A_fn(I), Delta[:, I]
        for J in _slices(n, block):
            AA = torch.einsum("igdp,jgdq->ijgpq", AI, A_fn(J))
            DD = torch.einsum("kigop,ljgoq->ikjlgpq", DI, Delta[:, J])
            K[I, :, J, :] += (DD * AA[:, None, :, None]).sum(dim=(-3, -2, -1))


def _small_features(layer: nn.Module, a: torch.Tensor, d: torch.Tensor) -> list[torch.Tensor]:
    r"""Per-example gradients ``(n, c, f)`` of biases and batch-norm affine parameters."""
    c, n = d.shape[0], d.shape[1]
    feats = []
    if isinstance(layer, _NORMS):
        dims = tuple(range(3, d.dim()))
        shape = (1, -1) + (1,) * (a.dim() - 2)
        xhat = (a - layer.running_mean.reshape(shape)) / torch.sqrt(
            layer.running_var.reshape(shape) + layer.eps)
        if layer.weight is not None and layer.weight.requires_grad:
            feats.append((d * xhat).sum(dim=dims) if dims else d * xhat)
        if layer.bias is not None and layer.bias.requires_grad:
            feats.append(d.sum(dim=dims) if dims else d)
    elif layer.bias is not None and layer.bias.requires_grad:
        if isinstance(layer, nn.Linear):
            feats.append(d.reshape(c, n, -1, d.shape[-1]).sum(dim=2))
        else:
            feats.append(d.reshape(c, n, d.shape[2], -1).sum(dim=-1))
    return [f.transpose(0, 1) for f in feats]


_CHUNK_ACTIVATION_BYTES = 2**22   # largest layer activation of one chunk of the batched pass
_MIN_CHUNK = 8                    # fewest examples per chunk


def _records_chunk(model: nn.Module, layers: list[nn.Module], X: torch.Tensor, sl: slice,
                   scalars, guard: bool):
    r"""One chunk ``X[sl]`` of the batched pass: ``(out, [(layer, a, d or None)])``, ``d`` the
    output gradients ``(c, b, ...)`` of the chunk's ``c`` scalars (None: the layer does not
    influence them)."""
    Xs = X[sl]
    with torch.enable_grad():
        out, recs, raw = _forward_records(model, layers, Xs)
        values = scalars(out, sl)
        zs = [z for _, _, z in recs]
        backs = [torch.autograd.grad(v.sum(), zs, retain_graph=k < len(values) - 1,
                                     allow_unused=True) for k, v in enumerate(values)]
    _check_versions(raw)
    if guard:
        _check_independent(model, Xs, out)
    result = []
    for idx, (layer, a, z) in enumerate(recs):
        ds = [b[idx] for b in backs]
        if all(dk is None for dk in ds):
            result.append((layer, a, None))
            continue
        ds = [torch.zeros_like(z) if dk is None else dk.detach() for dk in ds]
        result.append((layer, a, ds[0].unsqueeze(0) if len(ds) == 1 else torch.stack(ds)))
    return out.detach(), result, len(values)


def _activation_bytes(model: nn.Module, layers: list[nn.Module], x: torch.Tensor) -> int:
    r"""Bytes of the largest input or output of a trainable layer for the examples ``x`` (0 when
    the model cannot run on them alone: then the batch is not chunked)."""
    sizes = [0]

    def hook(module, inputs, output):
        sizes.append(max(inputs[0].numel() * inputs[0].element_size(),
                         output.numel() * output.element_size()))

    handles = [layer.register_forward_hook(hook) for layer in layers]
    try:
        with torch.no_grad():
            model(x)
    except Exception:   # noqa: BLE001 - the real pass raises its own, better error
        return 0
    finally:
        for h in handles:
            h.remove()
    return max(sizes)


def _layerwise(model: nn.Module, plan: tuple, X: torch.Tensor, scalars, budget: int):
    r"""``(out, K)`` with ``K[i, k, j, l] = <grad s_ik, grad s_jl>`` over the trainable layers.

    ``scalars(out, sl)`` returns the ``c`` per-example quantities of the examples ``X[sl]``
    (whose outputs are ``out``) as a list of ``(b,)`` tensors (the losses, or the output
    coordinates); each gets one backward pass of its sum, which gives every example's output
    gradients ``delta`` at once because example ``i``'s quantity depends on example ``i`` only.
    The batched pass runs in chunks of examples whose largest layer activation stays within
    ``_CHUNK_ACTIVATION_BYTES`` (4 MiB, so that it stays in the cache; 15-20 % faster on a
    CNN with 32 x 32 x 32 activations per example), sized by a forward pass of one example; a
    batch whose activations fit is one chunk, and so is every batch on a GPU (not measured
    there: small chunks would mostly add kernel launches).
    """
    layers, guard = plan
    n = X.shape[0]
    size = n
    if n > _MIN_CHUNK and X.device.type == "cpu":   # a GPU's cache and launch costs differ
        per_example = _activation_bytes(model, layers, X[:1])
        if per_example:
            size = max(_MIN_CHUNK, _CHUNK_ACTIVATION_BYTES // per_example)
    chunks = [_records_chunk(model, layers, X, sl, scalars, guard and k == 0)
              for k, sl in enumerate(_slices(n, size))]
    out = torch.cat([o for o, _, _ in chunks]) if len(chunks) > 1 else chunks[0][0]
    c = chunks[0][2]
    dtype = next((d.dtype for _, _, d in chunks[0][1] if d is not None), out.dtype)
    K = X.new_zeros(n, c, n, c, dtype=dtype)
    small = []
    for idx, (layer, _, d) in enumerate(chunks[0][1]):
        if d is None:
            continue
        parts = [(recs[idx][1], recs[idx][2]) for _, recs, _ in chunks]
        small += [torch.cat(f) for f in zip(*(_small_features(layer, a, d) for a, d in parts))]
        if not isinstance(layer, _NORMS) and layer.weight.requires_grad:
            _weight_term(layer, parts, K, budget)
    if small:
        flat = torch.cat(small, dim=2).reshape(n * c, -1)
        K += (flat @ flat.T).reshape(n, c, n, c)
    return out, K


# --------------------------------------------------------------------------- vmap kernels


def _slices(n: int, size: int) -> list[slice]:
    return [slice(s, min(s + size, n)) for s in range(0, n, size)]


def _per_example(model, loss_fn, params, X, y, chunk_size):
    names = list(params)
    detached = {k: v.detach() for k, v in params.items()}

    def loss_one(p, x, t):
        out = functional_call(model, p, (x.unsqueeze(0),))
        return loss_fn(out, t.unsqueeze(0)).sum()

    per_ex = vmap(grad(loss_one), in_dims=(None, 0, 0))
    n = X.shape[0]
    pieces = []
    for sl in _slices(n, chunk_size or n):
        g = per_ex(detached, X[sl], y[sl])
        b = sl.stop - sl.start
        pieces.append(torch.cat([g[k].reshape(b, -1) for k in names], dim=1))
    return torch.cat(pieces, dim=0)


def _jac(model, params, X, chunk_size):
    names = list(params)
    detached = {k: v.detach() for k, v in params.items()}

    def out_one(p, x):
        return functional_call(model, p, (x.unsqueeze(0),)).reshape(-1)

    jac_fn = vmap(jacrev(out_one), in_dims=(None, 0))
    pieces = []
    for sl in _slices(X.shape[0], chunk_size or X.shape[0]):
        j = jac_fn(detached, X[sl])
        b = sl.stop - sl.start
        c = j[names[0]].shape[1]
        pieces.append(torch.cat([j[k].reshape(b, c, -1) for k in names], dim=2))
    return torch.cat(pieces, dim=0)


def _blocked_gram(features, n: int, block: int) -> torch.Tensor:
    r"""``K[i, k, j, l] = <F_ik, F_jl>`` from ``features(slice) -> (b, c, p)``, block by block.

    At most two blocks of features are alive at any time.
    """
    if block >= n:
        F = features(slice(0, n))
        c = F.shape[1]
        flat = F.reshape(n * c, -1)
        return (flat @ flat.T).reshape(n, c, n, c)
    slices = _slices(n, block)
    K = None
    for a, I in enumerate(slices):
        FI = features(I)
        c = FI.shape[1]
        fi = FI.reshape(-1, FI.shape[2])
        if K is None:
            K = FI.new_zeros(n, c, n, c)
        bi = I.stop - I.start
        K[I, :, I, :] = (fi @ fi.T).reshape(bi, c, bi, c)
        for J in slices[a + 1:]:
            fj = features(J).reshape(-1, fi.shape[1])
            bj = J.stop - J.start
            blk = (fi @ fj.T).reshape(bi, c, bj, c)
            K[I, :, J, :] = blk
            K[J, :, I, :] = blk.permute(2, 3, 0, 1)
            del fj
        del FI, fi
    return K


def _block_size(c: int, p: int, itemsize: int, max_memory_bytes: int) -> int:
    return max(1, max_memory_bytes // (c * p * itemsize))


# --------------------------------------------------------------------------- public API


def per_example_gradients(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor,
                          *, chunk_size: int | None = None) -> torch.Tensor:
    r"""Flattened per-example gradients :math:`\mathbf g_i = \nabla_{\mathbf w}\,
    \mathrm{loss}(f_{\mathbf w}(\mathbf x_i), y_i)`, one row per example.

    Parameters
    ----------
    model : torch.nn.Module
        Network mapping ``X`` (n, ...) to outputs with one row per example. Must not mix
        examples (no batch norm with batch statistics, no active dropout).
    loss_fn : callable
        Per-example loss ``(outputs, targets) -> (n,)`` (see :mod:`helpers.losses`).
    X : torch.Tensor, shape (n, ...)
        Inputs, floating, same dtype as the parameters.
    y : torch.Tensor, shape (n,) or (n, c)
        Targets as ``loss_fn`` expects them.
    chunk_size : int, optional
        Examples per ``vmap`` call (bounds the memory of intermediate activations); all at
        once by default.

    Returns
    -------
    torch.Tensor, shape (n, p)
        Row ``i`` is :math:`\nabla \ell_i` w.r.t. the trainable parameters (``requires_grad``),
        flattened and concatenated in the order of ``model.named_parameters()``; ``p`` is
        their total size. Frozen parameters are excluded.

    References
    ----------
    Sankararaman et al., Definition 2.1: the gradients :math:`\nabla f_i(\mathbf w)` whose
    pairwise inner products define gradient confusion.

    Examples
    --------
    >>> import torch
    >>> from helpers.gradients import per_example_gradients
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.copy_(torch.tensor([[1.0, 0.0]]))
    >>> X = torch.tensor([[1.0, 2.0], [1.0, 1.0]], dtype=torch.float64)
    >>> y = torch.tensor([0.0, 3.0], dtype=torch.float64)
    >>> per_example_gradients(model, squared_loss, X, y)   # (w.x - y) x
    tensor([[ 1.,  2.],
            [-2., -2.]], dtype=torch.float64)
    """
    model, X, params = _check_model_x(model, X)
    loss_fn = _check_loss_fn(loss_fn)
    y = _check_y(y, X)
    chunk_size = _check_chunk(chunk_size)
    with torch.no_grad():
        _check_losses(loss_fn(_model_output(model, X[:2]), y[:2]), min(2, X.shape[0]))
    return _per_example(model, loss_fn, params, X, y, chunk_size)


def gradient_gram(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor, *,
                  method: str = "auto", chunk_size: int | None = None,
                  max_memory_bytes: int = 2**28) -> torch.Tensor:
    r"""Per-example gradient Gram matrix :math:`G_{ij} = \langle\nabla\ell_i, \nabla\ell_j\rangle`.

    Parameters
    ----------
    model, loss_fn, X, y
        As in :func:`per_example_gradients`.
    method : {"auto", "layerwise", "vmap"}
        ``"layerwise"``: exact factorisation from one batched forward and backward pass, for
        networks built from dense, conv and eval-mode batch-norm layers (see the module
        docstring), frozen layers skipped. ``"vmap"``: per-example gradients, any
        architecture. ``"auto"``: layer-wise when supported, else vmap.
    chunk_size : int, optional
        Examples per ``vmap`` call (vmap path only).
    max_memory_bytes : int, default 2**28
        vmap path: per-example gradients are computed in blocks of ``b`` examples with
        ``b * p * itemsize <= max_memory_bytes`` (at least one example); at most two blocks
        are held, and :math:`G_{IJ} = \mathbf g_I \mathbf g_J^\top` is accumulated block pair
        by block pair (recomputing gradients rather than storing all ``n * p`` numbers).
        Layer-wise path: the same bound per layer for the per-example layer gradients (and
        input patches) held at once, on top of the activations of the batched pass.

    Returns
    -------
    torch.Tensor, shape (n, n)
        Symmetric positive semi-definite; dtype and device of the parameters.

    References
    ----------
    Sankararaman et al., Definition 2.1 (gradient inner products
    :math:`\langle\nabla f_i, \nabla f_j\rangle`) and the per-layer decomposition, eq. (15) of
    the long version.

    Examples
    --------
    >>> import torch
    >>> from helpers.gradients import gradient_gram
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.zero_()
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> y = torch.tensor([1.0, -2.0], dtype=torch.float64)
    >>> gradient_gram(model, squared_loss, X, y)   # r_i r_j <x_i, x_j>, orthogonal data
    tensor([[1., 0.],
            [0., 4.]], dtype=torch.float64)
    """
    model, X, params = _check_model_x(model, X)
    loss_fn = _check_loss_fn(loss_fn)
    y = _check_y(y, X)
    chunk_size = _check_chunk(chunk_size)
    max_memory_bytes = check_int(max_memory_bytes, "max_memory_bytes", minimum=1)
    requested = method
    method, plan = _resolve_method(model, method)
    n = X.shape[0]
    if method == "layerwise":
        try:
            _, K = _layerwise(model, plan, X, lambda out, sl: [
                _check_losses(loss_fn(out, y[sl]), out.shape[0])], max_memory_bytes)
        except _Unsupported:
            if requested == "layerwise":
                raise
        else:
            G = K[:, 0, :, 0]
            return 0.5 * (G + G.T)
    with torch.no_grad():
        _check_losses(loss_fn(_model_output(model, X[:2]), y[:2]), min(2, n))  # probe
    p = sum(v.numel() for v in params.values())
    itemsize = next(iter(params.values())).element_size()
    block = _block_size(1, p, itemsize, max_memory_bytes)

    def features(sl: slice) -> torch.Tensor:
        return _per_example(model, loss_fn, params, X[sl], y[sl], chunk_size).unsqueeze(1)

    G = _blocked_gram(features, n, block).reshape(n, n)
    return 0.5 * (G + G.T)


def _raw_cosines(gram: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Cosines :math:`G_{ij}/\sqrt{G_{ii}G_{jj}}` of a VALIDATED Gram matrix, before any clamp,
    and the mask of rows that count as zero (norm ``<= eps`` or squared norm below the smallest
    normal number of the dtype); their cosines are 0."""
    tiny = torch.finfo(gram.dtype).tiny
    diag = gram.diagonal()
    norms = diag.clamp(min=0).sqrt()          # validated: a negative diagonal is round-off
    zero = (norms <= eps) | (diag < tiny)
    safe = torch.where(zero, torch.ones_like(norms), norms)
    C = gram / (safe[:, None] * safe[None, :])
    return torch.where(zero[:, None] | zero[None, :], torch.zeros_like(C), C), zero


def _cosines(gram: torch.Tensor, eps: float) -> torch.Tensor:
    """:func:`cosine_matrix` without the validation (for callers that validated ``gram``)."""
    C, _ = _raw_cosines(gram, eps)
    C = C.clamp(-1.0, 1.0)          # removes at most the validated overshoot tau (+ rounding)
    C.diagonal().fill_(1.0)
    return 0.5 * (C + C.T)


def cosine_matrix(gram: torch.Tensor, *, eps: float = 0.0) -> torch.Tensor:
    r"""Cosine similarities :math:`C_{ij} = G_{ij} / \sqrt{G_{ii} G_{jj}}` of a Gram matrix.

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n)
        Gram matrix :math:`G_{ij} = \langle g_i, g_j\rangle` (e.g. from :func:`gradient_gram`),
        checked first. With :math:`\tau = \sqrt{\varepsilon}` of its dtype (1.5e-8 in float64,
        3.5e-4 in float32: room for the round-off of inner products of long vectors) and
        :math:`s_i = \max(\sqrt{G_{ii}}, \sqrt{t})`, :math:`t` the smallest normal number of
        the dtype, it must satisfy: :math:`G_{ii} \ge -\tau\max_k G_{kk}`;
        :math:`|G_{ij} - G_{ji}| \le \tau s_i s_j`; :math:`|G_{ij}| \le (1 + \tau) s_i s_j`
        (Cauchy-Schwarz); and :math:`\lambda_{\min}(\frac12(G + G^\top)) \ge
        -\tau\sum_k s_k^2` (positive semidefinite). A matrix that fails is not a Gram matrix
        and is refused with a ``ValueError`` naming the check and the measured violation (it
        would otherwise give cosines outside [-1, 1]).
    eps : float, default 0.0
        Rows whose norm :math:`\sqrt{G_{ii}}` is ``<= eps`` count as zero vectors, as do rows
        whose :math:`G_{ii}` is below :math:`t` (no relative precision left).

    Returns
    -------
    torch.Tensor, shape (n, n)
        The cosines, symmetric; the diagonal is 1; a zero row has cosine 0 with every other
        row (never NaN). The only clamp, to [-1, 1], removes the overshoot :math:`\le \tau`
        (plus rounding) that the checks above allow.

    References
    ----------
    Sankararaman et al. (ICML version), Section 8: the normalised gradient confusion condition
    :math:`\langle\nabla f_i, \nabla f_j\rangle / (\|\nabla f_i\|\|\nabla f_j\|) \ge -\eta`,
    the quantity measured in all their experiments.

    Examples
    --------
    >>> import torch
    >>> from helpers.gradients import cosine_matrix
    >>> g = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    >>> cosine_matrix(g @ g.T)
    tensor([[1.0000, 0.7071, 0.0000],
            [0.7071, 1.0000, 0.0000],
            [0.0000, 0.0000, 1.0000]], dtype=torch.float64)
    >>> try:                    # |G_01| > sqrt(G_00 G_11): no vectors have these inner products
    ...     cosine_matrix(torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64))
    ... except ValueError as err:
    ...     print(str(err).split(" (")[0].replace("inequality ", "inequality\n"))
    gram is not a Gram matrix: the Cauchy-Schwarz inequality
    |G[0, 1]| <= sqrt(G[0, 0] G[1, 1]) fails by a factor 2
    """
    gram = _check_gram(gram)
    eps = check_real(eps, "eps", minimum=0.0)
    return _cosines(gram, eps)


def jacobian(model: nn.Module, X: torch.Tensor, *, chunk_size: int | None = None) -> torch.Tensor:
    r"""Per-example Jacobians :math:`J(\mathbf x_i) = \partial f(\mathbf x_i)/\partial\mathbf w`.

    Parameters
    ----------
    model : torch.nn.Module
        Network; its output for one example is flattened to ``c`` numbers.
    X : torch.Tensor, shape (n, ...)
        Inputs.
    chunk_size : int, optional
        Examples per ``vmap`` call.

    Returns
    -------
    torch.Tensor, shape (n, c, p)
        Derivatives of the ``c`` outputs w.r.t. the ``p`` trainable parameters (order of
        ``model.named_parameters()``). For scalar outputs, ``J[:, 0, :]`` is the Jacobian
        :math:`\mathcal J(\mathbf W) \in \mathbb R^{n \times p}` of Oymak & Soltanolkotabi.

    References
    ----------
    Oymak & Soltanolkotabi, Section 6 (the Jacobian of the network mapping and its singular
    values); Jacot et al. (NTK).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradients import jacobian
    >>> model = torch.nn.Linear(2, 1).double()
    >>> X = torch.tensor([[3.0, 4.0]], dtype=torch.float64)
    >>> jacobian(model, X)   # d(w.x + b)/d(w, b) = (x, 1)
    tensor([[[3., 4., 1.]]], dtype=torch.float64)
    """
    model, X, params = _check_model_x(model, X)
    chunk_size = _check_chunk(chunk_size)
    with torch.no_grad():
        _model_output(model, X[:2])
    return _jac(model, params, X, chunk_size)


def ntk_gram(model: nn.Module, X: torch.Tensor, *, output: int | None = None,
             method: str = "auto", per_layer: bool = False, perturbation=None,
             chunk_size: int | None = None, max_memory_bytes: int = 2**28) -> torch.Tensor:
    r"""Empirical NTK :math:`\Theta(\mathbf x_i, \mathbf x_j) = J(\mathbf x_i) J(\mathbf x_j)^\top`.

    The book's one entry point for NTK Gram matrices, of any model. Architectures with a closed
    form (a ``closed_form_ntk(X, *, output, per_layer, perturbation)`` method, e.g. the deep
    ReLU network and the residual network of :mod:`helpers.allen_zhu_li_song`, Fact 2.6) use it;
    every other model goes through the exact layer-wise path or ``torch.func``.

    Parameters
    ----------
    model : torch.nn.Module
        Network; per-example outputs are flattened to ``c`` numbers.
    X : torch.Tensor, shape (n, ...)
        Inputs.
    output : int, optional
        One output coordinate :math:`j`: return :math:`K_j = J_j J_j^\top`, shape (n, n).
        ``None``: all coordinates (see Returns).
    method : {"auto", "closed", "layerwise", "vmap"}
        ``"closed"``: the model's closed form (error if it has none); ``"layerwise"`` (dense,
        conv and eval-mode batch-norm layers, see the module docstring): one forward pass and
        one backward pass per output coordinate, e.g. :math:`\Theta = \sum_l (\mathbf B_l
        \mathbf B_l^\top) \odot (\mathbf A_l \mathbf A_l^\top)` (+ bias terms) for an MLP;
        ``"vmap"``: Jacobians by ``vmap(jacrev)``, block by block; ``"auto"``: the closed form
        when the model has one and one output coordinate is asked for (or the model has one
        output), else layer-wise when supported, else vmap.
    per_layer : bool, default False
        Closed form only: the terms of the sum over trained layers, shape (L, n, n).
    perturbation : list of tensors, optional
        Closed form only: evaluate at perturbed weights (Allen-Zhu et al.'s dynamic NTK).
    chunk_size : int, optional
        Examples per ``vmap`` call (vmap path).
    max_memory_bytes : int, default 2**28
        vmap path: Jacobian blocks of ``b`` examples with ``b * c * p * itemsize`` at most this;
        layer-wise path: the bound for per-example layer Jacobians held at once.

    Returns
    -------
    torch.Tensor
        Shape (n, n) for scalar outputs (``c == 1``) or with ``output``; shape (n, n, c, c)
        otherwise, with ``K[i, j, k, l] = <d f_k(x_i)/dw, d f_l(x_j)/dw>``. Symmetric PSD as an
        (nc, nc) matrix.

    References
    ----------
    Jacot, Gabriel & Hongler (2018), the neural tangent kernel; Oymak & Soltanolkotabi,
    Section 6 (:math:`\mathcal J(\mathbf W)\mathcal J(\mathbf W)^\top`); the Gram matrix
    :math:`\mathbf H` of Du et al. (2019) is this kernel for their two-layer network;
    Allen-Zhu, Li & Song, Section 4.2 and Fact 2.6 (closed form).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradients import ntk_gram
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> X = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    >>> ntk_gram(model, X)   # linear model: X X^T
    tensor([[ 5., 11.],
            [11., 25.]], dtype=torch.float64)
    >>> model2 = torch.nn.Linear(2, 2, bias=False).double()
    >>> ntk_gram(model2, X).shape, ntk_gram(model2, X, output=1).shape
    (torch.Size([2, 2, 2, 2]), torch.Size([2, 2]))
    """
    method = check_choice(method, "method", _NTK_METHODS)
    if not isinstance(per_layer, bool):
        raise TypeError(f"per_layer must be a bool, got {type(per_layer).__name__}")
    if output is not None:
        output = check_int(output, "output", minimum=0)
    closed = getattr(model, "closed_form_ntk", None) if isinstance(model, nn.Module) else None
    if method == "closed" or per_layer or perturbation is not None:
        if closed is None:
            raise ValueError(
                "method='closed', per_layer and perturbation need a model with a closed-form NTK"
                f" (a closed_form_ntk method), got {type(model).__name__}")
        return closed(X, output=0 if output is None else output, per_layer=per_layer,
                      perturbation=perturbation)
    if method == "auto" and closed is not None:
        if output is not None:
            return closed(X, output=output)
        if getattr(model, "d_out", None) == 1:
            return closed(X, output=0)
    K = _generic_ntk(model, X, method, chunk_size, max_memory_bytes)
    if output is None:
        return K
    c = 1 if K.dim() == 2 else K.shape[2]
    if output >= c:
        raise ValueError(f"output must be < the number of outputs {c}, got {output}")
    return K if K.dim() == 2 else K[:, :, output, output].contiguous()


def _generic_ntk(model: nn.Module, X: torch.Tensor, method: str, chunk_size: int | None,
                 max_memory_bytes: int) -> torch.Tensor:
    """The layer-wise or vmap NTK (``method`` "auto", "layerwise" or "vmap")."""
    model, X, params = _check_model_x(model, X)
    chunk_size = _check_chunk(chunk_size)
    max_memory_bytes = check_int(max_memory_bytes, "max_memory_bytes", minimum=1)
    requested = method
    method, plan = _resolve_method(model, method)
    n = X.shape[0]
    K = None
    if method == "layerwise":
        def coordinates(out: torch.Tensor, sl: slice) -> list[torch.Tensor]:
            flat = out.reshape(out.shape[0], -1)
            return [flat[:, k] for k in range(flat.shape[1])]

        try:
            out, K = _layerwise(model, plan, X, coordinates, max_memory_bytes)
        except _Unsupported:
            if requested == "layerwise":
                raise
        else:
            c = K.shape[1]
            K = K.permute(0, 2, 1, 3)
    if K is None:
        with torch.no_grad():
            c = _model_output(model, X[:2]).reshape(min(2, n), -1).shape[1]
        p = sum(v.numel() for v in params.values())
        itemsize = next(iter(params.values())).element_size()
        block = _block_size(c, p, itemsize, max_memory_bytes)
        K = _blocked_gram(lambda sl: _jac(model, params, X[sl], chunk_size), n, block)
        K = K.permute(0, 2, 1, 3)
    K = 0.5 * (K + K.permute(1, 0, 3, 2))
    return K[:, :, 0, 0] if c == 1 else K


def flat_gradient(model: nn.Module, loss_fn: LossFn, X: torch.Tensor,
                  y: torch.Tensor) -> torch.Tensor:
    r"""Full gradient :math:`\nabla F(\mathbf w) = \frac1n \sum_i \nabla \ell_i(\mathbf w)`.

    Parameters
    ----------
    model, loss_fn, X, y
        As in :func:`per_example_gradients`.

    Returns
    -------
    torch.Tensor, shape (p,)
        Gradient of the mean loss w.r.t. the trainable parameters, in the order of
        ``model.named_parameters()`` (the mean of the rows of :func:`per_example_gradients`).

    References
    ----------
    Sankararaman et al., eq. (1): :math:`F = \frac1N\sum_i f_i`.

    Examples
    --------
    >>> import torch
    >>> from helpers.gradients import flat_gradient
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.zero_()
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> flat_gradient(model, squared_loss, X, torch.tensor([1.0, -2.0], dtype=torch.float64))
    tensor([-0.5000,  1.0000], dtype=torch.float64)
    """
    model, X, params = _check_model_x(model, X)
    loss_fn = _check_loss_fn(loss_fn)
    y = _check_y(y, X)
    with torch.enable_grad():
        losses = _check_losses(loss_fn(_model_output(model, X), y), X.shape[0])
        tensors = list(params.values())
        grads = torch.autograd.grad(losses.mean(), tensors, allow_unused=True)
    return torch.cat([(torch.zeros_like(t) if g is None else g).reshape(-1)
                      for t, g in zip(tensors, grads, strict=True)])
