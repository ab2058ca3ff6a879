# @if email
resource "google_monitoring_notification_channel" "email" {
  display_name = "${local.name} on-call"
  type         = "email"
  labels = {
    email_address = var.alarm_email
  }
}

# @endif
locals {
  # @if email
  gcp_notification_channels = [google_monitoring_notification_channel.email.id]
  # @endif
  # @if !email
  gcp_notification_channels = []
  # @endif
}

resource "google_monitoring_alert_policy" "error_rate" {
  display_name = "${local.name}: 5xx rate above ${var.error_rate_percent}%"
  combiner     = "OR"

  conditions {
    display_name = "5xx share of Cloud Run requests"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.mcp.name}\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.error_rate_percent / 100
      duration        = "300s"

      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }

      denominator_filter = "resource.type = \"cloud_run_revision\" AND resource.labels.service_name = \"${google_cloud_run_v2_service.mcp.name}\" AND metric.type = \"run.googleapis.com/request_count\""
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }

  notification_channels = local.gcp_notification_channels
}

resource "google_monitoring_alert_policy" "latency" {
  display_name = "${local.name}: p90 latency above ${var.latency_p90_ms} ms"
  combiner     = "OR"

  conditions {
    display_name = "p90 of Cloud Run request latency"
    condition_prometheus_query_language {
      query               = "histogram_quantile(0.9, sum by (le) (rate(run_googleapis_com:request_latencies_bucket{monitored_resource=\"cloud_run_revision\", service_name=\"${google_cloud_run_v2_service.mcp.name}\"}[5m]))) > ${var.latency_p90_ms}"
      duration            = "300s"
      evaluation_interval = "60s"
    }
  }

  notification_channels = local.gcp_notification_channels
}
