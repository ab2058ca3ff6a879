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
  # @if !redis
  #checkov:skip=CKV_AWS_117:nothing to reach inside a VPC without Redis; a VPC adds cold start
  # @endif
  function_name = local.name
  role          = aws_iam_role.lambda.arn
  package_type  = "Image"
  image_uri     = "${aws_ecr_repository.images.repository_url}:${var.image_tag}"
  architectures = ["x86_64"]
  memory_size   = var.lambda_memory_mb
  timeout       = min(var.request_timeout_seconds, 900)
  publish       = true

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
  # @if redis

  vpc_config {
    subnet_ids         = var.redis_aws_subnet_ids
    security_group_ids = var.redis_aws_security_group_ids
  }
  # @endif

  depends_on = [
    aws_iam_role_policy_attachment.lambda_managed,
    aws_iam_role_policy.lambda_secrets,
  ]
}

# Blue/green on Lambda: `live` points at var.lambda_live_version (or the newest published
# version when empty) and sends var.lambda_canary_weight of requests to the canary version.
resource "aws_lambda_alias" "live" {
  name             = "live"
  function_name    = aws_lambda_function.mcp.function_name
  function_version = var.lambda_live_version == "" ? aws_lambda_function.mcp.version : var.lambda_live_version

  dynamic "routing_config" {
    for_each = var.lambda_canary_version == "" ? [] : [var.lambda_canary_version]
    content {
      additional_version_weights = {
        (routing_config.value) = var.lambda_canary_weight
      }
    }
  }
}
# @if function_url

resource "aws_lambda_function_url" "live" {
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
# @endif
