r"""Mean-field rate spectra in the form a spike analysis measures them.

:func:`distsim.meanfield.power_spectra` (Bos et al. 2016 eq. 18, as NNMT) is the TWO-SIDED
spectrum ``P(f)`` (spikes/s = (spikes/s)^2/Hz) of the population-averaged rate of the N
neurons of each population (a Poisson population gives ``nu/N``). ``analysis`` bins spikes
in ``bin_ms`` bins (``a = counts / (N bin)``), samples at ``fs = 1000/bin_ms`` Hz and gives
the ONE-SIDED Welch PSD. To compare like with like:

* one-sided: x 2;
* binning and sampling: ``sum_k sinc^2((f + k fs) bin) P(|f + k fs|)`` (box-car filter plus
  aliasing); terms ``|k| <= n_alias`` from the theory, the rest as the flat high-frequency
  limit ``nu/N (1 - sum_{|k| <= n_alias} sinc^2)`` using ``sum_k sinc^2(x + k) = 1``.

Units: Hz, spikes/s, (spikes/s)^2/Hz.
"""

from __future__ import annotations

import numpy as np

from .linear import effective_connectivity, power_spectra


def binned_power_spectra(params: dict, freqs, nu, bin_ms: float = 1.0, delay_min: float = 0.0,
                         n_alias: int = 1) -> np.ndarray:
    """Return the one-sided spectra of the binned population rates, (n_freqs, n_pops) (spikes/s)^2/Hz.

    params: mean-field dict (needs ``num_neurons``); freqs (Hz) in (0, fs/2) with
    fs = 1000/bin_ms; nu: working-point rates (spikes/s); delay_min: delay truncation (ms).
    See the module docstring.
    """
    freqs = np.asarray(freqs, float)
    fs = 1000.0 / bin_ms
    if np.any(freqs <= 0) or np.any(freqs >= fs / 2):
        raise ValueError(f"freqs must lie in (0, {fs / 2}) Hz")
    ks = np.arange(-n_alias, n_alias + 1)
    fk = freqs[None, :] + ks[:, None] * fs                      # (n_k, n_f)
    w = np.sinc(fk * bin_ms * 1e-3) ** 2                          # box-car filter |H|^2
    P = power_spectra(params, np.abs(fk).ravel(), nu=nu, delay_min=delay_min)
    P = P.reshape(ks.size, freqs.size, -1)
    flat = np.asarray(nu, float) / np.asarray(params["num_neurons"], float)
    two_sided = np.einsum("kf,kfp->fp", w, P) + (1.0 - w.sum(axis=0))[:, None] * flat[None]
    return 2.0 * two_sided


def one_sided_power_spectra(params: dict, freqs, nu, delay_min: float = 0.0) -> np.ndarray:
    """Return ``2 P(f)`` (n_freqs, n_pops), (spikes/s)^2/Hz: one-sided, unbinned rate."""
    return 2.0 * power_spectra(params, np.asarray(freqs, float), nu=nu, delay_min=delay_min)


def closest_to_instability(params: dict, nu, freqs, delay_min: float = 0.0) -> dict:
    """Where the linear theory is closest to an instability.

    Minimum over ``freqs`` (Hz) and the eigenvalues lambda of W(f) of ``|1 - lambda|`` (the
    spectra grow like 1/|1 - lambda|^2 there). Returns {"freq_hz", "distance",
    "eigenvalue": [re, im]}.
    """
    freqs = np.asarray(freqs, float)
    W = effective_connectivity(params, freqs, nu=nu, delay_min=delay_min)
    ev = np.linalg.eigvals(W)
    d = np.abs(1.0 - ev)
    k, j = np.unravel_index(np.argmin(d), d.shape)
    return {"freq_hz": float(freqs[k]), "distance": float(d[k, j]),
            "eigenvalue": [float(ev[k, j].real), float(ev[k, j].imag)]}
