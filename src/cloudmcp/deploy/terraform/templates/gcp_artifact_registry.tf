resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:images hold no data; Google-managed encryption at rest suffices
  location      = var.gcp_region
  repository_id = "${var.artifact_repository}-${var.environment}"
  format        = "DOCKER"
  description   = "Images of ${var.service_name} (${var.environment}), tagged by commit"
  # Apply the cleanup policies below (a dry run would only log what they would delete).
  cleanup_policy_dry_run = false

  # Keep the recent releases (rollback targets) and let older untagged layers go.
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }
  cleanup_policies {
    id     = "delete-untagged"
    action = "DELETE"
    condition {
      tag_state  = "UNTAGGED"
      older_than = "604800s"
    }
  }

  depends_on = [google_project_service.enabled]
}
