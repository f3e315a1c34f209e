#!/usr/bin/env bash
# Root-run code and files a less privileged user could plant: fedmig-spm
# refuses a symbolic link, a hard link or a FIFO as its lock file and a
# run directory owned by another user or writable by others, with a clear
# error and without touching the link's target; a daemon's unix socket
# replaces a link planted at its path instead of chmod/chown-ing through
# it. Needs root (the ownership cases are about root).
set -u
# shellcheck source=tests/lab/lib.sh
. "$(dirname "$0")/../lab/lib.sh"
SPM=$B/spm/fedmig-spm POLICYD=$B/policyd/fedmig-policyd
[ -x "$SPM" ] && [ -x "$POLICYD" ] || { echo "build first"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
pid=""
stop_daemon() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; }
fakepf_tmp spm_privfiles stop_daemon

fakepf_tree "$T" || exit 1
{
	fakepf_conf "$T"
	cat <<CONF
policy_socket =
socketmap_socket = unix:$T/sock/socketmap
systems = s1
s1_domain = s1.example.org
s1_driver = none
CONF
} >"$T/fedmig.conf"
"$CTL" -c "$T/fedmig.conf" check >/dev/null 2>&1
chmod 0666 "$T"/fedmig.db*
spm() { timeout 60 "$SPM" -c "$T/fedmig.conf" -f --once >"$T/out" 2>&1; }

# 0. the good case runs
spm || { bad "a clean run failed"; cat "$T/out"; }

# 0b. a pilot killed while its root helper is still starting (a loaded
#     machine: the forked child not yet scheduled): the restarted pilot
#     must not be refused by the helper ("already running").
FEDMIG_SPM_HELPER_DELAY_MS=3000 "$SPM" -c "$T/fedmig.conf" -f >"$T/daemon.out" 2>&1 &
dpid=$!
sleep 0.7
kill -9 $dpid; wait $dpid 2>/dev/null
spm || { bad "restart after a pilot killed during its helper's start refused"; cat "$T/out"; }
grep -q "already running" "$T/out" && bad "refused by its dead predecessor's helper"

# 1. a symbolic link as the lock file: refused, target untouched
echo "precious" >"$T/target"
rm -f "$T/run/fedmig-spm.lock"
ln -s "$T/target" "$T/run/fedmig-spm.lock"
spm && bad "started with a symlinked lock file"
grep -q "symbolic link" "$T/out" || { bad "no clear error for the symlinked lock"; cat "$T/out"; }
[ "$(cat "$T/target")" = precious ] || bad "the link's target was written"
rm -f "$T/run/fedmig-spm.lock"

# 2. a hard link, and a FIFO, as the lock file
ln "$T/target" "$T/run/fedmig-spm.lock"
spm && bad "started with a hard-linked lock file"
grep -q "not a plain file of ours" "$T/out" || { bad "no clear error for the hard link"; cat "$T/out"; }
[ "$(cat "$T/target")" = precious ] || bad "the hard link's target was written"
rm -f "$T/run/fedmig-spm.lock"
mkfifo "$T/run/fedmig-spm.lock"
spm && bad "started with a FIFO as the lock file"
grep -q "not a plain file of ours" "$T/out" || { bad "no clear error for the FIFO"; cat "$T/out"; }
rm -f "$T/run/fedmig-spm.lock"

# 3. a run directory owned by another user (not root, not fedmig_user)
chown daemon "$T/run"
spm && bad "accepted a run directory owned by daemon"
grep -q "owned by uid" "$T/out" || { bad "no clear error for the foreign run dir"; cat "$T/out"; }
chown root "$T/run"

# 4. writable by group or others without the sticky bit; a link as the dir
chmod 0777 "$T/run"
spm && bad "accepted a world-writable run directory"
grep -q "writable by group or others" "$T/out" || { bad "no clear error for mode 0777"; cat "$T/out"; }
chmod 1777 "$T/run"
spm || { bad "refused a sticky 1777 run directory"; cat "$T/out"; }
chmod 0755 "$T/run"
chown nobody "$T/run"
spm || { bad "refused a run directory owned by fedmig_user"; cat "$T/out"; }
chown root "$T/run"
mv "$T/run" "$T/run.real" && ln -s "$T/run.real" "$T/run"
spm && bad "accepted a symbolic link as the run directory"
rm "$T/run" && mv "$T/run.real" "$T/run"

# 5. a link planted at a daemon's socket path is replaced, not followed
mkdir -m 0755 "$T/sock"
ln -s "$T/target" "$T/sock/socketmap"
chmod 0644 "$T/target"
"$POLICYD" -c "$T/fedmig.conf" -f >"$T/policyd.log" 2>&1 &
pid=$!
for _ in $(seq 50); do [ -S "$T/sock/socketmap" ] && break; sleep 0.1; done
[ -S "$T/sock/socketmap" ] || { bad "policyd socket not created"; cat "$T/policyd.log"; }
[ "$(stat -c %a "$T/target")" = 644 ] && [ "$(stat -c %U "$T/target")" = root ] ||
	bad "chmod/chown went through the planted link: $(stat -c '%a %U' "$T/target")"
[ "$(cat "$T/target")" = precious ] || bad "target changed"
m=$(stat -c %a "$T/sock/socketmap")
[ "$m" = 660 ] || bad "socket mode $m, want socket_mode 0660 (the default)"
ls -a "$T/sock" | grep -q '^\.fedmig\.' && bad "private bind directory left behind"
kill $pid; wait $pid 2>/dev/null; pid=""

[ $fail = 0 ] && echo "PASS spm_privfiles"
exit $fail
