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
    For fully connected networks. With :math:`\mathbf a_i` the input and :math:`\boldsymbol\delta_i
    = \partial \ell_i / \partial \mathbf z_i` the gradient at the output
    :math:`\mathbf z_i = \mathbf W \mathbf a_i + \mathbf b` of a linear layer,
    :math:`\nabla_{\mathbf W}\ell_i = \boldsymbol\delta_i \mathbf a_i^\top`, so
    :math:`\langle\nabla_{\mathbf W}\ell_i, \nabla_{\mathbf W}\ell_j\rangle =
    \langle\boldsymbol\delta_i,\boldsymbol\delta_j\rangle\langle\mathbf a_i,\mathbf a_j\rangle`
    (plus :math:`\langle\boldsymbol\delta_i,\boldsymbol\delta_j\rangle` for the bias), summed over
    layers (eq. (15) of the long version of Sankararaman et al.). All
    :math:`\boldsymbol\delta_i` come
    from ONE backward pass of :math:`\sum_i \ell_i`, because :math:`\ell_i` depends on example
    :math:`i` only. Cost :math:`O(n^2 \sum_l (d_{l-1} + d_l))`, no per-example gradient is formed.
    Supported structures (checked by the helpers):

    * a single ``nn.Linear`` (the linear model);
    * an ``nn.Sequential`` whose children are ``nn.Linear`` layers and parameter-free
      elementwise activations (``Identity, ReLU, LeakyReLU, Tanh, Sigmoid, Softplus, GELU, ELU,
      SiLU, CELU, SELU, Mish, Hardtanh, ReLU6, Softsign``) or ``nn.Flatten()`` (default dims);
    * any module with attributes ``linears`` (an ``nn.ModuleList`` of ``nn.Linear``) and
      ``activation`` (a callable applied between layers), e.g. the MLPs of
      :mod:`helpers.models`; its own ``forward`` is used, so fixed scalings such as
      :math:`1/\sqrt m` are handled.

    In both cases every trainable parameter must belong to one of the linear layers, each
    linear layer must be called exactly once per forward pass on an ``(n, d_in)`` matrix, and
    examples must not interact: batch norm in training mode (batch statistics) breaks the
    one-backward trick and is rejected.

``"vmap"``
    Any architecture (CNNs, batch norm in eval mode): per-example gradients
    :math:`\mathbf g_i \in \mathbb R^p` with ``torch.func.vmap(grad(...))``, accumulated block by
    block, :math:`G_{IJ} = \mathbf g_I \mathbf g_J^\top`, with at most two blocks of
    ``max_memory_bytes`` alive.

