"""Result types the services hand to the API layer."""


class FrozenResults(list):
    """A results list its producer never changes again.

    The policy engine returns the same object for a table's rows while nothing changed, so the
    API may encode it once and reuse the bytes (see ``congress.api.base``).
    """

    __slots__ = ()
