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
