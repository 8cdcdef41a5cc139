/* fuzz.h: the entry point every harness in tests/fuzz defines.  Built with
 * -fsanitize=fuzzer it is driven by libFuzzer; otherwise replay_main.c
 * feeds it every file of a corpus directory (run by CTest). */
#ifndef CAIRN_FUZZ_H
#define CAIRN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property a harness checks beyond "no crash": a failure aborts, so the
 * fuzzer keeps the input. */
#define FUZZ_ASSERT(c)                                                         \
	do {                                                                   \
		if (!(c)) {                                                    \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,    \
				#c);                                           \
			abort();                                               \
		}                                                              \
	} while (0)

#endif
