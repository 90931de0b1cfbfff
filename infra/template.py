"""The CloudFormation that Chalice cannot express, merged into ``chalice package``'s SAM template.

Generated, never hand-written, from the same definitions the app and the local stack use:

- every DynamoDB table from the PynamoDB models in ``chalicelib.store.registry.MODELS``;
- every SQS queue (and its dead-letter queue and depth alarm) from ``chalicelib.queues.QUEUES``;
- the Cognito user pool, app client and role groups (the groups of ``pulse_local.stack``);
- the SES configuration set with bounce/complaint events to SNS, the documents bucket, the
  signing secret, and one least-privilege IAM role for the functions;
- a regional WAF web ACL on the API stage (per-IP rate limit on the public paths, AWS's common
  and known-bad-inputs rule sets);
- the async-failures queue (Lambda's on-failure destination) and its alarm, the topics' KMS key,
  and the API's access log group with the API Gateway account setting it needs.

``chalice package --merge-template`` deep-merges this into its own template. Two things can only be
done on the result, because they depend on which functions exist: :func:`finalize` points every
function at the role defined here and adds ``ReportBatchItemFailures`` to every SQS event.

    python -m infra.template --stage dev --output dist/merge.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from pynamodb.attributes import TTLAttribute
from pynamodb.models import Model

from chalicelib.queues import ASYNC_FAILURES, QUEUES
from chalicelib.settings import Settings, get_settings, load_settings
from chalicelib.store.registry import MODELS
from pulse_local.gateway import gateway_responses
from pulse_local.stack import POOL_NAME, ROLE_GROUPS

Json = dict[str, Any]

ROLE = "PulseFunctionRole"
USER_POOL = "UserPool"
USER_POOL_CLIENT = "UserPoolClient"
BUCKET = "DocumentsBucket"
SIGNING_SECRET = "SigningSecret"  # noqa: S105 (a logical id, not a secret)
CONFIG_SET = "MailConfigurationSet"
MAIL_EVENTS_TOPIC = "MailEventsTopic"
ALARM_TOPIC = "OpsAlarmTopic"
# Encrypts both topics. A customer-managed key because SES and CloudWatch alarms cannot publish
# to a topic under the AWS-managed alias/aws/sns (its key policy admits no service principal).
TOPIC_KEY = "KeyTopics"
# Lambda's on-failure destination for asynchronous invocations (schedules, SNS): a job whose
# retries are exhausted lands here, alarmed, and `pulse jobs replay-dlq async-failures` replays it.
FAILURE_QUEUE_SHORT = ASYNC_FAILURES
FAILURE_QUEUE = "QueueAsyncFailures"
ASYNC_MAX_RETRY_ATTEMPTS = 2
# Long enough for a delivery throttled by a schedule's reserved concurrency of 1 to wait out the
# run before it (10 minutes at most), short enough that a night's job does not run at noon.
ASYNC_MAX_EVENT_AGE_SECONDS = 3 * 3600
# The SNS handler's reserved concurrency: a burst of bounces waits in Lambda's own queue.
SNS_RESERVED_CONCURRENCY = 2
# API Gateway access logs (JSON, one line per request) and the account setting they need.
API_ACCESS_LOGS = "LogGroupApiAccess"
API_GATEWAY_ACCOUNT = "ApiGatewayAccount"
API_GATEWAY_LOGS_ROLE = "RoleApiGatewayLogs"
LOG_RETENTION_DAYS = 30
API_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "errorType": "$context.error.responseType",
    "wafStatus": "$context.waf.status",
    "xrayTraceId": "$context.xrayTraceId",
}

# Data the deployment must not lose when the stack is deleted or a resource replaced.
RETAINED_STAGES = frozenset({"prod"})
DLQ_MAX_RECEIVE_COUNT = 5

# API Gateway stage throttling (requests per second, burst). The stage limit is shared by every
# tenant, so fairness between tenants is the app's: bulk sends are limited per tenant and minute
# and mail per tenant and day (chalicelib/services/send_limits.py). The gateway's own limit on
# the routes that fan out mail is only a backstop, well above what one tenant may use.
API_THROTTLE = {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100}
BULK_SEND_THROTTLE = {"ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 20}
BULK_SEND_ROUTES = (
    ("/reviews/{review_id}/send", "POST"),
    ("/reviews/{review_id}/resend", "POST"),
    ("/heartbeats/{heartbeat_id}/approve", "POST"),
    ("/contacts/{contact_id}/heartbeat", "POST"),
)
# WAF in front of the API stage: requests per source IP and 5 minutes on the paths anyone can
# call without a token (survey links, unsubscribe, sign-up, sign-in), then AWS's common rule set.
WEB_ACL = "ApiWebAcl"
# Chalice's SAM output: the REST API and its stage (a SAM referenceable property).
REST_API = "RestAPI"
PUBLIC_PATHS = ("/r/", "/unsubscribe/", "/signup", "/auth/")
WAF_PUBLIC_RATE_LIMIT = 300
WAF_RATE_WINDOW_SECONDS = 300
# How many concurrent Lambdas each queue may drive (the event source's MaximumConcurrency; no
# reserved concurrency there: throttled SQS invocations would count as receives and
# dead-letter healthy messages). The mail queue is bounded by SES's sending rate.
QUEUE_MAX_CONCURRENCY = {"mail": 5}
QUEUE_DEFAULT_MAX_CONCURRENCY = 2
# Scheduled jobs run one at a time: a second delivery of the same event waits (EventBridge
# retries a throttled asynchronous invocation) instead of running the job twice at once.
SCHEDULE_RESERVED_CONCURRENCY = 1
# SES reviews an account at a 5 % bounce rate and a 0.1 % complaint rate; alarm earlier.
SES_REPUTATION_ALARMS = {"Reputation.BounceRate": 0.04, "Reputation.ComplaintRate": 0.0008}
SQS_RESPONSE_TYPES = ["ReportBatchItemFailures"]

# Cognito: the same pool the local stack creates (pulse_local.stack.provision_cognito).
PASSWORD_POLICY = {
    "MinimumLength": 8,
    "RequireUppercase": False,
    "RequireLowercase": False,
    "RequireNumbers": False,
    "RequireSymbols": False,
}
TENANT_ATTRIBUTE = {
    "Name": "tenant_id",
    "AttributeDataType": "String",
    "Mutable": False,
    "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"},
}

# Every DynamoDB action the store performs. No Scan: request paths and jobs query partitions.
DYNAMODB_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
]
COGNITO_ACTIONS = [
    "cognito-idp:AdminAddUserToGroup",
    "cognito-idp:AdminCreateUser",
    "cognito-idp:AdminDeleteUser",
    "cognito-idp:AdminDisableUser",
    "cognito-idp:AdminEnableUser",
    "cognito-idp:AdminGetUser",
    "cognito-idp:AdminListGroupsForUser",
    "cognito-idp:AdminRemoveUserFromGroup",
    "cognito-idp:AdminSetUserPassword",
    "cognito-idp:AdminUpdateUserAttributes",
    "cognito-idp:AdminUserGlobalSignOut",
    "cognito-idp:ListUsers",
]
SQS_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
]
TENANT_SECRET_ACTIONS = [
    "secretsmanager:CreateSecret",
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
]


def stage_settings(stage: str) -> Settings:
    """The settings a deployed stage runs with (names derive from the stage alone)."""
    return load_settings({"PULSE_STAGE": stage})


def camel(short: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[-_]+", short) if part)


def table_short_name(model: type[Model]) -> str:
    """``pulse-test-accounts`` -> ``accounts``: model names carry the importing process's prefix."""
    prefix = get_settings().resource_prefix + "-"
    name = str(model.Meta.table_name)
    if not name.startswith(prefix):
        raise ValueError(f"{model.__name__}: table {name!r} lacks the prefix {prefix!r}")
    return name[len(prefix) :]


