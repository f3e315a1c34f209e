# spm/: fedmigctl (the admin CLI) and fedmig-spm (the migration pilot).
CTL_OBJS := $(O)/spm/ctl_directory.o $(O)/spm/ctl_request.o $(O)/spm/ctl_report.o $(O)/spm/ctl_json.o $(O)/spm/ctl_agent.o \
	$(O)/spm/ctl_dirsync.o $(O)/spm/ctl_source.o $(O)/spm/ctl_prestage.o \
	$(O)/spm/ctl_viewer.o $(O)/spm/ctl_top.o $(O)/spm/ctl_frontend.o $(O)/spm/ctl_store.o
PROGRAMS += $(O)/spm/fedmigctl
$(O)/spm/fedmigctl: $(O)/spm/fedmigctl.o $(CTL_OBJS) $(O)/spm/libspm.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS)
MANPAGES += man/fedmigctl.1

# fedmig-spm: the pilot's modules in libspm.a for tests and fuzz targets.
SPM_OBJS := $(O)/spm/pilot.o $(O)/spm/pilot_ws.o $(O)/spm/pilot_prestage.o $(O)/spm/switch.o $(O)/spm/switch_group.o $(O)/spm/drain.o $(O)/spm/driver.o $(O)/spm/drv_dovecot.o $(O)/spm/drv_exec.o $(O)/spm/drv_none.o $(O)/spm/postfix.o $(O)/spm/pq.o $(O)/spm/run.o $(O)/spm/fe_pilot.o \
	$(O)/spm/dirsync.o $(O)/spm/dirsync_up.o $(O)/spm/dirsync_incr.o $(O)/spm/dirsync_down.o $(O)/spm/dirsync_spm.o
PART_LIBS += $(O)/spm/libspm.a
$(O)/spm/libspm.a: $(SPM_OBJS)
PROGRAMS += $(O)/spm/fedmig-spm
$(O)/spm/fedmig-spm: $(O)/spm/spm.o $(O)/spm/libspm.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS)
MANPAGES += man/fedmig-spm.8
UNIT_TESTS += $(O)/tests/unit/test_spm_pq $(O)/tests/unit/test_spm_store $(O)/tests/unit/test_spm_driver \
	$(O)/tests/unit/test_ctl_json $(O)/tests/unit/test_spm_lock \
	$(O)/tests/unit/test_ctl_store $(O)/tests/unit/test_spm_pf
FUZZ_TARGETS += tests/fuzz/fuzz_spm_pq.c
$(O)/tests/unit/test_spm_pq.o $(O)/tests/unit/test_spm_store.o $(O)/tests/unit/test_spm_driver.o \
	$(O)/tests/unit/test_ctl_json.o $(O)/tests/unit/test_spm_lock.o $(O)/tests/unit/test_ctl_store.o \
	$(O)/tests/unit/test_spm_pf.o $(O)/tests/fuzz/fuzz_spm_pq.o: \
	ALL_CFLAGS += -Ispm
# test_ctl_store includes fedmigctl.c, whose command table is in CTL_OBJS.
$(O)/tests/unit/test_ctl_store: $(O)/tests/unit/test_ctl_store.o $(CTL_OBJS) $(PART_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(CTL_OBJS) $(PART_LIBS) $(LIBFEDMIG) $(CHECK_LIBS) $(EXT_LIBS)
# spm_crash and zero_loss run in the plain build only (README): slow, and
# their code runs under the sanitizers in the other lab tests.
INTEG_TESTS += $(if $(SANITIZE),,tests/integ/spm_crash.sh)
INTEG_TESTS += tests/integ/spm_switch_lab.sh
INTEG_TESTS += tests/integ/plus_lab.sh
INTEG_TESTS += tests/integ/spm_copy_lab.sh
INTEG_TESTS += tests/integ/spm_kill_lab.sh
INTEG_TESTS += tests/integ/group_switch.sh
INTEG_TESTS += tests/integ/spm_rollback_lab.sh
INTEG_TESTS += tests/integ/spm_fail_lab.sh
INTEG_TESTS += tests/integ/spm_hostile_lab.sh
INTEG_TESTS += tests/integ/ctl_addresses.sh
INTEG_TESTS += tests/integ/spm_drain_lab.sh
INTEG_TESTS += tests/integ/spm_after_lab.sh
INTEG_TESTS += tests/integ/prestage_pilot.sh
# bench/spm: a due pass on a large store (bench/spm_pass), switches under load.
BENCHES += bench/spm
$(O)/bench/spm_pass: $(O)/bench/spm_pass.o $(O)/spm/libspm.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS)
$(O)/bench/spm_pass.o: ALL_CFLAGS += -Ispm
INTEG_TESTS += tests/integ/spm_privfiles.sh
INTEG_TESTS += tests/integ/spm_helper_death.sh
INTEG_TESTS += tests/integ/spm_drain_retries.sh
INTEG_TESTS += tests/integ/spm_drain_partial.sh
INTEG_TESTS += tests/integ/spm_sweep_store_err.sh
INTEG_TESTS += tests/integ/group_drain_fail.sh
INTEG_TESTS += tests/integ/group_switch_window.sh
# fedmig-apid: the agent API (HTTPS). Its parsers in libapid.a for the
# tests and fuzz targets; they take imap_date_parse from libsmd.a, so
# these link their libraries in that order.
APID_OBJS := $(O)/spm/apid_frame.o $(O)/spm/apid_json.o $(O)/spm/apid_ws_json.o $(O)/spm/apid_ws_step.o
APID_LIBS := $(O)/spm/libapid.a $(O)/smd/libsmd.a
$(O)/spm/libapid.a: $(APID_OBJS)
$(APID_OBJS) $(O)/spm/apid.o $(O)/spm/apid_http.o $(O)/spm/apid_api.o $(O)/spm/apid_task.o \
	$(O)/spm/apid_upload.o $(O)/spm/apid_ws.o: ALL_CFLAGS += -Ismd $(MHD_CFLAGS)
