# agent/: fedmig-agent, beside a source server: reads mailboxes (Maildir++ or
# IMAP through libsmd) and uploads them to fedmig-apid over HTTPS.
AGENT_OBJS := $(O)/agent/proto.o $(O)/agent/http.o $(O)/agent/maildir.o \
	$(O)/agent/src_maildir.o $(O)/agent/src_imap.o $(O)/agent/source.o $(O)/agent/batch.o \
	$(O)/agent/migrator.o $(O)/agent/guardian.o $(O)/agent/enrol.o
PROGRAMS += $(O)/agent/fedmig-agent
PART_LIBS += $(O)/agent/libagent.a
$(O)/agent/libagent.a: $(AGENT_OBJS)
$(AGENT_OBJS) $(O)/agent/main.o $(O)/agent/src_local.o $(O)/agent/ws_run.o \
	$(O)/agent/ws_steps.o $(O)/agent/ws_probe.o: ALL_CFLAGS += -Ismd $(CURL_CFLAGS)
$(O)/agent/fedmig-agent: $(O)/agent/main.o $(O)/agent/libagent.a $(O)/smd/libsmd.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS) $(CURL_LIBS)
MANPAGES += man/fedmig-agent.8

UNIT_TESTS += $(O)/tests/unit/test_agent_proto $(O)/tests/unit/test_agent_maildir \
	$(O)/tests/unit/test_agent_files
$(O)/tests/unit/test_agent_proto.o $(O)/tests/unit/test_agent_maildir.o $(O)/tests/unit/test_agent_files.o \
	$(O)/tests/fuzz/fuzz_agent_proto.o $(O)/tests/fuzz/fuzz_agent_maildir.o: \
	ALL_CFLAGS += -Iagent -Ismd
FUZZ_TARGETS += tests/fuzz/fuzz_agent_proto.c tests/fuzz/fuzz_agent_maildir.c
# test_agent_files reaches enrol.c, which talks HTTPS.
$(O)/tests/unit/test_agent_files: CHECK_LIBS += $(CURL_LIBS)

# The workstation (issue 14, groundwork): Thunderbird profiles, prefs.js,
# Local Folders. In libagent.a; the agent does not call them yet.
WS_OBJS := $(O)/agent/ws_file.o $(O)/agent/ws_prefs.o $(O)/agent/ws_prefs_acct.o \
	$(O)/agent/ws_prefs_edit.o $(O)/agent/ws_mbox.o $(O)/agent/ws_mbox_hdr.o \
	$(O)/agent/ws_folders.o $(O)/agent/ws_profile.o $(O)/agent/ws_check.o \
	$(O)/agent/ws_home.o $(O)/agent/src_local.o $(O)/agent/ws_proto.o \
	$(O)/agent/ws_probe.o $(O)/agent/ws_run.o $(O)/agent/ws_steps.o
$(O)/agent/libagent.a: $(WS_OBJS)
UNIT_TESTS += $(O)/tests/unit/test_ws_prefs $(O)/tests/unit/test_ws_mbox \
	$(O)/tests/unit/test_ws_profile $(O)/tests/unit/test_ws_folders $(O)/tests/unit/test_src_local
$(O)/tests/unit/test_src_local.o: ALL_CFLAGS += -Iagent -Ismd
UNIT_TESTS += $(O)/tests/unit/test_ws_proto
$(O)/tests/unit/test_ws_proto.o $(O)/tests/fuzz/fuzz_agent_ws.o: ALL_CFLAGS += -Iagent
FUZZ_TARGETS += tests/fuzz/fuzz_agent_ws.c
$(O)/tests/unit/test_ws_prefs.o $(O)/tests/fuzz/fuzz_ws_prefs.o $(O)/tests/unit/test_ws_mbox.o \
	$(O)/tests/fuzz/fuzz_ws_mbox.o $(O)/tests/unit/test_ws_profile.o $(O)/tests/unit/test_ws_folders.o: \
	ALL_CFLAGS += -Iagent
FUZZ_TARGETS += tests/fuzz/fuzz_ws_prefs.c tests/fuzz/fuzz_ws_mbox.c
INTEG_TESTS += tests/integ/ws_flow.sh
# bench/upload: the workstation upload against fedmig-smd -u (brief WB).
BENCHES += bench/upload