# Logical ids lead with the kind (``QueueScore``), never end with it: Chalice names a function's
# resources after the function (``score_queue`` -> ``ScoreQueue``), and the deep merge would
# silently fuse two resources of the same id. check_merge() catches any collision left.
def table_logical_id(model: type[Model]) -> str:
    return "Table" + camel(table_short_name(model))


def queue_logical_id(short: str) -> str:
    return "Queue" + camel(short)


def dlq_logical_id(short: str) -> str:
    return "DeadLetterQueue" + camel(short)


def _hash_first(key_schema: list[Json]) -> list[Json]:
    """DynamoDB wants HASH before RANGE; PynamoDB lists them in attribute order."""
    return sorted(
        ({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in key_schema),
        key=lambda k: k["KeyType"] != "HASH",
    )


def table_properties(model: type[Model], settings: Settings) -> Json:
    """AWS::DynamoDB::Table properties from the model's own schema."""
    schema: Json = dict(model._get_schema())
    attributes: dict[str, str] = {}
    for definition in schema["attribute_definitions"]:
        attributes[definition["AttributeName"]] = definition["AttributeType"]
    props: Json = {
        "TableName": settings.table_name(table_short_name(model)),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _hash_first(schema["key_schema"]),
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    for kind, prop in (
        ("global_secondary_indexes", "GlobalSecondaryIndexes"),
        ("local_secondary_indexes", "LocalSecondaryIndexes"),
    ):
        indexes = []
        for index in schema.get(kind) or []:
            for definition in index.get("attribute_definitions", []):
                attributes[definition["AttributeName"]] = definition["AttributeType"]
            indexes.append(
                {
                    "IndexName": index["index_name"],
                    "KeySchema": _hash_first(index["key_schema"]),
                    "Projection": dict(index["projection"]),
                }
            )
        if indexes:
            props[prop] = sorted(indexes, key=lambda i: i["IndexName"])
    props["AttributeDefinitions"] = [
        {"AttributeName": name, "AttributeType": kind} for name, kind in sorted(attributes.items())
    ]
    ttl = [
        attr.attr_name for attr in model.get_attributes().values() if isinstance(attr, TTLAttribute)
    ]
    if ttl:
        props["TimeToLiveSpecification"] = {"AttributeName": ttl[0], "Enabled": True}
    if settings.stage in RETAINED_STAGES:
        props["DeletionProtectionEnabled"] = True
    return props


def _retention(stage: str) -> Json:
    policy = "Retain" if stage in RETAINED_STAGES else "Delete"
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def _sub(text: str) -> Json:
    return {"Fn::Sub": text}


def _arn(logical_id: str) -> Json:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def tables(settings: Settings) -> Json:
    return {
        table_logical_id(model): {
            "Type": "AWS::DynamoDB::Table",
            **_retention(settings.stage),
            "Properties": table_properties(model, settings),
        }
        for model in MODELS
    }


def queues(settings: Settings) -> Json:
    resources: Json = {}
    for short, visibility in QUEUES.items():
        queue, dlq = queue_logical_id(short), dlq_logical_id(short)
        resources[dlq] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": settings.queue_name(short) + "-dlq",
                "MessageRetentionPeriod": 14 * 24 * 3600,
                "SqsManagedSseEnabled": True,
            },
        }
        resources[queue] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": settings.queue_name(short),
                "VisibilityTimeout": visibility,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": _arn(dlq),
                    "maxReceiveCount": DLQ_MAX_RECEIVE_COUNT,
                },
            },
        }
        resources["DeadLetterAlarm" + camel(short)] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"Messages in the {short} dead-letter queue: they failed "
                f"{DLQ_MAX_RECEIVE_COUNT} times and need a look (and a redrive).",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": ALARM_TOPIC}],
                "OKActions": [{"Ref": ALARM_TOPIC}],
            },
        }
    return resources


