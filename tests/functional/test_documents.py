"""Review documents: shown to clients only once the upload is confirmed (with the file's real
size), refused when the file breaks the limits, and deleted from S3 with the document, the
review's account or on request."""

from __future__ import annotations

import urllib.request
import uuid
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support.api import TenantHandle
from survey_support import SentReview, make_review, send_review

MB = 1024 * 1024


def bucket() -> str:
    from chalicelib.settings import get_settings

    return get_settings().bucket_name


def add_document(review: SentReview, filename: str = "deck.pdf", size: int = 5 * MB) -> Any:
    reply = review.api.post(
        f"/reviews/{review.review_id}/documents",
        {"filename": filename, "content_type": "application/pdf", "size": size},
    )
    assert reply.status == 201, reply.body
    return reply.json


def upload(created: dict[str, Any], content: bytes) -> None:
    """The browser's part: a multipart POST of the presigned fields and the file to S3."""
    fields = created["upload"]["fields"]
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    body = (
        b"".join(parts)
        + (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        created["upload"]["url"],
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with urllib.request.urlopen(request) as answer:
        assert answer.status in (200, 201, 204)


def object_exists(key: str) -> bool:
    try:
        boto3.client("s3").head_object(Bucket=bucket(), Key=key)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] in ("404", "NoSuchKey"), exc.response
        return False
    return True


def staff_documents(review: SentReview) -> dict[str, dict[str, Any]]:
    got = review.api.get(f"/reviews/{review.review_id}")
    assert got.status == 200, got.body
    return {d["id"]: d for d in got.json["documents"]}


def confirm(review: SentReview, doc_id: str) -> Any:
    return review.api.post(f"/reviews/{review.review_id}/documents/{doc_id}/confirm")


def test_client_page_shows_a_document_only_once_confirmed_with_its_real_size(
    client: Any, tenant: TenantHandle
) -> None:
    review = make_review(tenant)
    created = add_document(review, "results.pdf", size=5 * MB)  # the browser claims 5 MB
    doc_id = created["document"]["id"]
    assert created["document"]["status"] == "pending"
    # Nothing uploaded yet: confirming is refused and the document stays pending.
    early = confirm(review, doc_id)
    assert early.status == 409 and early.json["error"]["code"] == "conflict"

    token = send_review(client, review)[review.contacts[0]["id"]]
    upload(created, b"%PDF-1.4 " + b"x" * (3 * MB // 2 - 9))  # really 1.5 MB
    # Uploaded but not confirmed: staff see it as pending, the client's page does not show it.
    assert staff_documents(review)[doc_id]["status"] == "pending"
    page = tenant.api.get(f"/r/{token}", token="").text
    assert "results.pdf" not in page

    confirmed = confirm(review, doc_id)
    assert confirmed.status == 200, confirmed.body
    assert confirmed.json["document"]["status"] == "ready"
    assert confirmed.json["document"]["size"] == 3 * MB // 2
    assert staff_documents(review)[doc_id]["size"] == 3 * MB // 2
    page = tenant.api.get(f"/r/{token}", token="").text
    assert "results.pdf" in page and "(1.5 MB)" in page and "(5.0 MB)" not in page
    assert confirm(review, doc_id).status == 200  # idempotent


def test_preview_hides_a_document_whose_file_has_not_arrived(tenant: TenantHandle) -> None:
    review = make_review(tenant)
    created = add_document(review, "plan.pdf", size=2 * MB)
    doc_id = created["document"]["id"]
    preview = tenant.api.get(f"/reviews/{review.review_id}/preview")
    assert preview.status == 200 and "plan.pdf" not in preview.text
    assert staff_documents(review)[doc_id]["status"] == "pending"

    upload(created, b"%PDF-1.4 small")
    # A preview confirms what has arrived, so the builder sees exactly what clients will see.
    preview = tenant.api.get(f"/reviews/{review.review_id}/preview")
    assert "plan.pdf" in preview.text
    document = staff_documents(review)[doc_id]
    assert document["status"] == "ready" and document["size"] == len(b"%PDF-1.4 small")


@pytest.mark.parametrize(
    ("size", "content_type", "field"),
    [(20 * MB + 1, "application/pdf", "size"), (100, "text/html", "content_type")],
    ids=["over-20-MB", "other-type"],
)
def test_a_file_breaking_the_limits_is_refused_and_removed(
    tenant: TenantHandle, size: int, content_type: str, field: str
) -> None:
    review = make_review(tenant)
    created = add_document(review, "huge.pdf", size=1000)
    doc_id = created["document"]["id"]
    key = created["upload"]["fields"]["key"]
    # Written past the browser policy (straight to the key): the claim said 1,000 bytes.
    boto3.client("s3").put_object(
        Bucket=bucket(), Key=key, Body=b"\0" * size, ContentType=content_type
    )

    refused = confirm(review, doc_id)
    assert refused.status == 422, refused.body
    assert field in refused.json["error"]["fields"]
    assert not object_exists(key)
    assert staff_documents(review)[doc_id]["status"] == "failed"
    preview = tenant.api.get(f"/reviews/{review.review_id}/preview")
    assert "huge.pdf" not in preview.text


def test_delete_removes_the_file_and_the_record(tenant: TenantHandle) -> None:
    manager = tenant.add_staff("account_manager")
    other = tenant.add_staff("account_manager")
    review = make_review(tenant, owner=manager)
    kept, gone = add_document(review, "kept.pdf"), add_document(review, "gone.pdf")
    for created in (kept, gone):
        upload(created, b"%PDF-1.4 file")
        assert confirm(review, created["document"]["id"]).status == 200
    gone_id, gone_key = gone["document"]["id"], gone["upload"]["fields"]["key"]
    path = f"/reviews/{review.review_id}/documents/{gone_id}"

    # Another account manager reaches neither the review nor its documents.
    assert tenant.as_(other).delete(path).status == 404
    assert object_exists(gone_key)

    assert tenant.as_(manager).delete(path).status == 204
    assert not object_exists(gone_key)
    assert list(staff_documents(review)) == [kept["document"]["id"]]
    assert object_exists(kept["upload"]["fields"]["key"])
    assert tenant.api.delete(path).status == 404


def test_another_tenants_document_answers_404(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    review = make_review(tenant)
    created = add_document(review)
    upload(created, b"%PDF-1.4 file")
    doc_id = created["document"]["id"]
    path = f"/reviews/{review.review_id}/documents/{doc_id}"
    assert other_tenant.api.delete(path).status == 404
    assert other_tenant.api.post(f"{path}/confirm").status == 404
    assert object_exists(created["upload"]["fields"]["key"])
    assert staff_documents(review)[doc_id]["status"] == "pending"


def test_deleting_the_account_deletes_its_document_files(tenant: TenantHandle) -> None:
    first = make_review(tenant)
    second_id = tenant.api.post(
        f"/accounts/{first.account_id}/reviews", {"title": "Second", "review_date": "2030-02-01"}
    ).json["id"]
    second = SentReview(tenant, first.account_id, second_id, [])
    confirmed, unconfirmed, other = add_document(first), add_document(first), add_document(second)
    for created in (confirmed, unconfirmed, other):
        upload(created, b"%PDF-1.4 file")
    assert confirm(first, confirmed["document"]["id"]).status == 200
    keys = [c["upload"]["fields"]["key"] for c in (confirmed, unconfirmed, other)]
    assert all(object_exists(k) for k in keys)

    assert tenant.api.delete(f"/accounts/{first.account_id}").status == 204
    assert not any(object_exists(k) for k in keys)


def test_review_files_are_deleted_in_batches(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services import reviews as service

    assert service.DELETE_BATCH == 1000  # S3's limit per DeleteObjects
    monkeypatch.setattr(service, "DELETE_BATCH", 10)  # 25 files: three batches
    s3 = boto3.client("s3")
    prefix = service.documents_prefix(tenant.tenant_id, "rev_many")
    for i in range(25):
        s3.put_object(Bucket=bucket(), Key=f"{prefix}doc_{i}/f.pdf", Body=b"x")
    neighbour = f"{service.documents_prefix(tenant.tenant_id, 'rev_many2')}doc/f.pdf"
    s3.put_object(Bucket=bucket(), Key=neighbour, Body=b"x")

    assert service.delete_review_files(tenant.tenant_id, "rev_many") == 25
    assert s3.list_objects_v2(Bucket=bucket(), Prefix=prefix).get("KeyCount") == 0
    assert object_exists(neighbour)
