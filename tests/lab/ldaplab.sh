# shellcheck shell=bash
# fedmig test lab: private OpenLDAP servers (slapd) for the directory sync.
# Sourced by tests/lab/lab (uses its die, note, pid_is_ours, wait_gone);
# see README.md "LDAP". Each server lives in DIR/NAME:
#   slapd.d/   cn=config built offline with slapadd -n0 (never /etc/ldap/slapd.d)
#   db/        the mdb database of dc=NAME,dc=example,dc=org
#   rootpw     the password of cn=admin,dc=NAME,... and of cn=config (0600,
#              no newline: ldap tools' -y reads the whole file)
#   fedmig.pw  the password of cn=fedmig,dc=NAME,... (0600): the account
#              fedmig binds as (reads everything, writes below ou=fedmig)
#   slapd.pid, port, ldap.env (the LDAP_* lines of this server)
# The schemas come read-only from /etc/ldap/schema (package data). The
# ldap tools run with LDAPNOINIT=1 so the host's ldap.conf is never read.

LDAP_SCHEMA_DIR=${LAB_LDAP_SCHEMA_DIR:-/etc/ldap/schema}
LDAP_MODULE_DIR=${LAB_LDAP_MODULE_DIR:-/usr/lib/ldap}
SLAPD=${LAB_SLAPD:-/usr/sbin/slapd}
export LDAPNOINIT=1

ldap_check_name() {
	[[ $1 =~ ^[a-z][a-z0-9]{0,15}$ ]] || die "LDAP server name must match [a-z][a-z0-9]*: '$1'"
}

ldap_suffix() { printf 'dc=%s,dc=example,dc=org\n' "$1"; }

# A random password in a 0600 file, and its {SSHA} hash on stdout.
ldap_new_secret() {
	local f=$1
	(umask 077 && openssl rand -hex 16 | tr -d '\n' >"$f")
	chmod 0600 "$f"
	slappasswd -T "$f"
}

# cn=config: modules, schemas, the frontend, the config database (rootdn
# cn=config, so tests can change limits at run time) and the mdb database.
ldap_config_ldif() {
	local d=$1 name=$2 syncprov=$3 limit=$4 roothash=$5 suffix s
	suffix=$(ldap_suffix "$name")
	cat <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $d/slapd.pid
olcArgsFile: $d/slapd.args
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $LDAP_MODULE_DIR
olcModuleLoad: back_mdb
EOF
	[ "$syncprov" = 1 ] && echo "olcModuleLoad: syncprov"
	printf '\ndn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n'
	for s in core cosine inetorgperson nis misc; do
		[ -r "$LDAP_SCHEMA_DIR/$s.ldif" ] || die "missing $LDAP_SCHEMA_DIR/$s.ldif (is slapd installed?)"
		printf 'include: file://%s/%s.ldif\n\n' "$LDAP_SCHEMA_DIR" "$s"
	done
	cat <<EOF
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: ${limit:-unlimited}

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcRootDN: cn=config
olcRootPW: $roothash

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $d/db
olcSuffix: $suffix
olcRootDN: cn=admin,$suffix
olcRootPW: $roothash
olcDbMaxSize: 4294967296
olcDbIndex: objectClass eq
olcDbIndex: entryUUID,entryCSN eq
olcDbIndex: mail,uid eq
olcSizeLimit: ${limit:-unlimited}
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to dn.subtree="ou=fedmig,$suffix" by dn.exact="cn=fedmig,$suffix" write by * read
olcAccess: {2}to * by * read
EOF
	if [ "$syncprov" = 1 ]; then
		printf '\ndn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config\n'
		printf 'objectClass: olcOverlayConfig\nobjectClass: olcSyncProvConfig\n'
		printf 'olcOverlay: {0}syncprov\nolcSpCheckpoint: 100 5\nolcSpSessionlog: 10000\n'
	fi
}

# The base entries: the suffix, ou=people (accounts), ou=fedmig (the
# downward contacts) and cn=fedmig (the account fedmig binds as).
ldap_base_ldif() {
	local name=$1 fedhash=$2 suffix
	suffix=$(ldap_suffix "$name")
	cat <<EOF
dn: $suffix
objectClass: dcObject
objectClass: organization
dc: $name
o: fedmig lab $name

dn: ou=people,$suffix
objectClass: organizationalUnit
ou: people

dn: ou=fedmig,$suffix
objectClass: organizationalUnit
ou: fedmig

dn: cn=fedmig,$suffix
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: fedmig
userPassword: $fedhash
EOF
}

ldap_write_env() {
	local d=$1 name=$2 port=$3 up suffix
	up=$(tr '[:lower:]' '[:upper:]' <<<"$name")
	suffix=$(ldap_suffix "$name")
	cat >"$d/ldap.env" <<EOF
LDAP_$up=ldap://127.0.0.1:$port/
LDAP_${up}_PORT=$port
LDAP_${up}_BASE=$suffix
LDAP_${up}_PEOPLE=ou=people,$suffix
LDAP_${up}_CONTACTS=ou=fedmig,$suffix
LDAP_${up}_ADMIN_DN=cn=admin,$suffix
LDAP_${up}_ADMIN_PWFILE=$d/rootpw
LDAP_${up}_BIND_DN=cn=fedmig,$suffix
LDAP_${up}_BIND_PWFILE=$d/fedmig.pw
LDAP_${up}_DIR=$d
EOF
}

