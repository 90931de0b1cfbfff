"""Who may call each route, written from the API contract (API.md), not from the code.

``tests/functional/test_security_generated.py`` holds every route the app serves to this table:
a served route missing here fails, a route whose declared roles (``x-pulse-roles``) differ from
its entry fails, each role outside an entry gets 403 and each role inside it gets past the role
check, and the public entries are exactly the routes the app serves without a token.

Paths are written as the contract writes them; ``{id}``-style names do not matter (``key``
compares templates with every parameter as ``{}``). Each entry says where it comes from:

- ``V1``: the contract's tables; ``V2``: its "Added in contract v2" table (an entry the app does
  not serve yet is allowed; once served it must match);
- ``EXTRA``: a route the app serves that the contract does not list, decided from the product
  rules (PRODUCT.md) — the reason is the comment on the line;
- ``LOCAL``: served only by the local stack (``pulse local``), never on AWS, so never in the
  OpenAPI document.

A "who" of "owner, senior_manager, admin" (or a blank one in an account's row group) means every
role: account managers pass the role check and then reach only the accounts they own
(``chalicelib/api/access.py``: any other account answers 404). "creator, admin" is the same
(the view checks the creator).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ADMIN = frozenset({"admin"})
MANAGERS = frozenset({"admin", "senior_manager"})
ALL = frozenset({"admin", "senior_manager", "account_manager"})
PUBLIC = frozenset()  # no token; clients act through signed links

V1, V2, EXTRA, LOCAL = "v1", "v2", "extra", "local"


@dataclass(frozen=True)
class Rule:
    method: str
    path: str
    roles: frozenset[str]
    source: str

    @property
    def public(self) -> bool:
        return not self.roles

    def __str__(self) -> str:
        who = "public" if self.public else ", ".join(sorted(self.roles))
        return f"{self.method} {self.path} ({who}; {self.source})"


def key(method: str, path: str) -> tuple[str, str]:
    return method.upper(), re.sub(r"{\w+}", "{}", path)


_RULES: list[Rule] = []


def _allow(methods: str, path: str, roles: frozenset[str], source: str) -> None:
    for method in methods.split(","):
        _RULES.append(Rule(method.strip(), path, roles, source))


# --- Public (v1) ------------------------------------------------------------------------------
_allow("GET", "/health", PUBLIC, V1)
_allow("POST", "/signup", PUBLIC, V1)
_allow("POST", "/auth/login", PUBLIC, V1)
_allow("POST", "/auth/refresh", PUBLIC, V1)
_allow("POST", "/auth/forgot-password", PUBLIC, V1)
_allow("POST", "/auth/reset-password", PUBLIC, V1)
_allow("POST", "/auth/accept-invite", PUBLIC, V1)
_allow("GET, POST", "/r/{token}", PUBLIC, V1)
_allow("POST", "/unsubscribe/{token}", PUBLIC, V1)
_allow("GET", "/openapi.json", PUBLIC, V1)  # the contract's preamble: served, describes every route

# --- Staff (v1) -------------------------------------------------------------------------------
_allow("GET", "/me", ALL, V1)
_allow("GET, PUT", "/me/preferences", ALL, V1)
_allow("GET", "/settings", ALL, V1)
_allow("PUT", "/settings", ADMIN, V1)
_allow("GET, POST", "/users", ADMIN, V1)
_allow("PATCH", "/users/{id}", ADMIN, V1)
_allow("GET", "/accounts", ALL, V1)
_allow("POST", "/accounts", ALL, V1)  # admin, senior_manager, owner: managers create their own
_allow("GET, PATCH, DELETE", "/accounts/{id}", ALL, V1)  # blank: the account's owner or a manager
_allow("GET, POST", "/accounts/{id}/contacts", ALL, V1)
_allow("PATCH, DELETE", "/contacts/{id}", ALL, V1)
_allow("GET", "/pulse-scale", ALL, V1)
_allow("GET", "/reason-codes", ALL, V1)
_allow("POST", "/reason-codes", ADMIN, V1)
_allow("PATCH, DELETE", "/reason-codes/{id}", ADMIN, V1)
_allow("PUT", "/reason-codes/order", ADMIN, V1)
_allow("POST", "/accounts/{id}/pulses", ALL, V1)  # owner, senior_manager, admin
_allow("POST", "/accounts/{id}/pulses/same", ALL, V1)
_allow("GET", "/accounts/{id}/pulses", ALL, V1)
_allow("GET", "/accounts/{id}/success-score", ALL, V1)
_allow("GET, POST", "/accounts/{id}/reviews", ALL, V1)
_allow("GET, PATCH", "/reviews/{id}", ALL, V1)
_allow("POST", "/reviews/{id}/documents", ALL, V1)
_allow("PUT", "/reviews/{id}/recipients", ALL, V1)
_allow("POST", "/reviews/{id}/actions", ALL, V1)
_allow("PATCH", "/actions/{id}", ALL, V1)
_allow("GET", "/reviews/{id}/preview", ALL, V1)
_allow("POST", "/reviews/{id}/send", ALL, V1)
_allow("POST", "/reviews/{id}/resend", ALL, V1)
_allow("GET", "/reviews/{id}/analytics", ALL, V1)
_allow("GET", "/follow-ups", ALL, V1)
_allow("POST", "/follow-ups/{id}/acknowledge", ALL, V1)
_allow("GET", "/accounts/{id}/comments", ALL, V1)
_allow("POST", "/comments/{id}/notes", ALL, V1)
_allow("POST", "/comments/{id}/complete", ALL, V1)
_allow("GET", "/accounts/{id}/actions", ALL, V1)
_allow("GET", "/accounts/{id}/dashboard", ALL, V1)
_allow("GET", "/notifications", ALL, V1)
for _report in (
    "workspace",
    "pulse-summary",
    "recent-changes",
    "risk-factors",
    "success-factors",
    "success-cycle",
    "renewal-health",
):
    _allow("GET", f"/reports/{_report}", ALL, V1)  # account managers: over their own accounts
    # The contract asks for text/csv on every list report (Accept header); the app also serves
    # it at a .csv path, for links and downloads: the same report, so the same roles.
    _allow("GET", f"/reports/{_report}.csv", ALL, EXTRA)
_allow("GET, POST", "/segments", ALL, V1)
_allow("GET", "/segments/{id}/accounts", ALL, V1)
_allow("GET", "/segments/{id}/export.csv", ALL, V1)
_allow("GET", "/accounts/{id}/pulse-history.svg", ALL, V1)
_allow("GET", "/reports/pulse-summary.svg", ALL, V1)
_allow("GET", "/accounts/{id}/pulse-index.svg", ALL, V1)
_allow("GET", "/heartbeat/questions", ALL, V1)
_allow("PUT", "/heartbeat/config", ADMIN, V1)
_allow("GET", "/heartbeats", ADMIN, V1)
_allow("POST", "/heartbeats/{id}/approve", ADMIN, V1)
_allow("POST", "/contacts/{id}/heartbeat", ADMIN, V1)
_allow("GET", "/benchmarks", ALL, V1)
_allow("GET", "/trees", ALL, V1)

# --- Added in contract v2 ---------------------------------------------------------------------
_allow("GET", "/unsubscribe/{token}", PUBLIC, V2)
_allow("GET, POST", "/settings/sender-identities", ADMIN, V2)
_allow("DELETE", "/settings/sender-identities/{id}", ADMIN, V2)
_allow("DELETE", "/reviews/{id}/documents/{doc_id}", ALL, V2)  # owner, senior_manager, admin
_allow("GET", "/tenant", ALL, V2)
_allow("PATCH", "/tenant", ADMIN, V2)
_allow("GET", "/heartbeats/{id}", ADMIN, V2)
_allow("GET", "/heartbeats/{id}/results", ADMIN, V2)
_allow("POST", "/heartbeats", ADMIN, V2)
_allow("GET, POST", "/accounts/{id}/outcomes", ALL, V2)  # owner, senior_manager, admin
_allow("GET", "/reports/outcomes", ALL, V2)  # own accounts for account managers
_allow("GET", "/reports/outcomes.csv", ALL, V2)  # "CSV too", if served at a path like the rest
_allow("POST", "/imports", ADMIN, V2)
_allow("GET", "/imports/{id}", ADMIN, V2)
_allow("PATCH, DELETE", "/segments/{id}", ALL, V2)  # creator, admin: the view checks the creator
_allow("GET, POST", "/webhooks", ADMIN, V2)
_allow("DELETE", "/webhooks/{id}", ADMIN, V2)
_allow("GET", "/webhooks/{id}/deliveries", ADMIN, V2)
_allow("GET, PUT", "/settings/email-templates/{kind}", ADMIN, V2)
_allow("POST", "/settings/email-templates/{kind}/preview", ADMIN, V2)

# --- Served, not in the contract: decided from PRODUCT.md -------------------------------------
# The contact's own signed link again ("Subscribe again" on the unsubscribe page): clients act
# only through links sent to their own address, so it is public like the link it extends.
_allow("POST", "/unsubscribe/{token}/resubscribe", PUBLIC, EXTRA)
# Reading the heartbeat interval and questions chosen: every role sees the settings (GET
# /settings is "all"); only admins change them (PUT /heartbeat/config).
_allow("GET", "/heartbeat/config", ALL, EXTRA)
# A user marks their own in-app notification read: whoever may list them.
_allow("POST", "/notifications/{id}/read", ALL, EXTRA)
# One saved segment: whoever may list segments and their accounts.
_allow("GET", "/segments/{id}", ALL, EXTRA)
# The second step of a document upload: whoever may start it (POST /reviews/{id}/documents).
_allow("POST", "/reviews/{id}/documents/{doc_id}/confirm", ALL, EXTRA)

# --- Local stack only (never deployed, never in the OpenAPI document) -------------------------
_allow("GET", "/_local/outbox", PUBLIC, LOCAL)
_allow("GET", "/_local/outbox.json", PUBLIC, LOCAL)


def _index(rules: list[Rule]) -> dict[tuple[str, str], Rule]:
    table: dict[tuple[str, str], Rule] = {}
    for rule in rules:
        k = key(rule.method, rule.path)
        if k in table:
            raise RuntimeError(f"two policy entries for {rule} and {table[k]}")
        table[k] = rule
    return table


POLICY: dict[tuple[str, str], Rule] = _index(_RULES)
