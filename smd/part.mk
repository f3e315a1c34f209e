# fedmig-smd: the data mover.
SMD_OBJS := $(O)/smd/imap_parse.o $(O)/smd/imap_event.o $(O)/smd/imap.o $(O)/smd/imap_io.o \
	$(O)/smd/imap_net.o $(O)/smd/imap_login.o $(O)/smd/drv_imap.o $(O)/smd/drv_buffer.o $(O)/smd/buffer_job.o $(O)/smd/copy.o \
	$(O)/smd/copy_util.o \
	$(O)/smd/copy_folders.o $(O)/smd/copy_open.o $(O)/smd/copy_journal.o \
	$(O)/smd/copy_stream.o $(O)/smd/copy_verify.o $(O)/smd/copy_delta.o $(O)/smd/copy_fast.o $(O)/smd/copy_tree.o $(O)/smd/copy_move.o $(O)/smd/settings.o \
	$(O)/smd/master.o $(O)/smd/lock.o $(O)/smd/lease.o $(O)/smd/retry.o $(O)/smd/throttle.o
# The delta pass (issue 17): CONDSTORE/QRESYNC, the three-way rule.
SMD_OBJS += $(O)/smd/delta_rule.o $(O)/smd/delta_cmd.o $(O)/smd/delta.o
# Contacts and calendars: the DAV client and the sync engine (pim_sync.h),
# and the formats (pim_item.h): vCard content lines, iCalendar through
# libical, photos through libgd, the content hash. Every program and test
# that links libsmd links libcurl, libxml2, libical and libgd too.
PIM_OBJS := $(O)/smd/dav_xml.o $(O)/smd/dav.o $(O)/smd/pim_sync.o $(O)/smd/pim_sync_dav.o \
	$(O)/smd/pim_sync_list.o $(O)/smd/pim_sync_coll.o $(O)/smd/pim_sync_decide.o \
	$(O)/smd/pim_sync_write.o $(O)/smd/pim_sync_back.o
PIM_FMT_OBJS := $(O)/smd/vcard.o $(O)/smd/vcard_conv.o $(O)/smd/pim_hash.o \
	$(O)/smd/pim_photo.o $(O)/smd/ical_norm.o $(O)/smd/pim_item.o
SMD_OBJS += $(PIM_OBJS) $(PIM_FMT_OBJS)
$(PIM_OBJS): ALL_CFLAGS += $(CURL_CFLAGS) $(LIBXML2_CFLAGS)
$(O)/smd/ical_norm.o: ALL_CFLAGS += $(LIBICAL_CFLAGS)
$(O)/smd/pim_photo.o: ALL_CFLAGS += $(GD_CFLAGS)
PIM_LIBS := $(CURL_LIBS) $(LIBXML2_LIBS) $(LIBICAL_LIBS) $(GD_LIBS)
$(LIBFEDMIG): $(O)/lib/store_pim.o
PROGRAMS += $(O)/smd/fedmig-smd
PART_LIBS += $(O)/smd/libsmd.a
$(O)/smd/libsmd.a: $(SMD_OBJS)
$(O)/smd/fedmig-smd: $(O)/smd/main.o $(O)/smd/libsmd.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS)

# The store's SMD tables (lib/store_smd.c) belong to this part but live in
# libfedmig, so fedmig-spm can enqueue.
$(LIBFEDMIG): $(O)/lib/store_smd.o $(O)/lib/store_throttle.o


UNIT_TESTS += $(O)/tests/unit/test_imap_parse $(O)/tests/unit/test_imap_q \
	$(O)/tests/unit/test_smd_fetch $(O)/tests/unit/test_imap_condstore
FUZZ_TARGETS += tests/fuzz/fuzz_imap_parse.c
BENCHES += bench/smd
$(O)/tests/unit/test_imap_parse.o $(O)/tests/unit/test_imap_q.o \
	$(O)/tests/unit/test_smd_fetch.o $(O)/tests/fuzz/fuzz_imap_parse.o \
	$(O)/tests/unit/test_imap_condstore.o: ALL_CFLAGS += -Ismd
MANPAGES += man/fedmig-smd.8
INTEG_TESTS += tests/integ/smd_copy.sh tests/integ/smd_flags.sh tests/integ/smd_recover.sh \
	tests/integ/smd_buffer.sh tests/integ/pim_smd.sh
# Slow, and most telling under the sanitizers (hostile input, crash
# recovery, the delta passes): there only, to keep CI under an hour.
INTEG_TESTS += $(if $(SANITIZE),tests/integ/smd_crash.sh tests/integ/smd_hostile.sh \
	tests/integ/delta_lab.sh)
BENCHES += bench/smd_folders bench/prestage
# The copy engine against in-process fake IMAP servers (no lab).
UNIT_TESTS += $(O)/tests/unit/test_copy_engine
# test_copy_tree: folder renames, deletes, subscriptions and moves of a
# delta pass (smd/copy_tree.h, smd/copy_move.h); copy_env.c is shared.
COPY_ENV_OBJS = $(O)/tests/unit/copy_env.o $(O)/tests/unit/fake_imap.o \
	$(O)/tests/unit/fake_imap_cs.o $(O)/tests/unit/fake_imap_tree.o
