"""The error every invalid input raises."""


class SpecError(ValueError):
    """An invalid network, simulation or command-line input.

    The message names the field, the value given and what is allowed, e.g.
    ``populations[E].params.tau_m = -1.0: must be > 0 (ms)``.
    """

    def __init__(self, field, value, allowed):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field} = {value!r}: {allowed}")
