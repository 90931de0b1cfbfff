"""SES sender identities: start verification, read its status, remove an identity.

An address is verified by SES mailing it a link; a domain by Easy DKIM: SES hands out three
tokens, the domain publishes ``<token>._domainkey.<domain>`` CNAME ``<token>.dkim.amazonses.com``
for each, and SES marks the domain verified once it sees them. Which tenant owns an identity is
not SES's concern (it knows the AWS account only); see ``chalicelib/store/sender_identities.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.clients import client

# SES statuses as the API shows them; an identity SES does not know reads "not_started".
_STATUS = {
    "Success": "verified",
    "Pending": "pending",
    "Failed": "failed",
    "TemporaryFailure": "temporary_failure",
    "NotStarted": "not_started",
}
BATCH = 100  # identities per Get…Attributes call


@dataclass(frozen=True)
class Status:
    status: str
    dkim_tokens: tuple[str, ...] = field(default=())

    @property
    def verified(self) -> bool:
        return self.status == "verified"


UNKNOWN = Status("not_started")


def dkim_records(domain: str, tokens: Sequence[str]) -> list[dict[str, str]]:
    """The DNS records that verify a domain and sign its mail (Easy DKIM)."""
    return [
        {
            "type": "CNAME",
            "name": f"{token}._domainkey.{domain}",
            "value": f"{token}.dkim.amazonses.com",
        }
        for token in tokens
    ]


def start_email(address: str) -> None:
    """SES mails the address a verification link."""
    client("ses").verify_email_identity(EmailAddress=address)


def start_domain(domain: str) -> list[str]:
    """Easy DKIM for the domain; returns the three tokens for its CNAME records."""
    return [str(t) for t in client("ses").verify_domain_dkim(Domain=domain)["DkimTokens"]]


def known(identities: Sequence[str]) -> set[str]:
    """Which of these identities SES has at all, in any state."""
    return set(_verification(identities))


def statuses(identities: Sequence[str], domains: Sequence[str] = ()) -> dict[str, Status]:
    """The live status of each identity. A domain counts as verified when SES reports its
    identity or its DKIM records verified, and carries its DKIM tokens."""
    verification = _verification(identities)
    dkim = _dkim(domains)
    result: dict[str, Status] = {}
    for identity in identities:
        status = _STATUS.get(str(verification.get(identity, {}).get("VerificationStatus")), "")
        tokens: tuple[str, ...] = ()
        if identity in dkim:
            tokens = tuple(str(t) for t in dkim[identity].get("DkimTokens") or ())
            if dkim[identity].get("DkimVerificationStatus") == "Success":
                status = "verified"
        result[identity] = Status(status or "not_started", tokens)
    return result


def remove(identity: str) -> None:
    client("ses").delete_identity(Identity=identity)


def _verification(identities: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(identities), BATCH):
        answer = client("ses").get_identity_verification_attributes(
            Identities=list(identities[start : start + BATCH])
        )
        found.update(answer.get("VerificationAttributes") or {})
    return found


def _dkim(domains: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(domains), BATCH):
        answer = client("ses").get_identity_dkim_attributes(
            Identities=list(domains[start : start + BATCH])
        )
        found.update(answer.get("DkimAttributes") or {})
    return found
