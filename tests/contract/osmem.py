"""Lets the 9.x Elasticsearch client talk to `osmem-server`, an in-memory
OpenSearch-compatible test double.

The client always sends `application/vnd.elasticsearch+json; compatible-with=9` (its REST
compatibility mode), which OpenSearch-compatible servers refuse with 406. This transport
node puts the plain `application/json` back on the wire; nothing else changes.
"""

from __future__ import annotations

import re

from elastic_transport import Urllib3HttpNode

_COMPATIBLE = re.compile(r"application/vnd\.elasticsearch\+(json|x-ndjson); compatible-with=\d+")


class PlainMimeNode(Urllib3HttpNode):
    def perform_request(self, method, target, body=None, headers=None, **options):
        if headers:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = _COMPATIBLE.sub(r"application/\1", headers[name])
        return super().perform_request(method, target, body=body, headers=headers, **options)
