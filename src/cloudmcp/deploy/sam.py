"""template.yaml: the Lambda side as an AWS SAM application.

One image function behind an HTTP API and/or a REST API (routes for /mcp and the health and
readiness paths), an optional Function URL, a `live` alias released by CodeDeploy as a canary
that rolls back on the alarms defined here. Long forms (`{"Ref": ...}`) are used throughout so
the file is plain YAML that any parser reads.
"""

from __future__ import annotations

from typing import Any

from cloudmcp.deploy import yaml_text
from cloudmcp.deploy.config import DeployConfig
from cloudmcp.deploy.environments import all_environments
from cloudmcp.deploy.names import (
    LAMBDA_ALIAS,
    LAMBDA_ENTRYPOINT,
    LAMBDA_HANDLER,
    MCP_PATH,
    secret_env_name,
)

# API Gateway stops waiting for an integration after 30 s; a longer Lambda timeout only helps
# the Function URL.
API_GATEWAY_TIMEOUT = 30
CORS_METHODS = ["GET", "POST", "DELETE", "OPTIONS"]
CORS_HEADERS = [
    "authorization",
    "content-type",
    "last-event-id",
    "mcp-protocol-version",
    "mcp-session-id",
]
CORS_EXPOSE = ["mcp-protocol-version", "mcp-session-id"]


def _ref(name: str) -> dict[str, Any]:
    return {"Ref": name}


def _sub(text: str) -> dict[str, Any]:
    return {"Fn::Sub": text}


def _checkov_skips(*skips: tuple[str, str]) -> dict[str, Any]:
    return {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}


def secret_ids(config: DeployConfig) -> dict[str, str]:
    """Environment variable name -> secret id, REDIS_URL included when Redis is configured."""
    pairs = dict(config.secrets)
    if config.redis is not None:
        pairs["REDIS_URL"] = config.redis.secret
    return dict(sorted(pairs.items()))


def _mapping_keys(config: DeployConfig) -> dict[str, str]:
    """Environment variable -> its key in Mappings, which allows only letters and digits."""
    names: dict[str, str] = {}
    for key in sorted({key for env in all_environments(config) for key in env.env_vars}):
        name = "Env" + "".join(part.capitalize() for part in key.split("_"))
        while name in names.values():
            name += "X"
        names[key] = name
    return names


def _mappings(config: DeployConfig) -> dict[str, Any]:
    settings: dict[str, dict[str, Any]] = {}
    keys = _mapping_keys(config)
    for env in all_environments(config):
        row: dict[str, Any] = {"MemorySize": env.memory_mib}
        # A key set only in some environments is empty in the others (settings read "" as unset).
        row.update({name: env.env_vars.get(key, "") for key, name in keys.items()})
        settings[env.name] = row
    return {"Environments": settings}


