r"""Hessian of the training objective: Hessian-vector products, extreme eigenpairs, 2-D slices.

For a model with trainable parameters :math:`\mathbf w \in \mathbb R^p` (flattened in the order
of ``model.named_parameters()``, trainable ones only, as in :mod:`helpers.gradients`) and the
mean training loss

.. math:: F(\mathbf w) = \frac1n \sum_{i=1}^n \mathrm{loss}(f_{\mathbf w}(\mathbf x_i), y_i),

this module computes

* :func:`hvp` -- Hessian-vector products :math:`\nabla^2 F(\mathbf w)\,\mathbf v` by double
  backward (the gradient's graph is built once and differentiated again), for one vector or a
  stack of vectors;
* :func:`extreme_eigenpair` -- the most negative (``which="min"``) or the largest
  (``which="max"``) eigenvalue of :math:`\nabla^2 F(\mathbf w)` and a unit eigenvector, by the
  Lanczos method on Hessian-vector products, with a residual that certifies the result;
* :func:`landscape_grid` -- the objective on the plane
  :math:`\mathbf w + \alpha\mathbf u + \beta\mathbf v`, vectorised over grid points with
  ``torch.func.vmap``.

These are the ingredients of Figures 1-7 of Allen-Zhu, Li & Song (2019), which draw the
training objective on the plane spanned by the gradient :math:`\nabla F(\mathbf W_t)` and the
most negatively curved direction of the Hessian along the SGD trajectory (Section 4.1). The paper
finds that direction approximately with Oja's method on a smoothed Hessian; here it is computed
on the exact Hessian (for ReLU networks defined almost everywhere; ReLU contributes no second
derivative, only the loss and products of layers do).

The model is never modified: every function evaluates it through
``torch.func.functional_call`` with the parameters substituted, so the weights are the same
afterwards (bit for bit). Models with batch norm using batch statistics or with active dropout
are rejected: the loss would depend on the batch composition (and the running statistics would
be updated); call ``model.eval()`` first, which uses the running statistics, as the book does for
the landscape figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from ._validate import (
    _describe,
    check_choice,
    check_deterministic_mode,
    check_generator,
    check_int,
    check_module,
    check_tensor,
    trainable_parameters,
)
from .losses import LossFn

__all__ = ["hvp", "EigenPair", "extreme_eigenpair", "landscape_grid"]



# --------------------------------------------------------------------------- validation


def _check_mode(model: nn.Module) -> None:
    check_deterministic_mode(
        model, batch_statistics="the loss depends on the batch and forward passes would update"
        " the running statistics", dropout="the loss would be random")


def _check_problem(model: object, loss_fn: object, X: object, y: object
                   ) -> tuple[nn.Module, dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    model = check_module(model)
    params = trainable_parameters(model)
    _check_mode(model)
    if not callable(loss_fn):
        raise TypeError("loss_fn must be a per-example loss (outputs, targets) -> (n,), such as"
                        f" helpers.losses.cross_entropy, got {_describe(loss_fn)}")
    X = check_tensor(X, "X", ndim=(2, 3, 4, 5), floating=True)
    ref = next(iter(params.values()))
    if X.dtype != ref.dtype:
        raise TypeError(f"X has dtype {X.dtype} but the model's parameters have dtype"
                        f" {ref.dtype}; convert one of them")
    y = check_tensor(y, "y", ndim=(1, 2), finite=False)
    if y.shape[0] != X.shape[0]:
        raise ValueError("X and y must have the same number of rows (one per example), got"
                         f" {X.shape[0]} and {y.shape[0]}")
    return model, params, X, y


def _check_vector(v: object, name: str, p: int, ref: torch.Tensor, ndim=(1,)) -> torch.Tensor:
    v = check_tensor(v, name, ndim=ndim, floating=True)
    if v.shape[-1] != p:
        raise ValueError(f"{name} must have {p} entries in its last dimension (the number of"
                         f" trainable parameters), got shape {tuple(v.shape)}")
    if v.dtype != ref.dtype or v.device != ref.device:
        raise TypeError(f"{name} must have the parameters' dtype {ref.dtype} on {ref.device},"
                        f" got {v.dtype} on {v.device}")
    return v


def _objective(model: nn.Module, params: dict[str, torch.Tensor], loss_fn: LossFn,
               X: torch.Tensor, y: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return ``flat -> F`` (the mean loss) with the trainable parameters replaced by ``flat``."""
    names = list(params)
    shapes = [params[k].shape for k in names]
    numels = [params[k].numel() for k in names]
    n = X.shape[0]

    def objective(flat: torch.Tensor) -> torch.Tensor:
        pieces = torch.split(flat, numels)
        subst = {k: t.reshape(s) for k, t, s in zip(names, pieces, shapes, strict=True)}
        losses = loss_fn(functional_call(model, subst, (X,)), y)
        if not isinstance(losses, torch.Tensor) or tuple(losses.shape) != (n,):
            raise ValueError(f"loss_fn must return one loss per example, shape ({n},), without"
                             f" reduction, got {_describe(losses)}")
        return losses.mean()

    return objective


