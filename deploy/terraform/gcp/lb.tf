# The global external Application Load Balancer: one anycast address in
# front of every zone's group. Google's front ends send each request to the
# closest zone with healthy capacity; a node whose /healthcheck fails gets
# no traffic. The snapshotter is in no backend.

resource "google_compute_global_address" "lb" {
  name         = "${var.name}-lb"
  description  = "Anycast address of the NEAR ${var.network} RPC"
  address_type = "EXTERNAL"
  ip_version   = "IPV4"
}

resource "google_compute_backend_service" "rpc" {
  name                            = "${var.name}-rpc"
  description                     = "NEAR ${var.network} RPC nodes of every zone"
  load_balancing_scheme           = "EXTERNAL_MANAGED"
  protocol                        = "HTTP"
  port_name                       = "rpc"
  timeout_sec                     = var.backend_timeout_sec
  connection_draining_timeout_sec = 30
  health_checks                   = [google_compute_health_check.lb.id]

  dynamic "backend" {
    for_each = google_compute_instance_group_manager.rpc
    content {
      group           = backend.value.instance_group
      balancing_mode  = "UTILIZATION"
      max_utilization = 0.8
      capacity_scaler = 1.0
    }
  }
}

resource "google_compute_url_map" "rpc" {
  name            = "${var.name}-rpc"
  description     = "Every path to the RPC nodes"
  default_service = google_compute_backend_service.rpc.id

  lifecycle {
    precondition {
      condition     = var.http_enabled || length(var.ssl_domains) > 0
      error_message = "Serve HTTP (http_enabled) or HTTPS (ssl_domains), or both."
    }
  }
}

resource "google_compute_target_http_proxy" "rpc" {
  count   = var.http_enabled ? 1 : 0
  name    = "${var.name}-http"
  url_map = google_compute_url_map.rpc.id
}

resource "google_compute_global_forwarding_rule" "http" {
  count                 = var.http_enabled ? 1 : 0
  name                  = "${var.name}-http"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  port_range            = "80"
  ip_address            = google_compute_global_address.lb.id
  target                = google_compute_target_http_proxy.rpc[0].id
}

resource "google_compute_managed_ssl_certificate" "rpc" {
  count = length(var.ssl_domains) > 0 ? 1 : 0
  name  = "${var.name}-cert"

  managed {
    domains = var.ssl_domains
  }
}

resource "google_compute_target_https_proxy" "rpc" {
  count            = length(var.ssl_domains) > 0 ? 1 : 0
  name             = "${var.name}-https"
  url_map          = google_compute_url_map.rpc.id
  ssl_certificates = [google_compute_managed_ssl_certificate.rpc[0].id]
}

resource "google_compute_global_forwarding_rule" "https" {
  count                 = length(var.ssl_domains) > 0 ? 1 : 0
  name                  = "${var.name}-https"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  ip_protocol           = "TCP"
  port_range            = "443"
  ip_address            = google_compute_global_address.lb.id
  target                = google_compute_target_https_proxy.rpc[0].id
}
