# Firewall rules of the VPC for the fleet's instances (by network tag).

# Google's front ends and health checkers reach the nodes from these ranges
# (for the global external Application Load Balancer both the proxied
# requests and the health checks come from them).
locals {
  google_lb_ranges = ["130.211.0.0/22", "35.191.0.0/16"]
}

resource "google_compute_firewall" "lb_to_rpc" {
  name          = "${var.name}-lb-to-rpc"
  network       = var.vpc_network
  direction     = "INGRESS"
  description   = "The load balancer's requests and health checks to the RPC nodes"
  source_ranges = local.google_lb_ranges
  target_tags   = [local.rpc_tag]

  allow {
    protocol = "tcp"
    ports    = [tostring(var.rpc_port), tostring(var.health_port)]
  }
}

resource "google_compute_firewall" "p2p" {
  name          = "${var.name}-p2p"
  network       = var.vpc_network
  direction     = "INGRESS"
  description   = "neard's peer-to-peer port, which other NEAR nodes connect to"
  source_ranges = ["0.0.0.0/0"]
  target_tags   = [local.rpc_tag, local.snapshotter_tag]

  allow {
    protocol = "tcp"
    ports    = [tostring(var.p2p_port)]
  }
}

resource "google_compute_firewall" "ssh" {
  count         = length(var.ssh_source_ranges) > 0 ? 1 : 0
  name          = "${var.name}-ssh"
  network       = var.vpc_network
  direction     = "INGRESS"
  description   = "SSH to the fleet's instances"
  source_ranges = var.ssh_source_ranges
  target_tags   = [local.rpc_tag, local.snapshotter_tag]

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }
}