PROGRAMS += $(O)/spm/fedmig-apid
$(O)/spm/fedmig-apid: $(O)/spm/apid.o $(O)/spm/apid_http.o $(O)/spm/apid_api.o $(O)/spm/apid_task.o \
	$(O)/spm/apid_upload.o $(O)/spm/apid_ws.o $(APID_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MHD_LIBS) $(EXT_LIBS)
MANPAGES += man/fedmig-apid.8
UNIT_TESTS += $(O)/tests/unit/test_apid_frame $(O)/tests/unit/test_ws_api
$(O)/tests/unit/test_apid_frame.o $(O)/tests/fuzz/fuzz_apid_frame.o $(O)/tests/fuzz/fuzz_apid_json.o \
	$(O)/tests/unit/test_ws_api.o $(O)/tests/fuzz/fuzz_apid_ws.o: ALL_CFLAGS += -Ispm -Ismd $(MHD_CFLAGS)
$(O)/tests/unit/test_apid_frame $(O)/tests/unit/test_ws_api: $(O)/tests/unit/%: $(O)/tests/unit/%.o \
	$(APID_LIBS) $(PART_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(APID_LIBS) $(PART_LIBS) $(LIBFEDMIG) $(CHECK_LIBS) $(EXT_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_apid_frame.c tests/fuzz/fuzz_apid_json.c tests/fuzz/fuzz_apid_ws.c
$(O)/tests/fuzz/fuzz_apid_frame $(O)/tests/fuzz/fuzz_apid_json $(O)/tests/fuzz/fuzz_apid_ws: $(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(APID_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(EXT_LIBS)
INTEG_TESTS += tests/integ/apid_basic.sh tests/integ/ws_api.sh
# Directory drivers (dirdrv.h): ldap (libldap), passwd-file, exec. Every
# program and test that links libspm.a links libldap too; DIRDRV_LIBS is
# that flag for a program that takes the drivers (fedmigctl).
DIRDRV_OBJS := $(O)/spm/dirdrv.o $(O)/spm/dirrec.o $(O)/spm/dirdrv_exec.o $(O)/spm/dirdrv_file.o \
	$(O)/spm/dirdrv_ldap.o $(O)/spm/dirdrv_ldap_map.o $(O)/spm/dirdrv_ldap_sync.o \
	$(O)/spm/dirdrv_ldap_contact.o
$(O)/spm/libspm.a: $(DIRDRV_OBJS)
DIRDRV_LIBS := $(LDAP_LIBS)
$(DIRDRV_OBJS): ALL_CFLAGS += $(LDAP_CFLAGS)
$(O)/spm/fedmig-spm $(O)/spm/fedmigctl $(O)/bench/spm_pass $(O)/tests/unit/% $(O)/tests/fuzz/%: EXT_LIBS += $(DIRDRV_LIBS)
UNIT_TESTS += $(O)/tests/unit/test_dirrec $(O)/tests/unit/test_dirdrv_ldap
$(O)/tests/unit/test_dirrec.o $(O)/tests/unit/test_dirdrv_ldap.o $(O)/tests/fuzz/fuzz_dirrec.o \
	$(O)/tests/fuzz/fuzz_dir_ldap_entry.o: ALL_CFLAGS += -Ispm $(LDAP_CFLAGS)
FUZZ_TARGETS += tests/fuzz/fuzz_dirrec.c tests/fuzz/fuzz_dir_ldap_entry.c
# tests/dirdrv_cli: the driver calls from a shell, for tests/integ/dirdrv_ldap.sh.
INTEG_TESTS += tests/integ/dirdrv_ldap.sh
check: $(O)/tests/dirdrv_cli
$(O)/tests/dirdrv_cli: $(O)/tests/dirdrv_cli.o $(O)/spm/libspm.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS) $(DIRDRV_LIBS)
$(O)/tests/dirdrv_cli.o: ALL_CFLAGS += -Ispm
# The directory sync engine against a fake driver from memory (not
# libspm's stand-in: fake_dirdrv.o comes first and defines dirdrv.h).
UNIT_TESTS += $(O)/tests/unit/test_dirsync
$(O)/tests/unit/test_dirsync.o $(O)/tests/unit/fake_dirdrv.o: ALL_CFLAGS += -Ispm
$(O)/tests/unit/test_dirsync: $(O)/tests/unit/test_dirsync.o $(O)/tests/unit/fake_dirdrv.o $(PART_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(O)/tests/unit/fake_dirdrv.o $(PART_LIBS) $(LIBFEDMIG) $(CHECK_LIBS) $(EXT_LIBS)
INTEG_TESTS += tests/integ/dirsync_lab.sh
# The status page, /metrics and fedmigctl top (brief ST): the store's side
# in libfedmig (store_status, store_viewer), the builders and the query
# parser in libapid.a, the page's files embedded at build time.
$(LIBFEDMIG): $(O)/lib/store_status.o $(O)/lib/store_viewer.o
APID_STATUS_OBJS := $(O)/spm/apid_status_json.o $(O)/spm/apid_status_metrics.o $(O)/spm/apid_status_query.o
# apid_status.o (the HTTP side) too: fedmig-apid's apid_http.o pulls it in.
$(O)/spm/libapid.a: $(APID_STATUS_OBJS) $(O)/spm/apid_status.o
$(APID_STATUS_OBJS) $(O)/spm/apid_status.o: ALL_CFLAGS += $(MHD_CFLAGS)
STATUS_FILES := spm/status/status.html spm/status/status.css spm/status/status.js
$(O)/spm/status_assets.h: spm/status/embed.sh $(STATUS_FILES)
	@mkdir -p $(@D)
	sh spm/status/embed.sh $@ $(STATUS_FILES)
$(O)/spm/apid_status.o: $(O)/spm/status_assets.h
$(O)/spm/apid_status.o: ALL_CFLAGS += -I$(O)/spm
UNIT_TESTS += $(O)/tests/unit/test_status
$(O)/tests/unit/test_status.o $(O)/tests/fuzz/fuzz_status_query.o: ALL_CFLAGS += -Ispm $(MHD_CFLAGS)
$(O)/tests/unit/test_status: $(O)/tests/unit/test_status.o $(APID_LIBS) $(PART_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(APID_LIBS) $(PART_LIBS) $(LIBFEDMIG) $(CHECK_LIBS) $(EXT_LIBS)
FUZZ_TARGETS += tests/fuzz/fuzz_status_query.c
$(O)/tests/fuzz/fuzz_status_query: $(O)/tests/fuzz/fuzz_status_query.o $(APID_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(EXT_LIBS)
INTEG_TESTS += tests/integ/status_page.sh
# brief LM: /metrics with fedmig-policyd's lookup statistics file.
UNIT_TESTS += $(O)/tests/unit/test_status_lookups
$(O)/tests/unit/test_status_lookups.o: ALL_CFLAGS += -Ispm $(MHD_CFLAGS)
$(O)/tests/unit/test_status_lookups: $(O)/tests/unit/test_status_lookups.o $(APID_LIBS) $(PART_LIBS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(APID_LIBS) $(PART_LIBS) $(LIBFEDMIG) $(CHECK_LIBS) $(EXT_LIBS)
# One pilot leads (issue 18): fedmig-spm --standby waits for the lead.
$(LIBFEDMIG): $(O)/lib/store_lead.o
INTEG_TESTS += tests/integ/spm_standby.sh tests/integ/spm_standby_pg.sh
# Several Postfix front ends (issue 18): the store's side in libfedmig
# (store_fe), the pilot's orders in libspm (fe_pilot), the release worker.
$(LIBFEDMIG): $(O)/lib/store_fe.o

PROGRAMS += $(O)/spm/fedmig-frontend
$(O)/spm/fedmig-frontend: $(O)/spm/frontend.o $(O)/spm/libspm.a $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS) $(DIRDRV_LIBS)
MANPAGES += man/fedmig-frontend.8
UNIT_TESTS += $(O)/tests/unit/test_fe_store
INTEG_TESTS += tests/integ/fe_drain.sh
# Under the sanitizers only: the plain build runs the same lab on
# PostgreSQL (fe_switch_pg).
INTEG_TESTS += $(if $(SANITIZE),tests/integ/fe_switch_lab.sh)
INTEG_TESTS += $(if $(SANITIZE),,tests/integ/fe_switch_pg.sh)
