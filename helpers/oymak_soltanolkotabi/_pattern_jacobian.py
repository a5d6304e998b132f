r"""The input-layer Jacobian of the two-layer network written through activation patterns.

For :math:`f(\mathbf W) = \phi(\mathbf X\mathbf W^\top)\mathbf v` the Jacobian with respect to
:math:`\mathrm{vect}(\mathbf W)` has rows :math:`(\mathbf v\odot\phi'(\mathbf W\mathbf x_i))
\otimes\mathbf x_i` (Oymak & Soltanolkotabi, Section 6.1, eq. (6.1)). Every matrix that the
proofs of Section 6 and Appendices C and G manipulate has the same form with the derivative
pattern :math:`\phi'(\mathbf X\mathbf W^\top)` replaced by some :math:`n\times k` matrix
:math:`\mathbf P`:

* :math:`\mathbf P = \phi'(\mathbf X\mathbf W^\top)`: the Jacobian :math:`\mathcal J(\mathbf W)`;
* :math:`\mathbf P = \phi'(\mathbf X\mathbf W^\top)-\phi'(\mathbf X\mathbf W_0^\top)`: the
  perturbation :math:`\mathcal J(\mathbf W)-\mathcal J(\mathbf W_0)` (Lemmas 6.8, 6.9, C.1);
* :math:`\mathbf P = \int_0^1\phi'(\mathbf X(\mathbf W+t(\mathbf W'-\mathbf W))^\top)\,dt`: the
  average Jacobian :math:`\mathcal J(\mathbf W',\mathbf W)` of Definition G.2, exact for the
  ReLU (:func:`relu_average_pattern`).

Write :math:`\mathcal J_{\mathbf P}` for the :math:`n\times kd` matrix with rows
:math:`(\mathbf v\odot\mathbf P_i)\otimes\mathbf x_i`. Its Gram matrix is
:math:`\mathcal J_{\mathbf P}\mathcal J_{\mathbf P}^\top = (\mathbf P\,\mathrm{diag}(\mathbf v)^2
\mathbf P^\top)\odot\mathbf X\mathbf X^\top` (eq. (6.1) and Lemma 6.5's setting), so its
singular values cost :math:`O(n^2k)` and the :math:`n\times kd` matrix is never formed; and
:math:`\mathcal J_{\mathbf P}^\top\mathbf r = \mathrm{vect}(\mathrm{diag}(\mathbf v)\mathbf P^\top
\mathrm{diag}(\mathbf r)\mathbf X)`.
"""

from __future__ import annotations

import torch

from .._validate import check_tensor

__all__ = ["pattern_gram", "pattern_singular_values", "pattern_transpose", "relu_average_pattern"]


def _operands(X: object, P: object, v: object) -> tuple[torch.Tensor, torch.Tensor,
                                                        torch.Tensor]:
    X = check_tensor(X, "X", ndim=2, floating=True)
    P = check_tensor(P, "P", ndim=2, floating=True, shape=(X.shape[0], None))
    v = check_tensor(v, "v", ndim=1, floating=True, shape=(P.shape[1],))
    return X, P, v


