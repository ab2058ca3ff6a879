resource "google_cloud_run_v2_service" "mcp" {
  name     = local.name
  location = var.gcp_region
  # Not restricted to the load balancer: Cloud Build smoke-tests each new revision at its
  # tagged run.app URL before it gets traffic, and the MCP server authenticates callers itself.
  ingress = "INGRESS_TRAFFIC_ALL"
  # google >= 6 defaults this to true, which makes `terraform destroy` fail.
  deletion_protection = false

  template {
    service_account                  = google_service_account.run.email
    timeout                          = "${var.request_timeout_seconds}s"
    max_instance_request_concurrency = var.concurrency
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }
    # @if managed_redis

    # Direct VPC egress to Memorystore (gcp_redis.tf); public traffic still leaves directly.
    vpc_access {
      network_interfaces {
        network    = google_compute_network.redis.id
        subnetwork = google_compute_subnetwork.run.id
      }
      egress = "PRIVATE_RANGES_ONLY"
    }
    # @endif

    containers {
      image = "${local.image}:${var.image_tag}"

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = tostring(var.cpu)
          memory = var.memory
        }
        # CPU only while a request is in flight (billed per request), as the pipeline deploys.
        cpu_idle          = true
        startup_cpu_boost = true
      }

      # The project names each log line's trace for Cloud Logging, as the pipeline sets it.
      dynamic "env" {
        for_each = merge({ GOOGLE_CLOUD_PROJECT = var.gcp_project }, var.env_vars)
        content {
          name  = env.key
          value = env.value
        }
      }

      # Secrets are mounted by reference; their values never pass through Terraform.
      dynamic "env" {
        for_each = local.secrets
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value
              version = "latest"
            }
          }
        }
      }

      # Liveness only: a store outage must neither restart instances nor block scale-out.
      # Whether an instance can serve (its store) is the readiness path, which the Route 53
      # health check and the release probes use.
      startup_probe {
        http_get {
          path = var.health_path
          port = 8080
        }
        initial_delay_seconds = 0
        period_seconds        = 2
        timeout_seconds       = 2
        failure_threshold     = 30
      }

      liveness_probe {
        http_get {
          path = var.health_path
          port = 8080
        }
        period_seconds    = 15
        timeout_seconds   = 3
        failure_threshold = 3
      }
    }
  }

  # Created with all traffic on the first revision; from then on the release pipeline owns
  # traffic and tags (stepped, probed, rolled back), so Terraform never moves them.
  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    # The pipeline rolls out images, revisions, traffic and tags; Terraform must neither roll
    # them back to what it last saw nor strip the tags of a release in progress.
    ignore_changes = [
      client,
      client_version,
      traffic,
      template[0].revision,
      template[0].containers[0].image,
    ]
  }

  depends_on = [
    google_project_service.enabled,
    google_secret_manager_secret_iam_member.run_reads,
    # @if managed_redis
    google_secret_manager_secret_version.redis_url,
    # @endif
  ]
}

# MCP clients authenticate to the server itself (OAuth or API keys), not with Google IAM, so
# the service must be invokable without a Google identity.
resource "google_cloud_run_v2_service_iam_member" "public" {
  #checkov:skip=CKV_GCP_102:MCP clients carry OAuth or API-key auth checked by the server, not Google IAM
  project  = google_cloud_run_v2_service.mcp.project
  location = google_cloud_run_v2_service.mcp.location
  name     = google_cloud_run_v2_service.mcp.name
  role     = "roles/run.invoker"
  member   = "allUsers"
}