def cognito(settings: Settings) -> Json:
    pool: Json = {
        "Type": "AWS::Cognito::UserPool",
        **_retention(settings.stage),
        "Properties": {
            "UserPoolName": f"{settings.resource_prefix}-{POOL_NAME}",
            "UsernameAttributes": ["email"],
            "UsernameConfiguration": {"CaseSensitive": False},
            "AutoVerifiedAttributes": ["email"],
            "Schema": [TENANT_ATTRIBUTE],
            "Policies": {"PasswordPolicy": {**PASSWORD_POLICY, "TemporaryPasswordValidityDays": 7}},
            # Sign-up and invitations go through the app (AdminCreateUser), never the pool.
            "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            "AccountRecoverySetting": {
                "RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]
            },
            "DeletionProtection": "ACTIVE" if settings.stage in RETAINED_STAGES else "INACTIVE",
        },
    }
    client: Json = {
        "Type": "AWS::Cognito::UserPoolClient",
        "Properties": {
            "ClientName": "pulse-api",
            "UserPoolId": {"Ref": USER_POOL},
            "GenerateSecret": False,
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            "ReadAttributes": ["email", "custom:tenant_id"],
            "WriteAttributes": ["email"],
            "PreventUserExistenceErrors": "ENABLED",
            "EnableTokenRevocation": True,
            "IdTokenValidity": 60,
            "AccessTokenValidity": 60,
            "RefreshTokenValidity": 30,
            "TokenValidityUnits": {
                "IdToken": "minutes",
                "AccessToken": "minutes",
                "RefreshToken": "days",
            },
        },
    }
    resources: Json = {USER_POOL: pool, USER_POOL_CLIENT: client}
    for group in ROLE_GROUPS:
        resources["Group" + camel(group)] = {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {
                "GroupName": group,
                "UserPoolId": {"Ref": USER_POOL},
                "Description": f"Pulse role {group}",
            },
        }
    return resources


def mail(settings: Settings) -> Json:
    return {
        CONFIG_SET: {
            "Type": "AWS::SES::ConfigurationSet",
            "Properties": {
                "Name": f"{settings.resource_prefix}-mail",
                "ReputationOptions": {"ReputationMetricsEnabled": True},
                "SendingOptions": {"SendingEnabled": True},
            },
        },
        MAIL_EVENTS_TOPIC: {
            "Type": "AWS::SNS::Topic",
            # The name chalicelib.jobs.survey_jobs.ses_events_topic() subscribes to.
            "Properties": {
                "TopicName": f"{settings.resource_prefix}-ses-events",
                "KmsMasterKeyId": {"Ref": TOPIC_KEY},
            },
        },
        "MailEventsTopicPolicy": {
            "Type": "AWS::SNS::TopicPolicy",
            "Properties": {
                "Topics": [{"Ref": MAIL_EVENTS_TOPIC}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "SesPublishesMailEvents",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": {"Ref": MAIL_EVENTS_TOPIC},
                            "Condition": {
                                "StringEquals": {"AWS:SourceAccount": {"Ref": "AWS::AccountId"}}
                            },
                        }
                    ],
                },
            },
        },
        "MailBounceComplaintDestination": {
            "Type": "AWS::SES::ConfigurationSetEventDestination",
            "DependsOn": "MailEventsTopicPolicy",
            "Properties": {
                "ConfigurationSetName": {"Ref": CONFIG_SET},
                "EventDestination": {
                    "Name": "bounces-and-complaints",
                    "Enabled": True,
                    "MatchingEventTypes": ["bounce", "complaint", "reject"],
                    "SnsDestination": {"TopicARN": {"Ref": MAIL_EVENTS_TOPIC}},
                },
            },
        },
    }


def storage(settings: Settings) -> Json:
    return {
        BUCKET: {
            "Type": "AWS::S3::Bucket",
            **_retention(settings.stage),
            "Properties": {
                # No BucketName: bucket names are global, CloudFormation picks a unique one and
                # the functions receive it as PULSE_DOCUMENTS_BUCKET.
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                    ]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {
                    "Rules": [
                        {
                            "Id": "tidy-uploads",
                            "Status": "Enabled",
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                        }
                    ]
                },
                # Browsers upload straight to the bucket with presigned POST (or PUT) requests.
                "CorsConfiguration": {
                    "CorsRules": [
                        {
                            "AllowedMethods": ["POST", "PUT", "GET", "HEAD"],
                            "AllowedOrigins": [{"Ref": "WebOrigin"}],
                            "AllowedHeaders": ["*"],
                            "ExposedHeaders": ["ETag"],
                            "MaxAge": 3000,
                        }
                    ]
                },
            },
        },
        "DocumentsBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": BUCKET},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "TlsOnly",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [_arn(BUCKET), _sub("${DocumentsBucket.Arn}/*")],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
            },
        },
        SIGNING_SECRET: {
            "Type": "AWS::SecretsManager::Secret",
            **_retention(settings.stage),
            "Properties": {
                "Name": f"{settings.resource_prefix}/signing-secret",
                "Description": "Signs pagination cursors and survey links "
                "(read by the functions from PULSE_SIGNING_SECRET_ARN).",
                "GenerateSecretString": {"PasswordLength": 64, "ExcludePunctuation": True},
            },
        },
    }


