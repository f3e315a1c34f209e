#!/usr/bin/env bash
# Nothing in tests/ or bench/ may read the host's Postfix or Dovecot
# configuration: every call of a Postfix or Dovecot command names its
# configuration with -c. A call without it works on a developer's machine
# and fails (or worse, reads a production main.cf) elsewhere, e.g. on a
# Debian machine where Postfix was installed without configuration.
#
# Static: a shell call is the command word at a command position (line
# start, after ( | ; & or a wrapper's arguments) followed by an option, a
# quoted or $ argument, or a subcommand;
# a Python call is "cmd", in an argv list. A line that really needs no -c
# (a message, a for-list) says so with "host-config-lint: ok".
set -u
cd "${FEDMIG_SRC:-.}" || exit 1
cmds='postmap|postconf|postqueue|postsuper|postcat|postfix|postkick|postalias|postdrop|postlog|postmulti|sendmail|mailq|newaliases|doveadm|doveconf|dovecot'
# Words after postfix, postmulti and doveadm that start a call.
sub='start|stop|reload|check|status|flush|abort|set-permissions|upgrade-configuration|user|auth|mailbox|search|fetch|force-resync|backup|sync|import|expunge|quota|index|who|kick|log|stats|dump|acl|fs|instance|process|proxy|director|save|copy|move|altmove|purge|deduplicate|batch|pw|reload'
bad=0
while IFS= read -r hit; do
	echo "host_config_lint: $hit"
	bad=1
done < <(grep -rnP --exclude='*.md' --exclude='*.[ch]' --exclude=host_config_lint.sh \
	"(^|[\s(|;&])($cmds)\s+[-\"'\$]|(^|[\s(|;&])(postfix|postmulti|doveadm)\s+($sub)\b|[\[(]\s*[\"']($cmds)[\"']\s*," \
	tests bench |
	grep -vP '^[^:]+:[0-9]+:\s*#' |
	grep -vP "(^|[^\w-])($cmds)\s+-c\b|[\"']($cmds)[\"']\s*,\s*[\"']-c[\"']" |
	grep -vP "\s-[a-zA-Z]\s+($cmds)\s" |
	grep -v 'host-config-lint: ok')
[ $bad = 0 ] && echo "PASS host_config_lint"
exit $bad
