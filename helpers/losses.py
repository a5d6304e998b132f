r"""Per-example losses ``loss(outputs, targets) -> Tensor (n,)``, without reduction.

Every loss here returns one value per example (row), so that the per-example gradients
:math:`\nabla f_i` of :mod:`helpers.gradients` are gradients of ``loss(...)[i]``. The book's
finite-sum objective is :math:`F(\mathbf w) = \frac1n \sum_i f_i(\mathbf w)`, computed with
:func:`mean_loss`.

Which paper uses which loss
---------------------------
* :func:`squared_loss` -- :math:`\tfrac12(g_{\mathbf w}(\mathbf x_i) - y_i)^2`: Sankararaman et al.
  (square loss of Section 5 and the linear-regression Figure 1), Oymak & Soltanolkotabi
  (:math:`\mathcal L(\mathbf W) = \tfrac12\sum_i (\mathbf v^\top\phi(\mathbf W\mathbf x_i)-y_i)^2`,
  their eq. (2.1); summed,
  not averaged), Allen-Zhu, Li & Song (the l2 regression loss), Du et al. (square loss).
* :func:`logistic_loss` -- :math:`\log(1 + e^{-y_i g_{\mathbf w}(\mathbf x_i)})`:
  Sankararaman et al.
  (Section 2 orthogonal-data example, Section 5 logistic loss with labels
  :math:`\mathcal C(\mathbf x) \in [-1, 1]`).
* :func:`cross_entropy` -- softmax cross-entropy over :math:`k` classes: Li & Liang (multi-class
  two-layer ReLU network, their Section 2) and every classification experiment of the book.

Inside ``torch.func`` transforms (``vmap``/``grad``) the value checks (finite entries, label
ranges) are skipped because they need data-dependent control flow; :mod:`helpers.gradients`
calls the loss once on the whole batch beforehand, so bad values are still reported.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ._validate import _describe, check_tensor

__all__ = ["LossFn", "squared_loss", "logistic_loss", "cross_entropy", "mean_loss"]

#: The one loss type of the book: ``loss_fn(outputs, targets) -> Tensor (n,)`` of per-example
#: losses (every function here; the trainer, the gradient tools and the Hessian tools take it).
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _transformed(t: torch.Tensor) -> bool:
    r"""True inside a ``torch.func`` transform, where tensor values cannot be inspected."""
    return bool(torch._C._functorch.is_functorch_wrapped_tensor(t))


def _check_outputs(outputs: object) -> torch.Tensor:
    outputs = check_tensor(outputs, "outputs", ndim=(1, 2), floating=True, finite=False)
    if not _transformed(outputs):
        check_tensor(outputs, "outputs", floating=True)
    return outputs


def _scalar_outputs(outputs: torch.Tensor, name: str = "outputs") -> torch.Tensor:
    r"""Return (n,) from scalar outputs of shape (n,) or (n, 1)."""
    if outputs.dim() == 2:
        if outputs.shape[1] != 1:
            raise ValueError(
                f"{name} must be scalar per example, shape (n,) or (n, 1), got"
                f" {tuple(outputs.shape)}"
            )
        return outputs[:, 0]
    return outputs


def squared_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""Per-example squared loss :math:`\ell_i = \tfrac12\|f(\mathbf x_i) - \mathbf y_i\|^2`.

    Parameters
    ----------
    outputs : torch.Tensor, shape (n,), (n, 1) or (n, c)
        Network outputs :math:`f(\mathbf x_i)`, floating.
    targets : torch.Tensor, shape (n,) or (n, c)
        Targets, floating. For scalar outputs ((n,) or (n, 1)) the targets are (n,) (or (n, 1));
        for vector outputs (n, c) they are (n, c).

    Returns
    -------
    torch.Tensor, shape (n,)
        The losses, no reduction; dtype and device of ``outputs``.

    References
    ----------
    Sankararaman et al., Section 5 (square loss :math:`f_i = \tfrac12(\mathcal C(\mathbf x_i) -
    g_{\mathbf W}(\mathbf x_i))^2`); Oymak & Soltanolkotabi, eq. (2.1) (sum of these terms).

    Examples
    --------
    >>> import torch
    >>> from helpers.losses import squared_loss
    >>> squared_loss(torch.tensor([[1.0], [3.0]]), torch.tensor([0.0, 1.0]))
    tensor([0.5000, 2.0000])
    """
    outputs = _check_outputs(outputs)
    targets = check_tensor(targets, "targets", ndim=(1, 2), floating=True, finite=False)
    if not _transformed(targets):
        check_tensor(targets, "targets", floating=True)
    if targets.shape[0] != outputs.shape[0]:
        raise ValueError(
            "outputs and targets must have the same number of rows (one per example), got"
            f" {outputs.shape[0]} and {targets.shape[0]}"
        )
    if outputs.dim() == 2 and outputs.shape[1] > 1:
        if tuple(targets.shape) != tuple(outputs.shape):
            raise ValueError(
                f"targets must have the shape of the vector outputs {tuple(outputs.shape)}, got"
                f" {tuple(targets.shape)}"
            )
        return 0.5 * (outputs - targets).pow(2).sum(dim=1)
    out = _scalar_outputs(outputs)
    tgt = _scalar_outputs(targets, "targets")
    return 0.5 * (out - tgt).pow(2)