def _statement(sid: str, actions: list[str], resources: list[Any]) -> Json:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def role(settings: Settings) -> Json:
    prefix = settings.resource_prefix
    # Every table of the stage by its name prefix, not table by table: an inline role policy may
    # hold 10,240 characters, and two ARNs per table would pass that at about 40 tables.
    table = (
        f"arn:${{AWS::Partition}}:dynamodb:${{AWS::Region}}:${{AWS::AccountId}}:table/{prefix}-*"
    )
    table_arns: list[Any] = [_sub(table), _sub(table + "/index/*")]
    statements = [
        _statement(
            "Logs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [
                _sub(
                    "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:/aws/lambda/*"
                )
            ],
        ),
        _statement("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
        _statement("Tables", DYNAMODB_ACTIONS, table_arns),
        _statement("Queues", SQS_ACTIONS, [_arn(queue_logical_id(s)) for s in QUEUES]),
        # Lambda delivers an asynchronous invocation's failure record with the function's role.
        _statement("AsyncFailures", ["sqs:SendMessage"], [_arn(FAILURE_QUEUE)]),
        _statement("UserPool", COGNITO_ACTIONS, [_arn(USER_POOL)]),
        # Tenants send from their own verified addresses, so any identity of this account and
        # region; the configuration set is allowed so that mail can name it.
        _statement(
            "SendMail",
            ["ses:SendRawEmail", "ses:SendEmail"],
            [
                _sub("arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/*"),
                _sub(
                    "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}"
                    ":configuration-set/${MailConfigurationSet}"
                ),
            ],
        ),
        # Tenants' sender identities (verify, read status, delete): SES offers no resource-level
        # permission for these; ownership is checked by the app (services/sender_identities.py).
        _statement(
            "CheckSender",
            [
                "ses:DeleteIdentity",
                "ses:GetIdentityDkimAttributes",
                "ses:GetIdentityVerificationAttributes",
                "ses:VerifyDomainDkim",
                "ses:VerifyEmailIdentity",
            ],
            ["*"],
        ),
        _statement(
            "TenantSmtpSecrets",
            TENANT_SECRET_ACTIONS,
            [
                _sub(
                    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
                    f":secret:{prefix}/tenants/*"
                )
            ],
        ),
        _statement("SigningSecret", ["secretsmanager:GetSecretValue"], [{"Ref": SIGNING_SECRET}]),
        _statement(
            "Documents",
            ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            [_sub("${DocumentsBucket.Arn}/*")],
        ),
        # Listing a review's prefix (its files are deleted with the account) and a 404 rather
        # than a 403 when a confirmed upload has not arrived.
        _statement("DocumentsList", ["s3:ListBucket"], [_sub("${DocumentsBucket.Arn}")]),
    ]
    return {
        ROLE: {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "Description": f"Pulse {settings.stage}: every function of the app",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "Policies": [
                    {
                        "PolicyName": "pulse-least-privilege",
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                    }
                ],
            },
        }
    }


def function_environment() -> Json:
    """Given to every function (SAM Globals merge it with Chalice's per-stage variables)."""
    return {
        "PULSE_USER_POOL_ID": {"Ref": USER_POOL},
        "PULSE_USER_POOL_CLIENT_ID": {"Ref": USER_POOL_CLIENT},
        "PULSE_MAIL_FROM": {"Ref": "MailFrom"},
        "PULSE_PUBLIC_URL": {
            "Fn::If": ["HasPublicUrl", {"Ref": "PublicUrl"}, {"Ref": "AWS::NoValue"}]
        },
        "PULSE_DOCUMENTS_BUCKET": {"Ref": BUCKET},
        "PULSE_SES_CONFIGURATION_SET": {"Ref": CONFIG_SET},
        # The secret's ARN, never its value: the functions read it at cold start (GetSecretValue
        # on this one secret), so it shows in no Lambda configuration or template.
        "PULSE_SIGNING_SECRET_ARN": {"Ref": SIGNING_SECRET},
    }


PARAMETERS: Json = {
    "MailFrom": {
        "Type": "String",
        "Description": "Sender of Pulse's own mail; the address or its domain must be verified in SES.",
        "AllowedPattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    },
    "PublicUrl": {
        "Type": "String",
        "Default": "",
        "Description": "Public base URL of the API (links in mail). Empty: set it after the first deploy.",
    },
    "WebOrigin": {
        "Type": "String",
        "Default": "*",
        "Description": "Origin allowed to upload documents with presigned POST/PUT requests (CORS).",
    },
    "AlarmEmail": {
        "Type": "String",
        "Default": "",
        "Description": "Address subscribed to operational alarms (dead-letter queues). Empty: none.",
    },
}


def _visibility(name: str) -> Json:
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": name,
    }


def _path_match(path: str) -> Json:
    # CONTAINS: the path API Gateway shows WAF carries the stage name on the execute-api host
    # (/api/r/…) and not on a custom domain (/r/…).
    return {
        "ByteMatchStatement": {
            "SearchString": path,
            "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}],
            "PositionalConstraint": "CONTAINS",
        }
    }