# Build DIR/NAME offline: cn=config and the base entries with slapadd.
ldap_build() {
	local d=$1 name=$2 port=$3 syncprov=$4 limit=$5 roothash fedhash
	mkdir -p "$d/slapd.d" "$d/db"
	chmod 0700 "$d/slapd.d" "$d/db"
	roothash=$(ldap_new_secret "$d/rootpw") || die "slappasswd failed"
	fedhash=$(ldap_new_secret "$d/fedmig.pw") || die "slappasswd failed"
	ldap_config_ldif "$d" "$name" "$syncprov" "$limit" "$roothash" >"$d/config.ldif"
	chmod 0600 "$d/config.ldif"
	slapadd -n0 -F "$d/slapd.d" -l "$d/config.ldif" >"$d/slapadd.log" 2>&1 ||
		{ cat "$d/slapadd.log" >&2; die "slapadd -n0 could not build $d/slapd.d"; }
	ldap_base_ldif "$name" "$fedhash" >"$d/base.ldif"
	slapadd -w -n1 -F "$d/slapd.d" -l "$d/base.ldif" >>"$d/slapadd.log" 2>&1 ||
		{ cat "$d/slapadd.log" >&2; die "slapadd -n1 could not load the base entries of $name"; }
	echo "$port" >"$d/port"
	ldap_write_env "$d" "$name" "$port"
}

ldap_pid() {
	local d=$1 pid
	pid=$(read_pidfile "$d/slapd.pid") || return 1
	pid_is_ours "$pid" "$d/slapd.d" || return 1
	echo "$pid"
}

# Wait until the server answers a root DSE search.
ldap_wait() {
	local d=$1 port=$2 deadline
	deadline=$((SECONDS + START_TIMEOUT))
	while ! ldapsearch -x -H "ldap://127.0.0.1:$port/" -b '' -s base -o nettimeout=2 1.1 >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] &&
			die "slapd in $d did not answer on 127.0.0.1:$port within ${START_TIMEOUT}s (see $d/slapd.log)"
		sleep 0.1
	done
}

# lab ldap DIR NAME [PORT] [--syncprov] [--size-limit N]: build (first
# time) and start; a second call starts the same server again on its port.
cmd_ldap() {
	local dir name port="" syncprov=0 limit="" d
	dir=$(abs_dir "${1:-}")
	name=${2:-}
	shift 2 || usage
	ldap_check_name "$name"
	while [ $# -gt 0 ]; do
		case $1 in
		--syncprov) syncprov=1; shift ;;
		--size-limit) limit=${2:-}; shift 2 || usage ;;
		[0-9]*) port=$1; shift ;;
		*) usage ;;
		esac
	done
	[ -z "$limit" ] || [[ $limit =~ ^[1-9][0-9]*$ ]] || die "--size-limit must be a positive number"
	[ "$(id -u)" = 0 ] || die "the lab must run as root"
	[ -x "$SLAPD" ] || die "no $SLAPD: apt-get install slapd ldap-utils"
	d=$dir/$name
	if [ -d "$d/slapd.d" ]; then
		[ -n "$port" ] || port=$(cat "$d/port")
	else
		if ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1024 ] || [ "$port" -gt 65535 ]; then
			die "PORT must be a number in 1024-65535 (never 389/636: the host's slapd may hold them)"
		fi
		mkdir -p "$d"
		ldap_build "$d" "$name" "$port" "$syncprov" "$limit"
	fi
	if ldap_pid "$d" >/dev/null; then
		note "slapd $name already runs in $d"
		return 0
	fi
	rm -f "$d/slapd.pid"
	# Root in the lab like Dovecot's master. Debian 12 loads no AppArmor
	# profile for slapd; where one is enforced (Ubuntu's), it confines slapd
	# to /etc/ldap and /var/lib/ldap and it could not read this tree.
	if grep -qs '^/usr/sbin/slapd (enforce)' /sys/kernel/security/apparmor/profiles; then
		die "an enforced AppArmor profile confines /usr/sbin/slapd: it cannot read $d (aa-complain /usr/sbin/slapd)"
	fi
	"$SLAPD" -h "ldap://127.0.0.1:$port/" -F "$d/slapd.d" 9>&- >>"$d/slapd.log" 2>&1 ||
		{ tail -n 20 "$d/slapd.log" >&2; die "slapd $name failed to start"; }
	ldap_wait "$d" "$port"
	echo "slapd $name up on ldap://127.0.0.1:$port/ in $d; source $d/ldap.env"
}

