/*
 * test_evloop.c — the event loop's cross-thread call (evloop_call), which a
 * snapshot uses to hold the VM's device I/O still: the job runs on the loop
 * thread and never beside a handler, inline when no loop runs, and a job
 * queued as the loop stops still runs.
 */
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "harness.h"
#include "base/evloop.h"

struct loop_fixture {
	struct evloop *el;
	pthread_t loop_thread;
	int efd;
	int in_handler; /* atomic */
	int overlaps; /* a job saw a handler running */
	unsigned handled;
	unsigned jobs;
	pthread_t job_thread;
};

static struct loop_fixture lf;

static void *loop_main(void *arg)
{
	(void)arg;
	evloop_run(lf.el);
	return NULL;
}

static void busy_handler(void *opaque, uint32_t events)
{
	uint64_t v;

	(void)opaque, (void)events;
	__atomic_store_n(&lf.in_handler, 1, __ATOMIC_SEQ_CST);
	if (read(lf.efd, &v, sizeof(v)) < 0) {
		/* spurious */
	}
	__atomic_add_fetch(&lf.handled, 1, __ATOMIC_RELEASE);
	usleep(200);
	__atomic_store_n(&lf.in_handler, 0, __ATOMIC_SEQ_CST);
	v = 1;
	if (write(lf.efd, &v, sizeof(v)) < 0) { /* keep the loop busy */
	}
}

static void job(void *opaque)
{
	(void)opaque;
	if (__atomic_load_n(&lf.in_handler, __ATOMIC_SEQ_CST))
		lf.overlaps++;
	lf.job_thread = pthread_self();
	lf.jobs++;
}

static void start_loop(void)
{
	uint64_t one = 1;

	memset(&lf, 0, sizeof(lf));
	lf.el = evloop_create();
	lf.efd = eventfd(0, EFD_NONBLOCK);
	evloop_add(lf.el, lf.efd, EPOLLIN, busy_handler, NULL);
	if (write(lf.efd, &one, sizeof(one)) < 0) {
		/* the loop simply idles */
	}
	pthread_create(&lf.loop_thread, NULL, loop_main, NULL);
	/* the loop is running once its handler ran (however slow the host is) */
	while (!__atomic_load_n(&lf.handled, __ATOMIC_ACQUIRE))
		usleep(1000);
}

static void stop_loop(void)
{
	evloop_stop(lf.el);
	pthread_join(lf.loop_thread, NULL);
	evloop_destroy(lf.el);
	close(lf.efd);
}

TEST(evloop_call_runs_on_the_loop_thread_between_handlers)
{
	start_loop();
	for (int i = 0; i < 50; i++)
		evloop_call(lf.el, job, NULL);
	CHECK_EQ(lf.jobs, 50);
	CHECK_EQ(lf.overlaps, 0);
	CHECK(pthread_equal(lf.job_thread, lf.loop_thread));
	CHECK(__atomic_load_n(&lf.handled, __ATOMIC_ACQUIRE) > 0);
	stop_loop();
}

static void *caller(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20; i++)
		evloop_call(lf.el, job, NULL);
	return NULL;
}

TEST(evloop_call_from_several_threads_runs_every_job_once)
{
	pthread_t t[3];

	start_loop();
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, caller, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(lf.jobs, 60);
	CHECK_EQ(lf.overlaps, 0);
	stop_loop();
}

TEST(evloop_call_runs_inline_when_no_loop_runs)
{
	memset(&lf, 0, sizeof(lf));
	lf.el = evloop_create();
	evloop_call(lf.el, job, NULL);
	CHECK_EQ(lf.jobs, 1);
	CHECK(pthread_equal(lf.job_thread, pthread_self()));
	evloop_destroy(lf.el);
}

static void *stop_soon(void *arg)
{
	(void)arg;
	usleep(1000);
	evloop_stop(lf.el);
	return NULL;
}

TEST(evloop_call_survives_the_loop_stopping)
{
	pthread_t t;

	for (int round = 0; round < 20; round++) {
		start_loop();
		pthread_create(&t, NULL, stop_soon, NULL);
		for (int i = 0; i < 10; i++)
			evloop_call(lf.el, job, NULL); /* never hangs, whenever the loop stops */
		pthread_join(t, NULL);
		CHECK_EQ(lf.jobs, 10);
		pthread_join(lf.loop_thread, NULL);
		evloop_destroy(lf.el);
		close(lf.efd);
	}
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(evloop_call_runs_on_the_loop_thread_between_handlers)
	HARNESS_T(evloop_call_from_several_threads_runs_every_job_once)
	HARNESS_T(evloop_call_runs_inline_when_no_loop_runs)
	HARNESS_T(evloop_call_survives_the_loop_stopping)
)
// clang-format on