def _function(config: DeployConfig, alarm_names: list[str]) -> dict[str, Any]:
    assert config.aws is not None  # nosec B101 - for mypy: validated when the config loads
    aws = config.aws
    variables: dict[str, Any] = {
        key: {"Fn::FindInMap": ["Environments", _ref("Stage"), name]}
        for key, name in _mapping_keys(config).items()
    }
    variables["CLOUDMCP_APP"] = config.service.app
    # Only secret ids are passed; the handler reads the values from Secrets Manager at cold start.
    for name, secret in secret_ids(config).items():
        variables[secret_env_name(name)] = secret
    events: dict[str, Any] = {}
    routes = [
        ("Mcp", MCP_PATH, "ANY"),
        ("Health", config.service.health_path, "GET"),
        ("Ready", config.service.ready_path, "GET"),
    ]
    if aws.api in ("http", "both"):
        for name, path, method in routes:
            events[f"Http{name}"] = {
                "Type": "HttpApi",
                "Properties": {
                    "ApiId": _ref("McpHttpApi"),
                    "Path": path,
                    "Method": method,
                    "TimeoutInMillis": API_GATEWAY_TIMEOUT * 1000,
                },
            }
    if aws.api in ("rest", "both"):
        for name, path, method in routes:
            events[f"Rest{name}"] = {
                "Type": "Api",
                "Properties": {"RestApiId": _ref("McpRestApi"), "Path": path, "Method": method},
            }
    properties: dict[str, Any] = {
        "FunctionName": _sub(f"{config.service.name}-${{Stage}}"),
        "PackageType": "Image",
        "ImageUri": _ref("ImageUri"),
        "ImageConfig": {
            "EntryPoint": LAMBDA_ENTRYPOINT,
            "Command": [LAMBDA_HANDLER],
            "WorkingDirectory": "/app",
        },
        "Architectures": ["x86_64"],
        "MemorySize": {"Fn::FindInMap": ["Environments", _ref("Stage"), "MemorySize"]},
        "Timeout": min(config.resources.timeout, 900),
        "ReservedConcurrentExecutions": aws.reserved_concurrency,
        "Tracing": "Active",
        "LoggingConfig": {"LogGroup": _ref("FunctionLogGroup"), "LogFormat": "JSON"},
        "Environment": {"Variables": variables},
        "AutoPublishAlias": LAMBDA_ALIAS,
        "DeploymentPreference": {
            "Type": aws.canary,
            "Alarms": [_ref(name) for name in alarm_names],
        },
        "Events": events,
    }
    policies: list[Any] = []
    if secret_ids(config):
        policies.append(
            {
                "Statement": [
                    {
                        "Sid": "ReadOwnSecrets",
                        "Effect": "Allow",
                        "Action": ["secretsmanager:GetSecretValue"],
                        # Secrets Manager appends six random characters to every secret's ARN.
                        "Resource": [
                            _sub(
                                "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:"
                                f"${{AWS::AccountId}}:secret:{secret}-??????"
                            )
                            for secret in secret_ids(config).values()
                        ],
                    }
                ]
            }
        )
    if policies:
        properties["Policies"] = policies
    if config.redis is not None:
        properties["VpcConfig"] = {
            "SubnetIds": config.redis.aws_subnet_ids,
            "SecurityGroupIds": config.redis.aws_security_group_ids,
        }
    if aws.function_url != "off":
        url: dict[str, Any] = {"AuthType": aws.function_url, "InvokeMode": "BUFFERED"}
        if config.cors.allowed_origins:
            url["Cors"] = {
                "AllowOrigins": config.cors.allowed_origins,
                "AllowMethods": ["GET", "POST", "DELETE"],
                "AllowHeaders": CORS_HEADERS,
                "ExposeHeaders": CORS_EXPOSE,
            }
        properties["FunctionUrlConfig"] = url
    skips = [
        ("CKV_AWS_116", "invoked synchronously by API Gateway; a DLQ only serves async events"),
        ("CKV_AWS_173", "variables hold no secrets (only secret ids); AWS-managed key at rest"),
    ]
    if config.redis is None:
        skips.append(
            ("CKV_AWS_117", "no VPC resources to reach without Redis; VPC adds cold start")
        )
    return {
        "Type": "AWS::Serverless::Function",
        "Metadata": _checkov_skips(*skips),
        "Properties": properties,
    }


def _alarm(description: str, metric: str, threshold: float, **extra: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "AlarmDescription": description,
        "Namespace": "AWS/Lambda",
        "MetricName": metric,
        "Dimensions": [
            {"Name": "FunctionName", "Value": _ref("McpFunction")},
            {"Name": "Resource", "Value": _sub(f"${{McpFunction}}:{LAMBDA_ALIAS}")},
        ],
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": threshold,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [_ref("AlarmTopic")],
        "OKActions": [_ref("AlarmTopic")],
    }
    properties.update(extra)
    if "ExtendedStatistic" not in properties:
        properties["Statistic"] = "Sum"
    return {"Type": "AWS::CloudWatch::Alarm", "Properties": properties}


def _http_api(config: DeployConfig) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "StageName": "$default",
        "AccessLogSettings": {
            "DestinationArn": {"Fn::GetAtt": ["ApiLogGroup", "Arn"]},
            "Format": (
                '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                '"method":"$context.httpMethod","path":"$context.path",'
                '"status":"$context.status","latency":"$context.integrationLatency"}'
            ),
        },
        "DefaultRouteSettings": {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100},
    }
    if config.cors.allowed_origins:
        properties["CorsConfiguration"] = {
            "AllowOrigins": config.cors.allowed_origins,
            "AllowMethods": CORS_METHODS,
            "AllowHeaders": CORS_HEADERS,
            "ExposeHeaders": CORS_EXPOSE,
            "MaxAge": 600,
        }
    return {
        "Type": "AWS::Serverless::HttpApi",
        "Metadata": _checkov_skips(
            ("CKV_AWS_309", "MCP clients authenticate to the server itself (OAuth or API keys)"),
        ),
        "Properties": properties,
    }


