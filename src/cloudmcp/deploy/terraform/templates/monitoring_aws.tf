resource "aws_sns_topic" "alarms" {
  name              = "${local.name}-alarms"
  kms_master_key_id = "alias/aws/sns"
}
# @if email

resource "aws_sns_topic_subscription" "alarms_email" {
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}
# @endif
# @if lambda

locals {
  lambda_alias_dimensions = {
    FunctionName = aws_lambda_function.mcp.function_name
    Resource     = "${aws_lambda_function.mcp.function_name}:${aws_lambda_alias.live.name}"
  }
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${local.name}-lambda-errors"
  alarm_description   = "Lambda errors on the live alias"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = local.lambda_alias_dimensions
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = var.lambda_errors_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  alarm_name          = "${local.name}-lambda-throttles"
  alarm_description   = "Lambda throttles on the live alias"
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = local.lambda_alias_dimensions
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = var.lambda_throttles_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "lambda_duration_p90" {
  alarm_name          = "${local.name}-lambda-duration-p90"
  alarm_description   = "p90 duration of the live alias above the latency objective"
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = local.lambda_alias_dimensions
  extended_statistic  = "p90"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.latency_p90_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

# From the EMF lines the function writes (cloudmcp.ops.emf): MCP operations that ended in
# JSON-RPC's internal error, an exception the server did not expect.
resource "aws_cloudwatch_metric_alarm" "mcp_internal_errors" {
  alarm_name        = "${local.name}-mcp-internal-errors"
  alarm_description = "MCP operations that ended in a JSON-RPC internal error (-32603)"
  namespace         = lookup(var.env_vars, "EMF_NAMESPACE", "cloudmcp")
  metric_name       = "mcp.server.operation.duration"
  dimensions = {
    "service.name" = lookup(var.env_vars, "OTEL_SERVICE_NAME", local.name)
    "error.type"   = "-32603"
  }
  statistic           = "SampleCount"
  period              = 60
  evaluation_periods  = 1
  threshold           = var.lambda_errors_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${local.name}-api-5xx"
  alarm_description   = "HTTP API 5xx responses"
  namespace           = "AWS/ApiGateway"
  metric_name         = "5xx"
  dimensions          = { ApiId = aws_apigatewayv2_api.mcp.id, Stage = aws_apigatewayv2_stage.default.name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = var.lambda_errors_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
}
# @endif
# @if domain

# Route 53 health-check metrics exist only in us-east-1; this alarm says "failed over".
resource "aws_sns_topic" "dns_alarms" {
  provider          = aws.us_east_1
  name              = "${local.name}-dns-alarms"
  kms_master_key_id = "alias/aws/sns"
}
# @if email

resource "aws_sns_topic_subscription" "dns_alarms_email" {
  provider  = aws.us_east_1
  topic_arn = aws_sns_topic.dns_alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}
# @endif

resource "aws_cloudwatch_metric_alarm" "primary_unhealthy" {
  provider            = aws.us_east_1
  alarm_name          = "${local.name}-primary-unhealthy"
  alarm_description   = "Cloud Run (primary) fails its health check: traffic is on Lambda"
  namespace           = "AWS/Route53"
  metric_name         = "HealthCheckStatus"
  dimensions          = { HealthCheckId = aws_route53_health_check.primary.id }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 2
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  alarm_actions       = [aws_sns_topic.dns_alarms.arn]
  ok_actions          = [aws_sns_topic.dns_alarms.arn]
}
# @endif
