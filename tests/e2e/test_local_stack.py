"""The real local stack (``pulse local``) driven over HTTP: what ``make run`` gives a person."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pulse_local.stack import free_port

if TYPE_CHECKING:  # the fixtures' types; pytest loads conftest.py itself
    from e2e.conftest import Http, LocalStack

pytestmark = pytest.mark.e2e

PASSWORD = "e2e-password-123"


def _signup(stack: LocalStack, company: str) -> tuple[Http, str, str]:
    email = f"admin-{secrets.token_hex(4)}@{company.split()[0].lower()}.example"
    reply = stack.http.post(
        "/signup",
        {
            "company": company,
            "industry": "IT Services",
            "country": "US",
            "region": "OR",
            "city": "Portland",
            "staff_size": 25,
            "admin_email": email,
            "admin_name": "Pat Admin",
            "password": PASSWORD,
        },
    )
    assert reply.status == 201, reply.body
    return stack.http.login(email, PASSWORD), reply.json["tenant_id"], email


def _account(api: Http, name: str, **fields: Any) -> dict[str, Any]:
    reply = api.post("/accounts", {"name": name, "arr": 50_000_00, **fields})
    assert reply.status == 201, reply.body
    return dict(reply.json)


def test_health(stack: LocalStack) -> None:
    reply = stack.http.get("/health")
    assert reply.status == 200
    assert reply.json == {"status": "ok"}


def test_startup_banner_names_url_logins_and_data_lifetime(stack: LocalStack) -> None:
    log = stack.log()
    assert stack.base_url in log
    assert stack.demo_password in log
    assert all(email in log for email in stack.demo_logins.values())
    assert "/_local/outbox" in log
    assert f"{stack.base_url}/app/login" in log  # the web app's sign-in page
    assert "DATA LIVES IN MEMORY" in log


def test_demo_admin_logs_in_and_sees_the_demo_tenant(stack: LocalStack) -> None:
    admin = stack.http.login(stack.demo_logins["admin"], stack.demo_password)
    me = admin.get("/me")
    assert me.status == 200, me.body
    assert me.json["role"] == "admin"
    assert me.json["tenant"]["name"] == "Brightwave Consulting"
    accounts = admin.get("/accounts?limit=200")
    assert accounts.status == 200
    assert len(accounts.json["items"]) == 12
    first = accounts.json["items"][0]["id"]
    contacts = admin.get(f"/accounts/{first}/contacts")
    assert contacts.status == 200
    assert 2 <= len(contacts.json["items"]) <= 3


def test_demo_account_managers_see_only_their_own_accounts(stack: LocalStack) -> None:
    owners = {}
    for key in ("alex", "sam"):
        api = stack.http.login(stack.demo_logins[key], stack.demo_password)
        me = api.get("/me").json
        assert me["role"] == "account_manager"
        items = api.get("/accounts?limit=200").json["items"]
        assert items, key
        assert {a["owner_id"] for a in items} == {me["user"]["id"]}
        owners[key] = (api, items)
    alex, alex_accounts = owners["alex"]
    _, sam_accounts = owners["sam"]
    assert len(alex_accounts) + len(sam_accounts) == 12
    assert alex.get(f"/accounts/{sam_accounts[0]['id']}").status == 404
    senior = stack.http.login(stack.demo_logins["senior"], stack.demo_password)
    assert len(senior.get("/accounts?limit=200").json["items"]) == 12


def test_wrong_password_is_refused(stack: LocalStack) -> None:
    reply = stack.http.post(
        "/auth/login", {"email": stack.demo_logins["admin"], "password": "not-the-password"}
    )
    assert reply.status == 401


def test_signup_accounts_contacts_and_isolation_between_tenants(stack: LocalStack) -> None:
    tenant_a, tenant_a_id, _ = _signup(stack, "Acorn Advisory")
    tenant_b, tenant_b_id, _ = _signup(stack, "Birch Systems")
    assert tenant_a_id != tenant_b_id

    account = _account(tenant_a, "Globex Corporation", renewal_date="2030-01-31")
    contact = tenant_a.post(
        f"/accounts/{account['id']}/contacts",
        {"name": "Hank Scorpio", "email": "hank@globex.example", "title": "CEO"},
    )
    assert contact.status == 201, contact.body
    listed = tenant_a.get(f"/accounts/{account['id']}/contacts").json["items"]
    assert [c["email"] for c in listed] == ["hank@globex.example"]
    changed = tenant_a.patch(f"/accounts/{account['id']}", {"stage": "adoption"})
    assert changed.status == 200 and changed.json["stage"] == "adoption"

    # Tenant B learns nothing about tenant A's data: every id answers 404.
    assert tenant_b.get(f"/accounts/{account['id']}").status == 404
    assert tenant_b.get(f"/accounts/{account['id']}/contacts").status == 404
    assert tenant_b.patch(f"/accounts/{account['id']}", {"name": "Mine"}).status == 404
    assert tenant_b.delete(f"/contacts/{contact.json['id']}").status == 404
    assert tenant_b.get("/accounts").json["items"] == []
    assert tenant_a.get(f"/accounts/{account['id']}").json["name"] == "Globex Corporation"


def test_invited_account_manager_sees_only_own_accounts(stack: LocalStack) -> None:
    admin, _, _ = _signup(stack, "Cedar Partners")
    email = f"am-{secrets.token_hex(4)}@cedar.example"
    invited = admin.post(
        "/users", {"email": email, "name": "Jo Manager", "role": "account_manager"}
    )
    assert invited.status == 201, invited.body
    # The invitation's temporary password goes out through Cognito's own mail, which moto does
    # not deliver; set a permanent password the way an accepted invitation would.
    idp = stack.boto3_client("cognito-idp")
    pool_id = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    idp.admin_set_user_password(
        UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True
    )
    manager = stack.http.login(email, PASSWORD)

    admins_account = _account(admin, "Initech")
    own = _account(manager, "Umbrella Health")
    assert own["owner_id"] == invited.json["id"]

    mine = manager.get("/accounts").json["items"]
    assert [a["id"] for a in mine] == [own["id"]]
    assert manager.get(f"/accounts/{admins_account['id']}").status == 404
    assert {a["id"] for a in admin.get("/accounts").json["items"]} == {
        own["id"],
        admins_account["id"],
    }


def test_local_outbox_shows_sent_mail_with_links(stack: LocalStack) -> None:
    empty_or_not = stack.http.get("/_local/outbox.json")
    assert empty_or_not.status == 200
    marker = secrets.token_hex(6)
    link = f"{stack.base_url}/r/{marker}"
    message = EmailMessage()
    message["From"] = "Pulse <pulse@pulse.example>"
    message["To"] = f"client-{marker}@client.example"
    message["Subject"] = f"How are we doing? {marker}"
    message.set_content(f"Tell us here: {link}\n")
    message.add_alternative(f'<p>Tell us <a href="{link}">here</a>.</p>', subtype="html")
    stack.boto3_client("ses").send_raw_email(
        Source="pulse@pulse.example",
        Destinations=[str(message["To"])],
        RawMessage={"Data": message.as_bytes()},
    )

    listed = stack.http.get(f"/_local/outbox.json?to=client-{marker}@client.example").json
    assert listed["count"] == 1
    mail = listed["items"][0]
    assert mail["subject"] == f"How are we doing? {marker}"
    assert mail["links"] == [link]
    assert "Tell us here" in mail["text"] and "<a href" in mail["html"]

    page = stack.http.get("/_local/outbox", headers={"Accept": "text/html"})
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert f'<a href="{link}"' in page.text
    assert "sandbox=" in page.text

    # The outbox is not part of the API that exists on AWS.
    assert "/_local/outbox" not in stack.http.get("/openapi.json").json["paths"]

    cli = subprocess.run(
        [
            str(Path(sys.executable).with_name("pulse")),
            "outbox",
            "--endpoint",
            stack.moto_url,
            "--to",
            f"client-{marker}@client.example",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert f"How are we doing? {marker}" in cli.stdout
    assert f"link: {link}" in cli.stdout


def test_unknown_routes_and_methods_answer_the_error_shape(stack: LocalStack) -> None:
    """Not Chalice's 403 "Missing Authentication Token": what API Gateway answers with the
    template's GatewayResponses, in Pulse's error shape."""
    admin = stack.http.login(stack.demo_logins["admin"], stack.demo_password)
    for api in (stack.http, admin):
        unknown = api.get("/no-such-route")
        assert unknown.status == 404, unknown.body
        assert unknown.json == {"error": {"code": "not_found", "message": "no such route"}}
        assert unknown.headers["Content-Type"] == "application/json"
        assert unknown.headers["Access-Control-Allow-Origin"] == "*"
    for method in ("PUT", "TRACE"):
        wrong = stack.http.call(method, "/health")
        assert wrong.status == 405, (method, wrong.body)
        assert wrong.json["error"]["code"] == "method_not_allowed"
        assert wrong.headers["Allow"] == "GET"


def test_a_second_terminal_runs_jobs_against_the_running_stack(stack: LocalStack) -> None:
    """`pulse jobs run` from another terminal needs nothing copied by hand: the stack records
    its environment (owner-only) and the command finds it."""
    assert stack.state_file.stat().st_mode & 0o777 == 0o600
    recorded = json.loads(stack.state_file.read_text())["environment"]
    assert recorded["AWS_ENDPOINT_URL"] == stack.moto_url
    assert recorded["PULSE_PUBLIC_URL"] == stack.base_url
    run = stack.pulse("jobs", "run", "success-score", "--date", date.today().isoformat())
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    summary = json.loads(run.stdout)
    assert summary["tenants"] >= 1 and summary["accounts"] >= 12  # the demo tenant's twelve
    # Progress per tenant slice, then a closing line.
    assert "accounts scored" in run.stderr
    assert run.stderr.rstrip().splitlines()[-1].startswith("success-score for ")
    assert "done in" in run.stderr


def test_without_a_running_stack_commands_say_so_in_one_line(
    stack: LocalStack, tmp_path: Path
) -> None:
    # A stack that was killed without cleaning up: its process and its moto are gone.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    stale = tmp_path / "stale.json"
    env = json.loads(stack.state_file.read_text())["environment"]
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"
    stale.write_text(json.dumps({"pid": int(gone.stdout), "environment": env}))
    for record in (tmp_path / "none.json", stale):
        for command in (
            ("jobs", "run", "success-score", "--date", "2024-05-01"),
            ("jobs", "list"),
            ("outbox",),
        ):
            run = stack.pulse(*command, state_file=record)
            assert run.returncode == 2, (command, run.stdout, run.stderr)
            assert run.stderr == "no local stack is running: start it with `make run`\n"
            assert run.stdout == ""
