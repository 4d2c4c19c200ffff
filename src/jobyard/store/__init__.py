"""Persistence: tables, transactions, keyset pages and page tokens. Knows rows, never a service's rules."""

from .db import Resource, Store, Tx, sqlite_url
from .files import ByteStore, FileStore, TxFiles
from .tokens import InvalidToken, TokenSigner

__all__ = ["Resource", "Store", "Tx", "sqlite_url", "ByteStore", "FileStore", "TxFiles", "InvalidToken", "TokenSigner"]
