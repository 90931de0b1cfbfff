"""The merge template is generated from the app's own definitions: every model is a table with the
model's keys and indexes, every queue has a dead-letter queue, the role is least-privilege."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pynamodb.indexes import GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.queues import QUEUES
from chalicelib.store.registry import MODELS
from infra import template
from pulse_local.stack import ROLE_GROUPS

ROOT = Path(__file__).resolve().parent.parent.parent
STAGES = ("dev", "prod")


@pytest.fixture(scope="module", params=STAGES)
def built(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    return request.param, template.build(request.param)


def _of_type(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == kind}


def _keys(model_or_index: Any) -> dict[str, str]:
    """{attribute: HASH|RANGE}, read off the attributes themselves (not off _get_schema)."""
    attributes = (
        model_or_index.get_attributes()
        if isinstance(model_or_index, type) and issubclass(model_or_index, Model)
        else model_or_index.Meta.attributes
    )
    keys = {}
    for attr in attributes.values():
        if attr.is_hash_key:
            keys[attr.attr_name] = "HASH"
        elif attr.is_range_key:
            keys[attr.attr_name] = "RANGE"
    return keys


def _indexes(model: type[Model]) -> list[Any]:
    return [
        v for v in vars(model).values() if isinstance(v, GlobalSecondaryIndex | LocalSecondaryIndex)
    ]


def _attr_type(model: type[Model], name: str) -> str:
    for attr in model.get_attributes().values():
        if attr.attr_name == name:
            return str(attr.attr_type)
    raise AssertionError(f"{model.__name__} has no attribute {name}")


def test_every_model_is_a_table_and_only_models_are(built: tuple[str, dict[str, Any]]) -> None:
    stage, doc = built
    tables = _of_type(doc, "AWS::DynamoDB::Table")
    assert len(tables) == len(MODELS)
    names = {t["Properties"]["TableName"] for t in tables.values()}
    expected = {f"pulse-{stage}-{template.table_short_name(m)}" for m in MODELS}
    assert names == expected


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_table_matches_model(model: type[Model], built: tuple[str, dict[str, Any]]) -> None:
    stage, doc = built
    props = doc["Resources"][template.table_logical_id(model)]["Properties"]
    assert props["TableName"] == f"pulse-{stage}-{template.table_short_name(model)}"
    assert {k["AttributeName"]: k["KeyType"] for k in props["KeySchema"]} == _keys(model)
    assert props["KeySchema"][0]["KeyType"] == "HASH"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}

    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    indexes.update({i["IndexName"]: i for i in props.get("LocalSecondaryIndexes", [])})
    model_indexes = _indexes(model)
    assert set(indexes) == {i.Meta.index_name for i in model_indexes}
    key_attributes = set(_keys(model))
    for index in model_indexes:
        spec = indexes[index.Meta.index_name]
        assert {k["AttributeName"]: k["KeyType"] for k in spec["KeySchema"]} == _keys(index)
        assert spec["KeySchema"][0]["KeyType"] == "HASH"
        assert spec["Projection"]["ProjectionType"] == index.Meta.projection.projection_type
        key_attributes |= set(_keys(index))
        kind = (
            "GlobalSecondaryIndexes"
            if isinstance(index, GlobalSecondaryIndex)
            else "LocalSecondaryIndexes"
        )
        assert spec in props[kind]

    # CloudFormation rejects definitions that no key uses, and keys without a definition.
    definitions = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
    assert set(definitions) == key_attributes
    for name, kind in definitions.items():
        assert kind == _attr_type(model, name)


def test_generation_follows_get_schema() -> None:
    """A second, direct reading of PynamoDB's own schema: nothing lost on the way."""
    for model in MODELS:
        schema = model._get_schema()
        props = template.table_properties(model, template.stage_settings("dev"))
        dump = lambda keys: sorted(json.dumps(k, sort_keys=True) for k in keys)  # noqa: E731
        assert dump(schema["key_schema"]) == dump(props["KeySchema"])
        gsis = {g["index_name"] for g in schema["global_secondary_indexes"]}
        assert gsis == {g["IndexName"] for g in props.get("GlobalSecondaryIndexes", [])}