def pattern_gram(X: torch.Tensor, P: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r"""Gram matrix :math:`\mathcal J_{\mathbf P}\mathcal J_{\mathbf P}^\top = (\mathbf P\,
    \mathrm{diag}(\mathbf v)^2\mathbf P^\top)\odot\mathbf X\mathbf X^\top` of the matrix with rows
    :math:`(\mathbf v\odot\mathbf P_i)\otimes\mathbf x_i`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
        Inputs.
    P : torch.Tensor, shape (n, k)
        A pattern: :math:`\phi'(\mathbf X\mathbf W^\top)`, a difference of two, or an average.
    v : torch.Tensor, shape (k,)
        Output weights.

    Returns
    -------
    torch.Tensor, shape (n, n)
        Symmetric positive semidefinite.

    References
    ----------
    Oymak & Soltanolkotabi, Section 6.1 (eq. (6.1)), Lemma C.1 and Definition G.2.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import pattern_gram
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> P = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    >>> pattern_gram(X, P, torch.tensor([1.0, -1.0], dtype=torch.float64))
    tensor([[2., 0.],
            [0., 1.]], dtype=torch.float64)
    """
    X, P, v = _operands(X, P, v)
    D = P * v
    return (D @ D.T) * (X @ X.T)


def pattern_singular_values(X: torch.Tensor, P: torch.Tensor,
                            v: torch.Tensor) -> tuple[float, float]:
    r"""Smallest and largest singular values :math:`(\sigma_{\min}, \|\cdot\|)` of
    :math:`\mathcal J_{\mathbf P}`, from the eigenvalues of :func:`pattern_gram`.

    :math:`\sigma_{\min}` is the :math:`n`-th singular value (the matrix is :math:`n\times kd`);
    eigenvalues below zero by rounding are clipped at 0 before the square root.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    P : torch.Tensor, shape (n, k)
    v : torch.Tensor, shape (k,)

    Returns
    -------
    tuple of float
        :math:`(\sigma_n(\mathcal J_{\mathbf P}), \sigma_1(\mathcal J_{\mathbf P}))`.

    References
    ----------
    Oymak & Soltanolkotabi, Lemmas 6.6 and 6.7 (:math:`\|\mathcal J\|\le\beta`,
    :math:`\sigma_{\min}(\mathcal J_0)\ge2\alpha`), Assumptions 2-4.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import pattern_singular_values
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> P = torch.tensor([[1.0, 1.0], [0.0, 1.0]], dtype=torch.float64)
    >>> s_min, s_max = pattern_singular_values(X, P, torch.ones(2, dtype=torch.float64))
    >>> round(s_min, 6), round(s_max, 6)            # sqrt(1), sqrt(2)
    (1.0, 1.414214)
    """
    ev = torch.linalg.eigvalsh(pattern_gram(X, P, v)).clamp_min(0).sqrt()
    return float(ev[0]), float(ev[-1])


def pattern_transpose(X: torch.Tensor, P: torch.Tensor, v: torch.Tensor,
                      r: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathcal J_{\mathbf P}^\top\mathbf r` as a :math:`k\times d` matrix,
    :math:`\mathrm{diag}(\mathbf v)\mathbf P^\top\mathrm{diag}(\mathbf r)\mathbf X`.

    With :math:`\mathbf P = \phi'(\mathbf X\mathbf W^\top)` and the residual :math:`\mathbf r =
    f(\mathbf W)-\mathbf y` this is the gradient of the loss (2.1), so a GD step is
    :math:`\mathbf W\leftarrow\mathbf W-\eta\,\mathcal J^\top\mathbf r`.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    P : torch.Tensor, shape (n, k)
    v : torch.Tensor, shape (k,)
    r : torch.Tensor, shape (n,)

    Returns
    -------
    torch.Tensor, shape (k, d)

    References
    ----------
    Oymak & Soltanolkotabi, Section 6.1 (:math:`\mathrm{mat}(\mathcal J^\top(\mathbf W)\mathbf u)
    = \mathrm{diag}(\mathbf v)\phi'(\mathbf W\mathbf X^\top)\mathrm{diag}(\mathbf u)\mathbf X`).

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import pattern_transpose
    >>> X = torch.eye(2, dtype=torch.float64)
    >>> P = torch.ones(2, 3, dtype=torch.float64)
    >>> v = torch.tensor([1.0, -1.0, 0.0], dtype=torch.float64)
    >>> pattern_transpose(X, P, v, torch.tensor([2.0, 3.0], dtype=torch.float64))
    tensor([[ 2.,  3.],
            [-2., -3.],
            [ 0.,  0.]], dtype=torch.float64)
    """
    X, P, v = _operands(X, P, v)
    r = check_tensor(r, "r", ndim=1, floating=True, shape=(X.shape[0],))
    return (P * v * r[:, None]).T @ X


def relu_average_pattern(X: torch.Tensor, W: torch.Tensor, W_next: torch.Tensor) -> torch.Tensor:
    r"""The averaged ReLU pattern of Definition G.2: entry :math:`(i,\ell)` is the fraction of
    :math:`t\in[0,1]` with :math:`(\mathbf w_\ell+t(\mathbf w'_\ell-\mathbf w_\ell))^\top
    \mathbf x_i > 0`.

    Along the segment the pre-activation :math:`a+tb` (:math:`a = \mathbf w_\ell^\top\mathbf
    x_i`, :math:`b = (\mathbf w'_\ell-\mathbf w_\ell)^\top\mathbf x_i`) is affine in :math:`t`,
    so the fraction is :math:`1-\mathrm{clip}(-a/b, 0, 1)` for :math:`b>0`,
    :math:`\mathrm{clip}(-a/b,0,1)` for :math:`b<0` and :math:`\mathbb 1\{a>0\}` for
    :math:`b = 0`. With it, the average Jacobian :math:`\mathcal J(\mathbf W',\mathbf W)` is
    :math:`\mathcal J_{\mathbf P}` (see the module docstring), and (G.2)
    :math:`f(\mathbf W')-f(\mathbf W) = \mathcal J(\mathbf W',\mathbf W)\,\mathrm{vect}(\mathbf
    W'-\mathbf W)` holds exactly.

    Parameters
    ----------
    X : torch.Tensor, shape (n, d)
    W, W_next : torch.Tensor, shape (k, d)
        The end points :math:`\mathbf W` and :math:`\mathbf W'` of the segment.

    Returns
    -------
    torch.Tensor, shape (n, k)
        Entries in :math:`[0, 1]`.

    References
    ----------
    Oymak & Soltanolkotabi, Definition G.2 and the proof of Lemma G.4.

    Examples
    --------
    >>> import torch
    >>> from helpers.oymak_soltanolkotabi import relu_average_pattern
    >>> X = torch.eye(1, dtype=torch.float64)
    >>> W = torch.tensor([[-1.0], [1.0], [2.0]], dtype=torch.float64)
    >>> relu_average_pattern(X, W, torch.tensor([[3.0], [-1.0], [2.0]], dtype=torch.float64))
    tensor([[0.7500, 0.5000, 1.0000]], dtype=torch.float64)
    """
    X = check_tensor(X, "X", ndim=2, floating=True)
    W = check_tensor(W, "W", ndim=2, floating=True, shape=(None, X.shape[1]))
    W_next = check_tensor(W_next, "W_next", ndim=2, floating=True, shape=tuple(W.shape))
    a, b = X @ W.T, X @ (W_next - W).T
    safe = torch.where(b != 0, b, torch.ones_like(b))
    t0 = (-a / safe).clamp(0, 1)
    frac = torch.where(b > 0, 1 - t0, t0)
    return torch.where(b == 0, (a > 0).to(a.dtype), frac)
