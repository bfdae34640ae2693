"""Reviews view: each review (its author's name and words sealed under their key), the
approved reviews of each product (newest first), the moderation queues, and each product's
count of approved reviews per star.

After the author's erasure (`DataSubject.PersonalDataErased`) their reviews read as erased
(name, title, words) and move from a product's `named` index and star counts to its
`erased` ones: whether erased reviews are still shown (as "Cliente") or left out is the
reader's setting (`ECOVAREJO_REVIEWS_AFTER_ERASURE`), so changing it needs no rebuild.
"""

from __future__ import annotations

from datetime import datetime
from functools import singledispatchmethod
from typing import Any

from domain.personal import SEALED_WORDS, DataSubject, PersonalData, WordsSealer, words_of
from domain.review import Review, ReviewStatus
from projections.base import Change, Compact, Delete, DocumentProjection, IndexAdd, IndexRemove, Put

ERASED = {"erased": True}
QUEUE_PENDING = "queue:pending"
QUEUE_REPORTED = "queue:reported"
QUEUES = {"pending": QUEUE_PENDING, "reported": QUEUE_REPORTED}
STARS = ("1", "2", "3", "4", "5")
WORD_FIELDS = ("author", "title", "body")


def review_key(review_id: object) -> str:
    return f"review:{review_id}"


def shown_index(product_id: object, erased: bool = False) -> str:
    """A product's approved reviews, by their author's erasure: `named` or `erased`."""
    return f"product:{product_id}:{'erased' if erased else 'named'}"


def stars_key(product_id: object) -> str:
    return f"stars:{product_id}"


def reviews_of_key(customer_id: str) -> str:
    return f"reviews-of:{customer_id}"


def _score(event: Any) -> float:
    return float(event.timestamp.timestamp())


def _no_stars() -> dict[str, dict[str, int]]:
    return {"named": dict.fromkeys(STARS, 0), "erased": dict.fromkeys(STARS, 0)}


