"""Demo data for reviews: one sent business review, so the local outbox holds a survey mail whose
link a person can click (``pulse local`` delivers it through the mail queue on start)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulse_local.demo import DemoContext


def send_demo_review(ctx: DemoContext) -> None:
    """A quarterly review of the first account, with an action, sent to its contacts."""
    from chalicelib.services import reviews as service
    from chalicelib.services.settings import tenant_settings
    from chalicelib.store import reviews as store
    from chalicelib.store.base import new_id, now_iso

    if not ctx.accounts:
        return
    account = ctx.accounts[0]
    contacts = ctx.contacts.get(account.account_id) or []
    at = now_iso()
    review = store.create_review(
        store.Review(
            tenant_id=ctx.tenant.tenant_id,
            review_id=new_id("rev"),
            account_id=account.account_id,
            title=f"{account.name}: quarterly business review",
            review_date=(ctx.today - timedelta(days=2)).isoformat(),
            intro_message=(
                "Thank you for another strong quarter together.\n"
                "Here is what we delivered, what we learned and what comes next."
            ),
            video_url=None,
            sections=[
                {
                    "heading": "Delivered",
                    "body": "All milestones of the quarter, two ahead of plan.",
                },
                {"heading": "Next quarter", "body": "Roll-out to the second region in May."},
            ],
            documents=[],
            recipient_ids=[c.contact_id for c in contacts],
            scoring_required=tenant_settings(ctx.tenant.tenant_id).scoring_required,
            status="draft",
            created_by=account.owner_id,
            created_at=at,
            updated_at=at,
        )
    )
    store.create_action(
        store.Action(
            tenant_id=ctx.tenant.tenant_id,
            action_id=new_id("act"),
            account_id=account.account_id,
            review_id=review.review_id,
            title="Plan the regional roll-out together",
            owner_id=account.owner_id,
            due_date=(ctx.today + timedelta(days=30)).isoformat(),
            status="open",
            created_by=account.owner_id,
            created_at=at,
        )
    )
    if contacts:
        service.send(review, account)