UNIT_TESTS += $(O)/tests/unit/test_copy_tree
$(O)/tests/unit/test_copy_engine $(O)/tests/unit/test_copy_tree: $(COPY_ENV_OBJS)
$(O)/tests/unit/test_copy_engine $(O)/tests/unit/test_copy_tree: CHECK_LIBS += $(COPY_ENV_OBJS) \
	$(O)/tests/libtestutil.a $(O)/smd/libsmd.a $(O)/lib/libfedmig.a
$(O)/tests/unit/test_copy_engine.o $(O)/tests/unit/test_copy_tree.o $(O)/tests/unit/copy_env.o \
	$(O)/tests/unit/fake_imap.o: ALL_CFLAGS += -Ismd
# The IMAP driver (driver.h) against the same fake server.
UNIT_TESTS += $(O)/tests/unit/test_drv_imap
$(O)/tests/unit/test_drv_imap: $(O)/tests/unit/fake_imap.o $(O)/tests/unit/fake_imap_cs.o $(O)/tests/unit/fake_imap_tree.o
$(O)/tests/unit/test_drv_imap: CHECK_LIBS += $(O)/tests/unit/fake_imap.o $(O)/tests/unit/fake_imap_cs.o $(O)/tests/unit/fake_imap_tree.o
$(O)/tests/unit/test_drv_imap.o: ALL_CFLAGS += -Ismd
# The agent data buffer's driver (drv_buffer.h), alone and under the copy engine.
UNIT_TESTS += $(O)/tests/unit/test_drv_buffer
$(O)/tests/unit/test_drv_buffer: $(O)/tests/unit/fake_imap.o $(O)/tests/unit/fake_imap_cs.o $(O)/tests/unit/fake_imap_tree.o
$(O)/tests/unit/test_drv_buffer: CHECK_LIBS += $(O)/tests/unit/fake_imap.o $(O)/tests/unit/fake_imap_cs.o $(O)/tests/unit/fake_imap_tree.o
$(O)/tests/unit/test_drv_buffer.o: ALL_CFLAGS += -Ismd
FUZZ_TARGETS += tests/fuzz/fuzz_drv_buffer.c
$(O)/tests/fuzz/fuzz_drv_buffer.o: ALL_CFLAGS += -Ismd
$(O)/smd/fedmig-smd $(O)/spm/fedmig-apid $(O)/agent/fedmig-agent: EXT_LIBS += $(PIM_LIBS)
$(O)/tests/unit/%: EXT_LIBS += $(PIM_LIBS)
$(O)/tests/fuzz/%: EXT_LIBS += $(PIM_LIBS)
UNIT_TESTS += $(O)/tests/unit/test_vcard $(O)/tests/unit/test_pim_item
$(O)/tests/unit/test_vcard.o $(O)/tests/unit/test_pim_item.o: ALL_CFLAGS += -Ismd $(GD_CFLAGS)
FUZZ_TARGETS += tests/fuzz/fuzz_vcard.c tests/fuzz/fuzz_ical.c
$(O)/tests/fuzz/fuzz_vcard.o $(O)/tests/fuzz/fuzz_ical.o: ALL_CFLAGS += -Ismd
# The WebDAV multistatus parser, the PIM tables.
UNIT_TESTS += $(O)/tests/unit/test_dav_xml $(O)/tests/unit/test_store_pim
$(O)/tests/unit/test_dav_xml.o: ALL_CFLAGS += -Ismd $(LIBXML2_CFLAGS)
FUZZ_TARGETS += tests/fuzz/fuzz_dav_xml.c
$(O)/tests/fuzz/fuzz_dav_xml.o: ALL_CFLAGS += -Ismd $(LIBXML2_CFLAGS)
# Per-source throttling (smd/throttle.h, lib/store_throttle.h).
UNIT_TESTS += $(O)/tests/unit/test_throttle
$(O)/tests/unit/test_throttle.o $(O)/tests/fuzz/fuzz_throttle.o: ALL_CFLAGS += -Ismd
FUZZ_TARGETS += tests/fuzz/fuzz_throttle.c
# Under the sanitizers only, to keep CI under an hour.
INTEG_TESTS += $(if $(SANITIZE),tests/integ/throttle_lab.sh)
INTEG_TESTS += tests/integ/smd_workers.sh $(if $(SANITIZE),,tests/integ/smd_workers_pg.sh)
# The delta pass (issue 17): the rule alone; the pass against the fake server.
UNIT_TESTS += $(O)/tests/unit/test_delta_rule $(O)/tests/unit/test_delta
$(O)/tests/unit/test_delta: $(O)/tests/unit/fake_imap.o $(O)/tests/unit/fake_imap_cs.o $(O)/tests/unit/fake_imap_tree.o
$(O)/tests/unit/test_delta: CHECK_LIBS += $(O)/tests/unit/fake_imap.o $(O)/tests/unit/fake_imap_cs.o $(O)/tests/unit/fake_imap_tree.o
$(O)/tests/unit/test_delta_rule.o $(O)/tests/unit/test_delta.o \
	$(O)/tests/unit/fake_imap_cs.o: ALL_CFLAGS += -Ismd
# Several copy workers (issue 18): claims with leases (lib/store_smd.h).
UNIT_TESTS += $(O)/tests/unit/test_smd_lease
$(O)/tests/unit/test_smd_lease.o: ALL_CFLAGS += -Ismd
