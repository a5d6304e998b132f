r"""Gradient confusion (Sankararaman et al.) and related summaries of a gradient Gram matrix.

Every function takes the Gram matrix :math:`G_{ij} = \langle\nabla f_i(\mathbf w),
\nabla f_j(\mathbf w)\rangle` of :math:`n \ge 2` per-example gradients (from
:func:`helpers.gradients.gradient_gram`) and returns numbers, except
:func:`minibatch_gradients`, which computes the minibatch gradients whose Gram matrix the
experiments of Section 7 summarise (batch norm in train mode allowed, as during SGD).
Each ``gram`` is checked first to BE a Gram matrix up to round-off -- symmetric, with a
non-negative diagonal, Cauchy-Schwarz and positive semidefinite within the tolerance stated in
:func:`helpers.gradients.cosine_matrix` -- and refused otherwise, so that no summary is
computed from a matrix no gradients could have produced. The clamps at 0 below
(:math:`\max(0, \cdot)` of the definitions, and of the variance, whose round-off the checks
bound) never hide a violation larger than that tolerance.
With :math:`\nabla F = \frac1n\sum_i \nabla f_i`:

* :math:`\|\nabla F\|^2 = \frac1{n^2}\sum_{i,j} G_{ij}`;
* gradient variance :math:`\sigma^2 = \frac1n\sum_i\|\nabla f_i - \nabla F\|^2
  = \frac1n\sum_i G_{ii} - \|\nabla F\|^2`;
* mean off-diagonal inner product :math:`\frac{1}{n(n-1)}\sum_{i\ne j} G_{ij}
  = \frac{n^2\|\nabla F\|^2 - \sum_i G_{ii}}{n(n-1)} = \|\nabla F\|^2 - \frac{\sigma^2}{n-1}`.

The last identity shows that at a stationary point of :math:`F` the average pairwise inner
product is :math:`-\sigma^2/(n-1) \le 0`, zero only when every per-example gradient vanishes.

Note on the ICML version, Section 8: its "average" condition sums over all pairs *including*
:math:`i = j`; that sum is :math:`n^2\|\nabla F\|^2 \ge 0`, so the condition holds with
:math:`\eta = 0` for every problem. :func:`average_confusion_bound` therefore excludes the
diagonal by default (``include_diagonal=True`` gives the literal, vacuous version).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .._validate import (
    check_deterministic_mode,
    check_generator,
    check_int,
    check_module,
    check_real,
    check_same_length,
    check_tensor,
    trainable_parameters,
)
from ..gradients import _check_gram, _cosines
from ..losses import LossFn

__all__ = [
    "ConfusionSummary",
    "confusion_bound",
    "normalized_confusion_bound",
    "average_confusion_bound",
    "gradient_variance",
    "pairwise_summary",
    "minibatch_gradient_variance",
    "minibatch_inner_product_variance",
    "minibatch_gram",
    "minibatch_gradients",
]


def _gram(gram: object) -> torch.Tensor:
    gram = _check_gram(gram)
    if gram.shape[0] < 2:
        raise ValueError(f"gram must describe at least 2 examples (pairs i != j), got shape"
                         f" {tuple(gram.shape)}")
    return gram


def _off_diagonal(mat: torch.Tensor) -> torch.Tensor:
    n = mat.shape[0]
    return mat[~torch.eye(n, dtype=torch.bool, device=mat.device)]


def _full_sq_norm(gram: torch.Tensor) -> float:
    n = gram.shape[0]
    return float(gram.sum()) / n**2


def _variance(gram: torch.Tensor) -> float:
    # (1/n) tr(H G H) with H the centring matrix: exact and never negative.
    centred = gram - gram.mean(0, keepdim=True) - gram.mean(1, keepdim=True) + gram.mean()
    return max(0.0, float(centred.diagonal().mean()))


@dataclass(frozen=True)
class ConfusionSummary:
    r"""Pairwise statistics of a gradient Gram matrix (see :func:`pairwise_summary`).

    Attributes
    ----------
    n : int
        Number of examples.
    min_inner, mean_inner : float
        Minimum and mean of :math:`G_{ij}` over :math:`i \ne j` (mean computed directly).
    min_cosine, mean_cosine : float
        Minimum and mean of the cosines over :math:`i \ne j`.
    mean_sq_norm : float
        :math:`\frac1n\sum_i\|\nabla f_i\|^2`.
    full_grad_sq_norm : float
        :math:`\|\nabla F\|^2 = \frac1{n^2}\sum_{ij} G_{ij}`.
    gradient_variance : float
        :math:`\sigma^2 = \frac1n\sum_i\|\nabla f_i - \nabla F\|^2`.
    confusion : float
        :math:`\eta = \max(0, -\min_{i\ne j} G_{ij})` (Definition 2.1).
    normalized_confusion : float
        :math:`\max(0, -\min_{i\ne j}\cos_{ij})` (ICML Section 8).
    """

    n: int
    min_inner: float
    mean_inner: float
    min_cosine: float
    mean_cosine: float
    mean_sq_norm: float
    full_grad_sq_norm: float
    gradient_variance: float
    confusion: float
    normalized_confusion: float

    @property
    def mean_inner_identity(self) -> float:
        r"""Right-hand side :math:`\|\nabla F\|^2 - \sigma^2/(n-1)`; equals ``mean_inner``."""
        return self.full_grad_sq_norm - self.gradient_variance / (self.n - 1)


def confusion_bound(gram: torch.Tensor) -> float:
    r"""Gradient confusion :math:`\eta = \max(0, -\min_{i \ne j} G_{ij})` (worst case).

    The smallest :math:`\eta \ge 0` such that :math:`\langle\nabla f_i,\nabla f_j\rangle \ge
    -\eta` for all :math:`i \ne j`: only negative inner products count.

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n), n >= 2
        Gradient Gram matrix.

    Returns
    -------
    float

    References
    ----------
    Sankararaman et al., Definition 2.1, eq. (3) (identical in the long and ICML versions).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import confusion_bound
    >>> g = torch.tensor([[1.0, 0.0], [-0.5, 1.0], [0.0, 2.0]], dtype=torch.float64)
    >>> confusion_bound(g @ g.T)
    0.5
    >>> confusion_bound(torch.eye(3, dtype=torch.float64))   # orthogonal gradients
    0.0
    """
    gram = _gram(gram)
    return max(0.0, -float(_off_diagonal(gram).min()))


def normalized_confusion_bound(gram: torch.Tensor, *, eps: float = 0.0) -> float:
    r"""Normalised confusion :math:`\max(0, -\min_{i\ne j} \cos(\nabla f_i, \nabla f_j))`.

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n), n >= 2
        Gradient Gram matrix.
    eps : float, default 0.0
        Gradients with norm ``<= eps`` count as zero (cosine 0), as in
        :func:`helpers.gradients.cosine_matrix`.

    Returns
    -------
    float

    References
    ----------
    Sankararaman et al. (ICML version), Section 8, the normalised variant
    :math:`\langle\nabla f_i,\nabla f_j\rangle/(\|\nabla f_i\|\|\nabla f_j\|) \ge -\eta`;
    the quantity plotted in their experiments (minimum pairwise cosine similarity).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import normalized_confusion_bound
    >>> g = torch.tensor([[1.0, 0.0], [-1.0, 1.0]], dtype=torch.float64)
    >>> round(normalized_confusion_bound(g @ g.T), 4)   # cos 135 degrees
    0.7071
    """
    gram = _gram(gram)
    eps = check_real(eps, "eps", minimum=0.0)
    cos = _cosines(gram, eps)
    return max(0.0, -float(_off_diagonal(cos).min()))


def average_confusion_bound(gram: torch.Tensor, *, include_diagonal: bool = False) -> float:
    r"""Average confusion :math:`\max(0, -\frac{1}{n(n-1)}\sum_{i \ne j} G_{ij})`.

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n), n >= 2
        Gradient Gram matrix.
    include_diagonal : bool, default False
        ``True`` averages over all :math:`n^2` pairs as printed in the paper; that average is
        :math:`\|\nabla F\|^2 \ge 0`, so the result is then always 0 (the condition is vacuous).

    Returns
    -------
    float
        The smallest :math:`\eta \ge 0` with average inner product :math:`\ge -\eta`.

    References
    ----------
    Sankararaman et al. (ICML version), Section 8, the average-case condition
    :math:`\sum_{i,j} \langle\nabla f_i,\nabla f_j\rangle / N^2 \ge -\eta`.

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import average_confusion_bound
    >>> g = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)   # opposite gradients
    >>> average_confusion_bound(g @ g.T), average_confusion_bound(g @ g.T, include_diagonal=True)
    (1.0, 0.0)
    """
    gram = _gram(gram)
    if not isinstance(include_diagonal, bool):
        raise TypeError(f"include_diagonal must be a bool, got {include_diagonal!r}")
    mean = float(gram.mean()) if include_diagonal else float(_off_diagonal(gram).mean())
    return max(0.0, -mean)


def gradient_variance(gram: torch.Tensor) -> float:
    r"""Gradient variance :math:`\sigma^2 = \frac1n\sum_i \|\nabla f_i - \nabla F\|^2`.

    Computed as :math:`\frac1n\mathrm{tr}(\mathbf H G \mathbf H)` with the centring matrix
    :math:`\mathbf H = \mathbf I - \frac1n\mathbf 1\mathbf 1^\top`
    (:math:`= \frac1n\sum_i G_{ii} - \|\nabla F\|^2`).

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n), n >= 2

    Returns
    -------
    float

    References
    ----------
    Sankararaman et al. (ICML version), Section 9 (bounded variance
    :math:`\mathbb E_i\|\nabla f_i - \nabla F\|^2 \le \sigma^2` and its relation to confusion).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import gradient_variance
    >>> g = torch.tensor([[1.0], [3.0]], dtype=torch.float64)   # mean 2, deviations +-1
    >>> gradient_variance(g @ g.T)
    1.0
    """
    return _variance(_gram(gram))


def pairwise_summary(gram: torch.Tensor) -> ConfusionSummary:
    r"""Pairwise statistics of a gradient Gram matrix, with the pieces of the mean identity.

    ``mean_inner`` is averaged directly over the :math:`n(n-1)` off-diagonal entries; the
    identity :math:`\text{mean\_inner} = \frac{n^2\|\nabla F\|^2 - \sum_i\|\nabla f_i\|^2}{n(n-1)}
    = \|\nabla F\|^2 - \sigma^2/(n-1)` can be checked with ``full_grad_sq_norm``,
    ``mean_sq_norm`` and ``gradient_variance`` (or the property ``mean_inner_identity``).

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n), n >= 2

    Returns
    -------
    ConfusionSummary

    References
    ----------
    Sankararaman et al., Definition 2.1 (worst case); ICML version, Sections 8 (average and
    normalised variants) and 9 (gradient variance).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import pairwise_summary
    >>> g = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    >>> s = pairwise_summary(g @ g.T)
    >>> s.min_inner, round(s.mean_inner, 4), s.confusion, s.normalized_confusion
    (-1.0, -0.3333, 1.0, 1.0)
    >>> round(s.mean_inner_identity, 4)
    -0.3333
    """
    gram = _gram(gram)
    n = gram.shape[0]
    off = _off_diagonal(gram)
    cos = _off_diagonal(_cosines(gram, 0.0))
    min_inner = float(off.min())
    min_cos = float(cos.min())
    full = _full_sq_norm(gram)
    return ConfusionSummary(
        n=n,
        min_inner=min_inner,
        mean_inner=float(off.mean()),
        min_cosine=min_cos,
        mean_cosine=float(cos.mean()),
        mean_sq_norm=float(gram.diagonal().mean()),
        full_grad_sq_norm=full,
        gradient_variance=_variance(gram),
        confusion=max(0.0, -min_inner),
        normalized_confusion=max(0.0, -min_cos),
    )


def _batch_factor(n: int, batch_size: object, replace: object) -> float:
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be a bool, got {replace!r}")
    if replace:
        b = check_int(batch_size, "batch_size", minimum=1)
        return 1.0 / b
    b = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    return (n - b) / (b * (n - 1))


def minibatch_gradient_variance(gram: torch.Tensor, batch_size: int, *,
                                replace: bool = False) -> float:
    r"""Variance :math:`\mathbb E\|\bar{\mathbf g}_B - \nabla F\|^2` of a minibatch gradient.

    :math:`\bar{\mathbf g}_B` is the mean of :math:`B` per-example gradients drawn uniformly
    without replacement (default): :math:`\frac{\sigma^2}{B}\,\frac{n - B}{n - 1}` (finite
    population correction; 0 at :math:`B = n`); with replacement: :math:`\sigma^2 / B`.

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n), n >= 2
    batch_size : int
        :math:`B \ge 1` (and :math:`\le n` without replacement).
    replace : bool, default False

    Returns
    -------
    float

    References
    ----------
    Sankararaman et al. (ICML version), Section 9 (gradient variance vs confusion) and
    Section 8 (minibatches of size :math:`B`).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import minibatch_gradient_variance
    >>> g = torch.tensor([[1.0], [3.0], [5.0]], dtype=torch.float64)   # sigma^2 = 8/3
    >>> round(minibatch_gradient_variance(g @ g.T, 2), 4)   # (8/3)/2 * (3-2)/(3-1)
    0.6667
    >>> round(minibatch_gradient_variance(g @ g.T, 2, replace=True), 4)
    1.3333
    """
    gram = _gram(gram)
    factor = _batch_factor(gram.shape[0], batch_size, replace)
    return factor * _variance(gram)


def minibatch_inner_product_variance(gram: torch.Tensor, batch_size: int, *,
                                     replace: bool = False) -> float:
    r"""Variance of the inner product :math:`\langle\bar{\mathbf g}_B, \bar{\mathbf g}'_B\rangle`.

    With :math:`\boldsymbol\mu = \nabla F`, :math:`\boldsymbol\Sigma = \frac1n\sum_i
    (\nabla f_i - \boldsymbol\mu)(\nabla f_i - \boldsymbol\mu)^\top` and :math:`s` the variance
    factor of a minibatch mean (:math:`1/B` with replacement, :math:`\frac{n-B}{B(n-1)}`
    without), the exact value is

    .. math:: 2 s\, \boldsymbol\mu^\top\boldsymbol\Sigma\boldsymbol\mu
       + s^2 \mathrm{tr}(\boldsymbol\Sigma^2),

    computed from :math:`G` alone. It scales as :math:`1/B^2` (the claim of the ICML version,
    Section 8) only when :math:`\boldsymbol\mu^\top\boldsymbol\Sigma\boldsymbol\mu` is negligible,
    e.g. near a stationary point; otherwise as :math:`1/B`.

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n), n >= 2
    batch_size : int
    replace : bool, default False
        Each minibatch drawn with or without replacement (the two are independent).

    Returns
    -------
    float

    References
    ----------
    Sankararaman et al. (ICML version), Section 8, last paragraph ("the variance of the
    gradient inner product scales down as :math:`1/B^2`").

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import minibatch_inner_product_variance
    >>> g = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)   # mu = 0, Sigma = 1
    >>> minibatch_inner_product_variance(g @ g.T, 1), minibatch_inner_product_variance(g @ g.T, 2)
    (1.0, 0.0)
    """
    gram = _gram(gram)
    n = gram.shape[0]
    s = _batch_factor(n, batch_size, replace)
    row = gram.mean(1)
    mean = gram.mean()
    centred = gram - gram.mean(0, keepdim=True) - row[:, None] + mean
    tr_sigma2 = float(centred.pow(2).sum()) / n**2
    mu_sigma_mu = float((row - mean).pow(2).mean())
    return 2 * s * mu_sigma_mu + s**2 * tr_sigma2


def minibatch_gram(gram: torch.Tensor, batches: torch.Tensor) -> torch.Tensor:
    r"""Gram matrix of minibatch gradients, :math:`\frac{1}{B^2}\sum_{i\in S_a, j\in S_b} G_{ij}`.

    Parameters
    ----------
    gram : torch.Tensor, shape (n, n)
        Per-example gradient Gram matrix.
    batches : torch.Tensor, shape (k, B), integer
        Row ``a`` lists the example indices of minibatch :math:`S_a` (repeats allowed).

    Returns
    -------
    torch.Tensor, shape (k, k)
        Inner products of the minibatch gradients :math:`\frac1B\sum_{i\in S_a}\nabla f_i`; feed
        it to :func:`confusion_bound` or :func:`helpers.gradients.cosine_matrix` to measure
        confusion between minibatches as the experiments do.

    References
    ----------
    Sankararaman et al. (ICML version), Section 8 (the confusion condition applied to
    minibatch gradients).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import minibatch_gram
    >>> g = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]], dtype=torch.float64)
    >>> minibatch_gram(g @ g.T, torch.tensor([[0, 1], [2, 3]]))
    tensor([[0.5000, 0.2500],
            [0.2500, 0.2500]], dtype=torch.float64)
    """
    gram = _check_gram(gram)
    batches = check_tensor(batches, "batches", ndim=2)
    if batches.is_floating_point() or batches.is_complex() or batches.dtype == torch.bool:
        raise TypeError(f"batches must hold integer example indices, got {batches.dtype}")
    n = gram.shape[0]
    if bool(((batches < 0) | (batches >= n)).any()):
        raise ValueError(f"batches must hold indices in [0, {n - 1}], got values in"
                         f" [{int(batches.min())}, {int(batches.max())}]")
    k, b = batches.shape
    idx = batches.reshape(-1).long().to(gram.device)
    out = gram[idx][:, idx].reshape(k, b, k, b).mean(dim=(1, 3))
    return 0.5 * (out + out.T)



def minibatch_gradients(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor, *,
                        batch_size: int, num_batches: int,
                        generator: torch.Generator) -> torch.Tensor:
    r"""Gradients of the mean loss on ``num_batches`` random minibatches, one row each.

    Row :math:`k` is :math:`\mathbf g_k = \nabla_{\mathbf w}\frac1B\sum_{i\in S_k}
    \ell_i(\mathbf w)` flattened over the trainable parameters (in ``model.parameters()``
    order), where each :math:`S_k` holds ``batch_size`` distinct example indices and the
    :math:`S_k` are drawn independently of each other. The model is evaluated in its CURRENT
    mode: in train mode batch norm normalises with the statistics of :math:`S_k`, exactly as
    during an SGD step (so the gradients are the ones SGD uses, not per-example gradients of a
    fixed function). All buffers (batch-norm running statistics, ``num_batches_tracked``) are
    restored afterwards and the ``.grad`` attributes are not touched. Active dropout is
    rejected (it would draw from torch's global generator).

    The cosine matrix of the minibatch gradients is
    ``helpers.gradients.cosine_matrix(G @ G.T)``; :func:`pairwise_summary` of ``G @ G.T`` gives
    its minimum and mean, the quantities plotted by Sankararaman et al.

    Parameters
    ----------
    model : torch.nn.Module
        Network with at least one trainable parameter, in the mode to measure.
    loss_fn : callable
        Per-example loss ``(outputs, targets) -> (B,)`` such as
        :func:`helpers.losses.cross_entropy`.
    X : torch.Tensor, shape (n, ...)
        Inputs (floating, same dtype as the parameters).
    y : torch.Tensor, shape (n,) or (n, c)
        Targets.
    batch_size : int
        :math:`B`, with :math:`1 \le B \le n` (minibatches are drawn without replacement).
    num_batches : int
        Number :math:`K \ge 1` of minibatches.
    generator : torch.Generator
        Source of the minibatch indices (on the device of ``X``).

    Returns
    -------
    torch.Tensor, shape (num_batches, p)
        The minibatch gradients, dtype of the parameters, device of ``X``.

    References
    ----------
    Sankararaman et al., long version, Section 7 ("at the end of every training epoch, we
    sample 100 mini-batches each of size 128 [...] calculate gradients on each of these
    mini-batches, and then calculate pairwise cosine similarities") and Appendix E; ICML
    version, Section 7 (same protocol, 100 pairs of minibatches of size 128).

    Examples
    --------
    >>> import torch
    >>> from helpers.gradient_confusion import minibatch_gradients, pairwise_summary
    >>> from helpers.gradients import cosine_matrix
    >>> from helpers.losses import squared_loss
    >>> model = torch.nn.Linear(3, 1, bias=False).double()
    >>> with torch.no_grad():
    ...     _ = model.weight.zero_()
    >>> X = torch.eye(3, dtype=torch.float64)
    >>> y = torch.ones(3, dtype=torch.float64)
    >>> G = minibatch_gradients(model, squared_loss, X, y, batch_size=1, num_batches=4,
    ...                         generator=torch.Generator().manual_seed(0))
    >>> G.shape   # each row is -e_i for the example i drawn
    torch.Size([4, 3])
    >>> bool(((G == 0) | (G == -1)).all()), (G.sum(1) == -1).tolist()
    (True, [True, True, True, True])
    >>> cos = cosine_matrix(G @ G.T)   # 0 for distinct examples, 1 for repeats
    >>> bool(((cos.abs() < 1e-12) | ((cos - 1).abs() < 1e-12)).all())
    True
    >>> round(pairwise_summary(G @ G.T).min_cosine, 6)
    0.0
    """
    model = check_module(model)
    if not callable(loss_fn):
        raise TypeError("loss_fn must be a per-example loss (outputs, targets) -> (B,), such as"
                        f" helpers.losses.cross_entropy, got {type(loss_fn).__name__}")
    X = check_tensor(X, "X", ndim=(2, 3, 4, 5), floating=True)
    y = check_tensor(y, "y", ndim=(1, 2), finite=False)
    check_same_length(X, y, "X", "y")
    n = X.shape[0]
    batch_size = check_int(batch_size, "batch_size", minimum=1, maximum=n)
    num_batches = check_int(num_batches, "num_batches", minimum=1)
    generator = check_generator(generator, device=X.device)
    params = list(trainable_parameters(model).values())
    if X.dtype != params[0].dtype:
        raise TypeError(f"X has dtype {X.dtype} but the model's parameters have dtype"
                        f" {params[0].dtype}; convert one of them")
    check_deterministic_mode(model, batch_statistics=None,  # train-mode BN is the protocol
                             dropout="it would draw from torch's global generator")
    # Independent minibatches, each without replacement: the first B entries of a random
    # permutation per row (argsort of i.i.d. uniforms).
    keys = torch.rand(num_batches, n, generator=generator, device=X.device, dtype=torch.float64)
    batches = keys.argsort(dim=1)[:, :batch_size]
    saved = {name: b.detach().clone() for name, b in model.named_buffers()}
    rows = []
    try:
        with torch.enable_grad():
            for idx in batches:
                out = model(X[idx])
                losses = loss_fn(out, y[idx])
                if not isinstance(losses, torch.Tensor) or tuple(losses.shape) != (batch_size,):
                    raise ValueError(
                        f"loss_fn must return one loss per example, shape ({batch_size},),"
                        f" without reduction, got {type(losses).__name__} of shape"
                        f" {tuple(getattr(losses, 'shape', ()))}")
                grads = torch.autograd.grad(losses.mean(), params, allow_unused=True)
                rows.append(torch.cat([(torch.zeros_like(p) if g is None else g).reshape(-1)
                                       for p, g in zip(params, grads, strict=True)]))
    finally:
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(saved[name])
    return torch.stack(rows).to(X.device)