def waf(settings: Settings) -> Json:
    """A regional web ACL on the API stage: a rate-based rule per source IP on the public paths
    and AWS's common rule set (body size counted only: the app takes bodies up to 256 KB)."""
    prefix = settings.resource_prefix
    rules = [
        {
            "Name": "public-paths-per-ip",
            "Priority": 0,
            "Action": {"Block": {}},
            "Statement": {
                "RateBasedStatement": {
                    "Limit": WAF_PUBLIC_RATE_LIMIT,
                    "EvaluationWindowSec": WAF_RATE_WINDOW_SECONDS,
                    "AggregateKeyType": "IP",
                    "ScopeDownStatement": {
                        "OrStatement": {"Statements": [_path_match(p) for p in PUBLIC_PATHS]}
                    },
                }
            },
            "VisibilityConfig": _visibility(f"{prefix}-public-paths-per-ip"),
        },
        {
            "Name": "aws-common-rule-set",
            "Priority": 1,
            "OverrideAction": {"None": {}},
            "Statement": {
                "ManagedRuleGroupStatement": {
                    "VendorName": "AWS",
                    "Name": "AWSManagedRulesCommonRuleSet",
                    "RuleActionOverrides": [
                        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
                    ],
                }
            },
            "VisibilityConfig": _visibility(f"{prefix}-aws-common-rule-set"),
        },
        {
            # Request patterns of known exploits (Log4j's JNDI lookups among them).
            "Name": "aws-known-bad-inputs",
            "Priority": 2,
            "OverrideAction": {"None": {}},
            "Statement": {
                "ManagedRuleGroupStatement": {
                    "VendorName": "AWS",
                    "Name": "AWSManagedRulesKnownBadInputsRuleSet",
                }
            },
            "VisibilityConfig": _visibility(f"{prefix}-aws-known-bad-inputs"),
        },
    ]
    return {
        WEB_ACL: {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Name": f"{prefix}-api",
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "Rules": rules,
                "VisibilityConfig": _visibility(f"{prefix}-api"),
            },
        },
    }


def topic_key(settings: Settings) -> Json:
    """The key both topics are encrypted with: the account administers it, SES (for this
    account) and CloudWatch alarms may encrypt with it when they publish."""
    return {
        TOPIC_KEY: {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": f"Pulse {settings.stage}: the mail-events and alarm topics",
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "SesPublishes",
                            "Effect": "Allow",
                            "Principal": {"Service": "ses.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
                            },
                        },
                        {
                            "Sid": "AlarmsPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                        },
                    ],
                },
            },
        }
    }


def async_failures(settings: Settings) -> Json:
    """The on-failure destination of every asynchronously invoked function, and its alarm."""
    return {
        FAILURE_QUEUE: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": settings.queue_name(FAILURE_QUEUE_SHORT),
                "MessageRetentionPeriod": 14 * 24 * 3600,
                "SqsManagedSseEnabled": True,
            },
        },
        "AlarmAsyncFailures": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": "A scheduled job or SNS handler failed after its retries: the "
                "event is in the async-failures queue (pulse jobs replay-dlq async-failures).",
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [
                    {"Name": "QueueName", "Value": {"Fn::GetAtt": [FAILURE_QUEUE, "QueueName"]}}
                ],
                "Statistic": "Maximum",
                "Period": 300,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": ALARM_TOPIC}],
                "OKActions": [{"Ref": ALARM_TOPIC}],
            },
        },
    }


def api_logging(settings: Settings) -> Json:
    """The API's access log group, and the regional API Gateway setting access logs need (a role
    API Gateway writes logs with). The setting is one per account and region: the role is
    retained with a deleted stack, so another stage's stack keeps logging."""
    return {
        API_ACCESS_LOGS: {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/aws/apigateway/{settings.resource_prefix}-access",
                "RetentionInDays": LOG_RETENTION_DAYS,
            },
        },
        API_GATEWAY_LOGS_ROLE: {
            "Type": "AWS::IAM::Role",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "Description": "API Gateway writes the API's access logs to CloudWatch Logs",
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "apigateway.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
                "ManagedPolicyArns": [
                    _sub(
                        "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                        "AmazonAPIGatewayPushToCloudWatchLogs"
                    )
                ],
            },
        },
        API_GATEWAY_ACCOUNT: {
            "Type": "AWS::ApiGateway::Account",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"CloudWatchRoleArn": _arn(API_GATEWAY_LOGS_ROLE)},
        },
    }


