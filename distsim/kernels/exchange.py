"""Kernels of the spike exchange (``engine.exchange``): pack a rank's slot, unpack all slots.

A slot is int64 words: a header (the number of records the rank has in this slice, ORed with
the stop bit) followed by records ``(gid, stamp in steps, multiplicity)``.
"""
import numpy as np
from numba import njit


@njit(cache=True)
def pack_slot(out_idx, out_stamp, out_mult, n_out, size, rank, header_bits, buf):
    """Write the header ``n_out | header_bits`` into ``buf[0]`` and the first n_out local
    outputs as records (gid = local index * size + rank, stamp, multiplicity) from ``buf[1]``.
    Returns None."""
    buf[0] = n_out | header_bits
    for i in range(n_out):
        buf[1 + 3 * i] = out_idx[i] * size + rank
        buf[2 + 3 * i] = out_stamp[i]
        buf[3 + 3 * i] = out_mult[i]


@njit(cache=True)
def unpack_slots(recv, size, slot_words, count_mask, gid, stamp, mult):
    """Copy the records of the ``size`` slots in ``recv`` (rank order, ``slot_words`` int64
    each, at most (slot_words - 1) // 3 records in a slot) into gid, stamp, mult from index 0.
    Returns (records copied, header bits of all slots ORed outside ``count_mask``, largest
    count in a header)."""
    cap = (slot_words - 1) // 3
    p = 0
    bits = np.int64(0)
    n_max = np.int64(0)
    for r in range(size):
        h = recv[r * slot_words]
        n = h & count_mask
        bits |= h & ~count_mask
        if n > n_max:
            n_max = n
        k = min(n, cap)
        b = r * slot_words + 1
        for i in range(k):
            gid[p] = recv[b + 3 * i]
            stamp[p] = recv[b + 3 * i + 1]
            mult[p] = recv[b + 3 * i + 2]
            p += 1
    return p, bits, n_max


@njit(cache=True)
def unpack_records(recv, n, gid, stamp, mult, at):
    """Copy n consecutive records of ``recv`` into gid, stamp, mult from index ``at``.
    Returns at + n."""
    for i in range(n):
        gid[at + i] = recv[3 * i]
        stamp[at + i] = recv[3 * i + 1]
        mult[at + i] = recv[3 * i + 2]
    return at + n
