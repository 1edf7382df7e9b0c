# The snapshotter: one node outside the load balancer (in no backend and no
# instance group) that writes the snapshots every RPC node starts from.
# It runs its node under systemd and `nearup service install --snapshot-to`
# schedules `nearup snapshot create` and `prune` (snapshotter.sh.tftpl).

resource "google_compute_instance" "snapshotter" {
  name         = "${var.name}-snapshotter"
  description  = "Takes the NEAR ${var.network} snapshots of ${var.name} (not behind the load balancer)"
  zone         = local.snapshotter_zone
  machine_type = var.snapshotter_machine_type
  tags         = [local.snapshotter_tag]
  labels       = local.labels

  boot_disk {
    auto_delete = true
    initialize_params {
      image  = var.image
      size   = var.snapshotter_disk_size_gb
      type   = var.disk_type
      labels = local.labels
    }
  }

  network_interface {
    network    = var.vpc_network
    subnetwork = lookup(var.subnetworks, local.snapshotter_region, null)
    access_config {}
  }

  service_account {
    email  = google_service_account.snapshotter.email
    scopes = ["cloud-platform"]
  }

  metadata = merge(local.snapshotter_key_metadata, {
    startup-script = local.snapshotter_script
  })

  # A new machine type stops and starts the instance instead of failing.
  allow_stopping_for_update = true
}
