"""Reviews moderation in the console (issue 28): the pending and reported queues, approve
(a reported review: keep it), reject with a reason. Admins only; the same services and read
model as the API's `/api/v1/reviews`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.console.actions import confirmed, done, guarded, text_field, version_field
from api.console.web import ConsoleContainer, Form, pager, render, role
from api.http.auth import Principal
from infrastructure.bootstrap import Container
from infrastructure.catalog_media_wiring import catalog_media, reviews_reader
from projections.reviews import QUEUES

router = APIRouter()
Admin = Annotated[Principal, role("admin")]
PAGE_SIZE = 25
Queue = Annotated[str, Query(pattern="^(" + "|".join(QUEUES) + ")$")]


@router.get("/reviews")
def reviews_queue(
    request: Request,
    container: ConsoleContainer,
    _: Admin,
    queue: Queue = "pending",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    found = reviews_reader(container).queue(queue, page, PAGE_SIZE)
    return render(
        request,
        "reviews.html",
        reviews=found.items,
        total=found.total,
        queue=queue,
        queues=tuple(QUEUES),
        done=request.query_params.get("done"),
        **pager(found.total, page, PAGE_SIZE, queue=queue),
    )


def _moderate(
    request: Request,
    container: Container,
    review_id: UUID,
    fields: dict[str, str],
    act: Callable[[int], object],
) -> Response:
    """`act` at the form's version; back to the queue the form was on."""
    form_version = version_field(fields)
    queue = fields.get("queue") if fields.get("queue") in QUEUES else "pending"

    def current() -> int:
        return int(catalog_media(container).reviews.review(review_id).version)

    def change() -> object:
        return getattr(act(form_version), "result", None)  # the commit, for read-your-writes

    return guarded(request, form_version, current, change) or done("/reviews", queue=queue)


@router.post("/reviews/{review_id}/approve")
def approve_review(
    request: Request, review_id: UUID, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    reviews = catalog_media(container).reviews
    return _moderate(request, container, review_id, fields, lambda v: reviews.approve(review_id, v))


@router.post("/reviews/{review_id}/reject")
def reject_review(
    request: Request, review_id: UUID, fields: Form, container: ConsoleContainer, _: Admin
) -> Response:
    confirmed(request, fields)
    reason = text_field(fields, "reason", most=500)
    reviews = catalog_media(container).reviews
    act = lambda v: reviews.reject(review_id, reason, v)  # noqa: E731
    return _moderate(request, container, review_id, fields, act)
