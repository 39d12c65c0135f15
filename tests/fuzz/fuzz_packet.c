/* libFuzzer target for the whole packet path: the input is a pcap or pcapng
 * file, read by the file backend and spread over two workers, decoded,
 * tracked in the flow tables, dissected and written as JSON (to /dev/null),
 * exactly as `procsniff -r FILE -W 2 --json` does. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine/engine.h"

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct eng_config cfg;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/procsniff-fuzz-%d.pcap", (int)getpid());
		eng_set_log(NULL);
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);

	eng_config_defaults(&cfg);
	cfg.ring.backend = RING_BACKEND_FILE;
	cfg.ring.path = path;
	cfg.workers = 2;
	cfg.pin = false;
	cfg.json = true;
	cfg.json_path = "/dev/null";
	cfg.quiet = true;
	cfg.max_flows = 64; /* small, so eviction runs too */
	cfg.event_queue_bytes = 1 << 16;
	cfg.ring.queue_bytes = 1 << 20;
	eng_run(&cfg);
	return 0;
}
