r"""Part I: gradient confusion and SGD (Sankararaman, De, Xu, Huang & Goldstein).

The objects of the long arXiv version ([L]) and the ICML version ([I]) of *The impact of neural
network overparameterization on gradient confusion and stochastic gradient descent*:

* confusion of a gradient Gram matrix -- :func:`confusion_bound` (Definition 2.1),
  :func:`normalized_confusion_bound` and :func:`average_confusion_bound` ([I] Section 8),
  :func:`pairwise_summary`, :func:`gradient_variance`; minibatch versions
  (:func:`minibatch_gradients`, the measurement protocol of Section 7, :func:`minibatch_gram`,
  :func:`minibatch_inner_product_variance`, :func:`minibatch_gradient_variance`);
* the convergence bounds of Section 3 -- :func:`pl_rate`, :func:`pl_bound` (Theorem 3.1),
  :func:`stationary_bound` (Theorem 3.2) -- and :func:`glm_sgd`, exact single-sample SGD chains
  on the linear and generalised linear models those theorems are checked on;
* the measurement protocol of Section 7 -- :func:`confusion_protocol` (the best step size of
  a grid, training through :func:`helpers.train.train` with checkpoints, then the pairwise
  cosines of minibatch gradients, with an optional guard against chaotic step sizes; returns a
  :class:`ProtocolResult`) and :func:`minibatch_confusion` (the measurement alone, a
  :class:`MinibatchConfusion`);
* random networks and their confusion (Sections 5.2 and 6; [I] Theorem 4.1) --
  :func:`random_mlp` (the network of [L] eq. (5), optionally with every weight matrix rescaled
  to a given operator norm) and :func:`init_confusion` (pairwise statistics of the gradient
  Gram matrices of random networks on random data; an :class:`InitConfusion`);
* the Lipschitz step of the covering-net proofs (Theorems 5.2 and 5.3 part 2) --
  :func:`inner_product_gradients` (:math:`\|\nabla_{\mathbf W}h_{ij}\|` by double
  backpropagation) and :func:`inner_product_increments`;
* :func:`concentration_tail`, empirical tails against the sub-Gaussian bounds of Lemmas D.1
  and D.3 of [L], with the implied constant (a :class:`TailEstimate`);
* :func:`data_dependent_init_`, the BN-equivalent initialisation of [L] Figure 5;
* :func:`rounding_identity`, :func:`helpers.checks.identity` for identities that hold up to
  rounding, recording the error quantised at ``tol / 100`` so that the committed output does not
  print CPU-dependent rounding noise.

Implementation modules (private): ``_confusion``, ``_sgd``, ``_protocol``, ``_init_confusion``,
``_lipschitz``, ``_concentration``, ``_data_dependent_init``, ``_portable``.

Examples
--------
>>> import torch
>>> from helpers import gradient_confusion
>>> G = torch.tensor([[1.0, -0.5], [-0.5, 2.0]], dtype=torch.float64)   # two gradients
>>> gradient_confusion.confusion_bound(G)            # max over pairs of -<g_i, g_j>
0.5
"""

from ._concentration import TailEstimate, concentration_tail
from ._confusion import (
    ConfusionSummary,
    average_confusion_bound,
    confusion_bound,
    gradient_variance,
    minibatch_gradient_variance,
    minibatch_gradients,
    minibatch_gram,
    minibatch_inner_product_variance,
    normalized_confusion_bound,
    pairwise_summary,
)
from ._data_dependent_init import data_dependent_init_
from ._init_confusion import InitConfusion, init_confusion, random_mlp
from ._lipschitz import inner_product_gradients, inner_product_increments
from ._portable import rounding_identity
from ._protocol import MinibatchConfusion, ProtocolResult, confusion_protocol, minibatch_confusion
from ._sgd import SGDRuns, glm_sgd, pl_bound, pl_rate, stationary_bound

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
    "SGDRuns",
    "pl_rate",
    "pl_bound",
    "stationary_bound",
    "glm_sgd",
    "MinibatchConfusion",
    "minibatch_confusion",
    "ProtocolResult",
    "confusion_protocol",
    "random_mlp",
    "InitConfusion",
    "init_confusion",
    "inner_product_gradients",
    "inner_product_increments",
    "TailEstimate",
    "concentration_tail",
    "data_dependent_init_",
    "rounding_identity",
]
