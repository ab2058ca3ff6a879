"""template.yaml: the Lambda side as an AWS SAM application (rendered only when SAM deploys it).

One image function behind an HTTP API and/or a REST API (routes for /mcp and the health and
readiness paths), an optional Function URL, a `live` alias released by CodeDeploy as a canary:
a PreTraffic hook probes the new version first, and alarms on that version roll it back.
Long forms (`{"Ref": ...}`) are used throughout so the file is plain YAML that any parser reads.
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
    environment_secret_id,
    secret_bases,
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


def _secret_arn(base: str) -> dict[str, Any]:
    # Secrets Manager appends six random characters to every secret's ARN.
    return _sub(
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
        + environment_secret_id(base, "${Stage}")
        + "-??????"
    )


# The PreTraffic hook: invokes the new version with an MCP `server/discover` request, as API
# Gateway would, and tells CodeDeploy whether it answered. Inline, so it needs no package.
HOOK_CODE = """\
import json, os
import boto3

lambda_client = boto3.client("lambda")
codedeploy = boto3.client("codedeploy")


def credential():
    secret = os.environ.get("API_KEYS_SECRET_ID")
    if not secret:
        return {}
    value = boto3.client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"]
    key = value.replace("\\n", ",").split(",")[0].strip().split(":")[0]
    return {"authorization": "Bearer " + key}


