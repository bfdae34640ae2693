"""The Redis key layout of the read side, spelled once.

    ev:<read model>:active                      the active generation's name
    ev:<read model>:<generation>:<key>          a document (or an index) of that generation
    ev:<read model>:<generation>:position       the log position the generation has reached
    ev:<read model>:<generation>:parked         the events it parked (and :failures:<pos>)
    ev:<read model>:<generation>:retried        how many parked events were written again
    ev:<read model>:changed:<key>               pub/sub: a document was written (its position)
    ev:positions                                pub/sub: live read models' new positions
    ev:status:<runner>                          a runner's published status (with a TTL)
    ev:console:job:<id>                         a console job's progress (with a TTL)
    pagseguro:intake:<handle>                   a PagBank encrypted card until charged (TTL)
    ev:storefront:page:<digest>                 a rendered catalog page of the shop (TTL 1 s)

Every module that reads or writes these keys (redis_views, stored_documents, followers,
projection_admin) builds them here, so a change of layout is a change of this module.
"""

from __future__ import annotations

ROOT = "ev"


def active_key(read_model: str) -> str:
    return f"{ROOT}:{read_model}:active"


def generation_prefix(read_model: str, generation: str) -> str:
    """What every key of one generation starts with."""
    return f"{ROOT}:{read_model}:{generation}:"


def document_key(read_model: str, generation: str, key: str) -> str:
    return generation_prefix(read_model, generation) + key


def position_key(read_model: str, generation: str) -> str:
    return document_key(read_model, generation, "position")


def parked_key(read_model: str, generation: str) -> str:
    return document_key(read_model, generation, "parked")


def retried_key(read_model: str, generation: str) -> str:
    """A count of the writes made outside the live runner (a parked event's retry): a live
    runner keeping documents in memory checks it did not move (`redis_views`)."""
    return document_key(read_model, generation, "retried")


def generations_pattern(read_model: str) -> str:
    """A SCAN pattern matching the keys of every generation (named `g…`)."""
    return f"{ROOT}:{read_model}:g*:*"


def generation_of(key: str) -> str:
    """The generation a document key belongs to."""
    return key.split(":")[2]


def changed_channel(read_model: str, key: str) -> str:
    """The pub/sub channel a live read model announces a document's writes on (whatever
    the generation: readers follow the active one)."""
    return f"{ROOT}:{read_model}:changed:{key}"


def positions_channel() -> str:
    """The pub/sub channel every live Redis read model's write announces its new position
    on ("<read model> <position>" pairs), for the requests waiting for a consistency
    token (`position_waits`)."""
    return f"{ROOT}:positions"


def status_key(runner: str) -> str:
    return f"{ROOT}:status:{runner}"


def job_key(job_id: str) -> str:
    return f"{ROOT}:console:job:{job_id}"


def card_intake_key(handle: str) -> str:
    """PagBank's `encryptCard` blob between checkout and the first charge (a TTL)."""
    return f"pagseguro:intake:{handle}"


def storefront_page_key(digest: str) -> str:
    """A storefront catalog page's bytes, by a digest of its URL (never the URL's text)."""
    return f"{ROOT}:storefront:page:{digest}"