def _flat(params: dict[str, torch.Tensor]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params.values()])


def _hvp_operator(model: nn.Module, params: dict[str, torch.Tensor], loss_fn: LossFn,
                  X: torch.Tensor, y: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """Build the gradient's graph once; each call is one backward pass through it."""
    objective = _objective(model, params, loss_fn, X, y)
    w = _flat(params).clone().requires_grad_(True)
    with torch.enable_grad():
        g = torch.autograd.grad(objective(w), w, create_graph=True)[0]

    def apply(v: torch.Tensor) -> torch.Tensor:
        if not g.requires_grad:  # the loss is linear in w (e.g. a linear model, zero Hessian)
            return torch.zeros_like(v)
        out = torch.autograd.grad(g, w, grad_outputs=v, retain_graph=True, allow_unused=True)[0]
        return torch.zeros_like(v) if out is None else out.detach()

    return apply


# --------------------------------------------------------------------------- public API


def hvp(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor,
        vectors: torch.Tensor) -> torch.Tensor:
    r"""Hessian-vector products :math:`\nabla^2 F(\mathbf w)\,\mathbf v` of the mean loss.

    Computed by double backward: :math:`\nabla^2F\,\mathbf v = \nabla_{\mathbf w}\langle\nabla
    F(\mathbf w), \mathbf v\rangle`, with the gradient's graph built once and reused for every
    vector (one backward pass per vector). Exact, with no finite differences.

    Parameters
    ----------
    model : torch.nn.Module
        Any module (in eval mode if it has batch norm or dropout); only trainable parameters
        count, flattened in the order of ``model.named_parameters()``. Not modified.
    loss_fn : callable
        Per-example loss ``(outputs, targets) -> (n,)`` (see :mod:`helpers.losses`).
    X : torch.Tensor, shape (n, ...)
        Inputs, with the parameters' dtype.
    y : torch.Tensor, shape (n,) or (n, c)
        Targets.
    vectors : torch.Tensor, shape (p,) or (k, p)
        One direction or a stack of ``k`` directions in parameter space.

    Returns
    -------
    torch.Tensor
        Same shape as ``vectors``: :math:`\nabla^2F(\mathbf w)\mathbf v` for each row.

    References
    ----------
    Allen-Zhu, Li & Song (2019), Section 4.1 and Figures 1-7 (curvature of :math:`F` along the
    SGD trajectory); Pearlmutter (1994) for the double-backward product.

    Examples
    --------
    For the squared loss of a linear model, :math:`F = \frac1{2n}\|Xw-y\|^2` and the Hessian is
    :math:`X^\top X/n`:

    >>> import torch
    >>> from helpers.hessian import hvp
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> X = torch.tensor([[1.0, 0.0], [1.0, 2.0]], dtype=torch.float64)
    >>> y = torch.zeros(2, dtype=torch.float64)
    >>> hvp(model, squared_loss, X, y, torch.tensor([1.0, 0.0], dtype=torch.float64))
    tensor([1., 1.], dtype=torch.float64)
    """
    model, params, X, y = _check_problem(model, loss_fn, X, y)
    ref = next(iter(params.values()))
    p = sum(t.numel() for t in params.values())
    vectors = _check_vector(vectors, "vectors", p, ref, ndim=(1, 2))
    apply = _hvp_operator(model, params, loss_fn, X, y)
    if vectors.dim() == 1:
        return apply(vectors)
    return torch.stack([apply(v) for v in vectors])  # loop over directions, not examples


@dataclass(frozen=True)
class EigenPair:
    """An approximate eigenpair of the Hessian returned by :func:`extreme_eigenpair`.

    Attributes
    ----------
    value : float
        Rayleigh quotient :math:`\\theta = \\mathbf v^\\top\\nabla^2F\\,\\mathbf v`.
    vector : torch.Tensor, shape (p,)
        Unit vector; sign fixed so that its entry of largest magnitude is positive.
    residual : float
        :math:`\\|\\nabla^2F\\,\\mathbf v-\\theta\\mathbf v\\|`; some eigenvalue of the Hessian
        lies within ``residual`` of ``value`` (symmetric matrices).
    iterations : int
        Lanczos steps taken (fewer than requested if the Krylov space became invariant).
    """

    value: float
    vector: torch.Tensor
    residual: float
    iterations: int


def extreme_eigenpair(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor, *,
                      which: str = "min", iters: int = 50,
                      generator: torch.Generator) -> EigenPair:
    r"""Most negative (``"min"``) or largest (``"max"``) eigenpair of :math:`\nabla^2F(\mathbf w)`.

    Lanczos method with full reorthogonalisation on Hessian-vector products (:func:`hvp`): from
    a random unit start :math:`\mathbf q_1` (drawn with ``generator``), ``iters`` steps build an
    orthonormal basis :math:`Q_k` of the Krylov space
    :math:`\mathrm{span}\{\mathbf q_1, H\mathbf q_1, \dots, H^{k-1}\mathbf q_1\}` and the
    tridiagonal :math:`T_k = Q_k^\top H Q_k`; the extreme eigenpair of :math:`T_k`, mapped back
    by :math:`Q_k`, is returned (Ritz pair). The Krylov space is capped at :math:`p`; if it
    becomes invariant earlier the iteration stops (exact answer).

    Convergence (Kaniel-Paige-Saad): with eigenvalues :math:`\lambda_1\ge\lambda_2\ge\dots\ge
    \lambda_p`, :math:`\gamma=(\lambda_1-\lambda_2)/(\lambda_2-\lambda_p)` and
    :math:`\phi` the angle between :math:`\mathbf q_1` and the top eigenvector,

    .. math:: 0 \le \lambda_1-\theta_1 \le (\lambda_1-\lambda_p)
       \Bigl(\frac{\tan\phi}{T_{k-1}(1+2\gamma)}\Bigr)^2,

    :math:`T_{k-1}` the Chebyshev polynomial, i.e. an error decaying like
    :math:`e^{-4(k-1)\sqrt\gamma}`, much faster than power iteration's
    :math:`(\lambda_2/\lambda_1)^{2k}`; the same holds for :math:`\lambda_p` with the gap at the
    bottom of the spectrum. The bound is not computable (it needs the spectrum), so the result
    carries the residual :math:`r=\|H\mathbf v-\theta\mathbf v\|`, a certificate: some
    eigenvalue lies in :math:`[\theta-r, \theta+r]`. A small residual does not exclude a
    missed, nearly degenerate eigenvalue further out; raise ``iters`` and compare.

    Parameters
    ----------
    model, loss_fn, X, y
        As in :func:`hvp`. Not modified.
    which : {"min", "max"}, default "min"
        Smallest (most negative) or largest algebraic eigenvalue.
    iters : int, default 50
        Lanczos steps (Krylov dimension), ``>= 1``; capped at the number of parameters.
    generator : torch.Generator
        Draws the start vector (on the parameters' device).

    Returns
    -------
    EigenPair
        ``value``, unit ``vector`` (shape ``(p,)``), ``residual``, ``iterations``.

    References
    ----------
    Allen-Zhu, Li & Song (2019), Figures 1-7: "the most negatively curved direction of the
    Hessian" (found there approximately with Oja's method on a smoothed Hessian). Saad,
    *Numerical Methods for Large Eigenvalue Problems*, Section 6.6 (Lanczos convergence).

    Examples
    --------
    The Hessian of :math:`\frac1{2n}\|Xw\|^2` is :math:`X^\top X/n`, here
    :math:`\mathrm{diag}(2, 0.5)`:

    >>> import torch
    >>> from helpers.hessian import extreme_eigenpair
    >>> from helpers.losses import squared_loss
    >>> from helpers.rng import make_generator
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> X = torch.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> y = torch.zeros(2, dtype=torch.float64)
    >>> top = extreme_eigenpair(model, squared_loss, X, y, which="max", iters=2,
    ...                         generator=make_generator(0))
    >>> round(top.value, 6), top.vector.abs().round(decimals=6).tolist()
    (2.0, [1.0, 0.0])
    """
    model, params, X, y = _check_problem(model, loss_fn, X, y)
    which = check_choice(which, "which", ("min", "max"))
    iters = check_int(iters, "iters", minimum=1)
    ref = next(iter(params.values()))
    check_generator(generator, device=ref.device)
    p = sum(t.numel() for t in params.values())
    k_max = min(iters, p)
    apply = _hvp_operator(model, params, loss_fn, X, y)

    q = torch.randn(p, generator=generator, dtype=ref.dtype, device=ref.device)
    q = q / q.norm()
    Q = torch.zeros(k_max, p, dtype=ref.dtype, device=ref.device)
    alpha: list[float] = []
    beta: list[float] = []
    scale = 0.0
    for j in range(k_max):
        Q[j] = q
        w = apply(q)
        a = float(q @ w)
        alpha.append(a)
        basis = Q[: j + 1]
        for _ in range(2):  # full reorthogonalisation, twice ("twice is enough")
            w = w - basis.T @ (basis @ w)
        b = float(w.norm())
        scale = max(scale, abs(a), b)
        if j == k_max - 1 or b <= 1e-12 * max(scale, 1e-300):
            break
        beta.append(b)
        q = w / b
    k = len(alpha)
    T = torch.diag(torch.tensor(alpha, dtype=torch.float64))
    if k > 1:
        off = torch.tensor(beta[: k - 1], dtype=torch.float64)
        T = T + torch.diag(off, 1) + torch.diag(off, -1)
    evals, evecs = torch.linalg.eigh(T)
    idx = 0 if which == "min" else k - 1
    s = evecs[:, idx].to(dtype=ref.dtype, device=ref.device)
    v = Q[:k].T @ s
    v = v / v.norm()
    if v[int(v.abs().argmax())] < 0:
        v = -v
    Hv = apply(v)
    theta = float(v @ Hv)
    residual = float((Hv - theta * v).norm())
    return EigenPair(value=theta, vector=v, residual=residual, iterations=k)


def _as_grid(values: object, name: str, ref: torch.Tensor) -> torch.Tensor:
    if isinstance(values, np.ndarray | Sequence) and not isinstance(values, str):
        try:
            values = torch.as_tensor(np.asarray(values, dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name} must be a 1-D sequence of real numbers, got"
                            f" {_describe(values)}") from err
    values = check_tensor(values, name, ndim=1, floating=True)
    return values.to(dtype=ref.dtype, device=ref.device)


def landscape_grid(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor,
                   direction_u: torch.Tensor, direction_v: torch.Tensor,
                   alphas: torch.Tensor | Sequence[float], betas: torch.Tensor | Sequence[float],
                   *, chunk_size: int = 16, vectorize: bool = True) -> torch.Tensor:
    r"""The objective on a plane: :math:`Z_{jk}=F(\mathbf w+\alpha_k\mathbf u+\beta_j\mathbf v)`.

    Parameters
    ----------
    model, loss_fn, X, y
        As in :func:`hvp`. The model's weights are not modified (the shifted parameters are
        substituted with ``torch.func.functional_call``), so they are the same afterwards.
    direction_u, direction_v : torch.Tensor, shape (p,)
        The two directions (not normalised here; pass unit vectors for a metric picture).
    alphas, betas : torch.Tensor or sequence of float, 1-D
        Coefficients along ``direction_u`` and ``direction_v``.
    chunk_size : int, default 16
        Grid points evaluated at once by ``torch.func.vmap`` (memory: ``chunk_size`` copies of
        the activations).
    vectorize : bool, default True
        ``False`` evaluates the points one by one (same values; for modules that ``vmap`` does
        not support).

    Returns
    -------
    torch.Tensor, shape (len(betas), len(alphas))
        Row ``j``, column ``k``: the mean loss at :math:`\mathbf w+\alpha_k\mathbf u+\beta_j
        \mathbf v`, ready for ``plt.contourf(alphas, betas, Z)``.

    References
    ----------
    Allen-Zhu, Li & Song (2019), Figures 1-7: the objective on the plane spanned by the gradient
    and the most negatively curved direction, at points of the SGD trajectory.

    Examples
    --------
    >>> import torch
    >>> from helpers.hessian import landscape_grid
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(2, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.zero_()
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> y = torch.zeros(2, dtype=torch.float64)
    >>> e1, e2 = torch.eye(2, dtype=torch.float64)
    >>> landscape_grid(model, squared_loss, X, y, e1, e2, [0.0, 2.0], [0.0, 2.0])
    tensor([[0., 1.],
            [1., 2.]], dtype=torch.float64)
    """
    model, params, X, y = _check_problem(model, loss_fn, X, y)
    ref = next(iter(params.values()))
    p = sum(t.numel() for t in params.values())
    u = _check_vector(direction_u, "direction_u", p, ref)
    v = _check_vector(direction_v, "direction_v", p, ref)
    a = _as_grid(alphas, "alphas", ref)
    b = _as_grid(betas, "betas", ref)
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    if not isinstance(vectorize, bool):
        raise TypeError(f"vectorize must be a bool, got {_describe(vectorize)}")
    objective = _objective(model, params, loss_fn, X, y)
    w = _flat(params)
    points = w + b[:, None, None] * v + a[None, :, None] * u  # (len(b), len(a), p)
    flat_points = points.reshape(-1, p)
    with torch.no_grad():
        if vectorize:
            values = vmap(objective, chunk_size=chunk_size)(flat_points)
        else:
            values = torch.stack([objective(point) for point in flat_points])
    return values.reshape(b.shape[0], a.shape[0])