class ReviewsProjection(DocumentProjection):
    name = "reviews"
    sealer: WordsSealer | None = None  # set by the wiring (infrastructure/followers)

    @singledispatchmethod
    def evolve(self, domain_event: Any) -> list[Change]:
        return []

    def _words(self, data: PersonalData | None) -> Any:
        if data is None or data.value is None or self.sealer is None:
            return words_of(data)
        return {SEALED_WORDS: self.sealer.seal(data)}

    def _stars(self, doc: dict[str, Any], delta: int) -> Put:
        """The product's star counts with this review's star moved by `delta`."""
        stars = self.view.get(stars_key(doc["product_id"])) or _no_stars()
        bucket = "erased" if doc["erased"] else "named"
        stars[bucket][str(doc["rating"])] += delta
        return Put(stars_key(doc["product_id"]), stars)

    @evolve.register
    def _submitted(self, event: Review.Submitted) -> list[Change]:
        review_id = str(event.originator_id)
        doc = {
            "review_id": review_id,
            "product_id": str(event.product_id),
            "customer_id": event.customer_id,
            "order_id": str(event.order_id),
            "sku": event.sku,
            "rating": event.rating,
            "author": self._words(event.author),
            "title": self._words(event.title),
            "body": self._words(event.words),
            "erased": event.author.erased,
            "status": ReviewStatus.PENDING.value,
            "submitted_at": event.timestamp.isoformat(),
            "moderated_at": None,
            "rejection_reason": None,
            "reports": {},
            "version": event.originator_version,
        }
        held = self.view.get(reviews_of_key(event.customer_id)) or {"reviews": []}
        changes: list[Change] = [
            Put(review_key(review_id), doc),
            IndexAdd(QUEUE_PENDING, review_id, _score(event)),
        ]
        if not doc["erased"]:
            held["reviews"] = [*held["reviews"], review_id]
            changes.append(Put(reviews_of_key(event.customer_id), held))
        return changes

    def _moderated(self, event: Review.Event, **fields: Any) -> tuple[dict[str, Any], list[Change]]:
        doc = self.view.get(review_key(event.originator_id))
        if doc is None:
            return {}, []
        was = doc["status"]
        doc.update(
            fields, version=event.originator_version, moderated_at=event.timestamp.isoformat()
        )
        review_id = doc["review_id"]
        changes: list[Change] = [
            IndexRemove(QUEUE_PENDING, review_id),
            IndexRemove(QUEUE_REPORTED, review_id),
        ]
        if was == ReviewStatus.APPROVED and doc["status"] != ReviewStatus.APPROVED:
            changes += [
                IndexRemove(shown_index(doc["product_id"], doc["erased"]), review_id),
                self._stars(doc, -1),
            ]
        return doc, changes

    @evolve.register
    def _approved(self, event: Review.Approved) -> list[Change]:
        doc, changes = self._moderated(event, status=ReviewStatus.APPROVED.value)
        if not doc:
            return []
        score = _score_of(doc)
        changes += [
            IndexAdd(shown_index(doc["product_id"], doc["erased"]), doc["review_id"], score),
            self._stars(doc, +1),
        ]
        return [Put(review_key(doc["review_id"]), doc), *changes]

    @evolve.register
    def _rejected(self, event: Review.Rejected) -> list[Change]:
        doc, changes = self._moderated(
            event,
            status=ReviewStatus.REJECTED.value,
            rejection_reason=self._words(event.reason),
        )
        return [Put(review_key(doc["review_id"]), doc), *changes] if doc else []

    @evolve.register
    def _dismissed(self, event: Review.ReportsDismissed) -> list[Change]:
        doc, changes = self._moderated(event, reports={})
        return [Put(review_key(doc["review_id"]), doc), *changes] if doc else []

    @evolve.register
    def _reported(self, event: Review.Reported) -> list[Change]:
        doc = self.view.get(review_key(event.originator_id))
        if doc is None:
            return []
        reports = doc["reports"]
        reports[event.reason] = reports.get(event.reason, 0) + 1
        doc["version"] = event.originator_version
        return [
            Put(review_key(doc["review_id"]), doc),
            IndexAdd(QUEUE_REPORTED, doc["review_id"], _score(event)),
        ]

    # Erasure --------------------------------------------------------------------------------
    @evolve.register
    def _subject(self, event: DataSubject.Registered) -> list[Change]:
        return [Put(f"subject:{event.originator_id}", {"customer_id": event.customer_id})]

    @evolve.register
    def _erased(self, event: DataSubject.PersonalDataErased) -> list[Change]:
        """The author's name and words go with their key; approved reviews move to the
        product's erased index and star counts."""
        subject = self.view.get(f"subject:{event.originator_id}")
        held = self.view.get(reviews_of_key(subject["customer_id"])) if subject else None
        if subject is None or held is None:
            return []
        changes: list[Change] = [Delete(reviews_of_key(subject["customer_id"]))]
        for review_id in held["reviews"]:
            doc = self.view.get(review_key(review_id))
            if doc is None or doc["erased"]:
                continue
            shown = doc["status"] == ReviewStatus.APPROVED
            if shown:
                stars = self.view.get(stars_key(doc["product_id"])) or _no_stars()
                stars["named"][str(doc["rating"])] -= 1
                stars["erased"][str(doc["rating"])] += 1
                changes += [
                    IndexRemove(shown_index(doc["product_id"]), review_id),
                    IndexAdd(shown_index(doc["product_id"], True), review_id, _score_of(doc)),
                    Put(stars_key(doc["product_id"]), stars),
                ]
            # As a rebuild reads them after the erasure: words there read erased, none none.
            doc.update({f: ERASED if doc[f] is not None else None for f in WORD_FIELDS})
            doc["erased"] = True
            changes.append(Put(review_key(review_id), doc))
        return [*changes, Compact()]


def _score_of(doc: dict[str, Any]) -> float:
    return datetime.fromisoformat(doc["submitted_at"]).timestamp()
