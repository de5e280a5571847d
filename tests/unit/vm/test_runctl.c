/*
 * test_runctl.c — the run control without KVM: fake vCPU threads that loop on
 * runctl_check() as vcpu.c does, and the holds, pauses and end that the API,
 * the vCPU dump and snapshots take.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "harness.h"
#include "vm/runctl.h"

#define NR_FAKE 3

struct fake_vcpus {
	struct runctl rc;
	pthread_t threads[NR_FAKE];
	bool parked[NR_FAKE];
	unsigned long laps[NR_FAKE]; /* atomic: loop iterations, i.e. "guest progress" */
	bool stuck; /* atomic: thread 0 ignores the run control (a vCPU busy in vmon) */
	int kicks;
};

static struct fake_vcpus fv;

static void fake_kick(void *opaque)
{
	(void)opaque;
	__atomic_add_fetch(&fv.kicks, 1, __ATOMIC_RELAXED);
}

static void *fake_vcpu(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	for (;;) {
		while (i == 0 && __atomic_load_n(&fv.stuck, __ATOMIC_ACQUIRE))
			usleep(100);
		if (!runctl_check(&fv.rc, &fv.parked[i]))
			break;
		__atomic_add_fetch(&fv.laps[i], 1, __ATOMIC_RELAXED);
		usleep(50);
	}
	runctl_thread_exit(&fv.rc);
	return NULL;
}

static void start(void)
{
	memset(&fv, 0, sizeof(fv));
	runctl_init(&fv.rc, fake_kick, NULL, NULL);
	runctl_set_running(&fv.rc);
	for (unsigned i = 0; i < NR_FAKE; i++) {
		runctl_thread_enter(&fv.rc);
		pthread_create(&fv.threads[i], NULL, fake_vcpu, (void *)(uintptr_t)i);
	}
}

static void stop(void)
{
	__atomic_store_n(&fv.stuck, false, __ATOMIC_RELEASE);
	runctl_end(&fv.rc, 0, "test", false);
	for (unsigned i = 0; i < NR_FAKE; i++)
		pthread_join(fv.threads[i], NULL);
	runctl_destroy(&fv.rc);
}

static unsigned long total_laps(void)
{
	unsigned long n = 0;

	for (unsigned i = 0; i < NR_FAKE; i++)
		n += __atomic_load_n(&fv.laps[i], __ATOMIC_RELAXED);
	return n;
}

TEST(runctl_pause_parks_every_vcpu_and_resume_lets_them_go)
{
	unsigned long a, b;

	start();
	usleep(5000);
	CHECK_EQ(runctl_pause(&fv.rc), 0);
	CHECK_EQ(runctl_parked(&fv.rc), NR_FAKE);
	CHECK_EQ(runctl_state(&fv.rc), RUNCTL_PAUSED);
	CHECK(fv.kicks >= 1);
	for (unsigned i = 0; i < NR_FAKE; i++)
		CHECK(runctl_is_parked(&fv.rc, &fv.parked[i]));
	a = total_laps();
	usleep(20000);
	b = total_laps();
	CHECK_EQ(a, b);
	CHECK_EQ(runctl_pause(&fv.rc), 0); /* idempotent */
	CHECK_EQ(runctl_resume(&fv.rc), 0);
	usleep(20000);
	CHECK(total_laps() > b);
	CHECK_EQ(runctl_state(&fv.rc), RUNCTL_RUNNING);
	CHECK_EQ(runctl_resume(&fv.rc), 0); /* idempotent */
	stop();
}

TEST(runctl_holds_nest_inside_a_users_pause)
{
	unsigned long a;

	start();
	CHECK_EQ(runctl_pause(&fv.rc), 0);
	CHECK_EQ(runctl_hold(&fv.rc, 1000), 0); /* a dump during the pause */
	runctl_release(&fv.rc);
	a = total_laps();
	usleep(20000);
	CHECK_EQ(total_laps(), a); /* the dump's release did not end the user's pause */
	CHECK_EQ(runctl_hold(&fv.rc, -1), 0); /* a snapshot's hold outlives the user's resume */
	CHECK_EQ(runctl_resume(&fv.rc), 0);
	usleep(20000);
	CHECK_EQ(total_laps(), a);
	runctl_release(&fv.rc);
	usleep(20000);
	CHECK(total_laps() > a);
	stop();
}

TEST(runctl_hold_times_out_on_a_vcpu_that_does_not_stop)
{
	start();
	__atomic_store_n(&fv.stuck, true, __ATOMIC_RELEASE);
	usleep(5000);
	CHECK_EQ(runctl_hold(&fv.rc, 100), -ETIMEDOUT);
	CHECK_EQ(runctl_parked(&fv.rc), NR_FAKE - 1);
	CHECK(!runctl_is_parked(&fv.rc, &fv.parked[0]));
	__atomic_store_n(&fv.stuck, false, __ATOMIC_RELEASE);
	runctl_release(&fv.rc);
	stop();
}

TEST(runctl_end_wakes_parked_vcpus_and_the_first_end_wins)
{
	start();
	CHECK_EQ(runctl_pause(&fv.rc), 0);
	runctl_end(&fv.rc, 33, "first", true);
	runctl_end(&fv.rc, 6, "second", false);
	for (unsigned i = 0; i < NR_FAKE; i++)
		pthread_join(fv.threads[i], NULL);
	CHECK_EQ(fv.rc.exit_status, 33);
	CHECK(!strcmp(fv.rc.end_reason, "first"));
	CHECK(fv.rc.restart);
	CHECK_EQ(runctl_state(&fv.rc), RUNCTL_ENDED);
	CHECK_EQ(runctl_pause(&fv.rc), -EINVAL);
	CHECK_EQ(runctl_resume(&fv.rc), -EINVAL);
	CHECK_EQ(runctl_hold(&fv.rc, 0), -EINVAL);
	runctl_destroy(&fv.rc);
}

TEST(runctl_refuses_a_pause_before_the_vm_runs)
{
	struct runctl rc;

	runctl_init(&rc, NULL, NULL, NULL);
	CHECK_EQ(runctl_pause(&rc), -EINVAL);
	CHECK_EQ(runctl_hold(&rc, 0), -EINVAL);
	runctl_set_running(&rc);
	CHECK_EQ(runctl_pause(&rc), 0); /* no vCPU thread yet: parked at once (a restore) */
	CHECK_EQ(runctl_state(&rc), RUNCTL_PAUSED);
	runctl_destroy(&rc);
}

// clang-format off
HARNESS_MAIN(
	HARNESS_T(runctl_pause_parks_every_vcpu_and_resume_lets_them_go)
	HARNESS_T(runctl_holds_nest_inside_a_users_pause)
	HARNESS_T(runctl_hold_times_out_on_a_vcpu_that_does_not_stop)
	HARNESS_T(runctl_end_wakes_parked_vcpus_and_the_first_end_wins)
	HARNESS_T(runctl_refuses_a_pause_before_the_vm_runs)
)
// clang-format on
