/*
 * blk_threads.c — the fallback block engine: a few worker threads run each
 * request to the end with blocking calls (blk_req_run_sync) and hand it back
 * to the loop thread through the backend's eventfd.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "backends/blk/blk_engine.h"
#include "confine/seccomp.h"
#include "util/log.h"

#define BLK_THREADS 4

struct blk_threads {
	pthread_t th[BLK_THREADS];
	unsigned nthreads;
	pthread_mutex_t lock; /* queue, done, stop */
	pthread_cond_t cond;
	struct blk_req *q_head, *q_tail;
	struct blk_req *done;
	bool stop;
	struct blk_backend *b;
};

static void *worker(void *arg)
{
	struct blk_threads *t = arg;
	struct blk_req *r;
	int ret;

	pthread_setname_np(pthread_self(), "blk-worker");
	ret = confine_thread(CONFINE_IO, "blk-worker");
	if (ret) {
		/* Unreachable once confine_setup built the filter; never run unconfined. */
		log_error("blk: cannot install the I/O thread's seccomp filter: %s",
			  strerror(-ret));
		abort();
	}
	pthread_mutex_lock(&t->lock);
	for (;;) {
		while (!t->q_head && !t->stop)
			pthread_cond_wait(&t->cond, &t->lock);
		if (!t->q_head)
			break; /* stop, and nothing left */
		r = t->q_head;
		t->q_head = r->next;
		if (!t->q_head)
			t->q_tail = NULL;
		pthread_mutex_unlock(&t->lock);

		r->result = blk_req_run_sync(t->b, r);

		pthread_mutex_lock(&t->lock);
		r->next = t->done;
		t->done = r;
		blk_engine_signal(t->b);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

static void threads_fini(struct blk_backend *b)
{
	struct blk_threads *t = b->engine;

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	for (unsigned i = 0; i < t->nthreads; i++)
		pthread_join(t->th[i], NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
	b->engine = NULL;
}

static int threads_init(struct blk_backend *b)
{
	struct blk_threads *t;
	sigset_t all, old;
	int ret = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->b = b;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	b->engine = t;

	/* Workers take no signals but SIGSYS (their filter's): the rest are the others'. */
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned i = 0; i < BLK_THREADS; i++) {
		ret = -pthread_create(&t->th[i], NULL, worker, t);
		if (ret < 0)
			break;
		t->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0)
		threads_fini(b);
	return ret;
}

static int threads_start(struct blk_backend *b, struct blk_req *r)
{
	struct blk_threads *t = b->engine;

	pthread_mutex_lock(&t->lock);
	r->next = NULL;
	if (t->q_tail)
		t->q_tail->next = r;
	else
		t->q_head = r;
	t->q_tail = r;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static unsigned threads_reap(struct blk_backend *b, struct blk_req **done)
{
	struct blk_threads *t = b->engine;
	struct blk_req *list, *last = NULL;
	unsigned n = 0;

	pthread_mutex_lock(&t->lock);
	list = t->done;
	t->done = NULL;
	pthread_mutex_unlock(&t->lock);
	for (struct blk_req *r = list; r; r = r->next) {
		last = r;
		n++;
	}
	if (last) {
		last->next = *done;
		*done = list;
	}
	return n;
}

const struct blk_engine_ops blk_engine_threads = {
	.name = "threads",
	.init = threads_init,
	.start = threads_start,
	.reap = threads_reap,
	.fini = threads_fini,
};