def probe():
    region = os.environ["AWS_REGION"]
    message = {"jsonrpc": "2.0", "id": 1, "method": "server/discover", "params": {"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "codedeploy-pretraffic", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}}}}
    headers = {"host": "pretraffic.execute-api." + region + ".amazonaws.com",
               "content-type": "application/json",
               "accept": "application/json, text/event-stream",
               "mcp-protocol-version": "2026-07-28", "mcp-method": "server/discover",
               **credential()}
    event = {"version": "2.0", "routeKey": "ANY @MCP", "rawPath": "@MCP", "rawQueryString": "",
             "headers": headers, "isBase64Encoded": False, "body": json.dumps(message),
             "requestContext": {"http": {"method": "POST", "path": "@MCP",
                                         "sourceIp": "127.0.0.1", "protocol": "HTTP/1.1"},
                                "domainName": headers["host"], "requestId": "pretraffic",
                                "stage": "$default"}}
    answer = lambda_client.invoke(FunctionName=os.environ["NEW_VERSION"],
                                  Payload=json.dumps(event).encode())
    response = json.loads(answer["Payload"].read())
    body = str(response.get("body", ""))
    print(json.dumps({"status": response.get("statusCode"), "body": body[:500]}))
    return response.get("statusCode") == 200 and "2026-07-28" in body


def handler(event, context):
    status = "Failed"
    try:
        status = "Succeeded" if probe() else "Failed"
    finally:
        codedeploy.put_lifecycle_event_hook_execution_status(
            deploymentId=event["DeploymentId"],
            lifecycleEventHookExecutionId=event["LifecycleEventHookExecutionId"],
            status=status)
""".replace("@MCP", MCP_PATH)


def _pre_traffic_hook(config: DeployConfig) -> dict[str, Any]:
    variables: dict[str, Any] = {"NEW_VERSION": _ref("McpFunction.Version")}
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Action": ["codedeploy:PutLifecycleEventHookExecutionStatus"],
            "Resource": _sub(
                "arn:${AWS::Partition}:codedeploy:${AWS::Region}:${AWS::AccountId}:"
                "deploymentgroup:${ServerlessDeploymentApplication}/*"
            ),
        },
        {
            "Effect": "Allow",
            "Action": ["lambda:InvokeFunction"],
            "Resource": _ref("McpFunction.Version"),
        },
    ]
    if "API_KEYS" in config.secrets:
        variables["API_KEYS_SECRET_ID"] = _secret_sub(config.secrets["API_KEYS"])
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["secretsmanager:GetSecretValue"],
                "Resource": _secret_arn(config.secrets["API_KEYS"]),
            }
        )
    return {
        "Type": "AWS::Serverless::Function",
        "Metadata": _checkov_skips(
            ("CKV_AWS_116", "called synchronously by CodeDeploy once per deployment; no DLQ"),
            ("CKV_AWS_117", "reaches only AWS APIs (Lambda, CodeDeploy); a VPC adds nothing"),
            ("CKV_AWS_115", "runs once per deployment; reserving concurrency would waste it"),
            ("CKV_AWS_173", "variables hold a version ARN and a secret id, nothing secret"),
        ),
        "Properties": {
            # SAM's CodeDeploy role may invoke only functions named CodeDeployHook_*.
            "FunctionName": _sub(f"CodeDeployHook_{config.service.name}-${{Stage}}-pretraffic"),
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "InlineCode": HOOK_CODE,
            "Timeout": 60,
            "MemorySize": 256,
            "Tracing": "Active",
            "Environment": {"Variables": variables},
            "Policies": [{"Statement": statements}],
            "DeploymentPreference": {"Enabled": False},
        },
    }


def _secret_sub(base: str) -> dict[str, Any]:
    """The environment's own secret id: `<id>-<Stage>` (names.environment_secret_id)."""
    return _sub(environment_secret_id(base, "${Stage}"))


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
    for name, secret in secret_bases(config).items():
        variables[secret_env_name(name)] = _secret_sub(secret)
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
        "Tracing": "Active",
        # Logs go to /aws/lambda/<function>, which FunctionLogGroup creates with its retention.
        "LoggingConfig": {"LogFormat": "JSON"},
        "Environment": {"Variables": variables},
        "AutoPublishAlias": LAMBDA_ALIAS,
        "DeploymentPreference": {
            "Type": aws.canary,
            "Alarms": [_ref(name) for name in alarm_names],
            # The new version answers an MCP request before it gets any traffic.
            "Hooks": {"PreTraffic": _ref("PreTrafficHook")},
        },
        "Events": events,
    }
    policies: list[Any] = []
    if secret_bases(config):
        policies.append(
            {
                "Statement": [
                    {
                        "Sid": "ReadOwnSecrets",
                        "Effect": "Allow",
                        "Action": ["secretsmanager:GetSecretValue"],
                        # Secrets Manager appends six random characters to every secret's ARN.
                        "Resource": [
                            _secret_arn(secret) for secret in secret_bases(config).values()
                        ],
                    }
                ]
            }
        )
    if policies:
        properties["Policies"] = policies
    if aws.reserved_concurrency is not None:
        properties["ReservedConcurrentExecutions"] = aws.reserved_concurrency
    if config.redis is not None and config.redis.managed:
        # The network Terraform made beside ElastiCache, from SSM (aws_redis.tf).
        properties["VpcConfig"] = {
            "SubnetIds": _ref("VpcSubnetIds"),
            "SecurityGroupIds": [_ref("VpcSecurityGroupId")],
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
    if aws.reserved_concurrency is None:
        skips.append(
            ("CKV_AWS_115", "aws.reserved_concurrency unset: the account's unreserved pool")
        )
    if config.redis is None or not config.redis.managed:
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
        # The version being deployed, not the whole alias: the old version's errors during a
        # canary must not roll back the new one, nor hide its own.
        "Dimensions": [
            {"Name": "FunctionName", "Value": _ref("McpFunction")},
            {"Name": "Resource", "Value": _sub(f"${{McpFunction}}:{LAMBDA_ALIAS}")},
            {
                "Name": "ExecutedVersion",
                "Value": {"Fn::GetAtt": ["McpFunction.Version", "Version"]},
            },
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


def _internal_errors_alarm(config: DeployConfig, threshold: float) -> dict[str, Any]:
    """MCP operations that ended in JSON-RPC's internal error (-32603), from the EMF lines
    the function writes (`cloudmcp.ops.emf`)."""
    service = config.env.get("OTEL_SERVICE_NAME", config.service.name)
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": "MCP operations that ended in a JSON-RPC internal error (-32603).",
            "Namespace": config.env.get("EMF_NAMESPACE", "cloudmcp"),
            "MetricName": "mcp.server.operation.duration",
            "Dimensions": [
                {"Name": "service.name", "Value": service},
                {"Name": "error.type", "Value": "-32603"},
            ],
            "Statistic": "SampleCount",
            "Period": 60,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [_ref("AlarmTopic")],
            "OKActions": [_ref("AlarmTopic")],
        },
    }


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
    skips = [
        ("CKV_AWS_59", "MCP clients authenticate to the server itself (OAuth or API keys)"),
        ("CKV_AWS_120", "MCP responses are per-session and per-caller; caching is wrong"),
    ]
    if not config.security.waf:
        skips.append(("CKV2_AWS_29", "AWS WAF is optional ([security] waf = true adds it)"))
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
    # No API-level CORS: `Access-Control-Allow-Origin` holds one origin, so the function answers
    # preflights itself from CORS_ALLOW_ORIGINS (the REST proxy passes OPTIONS through).
    return {
        "Type": "AWS::Serverless::Api",
        "Metadata": _checkov_skips(*skips),
        "Properties": properties,
    }


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": _sub(metric),
    }