def test_retained_in_prod_only() -> None:
    prod, dev = template.build("prod"), template.build("dev")
    for logical in _of_type(prod, "AWS::DynamoDB::Table"):
        assert prod["Resources"][logical]["DeletionPolicy"] == "Retain"
        assert prod["Resources"][logical]["Properties"]["DeletionProtectionEnabled"] is True
        assert dev["Resources"][logical]["DeletionPolicy"] == "Delete"


def test_queues_have_dead_letter_queues_and_alarms(built: tuple[str, dict[str, Any]]) -> None:
    stage, doc = built
    resources = doc["Resources"]
    for short, visibility in QUEUES.items():
        queue = resources[template.queue_logical_id(short)]["Properties"]
        dlq_id = template.dlq_logical_id(short)
        assert queue["QueueName"] == f"pulse-{stage}-{short}"
        assert queue["VisibilityTimeout"] == visibility
        assert queue["RedrivePolicy"] == {
            "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
            "maxReceiveCount": 5,
        }
        assert resources[dlq_id]["Properties"]["QueueName"] == f"pulse-{stage}-{short}-dlq"
        alarms = [
            a
            for a in _of_type(doc, "AWS::CloudWatch::Alarm").values()
            if a["Properties"].get("Dimensions", [{}])[0].get("Value")
            == {"Fn::GetAtt": [dlq_id, "QueueName"]}
        ]
        assert len(alarms) == 1


def test_user_pool_client_and_groups(built: tuple[str, dict[str, Any]]) -> None:
    _, doc = built
    pool = doc["Resources"][template.USER_POOL]["Properties"]
    assert pool["UsernameAttributes"] == ["email"]
    (tenant,) = [a for a in pool["Schema"] if a["Name"] == "tenant_id"]
    assert tenant["Mutable"] is False
    client = doc["Resources"][template.USER_POOL_CLIENT]["Properties"]
    assert client["GenerateSecret"] is False
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    groups = {
        g["Properties"]["GroupName"] for g in _of_type(doc, "AWS::Cognito::UserPoolGroup").values()
    }
    assert groups == set(ROLE_GROUPS)


def test_mail_events_reach_sns(built: tuple[str, dict[str, Any]]) -> None:
    _, doc = built
    (destination,) = _of_type(doc, "AWS::SES::ConfigurationSetEventDestination").values()
    event = destination["Properties"]["EventDestination"]
    assert {"bounce", "complaint"} <= set(event["MatchingEventTypes"])
    assert event["SnsDestination"]["TopicARN"] == {"Ref": template.MAIL_EVENTS_TOPIC}


def test_bucket_is_private_and_encrypted(built: tuple[str, dict[str, Any]]) -> None:
    _, doc = built
    bucket = doc["Resources"][template.BUCKET]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert {"POST", "PUT"} <= set(bucket["CorsConfiguration"]["CorsRules"][0]["AllowedMethods"])


