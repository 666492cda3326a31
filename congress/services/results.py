"""Result types the services hand to the API layer."""


class FrozenResults(list):
    """A results list its producer never changes again.

    The policy engine returns the same object for a table's rows while nothing changed, so the
    API may encode it once and keep the bytes on it, in ``encoded`` (see
    ``congress.api.base.send_collection``): they live exactly as long as the engine hands the
    list out.
    """

    __slots__ = ("encoded",)
