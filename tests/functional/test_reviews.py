"""Reviews for staff: builder, documents, recipients, actions, sending, analytics, follow-ups,
comments and trees — through the API, with the mail queue drained by the real handler."""

from __future__ import annotations

import base64
import json
from typing import Any

from support.api import TenantHandle
from survey_support import FULL_ANSWER, drain, mails_to, make_review, send_review


def test_builder_create_get_patch_and_validation(tenant: TenantHandle) -> None:
    account = tenant.account()
    api = tenant.api
    bad = api.post(
        f"/accounts/{account['id']}/reviews",
        {"title": "", "review_date": "2030-13-01", "video_url": "http://insecure.example/v"},
    )
    assert bad.status == 422
    assert {"title", "review_date", "video_url"} <= set(bad.json["error"]["fields"])

    created = api.post(
        f"/accounts/{account['id']}/reviews",
        {
            "title": "Annual review",
            "review_date": "2030-02-01",
            "video_url": "https://video.example/intro",
            "sections": [{"heading": "Results", "body": "Up and to the right"}],
        },
    )
    assert created.status == 201, created.body
    review = created.json
    assert review["status"] == "draft"
    assert review["scoring_required"] is True  # the workspace default
    assert review["actions"] == []

    listed = api.get(f"/accounts/{account['id']}/reviews")
    assert [r["id"] for r in listed.json["items"]] == [review["id"]]

    patched = api.patch(
        f"/reviews/{review['id']}", {"title": "Annual review 2030", "video_url": None}
    )
    assert patched.status == 200, patched.body
    assert patched.json["title"] == "Annual review 2030"
    assert patched.json["video_url"] is None
    assert api.patch(f"/reviews/{review['id']}", {"title": None}).status == 422

    closed = api.patch(f"/reviews/{review['id']}", {"status": "closed"})
    assert closed.json["status"] == "closed"
    assert api.patch(f"/reviews/{review['id']}", {"title": "x"}).status == 409


def test_account_manager_reaches_only_own_reviews(tenant: TenantHandle) -> None:
    manager = tenant.add_staff("account_manager")
    other = tenant.add_staff("account_manager")
    review = make_review(tenant, owner=manager)
    as_manager, as_other = tenant.as_(manager), tenant.as_(other)
    assert as_manager.get(f"/reviews/{review.review_id}").status == 200
    assert as_other.get(f"/reviews/{review.review_id}").status == 404
    assert as_other.get(f"/reviews/{review.review_id}/analytics").status == 404
    assert as_other.post(f"/reviews/{review.review_id}/send").status == 404