``"auto"`` picks ``"layerwise"`` when the structure is supported and ``"vmap"`` otherwise.
Models with batch norm using batch statistics, or active dropout, are rejected by every
function here: per-example gradients are not defined for them (call ``model.eval()``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, grad, jacrev, vmap

from ._validate import _describe, check_choice, check_int, check_module, check_real, check_tensor

__all__ = [
    "per_example_gradients",
    "gradient_gram",
    "cosine_matrix",
    "jacobian",
    "ntk_gram",
    "flat_gradient",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

_ELEMENTWISE = (
    nn.Identity, nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.GELU, nn.ELU,
    nn.SiLU, nn.CELU, nn.SELU, nn.Mish, nn.Hardtanh, nn.ReLU6, nn.Softsign,
)
_METHODS = ("auto", "layerwise", "vmap")


# --------------------------------------------------------------------------- validation


def _trainable(model: nn.Module) -> dict[str, torch.Tensor]:
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters (every parameter has"
                         " requires_grad=False); there is nothing to differentiate")
    return params


def _check_mode(model: nn.Module) -> None:
    for name, m in model.named_modules():
        batch_stats = m.training or m.running_mean is None if isinstance(
            m, nn.modules.batchnorm._BatchNorm) else False
        if batch_stats:
            raise ValueError(
                f"model contains batch norm ({name or 'model'}) using batch statistics, so each"
                " example's loss depends on the whole batch and per-example gradients are not"
                " defined; call model.eval() (with running statistics) first"
            )
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.training and m.p > 0:
            raise ValueError(
                f"model contains active dropout ({name or 'model'}); per-example gradients would"
                " be random; call model.eval() first"
            )


def _check_model_x(model: object, X: object) -> tuple[nn.Module, torch.Tensor,
                                                       dict[str, torch.Tensor]]:
    model = check_module(model)
    params = _trainable(model)
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


def _check_gram(gram: object, name: str = "gram") -> torch.Tensor:
    r"""Square, floating, finite, symmetric matrix with a non-negative diagonal."""
    gram = check_tensor(gram, name, ndim=2, floating=True)
    n = gram.shape[0]
    if gram.shape[1] != n:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {tuple(gram.shape)}")
    scale = float(gram.abs().max())
    tol = math.sqrt(torch.finfo(gram.dtype).eps) * max(scale, torch.finfo(gram.dtype).tiny)
    asym = float((gram - gram.T).abs().max())
    if asym > tol:
        raise ValueError(f"{name} must be symmetric (a Gram matrix), got max |G - G^T| ="
                         f" {asym:.3g}")
    if float(gram.diagonal().min()) < -tol:
        raise ValueError(f"{name} must have a non-negative diagonal (squared norms), got"
                         f" {float(gram.diagonal().min()):.3g}")
    return gram


# --------------------------------------------------------------------------- structure


def _linear_layers(model: nn.Module) -> list[nn.Linear] | None:
    r"""The ordered linear layers if the layer-wise path supports ``model``, else ``None``."""
    if isinstance(model, nn.Linear):
        return [model]
    if isinstance(model, nn.Sequential):
        children = list(model.children())
        for c in children:
            if isinstance(c, nn.Flatten):
                if (c.start_dim, c.end_dim) != (1, -1):
                    return None
            elif not isinstance(c, (nn.Linear, *_ELEMENTWISE)):
                return None
        layers = [c for c in children if isinstance(c, nn.Linear)]
    elif hasattr(model, "linears") and hasattr(model, "activation"):
        linears = model.linears
        if not isinstance(linears, (nn.ModuleList, list, tuple)) or not callable(model.activation):
            return None
        if not all(isinstance(c, nn.Linear) for c in linears):
            return None
        layers = list(linears)
    else:
        return None
    if not layers or len({id(c) for c in layers}) != len(layers):
        return None
    owned = {id(p) for c in layers for p in c.parameters()}
    if any(id(p) not in owned for p in model.parameters() if p.requires_grad):
        return None
    return layers


def _resolve_method(model: nn.Module, method: object) -> tuple[str, list[nn.Linear] | None]:
    method = check_choice(method, "method", _METHODS)
    layers = _linear_layers(model) if method != "vmap" else None
    if method == "layerwise" and layers is None:
        raise ValueError(
            "method='layerwise' needs a fully connected network: an nn.Sequential of nn.Linear"
            " and elementwise activations, or a module with `linears` (nn.ModuleList of"
            " nn.Linear) and `activation`, whose trainable parameters all sit in those linear"
            f" layers; got {type(model).__name__}. Use method='vmap'"
        )
    if method == "auto":
        method = "layerwise" if layers is not None else "vmap"
    return method, layers


def _forward_records(model: nn.Module, layers: list[nn.Linear], X: torch.Tensor):
    r"""Run ``model(X)`` recording the input ``a`` and output ``z`` of every linear layer."""
    records: dict[int, list] = {k: [] for k in range(len(layers))}

    def make_hook(k: int):
        def hook(module, inputs, output):
            records[k].append((inputs[0].detach(), output))
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
        if len(records[k]) != 1:
            raise ValueError(
                f"the layer-wise path needs each linear layer to run exactly once per forward"
                f" pass; layer {k} ran {len(records[k])} times. Use method='vmap'"
            )
        a, z = records[k][0]
        if a.dim() != 2 or a.shape[0] != n:
            raise ValueError(
                f"the layer-wise path needs each linear layer to receive an (n, d_in) matrix;"
                f" layer {k} received shape {tuple(a.shape)}. Use method='vmap'"
            )
        result.append((layer, a, z))
    return out, result


def _layer_flags(layer: nn.Linear) -> tuple[bool, bool]:
    return layer.weight.requires_grad, layer.bias is not None and layer.bias.requires_grad


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
        _check_losses(loss_fn(_model_output(model, X), y), X.shape[0])
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
        ``"layerwise"``: exact factorisation for fully connected networks (see the module
        docstring for the supported structures), one batched forward and backward pass,
        frozen layers skipped. ``"vmap"``: per-example gradients, any architecture.
        ``"auto"``: layer-wise when supported, else vmap.
    chunk_size : int, optional
        Examples per ``vmap`` call (vmap path only).
    max_memory_bytes : int, default 2**28
        vmap path: per-example gradients are computed in blocks of ``b`` examples with
        ``b * p * itemsize <= max_memory_bytes`` (at least one example); at most two blocks
        are held, and :math:`G_{IJ} = \mathbf g_I \mathbf g_J^\top` is accumulated block pair
        by block pair (recomputing gradients rather than storing all ``n * p`` numbers).

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
    method, layers = _resolve_method(model, method)
    n = X.shape[0]
    if method == "layerwise":
        with torch.enable_grad():
            out, recs = _forward_records(model, layers, X)
            losses = _check_losses(loss_fn(out, y), n)
            trainable = [r for r in recs if any(_layer_flags(r[0]))]
            deltas = torch.autograd.grad(losses.sum(), [z for _, _, z in trainable],
                                         allow_unused=True)
        G = X.new_zeros(n, n, dtype=losses.dtype)
        for (layer, a, _), d in zip(trainable, deltas, strict=True):
            if d is None:
                continue
            dd = d @ d.T
            use_w, use_b = _layer_flags(layer)
            if use_w:
                G += dd * (a @ a.T)
            if use_b:
                G += dd
        return 0.5 * (G + G.T)
    with torch.no_grad():
        _check_losses(loss_fn(_model_output(model, X), y), n)
    p = sum(v.numel() for v in params.values())
    itemsize = next(iter(params.values())).element_size()
    block = _block_size(1, p, itemsize, max_memory_bytes)

    def features(sl: slice) -> torch.Tensor:
        return _per_example(model, loss_fn, params, X[sl], y[sl], chunk_size).unsqueeze(1)

    G = _blocked_gram(features, n, block).reshape(n, n)
    return 0.5 * (G + G.T)


def cosine_matrix(gram: torch.Tensor, *, eps: float = 0.0) -> torch.Tensor:
    r"""Cosine similarities :math:`C_{ij} = G_{ij} / \sqrt{G_{ii} G_{jj}}` of a Gram matrix.

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n)
        Symmetric Gram matrix (e.g. from :func:`gradient_gram`).
    eps : float, default 0.0
        Rows whose norm :math:`\sqrt{G_{ii}}` is ``<= eps`` count as zero vectors.

    Returns
    -------
    torch.Tensor, shape (n, n)
        Values clamped to [-1, 1]; the diagonal is 1; a zero row has cosine 0 with every other
        row (never NaN).

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
    """
    gram = _check_gram(gram)
    eps = check_real(eps, "eps", minimum=0.0)
    norms = gram.diagonal().clamp(min=0).sqrt()
    zero = norms <= eps
    safe = torch.where(zero, torch.ones_like(norms), norms)
    C = gram / (safe[:, None] * safe[None, :])
    C = torch.where(zero[:, None] | zero[None, :], torch.zeros_like(C), C)
    C = C.clamp(-1.0, 1.0)
    C.diagonal().fill_(1.0)
    return 0.5 * (C + C.T)


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
        _model_output(model, X)
    return _jac(model, params, X, chunk_size)


def ntk_gram(model: nn.Module, X: torch.Tensor, *, method: str = "auto",
             chunk_size: int | None = None, max_memory_bytes: int = 2**28) -> torch.Tensor:
    r"""Empirical NTK :math:`\Theta(\mathbf x_i, \mathbf x_j) = J(\mathbf x_i) J(\mathbf x_j)^\top`.

    Parameters
    ----------
    model : torch.nn.Module
        Network; per-example outputs are flattened to ``c`` numbers.
    X : torch.Tensor, shape (n, ...)
        Inputs.
    method : {"auto", "layerwise", "vmap"}
        ``"layerwise"`` (fully connected networks, see the module docstring): one forward pass
        and one backward pass per output coordinate, :math:`\Theta = \sum_l
        (\mathbf B_l \mathbf B_l^\top) \odot (\mathbf A_l \mathbf A_l^\top)` (+ bias terms);
        ``"vmap"``: Jacobians by ``vmap(jacrev)``, block by block; ``"auto"``: layer-wise when
        supported.
    chunk_size : int, optional
        Examples per ``vmap`` call (vmap path).
    max_memory_bytes : int, default 2**28
        vmap path: Jacobian blocks of ``b`` examples with ``b * c * p * itemsize`` at most this.

    Returns
    -------
    torch.Tensor
        Shape (n, n) for scalar outputs (``c == 1``); shape (n, n, c, c) otherwise, with
        ``K[i, j, k, l] = <d f_k(x_i)/dw, d f_l(x_j)/dw>``. Symmetric PSD as an (nc, nc) matrix.

    References
    ----------
    Jacot, Gabriel & Hongler (2018), the neural tangent kernel; Oymak & Soltanolkotabi,
    Section 6 (:math:`\mathcal J(\mathbf W)\mathcal J(\mathbf W)^\top`); the Gram matrix
    :math:`\mathbf H` of Du et al. (2019) is this kernel for their two-layer network.

    Examples
    --------
    >>> import torch
    >>> from helpers.gradients import ntk_gram
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> X = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    >>> ntk_gram(model, X)   # linear model: X X^T
    tensor([[ 5., 11.],
            [11., 25.]], dtype=torch.float64)
    """
    model, X, params = _check_model_x(model, X)
    chunk_size = _check_chunk(chunk_size)
    max_memory_bytes = check_int(max_memory_bytes, "max_memory_bytes", minimum=1)
    method, layers = _resolve_method(model, method)
    n = X.shape[0]
    if method == "layerwise":
        with torch.enable_grad():
            out, recs = _forward_records(model, layers, X)
            out = out.reshape(n, -1)
            c = out.shape[1]
            trainable = [r for r in recs if any(_layer_flags(r[0]))]
            zs = [z for _, _, z in trainable]
            backs = [torch.autograd.grad(out[:, k].sum(), zs, retain_graph=k < c - 1,
                                         allow_unused=True) for k in range(c)]
        K = X.new_zeros(n, n, c, c, dtype=out.dtype)
        for idx, (layer, a, _) in enumerate(trainable):
            if any(b[idx] is None for b in backs):
                continue
            B = torch.stack([b[idx] for b in backs])          # (c, n, d_out)
            bb = torch.einsum("kio,ljo->ijkl", B, B)
            use_w, use_b = _layer_flags(layer)
            if use_w:
                K += bb * (a @ a.T)[:, :, None, None]
            if use_b:
                K += bb
    else:
        with torch.no_grad():
            c = _model_output(model, X).reshape(n, -1).shape[1]
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
