"""``/app/reviews/{review_id}/analytics``: per recipient, what happened to a sent review (sent,
opened, scored, reminders, follow-up, delivery) and their scores — the same use case as ``GET
/reviews/{id}/analytics`` (``services/reviews.analytics``), with the API's access rule: another
tenant's review and one on another manager's account answer the 404 page."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.reviews import review_for
from chalicelib.services import reviews as service
from chalicelib.services.settings import tenant_settings
from chalicelib.web.routing import Page, page_route

DELIVERY_LABELS = {
    "not_sent": "Not sent",
    "queued": "Queued",
    "sent": "Sent",
    "unknown": "Unknown (the mail server did not confirm)",
    "skipped": "Not sent (unsubscribed or suppressed)",
    "quota_exceeded": "Held (daily sending limit), sent with the next reminders",
}


@page_route("/app/reviews/{review_id}/analytics")
def review_analytics_page(page: Page, review_id: str) -> Response:
    review, account = review_for(page.user, review_id)
    report = service.analytics(review)
    questions = [(q.id, q.text) for q in tenant_settings(page.user.tenant_id).pulse_index_questions]
    return page.render(
        "web/review_analytics.html",
        title=f"Analytics: {review.title}",
        review=review,
        account=account,
        report=report,
        questions=questions,
        deliveries=DELIVERY_LABELS,
    )
