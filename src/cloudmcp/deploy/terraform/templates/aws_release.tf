data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# Secrets a person created (deploy plan); the managed Redis URL's is Terraform's own.
data "aws_secretsmanager_secret" "env" {
  for_each = local.user_secrets

  name = each.value
}

# The identity the release pipeline (Cloud Build) acts as in AWS, with no stored key: the build's
# Google service account presents a Google-signed ID token to STS (AssumeRoleWithWebIdentity),
# and only that service account's tokens are trusted.
data "aws_iam_policy_document" "release_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = ["accounts.google.com"]
    }
    # A service account's ID token carries its numeric id as `sub` and `azp` (which AWS reads
    # as `accounts.google.com:aud`); the audience it was minted for is `oaud`.
    condition {
      test     = "StringEquals"
      variable = "accounts.google.com:sub"
      values   = [google_service_account.build.unique_id]
    }
    condition {
      test     = "StringEquals"
      variable = "accounts.google.com:aud"
      values   = [google_service_account.build.unique_id]
    }
    condition {
      test     = "StringEquals"
      variable = "accounts.google.com:oaud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "release" {
  name                 = "${local.name}-release"
  assume_role_policy   = data.aws_iam_policy_document.release_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "release" {
  #checkov:skip=CKV_AWS_356:ecr:GetAuthorizationToken and cloudwatch:DescribeAlarms have no narrower resource; SAM names the stack's resources itself
  #checkov:skip=CKV_AWS_108:the release reads only the probe's credential, by ARN
  #checkov:skip=CKV_AWS_109:SAM manages the permissions of the roles it creates for the stack
  #checkov:skip=CKV_AWS_110:SAM creates the stack's own roles and passes them to its functions
  #checkov:skip=CKV_AWS_111:SAM writes the resources of the stack, whose names it chooses
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }
  statement {
    sid = "EcrPushThisRepository"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:CompleteLayerUpload",
      "ecr:DescribeImages",
      "ecr:InitiateLayerUpload",
      "ecr:PutImage",
      "ecr:UploadLayerPart",
    ]
    resources = [aws_ecr_repository.images.arn]
  }
  # @if lambda
  statement {
    sid = "ReleaseThisFunction"
    actions = [
      "lambda:GetAlias",
      "lambda:GetFunction",
      "lambda:GetFunctionConfiguration",
      "lambda:GetFunctionUrlConfig",
      "lambda:PublishVersion",
      "lambda:UpdateAlias",
      "lambda:UpdateFunctionCode",
    ]
    resources = [
      "arn:${data.aws_partition.current.partition}:lambda:${var.aws_region}:${data.aws_caller_identity.current.account_id}:function:${local.name}",
      "arn:${data.aws_partition.current.partition}:lambda:${var.aws_region}:${data.aws_caller_identity.current.account_id}:function:${local.name}:*",
    ]
  }
  statement {
    sid       = "WatchAlarms"
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["*"]
  }
  # @endif
  # @if sam
  statement {
    sid = "DeployThisStack"
    actions = [
      "cloudformation:CreateChangeSet",
      "cloudformation:DescribeChangeSet",
      "cloudformation:DescribeStackEvents",
      "cloudformation:DescribeStacks",
      "cloudformation:ExecuteChangeSet",
      "cloudformation:GetTemplateSummary",
    ]
    resources = [
      "arn:${data.aws_partition.current.partition}:cloudformation:${var.aws_region}:${data.aws_caller_identity.current.account_id}:stack/${local.name}/*",
      "arn:${data.aws_partition.current.partition}:cloudformation:${var.aws_region}:aws:transform/Serverless-2016-10-31",
    ]
  }
  statement {
    # What the stack itself creates (function, hook, APIs, alarms, CodeDeploy), named after it.
    sid = "ResourcesOfThisStack"
    actions = [
      "apigateway:*",
      "cloudwatch:DeleteAlarms",
      "cloudwatch:DescribeAlarms",
      "cloudwatch:PutMetricAlarm",
      "codedeploy:*",
      "iam:AttachRolePolicy",
      "iam:CreateRole",
      "iam:DeleteRole",
      "iam:DeleteRolePolicy",
      "iam:DetachRolePolicy",
      "iam:GetRole",
      "iam:GetRolePolicy",
      "iam:PassRole",
      "iam:PutRolePolicy",
      "iam:TagRole",
      "lambda:*",
      "logs:*",
      "sns:*",
      "ssm:GetParameters",
      "wafv2:*",
    ]
    resources = ["*"]
  }
  # @endif
  # @if probe_secret
  statement {
    sid       = "ReadTheProbeCredential"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [data.aws_secretsmanager_secret.env["API_KEYS"].arn]
  }
  # @endif
}

resource "aws_iam_role_policy" "release" {
  name   = "release"
  role   = aws_iam_role.release.id
  policy = data.aws_iam_policy_document.release.json
}
