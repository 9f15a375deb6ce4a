"""Read pickled checkpoints (IRASim's ``.pt`` files) without running any code they name.

IRASim saves ``{"model": ..., "ema": ..., "opt": ..., "args": args}`` with ``torch.save``, where
``args`` is an OmegaConf ``DictConfig`` (or an ``argparse.Namespace``). ``torch.load(...,
weights_only=True)`` refuses such a file, and a plain ``torch.load`` would import and run
whatever classes the file names. This module is a restricted unpickler for ``torch.load``:

- globals on torch's own weights-only allowlist (tensor rebuild functions, storages, dtypes,
  ``OrderedDict``) resolve to the real objects, exactly as with ``weights_only=True``;
- every other global (``omegaconf.dictconfig.DictConfig``, ``argparse.Namespace``, ... and also
  ``os.system``) resolves to an inert :class:`Stub` that only records the arguments and state
  it is given. Nothing outside the allowlist is imported or called.

:func:`to_plain` then turns the stubs back into plain dicts/lists/values, which is all that is
needed from ``args``.
"""

from __future__ import annotations

import pickle
from typing import Any

import torch


def _allowed_globals() -> dict[str, Any]:
    try:  # the exact list torch trusts with weights_only=True
        from torch._weights_only_unpickler import _get_allowed_globals

        allowed = dict(_get_allowed_globals())
    except Exception:  # pragma: no cover - private API moved; fall back to the essentials
        import collections

        allowed = {
            "collections.OrderedDict": collections.OrderedDict,
            "torch._utils._rebuild_tensor_v2": torch._utils._rebuild_tensor_v2,
            "torch._utils._rebuild_parameter": torch._utils._rebuild_parameter,
            "torch.Size": torch.Size,
        }
    return allowed


class Stub:
    """Stands in for a class or function the checkpoint names; records, never executes."""

    __stub_module__ = ""
    __stub_name__ = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Stub:
        obj = super().__new__(cls)
        obj.__dict__["_stub_args"] = args
        obj.__dict__["_stub_state"] = None
        obj.__dict__["_stub_items"] = []
        return obj

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_stub_state"] = state

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__["_stub_items"].append((key, value))

    def append(self, value: Any) -> None:
        self.__dict__["_stub_items"].append(value)

    def extend(self, values: Any) -> None:
        self.__dict__["_stub_items"].extend(values)

    def __setattr__(self, name: str, value: Any) -> None:  # BUILD with a slot state
        state = self.__dict__["_stub_state"]
        if not isinstance(state, dict):
            state = {}
            self.__dict__["_stub_state"] = state
        state[name] = value

    def __repr__(self) -> str:
        return f"<stub {self.__stub_module__}.{self.__stub_name__}>"


def _make_stub(module: str, name: str) -> type[Stub]:
    return type(name, (Stub,), {"__stub_module__": module, "__stub_name__": name, "__module__": __name__})


class RestrictedUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` whose globals come from torch's allowlist, or are inert stubs."""

    _allowed: dict[str, Any] | None = None

    def find_class(self, module: str, name: str) -> Any:
        if RestrictedUnpickler._allowed is None:
            RestrictedUnpickler._allowed = _allowed_globals()
        obj = RestrictedUnpickler._allowed.get(f"{module}.{name}")
        if obj is not None:
            return obj
        if module == "torch" and name.endswith("Storage"):  # legacy typed storages
            return getattr(torch, name)
        return _make_stub(module, name)


class _PickleModule:
    """The ``pickle_module`` argument ``torch.load`` expects."""

    __name__ = "freeaction.model.safe_unpickle"
    Unpickler = RestrictedUnpickler

    @staticmethod
    def load(file: Any, **kwargs: Any) -> Any:
        return RestrictedUnpickler(file, **kwargs).load()


pickle_module = _PickleModule()


def safe_torch_load(path: str) -> Any:
    """``torch.load`` a pickled checkpoint on the CPU without executing anything it names."""
    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=pickle_module)


def to_plain(obj: Any, _depth: int = 0) -> Any:
    """Stubs (OmegaConf containers, Namespaces, ...) -> plain dicts, lists and values."""
    if _depth > 50:
        return None
    if isinstance(obj, Stub):
        state = obj.__dict__["_stub_state"]
        items = obj.__dict__["_stub_items"]
        if isinstance(state, tuple) and len(state) == 2 and isinstance(state[1], dict):
            state = {**(state[0] or {}), **state[1]}  # (dict state, slot state)
        if isinstance(state, dict):
            if "_content" in state:  # OmegaConf DictConfig / ListConfig
                return to_plain(state["_content"], _depth + 1)
            if "_val" in state:  # OmegaConf value node
                return to_plain(state["_val"], _depth + 1)
            return {k: to_plain(v, _depth + 1) for k, v in state.items() if not str(k).startswith("_")}
        if items:
            if all(isinstance(i, tuple) and len(i) == 2 for i in items):
                return {k: to_plain(v, _depth + 1) for k, v in items}
            return [to_plain(v, _depth + 1) for v in items]
        args = obj.__dict__["_stub_args"]
        return [to_plain(a, _depth + 1) for a in args] if args else None
    if isinstance(obj, dict):
        return {k: to_plain(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v, _depth + 1) for v in obj]
    return obj
