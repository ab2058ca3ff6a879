data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.name}-lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy_attachment" "lambda_managed" {
  for_each = toset(concat(
    [
      "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
      "arn:${data.aws_partition.current.partition}:iam::aws:policy/AWSXRayDaemonWriteAccess",
    ],
    # @if managed_redis
    ["arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"],
    # @endif
  ))

  role       = aws_iam_role.lambda.name
  policy_arn = each.value
}

data "aws_iam_policy_document" "lambda_secrets" {
  count = length(local.secrets) > 0 ? 1 : 0

  statement {
    sid       = "ReadOwnSecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat(
      [for secret in data.aws_secretsmanager_secret.env : secret.arn],
      # @if managed_redis
      [aws_secretsmanager_secret.redis_url.arn],
      # @endif
    )
  }
}

resource "aws_iam_role_policy" "lambda_secrets" {
  count = length(local.secrets) > 0 ? 1 : 0

  name   = "read-own-secrets"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda_secrets[0].json
}