def _statements(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    policies = doc["Resources"][template.ROLE]["Properties"]["Policies"]
    return {s["Sid"]: s for p in policies for s in p["PolicyDocument"]["Statement"]}


def test_role_is_least_privilege(built: tuple[str, dict[str, Any]]) -> None:
    _, doc = built
    statements = _statements(doc)
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        assert all(not a.endswith(":*") for a in statement["Action"]), statement
    # Resource "*" only where AWS offers no resource-level permission.
    assert {sid for sid, s in statements.items() if "*" in s["Resource"]} == {
        "Tracing",
        "CheckSender",
    }
    stage, _ = built
    arn = "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/"
    assert statements["Tables"]["Resource"] == [
        {"Fn::Sub": f"{arn}pulse-{stage}-*"},
        {"Fn::Sub": f"{arn}pulse-{stage}-*/index/*"},
    ]
    # The prefix covers every table of the stage, and nothing of another stage.
    for table in _of_type(doc, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["TableName"].startswith(f"pulse-{stage}-")
    assert "dynamodb:Scan" not in statements["Tables"]["Action"]
    assert statements["Queues"]["Resource"] == [
        {"Fn::GetAtt": [template.queue_logical_id(s), "Arn"]} for s in QUEUES
    ]
    assert statements["UserPool"]["Resource"] == [{"Fn::GetAtt": [template.USER_POOL, "Arn"]}]


def test_functions_get_the_deployment_settings(built: tuple[str, dict[str, Any]]) -> None:
    _, doc = built
    variables = doc["Globals"]["Function"]["Environment"]["Variables"]
    for name in (
        "PULSE_USER_POOL_ID",
        "PULSE_USER_POOL_CLIENT_ID",
        "PULSE_MAIL_FROM",
        "PULSE_DOCUMENTS_BUCKET",
        "PULSE_SIGNING_SECRET_ARN",
    ):
        assert name in variables
    assert variables["PULSE_SIGNING_SECRET_ARN"] == {"Ref": template.SIGNING_SECRET}


def test_the_signing_secret_is_never_in_the_environment(
    built: tuple[str, dict[str, Any]],
) -> None:
    """Only the secret's ARN reaches the functions; its value stays in Secrets Manager."""
    _, doc = built
    variables = doc["Globals"]["Function"]["Environment"]["Variables"]
    assert "PULSE_SIGNING_SECRET" not in variables
    assert "resolve:secretsmanager" not in json.dumps(doc)
    statement = _statements(doc)["SigningSecret"]
    assert statement["Action"] == ["secretsmanager:GetSecretValue"]
    assert statement["Resource"] == [{"Ref": template.SIGNING_SECRET}]


def test_chalice_config_agrees_with_the_template() -> None:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    assert config["app_name"] == "pulse"
    assert config["autogen_policy"] is False
    assert config["manage_iam_role"] is False
    for stage in STAGES:
        env = config["stages"][stage]["environment_variables"]
        assert env["PULSE_STAGE"] == stage
        assert env["PULSE_RESOURCE_PREFIX"] == template.stage_settings(stage).resource_prefix
    # chalice.test.Client applies a stage's variables to every request: local and test get none.
    assert "environment_variables" not in config
    for stage in ("local", "test"):
        assert not config["stages"][stage].get("environment_variables")


def _sam(queue: Any, topic: Any = None) -> dict[str, Any]:
    """Chalice's output for one queue handler and one SNS handler, merged with our template."""
    merged = template.build("dev")
    merged["Resources"].update(
        {
            "HandleMail": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Role": "arn:aws:iam::000000000000:role/pulse-role-set-by-package",
                    "Events": {
                        "HandleMailSqsEventSource": {
                            "Type": "SQS",
                            "Properties": {"Queue": queue, "BatchSize": 10},
                        },
                        "Nightly": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 day)"}},
                    },
                },
            },
            "HandleMailLogGroup": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Sub": "/aws/lambda/${Handlemail}"}},
            },
            "SesEvents": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Role": "arn:aws:iam::000000000000:role/pulse-role-set-by-package",
                    "Events": {
                        "SesEventsSnsSubscription": {"Type": "SNS", "Properties": {"Topic": topic}}
                    },
                },
            },
        }
    )
    return merged


def _chalice_arn(service: str, name: str) -> dict[str, str]:
    return {
        "Fn::Sub": f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{name}"
    }


