"""Use cases. Each takes a Session, flushes, and never commits: the caller owns the transaction."""

from .common import CaseClosed, ValidationError

__all__ = ["CaseClosed", "ValidationError"]