# lab ldap-stop DIR NAME [--kill]: stop one server by PID (SIGKILL with --kill).
cmd_ldap_stop() {
	local dir name d pid sig=TERM
	dir=$(abs_dir "${1:-}")
	name=${2:-}
	ldap_check_name "$name"
	[ "${3:-}" = --kill ] && sig=KILL
	d=$dir/$name
	pid=$(ldap_pid "$d") || { note "no slapd running in $d"; return 0; }
	kill "-$sig" "$pid"
	wait_gone "$STOP_TIMEOUT" "$pid" >/dev/null || die "slapd $name ($pid) did not stop"
	echo "slapd $name stopped"
}

# lab ldif DIR NAME add|modify|delete [--config]: LDIF (or DNs to delete)
# on stdin, applied as the admin (cn=config with --config).
cmd_ldif() {
	local dir name op d port binddn tool
	dir=$(abs_dir "${1:-}")
	name=${2:-}
	op=${3:-}
	ldap_check_name "$name"
	d=$dir/$name
	[ -r "$d/port" ] || die "no LDAP server $name in $dir"
	port=$(cat "$d/port")
	binddn=cn=admin,$(ldap_suffix "$name")
	[ "${4:-}" = --config ] && binddn=cn=config
	case $op in
	add) tool=ldapadd ;;
	modify) tool=ldapmodify ;;
	delete) tool=ldapdelete ;;
	*) usage ;;
	esac
	"$tool" -x -H "ldap://127.0.0.1:$port/" -D "$binddn" -y "$d/rootpw" -o nettimeout=10
}

# lab ldapuser DIR NAME LOCALPART [DISPLAYNAME [ALIAS...]]: an account
# uid=LOCALPART,ou=people: mail LOCALPART@example.org, aliases in
# mailLocalAddress (full addresses). LAB_LDAP_OU=ou=X puts it in
# uid=LOCALPART,ou=X,ou=people instead (a "post office" for group batches;
# the OU must exist).
cmd_ldapuser() {
	local dir=$1 name=$2 lp=$3 display=${4:-} a parent
	shift 4 2>/dev/null || shift $#
	[[ $lp =~ ^[a-z0-9][a-z0-9._+-]*$ ]] || die "bad local part: '$lp'"
	[ -n "$display" ] || display="User $lp"
	parent=ou=people,$(ldap_suffix "$name")
	if [ -n "${LAB_LDAP_OU:-}" ]; then
		[[ $LAB_LDAP_OU =~ ^ou=[A-Za-z0-9-]+$ ]] || die "LAB_LDAP_OU must be ou=NAME: '$LAB_LDAP_OU'"
		parent=$LAB_LDAP_OU,$parent
	fi
	{
		printf 'dn: uid=%s,%s\n' "$lp" "$parent"
		printf 'objectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\n'
		printf 'uid: %s\ncn: %s\nsn: %s\ndisplayName: %s\nmail: %s@%s\n' \
			"$lp" "$display" "$lp" "$display" "$lp" "$ACCESS_DOMAIN"
		for a in "$@"; do printf 'mailLocalAddress: %s\n' "$a"; done
	} | cmd_ldif "$dir" "$name" add >/dev/null
	echo "uid=$lp added to $name"
}

# "slapd-NAME PID" for each running server of the lab.
ldap_top_pids() {
	local dir=$1 d pid
	for d in "$dir"/*/slapd.d; do
		[ -d "$d" ] || continue
		d=${d%/slapd.d}
		pid=$(ldap_pid "$d") && echo "slapd-${d##*/} $pid"
	done
	return 0
}

# lab start DIR --ldap: one slapd per system (s1 with syncprov, s2
# without), the systems' directory keys in fedmig.conf and per-system
# credentials files (master_* plus ldap_password of cn=fedmig).
lab_start_ldap() {
	local dir=$1 port1=$2 port2=$3 s port sp up suffix cred
	for s in s1 s2; do
		if [ "$s" = s1 ]; then port=$port1 sp=--syncprov; else port=$port2 sp=; fi
		# shellcheck disable=SC2086  # sp is one word or none
		cmd_ldap "$dir" "$s" "$port" $sp >/dev/null
		suffix=$(ldap_suffix "$s")
		cred=$dir/$s/secrets
		(
			umask 077
			printf 'master_user = %s\nmaster_password = %s\nldap_password = %s\n' \
				"$MASTER_USER" "$MASTER_PASS" "$(cat "$dir/$s/fedmig.pw")" >"$cred"
		)
		chown fedmig:root "$cred"
		chmod 0600 "$cred"
		sed -i "s|^${s}_credentials = .*|${s}_credentials = $cred|" "$dir/fedmig.conf"
		cat >>"$dir/fedmig.conf" <<EOF
${s}_directory = ldap
${s}_ldap_uri = ldap://127.0.0.1:$port/
${s}_ldap_bind_dn = cn=fedmig,$suffix
${s}_ldap_base = $suffix
${s}_ldap_contact_base = ou=fedmig,$suffix
${s}_ldap_alias_attribute = mailLocalAddress
EOF
		up=$(tr '[:lower:]' '[:upper:]' <<<"$s")
		cat "$dir/$s/ldap.env" >>"$dir/lab.env.ldap"
		echo "LDAP_${up}_CREDENTIALS=$cred" >>"$dir/lab.env.ldap"
	done
}
