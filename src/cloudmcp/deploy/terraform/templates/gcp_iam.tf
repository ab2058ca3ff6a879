# The identity Cloud Run revisions run as: it may read its own secrets and write telemetry,
# nothing else.
resource "google_service_account" "run" {
  account_id   = local.run_service_account_id
  display_name = "${local.name} on Cloud Run"
}

resource "google_project_iam_member" "run_telemetry" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/cloudtrace.agent",
  ])

  project = var.gcp_project
  role    = each.value
  member  = "serviceAccount:${google_service_account.run.email}"
}

data "google_secret_manager_secret" "env" {
  for_each = local.secrets

  secret_id = each.value
}

resource "google_secret_manager_secret_iam_member" "run_reads" {
  for_each = local.secrets

  secret_id = data.google_secret_manager_secret.env[each.key].id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.run.email}"
}
