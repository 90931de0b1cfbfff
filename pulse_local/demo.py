"""Demo data for the local stack, written through the app's own services and store.

``load_demo()`` creates the tenant "Brightwave Consulting" with its admin (through
``create_tenant_with_admin``, so every tenant seeder runs as on a real sign-up), then runs each
function in ``DEMO_STEPS`` in order with a shared ``DemoContext``. Later areas add their demo
data (pulses, reviews, …) by appending a step here; a step reads what earlier steps created from
the context (``ctx.users["alex"]``, ``ctx.accounts``, ``ctx.contacts[account_id]``) and may add to
it. Steps use services and store functions, never raw DynamoDB, so the demo data is exactly what
the API would have produced.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from chalicelib.auth import cognito
from chalicelib.domain.entities import Account, Contact, Tenant, User
from chalicelib.domain.tenant_settings import effective
from chalicelib.services.tenancy import create_tenant_with_admin
from chalicelib.store import accounts as account_store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.base import new_id, now_iso

DEMO_PASSWORD = "pulse-demo-2024"  # noqa: S105 - published; the local stack only
DEMO_COMPANY = "Brightwave Consulting"
DEMO_DOMAIN = "brightwave.example"


@dataclass(frozen=True)
class DemoLogin:
    key: str
    email: str
    name: str
    role: str


ADMIN = DemoLogin("admin", f"admin@{DEMO_DOMAIN}", "Avery Admin", "admin")
STAFF = (
    DemoLogin("senior", f"senior@{DEMO_DOMAIN}", "Morgan Senior", "senior_manager"),
    DemoLogin("alex", f"alex@{DEMO_DOMAIN}", "Alex Rivera", "account_manager"),
    DemoLogin("sam", f"sam@{DEMO_DOMAIN}", "Sam Chen", "account_manager"),
)
LOGINS = (ADMIN, *STAFF)


@dataclass
class DemoContext:
    tenant: Tenant
    today: date
    users: dict[str, User] = field(default_factory=dict)  # by DemoLogin.key
    accounts: list[Account] = field(default_factory=list)
    contacts: dict[str, list[Contact]] = field(default_factory=dict)  # by account id


DemoStep = Callable[[DemoContext], None]


def add_staff(ctx: DemoContext) -> None:
    """A senior manager and two account managers reporting to them, all with the demo password."""
    preferences = effective(ctx.tenant.settings).alert_defaults.model_dump()
    for login in STAFF:
        manager = ctx.users["senior"].user_id if login.role == "account_manager" else None
        sub = cognito.create_user(
            login.email, ctx.tenant.tenant_id, login.role, password=DEMO_PASSWORD
        )
        ctx.users[login.key] = tenant_store.create_user(
            User(
                tenant_id=ctx.tenant.tenant_id,
                user_id=sub,
                email=login.email,
                name=login.name,
                role=login.role,
                manager_id=manager,
                active=True,
                created_at=now_iso(),
                preferences=preferences,
            )
        )


# name, owner key, ARR in whole dollars, renewal in days from today, stage, contacts
# (name, title); contact addresses are derived from the account's domain.
ACCOUNTS: tuple[tuple[str, str, int, int, str, tuple[tuple[str, str], ...]], ...] = (
    ("Northwind Traders", "alex", 240_000, 45, "renewal",
     (("Nancy Davolio", "VP Operations"), ("Andrew Fuller", "CIO"))),
    ("Contoso Pharmaceuticals", "alex", 510_000, 200, "value",
     (("Kim Abercrombie", "Head of IT"), ("Pilar Ackerman", "CFO"), ("Jay Adams", "IT Manager"))),
    ("Fabrikam Logistics", "alex", 86_500, 20, "renewal",
     (("Rob Walters", "Director of Logistics"), ("Lisa Andrews", "Procurement Lead"))),
    ("Tailspin Toys", "alex", 42_000, 310, "onboarding",
     (("Mia Hughes", "COO"), ("Ben Ortiz", "Engineering Manager"))),
    ("Wide World Importers", "alex", 175_000, 120, "adoption",
     (("Hannah Lee", "VP Supply Chain"), ("Omar Haddad", "IT Director"),
      ("Grace Kim", "Analyst"))),
    ("Adventure Works Cycles", "alex", 330_000, 75, "expansion",
     (("Terri Duffy", "VP Engineering"), ("Roberto Tamburello", "Engineering Manager"))),
    ("Litware Health", "sam", 128_000, 160, "adoption",
     (("Priya Nair", "CTO"), ("Diego Ramos", "Clinical Systems Lead"))),
    ("Proseware Financial", "sam", 620_000, 30, "renewal",
     (("Ellen Park", "CFO"), ("Marcus Webb", "Head of Infrastructure"),
      ("Sofia Rossi", "Compliance Officer"))),
    ("Woodgrove Bank", "sam", 450_000, 260, "value",
     (("Tom Becker", "CIO"), ("Aisha Bello", "Program Manager"))),
    ("Alpine Ski House", "sam", 24_000, 90, "onboarding",
     (("Lukas Weber", "General Manager"), ("Emma Novak", "Office Manager"))),
    ("Coho Winery", "sam", 36_500, 15, "renewal",
     (("Isabel Cruz", "Owner"), ("Noah Schmidt", "Operations Lead"))),
    ("Margie's Travel", "sam", 98_000, 340, "expansion",
     (("Margie Shoop", "CEO"), ("Ravi Patel", "IT Lead"), ("Chloe Martin", "Marketing Lead"))),
)  # fmt: skip


def _domain(company: str) -> str:
    slug = "".join(ch for ch in company.lower() if ch.isalnum() or ch == " ").split()
    return "-".join(slug[:2]) + ".example"


def add_accounts(ctx: DemoContext) -> None:
    """A dozen accounts over the two account managers, each with two or three contacts."""
    for name, owner, arr_dollars, renewal_in, stage, people in ACCOUNTS:
        account = account_store.create_account(
            Account(
                tenant_id=ctx.tenant.tenant_id,
                account_id=new_id("acc"),
                name=name,
                owner_id=ctx.users[owner].user_id,
                arr=arr_dollars * 100,  # integer minor units
                currency="USD",
                renewal_date=(ctx.today + timedelta(days=renewal_in)).isoformat(),
                stage=stage,
                created_at=now_iso(),
            )
        )
        ctx.accounts.append(account)
        domain = _domain(name)
        ctx.contacts[account.account_id] = [
            account_store.create_contact(
                Contact(
                    tenant_id=ctx.tenant.tenant_id,
                    contact_id=new_id("con"),
                    account_id=account.account_id,
                    name=person,
                    email=f"{person.split()[0].lower()}@{domain}",
                    title=title,
                    unsubscribed=False,
                    suppressed=False,
                    created_at=now_iso(),
                )
            )
            for person, title in people
        ]


def prepare_heartbeat(ctx: DemoContext) -> None:
    """The first heartbeat round, prepared and waiting for approval (the admin is mailed), as the
    daily job would leave it: approve it with POST /heartbeats/{id}/approve."""
    from chalicelib.services import heartbeat

    config = heartbeat.config_of(ctx.tenant.tenant_id)
    _, round_id = heartbeat.prepare_for(ctx.tenant, config, ctx.today)
    if round_id:
        heartbeat.notify_admins(ctx.tenant, round_id)


# Run in order after the tenant and its admin exist. Append later areas' steps here.
DEMO_STEPS: list[DemoStep] = [add_staff, add_accounts, prepare_heartbeat]


def _send_demo_review(ctx: DemoContext) -> None:
    from pulse_local.demo_reviews import send_demo_review

    send_demo_review(ctx)


DEMO_STEPS.append(_send_demo_review)

# Levels the demo accounts start at: a spread over the scale, so every report has something.
DEMO_LEVELS = (6, 5, 5, 4, 4, 4, 3, 3, 2, 5, 1, 4)


def _set_demo_pulses(ctx: DemoContext) -> None:
    """A current pulse on every demo account, with reason codes that fit its level."""
    from chalicelib.services import pulses
    from chalicelib.store import reason_codes

    codes = [c for c in reason_codes.all_codes(ctx.tenant.tenant_id) if c.tab == "pulse"]
    risks = [c.code_id for c in codes if c.type in ("risk", "both")]
    successes = [c.code_id for c in codes if c.type == "success"]
    owners = {u.user_id: u for u in ctx.users.values()}
    for index, account in enumerate(ctx.accounts):
        level = DEMO_LEVELS[index % len(DEMO_LEVELS)]
        at_risk = level <= 3
        pulses.set_pulse(
            ctx.tenant.tenant_id,
            account,
            set_by=owners.get(account.owner_id, ctx.users["admin"]).user_id,
            level=level,
            risk_factors=risks[index % 7 : index % 7 + (2 if at_risk else 0)],
            success_factors=[] if at_risk else successes[index % 5 : index % 5 + 2],
            note="Quarterly check-in with the sponsor."
            if not at_risk
            else "Escalated: see next steps.",
            next_steps="" if not at_risk else "Book an executive call this week.",
        )


DEMO_STEPS.append(_set_demo_pulses)


def demo_exists() -> bool:
    return tenant_store.find_user_by_email(ADMIN.email) is not None


def load_demo(today: date | None = None) -> DemoContext | None:
    """Create the demo tenant and run every step; None if the demo tenant already exists."""
    if demo_exists():
        return None
    tenant, admin = create_tenant_with_admin(
        company=DEMO_COMPANY,
        industry="IT Services",
        country="US",
        region="WA",
        city="Seattle",
        staff_size=85,
        admin_email=ADMIN.email,
        admin_name=ADMIN.name,
        password=DEMO_PASSWORD,
    )
    ctx = DemoContext(tenant=tenant, today=today or datetime.now(UTC).date())
    ctx.users[ADMIN.key] = admin
    for step in DEMO_STEPS:
        step(ctx)
    return ctx
