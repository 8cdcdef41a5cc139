/* fuzz.h: the entry point every harness in tests/fuzz defines.  Built with
 * -fsanitize=fuzzer it is driven by libFuzzer; otherwise replay_main.c
 * feeds it every file of a corpus directory (run by CTest). */
#ifndef CAIRN_FUZZ_H
#define CAIRN_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
