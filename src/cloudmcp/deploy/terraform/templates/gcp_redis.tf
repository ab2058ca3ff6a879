# Memorystore for Redis, private to this environment's own network. Cloud Run reaches it by
# Direct VPC egress through the `run` subnetwork; nothing else is in the network.
resource "google_compute_network" "redis" {
  name                    = local.name
  auto_create_subnetworks = false
  depends_on              = [google_project_service.enabled]
}

# Nothing in the network accepts connections (Cloud Run only sends to Memorystore).
resource "google_compute_firewall" "deny_ingress" {
  name      = "${local.name}-deny-ingress"
  network   = google_compute_network.redis.id
  direction = "INGRESS"
  priority  = 65534

  deny {
    protocol = "all"
  }

  source_ranges = ["0.0.0.0/0"]
}

resource "google_compute_subnetwork" "run" {
  #checkov:skip=CKV_GCP_26:flow logs of a subnetwork that only carries Cloud Run's Redis traffic add cost, not insight
  #checkov:skip=CKV_GCP_76:private Google access over IPv6 is not used; Cloud Run egresses only private ranges here
  name                     = "${local.name}-run"
  network                  = google_compute_network.redis.id
  region                   = var.gcp_region
  ip_cidr_range            = var.redis_gcp_cidr
  private_ip_google_access = true
}

resource "google_redis_instance" "state" {
  #checkov:skip=CKV_GCP_97:in-transit TLS would need the instance CA in every client; the instance is reachable only inside its own VPC, with AUTH
  name               = local.name
  region             = var.gcp_region
  tier               = var.redis_gcp_tier
  memory_size_gb     = var.redis_gcp_memory_gb
  redis_version      = "REDIS_7_2"
  authorized_network = google_compute_network.redis.id
  connect_mode       = "DIRECT_PEERING"
  auth_enabled       = true
  labels             = local.labels

  depends_on = [google_project_service.enabled]
}

# The URL (with its AUTH string) goes straight into Secret Manager. Terraform state holds the
# AUTH string too (it is an attribute of the instance): keep the state bucket private.
resource "google_secret_manager_secret" "redis_url" {
  secret_id = local.secrets["REDIS_URL"]

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

resource "google_secret_manager_secret_version" "redis_url" {
  secret      = google_secret_manager_secret.redis_url.id
  secret_data = "redis://:${google_redis_instance.state.auth_string}@${google_redis_instance.state.host}:${google_redis_instance.state.port}/0"
}