def build(stage: str) -> Json:
    """The merge template for one stage."""
    settings = stage_settings(stage)
    resources: Json = {}
    for part in (
        tables,
        queues,
        async_failures,
        cognito,
        mail,
        topic_key,
        storage,
        role,
        waf,
        api_logging,
    ):
        resources.update(part(settings))
    resources[ALARM_TOPIC] = {
        "Type": "AWS::SNS::Topic",
        "Properties": {
            "TopicName": f"{settings.resource_prefix}-alarms",
            "KmsMasterKeyId": {"Ref": TOPIC_KEY},
        },
    }
    for metric, threshold in SES_REPUTATION_ALARMS.items():
        resources["SesAlarm" + metric.split(".", 1)[1]] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmDescription": f"SES {metric} above {threshold:.2%}: stop bulk sends and "
                "look at the suppressed contacts before SES pauses the account.",
                "Namespace": "AWS/SES",
                "MetricName": metric,
                "Statistic": "Maximum",
                "Period": 3600,
                "EvaluationPeriods": 1,
                "Threshold": threshold,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": ALARM_TOPIC}],
            },
        }
    resources["OpsAlarmSubscription"] = {
        "Type": "AWS::SNS::Subscription",
        "Condition": "HasAlarmEmail",
        "Properties": {
            "TopicArn": {"Ref": ALARM_TOPIC},
            "Protocol": "email",
            "Endpoint": {"Ref": "AlarmEmail"},
        },
    }
    outputs: Json = {
        "UserPoolId": {"Value": {"Ref": USER_POOL}},
        "UserPoolClientId": {"Value": {"Ref": USER_POOL_CLIENT}},
        "DocumentsBucketName": {"Value": {"Ref": BUCKET}},
        "MailConfigurationSetName": {"Value": {"Ref": CONFIG_SET}},
        "MailEventsTopicArn": {"Value": {"Ref": MAIL_EVENTS_TOPIC}},
        "AlarmTopicArn": {"Value": {"Ref": ALARM_TOPIC}},
    }
    for short in QUEUES:
        outputs[queue_logical_id(short) + "Url"] = {"Value": {"Ref": queue_logical_id(short)}}
    outputs[FAILURE_QUEUE + "Url"] = {"Value": {"Ref": FAILURE_QUEUE}}
    return {
        "Description": f"Pulse ({stage}): API, jobs and queue handlers with their AWS resources",
        "Parameters": PARAMETERS,
        "Conditions": {
            "HasPublicUrl": {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicUrl"}, ""]}]},
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
        },
        "Globals": {
            "Function": {
                # X-Ray by the Lambda runtime itself (the role may put trace segments).
                "Tracing": "Active",
                "Environment": {"Variables": function_environment()},
            }
        },
        "Resources": resources,
        "Outputs": outputs,
    }


def _named(sam: Json, kind: str, name_property: str) -> dict[str, str]:
    """{physical name: logical id} of the template's resources of one kind with a literal name."""
    return {
        str(res["Properties"][name_property]): logical
        for logical, res in sam.get("Resources", {}).items()
        if res.get("Type") == kind and isinstance(res.get("Properties", {}).get(name_property), str)
    }


def _named_in_arn(arn: Any, names: dict[str, str]) -> str | None:
    """Which of our resources an ARN Chalice wrote (an ``Fn::Sub`` string) points at."""
    text = arn.get("Fn::Sub", "") if isinstance(arn, dict) else arn
    if not isinstance(text, str):
        return None
    for name, logical in names.items():
        if text.endswith(":" + name):
            return logical
    return None


def finalize(sam: Json) -> Json:
    """Post-process ``chalice package``'s merged SAM template in place (and return it).

    - every function runs as :data:`ROLE` (Chalice only knows a placeholder ARN);
    - the web ACL is associated with the API's stage;
    - every SQS event gets ``FunctionResponseTypes: [ReportBatchItemFailures]`` (Chalice never
      sets it, and without it a returned ``batchItemFailures`` deletes the failed messages too);
    - an SQS or SNS event on one of our queues or topics references the resource, so
      CloudFormation creates it before the event source mapping or subscription;
    - a log group Chalice names after the wrong logical id (``${ApiHandler}`` for the function
      ``APIHandler`` with ``log_retention_in_days``, aws/chalice#2079) names the function;
    - the API answers routing misses and its own errors in Pulse's error shape, is traced and
      access-logged;
    - every asynchronously invoked function sends exhausted events to the async-failures queue;
    - the checkov findings the design keeps are skipped in each resource's Metadata, with why.
    """
    _fix_log_groups(sam)
    _throttle_api(sam)
    _protect_api(sam)
    _observe_api(sam)
    _skip_findings(sam)
    _async_failures(sam)
    queues = _named(sam, "AWS::SQS::Queue", "QueueName")
    topics = _named(sam, "AWS::SNS::Topic", "TopicName")
    for resource in sam.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        if not isinstance(props.get("Role"), dict):
            props["Role"] = _arn(ROLE)
        for event in (props.get("Events") or {}).values():
            event_props = event.setdefault("Properties", {})
            if event.get("Type") == "SQS":
                event_props["FunctionResponseTypes"] = list(SQS_RESPONSE_TYPES)
                logical = _named_in_arn(event_props.get("Queue"), queues)
                if logical is not None:
                    event_props["Queue"] = _arn(logical)
                short = _queue_short_name(event_props.get("Queue"))
                event_props["ScalingConfig"] = {
                    "MaximumConcurrency": QUEUE_MAX_CONCURRENCY.get(
                        short or "", QUEUE_DEFAULT_MAX_CONCURRENCY
                    )
                }
            elif event.get("Type") == "Schedule":
                props["ReservedConcurrentExecutions"] = SCHEDULE_RESERVED_CONCURRENCY
            elif event.get("Type") == "SNS":
                props["ReservedConcurrentExecutions"] = SNS_RESERVED_CONCURRENCY
                logical = _named_in_arn(event_props.get("Topic"), topics)
                if logical is not None:
                    event_props["Topic"] = {"Ref": logical}
    return sam


# Asynchronous event sources: Lambda queues the event and retries, then sends it on-failure.
ASYNC_EVENT_TYPES = frozenset({"Schedule", "SNS", "EventBridgeRule", "CloudWatchEvent"})


def _event_types(function: Json) -> set[str]:
    return {str(e.get("Type")) for e in (function["Properties"].get("Events") or {}).values()}


def async_functions(sam: Json) -> list[str]:
    """Logical ids of the functions some event source invokes asynchronously."""
    return sorted(
        logical
        for logical, res in sam.get("Resources", {}).items()
        if res.get("Type") == "AWS::Serverless::Function" and _event_types(res) & ASYNC_EVENT_TYPES
    )


def _async_failures(sam: Json) -> None:
    """Retries, event age and the on-failure destination of every asynchronous function."""
    resources = sam.get("Resources", {})
    if FAILURE_QUEUE not in resources:
        return
    for logical in async_functions(sam):
        resources["AsyncInvokeConfig" + logical] = {
            "Type": "AWS::Lambda::EventInvokeConfig",
            "Properties": {
                "FunctionName": {"Ref": logical},
                "Qualifier": "$LATEST",
                "MaximumRetryAttempts": ASYNC_MAX_RETRY_ATTEMPTS,
                "MaximumEventAgeInSeconds": ASYNC_MAX_EVENT_AGE_SECONDS,
                "DestinationConfig": {"OnFailure": {"Destination": _arn(FAILURE_QUEUE)}},
            },
        }


def _observe_api(sam: Json) -> None:
    """On Chalice's API: the gateway's own answers in Pulse's error shape (in the definition,
    so each deployment carries them), X-Ray, and JSON access logs once the account allows."""
    api = sam.get("Resources", {}).get(REST_API)
    if not api or api.get("Type") != "AWS::Serverless::Api":
        return
    props = api.setdefault("Properties", {})
    body = props.get("DefinitionBody")
    if isinstance(body, dict):
        body["x-amazon-apigateway-gateway-responses"] = swagger_gateway_responses(
            _sub("'${WebOrigin}'")
        )
        add_method_not_allowed(body)
    props["TracingEnabled"] = True
    if API_ACCESS_LOGS in sam["Resources"]:
        props["AccessLogSetting"] = {
            "DestinationArn": _arn(API_ACCESS_LOGS),
            "Format": json.dumps(API_ACCESS_LOG_FORMAT, separators=(",", ":")),
        }
        depends = api.get("DependsOn", [])
        depends = [depends] if isinstance(depends, str) else list(depends)
        api["DependsOn"] = sorted({*depends, API_GATEWAY_ACCOUNT})


HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


def add_method_not_allowed(body: Json) -> None:
    """A known path called with a method it does not serve: API Gateway would answer it as an
    unknown route (404). Each path gets an ``ANY`` method with a MOCK integration answering 405
    ``method_not_allowed`` with ``Allow``, as the local gateway does; declared methods still
    win, since API Gateway matches a path's own methods before ``ANY``."""
    for item in (body.get("paths") or {}).values():
        if not isinstance(item, dict) or "x-amazon-apigateway-any-method" in item:
            continue
        allowed = ",".join(m.upper() for m in HTTP_METHODS if m in item)
        if not allowed:
            continue
        error = {"error": {"code": "method_not_allowed", "message": "method not allowed"}}
        item["x-amazon-apigateway-any-method"] = {
            "responses": {
                "405": {
                    "description": "method not allowed",
                    "headers": {"Allow": {"type": "string"}},
                }
            },
            "x-amazon-apigateway-integration": {
                "type": "mock",
                "requestTemplates": {"application/json": '{"statusCode": 405}'},
                "passthroughBehavior": "when_no_templates",
                "responses": {
                    "default": {
                        "statusCode": "405",
                        "responseParameters": {
                            "method.response.header.Allow": f"'{allowed}'",
                        },
                        "responseTemplates": {
                            "application/json": json.dumps(error, separators=(",", ":"))
                        },
                    }
                },
            },
        }


def swagger_gateway_responses(origin: Any) -> Json:
    """``x-amazon-apigateway-gateway-responses``: the same answers as
    :func:`pulse_local.gateway.gateway_responses` (which the local gateway gives)."""
    out: Json = {}
    for resource in gateway_responses({"Ref": REST_API}, origin).values():
        props = resource["Properties"]
        entry: Json = {
            "responseParameters": props["ResponseParameters"],
            "responseTemplates": props["ResponseTemplates"],
        }
        if "StatusCode" in props:
            entry["statusCode"] = props["StatusCode"]
        out[props["ResponseType"]] = entry
    return out


# checkov findings this design does not fix, and why (resource Metadata, so every skip shows in
# the template beside the resource it concerns).
SKIP_REASONS = {
    "CKV_AWS_27": "Encrypted with SSE-SQS (SqsManagedSseEnabled); the check only recognises "
    "KmsMasterKeyId.",
    "CKV_AWS_119": "Encrypted at rest with the AWS-managed DynamoDB key (SSEEnabled); a "
    "customer-managed key is a per-deployment choice with its own cost and key administration.",
    "CKV_AWS_149": "Encrypted with the AWS-managed Secrets Manager key; only the functions' role "
    "may read this one secret.",
    "CKV_AWS_158": "CloudWatch Logs encrypts log data at rest; the logs hold no secret or token "
    "(access logs name the route template, never the path with its survey token).",
    "CKV_AWS_18": "Server access logs would need a second bucket per stage; object access is in "
    "CloudTrail data events where an account enables them.",
    "CKV_AWS_120": "Answers are per tenant and per token: a gateway cache could serve one "
    "tenant's data to another.",
    "CKV_AWS_117": "No VPC by design: the functions call only AWS APIs (DynamoDB, SQS, SES, "
    "Cognito, S3, Secrets Manager) over TLS with IAM; a VPC adds NAT cost for no private resource.",
    "CKV_AWS_173": "The environment holds names and ARNs only (the signing secret's ARN, never "
    "its value); Lambda encrypts it at rest with its AWS-managed key.",
}
FUNCTION_SKIPS = {
    "SQS": {
        "CKV_AWS_116": "Queue consumer: a failing message goes to its queue's dead-letter queue "
        "(redrive policy), not to a function DLQ.",
        "CKV_AWS_115": "Bounded by the event source's MaximumConcurrency: reserved concurrency on "
        "a queue consumer throttles receives and dead-letters healthy messages.",
    },
    "async": {
        "CKV_AWS_116": "Asynchronous invocations have an on-failure destination (an "
        "AWS::Lambda::EventInvokeConfig to the async-failures queue), which supersedes a DLQ.",
    },
    "sync": {
        "CKV_AWS_116": "Invoked synchronously by API Gateway: the caller receives the error; a "
        "DLQ only applies to asynchronous invocations.",
        "CKV_AWS_115": "Bounded by the API stage's throttle and the web ACL; reserved concurrency "
        "would take capacity out of the account's pool.",
    },
}


def _skip(resource: Json, checks: dict[str, str]) -> None:
    skips = resource.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault("skip", [])
    known = {s.get("id") for s in skips}
    skips.extend({"id": i, "comment": c} for i, c in checks.items() if i not in known)


def _skip_findings(sam: Json) -> None:
    """Record in each resource's Metadata the checkov findings it keeps, with their reason."""
    kinds = {
        "AWS::SQS::Queue": ("CKV_AWS_27",),
        "AWS::DynamoDB::Table": ("CKV_AWS_119",),
        "AWS::SecretsManager::Secret": ("CKV_AWS_149",),
        "AWS::Logs::LogGroup": ("CKV_AWS_158",),
        "AWS::S3::Bucket": ("CKV_AWS_18",),
        "AWS::Serverless::Api": ("CKV_AWS_120",),
        "AWS::Serverless::Function": ("CKV_AWS_117", "CKV_AWS_173"),
    }
    for resource in sam.get("Resources", {}).values():
        kind = resource.get("Type")
        if kind not in kinds:
            continue
        _skip(resource, {i: SKIP_REASONS[i] for i in kinds[kind]})
        if kind == "AWS::Serverless::Function":
            types = _event_types(resource)
            source = "SQS" if "SQS" in types else "async" if types & ASYNC_EVENT_TYPES else "sync"
            _skip(resource, FUNCTION_SKIPS[source])


def _queue_short_name(queue: Any) -> str | None:
    """Our queue's short name from an event's ``Fn::GetAtt`` reference, else None."""
    target = queue.get("Fn::GetAtt", [None])[0] if isinstance(queue, dict) else None
    for short in QUEUES:
        if target == queue_logical_id(short):
            return short
    return None


def _method_path(route: str) -> str:
    """API Gateway's MethodSettings path: "/" inside the path written "~1"."""
    return "/" + route.lstrip("/").replace("/", "~1")


WEB_ACL_ASSOCIATION = "ApiWebAclAssociation"


def _protect_api(sam: Json) -> None:
    """Associate the web ACL with Chalice's API stage (only Chalice's template has the API)."""
    resources = sam.get("Resources", {})
    if (
        resources.get(REST_API, {}).get("Type") != "AWS::Serverless::Api"
        or WEB_ACL not in resources
    ):
        return
    resources[WEB_ACL_ASSOCIATION] = {
        "Type": "AWS::WAFv2::WebACLAssociation",
        "Properties": {
            # ${RestAPI.Stage} is the stage SAM creates, so the association waits for it.
            "ResourceArn": _sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/"
                f"${{{REST_API}}}/stages/${{{REST_API}.Stage}}"
            ),
            "WebACLArn": _arn(WEB_ACL),
        },
    }


