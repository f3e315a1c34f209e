-- Helpers for the fedmig-milter miltertest scenarios. The caller
-- (tests/integ/milter_scenarios.sh) defines with -D:
--   SOCKET  the milter's socket (unix:PATH)
--   STATUS  the status socket's PATH
--   DB      the state database, for the sqlite3 CLI
-- and runs one t-*.lua per miltertest process.

-- miltertest does not print a script's error: say it, then stop.
function fail(why)
	mt.echo("FAIL: " .. why)
	error("FAIL: " .. why, 2)
end

function check(cond, why)
	if not cond then
		fail(why)
	end
end

-- A fresh connection, negotiated; the milter must ask for quarantine and
-- skip the steps it does not use.
function connect()
	local conn = mt.connect(SOCKET, 20, 0.1)
	check(conn ~= nil, "connect to " .. SOCKET)
	check(mt.test_action(conn, SMFIF_QUARANTINE), "quarantine not requested")
	check(mt.test_option(conn, SMFIP_NOHDRS), "headers not negotiated away")
	check(mt.test_option(conn, SMFIP_NOBODY), "body not negotiated away")
	return conn
end

-- One envelope: MAIL FROM with the queue ID macro (Postfix sends {i} with
-- MAIL and at end of message), then the recipients. The milter takes only
-- IDs Postfix could make (lib/qid.h); the tests' short IDs spell their
-- part in hex: 8D1E held, 9A55 pass, AB0D aborted, 5A75 status, 5BEF
-- switched before, 7E39 tempfail, 11FE live.
function envelope(conn, qid, rcpts)
	if qid ~= nil then
		check(mt.macro(conn, SMFIC_MAIL, "i", qid) == nil, "macro i")
	end
	check(mt.mailfrom(conn, "<sender@elsewhere.net>") == nil, "mailfrom")
	for _, r in ipairs(rcpts) do
		check(mt.rcptto(conn, r) == nil, "rcptto " .. r)
	end
end

-- End of message; returns the reply and whether the milter quarantined.
function finish(conn)
	check(mt.eom(conn) == nil, "eom")
	return mt.getreply(conn), mt.eom_check(conn, MT_QUARANTINE)
end

-- A tempfail comes as a reply code (SMFIR_REPLYCODE: "451 4.3.0 ...", the
-- text Postfix gives the client). This miltertest's MT_SMTPREPLY check
-- dies, so only the reply type is checked.
function expect_tempfail(conn, what)
	local reply, q = finish(conn)
	check(reply == SMFIR_REPLYCODE, what .. ": reply " .. tostring(reply) .. ", want a 4xx reply")
	check(not q, what .. ": quarantined")
end

function expect(conn, want_reply, want_quarantine, what)
	local reply, q = finish(conn)
	check(reply == want_reply, what .. ": reply " .. tostring(reply) .. ", want " ..
		tostring(want_reply))
	check(q == want_quarantine, what .. ": quarantine " .. tostring(q) .. ", want " ..
		tostring(want_quarantine))
end

function shell(cmd)
	local f = io.popen(cmd)
	local out = f:read("*a")
	local ok = f:close()
	check(ok, "command failed: " .. cmd)
	return out
end

function now_us()
	return tonumber(shell("date +%s%6N"))
end

function sql(stmt)
	return shell("sqlite3 -cmd '.timeout 5000' '" .. DB .. "' \"" .. stmt .. "\"")
end

-- The status socket's line, parsed.
function status()
	local line = shell("python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX);" ..
		" s.connect(sys.argv[1]); sys.stdout.write(s.makefile().read())' '" .. STATUS .. "'")
	local oldest, open = string.match(line, "^oldest=(%d+) open=(%d+)\n$")
	check(oldest ~= nil, "status line: [" .. line .. "]")
	return tonumber(oldest), tonumber(open)
end

-- MAIL and RCPT get no reply (SMFIP_NR_*): wait until the milter has
-- taken the transactions in, as the status socket shows.
function wait_open(n)
	local oldest, open
	for _ = 1, 100 do
		oldest, open = status()
		if open == n then
			return oldest, open
		end
		mt.sleep(0.02)
	end
	fail("status: open=" .. open .. ", want " .. n)
end
