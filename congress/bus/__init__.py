"""The message bus of Congress (the only package that imports oslo.messaging).

A :class:`Node` per process; :class:`Service` objects live on nodes, call each other
(:meth:`Node.call`, :meth:`Node.cast`, :meth:`Node.broadcast`) and publish tables to subscribers
with sequence numbers. The same code runs on the in-process transport (single-process mode) and on
RabbitMQ. See ``doc/`` and the module docstrings of :mod:`congress.bus.node` and
:mod:`congress.bus.pubsub` for the protocol.
"""

from congress.bus.context import CallerContext, current_caller
from congress.bus.membership import Peer
from congress.bus.node import Node
from congress.bus.service import ResyncWanted, Service, TableUpdate

__all__ = ["CallerContext", "Node", "Peer", "ResyncWanted", "Service", "TableUpdate",
           "current_caller"]
