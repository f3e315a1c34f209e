# spm/: fedmigctl (the admin CLI) and fedmig-spm (the migration pilot).
CTL_OBJS := $(O)/spm/ctl_directory.o $(O)/spm/ctl_request.o
PROGRAMS += $(O)/spm/fedmigctl
$(O)/spm/fedmigctl: $(O)/spm/fedmigctl.o $(CTL_OBJS) $(LIBFEDMIG)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(EXT_LIBS)
MANPAGES += man/fedmigctl.1