def test_documents_presigned_post_is_limited_by_the_policy(tenant: TenantHandle) -> None:
    review = make_review(tenant)
    api = tenant.api
    too_big = api.post(
        f"/reviews/{review.review_id}/documents",
        {"filename": "big.pdf", "content_type": "application/pdf", "size": 20 * 1024 * 1024 + 1},
    )
    assert too_big.status == 422 and "size" in too_big.json["error"]["fields"]
    script = api.post(
        f"/reviews/{review.review_id}/documents",
        {"filename": "x.svg", "content_type": "image/svg+xml", "size": 10},
    )
    assert script.status == 422 and "content_type" in script.json["error"]["fields"]

    reply = api.post(
        f"/reviews/{review.review_id}/documents",
        {"filename": "../../Q3 deck?.pdf", "content_type": "application/pdf", "size": 2048},
    )
    assert reply.status == 201, reply.body
    upload = reply.json["upload"]
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 20 * 1024 * 1024] in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert upload["fields"]["Content-Type"] == "application/pdf"
    document = reply.json["document"]
    assert document["filename"] == "Q3 deck_.pdf"
    assert upload["fields"]["key"].startswith(f"{tenant.tenant_id}/reviews/{review.review_id}/")

    # The upload really works against S3 (moto) with the presigned fields.
    import urllib.request
    import uuid

    boundary = uuid.uuid4().hex
    parts = []
    for name, value in upload["fields"].items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    body = (
        "".join(parts).encode()
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="d.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + b"%PDF-1.4 test"
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        upload["url"],
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status in (200, 201, 204)

    got = api.get(f"/reviews/{review.review_id}")
    assert [d["filename"] for d in got.json["documents"]] == ["Q3 deck_.pdf"]
    assert "key" not in got.json["documents"][0]


def test_recipients_must_be_contacts_of_the_account(tenant: TenantHandle) -> None:
    review = make_review(tenant)
    stranger = tenant.contact(tenant.account()["id"])
    reply = tenant.api.put(
        f"/reviews/{review.review_id}/recipients", {"contact_ids": [stranger["id"]]}
    )
    assert reply.status == 422 and "contact_ids" in reply.json["error"]["fields"]


def test_actions_create_patch_list(tenant: TenantHandle) -> None:
    review = make_review(tenant)
    api = tenant.api
    created = api.post(
        f"/reviews/{review.review_id}/actions",
        {"title": "Quarterly roadmap call", "due_date": "2030-03-01"},
    )
    assert created.status == 201, created.body
    action = created.json
    assert action["status"] == "open" and action["owner_id"] == tenant.admin.user_id
    assert (
        api.post(
            f"/reviews/{review.review_id}/actions", {"title": "x", "owner_id": "nobody"}
        ).status
        == 422
    )

    done = api.patch(f"/actions/{action['id']}", {"status": "completed"})
    assert done.json["status"] == "completed"
    assert done.json["completed_by"] == tenant.admin.user_id and done.json["completed_at"]

    listed = api.get(f"/accounts/{review.account_id}/actions?status=completed")
    assert [a["id"] for a in listed.json["items"]] == [action["id"]]
    assert api.get(f"/accounts/{review.account_id}/actions?status=open").json["items"] == []
    reopened = api.patch(f"/actions/{action['id']}", {"status": "open"})
    assert reopened.json["completed_at"] is None
    assert api.get(f"/reviews/{review.review_id}").json["actions"][0]["id"] == action["id"]


def test_preview_is_the_client_page(tenant: TenantHandle) -> None:
    review = make_review(tenant)
    tenant.api.post(f"/reviews/{review.review_id}/actions", {"title": "Roadmap call"})
    reply = tenant.api.get(f"/reviews/{review.review_id}/preview")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in reply.headers
    page = reply.text
    assert "Q3 business review" in page and "Roadmap call" in page and "Preview" in page
    assert "Relationship and support" in page  # the workspace's Pulse Index questions


def test_send_requires_recipients_and_happens_once(client: Any, tenant: TenantHandle) -> None:
    account = tenant.account()
    empty = tenant.api.post(
        f"/accounts/{account['id']}/reviews", {"title": "Empty", "review_date": "2030-01-01"}
    ).json
    reply = tenant.api.post(f"/reviews/{empty['id']}/send")
    assert reply.status == 422 and "recipient_ids" in reply.json["error"]["fields"]

    review = make_review(tenant, recipients=2)
    tokens = send_review(client, review)
    assert len(tokens) == 2
    again = tenant.api.post(f"/reviews/{review.review_id}/send")
    assert again.status == 409
    got = tenant.api.get(f"/reviews/{review.review_id}").json
    assert got["status"] == "sent" and got["sent_at"]
    assert [q["id"] for q in got["questions"]] == ["service", "relationship", "value", "quality"]
    # Each recipient got exactly one mail.
    for contact in review.contacts:
        assert len(mails_to(contact["email"])) == 1


def test_resend_adds_recipients_and_sends_a_new_round(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant)
    first = review.contacts[0]
    send_review(client, review)
    newcomer = tenant.contact(review.account_id, name="New Person")
    draft = tenant.api.post(
        f"/accounts/{review.account_id}/reviews", {"title": "d", "review_date": "2030-01-01"}
    )
    assert (
        tenant.api.post(
            f"/reviews/{draft.json['id']}/resend", {"contact_ids": [first["id"]]}
        ).status
        == 409
    )

    reply = tenant.api.post(
        f"/reviews/{review.review_id}/resend", {"contact_ids": [first["id"], newcomer["id"]]}
    )
    assert reply.status == 202, reply.body
    assert reply.json["queued"] == 2
    drain(client)
    assert len(mails_to(first["email"])) == 2
    assert len(mails_to(newcomer["email"])) == 1
    got = tenant.api.get(f"/reviews/{review.review_id}").json
    assert set(got["recipient_ids"]) == {first["id"], newcomer["id"]}


def test_analytics_follow_ups_comments_and_trees(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant, recipients=2)
    tokens = send_review(client, review)
    api = tenant.api
    first, second = review.contacts
    assert api.get("/trees").json == {"trees": 0}

    api.get(f"/r/{tokens[first['id']]}", token="")
    answer = {**FULL_ANSWER, "comment": "Please call me about renewal", "follow_up": True}
    assert api.post(f"/r/{tokens[first['id']]}", answer, token="").status == 200
    assert api.post(f"/r/{tokens[second['id']]}", FULL_ANSWER, token="").status == 200
    drain(client)

    analytics = api.get(f"/reviews/{review.review_id}/analytics").json
    rows = {r["contact_id"]: r for r in analytics["recipients"]}
    assert rows[first["id"]]["opened_at"] and rows[first["id"]]["scored_at"]
    assert rows[first["id"]]["follow_up"] is True and rows[second["id"]]["follow_up"] is False
    assert rows[second["id"]]["sent_at"] and rows[second["id"]]["reminders_sent"] == 0
    assert analytics["totals"]["scored"] == 2

    # One tree for the review, however many scored responses it gets.
    assert api.get("/trees").json == {"trees": 1}

    pending = api.get("/follow-ups").json["items"]
    mine = [f for f in pending if f["review_id"] == review.review_id]
    assert len(mine) == 1 and mine[0]["contact_email"] == first["email"]
    ack = api.post(f"/follow-ups/{mine[0]['id']}/acknowledge")
    assert ack.status == 200 and ack.json["status"] == "acknowledged"
    assert (
        api.post(f"/follow-ups/{mine[0]['id']}/acknowledge").json["acknowledged_at"]
        == ack.json["acknowledged_at"]
    )
    assert mine[0]["id"] in [
        f["id"] for f in api.get("/follow-ups?status=acknowledged").json["items"]
    ]
    assert mine[0]["id"] not in [f["id"] for f in api.get("/follow-ups").json["items"]]

    comments = api.get(f"/accounts/{review.account_id}/comments").json["items"]
    assert sorted(c["text"] for c in comments) == ["Great quarter", "Please call me about renewal"]
    comment = next(c for c in comments if c["contact_id"] == first["id"])
    noted = api.post(f"/comments/{comment['id']}/notes", {"text": "Called on Monday"})
    assert noted.status == 201 and noted.json["notes"][0]["text"] == "Called on Monday"
    done = api.post(f"/comments/{comment['id']}/complete")
    assert done.json["completed"] is True

    # The owner (the admin here) was told: opened, scored, commented, follow-up.
    kinds = {n["kind"] for n in api.get("/notifications").json["items"]}
    assert {"opened", "scored", "commented", "follow_up"} <= kinds


def test_account_manager_sees_only_own_follow_ups(client: Any, tenant: TenantHandle) -> None:
    manager = tenant.add_staff("account_manager")
    mine = make_review(tenant, owner=manager)
    theirs = make_review(tenant)
    for review in (mine, theirs):
        token = send_review(client, review)[review.contacts[0]["id"]]
        tenant.api.post(f"/r/{token}", {**FULL_ANSWER, "follow_up": True}, token="")
    items = tenant.as_(manager).get("/follow-ups").json["items"]
    assert {f["review_id"] for f in items} == {mine.review_id}
    assert len(tenant.api.get("/follow-ups").json["items"]) >= 2


def test_deleting_the_account_removes_its_reviews(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant)
    token = send_review(client, review)[review.contacts[0]["id"]]
    tenant.api.post(f"/r/{token}", {**FULL_ANSWER, "follow_up": True}, token="")
    assert tenant.api.delete(f"/accounts/{review.account_id}").status == 204
    assert tenant.api.get(f"/reviews/{review.review_id}").status == 404
    assert tenant.api.get(f"/r/{token}", token="").status == 404
