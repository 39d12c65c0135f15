/* libFuzzer target for the HTTP dissector: one flow (TCP or UDP, either
 * side first, segments shifted, duplicated or lost) through dissect_packet,
 * with the HTTP port as the server port. Input format: fuzz_flow.h.
 */
#include "tests/fuzz/fuzz_flow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_flow(data, size, 80);
}
