"""A ``pickle_module`` for ``torch.load`` that never runs code from the file.

``torch.load`` uses its ``pickle_module`` in two ways: ``Unpickler`` for the pickled object
(zip and legacy formats) and ``load`` for the small header pickles of the legacy format (magic
number, protocol version, system info, storage keys). Both are restricted here:

* ``Unpickler`` imports only the globals that rebuild tensors; every other global becomes an
  inert :class:`RefusedObject` subclass whose construction, calls and state setting do nothing.
  It also refuses to set state (pickle ``BUILD``) on an imported global, so a file cannot patch
  a torch class.
* ``load`` imports no global at all: legacy headers hold only numbers, strings and containers.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any, ClassVar

import torch

_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): torch._utils._rebuild_parameter,
    ("torch", "Size"): torch.Size,
    ("torch.storage", "UntypedStorage"): torch.storage.UntypedStorage,
}


class RefusedObject:
    """Inert stand-in for a global the restricted unpickler will not import (and for what is built from it)."""

    qualified_name = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> RefusedObject:
        del args, kwargs
        return self

    def __setstate__(self, state: Any) -> None:
        del state


# typeshed describes neither the pure-Python unpickler's internals (``stack``, ``load_build``) nor its dispatch
# table right (typed for the C ``Unpickler``): the handlers take the unpickler, typed Any here.
_Handler = Callable[[Any], None]
_BASE_LOAD_BUILD: _Handler = pickle._Unpickler.dispatch[pickle.BUILD[0]]  # pickle._Unpickler.load_build


class Unpickler(pickle._Unpickler):
    """Tensor-rebuilding globals only; others become :class:`RefusedObject` subclasses; globals stay unmodified.

    The pure-Python unpickler is used because its ``BUILD`` opcode can be intercepted; the data of
    tensors does not pass through it (``torch.load`` reads storages through ``persistent_load``).
    """

    dispatch: ClassVar[dict[int, _Handler]] = dict(pickle._Unpickler.dispatch)
    stack: list[Any]  # the unpickler's value stack (set by ``load``)

    def __init__(self, file: IO[bytes], **kwargs: Any) -> None:
        super().__init__(file, **kwargs)
        self._imported: list[Any] = []

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            found = _ALLOWED_GLOBALS[(module, name)]
        elif module == "torch" and name.endswith("Storage"):
            found = getattr(torch, name)
        else:
            found = type(name, (RefusedObject,), {"qualified_name": f"{module}.{name}"})
        self._imported.append(found)
        return found

    def _load_build(self) -> None:
        target = self.stack[-2]
        if any(target is imported for imported in self._imported):
            raise pickle.UnpicklingError(f"refusing to set the state of the global {target!r}")
        _BASE_LOAD_BUILD(self)

    dispatch[pickle.BUILD[0]] = _load_build


class _HeaderUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refusing the global {module}.{name} in a checkpoint header")


def load(file: IO[bytes], **kwargs: Any) -> Any:
    """One header pickle of a legacy torch file: numbers, strings and containers only."""
    return _HeaderUnpickler(file, **kwargs).load()
