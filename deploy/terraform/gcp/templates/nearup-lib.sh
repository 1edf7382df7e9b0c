# nearup-lib.sh: the functions both startup scripts share. templatefile()
# inserts this file as the value of their ${lib} variable, so it is plain
# POSIX sh with no template syntax of its own; it uses the variables the
# script sets above it (NETWORK, NEARUP_URL, ... in capitals).

READY_TIMEOUT=1800 # s: nearup run waits this long for a restored neard to answer

say() { printf 'nearup-startup: %s\n' "$*"; }
die() {
	printf 'nearup-startup: %s\n' "$*" >&2
	exit 1
}

# systemd is the init system (sd_booted()'s test, the one nearup makes).
have_systemd() { [ -d /run/systemd/system ]; }

# Debian packages nearup needs at run time; none when OS_PACKAGES is empty,
# and no apt-get at all when every one is installed (a later boot).
install_packages() {
	[ -n "$OS_PACKAGES" ] || return 0
	# shellcheck disable=SC2086 # a list of package names
	if command -v dpkg >/dev/null 2>&1 && dpkg -s $OS_PACKAGES >/dev/null 2>&1; then
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 ||
		die "apt-get is not here to install $OS_PACKAGES; use a Debian 12 image"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || die "apt-get update failed; check the instance's network"
	# shellcheck disable=SC2086 # a list of package names
	apt-get install -q -y --no-install-recommends $OS_PACKAGES ||
		die "apt-get install $OS_PACKAGES failed"
}

# The nearup release: a .tar.gz with bin/nearup and bin/nearup-supervisor
# (nearup starts the supervisor from its own directory). Nothing is
# installed unless the download has the pinned sha256; each binary is put
# in place by a rename, so a running node keeps the one it started with.
install_nearup() {
	command -v curl >/dev/null 2>&1 || die "curl is not installed; it downloads nearup"
	work=$(mktemp -d) || die "cannot make a temporary directory"
	trap 'rm -rf "$work"' EXIT
	curl -fsSL --retry 5 --retry-delay 2 --connect-timeout 10 -o "$work/nearup.tar.gz" \
		"$NEARUP_URL" ||
		die "cannot download nearup from $NEARUP_URL; check nearup_url and the network"
	got=$(sha256sum "$work/nearup.tar.gz") || die "cannot hash $work/nearup.tar.gz"
	got=${got%% *}
	[ "$got" = "$NEARUP_SHA256" ] ||
		die "nearup from $NEARUP_URL has sha256 $got, not the pinned $NEARUP_SHA256; nothing was installed"
	mkdir "$work/x"
	tar -xzf "$work/nearup.tar.gz" -C "$work/x" bin/nearup bin/nearup-supervisor ||
		die "$NEARUP_URL is not a nearup release (a .tar.gz with bin/nearup and bin/nearup-supervisor)"
	mkdir -p "$INSTALL_DIR" || die "cannot make $INSTALL_DIR"
	for f in nearup-supervisor nearup; do
		install -m 0755 "$work/x/bin/$f" "$INSTALL_DIR/.$f.new" &&
			mv -f "$INSTALL_DIR/.$f.new" "$INSTALL_DIR/$f" ||
			die "cannot install $f into $INSTALL_DIR"
	done
	rm -rf "$work"
	trap - EXIT
	NEARUP=$INSTALL_DIR/nearup
	say "installed $("$NEARUP" --version) (sha256 $got) into $INSTALL_DIR"
}

# The account the node runs as: SERVICE_USER, created when missing; with
# SERVICE_USER empty, whoever runs this script (the tests). Its home holds
# nearup's binary cache and the S3 key.
setup_user() {
	if [ -n "$SERVICE_USER" ] && ! id -u "$SERVICE_USER" >/dev/null 2>&1; then
		useradd --system --user-group --home-dir "$SERVICE_HOME" --shell /usr/sbin/nologin \
			"$SERVICE_USER" || die "cannot create the user $SERVICE_USER"
	fi
	mkdir -p "$SERVICE_HOME" "$NODE_HOME" || die "cannot make $SERVICE_HOME and $NODE_HOME"
	if [ -n "$SERVICE_USER" ]; then
		chown "$SERVICE_USER:" "$SERVICE_HOME" "$NODE_HOME" ||
			die "cannot give $SERVICE_HOME and $NODE_HOME to $SERVICE_USER"
	fi
}

# as_user CMD ARGS...: CMD as the node's account, with its HOME.
as_user() {
	if [ -z "$SERVICE_USER" ]; then
		"$@"
	else
		setpriv --reuid="$SERVICE_USER" --regid="$(id -g "$SERVICE_USER")" --init-groups -- \
			env HOME="$SERVICE_HOME" USER="$SERVICE_USER" LOGNAME="$SERVICE_USER" "$@"
	fi
}