def test_finalize_reports_batch_failures_and_sets_the_role() -> None:
    short = next(iter(QUEUES))
    sam = template.finalize(
        _sam(_chalice_arn("sqs", f"pulse-dev-{short}"), _chalice_arn("sns", "pulse-dev-ses-events"))
    )
    function = sam["Resources"]["HandleMail"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": [template.ROLE, "Arn"]}
    sqs = function["Events"]["HandleMailSqsEventSource"]["Properties"]
    assert sqs["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert sqs["Queue"] == {"Fn::GetAtt": [template.queue_logical_id(short), "Arn"]}
    assert "FunctionResponseTypes" not in function["Events"]["Nightly"]["Properties"]
    log_group = sam["Resources"]["HandleMailLogGroup"]["Properties"]["LogGroupName"]
    assert log_group == {"Fn::Sub": "/aws/lambda/${HandleMail}"}
    sns = sam["Resources"]["SesEvents"]["Properties"]["Events"]["SesEventsSnsSubscription"]
    assert sns["Properties"]["Topic"] == {"Ref": template.MAIL_EVENTS_TOPIC}


def test_finalize_leaves_foreign_queues_but_still_reports_failures() -> None:
    sam = template.finalize(_sam("arn:aws:sqs:us-east-1:123456789012:someone-else"))
    sqs = sam["Resources"]["HandleMail"]["Properties"]["Events"]["HandleMailSqsEventSource"]
    assert sqs["Properties"]["Queue"] == "arn:aws:sqs:us-east-1:123456789012:someone-else"
    assert sqs["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_ses_events_topic_is_the_one_the_app_subscribes_to() -> None:
    from chalicelib.jobs.survey_jobs import ses_events_topic

    topic = template.build("dev")["Resources"][template.MAIL_EVENTS_TOPIC]["Properties"][
        "TopicName"
    ]
    assert topic == ses_events_topic().replace(template.get_settings().resource_prefix, "pulse-dev")


def test_check_merge_catches_a_function_named_like_a_resource() -> None:
    merge = template.build("dev")
    clash = template.queue_logical_id(next(iter(QUEUES)))
    sam = json.loads(json.dumps(merge))
    template.check_merge(merge, sam)  # no clash: nothing raised
    sam["Resources"][clash]["Properties"]["Runtime"] = "python3.11"  # what the deep merge makes
    with pytest.raises(ValueError, match=clash):
        template.check_merge(merge, sam)


def _resolved(value: Any, doc: dict[str, Any]) -> Any:
    """Intrinsics replaced by strings as long as the ARNs they become (for a size estimate)."""
    import re

    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical = value["Fn::GetAtt"][0]
        props = doc["Resources"][logical]["Properties"]
        name = (
            props.get("TableName") or props.get("QueueName") or props.get("UserPoolName") or logical
        )
        return f"arn:aws:service:ap-southeast-2:123456789012:resource/{name}-0123456789ab"
    if isinstance(value, dict) and "Fn::Sub" in value:
        return re.sub(r"\$\{[^}]+\}", "x" * 60, value["Fn::Sub"])
    if isinstance(value, dict):
        return {k: _resolved(v, doc) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, doc) for v in value]
    return value


def test_role_policy_fits_iams_inline_limit() -> None:
    """IAM allows 10,240 characters of inline policy per role; every table adds two ARNs."""
    doc = template.build("prod")
    policies = _resolved(doc["Resources"][template.ROLE]["Properties"]["Policies"], doc)
    size = sum(len(json.dumps(p["PolicyDocument"], separators=(",", ":"))) for p in policies)
    assert size < 10_240 * 0.9, f"{size} characters: switch Tables to a name-prefix ARN"


def test_a_web_acl_limits_each_source_ip_on_the_public_paths(
    built: tuple[str, dict[str, Any]],
) -> None:
    _, doc = built
    ((acl_id, acl),) = _of_type(doc, "AWS::WAFv2::WebACL").items()
    props = acl["Properties"]
    assert props["Scope"] == "REGIONAL" and props["DefaultAction"] == {"Allow": {}}
    rules = {r["Name"]: r for r in props["Rules"]}
    rate = rules["public-paths-per-ip"]
    assert rate["Action"] == {"Block": {}}
    statement = rate["Statement"]["RateBasedStatement"]
    assert statement["AggregateKeyType"] == "IP"
    assert statement["Limit"] == 300 and statement["EvaluationWindowSec"] == 300
    paths = {
        s["ByteMatchStatement"]["SearchString"]
        for s in statement["ScopeDownStatement"]["OrStatement"]["Statements"]
    }
    assert paths == {"/r/", "/unsubscribe/", "/signup", "/auth/"}
    common = rules["aws-common-rule-set"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["Name"] == "AWSManagedRulesCommonRuleSet"
    # Bodies up to the app's own limit pass: the rule set's 8 KB body rule only counts.
    assert {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}} in common[
        "RuleActionOverrides"
    ]
    # Associated with the API stage Chalice's SAM template creates, once there is one.
    assert not _of_type(doc, "AWS::WAFv2::WebACLAssociation")
    sam = template.build("dev")
    sam["Resources"][template.REST_API] = {
        "Type": "AWS::Serverless::Api",
        "Properties": {"StageName": "api"},
    }
    (association,) = _of_type(template.finalize(sam), "AWS::WAFv2::WebACLAssociation").values()
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    arn = association["Properties"]["ResourceArn"]["Fn::Sub"]
    assert arn.endswith("::/restapis/${RestAPI}/stages/${RestAPI.Stage}")


def test_bulk_send_throttle_is_a_backstop_not_the_tenant_limit() -> None:
    """Fairness between tenants is the app's per-tenant limit; the gateway's throttle on the
    bulk routes must let several tenants send at once."""
    assert template.BULK_SEND_THROTTLE["ThrottlingRateLimit"] >= 10
    routes = {path for path, _ in template.BULK_SEND_ROUTES}
    assert "/contacts/{contact_id}/heartbeat" in routes


# ------------------------------------------------- the API's own answers, failures and tracing


def _with_api(doc: dict[str, Any]) -> dict[str, Any]:
    """The merge template plus the REST API Chalice's SAM template adds (its swagger body)."""
    doc["Resources"][template.REST_API] = {
        "Type": "AWS::Serverless::Api",
        "Properties": {
            "StageName": "api",
            "DefinitionBody": {"swagger": "2.0", "paths": {"/health": {"get": {}}}},
        },
    }
    return doc


def test_gateway_answers_unknown_routes_and_its_own_errors_in_the_error_shape() -> None:
    sam = template.finalize(_with_api(template.build("dev")))
    api = sam["Resources"][template.REST_API]
    responses = api["Properties"]["DefinitionBody"]["x-amazon-apigateway-gateway-responses"]
    assert set(responses) == {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"}
    missing = responses["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    assert json.loads(missing["responseTemplates"]["application/json"]) == {
        "error": {"code": "not_found", "message": "no such route"}
    }
    for kind, code in (("DEFAULT_4XX", "bad_request"), ("DEFAULT_5XX", "internal_error")):
        body = responses[kind]["responseTemplates"]["application/json"]
        # API Gateway substitutes its message as a quoted string: the body stays valid JSON.
        filled = body.replace("$context.error.messageString", json.dumps("Limit Exceeded"))
        assert json.loads(filled) == {"error": {"code": code, "message": "Limit Exceeded"}}
        assert "statusCode" not in responses[kind]  # 403, 413, 429, 504 … stay the gateway's
    for response in responses.values():
        headers = response["responseParameters"]
        # The stack's WebOrigin, quoted as API Gateway wants a static header value.
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == {
            "Fn::Sub": "'${WebOrigin}'"
        }
        assert "Authorization" in headers["gatewayresponse.header.Access-Control-Allow-Headers"]


def test_a_known_path_with_another_method_answers_405_on_the_gateway() -> None:
    """API Gateway answers an undeclared method as an unknown route; each path's ANY method
    answers 405 with Allow instead, as the local gateway does."""
    doc = _with_api(template.build("dev"))
    paths = doc["Resources"][template.REST_API]["Properties"]["DefinitionBody"]["paths"]
    paths["/accounts/{account_id}"] = {"get": {}, "patch": {}, "delete": {}}
    sam = template.finalize(doc)
    body = sam["Resources"][template.REST_API]["Properties"]["DefinitionBody"]
    for path, allowed in (("/health", "GET"), ("/accounts/{account_id}", "GET,DELETE,PATCH")):
        item = body["paths"][path]
        anything = item["x-amazon-apigateway-any-method"]
        integration = anything["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock"
        answer = integration["responses"]["default"]
        assert answer["statusCode"] == "405"
        assert answer["responseParameters"] == {"method.response.header.Allow": f"'{allowed}'"}
        assert json.loads(answer["responseTemplates"]["application/json"]) == {
            "error": {"code": "method_not_allowed", "message": "method not allowed"}
        }
        assert "Allow" in anything["responses"]["405"]["headers"]
        assert "get" in item  # the declared methods stay as they were


def test_the_api_is_traced_and_access_logged_to_a_retained_log_group() -> None:
    sam = template.finalize(_with_api(template.build("dev")))
    api = sam["Resources"][template.REST_API]
    props = api["Properties"]
    assert props["TracingEnabled"] is True
    logs = props["AccessLogSetting"]
    assert logs["DestinationArn"] == {"Fn::GetAtt": [template.API_ACCESS_LOGS, "Arn"]}
    fields = json.loads(logs["Format"])
    assert {"requestId", "ip", "status", "resourcePath"} <= set(fields)
    assert "$context.path" not in fields.values()  # survey tokens travel in the path
    group = sam["Resources"][template.API_ACCESS_LOGS]["Properties"]
    assert group["RetentionInDays"] == 30
    assert group["LogGroupName"] == "/aws/apigateway/pulse-dev-access"
    # Access logs need the regional API Gateway setting first; the stage waits for it.
    assert template.API_GATEWAY_ACCOUNT in api["DependsOn"]
    account = sam["Resources"][template.API_GATEWAY_ACCOUNT]
    assert account["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": [template.API_GATEWAY_LOGS_ROLE, "Arn"]
    }
    assert sam["Resources"][template.API_GATEWAY_LOGS_ROLE]["DeletionPolicy"] == "Retain"


def test_every_function_is_traced_by_the_runtime_and_may_write_traces(
    built: tuple[str, dict[str, Any]],
) -> None:
    _, doc = built
    assert doc["Globals"]["Function"]["Tracing"] == "Active"
    assert set(_statements(doc)["Tracing"]["Action"]) == {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }


def test_async_functions_send_exhausted_events_to_an_alarmed_failure_queue() -> None:
    sam = _sam(
        _chalice_arn("sqs", f"pulse-dev-{next(iter(QUEUES))}"),
        _chalice_arn("sns", "pulse-dev-ses-events"),
    )
    sam["Resources"]["ApiHandler"] = {"Type": "AWS::Serverless::Function", "Properties": {}}
    template.finalize(sam)
    resources = sam["Resources"]
    queue = resources[template.FAILURE_QUEUE]["Properties"]
    assert queue["QueueName"] == "pulse-dev-async-failures"
    assert queue["SqsManagedSseEnabled"] is True
    configs = {
        c["Properties"]["FunctionName"]["Ref"]: c["Properties"]
        for c in _of_type(sam, "AWS::Lambda::EventInvokeConfig").values()
    }
    # The scheduled handler and the SNS handler; neither the API nor a pure queue consumer.
    assert set(configs) == {"HandleMail", "SesEvents"}
    for config in configs.values():
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
            "Fn::GetAtt": [template.FAILURE_QUEUE, "Arn"]
        }
        assert config["MaximumRetryAttempts"] == 2
        assert 600 < config["MaximumEventAgeInSeconds"] <= 6 * 3600
    # Lambda delivers the failure record with the function's own role.
    statement = _statements(sam)["AsyncFailures"]
    assert statement["Action"] == ["sqs:SendMessage"]
    assert statement["Resource"] == [{"Fn::GetAtt": [template.FAILURE_QUEUE, "Arn"]}]
    (alarm,) = [
        a["Properties"]
        for a in _of_type(sam, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Dimensions", [{}])[0].get("Value")
        == {"Fn::GetAtt": [template.FAILURE_QUEUE, "QueueName"]}
    ]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["AlarmActions"] == [{"Ref": template.ALARM_TOPIC}]
    assert resources["SesEvents"]["Properties"]["ReservedConcurrentExecutions"] == 2


def test_topics_are_encrypted_with_a_key_their_publishers_may_use(
    built: tuple[str, dict[str, Any]],
) -> None:
    """SES and CloudWatch alarms cannot publish to a topic under alias/aws/sns: the topics use
    the stack's own key, whose policy lets exactly those services encrypt."""
    _, doc = built
    for topic in _of_type(doc, "AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": template.TOPIC_KEY}
    key = doc["Resources"][template.TOPIC_KEY]["Properties"]
    assert key["EnableKeyRotation"] is True
    services = {
        s["Principal"]["Service"]
        for s in key["KeyPolicy"]["Statement"]
        if "Service" in s.get("Principal", {})
    }
    assert services == {"ses.amazonaws.com", "cloudwatch.amazonaws.com"}


def test_the_web_acl_blocks_known_bad_inputs(built: tuple[str, dict[str, Any]]) -> None:
    _, doc = built
    ((_, acl),) = _of_type(doc, "AWS::WAFv2::WebACL").items()
    names = {
        r["Statement"].get("ManagedRuleGroupStatement", {}).get("Name")
        for r in acl["Properties"]["Rules"]
    }
    assert "AWSManagedRulesKnownBadInputsRuleSet" in names
    priorities = [r["Priority"] for r in acl["Properties"]["Rules"]]
    assert len(set(priorities)) == len(priorities)


def test_every_kept_checkov_finding_has_a_reason() -> None:
    sam = template.finalize(_with_api(_sam(_chalice_arn("sqs", "pulse-dev-mail"))))
    skipped = 0
    for logical, resource in sam["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV_"), logical
            assert len(skip["comment"]) > 40, (logical, skip)
            skipped += 1
    assert skipped
    # The functions' environment carries no secret, so its skip is true.
    variables = sam["Globals"]["Function"]["Environment"]["Variables"]
    assert not [k for k in variables if k.endswith(("SECRET", "PASSWORD", "KEY"))]
