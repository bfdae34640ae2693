"""Reviews moderation in the console (issue 28): an admin sees the pending review, a
rejection needs its box ticked and a reason, and the review leaves the queue."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from application.product_ref import own_product_id
from application.reviews import ReviewDraft
from domain.personal import words_of
from infrastructure.catalog_media_wiring import catalog_media
from tests.checkout import check_out, fill_cart, register, settled, wait_until
from tests.e2e.test_console_http import sign_in


def pending_review(container) -> str:
    services = container.services
    register(services, "ECO-1", 10, "49.90")
    order_id = check_out(services, fill_cart(services, {"ECO-1": 1}, customer="ana"))
    wait_until(lambda: settled(services), what="the order settled")
    services.orders.ship_order(order_id, "Correios", "BR1")
    services.orders.track_order(order_id, "delivered", datetime.now(tz=UTC))
    draft = ReviewDraft(rating=2, title="Encolheu", body="Encolheu na primeira lavagem")
    done = catalog_media(container).reviews.submit(own_product_id("ECO-1"), "ana", draft)
    container.wait_for_projections(done.result.position)
    return str(done.review_id)


def form_of(page: str, action: str) -> dict[str, str]:
    form = page.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))


def test_an_admin_rejects_a_pending_review_with_a_reason_and_it_leaves_the_queue(client, container):
    review_id = pending_review(container)
    sign_in(client, "admin")
    page = client.get("/console/reviews")
    assert page.status_code == 200, page.text
    assert f'id="review-{review_id}"' in page.text
    assert "Encolheu na primeira lavagem" in page.text
    action = f"/console/reviews/{review_id}/reject"
    fields = form_of(page.text, action)
    unticked = client.post(action, data={**fields, "reason": "linguagem"})
    assert unticked.status_code == 422
    no_reason = client.post(action, data={**fields, "reason": " ", "confirm": "yes"})
    assert no_reason.status_code == 422
    rejected = client.post(
        action,
        data={**fields, "reason": "fala de outro produto", "confirm": "yes"},
        follow_redirects=False,
    )
    assert rejected.status_code == 303, rejected.text
    after = client.get(rejected.headers["location"])
    assert f'id="review-{review_id}"' not in after.text
    assert 'id="done"' in after.text
    review = catalog_media(container).reviews.review(review_id)
    assert (review.status, words_of(review.rejection_reason)) == (
        "rejected",
        "fala de outro produto",
    )
