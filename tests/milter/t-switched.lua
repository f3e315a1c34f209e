-- Rule 4: a recipient switched after this transaction's MAIL FROM was
-- rewritten by cleanup to the old physical address: quarantine. Switched
-- before MAIL FROM: pass.
dofile(TESTDIR .. "/common.lua")
local conn = connect()
envelope(conn, "8D1E03", {"<carol@example.org>", "<bob@example.org>"})
wait_open(1)
-- The switch, as store_dir_switch records it, while the transaction is open.
sql("UPDATE directory SET system='s2', physical='bob@s2.example.org', held=0, " ..
	"switched_at=" .. now_us() .. ", request_id=43 WHERE access='bob@example.org';" ..
	"INSERT INTO formers(physical, access, since) VALUES('bob@s1.example.org', " ..
	"'bob@example.org', 0);")
expect(conn, SMFIR_CONTINUE, true, "switched after MAIL FROM")
check(mt.eom_check(conn, MT_QUARANTINE, "fedmig: request 43: <bob@example.org> held for migration"),
	"quarantine reason")
-- The next transaction began after the switch: it passes, by its access
-- address and by the former physical address alike.
mt.sleep(0.05)
envelope(conn, "5BEF01", {"<bob@example.org>"})
expect(conn, SMFIR_CONTINUE, false, "switched before MAIL FROM")
envelope(conn, "5BEF02", {"<bob@s1.example.org>", "<dave@example.org>"})
expect(conn, SMFIR_CONTINUE, false, "switched long before MAIL FROM")
mt.disconnect(conn)
