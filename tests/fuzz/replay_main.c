/*
 * replay_main.c — runs a libFuzzer target over every file of its corpus
 * directory (the saved inputs and every crash ever found), one TAP line per
 * directory, so the regression inputs are replayed by every build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	char path[4096];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	printf("TAP version 13\n1..1\n");
	d = opendir(argv[1]);
	if (!d) {
		printf("not ok 1 - replay %s # cannot open the corpus\n", argv[1]);
		return 1;
	}
	while ((de = readdir(d))) {
		FILE *f;
		uint8_t *buf;
		long len;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
		f = fopen(path, "rb");
		if (!f)
			continue;
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc(len > 0 ? (size_t)len : 1);
		if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len)
			LLVMFuzzerTestOneInput(buf, (size_t)len);
		free(buf);
		fclose(f);
		n++;
	}
	closedir(d);
	/* An input that crashes aborts the program above and fails this test. */
	printf("ok 1 - replay %u inputs from %s\n", n, argv[1]);
	return 0;
}
