"""Send one run's recording to several recorders at once."""


class TeeRecorder:
    """Recorder that forwards every call (begin, spikes, samples, after_slice, close) to each
    of ``recorders`` in order, e.g. an HDF5 file and an in-memory copy."""

    def __init__(self, recorders):
        self.recs = list(recorders)

    def boundary(self):
        """The earliest ``boundary()`` of the recorders that have one, or None."""
        steps = [r.boundary() for r in self.recs if hasattr(type(r), "boundary")]
        steps = [b for b in steps if b is not None]
        return min(steps) if steps else None

    def __getattr__(self, name):
        def call(*a):
            for r in self.recs:
                getattr(r, name)(*a)
        return call