def logistic_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""Per-example logistic loss :math:`\ell_i = \log(1 + e^{-y_i f(\mathbf x_i)})`.

    Computed as ``logaddexp(0, -y f)``, which neither overflows for large margins nor loses
    the tiny loss of well-classified points.

    Parameters
    ----------
    outputs : torch.Tensor, shape (n,) or (n, 1)
        Scalar outputs (logits) :math:`f(\mathbf x_i)`, floating.
    targets : torch.Tensor, shape (n,) or (n, 1)
        Labels, floating, with :math:`|y_i| \le 1`: usually :math:`y_i \in \{-1, +1\}`;
        Section 5 of Sankararaman et al. also allows soft labels :math:`\mathcal C(\mathbf x_i)
        \in [-1, 1]`.

    Returns
    -------
    torch.Tensor, shape (n,)

    References
    ----------
    Sankararaman et al., Section 2 (logistic regression on orthogonal data,
    :math:`\nabla f_i = \zeta_i \mathbf x_i`) and Section 5 (logistic loss).

    Examples
    --------
    >>> import math, torch
    >>> from helpers.losses import logistic_loss
    >>> loss = logistic_loss(torch.tensor([0.0, 800.0, -800.0]), torch.tensor([1.0, 1.0, 1.0]))
    >>> [round(v, 4) for v in loss.tolist()], round(math.log(2), 4)
    ([0.6931, 0.0, 800.0], 0.6931)
    """
    outputs = _scalar_outputs(_check_outputs(outputs))
    targets = check_tensor(targets, "targets", ndim=(1, 2), floating=True, finite=False)
    targets = _scalar_outputs(targets, "targets")
    if targets.shape[0] != outputs.shape[0]:
        raise ValueError(
            "outputs and targets must have the same number of rows (one per example), got"
            f" {outputs.shape[0]} and {targets.shape[0]}"
        )
    if not _transformed(targets):
        check_tensor(targets, "targets", floating=True)
        if bool((targets.abs() > 1).any()):
            raise ValueError(
                "targets must be labels in [-1, 1] (usually -1 or +1), got values up to"
                f" {targets.abs().max().item():.3g} in absolute value"
            )
    margin = targets * outputs
    return torch.logaddexp(torch.zeros_like(margin), -margin)


def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""Per-example cross-entropy :math:`\ell_i = -\log \mathrm{softmax}(f(\mathbf x_i))_{y_i}`.

    Parameters
    ----------
    outputs : torch.Tensor, shape (n, k)
        Logits over ``k >= 2`` classes, floating.
    targets : torch.Tensor, shape (n,)
        Class indices, integer dtype, in ``{0, ..., k-1}``.

    Returns
    -------
    torch.Tensor, shape (n,)

    References
    ----------
    Li & Liang, Section 2 (cross-entropy of a two-layer ReLU network over :math:`k` classes).

    Examples
    --------
    >>> import torch
    >>> from helpers.losses import cross_entropy
    >>> cross_entropy(torch.zeros(2, 4), torch.tensor([0, 3]))
    tensor([1.3863, 1.3863])
    """
    outputs = _check_outputs(outputs)
    if outputs.dim() != 2 or outputs.shape[1] < 2:
        raise ValueError(
            f"outputs must be logits of shape (n, k) with k >= 2 classes, got"
            f" {tuple(outputs.shape)}"
        )
    targets = check_tensor(targets, "targets", ndim=1)
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise TypeError(
            f"targets must hold integer class indices (torch.long), got {targets.dtype}"
        )
    if targets.shape[0] != outputs.shape[0]:
        raise ValueError(
            "outputs and targets must have the same number of rows (one per example), got"
            f" {outputs.shape[0]} and {targets.shape[0]}"
        )
    k = outputs.shape[1]
    if not _transformed(targets) and bool(((targets < 0) | (targets >= k)).any()):
        raise ValueError(
            f"targets must be class indices in [0, {k - 1}], got values in"
            f" [{int(targets.min())}, {int(targets.max())}]"
        )
    return F.cross_entropy(outputs, targets.long(), reduction="none")


def mean_loss(loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
              outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""The finite-sum objective :math:`F = \frac1n \sum_i \ell_i` as a 0-dim tensor.

    Parameters
    ----------
    loss_fn : callable
        A per-example loss of this module (or any ``(outputs, targets) -> (n,)`` callable).
    outputs, targets : torch.Tensor
        As required by ``loss_fn``.

    Returns
    -------
    torch.Tensor, shape ()

    References
    ----------
    Sankararaman et al., eq. (1): :math:`F(\mathbf w) = \frac1N \sum_i f_i(\mathbf w)`.

    Examples
    --------
    >>> import torch
    >>> from helpers.losses import mean_loss, squared_loss
    >>> mean_loss(squared_loss, torch.tensor([1.0, 3.0]), torch.tensor([0.0, 1.0]))
    tensor(1.2500)
    """
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable (outputs, targets) -> (n,), got"
                        f" {_describe(loss_fn)}")
    losses = loss_fn(outputs, targets)
    if not isinstance(losses, torch.Tensor) or losses.dim() != 1:
        got = _describe(losses)
        raise ValueError(f"loss_fn must return one loss per example, shape (n,), got {got}")
    return losses.mean()
