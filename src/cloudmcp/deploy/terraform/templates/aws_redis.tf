# ElastiCache Serverless (Redis OSS, cluster mode, TLS, replicated across zones) in this
# environment's own VPC. The Lambda runs in the VPC's private subnets; with no NAT it reaches
# AWS APIs through interface endpoints: Secrets Manager (secrets at cold start) and X-Ray.
data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:only the first two zones are used; the subnets keep the zones they were created in
  state = "available"
}

resource "aws_vpc" "state" {
  #checkov:skip=CKV2_AWS_11:flow logs of a VPC that only carries Lambda's Redis and endpoint traffic add cost, not insight
  cidr_block           = var.redis_aws_vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = {
    Name = local.name
  }
}

# Nothing may use the default security group.
resource "aws_default_security_group" "state" {
  vpc_id = aws_vpc.state.id
}

resource "aws_subnet" "private" {
  count = 2

  vpc_id            = aws_vpc.state.id
  availability_zone = data.aws_availability_zones.available.names[count.index]
  cidr_block        = cidrsubnet(var.redis_aws_vpc_cidr, 4, count.index)

  tags = {
    Name = "${local.name}-private-${count.index}"
  }
}

resource "aws_security_group" "lambda" {
  # @if sam
  #checkov:skip=CKV2_AWS_5:the SAM stack attaches it to the function (VpcConfig from SSM)
  # @endif
  name        = "${local.name}-lambda"
  description = "The MCP function: reaches Redis and the AWS API endpoints only"
  vpc_id      = aws_vpc.state.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_redis" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "Redis"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6380
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_vpc_security_group_egress_rule" "lambda_to_endpoints" {
  security_group_id            = aws_security_group.lambda.id
  description                  = "AWS APIs through the interface endpoints"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints.id
}

resource "aws_security_group" "redis" {
  name        = "${local.name}-redis"
  description = "ElastiCache: Redis from the MCP function only"
  vpc_id      = aws_vpc.state.id
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_lambda" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from the MCP function"
  ip_protocol                  = "tcp"
  from_port                    = 6379
  to_port                      = 6380
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_security_group" "endpoints" {
  name        = "${local.name}-endpoints"
  description = "Interface endpoints: HTTPS from the MCP function only"
  vpc_id      = aws_vpc.state.id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_lambda" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from the MCP function"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.lambda.id
}

resource "aws_vpc_endpoint" "interface" {
  for_each = toset(["secretsmanager", "xray"])

  vpc_id              = aws_vpc.state.id
  service_name        = "com.amazonaws.${var.aws_region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]
}

resource "aws_elasticache_serverless_cache" "state" {
  name                 = local.name
  engine               = "redis"
  major_engine_version = "7"
  subnet_ids           = aws_subnet.private[*].id
  security_group_ids   = [aws_security_group.redis.id]
  # Survives a zone failure; a daily snapshot for what does not.
  snapshot_retention_limit = 7
}

resource "aws_secretsmanager_secret" "redis_url" {
  #checkov:skip=CKV2_AWS_57:the URL changes only when the cache is replaced; Terraform rewrites it then
  #checkov:skip=CKV_AWS_149:the AWS-managed key suffices for a URL that holds no password (the cache is reachable only from the function's security group)
  name = local.secrets["REDIS_URL"]
}

resource "aws_secretsmanager_secret_version" "redis_url" {
  secret_id     = aws_secretsmanager_secret.redis_url.id
  secret_string = "rediss://${aws_elasticache_serverless_cache.state.endpoint[0].address}:${aws_elasticache_serverless_cache.state.endpoint[0].port}"
}
# @if sam

# The SAM template reads the network from here ({{resolve:ssm:...}}), by environment.
resource "aws_ssm_parameter" "private_subnet_ids" {
  #checkov:skip=CKV2_AWS_34:subnet ids are not secret
  name  = "/cloudmcp/${local.name}/private-subnet-ids"
  type  = "StringList"
  value = join(",", aws_subnet.private[*].id)
}

resource "aws_ssm_parameter" "lambda_security_group_id" {
  #checkov:skip=CKV2_AWS_34:a security group id is not secret
  name  = "/cloudmcp/${local.name}/lambda-security-group-id"
  type  = "String"
  value = aws_security_group.lambda.id
}
# @endif
