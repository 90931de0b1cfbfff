"""Business reviews: the builder's use cases and the review kind of survey.

The generic machinery (links, sending, reminders, the page frame) is in ``services/surveys.py``;
this module says what a review is: its content, documents and actions on the page, the Pulse
Index and NPS questions, what a response changes (score aggregates, the comment, the follow-up
request, the tree) and the mails' wording.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.clients import client
from chalicelib.domain.entities import Account, Contact
from chalicelib.domain.scoring import NPS_MAX, NPS_MIN, PULSE_INDEX_MAX, PULSE_INDEX_MIN
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.mail import message
from chalicelib.services import review_insights as insight
from chalicelib.services import staff_links, surveys
from chalicelib.services.settings import tenant_settings
from chalicelib.services.surveys import Parsed, SurveyInfo
from chalicelib.settings import get_settings
from chalicelib.store import accounts as account_store
from chalicelib.store import feedback, score_aggregates
from chalicelib.store import invitations as inv_store
from chalicelib.store import reviews as store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.base import new_id, now_iso
from chalicelib.store.invitations import Invitation, TxOp
from chalicelib.store.reviews import Review, StatusChanged

KIND = "review"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_DOCUMENTS = 20
MAX_RECIPIENTS = 200
MAX_COMMENT = 2000
UPLOAD_SECONDS = 900
DOWNLOAD_SECONDS = 3600
# Common office, PDF, image and video types. SVG and HTML are left out on purpose: a browser
# runs script in them, and these files are served to clients.
DOCUMENT_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "application/msword": "Word",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.ms-excel": "Excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "application/vnd.ms-powerpoint": "PowerPoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "PowerPoint",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
    "application/rtf": "Rich text",
    "text/plain": "Text",
    "text/csv": "CSV",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/gif": "GIF image",
    "image/webp": "WebP image",
    "video/mp4": "MP4 video",
    "video/quicktime": "QuickTime video",
    "video/webm": "WebM video",
    "video/x-m4v": "M4V video",
}
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"", "0", "false", "off", "no"}


# ------------------------------------------------------------------------------ the kind


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def comment_id_for(inv: Invitation) -> str:
    return f"cmt_{_digest(inv.tenant_id, inv.kind, inv.survey_id, inv.contact_id)}"


def follow_up_id_for(inv: Invitation) -> str:
    return f"fu_{_digest(inv.tenant_id, inv.kind, inv.survey_id, inv.contact_id)}"


def questions_of(review: Review) -> list[dict[str, str]]:
    """The questions a review asks: its snapshot once sent, the tenant's current list before."""
    if review.questions is not None:
        return list(review.questions)
    settings = tenant_settings(review.tenant_id)
    return [{"id": q.id, "text": q.text} for q in settings.pulse_index_questions]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,3}\s*", value):
        return int(value)
    return None


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _scores_from(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``scores`` as a JSON object, or form fields ``scores.<id>`` / ``scores[<id>]``."""
    raw: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in data.items():
        if key == "scores":
            if isinstance(value, Mapping):
                raw.update({str(k): v for k, v in value.items()})
            else:
                unknown.append("scores")
            continue
        match = re.fullmatch(r"scores(?:\.([\w-]+)|\[([\w-]+)\])", key)
        if match:
            raw[match.group(1) or match.group(2)] = value
        elif key not in ("nps", "comment", "follow_up"):
            unknown.append(key)
    return raw, unknown


class ReviewKind(surveys.SurveyKind):
    name = KIND

    def load(self, tenant_id: str, survey_id: str) -> SurveyInfo:
        review = store.get_review(tenant_id, survey_id)
        company = review.company or tenant_store.get_tenant(tenant_id).name
        return SurveyInfo(
            tenant_id=tenant_id,
            kind=KIND,
            survey_id=survey_id,
            title=review.title,
            company=company,
            is_open=review.status != "closed",
            scoring_applies=review.scoring_required,
            data=review,
        )

    def page_context(
        self, info: SurveyInfo, inv: Invitation | None, *, preview: bool = False
    ) -> dict[str, Any]:
        review: Review = info.data
        actions = store.review_actions(review.tenant_id, review.account_id, review.review_id)
        response = (inv.response if inv else None) or {}
        return {
            "content_template": "survey/review_content.html",
            "form_template": "survey/review_form.html",
            "review": review,
            "sections": review.sections,
            "documents": client_documents(review),
            "actions": [a for a in actions],
            "questions": questions_of(review),
            "scoring_required": review.scoring_required,
            "values": {
                "scores": {k: str(v) for k, v in (response.get("scores") or {}).items()},
                "nps": "" if response.get("nps") is None else str(response["nps"]),
                "comment": response.get("comment") or "",
                "follow_up": bool(response.get("follow_up")),
            },
            "nps_range": list(range(NPS_MIN, NPS_MAX + 1)),
            "score_range": list(range(PULSE_INDEX_MIN, PULSE_INDEX_MAX + 1)),
        }

    def parse(self, info: SurveyInfo, data: Mapping[str, Any]) -> Parsed:
        review: Review = info.data
        questions = questions_of(review)
        known = {q["id"] for q in questions}
        raw_scores, unknown = _scores_from(data)
        errors: dict[str, str] = {name: "unknown field" for name in unknown}
        scores: dict[str, int] = {}
        for qid, value in raw_scores.items():
            if qid not in known:
                errors[f"scores.{qid}"] = "not a question of this review"
                continue
            if _blank(value):
                continue
            number = _as_int(value)
            if number is None or not PULSE_INDEX_MIN <= number <= PULSE_INDEX_MAX:
                errors[f"scores.{qid}"] = "choose a score from 1 to 5"
            else:
                scores[qid] = number
        nps: int | None = None
        if not _blank(data.get("nps")):
            nps = _as_int(data.get("nps"))
            if nps is None or not NPS_MIN <= nps <= NPS_MAX:
                errors["nps"] = "choose a number from 0 to 10"
                nps = None
        comment = data.get("comment") or ""
        if not isinstance(comment, str):
            errors["comment"] = "must be text"
            comment = ""
        comment = comment.replace("\r\n", "\n").strip()
        if len(comment) > MAX_COMMENT:
            errors["comment"] = f"at most {MAX_COMMENT} characters"
        elif any(ord(ch) < 32 and ch not in "\n\t" for ch in comment):
            errors["comment"] = "control characters are not allowed"
        follow_up = _as_bool(data.get("follow_up", False))
        if follow_up is None:
            errors["follow_up"] = "yes or no"
            follow_up = False
        if review.scoring_required:
            for q in questions:
                if q["id"] not in scores and f"scores.{q['id']}" not in errors:
                    errors[f"scores.{q['id']}"] = "choose a score from 1 to 5"
            if nps is None and "nps" not in errors:
                errors["nps"] = "choose a number from 0 to 10"
        if not errors and not (scores or nps is not None or comment or follow_up):
            errors["form"] = "answer a question, leave a comment or ask for a follow-up"
        values = {
            "scores": {k: str(v) for k, v in raw_scores.items() if isinstance(v, (str, int))},
            "nps": str(data.get("nps") or ""),
            "comment": comment[: MAX_COMMENT * 2],
            "follow_up": bool(follow_up),
        }
        response = {"scores": scores, "nps": nps, "comment": comment, "follow_up": follow_up}
        return Parsed(response=response, errors=errors, values=values)

    def is_scored(self, info: SurveyInfo, response: Mapping[str, Any]) -> bool:
        return bool(response.get("scores")) or response.get("nps") is not None

    def response_ops(
        self,
        info: SurveyInfo,
        inv: Invitation,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any],
        *,
        at: str,
        period: str,
    ) -> list[TxOp]:
        review: Review = info.data
        old = old or {}
        changes: dict[str, tuple[int | None, int | None]] = {
            score_aggregates.NPS: (old.get("nps"), new.get("nps"))
        }
        old_scores, new_scores = old.get("scores") or {}, new.get("scores") or {}
        for qid in set(old_scores) | set(new_scores):
            changes[score_aggregates.pulse_metric(qid)] = (old_scores.get(qid), new_scores.get(qid))
        ops = score_aggregates.delta_ops(inv.tenant_id, inv.account_id, period, changes)
        source = feedback.Source(
            tenant_id=inv.tenant_id,
            account_id=inv.account_id,
            survey_kind=KIND,
            survey_id=inv.survey_id,
            survey_title=review.title,
            contact_id=inv.contact_id,
            contact_name=inv.name,
            contact_email=inv.email,
        )
        old_comment, new_comment = old.get("comment") or "", new.get("comment") or ""
        if new_comment and new_comment != old_comment:
            ops.append(
                feedback.comment_op(comment_id_for(inv), source, new_comment, at, changed=True)
            )
        elif old_comment and not new_comment:
            ops.append(feedback.comment_delete_op(inv.tenant_id, comment_id_for(inv)))
        if new.get("follow_up") and not inv.follow_up:
            ops.append(feedback.follow_up_op(follow_up_id_for(inv), source, at))
        if self.is_scored(info, new) and not review.tree_planted:
            ops.append(store.tree_op(inv.tenant_id, review.review_id))
            ops.append(score_aggregates.tree_counter_op(inv.tenant_id))
        return ops

    def after_commit(
        self,
        info: SurveyInfo,
        inv: Invitation,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any],
        *,
        period: str,
    ) -> None:
        review: Review = info.data
        insight.response_changed(inv.tenant_id, inv.account_id, month=period, old=old, new=new)
        if old is None:
            insight.review_changed(review)
        comment = new.get("comment") or ""
        if comment and comment != ((old or {}).get("comment") or ""):
            with contextlib.suppress(NotFound):
                insight.comment_changed(feedback.get_comment(inv.tenant_id, comment_id_for(inv)))
        if new.get("follow_up") and not inv.follow_up:
            insight.tasks_moved(inv.tenant_id, inv.account_id, follow_ups=1)
            with contextlib.suppress(NotFound):
                insight.follow_up_changed(
                    feedback.get_follow_up(inv.tenant_id, follow_up_id_for(inv))
                )

    def events(
        self,
        info: SurveyInfo,
        inv: Invitation,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any],
    ) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.is_scored(info, new) and not inv.scored_at:
            out.append(("scored", ""))
        comment = new.get("comment") or ""
        if comment and comment != ((old or {}).get("comment") or ""):
            out.append(("commented", hashlib.sha256(comment.encode()).hexdigest()[:12]))
        if new.get("follow_up") and not inv.follow_up:
            out.append(("follow_up", ""))
        return out

    def event_text(
        self, info: SurveyInfo, inv: Invitation, event: str
    ) -> tuple[str, str, str | None]:
        who = inv.name or inv.email
        title = info.title
        response = inv.response or {}
        link = staff_links.review_analytics(info.survey_id)
        if event == "opened":
            return f"{who} opened “{title}”", "", link
        if event == "scored":
            scores = response.get("scores") or {}
            parts = []
            if scores:
                mean = sum(scores.values()) / len(scores)
                parts.append(f"Pulse Index {mean:.1f}")
            if response.get("nps") is not None:
                parts.append(f"NPS answer {response['nps']}")
            return f"{who} scored “{title}”", ", ".join(parts), link
        if event == "commented":
            return f"{who} commented on “{title}”", str(response.get("comment") or ""), link
        if event == "follow_up":
            return f"{who} asked for a follow-up on “{title}”", f"Contact: {inv.email}", link
        return f"{who}: {event} on “{title}”", "", link

    def mail(
        self, info: SurveyInfo, inv: Invitation, *, variant: str, link: str, unsubscribe: str
    ) -> message.Mail:
        review: Review = info.data
        closes = (surveys.now() + timedelta(days=surveys.WINDOW_DAYS)).date()
        if inv.window_closes_at and variant != "invite":
            closes = surveys.parse_iso(inv.window_closes_at).date()
        subjects = {
            "invite": f"{info.company}: {review.title}",
            "reminder_review": f"Reminder: {review.title}",
            "reminder_score": f"Would you score “{review.title}”?",
        }
        template = "survey/mail_invite" if variant == "invite" else "survey/mail_reminder"
        return message.from_templates(
            template,
            to=inv.email,
            subject=subjects.get(variant, subjects["invite"]),
            variant=variant,
            recipient_name=inv.name,
            company=info.company,
            review=review,
            intro=_excerpt(review.intro_message, 400),
            link=link,
            unsubscribe_url=unsubscribe,
            closes_on=closes.isoformat(),
        )


REVIEW_KIND = surveys.register(ReviewKind())


def _excerpt(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ------------------------------------------------------------------------------ documents


def _safe_filename(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip(" .")
    return (cleaned or "document")[:120]


def _download(document: dict[str, Any]) -> dict[str, Any]:
    url = client("s3").generate_presigned_url(
        "get_object",
        Params={
            "Bucket": get_settings().bucket_name,
            "Key": document["key"],
            "ResponseContentDisposition": f'attachment; filename="{document["filename"]}"',
        },
        ExpiresIn=DOWNLOAD_SECONDS,
    )
    return {**{k: v for k, v in document.items() if k != "key"}, "url": url}


def client_documents(review: Review) -> list[dict[str, Any]]:
    """The documents a client may see: only those whose upload was confirmed."""
    return [_download(d) for d in review.documents if store.document_status(d) == "ready"]


def add_document(
    review: Review, filename: str, content_type: str, size: int, user_id: str
) -> dict[str, Any]:
    if content_type not in DOCUMENT_TYPES:
        raise ValidationFailed({"content_type": "not an allowed document type"})
    if not 1 <= size <= MAX_DOCUMENT_BYTES:
        raise ValidationFailed({"size": f"1 byte to {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB"})
    if review.status == "closed":
        raise Conflict("the review is closed")
    doc_id = new_id("doc")
    safe = _safe_filename(filename)
    key = f"{review.tenant_id}/reviews/{review.review_id}/{doc_id}/{safe}"
    document = {
        "id": doc_id,
        "filename": safe,
        "content_type": content_type,
        "size": size,
        "status": "pending",
        "key": key,
        "added_by": user_id,
        "added_at": now_iso(),
    }
    if not store.add_document(review.tenant_id, review.review_id, document, MAX_DOCUMENTS):
        raise ValidationFailed({"review_id": f"at most {MAX_DOCUMENTS} documents per review"})
    # S3 enforces the policy: the exact content type and at most 20 MB, whatever the browser
    # claims; the URL works for 15 minutes.
    upload = client("s3").generate_presigned_post(
        Bucket=get_settings().bucket_name,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[
            {"Content-Type": content_type},
            ["content-length-range", 1, MAX_DOCUMENT_BYTES],
        ],
        ExpiresIn=UPLOAD_SECONDS,
    )
    public = {k: v for k, v in document.items() if k != "key"}
    return {
        "document": public,
        "upload": {"url": upload["url"], "fields": upload["fields"], "method": "POST"},
        "expires_in": UPLOAD_SECONDS,
        "max_bytes": MAX_DOCUMENT_BYTES,
    }


# A document is shown to clients only once its upload is confirmed: a HEAD on the object gives
# its real size and type (the size in the request is only what the browser claimed). Confirming
# happens when the builder says the upload finished, and again for every pending document when
# the review is previewed or sent.
_CHANGE_ATTEMPTS = 3


def _public(document: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: v for k, v in document.items() if k != "key"},
        "status": store.document_status(document),
    }


def _find_document(review: Review, doc_id: str) -> tuple[int, dict[str, Any]]:
    for index, document in enumerate(review.documents):
        if document.get("id") == doc_id:
            return index, document
    raise NotFound("document not found")


def _head(key: str) -> dict[str, Any] | None:
    try:
        head: dict[str, Any] = client("s3").head_object(Bucket=get_settings().bucket_name, Key=key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    return head


def _change_document(review: Review, doc_id: str, changes: dict[str, Any] | None) -> Review:
    """Apply ``changes`` to one document (None removes it), re-reading if the list moved."""
    for _ in range(_CHANGE_ATTEMPTS):
        index, _document = _find_document(review, doc_id)
        if changes is None:
            done = store.remove_document(review.tenant_id, review.review_id, index, doc_id)
        else:
            done = store.update_document(review.tenant_id, review.review_id, index, doc_id, changes)
        if done:
            return store.get_review(review.tenant_id, review.review_id, consistent=True)
        review = store.get_review(review.tenant_id, review.review_id, consistent=True)
    raise Conflict("the review's documents changed meanwhile; try again")


def _delete_object(key: str) -> None:
    client("s3").delete_object(Bucket=get_settings().bucket_name, Key=key)


def confirm_document(review: Review, doc_id: str) -> dict[str, Any]:
    """Check the uploaded object: a ready document gets the object's real size; an object that
    is too large or of another type is deleted and the document marked failed (422); no object
    yet answers 409 and the document stays pending."""
    _, document = _find_document(review, doc_id)
    if store.document_status(document) == "ready":
        return _public(document)
    head = _head(str(document["key"]))
    if head is None:
        raise Conflict("the file has not been uploaded yet; upload it, then confirm again")
    length = int(head.get("ContentLength") or 0)
    content_type = str(head.get("ContentType") or "").split(";")[0].strip().lower()
    problem: dict[str, str] = {}
    if not 1 <= length <= MAX_DOCUMENT_BYTES:
        problem = {"size": f"the file has {length} bytes: 1 byte to 20 MB; it was removed"}
    elif content_type != document["content_type"]:
        problem = {"content_type": f"the file was uploaded as {content_type or 'no type'}"}
    if problem:
        _delete_object(str(document["key"]))
        _change_document(review, doc_id, {"status": "failed", "size": length})
        raise ValidationFailed(problem, "the uploaded file was refused")
    updated = _change_document(
        review, doc_id, {"status": "ready", "size": length, "confirmed_at": now_iso()}
    )
    return _public(_find_document(updated, doc_id)[1])


def confirm_pending(review: Review) -> Review:
    """Confirm every pending document whose object has arrived (preview and send do this, so a
    builder that never said "done" still shows its files). Refused files are marked failed."""
    changed = False
    for document in review.documents:
        if store.document_status(document) != "pending":
            continue
        with contextlib.suppress(Conflict, ValidationFailed, NotFound):
            confirm_document(review, str(document["id"]))
            changed = True
    if not changed:
        return review
    return store.get_review(review.tenant_id, review.review_id, consistent=True)


def delete_document(review: Review, doc_id: str) -> None:
    """Delete the file from S3, then the record (a retry after a failure finishes the job)."""
    _, document = _find_document(review, doc_id)
    _delete_object(str(document["key"]))
    _change_document(review, doc_id, None)


def documents_prefix(tenant_id: str, review_id: str) -> str:
    return f"{tenant_id}/reviews/{review_id}/"


DELETE_BATCH = 1000  # S3 DeleteObjects takes at most 1,000 keys


def delete_review_files(tenant_id: str, review_id: str) -> int:
    """Delete every object under the review's prefix, recorded or not (an upload that was never
    confirmed, say); returns how many were deleted."""
    s3 = client("s3")
    bucket = get_settings().bucket_name
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=documents_prefix(tenant_id, review_id)
    ):
        keys.extend(str(o["Key"]) for o in page.get("Contents") or [])
    for start in range(0, len(keys), DELETE_BATCH):
        batch = keys[start : start + DELETE_BATCH]
        answer = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
        if answer.get("Errors"):
            raise RuntimeError(f"{len(answer['Errors'])} document objects were not deleted")
    return len(keys)


# ----------------------------------------------------------------------------- recipients


def _recipient_contacts(account: Account, contact_ids: list[str]) -> list[Contact]:
    contacts = {
        c.contact_id: c
        for c in account_store.account_contacts(account.tenant_id, account.account_id)
    }
    missing = [cid for cid in contact_ids if cid not in contacts]
    if missing:
        raise ValidationFailed(
            {"contact_ids": f"not contacts of this account: {', '.join(missing[:5])}"}
        )
    return [contacts[cid] for cid in contact_ids]


def set_recipients(review: Review, account: Account, contact_ids: list[str]) -> Review:
    if review.status != "draft":
        raise Conflict("the review was sent: add recipients with resend")
    ids = list(dict.fromkeys(contact_ids))
    _recipient_contacts(account, ids)
    updated = _update_in_state(review, {"recipient_ids": ids, "updated_at": now_iso()}, ("draft",))
    insight.review_changed(updated)
    return updated


def _update_in_state(review: Review, changes: dict[str, Any], states: tuple[str, ...]) -> Review:
    try:
        return store.update_review(
            review.tenant_id, review.review_id, changes, expect_status=states
        )
    except StatusChanged as exc:
        raise Conflict("the review changed meanwhile; reload it") from exc


# -------------------------------------------------------------------------------- sending


@dataclass
class SendResult:
    queued: int
    skipped: list[str]

    def to_api(self, review: Review) -> dict[str, Any]:
        return {
            "review_id": review.review_id,
            "status": review.status,
            "queued": self.queued,
            "skipped_contact_ids": self.skipped,
        }


def _invite(review: Review, contacts: list[Contact], *, new_round: bool) -> SendResult:
    chosen: list[Invitation] = []
    skipped: list[str] = []
    for contact in contacts:
        if surveys.contact_blocked(contact):
            skipped.append(contact.contact_id)
            continue
        inv, created = inv_store.ensure(
            review.tenant_id,
            KIND,
            review.review_id,
            contact_id=contact.contact_id,
            account_id=review.account_id,
            name=contact.name,
            email=contact.email,
            created_at=now_iso(),
        )
        if new_round and not created:
            inv = inv_store.bump(
                review.tenant_id, KIND, review.review_id, contact.contact_id, contact.email
            )
        chosen.append(inv)
    queued = surveys.queue_invites(chosen) if chosen else 0
    return SendResult(queued, skipped)


def send(review: Review, account: Account) -> tuple[Review, SendResult]:
    """First send. Retrying after a failure is safe: invitations are created once and the send
    ledger drops a second mail, and the review turns "sent" only after the mails are queued."""
    if review.status != "draft":
        raise Conflict("this review was already sent; use resend for more recipients")
    if not review.recipient_ids:
        raise ValidationFailed({"recipient_ids": "add at least one recipient first"})
    contacts = _recipient_contacts(account, review.recipient_ids)
    if all(surveys.contact_blocked(c) for c in contacts):
        raise ValidationFailed({"recipient_ids": "every recipient has unsubscribed or bounced"})
    review = confirm_pending(review)
    tenant = tenant_store.get_tenant(review.tenant_id)
    review = _update_in_state(
        review,
        {"company": review.company or tenant.name, "questions": questions_of(review)},
        ("draft",),
    )
    result = _invite(review, contacts, new_round=False)
    at = now_iso()
    try:
        review = store.update_review(
            review.tenant_id,
            review.review_id,
            {"status": "sent", "sent_at": at, "updated_at": at},
            expect_status=("draft",),
        )
    except StatusChanged:
        review = store.get_review(review.tenant_id, review.review_id, consistent=True)
    insight.review_changed(review)
    return review, result


def resend(review: Review, account: Account, contact_ids: list[str]) -> tuple[Review, SendResult]:
    """Send again to chosen recipients (a new link and a new 28-day window each), adding any who
    were not recipients yet."""
    if review.status == "draft":
        raise Conflict("send the review first")
    if review.status == "closed":
        raise Conflict("the review is closed")
    ids = list(dict.fromkeys(contact_ids))
    contacts = _recipient_contacts(account, ids)
    added = [cid for cid in ids if cid not in review.recipient_ids]
    if len(review.recipient_ids) + len(added) > MAX_RECIPIENTS:
        raise ValidationFailed({"contact_ids": f"at most {MAX_RECIPIENTS} recipients per review"})
    if added:
        review = _update_in_state(
            review,
            {"recipient_ids": review.recipient_ids + added, "updated_at": now_iso()},
            ("sent",),
        )
    result = _invite(review, contacts, new_round=True)
    insight.review_changed(review)
    return review, result


# ------------------------------------------------------------------------------ analytics


def analytics(review: Review) -> dict[str, Any]:
    invitations = {
        i.contact_id: i for i in inv_store.for_survey(review.tenant_id, KIND, review.review_id)
    }
    contacts = {
        c.contact_id: c for c in account_store.account_contacts(review.tenant_id, review.account_id)
    }
    rows = []
    for contact_id in dict.fromkeys([*review.recipient_ids, *invitations]):
        inv = invitations.get(contact_id)
        contact = contacts.get(contact_id)
        response = (inv.response if inv else None) or None
        rows.append(
            {
                "contact_id": contact_id,
                "name": contact.name if contact else (inv.name if inv else ""),
                "email": contact.email if contact else (inv.email if inv else ""),
                "unsubscribed": bool(contact and contact.unsubscribed),
                "suppressed": bool(contact and contact.suppressed),
                "delivery": inv.delivery if inv else "not_sent",
                "first_sent_at": inv.first_sent_at if inv else None,
                "sent_at": inv.sent_at if inv else None,
                "window_closes_at": inv.window_closes_at if inv else None,
                "opened_at": inv.opened_at if inv else None,
                "responded_at": inv.responded_at if inv else None,
                "scored_at": inv.scored_at if inv else None,
                "reminders_sent": len(inv.reminders) if inv else 0,
                "follow_up": bool(inv and inv.follow_up),
                "response": response,
            }
        )
    total = len(rows)

    def count(key: str) -> int:
        return sum(1 for r in rows if r[key])

    return {
        "review_id": review.review_id,
        "status": review.status,
        "sent_at": review.sent_at,
        "tree_planted": review.tree_planted,
        "recipients": rows,
        "totals": {
            "recipients": total,
            "sent": count("sent_at"),
            "opened": count("opened_at"),
            "scored": count("scored_at"),
            "follow_ups": count("follow_up"),
            "response_rate": round(count("responded_at") / total, 3) if total else None,
        },
    }


def get_for_tenant(tenant_id: str, review_id: str) -> Review:
    try:
        return store.get_review(tenant_id, review_id)
    except NotFound:
        raise NotFound("review not found") from None


def delete_account_reviews(tenant_id: str, account_id: str) -> None:
    """ACCOUNT_CASCADE: an account's reviews with their document files, actions, invitations,
    feedback and histograms."""
    for review in store.account_reviews(tenant_id, account_id):
        delete_review_files(tenant_id, review.review_id)
        inv_store.delete_survey(tenant_id, KIND, review.review_id)
    feedback.delete_account_data(tenant_id, account_id)
    score_aggregates.delete_account_data(tenant_id, account_id)
    store.delete_account_data(tenant_id, account_id)  # reviews last: a retry finds the rest


if delete_account_reviews not in account_store.ACCOUNT_CASCADE:
    account_store.ACCOUNT_CASCADE.append(delete_account_reviews)