# exec_as_user CMD ARGS...: the same, replacing the (sub)shell, so that $!
# of `exec_as_user CMD &` is CMD's own pid.
exec_as_user() {
	if [ -z "$SERVICE_USER" ]; then
		exec "$@"
	fi
	exec setpriv --reuid="$SERVICE_USER" --regid="$(id -g "$SERVICE_USER")" --init-groups -- \
		env HOME="$SERVICE_HOME" USER="$SERVICE_USER" LOGNAME="$SERVICE_USER" "$@"
}

# s3_setup STORE: for an s3:// store, GCS's S3 endpoint for nearup
# (AWS_ENDPOINT_URL_S3) and the HMAC key from the instance metadata, written
# (mode 0600) where nearup reads AWS credentials: SERVICE_HOME/.aws, the
# service account's ~/.aws. The key never is in the script itself. Other
# stores need neither.
s3_setup() {
	case "$1" in
	s3://*) ;;
	*) return 0 ;;
	esac
	[ -z "$S3_ENDPOINT" ] || export AWS_ENDPOINT_URL_S3="$S3_ENDPOINT"
	[ -n "$METADATA_URL" ] || return 0
	key_id=$(metadata "$KEY_ID_ATTRIBUTE") ||
		die "cannot read the S3 key id from the instance metadata ($METADATA_URL/$KEY_ID_ATTRIBUTE)"
	secret=$(metadata "$SECRET_ATTRIBUTE") ||
		die "cannot read the S3 secret from the instance metadata ($METADATA_URL/$SECRET_ATTRIBUTE)"
	aws=$SERVICE_HOME/.aws
	(
		umask 077
		mkdir -p "$aws" &&
			printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' \
				"$key_id" "$secret" >"$aws/.credentials.tmp" &&
			mv -f "$aws/.credentials.tmp" "$aws/credentials" &&
			printf '[default]\nregion = %s\n' "$S3_REGION" >"$aws/.config.tmp" &&
			mv -f "$aws/.config.tmp" "$aws/config"
	) || die "cannot write the S3 key to $aws"
	if [ -n "$SERVICE_USER" ]; then
		chown -R "$SERVICE_USER:" "$aws" || die "cannot give $aws to $SERVICE_USER"
	fi
	export AWS_SHARED_CREDENTIALS_FILE="$aws/credentials" AWS_CONFIG_FILE="$aws/config"
	unset key_id secret
	say "S3 key $KEY_ID_ATTRIBUTE from the instance metadata is in $aws"
}

metadata() {
	curl -fsS --retry 5 --connect-timeout 5 -H 'Metadata-Flavor: Google' "$METADATA_URL/$1"
}

# with_node_flags CMD ARGS...: CMD ARGS followed by the node's run flags,
# the same for its first start and for its unit.
with_node_flags() {
	set -- "$@" --home "$NODE_HOME" --rpc-addr "$RPC_ADDR" --network-addr "$P2P_ADDR"
	[ -z "$NEARD_VERSION" ] || set -- "$@" --neard-version "$NEARD_VERSION"
	[ -z "$RELEASE_URL" ] || set -- "$@" --release-url "$RELEASE_URL"
	[ "$ARCHIVAL" != true ] || set -- "$@" --archival
	"$@"
}

# The node's unit, nearup-NETWORK.service (nearup service install: Type=notify,
# watchdog, restarts). Written on both paths; enabled only under systemd.
install_node_unit() {
	set -- "$NEARUP" service install "$NETWORK"
	[ -z "$SERVICE_USER" ] || set -- "$@" --service-user "$SERVICE_USER"
	with_node_flags "$@" >/dev/null || die "nearup service install $NETWORK failed"
	say "wrote $SYSTEMD_DIR/$NODE_UNIT.service"
}

# start_node [STORE]: the node's first start. nearup run restores STORE's
# latest snapshot into a home without data (a home with data skips it), then
# starts neard under its supervisor (detached) and waits until it answers.
start_node() {
	store=${1-}
	set -- as_user "$NEARUP" run "$NETWORK" --ready-timeout "$READY_TIMEOUT"
	if [ -n "$store" ]; then
		set -- "$@" --from-snapshot "$store"
		for u in $VERIFY_WITH; do
			set -- "$@" --verify-with "$u"
		done
		[ -z "$VERIFY_QUORUM" ] || set -- "$@" --verify-quorum "$VERIFY_QUORUM"
	fi
	with_node_flags "$@" || die "nearup run $NETWORK failed; the node is not running"
}

# unit_word WORD: WORD as one word of an ExecStart= line (%, $ and \ are
# special there; the values hold no white space, the variables see to that).
unit_word() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/%/%%/g' -e 's/\$/$$/g'; }

# write_file PATH: stdin into PATH (mode 0644) by a rename.
write_file() {
	mkdir -p "$(dirname "$1")" && cat >"$1.tmp" && chmod 0644 "$1.tmp" && mv -f "$1.tmp" "$1" ||
		die "cannot write $1"
}

# enable_units UNIT...: under systemd, reload it and start the units now and
# at every boot.
enable_units() {
	systemctl daemon-reload || die "systemctl daemon-reload failed"
	systemctl enable --now "$@" || die "systemctl enable --now $* failed"
	say "systemd runs $*"
}