def _rest_api(config: DeployConfig) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "StageName": _ref("Stage"),
        "EndpointConfiguration": {"Type": "REGIONAL"},
        "TracingEnabled": True,
        "AccessLogSetting": {
            "DestinationArn": {"Fn::GetAtt": ["ApiLogGroup", "Arn"]},
            "Format": (
                '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",'
                '"method":"$context.httpMethod","path":"$context.path","status":"$context.status"}'
            ),
        },
        "MethodSettings": [
            {
                "ResourcePath": "/*",
                "HttpMethod": "*",
                "MetricsEnabled": True,
                "ThrottlingBurstLimit": 200,
                "ThrottlingRateLimit": 100,
            }
        ],
    }
    if config.cors.allowed_origins:
        properties["Cors"] = {
            "AllowOrigin": "'" + ",".join(config.cors.allowed_origins) + "'",
            "AllowMethods": "'" + ",".join(CORS_METHODS) + "'",
            "AllowHeaders": "'" + ",".join(CORS_HEADERS) + "'",
        }
    return {
        "Type": "AWS::Serverless::Api",
        "Metadata": _checkov_skips(
            ("CKV_AWS_59", "MCP clients authenticate to the server itself (OAuth or API keys)"),
            ("CKV_AWS_120", "MCP responses are per-session and per-caller; caching is wrong"),
        ),
        "Properties": properties,
    }


def build_template(config: DeployConfig, default_environment: str) -> dict[str, Any]:
    if config.aws is None:
        raise ValueError("the SAM template needs [aws]")
    aws = config.aws
    thresholds = config.alarms
    alarms = {
        "ErrorsAlarm": _alarm(
            "Lambda errors on the live alias; rolls back a canary.",
            "Errors",
            thresholds.lambda_errors,
        ),
        "ThrottlesAlarm": _alarm(
            "Lambda throttles on the live alias; rolls back a canary.",
            "Throttles",
            thresholds.lambda_throttles,
        ),
        "DurationP90Alarm": _alarm(
            "p90 duration of the live alias above the latency objective.",
            "Duration",
            thresholds.latency_p90_ms,
            ExtendedStatistic="p90",
            EvaluationPeriods=3,
            DatapointsToAlarm=2,
        ),
    }
    resources: dict[str, Any] = {
        "McpFunction": _function(config, list(alarms)),
        "FunctionLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Metadata": _checkov_skips(
                ("CKV_AWS_158", "CloudWatch Logs encrypts at rest with its own key; no CMK kept"),
            ),
            "Properties": {
                "LogGroupName": _sub(f"/aws/lambda/{config.service.name}-${{Stage}}"),
                "RetentionInDays": aws.log_retention_days,
            },
        },
        "AlarmTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": _sub(f"{config.service.name}-${{Stage}}-alarms"),
                "KmsMasterKeyId": "alias/aws/sns",
            },
        },
        **alarms,
    }
    if thresholds.email:
        resources["AlarmEmail"] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": _ref("AlarmTopic"),
                "Protocol": "email",
                "Endpoint": thresholds.email,
            },
        }
    outputs: dict[str, Any] = {
        "FunctionArn": {"Value": {"Fn::GetAtt": ["McpFunction", "Arn"]}},
        "LiveAliasArn": {"Value": _ref(f"McpFunctionAlias{LAMBDA_ALIAS}")},
        "AlarmTopicArn": {"Value": _ref("AlarmTopic")},
    }
    if True:  # every api choice logs access
        resources["ApiLogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Metadata": _checkov_skips(
                ("CKV_AWS_158", "CloudWatch Logs encrypts at rest with its own key; no CMK kept"),
            ),
            "Properties": {
                "LogGroupName": _sub(f"/aws/apigateway/{config.service.name}-${{Stage}}"),
                "RetentionInDays": aws.log_retention_days,
            },
        }
    if aws.api in ("http", "both"):
        resources["McpHttpApi"] = _http_api(config)
        outputs["HttpApiMcpUrl"] = {
            "Value": _sub(
                f"https://${{McpHttpApi}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}{MCP_PATH}"
            )
        }
    if aws.api in ("rest", "both"):
        resources["McpRestApi"] = _rest_api(config)
        outputs["RestApiMcpUrl"] = {
            "Value": _sub(
                "https://${McpRestApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
                f"${{Stage}}{MCP_PATH}"
            )
        }
    if aws.function_url != "off":
        outputs["FunctionUrl"] = {"Value": {"Fn::GetAtt": ["McpFunctionUrl", "FunctionUrl"]}}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": f"{config.service.name}: MCP server on AWS Lambda (rendered by cloudmcp)",
        "Parameters": {
            "Stage": {
                "Type": "String",
                "AllowedValues": list(config.environments),
                "Default": default_environment,
                "Description": "Deployment environment; selects settings from Mappings.",
            },
            "ImageUri": {
                "Type": "String",
                "Description": "ECR image URI (same image as Cloud Run), tagged with the commit.",
            },
        },
        "Mappings": _mappings(config),
        "Resources": resources,
        "Outputs": outputs,
    }


def render_sam(config: DeployConfig, default_environment: str) -> str:
    header = (
        "Rendered by `cloudmcp deploy render`; change the config, not this file.\n"
        "sam deploy --parameter-overrides Stage=<environment> ImageUri=<ecr image:commit>"
    )
    return yaml_text.dump(build_template(config, default_environment), header=header)
