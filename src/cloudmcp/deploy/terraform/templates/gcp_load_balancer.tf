# The public hostname's Google side: a global external Application Load Balancer in front of
# Cloud Run. It gives the failover record an IPv4 address (an A record, the same type as the
# AWS alias), and its certificate is authorized through DNS, so it is issued even while
# Route 53 is answering with the secondary.

resource "google_compute_global_address" "mcp" {
  name       = local.name
  depends_on = [google_project_service.enabled]
}

resource "google_compute_region_network_endpoint_group" "run" {
  name                  = "${local.name}-run"
  region                = var.gcp_region
  network_endpoint_type = "SERVERLESS"

  cloud_run {
    service = google_cloud_run_v2_service.mcp.name
  }
}

resource "google_compute_backend_service" "run" {
  name                  = "${local.name}-backend"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  protocol              = "HTTPS"

  backend {
    group = google_compute_region_network_endpoint_group.run.id
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
  # @if cloud_armor

  security_policy = google_compute_security_policy.mcp.id
  # @endif
}

resource "google_compute_url_map" "mcp" {
  name            = local.name
  default_service = google_compute_backend_service.run.id
}

resource "google_certificate_manager_dns_authorization" "mcp" {
  name       = "${local.name}-dns-auth"
  domain     = var.domain_name
  depends_on = [google_project_service.enabled]
}

resource "google_certificate_manager_certificate" "mcp" {
  name = local.name

  managed {
    domains            = [var.domain_name]
    dns_authorizations = [google_certificate_manager_dns_authorization.mcp.id]
  }
}

resource "google_certificate_manager_certificate_map" "mcp" {
  name = local.name
}

resource "google_certificate_manager_certificate_map_entry" "mcp" {
  name         = local.name
  map          = google_certificate_manager_certificate_map.mcp.name
  certificates = [google_certificate_manager_certificate.mcp.id]
  hostname     = var.domain_name
}

resource "google_compute_ssl_policy" "modern" {
  name            = "${local.name}-tls12"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "mcp" {
  name            = local.name
  url_map         = google_compute_url_map.mcp.id
  certificate_map = "//certificatemanager.googleapis.com/${google_certificate_manager_certificate_map.mcp.id}"
  ssl_policy      = google_compute_ssl_policy.modern.id
}

resource "google_compute_global_forwarding_rule" "https" {
  name                  = "${local.name}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.mcp.address
  port_range            = "443"
  target                = google_compute_target_https_proxy.mcp.id
}

# Plain HTTP is answered with a redirect to HTTPS, never served.
resource "google_compute_url_map" "https_redirect" {
  name = "${local.name}-https-redirect"

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

resource "google_compute_target_http_proxy" "https_redirect" {
  name    = "${local.name}-https-redirect"
  url_map = google_compute_url_map.https_redirect.id
}

resource "google_compute_global_forwarding_rule" "http" {
  name                  = "${local.name}-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_address            = google_compute_global_address.mcp.address
  port_range            = "80"
  target                = google_compute_target_http_proxy.https_redirect.id
}
# @if cloud_armor

# Cloud Armor: a per-client-IP rate limit and Google's preconfigured rules against common
# attacks, in front of Cloud Run.
resource "google_compute_security_policy" "mcp" {
  name = local.name
  type = "CLOUD_ARMOR"

  rule {
    action   = "throttle"
    priority = 1000
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action = "allow"
      exceed_action  = "deny(429)"
      enforce_on_key = "IP"
      rate_limit_threshold {
        count        = var.rate_limit_per_minute
        interval_sec = 60
      }
    }
    description = "Requests per client IP per minute"
  }

  rule {
    action   = "deny(403)"
    priority = 1900
    preview  = false
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('cve-canary')"
      }
    }
    description = "Google's preconfigured CVE rules (Log4Shell among them)"
  }

  rule {
    action   = "deny(403)"
    priority = 2000
    match {
      expr {
        expression = "evaluatePreconfiguredWaf('sqli-v33-stable', {'sensitivity': 1}) || evaluatePreconfiguredWaf('xss-v33-stable', {'sensitivity': 1})"
      }
    }
    description = "Google's preconfigured SQLi and XSS rules"
  }

  rule {
    action   = "allow"
    priority = 2147483647
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    description = "Default: allow"
  }
}
# @endif