def _waf(config: DeployConfig) -> dict[str, Any]:
    """AWS WAF on the REST API stage: a per-IP rate limit and AWS's managed rule groups."""
    name = f"{config.service.name}-${{Stage}}"
    managed = ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
    rules: list[dict[str, Any]] = [
        {
            "Name": "rate-limit-per-ip",
            "Priority": 0,
            "Action": {"Block": {}},
            "Statement": {
                "RateBasedStatement": {
                    "Limit": config.security.rate_limit_per_minute,
                    "EvaluationWindowSec": 60,
                    "AggregateKeyType": "IP",
                }
            },
            "VisibilityConfig": _visibility(f"{name}-rate-limit"),
        }
    ]
    for priority, group in enumerate(managed, 1):
        rules.append(
            {
                "Name": group,
                "Priority": priority,
                "OverrideAction": {"None": {}},
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
                "VisibilityConfig": _visibility(f"{name}-{group}"),
            }
        )
    return {
        "WebAcl": {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Name": _sub(name),
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "Rules": rules,
                "VisibilityConfig": _visibility(name),
            },
        },
        "WebAclAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            # The stage SAM generates for McpRestApi.
            "DependsOn": ["McpRestApiStage"],
            "Properties": {
                "ResourceArn": _sub(
                    "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${McpRestApi}"
                    "/stages/${Stage}"
                ),
                "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]},
            },
        },
    }


def vpc_parameter_names(config: DeployConfig, environment: str) -> dict[str, str]:
    """SSM parameters (written by Terraform) holding the Lambda's network, by template parameter."""
    base = f"/cloudmcp/{config.service.name}-{environment}"
    return {
        "VpcSubnetIds": f"{base}/private-subnet-ids",
        "VpcSecurityGroupId": f"{base}/lambda-security-group-id",
    }


def _vpc_parameters(config: DeployConfig, default_environment: str) -> dict[str, Any]:
    if config.redis is None or not config.redis.managed:
        return {}
    names = vpc_parameter_names(config, default_environment)
    return {
        "VpcSubnetIds": {
            "Type": "AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>",
            "Default": names["VpcSubnetIds"],
            "Description": "SSM parameter with the private subnets (Terraform's aws_redis.tf).",
        },
        "VpcSecurityGroupId": {
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::SecurityGroup::Id>",
            "Default": names["VpcSecurityGroupId"],
            "Description": "SSM parameter with the function's security group.",
        },
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
        # Not among the canary's alarms: EMF lines do not say which version wrote them.
        "McpInternalErrorsAlarm": _internal_errors_alarm(config, thresholds.lambda_errors),
        "PreTrafficHook": _pre_traffic_hook(config),
        "PreTrafficHookLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Metadata": _checkov_skips(
                ("CKV_AWS_158", "CloudWatch Logs encrypts at rest with its own key; no CMK kept"),
            ),
            "Properties": {
                "LogGroupName": _sub("/aws/lambda/${PreTrafficHook}"),
                "RetentionInDays": aws.log_retention_days,
            },
        },
        "FunctionLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Metadata": _checkov_skips(
                ("CKV_AWS_158", "CloudWatch Logs encrypts at rest with its own key; no CMK kept"),
            ),
            "Properties": {
                "LogGroupName": _sub("/aws/lambda/${McpFunction}"),
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
        if config.security.waf:
            resources.update(_waf(config))
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
            **_vpc_parameters(config, default_environment),
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
