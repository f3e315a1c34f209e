#include <unistd.h>

#include "log.h"
#include "retry.h"
#include "timeutil.h"

int smd_temp_note(struct smd_temp_log *t, const struct store *s, const char *what)
{
	long long now = time_mono_us();

	if (!store_err_temporary(s))
		return 0;
	if (t->last == 0 || now - t->last >= SMD_TEMP_LOG_US) {
		log_warn("%s: %s: a temporary database error; trying again shortly (said at most "
			 "once a minute)",
			 what, store_errmsg(s));
		t->last = now;
	}
	return 1;
}

int smd_job_finish(struct store *s, struct smd_job_key key, int ok, const char *reason,
		   long long retry_at, long long now)
{
	long long start = time_mono_us();
	useconds_t step = 100000;
	int rc;

	while ((rc = store_smd_finish(s, key, ok, reason, retry_at, now)) == STORE_ERR &&
	       store_err_temporary(s) && time_mono_us() - start < SMD_FINISH_WAIT_US) {
		usleep(step);
		if (step < 2000000)
			step *= 2;
	}
	if (rc == STORE_ERR)
		log_error(SMD_KEY_FMT ": the outcome cannot be written (%s): %s; the job stays "
			  "running until its lease or the next recovery queues it again",
			  SMD_KEY_ARGS(key), ok ? "done" : "not done", store_errmsg(s));
	return rc;
}
