# An RPC fleet of NEAR nodes across zones behind one global external
# Application Load Balancer (README.md has the picture). This file holds
# what the other files share: names, the snapshot store's URLs and the
# startup scripts. nodes.tf: the per-zone groups; lb.tf: the load balancer;
# storage.tf: the bucket, service accounts and HMAC keys; snapshotter.tf:
# the instance that takes the snapshots; firewall.tf: the rules.

locals {
  # The zone's region: us-east1-b -> us-east1.
  region_of = { for z in var.zones : z => regex("^(.+)-[a-z]$", z)[0] }

  snapshotter_zone   = var.snapshotter_zone == "" ? var.zones[0] : var.snapshotter_zone
  snapshotter_region = regex("^(.+)-[a-z]$", local.snapshotter_zone)[0]

  rpc_tag         = "${var.name}-rpc"
  snapshotter_tag = "${var.name}-snapshotter"

  labels = merge(var.labels, { "managed-by" = "terraform", "near-network" = var.network })

  # The snapshot store: the snapshotter writes it through GCS's S3 XML API
  # (HMAC key), the nodes read it the same way, or over plain HTTPS when the
  # bucket is public (no key on the nodes then).
  snapshot_prefix = var.snapshot_prefix == "" ? "${var.network}/rpc" : var.snapshot_prefix
  s3_store        = "s3://${var.bucket_name}/${local.snapshot_prefix}"
  https_store     = "https://storage.googleapis.com/${var.bucket_name}/${local.snapshot_prefix}"
  node_store      = var.snapshot_public_read ? local.https_store : local.s3_store
  s3_endpoint     = "https://storage.googleapis.com"

  health_reference = var.health_reference == "" ? "https://rpc.${var.network}.near.org" : var.health_reference

  # Runtime libraries of a nearup built on Debian 12 (ldd build/nearup, and
  # the ones it loads on first use: libcurl, libssl/libcrypto, libarchive).
  os_packages = [
    "ca-certificates", "curl", "libarchive13", "libcurl4", "libinih1", "libjansson4",
    "liblzma5", "libsodium23", "libssl3", "libuv1", "libzstd1",
  ]

  # Instance metadata keys the scripts read the HMAC key from (never part
  # of the script itself, which shows in the console and in logs).
  metadata_url        = "http://metadata.google.internal/computeMetadata/v1/instance/attributes"
  key_id_metadata_key = "nearup-s3-access-key-id"
  secret_metadata_key = "nearup-s3-secret-access-key"

  # Template variables of the startup scripts: those both have, then each
  # one's own. Scalar strings only (lists joined with spaces), so the
  # scripts hold no template directives. Paths are the production ones;
  # the tests point them at a temp dir.
  script_common = {
    lib           = file("${path.module}/templates/nearup-lib.sh")
    network       = var.network
    nearup_url    = var.nearup_url
    nearup_sha256 = var.nearup_sha256
    install_dir   = "/usr/local/bin"
    service_user  = "near"
    service_home  = "/var/lib/near"
    node_home     = "/var/lib/near/${var.network}"
    systemd_dir   = "/etc/systemd/system"
    os_packages   = join(" ", local.os_packages)
    s3_endpoint   = local.s3_endpoint
    s3_region     = "auto"
    metadata_url  = local.metadata_url
    key_id_attr   = local.key_id_metadata_key
    secret_attr   = local.secret_metadata_key
    neard_version = var.neard_version
    release_url   = var.release_url
    p2p_addr      = "0.0.0.0:${var.p2p_port}"
    # checks of a restored snapshot (the snapshotter's only with a bootstrap store)
    verify_with   = join(" ", var.verify_with)
    verify_quorum = var.verify_quorum == null ? "" : tostring(var.verify_quorum)
  }

  rpc_node_vars = {
    store            = local.node_store
    rpc_addr         = "0.0.0.0:${var.rpc_port}"
    archival         = "false"
    health_listen    = "0.0.0.0:${var.health_port}"
    health_reference = local.health_reference
  }

  snapshotter_vars = {
    store            = local.s3_store
    bootstrap_store  = var.snapshotter_bootstrap_store
    rpc_addr         = "127.0.0.1:${var.rpc_port}"
    archival         = var.snapshotter_archival ? "true" : "false"
    snapshot_enabled = var.snapshot_enabled ? "true" : "false"
    snapshot_every   = var.snapshot_every
    snapshot_keep    = tostring(var.snapshot_keep)
  }

  rpc_node_script = templatefile("${path.module}/templates/rpc-node.sh.tftpl",
    merge(local.script_common, local.rpc_node_vars))
  snapshotter_script = templatefile("${path.module}/templates/snapshotter.sh.tftpl",
    merge(local.script_common, local.snapshotter_vars))
}
