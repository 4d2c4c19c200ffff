"""Plain HTTP request/response values passed between the server, routing and the protocol codecs."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl


@dataclass
class Request:
    method: str
    path: str                      # percent-decoded path, no query string
    raw_path: str                  # path as sent (still percent-encoded), for REST label parsing
    query_string: str              # raw query string, no leading '?'
    headers: dict[str, str]        # lower-case names; repeated headers joined with ', '
    body: bytes = b""
    scheme: str = "http"
    host: str = ""                 # the authority the client addressed (Host header or absolute-form target)

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query_string, keep_blank_values=True)

    @property
    def base_url(self) -> str:
        """Where this client reaches the server: used to build URLs that the server itself serves."""
        return f"{self.scheme}://{self.host}"


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None
