from __future__ import annotations

from typing import Any

import pytest
from support.api import Api, TenantHandle, new_tenant


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


@pytest.fixture
def tenant(client: Any) -> TenantHandle:
    return new_tenant(client)


@pytest.fixture
def other_tenant(client: Any) -> TenantHandle:
    return new_tenant(client, company="Contoso Partners")
