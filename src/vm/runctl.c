/* runctl.c — pause holds, resume and end of a VM's vCPU threads (see runctl.h). */
#include "vm/runctl.h"

#include <errno.h>
#include <time.h>

void runctl_init(struct runctl *rc, void (*kick)(void *), void (*on_end)(void *), void *opaque)
{
	*rc = (struct runctl){
		.state = RUNCTL_CREATED, .kick = kick, .on_end = on_end, .opaque = opaque
	};
	pthread_mutex_init(&rc->lock, NULL);
	pthread_cond_init(&rc->cond, NULL);
}

void runctl_destroy(struct runctl *rc)
{
	pthread_mutex_destroy(&rc->lock);
	pthread_cond_destroy(&rc->cond);
}

void runctl_set_running(struct runctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	if (rc->state == RUNCTL_CREATED)
		rc->state = RUNCTL_RUNNING;
	pthread_mutex_unlock(&rc->lock);
}

void runctl_thread_enter(struct runctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	rc->running++;
	pthread_mutex_unlock(&rc->lock);
}

void runctl_thread_exit(struct runctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	rc->running--;
	pthread_cond_broadcast(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
}

/* Under the lock: the attention flag follows the holds and the end. */
static void update_attention(struct runctl *rc)
{
	__atomic_store_n(&rc->attention, rc->holds > 0 || rc->ended, __ATOMIC_RELEASE);
}

int runctl_hold(struct runctl *rc, int timeout_ms)
{
	struct timespec until;
	int ret = 0;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&rc->lock);
	if (rc->ended || (rc->state != RUNCTL_RUNNING && rc->state != RUNCTL_PAUSED)) {
		pthread_mutex_unlock(&rc->lock);
		return -EINVAL;
	}
	rc->holds++;
	update_attention(rc);
	pthread_mutex_unlock(&rc->lock);
	if (rc->kick)
		rc->kick(rc->opaque);
	pthread_mutex_lock(&rc->lock);
	while (rc->parked < rc->running && !rc->ended && !ret) {
		if (timeout_ms < 0)
			pthread_cond_wait(&rc->cond, &rc->lock);
		else if (pthread_cond_timedwait(&rc->cond, &rc->lock, &until) == ETIMEDOUT)
			ret = rc->parked < rc->running ? -ETIMEDOUT : 0;
	}
	pthread_mutex_unlock(&rc->lock);
	return ret;
}

void runctl_release(struct runctl *rc)
{
	pthread_mutex_lock(&rc->lock);
	if (rc->holds > 0)
		rc->holds--;
	update_attention(rc);
	pthread_cond_broadcast(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
}

int runctl_pause(struct runctl *rc)
{
	int ret;

	pthread_mutex_lock(&rc->lock);
	if (rc->state == RUNCTL_PAUSED) {
		pthread_mutex_unlock(&rc->lock);
		return 0;
	}
	ret = rc->state == RUNCTL_RUNNING && !rc->ended ? 0 : -EINVAL;
	if (!ret)
		rc->state = RUNCTL_PAUSED; /* a second pause now returns at once */
	pthread_mutex_unlock(&rc->lock);
	if (ret)
		return ret;
	return runctl_hold(rc, -1); /* -EINVAL only when it ended meanwhile */
}

int runctl_resume(struct runctl *rc)
{
	int ret = 0;

	pthread_mutex_lock(&rc->lock);
	if (rc->state == RUNCTL_PAUSED && !rc->ended) {
		rc->state = RUNCTL_RUNNING;
		if (rc->holds > 0)
			rc->holds--;
		update_attention(rc);
		pthread_cond_broadcast(&rc->cond);
	} else if (rc->state != RUNCTL_RUNNING || rc->ended) {
		ret = -EINVAL;
	}
	pthread_mutex_unlock(&rc->lock);
	return ret;
}

void runctl_end(struct runctl *rc, int status, const char *reason, bool restart)
{
	pthread_mutex_lock(&rc->lock);
	if (rc->ended) {
		pthread_mutex_unlock(&rc->lock);
		return;
	}
	rc->ended = true;
	rc->restart = restart;
	rc->exit_status = status;
	rc->end_reason = reason;
	rc->state = RUNCTL_ENDED;
	update_attention(rc);
	pthread_cond_broadcast(&rc->cond);
	pthread_mutex_unlock(&rc->lock);
	if (rc->kick)
		rc->kick(rc->opaque);
	if (rc->on_end)
		rc->on_end(rc->opaque);
}

bool runctl_check(struct runctl *rc, bool *parked)
{
	bool go;

	/* The hot path: nothing asked of the vCPUs, no lock taken. */
	if (!__atomic_load_n(&rc->attention, __ATOMIC_ACQUIRE))
		return true;
	pthread_mutex_lock(&rc->lock);
	if (rc->holds > 0 && !rc->ended) {
		rc->parked++;
		*parked = true;
		pthread_cond_broadcast(&rc->cond);
		while (rc->holds > 0 && !rc->ended)
			pthread_cond_wait(&rc->cond, &rc->lock);
		*parked = false;
		rc->parked--;
	}
	go = !rc->ended;
	pthread_mutex_unlock(&rc->lock);
	return go;
}

bool runctl_is_parked(struct runctl *rc, const bool *parked)
{
	bool p;

	pthread_mutex_lock(&rc->lock);
	p = *parked;
	pthread_mutex_unlock(&rc->lock);
	return p;
}

enum runctl_state runctl_state(struct runctl *rc)
{
	enum runctl_state s;

	pthread_mutex_lock(&rc->lock);
	s = rc->state;
	pthread_mutex_unlock(&rc->lock);
	return s;
}

unsigned runctl_parked(struct runctl *rc)
{
	unsigned n;

	pthread_mutex_lock(&rc->lock);
	n = rc->parked;
	pthread_mutex_unlock(&rc->lock);
	return n;
}
