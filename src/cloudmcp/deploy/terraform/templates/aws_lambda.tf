resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest with its own key; no CMK is kept
  #checkov:skip=CKV_AWS_338:retention is a per-deployment choice (var.log_retention_days)
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "mcp" {
  #checkov:skip=CKV_AWS_116:invoked synchronously by API Gateway; a DLQ only serves async events
  #checkov:skip=CKV_AWS_173:variables hold no secrets (only secret ids); AWS-managed key at rest
  #checkov:skip=CKV_AWS_272:code signing applies to zip packages, not container images
  #checkov:skip=CKV_AWS_115:concurrency is reserved only when aws.reserved_concurrency is set (the plan checks the account can spare it)
  # @if !managed_redis
  #checkov:skip=CKV_AWS_117:nothing to reach inside a VPC without a managed Redis; a VPC adds cold start
  # @endif
  function_name = local.name
  role          = aws_iam_role.lambda.arn
  package_type  = "Image"
  image_uri     = "${aws_ecr_repository.images.repository_url}:${var.image_tag}"
  architectures = ["x86_64"]
  memory_size   = var.lambda_memory_mb
  timeout       = min(var.request_timeout_seconds, 900)
  publish       = true

  # -1: no reservation (the account's unreserved pool).
  reserved_concurrent_executions = var.lambda_reserved_concurrency

  # The same image as Cloud Run, entered through the runtime interface client instead of
  # `cloudmcp serve`: no web server starts inside Lambda.
  image_config {
    entry_point       = ["python", "-m", "awslambdaric"]
    command           = ["cloudmcp.aws_lambda.handler"]
    working_directory = "/app"
  }

  environment {
    # Only secret ids: the handler reads the values from Secrets Manager at cold start.
    variables = merge(
      var.env_vars,
      { CLOUDMCP_APP = var.app_target },
      { for name, id in local.secrets : "${name}_SECRET_ID" => id },
    )
  }

  tracing_config {
    mode = "Active"
  }

  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.lambda.name
  }
  # @if managed_redis

  # Private subnets beside ElastiCache; Secrets Manager and X-Ray through interface endpoints.
  vpc_config {
    subnet_ids         = aws_subnet.private[*].id
    security_group_ids = [aws_security_group.lambda.id]
  }
  # @endif

  lifecycle {
    # The release pipeline publishes new images as versions (release.py); Terraform must not
    # put back the image it created the function with.
    ignore_changes = [image_uri]
  }

  depends_on = [
    aws_iam_role_policy_attachment.lambda_managed,
    aws_iam_role_policy.lambda_secrets,
    # @if managed_redis
    aws_vpc_endpoint.interface,
    aws_secretsmanager_secret_version.redis_url,
    # @endif
  ]
}

# `live` serves the public traffic; `candidate` is where a new version is probed before `live`
# gives it any. Both are created on the first version and moved by the release pipeline
# (stepped weights, rollback) from then on, never by Terraform.
resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.mcp.function_name
  function_version = aws_lambda_function.mcp.version

  lifecycle {
    ignore_changes = [function_version, routing_config]
  }
}

resource "aws_lambda_alias" "candidate" {
  name             = "candidate"
  function_name    = aws_lambda_function.mcp.function_name
  function_version = aws_lambda_function.mcp.version

  lifecycle {
    ignore_changes = [function_version]
  }
}

# The candidate's own URL, for the release probes. Public at the AWS layer like the API:
# the MCP server checks every caller's credential itself.
resource "aws_lambda_function_url" "candidate" {
  #checkov:skip=CKV_AWS_258:the MCP server authenticates every caller itself (AUTH); IAM auth would shut out the release probe
  function_name      = aws_lambda_function.mcp.function_name
  qualifier          = aws_lambda_alias.candidate.name
  authorization_type = "NONE"
  invoke_mode        = "BUFFERED"
}

# A Function URL with NONE auth needs both permissions (required for URLs since October 2025).
resource "aws_lambda_permission" "candidate_url" {
  #checkov:skip=CKV_AWS_301:public at the AWS layer like the API; the MCP server authenticates every caller
  for_each = {
    AllowCandidateUrl       = "lambda:InvokeFunctionUrl"
    AllowCandidateUrlInvoke = "lambda:InvokeFunction"
  }

  statement_id           = each.key
  action                 = each.value
  function_name          = aws_lambda_function.mcp.function_name
  qualifier              = aws_lambda_alias.candidate.name
  principal              = "*"
  function_url_auth_type = each.value == "lambda:InvokeFunctionUrl" ? "NONE" : null
}
# @if function_url

resource "aws_lambda_function_url" "live" {
  #checkov:skip=CKV_AWS_258:with aws.function_url = "NONE" the MCP server authenticates every caller itself
  function_name      = aws_lambda_function.mcp.function_name
  qualifier          = aws_lambda_alias.live.name
  authorization_type = var.function_url_auth_type
  invoke_mode        = "BUFFERED"
  # @if cors

  cors {
    allow_origins  = var.cors_allowed_origins
    allow_methods  = ["GET", "POST", "DELETE"]
    allow_headers  = ["authorization", "content-type", "last-event-id", "mcp-protocol-version", "mcp-session-id"]
    expose_headers = ["mcp-protocol-version", "mcp-session-id"]
  }
  # @endif
}
# @if function_url_public

resource "aws_lambda_permission" "live_url" {
  #checkov:skip=CKV_AWS_301:aws.function_url = "NONE": public at the AWS layer, the MCP server authenticates every caller
  for_each = {
    AllowPublicUrl       = "lambda:InvokeFunctionUrl"
    AllowPublicUrlInvoke = "lambda:InvokeFunction"
  }

  statement_id           = each.key
  action                 = each.value
  function_name          = aws_lambda_function.mcp.function_name
  qualifier              = aws_lambda_alias.live.name
  principal              = "*"
  function_url_auth_type = each.value == "lambda:InvokeFunctionUrl" ? "NONE" : null
}
# @endif
# @endif
