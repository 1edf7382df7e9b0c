# Per zone: an instance template, a managed instance group with autohealing
# on nearup health's /healthcheck, and an autoscaler. Every node restores
# the latest snapshot on its first boot (rpc-node.sh.tftpl), so a node that
# autohealing or the autoscaler creates is serving in the time a restore
# and a short catch-up take.

# The load balancer's check: a node out of rotation as soon as nearup
# health says it is syncing, stale or lagging (2 failures 5 s apart; the
# sidecar already applies its own --fall).
resource "google_compute_health_check" "lb" {
  name                = "${var.name}-healthcheck"
  description         = "nearup health /healthcheck: 200 only for a synced, fresh node within max-lag of the reference"
  check_interval_sec  = 5
  timeout_sec         = 3
  healthy_threshold   = 2
  unhealthy_threshold = 2

  http_health_check {
    port               = var.health_port
    port_specification = "USE_FIXED_PORT"
    request_path       = "/healthcheck"
  }
}

# Autohealing's check: the same question, asked patiently. A node that has
# failed /healthcheck for 20 minutes in a row (syncing, stale, lagging, or
# the sidecar or the machine gone) is recreated from the template and so
# from the latest snapshot; the LB check above took it out of rotation
# long before.
resource "google_compute_health_check" "autohealing" {
  name                = "${var.name}-autohealing"
  description         = "nearup health /healthcheck, 40 failures 30 s apart before a node is recreated"
  check_interval_sec  = 30
  timeout_sec         = 10
  healthy_threshold   = 1
  unhealthy_threshold = 40

  http_health_check {
    port               = var.health_port
    port_specification = "USE_FIXED_PORT"
    request_path       = "/healthcheck"
  }
}

resource "google_compute_instance_template" "rpc" {
  for_each     = toset(var.zones)
  name_prefix  = "${var.name}-rpc-${each.key}-"
  description  = "NEAR ${var.network} RPC node (nearup) in ${each.key}"
  machine_type = var.machine_type
  region       = local.region_of[each.key]
  tags         = [local.rpc_tag]
  labels       = local.labels

  disk {
    boot         = true
    auto_delete  = true
    source_image = var.image
    disk_type    = var.disk_type
    disk_size_gb = var.disk_size_gb
    labels       = local.labels
  }

  network_interface {
    network    = var.vpc_network
    subnetwork = lookup(var.subnetworks, local.region_of[each.key], null)
    # an external address: neard's peers connect to it
    access_config {}
  }

  service_account {
    email  = google_service_account.node.email
    scopes = ["cloud-platform"]
  }

  metadata = merge(local.node_key_metadata, {
    startup-script = local.rpc_node_script
  })

  scheduling {
    automatic_restart   = true
    on_host_maintenance = "MIGRATE"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_instance_group_manager" "rpc" {
  for_each           = toset(var.zones)
  name               = "${var.name}-rpc-${each.key}"
  description        = "NEAR ${var.network} RPC nodes in ${each.key}"
  zone               = each.key
  base_instance_name = "${var.name}-rpc"

  version {
    name              = "primary"
    instance_template = google_compute_instance_template.rpc[each.key].self_link_unique
  }

  named_port {
    name = "rpc"
    port = var.rpc_port
  }

  named_port {
    name = "health"
    port = var.health_port
  }

  auto_healing_policies {
    health_check      = google_compute_health_check.autohealing.id
    initial_delay_sec = var.autohealing_initial_delay_sec
  }

  # A new template (nearup or neard version, machine type) replaces nodes
  # one at a time, with a new one serving before an old one goes.
  update_policy {
    type                  = "PROACTIVE"
    minimal_action        = "REPLACE"
    max_surge_fixed       = 1
    max_unavailable_fixed = 0
  }
}

resource "google_compute_autoscaler" "rpc" {
  for_each = toset(var.zones)
  name     = "${var.name}-rpc-${each.key}"
  zone     = each.key
  target   = google_compute_instance_group_manager.rpc[each.key].id

  autoscaling_policy {
    min_replicas    = var.min_nodes_per_zone
    max_replicas    = var.max_nodes_per_zone
    cooldown_period = var.autoscaling_cooldown_sec

    cpu_utilization {
      target = var.autoscaling_cpu_target
    }
  }

  lifecycle {
    precondition {
      condition     = var.max_nodes_per_zone >= var.min_nodes_per_zone
      error_message = "max_nodes_per_zone must be at least min_nodes_per_zone."
    }
  }
}
