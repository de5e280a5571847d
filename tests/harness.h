/*
 * harness.h — the project's tiny unit-test harness: TAP output, one line per
 * test named module_behaviour, failures with file and line, skips with a reason.
 *
 *   TEST(bus_refuses_overlap) { CHECK(bus_register(...) == -EEXIST); }
 *   int main(void) { return RUN_TESTS(bus_refuses_overlap, ...); }
 */
#ifndef VMON_TESTS_HARNESS_H
#define VMON_TESTS_HARNESS_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct harness_state {
	int failed; /* checks failed in the current test */
	const char *skip; /* reason, when the current test skipped */
	jmp_buf out;
};
extern struct harness_state harness;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);        \
			harness.failed++;                                                          \
		}                                                                                  \
	} while (0)

#define CHECK_EQ(a, b)                                                                             \
	do {                                                                                       \
		unsigned long long a_ = (unsigned long long)(a);                                   \
		unsigned long long b_ = (unsigned long long)(b);                                   \
		if (a_ != b_) {                                                                    \
			printf("#   %s:%d: %s == %s failed: 0x%llx != 0x%llx\n", __FILE__,         \
			       __LINE__, #a, #b, a_, b_);                                          \
			harness.failed++;                                                          \
		}                                                                                  \
	} while (0)

/* REQUIRE - like CHECK, but ends the test at once on failure. */
#define REQUIRE(cond)                                                                              \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("#   %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond);      \
			harness.failed++;                                                          \
			longjmp(harness.out, 1);                                                   \
		}                                                                                  \
	} while (0)

/* SKIP - end the current test as skipped, giving why. */
#define SKIP(reason)                                                                               \
	do {                                                                                       \
		harness.skip = (reason);                                                           \
		longjmp(harness.out, 1);                                                           \
	} while (0)

struct harness_test {
	const char *name;
	void (*fn)(void);
};

#define HARNESS_T(fn) { #fn, fn },

/*
 * What a test prints to stdout (its failed checks and notes) is held in a
 * temporary file and printed after its result line, as TAP has diagnostics
 * follow the result they belong to.
 */
static inline void harness_replay(FILE *held)
{
	char buf[4096];
	size_t n;

	rewind(held);
	while ((n = fread(buf, 1, sizeof(buf), held)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(held);
}

static inline int harness_run(const struct harness_test *t, volatile int n)
{
	volatile int bad = 0;

	printf("TAP version 13\n1..%d\n", n);
	for (int i = 0; i < n; i++) {
		FILE *volatile held = tmpfile();
		volatile int out = -1;

		harness.failed = 0;
		harness.skip = NULL;
		fflush(stdout);
		if (held) {
			out = dup(STDOUT_FILENO);
			if (out < 0 || dup2(fileno(held), STDOUT_FILENO) < 0) {
				if (out >= 0)
					close(out);
				out = -1;
			}
		}
		if (!setjmp(harness.out))
			t[i].fn();
		fflush(stdout);
		if (out >= 0) {
			dup2(out, STDOUT_FILENO);
			close(out);
		}
		if (harness.skip)
			printf("ok %d - %s # SKIP %s\n", i + 1, t[i].name, harness.skip);
		else if (harness.failed)
			printf("not ok %d - %s\n", i + 1, t[i].name), bad++;
		else
			printf("ok %d - %s\n", i + 1, t[i].name);
		fflush(stdout);
		if (held && out >= 0)
			harness_replay(held);
		else if (held)
			fclose(held);
		fflush(stdout);
	}
	return bad ? 1 : 0;
}

/* Define the harness state once per test program, then list the tests. */
#define HARNESS_MAIN(...)                                                                          \
	struct harness_state harness;                                                              \
	int main(void)                                                                             \
	{                                                                                          \
		static const struct harness_test tests_[] = { __VA_ARGS__ };                       \
		return harness_run(tests_, (int)(sizeof(tests_) / sizeof(tests_[0])));             \
	}

#endif
