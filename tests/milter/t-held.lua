-- A held recipient: quarantined, the queue ID recorded for the release.
dofile(TESTDIR .. "/common.lua")
local conn = connect()
envelope(conn, "8D1E01", {"<Alice@Example.ORG>"})
expect(conn, SMFIR_CONTINUE, true, "held recipient")
check(mt.eom_check(conn, MT_QUARANTINE, "fedmig: request 42: <alice@example.org> held for migration"),
	"quarantine reason")
-- Its old physical address is held as well.
envelope(conn, "8D1E04", {"<alice@s1.example.org>"})
expect(conn, SMFIR_CONTINUE, true, "held physical address")
mt.disconnect(conn)