def _throttle_api(sam: Json) -> None:
    """Stage throttling on every API, stricter on the routes that send mail in bulk."""
    for resource in sam.get("Resources", {}).values():
        if resource.get("Type") != "AWS::Serverless::Api":
            continue
        settings = [{"ResourcePath": "/*", "HttpMethod": "*", **API_THROTTLE}]
        settings += [
            {"ResourcePath": _method_path(route), "HttpMethod": method, **BULK_SEND_THROTTLE}
            for route, method in BULK_SEND_ROUTES
        ]
        resource.setdefault("Properties", {})["MethodSettings"] = settings


def check_merge(merge: Json, sam: Json) -> None:
    """Fail when a resource of the merge template shares its logical id with one of Chalice's:
    the deep merge would have fused them into one invalid resource."""
    clashes = []
    for logical, ours in merge.get("Resources", {}).items():
        merged = sam.get("Resources", {}).get(logical, {})
        extra = set(merged.get("Properties", {})) - set(ours.get("Properties", {}))
        if merged.get("Type") != ours.get("Type") or extra:
            clashes.append(f"{logical} (Chalice adds {sorted(extra)})")
    if clashes:
        raise ValueError(
            "logical ids used by both infra/template.py and Chalice (rename the function or the "
            "resource): " + ", ".join(clashes)
        )


def _fix_log_groups(sam: Json) -> None:
    resources = sam.get("Resources", {})
    functions = {
        name.lower(): name
        for name, res in resources.items()
        if res.get("Type") == "AWS::Serverless::Function"
    }
    for resource in resources.values():
        if resource.get("Type") != "AWS::Logs::LogGroup":
            continue
        name = resource.get("Properties", {}).get("LogGroupName")
        if not isinstance(name, dict) or not isinstance(name.get("Fn::Sub"), str):
            continue
        match = re.fullmatch(r"/aws/lambda/\$\{([A-Za-z0-9]+)\}", name["Fn::Sub"])
        if match and match.group(1) not in resources and match.group(1).lower() in functions:
            name["Fn::Sub"] = f"/aws/lambda/${{{functions[match.group(1).lower()]}}}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the template merged into chalice package.")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--output", type=Path, help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    text = json.dumps(build(args.stage), indent=2) + "\n"
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
