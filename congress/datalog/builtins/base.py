"""The :class:`Builtin` record shared by every family module.

Kept apart from the package ``__init__`` so that family modules can import it without a cycle.

``Builtin.evaluate`` sits in the engine's inner join loops, so each instance gets an evaluator
specialised for its number of outputs when it is created: one Python frame, one ``try``, and a
type check per output value on the common path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_FAIL = object()
_EMPTY: tuple = ()


def convert_output(value: Any) -> Any:
    """Normalise a builtin's result to a Datalog value (str, int or float).

    bool -> int, subclasses of str/int/float -> the base type, None -> failure (``_FAIL``),
    anything else -> ``str(value)``.
    """
    t = type(value)
    if t is str or t is int or t is float:
        return value
    if value is None:
        return _FAIL
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    try:
        return str(value)
    except Exception:
        return _FAIL


def _evaluator(fn: Callable[..., Any], num_outputs: int) -> Callable[[tuple], tuple | None]:
    """Build the ``evaluate`` function for a builtin with ``num_outputs`` outputs."""
    if num_outputs == 0:

        def evaluate(inputs: tuple) -> tuple | None:
            try:
                return _EMPTY if fn(*inputs) else None
            except Exception:
                return None

    elif num_outputs == 1:

        def evaluate(inputs: tuple) -> tuple | None:
            try:
                result = fn(*inputs)
            except Exception:
                return None
            t = type(result)
            if t is str or t is int or t is float:
                return (result,)
            result = convert_output(result)
            return None if result is _FAIL else (result,)

    else:

        def evaluate(inputs: tuple) -> tuple | None:
            try:
                result = fn(*inputs)
                if type(result) is not tuple:
                    result = tuple(result)
            except Exception:
                return None
            if len(result) != num_outputs:
                return None
            for value in result:
                t = type(value)
                if not (t is str or t is int or t is float):
                    break
            else:
                return result
            converted = tuple(convert_output(v) for v in result)
            return None if _FAIL in converted else converted

    return evaluate


@dataclass(frozen=True)
class Builtin:
    """A builtin table: ``name`` with ``arity`` arguments, the first ``num_inputs`` are inputs.

    ``fn`` takes the inputs positionally and returns: a truth value (no outputs), the output value
    (one output) or a tuple of ``num_outputs`` values (several outputs).
    """

    name: str
    arity: int
    num_inputs: int
    fn: Callable[..., Any]
    family: str
    doc: str
    _num_outputs: int = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ValueError(f"builtin name must be a non-empty string: {self.name!r}")
        if not 0 <= self.num_inputs <= self.arity:
            raise ValueError(
                f"builtin {self.name}: need 0 <= num_inputs ({self.num_inputs}) "
                f"<= arity ({self.arity})"
            )
        num_outputs = self.arity - self.num_inputs
        object.__setattr__(self, "_num_outputs", num_outputs)
        # An instance attribute shadows the documented method below: the engine gets the
        # specialised closure without an extra call layer.
        object.__setattr__(self, "evaluate", _evaluator(self.fn, num_outputs))

    @property
    def num_outputs(self) -> int:
        return self._num_outputs

    def evaluate(self, inputs: tuple) -> tuple | None:
        """Call ``fn(*inputs)``.

        No outputs: ``()`` if the result is truthy, else None. One output: ``(result,)``.
        k > 1 outputs: the k-tuple ``fn`` returned. Any exception inside ``fn`` -> None (the
        literal fails). Output values are converted to str/int/float (bool -> int; None -> fail).
        """
        # Replaced per instance in __post_init__; kept for documentation and type checkers.
        return _evaluator(self.fn, self._num_outputs)(inputs)  # pragma: no cover

    def signature(self) -> str:
        """``name/arity`` as shown in error messages."""
        return f"{self.name}/{self.arity}"

    def __reduce__(self) -> tuple:
        # The per-instance closure is not picklable; rebuild from the fields instead.
        return (
            Builtin,
            (self.name, self.arity, self.num_inputs, self.fn, self.family, self.doc),
        )
