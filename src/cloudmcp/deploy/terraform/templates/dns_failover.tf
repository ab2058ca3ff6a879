# One public hostname served by both clouds. Route 53 answers with the PRIMARY record (the
# Google load balancer's address) while its health check passes, and with the SECONDARY (an
# alias to the API Gateway custom domain) when it fails. Both records are type A: a failover
# pair must share one type, and a CNAME could not share its name with another record.

data "aws_route53_zone" "public" {
  name         = var.dns_zone
  private_zone = false
}

# Probes the primary directly at its IP, so the check never follows the failover record it
# drives. Route 53 sends var.domain_name as SNI and Host, which the Google certificate covers.
resource "aws_route53_health_check" "primary" {
  ip_address        = google_compute_global_address.mcp.address
  fqdn              = var.domain_name
  port              = 443
  type              = "HTTPS"
  enable_sni        = true
  # Readiness, not liveness: a primary that cannot reach its store answers 503 here, so
  # traffic fails over to AWS instead of reaching instances that cannot serve it.
  resource_path     = var.ready_path
  request_interval  = 30
  failure_threshold = 3
  measure_latency   = true

  tags = {
    Name = "${local.name}-cloud-run"
  }
}

resource "aws_route53_record" "primary" {
  #checkov:skip=CKV2_AWS_23:the record points at the Google load balancer's address, outside AWS
  zone_id         = data.aws_route53_zone.public.zone_id
  name            = var.domain_name
  type            = "A"
  ttl             = 60
  records         = [google_compute_global_address.mcp.address]
  set_identifier  = "primary-cloud-run"
  health_check_id = aws_route53_health_check.primary.id

  failover_routing_policy {
    type = "PRIMARY"
  }
}

resource "aws_route53_record" "secondary" {
  zone_id        = data.aws_route53_zone.public.zone_id
  name           = var.domain_name
  type           = "A"
  set_identifier = "secondary-lambda"

  alias {
    name                   = aws_apigatewayv2_domain_name.mcp.domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.mcp.domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = true
  }

  failover_routing_policy {
    type = "SECONDARY"
  }
}

# Certificate Manager's DNS authorization: lets Google issue the load balancer's certificate
# without the hostname resolving to Google (it may be failed over to AWS at that moment).
resource "aws_route53_record" "google_dns_authorization" {
  zone_id = data.aws_route53_zone.public.zone_id
  name    = google_certificate_manager_dns_authorization.mcp.dns_resource_record[0].name
  type    = google_certificate_manager_dns_authorization.mcp.dns_resource_record[0].type
  ttl     = 300
  records = [google_certificate_manager_dns_authorization.mcp.dns_resource_record[0].data]
}
